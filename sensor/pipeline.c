/*
 * pipeline.c — the packet path. Per packet: one decode into a struct pkt
 * on the stack, one hash lookup, a few additions, nDPI only while the flow
 * is undecided, and the collectors' packet hooks. Per new flow: the
 * subscriber lookups. Per flow end: the label, the collectors, the flow
 * log line. Per step (packet time): the collectors' step hooks and one
 * commit to the RRD writer.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alert.h"
#include "classify.h"
#include "collector.h"
#include "dispatch.h"
#include "dpicache.h"
#include "flowlog.h"
#include "frag.h"
#include "log.h"
#include "rrdw.h"
#include "stepclock.h"
#include "submap.h"

/* Flows ended per packet at most by expiry: keeps the cost of a burst of
 * timeouts spread over the packets that follow. */
#define EXPIRE_BUDGET 16
#define FRAG_BITS 12
#define MAX_COLLECTORS 16

/* The lookup of a packet's flow is two cache misses (bucket, entry) that
 * dominated the packet path, and the collectors' rows of its subscribers
 * and per-flow state are more. Packets therefore wait in a queue of four:
 * the newest has its bucket prefetched, the next its flow entry, the next
 * (whose entry is in) its collectors' state, guessed from the bucket's
 * first flow, and the oldest, whose memory has arrived by then, is
 * processed. Every clock and table sees the packets in their order;
 * drain() empties the queue before anything else (ticks, reloads, the
 * end) looks at the state. */
#define QLEN 4
#define QSLOT_BYTES 262144	/* libpcap's largest snapshot length */

struct qslot {
	struct pkt p;
	uint32_t bucket;
	uint8_t *buf;		/* QSLOT_BYTES, the frame p points into */
};

struct pipeline {
	struct flow_table *flows;
	struct frag_table *frags;
	struct classifier *cls;
	struct dpicache *dc;		/* cls's place in nDPI's endpoint caches */
	struct flowlog *flog;
	int flog_owned;
	struct pipeline_stats st;
	uint64_t now_us;		/* latest packet time */
	struct stepclock clock;
	struct collector_env env;
	void *cstate[MAX_COLLECTORS];
	size_t ncollectors;
	uint32_t flows_active;
	uint64_t drops;
	uint8_t *sub_seen;		/* by subscriber id */
	uint32_t max_flows;
	struct qslot q[QLEN];
	unsigned qh, qn;		/* oldest queued, how many */
	uint8_t *qbuf;
};

static const char *const direction_word[] = {
	[FLOW_TRANSIT] = "transit", [FLOW_OUT] = "out", [FLOW_IN] = "in", [FLOW_LOCAL] = "local",
};

/* ---- subscribers ---------------------------------------------------- */

static void
assign_subscribers(struct pipeline *pl, struct flow *f)
{
	int af = f->key.family == 6 ? AF_INET6 : AF_INET;
	int32_t client, server;

	f->sub_a = submap_lookup(pl->env.subs, af, f->key.a);
	f->sub_b = submap_lookup(pl->env.subs, af, f->key.b);
	client = f->client_is_a ? f->sub_a : f->sub_b;
	server = f->client_is_a ? f->sub_b : f->sub_a;
	f->direction = client >= 0 ? (server >= 0 ? FLOW_LOCAL : FLOW_OUT)
				   : (server >= 0 ? FLOW_IN : FLOW_TRANSIT);
	for (int i = 0; i < 2; i++) {
		int32_t s = i ? f->sub_b : f->sub_a;
		if (s >= 0 && !pl->sub_seen[s]) {
			pl->sub_seen[s] = 1;
			pl->st.subscribers_seen++;
		}
	}
}

/* The subscriber a flow log line names: the inside end (the client's,
 * for a local flow). */
static const char *
flow_subscriber(const struct pipeline *pl, const struct flow *f)
{
	int32_t client = f->client_is_a ? f->sub_a : f->sub_b;
	int32_t server = f->client_is_a ? f->sub_b : f->sub_a;

	return submap_name(pl->env.subs, client >= 0 ? client : server);
}

static void end_step(void *ctx, time_t step_end);

/* ---- steps ------------------------------------------------------------ */

/* The clock closed steps: what this step's flows told nDPI's caches is
 * everyone's from here on (dpicache.h). */
static void
advance_clock(struct pipeline *pl, uint64_t ts_us)
{
	if (stepclock_advance(&pl->clock, (time_t)(ts_us / 1000000), end_step, pl) > 0)
		dpicache_step(pl->dc);
}

static void
end_step(void *ctx, time_t step_end)
{
	struct pipeline *pl = ctx;
	struct flow_stats fs;

	flow_get_stats(pl->flows, &fs);
	pl->flows_active = fs.active;
	for (size_t i = 0; i < pl->ncollectors; i++)
		if (collector_registry[i]->step)
			collector_registry[i]->step(pl->cstate[i], step_end);
	if (pl->env.rrdw)
		rrdw_commit(pl->env.rrdw, step_end);
	flowlog_sync(pl->flog);
	pl->st.steps++;
}

