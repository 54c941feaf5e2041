/*
 * test_smtp_spf.c — the SPF window of the smtp collector (smtp_spf.h):
 * verdicts by their session's start in smtp_track's buckets, the sum over
 * the window, the alert fields in their fixed order, and saturation: a
 * count at UINT32_MAX stays there, in a bucket and in a sum over buckets
 * (the copy this window replaced wrapped to 0, which reads as "nothing
 * passed"). Expected values are the verdicts the test made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_spf.h"

static const struct smtp_track_params P = {
	.window = 300, .step = 60, .max_sessions = 20, .max_mx = 10, .max_rcpt = 100,
	.surge_factor = 5,
};

/* A multiple of the bucket width (ceil(300 / 16) = 19 s). */
#define BW 19u
#define T0 (1700000000u / BW * BW)

/* The slot that holds the bucket of time t. */
static int
slot_of(const struct smtp_spf_win *w, uint32_t t)
{
	for (int i = 0; i < SMTP_TRACK_BUCKETS; i++)
		if (w->id[i] == t / BW)
			return i;
	fail_msg("no slot for %u", t);
	return -1;
}

static void
test_window(void **st)
{
	struct smtp_spf_win w;

	smtp_spf_win_reset(&w);
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);
	smtp_spf_win_add(&w, &P, T0 + 5, SPFR_PASS);
	smtp_spf_win_add(&w, &P, T0 + BW, SPFR_FAIL);
	smtp_spf_win_add(&w, &P, T0 + 2 * BW, SPFR_PASS);
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + 2 * BW, SPFR_PASS), 3);
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + 2 * BW, SPFR_FAIL), 1);
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + 2 * BW, SPFR_NONE), 0);
	/* 16 buckets of 19 s: the window covers 300 s plus the bucket in
	 * progress; the first bucket leaves it 16 buckets on. */
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + 16 * BW, SPFR_PASS), 1);
	/* A late verdict whose bucket has been reused is not counted. */
	smtp_spf_win_add(&w, &P, T0 + 16 * BW, SPFR_NONE);
	smtp_spf_win_add(&w, &P, T0, SPFR_NONE);
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + 16 * BW, SPFR_NONE), 1);
}

static void
test_saturates(void **st)
{
	struct smtp_spf_win w;
	int i;

	smtp_spf_win_reset(&w);
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);
	i = slot_of(&w, T0);
	w.n[SPFR_PASS][i] = UINT32_MAX - 1;
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);
	assert_int_equal(w.n[SPFR_PASS][i], UINT32_MAX);
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);	/* would wrap to 0 */
	assert_int_equal(w.n[SPFR_PASS][i], UINT32_MAX);
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0, SPFR_PASS), UINT32_MAX);

	/* Two buckets whose sum passes 2^32: the sum stays at the top. */
	smtp_spf_win_add(&w, &P, T0 + BW, SPFR_PASS);
	w.n[SPFR_PASS][slot_of(&w, T0 + BW)] = 1u << 31;
	w.n[SPFR_PASS][i] = 1u << 31;
	assert_int_equal(smtp_spf_win_sum(&w, &P, T0 + BW, SPFR_PASS), UINT32_MAX);
}

static void
test_fields(void **st)
{
	static const char *const keys[SPFR_N] = {
		"spf_pass", "spf_fail", "spf_broad", "spf_softfail", "spf_neutral", "spf_none",
		"spf_temperror", "spf_permerror",
	};
	struct smtp_spf_win w;
	struct alert_field f[SPFR_N + 2];
	size_t n;

	smtp_spf_win_reset(&w);
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);
	smtp_spf_win_add(&w, &P, T0, SPFR_PASS);
	smtp_spf_win_add(&w, &P, T0, SPFR_TEMPERROR);
	n = smtp_spf_fields(&w, &P, T0, f, 2);
	assert_int_equal(n, 2 + SPFR_N);
	for (size_t k = 0; k < SPFR_N; k++) {
		assert_string_equal(f[2 + k].key, keys[k]);
		assert_int_equal(f[2 + k].type, AF_UINT);
	}
	assert_int_equal(f[2].v.u, 2);		/* spf_pass */
	assert_int_equal(f[2 + 6].v.u, 1);	/* spf_temperror */
	assert_int_equal(f[2 + 1].v.u, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_saturates),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
