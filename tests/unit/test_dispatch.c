/*
 * test_dispatch.c — the worker of a packet: a subscriber's packets in
 * both directions on one worker, whatever the far end; a local flow on
 * one worker from either end; transit the same both ways; and a
 * subscriber keeps its worker when the map is reloaded with its lines in
 * another order (other ids); and worker 0's lead (the walking worker's
 * smaller part) holds for subscribers and for transit pairs alike.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dispatch.h"
#include "submap.h"

#define NSUBS 64

/* The map of the lines in text. */
static struct submap *
map_text(const char *text)
{
	char path[] = "/tmp/test_dispatch_XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");
	struct submap *m;

	fputs(text, fp);
	fclose(fp);
	m = submap_load(path);
	unlink(path);
	assert_non_null(m);
	return m;
}

static struct submap *
map_of(int reversed)
{
	char text[NSUBS * 32];
	size_t len = 0;

	for (int k = 0; k < NSUBS; k++) {
		int i = reversed ? NSUBS - 1 - k : k;

		len += (size_t)snprintf(text + len, sizeof text - len, "100.64.%d.0/24 cust-%02d\n", i, i);
	}
	return map_text(text);
}

static struct pkt
pkt4(const char *src, const char *dst, uint16_t sp, uint16_t dp)
{
	struct pkt p;
	unsigned a[4], b[4];

	memset(&p, 0, sizeof p);
	p.family = 4;
	sscanf(src, "%u.%u.%u.%u", &a[0], &a[1], &a[2], &a[3]);
	sscanf(dst, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]);
	for (int i = 0; i < 4; i++) {
		p.src[i] = (uint8_t)a[i];
		p.dst[i] = (uint8_t)b[i];
	}
	p.sport = sp;
	p.dport = dp;
	return p;
}

static void
test_subscriber_both_ways(void **st)
{
	struct submap *m = map_of(0);
	struct dispatch *d = dispatch_new(m, 4, DISPATCH_SLOTS / 4);
	unsigned used[4] = { 0 };
	int32_t s;

	(void)st;
	for (int i = 0; i < NSUBS; i++) {
		char in[32], far[32];
		unsigned w;

		snprintf(in, sizeof in, "100.64.%d.9", i);
		snprintf(far, sizeof far, "203.0.113.%d", i);
		struct pkt out = pkt4(in, far, 40000 + (uint16_t)i, 443);
		struct pkt back = pkt4(far, in, 443, 40000 + (uint16_t)i);
		struct pkt other = pkt4(in, "198.51.100.7", 5000, 25);

		w = dispatch_worker(d, &out, &s);
		snprintf(far, sizeof far, "cust-%02d", i);
		assert_int_equal(s, submap_find(m, far));
		assert_int_equal(dispatch_worker(d, &back, &s), w);
		assert_int_equal(dispatch_worker(d, &other, &s), w);
		assert_int_equal(dispatch_worker_of(d, s), w);
		used[w]++;
	}
	/* 64 names over 4 workers: each has some. */
	for (int i = 0; i < 4; i++)
		assert_true(used[i] > 0);
	dispatch_free(d);
	submap_free(m);
}

static void
test_local_and_transit(void **st)
{
	struct submap *m = map_of(0);
	struct dispatch *d = dispatch_new(m, 4, DISPATCH_SLOTS / 4);
	int32_t s1, s2;

	(void)st;
	for (int i = 0; i + 1 < NSUBS; i++) {
		char a[32], b[32];

		snprintf(a, sizeof a, "100.64.%d.1", i);
		snprintf(b, sizeof b, "100.64.%d.2", i + 1);
		struct pkt ab = pkt4(a, b, 6881, 51413), ba = pkt4(b, a, 51413, 6881);

		assert_int_equal(dispatch_worker(d, &ab, &s1), dispatch_worker(d, &ba, &s2));
		assert_int_equal(s1, s2);
		assert_true(s1 == i || s1 == i + 1);
	}
	struct pkt t1 = pkt4("198.51.100.1", "203.0.113.2", 1, 2);
	struct pkt t2 = pkt4("203.0.113.2", "198.51.100.1", 2, 1);

	assert_int_equal(dispatch_worker(d, &t1, &s1), dispatch_worker(d, &t2, &s2));
	assert_int_equal(s1, -1);
	dispatch_free(d);
	submap_free(m);
}

