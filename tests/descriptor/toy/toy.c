/*
 * toy.c — the toy concern's collector: per subscriber, weight x the
 * packets it sent and received in a step, into toy_pkts (wherever the
 * schema put it: rrdw_schema_find).
 */
#include "toy.h"

#include "config.h"
#include "log.h"
#include "subrows.h"

#include <stdlib.h>

struct toy {
	struct collector_env env;
	struct subrows rows;
	int ds[1];
	uint64_t weight;
};

static void *
toy_start(const struct collector_env *env)
{
	struct toy *t = calloc(1, sizeof *t);
	const unsigned *w = config_ext(env->cfg, "toy", "weight");

	if (t == NULL || w == NULL ||
	    (t->ds[0] = rrdw_schema_find(RRDW_SUBSCRIBER, "toy_pkts")) < 0) {
		log_err("toy: no memory, no [toy] weight or no toy_pkts");
		free(t);
		return NULL;
	}
	t->env = *env;
	t->weight = *w;
	if (subrows_init(&t->rows, env->subs, 1) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

static void
toy_packet(void *self, const struct flow_event *ev)
{
	struct toy *t = self;
	int32_t to = collector_sub_to(ev), from = collector_sub_from(ev);

	if (to >= 0)
		subrows_get(&t->rows, to)[0] += t->weight;
	if (from >= 0)
		subrows_get(&t->rows, from)[0] += t->weight;
}

static void
toy_step(void *self, time_t step_end)
{
	struct toy *t = self;

	subrows_flush(&t->rows, t->env.subs, t->env.rrdw, step_end, t->ds);
}

static int
toy_reload(void *self, const struct collector_env *env)
{
	struct toy *t = self;

	if (subrows_remap(&t->rows, t->env.subs, env->subs, env->rrdw,
	    env->step_end, t->ds) < 0)
		return -1;
	t->env = *env;
	return 0;
}

static void
toy_stop(void *self)
{
	struct toy *t = self;

	subrows_free(&t->rows);
	free(t);
}

const struct collector collector_toy = {
	.name = "toy",
	.desc = &toy_desc,
	.start = toy_start,
	.packet = toy_packet,
	.step = toy_step,
	.reload = toy_reload,
	.stop = toy_stop,
};
