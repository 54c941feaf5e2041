/*
 * pipeline.h — what happens to one captured frame: decode, fragment
 * ports, flow, nDPI, and (as they arrive) subscribers and collectors.
 * Owns the per-run counters that the summary and sensor.rrd report.
 */
#ifndef SPANWATCH_PIPELINE_H
#define SPANWATCH_PIPELINE_H

#include <stdint.h>

#include "decode.h"
#include "flow.h"

struct pipeline;

struct pipeline_cfg {
	uint32_t max_flows;
	uint32_t idle_timeout_s;
	uint32_t dpi_states;		/* flows under nDPI detection at once */
	const char *flow_log;		/* NULL: no flow log */
};

struct pipeline_stats {
	uint64_t packets;		/* frames read */
	uint64_t ip_packets, ip_bytes;	/* IP packets and their IP bytes */
	uint64_t non_ip, truncated, malformed;
	uint64_t frag_orphans;		/* later fragments whose first was not seen */
	uint64_t l4_truncated;
	uint64_t flows;			/* flows ended so far */
	uint64_t flows_classified;	/* of those, with a label other than Unknown */
};

/* Returns a pipeline, or NULL (logged). */
struct pipeline *pipeline_new(const struct pipeline_cfg *);

/* One frame: caplen bytes at data, captured at ts_us, of link type fn. */
void pipeline_frame(struct pipeline *, decode_fn fn, const uint8_t *data,
		    uint32_t caplen, uint64_t ts_us);

/* Ends every open flow (flow log lines included). */
void pipeline_drain(struct pipeline *);

void pipeline_get_stats(const struct pipeline *, struct pipeline_stats *);
void pipeline_get_flow_stats(const struct pipeline *, struct flow_stats *);

/* Drains, closes the flow log and frees; returns 0, or -1 when the flow
 * log could not be written. */
int pipeline_free(struct pipeline *);

#endif
