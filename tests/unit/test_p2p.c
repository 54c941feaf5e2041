/*
 * test_p2p.c — the p2p collector's hooks on hand-made flows: a flow's
 * bytes before its label counted once; the bt_volume window (crossing,
 * no repeat while above, re-armed after it slides below); allowlisted
 * torrents (over uTP) never alerted, also when the info-hash comes after
 * nDPI's label; a label that comes only at flow end; a reload that renumbers subscribers keeps their windows,
 * and a reload with a bad allowlist is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "classify.h"
#include "collector.h"
#include "config.h"
#include "submap.h"

extern const struct collector collector_p2p;

#define T0 1767225600ULL
#define MAX 10000

static char tmpdir[] = "/tmp/test_p2p.XXXXXX";
static const uint8_t HASH[20] = { 0xd2, 0x2c, 0x48, 0x4f, 0x96, 0x3d, 0x5c, 0x47, 0x96, 0x79,
				  0x2c, 0x95, 0x49, 0xd3, 0xf1, 0xd6, 0x40, 0x72, 0x80, 0x1e };

struct world {
	struct sw_config cfg;
	struct submap *subs;
	struct classifier *cls;
	struct alerts *alerts;
	struct collector_env env;
	void *p2p;
	int bt;
};

static const char *
write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	FILE *fp;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

/* with_allow: [p2p] allowlist names a list with one torrent; without,
 * BitTorrent flows do not wait for their info-hash. */
static void
world_open(struct world *w, int with_allow)
{
	struct alerts_opts o = { .use_syslog = 0 };
	char json[300];

	memset(w, 0, sizeof *w);
	config_defaults(&w->cfg);
	w->cfg.p2p.window = 60;
	w->cfg.p2p.max_bt_bytes = MAX;
	w->cfg.alerts.holddown = 0;	/* every alert the collector raises */
	w->cfg.sensor.max_flows = 1000;
	if (with_allow)
		w->cfg.p2p.allowlist = strdup(write_file("allow.txt",
			"d22c484f963d5c4796792c9549d3f1d64072801e debian\n"));
	w->subs = submap_load(write_file("subs.txt", "100.64.0.0/24 a\n100.64.1.0/24 b\n"));
	assert_non_null(w->subs);
	w->cls = classify_new(16, 8192);
	assert_non_null(w->cls);
	w->bt = classify_proto_id(w->cls, "BitTorrent");
	assert_true(w->bt > 0);
	snprintf(json, sizeof json, "%s/alerts.json", tmpdir);
	o.json_path = json;
	w->alerts = alerts_open(&w->cfg, &o);
	assert_non_null(w->alerts);
	w->env = (struct collector_env){ .cfg = &w->cfg, .subs = w->subs, .cls = w->cls,
					 .alerts = w->alerts, .step = 60 };
	w->p2p = collector_p2p.start(&w->env);
	assert_non_null(w->p2p);
}

static void
world_close(struct world *w)
{
	collector_p2p.stop(w->p2p);
	alerts_close(w->alerts);
	classify_free(w->cls);
	submap_free(w->subs);
	config_free(&w->cfg);
}

/* A UDP flow from 100.64.S.2 (subscriber S) to an outside peer. */
static void
flow_init(struct flow *f, uint32_t id, int sub, int32_t subid)
{
	memset(f, 0, sizeof *f);
	f->id = id;
	f->key.family = 4;
	f->key.proto = 17;
	f->key.a[0] = 100;
	f->key.a[1] = 64;
	f->key.a[2] = (uint8_t)sub;
	f->key.a[3] = 2;
	f->key.b[0] = 198;
	f->key.b[1] = 18;
	f->key.b[3] = 1;
	f->key.aport = 50000;
	f->key.bport = 6881;
	f->client_is_a = 1;
	f->sub_a = subid;
	f->sub_b = -1;
	f->dpi = FLOW_NONE;
}

/* One packet of ip_len bytes from the client (c2s) or to it. */
static void
packet(struct world *w, struct flow *f, int c2s, uint32_t ip_len, uint64_t t_s,
       const uint8_t *payload, uint32_t plen)
{
	struct pkt p = { 0 };
	struct flow_event ev = { 0 };
	int d = c2s ? FLOW_C2S : FLOW_S2C;

	p.ts_us = t_s * 1000000;
	p.ip_len = ip_len;
	p.proto = 17;
	p.family = 4;
	p.payload = payload;
	p.payload_len = plen;
	ev.created = f->pkts[0] + f->pkts[1] == 0;
	f->pkts[d]++;
	f->bytes[d] += ip_len;
	f->last_us = p.ts_us;
	ev.f = f;
	ev.p = &p;
	ev.dir = d;
	ev.from_a = c2s;
	collector_p2p.packet(w->p2p, &ev);
}

