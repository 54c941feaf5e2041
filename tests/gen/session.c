/*
 * session.c — the flow pool and the transports (TCP, UDP, uTP) that turn
 * a flow's script into packets, one per call; see session.h.
 *
 * Timing, as seen at the sensor between subscribers and the Internet: a
 * reply to something comes one round trip of the replying side later
 * (rtt[0] towards the client, rtt[1] towards the server), plus the
 * message's think time; consecutive packets of one message are paced by
 * the flow's interval, which the traffic sources set from their ON
 * periods.
 */
#include "session.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "kinds.h"
#include "pcapw.h"
#include "truth.h"

#define CHUNK_SHIFT 12
#define CHUNK (1u << CHUNK_SHIFT)

/* per bulk segment, chances of being sent twice or out of order */
#define P_RETX 0.004
#define P_REORDER 0.003
/* chance that a MSG_SPLITOK message is cut mid-command */
#define P_SPLIT 0.08
/* chance a TCP flow ends with a RST instead of FINs */
#define P_RST 0.04

enum tstate { TS_SYN, TS_SYNACK, TS_ACK3, TS_DATA, TS_FIN1, TS_FIN2, TS_LASTACK };
enum hole { HOLE_NONE, HOLE_REORDER, HOLE_RETX };
enum endhow { END_CUT, END_FIN, END_RST, END_DONE };
static const char *const end_names[] = { "cut", "fin", "rst", "done" };

/* uTP packet types (BEP 29) */
enum { ST_DATA, ST_FIN, ST_STATE, ST_RESET, ST_SYN };

struct sessions {
	struct flow **chunks;
	uint32_t nchunks;
	uint32_t *freel;
	uint32_t nfree, fresh;	/* free ids; ids never handed out start at fresh */
	uint32_t max, active, peak;
	uint64_t total, refused;
};

struct sessions *sess_create(uint32_t max_flows)
{
	struct sessions *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max_flows;
	return s;
}

void sess_free(struct sessions *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nchunks; i++)
		free(s->chunks[i]);
	free(s->chunks);
	free(s->freel);
	free(s);
}

uint32_t sess_active(const struct sessions *s)
{
	return s->active;
}

uint32_t sess_peak(const struct sessions *s)
{
	return s->peak;
}

uint64_t sess_total(const struct sessions *s)
{
	return s->total;
}

uint64_t sess_refused(const struct sessions *s)
{
	return s->refused;
}

struct flow *sess_get(struct gen *g, uint32_t id)
{
	return &g->ss->chunks[id >> CHUNK_SHIFT][id & (CHUNK - 1)];
}

/* a new chunk of flows; the pool only grows, in chunks, never per packet */
static int grow(struct sessions *s)
{
	struct flow **c = realloc(s->chunks, (s->nchunks + 1) * sizeof(*c));
	uint32_t *fl;

	if (!c)
		return -1;
	s->chunks = c;
	c[s->nchunks] = calloc(CHUNK, sizeof(struct flow));
	if (!c[s->nchunks])
		return -1;
	fl = realloc(s->freel, (size_t)(s->nchunks + 1) * CHUNK * sizeof(*fl));
	if (!fl)
		return -1;
	s->freel = fl;
	s->nchunks++;
	return 0;
}

struct flow *sess_new(struct gen *g, uint8_t kind)
{
	struct sessions *s = g->ss;
	struct flow *f;
	uint32_t id;

	if (s->active >= s->max) {
		s->refused++;
		return NULL;
	}
	if (s->nfree) {
		id = s->freel[--s->nfree];
	} else {
		if (s->fresh >= s->nchunks * CHUNK && grow(s) < 0) {
			s->refused++;
			return NULL;
		}
		id = s->fresh++;
	}
	f = sess_get(g, id);
	memset(f, 0, sizeof(*f));
	f->id = id;
	f->kind = kind;
	f->torrent = -1;
	f->seed = rng_next(&g->rng);
	s->active++;
	s->total++;
	if (s->active > s->peak)
		s->peak = s->active;
	return f;
}

