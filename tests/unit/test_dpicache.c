/*
 * test_dpicache.c — the rule that makes nDPI's endpoint caches the same
 * for any number of workers: an entry is seen at once by its own unit,
 * by the others only after the step's merge; a slot written by several
 * units in one step keeps the highest unit's entry whichever worker wrote
 * it; a "find and clean" is the unit's own until the merge; a member that
 * left is not waited for; entries beyond the overlay are counted. Called
 * the way nDPI calls them (ndpi_lru_find_cache, ndpi_lru_add_to_cache),
 * on two real nDPI modules sharing one set of caches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define NDPI_LIB_COMPILATION
#include <ndpi_api.h>
#include <pthread.h>

#include "dpicache.h"

struct two {
	struct ndpi_detection_module_struct *na, *nb;
	struct dpicache *a, *b;
};

static struct ndpi_detection_module_struct *
module(void)
{
	struct ndpi_detection_module_struct *n = ndpi_init_detection_module(ndpi_no_prefs);

	assert_non_null(n);
	ndpi_finalize_initialization(n);
	return n;
}

static int
setup(void **state)
{
	static struct two t;

	t.na = module();
	t.nb = module();
	t.a = dpicache_new(t.na);
	t.b = dpicache_new(t.nb);
	assert_non_null(t.a);
	assert_non_null(t.b);
	assert_int_equal(dpicache_join(t.b, t.nb, t.a), 0);
	*state = &t;
	return 0;
}

static int
teardown(void **state)
{
	struct two *t = *state;

	dpicache_enter(NULL, 0);
	dpicache_free(t->b, t->nb);
	ndpi_exit_detection_module(t->nb);
	dpicache_free(t->a, t->na);
	ndpi_exit_detection_module(t->na);
	return 0;
}

/* Does unit, through m, find key in the shared BitTorrent cache? */
static int
finds(struct two *t, struct dpicache *m, int32_t unit, uint32_t key, uint16_t *v)
{
	uint16_t dummy;

	dpicache_enter(m, unit);
	return ndpi_lru_find_cache(t->na->bittorrent_cache, key, v ? v : &dummy, 0);
}

static void
add(struct two *t, struct dpicache *m, int32_t unit, uint32_t key, uint16_t v)
{
	dpicache_enter(m, unit);
	ndpi_lru_add_to_cache(t->na->bittorrent_cache, key, v);
}

/* One step closed on both workers, from one thread: a arrives early
 * (as a reader does that knows the step's end), b closes it and merges. */
static void
close_step(struct two *t)
{
	dpicache_arrive(t->a);
	dpicache_step(t->b);
	dpicache_step(t->a);
}

static void
test_own_unit_at_once_others_next_step(void **state)
{
	struct two *t = *state;
	uint16_t v = 0;

	assert_ptr_equal(t->na->bittorrent_cache, t->nb->bittorrent_cache);
	add(t, t->a, 7, 1000, 42);
	assert_true(finds(t, t->a, 7, 1000, &v));
	assert_int_equal(v, 42);
	/* Another unit, on the same worker or the other, not yet. */
	assert_false(finds(t, t->a, 8, 1000, NULL));
	assert_false(finds(t, t->b, 9, 1000, NULL));
	close_step(t);
	v = 0;
	assert_true(finds(t, t->b, 9, 1000, &v));
	assert_int_equal(v, 42);
	assert_true(finds(t, t->a, 8, 1000, NULL));
}

static void
test_highest_unit_wins_the_slot(void **state)
{
	struct two *t = *state;
	uint32_t slots = t->na->bittorrent_cache->num_entries;
	uint16_t v = 0;

	/* Two keys of one slot: unit 30 (worker b) and unit 12 (worker a),
	 * written in the order that would leave 12 last if shared at once. */
	add(t, t->b, 30, 5 + slots, 1);
	add(t, t->a, 12, 5, 2);
	assert_true(finds(t, t->a, 12, 5, NULL));
	assert_false(finds(t, t->a, 12, 5 + slots, NULL));
	close_step(t);
	assert_true(finds(t, t->a, 1, 5 + slots, &v));
	assert_int_equal(v, 1);
	assert_false(finds(t, t->a, 1, 5, NULL));

	/* The other way round on the workers: the winner is still the unit. */
	add(t, t->a, 40, 6, 3);
	add(t, t->b, 20, 6 + slots, 4);
	close_step(t);
	assert_true(finds(t, t->b, 1, 6, &v));
	assert_int_equal(v, 3);
	assert_false(finds(t, t->b, 1, 6 + slots, NULL));
}

