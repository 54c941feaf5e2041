/*
 * volume.c — the volume collector: per subscriber, IP bytes in (towards
 * it) and out (from it) and flows opened, per step, into the subscriber's
 * RRD file. A local flow counts for both of its subscribers.
 */
#include <stdlib.h>

#include "collector.h"
#include "rrdw.h"
#include "submap.h"
#include "subrows.h"

enum { V_IN, V_OUT, V_FLOWS, V_WIDTH };
static const int v_ds[V_WIDTH] = { RRDW_U_BYTES_IN, RRDW_U_BYTES_OUT, RRDW_U_FLOWS };

struct volume {
	struct collector_env env;
	struct subrows rows;
};

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
	return v;
}

static void
volume_packet(void *self, const struct flow_event *ev)
{
	struct volume *v = self;
	int32_t to = collector_sub_to(ev), from = collector_sub_from(ev);

	if (to >= 0)
		subrows_get(&v->rows, to)[V_IN] += ev->p->ip_len;
	if (from >= 0)
		subrows_get(&v->rows, from)[V_OUT] += ev->p->ip_len;
	if (ev->created) {
		if (ev->f->sub_a >= 0)
			subrows_get(&v->rows, ev->f->sub_a)[V_FLOWS]++;
		if (ev->f->sub_b >= 0 && ev->f->sub_b != ev->f->sub_a)
			subrows_get(&v->rows, ev->f->sub_b)[V_FLOWS]++;
	}
}

static void
volume_prefetch(void *self, const struct flow *f)
{
	struct volume *v = self;

	subrows_prefetch(&v->rows, f->sub_a);
	subrows_prefetch(&v->rows, f->sub_b);
}

static void
volume_step(void *self, time_t step_end)
{
	struct volume *v = self;

	subrows_flush(&v->rows, v->env.subs, v->env.rrdw, step_end, v_ds);
}

static int
volume_reload(void *self, const struct collector_env *env)
{
	struct volume *v = self;

	if (subrows_remap(&v->rows, v->env.subs, env->subs, env->rrdw, env->step_end, v_ds) < 0)
		return -1;
	v->env = *env;
	return 0;
}

static void
volume_stop(void *self)
{
	struct volume *v = self;

	subrows_free(&v->rows);
	free(v);
}

const struct collector collector_volume = {
	.name = "volume",
	.desc = &volume_desc,
	.start = volume_start,
	.packet = volume_packet,
	.prefetch = volume_prefetch,
	.step = volume_step,
	.reload = volume_reload,
	.stop = volume_stop,
};
