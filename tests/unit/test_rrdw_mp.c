/*
 * test_rrdw_mp.c — the RRD writer with several producers (capture
 * threads, rrdw_set_producers): two threads hand in known amounts for the
 * same files through the direct librrd backend. While they go in lockstep
 * every step must read back exactly the sum of both (a step is written only
 * once both have committed it) and the gauge the sum of both gauges; once
 * one runs ahead, amounts may move to a neighbouring step but every total
 * must stay exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>

#include "rrdw.h"

#define STEP 60
#define T0 ((time_t)1700000040)	/* a multiple of 60 */
#define NSTEPS 60
#define LOCKSTEP 30		/* steps 0..LOCKSTEP-1 in lockstep */
#define NSUB 3
#define NF (NSUB + 1)		/* the sensor is file NSUB */
#define NPROD 2

static char tmp[256];
static const char *const names[NSUB] = { "both-1", "only-p0", "only-p1" };

/* What each producer handed in: [file][step][ds] (gauges: the value). */
static uint64_t amt[NPROD][NF][NSTEPS][RRDW_MAX_DS];

struct prod {
	struct rrdw *w;
	unsigned idx;
	pthread_barrier_t *bar;
	int failed;
};

static int
rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static uint64_t
value(unsigned p, int f, int k, int d)
{
	/* Distinct per producer, file, step and data source; bytes past 2^32. */
	uint64_t x = (uint64_t)(p + 1) * 1000003u + (uint64_t)f * 7919u +
	    (uint64_t)k * 104729u + (uint64_t)d * 31u;

	return d < 2 ? x * 4099u : x % 100000u;
}

static void *
producer(void *arg)
{
	struct prod *pr = arg;
	uint64_t v[RRDW_MAX_DS];

	rrdw_bind_producer(pr->idx);
	for (int k = 0; k < NSTEPS; k++) {
		time_t t = T0 + (time_t)k * STEP;

		for (int f = 0; f < NF; f++) {
			enum rrdw_kind kind = f == NSUB ? RRDW_SENSOR : RRDW_SUBSCRIBER;
			const struct rrdw_schema *s = rrdw_schema(kind);

			/* only-pN: producer N's flows alone. */
			if ((f == 1 && pr->idx != 0) || (f == 2 && pr->idx != 1))
				continue;
			for (size_t d = 0; d < s->nds; d++)
				amt[pr->idx][f][k][d] = v[d] = value(pr->idx, f, k, (int)d);
			if (rrdw_update(pr->w, kind, f == NSUB ? NULL : names[f], t, v) != 0)
				pr->failed = 1;
		}
		rrdw_commit(pr->w, t);
		if (k < LOCKSTEP)
			pthread_barrier_wait(pr->bar);
		else if (pr->idx == 1 && k % 3 == 0)
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);	/* fall behind */
	}
	return NULL;
}

static void
fetch(const char *path, time_t from, time_t to, time_t *start, unsigned long *nds,
      rrd_value_t **data, unsigned long *rows)
{
	char **dsn;
	unsigned long step = STEP;
	time_t end = to;

	*start = from;
	rrd_clear_error();
	if (rrd_fetch_r(path, "AVERAGE", start, &end, &step, nds, &dsn, data) != 0)
		fail_msg("fetch %s: %s", path, rrd_get_error());
	for (unsigned long i = 0; i < *nds; i++)
		rrd_freemem(dsn[i]);
	rrd_freemem(dsn);
	*rows = (unsigned long)(end - *start) / step;
}

static void
test_two_producers(void **state)
{
	char dir[512], path[600];
	struct rrdw_cfg cfg = { .dir = dir, .step = STEP, .block = 1 };
	pthread_barrier_t bar;
	pthread_t thr[NPROD];
	struct prod pr[NPROD];
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	snprintf(dir, sizeof dir, "%s/mp", tmp);
	assert_non_null(w = rrdw_open(&cfg));
	assert_int_equal(rrdw_set_producers(w, 0), -1);
	assert_int_equal(rrdw_set_producers(w, RRDW_MAX_PRODUCERS + 1), -1);
	assert_int_equal(rrdw_set_producers(w, NPROD), 0);
	pthread_barrier_init(&bar, NULL, NPROD);
	for (unsigned i = 0; i < NPROD; i++) {
		pr[i] = (struct prod){ .w = w, .idx = i, .bar = &bar };
		assert_int_equal(pthread_create(&thr[i], NULL, producer, &pr[i]), 0);
	}
	for (unsigned i = 0; i < NPROD; i++) {
		pthread_join(thr[i], NULL);
		assert_false(pr[i].failed);
	}
	pthread_barrier_destroy(&bar);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.late, 0);
	assert_int_equal(st.created, NF);
	rrdw_close(w);

	for (int f = 0; f < NF; f++) {
		enum rrdw_kind kind = f == NSUB ? RRDW_SENSOR : RRDW_SUBSCRIBER;
		const struct rrdw_schema *s = rrdw_schema(kind);
		unsigned long nds, rows;
		rrd_value_t *data;
		time_t start;

		if (f == NSUB)
			snprintf(path, sizeof path, "%s/sensor.rrd", dir);
		else
			snprintf(path, sizeof path, "%s/subscribers/%s.rrd", dir, names[f]);
		fetch(path, T0 - 5 * STEP, T0 + (NSTEPS + 5) * STEP, &start, &nds, &data, &rows);
		assert_int_equal(nds, s->nds);
		for (size_t d = 0; d < s->nds; d++) {
			double total = 0, want_total = 0;

			for (unsigned long i = 0; i < rows; i++) {
				time_t t = start + (time_t)(i + 1) * STEP;
				int k = (int)((t - T0) / STEP);
				double got = data[i * nds + d], want = 0;

				for (unsigned p = 0; p < NPROD; p++)
					if (k >= 0 && k < NSTEPS)
						want += (double)amt[p][f][k][d];
				if (s->ds[d].type == RRDW_GAUGE) {
					/* Summed over the producers, not the last one's. */
					if (k >= 0 && k < LOCKSTEP - 1 &&
					    (isnan(got) || fabs(got - want) > 1e-6 * want))
						fail_msg("%s step %d gauge %s: %.1f, want %.0f", path,
						    k, s->ds[d].name, got, want);
					continue;
				}
				if (!isnan(got))
					total += got * STEP;
				want_total += want;
				/* Lockstep: every step exact (the last one may
				 * hold the next's early amounts). */
				if (k >= 0 && k < LOCKSTEP - 1 &&
				    (isnan(got) || fabs(got * STEP - want) > 1e-6 * (want > 1 ? want : 1)))
					fail_msg("%s step %d ds %s: %.1f, want %.0f", path, k,
					    s->ds[d].name, got * STEP, want);
			}
			if (s->ds[d].type == RRDW_GAUGE)
				continue;
			if (fabs(total - want_total) > 1e-6 * (want_total > 1 ? want_total : 1))
				fail_msg("%s ds %s total %.1f, want %.0f", path, s->ds[d].name,
				    total, want_total);
		}
		rrd_freemem(data);
	}
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/test_rrdw_mp.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (getenv("RRDW_KEEP") == NULL)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_producers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
