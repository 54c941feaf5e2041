/*
 * evheap.c — binary min-heap on (t, seq); see evheap.h. (A 4-ary heap was
 * tried: its unpredictable child comparisons cost more than the levels it
 * saves.)
 */
#include "evheap.h"

#include <stdlib.h>

static int before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && (int32_t)(a->seq - b->seq) < 0);
}

int evheap_init(struct evheap *h, size_t cap)
{
	h->a = malloc((cap ? cap : 1) * sizeof(*h->a));
	h->n = 0;
	h->cap = cap ? cap : 1;
	h->seq = 0;
	return h->a ? 0 : -1;
}

void evheap_free(struct evheap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

static void sift_up(struct evheap *h, size_t i)
{
	struct ev e = h->a[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&e, &h->a[parent]))
			break;
		h->a[i] = h->a[parent];
		i = parent;
	}
	h->a[i] = e;
}

static void sift_down(struct evheap *h, size_t i)
{
	struct ev e = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(&h->a[c + 1], &h->a[c]))
			c++;
		if (!before(&h->a[c], &e))
			break;
		h->a[i] = h->a[c];
		i = c;
	}
	h->a[i] = e;
}

int evheap_push(struct evheap *h, uint64_t t, uint32_t ref)
{
	if (h->n == h->cap) {
		size_t cap = h->cap * 2;
		struct ev *a = realloc(h->a, cap * sizeof(*a));

		if (!a)
			return -1;
		h->a = a;
		h->cap = cap;
	}
	h->a[h->n].t = t;
	h->a[h->n].seq = h->seq++;
	h->a[h->n].ref = ref;
	h->n++;
	sift_up(h, h->n - 1);
	return 0;
}

void evheap_retime_top(struct evheap *h, uint64_t t)
{
	h->a[0].t = t;
	h->a[0].seq = h->seq++;
	sift_down(h, 0);
}

void evheap_pop(struct evheap *h)
{
	if (!h->n)
		return;
	h->a[0] = h->a[--h->n];
	if (h->n)
		sift_down(h, 0);
}
