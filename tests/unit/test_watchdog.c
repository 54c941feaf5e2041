/*
 * test_watchdog.c — the nDPI hang watchdog with several capture threads.
 * In a child process, one thread "hangs" inside a bracketed call while a
 * second keeps entering and leaving (a busy second capture thread): the
 * watchdog must still see the stuck one, write its packet and exit 1.
 * With one counter shared by all threads the busy one kept it moving and
 * the hang went unseen. And a thread that only ever leaves quickly must
 * never trip it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mono.h"
#include "watchdog.h"

#define LIMIT_S 1

static const uint8_t pkt[28] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0,
				 198, 18, 0, 1, 198, 18, 0, 2, 0x30, 0x39, 0, 53, 0, 8, 0, 0 };
static atomic_int busy_stop;

static void *
busy(void *arg)
{
	static const uint8_t other[20] = { 0x45 };

	(void)arg;
	while (!atomic_load(&busy_stop)) {
		watchdog_enter(other, sizeof other, 2000000);
		watchdog_leave();
	}
	return NULL;
}


/* Runs child(dir) in a fork; returns its wait status after at most
 * limit seconds (then it is killed: status shows SIGKILL). */
static int
in_child(void (*child)(const char *), const char *dir, unsigned limit, double *took)
{
	double t0 = mono_s();
	pid_t pid = fork();
	int status = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		child(dir);
		_exit(0);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		assert_true(r >= 0);
		if (r == pid)
			break;
		if (mono_s() - t0 > limit) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(20000);
	}
	*took = mono_s() - t0;
	return status;
}

/* The one entry of dir, as a path. Returns 0, or -1 if not exactly one. */
static int
only_file(const char *dir, char *path, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && n++ == 0)
			snprintf(path, len, "%s/%s", dir, de->d_name);
	closedir(d);
	return n == 1 ? 0 : -1;
}

static void
hang_beside_busy(const char *dir)
{
	pthread_t t;

	if (watchdog_start(LIMIT_S, dir) < 0)
		_exit(3);
	pthread_create(&t, NULL, busy, NULL);
	usleep(100000);
	watchdog_enter(pkt, sizeof pkt, 1234567890123456ULL);
	sleep(10);		/* the hang */
	watchdog_leave();
	_exit(0);
}

static void
busy_only(const char *dir)
{
	pthread_t t;

	if (watchdog_start(LIMIT_S, dir) < 0)
		_exit(3);
	pthread_create(&t, NULL, busy, NULL);
	for (int i = 0; i < 300; i++) {	/* 3 s, three times the limit */
		watchdog_enter(pkt, sizeof pkt, 1);
		usleep(1000);
		watchdog_leave();
		usleep(9000);
	}
	atomic_store(&busy_stop, 1);
	pthread_join(t, NULL);
	watchdog_stop();
	_exit(0);
}

static void
test_hang_seen_beside_busy_thread(void **state)
{
	char dir[] = "/tmp/sw-wd-XXXXXX", path[300], err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	double took;
	pcap_t *p;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	st = in_child(hang_beside_busy, dir, 8, &took);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_true(took < LIMIT_S + 2.5);
	/* One dump, of the stuck thread's packet, not the busy one's. */
	assert_int_equal(only_file(dir, path, sizeof path), 0);
	assert_true(strstr(path, "/spanwatch-hang-") != NULL);
	p = pcap_open_offline(path, err);
	assert_non_null(p);
	assert_int_equal(pcap_next_ex(p, &h, &data), 1);
	assert_int_equal(h->caplen, sizeof pkt);
	assert_memory_equal(data, pkt, sizeof pkt);
	assert_int_equal((long)h->ts.tv_sec, 1234567890L);
	pcap_close(p);
	unlink(path);
	rmdir(dir);
}

static void
test_busy_threads_never_trip(void **state)
{
	char dir[] = "/tmp/sw-wd-XXXXXX";
	double took;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	st = in_child(busy_only, dir, 10, &took);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(rmdir(dir), 0);	/* nothing dumped */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hang_seen_beside_busy_thread),
		cmocka_unit_test(test_busy_threads_never_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
