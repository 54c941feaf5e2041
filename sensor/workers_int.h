/*
 * workers_int.h — what workers.c (the reader and its rings) and
 * workers_walk.c (workers that read the files themselves) share: the
 * threads' state, and the parts of a worker's life both kinds have.
 * Not for other modules: workers.h is the interface.
 */
#ifndef SPANWATCH_WORKERS_INT_H
#define SPANWATCH_WORKERS_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "pipeline.h"
#include "workers.h"

struct dispatch;
struct flowlog;
struct ring;
struct submap;
struct sw_config;

/* Bytes of ring per worker: a few thousand full-size frames, tens of
 * thousands of small ones (about 10 ms of a 10 Gbit/s link). */
#define RING_BYTES (8u << 20)
/* Records a worker handles before it gives their room back (and drains
 * its prefetch queue, whose packets point into them). */
#define RELEASE_EVERY 256
/* Counters are published for the main thread at most this often (live),
 * and every so many frames (walking files). */
#define PUBLISH_US 1000000
#define PUBLISH_FRAMES 65536
/* Packets of a worker over which its heaviest subscriber is judged. */
#define HEAVY_WINDOW 65536
/* Live: wall-clock ticks reach each worker at most this often. */
#define TICK_US 20000

/* R_TICK_STEP: packet time reached ts_us, the last of a step (files). */
enum rec_kind { R_PKT, R_TICK_PKT, R_TICK_STEP, R_TICK_WALL, R_RELOAD, R_END };

/* One ring record: a decoded packet and its frame (which p points into),
 * or an event. */
struct rec {
	uint32_t kind;
	uint32_t pad;
	uint64_t ts_us;			/* R_TICK_*: the time reached */
	uint64_t gen;			/* R_RELOAD */
	const struct sw_config *cfg;	/* R_RELOAD */
	const struct submap *subs;	/* R_RELOAD */
	struct pkt p;			/* R_PKT; the frame follows */
};
#define REC_EVENT ((uint32_t)offsetof(struct rec, p))
#define REC_PKT ((uint32_t)sizeof(struct rec))

struct worker {
	struct workers *all;
	unsigned idx;
	struct ring *ring;
	struct pipeline *pl;
	pthread_t thr;
	int started;
	_Atomic uint64_t ring_drops;	/* live: packets its full ring refused */
	_Atomic uint64_t frames;	/* packets handed to it */
	uint64_t last_pub_us;

	/* the reader's: the heavy-hitter vote over HEAVY_WINDOW packets */
	uint32_t hv_total, hv_votes, hv_hits;
	int32_t hv_cand, hv_prev;
	int hv_warned;

	/* walking files */
	const struct submap *subs;	/* the map its entries' ids are of */
	uint64_t pub_pos;		/* entries taken since its last publication */

	/* under all->mu */
	uint64_t reload_done;
	int reload_rc;
	struct pipeline_stats pub_ps;
	struct flow_stats pub_fs;
	char heavy_name[64];
	double heavy_share;
};

struct workers {
	unsigned n;
	unsigned lead;			/* worker 0's dispatch slots */
	struct worker *w;
	struct flowlog *flog;
	int live;
	unsigned step;			/* seconds, for packet-time boundaries */

	/* live capture */
	struct capture *cap;
	struct capture_opts co;
	volatile sig_atomic_t rstop;	/* the reader's stop (its thread only) */
	pthread_t rthr;
	int rstarted, rrc;
	_Atomic uint64_t kdrops;	/* the kernel's and the interface's */
	uint64_t last_tick_us;

	/* the reader's */
	struct dispatch *map;
	const struct submap *subs;	/* the map's */
	uint64_t gnow_us;		/* latest packet time */
	uint64_t reader_gen;
	int ended;			/* R_END sent */
	struct pipeline_stats rd;	/* frames that are not IP packets */
	struct capture_stats cs;	/* the live capture's */

	atomic_int stop, failed;
	_Atomic uint64_t reload_gen;
	pthread_mutex_t mu;
	pthread_cond_t acked;		/* a reload switched; a worker ended */
	unsigned nrunning;
	/* walking files (walk): a thread walks them, with the reader's map */
	int walk;
	struct walk *walkst;		/* workers_walk.c's */
	struct capture_opts wco;
	volatile sig_atomic_t wstop;

	/* under mu */
	const struct sw_config *rcfg;
	const struct submap *rsubs;
	unsigned bar_closed;		/* walking: workers past the step being closed */
	uint64_t bar_gen;
	struct dispatch *rmap, *oldmap;
	struct pipeline_stats pub_rd;
	struct capture_stats pub_cs;
};

/* n workers, with a ring each when rings (NULL: out of memory, logged). */
struct workers *workers_alloc(unsigned n, int rings);

/* The reader's (or a walking worker's) vote for the heaviest subscriber
 * of worker wk, one packet of subscriber sub. */
void workers_heavy_count(struct workers *ws, struct worker *wk, int32_t sub);

/* Worker wk's counters for the main thread. */
void workers_publish(struct worker *wk);

/* Worker wk switches to r's configuration and map (R_RELOAD) and says
 * so under mu. */
void workers_on_reload(struct worker *wk, const struct rec *r);

/* Worker wk's end: its flows and partial step accounted and committed in
 * its thread, drops its share of the sensor's, the others told. */
void workers_end(struct worker *wk, uint64_t drops);

/* workers_walk.c: a worker's thread (worker 0's walks the files); the
 * threads let go (go) once all have started, or told to end at once;
 * workers_reload and the files' answer (capture_files's) when walking;
 * and its state freed. */
void *workers_walk_main(void *wk);
void workers_walk_go(struct workers *ws, int go);
int workers_walk_reload(struct workers *ws, const struct sw_config *cfg, const struct submap *subs);
int workers_walk_rc(const struct workers *ws);
struct walk;
void workers_walk_free(struct walk *);

#endif
