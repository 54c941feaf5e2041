/*
 * dispatch.h — which worker thread a packet goes to ([capture] threads =
 * N): every packet of a subscriber to the same one, so that its windows,
 * baselines and caches live in one place. The subscriber end is the
 * source's subscriber, else the destination's; a packet with a subscriber
 * at each end (a local flow) goes to the worker of the one whose name
 * hashes lower, in both directions, and that worker accounts both ends as
 * one thread would; transit packets go by a hash of their address pair
 * (ports are absent from later fragments), both directions alike.
 *
 * A subscriber's worker is a hash of its name, not of its id: ids change
 * when the map is reloaded with lines added or moved, names do not, so a
 * reload never moves a subscriber to another worker. The hash picks one
 * of DISPATCH_SLOTS slots, and the slots are dealt to the workers: alike,
 * or with fewer for worker 0 when its thread has other work too (it
 * walks the files, workers_walk.c).
 */
#ifndef SPANWATCH_DISPATCH_H
#define SPANWATCH_DISPATCH_H

#include <stdint.h>

#include "pkt.h"

struct submap;
struct dispatch;
struct flow;

/* Subscribers (by their name's hash) and transit pairs (by theirs) fall
 * into this many slots, and each slot has its worker. */
#define DISPATCH_SLOTS 256

/* The table for subs (NULL: no subscribers) over n workers (1..255), or
 * NULL when out of memory (logged); worker 0 has lead of the slots
 * (DISPATCH_SLOTS / n: its even part) and the others share the rest
 * alike. Built off the packet path (start, reload). */
struct dispatch *dispatch_new(const struct submap *subs, unsigned n, unsigned lead);
void dispatch_free(struct dispatch *);

/* The worker of packet p (0..n-1); *sub is the subscriber it went by
 * (-1: transit). From one thread at a time (it remembers recent
 * addresses in the table). */
unsigned dispatch_worker(struct dispatch *, const struct pkt *p, int32_t *sub);

/* Starts the loads dispatch_worker will make for p, for a caller that
 * decides one packet later. */
void dispatch_prefetch(const struct dispatch *, const struct pkt *p);

/* Transit addresses a and b's slot (0..DISPATCH_SLOTS-1; 16 bytes
 * each, IPv4 in the first 4), the same in either order. */
unsigned dispatch_transit_slot(uint8_t family, const uint8_t *a, const uint8_t *b);

/* A subscriber name's rank: of a local flow's two ends, the lower one's
 * worker takes it. */
uint32_t dispatch_rank(const char *name);

/* The unit a flow's evidence belongs to in the caches every worker
 * shares (nDPI's endpoint caches, dpicache.h; the p2p peer cache,
 * peershare.h): the subscriber its packets go by (of a local flow's two
 * ends, the lower rank), else its transit slot's, and with no
 * subscribers at all the one transit unit. A unit's packets are all one
 * worker's, in order. Subscriber id i is unit i, transit slot s is unit
 * DISPATCH_TRANSIT - 1 - s. */
#define DISPATCH_TRANSIT (-1)
int32_t dispatch_unit(const struct submap *subs, const struct flow *f);

/* The worker subscriber id goes to (id of the map the table was built
 * for). */
unsigned dispatch_worker_of(const struct dispatch *, int32_t id);

#endif
