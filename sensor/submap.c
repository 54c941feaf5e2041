/*
 * submap.c — owns the subscriber map: reading subscribers.txt, interning
 * subscriber names, and longest-prefix lookups.
 *
 * The map is read once and never changed (a reload builds a new one), so
 * it is stored for lookups, not for updates: the nested CIDR prefixes of
 * each family are flattened into sorted, disjoint address ranges ("from
 * this address on, subscriber N" boundaries), and a lookup finds the last
 * boundary at or below the address. A static radix index over the
 * boundaries finds it: each index node splits its part of the address
 * space on the k bits after those its boundaries all share (path
 * compression), with k chosen so that a child holds one or two
 * boundaries, down to leaves of at most LEAF_MAX boundaries that are
 * searched directly. Whatever the layout of the prefixes, a lookup is a
 * few index steps and one leaf, and an address beyond the span of all
 * prefixes (half of all lookups: the far ends of flows) is refused after
 * two comparisons. nDPI's patricia tree did the first version; with
 * 200,000 prefixes this takes a fifth of its memory (7 MB against 32) and
 * a tenth of its time per lookup, since a lookup touches a few cache
 * lines instead of two per tree level.
 *
 * Names are interned in an arena with an open-addressing hash table, so a
 * subscriber with a thousand prefixes is one name and one id.
 *
 * Strictness: since the map decides who is billed and who is alerted,
 * every doubtful line is an error and the whole map is refused (the old
 * map stays on reload): a prefix with host bits set is more likely a typo
 * in the length than a shorthand, and a name must be safe as a file name.
 */
#include "submap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "units.h"

/* An address as a 128-bit number, most significant bit first; an IPv4
 * address fills the top 32 bits, so both families share the build code. */
struct key {
	uint64_t hi, lo;
};

/* "From start on, subscriber id" (-1: outside). */
struct bound {
	struct key start;
	int32_t id;
};

/* A child of an index node: a leaf, the boundaries lo..hi to search, or
 * (hi == SLOT_NODE) index node lo. */
struct slot {
	uint32_t lo, hi;
};

#define SLOT_NODE UINT32_MAX
/* Boundaries in a leaf: a leaf is a few cache lines, searched in full. */
#define LEAF_MAX 4

/* An index node: the boundaries under it (first..last) share their
 * first pos bits, equal to block's; child j holds those whose next k bits
 * are j. An address under the node that differs in those pos bits lies
 * before all of them (the answer is before, the last boundary ahead of
 * the node) or after all (the answer is last). */
struct inode {
	struct key block;
	uint32_t before, last;
	uint32_t child;		/* index of child 0 in slots */
	uint8_t pos, k;
};

/* The lookup structure of one address family. */
struct fam {
	uint32_t n;		/* boundaries; 0 = no prefixes */
	struct key lo, hi;	/* span of all prefixes */
	struct bound *b;
	struct slot root;
	struct inode *node;
	uint32_t nnode, capnode;
	struct slot *slot;
	uint32_t nslot, capslot;
	unsigned maxbits;
};

struct submap {
	struct fam v4, v6;
	size_t prefixes;
	/* Names: NUL-terminated, back to back in arena; off[id] is where
	 * subscriber id's name starts. */
	char *arena;
	size_t arena_len, arena_cap;
	uint32_t *off;
	int count, cap;
	/* Interning: slot holds id + 1, or 0 when free; a power of two in
	 * size, at most half full. */
	uint32_t *slot;
	size_t nslots;
};

/* A file with more bad lines than this is not a subscriber map at all
 * (a CSV export, a wrong path); the rest would bury the first messages. */
#define SUBMAP_MAX_ERRORS 200

/* One prefix while loading. */
struct ent {
	struct key start;
	uint32_t line;
	int32_t id;
	uint8_t bits;
	uint8_t family;
};

/* What loading needs beyond the map: the prefixes read so far and a hash
 * set over them to find duplicates as they come, in line order. */
