/*
 * rrdw.h — the RRD writer. Owns the running totals behind the counting
 * data sources of RRD_DIR/sensor.rrd and RRD_DIR/subscribers/NAME.rrd (their
 * schema is rrdschema.h's), and the thread that writes them, directly
 * through librrd or through rrdcached (rrdw_back.c, rrdw_writer.c).
 *
 * Collectors hand in, from the capture thread, what happened in one step:
 * the amount for a counting data source (a delta) and the current value for
 * a gauge. The writer adds deltas to a running total per file and queues
 * (file, step end, totals) to its thread; files hold DERIVE over those
 * totals. So an update that is dropped (full queue) or lost (rrdcached
 * restarting) loses no byte: the next update carries the total and the
 * amount lands in, or spreads over, the neighbouring steps.
 *
 * Every function is for the capture thread (the one that calls rrdw_open),
 * except the schema helpers, which are pure. With several capture threads
 * (rrdw_set_producers), rrdw_update and rrdw_commit may be called from all
 * of them; the rest stays with one thread at a time (rrdw_flush and
 * rrdw_close after the producers have stopped).
 */
#ifndef SPANWATCH_RRDW_H
#define SPANWATCH_RRDW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "rrdschema.h"

struct rrdw_cfg {
	const char *dir;	/* RRD_DIR; through rrdcached over TCP, the path
				 * as the daemon sees it (relative to its -b) */
	const char *rrdcached;	/* NULL or "": write directly; "unix:/path",
				 * "/path", "host", "host:port", "[v6addr]:port" */
	unsigned step;		/* seconds; must divide 86400 */
	int block;		/* 1: a full queue makes rrdw_update/commit wait
				 * (reading files), except while rrdcached is
				 * unreachable; 0: it drops the snapshot and the
				 * next carries the totals (live capture) */
	size_t queue_len;	/* snapshots in flight; 0 = 65536 */
	size_t max_files;	/* 0 = 1048576 */
};

struct rrdw;

/* Creates RRD_DIR and RRD_DIR/subscribers (directly, or over a local
 * rrdcached socket), connects to rrdcached if asked, starts the writer
 * thread. Returns NULL after logging why: bad step, directory not
 * writable, malformed or unreachable rrdcached address. */
struct rrdw *rrdw_open(const struct rrdw_cfg *cfg);

/* Adds one step's worth for one file: values[] holds deltas for counting
 * data sources and the value for gauges (RRDW_KEEP: unchanged), indexed by
 * rrdw_sensor_ds or rrdw_sub_ds. name is the subscriber, NULL for the
 * sensor. step_end is the end of the step (a time inside the step is taken
 * as that step's end). Several calls for the same file and step add up, so
 * each collector may report its own data sources. The first call for a
 * later step commits the earlier one. Returns 0, or -1 for a bad name or
 * a full file table (logged once, counted). */
int rrdw_update(struct rrdw *w, enum rrdw_kind kind, const char *name,
    time_t step_end, const uint64_t *values);

/* Says every step ending at or before step_end is complete: queues what
 * rrdw_update gathered and lets the writer keep silent files alive (so a
 * silent subscriber reads 0, not unknown). Call it once per step, also for
 * steps without traffic. Returns 0, or -1 if snapshots had to be dropped
 * (counted; their totals go with the next commit). */
int rrdw_commit(struct rrdw *w, time_t step_end);

/* Commits what is pending and waits until the writer has written all of it
 * (with rrdcached: and FLUSHed those files, so rrdtool fetch sees them).
 * Returns 0, or -1 if rrdcached is unreachable (the updates stay queued). */
int rrdw_flush(struct rrdw *w);

/* The end of a run: brings every file written in this run up to the last
 * committed step (silent ones read 0 until then), writes and flushes
 * everything, and stops the writer. Bounded: once called, rrdcached gets
 * at most 10 s without an answer before what it has not taken is given
 * up. Then says, at any verbosity, how many step updates of how many
 * files (the first few named) could not be written, and how many steps a
 * replay skipped because the files already held later ones. Returns 0, or
 * -1 if counted data was not written (the run must not exit 0). Once;
 * later calls return the same. */
int rrdw_finish(struct rrdw *w);

/* rrdw_finish if not done yet, then frees everything; NULL is fine.
 * Returns what rrdw_finish returned. */
int rrdw_close(struct rrdw *w);

#define RRDW_MAX_PRODUCERS 16

/* Several capture threads, each with its own pipeline, feed this writer
 * (live capture with [capture] threads > 1). Call once, before any producer
 * thread runs; n is 1..RRDW_MAX_PRODUCERS (1 is the default and changes
 * nothing). With n > 1, rrdw_update and rrdw_commit serialise on a mutex
 * of their own; a step is queued only once every producer has committed it
 * (an update for a later step no longer commits the earlier one by
 * itself); counting data sources add up over the producers, and a gauge of
 * sensor.rrd is the sum of each producer's latest value (subscriber files
 * have no gauges). Returns 0, or -1 for a bad n. */
int rrdw_set_producers(struct rrdw *w, unsigned n);

/* Says that the calling thread is producer idx (0..n-1) from now on: each
 * producer thread calls it once before its first rrdw_update. A thread that
 * never calls it is producer 0. */
void rrdw_bind_producer(unsigned idx);

/* A second consumer of the steps (the ClickHouse writer, chw.h). row gets
 * each file's amounts as they are queued for its RRD file: deltas since the
 * last call for that file (the step's amount, or with amounts of earlier
 * steps that could not be queued), gauges as values (RRDW_KEEP never
 * reaches it: 0); name is NULL for the sensor. done follows the rows of one
 * queueing with their step end. Both run on a producer thread, under the
 * writer's queue lock: they must only copy. Set before the first update. */
struct rrdw_tap {
	void (*row)(void *arg, enum rrdw_kind kind, const char *name, time_t ts,
	    const uint64_t *amounts);
	void (*done)(void *arg, time_t ts);
	void *arg;
};

void rrdw_set_tap(struct rrdw *w, const struct rrdw_tap *tap);

struct rrdw_stats {
	uint64_t updates;	/* step updates written */
	uint64_t extra;		/* writes the writer added: gap fills, restart
				 * markers, keepalives of silent files */
	uint64_t dropped;	/* snapshots not queued (queue full, rrdcached
				 * down); their amounts went with a later one */
	uint64_t failed;	/* step updates refused by librrd/rrdcached,
				 * refused by us (a FIFO, a symbolic link out
				 * of the folder) or still undelivered at the
				 * end: lost */
	uint64_t skipped;	/* step updates not newer than their file's
				 * last update (after a restart); carried */
	uint64_t late;		/* rrdw_update calls for a committed step */
	uint64_t rejected;	/* rrdw_update calls refused */
	uint64_t created;	/* files created */
	uint64_t outages;	/* times rrdcached became unreachable */
	size_t files;		/* subscriber files known */
	size_t queue_len;
	size_t queue_hwm;	/* most snapshots queued at once */
};

void rrdw_get_stats(struct rrdw *w, struct rrdw_stats *st);

#endif
