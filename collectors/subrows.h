/*
 * subrows.h — per-subscriber counters for one step, indexed by subscriber
 * id, with the list of ids touched in the step so that a step costs the
 * active subscribers, not all of them. Collectors that keep per-subscriber
 * amounts (volume, p2p, smtp) each own one.
 */
#ifndef SPANWATCH_SUBROWS_H
#define SPANWATCH_SUBROWS_H

#include <stdint.h>
#include <time.h>

struct submap;
struct rrdw;

struct subrows {
	uint32_t n;		/* subscribers */
	unsigned width;		/* counters per subscriber */
	uint64_t *val;		/* n * width */
	uint32_t *touched;	/* ids with something this step */
	uint32_t ntouched;
	uint8_t *mark;		/* id is in touched */
};

/* Sizes rows for the subscribers of map (NULL: none). Returns 0, or -1
 * when out of memory (logged). */
int subrows_init(struct subrows *r, const struct submap *map, unsigned width);
void subrows_free(struct subrows *r);

/* Subscriber id's row is about to be written (id < 0: none): its lines
 * and its mark asked for (a row per subscriber is rarely in the cache).
 * An id from a guessed flow may be stale: it is bounded, not trusted. */
static inline void
subrows_prefetch(const struct subrows *r, int32_t id)
{
	const uint64_t *row;

	if (id < 0 || (uint32_t)id >= r->n)
		return;
	row = &r->val[(uint64_t)id * r->width];
	__builtin_prefetch(row, 1);
	__builtin_prefetch(row + r->width - 1, 1);
	__builtin_prefetch(&r->mark[id], 1);
}

/* The counters of subscriber id for this step, marking it touched. */
static inline uint64_t *
subrows_get(struct subrows *r, int32_t id)
{
	if (!r->mark[id]) {
		r->mark[id] = 1;
		r->touched[r->ntouched++] = (uint32_t)id;
	}
	return &r->val[(uint64_t)id * r->width];
}

/* Hands every touched row to the RRD writer (when there is one) as
 * subscriber data sources: ds[i] receives counter i. Then zeroes them. */
void subrows_flush(struct subrows *r, const struct submap *map, struct rrdw *w,
		   time_t step_end, const int *ds);

/* Moves this step's counters to the ids of a new map, by name (SIGHUP);
 * counters of names the new map lacks are written out first through w.
 * Returns 0, or -1 when out of memory (the old rows stay). */
int subrows_remap(struct subrows *r, const struct submap *old, const struct submap *map,
		  struct rrdw *w, time_t step_end, const int *ds);

#endif