void sess_place(struct gen *g, struct flow *f, const struct ends *e)
{
	int in = e->inside_client ? 0 : 1;	/* which end is the subscriber */
	struct rng *r = &g->rng;

	f->sub = e->sub;
	f->v6 = (uint8_t)e->v6;
	f->cli_inside = (uint8_t)(in == 0);
	net_sub_addr(g->net, e->sub, e->v6, e->dev, f->addr[in]);
	net_pool_addr(e->pool, e->idx, e->v6, f->addr[!in]);
	f->port[in] = e->sub_port ? e->sub_port : net_ephemeral(g->net, e->sub, r);
	f->port[!in] = e->far_port ? e->far_port : (uint16_t)rng_range(r, 1024, 65535);

	/* the subscriber's packets crossed its CPE; the far end's crossed the
	 * Internet from a Linux-like (64) or Windows-like (128) stack */
	f->ttl[in] = rng_chance(r, 0.7) ? 63 : 127;
	f->ttl[!in] = (uint8_t)((rng_chance(r, 0.8) ? 64 : 128) - rng_range(r, 4, 22));
	f->rtt[in] = rng_range(r, 2000, 30000);
	f->rtt[!in] = rng_range(r, 5000, 180000);
}

static int run_script(struct gen *g, const struct flow *f, uint32_t step, struct msg *m);

static uint32_t msg_total(const struct msg *m)
{
	return m->pre + m->fill + m->suf;
}

static uint32_t jitter(struct gen *g, uint32_t us)
{
	return us / 2 + rng_below(&g->rng, us + 1);
}

/* the largest payload one packet of this flow carries */
static uint32_t seg_max(const struct gen *g, const struct flow *f)
{
	const struct kind_def *k = &kind_defs[f->kind];
	uint32_t ip = f->v6 ? 40 : 20;

	if (k->transport == TP_TCP)
		return f->mss;
	if (k->transport == TP_UTP)
		return g->mtu - ip - 8 - 20 - 52;	/* uTP keeps below the path MTU */
	return g->mtu - ip - 8;
}

void sess_start(struct gen *g, struct flow *f, uint64_t t0)
{
	struct rng *r = &g->rng;
	const struct kind_def *k = &kind_defs[f->kind];

	f->isn[0] = (uint32_t)rng_next(r);
	f->isn[1] = (uint32_t)rng_next(r);
	f->ipid[0] = (uint16_t)rng_next(r);
	f->ipid[1] = (uint16_t)rng_next(r);
	f->flowlabel[0] = (uint32_t)rng_next(r) & 0xfffff;
	f->flowlabel[1] = (uint32_t)rng_next(r) & 0xfffff;
	f->mss = (uint16_t)(g->mtu - (f->v6 ? 60 : 40));
	if (rng_chance(r, 0.1))
		f->mss = (uint16_t)(f->mss - rng_range(r, 20, 120));	/* tunnels, odd CPEs */
	f->useq[0] = (uint16_t)rng_next(r);
	f->useq[1] = (uint16_t)rng_next(r);
	f->uconn = (uint16_t)(rng_range(r, 1, 65534));
	f->rst = (uint8_t)rng_chance(r, P_RST);
	if (!f->iv)
		f->iv = 300;
	f->step = 0;
	f->tstate = k->transport == TP_UDP ? TS_DATA : TS_SYN;
	if (k->transport == TP_UDP && run_script(g, f, 0, &f->cur) < 0) {
		sess_end(g, f);
		return;
	}
	f->first_seg = 1;
	if (evheap_push(&g->heap, t0, f->id) < 0)
		sess_end(g, f);
}

/* runs the flow's script for message step; its literal bytes land in
 * g->lit, which is scratch: valid until the next call */
static int run_script(struct gen *g, const struct flow *f, uint32_t step, struct msg *m)
{
	struct bufw b;

	bufw_init(&b, g->lit, sizeof(g->lit));
	return kind_defs[f->kind].script(g, f, step, m, &b);
}

/* ---- writing one packet ---- */

