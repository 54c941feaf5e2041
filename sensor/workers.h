/*
 * workers.h — the packet path on several threads ([capture] threads = N
 * > 1), live and from files. One reader (a capture thread live; the
 * caller's thread for files) reads each frame, decodes it once and hands
 * it, through a single-producer single-consumer ring (ring.h), to the
 * worker of its subscriber (dispatch.h): every packet of a subscriber
 * reaches the same worker, so every per-subscriber window, baseline and
 * cache is whole, and the figures and alerts are what one thread gives.
 * Each worker owns its pipeline (flow table of max_flows / N, nDPI,
 * collectors); what they share is made for it: the RRD writer (several
 * producers, a step is written once all have ended it), alerts, the flow
 * log. The main thread only coordinates: reload, stop, summary.
 *
 * Time: reading files, packet time is the reader's; each worker is told
 * when it crosses a step boundary, so that all close the same steps and
 * expire flows as one thread would. Live, the reader passes the wall
 * clock on at its ticks. A full ring drops the packet live (counted, and
 * in capture_drops); reading a file, the reader waits.
 */
#ifndef SPANWATCH_WORKERS_H
#define SPANWATCH_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "pipeline.h"

struct workers;
struct sw_config;
struct submap;

/* Live: opens the capture of iface (needs the privileges: call before
 * dropping them) for n workers. Only co's filter, snaplen, promisc and
 * buffer_mb are used. NULL when it fails (logged). */
struct workers *workers_open(const char *iface, unsigned n, const struct capture_opts *co);

/* Files: n workers fed by workers_frame from the caller's thread. */
struct workers *workers_open_files(unsigned n);

/* Files that are all mapped (capture_files_mappable): n workers that each
 * read the whole list themselves with co (its filter and progress line;
 * worker 0 says what is wrong with a file), each keeping its
 * subscribers' packets. No reader: the caller waits (workers_running)
 * and passes reloads on. */
struct workers *workers_open_walk(unsigned n, const char *list, const struct capture_opts *co);

/* 1 while a worker is still at work (walking: until the files are read). */
int workers_running(struct workers *);

/* Creates each worker's pipeline from pc (shard = worker number; flow
 * table and nDPI states divided among them; a flow log named by
 * pc->flow_log is opened once and shared), tells the RRD writer there are
 * n producers, and starts the threads. Returns 0, or -1 (logged; threads
 * already started are stopped by workers_stop). */
int workers_start(struct workers *, const struct pipeline_cfg *pc);

/* Files: one frame, from the thread that reads them (a capture_frame_fn
 * with ctx = the workers). */
void workers_frame(void *ws, decode_fn fn, const uint8_t *data, uint32_t caplen,
		   uint32_t wirelen, uint64_t ts_us, unsigned flags);

/* SIGHUP: the reader switches to subs between two packets and tells every
 * worker, in the same place of its packet stream, to switch to cfg and
 * subs: the packets before are the old map's, those after the new one's,
 * none lost, none on two workers. Reading files, call it from the reading
 * thread (between frames). Waits for all. Returns 0 when all switched
 * (the caller frees the old configuration), -1 when none did (the caller
 * frees the new), 1 when some did and some did not (both stay in use:
 * keep both). */
int workers_reload(struct workers *, const struct sw_config *cfg, const struct submap *subs);

/* The shared flow log is reopened by name before its next line. */
void workers_reopen_log(struct workers *ws);

/* 1 once the capture has ended with an error (logged). */
int workers_failed(struct workers *);

/* Stops every thread (reading files: after the last frame); each ends its
 * flows and its partial step first. Returns 0, or -1 if the capture
 * failed. */
int workers_stop(struct workers *);

unsigned workers_count(const struct workers *);

/* Worker i's counters: as of its last publication (at most a second old)
 * while running, final after workers_stop. The frames the reader counted
 * but dispatched nowhere (not IP) are worker 0's; so are the kernel's
 * drops; each worker's cs has its own ring's drops. Any pointer may be
 * NULL. */
void workers_get(struct workers *, unsigned i, struct pipeline_stats *ps,
		 struct flow_stats *fs, struct capture_stats *cs);

/* The subscriber with the largest share of worker i's recent packets
 * (the last 65536 it was handed), its name in name (empty: none) and its
 * share in *share (0..1): a subscriber heavier than one worker shows
 * here. Any thread. */
void workers_heavy(struct workers *, unsigned i, char *name, size_t len, double *share);

/* Subscribers seen by any worker (each once); after workers_stop. */
uint32_t workers_subscribers_seen(const struct workers *, const struct submap *subs);

/* Frees the pipelines (after workers_stop), closes the capture and the
 * shared flow log; NULL is fine. Returns 0, or -1 when the flow log could
 * not be written. */
int workers_free(struct workers *);

#endif