static void
test_reload_keeps_workers(void **st)
{
	struct submap *m1 = map_of(0), *m2 = map_of(1);
	struct dispatch *d1 = dispatch_new(m1, 3, 40), *d2 = dispatch_new(m2, 3, 40);
	int32_t s1, s2;

	(void)st;
	for (int i = 0; i < NSUBS; i++) {
		char in[32];

		snprintf(in, sizeof in, "100.64.%d.77", i);
		struct pkt p = pkt4(in, "192.0.2.1", 1234, 80);
		unsigned w1 = dispatch_worker(d1, &p, &s1), w2 = dispatch_worker(d2, &p, &s2);

		assert_int_not_equal(s1, -1);
		assert_string_equal(submap_name(m1, s1), submap_name(m2, s2));
		assert_int_equal(w1, w2);
	}
	/* The ids did change. */
	assert_int_not_equal(submap_find(m1, "cust-00"), submap_find(m2, "cust-00"));
	dispatch_free(d1);
	dispatch_free(d2);
	submap_free(m1);
	submap_free(m2);
}

/* 4096 subscribers over 2 workers, worker 0 leading 64 of the 256
 * slots: about a quarter of the names and of the transit pairs are its
 * (a hash's share: within a few percent), and with no lead none is. */
static void
test_lead(void **st)
{
	static char text[4096 * 32];
	size_t len = 0;
	struct submap *m;
	struct dispatch *d, *none;
	unsigned subs0 = 0, transit0 = 0;
	int32_t s;

	(void)st;
	for (int i = 0; i < 4096; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "10.%d.%d.0/24 lead-%d\n", i / 256,
					i % 256, i);
	m = map_text(text);
	d = dispatch_new(m, 2, 64);
	none = dispatch_new(m, 2, 0);
	for (int i = 0; i < 4096; i++) {
		char in[32], far[32];

		snprintf(in, sizeof in, "10.%d.%d.5", i / 256, i % 256);
		snprintf(far, sizeof far, "203.0.%d.%d", i / 256, i % 256);
		struct pkt p = pkt4(in, far, 1, 2), t = pkt4(far, "198.51.100.9", 3, 4);

		subs0 += dispatch_worker(d, &p, &s) == 0;
		assert_int_equal(dispatch_worker(none, &p, &s), 1);
		transit0 += dispatch_worker(d, &t, &s) == 0;
		assert_int_equal(s, -1);
		assert_int_equal(dispatch_worker(none, &t, &s), 1);
	}
	assert_in_range(subs0, 1024 - 160, 1024 + 160);
	assert_in_range(transit0, 1024 - 160, 1024 + 160);
	dispatch_free(d);
	dispatch_free(none);
	submap_free(m);
}

/* Addresses outside every prefix's span are no one's without the memo;
 * a hole inside the span is looked up (and no one's); IPv6 alike. */
static void
test_span(void **st)
{
	struct submap *m = map_text("100.64.0.0/24 low\n100.64.2.0/24 high\n2001:db8:1::/48 six\n");
	struct dispatch *d;
	struct pkt p;
	int32_t s;

	(void)st;
	d = dispatch_new(m, 2, DISPATCH_SLOTS / 2);
	p = pkt4("100.64.1.1", "100.63.255.255", 1, 2);	/* a hole, and below */
	dispatch_worker(d, &p, &s);
	assert_int_equal(s, -1);
	p = pkt4("100.64.3.0", "100.64.2.255", 1, 2);	/* above, and the last of high */
	dispatch_worker(d, &p, &s);
	assert_int_equal(s, submap_find(m, "high"));
	p = pkt4("100.64.0.0", "9.9.9.9", 1, 2);
	dispatch_worker(d, &p, &s);
	assert_int_equal(s, submap_find(m, "low"));
	memset(&p, 0, sizeof p);
	p.family = 6;
	p.src[0] = 0x20, p.src[1] = 0x01, p.src[2] = 0x0d, p.src[3] = 0xb8, p.src[5] = 0x01;
	p.src[15] = 0x42;
	p.dst[0] = 0x20, p.dst[1] = 0x01, p.dst[2] = 0x0d, p.dst[3] = 0xb8, p.dst[5] = 0x02;
	dispatch_worker(d, &p, &s);
	assert_int_equal(s, submap_find(m, "six"));
	p.src[5] = 0x00;	/* 2001:db8:0::42, below the span */
	dispatch_worker(d, &p, &s);
	assert_int_equal(s, -1);
	dispatch_free(d);
	submap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subscriber_both_ways),
		cmocka_unit_test(test_local_and_transit),
		cmocka_unit_test(test_reload_keeps_workers),
		cmocka_unit_test(test_lead),
		cmocka_unit_test(test_span),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
