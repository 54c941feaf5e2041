/*
 * rrdw_testlib.h — what the RRD writer's unit tests share: a scratch
 * folder per test, writers opened on it, a random truth of amounts per
 * file and step, feeding it, and reading the files back with rrd_fetch to
 * compare. Included by test_rrdw.c and test_rrdw_cached.c only.
 */
#ifndef SPANWATCH_RRDW_TESTLIB_H
#define SPANWATCH_RRDW_TESTLIB_H

#define STEP 60
#define T0 ((time_t)1700000040)	/* a multiple of 60 */
#define NSUB 4
#define NF (NSUB + 1)		/* files: sensor is index NSUB */

static char tmp[256];

/* ------------------------------------------------------------ helpers */

static inline int
rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static inline int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/test_rrdw.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static inline int
teardown(void **state)
{
	(void)state;
	if (getenv("RRDW_KEEP") == NULL)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static inline struct rrdw *
open_w(const char *sub, const char *cached, int block, size_t qlen)
{
	char dir[512];
	struct rrdw_cfg cfg = { .dir = dir, .rrdcached = cached, .step = STEP,
	    .block = block, .queue_len = qlen };

	snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
	return rrdw_open(&cfg);
}

/* A writer whose directory is given as is (rrdcached over TCP). */
static inline struct rrdw *
open_w_dir(const char *dir, const char *cached)
{
	struct rrdw_cfg cfg = { .dir = dir, .rrdcached = cached, .step = STEP,
	    .block = 1 };

	return rrdw_open(&cfg);
}

static const char *const names[NSUB] = { "cust-0001", "cust.0002", "c_3",
    "cust-0004" };

static uint64_t rng = 88172645463325252ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The amounts handed in, per file, step and data source; what the files
 * must give back. */
struct truth {
	int nsteps;
	uint64_t *amt;			/* [file][step][ds] */
	unsigned char *called;		/* [file][step] */
};

static uint64_t *
amt(struct truth *tr, int f, int k)
{
	return &tr->amt[((size_t)f * (size_t)tr->nsteps + (size_t)k) * RRDW_MAX_DS];
}

static inline void
truth_init(struct truth *tr, int nsteps)
{
	tr->nsteps = nsteps;
	tr->amt = calloc((size_t)NF * (size_t)nsteps * RRDW_MAX_DS, sizeof(uint64_t));
	tr->called = calloc((size_t)NF * (size_t)nsteps, 1);
	assert_non_null(tr->amt);
	assert_non_null(tr->called);
}

static inline void
truth_free(struct truth *tr)
{
	free(tr->amt);
	free(tr->called);
}

/* Subscriber 1's silent gaps: 1, 5, 30 and 100 steps. */
static int
sub1_silent(int k)
{
	return k == 10 || (k >= 20 && k < 25) || (k >= 40 && k < 70) ||
	    (k >= 100 && k < 200);
}

/* Feeds steps [from, to). Each file is called only when something
 * happened, as collectors do; subscriber 3 is reported by two collectors
 * per step (disjoint data sources); the sensor every step with the gauge. */
static inline void
feed(struct rrdw *w, struct truth *tr, int from, int to, int commit_each)
{
	uint64_t v[RRDW_MAX_DS];

	for (int k = from; k < to; k++) {
		time_t t = T0 + (time_t)k * STEP;

		for (int j = 0; j < NSUB; j++) {
			uint64_t *a = amt(tr, j, k);
			int parts = j == 3 ? 2 : 1;

			if (j == 1 && sub1_silent(k))
				continue;
			if (j == 2 && k < 50)
				continue;	/* appears later */
			if (j == 2 && k % 7 == 0)
				continue;
			for (int part = 0; part < parts; part++) {
				rrdw_clear_values(RRDW_SUBSCRIBER, v);
				for (int d = 0; d < RRDW_U_NDS; d++) {
					if (parts == 2 && d % 2 != part)
						continue;
					/* j == 2: some zero-delta calls */
					if (j == 2 && k % 5 == 0)
						v[d] = 0;
					else if (d < 2)	/* bytes: past 2^32 soon */
						v[d] = rnd() % 4000000000ull;
					else
						v[d] = rnd() % 1000;
					a[d] += v[d];
				}
				assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER,
				    names[j], t, v), 0);
			}
			tr->called[j * tr->nsteps + k] = 1;
		}
		for (int d = 0; d < RRDW_S_NDS; d++)
			v[d] = rnd() % 100000;
		memcpy(amt(tr, NSUB, k), v, RRDW_S_NDS * sizeof v[0]);
		tr->called[NSUB * tr->nsteps + k] = 1;
		assert_int_equal(rrdw_update(w, RRDW_SENSOR, NULL, t, v), 0);
		if (commit_each)
			rrdw_commit(w, t);
	}
}

static inline void
file_path(char *buf, size_t n, const char *sub, int f)
{
	if (f == NSUB)
		snprintf(buf, n, "%s/%s/sensor.rrd", tmp, sub);
	else
		snprintf(buf, n, "%s/%s/subscribers/%s.rrd", tmp, sub, names[f]);
}

struct series {
	time_t start;		/* row i ends at start + (i + 1) * step */
	unsigned long step, nds, rows;
	rrd_value_t *data;
};

