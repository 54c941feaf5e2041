/*
 * test_rrdw.c — the RRD writer against real files: schema and size, every
 * step's amount read back exactly (gaps, silent and zero steps, two
 * collectors per file), restart continuation, refused names, both queue
 * policies, and rrdcached: a real daemon on a unix socket must give the
 * same files as direct writes, and survive being killed mid-run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "log.h"
#include "rrdw.h"

#define STEP 60
#define T0 ((time_t)1700000040)	/* a multiple of 60 */
#define NSUB 4
#define NF (NSUB + 1)		/* files: sensor is index NSUB */

static char tmp[256];

/* ------------------------------------------------------------ helpers */

static int
rm_one(const char *p, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof tmp, "/tmp/test_rrdw.XXXXXX");
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

static struct rrdw *
open_w(const char *sub, const char *cached, int block, size_t qlen)
{
	char dir[512];
	struct rrdw_cfg cfg = { .dir = dir, .rrdcached = cached, .step = STEP,
	    .block = block, .queue_len = qlen };

	snprintf(dir, sizeof dir, "%s/%s", tmp, sub);
	return rrdw_open(&cfg);
}

/* A writer whose directory is given as is (rrdcached over TCP). */
static struct rrdw *
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

static void
truth_init(struct truth *tr, int nsteps)
{
	tr->nsteps = nsteps;
	tr->amt = calloc((size_t)NF * (size_t)nsteps * RRDW_MAX_DS, sizeof(uint64_t));
	tr->called = calloc((size_t)NF * (size_t)nsteps, 1);
	assert_non_null(tr->amt);
	assert_non_null(tr->called);
}

static void
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
static void
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

static void
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

static void
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
static double
at(const struct series *s, time_t t, unsigned long d)
{
	long i = (long)((t - s->start) / (time_t)s->step) - 1;

	if (i < 0 || (unsigned long)i >= s->rows)
		return NAN;
	return s->data[(size_t)i * s->nds + d];
}

static int
close_enough(double got, double want)
{
	return fabs(got - want) <= 1e-6 * (want > 1 ? want : 1);
}

/* Every step in [from, to) of every file must give back exactly its amount
 * (0 when silent), from the file's first appearance on; the step before
 * must be unknown. Steps in [unk_from, unk_to) must be unknown. */
static void
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