static void
test_window_alerts(void **state)
{
	struct world w;
	struct flow f;

	world_open(&w, 0);
	flow_init(&f, 1, 0, submap_find(w.subs, "a"));
	/* 3 packets before nDPI names the flow: nothing counted yet. */
	packet(&w, &f, 1, 4000, T0, NULL, 0);
	packet(&w, &f, 0, 4000, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* Named on the third: 12000 bytes at once, over 10000: one alert. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 4000, T0 + 1, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	/* Still above: no repeat. */
	packet(&w, &f, 0, 4000, T0 + 2, NULL, 0);
	packet(&w, &f, 0, 4000, T0 + 3, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	/* The window has slid past all of it: 6000 is below, re-armed;
	 * 6000 more passes again. */
	packet(&w, &f, 0, 6000, T0 + 200, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	packet(&w, &f, 1, 6000, T0 + 201, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 2);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static size_t
utp_handshake(uint8_t *p)
{
	memset(p, 0, 20);
	p[0] = 0x01;			/* ST_DATA, version 1 */
	memcpy(p + 20, "\x13" "BitTorrent protocol", 20);
	memset(p + 40, 0, 8);
	memcpy(p + 48, HASH, 20);
	memcpy(p + 68, "-TR3000-abcdefghijkl", 20);
	return 88;
}

static void
test_allowlisted_never_alerted(void **state)
{
	struct world w;
	struct flow f;
	uint8_t hs[100];
	size_t n = utp_handshake(hs);

	world_open(&w, 1);
	flow_init(&f, 2, 1, submap_find(w.subs, "b"));
	/* nDPI names the flow on its first packet (uTP SYN), the handshake
	 * with the allowlisted hash comes two packets later: the flow waits
	 * for it and then counts as allowlisted from its first byte. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 48, T0, NULL, 0);
	packet(&w, &f, 0, 48, T0, NULL, 0);
	packet(&w, &f, 1, (uint32_t)n + 28, T0, hs, (uint32_t)n);
	for (int i = 0; i < 100; i++)
		packet(&w, &f, i & 1, 1400, T0 + 1 + (uint64_t)i / 10, NULL, 0);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 0);

	/* The same without the handshake: not allowlisted, alerted. */
	flow_init(&f, 3, 1, submap_find(w.subs, "b"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	for (int i = 0; i < 100; i++)
		packet(&w, &f, i & 1, 1400, T0 + 20 + (uint64_t)i / 10, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static void
test_label_at_flow_end(void **state)
{
	struct world w;
	struct flow f;

	world_open(&w, 1);
	flow_init(&f, 4, 0, submap_find(w.subs, "a"));
	for (int i = 0; i < 8; i++)
		packet(&w, &f, i & 1, 1500, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* nDPI's verdict at flow end (a give-up guess): all 12000 count. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 1);
	world_close(&w);
}

static void
test_reload(void **state)
{
	struct world w;
	struct flow f;
	struct submap *renum;
	struct collector_env env;

	world_open(&w, 0);
	flow_init(&f, 5, 0, submap_find(w.subs, "a"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 6000, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);

	/* A new map that numbers b before a, and a new subscriber c. */
	renum = submap_load(write_file("subs2.txt",
		"100.64.1.0/24 b\n100.64.2.0/24 c\n100.64.0.0/24 a\n"));
	assert_non_null(renum);
	assert_int_not_equal(submap_find(renum, "a"), submap_find(w.subs, "a"));
	/* A bad allowlist: the reload is refused. */
	w.cfg.p2p.allowlist = (char *)write_file("bad.txt", "not a hash\n");
	env = w.env;
	env.subs = renum;
	assert_int_equal(collector_p2p.reload(w.p2p, &env), -1);
	w.cfg.p2p.allowlist = NULL;
	assert_int_equal(collector_p2p.reload(w.p2p, &env), 0);
	submap_free(w.subs);
	w.subs = renum;
	w.env = env;
	/* a's 6000 carried over under its new id: 6000 more pass 10000. */
	flow_init(&f, 6, 0, submap_find(w.subs, "a"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 6000, T0 + 1, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_alerts),
		cmocka_unit_test(test_allowlisted_never_alerted),
		cmocka_unit_test(test_label_at_flow_end),
		cmocka_unit_test(test_reload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
