/*
 * test_smtp_track.c — a subscriber's SMTP window and baseline: the
 * sliding window, distinct far ends (exact, expiring, saturating), the
 * smtp_direct thresholds and their re-reporting, and the surge baseline:
 * warm-up, the absolute floor, a bursty sender's own bursts, a real
 * surge, and routines (hourly, jittered, nightly) that never fire while a
 * change of behaviour fires in its first window.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_track.h"

static const struct smtp_track_params P = {
	.window = 300, .step = 60, .max_sessions = 20, .max_mx = 10, .max_rcpt = 100,
	.surge_factor = 5,
};

#define T0 1700000000u	/* a multiple of 60 */

static void
test_window_slides(void **st)
{
	struct smtp_track t;
	struct smtp_track_counts c;

	smtp_track_init(&t);
	for (uint32_t i = 0; i < 10; i++) {
		smtp_track_direct(&t, &P, T0 + i * 10, 1);
		smtp_track_unauth(&t, &P, T0 + i * 10);
		smtp_track_rcpt(&t, &P, T0 + i * 10, 3);
	}
	smtp_track_judge(&t, &P, T0 + 100, &c);
	assert_int_equal(c.sessions, 10);
	assert_int_equal(c.rcpt, 30);
	assert_int_equal(c.direct, 10);
	assert_int_equal(c.mx, 1);
	/* Buckets are 19 s: after window + a bucket everything has gone. */
	smtp_track_judge(&t, &P, T0 + 90 + 300 + 19, &c);
	assert_int_equal(c.sessions, 0);
	assert_int_equal(c.rcpt, 0);
	assert_int_equal(c.mx, 0);
	/* Halfway out. */
	smtp_track_judge(&t, &P, T0 + 45 + 300, &c);
	assert_true(c.sessions > 0 && c.sessions < 10);
	/* An event older than the ring is dropped, not counted as new. */
	smtp_track_unauth(&t, &P, T0 + 100 + 300 * 2);
	smtp_track_unauth(&t, &P, T0);
	smtp_track_judge(&t, &P, T0 + 100 + 300 * 2, &c);
	assert_int_equal(c.sessions, 1);
}

static void
test_mx_set(void **st)
{
	struct smtp_track t;
	struct smtp_track_counts c;

	smtp_track_init(&t);
	for (uint32_t i = 0; i < 50; i++)
		smtp_track_direct(&t, &P, T0 + i, 1000 + i % 25);
	smtp_track_judge(&t, &P, T0 + 50, &c);
	assert_int_equal(c.mx, 25);
	/* Exact up to SMTP_TRACK_MX, then saturating. */
	for (uint32_t i = 0; i < 200; i++)
		smtp_track_direct(&t, &P, T0 + 60, 5000 + i);
	smtp_track_judge(&t, &P, T0 + 60, &c);
	assert_int_equal(c.mx, SMTP_TRACK_MX);
	/* Entries out of the window are reused. */
	for (uint32_t i = 0; i < 3; i++)
		smtp_track_direct(&t, &P, T0 + 1000, 9000 + i);
	smtp_track_judge(&t, &P, T0 + 1000, &c);
	assert_int_equal(c.mx, 3);
}

static void
test_direct_thresholds(void **st)
{
	struct smtp_track t;
	struct smtp_track_counts c;
	uint32_t now = T0;

	smtp_track_init(&t);
	/* 20 unauth sessions is the maximum, not past it. */
	for (int i = 0; i < 20; i++) {
		smtp_track_unauth(&t, &P, now);
		assert_int_equal(smtp_track_judge(&t, &P, now, &c), 0);
	}
	smtp_track_unauth(&t, &P, now);
	assert_int_equal(smtp_track_judge(&t, &P, now, &c), SMTP_TRACK_DIRECT);
	assert_int_equal(c.sessions, 21);
	/* Still over in the same step: said once. In the next: again. */
	smtp_track_unauth(&t, &P, now + 1);
	assert_int_equal(smtp_track_judge(&t, &P, now + 1, &c), 0);
	smtp_track_unauth(&t, &P, now + 61);
	assert_int_equal(smtp_track_judge(&t, &P, now + 61, &c), SMTP_TRACK_DIRECT);
	/* Quiet long enough: re-armed, and fresh counts start from zero. */
	smtp_track_rcpt(&t, &P, now + 1000, 1);
	assert_int_equal(smtp_track_judge(&t, &P, now + 1000, &c), 0);
	smtp_track_rcpt(&t, &P, now + 1001, 100);
	assert_int_equal(smtp_track_judge(&t, &P, now + 1001, &c), SMTP_TRACK_DIRECT);
	assert_int_equal(c.rcpt, 101);
	/* Distinct far ends. */
	smtp_track_init(&t);
	for (uint32_t i = 0; i < 11; i++)
		smtp_track_direct(&t, &P, now, 77 + i);
	assert_int_equal(smtp_track_judge(&t, &P, now, &c), SMTP_TRACK_DIRECT);
	assert_int_equal(c.mx, 11);
	/* A reset window forgets (a new window length on reload). */
	smtp_track_reset_window(&t);
	smtp_track_judge(&t, &P, now, &c);
	assert_int_equal(c.mx, 0);
	assert_int_equal(c.direct, 0);
}

/* n sessions in each step from step index a to b (exclusive), spread
 * over the step, judging after each; returns the alerts seen. */
static unsigned
steady(struct smtp_track *t, uint32_t a, uint32_t b, uint32_t n, const struct smtp_track_params *p)
{
	struct smtp_track_counts c;
	unsigned seen = 0;

	for (uint32_t k = a; k < b; k++)
		for (uint32_t i = 0; i < n; i++) {
			uint32_t now = k * p->step + i * (p->step / (n ? n : 1));

			smtp_track_direct(t, p, now, 1);
			seen |= smtp_track_judge(t, p, now, &c);
		}
	return seen;
}

