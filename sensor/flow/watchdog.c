/*
 * watchdog.c — the nDPI hang watchdog. Each capture thread publishes, in a
 * slot of its own, the packet it hands to nDPI and a generation counter;
 * the watchdog thread sees the same odd generation in a slot on looks far
 * enough apart and acts. One slot per thread, because with several capture
 * threads a shared counter would keep moving while one of them hangs. The
 * packet's bytes stay valid while its thread is stuck on them, which is
 * the only time the watchdog reads them.
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

/* Capture threads at most ([capture] threads is 1..16), with room for the
 * main thread of a file replay and the fuzz harness. */
#define WD_SLOTS 32

struct wd_slot {
	_Atomic(const uint8_t *) l3;
	_Atomic uint32_t len;
	_Atomic uint64_t ts_us;
	_Atomic uint64_t gen;		/* odd: inside nDPI */
};

static struct {
	struct wd_slot slot[WD_SLOTS];
	atomic_uint nslots;		/* slots handed out */
	atomic_int stop;
	/* The watchdog sleeps on this, so that stopping it wakes it at once
	 * instead of every run waiting out a half-second sleep at exit. */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	unsigned limit_s;
	char dir[256];
	pthread_t thread;
	int running;
} wd;

/* The calling thread's slot, taken on its first call. A thread beyond
 * WD_SLOTS goes unwatched rather than sharing a slot. */
static _Thread_local struct wd_slot *my_slot;
static _Thread_local int my_slot_none;

static struct wd_slot *
slot(void)
{
	unsigned i;

	if (my_slot || my_slot_none)
		return my_slot;
	i = atomic_fetch_add(&wd.nslots, 1);
	if (i < WD_SLOTS)
		my_slot = &wd.slot[i];
	else
		my_slot_none = 1;
	return my_slot;
}

void
watchdog_enter(const uint8_t *l3, uint32_t len, uint64_t ts_us)
{
	struct wd_slot *s = slot();

	if (!s)
		return;
	atomic_store_explicit(&s->l3, l3, memory_order_relaxed);
	atomic_store_explicit(&s->len, len, memory_order_relaxed);
	atomic_store_explicit(&s->ts_us, ts_us, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
}

void
watchdog_leave(void)
{
	if (my_slot)
		atomic_fetch_add_explicit(&my_slot->gen, 1, memory_order_release);
}

/* Writes the stuck packet of slot s; returns the file name in path. */
static int
dump(const struct wd_slot *s, char *path, size_t plen)
{
	const uint8_t *l3 = atomic_load(&s->l3);
	uint32_t len = atomic_load(&s->len);
	uint64_t ts = atomic_load(&s->ts_us);
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
	uint64_t seen[WD_SLOTS] = { 0 };
	unsigned stuck_for[WD_SLOTS] = { 0 };	/* half-seconds */
	char path[320];
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct timespec until;
		unsigned n;
		int stop;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 500000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&wd.mu);
		while (!(stop = atomic_load(&wd.stop)) &&
		       pthread_cond_timedwait(&wd.wake, &wd.mu, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&wd.mu);
		if (stop)
			break;
		n = atomic_load(&wd.nslots);
		for (unsigned i = 0; i < n && i < WD_SLOTS; i++) {
			const struct wd_slot *s = &wd.slot[i];
			uint64_t g = atomic_load_explicit(&s->gen, memory_order_acquire);

			if (!(g & 1) || g != seen[i]) {
				stuck_for[i] = 0;
				seen[i] = g;
				continue;
			}
			if (++stuck_for[i] >= 2 * wd.limit_s) {
				int ok = dump(s, path, sizeof path) == 0;
				log_err("watchdog: a packet has been inside nDPI for %u s; %s%s; exiting "
					"so that the service manager restarts the sensor",
					wd.limit_s, ok ? "it is saved in " : "it could not be saved",
					ok ? path : "");
				_exit(1);
			}
		}
	}
	return NULL;
}

static pthread_once_t wd_once = PTHREAD_ONCE_INIT;

static void
wd_init(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wd.wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&wd.mu, NULL);
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
	pthread_once(&wd_once, wd_init);
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
	pthread_mutex_lock(&wd.mu);
	atomic_store(&wd.stop, 1);
	pthread_cond_signal(&wd.wake);
	pthread_mutex_unlock(&wd.mu);
	pthread_join(wd.thread, NULL);
	wd.running = 0;
}
