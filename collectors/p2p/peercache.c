/*
 * peercache.c — owns the table of peer endpoints named by DHT, trackers
 * and PEX. See peercache.h.
 */
#include "peercache.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* One endpoint, 24 bytes. The address is stored as 16 bytes with IPv4 in
 * the first 4 (as in struct pkt), so both families share one layout;
 * family 0 marks a free way. */
struct entry {
	uint8_t addr[16];
	uint32_t seen;		/* packet time it was last named, seconds */
	uint16_t port;
	uint8_t family;
	uint8_t tag;		/* PEERCACHE_T_* of the torrents it was named for */
};

#define PAGE 4096

struct peercache {
	struct entry *e;	/* nsets * PEERCACHE_WAYS */
	size_t nsets;		/* a power of two */
	uint64_t *written;	/* by page of e: a set there was added to */
	uintptr_t page0;	/* e's first page */
	uint32_t ttl;
	uint64_t seed;
	struct peercache_stats st;
};

struct peercache *
peercache_new(size_t entries, uint32_t ttl_s)
{
	struct peercache *pc = calloc(1, sizeof *pc);
	size_t nsets = 1;

	if (!pc)
		return NULL;
	while (nsets * PEERCACHE_WAYS < entries && nsets < ((size_t)1 << 40))
		nsets <<= 1;
	/* Pages a set was never added to are not read (peercache_peek),
	 * and an add writes its set's pages before it reads them: a page
	 * read first would map the zero page, whose copy on the first
	 * write costs a TLB flush of every core running the process. The
	 * table costs resident memory only for the pages used. */
	pc->e = calloc(nsets * PEERCACHE_WAYS, sizeof *pc->e);
	pc->page0 = (uintptr_t)pc->e & ~(uintptr_t)(PAGE - 1);
	pc->written = calloc(((uintptr_t)(pc->e + nsets * PEERCACHE_WAYS) - pc->page0) / PAGE / 64 + 1,
			     sizeof *pc->written);
	if (!pc->e || !pc->written) {
		free(pc->e);
		free(pc->written);
		free(pc);
		return NULL;
	}
	pc->nsets = nsets;
	pc->ttl = ttl_s;
	/* A fixed seed would let a peer list crafted by anyone on the
	 * Internet aim every endpoint at one set; the table's own address
	 * is different in every run (ASLR) and costs nothing. */
	pc->seed = hash_mix((uint64_t)(uintptr_t)pc ^ 0x9e3779b97f4a7c15ULL);
	pc->st.capacity = nsets * PEERCACHE_WAYS;
	pc->st.bytes = sizeof *pc + pc->st.capacity * sizeof *pc->e;
	return pc;
}

void
peercache_free(struct peercache *pc)
{
	if (!pc)
		return;
	free(pc->e);
	free(pc->written);
	free(pc);
}

int
peercache_norm(int family, const uint8_t *addr, uint8_t out[16])
{
	memset(out, 0, 16);
	if (family == 4)
		memcpy(out, addr, 4);
	else if (family == 6)
		memcpy(out, addr, 16);
	else
		return -1;
	return 0;
}

static struct entry *
set_of(const struct peercache *pc, int family, const uint8_t a[16], uint16_t port)
{
	uint64_t key[3];

	memcpy(key, a, 16);
	key[2] = (uint64_t)port | (uint64_t)family << 16;
	return &pc->e[(hash_words(key, sizeof key, pc->seed) & (pc->nsets - 1)) * PEERCACHE_WAYS];
}

/* The page bits of set's first and last byte. */
static void
set_pages(const struct peercache *pc, const struct entry *set, size_t p[2])
{
	p[0] = ((uintptr_t)set - pc->page0) / PAGE;
	p[1] = ((uintptr_t)(set + PEERCACHE_WAYS) - 1 - pc->page0) / PAGE;
}

static int
page_written(const struct peercache *pc, size_t p)
{
	return pc->written[p / 64] >> (p % 64) & 1;
}

/* Before an add reads set: its pages written first (a zero byte where
 * the page was never written is zero already). */
