/*
 * chw.h — the ClickHouse writer (SPEC "Beyond one machine: ClickHouse"):
 * every step's subscriber and sensor rows and every alert, batched once a
 * step, spooled on disk, and inserted over ClickHouse's HTTP interface
 * (libcurl, TabSeparated: what 18.16 and every later version accept).
 *
 * Rows come from the RRD writer's tap (rrdw_set_tap: the amounts it queues
 * for the RRD files, so both stores hold the same figures) and the alerts'
 * tap (alerts_set_tap), on their threads; they are only copied there. A
 * thread of this module owns the rest: it writes each step's batch to the
 * spool folder, then sends the spool in order, oldest first, and deletes
 * a batch once ClickHouse has taken all of it.
 *
 * Exactly once: every batch has a random 64-bit id, written into each of
 * its rows (column batch) and kept with it in the spool. A batch that has
 * been tried before (a timeout, a refusal, a file left by an earlier run)
 * is not simply sent again: for each table the writer first asks how many
 * rows of that id it holds, and inserts only where the answer is 0 (one
 * INSERT of one step is one block, which ClickHouse writes whole or not
 * at all). The roll-ups (materialized views) see each row once for the
 * same reason.
 *
 * Nothing is dropped silently: a batch that does not fit in [clickhouse]
 * spool_max is counted (batches and rows), logged, and raised as the
 * alert clickhouse_spool_full (step, rows, spool_max).
 */
#ifndef SPANWATCH_CHW_H
#define SPANWATCH_CHW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "alert.h"
#include "rrdw.h"

struct chw_cfg {
	const char *url;	/* http://HOST:PORT/ (a path and query are kept) */
	const char *database;	/* created when missing */
	const char *spool;	/* folder, created when missing */
	const char *sensor;	/* [sensor] name, in every row */
	uint64_t spool_max;	/* bytes of batches kept at most */
	unsigned timeout;	/* seconds: connect, and without progress */
	unsigned retention;	/* seconds; 0: none (the operator's) */
	int block;		/* reading files: wait for the writer instead of
				 * dropping when its queue is full, and at the
				 * end drain the spool while the server answers */
	struct alerts *alerts;	/* for clickhouse_spool_full; may be NULL */
};

struct chw;

/* Checks the settings, creates the spool folder, takes up the batches an
 * earlier run left there, and starts the writer thread. The server need not
 * be up. Returns NULL after logging why (bad URL, folder not writable). */
struct chw *chw_open(const struct chw_cfg *cfg);

struct sw_config;

/* chw_open with [clickhouse] and [sensor] name of cfg, then both taps
 * set: the sensor's one call. Returns NULL after logging why (also when
 * there is no RRD writer to take rows from). */
struct chw *chw_start(const struct sw_config *cfg, struct rrdw *rrdw, struct alerts *alerts,
    int block);

/* The taps. chw_tap fills in a struct rrdw_tap for rrdw_set_tap;
 * chw_alert is an alerts_tap_fn (arg: the struct chw). */
void chw_tap(struct chw *w, struct rrdw_tap *tap);
void chw_alert(void *arg, const struct alerts_tap_rec *r);

struct chw_stats {
	uint64_t batches;	/* closed and handed to the writer */
	uint64_t sent;		/* batches ClickHouse holds (inserted or found) */
	uint64_t rows_sent;
	uint64_t found;		/* tables of retried batches already there */
	uint64_t dropped;	/* batches lost to a full spool (or queue) */
	uint64_t rows_dropped;
	uint64_t failures;	/* requests that failed */
	uint64_t outages;	/* times the server became unreachable */
	uint64_t spooled;	/* batches in the spool now */
	uint64_t spool_bytes;
	int down;		/* the last request failed */
};

void chw_get_stats(struct chw *w, struct chw_stats *st);

/* Closes the last batch (alerts after the last step), stops the thread:
 * with block, once the spool is sent or a request fails; otherwise after at
 * most [clickhouse] timeout. What is not sent stays in the spool for the
 * next start, and the log says how much. Call before alerts_close (it may
 * raise an alert) and after rrdw_finish and alerts_flush (their last rows
 * come through the taps). Returns 0, or -1 if rows were dropped (spool
 * full). Once; later calls return the same. */
int chw_finish(struct chw *w);

/* chw_finish if not done, then frees; NULL is fine. */
int chw_close(struct chw *w);

/* The DDL (conf/clickhouse.sql, built in). */
extern const char chddl_sql[];

#endif