struct loader {
	struct ent *ent;
	size_t n, cap;
	uint32_t *dup;		/* ent index + 1, or 0 */
	size_t ndup;
};

/* FNV-1a: short keys, no adversary (the operator writes the file). */
static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static const char *
name_at(const struct submap *map, int id)
{
	return map->arena + map->off[id];
}

/* The slot where name is, or where it would go. */
static size_t
slot_of(const struct submap *map, const char *name)
{
	size_t i = name_hash(name) & (map->nslots - 1);

	while (map->slot[i] != 0 &&
	    strcmp(name_at(map, (int)map->slot[i] - 1), name) != 0)
		i = (i + 1) & (map->nslots - 1);
	return i;
}

/* Doubles the hash table. 0 ok, -1 out of memory. */
static int
grow_slots(struct submap *map)
{
	size_t n = map->nslots ? 2 * map->nslots : 1024, i;
	uint32_t *old = map->slot;
	size_t oldn = map->nslots;

	if ((map->slot = calloc(n, sizeof(*map->slot))) == NULL) {
		map->slot = old;
		return -1;
	}
	map->nslots = n;
	for (i = 0; i < oldn; i++)
		if (old[i] != 0)
			map->slot[slot_of(map, name_at(map, (int)old[i] - 1))] =
			    old[i];
	free(old);
	return 0;
}

/* The id of name, added if new. Returns the id, or -1 out of memory. */
static int
intern(struct submap *map, const char *name)
{
	size_t len = strlen(name) + 1, i, cap;
	uint32_t *off;
	char *arena;

	if (map->nslots == 0 || (size_t)map->count + 1 > map->nslots / 2)
		if (grow_slots(map) < 0)
			return -1;
	i = slot_of(map, name);
	if (map->slot[i] != 0)
		return (int)map->slot[i] - 1;
	if (map->count == map->cap) {
		cap = map->cap ? 2 * (size_t)map->cap : 256;
		if ((off = realloc(map->off, cap * sizeof(*off))) == NULL)
			return -1;
		map->off = off;
		map->cap = (int)cap;
	}
	if (map->arena_len + len > map->arena_cap) {
		cap = map->arena_cap ? 2 * map->arena_cap : 4096;
		if ((arena = realloc(map->arena, cap)) == NULL)
			return -1;
		map->arena = arena;
		map->arena_cap = cap;
	}
	memcpy(map->arena + map->arena_len, name, len);
	map->off[map->count] = (uint32_t)map->arena_len;
	map->arena_len += len;
	map->slot[i] = (uint32_t)map->count + 1;
	return map->count++;
}

struct cidr {
	int family;
	unsigned bits;
	uint8_t a[16];
};

/* Parses "ADDR/LEN" or a bare address (a host route) into c; on error
 * writes the reason to why. 0 ok, -1 bad. */
static int
parse_cidr(const char *s, struct cidr *c, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s), i;
	unsigned maxbits, keep;
	uint64_t bits;
	const char *what;
	uint8_t mask;

	memset(c, 0, sizeof(*c));
	if (alen == 0 || alen >= sizeof(addr))
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	c->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c->family, addr, c->a) != 1)
		goto bad;
	maxbits = c->family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		c->bits = maxbits;
		return 0;
	}
	/* At most three digits: "/0032" is not a typo we want to guess. */
	if (strlen(slash + 1) > 3 || units_parse_uint(slash + 1, &bits,
	    &what) < 0)
		goto bad;
	if (bits > maxbits) {
		snprintf(why, whylen, "'%s': prefix length %llu is more than "
		    "%u", s, (unsigned long long)bits, maxbits);
		return -1;
	}
	c->bits = (unsigned)bits;
	for (i = 0; i < (maxbits + 7) / 8; i++) {
		keep = c->bits > 8 * i ? c->bits - 8 * (unsigned)i : 0;
		mask = keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
		if ((c->a[i] & (uint8_t)~mask) != 0)
			break;
	}
	if (i < (maxbits + 7) / 8) {
		for (; i < (maxbits + 7) / 8; i++) {
			keep = c->bits > 8 * i ? c->bits - 8 * (unsigned)i : 0;
			mask = keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
			c->a[i] &= mask;
		}
		inet_ntop(c->family, c->a, net, sizeof(net));
		snprintf(why, whylen, "'%s' has host bits set (the network "
		    "is %s/%u)", s, net, c->bits);
		return -1;
	}
	return 0;