static void
test_schema(void **state)
{
	struct rrdw_rra r[RRDW_MAX_RRA];
	static const struct rrdw_rra want_sub[] = {
		{ "AVERAGE", 1, 1440 }, { "AVERAGE", 5, 2016 }, { "MAX", 5, 2016 },
		{ "AVERAGE", 60, 1488 }, { "MAX", 60, 1488 },
		{ "AVERAGE", 1440, 731 }, { "MAX", 1440, 731 },
	};
	uint64_t v[RRDW_MAX_DS];
	char path[512];
	struct stat sb;
	struct rrdw *w;
	size_t n;

	(void)state;
	assert_int_equal(rrdw_schema(RRDW_SENSOR)->nds, 9);
	assert_int_equal(rrdw_schema(RRDW_SUBSCRIBER)->nds, 14);
	assert_string_equal(rrdw_schema(RRDW_SENSOR)->ds[RRDW_S_FLOWS_ACTIVE].name,
	    "flows_active");
	assert_int_equal(rrdw_schema(RRDW_SENSOR)->ds[RRDW_S_FLOWS_ACTIVE].type,
	    RRDW_GAUGE);
	assert_string_equal(rrdw_schema(RRDW_SUBSCRIBER)->ds[RRDW_U_SMTP_SPFPASS].name,
	    "smtp_spfpass");

	n = rrdw_rras(RRDW_SUBSCRIBER, 60, r);
	assert_int_equal(n, sizeof want_sub / sizeof want_sub[0]);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(r[i].cf, want_sub[i].cf);
		assert_int_equal(r[i].pdp_per_row, want_sub[i].pdp_per_row);
		assert_int_equal(r[i].rows, want_sub[i].rows);
	}
	assert_int_equal(rrdw_rras(RRDW_SENSOR, 60, r), 10);	/* + MIN x3 */
	/* The range of [rrd] step (config.c: 20 s .. 1 h), no other. */
	assert_int_equal(rrdw_rras(RRDW_SENSOR, 7, r), 0);
	assert_int_equal(rrdw_rras(RRDW_SENSOR, 19, r), 0);
	assert_true(rrdw_rras(RRDW_SENSOR, 20, r) > 0);
	assert_true(rrdw_rras(RRDW_SENSOR, 59, r) > 0);	/* no day's divisor */
	assert_true(rrdw_rras(RRDW_SENSOR, 70, r) > 0);
	assert_true(rrdw_rras(RRDW_SENSOR, 3600, r) > 0);
	assert_int_equal(rrdw_rras(RRDW_SENSOR, 3601, r), 0);
	assert_int_equal(rrdw_rras(RRDW_SENSOR, 7200, r), 0);
	assert_int_equal(rrdw_heartbeat(60), 900);
	assert_int_equal(rrdw_heartbeat(300), 3000);

	/* At every step: AVERAGE at >= 4 spans, the SPEC's minimum coverage
	 * (1 day at one step; 1 week, 2 months, 2 years), MAX beyond one step.
	 * Every step [rrd] step accepts, and the file's rows (8 bytes per data
	 * source) stay under SPEC's 1.5 MiB with 16 KiB for the header. */
	for (unsigned step = RRDW_STEP_MIN; step <= RRDW_STEP_MAX; step++) {
		unsigned long cover[4] = { 0 }, rows = 0;
		static const unsigned long need[4] = { 86400, 7 * 86400,
		    61 * 86400, 730 * 86400 };
		const unsigned steps[1] = { step };
		const size_t s = 0;

		n = rrdw_rras(RRDW_SUBSCRIBER, steps[s], r);
		assert_true(n > 0);
		for (size_t i = 0; i < n; i++)
			rows += r[i].rows;
		if (rows * RRDW_U_NDS * 8 > 1536 * 1024 - 16384)
			fail_msg("step %u: %lu rows", step, rows);
		for (size_t i = 0; i < n; i++) {
			unsigned long res = (unsigned long)r[i].pdp_per_row * steps[s];
			unsigned long span = res * r[i].rows;

			if (strcmp(r[i].cf, "AVERAGE") != 0)
				continue;
			assert_true(i + 1 == n || r[i].pdp_per_row == 1 ||
			    !strcmp(r[i + 1].cf, "MAX"));
			if (res == steps[s] && span > cover[0])
				cover[0] = span;
			/* "about": within 1.5x, or the step if longer */
			if ((res <= 450 || res == steps[s]) && span > cover[1])
				cover[1] = span;
			if ((res <= 5400 || res == steps[s]) && span > cover[2])
				cover[2] = span;
			/* a step that does not divide a day: the nearest
			 * whole number of steps, 86411 s at 23 s */
			if (res <= 86400 + steps[s] / 2 && span > cover[3])
				cover[3] = span;
		}
		for (int l = 0; l < 4; l++)
			if (cover[l] < need[l])
				fail_msg("step %u: level %d covers %lus", steps[s], l,
				    cover[l]);
	}

	/* The files themselves. */
	assert_non_null(w = open_w("schema", NULL, 1, 0));
	rrdw_clear_values(RRDW_SUBSCRIBER, v);
	v[0] = 1;
	assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, "cust-0001", T0, v), 0);
	rrdw_clear_values(RRDW_SENSOR, v);
	assert_int_equal(rrdw_update(w, RRDW_SENSOR, NULL, T0, v), 0);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_close(w);

	for (int kind = 0; kind < RRDW_NKINDS; kind++) {
		const struct rrdw_schema *sc = rrdw_schema(kind);
		rrd_info_t *info, *i;
		char key[128];
		size_t nds = 0, nrra = 0;

		if (kind == RRDW_SENSOR)
			snprintf(path, sizeof path, "%s/schema/sensor.rrd", tmp);
		else
			snprintf(path, sizeof path,
			    "%s/schema/subscribers/cust-0001.rrd", tmp);
		assert_int_equal(stat(path, &sb), 0);
		printf("# %s: %lld bytes\n", path, (long long)sb.st_size);
		if (kind == RRDW_SUBSCRIBER)
			assert_true(sb.st_size <= 1536 * 1024);
		n = rrdw_rras((enum rrdw_kind)kind, 60, r);
		assert_non_null(info = rrd_info_r(path));
		for (i = info; i != NULL; i = i->next) {
			if (!strcmp(i->key, "step"))
				assert_int_equal(i->value.u_cnt, 60);
			if (strstr(i->key, "].index") && !strncmp(i->key, "ds[", 3)) {
				size_t d = i->value.u_cnt;

				assert_true(d < sc->nds);
				snprintf(key, sizeof key, "ds[%s].index", sc->ds[d].name);
				assert_string_equal(i->key, key);
				nds++;
			}
			if (!strncmp(i->key, "rra[", 4) && strstr(i->key, "].cf")) {
				size_t k = strtoul(i->key + 4, NULL, 10);

				assert_true(k < n);
				assert_string_equal(i->value.u_str, r[k].cf);
				nrra++;
			}
			if (!strncmp(i->key, "rra[", 4) && strstr(i->key, "].rows")) {
				size_t k = strtoul(i->key + 4, NULL, 10);

				assert_int_equal(i->value.u_cnt, r[k].rows);
			}
			if (!strncmp(i->key, "rra[", 4) && strstr(i->key, "].pdp_per_row")) {
				size_t k = strtoul(i->key + 4, NULL, 10);

				assert_int_equal(i->value.u_cnt, r[k].pdp_per_row);
			}
			if (strstr(i->key, "].minimal_heartbeat"))
				assert_int_equal(i->value.u_cnt, 900);
			if (!strncmp(i->key, "ds[", 3) && strstr(i->key, "].type")) {
				int gauge = !strcmp(i->key, "ds[flows_active].type");

				assert_string_equal(i->value.u_str,
				    gauge ? "GAUGE" : "DERIVE");
			}
		}
		rrd_info_free(info);
		assert_int_equal(nds, sc->nds);
		assert_int_equal(nrra, n);
	}
}

