/*
 * test_rrdw_cached.c — the RRD writer through rrdcached: a real daemon on a
 * unix socket (and TCP) must give the same files as direct writes, and the
 * writer must survive the daemon being killed mid-run.
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rrdcached, setup,
		    teardown_cached),
		cmocka_unit_test_setup_teardown(test_rrdcached_restart, setup,
		    teardown_cached),
	};

	log_init("test_rrdw_cached", 0, 0);
	signal(SIGPIPE, SIG_DFL);	/* the writer must not need SIG_IGN */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
