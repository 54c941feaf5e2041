/*
 * spf_cache.c — SPF verdicts by (address, domain) until they expire (see
 * spf_cache.h).
 */
#include "spf_cache.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

struct entry {
	uint64_t hash;
	uint64_t expires;		/* 0: empty */
	struct spf_key key;
	uint8_t verdict;
};

struct spf_cache {
	struct entry *e;
	uint32_t nsets;			/* a power of two */
	struct spf_cache_stats st;
};

void
spf_cache_key(struct spf_key *k, unsigned family, const uint8_t *addr, const char *domain)
{
	size_t n = 0;

	memset(k, 0, sizeof *k);
	k->family = (uint8_t)family;
	memcpy(k->addr, addr, family == 4 ? 4 : 16);
	for (; n < SPF_NAME_MAX && domain[n]; n++) {
		char c = domain[n];

		k->domain[n] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	if (n && k->domain[n - 1] == '.')
		k->domain[n - 1] = '\0';
}

uint64_t
spf_cache_hash(const struct spf_key *k)
{
	uint64_t h = hash_words(k->addr, 16, 0x737066u + k->family);

	for (const char *p = k->domain; *p; p++)
		h = (h ^ (uint8_t)*p) * 0x100000001b3ull;	/* FNV-1a */
	h = hash_mix(h);
	return h ? h : 1;
}

struct spf_cache *
spf_cache_new(unsigned entries)
{
	struct spf_cache *c = calloc(1, sizeof *c);
	uint32_t sets = 1;

	if (!c)
		return NULL;
	while ((uint64_t)sets * SPF_CACHE_WAYS < entries && sets < (1u << 24))
		sets <<= 1;
	c->nsets = sets;
	c->st.entries = sets * SPF_CACHE_WAYS;
	if ((c->e = calloc(c->st.entries, sizeof *c->e)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void
spf_cache_free(struct spf_cache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c);
}

static struct entry *
set_of(const struct spf_cache *c, uint64_t h)
{
	return &c->e[(size_t)(h & (c->nsets - 1)) * SPF_CACHE_WAYS];
}

static int
same(const struct entry *e, uint64_t h, const struct spf_key *k)
{
	return e->expires && e->hash == h && memcmp(&e->key, k, sizeof *k) == 0;
}

int
spf_cache_get(struct spf_cache *c, const struct spf_key *k, uint64_t now)
{
	uint64_t h = spf_cache_hash(k);
	struct entry *s = set_of(c, h);

	for (int i = 0; i < SPF_CACHE_WAYS; i++)
		if (same(&s[i], h, k) && s[i].expires > now) {
			c->st.hits++;
			return s[i].verdict;
		}
	c->st.misses++;
	return -1;
}

void
spf_cache_put(struct spf_cache *c, const struct spf_key *k, int verdict, uint64_t ttl_ms,
	      uint64_t now)
{
	uint64_t h = spf_cache_hash(k);
	struct entry *s = set_of(c, h), *e = NULL;

	for (int i = 0; i < SPF_CACHE_WAYS; i++)
		if (same(&s[i], h, k)) {
			e = &s[i];
			break;
		}
	if (!ttl_ms) {
		if (e)
			e->expires = 0;
		return;
	}
	if (!e) {
		e = &s[0];
		for (int i = 0; i < SPF_CACHE_WAYS; i++) {
			if (s[i].expires <= now) {
				e = &s[i];
				break;
			}
			if (s[i].expires < e->expires)
				e = &s[i];
		}
		if (e->expires > now)
			c->st.evicted++;
	}
	e->hash = h;
	e->key = *k;
	e->verdict = (uint8_t)verdict;
	e->expires = now + ttl_ms;
	c->st.stored++;
}

void
spf_cache_get_stats(const struct spf_cache *c, struct spf_cache_stats *st)
{
	*st = c->st;
}
