/*
 * dpicache.h — nDPI 4.2's caches of far endpoints (BitTorrent peers, STUN
 * and Zoom servers, TLS certificates, Ookla, mining pools, Teams), which
 * label one flow by what another flow showed, made the same for one
 * worker thread or many.
 *
 * nDPI makes them on first use inside its module and reads and writes
 * them in packet order. With several workers sharing one set, whether a
 * worker's entry was already there when another worker looked depended
 * on the threads' timing, and now and then a flow was labelled
 * differently at four threads than at one. Here every entry belongs to a
 * unit: the subscriber the flow was dispatched by (dispatch.h), or a
 * pair of transit addresses' slot, or, with no subscribers at all, the
 * one transit unit. A unit's packets are all on one worker, in order.
 * The rule, the same for any number of workers:
 *
 *   an entry is seen at once by its own unit, and by every other unit
 *   from the next step on (packet time, the RRD step).
 *
 * Each worker keeps this step's entries in its own table (the overlay,
 * by unit); at the end of a step, once every worker has ended it, the
 * last one to arrive merges all overlays into the shared caches (for a
 * slot written by several units, the highest unit's entry stays, as if
 * the units had run one after the other), and they are read-only until
 * the next merge. Without subscribers everything is one unit, so a
 * capture is labelled exactly as ndpiReader labels it.
 *
 * nDPI 4.2 calls ndpi_lru_find_cache and ndpi_lru_add_to_cache through
 * its PLT (13 and 11 call sites, no -Bsymbolic), so this file's
 * definitions of them, in the executable, are the ones it uses.
 */
#ifndef SPANWATCH_DPICACHE_H
#define SPANWATCH_DPICACHE_H

#include <stdint.h>

struct ndpi_detection_module_struct;
struct dpicache;

/* The unit of transit flows when there are no subscribers; transit
 * slot s (dispatch_transit_slot) is unit DPICACHE_TRANSIT - 1 - s, and
 * subscriber id i is unit i. */
#define DPICACHE_TRANSIT (-1)

/* A worker's entries in one step, at most (20 bytes each, and 8 of
 * index): nDPI adds one or two when it labels a flow by its packets. */
#define DPICACHE_OVERLAY 65536

/* Makes n's caches not made yet (after ndpi_finalize_initialization),
 * and a group of one (n's classifier) around them. NULL when out of
 * memory (logged). */
struct dpicache *dpicache_new(struct ndpi_detection_module_struct *n);

/* Several workers: n uses owner's caches from now on (its own are
 * freed) and m leaves its group for owner's. Before any thread uses
 * either. Returns 0. */
int dpicache_join(struct dpicache *m, struct ndpi_detection_module_struct *n,
		  struct dpicache *owner);

/* Before ndpi_exit_detection_module(n): a member that joined another's
 * group lets its caches be (the owner frees them, later). Free every
 * member before the owner; NULL is fine. */
void dpicache_free(struct dpicache *m, struct ndpi_detection_module_struct *n);

/* nDPI's calls in this thread are unit's, through m, from now on. */
void dpicache_enter(struct dpicache *m, int32_t unit);

/* m is done with the step in progress: no entry of its comes before the
 * step closes (a reader that knows the step's last packet says so early,
 * so that no worker waits for another that waits for it). */
void dpicache_arrive(struct dpicache *m);

/* The step closed: arrives (unless it did already) and waits until
 * every member has and the step's entries are merged. */
void dpicache_step(struct dpicache *m);

/* Another cache with the same rule (the p2p collector's peers): fn(arg)
 * runs at every merge, by the member that merges, under the group's lock
 * and after nDPI's entries, while every other member waits; the owner's
 * setting is the group's (before any thread uses the group). */
void dpicache_on_merge(struct dpicache *m, void (*fn)(void *arg), void *arg);

/* For that cache's reads and writes: returns once m is not waiting for a
 * merge (a member that arrived reads and writes nothing before it). */
void dpicache_wait(struct dpicache *m);

/* m has no steps left (after its last flows ended): it waits for a step
 * it arrived at, then leaves its group so that the others do not wait
 * for it. */
void dpicache_leave(struct dpicache *m);

/* Entries m could not keep for want of room in its overlay (the step's
 * entries beyond DPICACHE_OVERLAY): lost, and counted. */
uint64_t dpicache_lost(const struct dpicache *m);

#endif