bad:
	snprintf(why, whylen, "'%s' is not an IPv4 or IPv6 prefix "
	    "(ADDRESS/LENGTH or ADDRESS)", s);
	return -1;
}

/* ---- 128-bit keys ---- */

static struct key
key_of(int family, const uint8_t *a)
{
	struct key k = { 0, 0 };
	int i;

	for (i = 0; i < 8; i++)
		k.hi = k.hi << 8 | (family == AF_INET && i >= 4 ? 0 : a[i]);
	if (family == AF_INET6)
		for (i = 8; i < 16; i++)
			k.lo = k.lo << 8 | a[i];
	return k;
}

static int
key_cmp(struct key a, struct key b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/* Ones in the first bits bits. */
static struct key
key_netmask(unsigned bits)
{
	struct key m;

	m.hi = bits >= 64 ? ~0ULL : bits ? ~0ULL << (64 - bits) : 0;
	m.lo = bits >= 128 ? ~0ULL : bits > 64 ? ~0ULL << (128 - bits) : 0;
	return m;
}

/* Ones from bit bits up to maxbits: the host part of a /bits. */
static struct key
key_hostmask(unsigned bits, unsigned maxbits)
{
	struct key a = key_netmask(maxbits), b = key_netmask(bits);

	a.hi &= ~b.hi;
	a.lo &= ~b.lo;
	return a;
}

static struct key
key_or(struct key a, struct key b)
{
	a.hi |= b.hi;
	a.lo |= b.lo;
	return a;
}

/* The next address of a family: a plus one at bit maxbits - 1. The
 * caller makes sure it does not wrap. */
static struct key
key_succ(struct key a, unsigned maxbits)
{
	struct key one = key_hostmask(maxbits - 1, maxbits);

	a.lo += one.lo;
	a.hi += one.hi + (a.lo < one.lo);
	return a;
}

/* The n (0..20) bits of a at bit pos, as a number. */
static uint32_t
key_bits(struct key a, unsigned pos, unsigned n)
{
	unsigned shift = 128 - pos - n;	/* of the field's last bit */
	uint64_t v;

	if (n == 0)
		return 0;
	if (shift >= 64)
		v = a.hi >> (shift - 64);
	else if (shift + n <= 64)
		v = a.lo >> shift;
	else
		v = a.lo >> shift | a.hi << (64 - shift);
	return (uint32_t)(v & ((1ULL << n) - 1));
}

/* a with the n (0..20) bits at pos replaced by v. */
static struct key
key_set_bits(struct key a, unsigned pos, unsigned n, uint64_t v)
{
	unsigned shift = 128 - pos - n;

	if (n == 0)
		return a;
	if (shift >= 64) {
		a.hi |= v << (shift - 64);
	} else {
		a.lo |= v << shift;
		if (shift + n > 64)
			a.hi |= v >> (64 - shift);
	}
	return a;
}

/* Leading bits that a and b share, at most maxbits. */
static unsigned
key_common(struct key a, struct key b, unsigned maxbits)
{
	unsigned n;

	if (a.hi != b.hi)
		n = (unsigned)__builtin_clzll(a.hi ^ b.hi);
	else if (a.lo != b.lo)
		n = 64 + (unsigned)__builtin_clzll(a.lo ^ b.lo);
	else
		n = 128;
	return n < maxbits ? n : maxbits;
}

/* ---- loading ---- */

/* MurmurHash3's finaliser over the prefix: an IPv4 key has only its top
 * 32 bits set, so the mixing must carry high bits down. */
static uint64_t
ent_hash(int family, unsigned bits, struct key k)
{
	uint64_t h = k.hi ^ (k.lo * 0x9E3779B97F4A7C15ULL) ^
	    ((uint64_t)bits << 8 | (uint64_t)family);

	h ^= h >> 33;
	h *= 0xFF51AFD7ED558CCDULL;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ULL;
	return h ^ h >> 33;
}

static size_t
dup_slot(const struct loader *ld, int family, unsigned bits, struct key k)
{
	size_t i = ent_hash(family, bits, k) & (ld->ndup - 1);
	const struct ent *e;

	while (ld->dup[i] != 0) {
		e = &ld->ent[ld->dup[i] - 1];
		if (e->family == family && e->bits == bits &&
		    key_cmp(e->start, k) == 0)
			break;
		i = (i + 1) & (ld->ndup - 1);
	}
	return i;
}

/* Adds the prefix to ld. Returns 0, or the line that already had the
 * same prefix, or -1 when out of memory. */
static long
add_prefix(struct loader *ld, const struct cidr *c, int id, unsigned line)
{
	struct key k = key_of(c->family, c->a);
	size_t i, n, j;
	uint32_t *old;
	void *grown;

	if (ld->ndup == 0 || ld->n + 1 > ld->ndup / 2) {
		n = ld->ndup ? 2 * ld->ndup : 4096;
		old = ld->dup;
		if ((ld->dup = calloc(n, sizeof(*ld->dup))) == NULL) {
			ld->dup = old;
			return -1;
		}
		j = ld->ndup;
		ld->ndup = n;
		for (i = 0; i < j; i++)
			if (old[i] != 0) {
				const struct ent *e = &ld->ent[old[i] - 1];

				ld->dup[dup_slot(ld, e->family, e->bits,
				    e->start)] = old[i];
			}
		free(old);
	}
	i = dup_slot(ld, c->family, c->bits, k);
	if (ld->dup[i] != 0)
		return (long)ld->ent[ld->dup[i] - 1].line;
	if (ld->n == ld->cap) {
		n = ld->cap ? 2 * ld->cap : 4096;
		if ((grown = realloc(ld->ent, n * sizeof(*ld->ent))) == NULL)
			return -1;
		ld->ent = grown;
		ld->cap = n;
	}
	ld->ent[ld->n] = (struct ent){ k, line, id, (uint8_t)c->bits,
	    (uint8_t)c->family };
	ld->dup[i] = (uint32_t)++ld->n;
	return 0;
}

/* Family, then start, then shorter prefixes first: a prefix comes before
 * the prefixes nested in it. */
static int
ent_cmp(const void *pa, const void *pb)
{
	const struct ent *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = key_cmp(a->start, b->start)) != 0)
		return c;
	return (a->bits > b->bits) - (a->bits < b->bits);
}

