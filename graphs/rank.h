/*
 * rank.h — a top-N table: the N largest of any number of offered rows,
 * kept in a min-heap of N entries, so ranking thousands of subscribers
 * costs O(files log N) time and O(N) memory.
 */
#ifndef SPANWATCH_RANK_H
#define SPANWATCH_RANK_H

#include <stddef.h>

#define RANK_NAME_MAX 64	/* longest name kept, without NUL */
#define RANK_MAX_VALS 16	/* values carried along with each row */
#define RANK_MAX_N 1000		/* largest table */

struct rank_row {
	char name[RANK_NAME_MAX + 1];
	double key;
	double v[RANK_MAX_VALS];
};

struct rank {
	size_t cap, n;
	struct rank_row *rows;
};

/* A table of the cap (1..RANK_MAX_N) largest. Returns 0, or -1 for a bad
 * cap or no memory. */
int rank_init(struct rank *r, size_t cap);
void rank_free(struct rank *r);

/* Offers a row: kept if the table is not full or key beats its smallest.
 * Rows with key <= 0 or not a number are not ranked (nothing to show).
 * Equal keys are ordered by name, so the result does not depend on the
 * order of offers (directory order). nv values are copied (at most
 * RANK_MAX_VALS); a longer name is cut. */
void rank_offer(struct rank *r, const char *name, double key,
    const double *v, size_t nv);

/* Sorts the kept rows, largest key first; call once, after the offers. */
void rank_sort(struct rank *r);

#endif
