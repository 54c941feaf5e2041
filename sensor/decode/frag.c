/*
 * frag.c — the fragment port table (RFC 791 §3.2, RFC 8200 §4.5: a
 * datagram is identified by source, destination, protocol and id).
 * Reassembly is not needed: the sensor counts bytes, and only the ports
 * of the first fragment are missing from the rest.
 */
#include "frag.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* A first fragment older than this is no longer matched: IPv4 hosts
 * give up reassembly after 15–60 s (RFC 791 suggests 15, Linux 30). */
#define FRAG_MAX_AGE_US (60ULL * 1000000)

struct frag_key {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t family, proto;
	uint8_t pad[2];
};

_Static_assert(sizeof(struct frag_key) % 8 == 0, "hash_words reads whole words");

struct frag_entry {
	struct frag_key key;
	uint64_t ts_us;
	uint16_t sport, dport;
	uint8_t used;
};

struct frag_table {
	uint32_t mask;
	struct frag_entry slot[];
};

struct frag_table *
frag_new(unsigned bits)
{
	struct frag_table *t;
	size_t n = (size_t)1 << bits;

	t = calloc(1, sizeof *t + n * sizeof t->slot[0]);
	if (t)
		t->mask = (uint32_t)(n - 1);
	return t;
}

void
frag_free(struct frag_table *t)
{
	free(t);
}

static void
key_of(const struct pkt *p, struct frag_key *k)
{
	memset(k, 0, sizeof *k);
	memcpy(k->src, p->src, 16);
	memcpy(k->dst, p->dst, 16);
	k->id = p->frag_id;
	k->family = p->family;
	k->proto = p->proto;
}

static struct frag_entry *
slot_of(struct frag_table *t, const struct frag_key *k)
{
	return &t->slot[hash_words(k, sizeof *k, 0x66726167) & t->mask];
}

void
frag_note_first(struct frag_table *t, const struct pkt *p)
{
	struct frag_key k;
	struct frag_entry *e;

	key_of(p, &k);
	e = slot_of(t, &k);
	e->key = k;
	e->ts_us = p->ts_us;
	e->sport = p->sport;
	e->dport = p->dport;
	e->used = 1;
}

int
frag_fill_ports(struct frag_table *t, struct pkt *p)
{
	struct frag_key k;
	struct frag_entry *e;

	key_of(p, &k);
	e = slot_of(t, &k);
	if (!e->used || memcmp(&e->key, &k, sizeof k) != 0)
		return -1;
	/* Capture files may be slightly out of order: allow either side. */
	if (p->ts_us > e->ts_us + FRAG_MAX_AGE_US || e->ts_us > p->ts_us + FRAG_MAX_AGE_US)
		return -1;
	p->sport = e->sport;
	p->dport = e->dport;
	return 0;
}
