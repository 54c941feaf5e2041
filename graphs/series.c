/*
 * series.c — RRD reads for the dashboard (see series.h).
 */
#include "series.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rrd.h>

/* librrd keeps its last error per thread; take it and clear it, so the
 * next call's failure is not mistaken for this one's. */
static void
take_error(char *why, size_t whylen, const char *fallback)
{
	const char *e = rrd_test_error() ? rrd_get_error() : fallback;

	snprintf(why, whylen, "%s", e && *e ? e : fallback);
	rrd_clear_error();
}

int
series_info(const char *path, unsigned long *step, time_t *last, char *why,
    size_t whylen)
{
	rrd_info_t *info, *i;
	int have = 0;

	rrd_clear_error();
	info = rrd_info_r(path);
	if (info == NULL) {
		take_error(why, whylen, "not an RRD file");
		return -1;
	}
	for (i = info; i != NULL; i = i->next) {
		if (strcmp(i->key, "step") == 0 && i->type == RD_I_CNT) {
			*step = i->value.u_cnt;
			have |= 1;
		} else if (strcmp(i->key, "last_update") == 0 &&
		    i->type == RD_I_CNT) {
			*last = (time_t)i->value.u_cnt;
			have |= 2;
		}
	}
	rrd_info_free(info);
	if (have != 3 || *step == 0) {
		snprintf(why, whylen, "no step or last update in its header");
		return -1;
	}
	return 0;
}

int
series_fetch(const char *path, const char *cf, time_t start, time_t end,
    unsigned long res, struct series *out, char *why, size_t whylen)
{
	time_t s = start, e = end;
	unsigned long step = res, nds = 0;
	char **names = NULL;
	rrd_value_t *data = NULL;
	size_t rows;

	memset(out, 0, sizeof *out);
	rrd_clear_error();
	if (rrd_fetch_r(path, cf, &s, &e, &step, &nds, &names, &data) != 0) {
		take_error(why, whylen, "fetch failed");
		return -1;
	}
	/* rrdtool widens the range to whole rows of the archive it picked;
	 * the first row ends at s + step. Rows beyond the caller's end (the
	 * row in progress) are not ours to show. */
	rows = step ? (size_t)((e - s) / (time_t)step) : 0;
	while (rows > 0 && s + (time_t)(rows * step) > end)
		rows--;
	out->t0 = s;
	out->step = step;
	out->rows = rows;
	out->nds = nds;
	out->names = names;
	out->data = data;
	return 0;
}

void
series_free(struct series *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; s->names != NULL && i < s->nds; i++)
		rrd_freemem(s->names[i]);
	rrd_freemem(s->names);
	rrd_freemem(s->data);
	memset(s, 0, sizeof *s);
}

int
series_ds(const struct series *s, const char *name)
{
	for (size_t i = 0; i < s->nds; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int)i;
	return -1;
}

double
series_get(const struct series *s, size_t row, int ds)
{
	if (ds < 0 || (size_t)ds >= s->nds || row >= s->rows)
		return NAN;
	return s->data[row * s->nds + (size_t)ds];
}
