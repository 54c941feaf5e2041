/*
 * workers.c — one reader, N workers (see workers.h); walking mapped files
 * without a reader is workers_walk.c's.
 *
 * The reader owns the dispatch table and the producing side of every
 * ring; each worker owns its pipeline and the consuming side of its ring.
 * Everything a worker must do in order with its packets (a step boundary
 * of packet time, the wall clock, a reload, the end) travels in its ring
 * as a record among them, so that no lock is taken on the packet path and
 * a reload lands at one packet boundary of every stream. The main thread
 * talks to the threads through struct workers: under mu, the reload to
 * make and the counters each publishes.
 */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "flowlog.h"
#include "log.h"
#include "ring.h"
#include "rrdw.h"
#include "submap.h"
#include "thr.h"

#include "workers_int.h"

struct workers *
workers_alloc(unsigned n, int rings)
{
	struct workers *ws = calloc(1, sizeof *ws);

	if (!ws || (ws->w = calloc(n, sizeof *ws->w)) == NULL) {
		free(ws);
		log_err("out of memory for %u worker threads", n);
		return NULL;
	}
	ws->n = n;
	ws->lead = DISPATCH_SLOTS / n;
	pthread_mutex_init(&ws->mu, NULL);
	pthread_cond_init(&ws->acked, NULL);
	for (unsigned i = 0; i < n; i++) {
		ws->w[i].all = ws;
		ws->w[i].idx = i;
		ws->w[i].hv_cand = ws->w[i].hv_prev = -1;
		if (rings && (ws->w[i].ring = ring_new(RING_BYTES)) == NULL) {
			log_err("out of memory for worker %u's ring (%u MiB)", i, RING_BYTES >> 20);
			workers_free(ws);
			return NULL;
		}
	}
	return ws;
}

struct workers *
workers_open(const char *iface, unsigned n, const struct capture_opts *co)
{
	struct workers *ws = workers_alloc(n, 1);

	if (!ws)
		return NULL;
	ws->live = 1;
	if ((ws->cap = capture_open_live(iface, co)) == NULL) {
		workers_free(ws);
		return NULL;
	}
	log_info("%s: one capture thread, %u workers (by subscriber)", iface, n);
	return ws;
}

struct workers *
workers_open_files(unsigned n)
{
	return workers_alloc(n, 1);
}

/* ---- the reader ------------------------------------------------------ */

/* Room for len bytes in worker i's ring: waits for it unless drop (live
 * packets); NULL when dropped. */
static struct rec *
reserve(struct workers *ws, unsigned i, uint32_t len, int drop)
{
	struct rec *r;

	while ((r = ring_reserve(ws->w[i].ring, len)) == NULL) {
		if (drop)
			return NULL;
		/* While the reader waits for one worker, the others must
		 * not sleep on the little their rings hold. */
		for (unsigned j = 0; j < ws->n; j++)
			ring_flush(ws->w[j].ring);
		ring_wait_room(ws->w[i].ring, len, 100);
	}
	return r;
}

/* An event for every worker, in order with its packets (never dropped). */
static void
broadcast(struct workers *ws, enum rec_kind kind, uint64_t ts_us, const struct sw_config *cfg,
	  const struct submap *subs, uint64_t gen)
{
	/* Live, a worker that closed a step waits (nDPI's caches, dpicache.h)
	 * for the others to close it too, and its ring may be full: the
	 * clock goes to every ring with room first, or this loop could wait
	 * on its ring while another waits for a time to close the step at. */
	if (ws->live) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		for (unsigned i = 0; i < ws->n; i++) {
			struct rec *r = ws->w[i].started ? ring_reserve(ws->w[i].ring, REC_EVENT) : NULL;

			if (!r)
				continue;
			r->kind = R_TICK_WALL;
			r->ts_us = (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_nsec / 1000;
			ring_commit(ws->w[i].ring, REC_EVENT);
			ring_flush(ws->w[i].ring);
		}
	}
	for (unsigned i = 0; i < ws->n; i++) {
		struct rec *r;

		if (!ws->w[i].started)
			continue;	/* a start that failed half-way */
		r = reserve(ws, i, REC_EVENT, 0);

		r->kind = kind;
		r->ts_us = ts_us;
		r->gen = gen;
		r->cfg = cfg;
		r->subs = subs;
		ring_commit(ws->w[i].ring, REC_EVENT);
		ring_flush(ws->w[i].ring);
	}
}

