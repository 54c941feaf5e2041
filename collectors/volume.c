/*
 * volume.c — the volume collector: per subscriber, IP bytes in (towards
 * it) and out (from it) and flows opened, per step, into the subscriber's
 * RRD file. A local flow counts for both of its subscribers.
 *
 * The bytes are the flow table's own (struct flow's bytes, by direction):
 * a packet only marks its flow in the step (a bit by flow id,
 * a few KiB, always in cache), and what each marked flow gained since it
 * was last counted goes to its subscribers' rows when the step closes,
 * when the flow ends and before a reload (so that a reload that gives a
 * transit flow a subscriber counts only what comes after it). A row per
 * packet at random among 20,000 subscribers cost a cache miss a packet;
 * this costs one a flow a step. The figures are the same: a step's rows
 * get the bytes of the packets of that step.
 */
#include <stdlib.h>

#include "collector.h"
#include "rrdw.h"
#include "submap.h"
#include "subrows.h"

enum { V_IN, V_OUT, V_FLOWS, V_WIDTH };
static const int v_ds[V_WIDTH] = { RRDW_U_BYTES_IN, RRDW_U_BYTES_OUT, RRDW_U_FLOWS };

/* A flow's bytes (by enum flow_dir) already in the rows. */
struct vflow {
	uint64_t done[2];
};
_Static_assert(sizeof(struct vflow) == 16, "volume_desc.flow_state says 16");

struct volume {
	struct collector_env env;
	struct subrows rows;
	struct vflow *fl;		/* by flow id */
	uint32_t nflows;
	uint64_t *mark;			/* by flow id: had a packet this step */
	uint32_t nmark;			/* words of mark */
	uint32_t marked;		/* bits set in mark */
	/* The flow table's first flow: flow id i is flows[i] (a flow's
	 * id is its place in the table, flow.h). */
	struct flow *flows;
};

static void
volume_stop(void *self)
{
	struct volume *v = self;

	subrows_free(&v->rows);
	collector_flow_state_free(v->fl, v->nflows, &volume_desc);
	free(v->mark);
	free(v);
}

static void *
volume_start(const struct collector_env *env)
{
	struct volume *v = calloc(1, sizeof *v);

	if (!v)
		return NULL;
	v->env = *env;
	if (subrows_init(&v->rows, env->subs, V_WIDTH) < 0) {
		free(v);
		return NULL;
	}
	v->fl = collector_flow_state(env, env->cfg, &volume_desc, &v->nflows);
	v->nmark = v->nflows / 64 + 1;
	v->mark = calloc(v->nmark, sizeof *v->mark);
	if (!v->fl || !v->mark) {
		volume_stop(v);
		return NULL;
	}
	return v;
}

/* What f gained since it was last counted, into its subscribers' rows. */
static void
count(struct volume *v, struct flow *f)
{
	struct vflow *s = &v->fl[f->id];
	int32_t client = f->client_is_a ? f->sub_a : f->sub_b;
	int32_t server = f->client_is_a ? f->sub_b : f->sub_a;
	uint64_t c2s = f->bytes[FLOW_C2S] - s->done[FLOW_C2S];
	uint64_t s2c = f->bytes[FLOW_S2C] - s->done[FLOW_S2C];

	s->done[FLOW_C2S] = f->bytes[FLOW_C2S];
	s->done[FLOW_S2C] = f->bytes[FLOW_S2C];
	if (!c2s && !s2c)
		return;
	if (client >= 0) {
		uint64_t *r = subrows_get(&v->rows, client);

		r[V_OUT] += c2s;
		r[V_IN] += s2c;
	}
	if (server >= 0) {
		uint64_t *r = subrows_get(&v->rows, server);

		r[V_IN] += c2s;
		r[V_OUT] += s2c;
	}
}

/* Every marked flow counted; none marked any more. */
static void
count_marked(struct volume *v)
{
	for (uint32_t w = 0; v->marked && w < v->nmark; w++)
		while (v->mark[w]) {
			uint32_t b = (uint32_t)__builtin_ctzll(v->mark[w]);

			count(v, &v->flows[w * 64 + b]);
			v->mark[w] &= v->mark[w] - 1;
			v->marked--;
		}
}

static void
volume_packet(void *self, const struct flow_event *ev)
{
	struct volume *v = self;
	struct flow *f = ev->f;
	uint64_t bit;

	if (f->id >= v->nflows)
		return;
	v->flows = f - f->id;
	if (ev->created) {
		/* A new flow in the slot: nothing of it counted yet (a
		 * mark the slot's last flow left this step stays). */
		v->fl[f->id].done[0] = v->fl[f->id].done[1] = 0;
		if (f->sub_a >= 0)
			subrows_get(&v->rows, f->sub_a)[V_FLOWS]++;
		if (f->sub_b >= 0 && f->sub_b != f->sub_a)
			subrows_get(&v->rows, f->sub_b)[V_FLOWS]++;
	}
	bit = (uint64_t)1 << (f->id % 64);
	if (!(v->mark[f->id / 64] & bit)) {
		v->mark[f->id / 64] |= bit;
		v->marked++;
	}
}

static void
volume_flow_end(void *self, struct flow *f, enum flow_end why)
{
	struct volume *v = self;

	(void)why;
	/* Its slot may be another flow's before the step closes: counted
	 * now (it stays marked, and counts nothing more unless reused). */
	if (f->id < v->nflows)
		count(v, f);
}

static void
volume_step(void *self, time_t step_end)
{
	struct volume *v = self;

	count_marked(v);
	subrows_flush(&v->rows, v->env.subs, v->env.rrdw, step_end, v_ds);
}

static int
volume_reload(void *self, const struct collector_env *env)
{
	struct volume *v = self;

	/* The flows' bytes so far are their subscribers' under the old map
	 * (their ids change after this). */
	count_marked(v);
	if (subrows_remap(&v->rows, v->env.subs, env->subs, env->rrdw, env->step_end, v_ds) < 0)
		return -1;
	v->env = *env;
	return 0;
}

const struct collector collector_volume = {
	.name = "volume",
	.desc = &volume_desc,
	.start = volume_start,
	.packet = volume_packet,
	.flow_end = volume_flow_end,
	.step = volume_step,
	.reload = volume_reload,
	.stop = volume_stop,
};