static inline void
fetch(const char *path, const char *cf, unsigned long res, time_t from,
    time_t to, struct series *s)
{
	char **dsn;
	time_t end = to;

	s->start = from;
	s->step = res;
	rrd_clear_error();
	if (rrd_fetch_r(path, cf, &s->start, &end, &s->step, &s->nds, &dsn,
	    &s->data) != 0)
		fail_msg("fetch %s: %s", path, rrd_get_error());
	for (unsigned long i = 0; i < s->nds; i++)
		rrd_freemem(dsn[i]);
	rrd_freemem(dsn);
	s->rows = (unsigned long)(end - s->start) / s->step;
}

/* The value of the step ending at t, NaN if not in the series. */
static inline double
at(const struct series *s, time_t t, unsigned long d)
{
	long i = (long)((t - s->start) / (time_t)s->step) - 1;

	if (i < 0 || (unsigned long)i >= s->rows)
		return NAN;
	return s->data[(size_t)i * s->nds + d];
}

static inline int
close_enough(double got, double want)
{
	return fabs(got - want) <= 1e-6 * (want > 1 ? want : 1);
}

/* Every step in [from, to) of every file must give back exactly its amount
 * (0 when silent), from the file's first appearance on; the step before
 * must be unknown. Steps in [unk_from, unk_to) must be unknown. */
static inline void
check_exact(struct truth *tr, const char *sub, int from, int to, int unk_from,
    int unk_to)
{
	char path[512];

	for (int f = 0; f < NF; f++) {
		const struct rrdw_schema *sc = rrdw_schema(f == NSUB ?
		    RRDW_SENSOR : RRDW_SUBSCRIBER);
		struct series s;
		int first = -1;

		file_path(path, sizeof path, sub, f);
		fetch(path, "AVERAGE", STEP, T0 - 5 * STEP, T0 + tr->nsteps * STEP, &s);
		assert_int_equal(s.nds, sc->nds);
		for (int k = 0; k < tr->nsteps && first < 0; k++)
			if (tr->called[f * tr->nsteps + k])
				first = k;
		assert_true(first >= 0);
		assert_true(isnan(at(&s, T0 + (first - 1) * STEP, 0)));
		for (int k = first > from ? first : from; k < to; k++) {
			time_t t = T0 + k * STEP;

			for (unsigned long d = 0; d < sc->nds; d++) {
				double got = at(&s, t, d);
				double want;

				if (k >= unk_from && k < unk_to) {
					if (!isnan(got))
						fail_msg("%s step %d ds %s: %g, want unknown",
						    path, k, sc->ds[d].name, got);
					continue;
				}
				if (sc->ds[d].type == RRDW_GAUGE) {
					want = (double)amt(tr, f, k)[d];
					got *= 1;
				} else {
					want = (double)amt(tr, f, k)[d];
					got *= STEP;
				}
				if (!close_enough(got, want))
					fail_msg("%s step %d ds %s: %.6f, want %.0f",
					    path, k, sc->ds[d].name, got, want);
			}
		}
		rrd_freemem(s.data);
	}
}

/* ------------------------------------------------------------- schema */

/* Many steps of amounts through one writer, and their sums checked
 * against the files (the queue policies, rrdcached). */
#define MANY 60

static inline void
many_steps(struct rrdw *w, uint64_t (*sum)[RRDW_MAX_DS], int nsteps)
{
	uint64_t v[RRDW_MAX_DS];
	char name[32];

	for (int k = 0; k < nsteps; k++) {
		for (int j = 0; j < MANY; j++) {
			snprintf(name, sizeof name, "s%03d", j);
			rrdw_clear_values(RRDW_SUBSCRIBER, v);
			v[RRDW_U_BYTES_OUT] = (uint64_t)(k * 1000 + j + 1);
			sum[j][RRDW_U_BYTES_OUT] += v[RRDW_U_BYTES_OUT];
			assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, name,
			    T0 + k * STEP, v), 0);
		}
		rrdw_commit(w, T0 + k * STEP);
	}
}

/* Sum over the run of each subscriber's fetched amounts. */
static inline void
check_sums(const char *sub, uint64_t (*sum)[RRDW_MAX_DS], int nsteps, int exact_steps)
{
	char path[512];

	for (int j = 0; j < MANY; j++) {
		struct series s;
		double got = 0;

		snprintf(path, sizeof path, "%s/%s/subscribers/s%03d.rrd", tmp, sub, j);
		fetch(path, "AVERAGE", STEP, T0 - 3 * STEP, T0 + (nsteps + 2) * STEP, &s);
		for (unsigned long i = 0; i < s.rows; i++) {
			double x = s.data[i * s.nds + RRDW_U_BYTES_OUT];

			if (!isnan(x)) {
				assert_true(x >= 0);
				got += x * STEP;
			}
		}
		for (int k = 0; exact_steps && k < nsteps; k++)
			assert_true(close_enough(at(&s, T0 + k * STEP,
			    RRDW_U_BYTES_OUT) * STEP, (double)(k * 1000 + j + 1)));
		if (!close_enough(got, (double)sum[j][RRDW_U_BYTES_OUT]))
			fail_msg("%s: total %.1f, want %" PRIu64, path, got,
			    sum[j][RRDW_U_BYTES_OUT]);
		rrd_freemem(s.data);
	}
}

#endif
