/*
 * gen.c — spanwatch-gen's main: reads the options, invents the network,
 * runs the event loop that writes the capture in time order, and closes
 * the truth. Everything random comes from --seed, so the same options give
 * the same bytes. See tests/gen/README.md.
 */
#include "gen.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genconf.h"
#include "onoff.h"
#include "pcapw.h"
#include "pl_smtp.h"
#include "session.h"
#include "truth.h"

static const char *const encap_names[] = {
	[ENCAP_ETH] = "eth", [ENCAP_VLAN] = "vlan", [ENCAP_QINQ] = "qinq", [ENCAP_PPPOE] = "pppoe",
};

/* "a.b.c.d/len" or "x::y/len"; host bits must be zero. 0 or -1. */
static int parse_cidr(const char *s, int v6, uint8_t *addr, uint32_t *len)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	char *end;
	unsigned long l;
	int bits = v6 ? 128 : 32;

	if (!slash || (size_t)(slash - s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, (size_t)(slash - s));
	buf[slash - s] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, addr) != 1)
		return -1;
	l = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || l > (unsigned long)bits)
		return -1;
	for (int b = (int)l; b < bits; b++)
		if (addr[b / 8] & (0x80 >> (b % 8)))
			return -1;
	*len = (uint32_t)l;
	return 0;
}

/* fills the filler pools: random bytes, and base64-like text in 76-column
 * lines as a mail body is */
static void fill_pools(struct gen *g)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	rng_fill(&g->rng, g->rpool, sizeof(g->rpool));
	for (size_t i = 0; i < sizeof(g->tpool); i++) {
		size_t col = i % 78;

		g->tpool[i] = col == 76 ? '\r' : col == 77 ? '\n' :
			      (uint8_t)b64[g->rpool[i] & 63];
	}
}

static char *default_flows_path(const char *truth)
{
	size_t n = strlen(truth);
	char *p = malloc(n + 16);

	if (!p)
		return NULL;
	memcpy(p, truth, n + 1);
	if (n > 4 && strcmp(p + n - 4, ".tsv") == 0)
		p[n - 4] = '\0';
	snprintf(p + strlen(p), 16, ".flows.tsv");
	return p;
}

static void truth_header(struct gen *g)
{
	struct truth *t = g->truth;
	const struct gen_opts *o = g->o;
	char name[32], a4[16], a6[INET6_ADDRSTRLEN];
	uint8_t r4[4], r6[16];

	truth_comment(t, "spanwatch-gen truth v1");
	truth_comment(t, "seed=%" PRIu64 " subscribers=%u rate=%g alpha=%g hurst=%.3f step=%u "
		      "start=%" PRIu64 " encap=%s daily_cycle=%d", o->seed, o->subscribers,
		      o->rate, o->alpha, (3 - o->alpha) / 2, o->step, o->start,
		      encap_names[o->encap], o->daily);
	truth_comment(t, "alpha=%g", o->alpha);
	truth_comment(t, "hurst=%.3f", (3 - o->alpha) / 2);
	truth_comment(t, "step=%u", o->step);
	truth_comment(t, "prefix4=%s prefix6=%s", o->prefix4, o->prefix6);
	net_pool_addr(POOL_RELAY, 0, 0, r4);
	net_pool_addr(POOL_RELAY, 0, 1, r6);
	inet_ntop(AF_INET, r4, a4, sizeof(a4));
	inet_ntop(AF_INET6, r6, a6, sizeof(a6));
	truth_comment(t, "relays=%s,%s smtp_ports=25,587", a4, a6);
	for (int role = ROLE_BOT; role <= ROLE_EXEMPT; role++) {
		char line[4096];
		size_t len = 0;

		line[0] = '\0';
		for (uint32_t i = 0; i < g->net->nsubs && len + 40 < sizeof(line); i++) {
			if (g->net->subs[i].role != role)
				continue;
			net_sub_name(i, name, sizeof(name));
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
						len ? "," : "", name);
		}
		truth_comment(t, "%s=%s", role == ROLE_BOT ? "bots" : "exempt", line);
	}
	for (uint32_t i = 0; i < NET_ALLOWED; i++) {
		char hex[41];

		for (int k = 0; k < 20; k++)
			snprintf(hex + 2 * k, 3, "%02x", g->net->hash[i][k]);
		truth_comment(t, "allow=%s %s", hex, net_allow_label(i));
	}
}

/* the capture ends: flows still running are recorded as cut */
static void cut_flows(struct gen *g)
{
	for (size_t i = 0; i < g->heap.n; i++) {
		uint32_t ref = g->heap.a[i].ref;

		if (!(ref & GEN_REF_SOURCE))
			sess_end(g, sess_get(g, ref));
	}
}

