/*
 * workers_walk.c — threads = N reading files that are all mapped: worker
 * 0's thread walks them, and takes its own packets as it goes; workers 1
 * to N-1 take theirs from chunks.
 *
 * The walk reads the records, decodes each frame and decides whose packet
 * it is. Worker 0's it hands to its own pipeline at once; another's it
 * writes down in a chunk: the decoded packet, pointing into the file's
 * mapping, and each worker's list of entries. Every other worker takes
 * its own entries of every chunk, in order. Nothing is copied but the
 * packet's summary (a reader feeding workers through rings copied every
 * frame, and cost as much per packet as a worker; workers that each
 * walked everything paid the walk and the decode of the others' packets:
 * both capped two cores near 1.3 times one). A walk in a thread of its
 * own made N + 1 threads for N cores, each given its turn by the
 * scheduler, and about 1.4 times one; walking in worker 0, N threads
 * fill N cores, and worker 0 is given fewer of the packets (walk_lead)
 * so that it is no busier than the others.
 *
 * Each worker makes the same calls on its pipeline as the ring's records
 * did (workers.c): its packets in order, at every step boundary of
 * packet time the same barrier, and a reload between the same two
 * frames of every stream. A chunk's slot is written again only once
 * every worker is done with it; a file is unmapped only once every
 * worker has let go of its frames.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "log.h"
#include "rrdw.h"
#include "workers_int.h"

/* Entries of a chunk: it is closed at CHUNK_FRAMES, with room for the
 * events one more frame may bring (a step, a reload, the packet held). */
#define CHUNK_FRAMES 512
#define CHUNK_ROOM (CHUNK_FRAMES + 8)
/* Chunks in flight: how far the walk may be ahead of the slowest worker
 * (32k frames, about 28 MB of the bench's file). When they are all in
 * flight, the walk sleeps until half of them are free again. */
#define NCHUNK 64
/* Entries ahead of the one taken whose lines are asked for (they were
 * written by another core). */
#define AHEAD 8
/* What walking a frame (the record, its decoding, the dispatch and the
 * entry) costs, as a part of what the rest of a packet's way costs:
 * make bench's walk and workers, 2026-12 (it follows the packet's cost:
 * 0.4 for a day when the collectors' rows were a miss a packet, 0.5
 * again once the volume counted flows, not packets, and 0.4 since the
 * walk asks in only the records' first lines: at 0.5 the walk's thread
 * used 1.02 s of CPU to worker 1's 1.14 s, at 0.4 1.12 s to 1.07 s). */
#define WALK_COST 0.4
/* Frames that are not in the mapping (a record libpcap's rules hold
 * back, a file libpcap reads after all) are copied here. */
#define ARENA_BYTES (1u << 20)

enum went_kind {
	W_PKT,		/* a decoded packet in the mapping */
	W_COPY,		/* an IP packet's frame copied into the arena */
	W_STEP,		/* packet time left a step: every worker */
	W_RELOAD,	/* the reload asked for: every worker */
};

/* An entry. A packet in the mapping keeps the walk's decoding of it: a
 * worker that decoded it again would read the frame's lines anew from
 * the walking core, which costs more than the summary's two lines. */
struct went {
	uint32_t kind;
	int32_t sub;			/* W_PKT, W_COPY: the subscriber it went by */
	union {
		struct pkt p;		/* W_PKT */
		struct {		/* W_COPY */
			decode_fn fn;
			const uint8_t *data;
			uint64_t ts_us;
			uint32_t caplen, wirelen;
		} f;
		struct {		/* W_STEP */
			uint64_t gnow_us, ts_us;
		} step;
	} u;
};

struct chunk {
	struct went e[CHUNK_ROOM];
	uint32_t n;
	uint32_t *nix;			/* by worker: its entries ... */
	uint16_t *ix;			/* ... [worker * CHUNK_ROOM + k] */
	uint8_t *arena;			/* allocated on first use */
	uint32_t arena_used;
	uint64_t off0;			/* where in the mapped file it began */
};

struct walk {
	struct workers *ws;
	struct worker *own;		/* worker 0, whose thread walks */
	struct capture_cursor *cur;
	struct capture_stats cs;
	struct chunk *ch;		/* NCHUNK */
	int open;			/* ch[pub % NCHUNK] is being written */
	struct pkt pend;		/* a packet held back a frame (walk_frame) */
	int has_pend;
	uint64_t gnow_us;		/* latest packet time */
	uint64_t placed_gen;		/* the reload last written down */

