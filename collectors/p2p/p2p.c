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
#include "bigmem.h"
#include "btmsg.h"
#include "classify.h"
#include "collector.h"
#include "config.h"
#include "dispatch.h"
#include "log.h"
#include "mse.h"
#include "p2p_check.h"
#include "p2p_int.h"
#include "peercache.h"
#include "peershare.h"
#include "rrdw.h"
#include "submap.h"
#include "subrows.h"

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

static const char *const level_name[LV_COUNT] = {
	"none", "handshake", "framing", "peer", "swarm",
};

/* ---- setup ---------------------------------------------------------- */

/* A window for each of n subscribers, read at random (bigmem.h). */
static struct subwin *
win_new(uint32_t n)
{
	return bigmem_calloc((size_t)n + 1, sizeof(struct subwin));
}

static void
win_free(struct subwin *w, uint32_t n)
{
	bigmem_free(w, (size_t)n + 1, sizeof(struct subwin));
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
	P->flows = collector_flow_state(env, env->cfg, &p2p_desc, &P->nflows);
	P->nsubs = (uint32_t)submap_count(env->subs);
	P->blen = bucket_len(env);
	P->win = win_new(P->nsubs);
	P->peers = peershare_new(P->nflows >= PEER_MAX / PEER_PER_FLOW ? PEER_MAX
				 : P->nflows <= PEER_MIN / PEER_PER_FLOW ? PEER_MIN
				 : (size_t)P->nflows * PEER_PER_FLOW, PEER_TTL, classify_caches(env->cls));
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

	if (peershare_tag(P->peers, p2p_unit(P, f), f->key.family, srv, sport, P->now) >= 0) {
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
	int32_t u = p2p_unit(P, f);
	int ta = f->sub_a >= 0 ? -1
		 : peershare_tag(P->peers, u, f->key.family, f->key.a, f->key.aport, P->now);
	int tb = f->sub_b >= 0 ? -1
		 : peershare_tag(P->peers, u, f->key.family, f->key.b, f->key.bport, P->now);
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
		p2p_pex_release(P, st);
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
	p2p_vouch(P, f->sub_a);
	p2p_vouch(P, f->sub_b);
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

	/* A slot is zero between flows (p2p_flow_end leaves it so, and one
	 * never used is calloc's): written here, never read first, so that
	 * an untouched page is not mapped to the zero page and then copied
	 * (bigmem.h). */
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
		kind = p2p_inspect(P, st, ev);
	if (kind == K_DHT && !(st->flags & PF_COUNTING))
		p2p_dht_hold(st, ev);
	if (st->label == L_UNDECIDED)
		decide(P, st, f, 0);
	if (st->label == L_BT || st->label == L_P2P)
		account(P, st, ev, kind);
	else if (st->label == L_NONE)
		f->watch &= (uint8_t)~FLOW_W_P2P;
}

int32_t
p2p_unit(const struct p2p *P, const struct flow *f)
{
	return dispatch_unit(P->env.subs, f);
}

/* Another worker's collector: the peers it names go to self's cache. */
static int
p2p_share(void *self, void *owner)
{
	struct p2p *P = self;
	const struct p2p *O = owner;

	peershare_join(P->peers, O->peers);
	return 0;
}

/* A watched flow's next packet reads its state, and a labelled one adds
 * to its subscribers' rows and bt_volume windows. */
static void
p2p_prefetch(void *self, const struct flow *f)
{
	const struct p2p *P = self;
	const int32_t sub[2] = { f->sub_a, f->sub_b };

	if (!(f->watch & FLOW_W_P2P) || f->id >= P->nflows)
		return;
	__builtin_prefetch(&P->flows[f->id], 1);
	__builtin_prefetch((const char *)&P->flows[f->id] + sizeof *P->flows - 1, 1);
	for (int i = 0; i < 2; i++) {
		subrows_prefetch(&P->rows, sub[i]);
		if (sub[i] >= 0 && (uint32_t)sub[i] < P->nsubs)
			__builtin_prefetch(&P->win[sub[i]].sum, 1);
	}
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
	p2p_pex_release(P, st);
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
		win_free(nw, n);
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
	win_free(P->win, P->nsubs);
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
	struct peershare_stats ps;

	if (P->peers) {
		peershare_get_stats(P->peers, &ps);
		log_info("p2p: %" PRIu64 " BitTorrent flows (%" PRIu64 " flows showed an allowlisted"
			 " info-hash), %" PRIu64
			 " encrypted (%" PRIu64 " by peer cache, %" PRIu64 " by recent activity, %"
			 PRIu64 " of them after nDPI gave up; %" PRIu64
			 " MSE-shaped without evidence or framing; by framing: %" PRIu64 " MSE, %"
			 PRIu64 " uTP, %" PRIu64 " mid-stream; torrent carried over: %" PRIu64
			 " allowlisted, %" PRIu64 " other, %" PRIu64 " unknown), %" PRIu64
			 " other P2P; %" PRIu64
			 " peers named, cache %zu entries%s, %" PRIu64 " hits, %" PRIu64
			 " evictions; %" PRIu64 " bt_volume alerts",
			 P->st.bt_flows, P->st.allow_flows, P->st.enc_flows, P->st.enc_by_cache,
			 P->st.enc_by_recent, P->st.enc_late, P->st.mse_no_evidence,
			 P->st.by_mse_framing, P->st.by_utp, P->st.by_wire, P->st.enc_allowed,
			 P->st.enc_other, P->st.enc_unknown, P->st.p2p_flows,
			 P->st.peers_named, ps.cache.capacity, ps.shared ? " (worker 0's)" : "",
			 ps.cache.hits, ps.cache.evicted, P->st.alerts);
		if (ps.lost)
			log_warn("p2p: %" PRIu64 " peers lost (more than %u named in a step on one worker):"
				 " some encrypted flows may be labelled otherwise than with another number"
				 " of threads", ps.lost, PEERSHARE_OVERLAY);
	}
	subrows_free(&P->rows);
	allowlist_free(P->allow);
	peershare_free(P->peers);
	collector_flow_state_free(P->flows, P->nflows, &p2p_desc);
	free(P->pex);
	free(P->pex_free);
	win_free(P->win, P->nsubs);
	free(P->is_p2p);
	free(P);
}

const struct collector collector_p2p = {
	.name = "p2p",
	.desc = &p2p_desc,
	.start = p2p_start,
	.packet = p2p_packet,
	.prefetch = p2p_prefetch,
	.flow_end = p2p_flow_end,
	.share = p2p_share,
	.step = p2p_step,
	.reload = p2p_reload,
	.stop = p2p_stop,
	.check = p2p_check,
};
