/*
 * workers_walk.c — threads = N reading files that are all mapped: no
 * thread hands packets out. Every worker reads every file through the
 * shared mapping (pcapmap_group), decodes each frame and keeps those the
 * dispatch gives it. A reader feeding N workers through rings spent as
 * much per packet as a worker (the read, the decode, the copy into a
 * ring), which capped two cores at 1.24 times one; walking, a worker
 * pays the walk and the decode of the others' packets and nothing is
 * copied. Each worker makes the same calls on its pipeline as the ring's
 * records did (workers.c): its packets in order, and at every step
 * boundary of packet time the same barrier.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "log.h"
#include "pcapmap.h"
#include "rrdw.h"
#include "workers_int.h"

struct workers *
workers_open_walk(unsigned n, const char *list, const struct capture_opts *co)
{
	struct workers *ws = workers_alloc(n, 0);

	if (!ws)
		return NULL;
	if ((ws->list = strdup(list)) == NULL || (ws->maps = pcapmap_group_new(n)) == NULL) {
		log_err("out of memory");
		workers_free(ws);
		return NULL;
	}
	ws->walk = 1;
	ws->wco = *co;
	ws->wco.stop = &ws->wstop;
	ws->wco.tick = NULL;
	return ws;
}

/* Drains the queue before a mapped file goes (capture_opts.release). */
static void walk_flush(struct worker *wk);

static void
walk_release(void *ctx)
{
	walk_flush(ctx);
	pipeline_drain(((struct worker *)ctx)->pl);
}

/* A reload asked for (reload_gen) that wk has not answered: it says how
 * many frames it will have had when it next looks (pos: a worker inside
 * a frame has counted it), and the switch comes where all have said, at
 * the furthest: no worker has passed it, and each switches between the
 * same two frames. Under mu. */
static void
walk_answer(struct worker *wk, uint64_t gen)
{
	struct workers *ws = wk->all;

	wk->seen_gen = gen;
	if (wk->pos > ws->rv_at)
		ws->rv_at = wk->pos;
	if (++ws->rv_in == ws->n)
		pthread_cond_broadcast(&ws->acked);
}

/* A reload asked for and not answered yet: answered. Under mu. */
static void
walk_answer_pending(struct worker *wk)
{
	uint64_t gen = atomic_load(&wk->all->reload_gen);

	if (gen != wk->seen_gen)
		walk_answer(wk, gen);
}

/* Waits on mu's condition, answering a reload asked for meanwhile (a
 * worker blocked in a barrier must not keep another from its switch).
 * Under mu. */
static void
walk_wait(struct worker *wk)
{
	walk_answer_pending(wk);
	pthread_cond_wait(&wk->all->acked, &wk->all->mu);
}

/* The switch to the new map, once wk is where all agreed. */
static void
walk_switch(struct worker *wk)
{
	struct workers *ws = wk->all;
	struct rec r = { .kind = R_RELOAD };
	struct dispatch *old = wk->map;

	/* The packet held back came before the switch. */
	walk_flush(wk);
	pthread_mutex_lock(&ws->mu);
	r.cfg = ws->rcfg;
	r.subs = ws->rsubs;
	r.gen = wk->switch_gen;
	wk->map = ws->rmaps[wk->idx];
	ws->rmaps[wk->idx] = NULL;
	pthread_mutex_unlock(&ws->mu);
	wk->subs = r.subs;
	wk->switch_gen = 0;
	wk->hv_cand = wk->hv_prev = -1;	/* ids are the old map's */
	dispatch_free(old);
	workers_on_reload(wk, &r);	/* pipeline_reload drains the queue first */
}

/* Between two frames: a reload asked for is answered (and waited on
 * until all have), and taken where agreed. */