	_Atomic uint64_t pub;		/* chunks written */
	_Atomic uint64_t *done;		/* by worker (from 1): chunks it has taken */
	_Atomic uint64_t *drained;	/* by worker (from 1): ... and let go of */
	/* The walk sleeps until every worker's done (or drained) is at
	 * least wake_at. */
	atomic_int waiting, wait_drain;
	_Atomic uint64_t wake_at;
	/* under ws->mu */
	int finished, go;
	int rc;				/* capture_cursor_free's */
};

static uint64_t lowest(const struct walk *w, _Atomic uint64_t *by);
static void walk_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen,
		       uint32_t wirelen, uint64_t ts_us, unsigned flags);
static void walk_release(void *ctx);

void
workers_walk_free(struct walk *w)
{
	if (!w)
		return;
	for (unsigned i = 0; w->ch && i < NCHUNK; i++) {
		free(w->ch[i].nix);
		free(w->ch[i].ix);
		free(w->ch[i].arena);
	}
	capture_cursor_free(w->cur);
	free(w->ch);
	free(w->done);
	free(w->drained);
	free(w);
}

/* Worker 0's part of the dispatch slots, for it to be as busy as each
 * of the others: walking every packet (WALK_COST of a packet each) and
 * taking its part l of them, where the others take (1 - l) / (n - 1):
 * WALK_COST + l = (1 - l) / (n - 1). From three workers on, the walk
 * alone is about as much as one worker's part, and worker 0 keeps
 * only the frames that are not IP packets. */
static unsigned
walk_lead(unsigned n)
{
	double l = (1.0 - WALK_COST * (n - 1)) / n;

	return l > 0 ? (unsigned)(l * DISPATCH_SLOTS + 0.5) : 0;
}

struct workers *
workers_open_walk(unsigned n, const char *list, const struct capture_opts *co)
{
	struct workers *ws = n >= 2 ? workers_alloc(n, 0) : NULL;
	struct walk *w;

	if (!ws)
		return NULL;
	ws->walk = 1;
	ws->lead = walk_lead(n);
	ws->wco = *co;
	ws->wco.stop = &ws->wstop;
	ws->wco.tick = NULL;
	ws->wco.release = walk_release;
	if ((w = ws->walkst = calloc(1, sizeof *w)) == NULL || (w->ch = calloc(NCHUNK, sizeof *w->ch)) == NULL ||
	    (w->done = calloc(n, sizeof *w->done)) == NULL ||
	    (w->drained = calloc(n, sizeof *w->drained)) == NULL)
		goto oom;
	for (unsigned i = 0; i < NCHUNK; i++)
		if ((w->ch[i].nix = calloc(n, sizeof *w->ch[i].nix)) == NULL ||
		    (w->ch[i].ix = calloc((size_t)n * CHUNK_ROOM, sizeof *w->ch[i].ix)) == NULL)
			goto oom;
	w->ws = ws;
	w->own = &ws->w[0];
	if ((w->cur = capture_cursor_new(list, &ws->wco, walk_frame, w, &w->cs)) == NULL)
		goto oom;
	return ws;
oom:
	log_err("out of memory for %u walking workers", n);
	workers_free(ws);
	return NULL;
}

void
workers_walk_go(struct workers *ws, int go)
{
	pthread_mutex_lock(&ws->mu);
	if (ws->walkst->go == 0)
		ws->walkst->go = go ? 1 : -1;
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
}

/* ---- taking a chunk's entries (every worker) ---------------------------- */

/* Packet time leaves a step (see step_barrier in workers.c): every
 * worker expires to the step's last packet and closes the step at the
 * next one; worker 0 closes last, and none goes on before it has. */
