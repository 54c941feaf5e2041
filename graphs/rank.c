/*
 * rank.c — the top-N table (see rank.h).
 */
#include "rank.h"

#include <stdlib.h>
#include <string.h>

int
rank_init(struct rank *r, size_t cap)
{
	memset(r, 0, sizeof *r);
	if (cap < 1 || cap > RANK_MAX_N)
		return -1;
	r->rows = calloc(cap, sizeof *r->rows);
	if (r->rows == NULL)
		return -1;
	r->cap = cap;
	return 0;
}

void
rank_free(struct rank *r)
{
	free(r->rows);
	memset(r, 0, sizeof *r);
}

/* a ranks below b: smaller key, or the same key and a later name. */
static int
below(const struct rank_row *a, const struct rank_row *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return strcmp(a->name, b->name) > 0;
}

static void
swap(struct rank_row *a, struct rank_row *b)
{
	struct rank_row t = *a;

	*a = *b;
	*b = t;
}

static void
sift_down(struct rank *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && below(&r->rows[l], &r->rows[m]))
			m = l;
		if (l + 1 < r->n && below(&r->rows[l + 1], &r->rows[m]))
			m = l + 1;
		if (m == i)
			return;
		swap(&r->rows[i], &r->rows[m]);
		i = m;
	}
}

static void
sift_up(struct rank *r, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!below(&r->rows[i], &r->rows[p]))
			return;
		swap(&r->rows[i], &r->rows[p]);
		i = p;
	}
}

void
rank_offer(struct rank *r, const char *name, double key, const double *v,
    size_t nv)
{
	struct rank_row row;

	if (r->cap == 0 || !(key > 0))
		return;
	memset(&row, 0, sizeof row);
	strncpy(row.name, name, RANK_NAME_MAX);
	row.key = key;
	if (nv > RANK_MAX_VALS)
		nv = RANK_MAX_VALS;
	if (nv > 0)
		memcpy(row.v, v, nv * sizeof *v);
	if (r->n < r->cap) {
		r->rows[r->n++] = row;
		sift_up(r, r->n - 1);
	} else if (below(&r->rows[0], &row)) {
		r->rows[0] = row;
		sift_down(r, 0);
	}
}

static int
cmp_desc(const void *a, const void *b)
{
	const struct rank_row *x = a, *y = b;

	if (below(y, x))
		return -1;
	if (below(x, y))
		return 1;
	return 0;
}

void
rank_sort(struct rank *r)
{
	qsort(r->rows, r->n, sizeof *r->rows, cmp_desc);
}