static void
walk_reload(struct worker *wk)
{
	struct workers *ws = wk->all;
	uint64_t gen = atomic_load_explicit(&ws->reload_gen, memory_order_relaxed);

	if (gen != wk->agreed_gen) {
		pthread_mutex_lock(&ws->mu);
		gen = atomic_load(&ws->reload_gen);
		walk_answer_pending(wk);
		while (ws->rv_in < ws->n && !ws->wstop)
			pthread_cond_wait(&ws->acked, &ws->mu);
		wk->switch_at = ws->rv_at;
		wk->switch_gen = gen;
		wk->agreed_gen = gen;
		pthread_mutex_unlock(&ws->mu);
	}
	if (wk->switch_gen && wk->pos == wk->switch_at)
		walk_switch(wk);
}

/* Packet time leaves a step (see step_barrier): every worker expires to
 * the step's last packet and closes the step at the next one; worker 0
 * closes last, and none goes on before it has. */
static void
walk_barrier(struct worker *wk, uint64_t ts_us)
{
	struct workers *ws = wk->all;
	uint64_t g;

	pipeline_advance(wk->pl, wk->gnow_us);
	if (wk->idx != 0)
		pipeline_advance(wk->pl, ts_us);
	pthread_mutex_lock(&ws->mu);
	g = ws->bar_gen;
	if (wk->idx != 0) {
		if (++ws->bar_closed == ws->n - 1)
			pthread_cond_broadcast(&ws->acked);
		while (ws->bar_gen == g && !ws->wstop && !ws->walked)
			walk_wait(wk);
	} else {
		while (ws->bar_closed < ws->n - 1 && !ws->wstop && !ws->walked)
			walk_wait(wk);
		pthread_mutex_unlock(&ws->mu);
		pipeline_advance(wk->pl, ts_us);
		pthread_mutex_lock(&ws->mu);
		ws->bar_closed = 0;
		ws->bar_gen++;
		pthread_cond_broadcast(&ws->acked);
	}
	pthread_mutex_unlock(&ws->mu);
}

/* A decoded packet of the files, in their order: the clock, then the
 * packet if it is this worker's. */
static void
walk_take(struct worker *wk, const struct pkt *p, decode_fn fn, const uint8_t *data,
	  uint32_t caplen, uint32_t wirelen)
{
	struct workers *ws = wk->all;
	int32_t sub;

	if (p->ts_us > wk->gnow_us) {
		if (wk->gnow_us && p->ts_us / 1000000 / ws->step != wk->gnow_us / 1000000 / ws->step)
			walk_barrier(wk, p->ts_us);
		wk->gnow_us = p->ts_us;
	}
	if (dispatch_worker(wk->map, p, &sub) != wk->idx)
		return;
	if (data)	/* libpcap's buffer: the queue keeps a copy */
		pipeline_frame(wk->pl, fn, data, caplen, wirelen, p->ts_us);
	else
		pipeline_decoded(wk->pl, p);
	atomic_store_explicit(&wk->frames, atomic_load_explicit(&wk->frames, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	workers_heavy_count(ws, wk, sub);
	if (wk->pos - wk->pub_pos >= PUBLISH_FRAMES) {
		wk->pub_pos = wk->pos;
		workers_publish(wk);
	}
}

/* The packet held back (see walk_frame), now. */
static void
walk_flush(struct worker *wk)
{
	if (wk->has_pend) {
		wk->has_pend = 0;
		walk_take(wk, &wk->pend, NULL, NULL, 0, 0);
	}
}

/* One frame of the files, in worker wk's thread. Deciding whose packet
 * it is reads the dispatch memo at two places that are rarely in cache:
 * a mapped packet is decoded and those loads started now, and it is
 * taken at the next frame, once they have arrived. */
static void
walk_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	   uint64_t ts_us, unsigned flags)
{
	struct worker *wk = ctx;
	struct pkt p;

	walk_reload(wk);
	wk->pos++;
	if (decode_frame(fn, data, caplen, wirelen, &p) != DEC_IP) {
		/* Counted once, by worker 0, as one thread would. */
		if (wk->idx == 0)
			(flags & CAPTURE_F_MAPPED ? pipeline_frame_mapped : pipeline_frame)(
				wk->pl, fn, data, caplen, wirelen, ts_us);
		return;
	}
	p.ts_us = ts_us;
	if (!(flags & CAPTURE_F_MAPPED)) {
		/* A file read by libpcap after all: its buffer is reused. */
		walk_flush(wk);
		walk_take(wk, &p, fn, data, caplen, wirelen);
		return;
	}
	dispatch_prefetch(wk->map, &p);
	walk_flush(wk);
	wk->pend = p;
	wk->has_pend = 1;
}

void *
workers_walk_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *ws = wk->all;
	struct capture_opts co = ws->wco;

	rrdw_bind_producer(wk->idx);
	co.quiet = wk->idx != 0;
	co.progress = co.progress && wk->idx == 0;
	co.release = walk_release;
	co.maps = ws->maps;
	co.reader = wk->idx;
	wk->frc = capture_files(ws->list, &co, walk_frame, wk, &wk->fcs);
	walk_flush(wk);
	pipeline_drain(wk->pl);
	/* The end, as reader_end: every worker expires to the last packet,
	 * and worker 0 ends once the others have. A reload asked for before
	 * all were done is taken here, after the last frame. */
	pthread_mutex_lock(&ws->mu);
	ws->walked++;
	walk_answer_pending(wk);
	pthread_mutex_unlock(&ws->mu);
	walk_reload(wk);
	if (wk->gnow_us)
		pipeline_advance(wk->pl, wk->gnow_us);
	pthread_mutex_lock(&ws->mu);
	while (wk->idx == 0 && ws->nrunning > 1)
		pthread_cond_wait(&ws->acked, &ws->mu);
	pthread_mutex_unlock(&ws->mu);
	workers_end(wk, 0);
	return NULL;
}