static void
walk_barrier(struct worker *wk, uint64_t gnow_us, uint64_t ts_us)
{
	struct workers *ws = wk->all;
	uint64_t g;

	pipeline_advance(wk->pl, gnow_us);
	pipeline_step_done(wk->pl);
	if (wk->idx != 0)
		pipeline_advance(wk->pl, ts_us);
	pthread_mutex_lock(&ws->mu);
	g = ws->bar_gen;
	if (wk->idx != 0) {
		if (++ws->bar_closed == ws->n - 1)
			pthread_cond_broadcast(&ws->acked);
		while (ws->bar_gen == g && !ws->wstop)
			pthread_cond_wait(&ws->acked, &ws->mu);
	} else {
		while (ws->bar_closed < ws->n - 1 && !ws->wstop)
			pthread_cond_wait(&ws->acked, &ws->mu);
		pthread_mutex_unlock(&ws->mu);
		pipeline_advance(wk->pl, ts_us);
		pthread_mutex_lock(&ws->mu);
		ws->bar_closed = 0;
		ws->bar_gen++;
		pthread_cond_broadcast(&ws->acked);
	}
	pthread_mutex_unlock(&ws->mu);
}

/* The reload written down here: the new configuration from this frame on
 * (the walk took the new table there, for the frames after it). */
static void
walk_switch(struct worker *wk)
{
	struct workers *ws = wk->all;
	struct rec r = { .kind = R_RELOAD };

	pthread_mutex_lock(&ws->mu);
	r.cfg = ws->rcfg;
	r.subs = ws->rsubs;
	r.gen = atomic_load(&ws->reload_gen);
	pthread_mutex_unlock(&ws->mu);
	wk->subs = r.subs;
	wk->hv_cand = wk->hv_prev = -1;	/* ids are the old map's */
	workers_on_reload(wk, &r);	/* pipeline_reload drains the queue first */
}

