/*
 * peercache.h — a bounded cache of BitTorrent peer endpoints (address and
 * port) that the sensor has seen named as peers: in DHT replies (BEP 5
 * `values`, `nodes`, BEP 32 `nodes6`), tracker replies (BEP 23 compact
 * `peers`, BEP 7 `peers6`, BEP 15 UDP announce replies) and peer exchange
 * (BEP 11 `added`, `added6`). The p2p collector asks it whether the far
 * end of an opaque, MSE-shaped flow is such a peer.
 *
 * Fixed size, set by peercache_new and never grown: a set-associative
 * hash table (PEERCACHE_WAYS entries per set). A new endpoint takes an
 * empty or expired way of its set, else the way named longest ago (LRU by
 * last mention). An entry older than the time to live reads as absent.
 * No allocation after peercache_new; add and lookup touch one set.
 *
 * Times are packet time in seconds.
 */
#ifndef SPANWATCH_PEERCACHE_H
#define SPANWATCH_PEERCACHE_H

#include <stddef.h>
#include <stdint.h>

#define PEERCACHE_WAYS 4

struct peercache;

struct peercache_stats {
	uint64_t added;		/* endpoints stored that were not there */
	uint64_t refreshed;	/* endpoints named again while present */
	uint64_t evicted;	/* live entries pushed out by a full set */
	uint64_t hits, misses;	/* lookups */
	size_t capacity;	/* entries */
	size_t bytes;		/* memory held */
};

/* Returns a cache of at least entries entries (rounded up to a power of
 * two, at least one set) whose entries live ttl_s seconds after they were
 * last named, or NULL when out of memory. */
struct peercache *peercache_new(size_t entries, uint32_t ttl_s);

/* The cache's form of an address: addr (4 bytes for family 4, 16 for 6)
 * in a zeroed 16, IPv4 in the first 4. Returns 0, or -1 for a bad
 * family. */
int peercache_norm(int family, const uint8_t *addr, uint8_t out[16]);

/* Frees the cache; NULL is fine. */
void peercache_free(struct peercache *pc);

/* Notes that (family, addr, port) was named as a peer at now_s. family
 * is 4 or 6 (anything else is ignored); addr holds 4 or 16 bytes in
 * network order and need not be aligned; port is in host order. */
void peercache_add(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		   uint32_t now_s);

/* What is known of the torrents an endpoint was named for: a tracker
 * reply to an announce, a DHT get_peers reply, a PEX message each name
 * peers of one torrent, whose info-hash the same flow showed in clear.
 * Bits accumulate while the entry lives (one peer may serve several
 * torrents); 0: named, torrent unknown. */
#define PEERCACHE_T_ALLOWED 0x01	/* for an allowlisted torrent */
#define PEERCACHE_T_OTHER 0x02		/* for a torrent not on the list */

/* peercache_add that also ORs tag (PEERCACHE_T_*) into the entry's. */
void peercache_add_tag(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		       uint32_t now_s, uint8_t tag);

/* The tag of (family, addr, port) if it was named within the time to
 * live before now_s, else -1. */
int peercache_tag(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		  uint32_t now_s);

/* peercache_tag that counts nothing (the cache shared by workers is
 * read by several threads at once, peershare.h). */
int peercache_peek(const struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		   uint32_t now_s);

/* 1 when (family, addr, port) was named within the time to live before
 * now_s, else 0. */
int peercache_has(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		  uint32_t now_s);

/* Entries alive at now_s (walks the whole table: for tests and the
 * summary, not for the packet path). */
size_t peercache_live(const struct peercache *pc, uint32_t now_s);

void peercache_get_stats(const struct peercache *pc, struct peercache_stats *st);

#endif
