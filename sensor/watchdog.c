/*
 * watchdog.c — the nDPI hang watchdog. The capture thread publishes the
 * packet it hands to nDPI and a generation counter; the watchdog thread
 * sees the same generation on two looks far enough apart and acts. The
 * packet's bytes stay valid while the capture thread is stuck on them,
 * which is the only time the watchdog reads them.
 */
#include "watchdog.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static struct {
	_Atomic(const uint8_t *) l3;
	_Atomic uint32_t len;
	_Atomic uint64_t ts_us;
	_Atomic uint64_t gen;		/* odd: inside nDPI */
	atomic_int stop;
	unsigned limit_s;
	char dir[256];
	pthread_t thread;
	int running;
} wd;

void
watchdog_enter(const uint8_t *l3, uint32_t len, uint64_t ts_us)
{
	atomic_store_explicit(&wd.l3, l3, memory_order_relaxed);
	atomic_store_explicit(&wd.len, len, memory_order_relaxed);
	atomic_store_explicit(&wd.ts_us, ts_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&wd.gen, 1, memory_order_release);
}

void
watchdog_leave(void)
{
	atomic_fetch_add_explicit(&wd.gen, 1, memory_order_release);
}

/* Writes the stuck packet; returns the file name in path. */
static int
dump(char *path, size_t plen)
{
	const uint8_t *l3 = atomic_load(&wd.l3);
	uint32_t len = atomic_load(&wd.len);
	uint64_t ts = atomic_load(&wd.ts_us);
	struct pcap_pkthdr h = { .ts = { (time_t)(ts / 1000000), (suseconds_t)(ts % 1000000) },
				 .caplen = len, .len = len };
	pcap_t *dead = pcap_open_dead(DLT_RAW, 262144);
	pcap_dumper_t *d;

	snprintf(path, plen, "%s/spanwatch-hang-%ld.pcap", wd.dir, (long)getpid());
	if (!dead || (d = pcap_dump_open(dead, path)) == NULL) {
		if (dead)
			pcap_close(dead);
		return -1;
	}
	pcap_dump((u_char *)d, &h, l3);
	pcap_dump_close(d);
	pcap_close(dead);
	return 0;
}

static void *
watch(void *arg)
{
	uint64_t seen = 0;
	unsigned stuck_for = 0;		/* half-seconds */
	char path[320];
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&wd.stop)) {
		struct timespec half = { 0, 500000000 };
		uint64_t g = atomic_load_explicit(&wd.gen, memory_order_acquire);

		nanosleep(&half, NULL);
		if ((g & 1) && g == seen) {
			if (++stuck_for >= 2 * wd.limit_s) {
				int ok = dump(path, sizeof path) == 0;
				log_err("watchdog: a packet has been inside nDPI for %u s; %s%s; exiting "
					"so that the service manager restarts the sensor",
					wd.limit_s, ok ? "it is saved in " : "it could not be saved",
					ok ? path : "");
				_exit(1);
			}
		} else {
			stuck_for = 0;
		}
		seen = g;
	}
	return NULL;
}

int
watchdog_start(unsigned limit_s, const char *dir)
{
	if (limit_s == 0)
		return 0;
	wd.limit_s = limit_s;
	if (!dir)
		dir = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
	snprintf(wd.dir, sizeof wd.dir, "%s", dir);
	atomic_store(&wd.stop, 0);
	if ((errno = pthread_create(&wd.thread, NULL, watch, NULL)) != 0) {
		log_err("watchdog: %s", strerror(errno));
		return -1;
	}
	wd.running = 1;
	return 0;
}

void
watchdog_stop(void)
{
	if (!wd.running)
		return;
	atomic_store(&wd.stop, 1);
	pthread_join(wd.thread, NULL);
	wd.running = 0;
}