/* -------------------------------------------------------- exactness */

static void
test_exact(void **state)
{
	struct truth tr;
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	truth_init(&tr, 330);
	assert_non_null(w = open_w("exact", NULL, 1, 0));
	feed(w, &tr, 0, 250, 1);
	/* No commit for 40 steps (the capture stopped; more than the
	 * heartbeat): that span must read unknown, including step 289 (the
	 * gap fill's interval is longer than the heartbeat), and step 290
	 * exact. */
	feed(w, &tr, 290, 330, 1);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.created, NF);
	assert_true(st.extra > 0);	/* fills and keepalives happened */
	rrdw_close(w);
	check_exact(&tr, "exact", 0, 330, 250, 290);

	/* Consolidation keeps totals: 5-minute rows x 300 = sum of amounts. */
	{
		char path[512];
		struct series s;

		file_path(path, sizeof path, "exact", 0);
		fetch(path, "AVERAGE", 300, T0 - 300, T0 + 250 * STEP, &s);
		for (unsigned long i = 1; i + 1 < s.rows; i++) {
			time_t end = s.start + (time_t)(i + 1) * 300;
			double want = 0;
			int k0 = (int)((end - 300 - T0) / STEP) + 1;

			if (k0 < 0 || k0 + 5 > 250)
				continue;
			for (int k = k0; k < k0 + 5; k++)
				want += (double)amt(&tr, 0, k)[0];
			assert_true(close_enough(s.data[i * s.nds] * 300, want));
		}
		rrd_freemem(s.data);
	}
	truth_free(&tr);
}

/* ------------------------------------------------------------ restart */