static void
test_surge(void **st)
{
	struct smtp_track t;
	struct smtp_track_counts c;
	uint32_t k0 = T0 / 60;

	/* One session every step for a day, then 20 per step: a surge
	 * (43 in the window two steps in > 5 x about 5, and >= 10). */
	smtp_track_init(&t);
	assert_false(steady(&t, k0, k0 + 1440, 1, &P) & SMTP_TRACK_SURGE);
	smtp_track_judge(&t, &P, (k0 + 1440) * 60, &c);
	/* The usual window: 5 sessions (6 when it spans 319 s). */
	assert_true(c.usual >= 4.9 && c.usual <= 6.01);
	assert_true(steady(&t, k0 + 1440, k0 + 1445, 20, &P) & SMTP_TRACK_SURGE);

	/* The same surge during warm-up (5 h watched): nothing. */
	smtp_track_init(&t);
	assert_false(steady(&t, k0, k0 + 300, 1, &P) & SMTP_TRACK_SURGE);
	assert_false(steady(&t, k0 + 300, k0 + 305, 20, &P) & SMTP_TRACK_SURGE);
	/* Nor 0 -> 2 after silence, nor 9 in the window: under the floor. */
	smtp_track_init(&t);
	steady(&t, k0, k0 + 1, 1, &P);
	assert_false(steady(&t, k0 + 2000, k0 + 2001, 2, &P) & SMTP_TRACK_SURGE);
	assert_false(steady(&t, k0 + 2001, k0 + 2002, 7, &P) & SMTP_TRACK_SURGE);
	/* The tenth is a surge (floor reached, reference about 0). */
	assert_true(steady(&t, k0 + 2002, k0 + 2003, 1, &P) & SMTP_TRACK_SURGE);

	/* A subscriber that sends 0 or 40 sessions per step in turn: its
	 * usual window holds about 100, so its bursts never fire... */
	smtp_track_init(&t);
	unsigned seen = 0;
	for (uint32_t k = k0; k < k0 + 1440; k++)
		seen |= steady(&t, k, k + 1, (k % 2) ? 40 : 0, &P);
	assert_false(seen & SMTP_TRACK_SURGE);
	/* ...while 200 per step does. */
	assert_true(steady(&t, k0 + 1440, k0 + 1446, 200, &P) & SMTP_TRACK_SURGE);
}

/* n sessions within one minute starting at time at; the alerts seen. */
static unsigned
burst(struct smtp_track *t, const struct smtp_track_params *p, uint32_t at, unsigned n)
{
	struct smtp_track_counts c;
	unsigned seen = 0;

	for (unsigned i = 0; i < n; i++) {
		smtp_track_direct(t, p, at + i * 4, 1 + i % 6);
		seen |= smtp_track_judge(t, p, at + i * 4, &c);
	}
	return seen;
}

/* A routine is the baseline: issue 15's home server (12 sessions to 6 MX
 * every hour, ten hours and more), the same with the bursts jittered by up
 * to 10 minutes, and a nightly job, each running since the sensor started
 * (since): never a surge. Then a real change still fires within its first
 * window, and so does a first burst after a day watched in silence. */
static void
test_routine(void **st)
{
	struct smtp_track_params p = P;
	struct smtp_track t;
	unsigned seen = 0;
	uint32_t day0 = T0 - T0 % 86400;

	p.since = day0;
	/* Hourly, exactly: no surge in 30 hours. */
	smtp_track_init(&t);
	for (uint32_t h = 0; h < 30; h++)
		seen |= burst(&t, &p, day0 + h * 3600, 12);
	assert_false(seen & SMTP_TRACK_SURGE);
	/* Hourly, jittered by -10..+10 minutes. */
	smtp_track_init(&t);
	for (uint32_t h = 0; h < 30; h++)
		seen |= burst(&t, &p, day0 + h * 3600 + 600 - (h * 7919 % 1201), 12);
	assert_false(seen & SMTP_TRACK_SURGE);
	/* Nightly at 02:00 for two weeks, 40 sessions, jittered. */
	smtp_track_init(&t);
	for (uint32_t d = 0; d < 14; d++)
		seen |= burst(&t, &p, day0 + d * 86400 + 7200 + (d * 331 % 900), 40);
	assert_false(seen & SMTP_TRACK_SURGE);
	/* The change: the hourly server starts sending 80 direct sessions in
	 * a minute. The first window fires. */
	smtp_track_init(&t);
	seen = 0;
	for (uint32_t h = 0; h < 30; h++)
		seen |= burst(&t, &p, day0 + h * 3600, 12);
	assert_false(seen & SMTP_TRACK_SURGE);
	assert_true(burst(&t, &p, day0 + 30 * 3600 + 1800, 80) & SMTP_TRACK_SURGE);
	/* A subscriber silent on direct SMTP for the day watched, then a
	 * burst: fires; within the warm-up (since = its first event): not. */
	p.since = day0 - 86400;
	smtp_track_init(&t);
	assert_true(burst(&t, &p, day0 + 3600, 30) & SMTP_TRACK_SURGE);
	p.since = 0;
	smtp_track_init(&t);
	assert_false(burst(&t, &p, day0 + 3600, 30) & SMTP_TRACK_SURGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_slides),
		cmocka_unit_test(test_mx_set),
		cmocka_unit_test(test_direct_thresholds),
		cmocka_unit_test(test_surge),
		cmocka_unit_test(test_routine),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
