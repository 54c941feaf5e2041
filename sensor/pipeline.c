/*
 * pipeline.c — the packet path. Per packet: one decode into a struct pkt
 * on the stack, one hash lookup, a few additions, and nDPI only while the
 * flow is undecided. Per flow end: the label, the flow log line.
 */
#include "pipeline.h"

#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "flowlog.h"
#include "frag.h"
#include "log.h"

/* Flows ended per packet at most by expiry: keeps the cost of a burst of
 * timeouts spread over the packets that follow. */
#define EXPIRE_BUDGET 16
#define FRAG_BITS 12

struct pipeline {
	struct flow_table *flows;
	struct frag_table *frags;
	struct classifier *cls;
	struct flowlog *flog;
	struct pipeline_stats st;
	uint64_t now_us;		/* latest packet time */
};

static const char *const direction_word[] = { "transit", "out", "in", "local" };

static void
on_flow_end(void *ctx, struct flow *f, enum flow_end why)
{
	struct pipeline *pl = ctx;
	char app[64];

	classify_finish(pl->cls, f);
	pl->st.flows++;
	if (f->app_proto || f->app_master)
		pl->st.flows_classified++;
	if (pl->flog) {
		classify_name(pl->cls, f, app, sizeof app);
		flowlog_write(pl->flog, f, app, NULL, direction_word[f->direction & 3]);
	}
}

struct pipeline *
pipeline_new(const struct pipeline_cfg *cfg)
{
	struct pipeline *pl = calloc(1, sizeof *pl);

	if (!pl)
		return NULL;
	pl->flows = flow_table_new(cfg->max_flows, cfg->idle_timeout_s, on_flow_end, pl);
	pl->frags = frag_new(FRAG_BITS);
	pl->cls = classify_new(cfg->dpi_states);
	if (!pl->flows || !pl->frags || !pl->cls) {
		log_err("cannot set up the packet path (max_flows %u): out of memory", cfg->max_flows);
		pipeline_free(pl);
		return NULL;
	}
	if (cfg->flow_log && (pl->flog = flowlog_open(cfg->flow_log)) == NULL) {
		pipeline_free(pl);
		return NULL;
	}
	return pl;
}

void
pipeline_frame(struct pipeline *pl, decode_fn fn, const uint8_t *data, uint32_t caplen,
	       uint64_t ts_us)
{
	struct pkt p;
	struct flow *f;
	enum flow_dir dir;
	int created;

	pl->st.packets++;
	switch (decode_frame(fn, data, caplen, &p)) {
	case DEC_IP:
		break;
	case DEC_NONIP:
		pl->st.non_ip++;
		return;
	case DEC_TRUNCATED:
		pl->st.truncated++;
		return;
	default:
		pl->st.malformed++;
		return;
	}
	p.ts_us = ts_us;
	pl->st.ip_packets++;
	pl->st.ip_bytes += p.ip_len;
	if (p.flags & PKT_F_L4_TRUNC)
		pl->st.l4_truncated++;
	if (p.flags & PKT_F_FRAG) {
		if (!(p.flags & PKT_F_FRAG_LATER))
			frag_note_first(pl->frags, &p);
		else if (frag_fill_ports(pl->frags, &p) < 0)
			pl->st.frag_orphans++;
	}
	if (ts_us > pl->now_us) {
		pl->now_us = ts_us;
		flow_expire(pl->flows, ts_us, EXPIRE_BUDGET);
	}

	f = flow_packet(pl->flows, &p, &dir, &created);
	classify_packet(pl->cls, f, &p);
}

void
pipeline_drain(struct pipeline *pl)
{
	flow_drain(pl->flows);
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

int
pipeline_free(struct pipeline *pl)
{
	int rc;

	if (!pl)
		return 0;
	if (pl->flows)
		flow_drain(pl->flows);
	rc = flowlog_close(pl->flog);
	flow_table_free(pl->flows);
	frag_free(pl->frags);
	classify_free(pl->cls);
	free(pl);
	return rc;
}