/* The reload the main thread asked for, between two packets: the new
 * table from now on, and a marker in every stream that says where. */
static void
reader_switch(struct workers *ws)
{
	const struct sw_config *cfg;
	const struct submap *subs;
	struct dispatch *map;
	uint64_t gen = atomic_load(&ws->reload_gen);

	pthread_mutex_lock(&ws->mu);
	cfg = ws->rcfg;
	subs = ws->rsubs;
	map = ws->rmap;
	ws->rmap = NULL;
	pthread_mutex_unlock(&ws->mu);
	ws->reader_gen = gen;
	if (map) {
		pthread_mutex_lock(&ws->mu);
		ws->oldmap = ws->map;	/* freed once every worker has switched */
		pthread_mutex_unlock(&ws->mu);
		ws->map = map;
		ws->subs = subs;
		/* Ids are the old map's: the vote starts again. */
		for (unsigned i = 0; i < ws->n; i++)
			ws->w[i].hv_cand = ws->w[i].hv_prev = -1;
	}
	broadcast(ws, R_RELOAD, 0, cfg, subs, gen);
}

/* Boyer-Moore majority vote over each window of HEAVY_WINDOW packets of
 * a worker: a subscriber with more than half of them is the candidate at
 * the window's end; the next window counts that candidate's packets
 * exactly (its share), while it votes again. Two words a packet. */
void
workers_heavy_count(struct workers *ws, struct worker *wk, int32_t sub)
{
	if (sub == wk->hv_cand) {
		wk->hv_votes++;
	} else if (wk->hv_votes == 0) {
		wk->hv_cand = sub;
		wk->hv_votes = 1;
	} else {
		wk->hv_votes--;
	}
	wk->hv_hits += sub >= 0 && sub == wk->hv_prev;
	if (++wk->hv_total < HEAVY_WINDOW)
		return;
	const char *name = submap_name(ws->walk ? wk->subs : ws->subs, wk->hv_prev);
	double share = name ? (double)wk->hv_hits / (double)wk->hv_total : 0.0;

	pthread_mutex_lock(&ws->mu);
	snprintf(wk->heavy_name, sizeof wk->heavy_name, "%s", name ? name : "");
	wk->heavy_share = share;
	pthread_mutex_unlock(&ws->mu);
	/* More than half of one worker is more than the others can take
	 * from it: that worker, not the sensor, is the subscriber's limit. */
	if (name && share > 0.5 && ws->n > 1 && !wk->hv_warned) {
		wk->hv_warned = 1;
		log_warn("subscriber %s is %.0f%% of worker %u's packets: all of a subscriber's "
			 "traffic goes to one worker, so one core is its limit", name, 100.0 * share,
			 wk->idx);
	}
	wk->hv_prev = wk->hv_cand;
	wk->hv_total = wk->hv_votes = wk->hv_hits = 0;
	wk->hv_cand = -1;
}

