/*
 * flow.h — the bidirectional flow table: one entry per (VLAN, protocol,
 * address pair, port pair), from a pool with a hard maximum, found by hash
 * and kept in order of last activity so that idle flows expire from the
 * front. No allocation after flow_table_new().
 */
#ifndef SPANWATCH_FLOW_H
#define SPANWATCH_FLOW_H

#include <stdint.h>

#include "pkt.h"

#define FLOW_NONE UINT32_MAX

enum flow_dir { FLOW_C2S = 0, FLOW_S2C = 1 };

/* Why a flow ended. */
enum flow_end {
	FLOW_END_IDLE,		/* no packet for idle_timeout */
	FLOW_END_CLOSED,	/* TCP FIN both ways or RST, then a short linger */
	FLOW_END_EVICTED,	/* its slot went to a new flow at max_flows */
	FLOW_END_EXIT,		/* still open when the sensor stopped */
};

/* Labels of spanwatch's own, for what nDPI leaves unknown (struct flow
 * own_app); the flow log prints flow_own_app_name. */
enum flow_own_app {
	FLOW_OWN_NONE,
	FLOW_OWN_BT_ENCRYPTED,		/* MSE shape and ...: (no level) */
	FLOW_OWN_BT_ENC_PEER,		/* ... its far end named as a peer */
	FLOW_OWN_BT_ENC_SWARM,		/* ... its subscriber in plain BitTorrent now */
	FLOW_OWN_BT_ENC_FRAMING,	/* ... peer-wire message lengths */
	FLOW_OWN_BT_UTP_FRAMING,	/* uTP framing (BEP 29), payload opaque */
	FLOW_OWN_BT_WIRE_FRAMING,	/* peer-wire messages picked up mid-stream */
	FLOW_OWN_COUNT
};

/* SPEC's flow direction, seen from the subscriber. */
enum flow_direction { FLOW_TRANSIT, FLOW_OUT, FLOW_IN, FLOW_LOCAL };

enum {
	FLOW_S_FIN_C2S = 1 << 0,
	FLOW_S_FIN_S2C = 1 << 1,
	FLOW_S_RST     = 1 << 2,
	FLOW_S_CLOSING = 1 << 3,	/* on the linger list */
};

struct flow_key {
	uint8_t a[16], b[16];		/* a < b, so both directions meet */
	uint16_t aport, bport;
	uint32_t vlan;
	uint8_t family, proto;
	uint8_t pad[6];
};

/* One flow. Public so that the pipeline and collectors read it directly;
 * only flow.c links it into lists. */
struct flow {
	struct flow_key key;
	uint32_t hnext;			/* hash chain */
	uint32_t prev, next;		/* activity list */
	uint32_t id;			/* this flow's index in the pool */
	uint64_t first_us, last_us;
	uint64_t pkts[2], bytes[2];	/* by enum flow_dir; bytes are IP bytes */
	uint32_t dpi;			/* classifier state, or FLOW_NONE */
	int32_t sub_a, sub_b;		/* subscriber ids of key.a and key.b, -1: outside */
	uint16_t app_master, app_proto;	/* nDPI protocol ids */
	uint16_t linked_s;		/* packet second (mod 65536) it took its
					 * list place: moved once a second */
	uint8_t client_is_a;		/* the client is key.a */
	uint8_t state;			/* FLOW_S_* */
	uint8_t classified;		/* nDPI is done with it */
	uint8_t direction;		/* enum flow_direction, set by the pipeline */
	uint8_t own_app;		/* enum flow_own_app */
	uint8_t watch;			/* FLOW_W_*: collectors that want its packets */
};

/* Bits of flow.watch. A collector that follows only some flows keeps its
 * bit set on those, so that for all the others its packet hook returns
 * without touching its own per-flow table (a cache miss per packet). */
#define FLOW_W_P2P	0x01
#define FLOW_W_SMTP	0x02

struct flow_table;

typedef void (*flow_end_fn)(void *ctx, struct flow *f, enum flow_end why);

struct flow_stats {
	uint64_t created, ended, evicted, expired, closed;
	uint32_t active, peak;
};

/* Returns a table for at most max_flows flows, or NULL when out of memory.
 * end is called for every flow that ends, before its slot is reused. */
struct flow_table *flow_table_new(uint32_t max_flows, uint32_t idle_timeout_s,
				  flow_end_fn end, void *ctx);
void flow_table_free(struct flow_table *);

/* Finds or creates the flow of p (which must have its ports filled) and
 * accounts the packet to it: counters, TCP state, activity order. *dir
 * tells which way p went. Returns the flow, or NULL only when max_flows
 * is 0. *created is set when the packet opened a new flow. */
struct flow *flow_packet(struct flow_table *, const struct pkt *p,
			 enum flow_dir *dir, int *created);

/* flow_packet with p's bucket as flow_prefetch_bucket gave it (the hash
 * is not taken twice), or FLOW_BUCKET_ANY. */
#define FLOW_BUCKET_ANY UINT32_MAX
struct flow *flow_packet_in(struct flow_table *, const struct pkt *p, uint32_t bucket,
			    enum flow_dir *dir, int *created);

/* Packets are looked up two at a time behind the newest: these start the
 * memory loads of the flow p will need, so that flow_packet finds them in
 * cache. flow_prefetch_bucket returns p's bucket for flow_prefetch_entry,
 * which may come one packet later, once the bucket has arrived. Neither
 * changes the table; a stale bucket only makes the prefetch useless. */
uint32_t flow_prefetch_bucket(const struct flow_table *, const struct pkt *p);
void flow_prefetch_entry(const struct flow_table *, uint32_t bucket);

/* The first flow of bucket's chain once its entry has arrived (NULL: an
 * empty bucket, or FLOW_BUCKET_ANY): most likely the packet's own flow,
 * but unchecked, so only good for prefetching what the flow will touch
 * elsewhere (the collectors' per-subscriber and per-flow state). */
const struct flow *flow_peek(const struct flow_table *, uint32_t bucket);

/* Ends flows idle (or lingering) past their timeout at now_us, at most
 * budget of them, so that no single packet pays for a large expiry.
 * Returns how many ended. */
unsigned flow_expire(struct flow_table *, uint64_t now_us, unsigned budget);

/* Calls fn for every open flow (a reload re-reads their subscribers). */
void flow_foreach(struct flow_table *, void (*fn)(void *ctx, struct flow *f), void *ctx);

/* Ends every flow (at exit), calling end with FLOW_END_EXIT. */
void flow_drain(struct flow_table *);

void flow_get_stats(const struct flow_table *, struct flow_stats *);

/* "BitTorrent.encrypted" for FLOW_OWN_BT_ENCRYPTED, with the level of
 * the evidence as a suffix for the others ("BitTorrent.encrypted.peer",
 * "BitTorrent.uTP.framing", ...); NULL for none. */
const char *flow_own_app_name(unsigned own_app);

#endif