static void run(struct gen *g)
{
	const struct ev *e;

	while ((e = evheap_top(&g->heap))) {
		uint64_t now = e->t, next;
		struct flow *f;

		if ((g->t_end && now >= g->t_end) ||
		    (g->max_packets && g->packets >= g->max_packets))
			break;
		if (e->ref & GEN_REF_SOURCE) {
			uint32_t idx = e->ref & ~GEN_REF_SOURCE, nsrc = src_count(g->src);

			/* refs past the sources are pl_smtp's planned senders */
			if (idx >= nsrc)
				smtp_plan_fire(g, idx - nsrc, now);
			else
				src_fire(g, idx, now);
			continue;
		}
		f = sess_get(g, e->ref);
		next = sess_emit(g, f, now);
		if (next) {
			evheap_retime_top(&g->heap, next > now ? next : now + 1);
		} else {
			evheap_pop(&g->heap);
			sess_end(g, f);
		}
	}
}

int main(int argc, char **argv)
{
	static struct gen gen;	/* large (buffers); static keeps it off the stack */
	struct gen *g = &gen;
	struct gen_opts o;
	struct netplan_cfg nc;
	uint8_t p4[4];
	char *flows_path = NULL;
	struct timespec w0, w1;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &w0);	/* only for the summary line */
	switch (genopt_parse(&o, argc, argv)) {
	case 1:
		return 0;
	case -1:
		return 2;
	}
	memset(&nc, 0, sizeof(nc));
	if (parse_cidr(o.prefix4, 0, p4, &nc.p4len) < 0 || nc.p4len > 30) {
		fprintf(stderr, "spanwatch-gen: --prefix4: bad prefix '%s'\n", o.prefix4);
		return 2;
	}
	if (parse_cidr(o.prefix6, 1, nc.p6, &nc.p6len) < 0) {
		fprintf(stderr, "spanwatch-gen: --prefix6: bad prefix '%s'\n", o.prefix6);
		return 2;
	}
	nc.p4 = (uint32_t)p4[0] << 24 | (uint32_t)p4[1] << 16 | (uint32_t)p4[2] << 8 | p4[3];
	nc.nsubs = o.subscribers;
	nc.bots = o.bots;
	nc.exempt = o.exempt;
	nc.bt_share = o.bt_share;
	nc.p2p_share = o.p2p_share;
	nc.v6_share = o.v6_share;

	g->o = &o;
	rng_seed(&g->rng, o.seed);
	g->net = net_create(&nc, &g->rng);
	if (!g->net)
		return 2;
	g->encap = (enum encap)o.encap;
	g->mtu = g->encap == ENCAP_PPPOE ? 1492 : 1500;
	g->t_start = o.start * 1000000;
	g->t_end = o.duration > 0 ? g->t_start + (uint64_t)(o.duration * 1e6) : 0;
	g->max_packets = o.packets;
	fill_pools(g);

	if (o.truth && !o.truth_flows)
		flows_path = default_flows_path(o.truth);
	g->truth = truth_open(o.truth, o.truth_flows ? o.truth_flows : flows_path,
			      o.subscribers, o.step);
	free(flows_path);	/* truth_open has opened it */
	flows_path = NULL;
	if (!g->truth)
		return 1;
	if (o.conf_dir && genconf_write(g, o.conf_dir) < 0)
		return 1;
	truth_header(g);

	g->out = pcapw_open(o.out, o.snaplen);
	g->ss = sess_create(o.max_flows);
	if (!g->out || !g->ss || evheap_init(&g->heap, 1024) < 0)
		return 1;
	g->src = src_create(g);
	if (!g->src || smtp_plan_create(g, src_count(g->src)) < 0) {
		fprintf(stderr, "spanwatch-gen: out of memory\n");
		return 1;
	}

	run(g);
	cut_flows(g);
	if (truth_finish(g->truth) < 0)
		rc = 1;
	truth_comment(g->truth, "totals packets=%" PRIu64 " ip_bytes=%" PRIu64
		      " frame_bytes=%" PRIu64 " flows=%" PRIu64 " peak_flows=%u"
		      " refused_flows=%" PRIu64 " start_us=%" PRIu64 " last_us=%" PRIu64,
		      g->packets, g->ip_bytes, pcapw_frame_bytes(g->out), sess_total(g->ss),
		      sess_peak(g->ss), sess_refused(g->ss), g->t_start, g->last_us);
	if (pcapw_close(g->out) < 0)
		rc = 1;
	clock_gettime(CLOCK_MONOTONIC, &w1);
	if (!o.quiet)
		fprintf(stderr, "spanwatch-gen: packets=%" PRIu64 " ip_bytes=%" PRIu64
			" flows=%" PRIu64 " peak_flows=%u refused_flows=%" PRIu64
			" sources=%u traffic_s=%.1f wall_s=%.2f\n",
			g->packets, g->ip_bytes, sess_total(g->ss), sess_peak(g->ss),
			sess_refused(g->ss), src_count(g->src),
			g->packets ? (double)(g->last_us - g->t_start) / 1e6 : 0.0,
			(double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
	if (truth_close(g->truth) < 0)
		rc = 1;
	src_free(g->src);
	sess_free(g->ss);
	evheap_free(&g->heap);
	net_free(g->net);
	free(flows_path);
	return rc;
}
