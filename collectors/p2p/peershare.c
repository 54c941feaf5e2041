/*
 * peershare.c — the peer cache every worker reads, this step's peers each
 * worker's own until the step's merge (see peershare.h).
 */
#include "peershare.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "dispatch.h"
#include "dpicache.h"
#include "hash.h"

/* The overlay's index: chains from 256 Ki heads (1 MiB, where open
 * addressing over twice the entries took 2 MiB, all of it resident after
 * a few thousand peers at random; 64 Ki heads made chains of three at
 * the bench's 180,000 peers a step, a miss each). */
#define HEADS (1u << 18)
/* Members of one cache at most: [capture] threads is at most 16. */
#define MAX_MEMBERS 64

/* One unit's peer in this step. */
struct ov {
	uint8_t addr[16];	/* IPv4 in the first 4, the rest zero */
	int32_t unit;
	uint32_t seq;		/* the worker's order of first mentions */
	uint32_t seen;		/* latest mention, packet time */
	uint32_t chain;		/* the next entry of its head, + 1; 0: none */
	uint16_t port;
	uint8_t family, tag;
};

struct peershare {
	struct peercache *pc;		/* the owner's */
	struct peercache *own;		/* the one it made (NULL once it joined) */
	struct peershare *next;		/* the owner's: the members that joined it */
	struct dpicache *dc;
	uint32_t ttl;
	struct ov *ov;			/* PEERSHARE_OVERLAY */
	uint32_t *head;			/* HEADS: first entry + 1, or 0 */
	uint32_t n, seq;
	uint64_t hits, misses, lost;
};

static void merge_hook(void *arg);

struct peershare *
peershare_new(size_t entries, uint32_t ttl_s, struct dpicache *dc)
{
	struct peershare *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	m->own = m->pc = peercache_new(entries, ttl_s);
	/* Small pages: resident as far as a step's peers reach. */
	m->ov = calloc(PEERSHARE_OVERLAY, sizeof *m->ov);
	/* Read before it is written, and all written at a step's end. */
	m->head = bigmem_resident(HEADS, sizeof *m->head);
	if (!m->pc || !m->ov || !m->head) {
		peershare_free(m);
		return NULL;
	}
	m->ttl = ttl_s;
	m->dc = dc;
	if (dc)
		dpicache_on_merge(dc, merge_hook, m);
	return m;
}

void
peershare_join(struct peershare *m, struct peershare *owner)
{
	struct peershare **p = &owner->next;

	peercache_free(m->own);
	m->own = NULL;
	m->pc = owner->pc;
	/* After the owner, in the order they joined (the merge's order
	 * does not depend on it: units decide). */
	while (*p)
		p = &(*p)->next;
	*p = m;
}

void
peershare_free(struct peershare *m)
{
	if (!m)
		return;
	peercache_free(m->own);
	free(m->ov);
	bigmem_free(m->head, HEADS, sizeof *m->head);
	free(m);
}

static uint32_t
head_of(int32_t unit, int family, const uint8_t a[16], uint16_t port)
{
	uint64_t key[3];

	memcpy(key, a, 16);
	key[2] = (uint64_t)port | (uint64_t)family << 16 | (uint64_t)(uint32_t)unit << 32;
	return (uint32_t)hash_words(key, sizeof key, 0x70656572) & (HEADS - 1);
}

/* unit's entry for the peer, or NULL. */
static struct ov *
find(const struct peershare *m, uint32_t h, int32_t unit, int family, const uint8_t a[16],
     uint16_t port)
{
	for (uint32_t k = m->head[h]; k; k = m->ov[k - 1].chain) {
		struct ov *e = &m->ov[k - 1];

		if (e->unit == unit && e->port == port && e->family == family && !memcmp(e->addr, a, 16))
			return e;
	}
	return NULL;
}

/* Alive as peercache.h says: named within the time to live (or in the
 * "future": packet time may step back a little). */
static int
alive(const struct peershare *m, uint32_t seen, uint32_t now_s)
{
	return now_s <= seen || now_s - seen <= m->ttl;
}

