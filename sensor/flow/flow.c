/*
 * flow.c — the flow table. Slots come from one pool sized at max_flows;
 * the pool is allocated once with calloc, so the pages of slots never used
 * cost no memory, and a freed slot goes on a free list. A flow sits on one
 * of two activity lists, both in order of last packet: the active list
 * (idle_timeout) and the linger list (TCP flows that closed, kept a few
 * seconds so that the last ACKs and retransmissions still join them).
 */
#include "flow.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "hash.h"

_Static_assert(sizeof(struct flow_key) % 8 == 0, "hash_words reads whole words");
/* The memory bound (64 MiB + 512 B per flow) counts on a small entry. */
_Static_assert(sizeof(struct flow) <= 136, "flow entry grew: update README");

/* After FIN both ways or RST: long enough for the final ACK and a
 * retransmitted FIN, short enough that a port reuse finds a new flow. */
#define LINGER_US (5ULL * 1000000)

enum { L_ACTIVE, L_LINGER, L_COUNT };

struct flow_list {
	uint32_t head, tail;
	uint64_t timeout_us;
};

struct flow_table {
	struct flow *pool;
	uint32_t max, fresh;		/* slots [fresh, max) were never used */
	uint32_t free_head;		/* freed slots, chained through hnext */
	uint32_t last;			/* the flow of the previous packet, or FLOW_NONE */
	uint32_t *bucket;
	uint32_t mask, nbuckets;
	struct flow_list list[L_COUNT];
	flow_end_fn end;
	void *ctx;
	struct flow_stats st;
};

struct flow_table *
flow_table_new(uint32_t max_flows, uint32_t idle_timeout_s, flow_end_fn end, void *ctx)
{
	struct flow_table *t;
	uint32_t nb = 1024;

	if (max_flows == 0 || (t = calloc(1, sizeof *t)) == NULL)
		return NULL;
	while (nb < max_flows && nb < (1u << 31))
		nb <<= 1;
	t->max = max_flows;
	t->nbuckets = nb;
	t->pool = bigmem_calloc(max_flows, sizeof *t->pool);
	t->bucket = bigmem_calloc(nb, sizeof *t->bucket);
	if (!t->pool || !t->bucket) {
		flow_table_free(t);
		return NULL;
	}
	memset(t->bucket, 0xff, (size_t)nb * sizeof *t->bucket);
	t->mask = nb - 1;
	t->free_head = FLOW_NONE;
	t->last = FLOW_NONE;
	for (int i = 0; i < L_COUNT; i++)
		t->list[i].head = t->list[i].tail = FLOW_NONE;
	t->list[L_ACTIVE].timeout_us = (uint64_t)idle_timeout_s * 1000000;
	t->list[L_LINGER].timeout_us = LINGER_US;
	t->end = end;
	t->ctx = ctx;
	return t;
}

void
flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	bigmem_free(t->pool, t->max, sizeof *t->pool);
	bigmem_free(t->bucket, t->nbuckets, sizeof *t->bucket);
	free(t);
}

/* ---- lists ------------------------------------------------------------- */

static void
list_unlink(struct flow_table *t, struct flow_list *l, struct flow *f)
{
	if (f->prev != FLOW_NONE)
		t->pool[f->prev].next = f->next;
	else
		l->head = f->next;
	if (f->next != FLOW_NONE)
		t->pool[f->next].prev = f->prev;
	else
		l->tail = f->prev;
}

static void
list_append(struct flow_table *t, struct flow_list *l, struct flow *f)
{
	f->next = FLOW_NONE;
	f->prev = l->tail;
	if (l->tail != FLOW_NONE)
		t->pool[l->tail].next = f->id;
	else
		l->head = f->id;
	l->tail = f->id;
}

static struct flow_list *
list_of(struct flow_table *t, const struct flow *f)
{
	return &t->list[(f->state & FLOW_S_CLOSING) ? L_LINGER : L_ACTIVE];
}

/* Moves f from list l to the tail of the list its state says. */
static void
relink(struct flow_table *t, struct flow_list *l, struct flow *f, uint64_t now_us)
{
	list_unlink(t, l, f);
	list_append(t, list_of(t, f), f);
	f->linked_s = (uint16_t)(now_us / 1000000);
}

/* ---- keys -------------------------------------------------------------- */

/* Compares two 16-byte addresses as memcmp would (their bytes in order,
 * unsigned), in two word compares inlined: the key is taken twice a
 * packet, and libc's memcmp was a call each time (about as many
 * instructions, but 2% of a thread's samples). */
static inline int
addr_cmp(const uint8_t *x, const uint8_t *y)
{
	uint64_t a, b;

	memcpy(&a, x, 8);
	memcpy(&b, y, 8);
	if (a == b) {
		memcpy(&a, x + 8, 8);
		memcpy(&b, y + 8, 8);
	}
	a = be64toh(a);
	b = be64toh(b);
	return a < b ? -1 : a > b;
}