int
workers_walk_reload(struct workers *ws, const struct sw_config *cfg, const struct submap *subs)
{
	struct dispatch **maps = calloc(ws->n, sizeof *maps);
	unsigned ok = 0, done = 0;
	uint64_t gen;

	for (unsigned i = 0; maps && i < ws->n; i++)
		if ((maps[i] = dispatch_new(subs, ws->n)) == NULL)
			break;
	if (!maps || !maps[ws->n - 1]) {
		for (unsigned i = 0; maps && i < ws->n; i++)
			dispatch_free(maps[i]);
		free(maps);
		return -1;
	}
	pthread_mutex_lock(&ws->mu);
	if (ws->walked || ws->nrunning < ws->n) {
		/* Not every worker would switch: none does. */
		pthread_mutex_unlock(&ws->mu);
		log_warn("reload: the replay is ending; the new configuration is not taken");
		for (unsigned i = 0; i < ws->n; i++)
			dispatch_free(maps[i]);
		free(maps);
		return -1;
	}
	ws->rcfg = cfg;
	ws->rsubs = subs;
	ws->rmaps = maps;
	ws->rv_at = 0;
	ws->rv_in = 0;
	gen = atomic_load(&ws->reload_gen) + 1;
	atomic_store(&ws->reload_gen, gen);
	pthread_cond_broadcast(&ws->acked);
	for (;;) {
		done = ok = 0;
		for (unsigned i = 0; i < ws->n; i++)
			if (ws->w[i].reload_done == gen) {
				done++;
				ok += ws->w[i].reload_rc == 0;
			}
		if (done == ws->n || ws->nrunning == 0 || ws->wstop)
			break;
		pthread_cond_wait(&ws->acked, &ws->mu);
	}
	ws->rmaps = NULL;
	pthread_mutex_unlock(&ws->mu);
	for (unsigned i = 0; i < ws->n; i++)
		dispatch_free(maps[i]);	/* those not taken */
	free(maps);
	if (done < ws->n)
		return 1;
	return ok == ws->n ? 0 : ok == 0 ? -1 : 1;
}
