/*
 * p2p_inspect.c — what the packets of a p2p-watched flow say, for the
 * p2p collector (p2p.c says what is counted and why): BEP 3 handshakes,
 * HTTP (BEP 3, 23) and UDP (BEP 15) tracker announces and replies, DHT
 * KRPC messages (BEP 5), PEX (BEP 11) in plaintext peer wires, and the
 * framing heuristics of flows nDPI leaves Unknown (MSE's shape, uTP,
 * peer-wire block headers). The messages themselves are read by btmsg.c
 * and mse.c, through the checked accessor (bytes.h); PEX directions are
 * followed by the TCP follower (tcpfollow.h).
 */
#include <string.h>

#include "bytes.h"
#include "classify.h"
#include "p2p_int.h"
#include "peershare.h"

void
p2p_pex_release(struct p2p *P, struct pflow *st)
{
	if (!st->pex)
		return;
	P->pex_free[P->npex_free++] = (uint16_t)(st->pex - 1);
	st->pex = 0;
}

static void
on_peer(void *ctx, int family, const uint8_t *addr, uint16_t port)
{
	struct p2p *P = ctx;

	peershare_add(P->peers, p2p_unit(P, P->cur), family, addr, port, P->now, P->tag);
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
void
p2p_vouch(struct p2p *P, int32_t sub)
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
void
p2p_dht_hold(struct pflow *st, const struct flow_event *ev)
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
		p2p_pex_release(P, st);
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
		p2p_vouch(P, collector_sub_from(ev));
		st->role = R_PEERWIRE;
		pex_follow(P, st, d, seq);
	} else if (d == FLOW_C2S && btmsg_tracker_request(pl, n, hash)) {
		set_hash(P, st, hash);
		p2p_vouch(P, collector_sub_from(ev));
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
		p2p_vouch(P, collector_sub_from(ev));
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
enum kind
p2p_inspect(struct p2p *P, struct pflow *st, const struct flow_event *ev)
{
	const struct pkt *p = ev->p;
	const uint8_t *pl = p->payload;
	uint32_t n = p->payload_len;
	struct bytes pb = bytes_of(pl, n);
	int d = ev->dir;
	struct btmsg_krpc k;

	P->cur = ev->f;	/* whose unit the peers it names are (on_peer) */
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
		p2p_vouch(P, collector_sub_from(ev));
		if (k.query)
			dht_query(P, st, &k);
		if (k.announce && k.has_hash && collector_sub_from(ev) < 0) {
			/* announce_peer comes from a peer of the torrent, from
			 * the port it takes connections on (libtorrent's and
			 * most clients' DHT shares it). get_peers need not:
			 * clients look up random targets with it. Only a far
			 * peer's: a subscriber's port serves all its torrents. */
			const struct flow *f = ev->f;

			peershare_add(P->peers, p2p_unit(P, f), f->key.family,
				      ev->from_a ? f->key.a : f->key.b,
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