/* ---- flows ------------------------------------------------------------ */

static void
on_flow_end(void *ctx, struct flow *f, enum flow_end why)
{
	struct pipeline *pl = ctx;
	char app[64];

	dpicache_enter(pl->dc, dispatch_unit(pl->env.subs, f));
	classify_finish(pl->cls, f);
	if (why == FLOW_END_EVICTED && pl->env.alerts) {
		/* The table is full: a new flow took this one's place. */
		struct alert_field af[] = {
			{ .key = "max_flows", .type = AF_UINT, .v.u = pl->max_flows },
		};
		alerts_raise(pl->env.alerts, "flow_table_full", NULL, (time_t)(pl->now_us / 1000000),
			     af, sizeof af / sizeof af[0]);
	}
	for (size_t i = 0; i < pl->ncollectors; i++)
		if (collector_registry[i]->flow_end)
			collector_registry[i]->flow_end(pl->cstate[i], f, why);
	pl->st.flows++;
	if (f->app_proto || f->app_master || f->own_app)
		pl->st.flows_classified++;
	if (pl->flog) {
		const char *own = flow_own_app_name(f->own_app);
		flowlog_write(pl->flog, f, own ? own : classify_name(pl->cls, f, app, sizeof app),
			      flow_subscriber(pl, f),
			      direction_word[f->direction & 3]);
	}
}

struct pipeline *
pipeline_new(const struct pipeline_cfg *cfg)
{
	struct pipeline *pl = calloc(1, sizeof *pl);

	if (!pl)
		return NULL;
	pl->max_flows = cfg->max_flows;
	pl->flows = flow_table_new(cfg->max_flows, cfg->idle_timeout_s, on_flow_end, pl);
	pl->frags = frag_new(FRAG_BITS);
	pl->cls = classify_new(cfg->dpi_states, cfg->dpi_max_bytes);
	pl->sub_seen = calloc((size_t)submap_count(cfg->subs) + 1, 1);
	pl->qbuf = malloc((size_t)QLEN * QSLOT_BYTES);
	for (unsigned i = 0; pl->qbuf && i < QLEN; i++)
		pl->q[i].buf = pl->qbuf + (size_t)i * QSLOT_BYTES;
	if (pl->cls)
		pl->dc = classify_caches(pl->cls);
	if (!pl->flows || !pl->frags || !pl->cls || !pl->sub_seen || !pl->qbuf) {
		log_err("cannot set up the packet path (max_flows %u): out of memory", cfg->max_flows);
		pipeline_free(pl);
		return NULL;
	}
	if (cfg->flog) {
		pl->flog = cfg->flog;
	} else if (cfg->flow_log) {
		if ((pl->flog = flowlog_open(cfg->flow_log)) == NULL) {
			pipeline_free(pl);
			return NULL;
		}
		pl->flog_owned = 1;
	}
	pl->env = (struct collector_env){
		.cfg = cfg->cfg, .subs = cfg->subs, .cls = pl->cls, .rrdw = cfg->rrdw,
		.alerts = cfg->alerts, .step = cfg->step ? cfg->step : 60,
		.flows_active = &pl->flows_active, .drops = &pl->drops,
		.shard = cfg->shard, .max_flows = cfg->max_flows,
	};
	stepclock_init(&pl->clock, pl->env.step);
	for (size_t i = 0; i < MAX_COLLECTORS && collector_registry[i]; i++) {
		pl->cstate[i] = collector_registry[i]->start(&pl->env);
		if (!pl->cstate[i]) {
			log_err("collector %s: cannot start", collector_registry[i]->name);
			pipeline_free(pl);
			return NULL;
		}
		pl->ncollectors = i + 1;
	}
	return pl;
}

/* The packet in p, decoded, from here on: fragments, clocks, the flow,
 * nDPI, the collectors. */
