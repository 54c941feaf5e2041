/*
 * p2p_int.h — the p2p collector's own state, shared on purpose by its two
 * files: p2p.c (labels, counting, the bt_volume window, the hooks) and
 * p2p_inspect.c (what the packets say: handshakes, trackers, DHT, PEX,
 * and the framing heuristics). Nothing outside collectors/p2p includes
 * it; see p2p.c's first comment for what the collector counts and why.
 */
#ifndef SPANWATCH_P2P_INT_H
#define SPANWATCH_P2P_INT_H

#include <stdint.h>

#include "allowlist.h"
#include "btmsg.h"
#include "collector.h"
#include "mse.h"
#include "peercache.h"
#include "subrows.h"
#include "tcpfollow.h"

/* Peer cache size: 8 endpoints per flow the sensor may hold (a peer list
 * names many, most never contacted), 1.5 to 12 MiB. */
#define PEER_PER_FLOW 8
#define PEER_MIN (1u << 16)
#define PEER_MAX (1u << 19)
#define PEER_TTL 1800		/* a peer list is fresh for about a tracker interval */
#define RECENT_BT 600		/* "the subscriber runs a BitTorrent client now" */
#define PEX_SLOTS 4096		/* plaintext peer-wire connections followed at once */
#define WIN_BUCKETS 16
/* Payloads per direction that may hold an info-hash: the first over TCP;
 * over UDP the uTP SYN and STATE come before the data that carries the
 * handshake, and a UDP tracker sends connect before announce. DHT
 * messages on the same UDP 5-tuple are not counted among them. */
#define LOOKS_TCP 1
#define LOOKS_UDP 4
/* With an allowlist, a BitTorrent flow waits this many packets at most
 * for its info-hash before its bytes count as not allowlisted. */
#define HASH_WAIT_PKTS 16
/* An MSE-shaped flow without evidence when nDPI gives up is asked again
 * until this many seconds after its first packet. */
#define EVIDENCE_WAIT 5
/* The framing heuristics (the flow's own evidence) look at this many
 * payload packets of a flow nDPI leaves Unknown, for at most FRAME_WAIT
 * seconds after its first packet; a flow still undecided then is not
 * BitTorrent. */
#define FRAME_PKTS 64		/* MSE over TCP: small segments after the handshake */
#define FRAME_HITS 6		/* ... of one direction shaped like messages */
#define FRAME_WAIT 60
#define WIRE_PKTS 32		/* TCP picked up mid-stream: payloads scanned */
#define WIRE_HITS 2		/* ... peer-wire block headers needed */
#define UTP_PKTS 24		/* UDP: payloads read as uTP */
#define UTP_GOOD 2		/* ... paired uTP packets needed each way */
#define UTP_BAD 2		/* ... more payloads than this that are not: no */
#define NDPI_IDS 65536

enum label { L_UNDECIDED, L_NONE, L_BT, L_P2P };
/* Why a flow is BitTorrent, weakest first (shown in the flow log's app
 * suffix and in the bt_volume alert's level field): nDPI read the
 * protocol's own messages (handshake); the flow's framing alone (uTP
 * headers, peer-wire message lengths under RC4, block headers mid-
 * stream); MSE shape and the far end named as a peer in clear (peer);
 * MSE shape and the subscriber's own plain BitTorrent just now (swarm). */
enum level { LV_NONE, LV_HANDSHAKE, LV_FRAMING, LV_PEER, LV_SWARM, LV_COUNT };
enum role { R_NONE, R_PEERWIRE, R_TRACKER_HTTP, R_TRACKER_UDP, R_DHT };
enum {
	PF_SYN = 1 << 0,	/* seen from its SYN: first payloads are real */
	PF_HASH = 1 << 1,	/* the info-hash question is settled: one was
				 * seen (or, for DHT, a query without one) */
	PF_ALLOWED = 1 << 2,	/* the info-hash is on the allowlist */
	PF_COUNTING = 1 << 3,	/* back-log added; counting packet by packet */
	PF_ENC = 1 << 4,	/* BitTorrent.encrypted */
	PF_REPLY = 1 << 5,	/* a tracker reply's peers were read */
	PF_DHT_ALLOWED = 1 << 6, /* UDP: the DHT exchange in progress is of an
				 * allowlisted torrent (see dht_query); PF_HASH
				 * and PF_ALLOWED are the stream's */
	PF_WAITING = 1 << 7,	/* MSE-shaped, waiting for evidence */
};
/* pflow.flags2 */
enum {
	PF2_CID = 1 << 0,	/* uTP: cid[0] known; << 1 for cid[1] */
};

