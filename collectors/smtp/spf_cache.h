/*
 * spf_cache.h — SPF verdicts by (client address, domain), each kept until
 * its expiry time. Pure: no I/O, all memory allocated at creation, times
 * are milliseconds of whatever clock the caller uses.
 *
 * A fixed table of 4-way sets indexed by a hash of the key: a lookup or
 * an insertion looks at four entries, never more. A new verdict takes an
 * empty or expired way of its set, or else the one that expires soonest
 * (counted as evicted). The table never grows, so a flood of distinct
 * (address, domain) pairs costs old entries, not memory.
 */
#ifndef SPANWATCH_SPF_CACHE_H
#define SPANWATCH_SPF_CACHE_H

#include <stdint.h>

#include "spf_dns.h"

#define SPF_CACHE_WAYS 4

/* What a verdict is about. Keys are compared whole: callers zero them
 * before filling (spf_cache_key), and lower-case the domain. */
struct spf_key {
	uint8_t family;			/* 4 or 6 */
	uint8_t addr[16];
	char domain[SPF_NAME_MAX + 1];
};

struct spf_cache;

struct spf_cache_stats {
	uint64_t hits, misses, stored, evicted;
	uint32_t entries;		/* the table's size */
};

/* Fills k: family 4 or 6, addr (4 or 16 bytes used), domain (cut to
 * SPF_NAME_MAX, lower-cased, one trailing dot dropped). */
void spf_cache_key(struct spf_key *k, unsigned family, const uint8_t *addr, const char *domain);

/* A hash of the key, for tables that index keys. */
uint64_t spf_cache_hash(const struct spf_key *k);

/* A table of at least entries entries (rounded up to a power of two,
 * at least SPF_CACHE_WAYS). Returns NULL when out of memory. */
struct spf_cache *spf_cache_new(unsigned entries);
void spf_cache_free(struct spf_cache *c);

/* The verdict stored for k that has not expired at now, or -1. */
int spf_cache_get(struct spf_cache *c, const struct spf_key *k, uint64_t now);

/* Keeps verdict (0..255) for k until now + ttl_ms; ttl_ms 0 keeps nothing
 * (and forgets what k had). */
void spf_cache_put(struct spf_cache *c, const struct spf_key *k, int verdict, uint64_t ttl_ms,
		   uint64_t now);

void spf_cache_get_stats(const struct spf_cache *c, struct spf_cache_stats *st);

#endif
