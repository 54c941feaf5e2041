/*
 * evheap.h — the generator's clock: a binary min-heap of (time, ref)
 * events, one per active flow (its next packet) and one per traffic source
 * (its next ON period). Popping in time order is what makes the capture
 * time-ordered; a flow is re-keyed in place after each packet, so the cost
 * per packet is one sift.
 */
#ifndef SPANWATCH_GEN_EVHEAP_H
#define SPANWATCH_GEN_EVHEAP_H

#include <stddef.h>
#include <stdint.h>

struct ev {
	uint64_t t;	/* microseconds, Unix time */
	uint32_t seq;	/* insertion order: breaks ties deterministically */
	uint32_t ref;	/* owner-defined */
};

struct evheap {
	struct ev *a;
	size_t n, cap;
	uint32_t seq;
};

int evheap_init(struct evheap *h, size_t cap);
void evheap_free(struct evheap *h);
/* 0, or -1 when memory runs out */
int evheap_push(struct evheap *h, uint64_t t, uint32_t ref);
static inline const struct ev *evheap_top(const struct evheap *h)
{
	return h->n ? &h->a[0] : NULL;
}
/* re-keys the top event (the common case after handling it) */
void evheap_retime_top(struct evheap *h, uint64_t t);
void evheap_pop(struct evheap *h);

#endif
