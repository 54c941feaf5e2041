/*
 * test_peershare.c — the peer cache shared by workers: a unit sees the
 * peers it named at once and another unit's from the merge on; tags of
 * the step and of the cache combine; the merge adds unit after unit,
 * whichever worker named them (seen in a cache of one set, where the
 * order decides what is evicted); a step's peers beyond the overlay are
 * counted; the transit-only unit writes through; expiry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "dispatch.h"
#include "peershare.h"

#define TTL 1800
#define T0 1767225600u

static void
addr(unsigned i, uint8_t a[4])
{
	a[0] = 198;
	a[1] = 18;
	a[2] = (uint8_t)(i >> 8);
	a[3] = (uint8_t)i;
}

static int
tag(struct peershare *m, int32_t unit, unsigned i, uint32_t now)
{
	uint8_t a[4];

	addr(i, a);
	return peershare_tag(m, unit, 4, a, 6881, now);
}

static void
add(struct peershare *m, int32_t unit, unsigned i, uint32_t now, uint8_t t)
{
	uint8_t a[4];

	addr(i, a);
	peershare_add(m, unit, 4, a, 6881, now, t);
}

static void
test_visibility(void **state)
{
	struct peershare *w0 = peershare_new(1024, TTL, NULL);
	struct peershare *w1 = peershare_new(1024, TTL, NULL);

	(void)state;
	assert_non_null(w0);
	assert_non_null(w1);
	peershare_join(w1, w0);
	add(w0, 3, 1, T0, PEERCACHE_T_OTHER);
	assert_int_equal(tag(w0, 3, 1, T0), PEERCACHE_T_OTHER);	/* its own: at once */
	assert_int_equal(tag(w0, 4, 1, T0), -1);		/* another unit, same worker */
	assert_int_equal(tag(w1, 7, 1, T0), -1);		/* another worker's unit */
	peershare_merge(w0);
	assert_int_equal(tag(w0, 4, 1, T0 + 60), PEERCACHE_T_OTHER);
	assert_int_equal(tag(w1, 7, 1, T0 + 60), PEERCACHE_T_OTHER);
	/* In the cache, named again for another torrent by a unit of w1:
	 * that unit sees both at once, others the cache's until the merge. */
	add(w1, 7, 1, T0 + 61, PEERCACHE_T_ALLOWED);
	assert_int_equal(tag(w1, 7, 1, T0 + 61), PEERCACHE_T_OTHER | PEERCACHE_T_ALLOWED);
	assert_int_equal(tag(w0, 3, 1, T0 + 61), PEERCACHE_T_OTHER);
	peershare_merge(w0);
	assert_int_equal(tag(w0, 3, 1, T0 + 121), PEERCACHE_T_OTHER | PEERCACHE_T_ALLOWED);
	/* expiry, in the overlay as in the cache */
	add(w1, 9, 2, T0 + 200, 0);
	assert_int_equal(tag(w1, 9, 2, T0 + 200 + TTL), 0);
	assert_int_equal(tag(w1, 9, 2, T0 + 201 + TTL), -1);
	peershare_free(w1);
	peershare_free(w0);
}

static void
test_merge_order(void **state)
{
	/* One set of four ways: of the six peers named, the two added
	 * first by the merge are evicted. Unit 2 (on w0) named 4..6 after
	 * unit 5 (on w1) named 1..3; the merge takes unit 2's first. */
	struct peershare *w0 = peershare_new(4, TTL, NULL);
	struct peershare *w1 = peershare_new(4, TTL, NULL);
	const int want[7] = { 0, 0, 0, 0, -1, -1, 0 };

	(void)state;
	peershare_join(w1, w0);
	for (unsigned i = 1; i <= 3; i++)
		add(w1, 5, i, T0, 0);
	for (unsigned i = 4; i <= 6; i++)
		add(w0, 2, i, T0 + 1, 0);
	peershare_merge(w0);
	for (unsigned i = 1; i <= 6; i++)
		assert_int_equal(tag(w0, 8, i, T0 + 60), want[i]);
	peershare_free(w1);
	peershare_free(w0);
}

static void
test_overflow_counted(void **state)
{
	struct peershare *m = peershare_new(1024, TTL, NULL);
	struct peershare_stats st;

	(void)state;
	for (unsigned i = 0; i < PEERSHARE_OVERLAY + 10; i++) {
		uint8_t a[4] = { 198, 19, (uint8_t)(i >> 8), (uint8_t)i };

		/* distinct (unit, peer) pairs: the unit changes every 65536 */
		peershare_add(m, (int32_t)(i >> 16), 4, a, 6881, T0, 0);
	}
	peershare_get_stats(m, &st);
	assert_int_equal(st.lost, 10);
	assert_int_equal(st.shared, 0);
	/* Named again, a pair already in: not lost; a new one is. */
	{
		uint8_t a[4] = { 198, 19, 0, 0 };

		peershare_add(m, 0, 4, a, 6881, T0 + 1, 0);
	}
	peershare_get_stats(m, &st);
	assert_int_equal(st.lost, 10);
	add(m, 0, 7, T0 + 1, 0);
	peershare_get_stats(m, &st);
	assert_int_equal(st.lost, 11);
	/* After the merge the overlay is empty again. */
	peershare_merge(m);
	add(m, 0, 7, T0 + 61, 0);
	assert_int_equal(tag(m, 0, 7, T0 + 61), 0);
	peershare_get_stats(m, &st);
	assert_int_equal(st.lost, 11);
	peershare_free(m);
}

static void
test_one_unit_writes_through(void **state)
{
	struct peershare *w0 = peershare_new(1024, TTL, NULL);
	struct peershare *w1 = peershare_new(1024, TTL, NULL);
	struct peershare_stats st;

	(void)state;
	peershare_join(w1, w0);
	add(w0, DISPATCH_TRANSIT, 1, T0, PEERCACHE_T_ALLOWED);
	assert_int_equal(tag(w0, DISPATCH_TRANSIT, 1, T0), PEERCACHE_T_ALLOWED);
	assert_int_equal(tag(w1, DISPATCH_TRANSIT, 1, T0), PEERCACHE_T_ALLOWED);
	peershare_get_stats(w1, &st);
	assert_int_equal(st.shared, 1);
	assert_int_equal(st.cache.hits, 1);
	peershare_free(w1);
	peershare_free(w0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_visibility),
		cmocka_unit_test(test_merge_order),
		cmocka_unit_test(test_overflow_counted),
		cmocka_unit_test(test_one_unit_writes_through),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