static void
dispatch_pkt(struct workers *ws, const struct pkt *p, const uint8_t *data, uint32_t caplen)
{
	int32_t sub;
	unsigned i = dispatch_worker(ws->map, p, &sub);
	struct worker *wk = &ws->w[i];
	struct rec *r = reserve(ws, i, REC_PKT + caplen, ws->live);
	uint8_t *frame;

	if (!r) {
		atomic_fetch_add_explicit(&wk->ring_drops, 1, memory_order_relaxed);
		return;
	}
	frame = (uint8_t *)(r + 1);
	memcpy(frame, data, caplen);
	r->kind = R_PKT;
	r->p = *p;
	/* The summary points into the frame: now into the ring's copy. */
	if (p->l3)
		r->p.l3 = frame + (p->l3 - data);
	if (p->payload)
		r->p.payload = frame + (p->payload - data);
	ring_commit(wk->ring, REC_PKT + caplen);
	atomic_store_explicit(&wk->frames, atomic_load_explicit(&wk->frames, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	workers_heavy_count(ws, wk, sub);
}

/* Files: packet time leaves a step. Every worker expires what one thread
 * would have by the step's last packet, then closes the step at the
 * first packet of the next, as one thread does; and no worker begins
 * the next step before all have closed this one: the RRD writer adds up
 * the producers' amounts of a step only until all have committed it (a
 * faster one's next step would ride with it), and shard 0, which counts
 * the sensor's alerts, closes last, once every alert of the step is
 * raised. Twice a step, not a packet: the cost is nothing. */
static void
step_barrier(struct workers *ws, uint64_t ts_us)
{
	broadcast(ws, R_TICK_STEP, ws->gnow_us, NULL, NULL, 0);
	for (unsigned i = ws->n; i-- > 0;) {
		struct rec *r;

		if (!ws->w[i].started)
			continue;
		if (i == 0)	/* the others are done with the step */
			for (unsigned j = 1; j < ws->n; j++)
				if (ws->w[j].started)
					ring_wait_empty(ws->w[j].ring);
		r = reserve(ws, i, REC_EVENT, 0);
		r->kind = R_TICK_PKT;
		r->ts_us = ts_us;
		ring_commit(ws->w[i].ring, REC_EVENT);
		ring_flush(ws->w[i].ring);
	}
	if (ws->w[0].started)
		ring_wait_empty(ws->w[0].ring);
}

/* One frame, in the reader's thread. */
static void
reader_frame(struct workers *ws, decode_fn fn, const uint8_t *data, uint32_t caplen,
	     uint32_t wirelen, uint64_t ts_us)
{
	struct pkt p;
	enum decode_result dr;

	if (atomic_load_explicit(&ws->reload_gen, memory_order_relaxed) != ws->reader_gen)
		reader_switch(ws);
	ws->rd.packets++;
	dr = decode_frame(fn, data, caplen, wirelen, &p);
	if (dr != DEC_IP) {
		uint64_t *c[DEC_NRESULTS] = { [DEC_NONIP] = &ws->rd.non_ip,
					      [DEC_TRUNCATED] = &ws->rd.truncated,
					      [DEC_MALFORMED] = &ws->rd.malformed };
		(*c[(unsigned)dr < DEC_NRESULTS ? dr : DEC_MALFORMED])++;
		return;
	}
	p.ts_us = ts_us;
	if (!ws->live && ts_us > ws->gnow_us) {
		if (ws->gnow_us && ts_us / 1000000 / ws->step != ws->gnow_us / 1000000 / ws->step)
			step_barrier(ws, ts_us);
		ws->gnow_us = ts_us;
	}
	dispatch_pkt(ws, &p, data, caplen);
}

void
workers_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	      uint64_t ts_us, unsigned flags)
{
	reader_frame(ctx, fn, data, caplen, wirelen, ts_us);
}

static void
publish_reader(struct workers *ws)
{
	pthread_mutex_lock(&ws->mu);
	ws->pub_rd = ws->rd;
	ws->pub_cs = ws->cs;
	pthread_mutex_unlock(&ws->mu);
}

/* The end of the input: every worker at the same time, then done. */
static void
reader_end(struct workers *ws)
{
	if (ws->ended)
		return;
	ws->ended = 1;
	if (ws->live) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		broadcast(ws, R_TICK_WALL, (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000,
			  NULL, NULL, 0);
	} else if (ws->gnow_us) {
		broadcast(ws, R_TICK_PKT, ws->gnow_us, NULL, NULL, 0);
	}
	/* Shard 0 ends last, once every other worker's last step and its
	 * alerts are in (see step_barrier). */
	for (unsigned i = ws->n; i-- > 0;) {
		struct rec *r;

		if (!ws->w[i].started)
			continue;
		if (i == 0) {
			pthread_mutex_lock(&ws->mu);
			while (ws->nrunning > 1)
				pthread_cond_wait(&ws->acked, &ws->mu);
			pthread_mutex_unlock(&ws->mu);
		}
		r = reserve(ws, i, REC_EVENT, 0);
		r->kind = R_END;
		ring_commit(ws->w[i].ring, REC_EVENT);
		ring_flush(ws->w[i].ring);
	}
	publish_reader(ws);
}

/* Live, between batches: the batch becomes visible, the wall clock and
 * the drops go on, a reload or a stop is taken. */
static void
live_tick(void *ctx, uint64_t now_us, const struct capture_stats *st)
{
	struct workers *ws = ctx;

	atomic_store_explicit(&ws->kdrops, st->kernel_drops + st->if_drops, memory_order_relaxed);
	ws->cs = *st;
	if (atomic_load_explicit(&ws->reload_gen, memory_order_relaxed) != ws->reader_gen)
		reader_switch(ws);
	if (now_us >= ws->last_tick_us + TICK_US) {
		ws->last_tick_us = now_us;
		for (unsigned i = 0; i < ws->n; i++) {
			struct rec *r = ring_reserve(ws->w[i].ring, REC_EVENT);

			/* A full ring has work enough: the next tick will do. */
			if (!r)
				continue;
			r->kind = R_TICK_WALL;
			r->ts_us = now_us;
			ring_commit(ws->w[i].ring, REC_EVENT);
		}
		publish_reader(ws);
	}
	for (unsigned i = 0; i < ws->n; i++)
		ring_flush(ws->w[i].ring);
	if (atomic_load(&ws->stop))
		ws->rstop = 1;
}

static void *
reader_main(void *arg)
{
	struct workers *ws = arg;

	ws->co = (struct capture_opts){ .stop = &ws->rstop, .tick = live_tick };
	ws->rrc = capture_run(ws->cap, &ws->co, workers_frame, ws, &ws->cs);
	if (ws->rrc < 0)
		atomic_store(&ws->failed, 1);
	atomic_store_explicit(&ws->kdrops, ws->cs.kernel_drops + ws->cs.if_drops,
			      memory_order_relaxed);
	reader_end(ws);
	pthread_mutex_lock(&ws->mu);
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
	return NULL;
}

/* ---- a worker ---------------------------------------------------------- */

static uint64_t
all_drops(struct workers *ws)
{
	uint64_t sum = atomic_load_explicit(&ws->kdrops, memory_order_relaxed);

	for (unsigned i = 0; i < ws->n; i++)
		sum += atomic_load_explicit(&ws->w[i].ring_drops, memory_order_relaxed);
	return sum;
}

void
workers_publish(struct worker *wk)
{
	pthread_mutex_lock(&wk->all->mu);
	pipeline_get_stats(wk->pl, &wk->pub_ps);
	pipeline_get_flow_stats(wk->pl, &wk->pub_fs);
	pthread_mutex_unlock(&wk->all->mu);
}

void
workers_on_reload(struct worker *wk, const struct rec *r)
{
	struct workers *ws = wk->all;
	int rc = pipeline_reload(wk->pl, r->cfg, r->subs);

	pthread_mutex_lock(&ws->mu);
	wk->reload_done = r->gen;
	wk->reload_rc = rc;
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
}

/* Handles one record; returns 1 at the end. */
static int
on_record(struct worker *wk, const struct rec *r)
{
	switch (r->kind) {
	case R_PKT:
		pipeline_decoded(wk->pl, &r->p);
		return 0;
	case R_TICK_PKT:
		pipeline_advance(wk->pl, r->ts_us);
		return 0;
	case R_TICK_STEP:
		pipeline_advance(wk->pl, r->ts_us);
		pipeline_step_done(wk->pl);
		return 0;
	case R_TICK_WALL:
		/* Sensor-wide drops are shard 0's to report, once. */
		pipeline_set_drops(wk->pl, wk->idx == 0 ? all_drops(wk->all) : 0);
		pipeline_tick(wk->pl, r->ts_us);
		if (r->ts_us >= wk->last_pub_us + PUBLISH_US) {
			wk->last_pub_us = r->ts_us;
			workers_publish(wk);
		}
		return 0;
	case R_RELOAD:
		pipeline_drain(wk->pl);
		workers_on_reload(wk, r);
		return 0;
	default:
		return 1;
	}
}

/* A worker's end: its drops, its flows and partial step accounted and
 * committed in its own thread (the RRD writer knows its producers by
 * thread), its counters published, and the others told. */
void
workers_end(struct worker *wk, uint64_t drops)
{
	struct workers *ws = wk->all;

	pipeline_set_drops(wk->pl, drops);
	pipeline_finish(wk->pl);
	workers_publish(wk);
	pthread_mutex_lock(&ws->mu);
	ws->nrunning--;
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
}

static void *
worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *ws = wk->all;
	unsigned since = 0, idle = 0;
	uint32_t len;

	rrdw_bind_producer(wk->idx);
	for (;;) {
		const struct rec *r = ring_peek(wk->ring, &len);
		int end;

		if (!r) {
			/* Nothing more now: what was handed over is done. */
			pipeline_drain(wk->pl);
			ring_release(wk->ring);
			since = 0;
			if (++idle % 64 == 0 && !ws->live)
				workers_publish(wk);
			ring_wait_data(wk->ring, 100);
			continue;
		}
		end = on_record(wk, r);
		ring_next(wk->ring);
		if (end)
			break;
		if (++since >= RELEASE_EVERY) {
			pipeline_drain(wk->pl);
			ring_release(wk->ring);
			since = 0;
		}
	}
	pipeline_drain(wk->pl);
	ring_release(wk->ring);
	workers_end(wk, wk->idx == 0 ? all_drops(ws) : 0);
	return NULL;
}

