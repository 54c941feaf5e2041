/*
 * p2p.c — the p2p collector (SPEC "What is counted", "RRD files",
 * "Alerts" bt_volume). Per subscriber and step: bt_in/bt_out (BitTorrent:
 * peer wire over TCP and uTP, DHT, trackers, and encrypted BitTorrent),
 * bt_allow_in/bt_allow_out (BitTorrent of a torrent on [p2p] allowlist),
 * p2p_in/p2p_out (the other file-sharing networks nDPI names); sensor.rrd
 * bt_bytes; the bt_volume alert.
 *
 * What makes a flow BitTorrent:
 *   - nDPI names it BitTorrent (as the application or the master
 *     protocol): the plain peer wire (BEP 3) over TCP and uTP (BEP 29),
 *     DHT (BEP 5) and HTTP tracker announces (BEP 3, 23). nDPI 4.2 has
 *     no UDP tracker (BEP 15) dissector: such flows stay Unknown and
 *     uncounted, though their peer lists are read;
 *   - or spanwatch's own labels (flow own_app), for what nDPI leaves
 *     Unknown when it gives up (at its packet budget or at flow end),
 *     each with the level of its evidence (enum level), shown as the
 *     flow log's app and as the bt_volume alert's level=:
 *       BitTorrent.encrypted.peer   a TCP flow seen from its SYN whose
 *         first payloads have the shape of an MSE handshake (mse.h) and
 *         whose server endpoint was named as a BitTorrent peer within
 *         PEER_TTL seconds (peercache.h: DHT replies and announce_peer,
 *         HTTP and UDP tracker replies, PEX);
 *       BitTorrent.encrypted.swarm  the MSE shape and one of its
 *         subscribers sent plaintext BitTorrent within RECENT_BT seconds;
 *       BitTorrent.encrypted.framing  the MSE shape and, with no such
 *         evidence, what RC4 does not hide: of the first FRAME_PKTS small
 *         segments after the handshake, one direction's (a leecher's)
 *         have peer-wire message lengths (mse_msglen_like: requests of 17
 *         bytes, haves of 9, a piece's 13-byte header), FRAME_HITS of them
 *         and three in four;
 *       BitTorrent.uTP.framing  a UDP flow whose first UTP_PKTS payloads
 *         (DHT messages aside) are uTP (BEP 29) of one connection: one
 *         connection id per direction, the two one apart, each side's
 *         ack_nr close behind the other's seq_nr. uTP is BitTorrent's own
 *         transport, whatever its payload (MSE or plain);
 *       BitTorrent.wire.framing  a TCP flow picked up mid-stream (no SYN
 *         seen) with WIRE_HITS peer-wire block headers (a piece message's
 *         or a 16 KiB request's) at any offset of its first WIRE_PKTS
 *         payloads; also when nDPI named it something else (mid-stream it
 *         can only guess: it took a real peer wire for TLS).
 *     An MSE-shaped flow with no evidence and ambiguous lengths (a
 *     connection closed after its handshake, an obfuscated protocol) is
 *     not BitTorrent: the shape alone accuses nobody. nDPI is asked
 *     first, since its address lists and give-up guesses know services
 *     whose traffic also looks random (Telegram's MTProto has the MSE
 *     shape). BitTorrent named by nDPI has the level handshake.
 *
 * Plaintext BitTorrent traffic of a subscriber's: a packet it sent that
 * spanwatch's own readers recognise (a whole DHT KRPC message, a BEP 3
 * handshake over TCP or uTP, an HTTP tracker announce), at once, and
 * every packet of a flow labelled (not encrypted) BitTorrent. Not only
 * the label: nDPI keeps reading a DHT flow until it shows an info-hash
 * (or its budget runs out), and a client opens its encrypted connections
 * in the same second as its first DHT query. Evidence may also come just
 * after an MSE-shaped flow's start (the tracker or DHT reply naming the
 * peer), so such a flow that has none when nDPI gives up is asked again
 * on each of its packets until EVIDENCE_WAIT seconds after its first
 * packet, its bytes held meanwhile. A UDP tracker's own packets vouch for
 * nobody: nDPI 4.2 leaves them Unknown and they are not counted.
 *
 * Allowlisted torrents: the info-hash comes from the flow's own packets
 * (a handshake in the first payload of either direction, over TCP or
 * uTP; an HTTP or UDP tracker announce; a DHT get_peers or announce_peer,
 * which sets the class of its own exchange, since one DHT 5-tuple
 * carries queries about many torrents), never from nDPI's state, and is
 * never logged. A client's DHT node and its uTP connections share one
 * UDP socket (libtorrent, qBittorrent), so one UDP 5-tuple may carry
 * both, interleaved: each packet is one or the other (a DHT message is a
 * bencoded dictionary, which no uTP header starts like), and each keeps
 * its own class, the DHT exchange in progress for DHT messages, the
 * stream's own info-hash (uTP handshake, tracker announce) for the
 * rest. A flow whose info-hash is on the list is counted in
 * bt_allow_* only: not in bt_in/bt_out, and not towards bt_volume, so
 * that a subscriber seeding a Linux ISO is neither billed as BitTorrent
 * nor alerted. sensor.rrd bt_bytes counts all BitTorrent, allowlisted or
 * not.
 *
 * Allowlist across encryption: an encrypted flow (or any BitTorrent flow
 * that showed no info-hash of its own) carries the torrent of the peer
 * lists in clear that named its far endpoint: a tracker reply to an
 * announce (HTTP or UDP), a DHT get_peers reply (values) after a query
 * for an allowlisted torrent, a PEX message in a plain peer wire, and a
 * DHT announce_peer from a far peer (its sender has the torrent). The
 * peer cache keeps, with each endpoint, whether it was named for an
 * allowlisted torrent, another, or both; named for an allowlisted one,
 * the flow is allowlisted (a seeder of a Linux ISO that seeds something
 * else too does not get its legitimate leecher accused). A subscriber's
 * own endpoint serves all its torrents and says nothing. A flow whose
 * far end no list in clear named is unknown-torrent BitTorrent: counted
 * in bt_in/bt_out and towards bt_volume (it may be a torrent announced
 * over HTTPS); the summary line counts such flows.
 *
 * Late labels: nDPI decides after a few packets (or gives up after its
 * budget of packets, or at flow end, which is when an encrypted flow gets
 * its label), and an info-hash may come after nDPI's label (with an
 * allowlist, a BitTorrent flow waits up to HASH_WAIT_PKTS packets for
 * it). The flow table keeps each flow's running bytes, so when a flow
 * gets its label the bytes before are added at once, then every packet as
 * it comes. The back-log lands in the step in progress, not in the steps
 * its packets were seen in: at most nDPI's budget of packets, or a short
 * flow's bytes at its end.
 *
 * bt_volume: per subscriber, a window of [p2p] window seconds in packet
 * time kept as WIN_BUCKETS buckets of window/WIN_BUCKETS seconds; the sum
 * covers the bucket in progress and the WIN_BUCKETS-1 before it, so the
 * window slides in sixteenths. The alert is raised when a sum passes
 * max_bt_bytes, and again only after it has fallen back below it;
 * alert.c holds down repeats.
 *
 * PEX (BEP 11) is read by following the message framing of plaintext
 * peer-wire connections (PEX_SLOTS at once); a hole in a direction's
 * sequence numbers (a segment the capture missed, or out of order) ends
 * the following of that direction.
 *
 * CPU: the framing heuristics run only on flows nDPI left Unknown, for
 * their first packets (FRAME_PKTS, UTP_PKTS, WIRE_PKTS) and at most
 * FRAME_WAIT seconds; the block-header scan reads the payload's bytes
 * once, the others only lengths and header fields.
 *
 * Memory, all allocated at start: 40 bytes per flow of [sensor]
 * max_flows, 152 bytes per subscriber, the peer cache (8 endpoints of 24
 * bytes per flow of max_flows, within PEER_MIN..PEER_MAX), PEX_SLOTS peer-wire followers of 36 bytes, 20
 * bytes per allowlisted torrent.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alert.h"
#include "allowlist.h"
#include "btmsg.h"
#include "bytes.h"
#include "classify.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "mse.h"
#include "peercache.h"
#include "rrdw.h"
#include "submap.h"
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

enum { C_BT_IN, C_BT_OUT, C_ALLOW_IN, C_ALLOW_OUT, C_P2P_IN, C_P2P_OUT, C_WIDTH };
static const int p2p_ds[C_WIDTH] = {
	RRDW_U_BT_IN, RRDW_U_BT_OUT, RRDW_U_BT_ALLOW_IN, RRDW_U_BT_ALLOW_OUT,
	RRDW_U_P2P_IN, RRDW_U_P2P_OUT,
};

/* File-sharing networks other than BitTorrent, by nDPI 4.2 name: its
 * "Download" category less FTP, HTTP download links and messaging
 * attachments. Names nDPI does not know are skipped. */