static void
write_pages(struct peercache *pc, struct entry *set)
{
	size_t p[2];

	set_pages(pc, set, p);
	for (int i = 0; i < 2; i++)
		if (!page_written(pc, p[i])) {
			uintptr_t a = pc->page0 + p[i] * PAGE;

			if (a < (uintptr_t)set)
				a = (uintptr_t)set;	/* the first page may start before e */
			*(volatile uint8_t *)a = 0;
			pc->written[p[i] / 64] |= (uint64_t)1 << (p[i] % 64);
		}
}

static int
alive(const struct peercache *pc, const struct entry *e, uint32_t now_s)
{
	/* Packet time may step back a little (out-of-order captures, several
	 * files): an entry from the "future" is alive. */
	return e->family && (now_s <= e->seen || now_s - e->seen <= pc->ttl);
}

static int
same(const struct entry *e, int family, const uint8_t a[16], uint16_t port)
{
	return e->family == family && e->port == port && !memcmp(e->addr, a, 16);
}

/* Moves way i of set to the front: a set is kept in order of last
 * mention, so that its last way is the least recently named (times are
 * in seconds, too coarse to order a burst). */
static void
to_front(struct entry *set, int i)
{
	struct entry e = set[i];

	memmove(&set[1], &set[0], (size_t)i * sizeof *set);
	set[0] = e;
}

void
peercache_add(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
	      uint32_t now_s)
{
	peercache_add_tag(pc, family, addr, port, now_s, 0);
}

void
peercache_add_tag(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
		  uint32_t now_s, uint8_t tag)
{
	uint8_t a[16];
	struct entry *set;
	int victim = PEERCACHE_WAYS - 1;

	if (peercache_norm(family, addr, a) < 0)
		return;
	set = set_of(pc, family, a, port);
	write_pages(pc, set);
	for (int i = 0; i < PEERCACHE_WAYS; i++)
		if (same(&set[i], family, a, port)) {
			/* an expired entry's torrents are forgotten with it */
			set[i].tag = alive(pc, &set[i], now_s) ? (uint8_t)(set[i].tag | tag) : tag;
			if (now_s > set[i].seen)
				set[i].seen = now_s;
			to_front(set, i);
			pc->st.refreshed++;
			return;
		}
	for (int i = 0; i < PEERCACHE_WAYS; i++)
		if (!alive(pc, &set[i], now_s)) {
			victim = i;
			break;
		}
	if (alive(pc, &set[victim], now_s))
		pc->st.evicted++;
	memcpy(set[victim].addr, a, 16);
	set[victim].port = port;
	set[victim].family = (uint8_t)family;
	set[victim].seen = now_s;
	set[victim].tag = tag;
	to_front(set, victim);
	pc->st.added++;
}

int
peercache_has(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
	      uint32_t now_s)
{
	return peercache_tag(pc, family, addr, port, now_s) >= 0;
}

int
peercache_peek(const struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
	       uint32_t now_s)
{
	uint8_t a[16];
	const struct entry *set;
	size_t p[2];

	if (peercache_norm(family, addr, a) < 0)
		return -1;
	set = set_of(pc, family, a, port);
	/* A set never added to is empty; its pages are left unread. */
	set_pages(pc, set, p);
	if (!page_written(pc, p[0]) || !page_written(pc, p[1]))
		return -1;
	for (int i = 0; i < PEERCACHE_WAYS; i++)
		if (same(&set[i], family, a, port) && alive(pc, &set[i], now_s))
			return set[i].tag;
	return -1;
}

int
peercache_tag(struct peercache *pc, int family, const uint8_t *addr, uint16_t port,
	      uint32_t now_s)
{
	int t = peercache_peek(pc, family, addr, port, now_s);

	if (t >= 0)
		pc->st.hits++;
	else
		pc->st.misses++;
	return t;
}

size_t
peercache_live(const struct peercache *pc, uint32_t now_s)
{
	size_t n = 0;

	for (size_t i = 0; i < pc->nsets * PEERCACHE_WAYS; i++)
		n += (size_t)alive(pc, &pc->e[i], now_s);
	return n;
}

void
peercache_get_stats(const struct peercache *pc, struct peercache_stats *st)
{
	*st = pc->st;
}