/* Appends a boundary; one at the same address as the last replaces it,
 * since the sweep emits the final word on an address last. */
static void
emit(struct bound *b, uint32_t *nb, struct key start, int32_t id)
{
	if (*nb > 0 && key_cmp(b[*nb - 1].start, start) == 0)
		b[*nb - 1].id = id;
	else
		b[(*nb)++] = (struct bound){ start, id };
}

/* The fan-out of an index node, in bits: a child for about every second
 * boundary under it, at most 2^16 children, no more bits than are left. */
static unsigned
fanout_bits(uint32_t count, unsigned room)
{
	unsigned k = 1;

	while (k < 16 && (2u << k) < count)
		k++;
	return k < room ? k : room;
}

/* Makes room for one node and n slots. 0 ok, -1 out of memory. */
static int
index_grow(struct fam *f, uint32_t n)
{
	uint32_t cap;
	void *p;

	if (f->nnode == f->capnode) {
		cap = f->capnode ? 2 * f->capnode : 64;
		if ((p = realloc(f->node, cap * sizeof(*f->node))) == NULL)
			return -1;
		f->node = p;
		f->capnode = cap;
	}
	if (f->nslot + n > f->capslot) {
		for (cap = f->capslot ? f->capslot : 1024; cap < f->nslot + n;)
			cap *= 2;
		if ((p = realloc(f->slot, cap * sizeof(*f->slot))) == NULL)
			return -1;
		f->slot = p;
		f->capslot = cap;
	}
	return 0;
}