static const char *const other_p2p[] = {
	"eDonkey", "Gnutella", "DirectConnect", "AppleJuice", "OpenFT", "FastTrack",
	"Thunder", "Stealthnet", "Aimini", "Soulseek",
};

enum label { L_UNDECIDED, L_NONE, L_BT, L_P2P };
/* Why a flow is BitTorrent, weakest first (shown in the flow log's app
 * suffix and in the bt_volume alert's level field): nDPI read the
 * protocol's own messages (handshake); the flow's framing alone (uTP
 * headers, peer-wire message lengths under RC4, block headers mid-
 * stream); MSE shape and the far end named as a peer in clear (peer);
 * MSE shape and the subscriber's own plain BitTorrent just now (swarm). */
enum level { LV_NONE, LV_HANDSHAKE, LV_FRAMING, LV_PEER, LV_SWARM, LV_COUNT };
static const char *const level_name[LV_COUNT] = {
	"none", "handshake", "framing", "peer", "swarm",
};
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

struct p2p {
	struct collector_env env;
	struct subrows rows;
	struct allowlist *allow;
	struct peercache *peers;
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
	uint64_t bt_bytes;	/* sensor.rrd bt_bytes this step */
	int bt_id;
	uint8_t *is_p2p;	/* bitmap over nDPI ids */
	struct p2p_stats st;
};

/* ---- setup ---------------------------------------------------------- */

static struct subwin *
win_new(uint32_t n)
{
	return calloc((size_t)n + 1, sizeof(struct subwin));
}

static uint32_t
bucket_len(const struct collector_env *env)
{
	unsigned w = env->cfg->p2p.window;

	return w < WIN_BUCKETS ? 1 : (w + WIN_BUCKETS - 1) / WIN_BUCKETS;
}

/* Loads the allowlist the configuration names: 0 (into *out, NULL when
 * none is configured), or -1 when it is named but bad (logged). */
static int
load_allowlist(const struct collector_env *env, struct allowlist **out)
{
	*out = NULL;
	if (!env->cfg->p2p.allowlist)
		return 0;
	*out = allowlist_load(env->cfg->p2p.allowlist);
	if (!*out)
		return -1;
	log_info("p2p: %zu allowlisted torrents from %s", allowlist_count(*out),
		 env->cfg->p2p.allowlist);
	return 0;
}

static void p2p_stop(void *self);