static void
test_clean_is_the_units_own_until_the_merge(void **state)
{
	struct two *t = *state;
	uint16_t v = 0;

	add(t, t->a, 3, 77, 9);
	close_step(t);
	dpicache_enter(t->a, 3);
	assert_true(ndpi_lru_find_cache(t->na->bittorrent_cache, 77, &v, 1));
	assert_int_equal(v, 9);
	assert_false(finds(t, t->a, 3, 77, NULL));	/* gone for its unit */
	assert_true(finds(t, t->b, 4, 77, NULL));	/* still there for others */
	close_step(t);
	assert_false(finds(t, t->b, 4, 77, NULL));	/* gone for all */
}

static void
test_no_member_is_plain_ndpi(void **state)
{
	struct two *t = *state;
	struct ndpi_lru_cache *c = ndpi_lru_cache_init(16);
	uint16_t v = 0;

	/* A cache outside the group, even with a member current. */
	assert_non_null(c);
	dpicache_enter(t->a, 1);
	ndpi_lru_add_to_cache(c, 3, 5);
	assert_true(ndpi_lru_find_cache(c, 3, &v, 1));
	assert_int_equal(v, 5);
	assert_false(ndpi_lru_find_cache(c, 3, &v, 0));
	ndpi_lru_free_cache(c);
}

static void
test_overlay_overflow_is_counted(void **state)
{
	struct two *t = *state;
	uint64_t before = dpicache_lost(t->a);

	/* One slot, as many units as the overlay holds and ten more. */
	for (int32_t u = 0; u < DPICACHE_OVERLAY + 10; u++)
		add(t, t->a, u, 123, 1);
	assert_int_equal(dpicache_lost(t->a) - before, 10);
	close_step(t);
	/* The highest unit kept is the overlay's last; the merge emptied it. */
	assert_true(finds(t, t->b, 0, 123, NULL));
	add(t, t->a, 1, 124, 1);
	assert_int_equal(dpicache_lost(t->a) - before, 10);
	close_step(t);
}

/* ---- two threads, many steps ------------------------------------------ */

struct runner {
	struct two *t;
	struct dpicache *m;
	int32_t unit;
	int seen;		/* the other's entries found one step later */
};

#define STEPS 200

static void *
run(void *arg)
{
	struct runner *r = arg;
	uint16_t v;

	for (int s = 0; s < STEPS; s++) {
		dpicache_enter(r->m, r->unit);
		ndpi_lru_add_to_cache(r->t->na->bittorrent_cache,
				      (uint32_t)(r->unit * 1000 + s), (uint16_t)s);
		dpicache_step(r->m);
		dpicache_enter(r->m, r->unit);
		if (ndpi_lru_find_cache(r->t->na->bittorrent_cache,
					(uint32_t)((3 - r->unit) * 1000 + s), &v, 0) && v == s)
			r->seen++;
	}
	dpicache_leave(r->m);
	return NULL;
}

static void
test_two_threads_see_each_other_after_every_step(void **state)
{
	struct two *t = *state;
	struct runner ra = { t, t->a, 1, 0 }, rb = { t, t->b, 2, 0 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, run, &rb), 0);
	run(&ra);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(ra.seen, STEPS);
	assert_int_equal(rb.seen, STEPS);
}

static void
test_one_that_left_is_not_waited_for(void **state)
{
	struct two *t = *state;

	dpicache_leave(t->b);
	add(t, t->a, 1, 555, 1);
	dpicache_step(t->a);		/* would hang if b were waited for */
	assert_true(finds(t, t->a, 2, 555, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_unit_at_once_others_next_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_highest_unit_wins_the_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clean_is_the_units_own_until_the_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_member_is_plain_ndpi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_overflow_is_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_threads_see_each_other_after_every_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_that_left_is_not_waited_for, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