/* Worker i's part of a sensor-wide bound (max_flows, nDPI's states): as
 * its part of the dispatch slots (worker 0, walking files, has fewer),
 * at least 1. */
static uint32_t
part(uint64_t total, const struct workers *ws, unsigned i)
{
	uint64_t p = ws->n == 1 ? total
		     : i == 0 ? total * ws->lead / DISPATCH_SLOTS
			      : total * (DISPATCH_SLOTS - ws->lead) / DISPATCH_SLOTS / (ws->n - 1);

	return p ? (uint32_t)p : 1;
}

int
workers_start(struct workers *ws, const struct pipeline_cfg *pc)
{
	struct pipeline_cfg c = *pc;
	int err = 0;

	ws->step = pc->step ? pc->step : 60;
	if ((ws->map = dispatch_new(pc->subs, ws->n, ws->lead)) == NULL)
		return -1;
	ws->subs = pc->subs;
	if (pc->flow_log) {
		if ((ws->flog = flowlog_open(pc->flow_log)) == NULL)
			return -1;
		flowlog_share(ws->flog);
		c.flow_log = NULL;
		c.flog = ws->flog;
	}
	if (pc->rrdw && rrdw_set_producers(pc->rrdw, ws->n) < 0) {
		log_err("rrd: %u worker threads: too many for the writer", ws->n);
		return -1;
	}
	for (unsigned i = 0; i < ws->n; i++) {
		c.max_flows = part(pc->max_flows, ws, i);
		c.dpi_states = part(pc->dpi_states, ws, i);
		c.shard = i;
		if ((ws->w[i].pl = pipeline_new(&c)) == NULL)
			return -1;
		if (i > 0)
			pipeline_share_dpi(ws->w[i].pl, ws->w[0].pl);
		ws->w[i].subs = pc->subs;
	}
	/* Signals are the main thread's: it waits for them. */
	for (unsigned i = 0; i < ws->n && !err; i++) {
		struct worker *wk = &ws->w[i];
		char name[16];

		/* Walking, worker 0's thread is the walk's too. */
		snprintf(name, sizeof name, "%s%u", ws->walk && i == 0 ? "walk" : "worker", i % 100);
		if ((err = thr_start(&wk->thr, ws->walk ? workers_walk_main : worker_main, wk, name)) != 0) {
			log_err("cannot start worker thread %u: %s", i, strerror(err));
			break;
		}
		wk->started = 1;
		pthread_mutex_lock(&ws->mu);
		ws->nrunning++;
		pthread_mutex_unlock(&ws->mu);
	}
	if (!err && ws->live) {
		if ((err = thr_start(&ws->rthr, reader_main, ws, "capture")) != 0)
			log_err("cannot start the capture thread: %s", strerror(err));
		else
			ws->rstarted = 1;
	}
	if (ws->walk)
		workers_walk_go(ws, !err);
	return err ? -1 : 0;
}