/* What one UDP packet of a BitTorrent 5-tuple is. */
enum kind { K_STREAM, K_DHT };

/* Per flow, by flow id: 40 bytes. */
struct pflow {
	union {
		struct {
			struct mse mse;		/* the MSE shape */
			/* after an MSE handshake, by enum flow_dir:
			 * segments of message-like length, and small ones */
			uint8_t hits[2], small[2];
			uint8_t fseen;		/* small segments looked at after it */
			uint8_t wseen;		/* payloads scanned for block headers */
			uint8_t wire;		/* block headers found */
		} tcp;
		struct {
			/* before its bytes are counted: the bytes (by enum
			 * flow_dir) of its DHT messages, of allowlisted
			 * exchanges and of others; the rest are the stream's */
			uint32_t allow[2], other[2];
			/* uTP framing, by enum flow_dir: connection id (as
			 * after the SYN), last seq_nr, packets whose ack_nr
			 * pairs with the other way's seq_nr */
			uint16_t cid[2], seq[2];
			uint8_t good[2];
			uint8_t seen, bad;	/* payloads read as uTP; not uTP */
		} udp;
	} u;
	uint16_t pex;		/* PEX follower + 1; 0: none */
	uint8_t label, role, flags;
	uint8_t looks[2];	/* by enum flow_dir */
	uint8_t s2c_seen;	/* server payloads looked at (tracker reply) */
	uint8_t flags2;		/* PF2_* */
	uint8_t level;		/* enum level, once L_BT */
};

/* Following the message framing of a plaintext peer-wire connection, to
 * find ut_pex messages (BEP 11) in it. */
struct pexf {
	struct btmsg_wire w[2];	/* by enum flow_dir */
	struct tcpfollow f[2];	/* each direction's stream */
	uint8_t on[2];
};

/* Per subscriber: the bt_volume window and recent activity. */
struct subwin {
	uint64_t b[WIN_BUCKETS];
	uint64_t sum;
	uint32_t cur;		/* bucket number (time / bucket length) of the newest */
	uint32_t last_bt;	/* packet time of its last plaintext BitTorrent, s */
	uint8_t alerted;	/* sum is above max_bt_bytes since an alert */
};

/* The memory bounds in the header comment. */
_Static_assert(sizeof(struct pflow) == 40, "per-flow state grew");
_Static_assert(sizeof(struct subwin) == 152, "per-subscriber state grew");
_Static_assert(sizeof(struct pexf) == 36, "PEX follower grew");

struct p2p_stats {
	uint64_t enc_flows, enc_by_cache, enc_by_recent, enc_late, mse_no_evidence;
	uint64_t by_mse_framing, by_utp, by_wire, enc_allowed, enc_other, enc_unknown;
	uint64_t bt_flows, allow_flows, p2p_flows, peers_named;
	uint64_t pex_full, alerts;
};

struct peershare;

struct p2p {
	struct collector_env env;
	struct subrows rows;
	struct allowlist *allow;
	struct peershare *peers;	/* one for all workers (peershare.h) */
	struct pflow *flows;
	uint32_t nflows;
	struct pexf *pex;
	uint16_t *pex_free;
	uint32_t npex_free;
	struct subwin *win;
	uint32_t nsubs;
	uint32_t blen;		/* window bucket length, s */
	uint32_t now;		/* packet time of the packet in hand, s */
	uint8_t tag;		/* PEERCACHE_T_* for peers named by the packet in hand */
	const struct flow *cur;	/* the flow of the packet in hand */
	uint64_t bt_bytes;	/* sensor.rrd bt_bytes this step */
	int bt_id;
	uint8_t *is_p2p;	/* bitmap over nDPI ids */
	struct p2p_stats st;
};

/* The unit f's peers belong to (dispatch_unit). */
int32_t p2p_unit(const struct p2p *P, const struct flow *f);

/* p2p_inspect.c: reads what the packet's payload says; returns what kind
 * of packet it is on a UDP 5-tuple (K_STREAM for TCP). */
enum kind p2p_inspect(struct p2p *P, struct pflow *st, const struct flow_event *ev);

/* Subscriber sub (-1: none) sent plaintext BitTorrent just now. */
void p2p_vouch(struct p2p *P, int32_t sub);

/* A DHT message before the flow's bytes are counted: held by class. */
void p2p_dht_hold(struct pflow *st, const struct flow_event *ev);

/* The flow's PEX follower, if any, goes back to the pool. */
void p2p_pex_release(struct p2p *P, struct pflow *st);

#endif
