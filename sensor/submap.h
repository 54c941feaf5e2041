/*
 * submap.h — the subscriber map (subscribers.txt): which customer owns an
 * address. One "CIDR NAME" per line, IPv4 and IPv6; a subscriber may own
 * several prefixes; the longest prefix wins; an address in no prefix is
 * outside.
 *
 * Subscribers are numbered 0..submap_count()-1 in order of first
 * appearance; every prefix of one name maps to the same id. A map is
 * immutable once loaded, so capture threads may look up concurrently; a
 * reload (SIGHUP) builds a new map and the caller swaps it in. Ids are
 * only meaningful within one map: match subscribers across a reload by
 * name.
 *
 * A NULL map is a valid, empty map (no subscribers file: every flow is
 * transit).
 */
#ifndef SPANWATCH_SUBMAP_H
#define SPANWATCH_SUBMAP_H

#include <stddef.h>
#include <stdint.h>

struct submap;

/* More prefixes than this in one file is an error: tables stay bounded. */
#define SUBMAP_MAX_PREFIXES 10000000

/* Reads the map at path. Every bad line is logged through log_err as
 * "path:line: message" (bad or misaligned CIDR, prefix length out of
 * range, bad name, duplicate prefix, stray fields), up to 200 of them
 * (then it stops reading: that is no subscriber map); an unreadable file
 * as "path: reason". Returns the map, or NULL if anything was wrong. An
 * empty file is an empty map. */
struct submap *submap_load(const char *path);

/* Frees the map; NULL is fine. */
void submap_free(struct submap *map);

/* The subscriber that owns addr (network byte order, 4 bytes for AF_INET,
 * 16 for AF_INET6; need not be aligned). Returns its id, or -1 when the
 * address is outside every prefix or family is neither. */
int submap_lookup(const struct submap *map, int family, const void *addr);

/* The span of family's prefixes, lowest and highest address, each as
 * two 64-bit numbers, the most significant first (an IPv4 address is
 * the top 32 bits of the first): an address outside it is no one's, a
 * test that needs no lookup. Returns 0, or -1 when the family has no
 * prefix (or map is NULL). */
int submap_span(const struct submap *map, int family, uint64_t lo[2], uint64_t hi[2]);

/* The name of subscriber id, or NULL when id is not in the map. The
 * string lives as long as the map. */
const char *submap_name(const struct submap *map, int id);

/* The id of the subscriber called name, or -1 when there is none (to
 * check [smtp] exempt names, or to match subscribers across a reload). */
int submap_find(const struct submap *map, const char *name);

/* Number of subscribers (distinct names). */
int submap_count(const struct submap *map);

/* Number of prefixes, IPv4 and IPv6 together. */
size_t submap_prefixes(const struct submap *map);

#endif