static void *
p2p_start(const struct collector_env *env)
{
	struct p2p *P = calloc(1, sizeof *P);

	if (!P)
		return NULL;
	P->env = *env;
	if (!env->cfg || !env->cls) {
		log_err("p2p: no configuration or classifier");
		free(P);
		return NULL;
	}
	if (load_allowlist(env, &P->allow) < 0) {
		free(P);
		return NULL;
	}
	if (subrows_init(&P->rows, env->subs, C_WIDTH) < 0) {
		allowlist_free(P->allow);
		free(P);
		return NULL;
	}
	P->nflows = env->cfg->sensor.max_flows;
	P->nsubs = (uint32_t)submap_count(env->subs);
	P->blen = bucket_len(env);
	/* calloc: the per-flow array costs resident memory only for the
	 * pages that flows have touched. */
	P->flows = calloc((size_t)P->nflows + 1, sizeof *P->flows);
	P->win = win_new(P->nsubs);
	P->peers = peercache_new(P->nflows >= PEER_MAX / PEER_PER_FLOW ? PEER_MAX
				 : P->nflows <= PEER_MIN / PEER_PER_FLOW ? PEER_MIN
				 : (size_t)P->nflows * PEER_PER_FLOW, PEER_TTL);
	P->pex = calloc(PEX_SLOTS, sizeof *P->pex);
	P->pex_free = malloc(PEX_SLOTS * sizeof *P->pex_free);
	P->is_p2p = calloc(NDPI_IDS / 8, 1);
	if (!P->flows || !P->win || !P->peers || !P->pex || !P->pex_free || !P->is_p2p) {
		log_err("p2p: no memory for %u flows and %u subscribers", P->nflows, P->nsubs);
		p2p_stop(P);
		return NULL;
	}
	for (uint32_t i = 0; i < PEX_SLOTS; i++)
		P->pex_free[P->npex_free++] = (uint16_t)(PEX_SLOTS - 1 - i);
	P->bt_id = classify_proto_id(env->cls, "BitTorrent");
	for (size_t i = 0; i < sizeof other_p2p / sizeof other_p2p[0]; i++) {
		int id = classify_proto_id(env->cls, other_p2p[i]);

		if (id > 0 && id < NDPI_IDS && id != P->bt_id)
			P->is_p2p[id / 8] |= (uint8_t)(1 << (id % 8));
	}
	if (P->bt_id <= 0)
		log_warn("p2p: nDPI knows no BitTorrent; only encrypted BitTorrent is counted");
	return P;
}

/* ---- labels ----------------------------------------------------------- */

static int
is_bt(const struct p2p *P, const struct flow *f)
{
	return P->bt_id > 0 && (f->app_proto == P->bt_id || f->app_master == P->bt_id);
}

static int
is_p2p(const struct p2p *P, const struct flow *f)
{
	return (P->is_p2p[f->app_proto / 8] >> (f->app_proto % 8) & 1) ||
	       (P->is_p2p[f->app_master / 8] >> (f->app_master % 8) & 1);
}

static void
pex_release(struct p2p *P, struct pflow *st)
{
	if (!st->pex)
		return;
	P->pex_free[P->npex_free++] = (uint16_t)(st->pex - 1);
	st->pex = 0;
}

static void label_as(struct p2p *P, struct pflow *st, enum label l);

/* Is there evidence besides the MSE shape that f is BitTorrent? Its
 * server endpoint named as a peer, or a subscriber of it active in plain
 * BitTorrent just now. */
static enum level
evidence(struct p2p *P, const struct flow *f)
{
	const uint8_t *srv = f->client_is_a ? f->key.b : f->key.a;
	uint16_t sport = f->client_is_a ? f->key.bport : f->key.aport;
	const int32_t subs[2] = { f->sub_a, f->sub_b };

	if (peercache_has(P->peers, f->key.family, srv, sport, P->now)) {
		P->st.enc_by_cache++;
		return LV_PEER;
	}
	for (int i = 0; i < 2; i++) {
		const struct subwin *w = subs[i] >= 0 ? &P->win[subs[i]] : NULL;

		/* (packet time may step back a little: still recent) */
		if (w && w->last_bt && (P->now <= w->last_bt || P->now - w->last_bt <= RECENT_BT)) {
			P->st.enc_by_recent++;
			return LV_SWARM;
		}
	}
	return LV_NONE;
}

/* The torrent of a BitTorrent flow that shows no info-hash of its own:
 * that of the peer lists in clear that named its far endpoint (the
 * server's, or the client's: uTP sends from the listening port). An
 * endpoint named for an allowlisted torrent makes the flow allowlisted,
 * even if it was named for another torrent too: a legitimate user is
 * never accused for a peer that also serves something else. */
static void
carry_torrent(struct p2p *P, struct pflow *st, const struct flow *f)
{
	/* A subscriber's own endpoint serves all its torrents: only the far
	 * end tells which one. */
	int ta = f->sub_a >= 0 ? -1
		 : peercache_tag(P->peers, f->key.family, f->key.a, f->key.aport, P->now);
	int tb = f->sub_b >= 0 ? -1
		 : peercache_tag(P->peers, f->key.family, f->key.b, f->key.bport, P->now);
	int tag = (ta > 0 ? ta : 0) | (tb > 0 ? tb : 0);

	if (st->flags & PF_HASH)
		return;
	if (tag & PEERCACHE_T_ALLOWED) {
		st->flags |= PF_HASH | PF_ALLOWED;
		P->st.allow_flows++;
		P->st.enc_allowed++;
	} else if (tag & PEERCACHE_T_OTHER) {
		st->flags |= PF_HASH;
		P->st.enc_other++;
	} else {
		P->st.enc_unknown++;	/* unknown-torrent BitTorrent */
	}
}

/* Labels f BitTorrent by spanwatch's own evidence at level lv. */
static void
own_label(struct p2p *P, struct pflow *st, struct flow *f, enum level lv, enum flow_own_app app)
{
	st->flags |= PF_ENC;
	st->level = (uint8_t)lv;
	f->own_app = (uint8_t)app;
	P->st.enc_flows++;
	carry_torrent(P, st, f);
	label_as(P, st, L_BT);
}

/* MSE over TCP, after its handshake: do the segments of one direction
 * have the lengths of a leecher's messages (mse_msglen_like)? */
static int
mse_framing(const struct pflow *st)
{
	for (int d = 0; d < 2; d++)
		if (st->u.tcp.hits[d] >= FRAME_HITS &&
		    4u * st->u.tcp.hits[d] >= 3u * st->u.tcp.small[d])
			return 1;
	return 0;
}

