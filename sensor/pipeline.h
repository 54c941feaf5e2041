/*
 * pipeline.h — what happens to one captured frame: decode, fragment
 * ports, flow, nDPI, subscribers, collectors; and the step clock that
 * packet time drives. Owns the per-run counters of the summary.
 */
#ifndef SPANWATCH_PIPELINE_H
#define SPANWATCH_PIPELINE_H

#include <stdint.h>
#include <time.h>

#include "decode.h"
#include "flow.h"

struct pipeline;
struct sw_config;
struct submap;
struct rrdw;
struct alerts;
struct flowlog;

struct pipeline_cfg {
	uint32_t max_flows;
	uint32_t idle_timeout_s;
	uint32_t dpi_states;		/* flows under nDPI detection at once */
	uint32_t dpi_max_bytes;		/* of a datagram given to nDPI */
	unsigned step;			/* seconds */
	const char *flow_log;		/* NULL: no flow log */
	struct flowlog *flog;		/* else a flow log several pipelines
					 * share (flowlog_share); not owned */
	unsigned shard;			/* capture thread 0..N-1 (collector_env) */
	const struct sw_config *cfg;
	const struct submap *subs;	/* NULL: no subscribers */
	struct rrdw *rrdw;		/* NULL: no RRD files */
	struct alerts *alerts;		/* NULL: no alerts */
};

struct pipeline_stats {
	uint64_t packets;		/* frames read */
	uint64_t ip_packets, ip_bytes;	/* IP packets and their IP bytes */
	uint64_t non_ip, truncated, malformed;
	uint64_t len_lies;		/* of malformed: IP packets whose header claimed more
					 * than the wire carried (also in ip_packets) */
	uint64_t frag_orphans;		/* later fragments whose first was not seen */
	uint64_t l4_truncated;
	uint64_t flows;			/* flows ended so far */
	uint64_t flows_classified;	/* of those, with a label other than Unknown */
	uint32_t subscribers_seen;
	uint64_t steps;			/* steps completed */
};

/* Returns a pipeline with its collectors started, or NULL (logged). */
struct pipeline *pipeline_new(const struct pipeline_cfg *);

/* One frame: caplen bytes at data of wirelen on the wire (0: not known),
 * captured at ts_us, of link type fn. Kept a copy of, since the queue
 * outlives the call; pipeline_frame_mapped keeps no copy, for a frame
 * that stays where it is until pipeline_drain returns. */
void pipeline_frame(struct pipeline *, decode_fn fn, const uint8_t *data,
		    uint32_t caplen, uint32_t wirelen, uint64_t ts_us);
void pipeline_frame_mapped(struct pipeline *, decode_fn fn, const uint8_t *data,
			   uint32_t caplen, uint32_t wirelen, uint64_t ts_us);

/* Several threads (workers.c): a packet another thread has decoded, whose
 * frame stays where p points until pipeline_drain returns. Packets are
 * processed in the order given, up to three behind (prefetching). */
void pipeline_decoded(struct pipeline *, const struct pkt *p);

/* Several threads: pl's nDPI uses owner's caches of far endpoints
 * (classify_share), and its collectors what owner's keep for all
 * workers (the p2p peers). Free pl before owner. Returns 0 or -1
 * (logged). */
int pipeline_share_dpi(struct pipeline *pl, struct pipeline *owner);

/* Processes every packet still queued (before the frames they point into
 * are given back). */
void pipeline_drain(struct pipeline *);

/* Several threads reading files: packet time reached ts_us on another
 * thread; this one closes the steps and expires the flows that a packet
 * of that time would have. */
void pipeline_advance(struct pipeline *, uint64_t ts_us);

/* Several threads reading files: the step's last packet is behind (its
 * close comes with the next pipeline_advance), so that nDPI's endpoint
 * caches need not wait for this worker to close it (dpicache.h). */
void pipeline_step_done(struct pipeline *);

/* Live capture, between batches: moves the step clock and idle expiry to
 * wall time now_us even when no packet comes. */
void pipeline_tick(struct pipeline *, uint64_t now_us);

/* Switches to a new configuration and subscriber map (SIGHUP) without
 * losing a counter: open flows re-read their subscribers, collectors
 * carry their counts over by name. The caller keeps cfg and subs alive
 * until the next reload or pipeline_free, and frees the old ones after
 * this returns. Returns 0, or -1 (logged) when a collector could not
 * switch (the old configuration stays). */
int pipeline_reload(struct pipeline *, const struct sw_config *cfg, const struct submap *subs);

/* The flow log is reopened by name before its next line (SIGHUP, for
 * logrotate). Any thread. */
void pipeline_reopen_log(struct pipeline *pl);

/* Live capture: the capture's drop counter so far (sensor.rrd drops). */
void pipeline_set_drops(struct pipeline *, uint64_t drops);

/* Ends every open flow and closes the partial step, so that everything
 * seen reaches the collectors and the RRD writer. */
void pipeline_finish(struct pipeline *);

void pipeline_get_stats(const struct pipeline *, struct pipeline_stats *);
void pipeline_get_flow_stats(const struct pipeline *, struct flow_stats *);

/* Marks in seen[] (one byte per subscriber id of the map in force, as
 * many as submap_count + 1) the subscribers this pipeline has seen: the
 * union over several pipelines counts each subscriber once. */
void pipeline_mark_seen(const struct pipeline *, uint8_t *seen);

/* Stops the collectors, closes the flow log and frees (call
 * pipeline_finish first, or open flows are dropped unaccounted); returns
 * 0, or -1 when the flow log could not be written. */
int pipeline_free(struct pipeline *);

#endif