static void
test_restart(void **state)
{
	struct truth tr;
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	truth_init(&tr, 120);
	assert_non_null(w = open_w("restart", NULL, 1, 0));
	feed(w, &tr, 0, 60, 1);
	rrdw_close(w);
	/* Down for steps 60..62; the files' last_ds continue the totals. */
	assert_non_null(w = open_w("restart", NULL, 1, 0));
	feed(w, &tr, 63, 90, 1);
	rrdw_close(w);
	/* Restart within a step the last run already wrote (its partial
	 * step at exit): that step's update is skipped and carried. */
	assert_non_null(w = open_w("restart", NULL, 1, 0));
	{
		uint64_t v[RRDW_MAX_DS];

		rrdw_clear_values(RRDW_SUBSCRIBER, v);
		v[RRDW_U_BYTES_IN] = 777;
		amt(&tr, 0, 90)[RRDW_U_BYTES_IN] += 777;
		assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, names[0],
		    T0 + 89 * STEP, v), 0);
		tr.called[0 * tr.nsteps + 90] = 1;
	}
	feed(w, &tr, 90, 120, 1);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(st.created, 0);
	assert_int_equal(st.failed, 0);
	rrdw_close(w);
	/* The downtime reads unknown; everything else exact, nothing
	 * negative (a negative DERIVE would read unknown, not equal). */
	check_exact(&tr, "restart", 0, 120, 60, 63);
	truth_free(&tr);
}

/* -------------------------------------------------------------- names */

static void
test_names(void **state)
{
	static const char *const bad[] = { "", ".", "..", "a/b", "../x", "a b",
	    "a\nb", "ü",
	    "a1234567890123456789012345678901234567890123456789012345678901234" };
	uint64_t v[RRDW_MAX_DS];
	struct rrdw_stats st;
	struct rrdw *w;
	char path[512];
	struct stat sb;

	(void)state;
	assert_non_null(w = open_w("names", NULL, 1, 0));
	rrdw_clear_values(RRDW_SUBSCRIBER, v);
	v[0] = 5;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, bad[i], T0, v), -1);
	assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, NULL, T0, v), -1);
	assert_int_equal(rrdw_update(w, (enum rrdw_kind)7, "x", T0, v), -1);
	assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, "..a-b_c.9", T0, v), 0);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.rejected, sizeof bad / sizeof bad[0] + 1);
	assert_int_equal(st.files, 1);
	rrdw_close(w);
	snprintf(path, sizeof path, "%s/names/subscribers/..a-b_c.9.rrd", tmp);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof path, "%s/names/x.rrd", tmp);
	assert_int_not_equal(stat(path, &sb), 0);

	/* Bad configurations. */
	{
		struct rrdw_cfg cfg = { .dir = tmp, .step = 19 };

		assert_null(rrdw_open(&cfg));
		cfg.step = 60;
		cfg.dir = "/proc/no/such/dir";
		assert_null(rrdw_open(&cfg));
		cfg.dir = tmp;
		cfg.rrdcached = "unix:";
		assert_null(rrdw_open(&cfg));
		cfg.rrdcached = "host:port";
		assert_null(rrdw_open(&cfg));
		cfg.rrdcached = "::1:42217";
		assert_null(rrdw_open(&cfg));
		cfg.rrdcached = "[::1:42217";
		assert_null(rrdw_open(&cfg));
		cfg.rrdcached = "localhost:99999";
		assert_null(rrdw_open(&cfg));
		snprintf(path, sizeof path, "unix:%s/nosock", tmp);
		cfg.rrdcached = path;
		assert_null(rrdw_open(&cfg));	/* unreachable at start */
	}
}

/* ------------------------------------------------------ queue policies */

#define MANY 60

static void
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
static void
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

static void
test_queue_drop(void **state)
{
	uint64_t (*sum)[RRDW_MAX_DS] = calloc(MANY, sizeof *sum);
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	/* A queue of 4 against 60 new files a step: the writer, busy creating
	 * files, cannot keep up, and the capture side must not wait. */
	assert_non_null(w = open_w("drop", NULL, 0, 4));
	many_steps(w, sum, 8);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	printf("# drop: %" PRIu64 " dropped, %" PRIu64 " written, peak %zu\n",
	    st.dropped, st.updates, st.queue_hwm);
	assert_true(st.dropped > 0);
	assert_true(st.queue_hwm <= 4);
	assert_int_equal(st.failed, 0);
	rrdw_close(w);
	check_sums("drop", sum, 8, 0);	/* nothing lost, only moved */
	free(sum);
}