static void
count(struct worker *wk, int32_t sub)
{
	atomic_store_explicit(&wk->frames, atomic_load_explicit(&wk->frames, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	workers_heavy_count(wk->all, wk, sub);
}

/* Worker wk's entries of chunk seq. */
static void
take_chunk(struct worker *wk, uint64_t seq)
{
	struct walk *w = wk->all->walkst;
	const struct chunk *c = &w->ch[seq % NCHUNK];
	const uint16_t *ix = c->ix + (size_t)wk->idx * CHUNK_ROOM;
	uint32_t n = c->nix[wk->idx];

	for (uint32_t k = 0; k < n; k++) {
		const struct went *e = &c->e[ix[k]];

		if (k + AHEAD < n) {
			const char *a = (const char *)&c->e[ix[k + AHEAD]];

			__builtin_prefetch(a);
			__builtin_prefetch(a + sizeof(struct went) - 1);
		}

		switch (e->kind) {
		case W_PKT:
			pipeline_decoded(wk->pl, &e->u.p);
			count(wk, e->sub);
			break;
		case W_COPY:
			pipeline_frame(wk->pl, e->u.f.fn, e->u.f.data, e->u.f.caplen, e->u.f.wirelen,
				       e->u.f.ts_us);
			count(wk, e->sub);
			break;
		case W_STEP:
			walk_barrier(wk, e->u.step.gnow_us, e->u.step.ts_us);
			break;
		case W_RELOAD:
			walk_switch(wk);
			break;
		}
	}
	wk->pub_pos += n;
	if (wk->pub_pos >= PUBLISH_FRAMES) {
		wk->pub_pos = 0;
		workers_publish(wk);
	}
	/* Sequentially consistent, as the walk's look at it (walk_wait):
	 * either it sees this chunk taken, or this sees it waiting. */
	atomic_store(&w->done[wk->idx], seq + 1);
	if (atomic_load(&w->waiting) && !atomic_load(&w->wait_drain) &&
	    lowest(w, w->done) >= atomic_load(&w->wake_at)) {
		pthread_mutex_lock(&wk->all->mu);
		pthread_cond_broadcast(&wk->all->acked);
		pthread_mutex_unlock(&wk->all->mu);
	}
}

/* Takes every chunk written so far; then lets go of their frames (the
 * pipeline's queue drained), and says so. */
static void
catch_up(struct worker *wk)
{
	struct walk *w = wk->all->walkst;
	uint64_t seq = atomic_load_explicit(&w->done[wk->idx], memory_order_relaxed);
	uint64_t pub;
	int took = 0;

	while (seq < (pub = atomic_load_explicit(&w->pub, memory_order_acquire))) {
		for (; seq < pub; seq++)
			take_chunk(wk, seq);
		took = 1;
	}
	if (took || atomic_load_explicit(&w->drained[wk->idx], memory_order_relaxed) != seq) {
		pipeline_drain(wk->pl);
		atomic_store(&w->drained[wk->idx], seq);
		if (atomic_load(&w->waiting) && atomic_load(&w->wait_drain)) {
			pthread_mutex_lock(&wk->all->mu);
			pthread_cond_broadcast(&wk->all->acked);
			pthread_mutex_unlock(&wk->all->mu);
		}
	}
}

/* The lowest of the workers' counters (done or drained), but worker 0's
 * (it walks). */
static uint64_t
lowest(const struct walk *w, _Atomic uint64_t *by)
{
	uint64_t low = UINT64_MAX;

	for (unsigned i = 1; i < w->ws->n; i++) {
		uint64_t v = atomic_load(&by[i]);

		low = v < low ? v : low;
	}
	return low;
}

/* ---- writing chunks (the walk) ------------------------------------------ */

/* Waits until every worker has taken the chunks below until, or (drain)
 * let go of them too; or the workers were told to end at once. */
static void
walk_wait(struct walk *w, uint64_t until, int drain)
{
	struct workers *ws = w->ws;
	_Atomic uint64_t *by = drain ? w->drained : w->done;

	pthread_mutex_lock(&ws->mu);
	atomic_store(&w->wake_at, until);
	atomic_store(&w->wait_drain, drain);
	atomic_store(&w->waiting, 1);
	while (lowest(w, by) < until && w->go > 0)
		pthread_cond_wait(&ws->acked, &ws->mu);
	atomic_store(&w->waiting, 0);
	pthread_mutex_unlock(&ws->mu);
}

/* The chunk being written, given to the workers. */
static void
chunk_close(struct walk *w)
{
	struct workers *ws = w->ws;

	if (!w->open)
		return;
	w->open = 0;
	pthread_mutex_lock(&ws->mu);
	atomic_store_explicit(&w->pub, atomic_load(&w->pub) + 1, memory_order_release);
	pthread_cond_broadcast(&ws->acked);
	pthread_mutex_unlock(&ws->mu);
}

/* A chunk with room for events and a frame (copied into the arena when
 * copy, of len bytes), closing the one being written if it has not;
 * NULL when out of memory (logged). */
static struct chunk *
chunk_room(struct walk *w, int copy, uint32_t len)
{
	uint64_t pub = atomic_load(&w->pub);
	struct chunk *c = &w->ch[pub % NCHUNK];

	if (w->open && c->n < CHUNK_FRAMES && copy && !c->arena && (c->arena = malloc(ARENA_BYTES)) == NULL) {
		log_err("out of memory for a walking chunk's copies");
		return NULL;
	}
	if (w->open && c->n < CHUNK_FRAMES && (!copy || c->arena_used + len <= ARENA_BYTES))
		return c;
	chunk_close(w);
	pub = atomic_load(&w->pub);
	c = &w->ch[pub % NCHUNK];
	if (pub >= NCHUNK && lowest(w, w->done) < pub - NCHUNK + 1)
		walk_wait(w, pub - NCHUNK / 2 + 1, 0);
	if (copy && !c->arena && (c->arena = malloc(ARENA_BYTES)) == NULL) {
		log_err("out of memory for a walking chunk's copies");
		return NULL;
	}
	c->n = 0;
	memset(c->nix, 0, w->ws->n * sizeof *c->nix);
	c->arena_used = 0;
	c->off0 = capture_cursor_pos(w->cur);
	w->open = 1;
	/* What the slowest worker has still to take stays mapped. */
	capture_cursor_hold(w->cur, w->ch[lowest(w, w->done) % NCHUNK].off0);
	return c;
}

/* A new entry of c, for worker i (every worker but 0 when i is -1). */
static struct went *
entry(struct walk *w, struct chunk *c, int i)
{
	uint16_t k = (uint16_t)c->n++;

	if (i >= 0)
		c->ix[(size_t)i * CHUNK_ROOM + c->nix[i]++] = k;
	else
		for (unsigned j = 1; j < w->ws->n; j++)
			c->ix[(size_t)j * CHUNK_ROOM + c->nix[j]++] = k;
	return &c->e[k];
}

/* A frame's bytes in c's arena. */
static const uint8_t *
copy_in(struct chunk *c, const uint8_t *data, uint32_t caplen)
{
	uint8_t *to = c->arena + c->arena_used;

	if (caplen)
		memcpy(to, data, caplen);
	c->arena_used += caplen;
	return to;
}

/* Worker 0's packets and frames are taken as they are walked, and its
 * counters published every so many. */
static void
own_count(struct walk *w, int32_t sub)
{
	count(w->own, sub);
	if (++w->own->pub_pos >= PUBLISH_FRAMES) {
		w->own->pub_pos = 0;
		workers_publish(w->own);
	}
}

/* Packet time left a step at ts_us: the others told, and worker 0 at
 * the barrier with them. */
static void
walk_step(struct walk *w, uint64_t ts_us)
{
	struct chunk *c = chunk_room(w, 0, 0);
	struct went *e;

	if (!c)
		return;
	e = entry(w, c, -1);
	e->kind = W_STEP;
	e->u.step.gnow_us = w->gnow_us;
	e->u.step.ts_us = ts_us;
	chunk_close(w);
	walk_barrier(w->own, w->gnow_us, ts_us);
}

/* A decoded packet in the files' order: the clock (a step left is an
 * event for all), then the packet, for its worker: as decoded when it
 * lies in the mapping, else its frame (fn, data) copied. */
static void
walk_take(struct walk *w, const struct pkt *p, decode_fn fn, const uint8_t *data, uint32_t caplen,
	  uint32_t wirelen, int mapped)
{
	unsigned step = w->ws->step;
	struct chunk *c;
	struct went *e;
	int32_t sub;
	unsigned i;

	if (p->ts_us > w->gnow_us) {
		if (w->gnow_us && p->ts_us / 1000000 / step != w->gnow_us / 1000000 / step)
			walk_step(w, p->ts_us);
		w->gnow_us = p->ts_us;
	}
	i = dispatch_worker(w->ws->map, p, &sub);
	if (i == 0) {
		if (mapped)
			pipeline_decoded(w->own->pl, p);
		else
			pipeline_frame(w->own->pl, fn, data, caplen, wirelen, p->ts_us);
		own_count(w, sub);
		return;
	}
	if ((c = chunk_room(w, !mapped, caplen)) == NULL)
		return;
	e = entry(w, c, (int)i);
	e->sub = sub;
	if (mapped) {
		e->kind = W_PKT;
		e->u.p = *p;
		return;
	}
	e->kind = W_COPY;
	e->u.f.fn = fn;
	e->u.f.data = copy_in(c, data, caplen);
	e->u.f.ts_us = p->ts_us;
	e->u.f.caplen = caplen;
	e->u.f.wirelen = wirelen;
}

/* The packet held back (see walk_frame), now. */
static void
walk_flush(struct walk *w)
{
	if (w->has_pend) {
		w->has_pend = 0;
		walk_take(w, &w->pend, NULL, NULL, 0, 0, 1);
	}
}

/* A reload asked for and not written down yet: written down here, and the
 * walk's new table taken for what it decides from now on; 1 when so
 * (worker 0 is then to switch, out of mu). Under mu, with room in c. */
static int
walk_place_reload(struct walk *w, struct chunk *c)
{
	struct workers *ws = w->ws;
	uint64_t gen = atomic_load(&ws->reload_gen);
	struct went *e;

	if (gen == w->placed_gen || !ws->rmap)
		return 0;
	w->placed_gen = gen;
	dispatch_free(ws->map);
	ws->map = ws->rmap;
	ws->rmap = NULL;
	e = entry(w, c, -1);
	e->kind = W_RELOAD;
	return 1;
}

static void
walk_reload(struct walk *w)
{
	struct workers *ws = w->ws;
	struct chunk *c;
	int placed;

	if (atomic_load_explicit(&ws->reload_gen, memory_order_relaxed) == w->placed_gen)
		return;
	walk_flush(w);
	if ((c = chunk_room(w, 0, 0)) == NULL)
		return;
	pthread_mutex_lock(&ws->mu);
	placed = walk_place_reload(w, c);
	pthread_mutex_unlock(&ws->mu);
	if (placed)
		walk_switch(w->own);
}

/* One frame of the files, in the walker's thread. Deciding whose packet
 * it is reads the dispatch memo at two places that are rarely in cache:
 * a mapped packet is decoded and those loads started now, and it is
 * decided at the next frame, once they have arrived. */
static void
walk_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	   uint64_t ts_us, unsigned flags)
{
	struct walk *w = ctx;
	struct pkt p;

	walk_reload(w);
	if (decode_frame(fn, data, caplen, wirelen, &p) != DEC_IP) {
		/* Counted once, by worker 0, as one thread would. */
		walk_flush(w);
		if (flags & CAPTURE_F_MAPPED)
			pipeline_frame_mapped(w->own->pl, fn, data, caplen, wirelen, ts_us);
		else
			pipeline_frame(w->own->pl, fn, data, caplen, wirelen, ts_us);
		return;
	}
	p.ts_us = ts_us;
	if (!(flags & CAPTURE_F_MAPPED)) {
		/* A copy: libpcap's buffer, or a record held back. */
		walk_flush(w);
		walk_take(w, &p, fn, data, caplen, wirelen, 0);
		return;
	}
	dispatch_prefetch(w->ws->map, &p);
	walk_flush(w);
	w->pend = p;
	w->has_pend = 1;
}

/* A mapped file ends: its frames go with it, so every worker first lets
 * go of them (capture_opts.release). */
static void
walk_release(void *ctx)
{
	struct walk *w = ctx;

	walk_flush(w);
	chunk_close(w);
	pipeline_drain(w->own->pl);
	walk_wait(w, atomic_load(&w->pub), 1);
}

/* The walk's end: the last chunk, with a reload asked for meanwhile
 * (taken after the last frame), and the answer. */
static void
walk_finish(struct walk *w)
{
	struct workers *ws = w->ws;
	struct chunk *c;
	int rc, placed = 0;

	walk_flush(w);
	c = chunk_room(w, 0, 0);
	rc = capture_cursor_free(w->cur);
	w->cur = NULL;
	pthread_mutex_lock(&ws->mu);
	if (c)
		placed = walk_place_reload(w, c);
	w->rc = rc;
	w->finished = 1;
	pthread_mutex_unlock(&ws->mu);
	chunk_close(w);
	if (placed)
		walk_switch(w->own);
}

/* A worker's thread: worker 0's walks the files, the others take every
 * chunk's entries for them, as they come. */
void *
workers_walk_main(void *arg)
{
	struct worker *wk = arg;
	struct workers *ws = wk->all;
	struct walk *w = ws->walkst;
	int go;

	rrdw_bind_producer(wk->idx);
	pthread_mutex_lock(&ws->mu);
	while (w->go == 0)
		pthread_cond_wait(&ws->acked, &ws->mu);
	go = w->go > 0;
	pthread_mutex_unlock(&ws->mu);
	if (wk->idx == 0) {
		if (go)
			capture_cursor_run(w->cur);
		walk_finish(w);
	}
	while (go && wk->idx != 0) {
		catch_up(wk);
		pthread_mutex_lock(&ws->mu);
		if (atomic_load(&w->pub) == atomic_load(&w->done[wk->idx])) {
			if (w->finished) {
				pthread_mutex_unlock(&ws->mu);
				break;
			}
			pthread_cond_wait(&ws->acked, &ws->mu);
		}
		pthread_mutex_unlock(&ws->mu);
	}
	/* The end, as reader_end: every worker expires to the last packet,
	 * and worker 0 ends once the others have. */
	if (go && w->gnow_us)
		pipeline_advance(wk->pl, w->gnow_us);
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
	struct dispatch *map = dispatch_new(subs, ws->n, ws->lead);
	unsigned ok = 0, done = 0;
	uint64_t gen;

	if (!map)
		return -1;
	pthread_mutex_lock(&ws->mu);
	if (ws->walkst->finished || ws->nrunning < ws->n) {
		/* Not every worker would switch: none does. */
		pthread_mutex_unlock(&ws->mu);
		log_warn("reload: the replay is ending; the new configuration is not taken");
		dispatch_free(map);
		return -1;
	}
	ws->rcfg = cfg;
	ws->rsubs = subs;
	ws->rmap = map;
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
	map = ws->rmap;	/* NULL once the walk took it */
	ws->rmap = NULL;
	pthread_mutex_unlock(&ws->mu);
	dispatch_free(map);
	if (done < ws->n)
		return 1;
	return ok == ws->n ? 0 : ok == 0 ? -1 : 1;
}

int
workers_walk_rc(const struct workers *ws)
{
	return ws->walkst->rc;
}