/* Indexes boundaries l..r-1, which lie in one part of the address space;
 * before is the last boundary at or below the start of that part. Sets
 * *out to the leaf or node. 0 ok, -1 out of memory. */
static int
index_build(struct fam *f, uint32_t l, uint32_t r, uint32_t before,
    struct slot *out)
{
	struct inode nd;
	uint32_t ni, j, i, cl, fb;
	struct slot child;

	if (r - l <= LEAF_MAX) {
		*out = (struct slot){ before, r > l ? r - 1 : before };
		return 0;
	}
	/* l and r-1 differ (boundaries are distinct), so pos < maxbits and
	 * the split puts them in different children: every child holds
	 * fewer boundaries than its parent. */
	nd.pos = (uint8_t)key_common(f->b[l].start, f->b[r - 1].start,
	    f->maxbits);
	nd.k = (uint8_t)fanout_bits(r - l, f->maxbits - nd.pos);
	nd.block = f->b[l].start;
	nd.block.hi &= key_netmask(nd.pos).hi;
	nd.block.lo &= key_netmask(nd.pos).lo;
	nd.before = before;
	nd.last = r - 1;
	if (index_grow(f, 1u << nd.k) < 0)
		return -1;
	nd.child = f->nslot;
	f->nslot += 1u << nd.k;
	ni = f->nnode++;
	f->node[ni] = nd;
	for (j = 0, i = l; j < 1u << nd.k; j++) {
		struct key first = key_set_bits(nd.block, nd.pos, nd.k, j);

		for (cl = i; i < r && key_bits(f->b[i].start, nd.pos, nd.k) == j;)
			i++;
		if (cl < r && key_cmp(f->b[cl].start, first) == 0)
			fb = cl;
		else
			fb = cl > 0 ? cl - 1 : 0;	/* 0: below the span,
							 * never looked up */
		if (fb < before)
			fb = before;
		if (index_build(f, cl, i, fb, &child) < 0)
			return -1;
		f->slot[nd.child + j] = child;	/* f->slot may have moved */
	}
	*out = (struct slot){ ni, SLOT_NODE };
	return 0;
}

/* Builds f from the n prefixes of one family, sorted by ent_cmp.
 * 0 ok, -1 out of memory. */
static int
build(struct fam *f, const struct ent *e, size_t n, unsigned maxbits)
{
	struct key end;
	uint32_t nb = 0, j, k;
	size_t stack[129];	/* nested prefixes get longer: depth <= 129 */
	size_t sp = 0, i;
	void *shrunk;

	f->maxbits = maxbits;
	if (n == 0)
		return 0;
	if ((f->b = malloc((2 * n + 1) * sizeof(*f->b))) == NULL)
		return -1;

	/* The span: from the first prefix's start to the furthest end. */
	f->lo = e[0].start;
	f->hi = e[0].start;
	for (i = 0; i < n; i++) {
		end = key_or(e[i].start, key_hostmask(e[i].bits, maxbits));
		if (key_cmp(end, f->hi) > 0)
			f->hi = end;
	}

	/* The sweep: prefixes in order, a stack of those still open. When
	 * one closes, the address after it goes back to the one below. */
	emit(f->b, &nb, f->lo, -1);
	for (i = 0; i <= n; i++) {
		while (sp > 0) {
			const struct ent *t = &e[stack[sp - 1]];

			end = key_or(t->start, key_hostmask(t->bits, maxbits));
			if (i < n && key_cmp(end, e[i].start) >= 0)
				break;	/* e[i] is nested in t */
			sp--;
			if (key_cmp(end, f->hi) < 0)
				emit(f->b, &nb, key_succ(end, maxbits),
				    sp ? e[stack[sp - 1]].id : -1);
		}
		if (i < n) {
			emit(f->b, &nb, e[i].start, e[i].id);
			stack[sp++] = i;
		}
	}
	/* Neighbours with the same owner are one range. */
	for (j = 1, k = 1; j < nb; j++)
		if (f->b[j].id != f->b[k - 1].id)
			f->b[k++] = f->b[j];
	f->n = k;
	if ((shrunk = realloc(f->b, k * sizeof(*f->b))) != NULL)
		f->b = shrunk;
	return index_build(f, 0, f->n, 0, &f->root);
}