static void
test_queue_block(void **state)
{
	uint64_t (*sum)[RRDW_MAX_DS] = calloc(MANY, sizeof *sum);
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	assert_non_null(w = open_w("block", NULL, 1, 4));
	many_steps(w, sum, 8);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.updates, 8 * MANY);
	rrdw_close(w);
	check_sums("block", sum, 8, 1);	/* every step exact */
	free(sum);
}

/* ---------------------------------------------------------- rrdcached */

static pid_t daemon_pid = -1;
static int tcp_port;

/* A port that was free a moment ago, for the daemon's TCP listener. */
static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static pid_t
start_rrdcached(int journal)	/* journal: kept for experiments */
{
	char sock[300], pid[300], jdir[300], log[300], addr[310], tcp[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pid_t p;

	snprintf(sock, sizeof sock, "%s/sock", tmp);
	snprintf(pid, sizeof pid, "%s/pid", tmp);
	snprintf(jdir, sizeof jdir, "%s/journal", tmp);
	snprintf(log, sizeof log, "%s/rrdcached.log", tmp);
	snprintf(addr, sizeof addr, "unix:%s", sock);
	if (tcp_port <= 0)
		tcp_port = free_port();
	snprintf(tcp, sizeof tcp, "127.0.0.1:%d", tcp_port);
	mkdir(jdir, 0755);
	if ((p = fork()) == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		dup2(fd, 1);
		dup2(fd, 2);
		/* -g foreground (the pid is ours to kill), -B only under
		 * the base, -R may create subscribers/, -w: write only when
		 * asked, so a kill loses what it holds. */
		if (journal)
			execlp("rrdcached", "rrdcached", "-g", "-l", addr, "-l", tcp,
			    "-b", tmp, "-B", "-R", "-p", pid, "-F", "-w", "3600",
			    "-f", "7200", "-j", jdir, (char *)NULL);
		else
			execlp("rrdcached", "rrdcached", "-g", "-l", addr, "-l", tcp,
			    "-b", tmp, "-B", "-R", "-p", pid, "-F", "-w", "3600",
			    "-f", "7200", (char *)NULL);
		_exit(127);
	}
	assert_true(p > 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	for (int i = 0; i < 500; i++) {	/* up to 5 s */
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), ok, st;

		ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		close(fd);
		if (ok)
			return p;
		if (waitpid(p, &st, WNOHANG) == p)
			break;
		usleep(10000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return -1;
}

static void
stop_rrdcached(int sig)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, sig);
		waitpid(daemon_pid, NULL, 0);
	}
	daemon_pid = -1;
}

static int
teardown_cached(void **state)
{
	stop_rrdcached(SIGKILL);
	return teardown(state);
}

static int
have_rrdcached(void)
{
	return system("command -v rrdcached >/dev/null 2>&1") == 0;
}

/* Direct and rrdcached give the same files: every CF, every resolution. */
static void
compare_dirs(const char *a, const char *b, int nsteps)
{
	static const struct { const char *cf; unsigned long res; } views[] = {
		{ "AVERAGE", 60 }, { "AVERAGE", 300 }, { "MAX", 300 },
		{ "AVERAGE", 3600 }, { "MAX", 3600 }, { "AVERAGE", 86400 },
	};
	char pa[512], pb[512];

	for (int f = 0; f < NF; f++)
		for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
			struct series sa, sb;

			/* Within the finest archive's day for step rows,
			 * or rrd_fetch falls back to a coarser one. */
			time_t pad = views[v].res == STEP ? 10 * STEP : 86400;

			file_path(pa, sizeof pa, a, f);
			file_path(pb, sizeof pb, b, f);
			fetch(pa, views[v].cf, views[v].res, T0 - pad,
			    T0 + nsteps * STEP + pad, &sa);
			fetch(pb, views[v].cf, views[v].res, T0 - pad,
			    T0 + nsteps * STEP + pad, &sb);
			assert_int_equal(sa.step, views[v].res);
			assert_int_equal(sa.start, sb.start);
			assert_int_equal(sa.rows, sb.rows);
			assert_int_equal(sa.step, sb.step);
			for (unsigned long i = 0; i < sa.rows * sa.nds; i++) {
				double x = sa.data[i], y = sb.data[i];

				if (isnan(x) != isnan(y) ||
				    (!isnan(x) && !close_enough(x, y)))
					fail_msg("%s %s/%lu row %lu: %g vs %g", pb,
					    views[v].cf, views[v].res, i / sa.nds, x, y);
			}
			rrd_freemem(sa.data);
			rrd_freemem(sb.data);
		}
}