/* Two keys are the same flow: six word compares, no call. */
static inline int
key_eq(const struct flow_key *x, const struct flow_key *y)
{
	uint64_t a[6], b[6], d = 0;

	_Static_assert(sizeof *x == sizeof a, "a flow key is six words");
	memcpy(a, x, sizeof a);
	memcpy(b, y, sizeof b);
	for (int i = 0; i < 6; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Builds the direction-free key of p; returns 1 when p's source is key.a. */
static int
key_of(const struct pkt *p, struct flow_key *k)
{
	int c = addr_cmp(p->src, p->dst);
	int src_is_a = c < 0 || (c == 0 && p->sport <= p->dport);

	memset(k, 0, sizeof *k);
	memcpy(k->a, src_is_a ? p->src : p->dst, 16);
	memcpy(k->b, src_is_a ? p->dst : p->src, 16);
	k->aport = src_is_a ? p->sport : p->dport;
	k->bport = src_is_a ? p->dport : p->sport;
	k->vlan = p->vlan;
	k->family = p->family;
	k->proto = p->proto;
	return src_is_a;
}

static uint32_t
bucket_of(const struct flow_table *t, const struct flow_key *k)
{
	return (uint32_t)hash_words(k, sizeof *k, 0x666c6f77) & t->mask;
}

uint32_t
flow_prefetch_bucket(const struct flow_table *t, const struct pkt *p)
{
	struct flow_key k;
	uint32_t b;

	(void)key_of(p, &k);
	b = bucket_of(t, &k);
	__builtin_prefetch(&t->bucket[b]);
	return b;
}

void
flow_prefetch_entry(const struct flow_table *t, uint32_t b)
{
	uint32_t i = t->bucket[b];

	if (i == FLOW_NONE)
		return;
	/* A flow of 136 B spans three lines wherever it starts: the key,
	 * the counters, and the tail the collectors read first (subscriber
	 * ids, watch bits). */
	__builtin_prefetch(&t->pool[i]);
	__builtin_prefetch((const char *)&t->pool[i] + 64, 1);
	__builtin_prefetch((const char *)&t->pool[i] + sizeof t->pool[i] - 1, 1);
}

const struct flow *
flow_peek(const struct flow_table *t, uint32_t b)
{
	uint32_t i;

	if (b == FLOW_BUCKET_ANY)
		return NULL;
	i = t->bucket[b];
	return i == FLOW_NONE ? NULL : &t->pool[i];
}

/* ---- ending ------------------------------------------------------------ */

static void
end_flow(struct flow_table *t, struct flow *f, enum flow_end why)
{
	uint32_t *pp = &t->bucket[bucket_of(t, &f->key)];

	t->end(t->ctx, f, why);
	if (t->last == f->id)
		t->last = FLOW_NONE;
	list_unlink(t, list_of(t, f), f);
	while (*pp != f->id)
		pp = &t->pool[*pp].hnext;
	*pp = f->hnext;
	f->hnext = t->free_head;
	t->free_head = f->id;
	t->st.active--;
	t->st.ended++;
	if (why == FLOW_END_EVICTED)
		t->st.evicted++;
	else if (why == FLOW_END_IDLE)
		t->st.expired++;
	else if (why == FLOW_END_CLOSED)
		t->st.closed++;
}

/* A slot for a new flow: a freed one, a never used one, or, at max_flows,
 * the least recently active flow's (lingering flows first: they are done). */
static struct flow *
take_slot(struct flow_table *t)
{
	uint32_t i;

	if (t->free_head == FLOW_NONE && t->fresh == t->max) {
		i = t->list[L_LINGER].head;
		if (i == FLOW_NONE)
			i = t->list[L_ACTIVE].head;
		end_flow(t, &t->pool[i], FLOW_END_EVICTED);
	}
	if (t->free_head != FLOW_NONE) {
		i = t->free_head;
		t->free_head = t->pool[i].hnext;
	} else {
		i = t->fresh++;
	}
	return &t->pool[i];
}

/* ---- the packet -------------------------------------------------------- */

static struct flow *
new_flow(struct flow_table *t, const struct flow_key *k, uint32_t b,
	 const struct pkt *p, int p_is_a)
{
	struct flow *f = take_slot(t);
	uint32_t id = (uint32_t)(f - t->pool);

	memset(f, 0, sizeof *f);
	f->key = *k;
	f->id = id;
	f->dpi = FLOW_NONE;
	f->sub_a = f->sub_b = -1;
	f->first_us = f->last_us = p->ts_us;
	f->linked_s = (uint16_t)(p->ts_us / 1000000);
	/* The sender of the first packet is the client, unless that packet is
	 * a SYN-ACK: then the capture began after the client's SYN. */
	if (p->proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
		f->client_is_a = !p_is_a;
	else
		f->client_is_a = (uint8_t)p_is_a;
	f->hnext = t->bucket[b];
	t->bucket[b] = id;
	list_append(t, &t->list[L_ACTIVE], f);
	t->st.created++;
	if (++t->st.active > t->st.peak)
		t->st.peak = t->st.active;
	return f;
}

struct flow *
flow_packet(struct flow_table *t, const struct pkt *p, enum flow_dir *dir, int *created)
{
	return flow_packet_in(t, p, FLOW_BUCKET_ANY, dir, created);
}

struct flow *
flow_packet_in(struct flow_table *t, const struct pkt *p, uint32_t bucket, enum flow_dir *dir,
	       int *created)
{
	struct flow_key k;
	struct flow *f;
	int p_is_a = key_of(p, &k);
	uint32_t b = bucket != FLOW_BUCKET_ANY ? bucket : bucket_of(t, &k), i;
	struct flow_list *l;

	*created = 0;
	/* Packets come in bursts per flow (a TCP window, a video segment):
	 * the last flow found is checked first, and is still in cache. */
	if (t->last != FLOW_NONE && key_eq(&t->pool[t->last].key, &k))
		i = t->last;
	else
		for (i = t->bucket[b]; i != FLOW_NONE; i = t->pool[i].hnext)
			if (key_eq(&t->pool[i].key, &k))
				break;
	/* A fresh SYN on a closed connection's 5-tuple is a new connection. */
	if (i != FLOW_NONE && (t->pool[i].state & FLOW_S_CLOSING) && p->proto == 6 &&
	    (p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		end_flow(t, &t->pool[i], FLOW_END_CLOSED);
		i = FLOW_NONE;
	}
	if (i != FLOW_NONE) {
		f = &t->pool[i];
	} else {
		f = new_flow(t, &k, b, p, p_is_a);
		*created = 1;
	}

	t->last = f->id;
	*dir = p_is_a == f->client_is_a ? FLOW_C2S : FLOW_S2C;
	f->pkts[*dir]++;
	f->bytes[*dir] += p->ip_len;
	if (p->ts_us > f->last_us)
		f->last_us = p->ts_us;
	if (p->ts_us < f->first_us)
		f->first_us = p->ts_us;

	l = list_of(t, f);
	if (p->proto == 6 && !(f->state & FLOW_S_CLOSING)) {
		if (p->tcp_flags & TCP_FIN)
			f->state |= *dir == FLOW_C2S ? FLOW_S_FIN_C2S : FLOW_S_FIN_S2C;
		if (p->tcp_flags & TCP_RST)
			f->state |= FLOW_S_RST;
		if ((f->state & FLOW_S_RST) ||
		    (f->state & (FLOW_S_FIN_C2S | FLOW_S_FIN_S2C)) == (FLOW_S_FIN_C2S | FLOW_S_FIN_S2C))
			f->state |= FLOW_S_CLOSING;
	}
	/* The activity order is kept to the second: moving a flow to the
	 * tail on every packet touched its two neighbours, two cache misses
	 * per packet for an order that expiry and eviction only need
	 * coarsely. A flow moves once a second at most, and whenever it
	 * changes list. */
	if (l != list_of(t, f) || (uint16_t)(p->ts_us / 1000000) != f->linked_s)
		relink(t, l, f, p->ts_us);
	return f;
}

unsigned
flow_expire(struct flow_table *t, uint64_t now_us, unsigned budget)
{
	unsigned n = 0;

	for (int li = 0; li < L_COUNT; li++) {
		struct flow_list *l = &t->list[li];
		enum flow_end why = li == L_LINGER ? FLOW_END_CLOSED : FLOW_END_IDLE;

		while (n < budget && l->head != FLOW_NONE &&
		       t->pool[l->head].last_us + l->timeout_us <= now_us) {
			end_flow(t, &t->pool[l->head], why);
			n++;
		}
	}
	return n;
}

void
flow_foreach(struct flow_table *t, void (*fn)(void *ctx, struct flow *f), void *ctx)
{
	for (int li = 0; li < L_COUNT; li++)
		for (uint32_t i = t->list[li].head; i != FLOW_NONE; i = t->pool[i].next)
			fn(ctx, &t->pool[i]);
}

void
flow_drain(struct flow_table *t)
{
	for (int li = 0; li < L_COUNT; li++)
		while (t->list[li].head != FLOW_NONE)
			end_flow(t, &t->pool[t->list[li].head], FLOW_END_EXIT);
}

void
flow_get_stats(const struct flow_table *t, struct flow_stats *st)
{
	*st = t->st;
}

const char *
flow_own_app_name(unsigned own_app)
{
	static const char *const names[FLOW_OWN_COUNT] = {
		[FLOW_OWN_BT_ENCRYPTED] = "BitTorrent.encrypted",
		[FLOW_OWN_BT_ENC_PEER] = "BitTorrent.encrypted.peer",
		[FLOW_OWN_BT_ENC_SWARM] = "BitTorrent.encrypted.swarm",
		[FLOW_OWN_BT_ENC_FRAMING] = "BitTorrent.encrypted.framing",
		[FLOW_OWN_BT_UTP_FRAMING] = "BitTorrent.uTP.framing",
		[FLOW_OWN_BT_WIRE_FRAMING] = "BitTorrent.wire.framing",
	};
	return own_app < FLOW_OWN_COUNT ? names[own_app] : NULL;
}