/* uTP framing: 1 yes, 0 not yet, -1 no. */
static int
utp_framing(const struct pflow *st)
{
	if (st->u.udp.bad > UTP_BAD)
		return -1;
	if (st->u.udp.good[0] >= UTP_GOOD && st->u.udp.good[1] >= UTP_GOOD &&
	    8u * st->u.udp.bad <= st->u.udp.seen)
		return 1;
	return st->u.udp.seen >= UTP_PKTS ? -1 : 0;
}

static void
label_as(struct p2p *P, struct pflow *st, enum label l)
{
	st->label = (uint8_t)l;
	if (l == L_BT && !st->level)
		st->level = LV_HANDSHAKE;
	if (l == L_BT)
		P->st.bt_flows++;
	else if (l == L_P2P)
		P->st.p2p_flows++;
	if (l != L_BT)
		pex_release(P, st);
}

/* nDPI speaks first: a flow it names is what it names (its address
 * lists and port guesses at give-up know Telegram's or a CDN's random-
 * looking traffic); only a flow it leaves Unknown may be encrypted
 * BitTorrent. final: the flow has ended, nothing more will come. */
static void
decide(struct p2p *P, struct pflow *st, struct flow *f, int final)
{
	if (!f->classified)
		return;
	/* Picked up mid-stream, nDPI can only guess (it takes a plain peer
	 * wire's random file bytes for TLS records): peer-wire block headers
	 * are stronger evidence than its guess, so they are looked for
	 * first, over the flow's first WIRE_PKTS payloads. */
	if (f->key.proto == 6 && !(st->flags & PF_SYN) && !is_bt(P, f)) {
		if (st->u.tcp.wire >= WIRE_HITS) {
			P->st.by_wire++;
			own_label(P, st, f, LV_FRAMING, FLOW_OWN_BT_WIRE_FRAMING);
			return;
		}
		if (st->u.tcp.wseen < WIRE_PKTS && !final &&
		    P->now <= f->first_us / 1000000 + FRAME_WAIT)
			return;
	}
	if (is_bt(P, f)) {
		label_as(P, st, L_BT);
		return;
	}
	if (is_p2p(P, f)) {
		label_as(P, st, L_P2P);
		return;
	}
	if (f->app_proto || f->app_master) {
		label_as(P, st, L_NONE);
		return;
	}
	/* Unknown: the flow's own evidence. Each heuristic looks at the
	 * first packets only; a flow keeps waiting while one may still say
	 * yes, at most FRAME_WAIT s, its bytes held meanwhile. */
	int span_over = P->now > f->first_us / 1000000 + FRAME_WAIT;

	if (f->key.proto == 17) {
		int u = utp_framing(st);

		if (u > 0) {
			P->st.by_utp++;
			own_label(P, st, f, LV_FRAMING, FLOW_OWN_BT_UTP_FRAMING);
			return;
		}
		if (!u && !final && !span_over)
			return;
		label_as(P, st, L_NONE);
		return;
	}
	if (f->key.proto != 6) {
		label_as(P, st, L_NONE);
		return;
	}
	/* Only a flow seen from its SYN shows the handshake; before its
	 * third message, wait for it. */
	if ((st->flags & PF_SYN) && st->u.tcp.mse.verdict == MSE_UNDECIDED && !final)
		return;
	if (st->u.tcp.mse.verdict == MSE_YES) {
		/* The reply naming the peer, or the client's first plaintext
		 * message, may come a moment after nDPI gives up: a flow
		 * without evidence asks again on its next packets, until
		 * EVIDENCE_WAIT s after its start (time may step back a
		 * little); evidence seen only after that is too late. */
		int late = P->now > f->first_us / 1000000 + EVIDENCE_WAIT;
		enum level lv = LV_NONE;

		if (!(late && (st->flags & PF_WAITING)))
			lv = evidence(P, f);
		if (lv) {
			if (st->flags & PF_WAITING)
				P->st.enc_late++;
			own_label(P, st, f, lv,
				  lv == LV_PEER ? FLOW_OWN_BT_ENC_PEER : FLOW_OWN_BT_ENC_SWARM);
			return;
		}
		/* No evidence in view: the flow's own message lengths. */
		if (mse_framing(st)) {
			P->st.by_mse_framing++;
			own_label(P, st, f, LV_FRAMING, FLOW_OWN_BT_ENC_FRAMING);
			return;
		}
		if (!final && !span_over && (!late || st->u.tcp.fseen < FRAME_PKTS)) {
			st->flags |= PF_WAITING;
			return;
		}
		/* MSE-shaped, no evidence, framing ambiguous: not
		 * BitTorrent (never accused on its shape alone). */
		P->st.mse_no_evidence++;
	}
	label_as(P, st, L_NONE);
}

/* ---- what the packets say ------------------------------------------- */

static void
on_peer(void *ctx, int family, const uint8_t *addr, uint16_t port)
{
	struct p2p *P = ctx;

	peercache_add_tag(P->peers, family, addr, port, P->now, P->tag);
	P->st.peers_named++;
}

/* The tag for peers named by a flow whose own info-hash is st's. */
static uint8_t
hash_tag(const struct pflow *st)
{
	if (!(st->flags & PF_HASH))
		return 0;
	return st->flags & PF_ALLOWED ? PEERCACHE_T_ALLOWED : PEERCACHE_T_OTHER;
}

/* Subscriber sub (-1: none) sent plaintext BitTorrent just now: its own
 * client speaks the protocol (a packet it only received proves nothing:
 * DHT crawlers query addresses that were nodes once). */
static void
vouch(struct p2p *P, int32_t sub)
{
	if (sub >= 0)
		P->win[sub].last_bt = P->now;
}

static void
set_hash(struct p2p *P, struct pflow *st, const uint8_t hash[BTMSG_HASH_LEN])
{
	if (st->flags & PF_HASH)
		return;
	st->flags |= PF_HASH;
	if (allowlist_has(P->allow, hash)) {
		st->flags |= PF_ALLOWED;
		P->st.allow_flows++;
	}
}

