/*
 * dispatch.c — the subscriber-affine worker choice (see dispatch.h).
 * Per packet: two lookups in the subscriber map and a table read.
 */
#include "dispatch.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dpicache.h"
#include "flow.h"
#include "hash.h"
#include "log.h"
#include "submap.h"

/* Addresses recently looked up, direct-mapped: a subscriber's packets
 * come in runs, and a hit costs one cache line where the map's lookup
 * costs several. A worker reading files looks up both ends of every
 * packet of the capture, so the memo must stay in its core's cache:
 * IPv4 entries are 8 bytes (512 KiB in all), IPv6 ones 24 in a smaller
 * table. The thread's alone. */
#define MEMO4_BITS 16
#define MEMO6_BITS 13

struct memo4 {
	uint32_t addr;
	int32_t id;		/* MEMO_EMPTY: nothing here yet */
};

struct memo6 {
	uint8_t addr[16];
	int32_t id;
};

/* An id no lookup returns: the entry has never been filled. */
#define MEMO_EMPTY INT32_MIN

struct dispatch {
	const struct submap *subs;
	unsigned n;
	/* The span of each family's prefixes: most far ends of packets lie
	 * outside, and are no one's without a look at the memo (whose
	 * line would be a miss, and whose entry a near end's). */
	uint32_t lo4, hi4;
	uint64_t lo6[2], hi6[2];
	uint32_t *rank;		/* by id: the name's hash (local flows compare it) */
	uint8_t *worker;	/* by id */
	uint8_t slot[DISPATCH_SLOTS];	/* by the top byte of a hash */
	int empty;			/* no subscribers: transit is one unit */
	struct memo4 *memo4;	/* 1 << MEMO4_BITS */
	struct memo6 *memo6;	/* 1 << MEMO6_BITS */
};

/* FNV-1a, then mixed: stable across runs and machines, as the worker of
 * a name must be. */
uint32_t
dispatch_rank(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (uint32_t)hash_mix(h);
}

struct dispatch *
dispatch_new(const struct submap *subs, unsigned n, unsigned lead)
{
	struct dispatch *d = calloc(1, sizeof *d);
	size_t count = (size_t)submap_count(subs);
	uint64_t lo[2], hi[2];	/* IPv4's span, as submap_span gives it */

	if (d) {
		d->subs = subs;
		d->n = n ? n : 1;
		d->rank = calloc(count + 1, sizeof *d->rank);
		d->worker = calloc(count + 1, 1);
		d->memo4 = malloc(((size_t)1 << MEMO4_BITS) * sizeof *d->memo4);
		d->memo6 = malloc(((size_t)1 << MEMO6_BITS) * sizeof *d->memo6);
	}
	if (!d || !d->rank || !d->worker || !d->memo4 || !d->memo6) {
		log_err("dispatch: out of memory for %zu subscribers", count);
		dispatch_free(d);
		return NULL;
	}
	if (submap_span(subs, AF_INET, lo, hi) == 0) {
		d->lo4 = (uint32_t)(lo[0] >> 32);
		d->hi4 = (uint32_t)(hi[0] >> 32);
	} else {
		d->lo4 = 1;	/* an empty span: every address is outside */
		d->hi4 = 0;
	}
	if (submap_span(subs, AF_INET6, d->lo6, d->hi6) < 0) {
		d->lo6[0] = 1;
		d->hi6[0] = d->hi6[1] = d->lo6[1] = 0;
	}
	for (size_t i = 0; i < ((size_t)1 << MEMO4_BITS); i++)
		d->memo4[i].id = MEMO_EMPTY;
	for (size_t i = 0; i < ((size_t)1 << MEMO6_BITS); i++)
		d->memo6[i].id = MEMO_EMPTY;
	d->empty = count == 0;
	/* Worker 0's slots first, then the others' in turn: the same n and
	 * lead give every name the same worker, whatever the map's order. */
	lead = d->n == 1 ? DISPATCH_SLOTS : lead < DISPATCH_SLOTS ? lead : DISPATCH_SLOTS - 1;
	for (unsigned s = 0; s < DISPATCH_SLOTS; s++)
		d->slot[s] = (uint8_t)(s < lead ? 0 : 1 + (s - lead) % (d->n - 1));
	for (size_t i = 0; i < count; i++) {
		d->rank[i] = dispatch_rank(submap_name(subs, (int)i));
		d->worker[i] = d->slot[d->rank[i] >> 24];
	}
	return d;
}

void
dispatch_free(struct dispatch *d)
{
	if (!d)
		return;
	free(d->rank);
	free(d->worker);
	free(d->memo4);
	free(d->memo6);
	free(d);
}

