/*
 * rrdschema.c — the RRD schema (see rrdschema.h): the data sources of each
 * kind of file, gathered from the collectors' descriptors, and the
 * archives and heartbeat a step gives them.
 */
#include "rrdschema.h"

#include "collector_desc.h"
#include "log.h"

#include <pthread.h>
#include <string.h>

/* The data sources, in file order, made from the descriptors. */
static struct rrdw_ds ds_of[RRDW_NKINDS][RRDW_MAX_DS];
static struct rrdw_schema schemas[RRDW_NKINDS] = {
	[RRDW_SENSOR] = { "sensor", 0, ds_of[RRDW_SENSOR] },
	[RRDW_SUBSCRIBER] = { "subscriber", 0, ds_of[RRDW_SUBSCRIBER] },
};
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

/* Places one data source; -1 (said) if it cannot go there. */
static int
place(const struct collector_desc *c, const struct collector_ds *d,
    size_t *next)
{
	size_t at;

	if ((unsigned)d->kind >= RRDW_NKINDS) {
		log_err("rrd schema: %s: data source %s of no kind of file",
		    c->name, d->name);
		return -1;
	}
	at = d->slot == COLLECTOR_DS_NEXT ? next[d->kind]++ : (size_t)d->slot;
	if (d->slot < COLLECTOR_DS_NEXT || at >= RRDW_MAX_DS ||
	    ds_of[d->kind][at].name != NULL) {
		log_err("rrd schema: %s: data source %s: place %d taken or out "
		    "of 0..%d", c->name, d->name, d->slot, RRDW_MAX_DS - 1);
		return -1;
	}
	ds_of[d->kind][at] = (struct rrdw_ds){ d->name, d->type };
	return 0;
}

/* The fixed places first, which must leave no gap (a file would have a
 * data source without a name), then the others after them. */
static void
schema_build(void)
{
	size_t next[RRDW_NKINDS] = { 0 };
	int bad = 0;

	for (size_t i = 0; collector_descs[i] != NULL; i++)
		for (size_t j = 0; j < collector_descs[i]->nds; j++)
			if (collector_descs[i]->ds[j].slot != COLLECTOR_DS_NEXT)
				bad |= place(collector_descs[i],
				    &collector_descs[i]->ds[j], next);
	for (size_t k = 0; k < RRDW_NKINDS; k++)
		while (next[k] < RRDW_MAX_DS && ds_of[k][next[k]].name != NULL)
			next[k]++;
	for (size_t i = 0; collector_descs[i] != NULL; i++)
		for (size_t j = 0; j < collector_descs[i]->nds; j++)
			if (collector_descs[i]->ds[j].slot == COLLECTOR_DS_NEXT)
				bad |= place(collector_descs[i],
				    &collector_descs[i]->ds[j], next);
	for (size_t k = 0; k < RRDW_NKINDS; k++) {
		for (size_t i = next[k]; i < RRDW_MAX_DS; i++)
			if (ds_of[k][i].name != NULL) {
				log_err("rrd schema: %s files: no data source "
				    "at place %zu", schemas[k].what, next[k]);
				bad = 1;
				break;
			}
		schemas[k].nds = bad ? 0 : next[k];
	}
}

const struct rrdw_schema *
rrdw_schema(enum rrdw_kind kind)
{
	(void)pthread_once(&schema_once, schema_build);
	return &schemas[(unsigned)kind < RRDW_NKINDS ? kind : RRDW_SENSOR];
}

int
rrdw_schema_find(enum rrdw_kind kind, const char *name)
{
	const struct rrdw_schema *s = rrdw_schema(kind);

	for (size_t i = 0; i < s->nds; i++)
		if (strcmp(s->ds[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* SPEC's resolutions: one step for a day, ~5 min for a week, ~1 h for two
 * months (62 days: any two calendar months), a day for two years (731: one
 * may be a leap year). Kept at the minimum because a per-subscriber file
 * must stay under 1.5 MiB and there may be tens of thousands of them. */
static const struct {
	unsigned res;		/* seconds per row; 0 = one step */
	unsigned days;
} levels[] = { { 0, 1 }, { 300, 7 }, { 3600, 62 }, { 86400, 731 } };

#define NLEVELS (sizeof levels / sizeof levels[0])

size_t
rrdw_rras(enum rrdw_kind kind, unsigned step, struct rrdw_rra *out)
{
	unsigned ppr[NLEVELS], secs[NLEVELS];
	size_t nl = 0, n = 0;

	if ((unsigned)kind >= RRDW_NKINDS || step < RRDW_STEP_MIN ||
	    step > RRDW_STEP_MAX)
		return 0;
	for (size_t i = 0; i < NLEVELS; i++) {
		unsigned p = levels[i].res ? (levels[i].res + step / 2) / step : 1;
		unsigned s = levels[i].days * 86400u;

		if (p < 1)
			p = 1;
		/* With a long step two levels can coincide (step 3600: 5 min
		 * and 1 h are both one step): keep one, with the longer span. */
		if (nl > 0 && p <= ppr[nl - 1]) {
			if (s > secs[nl - 1])
				secs[nl - 1] = s;
			continue;
		}
		ppr[nl] = p;
		secs[nl] = s;
		nl++;
	}
	for (size_t i = 0; i < nl; i++) {
		unsigned span = ppr[i] * step;
		unsigned rows = (secs[i] + span - 1) / span;

		out[n++] = (struct rrdw_rra){ "AVERAGE", ppr[i], rows };
		/* At one step per row MAX and MIN equal the average. */
		if (ppr[i] == 1)
			continue;
		out[n++] = (struct rrdw_rra){ "MAX", ppr[i], rows };
		if (kind == RRDW_SENSOR)
			out[n++] = (struct rrdw_rra){ "MIN", ppr[i], rows };
	}
	return n;
}

/* Ten steps, but at least 15 minutes: a counter update lost in transit
 * (rrdcached killed before writing, default write interval 5 minutes) then
 * still spreads over the steps it covers instead of turning into unknown. */
unsigned
rrdw_heartbeat(unsigned step)
{
	return step * 10 > 900 ? step * 10 : 900;
}

void
rrdw_clear_values(enum rrdw_kind kind, uint64_t *values)
{
	const struct rrdw_schema *s = rrdw_schema(kind);

	for (size_t i = 0; i < s->nds; i++)
		values[i] = s->ds[i].type == RRDW_GAUGE ? RRDW_KEEP : 0;
}