static void
process(struct pipeline *pl, struct pkt *p, uint32_t bucket)
{
	struct flow_event ev;
	int created;

	pl->st.ip_packets++;
	pl->st.ip_bytes += p->ip_len;
	if (p->flags & PKT_F_LEN_LIE) {
		pl->st.malformed++;
		pl->st.len_lies++;
	}
	if (p->flags & PKT_F_L4_TRUNC)
		pl->st.l4_truncated++;
	if (p->flags & PKT_F_FRAG) {
		if (!(p->flags & PKT_F_FRAG_LATER))
			frag_note_first(pl->frags, p);
		else if (frag_fill_ports(pl->frags, p) < 0)
			pl->st.frag_orphans++;
	}
	if (p->ts_us > pl->now_us) {
		advance_clock(pl, p->ts_us);
		pl->now_us = p->ts_us;
		flow_expire(pl->flows, p->ts_us, EXPIRE_BUDGET);
	}
	ev.p = p;
	/* A later fragment's bucket waited for its ports (FLOW_BUCKET_ANY). */
	ev.f = flow_packet_in(pl->flows, p, bucket, &ev.dir, &created);
	ev.created = (uint8_t)created;
	if (created)
		assign_subscribers(pl, ev.f);
	ev.from_a = (ev.dir == FLOW_C2S) == (ev.f->client_is_a != 0);
	if (!ev.f->classified)
		dpicache_enter(pl->dc, dispatch_unit(pl->env.subs, ev.f));
	ev.classified_now = (uint8_t)classify_packet(pl->cls, ev.f, p);
	for (size_t i = 0; i < pl->ncollectors; i++)
		collector_registry[i]->packet(pl->cstate[i], &ev);
}

/* Processes the packets still in the queue, oldest first. */
static void
drain(struct pipeline *pl)
{
	while (pl->qn > 0) {
		process(pl, &pl->q[pl->qh].p, pl->q[pl->qh].bucket);
		pl->qh = (pl->qh + 1) % QLEN;
		pl->qn--;
	}
}

/* Counts a frame that is not an IP packet; returns 1 for an IP packet. */
static int
decoded(struct pipeline *pl, enum decode_result r)
{
	uint64_t *counter[DEC_NRESULTS] = {
		[DEC_NONIP] = &pl->st.non_ip,
		[DEC_TRUNCATED] = &pl->st.truncated,
		[DEC_MALFORMED] = &pl->st.malformed,
	};

	if (r == DEC_IP)
		return 1;
	(*counter[(unsigned)r < DEC_NRESULTS ? r : DEC_MALFORMED])++;
	return 0;
}

/* The packet in the queue's newest slot s joins the queue: its flow's
 * bucket, the flow entry of the one before and the collectors' state of
 * the one before that are prefetched, and the oldest is processed once
 * the queue is full. */
static void
push(struct pipeline *pl, struct qslot *s)
{
	/* A later fragment's ports come from its first, in process(). */
	s->bucket = (s->p.flags & PKT_F_FRAG_LATER) ? FLOW_BUCKET_ANY
		    : flow_prefetch_bucket(pl->flows, &s->p);
	if (pl->qn > 0) {	/* the one before: its bucket is in */
		const struct qslot *m = &pl->q[(pl->qh + pl->qn - 1) % QLEN];

		if (m->bucket != FLOW_BUCKET_ANY)
			flow_prefetch_entry(pl->flows, m->bucket);
	}
	if (pl->qn > 1) {	/* the one before that: its entry is in */
		const struct flow *f = flow_peek(pl->flows, pl->q[(pl->qh + pl->qn - 2) % QLEN].bucket);

		if (f)
			for (size_t i = 0; i < pl->ncollectors; i++)
				if (collector_registry[i]->prefetch)
					collector_registry[i]->prefetch(pl->cstate[i], f);
	}
	if (++pl->qn == QLEN) {	/* the oldest: its flow is in */
		process(pl, &pl->q[pl->qh].p, pl->q[pl->qh].bucket);
		pl->qh = (pl->qh + 1) % QLEN;
		pl->qn--;
	}
}

/* The frame at data, decoded into the queue's newest slot s, queued. */
static void
enqueue(struct pipeline *pl, struct qslot *s, decode_fn fn, const uint8_t *data, uint32_t caplen,
	uint32_t wirelen, uint64_t ts_us)
{
	if (!decoded(pl, decode_frame(fn, data, caplen, wirelen, &s->p)))
		return;
	s->p.ts_us = ts_us;
	push(pl, s);
}

void
pipeline_frame(struct pipeline *pl, decode_fn fn, const uint8_t *data, uint32_t caplen,
	       uint32_t wirelen, uint64_t ts_us)
{
	struct qslot *s;

	pl->st.packets++;
	if (caplen > QSLOT_BYTES) {
		/* Larger than any link's frame: no copy, in order. */
		struct pkt p;

		drain(pl);
		if (decoded(pl, decode_frame(fn, data, caplen, wirelen, &p))) {
			p.ts_us = ts_us;
			process(pl, &p, FLOW_BUCKET_ANY);
		}
		return;
	}
	/* libpcap reuses its buffer for the next frame: the queue keeps a
	 * copy, which the decoded packet points into. */
	s = &pl->q[(pl->qh + pl->qn) % QLEN];
	memcpy(s->buf, data, caplen);
	enqueue(pl, s, fn, s->buf, caplen, wirelen, ts_us);
}

