/*
 * collector.h — the one interface every concern implements (volume,
 * health, smtp, p2p, …). A collector consumes flow events, owns its own
 * counters, reports its own data sources to the RRD writer once per step
 * and raises its own alerts. What it declares as data (its data sources,
 * configuration keys and dashboard panels) is its descriptor,
 * collector_desc.h. Adding a concern is a new folder (its collector and
 * its descriptor) and a line in registry.h, not edits through the sensor.
 *
 * All hooks run on the packet path's thread. None may block or allocate
 * per packet. With [capture] threads = N, each worker has its own
 * pipeline and its own instance of every collector (env.shard tells them
 * apart), and every packet of a subscriber reaches one worker
 * (sensor/dispatch.c), so a collector's per-subscriber state is whole in
 * one instance; instances share only what env points to, read-only, and
 * the RRD writer and alerts, which are made for it.
 */
#ifndef SPANWATCH_COLLECTOR_H
#define SPANWATCH_COLLECTOR_H

#include <stdint.h>
#include <time.h>

#include "collector_desc.h"
#include "flow.h"
#include "pkt.h"

struct sw_config;
struct submap;
struct classifier;
struct rrdw;
struct alerts;

/* What a collector may use. Pointers stay valid until the next reload
 * (which hands over a new env) or stop. */
struct collector_env {
	const struct sw_config *cfg;
	const struct submap *subs;	/* NULL: no subscribers, all transit */
	struct classifier *cls;
	struct rrdw *rrdw;		/* NULL: no RRD files (a quick look) */
	struct alerts *alerts;		/* NULL: alerts are not raised */
	unsigned step;			/* seconds */
	time_t step_end;		/* end of the step in progress (at reload) */
	/* Sensor-wide facts the pipeline keeps. */
	const uint32_t *flows_active;	/* flows open now */
	const uint64_t *drops;		/* capture drops so far */
	/* Which capture thread (0..N-1). Counts that are not the packets'
	 * own but sensor-wide (capture drops over every handle, alerts
	 * raised) are reported by shard 0 alone, so that they land once. */
	unsigned shard;
	/* Flows this instance's flow table holds (ids 0..max_flows-1);
	 * 0: [sensor] max_flows. */
	uint32_t max_flows;
};

/* One packet of a flow, after the flow table and nDPI have seen it. */
struct flow_event {
	struct flow *f;
	const struct pkt *p;
	enum flow_dir dir;		/* C2S: from the flow's client */
	uint8_t from_a;			/* the packet's source is f->key.a */
	uint8_t created;		/* this packet opened the flow */
	uint8_t classified_now;		/* nDPI decided on this packet */
};

struct collector {
	const char *name;
	const struct collector_desc *desc;	/* NAME_desc */
	/* Returns the collector's state, or NULL after logging why. */
	void *(*start)(const struct collector_env *env);
	void (*packet)(void *self, const struct flow_event *ev);
	/* Optional: f is the likely flow of a packet two places behind in
	 * the queue (flow_peek: its bucket's first flow, unchecked, so
	 * perhaps another one): the loads its packet call will make, in
	 * the collector's own per-subscriber and per-flow arrays, can
	 * start now. Must only prefetch. */
	void (*prefetch)(void *self, const struct flow *f);
	void (*flow_end)(void *self, struct flow *f, enum flow_end why);
	/* Optional: several workers, self another's than owner's (worker
	 * 0's), before any thread runs: what the collector keeps for all
	 * workers at once (the p2p peers) is owner's from now on. */
	int (*share)(void *self, void *owner);
	/* The step ending at step_end is over: report it, judge windows. */
	void (*step)(void *self, time_t step_end);
	/* New configuration or subscriber map; counters carry over by name.
	 * Returns 0, or -1 (logged) to keep the old one. */
	int (*reload)(void *self, const struct collector_env *env);
	void (*stop)(void *self);
	/* Optional, process-wide, before any collector starts. */
	/* A check of the configuration beyond the keys' own (a file it
	 * names): 0, or -1 (logged) for a bad configuration. */
	int (*check)(const struct sw_config *cfg);
	/* The process was started again as this concern's helper process
	 * (argv says so): runs it and returns its exit status; else -1. */
	int (*helper)(int argc, char **argv);
	/* Packets come from files, not a live capture (time is the
	 * packets', not the clock's). */
	void (*replay)(int replay);
};

/* The registry: every collector, in the order they see events
 * (registry.c, from registry.h). */
extern const struct collector *const collector_registry[];

/* The per-flow array of the collector described by d, for env's flow
 * table (flowstate.c): zeroed, d->flow_state bytes for each flow id (and
 * one more), the number of ids in *nflows (env->max_flows, or cfg's [sensor] max_flows
 * when the pipeline leaves it 0). calloc: it costs resident memory only
 * for the pages flows touch. Returns NULL (logged) when out of memory;
 * give it back with collector_flow_state_free (NULL is fine). */
void *collector_flow_state(const struct collector_env *env,
    const struct sw_config *cfg, const struct collector_desc *d,
    uint32_t *nflows);
void collector_flow_state_free(void *a, uint32_t nflows, const struct collector_desc *d);

/* Logs (info, -v) the sensor's memory per flow: the flow table's and each
 * collector's declared state, and what max_flows flows cost. */
void collector_log_flow_state(uint32_t max_flows);

/* The subscriber at the receiving end of packet ev (-1: none), and at
 * the sending end. A flow's ends are key.a and key.b. */
static inline int32_t
collector_sub_to(const struct flow_event *ev)
{
	return ev->from_a ? ev->f->sub_b : ev->f->sub_a;
}

static inline int32_t
collector_sub_from(const struct flow_event *ev)
{
	return ev->from_a ? ev->f->sub_a : ev->f->sub_b;
}

#endif