static void
test_rrdcached(void **state)
{
	char addr[300];
	struct truth tr, tr2;
	struct rrdw_stats st;
	struct rrdw *w;
	double t;
	struct timespec a, b;

	(void)state;
	if (!have_rrdcached())
		skip();
	assert_true((daemon_pid = start_rrdcached(0)) > 0);
	snprintf(addr, sizeof addr, "unix:%s/sock", tmp);

	/* 1. The same sequence, direct and through the daemon. */
	rng = 42;
	truth_init(&tr, 330);
	assert_non_null(w = open_w("direct", NULL, 1, 0));
	feed(w, &tr, 0, 250, 1);
	feed(w, &tr, 290, 330, 1);
	rrdw_close(w);
	rng = 42;
	truth_init(&tr2, 330);
	assert_non_null(w = open_w("cached", addr, 1, 0));
	feed(w, &tr2, 0, 250, 1);
	feed(w, &tr2, 290, 330, 1);
	assert_int_equal(rrdw_flush(w), 0);	/* FLUSH: files are current */
	check_exact(&tr2, "cached", 0, 329, 250, 290);
	rrdw_close(w);	/* the run's last step: silent files read 0 */
	compare_dirs("direct", "cached", 330);
	check_exact(&tr2, "cached", 0, 330, 250, 290);
	truth_free(&tr2);

	/* ...and over TCP, where the directory is the daemon's: "tcp" is
	 * relative to its -b, and it creates subscribers/ itself (-R). */
	{
		char taddr[64];

		snprintf(taddr, sizeof taddr, "localhost:%d", tcp_port);
		rng = 42;
		truth_init(&tr2, 330);
		assert_non_null(w = open_w_dir("tcp", taddr));
		feed(w, &tr2, 0, 250, 1);
		feed(w, &tr2, 290, 330, 1);
		rrdw_close(w);
		compare_dirs("direct", "tcp", 330);
		truth_free(&tr2);
	}

	/* 2. Restart through the daemon continues the totals. */
	rng = 42;
	memset(tr.amt, 0, (size_t)NF * 330 * RRDW_MAX_DS * sizeof(uint64_t));
	memset(tr.called, 0, (size_t)NF * 330);
	assert_non_null(w = open_w("cached2", addr, 1, 0));
	feed(w, &tr, 0, 100, 1);
	rrdw_close(w);	/* unflushed updates stay in the daemon... */
	assert_non_null(w = open_w("cached2", addr, 1, 0));
	/* ...and probing FLUSHes them first. Subscriber 1 is silent from
	 * step 40 to 199: when it speaks again in this run, the steps
	 * since this run began are filled with zeros. */
	feed(w, &tr, 100, 250, 1);
	rrdw_close(w);
	check_exact(&tr, "cached2", 0, 250, 1000, 1000);

	/* 3. The daemon is killed (no journal: it loses what it acknowledged
	 * since the last flush) and comes back; the writer survives, and the
	 * totals over the run are exact: the lost amounts spread. */
	{
		uint64_t (*sum)[RRDW_MAX_DS] = calloc(MANY, sizeof *sum);
		int k;

		assert_non_null(w = open_w("kill", addr, 1, 0));
		many_steps(w, sum, 1);
		assert_int_equal(rrdw_flush(w), 0);
		for (k = 1; k < 6; k++) {	/* acknowledged, not flushed */
			uint64_t v[RRDW_MAX_DS];
			char name[32];

			for (int j = 0; j < MANY; j++) {
				snprintf(name, sizeof name, "s%03d", j);
				rrdw_clear_values(RRDW_SUBSCRIBER, v);
				v[RRDW_U_BYTES_OUT] = (uint64_t)(k * 1000 + j + 1);
				sum[j][RRDW_U_BYTES_OUT] += v[RRDW_U_BYTES_OUT];
				rrdw_update(w, RRDW_SUBSCRIBER, name, T0 + k * STEP, v);
			}
			rrdw_commit(w, T0 + k * STEP);
		}
		usleep(200000);		/* let the writer deliver them */
		stop_rrdcached(SIGKILL);
		for (; k < 9; k++) {	/* while it is down */
			uint64_t v[RRDW_MAX_DS];
			char name[32];

			for (int j = 0; j < MANY; j++) {
				snprintf(name, sizeof name, "s%03d", j);
				rrdw_clear_values(RRDW_SUBSCRIBER, v);
				v[RRDW_U_BYTES_OUT] = (uint64_t)(k * 1000 + j + 1);
				sum[j][RRDW_U_BYTES_OUT] += v[RRDW_U_BYTES_OUT];
				rrdw_update(w, RRDW_SUBSCRIBER, name, T0 + k * STEP, v);
			}
			rrdw_commit(w, T0 + k * STEP);
			usleep(50000);
		}
		assert_int_not_equal(rrdw_flush(w), 0);	/* down: says so */
		assert_true((daemon_pid = start_rrdcached(0)) > 0);
		for (; k < 14; k++) {
			uint64_t v[RRDW_MAX_DS];
			char name[32];

			for (int j = 0; j < MANY; j++) {
				snprintf(name, sizeof name, "s%03d", j);
				rrdw_clear_values(RRDW_SUBSCRIBER, v);
				v[RRDW_U_BYTES_OUT] = (uint64_t)(k * 1000 + j + 1);
				sum[j][RRDW_U_BYTES_OUT] += v[RRDW_U_BYTES_OUT];
				rrdw_update(w, RRDW_SUBSCRIBER, name, T0 + k * STEP, v);
			}
			rrdw_commit(w, T0 + k * STEP);
		}
		assert_int_equal(rrdw_flush(w), 0);
		rrdw_get_stats(w, &st);
		printf("# kill: %" PRIu64 " outages, %" PRIu64 " written, %" PRIu64
		    " dropped, %" PRIu64 " failed\n", st.outages, st.updates,
		    st.dropped, st.failed);
		assert_true(st.outages >= 1);
		rrdw_close(w);
		check_sums("kill", sum, 14, 0);
		free(sum);
	}

	/* 4. Throughput, for the record: 300 subscribers x 20 steps, each
	 * step committed on its own (live: one update per file per call). */
	for (int via = 0; via < 2; via++) {
		uint64_t v[RRDW_MAX_DS];
		char name[32];

		assert_non_null(w = open_w(via ? "speed-cached" : "speed-direct",
		    via ? addr : NULL, 1, 0));
		for (int j = 0; j < 300; j++) {	/* create the files */
			snprintf(name, sizeof name, "p%04d", j);
			rrdw_clear_values(RRDW_SUBSCRIBER, v);
			v[0] = 1;
			rrdw_update(w, RRDW_SUBSCRIBER, name, T0, v);
		}
		rrdw_flush(w);
		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int k = 1; k <= 20; k++) {
			for (int j = 0; j < 300; j++) {
				snprintf(name, sizeof name, "p%04d", j);
				rrdw_clear_values(RRDW_SUBSCRIBER, v);
				v[0] = (uint64_t)k;
				rrdw_update(w, RRDW_SUBSCRIBER, name, T0 + k * STEP, v);
			}
			rrdw_commit(w, T0 + k * STEP);
			rrdw_flush(w);
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		printf("# %s: 6000 updates in %.2fs, %.0f/s\n",
		    via ? "rrdcached" : "direct", t, 6000 / t);
		rrdw_close(w);
	}
	truth_free(&tr);
	stop_rrdcached(SIGTERM);
}