/* A DHT query: its torrent, if any, is that of the exchange it opens. One
 * 5-tuple carries many exchanges (a node asked about one torrent, then
 * another), so each query sets the class of its packets and of the reply
 * that follows, rather than the first setting the flow's. It says nothing
 * about a uTP stream on the same 5-tuple. */
static void
dht_query(struct p2p *P, struct pflow *st, const struct btmsg_krpc *k)
{
	int allowed = k->has_hash && allowlist_has(P->allow, k->hash);

	if (st->role == R_NONE)
		st->role = R_DHT;
	if (allowed && !(st->flags & PF_DHT_ALLOWED))
		P->st.allow_flows++;
	st->flags = (uint8_t)(allowed ? st->flags | PF_DHT_ALLOWED : st->flags & ~PF_DHT_ALLOWED);
}

/* A DHT message before the flow's bytes are counted: its bytes are of the
 * exchange's class, whatever the stream's turns out to be. */
static void
dht_hold(struct pflow *st, const struct flow_event *ev)
{
	uint32_t *c = st->flags & PF_DHT_ALLOWED ? st->u.udp.allow : st->u.udp.other;
	uint32_t n = ev->p->ip_len;

	c[ev->dir] = c[ev->dir] > UINT32_MAX - n ? UINT32_MAX : c[ev->dir] + n;
}

/* Starts following direction d of a peer-wire connection whose
 * handshake begins at TCP sequence number seq. */
static void
pex_follow(struct p2p *P, struct pflow *st, int d, uint32_t seq)
{
	struct pexf *x;

	if (!st->pex) {
		if (!P->npex_free) {
			P->st.pex_full++;
			return;
		}
		st->pex = (uint16_t)(P->pex_free[--P->npex_free] + 1);
		memset(&P->pex[st->pex - 1], 0, sizeof P->pex[0]);
	}
	x = &P->pex[st->pex - 1];
	btmsg_wire_init(&x->w[d]);
	tcpfollow_start(&x->f[d], seq);
	x->on[d] = 1;
}

/* One in-order (or retransmitted) segment of a followed direction. */
static void
pex_segment(struct p2p *P, struct pflow *st, int d, uint32_t seq, const uint8_t *pl, uint32_t n)
{
	struct pexf *x = &P->pex[st->pex - 1];
	uint32_t skip;

	if (!x->on[d])
		return;
	switch (tcpfollow_place(&x->f[d], seq, n, TCPF_NO_JUMP, &skip)) {
	case TCPF_OLD:
		return;		/* a retransmission of bytes already read */
	case TCPF_NEW:
		P->tag = hash_tag(st);
		if (btmsg_wire_walk(&x->w[d], pl + skip, n - skip, on_peer, P) < 0)
			x->on[d] = 0;
		tcpfollow_took(&x->f[d], seq, n);
		break;
	default:
		/* A gap: bytes the capture missed. The framing is lost. */
		x->on[d] = 0;
		break;
	}
	if (!x->on[0] && !x->on[1])
		pex_release(P, st);
}

/* The first payloads of a direction: an info-hash, and what the flow is
 * (peer wire, tracker). */
static void
look_tcp(struct p2p *P, struct pflow *st, const struct flow_event *ev, uint32_t seq,
	 const uint8_t *pl, uint32_t n)
{
	uint8_t hash[BTMSG_HASH_LEN];
	int d = ev->dir;

	if (btmsg_handshake(pl, n, hash)) {
		set_hash(P, st, hash);
		vouch(P, collector_sub_from(ev));
		st->role = R_PEERWIRE;
		pex_follow(P, st, d, seq);
	} else if (d == FLOW_C2S && btmsg_tracker_request(pl, n, hash)) {
		set_hash(P, st, hash);
		vouch(P, collector_sub_from(ev));
		st->role = R_TRACKER_HTTP;
	}
}

static void
look_udp(struct p2p *P, struct pflow *st, const struct flow_event *ev, const uint8_t *pl,
	 uint32_t n)
{
	uint8_t hash[BTMSG_HASH_LEN];
	uint32_t off;
	int d = ev->dir;

	if (d == FLOW_C2S && btmsg_udptracker_connect(pl, n)) {
		st->role = R_TRACKER_UDP;
	} else if (st->role == R_TRACKER_UDP && d == FLOW_C2S) {
		if (btmsg_udptracker_announce(pl, n, hash))
			set_hash(P, st, hash);
	} else if (btmsg_utp(pl, n, &off) && btmsg_handshake(pl + off, n - off, hash)) {
		set_hash(P, st, hash);
		vouch(P, collector_sub_from(ev));
	}
}

/* The flow's own evidence over TCP, for its first packets while it is
 * undecided: the MSE handshake (from the SYN), then the lengths of the
 * segments after it; block headers at any offset (from mid-stream). */
static void
tcp_framing(struct pflow *st, int d, uint32_t seq, const uint8_t *pl, uint32_t n)
{
	if (st->flags & PF_SYN) {
		if (st->u.tcp.mse.verdict == MSE_UNDECIDED) {
			mse_feed(&st->u.tcp.mse, d == FLOW_C2S, seq, pl, n);
			return;	/* the segment that decides is the handshake's */
		}
		/* Only small segments: a piece's MSS-sized segments say
		 * nothing, and would use up the budget between requests. */
		if (st->u.tcp.mse.verdict == MSE_YES && n <= MSE_MSGLEN_SMALL &&
		    st->u.tcp.fseen < FRAME_PKTS) {
			st->u.tcp.fseen++;
			st->u.tcp.small[d]++;
			st->u.tcp.hits[d] += (uint8_t)mse_msglen_like(n);
		}
		return;
	}
	if (st->u.tcp.wseen < WIRE_PKTS) {
		unsigned w = st->u.tcp.wire + btmsg_wire_scan(pl, n);

		st->u.tcp.wseen++;
		st->u.tcp.wire = (uint8_t)(w > UINT8_MAX ? UINT8_MAX : w);
	}
}

