/*
 * test_peercache.c — the peer endpoint cache: IPv4 and IPv6 lookups that
 * tell address, port and family apart, expiry after the time to live,
 * refresh on a new mention, and a size that never grows however many
 * endpoints are named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "peercache.h"

#define TTL 1800
#define T0 1767225600u

static void
v4(const char *s, uint8_t a[4])
{
	assert_int_equal(inet_pton(AF_INET, s, a), 1);
}

static void
v6(const char *s, uint8_t a[16])
{
	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
}

static void
test_lookup_v4_v6(void **state)
{
	struct peercache *pc = peercache_new(1024, TTL);
	uint8_t a[4], b[4], x[16], y[16], z[16];

	assert_non_null(pc);
	v4("198.18.1.1", a);
	v4("198.18.1.2", b);
	v6("2001:db8::1", x);
	v6("2001:db8::2", y);
	peercache_add(pc, 4, a, 6881, T0);
	peercache_add(pc, 6, x, 51413, T0);
	assert_true(peercache_has(pc, 4, a, 6881, T0 + 1));
	assert_false(peercache_has(pc, 4, a, 6882, T0 + 1));	/* other port */
	assert_false(peercache_has(pc, 4, b, 6881, T0 + 1));	/* other address */
	assert_true(peercache_has(pc, 6, x, 51413, T0 + 1));
	assert_false(peercache_has(pc, 6, y, 51413, T0 + 1));
	/* An IPv6 address whose first 4 bytes are an IPv4 address in the
	 * cache is not that address, nor the other way round. */
	memset(z, 0, sizeof z);
	memcpy(z, a, 4);
	assert_false(peercache_has(pc, 6, z, 6881, T0 + 1));
	assert_false(peercache_has(pc, 4, x, 51413, T0 + 1));
	/* Bad families are ignored. */
	peercache_add(pc, 5, a, 1, T0);
	assert_false(peercache_has(pc, 5, a, 1, T0));
	assert_int_equal(peercache_live(pc, T0), 2);
	peercache_free(pc);
	peercache_free(NULL);
}

static void
test_expiry_and_refresh(void **state)
{
	struct peercache *pc = peercache_new(64, TTL);
	uint8_t a[4], b[4];

	v4("203.0.113.7", a);
	v4("203.0.113.8", b);
	peercache_add(pc, 4, a, 1000, T0);
	peercache_add(pc, 4, b, 1000, T0);
	assert_true(peercache_has(pc, 4, a, 1000, T0 + TTL));
	assert_false(peercache_has(pc, 4, a, 1000, T0 + TTL + 1));
	/* Named again: alive for another TTL from then. */
	peercache_add(pc, 4, b, 1000, T0 + 1000);
	assert_true(peercache_has(pc, 4, b, 1000, T0 + 1000 + TTL));
	assert_false(peercache_has(pc, 4, b, 1000, T0 + 1001 + TTL));
	assert_int_equal(peercache_live(pc, T0 + TTL + 1), 1);
	assert_int_equal(peercache_live(pc, T0 + 2000 + TTL), 0);
	/* Packet time that steps back does not expire anything. */
	peercache_add(pc, 4, a, 1000, T0 + 5000);
	assert_true(peercache_has(pc, 4, a, 1000, T0 + 4000));
	peercache_free(pc);
}

static void
test_bounded(void **state)
{
	struct peercache *pc = peercache_new(100, TTL);
	struct peercache_stats st, st2;
	uint8_t a[16];
	unsigned found = 0;

	peercache_get_stats(pc, &st);
	assert_int_equal(st.capacity, 128);	/* rounded up to a power of two */
	/* Ten thousand endpoints in one second: the table keeps its size,
	 * every set keeps its newest, the oldest go. */
	for (uint32_t i = 0; i < 10000; i++) {
		uint8_t last[4];

		memset(a, 0, sizeof a);
		a[0] = 10;
		a[1] = (uint8_t)(i >> 16);
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		peercache_add(pc, 4, a, (uint16_t)(1 + i % 60000), T0 + i / 1000);
		memcpy(last, a, 4);
		assert_true(peercache_has(pc, 4, last, (uint16_t)(1 + i % 60000), T0 + i / 1000));
		assert_true(peercache_live(pc, T0 + i / 1000) <= 128);
	}
	peercache_get_stats(pc, &st2);
	assert_int_equal(st2.capacity, 128);
	assert_int_equal(st2.bytes, st.bytes);
	assert_int_equal(st2.added, 10000);
	assert_int_equal(st2.evicted, 10000 - 128);
	assert_int_equal(peercache_live(pc, T0 + 10), 128);
	/* The last hundred named are mostly there (LRU within a set of 4). */
	for (uint32_t i = 9900; i < 10000; i++) {
		memset(a, 0, sizeof a);
		a[0] = 10;
		a[1] = (uint8_t)(i >> 16);
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		found += (unsigned)peercache_has(pc, 4, a, (uint16_t)(1 + i % 60000), T0 + 10);
	}
	printf("last 100 of 10000 named into 128 entries: %u still cached\n", found);
	assert_true(found >= 50);
	peercache_free(pc);
}

static void
test_tiny(void **state)
{
	struct peercache *pc = peercache_new(0, TTL);
	struct peercache_stats st;
	uint8_t a[4] = { 192, 0, 2, 1 };

	assert_non_null(pc);
	peercache_get_stats(pc, &st);
	assert_int_equal(st.capacity, PEERCACHE_WAYS);
	for (uint16_t p = 1; p <= 10; p++)
		peercache_add(pc, 4, a, p, T0 + p);
	/* The four most recently named remain. */
	for (uint16_t p = 1; p <= 10; p++)
		assert_int_equal(peercache_has(pc, 4, a, p, T0 + 10), p > 6);
	peercache_free(pc);
}

/* Issue 15: an endpoint's torrent tags accumulate while it lives and go
 * with it; an untagged entry reads 0, an absent one -1. */
static void
test_tags(void **state)
{
	struct peercache *pc = peercache_new(64, 100);
	const uint8_t a[4] = { 198, 18, 0, 1 }, b[4] = { 198, 18, 0, 2 };

	(void)state;
	assert_non_null(pc);
	assert_int_equal(peercache_tag(pc, 4, a, 6881, 1000), -1);
	peercache_add(pc, 4, b, 6881, 1000);
	assert_int_equal(peercache_tag(pc, 4, b, 6881, 1000), 0);
	peercache_add_tag(pc, 4, a, 6881, 1000, PEERCACHE_T_ALLOWED);
	assert_int_equal(peercache_tag(pc, 4, a, 6881, 1050), PEERCACHE_T_ALLOWED);
	peercache_add_tag(pc, 4, a, 6881, 1060, PEERCACHE_T_OTHER);
	assert_int_equal(peercache_tag(pc, 4, a, 6881, 1100),
			 PEERCACHE_T_ALLOWED | PEERCACHE_T_OTHER);
	assert_int_equal(peercache_tag(pc, 4, a, 6882, 1100), -1);
	assert_int_equal(peercache_tag(pc, 4, a, 6881, 1161), -1);	/* expired */
	peercache_add(pc, 4, a, 6881, 1200);				/* anew: no tag */
	assert_int_equal(peercache_tag(pc, 4, a, 6881, 1200), 0);
	peercache_free(pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup_v4_v6),
		cmocka_unit_test(test_expiry_and_refresh),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_tiny),
		cmocka_unit_test(test_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