static struct memo4 *
slot4(const struct dispatch *d, const uint8_t *addr)
{
	uint32_t a;

	memcpy(&a, addr, 4);
	return &d->memo4[(uint32_t)(a * 0x9e3779b1u) >> (32 - MEMO4_BITS)];
}

static struct memo6 *
slot6(const struct dispatch *d, const uint8_t *addr)
{
	uint64_t w[2];

	memcpy(w, addr, 16);
	return &d->memo6[hash_mix(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL)) >> (64 - MEMO6_BITS)];
}

static uint64_t
be64(const uint8_t *a)
{
	uint64_t v;

	memcpy(&v, a, 8);
	return be64toh(v);
}

/* addr is beyond every prefix of its family. */
static inline int
outside(const struct dispatch *d, uint8_t family, const uint8_t *addr)
{
	uint64_t hi, lo;

	if (family != 6) {
		uint32_t a;

		memcpy(&a, addr, 4);
		a = be32toh(a);
		return a < d->lo4 || a > d->hi4;
	}
	hi = be64(addr);
	lo = be64(addr + 8);
	return hi < d->lo6[0] || (hi == d->lo6[0] && lo < d->lo6[1]) || hi > d->hi6[0] ||
	       (hi == d->hi6[0] && lo > d->hi6[1]);
}

void
dispatch_prefetch(const struct dispatch *d, const struct pkt *p)
{
	if (p->family != 6) {
		if (!outside(d, 4, p->src))
			__builtin_prefetch(slot4(d, p->src));
		if (!outside(d, 4, p->dst))
			__builtin_prefetch(slot4(d, p->dst));
	} else {
		if (!outside(d, 6, p->src))
			__builtin_prefetch(slot6(d, p->src));
		if (!outside(d, 6, p->dst))
			__builtin_prefetch(slot6(d, p->dst));
	}
}

/* The subscriber of addr (16 bytes, IPv4 in the first 4), through the
 * memo. */
static int32_t
sub_of(struct dispatch *d, uint8_t family, const uint8_t *addr)
{
	if (outside(d, family, addr))
		return -1;
	if (family != 6) {
		struct memo4 *m = slot4(d, addr);
		uint32_t a;

		memcpy(&a, addr, 4);
		if (m->id == MEMO_EMPTY || m->addr != a) {
			m->addr = a;
			m->id = submap_lookup(d->subs, AF_INET, addr);
		}
		return m->id;
	}
	struct memo6 *m = slot6(d, addr);

	if (m->id == MEMO_EMPTY || memcmp(m->addr, addr, 16) != 0) {
		memcpy(m->addr, addr, 16);
		m->id = submap_lookup(d->subs, AF_INET6, addr);
	}
	return m->id;
}

unsigned
dispatch_worker(struct dispatch *d, const struct pkt *p, int32_t *sub)
{
	int32_t s = sub_of(d, p->family, p->src);
	int32_t t = sub_of(d, p->family, p->dst);

	if (s < 0)
		s = t;
	else if (t >= 0) {
		/* local: the lower name hash, the same from either end */
		uint32_t rs = d->rank[s], rt = d->rank[t];

		if (rt < rs || (rt == rs && t < s))
			s = t;
	}
	*sub = s;
	if (s >= 0)
		return d->worker[s];
	/* With no subscribers, transit is one unit of nDPI's caches
	 * (dpicache.h), and a unit is one worker's. */
	if (d->empty)
		return 0;
	return d->slot[dispatch_transit_slot(p->family, p->src, p->dst)];
}

unsigned
dispatch_transit_slot(uint8_t family, const uint8_t *a, const uint8_t *b)
{
	size_t alen = family == 6 ? 16 : 4;

	/* The address pair, in either order. */
	return (unsigned)(hash_mix(hash_words(a, 16, alen) ^ hash_words(b, 16, alen)) >> 56);
}

_Static_assert(DISPATCH_TRANSIT == DPICACHE_TRANSIT, "one numbering of units");

int32_t
dispatch_unit(const struct submap *subs, const struct flow *f)
{
	int32_t a = f->sub_a, b = f->sub_b;

	if (a >= 0 && b >= 0) {
		uint32_t ra = dispatch_rank(submap_name(subs, a));
		uint32_t rb = dispatch_rank(submap_name(subs, b));

		return rb < ra || (rb == ra && b < a) ? b : a;
	}
	if (a >= 0 || b >= 0)
		return a >= 0 ? a : b;
	if (submap_count(subs) == 0)
		return DISPATCH_TRANSIT;
	return DISPATCH_TRANSIT - 1 - (int32_t)dispatch_transit_slot(f->key.family, f->key.a, f->key.b);
}

unsigned
dispatch_worker_of(const struct dispatch *d, int32_t id)
{
	return id >= 0 && id < submap_count(d->subs) ? d->worker[id] : 0;
}