/* uTP framing (BEP 29) over UDP, for the first UTP_PKTS payloads that are
 * not DHT: every one a uTP header, each direction keeping one connection
 * id, the two ids one apart, and each side's ack_nr close behind the
 * other's last seq_nr. Random or other UDP fails within a packet or two
 * (one random byte in 51 even has uTP's first byte). */
static void
utp_feed(struct pflow *st, int d, const uint8_t *pl, uint32_t n)
{
	struct btmsg_utp_hdr h;
	uint32_t off;
	uint16_t cid;
	int o = !d;

	if (st->u.udp.seen >= UTP_PKTS)
		return;
	st->u.udp.seen++;
	if (!btmsg_utp_header(pl, n, &h, &off)) {
		st->u.udp.bad++;
		return;
	}
	/* The initiator's SYN carries the id one below its later packets'. */
	cid = (uint16_t)(h.type == 4 ? h.conn_id + 1 : h.conn_id);
	if (!(st->flags2 & (PF2_CID << d))) {
		st->u.udp.cid[d] = cid;
		st->flags2 |= (uint8_t)(PF2_CID << d);
	} else if (st->u.udp.cid[d] != cid) {
		st->u.udp.bad++;
		return;
	}
	st->u.udp.seq[d] = h.seq;
	if (!(st->flags2 & (PF2_CID << o)))
		return;
	{
		uint16_t dc = (uint16_t)(st->u.udp.cid[d] - st->u.udp.cid[o]);
		int16_t lag = (int16_t)(st->u.udp.seq[o] - h.ack);

		if (dc != 1 && dc != 0xffff) {
			st->u.udp.bad++;
			return;
		}
		if (lag > -1024 && lag < 1024 && st->u.udp.good[d] < UINT8_MAX)
			st->u.udp.good[d]++;
	}
}

/* Reads what the packet's payload says; returns what kind of packet it
 * is on a UDP 5-tuple (K_STREAM for TCP). */
static enum kind
inspect(struct p2p *P, struct pflow *st, const struct flow_event *ev)
{
	const struct pkt *p = ev->p;
	const uint8_t *pl = p->payload;
	uint32_t n = p->payload_len;
	struct bytes pb = bytes_of(pl, n);
	int d = ev->dir;
	struct btmsg_krpc k;

	if (p->proto == 6) {
		/* A SYN's payload (TCP Fast Open) starts one after its seq. */
		uint32_t seq = p->tcp_seq + ((p->tcp_flags & TCP_SYN) ? 1u : 0u);

		if (st->looks[d]) {
			st->looks[d]--;
			look_tcp(P, st, ev, seq, pl, n);
		}
		if (st->label == L_UNDECIDED)
			tcp_framing(st, d, seq, pl, n);
		if (st->role == R_TRACKER_HTTP && d == FLOW_S2C && !(st->flags & PF_REPLY) &&
		    st->s2c_seen < 2) {
			/* The reply's header and body may be two segments. */
			unsigned got;

			P->tag = hash_tag(st);
			got = st->s2c_seen++ ? btmsg_tracker_reply_body(pl, n, on_peer, P)
						      : btmsg_tracker_reply(pl, n, on_peer, P);
			if (got)
				st->flags |= PF_REPLY;
		}
		if (st->pex)
			pex_segment(P, st, d, seq, pl, n);
		return K_STREAM;
	}
	/* A DHT message ('d', a bencoded dictionary) or not: a uTP header
	 * starts with its type (0..4) and version 1, a UDP tracker's
	 * messages with a connection id or an action (0..3), which a whole
	 * KRPC dictionary with "t" and "y" does not follow by chance. */
	/* A reply's values are peers of the torrent of the query before. */
	P->tag = st->flags & PF_DHT_ALLOWED ? PEERCACHE_T_ALLOWED : 0;
	if (bytes_u8(&pb, 0) == 'd' && btmsg_krpc(pl, n, &k, on_peer, P) >= 0 && k.valid) {
		vouch(P, collector_sub_from(ev));
		if (k.query)
			dht_query(P, st, &k);
		if (k.announce && k.has_hash && collector_sub_from(ev) < 0) {
			/* announce_peer comes from a peer of the torrent, from
			 * the port it takes connections on (libtorrent's and
			 * most clients' DHT shares it). get_peers need not:
			 * clients look up random targets with it. Only a far
			 * peer's: a subscriber's port serves all its torrents. */
			const struct flow *f = ev->f;

			peercache_add_tag(P->peers, f->key.family, ev->from_a ? f->key.a : f->key.b,
					  ev->from_a ? f->key.aport : f->key.bport, P->now,
					  allowlist_has(P->allow, k.hash) ? PEERCACHE_T_ALLOWED
									 : PEERCACHE_T_OTHER);
		}
		return K_DHT;
	}
	if (st->looks[d]) {
		st->looks[d]--;
		look_udp(P, st, ev, pl, n);
	}
	if (st->role == R_TRACKER_UDP && d == FLOW_S2C) {
		P->tag = hash_tag(st);
		btmsg_udptracker_reply(pl, n, ev->f->key.family, on_peer, P);
	}
	if (st->label == L_UNDECIDED && st->role == R_NONE)
		utp_feed(st, d, pl, n);
	return K_STREAM;
}

/* ---- counting ----------------------------------------------------------- */

static void
win_advance(struct p2p *P, struct subwin *w)
{
	uint32_t nb = P->now / P->blen;

	if (!w->sum && !w->cur) {
		w->cur = nb;
		return;
	}
	if (nb <= w->cur)
		return;		/* same bucket, or packet time stepped back */
	if (nb - w->cur >= WIN_BUCKETS) {
		memset(w->b, 0, sizeof w->b);
		w->sum = 0;
	} else {
		for (uint32_t j = w->cur + 1; j <= nb; j++) {
			w->sum -= w->b[j % WIN_BUCKETS];
			w->b[j % WIN_BUCKETS] = 0;
		}
	}
	w->cur = nb;
}