/* rrdcached restarted the polite way (SIGTERM; -F writes what it holds)
 * in the middle of a run: the writer reconnects, loses nothing, and the
 * files equal a direct run step by step. (A journal, -j, does not make
 * SIGKILL equally safe in 1.7.2: it is written through a stdio buffer.) */
static void
test_rrdcached_restart(void **state)
{
	char addr[300];
	struct truth tr, tr2;
	struct rrdw_stats st;
	struct rrdw *w;

	(void)state;
	if (!have_rrdcached())
		skip();
	assert_true((daemon_pid = start_rrdcached(0)) > 0);
	snprintf(addr, sizeof addr, "unix:%s/sock", tmp);
	rng = 7;
	truth_init(&tr, 120);
	assert_non_null(w = open_w("direct", NULL, 1, 0));
	feed(w, &tr, 0, 120, 1);
	rrdw_close(w);
	rng = 7;
	truth_init(&tr2, 120);
	assert_non_null(w = open_w("cached", addr, 1, 0));
	feed(w, &tr2, 0, 60, 1);
	assert_int_equal(rrdw_flush(w), 0);
	stop_rrdcached(SIGTERM);
	assert_true((daemon_pid = start_rrdcached(0)) > 0);
	feed(w, &tr2, 60, 120, 1);
	assert_int_equal(rrdw_flush(w), 0);
	rrdw_get_stats(w, &st);
	assert_int_equal(st.failed, 0);
	rrdw_close(w);
	compare_dirs("direct", "cached", 120);
	check_exact(&tr2, "cached", 0, 120, 1000, 1000);
	truth_free(&tr);
	truth_free(&tr2);
	stop_rrdcached(SIGTERM);
}

