/*
 * workers.c — N live capture threads (see workers.h).
 *
 * Each thread owns its capture handle and its pipeline; nothing of one
 * thread's packet path is touched by another. The main thread talks to
 * them only through struct workers: an atomic stop flag and a reload
 * generation they look at in their tick (at least every 100 ms), and, under
 * mu, the configuration to switch to and the counters each publishes.
 */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flowlog.h"
#include "log.h"
#include "rrdw.h"
#include "submap.h"
#include "thr.h"

/* Counters are published for the main thread at most this often. */
#define PUBLISH_US 1000000

struct worker {
	struct workers *all;
	unsigned idx;
	struct capture *cap;
	struct pipeline *pl;
	struct capture_opts co;		/* own copy: stop is this thread's */
	volatile sig_atomic_t stop;	/* written by this thread only */
	struct capture_stats cs;	/* this thread's */
	_Atomic uint64_t drops;		/* of this handle, for shard 0 */
	uint64_t reload_seen, last_pub_us;
	pthread_t thr;
	int started, rc;

	/* under all->mu */
	uint64_t reload_done;
	int reload_rc;
	struct pipeline_stats pub_ps;
	struct flow_stats pub_fs;
	struct capture_stats pub_cs;
};

struct workers {
	unsigned n;
	struct worker *w;
	struct flowlog *flog;
	atomic_int stop, failed;
	_Atomic uint64_t reload_gen;
	pthread_mutex_t mu;
	pthread_cond_t acked;		/* a reload switched; a loop ended */
	unsigned nstarted, nover;	/* threads running; loops over */
	const struct sw_config *rcfg;
	const struct submap *rsubs;
};

struct workers *
workers_open(const char *iface, unsigned n, const struct capture_opts *co)
{
	struct workers *ws = calloc(1, sizeof *ws);
	struct capture_opts o = *co;

	if (!ws || (ws->w = calloc(n, sizeof *ws->w)) == NULL) {
		free(ws);
		log_err("%s: out of memory for %u capture threads", iface, n);
		return NULL;
	}
	ws->n = n;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->acked, NULL);
	/* One group per process; a second sensor on the same interface gets
	 * its own group (another pid) and its own copy of the traffic. */
	o.fanout_group = (int)(getpid() & 0xffff) ? (int)(getpid() & 0xffff) : 1;
	for (unsigned i = 0; i < n; i++) {
		ws->w[i].all = ws;
		ws->w[i].idx = i;
		if ((ws->w[i].cap = capture_open_live(iface, &o)) == NULL) {
			workers_free(ws);
			return NULL;
		}
	}
	log_info("%s: %u capture threads in fanout group %d (flow hash)", iface, n,
		 o.fanout_group);
	return ws;
}

static uint64_t
all_drops(struct workers *ws)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < ws->n; i++)
		sum += atomic_load_explicit(&ws->w[i].drops, memory_order_relaxed);
	return sum;
}

/* Sensor-wide drops go to shard 0's health collector, which reports them
 * once; the others' are their own (and unused). */
static void
set_drops(struct worker *wk)
{
	pipeline_set_drops(wk->pl, wk->idx == 0 ? all_drops(wk->all)
			   : atomic_load_explicit(&wk->drops, memory_order_relaxed));
}

static void
publish(struct worker *wk)
{
	pthread_mutex_lock(&wk->all->mu);
	pipeline_get_stats(wk->pl, &wk->pub_ps);
	pipeline_get_flow_stats(wk->pl, &wk->pub_fs);
	wk->pub_cs = wk->cs;
	pthread_mutex_unlock(&wk->all->mu);
}

static void
on_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	 uint64_t ts_us)
{
	pipeline_frame(((struct worker *)ctx)->pl, fn, data, caplen, wirelen, ts_us);
}

/* In the worker's thread, between batches. */
static void
on_tick(void *ctx, uint64_t now_us, const struct capture_stats *st)
{
	struct worker *wk = ctx;
	struct workers *ws = wk->all;
	uint64_t gen;

	atomic_store_explicit(&wk->drops, st->kernel_drops + st->if_drops, memory_order_relaxed);
	set_drops(wk);
	pipeline_tick(wk->pl, now_us);
	gen = atomic_load(&ws->reload_gen);
	if (gen != wk->reload_seen) {
		int rc;

		const struct sw_config *cfg;
		const struct submap *subs;

		wk->reload_seen = gen;
		pthread_mutex_lock(&ws->mu);
		cfg = ws->rcfg;
		subs = ws->rsubs;
		pthread_mutex_unlock(&ws->mu);
		rc = pipeline_reload(wk->pl, cfg, subs);
		pthread_mutex_lock(&ws->mu);
		wk->reload_done = gen;
		wk->reload_rc = rc;
		pthread_cond_broadcast(&ws->acked);
		pthread_mutex_unlock(&ws->mu);
	}
	if (now_us >= wk->last_pub_us + PUBLISH_US) {
		wk->last_pub_us = now_us;
		publish(wk);
	}
	if (atomic_load(&ws->stop))
		wk->stop = 1;
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *ws = wk->all;

	rrdw_bind_producer(wk->idx);
	wk->rc = capture_run(wk->cap, &wk->co, on_frame, wk, &wk->cs);
	if (wk->rc < 0) {
		atomic_store(&ws->failed, 1);
		atomic_store(&ws->stop, 1);
	}
	atomic_store_explicit(&wk->drops, wk->cs.kernel_drops + wk->cs.if_drops,
			      memory_order_relaxed);
	/* Shard 0 reports every handle's final drops: wait for them. */
	pthread_mutex_lock(&ws->mu);
	ws->nover++;
	pthread_cond_broadcast(&ws->acked);
	while (ws->nover < ws->nstarted)
		pthread_cond_wait(&ws->acked, &ws->mu);
	pthread_mutex_unlock(&ws->mu);
	set_drops(wk);
	/* Everything seen is accounted and committed, in this thread (the
	 * RRD writer knows its producers by thread). */
	pipeline_finish(wk->pl);
	publish(wk);
	return NULL;
}

