/*
 * dispatch.c — the subscriber-affine worker choice (see dispatch.h).
 * Per packet: two lookups in the subscriber map and a table read.
 */
#include "dispatch.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "hash.h"
#include "log.h"
#include "submap.h"

/* Addresses recently looked up, direct-mapped: a subscriber's packets
 * come in runs, and a hit costs one cache line where the map's lookup
 * costs several (it was the reader's largest cost). The reader's alone. */
#define MEMO_BITS 16

struct memo {
	uint8_t addr[16];
	int32_t id;
	uint8_t family;		/* 0: empty */
};

struct dispatch {
	const struct submap *subs;
	unsigned n;
	uint32_t *rank;		/* by id: the name's hash (local flows compare it) */
	uint8_t *worker;	/* by id */
	struct memo *memo;	/* 1 << MEMO_BITS */
};

/* FNV-1a, then mixed: stable across runs and machines, as the worker of
 * a name must be. */
static uint32_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return (uint32_t)hash_mix(h);
}

struct dispatch *
dispatch_new(const struct submap *subs, unsigned n)
{
	struct dispatch *d = calloc(1, sizeof *d);
	size_t count = (size_t)submap_count(subs);

	if (d) {
		d->subs = subs;
		d->n = n ? n : 1;
		d->rank = calloc(count + 1, sizeof *d->rank);
		d->worker = calloc(count + 1, 1);
		d->memo = calloc((size_t)1 << MEMO_BITS, sizeof *d->memo);
	}
	if (!d || !d->rank || !d->worker || !d->memo) {
		log_err("dispatch: out of memory for %zu subscribers", count);
		dispatch_free(d);
		return NULL;
	}
	for (size_t i = 0; i < count; i++) {
		d->rank[i] = name_hash(submap_name(subs, (int)i));
		d->worker[i] = (uint8_t)(d->rank[i] % d->n);
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
	free(d->memo);
	free(d);
}

/* The subscriber of addr (16 bytes, IPv4 in the first 4), through the
 * memo. */
static int32_t
sub_of(struct dispatch *d, uint8_t family, const uint8_t *addr)
{
	uint64_t w[2];
	struct memo *m;

	memcpy(w, addr, 16);
	m = &d->memo[hash_mix(w[0] ^ (w[1] * 0x9e3779b97f4a7c15ULL) ^ family) >> (64 - MEMO_BITS)];
	if (m->family != family || memcmp(m->addr, addr, 16) != 0) {
		memcpy(m->addr, addr, 16);
		m->family = family;
		m->id = submap_lookup(d->subs, family == 6 ? AF_INET6 : AF_INET, addr);
	}
	return m->id;
}

unsigned
dispatch_worker(struct dispatch *d, const struct pkt *p, int32_t *sub)
{
	int32_t s = sub_of(d, p->family, p->src);
	int32_t t = sub_of(d, p->family, p->dst);
	uint64_t a, b;
	size_t alen = p->family == 6 ? 16 : 4;

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
	/* Transit: the address pair, in either order. */
	a = hash_words(p->src, 16, alen);
	b = hash_words(p->dst, 16, alen);
	return (unsigned)(hash_mix(a ^ b) % d->n);
}

unsigned
dispatch_worker_of(const struct dispatch *d, int32_t id)
{
	return id >= 0 && id < submap_count(d->subs) ? d->worker[id] : 0;
}