static void
raise_volume(struct p2p *P, int32_t sub, const struct flow *f, const struct subwin *w,
	     unsigned level)
{
	const uint8_t *addr = sub == f->sub_a ? f->key.a : f->key.b;
	struct alert_field fl[4] = {
		{ .key = "ip", .type = AF_ADDR },
		{ .key = "bytes", .type = AF_UINT, .v.u = w->sum },
		{ .key = "window", .type = AF_UINT, .v.u = P->env.cfg->p2p.window },
		/* why the flow whose bytes passed the maximum is BitTorrent */
		{ .key = "level", .type = AF_STR,
		  .v.s = level_name[level < LV_COUNT ? level : LV_NONE] },
	};

	/* alert.c takes AF_INET/AF_INET6 here (as smtp.c passes), whatever
	 * alert.h's comment says; the 16 bytes are read in full. */
	fl[0].v.addr.family = f->key.family == 6 ? AF_INET6 : AF_INET;
	memcpy(fl[0].v.addr.a, addr, f->key.family == 6 ? 16 : 4);
	P->st.alerts++;
	alerts_raise(P->env.alerts, "bt_volume", submap_name(P->env.subs, sub), (time_t)P->now, fl,
		     4);
}

/* n bytes of subscriber sub's non-allowlisted BitTorrent, towards the
 * bt_volume window. */
static void
win_add(struct p2p *P, int32_t sub, const struct flow *f, uint64_t n, unsigned level)
{
	struct subwin *w = &P->win[sub];
	uint64_t max = P->env.cfg->p2p.max_bt_bytes;

	win_advance(P, w);
	w->b[w->cur % WIN_BUCKETS] += n;
	w->sum += n;
	if (w->sum <= max) {
		w->alerted = 0;
	} else if (!w->alerted) {
		w->alerted = 1;
		if (P->env.alerts)
			raise_volume(P, sub, f, w, level);
	}
}

/* n IP bytes of f that went in direction dir, of an allowlisted torrent
 * or not. */
static void
add_bytes(struct p2p *P, const struct pflow *st, const struct flow *f, int dir, uint64_t n,
	  int allowed)
{
	int from_a = (dir == FLOW_C2S) == (f->client_is_a != 0);
	int32_t from = from_a ? f->sub_a : f->sub_b, to = from_a ? f->sub_b : f->sub_a;
	int col = st->label == L_P2P ? C_P2P_IN : allowed ? C_ALLOW_IN : C_BT_IN;
	int volume = st->label == L_BT && !allowed;

	if (!n)
		return;
	/* Columns come in pairs, in then out. */
	if (to >= 0)
		subrows_get(&P->rows, to)[col] += n;
	if (from >= 0)
		subrows_get(&P->rows, from)[col + 1] += n;
	if (st->label == L_BT)
		P->bt_bytes += n;
	if (volume) {
		if (to >= 0)
			win_add(P, to, f, n, st->level);
		if (from >= 0 && from != to)
			win_add(P, from, f, n, st->level);
	}
}

/* Counts the bytes f had before its label: a UDP flow's DHT messages as
 * their exchanges' classes, the rest as the stream's. */
static void
count_backlog(struct p2p *P, struct pflow *st, const struct flow *f)
{
	int allowed = !!(st->flags & PF_ALLOWED);

	st->flags |= PF_COUNTING;
	for (int d = 0; d < 2; d++) {
		uint64_t rest = f->bytes[d], da = 0, dn = 0;

		if (f->key.proto == 17) {
			da = st->u.udp.allow[d] < rest ? st->u.udp.allow[d] : rest;
			rest -= da;
			dn = st->u.udp.other[d] < rest ? st->u.udp.other[d] : rest;
			rest -= dn;
		}
		add_bytes(P, st, f, d, rest, allowed);
		add_bytes(P, st, f, d, da, 1);
		add_bytes(P, st, f, d, dn, 0);
	}
}

/* With an allowlist, may a BitTorrent flow still show its info-hash? */
static int
hash_pending(const struct p2p *P, const struct pflow *st, const struct flow *f)
{
	return P->allow && !(st->flags & PF_HASH) && !(st->flags & PF_ENC) &&
	       (st->looks[0] || st->looks[1]) && f->pkts[0] + f->pkts[1] < HASH_WAIT_PKTS;
}

static void
mark_active(struct p2p *P, const struct pflow *st, const struct flow *f)
{
	/* Only plain BitTorrent vouches for a subscriber: an encrypted
	 * label vouching for the next would let one mistake breed more. */
	if (st->label != L_BT || (st->flags & PF_ENC))
		return;
	vouch(P, f->sub_a);
	vouch(P, f->sub_b);
}

static void
account(struct p2p *P, struct pflow *st, const struct flow_event *ev, enum kind kind)
{
	struct flow *f = ev->f;

	mark_active(P, st, f);
	if (st->flags & PF_COUNTING) {
		int cls = kind == K_DHT ? PF_DHT_ALLOWED : PF_ALLOWED;

		add_bytes(P, st, f, ev->dir, ev->p->ip_len, !!(st->flags & cls));
		return;
	}
	if (st->label == L_BT && hash_pending(P, st, f))
		return;
	/* A BitTorrent flow that showed no info-hash (nDPI names encrypted
	 * flows by its own cache of endpoints): the torrent its endpoints
	 * were named for, if any. */
	if (st->label == L_BT && P->allow && !(st->flags & PF_HASH))
		carry_torrent(P, st, f);
	/* The label (and info-hash) arrived: the bytes before count now;
	 * f->bytes already holds this packet. */
	count_backlog(P, st, f);
}

/* ---- hooks ------------------------------------------------------------ */

static void
flow_begin(struct p2p *P, struct pflow *st, const struct flow_event *ev)
{
	const struct pkt *p = ev->p;

	pex_release(P, st);
	memset(st, 0, sizeof *st);
	if (p->proto == 6)
		mse_init(&st->u.tcp.mse);
	if (p->proto == 6) {
		st->looks[0] = st->looks[1] = LOOKS_TCP;
		if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
			st->flags |= PF_SYN;
	} else if (p->proto == 17) {
		st->looks[0] = st->looks[1] = LOOKS_UDP;
	} else {
		st->label = L_NONE;	/* no P2P network runs over ICMP or ESP */
	}
}

