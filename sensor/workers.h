/*
 * workers.h — live capture on several threads ([capture] threads = N > 1):
 * N capture handles on one interface, joined in one AF_PACKET fanout group
 * in flow-hash mode, so that both directions of a flow reach the same
 * thread; each thread runs its own capture loop and its own pipeline (flow
 * table, nDPI, collectors). What they share is made for it: the RRD writer
 * (several producers, a step is written once all have ended it), alerts,
 * the flow log. The main thread only coordinates: reload, stop, summary.
 */
#ifndef SPANWATCH_WORKERS_H
#define SPANWATCH_WORKERS_H

#include <stdint.h>

#include "capture.h"
#include "pipeline.h"

struct workers;
struct sw_config;
struct submap;

/* Opens n captures of iface in one new fanout group (needs the
 * privileges: call before dropping them). Only co's filter, snaplen,
 * promisc and buffer_mb are used. NULL when any fails (logged). */
struct workers *workers_open(const char *iface, unsigned n, const struct capture_opts *co);

/* Creates each thread's pipeline from pc (shard = thread number; a flow
 * log named by pc->flow_log is opened once and shared), tells the RRD
 * writer there are n producers, and starts the threads. Returns 0, or -1
 * (logged; threads already started are stopped by workers_stop). */
int workers_start(struct workers *, const struct pipeline_cfg *pc);

/* SIGHUP: every thread switches to cfg and subs at its next tick (within
 * 100 ms); waits for all. Returns 0 when all switched (the caller frees
 * the old configuration), -1 when none did (the caller frees the new),
 * 1 when some did and some did not (both stay in use: keep both). */
int workers_reload(struct workers *, const struct sw_config *cfg, const struct submap *subs);

/* The shared flow log is reopened by name before its next line. */
void workers_reopen_log(struct workers *ws);

/* 1 once a capture thread has ended with an error (logged). */
int workers_failed(struct workers *);

/* Stops every thread; each ends its flows and its partial step first.
 * Returns 0, or -1 if a capture failed. */
int workers_stop(struct workers *);

unsigned workers_count(const struct workers *);

/* Thread i's counters: as of its last tick (at most a second old) while
 * running, final after workers_stop. Any pointer may be NULL. */
void workers_get(struct workers *, unsigned i, struct pipeline_stats *ps,
		 struct flow_stats *fs, struct capture_stats *cs);

/* Subscribers seen by any thread (each once); after workers_stop. */
uint32_t workers_subscribers_seen(const struct workers *, const struct submap *subs);

/* Frees the pipelines (after workers_stop), closes the captures and the
 * shared flow log; NULL is fine. Returns 0, or -1 when the flow log could
 * not be written. */
int workers_free(struct workers *);

#endif
