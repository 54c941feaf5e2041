/*
 * session.h — flows and the transports that carry them. A flow is a
 * conversation between a subscriber and an outside host, told as a script
 * of application messages (see kinds.h); the transport turns messages into
 * packets one at a time: TCP (RFC 9293: handshake, MSS-sized segments with
 * correct sequence and acknowledgment numbers, delayed ACKs, a few
 * retransmissions and reorderings, FIN or RST close), plain UDP (one
 * datagram per message), or uTP (BEP 29: the BitTorrent stream over UDP).
 * Flows come from a pool with a hard maximum; nothing is allocated per
 * packet.
 */
#ifndef SPANWATCH_GEN_SESSION_H
#define SPANWATCH_GEN_SESSION_H

#include <stdint.h>

#include "netplan.h"

struct gen;

enum transport { TP_TCP, TP_UDP, TP_UTP };
enum fill { FILL_RANDOM, FILL_TEXT };

#define MSG_SPLITOK 0x01	/* may be cut mid-command into two segments */

/* One application message. Its bytes are pre literal bytes, then fill
 * filler bytes (random or base64-like text), then suf literal bytes. */
struct msg {
	uint8_t dir;		/* 0 client to server, 1 server to client */
	uint8_t fill_kind;	/* enum fill */
	uint8_t flags;		/* MSG_* */
	uint16_t pre, suf;
	uint32_t fill;
	uint32_t gap_us;	/* think time before it, on top of any turn-around */
	uint16_t rcpt;		/* RCPT TO commands it carries (ground truth) */
};

struct flow {
	uint64_t seed;		/* all of the script's randomness derives from it */
	uint64_t t_first, t_last;
	uint32_t id, sub;
	uint8_t kind, v6, cli_inside, tclass, smtp_class, tstate, closer, rst;
	uint8_t addr[2][16];	/* [0] client, [1] server */
	uint16_t port[2];
	uint8_t ttl[2];
	uint16_t ipid[2];
	uint32_t flowlabel[2];
	uint32_t rtt[2];	/* sensor to client and back, sensor to server and back, us */
	uint32_t iv;		/* pacing between packets of one message, us */
	uint16_t mss;
	/* transport */
	uint32_t isn[2];
	uint64_t pos[2];	/* stream bytes in finished messages, per direction */
	uint32_t step;		/* index of the current message in the script */
	struct msg cur;
	uint32_t off;		/* next new byte of cur */
	uint32_t hole_off;	/* a segment held back (reordering) or to send again */
	uint16_t hole_len;
	uint8_t hole, need_ack, unacked, first_seg;
	uint16_t useq[2];	/* uTP sequence numbers */
	uint16_t uconn;		/* uTP connection id */
	/* script arguments: meaning defined by the kind */
	uint32_t a[6];
	uint64_t a64;
	/* what was sent, for the per-flow truth */
	uint64_t pkts[2], bytes[2];
	uint32_t rcpt;
	int16_t torrent;	/* BitTorrent kinds: torrent index, else -1 */
	uint8_t endhow;		/* how it ended, for the per-flow truth */
};

struct sessions;

struct sessions *sess_create(uint32_t max_flows);
void sess_free(struct sessions *s);
uint32_t sess_active(const struct sessions *s);
uint32_t sess_peak(const struct sessions *s);
uint64_t sess_total(const struct sessions *s);
uint64_t sess_refused(const struct sessions *s);

/* A flow from the pool with its kind and fresh seed; NULL when the pool
 * is at its maximum (counted as refused). */
struct flow *sess_new(struct gen *g, uint8_t kind);
struct flow *sess_get(struct gen *g, uint32_t id);

/* Where a flow runs: between subscriber sub (its device dev) and outside
 * host (pool, idx). inside_client says who opened it. Port 0 means "an
 * ephemeral port" on the subscriber's side and "a random high port" on
 * the outside. */
struct ends {
	uint32_t sub;
	int v6, inside_client;
	unsigned dev;
	enum pool pool;
	uint32_t idx;
	uint16_t sub_port, far_port;
};
void sess_place(struct gen *g, struct flow *f, const struct ends *e);

/* schedules the flow's first packet at t0 (us) */
void sess_start(struct gen *g, struct flow *f, uint64_t t0);
/* writes the flow's packet due now; returns when the next one is due, or
 * 0 when the flow is over */
uint64_t sess_emit(struct gen *g, struct flow *f, uint64_t now);
/* the flow is over or the capture ends: record it and return it to the pool */
void sess_end(struct gen *g, struct flow *f);

#endif