static void
p2p_packet(void *self, const struct flow_event *ev)
{
	struct p2p *P = self;
	struct flow *f = ev->f;
	struct pflow *st;
	enum kind kind = K_STREAM;

	if (f->id >= P->nflows)
		return;
	if (ev->created) {
		flow_begin(P, &P->flows[f->id], ev);
		if (P->flows[f->id].label != L_NONE)
			f->watch |= FLOW_W_P2P;
	}
	/* Most flows, after their first packets: decided not P2P. */
	if (!(f->watch & FLOW_W_P2P))
		return;
	st = &P->flows[f->id];
	P->now = (uint32_t)(ev->p->ts_us / 1000000);
	if (ev->p->payload && ev->p->payload_len && !(ev->p->flags & PKT_F_FRAG_LATER))
		kind = inspect(P, st, ev);
	if (kind == K_DHT && !(st->flags & PF_COUNTING))
		dht_hold(st, ev);
	if (st->label == L_UNDECIDED)
		decide(P, st, f, 0);
	if (st->label == L_BT || st->label == L_P2P)
		account(P, st, ev, kind);
	else if (st->label == L_NONE)
		f->watch &= (uint8_t)~FLOW_W_P2P;
}

static void
p2p_flow_end(void *self, struct flow *f, enum flow_end why)
{
	struct p2p *P = self;
	struct pflow *st;

	if (f->id >= P->nflows)
		return;
	st = &P->flows[f->id];
	P->now = (uint32_t)(f->last_us / 1000000);
	/* nDPI's last word (a give-up guess) comes at flow end. */
	if (st->label == L_UNDECIDED)
		decide(P, st, f, 1);
	if ((st->label == L_BT || st->label == L_P2P) && !(st->flags & PF_COUNTING)) {
		if (st->label == L_BT && P->allow && !(st->flags & PF_HASH))
			carry_torrent(P, st, f);
		mark_active(P, st, f);
		count_backlog(P, st, f);
	}
	pex_release(P, st);
	memset(st, 0, sizeof *st);
}

static void
p2p_step(void *self, time_t step_end)
{
	struct p2p *P = self;
	uint64_t v[RRDW_MAX_DS];

	subrows_flush(&P->rows, P->env.subs, P->env.rrdw, step_end, p2p_ds);
	if (P->env.rrdw) {
		rrdw_clear_values(RRDW_SENSOR, v);
		v[RRDW_S_BT_BYTES] = P->bt_bytes;
		rrdw_update(P->env.rrdw, RRDW_SENSOR, NULL, step_end, v);
	}
	P->bt_bytes = 0;
}

static int
p2p_reload(void *self, const struct collector_env *env)
{
	struct p2p *P = self;
	struct allowlist *al;
	struct subwin *nw;
	uint32_t n = (uint32_t)submap_count(env->subs);
	uint32_t blen = bucket_len(env);

	if (load_allowlist(env, &al) < 0)
		return -1;
	nw = win_new(n);
	if (!nw || subrows_remap(&P->rows, P->env.subs, env->subs, env->rrdw, env->step_end,
				 p2p_ds) < 0) {
		log_err("p2p: no memory to reload %u subscribers", n);
		free(nw);
		allowlist_free(al);
		return -1;
	}
	/* Windows and activity follow subscribers by name; a new window
	 * length starts the sums afresh (their buckets no longer fit). */
	for (uint32_t i = 0; i < P->nsubs; i++) {
		int id = submap_find(env->subs, submap_name(P->env.subs, (int)i));

		if (id < 0)
			continue;
		if (blen == P->blen)
			nw[id] = P->win[i];
		else
			nw[id].last_bt = P->win[i].last_bt;
	}
	free(P->win);
	P->win = nw;
	P->nsubs = n;
	P->blen = blen;
	allowlist_free(P->allow);
	P->allow = al;
	P->env = *env;
	return 0;
}

static void
p2p_stop(void *self)
{
	struct p2p *P = self;
	struct peercache_stats ps;

	if (P->peers) {
		peercache_get_stats(P->peers, &ps);
		log_info("p2p: %" PRIu64 " BitTorrent flows (%" PRIu64 " flows showed an allowlisted"
			 " info-hash), %" PRIu64
			 " encrypted (%" PRIu64 " by peer cache, %" PRIu64 " by recent activity, %"
			 PRIu64 " of them after nDPI gave up; %" PRIu64
			 " MSE-shaped without evidence or framing; by framing: %" PRIu64 " MSE, %"
			 PRIu64 " uTP, %" PRIu64 " mid-stream; torrent carried over: %" PRIu64
			 " allowlisted, %" PRIu64 " other, %" PRIu64 " unknown), %" PRIu64
			 " other P2P; %" PRIu64
			 " peers named, cache %zu entries, %" PRIu64 " hits, %" PRIu64
			 " evictions; %" PRIu64 " bt_volume alerts",
			 P->st.bt_flows, P->st.allow_flows, P->st.enc_flows, P->st.enc_by_cache,
			 P->st.enc_by_recent, P->st.enc_late, P->st.mse_no_evidence,
			 P->st.by_mse_framing, P->st.by_utp, P->st.by_wire, P->st.enc_allowed,
			 P->st.enc_other, P->st.enc_unknown, P->st.p2p_flows,
			 P->st.peers_named, ps.capacity, ps.hits, ps.evicted, P->st.alerts);
	}
	subrows_free(&P->rows);
	allowlist_free(P->allow);
	peercache_free(P->peers);
	free(P->flows);
	free(P->pex);
	free(P->pex_free);
	free(P->win);
	free(P->is_p2p);
	free(P);
}

const struct collector collector_p2p = {
	.name = "p2p",
	.start = p2p_start,
	.packet = p2p_packet,
	.flow_end = p2p_flow_end,
	.step = p2p_step,
	.reload = p2p_reload,
	.stop = p2p_stop,
};
