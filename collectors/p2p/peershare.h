/*
 * peershare.h — the p2p collector's cache of named peers (peercache.h),
 * one for every worker thread, with the rule nDPI's endpoint caches
 * follow (dpicache.h), so that a flow is labelled the same for one
 * worker or many:
 *
 *   a peer named by a unit's flow (dispatch_unit: the subscriber its
 *   packets go by, or its transit pair's slot) is seen at once by that
 *   unit, and by every other unit from the next step on.
 *
 * The cache is the owner's (worker 0's): every worker reads it during a
 * step, nobody writes it. A worker keeps the peers its units name in the
 * step in an overlay of its own (by unit and endpoint), which only those
 * units read. At the end of the step, once every worker has ended it
 * (dpicache's barrier), the member that merges nDPI's entries adds the
 * overlays' peers to the cache, unit after unit in the units' order and
 * each unit's in its own order, as if the units had run one after
 * another. With no subscribers there is a single unit (dispatch.h), all
 * on worker 0, whose peers go to the cache at once, as before.
 *
 * Bounded: PEERSHARE_OVERLAY distinct (unit, peer) pairs a worker a
 * step; a peer beyond that is counted as lost (and seen by nobody).
 */
#ifndef SPANWATCH_PEERSHARE_H
#define SPANWATCH_PEERSHARE_H

#include <stddef.h>
#include <stdint.h>

#include "peercache.h"

struct peershare;
struct dpicache;

/* (unit, peer) pairs a worker keeps for one step: 36 bytes each (9 MiB,
 * and an index of 1 MiB), resident only as far as used. */
#define PEERSHARE_OVERLAY (1u << 18)

/* A member that owns a cache of entries entries living ttl_s seconds
 * (peercache_new), in dc's step barrier (its worker's; NULL: none, the
 * overlay is merged only by peershare_merge). NULL when out of memory. */
struct peershare *peershare_new(size_t entries, uint32_t ttl_s, struct dpicache *dc);

/* m reads and merges into owner's cache from now on (its own is freed).
 * Before any thread uses either, after their dpicache_join. */
void peershare_join(struct peershare *m, struct peershare *owner);

/* Free every other member before the owner; NULL is fine. */
void peershare_free(struct peershare *m);

/* unit's flow named (family, addr, port) at now_s, for torrents tag
 * (PEERCACHE_T_*, 0: unknown). */
void peershare_add(struct peershare *m, int32_t unit, int family, const uint8_t *addr,
		   uint16_t port, uint32_t now_s, uint8_t tag);

/* For unit's flow: the tag of (family, addr, port) if it was named
 * within the time to live before now_s and unit may see it, else -1. */
int peershare_tag(struct peershare *m, int32_t unit, int family, const uint8_t *addr,
		  uint16_t port, uint32_t now_s);

/* Every member's overlay into the cache (the step barrier does it; for
 * callers without one). */
void peershare_merge(struct peershare *owner);

struct peershare_stats {
	struct peercache_stats cache;	/* the shared cache's; hits and misses m's */
	uint64_t lost;			/* m's peers beyond its overlay */
	int shared;			/* m reads another member's cache */
};

void peershare_get_stats(const struct peershare *m, struct peershare_stats *st);

#endif