/* Handles one line; logs what is wrong with it. Returns 0 ok or blank,
 * -1 bad line, -2 stop reading (out of memory, too many prefixes). */
static int
parse_line(struct submap *map, struct loader *ld, const char *path,
    unsigned line, char *s)
{
	const char *tok[3], *what;
	char why[256], *save = NULL;
	struct cidr c;
	int n = 0, id;
	long first;

	s[strcspn(s, "#")] = '\0';	/* no name or address holds '#' */
	while (n < 3 &&
	    (tok[n] = strtok_r(n ? NULL : s, " \t\r\n", &save)) != NULL)
		n++;
	if (n == 0)
		return 0;
	if (n != 2) {
		log_err("%s:%u: expected 'CIDR NAME'%s", path, line,
		    n == 1 ? ", found only one field" : ", found more fields");
		return -1;
	}
	if (parse_cidr(tok[0], &c, why, sizeof(why)) < 0) {
		log_err("%s:%u: %s", path, line, why);
		return -1;
	}
	if (units_check_name(tok[1], UNITS_NAME_MAX, &what) < 0) {
		log_err("%s:%u: bad subscriber name '%s': %s (at most %d of "
		    "[A-Za-z0-9._-], not starting with '.' or '-')", path, line,
		    tok[1], what, UNITS_NAME_MAX);
		return -1;
	}
	if (ld->n >= SUBMAP_MAX_PREFIXES) {
		log_err("%s:%u: more than %d prefixes", path, line,
		    SUBMAP_MAX_PREFIXES);
		return -2;
	}
	if ((id = intern(map, tok[1])) < 0 ||
	    (first = add_prefix(ld, &c, id, line)) < 0) {
		log_err("%s:%u: out of memory", path, line);
		return -2;
	}
	if (first > 0) {
		log_err("%s:%u: duplicate prefix %s (first at line %ld)", path,
		    line, tok[0], first);
		return -1;
	}
	return 0;
}

/* Reads path into map and ld. Returns the number of bad lines, or -1 when
 * reading had to stop. */
static long
read_map(struct submap *map, struct loader *ld, const char *path, FILE *fp)
{
	char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned line = 0;
	long bad = 0;
	int rc = 0;

	while ((len = getline(&buf, &cap, fp)) >= 0) {
		line++;
		if (bad >= SUBMAP_MAX_ERRORS) {
			log_err("%s:%u: too many errors, stopping here", path,
			    line);
			break;
		}
		if (strlen(buf) != (size_t)len) {
			log_err("%s:%u: line holds a NUL byte", path, line);
			bad++;
			continue;
		}
		if ((rc = parse_line(map, ld, path, line, buf)) == -1)
			bad++;
		else if (rc == -2)
			break;
	}
	/* getline also stops on a read error (EISDIR) or ENOMEM. */
	if (rc != -2 && bad < SUBMAP_MAX_ERRORS && !feof(fp)) {
		log_err("%s: %s", path, strerror(errno));
		rc = -2;
	}
	free(buf);
	return rc == -2 ? -1 : bad;
}

