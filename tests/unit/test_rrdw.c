/*
 * test_rrdw.c — the RRD writer against real files: schema and size, every
 * step's amount read back exactly (gaps, silent and zero steps, two
 * collectors per file), restart continuation, refused names, both queue
 * policies, lost data named (rrdcached: test_rrdw_cached.c).
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

#include "rrdw_testlib.h"

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
	};

	log_init("test_rrdw", 0, 0);
	signal(SIGPIPE, SIG_DFL);	/* the writer must not need SIG_IGN */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