/* Counted data that cannot be written makes rrdw_close return -1 and is
 * counted per update; a FIFO (librrd would block on it for ever) and a
 * symbolic link out of the folder are never opened, and a clean run
 * returns 0. */
static void
test_lost(void **state)
{
	char path[512], target[512];
	uint64_t v[RRDW_MAX_DS];
	struct rrdw_stats st;
	struct stat sb, sb2;
	struct rrdw *w;
	time_t t0;

	(void)state;
	snprintf(path, sizeof path, "%s/lost/subscribers", tmp);
	assert_non_null(w = open_w("lost", NULL, 1, 0));	/* makes the folder */
	assert_int_equal(rrdw_close(w), 0);			/* nothing lost */
	snprintf(path, sizeof path, "%s/lost/subscribers/fifo.rrd", tmp);
	assert_int_equal(mkfifo(path, 0644), 0);
	snprintf(target, sizeof target, "%s/outside.rrd", tmp);
	assert_int_equal(close(open(target, O_CREAT | O_WRONLY, 0644)), 0);
	snprintf(path, sizeof path, "%s/lost/subscribers/link.rrd", tmp);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(stat(target, &sb), 0);

	assert_non_null(w = open_w("lost", NULL, 1, 0));
	t0 = time(NULL);
	rrdw_clear_values(RRDW_SUBSCRIBER, v);
	v[RRDW_U_BYTES_IN] = 100;
	for (int k = 0; k < 3; k++) {
		assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, "fifo",
		    T0 + k * STEP, v), 0);
		assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, "link",
		    T0 + k * STEP, v), 0);
		assert_int_equal(rrdw_update(w, RRDW_SUBSCRIBER, "good",
		    T0 + k * STEP, v), 0);
		assert_int_equal(rrdw_commit(w, T0 + k * STEP), 0);
	}
	assert_int_equal(rrdw_finish(w), -1);
	rrdw_get_stats(w, &st);
	/* the 3 steps of each of the two files */
	assert_int_equal(st.failed, 6);
	assert_int_equal(rrdw_close(w), -1);
	assert_true(time(NULL) - t0 < 10);
	assert_int_equal(stat(target, &sb2), 0);
	assert_int_equal(sb2.st_size, sb.st_size);	/* not touched */
	snprintf(path, sizeof path, "%s/lost/subscribers/good.rrd", tmp);
	assert_int_equal(stat(path, &sb), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rrdcached, setup,
		    teardown_cached),
		cmocka_unit_test_setup_teardown(test_rrdcached_restart, setup,
		    teardown_cached),
	};

	log_init("test_rrdw", 0, 0);
	signal(SIGPIPE, SIG_DFL);	/* the writer must not need SIG_IGN */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