/* copies bytes [off, off+len) of the current message to dst */
static void copy_range(struct gen *g, struct flow *f, uint8_t *dst, uint32_t off, uint32_t len)
{
	const struct msg *m = &f->cur;
	uint32_t fill_end = m->pre + m->fill;
	int lit_built = 0;

	while (len) {
		uint32_t n;

		if (off < m->pre || off >= fill_end) {
			uint32_t loff = off < m->pre ? off : m->pre + (off - fill_end);
			uint32_t lend = off < m->pre ? m->pre : m->pre + m->suf;

			if (!lit_built) {
				struct msg tmp;

				/* scripts are pure: rebuilding gives the same bytes */
				run_script(g, f, f->step, &tmp);
				lit_built = 1;
			}
			n = lend - loff < len ? lend - loff : len;
			memcpy(dst, g->lit + loff, n);
		} else {
			const uint8_t *pool = m->fill_kind == FILL_TEXT ? g->tpool : g->rpool;
			uint32_t start = (uint32_t)((f->seed >> 17) + f->pos[m->dir] + off) & (GEN_POOL - 1);

			n = fill_end - off < len ? fill_end - off : len;
			if (n > GEN_POOL_SLACK)
				n = GEN_POOL_SLACK;
			memcpy(dst, pool + start, n);
		}
		dst += n;
		off += n;
		len -= n;
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

struct pkt {
	int dir;
	uint8_t flags;		/* TCP flags */
	uint32_t seq, ack;
	int utype;		/* uTP type, -1 for none */
	uint32_t off, len;	/* bytes of the current message carried */
	int syn_opts;
};

static void emit(struct gen *g, struct flow *f, const struct pkt *pk, uint64_t now)
{
	const struct kind_def *k = &kind_defs[f->kind];
	int d = pk->dir;
	int out = (d == 0) == (f->cli_inside != 0);	/* sent by the subscriber */
	uint8_t smac[6], opts[12];
	struct frame_hdr h;
	uint8_t *pl;
	size_t plen = 0, flen;

	memset(&h, 0, sizeof(h));
	net_sub_mac(f->sub, smac);
	h.smac = out ? smac : net_gw_mac;
	h.dmac = out ? net_gw_mac : smac;
	h.cvlan = (uint16_t)(2 + f->sub % 4000);
	h.svlan = (uint16_t)(100 + f->sub / 4000);
	h.pppoe_sid = (uint16_t)(1 + f->sub % 65000);
	h.v6 = f->v6;
	h.ttl = f->ttl[d];
	h.proto = k->transport == TP_TCP ? 6 : 17;
	h.src = f->addr[d];
	h.dst = f->addr[!d];
	h.ipid = f->ipid[d]++;
	h.flowlabel = f->flowlabel[d];
	h.sport = f->port[d];
	h.dport = f->port[!d];
	if (h.proto == 6) {
		h.seq = pk->seq;
		h.ack = pk->ack;
		h.tcpflags = pk->flags;
		h.win = (uint16_t)(d ? 501 : 2053);
		if (pk->syn_opts) {
			/* MSS, SACK permitted, NOP, window scale 7, NOP NOP */
			static const uint8_t tmpl[12] = { 2, 4, 0, 0, 4, 2, 1, 3, 3, 7, 1, 1 };

			memcpy(opts, tmpl, sizeof(opts));
			put16(opts + 2, f->mss);
			h.opts = opts;
			h.optlen = 12;
			h.win = 64240;
		}
	}
	pl = frame_begin(&g->fr, g->encap, &h);
	if (pk->utype >= 0) {
		uint16_t conn = pk->utype == ST_SYN ? f->uconn :
				d == 0 ? (uint16_t)(f->uconn + 1) : f->uconn;

		pl[0] = (uint8_t)(pk->utype << 4 | 1);
		pl[1] = 0;
		put16(pl + 2, conn);
		put32(pl + 4, (uint32_t)now | 1);
		put32(pl + 8, pk->utype == ST_SYN ? 0 : 20000 + (uint32_t)(f->seed >> 40) % 60000);
		put32(pl + 12, 1048576);
		put16(pl + 16, (uint16_t)pk->seq);
		put16(pl + 18, (uint16_t)pk->ack);
		plen = 20;
	}
	if (pk->len) {
		copy_range(g, f, pl + plen, pk->off, pk->len);
		plen += pk->len;
	}
	flen = frame_finish(&g->fr, plen);
	pcapw_write(g->out, now, g->fr.buf, flen);

	if (!f->pkts[0] && !f->pkts[1]) {
		f->t_first = now;
		truth_flow_start(g->truth, f->sub, (enum smtp_class)f->smtp_class,
				 g->net->subs[f->sub].role == ROLE_EXEMPT, now);
	}
	f->t_last = now;
	f->pkts[d]++;
	f->bytes[d] += g->fr.ip_bytes;
	truth_packet(g->truth, f->sub, !out, g->fr.ip_bytes, (enum tclass)f->tclass, now);
	g->packets++;
	g->ip_bytes += g->fr.ip_bytes;
	g->last_us = now;
}

/* sequence number of stream offset off in direction d */
static uint32_t seq_at(const struct flow *f, int d, uint64_t off)
{
	return f->isn[d] + 1 + (uint32_t)(f->pos[d] + off);
}

static void send_ctl(struct gen *g, struct flow *f, int d, uint8_t flags, int utype, uint64_t now)
{
	struct pkt pk = { .dir = d, .flags = flags, .utype = utype };
	const struct msg *m = &f->cur;
	uint64_t got = 0;

	/* what d has received of the current message, if the other side sends it */
	if (f->tstate == TS_DATA && m->dir != d)
		got = f->hole == HOLE_REORDER ? f->hole_off : f->off;
	if (utype >= 0) {
		pk.seq = utype == ST_STATE ? f->useq[d] : f->useq[d]++;
		pk.ack = utype == ST_SYN ? 0 : (uint16_t)(f->useq[!d] - 1);
	} else {
		pk.seq = seq_at(f, d, 0);
		pk.ack = (flags & TH_ACK) ? seq_at(f, !d, got) : 0;
	}
	emit(g, f, &pk, now);
}

static void send_seg(struct gen *g, struct flow *f, uint32_t off, uint32_t len, uint64_t now)
{
	const struct kind_def *k = &kind_defs[f->kind];
	int d = f->cur.dir;
	struct pkt pk = { .dir = d, .utype = -1, .off = off, .len = len };

	if (k->transport == TP_TCP) {
		pk.flags = TH_ACK | (off + len == msg_total(&f->cur) ? TH_PSH : 0);
		pk.seq = seq_at(f, d, off);
		pk.ack = seq_at(f, !d, 0);
	} else if (k->transport == TP_UTP) {
		pk.utype = ST_DATA;
		pk.seq = f->useq[d]++;
		pk.ack = (uint16_t)(f->useq[!d] - 1);
	}
	emit(g, f, &pk, now);
}

/* ---- the state machine: one handler per state ---- */

static int load_message(struct gen *g, struct flow *f)
{
	if (run_script(g, f, f->step, &f->cur) < 0)
		return -1;
	f->off = 0;
	f->hole = HOLE_NONE;
	f->first_seg = 1;
	f->unacked = 0;
	return 0;
}

static uint64_t begin_close(struct gen *g, struct flow *f, uint64_t now)
{
	if (kind_defs[f->kind].transport == TP_UDP) {
		f->endhow = END_DONE;
		return 0;
	}
	f->tstate = TS_FIN1;
	return now + jitter(g, f->iv) + 1;
}

/* the flow has sent the whole current message: on to the next one */
static uint64_t next_message(struct gen *g, struct flow *f, uint64_t now)
{
	int prev = f->cur.dir;
	uint64_t delay;

	f->pos[prev] += msg_total(&f->cur);
	f->step++;
	if (load_message(g, f) < 0)
		return begin_close(g, f, now);
	/* a reply waits for the request to reach the replier and come back */
	delay = f->cur.dir != prev ? f->rtt[f->cur.dir] : jitter(g, f->iv);
	return now + delay + f->cur.gap_us + 1;
}

static uint64_t st_syn(struct gen *g, struct flow *f, uint64_t now)
{
	if (kind_defs[f->kind].transport == TP_UTP) {
		send_ctl(g, f, 0, 0, ST_SYN, now);
	} else {
		struct pkt pk = { .dir = 0, .flags = TH_SYN, .seq = f->isn[0], .utype = -1,
				  .syn_opts = 1 };

		emit(g, f, &pk, now);
	}
	f->tstate = TS_SYNACK;
	return now + f->rtt[1];
}

static uint64_t st_synack(struct gen *g, struct flow *f, uint64_t now)
{
	if (kind_defs[f->kind].transport == TP_UTP) {
		send_ctl(g, f, 1, 0, ST_STATE, now);
		f->tstate = TS_DATA;
		if (load_message(g, f) < 0)
			return begin_close(g, f, now);
		return now + f->rtt[0] + f->cur.gap_us;
	}
	{
		struct pkt pk = { .dir = 1, .flags = TH_SYN | TH_ACK, .seq = f->isn[1],
				  .ack = f->isn[0] + 1, .utype = -1, .syn_opts = 1 };

		emit(g, f, &pk, now);
	}
	f->tstate = TS_ACK3;
	return now + f->rtt[0];
}

static uint64_t st_ack3(struct gen *g, struct flow *f, uint64_t now)
{
	send_ctl(g, f, 0, TH_ACK, -1, now);
	f->tstate = TS_DATA;
	if (load_message(g, f) < 0)
		return begin_close(g, f, now);
	/* the client talks right away; a server first waits for the ACK */
	return now + (f->cur.dir ? f->rtt[1] : rng_range(&g->rng, 30, 400)) + f->cur.gap_us;
}

/* whether the receiver of the finished message can fold its ACK into a
 * reply that follows promptly (delayed ACK, RFC 9293 3.8.6.3) */
static int reply_follows(struct gen *g, struct flow *f)
{
	struct msg nx;

	if (run_script(g, f, f->step + 1, &nx) < 0)
		return 0;
	return nx.dir != f->cur.dir && nx.gap_us < 100000;
}

static uint64_t st_data(struct gen *g, struct flow *f, uint64_t now)
{
	const struct kind_def *k = &kind_defs[f->kind];
	struct msg *m = &f->cur;
	uint32_t total = msg_total(m);
	uint32_t smax = seg_max(g, f);
	int finished;

	if (k->transport == TP_UDP) {
		struct pkt pk = { .dir = m->dir, .utype = -1, .off = 0,
				  .len = total < smax ? total : smax };

		if (m->rcpt)
			f->rcpt += m->rcpt;
		emit(g, f, &pk, now);
		return next_message(g, f, now);
	}

	if (f->need_ack) {
		send_ctl(g, f, !m->dir, TH_ACK, k->transport == TP_UTP ? ST_STATE : -1, now);
		f->need_ack = 0;
		if (f->off >= total && f->hole == HOLE_NONE)
			return next_message(g, f, now);
		return now + jitter(g, f->iv) + 1;
	}

	if (f->hole != HOLE_NONE) {
		send_seg(g, f, f->hole_off, f->hole_len, now);
		f->hole = HOLE_NONE;
	} else {
		uint32_t off = f->off;
		uint32_t len = total - off < smax ? total - off : smax;

		if (f->first_seg && m->rcpt) {
			f->rcpt += m->rcpt;
			if (f->smtp_class != SC_NONE && f->smtp_class != SC_RELAY)
				truth_rcpt(g->truth, f->sub, m->rcpt, now);
		}
		if (f->first_seg && (m->flags & MSG_SPLITOK) && len >= 8 &&
		    rng_chance(&g->rng, P_SPLIT)) {
			len = rng_range(&g->rng, 2, len - 2);
		} else if (off >= m->pre && off + len + smax <= total &&
			   rng_chance(&g->rng, P_REORDER)) {
			/* the next segment overtakes this one */
			send_seg(g, f, off + len, smax, now);
			f->hole = HOLE_REORDER;
			f->hole_off = off;
			f->hole_len = (uint16_t)len;
			f->off = off + len + smax;
			f->first_seg = 0;
			f->unacked++;
			return now + jitter(g, f->iv) + 1;
		}
		send_seg(g, f, off, len, now);
		f->off = off + len;
		if (off >= m->pre && rng_chance(&g->rng, P_RETX)) {
			f->hole = HOLE_RETX;
			f->hole_off = off;
			f->hole_len = (uint16_t)len;
		}
	}
	f->first_seg = 0;
	f->unacked++;
	finished = f->off >= total && f->hole == HOLE_NONE;
	if (f->unacked >= 2 || (finished && !reply_follows(g, f))) {
		f->need_ack = 1;
		f->unacked = 0;
		return now + (f->iv < 80000 ? jitter(g, f->iv / 2) : 40000) + 1;
	}
	if (finished)
		return next_message(g, f, now);
	return now + jitter(g, f->iv) + 1;
}

static uint64_t st_fin1(struct gen *g, struct flow *f, uint64_t now)
{
	int c = f->closer;

	if (kind_defs[f->kind].transport == TP_UTP) {
		send_ctl(g, f, c, 0, ST_FIN, now);
		f->tstate = TS_FIN2;
		return now + f->rtt[!c];
	}
	if (f->rst) {
		send_ctl(g, f, c, TH_RST | TH_ACK, -1, now);
		f->endhow = END_RST;
		return 0;
	}
	send_ctl(g, f, c, TH_FIN | TH_ACK, -1, now);
	f->pos[c]++;	/* a FIN takes one sequence number */
	f->tstate = TS_FIN2;
	return now + f->rtt[!c];
}

static uint64_t st_fin2(struct gen *g, struct flow *f, uint64_t now)
{
	int c = f->closer;

	if (kind_defs[f->kind].transport == TP_UTP) {
		send_ctl(g, f, !c, 0, ST_STATE, now);
		f->endhow = END_FIN;
		return 0;
	}
	send_ctl(g, f, !c, TH_FIN | TH_ACK, -1, now);
	f->pos[!c]++;
	f->tstate = TS_LASTACK;
	return now + f->rtt[c];
}

static uint64_t st_lastack(struct gen *g, struct flow *f, uint64_t now)
{
	send_ctl(g, f, f->closer, TH_ACK, -1, now);
	f->endhow = END_FIN;
	return 0;
}

static uint64_t (*const state_fn[])(struct gen *, struct flow *, uint64_t) = {
	[TS_SYN] = st_syn, [TS_SYNACK] = st_synack, [TS_ACK3] = st_ack3,
	[TS_DATA] = st_data, [TS_FIN1] = st_fin1, [TS_FIN2] = st_fin2,
	[TS_LASTACK] = st_lastack,
};

uint64_t sess_emit(struct gen *g, struct flow *f, uint64_t now)
{
	return state_fn[f->tstate](g, f, now);
}

void sess_end(struct gen *g, struct flow *f)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], sub[32], hash[41];
	int fam = f->v6 ? AF_INET6 : AF_INET;
	struct truth_flow_row r;
	const char *cls = "-";

	if (f->pkts[0] || f->pkts[1]) {
		inet_ntop(fam, f->addr[0], src, sizeof(src));
		inet_ntop(fam, f->addr[1], dst, sizeof(dst));
		net_sub_name(f->sub, sub, sizeof(sub));
		if (f->smtp_class != SC_NONE)
			cls = truth_smtp_class_name((enum smtp_class)f->smtp_class);
		else if (f->tclass != TC_NONE)
			cls = truth_tclass_name((enum tclass)f->tclass);
		strcpy(hash, "-");
		if (f->torrent >= 0) {
			static const char hx[] = "0123456789abcdef";
			const uint8_t *h = g->net->hash[f->torrent];

			for (int i = 0; i < 20; i++) {
				hash[2 * i] = hx[h[i] >> 4];
				hash[2 * i + 1] = hx[h[i] & 15];
			}
			hash[40] = '\0';
		}
		memset(&r, 0, sizeof(r));
		r.first_us = f->t_first;
		r.last_us = f->t_last;
		r.proto = kind_defs[f->kind].transport == TP_TCP ? 6 : 17;
		r.src = src;
		r.dst = dst;
		r.sport = f->port[0];
		r.dport = f->port[1];
		memcpy(r.pkts, f->pkts, sizeof(r.pkts));
		memcpy(r.bytes, f->bytes, sizeof(r.bytes));
		r.kind = kind_defs[f->kind].name;
		r.sub = sub;
		r.direction = f->cli_inside ? "out" : "in";
		r.cls = cls;
		r.info_hash = hash;
		r.end = end_names[f->endhow];
		r.rcpt = f->rcpt;
		truth_flow_end(g->truth, &r);
	}
	g->ss->active--;
	g->ss->freel[g->ss->nfree++] = f->id;
}