int
workers_reload(struct workers *ws, const struct sw_config *cfg, const struct submap *subs)
{
	struct dispatch *map, *old;
	uint64_t gen;
	unsigned ok = 0, done;

	if (ws->walk)
		return workers_walk_reload(ws, cfg, subs);
	if ((map = dispatch_new(subs, ws->n, ws->lead)) == NULL)
		return -1;
	pthread_mutex_lock(&ws->mu);
	ws->rcfg = cfg;
	ws->rsubs = subs;
	dispatch_free(ws->rmap);	/* one a reader never took */
	ws->rmap = map;
	gen = atomic_load(&ws->reload_gen) + 1;
	atomic_store(&ws->reload_gen, gen);
	pthread_mutex_unlock(&ws->mu);
	/* Reading files, the caller is the reader. */
	if (!ws->live && !ws->ended)
		reader_switch(ws);
	pthread_mutex_lock(&ws->mu);
	for (;;) {
		done = ok = 0;
		for (unsigned i = 0; i < ws->n; i++) {
			/* A worker that has ended switches no more. */
			if (ws->w[i].reload_done == gen || !ws->w[i].started) {
				done++;
				ok += ws->w[i].reload_done == gen && ws->w[i].reload_rc == 0;
			}
		}
		if (done == ws->n || ws->nrunning == 0 || atomic_load(&ws->failed) ||
		    (ws->live && ws->ended))
			break;
		pthread_cond_wait(&ws->acked, &ws->mu);
	}
	old = done == ws->n ? ws->oldmap : NULL;
	if (old)
		ws->oldmap = NULL;
	pthread_mutex_unlock(&ws->mu);
	dispatch_free(old);
	if (done < ws->n)
		return 1;	/* a thread ended meanwhile: it may still read either */
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
	atomic_store(&ws->stop, 1);
	ws->wstop = 1;	/* walking: done, or interrupted; either way they end */
	pthread_mutex_lock(&ws->mu);
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
	if (ws->walk)
		workers_walk_go(ws, 0);	/* threads that never began end */
	if (ws->rstarted) {
		pthread_join(ws->rthr, NULL);
		ws->rstarted = 0;
	} else if (!ws->walk) {
		/* Files (or a capture thread that never started): the
		 * caller's thread is the reader. */
		reader_end(ws);
	}
	for (unsigned i = 0; i < ws->n; i++) {
		if (!ws->w[i].started)
			continue;
		pthread_join(ws->w[i].thr, NULL);
		ws->w[i].started = 0;
	}
	if (ws->walk)
		ws->rrc = workers_walk_rc(ws);
	return ws->rrc < 0 ? -1 : 0;
}