int
workers_start(struct workers *ws, const struct pipeline_cfg *pc)
{
	struct pipeline_cfg c = *pc;
	int err = 0;

	if (pc->flow_log) {
		if ((ws->flog = flowlog_open(pc->flow_log)) == NULL)
			return -1;
		flowlog_share(ws->flog);
		c.flow_log = NULL;
		c.flog = ws->flog;
	}
	if (pc->rrdw && rrdw_set_producers(pc->rrdw, ws->n) < 0) {
		log_err("rrd: %u capture threads: too many for the writer", ws->n);
		return -1;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		c.shard = i;
		if ((ws->w[i].pl = pipeline_new(&c)) == NULL)
			return -1;
	}
	ws->nstarted = ws->n;
	/* Signals are the main thread's: it waits for them. */
	for (unsigned i = 0; i < ws->n; i++) {
		struct worker *wk = &ws->w[i];
		char name[16];

		wk->co = (struct capture_opts){ .stop = &wk->stop, .tick = on_tick };
		snprintf(name, sizeof name, "capture%u", i % 100);
		if ((err = thr_start(&wk->thr, worker_main, wk, name)) != 0) {
			log_err("cannot start capture thread %u: %s", i, strerror(err));
			pthread_mutex_lock(&ws->mu);
			ws->nstarted = i;
			pthread_cond_broadcast(&ws->acked);
			pthread_mutex_unlock(&ws->mu);
			break;
		}
		wk->started = 1;
	}
	return err ? -1 : 0;
}

int
workers_reload(struct workers *ws, const struct sw_config *cfg, const struct submap *subs)
{
	uint64_t gen;
	unsigned ok = 0, done;

	pthread_mutex_lock(&ws->mu);
	ws->rcfg = cfg;
	ws->rsubs = subs;
	gen = atomic_load(&ws->reload_gen) + 1;
	atomic_store(&ws->reload_gen, gen);
	for (;;) {
		done = ok = 0;
		for (unsigned i = 0; i < ws->n; i++) {
			/* A thread that has ended switches no more. */
			if (ws->w[i].reload_done == gen || !ws->w[i].started) {
				done++;
				ok += ws->w[i].reload_done == gen && ws->w[i].reload_rc == 0;
			}
		}
		if (done == ws->n || atomic_load(&ws->failed))
			break;
		pthread_cond_wait(&ws->acked, &ws->mu);
	}
	pthread_mutex_unlock(&ws->mu);
	if (done < ws->n)
		return 1;	/* a thread failed meanwhile: it may still read either */
	return ok == ws->n ? 0 : ok == 0 ? -1 : 1;
}

void
workers_reopen_log(struct workers *ws)
{
	flowlog_reopen(ws->flog);
}

int
workers_failed(struct workers *ws)
{
	return atomic_load(&ws->failed);
}

int
workers_stop(struct workers *ws)
{
	int rc = 0;

	atomic_store(&ws->stop, 1);
	/* A reload waiting for an ended thread must not wait forever. */
	pthread_mutex_lock(&ws->mu);
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
	for (unsigned i = 0; i < ws->n; i++) {
		if (!ws->w[i].started)
			continue;
		pthread_join(ws->w[i].thr, NULL);
		ws->w[i].started = 0;
		if (ws->w[i].rc < 0)
			rc = -1;
	}
	return rc;
}

unsigned
workers_count(const struct workers *ws)
{
	return ws->n;
}

void
workers_get(struct workers *ws, unsigned i, struct pipeline_stats *ps, struct flow_stats *fs,
	    struct capture_stats *cs)
{
	struct worker *wk = &ws->w[i];

	pthread_mutex_lock(&ws->mu);
	if (ps)
		*ps = wk->pub_ps;
	if (fs)
		*fs = wk->pub_fs;
	if (cs)
		*cs = wk->pub_cs;
	pthread_mutex_unlock(&ws->mu);
}

uint32_t
workers_subscribers_seen(const struct workers *ws, const struct submap *subs)
{
	uint8_t *seen = calloc((size_t)submap_count(subs) + 1, 1);
	uint32_t n = 0;

	if (!seen)
		return 0;
	for (unsigned i = 0; i < ws->n; i++)
		if (ws->w[i].pl)
			pipeline_mark_seen(ws->w[i].pl, seen);
	for (int i = 0; i < submap_count(subs); i++)
		n += seen[i] != 0;
	free(seen);
	return n;
}

int
workers_free(struct workers *ws)
{
	int rc = 0;

	if (!ws)
		return 0;
	for (unsigned i = 0; i < ws->n; i++) {
		if (pipeline_free(ws->w[i].pl) < 0)
			rc = -1;
		capture_close(ws->w[i].cap);
	}
	if (ws->flog && flowlog_close(ws->flog) < 0)
		rc = -1;
	pthread_cond_destroy(&ws->acked);
	pthread_mutex_destroy(&ws->mu);
	free(ws->w);
	free(ws);
	return rc;
}
