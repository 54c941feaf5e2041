/*
 * test_ring.c — the SPSC record ring: records come out whole and in
 * order across the wrap, a full ring refuses, nothing is visible before
 * it is published, and a producer and a consumer thread that both sleep
 * on it (tiny ring, many records) lose or reorder nothing.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ring.h"

#define SMALL 65536

static void
fill(uint8_t *p, uint32_t len, uint32_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 31 + i);
}

static int
good(const uint8_t *p, uint32_t len, uint32_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seq * 31 + i))
			return 0;
	return 1;
}

static void
test_order_and_wrap(void **st)
{
	struct ring *r = ring_new(SMALL);
	uint32_t len, out = 0, in = 0;

	(void)st;
	assert_non_null(r);
	/* Lengths that do not divide the ring: the producer goes round
	 * many times, skipping the tail each time. */
	for (int round = 0; round < 2000; round++) {
		for (int k = 0; k < 7; k++, in++) {
			uint32_t l = 8 + (in * 977) % 3000;
			uint8_t *p = ring_reserve(r, l);

			assert_non_null(p);
			fill(p, l, in);
			ring_commit(r, l);
		}
		ring_publish(r);
		for (uint8_t *p; (p = ring_peek(r, &len)) != NULL; out++) {
			assert_int_equal(len, 8 + (out * 977) % 3000);
			assert_true(good(p, len, out));
			ring_next(r);
		}
		ring_release(r);
	}
	assert_int_equal(in, out);
	ring_free(r);
}

static void
test_full_and_unpublished(void **st)
{
	struct ring *r = ring_new(SMALL);
	uint32_t len, n = 0;

	(void)st;
	/* Unpublished records are not there for the consumer. */
	assert_non_null(ring_reserve(r, 100));
	ring_commit(r, 100);
	assert_null(ring_peek(r, &len));
	ring_publish(r);
	assert_non_null(ring_peek(r, &len));
	/* Consumed but not released: its room is not given back. */
	ring_next(r);
	while (ring_reserve(r, 1000) != NULL) {
		ring_commit(r, 1000);
		n++;
	}
	assert_true(n > 50 && n < SMALL / 1000);
	/* Larger than a quarter of the ring: never. */
	ring_release(r);
	assert_null(ring_reserve(r, SMALL / 4));
	ring_free(r);
}

#define MANY 400000

static void *
producer(void *arg)
{
	struct ring *r = arg;

	for (uint32_t i = 0; i < MANY; i++) {
		uint32_t l = 4 + (i * 7919) % 1500;
		uint8_t *p;

		while ((p = ring_reserve(r, l)) == NULL)
			ring_wait_room(r, l, 100);
		fill(p, l, i);
		ring_commit(r, l);
	}
	ring_wait_empty(r);	/* publishes, and returns once all are done */
	return NULL;
}

static void
test_two_threads(void **st)
{
	struct ring *r = ring_new(SMALL);
	pthread_t t;
	uint32_t len, seen = 0, bad = 0;

	(void)st;
	assert_int_equal(pthread_create(&t, NULL, producer, r), 0);
	while (seen < MANY) {
		uint8_t *p = ring_peek(r, &len);

		if (!p) {
			ring_release(r);
			ring_wait_data(r, 100);
			continue;
		}
		if (len != 4 + (seen * 7919) % 1500 || !good(p, len, seen))
			bad++;
		seen++;
		ring_next(r);
		if (seen % 64 == 0)
			ring_release(r);
	}
	ring_release(r);
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
	assert_null(ring_peek(r, &len));
	ring_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_wrap),
		cmocka_unit_test(test_full_and_unpublished),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