int
workers_running(struct workers *ws)
{
	int n;

	pthread_mutex_lock(&ws->mu);
	n = ws->nrunning > 0;
	pthread_mutex_unlock(&ws->mu);
	return n;
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
	if (ps) {
		*ps = wk->pub_ps;
		if (i == 0) {	/* the frames no worker was handed */
			ps->non_ip += ws->pub_rd.non_ip;
			ps->truncated += ws->pub_rd.truncated;
			ps->malformed += ws->pub_rd.malformed;
			ps->packets += ws->pub_rd.non_ip + ws->pub_rd.truncated + ws->pub_rd.malformed;
		}
	}
	if (fs)
		*fs = wk->pub_fs;
	if (cs) {
		memset(cs, 0, sizeof *cs);
		cs->frames = atomic_load_explicit(&wk->frames, memory_order_relaxed);
		cs->kernel_drops = atomic_load_explicit(&wk->ring_drops, memory_order_relaxed);
		if (i == 0) {
			cs->kernel_drops += ws->pub_cs.kernel_drops;
			cs->if_drops = ws->pub_cs.if_drops;
		}
	}
	pthread_mutex_unlock(&ws->mu);
}

void
workers_heavy(struct workers *ws, unsigned i, char *name, size_t len, double *share)
{
	pthread_mutex_lock(&ws->mu);
	snprintf(name, len, "%s", ws->w[i].heavy_name);
	*share = ws->w[i].heavy_share;
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
	/* Worker 0 owns the nDPI caches the others borrow: freed last. */
	for (unsigned i = ws->n; i-- > 0;) {
		if (pipeline_free(ws->w[i].pl) < 0)
			rc = -1;
		ring_free(ws->w[i].ring);
	}
	workers_walk_free(ws->walkst);
	capture_close(ws->cap);
	if (ws->flog && flowlog_close(ws->flog) < 0)
		rc = -1;
	dispatch_free(ws->map);
	dispatch_free(ws->rmap);
	dispatch_free(ws->oldmap);
	pthread_cond_destroy(&ws->acked);
	pthread_mutex_destroy(&ws->mu);
	free(ws->w);
	free(ws);
	return rc;
}
