/*
 * test_stepclock.c — step boundaries, gaps of several steps, long gaps,
 * out-of-order packets, and the partial step at exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stepclock.h"

struct seen {
	unsigned n;
	time_t ends[4096];
};

static void
record(void *ctx, time_t end)
{
	struct seen *s = ctx;

	if (s->n < 4096)
		s->ends[s->n] = end;
	s->n++;
}

static void
test_boundaries(void **st)
{
	struct stepclock c;
	struct seen s = { 0 };

	stepclock_init(&c, 60);
	assert_int_equal(stepclock_advance(&c, 1000, record, &s), 0);
	assert_int_equal(c.end, 1020);		/* 960..1020 */
	assert_int_equal(stepclock_advance(&c, 1019, record, &s), 0);
	/* A packet at exactly the step's end belongs to the next step. */
	assert_int_equal(stepclock_advance(&c, 1020, record, &s), 1);
	assert_int_equal(s.ends[0], 1020);
	assert_int_equal(c.end, 1080);
}

static void
test_gap_of_several_steps(void **st)
{
	struct stepclock c;
	struct seen s = { 0 };

	stepclock_init(&c, 60);
	stepclock_advance(&c, 30, record, &s);
	assert_int_equal(stepclock_advance(&c, 250, record, &s), 4);
	assert_int_equal(s.ends[0], 60);
	assert_int_equal(s.ends[1], 120);
	assert_int_equal(s.ends[2], 180);
	assert_int_equal(s.ends[3], 240);
	assert_int_equal(c.end, 300);
}

static void
test_long_gap_jumps(void **st)
{
	struct stepclock c;
	struct seen s = { 0 };

	stepclock_init(&c, 60);
	stepclock_advance(&c, 0, record, &s);
	/* Ten years later: a bounded number of empty steps, then the clock
	 * is where the packet is. */
	assert_int_equal(stepclock_advance(&c, 315360000, record, &s), STEPCLOCK_MAX_GAP);
	assert_int_equal(c.end, 315360060);
	assert_int_equal(s.ends[0], 60);
}

static void
test_out_of_order(void **st)
{
	struct stepclock c;
	struct seen s = { 0 };

	stepclock_init(&c, 300);
	stepclock_advance(&c, 1000, record, &s);	/* 900..1200 */
	stepclock_advance(&c, 1250, record, &s);	/* closes 1200 */
	assert_int_equal(s.n, 1);
	/* An older packet closes nothing and moves nothing back. */
	assert_int_equal(stepclock_advance(&c, 1100, record, &s), 0);
	assert_int_equal(c.end, 1500);
	assert_int_equal(stepclock_finish(&c, record, &s), 1);
	assert_int_equal(s.ends[1], 1500);
	assert_int_equal(stepclock_finish(&c, record, &s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_gap_of_several_steps),
		cmocka_unit_test(test_long_gap_jumps),
		cmocka_unit_test(test_out_of_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
