/*
 * subrows.c — per-subscriber step counters shared in shape (not in data)
 * by the collectors.
 */
#include "subrows.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "log.h"
#include "rrdw.h"
#include "submap.h"

int
subrows_init(struct subrows *r, const struct submap *map, unsigned width)
{
	uint32_t n = (uint32_t)submap_count(map);

	memset(r, 0, sizeof *r);
	r->n = n;
	r->width = width;
	/* One spare row so that an empty map still gets real allocations. */
	/* Read at random, a row a packet (bigmem.h). */
	r->val = bigmem_calloc((size_t)(n + 1) * width, sizeof *r->val);
	r->touched = calloc(n + 1, sizeof *r->touched);
	r->mark = calloc(n + 1, 1);
	if (!r->val || !r->touched || !r->mark) {
		log_err("no memory for %u subscribers' counters", n);
		subrows_free(r);
		return -1;
	}
	return 0;
}

void
subrows_free(struct subrows *r)
{
	bigmem_free(r->val, (size_t)(r->n + 1) * r->width, sizeof *r->val);
	free(r->touched);
	free(r->mark);
	memset(r, 0, sizeof *r);
}

static void
flush_one(struct subrows *r, const struct submap *map, struct rrdw *w, time_t step_end,
	  const int *ds, uint32_t id)
{
	uint64_t values[RRDW_MAX_DS];
	uint64_t *row = &r->val[(uint64_t)id * r->width];

	if (w) {
		rrdw_clear_values(RRDW_SUBSCRIBER, values);
		for (unsigned i = 0; i < r->width; i++)
			values[ds[i]] = row[i];
		rrdw_update(w, RRDW_SUBSCRIBER, submap_name(map, (int)id), step_end, values);
	}
	memset(row, 0, r->width * sizeof *row);
	r->mark[id] = 0;
}

void
subrows_flush(struct subrows *r, const struct submap *map, struct rrdw *w, time_t step_end,
	      const int *ds)
{
	for (uint32_t i = 0; i < r->ntouched; i++)
		flush_one(r, map, w, step_end, ds, r->touched[i]);
	r->ntouched = 0;
}

int
subrows_remap(struct subrows *r, const struct submap *old, const struct submap *map,
	      struct rrdw *w, time_t step_end, const int *ds)
{
	struct subrows nr;

	if (subrows_init(&nr, map, r->width) < 0)
		return -1;
	for (uint32_t i = 0; i < r->ntouched; i++) {
		uint32_t id = r->touched[i];
		int nid = submap_find(map, submap_name(old, (int)id));

		if (nid < 0) {
			flush_one(r, old, w, step_end, ds, id);
			continue;
		}
		uint64_t *dst = subrows_get(&nr, nid);
		for (unsigned k = 0; k < r->width; k++)
			dst[k] += r->val[(uint64_t)id * r->width + k];
	}
	subrows_free(r);
	*r = nr;
	return 0;
}