struct submap *
submap_load(const char *path)
{
	struct loader ld = { NULL, 0, 0, NULL, 0 };
	struct submap *map;
	FILE *fp;
	size_t n4;
	long bad;

	if ((fp = fopen(path, "r")) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if ((map = calloc(1, sizeof(*map))) == NULL) {
		log_err("%s: out of memory", path);
		fclose(fp);
		return NULL;
	}
	bad = read_map(map, &ld, path, fp);
	fclose(fp);
	free(ld.dup);
	if (bad == 0 && ld.n > 0) {	/* empty file: empty map */
		qsort(ld.ent, ld.n, sizeof(*ld.ent), ent_cmp);
		for (n4 = 0; n4 < ld.n && ld.ent[n4].family == AF_INET; n4++)
			;
		map->prefixes = ld.n;
		if (build(&map->v4, ld.ent, n4, 32) < 0 ||
		    build(&map->v6, ld.ent + n4, ld.n - n4, 128) < 0) {
			log_err("%s: out of memory", path);
			bad = -1;
		}
	}
	free(ld.ent);
	if (bad != 0) {
		submap_free(map);
		return NULL;
	}
	return map;
}

void
submap_free(struct submap *map)
{
	if (map == NULL)
		return;
	free(map->v4.b);
	free(map->v4.node);
	free(map->v4.slot);
	free(map->v6.b);
	free(map->v6.node);
	free(map->v6.slot);
	free(map->arena);
	free(map->off);
	free(map->slot);
	free(map);
}

/* The owner of address k in family f: -1 outside. */
static int
lookup(const struct fam *f, struct key k)
{
	const struct inode *nd;
	struct slot s;
	struct key m;
	uint32_t lo, hi, mid;

	if (f->n == 0 || key_cmp(k, f->lo) < 0 || key_cmp(k, f->hi) > 0)
		return -1;
	for (s = f->root; s.hi == SLOT_NODE;) {
		nd = &f->node[s.lo];
		m = key_netmask(nd->pos);
		if (((k.hi ^ nd->block.hi) & m.hi) != 0 ||
		    ((k.lo ^ nd->block.lo) & m.lo) != 0)
			return f->b[key_cmp(k, nd->block) < 0 ?
			    nd->before : nd->last].id;
		s = f->slot[nd->child + key_bits(k, nd->pos, nd->k)];
	}
	/* The last boundary at or below k in the leaf. */
	for (lo = s.lo, hi = s.hi; lo < hi;) {
		mid = hi - (hi - lo) / 2;
		if (key_cmp(f->b[mid].start, k) <= 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	return f->b[lo].id;
}

int
submap_lookup(const struct submap *map, int family, const void *addr)
{
	if (map == NULL)
		return -1;
	/* key_of reads bytes one by one: addr may have any alignment. */
	if (family == AF_INET)
		return lookup(&map->v4, key_of(AF_INET, addr));
	if (family == AF_INET6)
		return lookup(&map->v6, key_of(AF_INET6, addr));
	return -1;
}

int
submap_span(const struct submap *map, int family, uint64_t lo[2], uint64_t hi[2])
{
	const struct fam *f = !map ? NULL : family == AF_INET ? &map->v4 : family == AF_INET6 ? &map->v6 : NULL;

	if (!f || f->n == 0)
		return -1;
	lo[0] = f->lo.hi;
	lo[1] = f->lo.lo;
	hi[0] = f->hi.hi;
	hi[1] = f->hi.lo;
	return 0;
}

const char *
submap_name(const struct submap *map, int id)
{
	if (map == NULL || id < 0 || id >= map->count)
		return NULL;
	return name_at(map, id);
}

int
submap_find(const struct submap *map, const char *name)
{
	if (map == NULL || map->nslots == 0)
		return -1;
	return (int)map->slot[slot_of(map, name)] - 1;
}

int
submap_count(const struct submap *map)
{
	return map ? map->count : 0;
}

size_t
submap_prefixes(const struct submap *map)
{
	return map ? map->prefixes : 0;
}