void
peershare_add(struct peershare *m, int32_t unit, int family, const uint8_t *addr, uint16_t port,
	      uint32_t now_s, uint8_t tag)
{
	uint8_t a[16];
	uint32_t h;
	struct ov *e;

	dpicache_wait(m->dc);
	/* One unit in all, on one worker: its peers are everyone's. */
	if (unit == DISPATCH_TRANSIT) {
		peercache_add_tag(m->pc, family, addr, port, now_s, tag);
		return;
	}
	if (peercache_norm(family, addr, a) < 0)
		return;
	h = head_of(unit, family, a, port);
	if ((e = find(m, h, unit, family, a, port)) != NULL) {
		/* an expired mention's torrents are forgotten with it */
		e->tag = alive(m, e->seen, now_s) ? (uint8_t)(e->tag | tag) : tag;
		if (now_s > e->seen)
			e->seen = now_s;
		return;
	}
	if (m->n == PEERSHARE_OVERLAY) {
		m->lost++;
		return;
	}
	e = &m->ov[m->n];
	memcpy(e->addr, a, 16);
	e->unit = unit;
	e->seq = m->seq++;
	e->seen = now_s;
	e->chain = m->head[h];
	e->port = port;
	e->family = (uint8_t)family;
	e->tag = tag;
	m->head[h] = ++m->n;
}

int
peershare_tag(struct peershare *m, int32_t unit, int family, const uint8_t *addr, uint16_t port,
	      uint32_t now_s)
{
	uint8_t a[16];
	int t;

	dpicache_wait(m->dc);
	t = peercache_peek(m->pc, family, addr, port, now_s);
	if (unit != DISPATCH_TRANSIT && peercache_norm(family, addr, a) == 0) {
		const struct ov *e = find(m, head_of(unit, family, a, port), unit, family, a, port);

		if (e && alive(m, e->seen, now_s))
			t = (t > 0 ? t : 0) | e->tag;
	}
	if (t >= 0)
		m->hits++;
	else
		m->misses++;
	return t;
}

/* ---- the merge ---------------------------------------------------------- */

static int
by_unit(const void *x, const void *y)
{
	const struct ov *a = x, *b = y;

	if (a->unit != b->unit)
		return a->unit < b->unit ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void
peershare_merge(struct peershare *owner)
{
	size_t pos[MAX_MEMBERS] = { 0 };
	struct peershare *mem[MAX_MEMBERS];
	unsigned nm = 0;

	for (struct peershare *m = owner; m && nm < MAX_MEMBERS; m = m->next) {
		qsort(m->ov, m->n, sizeof *m->ov, by_unit);
		mem[nm++] = m;
	}
	/* Unit by unit over all members (a unit is one member's; after a
	 * reload an id may be two units', the first member's first). */
	for (;;) {
		const struct ov *e = NULL;
		unsigned w = 0;

		for (unsigned i = 0; i < nm; i++)
			if (pos[i] < mem[i]->n && (!e || mem[i]->ov[pos[i]].unit < e->unit)) {
				e = &mem[i]->ov[pos[i]];
				w = i;
			}
		if (!e)
			break;
		peercache_add_tag(owner->pc, e->family, e->addr, e->port, e->seen, e->tag);
		pos[w]++;
	}
	for (unsigned i = 0; i < nm; i++) {
		if (mem[i]->n)
			memset(mem[i]->head, 0, HEADS * sizeof *mem[i]->head);
		mem[i]->n = 0;
		mem[i]->seq = 0;
	}
}

/* Under the step barrier's lock, every worker waiting (dpicache.h). */
static void
merge_hook(void *arg)
{
	peershare_merge(arg);
}

void
peershare_get_stats(const struct peershare *m, struct peershare_stats *st)
{
	peercache_get_stats(m->pc, &st->cache);
	st->cache.hits = m->hits;
	st->cache.misses = m->misses;
	st->lost = m->lost;
	st->shared = m->own == NULL;
}