void
pipeline_frame_mapped(struct pipeline *pl, decode_fn fn, const uint8_t *data, uint32_t caplen,
		      uint32_t wirelen, uint64_t ts_us)
{
	pl->st.packets++;
	enqueue(pl, &pl->q[(pl->qh + pl->qn) % QLEN], fn, data, caplen, wirelen, ts_us);
}

void
pipeline_decoded(struct pipeline *pl, const struct pkt *p)
{
	struct qslot *s = &pl->q[(pl->qh + pl->qn) % QLEN];

	pl->st.packets++;
	/* The frame stays where p points (the caller's ring or mapping)
	 * until pipeline_drain: only the summary is queued. */
	s->p = *p;
	push(pl, s);
}

int
pipeline_share_dpi(struct pipeline *pl, struct pipeline *owner)
{
	if (classify_share(pl->cls, owner->cls) < 0)
		return -1;
	for (size_t i = 0; i < pl->ncollectors; i++)
		if (collector_registry[i]->share &&
		    collector_registry[i]->share(pl->cstate[i], owner->cstate[i]) < 0)
			return -1;
	return 0;
}

void
pipeline_drain(struct pipeline *pl)
{
	drain(pl);
}

void
pipeline_advance(struct pipeline *pl, uint64_t ts_us)
{
	drain(pl);
	/* What process() does when a packet moves the clock, without the
	 * packet: the same steps close, the same flows expire. */
	if (ts_us > pl->now_us) {
		advance_clock(pl, ts_us);
		pl->now_us = ts_us;
		flow_expire(pl->flows, ts_us, EXPIRE_BUDGET);
	}
}

void
pipeline_tick(struct pipeline *pl, uint64_t now_us)
{
	drain(pl);
	if (now_us <= pl->now_us)
		return;
	advance_clock(pl, now_us);
	pl->now_us = now_us;
	/* No packet pays for this expiry: a larger slice is fine. */
	flow_expire(pl->flows, now_us, 1024);
}

static void
reassign(void *ctx, struct flow *f)
{
	assign_subscribers(ctx, f);
}

int
pipeline_reload(struct pipeline *pl, const struct sw_config *cfg, const struct submap *subs)
{
	struct collector_env env = pl->env;
	uint8_t *seen = calloc((size_t)submap_count(subs) + 1, 1);

	drain(pl);
	if (!seen) {
		log_err("reload: out of memory");
		return -1;
	}
	env.cfg = cfg;
	env.subs = subs;
	env.step_end = pl->clock.end;
	for (size_t i = 0; i < pl->ncollectors; i++)
		if (collector_registry[i]->reload &&
		    collector_registry[i]->reload(pl->cstate[i], &env) < 0)
			log_err("reload: collector %s kept its old configuration",
				collector_registry[i]->name);
	pl->env = env;
	free(pl->sub_seen);
	pl->sub_seen = seen;
	pl->st.subscribers_seen = 0;
	flow_foreach(pl->flows, reassign, pl);
	return 0;
}

void
pipeline_reopen_log(struct pipeline *pl)
{
	flowlog_reopen(pl->flog);
}

void
pipeline_set_drops(struct pipeline *pl, uint64_t drops)
{
	pl->drops = drops;
}

void
pipeline_finish(struct pipeline *pl)
{
	drain(pl);
	flow_drain(pl->flows);
	stepclock_finish(&pl->clock, end_step, pl);
	dpicache_leave(pl->dc);
	if (dpicache_lost(pl->dc))
		log_warn("nDPI endpoint caches: %llu entries lost (more than %u in a step on one "
			 "worker): some flows may be labelled otherwise than with another number of threads",
			 (unsigned long long)dpicache_lost(pl->dc), DPICACHE_OVERLAY);
}

void
pipeline_step_done(struct pipeline *pl)
{
	drain(pl);
	dpicache_arrive(pl->dc);
}

void
pipeline_get_stats(const struct pipeline *pl, struct pipeline_stats *st)
{
	*st = pl->st;
}

void
pipeline_get_flow_stats(const struct pipeline *pl, struct flow_stats *st)
{
	flow_get_stats(pl->flows, st);
}

void
pipeline_mark_seen(const struct pipeline *pl, uint8_t *seen)
{
	int n = submap_count(pl->env.subs);

	for (int i = 0; i < n; i++)
		seen[i] |= pl->sub_seen[i];
}

int
pipeline_free(struct pipeline *pl)
{
	int rc;

	if (!pl)
		return 0;
	for (size_t i = 0; i < pl->ncollectors; i++)
		collector_registry[i]->stop(pl->cstate[i]);
	rc = pl->flog_owned ? flowlog_close(pl->flog) : 0;
	flow_table_free(pl->flows);
	frag_free(pl->frags);
	classify_free(pl->cls);
	free(pl->sub_seen);
	free(pl->qbuf);
	free(pl);
	return rc;
}
