/*
 * pl_bt.c — BitTorrent scripts and spawners; see pl_bt.h.
 */
#include "pl_bt.h"

#include <string.h>

#include "gen.h"
#include "netplan.h"
#include "session.h"
#include "truth.h"

#define BLOCK 16384		/* bytes a request asks for */
#define BLOCKS_PER_PIECE 16	/* 256 KiB pieces */
#define GROUP_PKTS 72		/* packets of one group: a request for 4 blocks and the 4 pieces */
#define LISTED 30		/* peers a tracker reply names */

enum dht_q { DHT_PING, DHT_FIND_NODE, DHT_GET_PEERS, DHT_ANNOUNCE };

static const char *const client_styles[] = {
	"-TR3000-", "-qB4630-", "-UT360S-", "-DE211s-", "-lt0D80-", "-TR2940-",
};

#define NSTYLES (sizeof(client_styles) / sizeof(client_styles[0]))

static void peer_id(struct bufw *b, const struct flow *f, int side, uint32_t style)
{
	static const char alnum[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	struct rng r;

	kind_rng(f, 0xfffd0000u + (uint32_t)side, &r);
	bufw_str(b, client_styles[style % NSTYLES]);
	for (int i = 0; i < 12; i++)
		bufw_u8(b, (uint8_t)alnum[rng_below(&r, 62)]);
}

/* the 68-byte handshake: pstrlen, pstr, reserved (extension protocol,
 * DHT, fast), info-hash, peer id */
static void handshake(struct bufw *b, const struct gen *g, const struct flow *f, int side)
{
	static const uint8_t reserved[8] = { 0, 0, 0, 0, 0, 0x10, 0, 0x05 };

	bufw_u8(b, 19);
	bufw_str(b, "BitTorrent protocol");
	bufw_bytes(b, reserved, sizeof(reserved));
	bufw_bytes(b, g->net->hash[f->torrent], 20);
	peer_id(b, f, side, f->a[3 + side]);
}

static void bitfield(struct bufw *b, const struct flow *f, int side, uint32_t n, int seeder)
{
	struct rng r;
	uint8_t *p;

	kind_rng(f, 0xfffc0000u + (uint32_t)side, &r);
	bufw_be32(b, 1 + n);
	bufw_u8(b, 5);
	p = bufw_reserve(b, n);
	if (!p)
		return;
	for (uint32_t i = 0; i < n; i++)
		p[i] = seeder ? 0xff : (uint8_t)rng_next(&r);
}

/* piece and offset of block number blk of this flow */
static void block_at(const struct flow *f, uint32_t blk, uint32_t *piece, uint32_t *begin)
{
	*piece = f->a[5] + blk / BLOCKS_PER_PIECE;
	*begin = blk % BLOCKS_PER_PIECE * BLOCK;
}

/* ---- peer wire protocol (BEP 3), over TCP or uTP ----
 * a[0] groups of 4 blocks, a[1] the downloader's direction, a[2] bitfield
 * bytes, a[3] a[4] client styles of initiator and responder, a[5] first
 * piece. After the handshakes, each group is one message with 4 requests
 * from the downloader and 4 piece messages from the uploader. */
int bt_wire_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit)
{
	int dl = (int)f->a[1];
	static const uint8_t interested[5] = { 0, 0, 0, 1, 2 };
	static const uint8_t unchoke[5] = { 0, 0, 0, 1, 1 };

	if (step == 0) {
		kind_msg(m, 0);
		handshake(lit, g, f, 0);
	} else if (step == 1) {
		kind_msg(m, 1);
		handshake(lit, g, f, 1);
		bitfield(lit, f, 1, f->a[2], dl == 0);
	} else if (step == 2) {
		kind_msg(m, 0);
		bitfield(lit, f, 0, f->a[2], dl == 1);
		bufw_bytes(lit, dl == 0 ? interested : unchoke, 5);
	} else if (step == 3) {
		kind_msg(m, 1);
		bufw_bytes(lit, dl == 1 ? interested : unchoke, 5);
	} else {
		uint32_t j = step - 4, grp = j / 5, k = j % 5;
		uint32_t piece, begin;

		if (grp >= f->a[0])
			return -1;
		if (k == 0) {
			kind_msg(m, dl);
			for (uint32_t i = 0; i < 4; i++) {
				block_at(f, grp * 4 + i, &piece, &begin);
				bufw_be32(lit, 13);
				bufw_u8(lit, 6);
				bufw_be32(lit, piece);
				bufw_be32(lit, begin);
				bufw_be32(lit, BLOCK);
			}
		} else {
			kind_msg(m, !dl);
			block_at(f, grp * 4 + k - 1, &piece, &begin);
			bufw_be32(lit, 9 + BLOCK);
			bufw_u8(lit, 7);
			bufw_be32(lit, piece);
			bufw_be32(lit, begin);
			m->fill = BLOCK;
		}
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- Message Stream Encryption: everything random-looking ----
 * a[0] groups, a[1] downloader's direction, a[2] a[3] a[4] PadA, PadB,
 * PadC lengths, a[5] bitfield bytes. Ya and Yb are 96-byte DH keys. */
int bt_enc_script(const struct gen *g, const struct flow *f, uint32_t step,
		  struct msg *m, struct bufw *lit)
{
	int dl = (int)f->a[1];

	(void)g;
	(void)lit;
	switch (step) {
	case 0:
		kind_msg(m, 0);
		m->fill = 96 + f->a[2];
		return 0;
	case 1:
		kind_msg(m, 1);
		m->fill = 96 + f->a[3];
		return 0;
	case 2:	/* HASH('req1',S), HASH('req2',SKEY)^HASH('req3',S), ENCRYPT(VC, crypto_provide, PadC, IA) */
		kind_msg(m, 0);
		m->fill = 40 + 8 + 4 + 2 + f->a[4] + 2 + 68;
		return 0;
	case 3:	/* ENCRYPT(VC, crypto_select, PadD), handshake, bitfield */
		kind_msg(m, 1);
		m->fill = 8 + 4 + 2 + 68 + 5 + f->a[5];
		return 0;
	case 4:
		kind_msg(m, 0);
		m->fill = 5 + f->a[5] + 5;
		return 0;
	case 5:
		kind_msg(m, 1);
		m->fill = 5;
		return 0;
	default:
		break;
	}
	if ((step - 6) / 5 >= f->a[0])
		return -1;
	if ((step - 6) % 5 == 0) {
		kind_msg(m, dl);
		m->fill = 4 * 17;
	} else {
		kind_msg(m, !dl);
		m->fill = 13 + BLOCK;
	}
	return 0;
}

/* ---- Mainline DHT (BEP 5): one query, one response ----
 * a[0] query type, a[1] first swarm member named in `values`, a[2] the
 * remote node, a[3] number of values, a[4] transaction id */
static void node_id(const struct gen *g, int subscriber, uint32_t who, uint8_t id[20])
{
	struct rng r;

	rng_seed(&r, rng_mix(g->net->salt ^ (subscriber ? 0x5b5b : 0xd4d4), who));
	rng_fill(&r, id, 20);
}

static void bstr(struct bufw *b, const void *p, size_t n)
{
	bufw_fmt(b, "%zu:", n);
	bufw_bytes(b, p, n);
}

/* compact peer info: address then port, 6 or 18 bytes */
static void compact_peer(struct bufw *b, const struct gen *g, uint32_t t, uint32_t k, int v6)
{
	enum pool p;
	uint32_t idx;
	uint8_t a[16];

	net_swarm_member(g->net, t, k, &p, &idx);
	net_pool_addr(p, idx, v6, a);
	bufw_bytes(b, a, v6 ? 16 : 4);
	bufw_be16(b, net_pool_port(g->net, p, idx));
}

static void compact_nodes(struct bufw *b, const struct gen *g, struct rng *r, int v6)
{
	bufw_str(b, v6 ? "6:nodes6" : "5:nodes");
	bufw_fmt(b, "%d:", 8 * (v6 ? 38 : 26));
	for (int i = 0; i < 8; i++) {
		uint32_t n = rng_below(r, net_pool_size(POOL_DHT));
		uint8_t id[20], a[16];

		node_id(g, 0, n, id);
		net_pool_addr(POOL_DHT, n, v6, a);
		bufw_bytes(b, id, 20);
		bufw_bytes(b, a, v6 ? 16 : 4);
		bufw_be16(b, net_pool_port(g->net, POOL_DHT, n));
	}
}

int bt_dht_script(const struct gen *g, const struct flow *f, uint32_t step,
		  struct msg *m, struct bufw *lit)
{
	static const char *const qnames[] = { "ping", "find_node", "get_peers", "announce_peer" };
	int querier_is_sub = f->cli_inside;
	int replier_is_sub = !f->cli_inside;
	uint8_t qid[20], rid[20], x[20];
	uint16_t tid = (uint16_t)f->a[4];
	uint8_t tok[8];
	struct rng r;
	const char *q = qnames[f->a[0] % 4];

	if (step > 1)
		return -1;
	kind_rng(f, 7, &r);	/* the same token and target in query and reply */
	rng_fill(&r, tok, sizeof(tok));
	rng_fill(&r, x, sizeof(x));
	node_id(g, querier_is_sub, querier_is_sub ? f->sub : f->a[2], qid);
	node_id(g, replier_is_sub, replier_is_sub ? f->sub : f->a[2], rid);
	kind_msg(m, (int)step);
	if (step == 0) {
		bufw_str(lit, "d1:ad2:id");
		bstr(lit, qid, 20);
		if (f->a[0] == DHT_ANNOUNCE)
			bufw_str(lit, "12:implied_porti1e");
		if (f->a[0] == DHT_GET_PEERS || f->a[0] == DHT_ANNOUNCE) {
			bufw_str(lit, "9:info_hash");
			bstr(lit, g->net->hash[f->torrent], 20);
		}
		if (f->a[0] == DHT_ANNOUNCE) {
			bufw_fmt(lit, "4:porti%ue5:token", g->net->subs[f->sub].bt_port);
			bstr(lit, tok, sizeof(tok));
		}
		if (f->a[0] == DHT_FIND_NODE) {
			bufw_str(lit, "6:target");
			bstr(lit, x, 20);
		}
		bufw_fmt(lit, "e1:q%zu:%s1:t2:", strlen(q), q);
		bufw_be16(lit, tid);
		bufw_str(lit, "1:y1:qe");
	} else {
		m->gap_us = 200 + tid % 3000;
		bufw_str(lit, "d1:rd2:id");
		bstr(lit, rid, 20);
		if (f->a[0] == DHT_FIND_NODE || (f->a[0] == DHT_GET_PEERS && !f->a[3]))
			compact_nodes(lit, g, &r, f->v6);
		if (f->a[0] == DHT_GET_PEERS) {
			bufw_str(lit, "5:token");
			bstr(lit, tok, sizeof(tok));
			if (f->a[3]) {
				bufw_str(lit, "6:valuesl");
				for (uint32_t k = 0; k < f->a[3]; k++) {
					bufw_fmt(lit, "%d:", f->v6 ? 18 : 6);
					compact_peer(lit, g, (uint32_t)f->torrent, f->a[1] + k, f->v6);
				}
				bufw_str(lit, "e");
			}
		}
		bufw_str(lit, "e1:t2:");
		bufw_be16(lit, tid);
		bufw_str(lit, "1:y1:re");
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- HTTP tracker announce (BEP 3, compact BEP 23, IPv6 BEP 7) ----
 * a[0] tracker, a[1] first swarm member listed, a[2] members listed,
 * a[3] tracker port, a[4] bytes left, a[5] key */
int bt_tracker_script(const struct gen *g, const struct flow *f, uint32_t step,
		      struct msg *m, struct bufw *lit)
{
	uint8_t body[1600];
	struct bufw b;
	char host[64];
	uint32_t n6 = f->a[2] < 8 ? f->a[2] : 8;

	net_pool_name(POOL_TRACKER, f->a[0], host, sizeof(host));
	if (step == 0) {
		kind_msg(m, 0);
		bufw_str(lit, "GET /announce?info_hash=");
		bufw_urlenc(lit, g->net->hash[f->torrent], 20);
		bufw_str(lit, "&peer_id=");
		peer_id(lit, f, 0, f->a[5]);
		bufw_fmt(lit, "&port=%u&uploaded=0&downloaded=0&left=%u&numwant=80&key=%08x"
			 "&compact=1&supportcrypto=1&event=started HTTP/1.1\r\n"
			 "Host: %s:%u\r\nUser-Agent: Transmission/3.00\r\nAccept: */*\r\n"
			 "Accept-Encoding: gzip;q=1.0, deflate, identity\r\n\r\n",
			 g->net->subs[f->sub].bt_port, f->a[4], f->a[5], host, f->a[3]);
		m->pre = (uint16_t)lit->len;
		return 0;
	}
	if (step != 1)
		return -1;
	kind_msg(m, 1);
	m->gap_us = 2000 + f->a[5] % 50000;
	bufw_init(&b, body, sizeof(body));
	bufw_fmt(&b, "d8:completei%ue10:incompletei%ue8:intervali1800e12:min intervali900e"
		 "5:peers%u:", 20 + f->a[5] % 500, 5 + f->a[4] % 300, 6 * f->a[2]);
	for (uint32_t k = 0; k < f->a[2]; k++)
		compact_peer(&b, g, (uint32_t)f->torrent, f->a[1] + k, 0);
	bufw_fmt(&b, "6:peers6%u:", 18 * n6);
	for (uint32_t k = 0; k < n6; k++)
		compact_peer(&b, g, (uint32_t)f->torrent, f->a[1] + k, 1);
	bufw_str(&b, "e");
	bufw_fmt(lit, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", b.len);
	bufw_bytes(lit, body, b.len);
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- spawners ---- */

static uint32_t pick_torrent(struct rng *r, double allow_share)
{
	if (rng_chance(r, allow_share))
		return rng_below(r, NET_ALLOWED);
	return NET_ALLOWED + rng_below(r, NET_TORRENTS - NET_ALLOWED);
}

static struct flow *dht_flow(struct gen *g, uint32_t sub, int v6, uint32_t t, enum dht_q q,
			     int incoming, uint32_t first, uint32_t nvalues, uint64_t when)
{
	struct rng *r = &g->rng;
	uint32_t node = rng_below(r, net_pool_size(POOL_DHT));
	struct ends e = { .sub = sub, .v6 = v6, .inside_client = !incoming, .pool = POOL_DHT,
			  .idx = node, .sub_port = g->net->subs[sub].bt_port,
			  .far_port = net_pool_port(g->net, POOL_DHT, node) };
	struct flow *f = sess_new(g, K_DHT);
	int with_hash = q == DHT_GET_PEERS || q == DHT_ANNOUNCE;

	if (!f)
		return NULL;
	sess_place(g, f, &e);
	f->torrent = with_hash ? (int16_t)t : -1;
	f->tclass = with_hash && net_torrent_allowed(t) ? TC_BT_ALLOW : TC_BT_PLAIN;
	f->a[0] = q;
	f->a[1] = first;
	f->a[2] = node;
	f->a[3] = nvalues;
	f->a[4] = (uint32_t)rng_next(r);
	sess_start(g, f, when);
	return f;
}

/* --bt-bare: a swarm joined with encrypted connections only (MSE over
 * TCP from an ephemeral port, or over uTP from the client's port), no
 * DHT: the peers came by PEX or a magnet link, or the announce went over
 * HTTPS. An allowlisted torrent is announced in clear to an HTTP tracker
 * whose reply names the peers connected to: its encrypted bytes are
 * allowlisted in the truth, as the ISP wants them counted. */
static void bare_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	uint32_t t = pick_torrent(r, 0.25);
	uint32_t w = rng_below(r, NET_SWARM - LISTED);
	int v6 = su->dual && rng_chance(r, 0.2);
	int allowed = net_torrent_allowed(t);
	uint32_t npeers = 1 + (uint32_t)(s->budget / 400);

	if (npeers > 8)
		npeers = 8;
	if (allowed) {
		uint32_t tr = rng_below(r, net_pool_size(POOL_TRACKER));
		struct ends e = { .sub = s->sub, .v6 = v6, .inside_client = 1, .pool = POOL_TRACKER,
				  .idx = tr, .far_port = 6969 };
		struct flow *f = sess_new(g, K_TRACKER);

		if (f) {
			sess_place(g, f, &e);
			f->torrent = (int16_t)t;
			f->tclass = TC_BT_ALLOW;
			f->closer = 1;
			f->a[0] = tr;
			f->a[1] = w;
			f->a[2] = LISTED;
			f->a[3] = 6969;
			f->a[4] = (uint32_t)rng_range(r, 1u << 20, 0x7fffffff);
			f->a[5] = (uint32_t)rng_next(r);
			sess_start(g, f, s->t0);
		}
	}
	for (uint32_t j = 0; j < npeers; j++) {
		double share = s->budget / npeers;
		enum pool p;
		uint32_t idx;
		struct ends e = { .sub = s->sub, .v6 = v6, .inside_client = 1 };
		int utp = rng_chance(r, 0.5);
		struct flow *f = sess_new(g, utp ? K_UTP_ENC : K_BT_ENC_BARE);

		if (!f)
			return;
		net_swarm_member(g->net, t, w + j, &p, &idx);
		e.pool = p;
		e.idx = idx;
		e.far_port = net_pool_port(g->net, p, idx);
		if (utp)
			e.sub_port = su->bt_port;
		sess_place(g, f, &e);
		f->torrent = (int16_t)t;
		f->tclass = allowed ? TC_BT_ALLOW : TC_BT_ENC;
		f->iv = spawn_iv(s->dur, share);
		f->a[0] = share > GROUP_PKTS ? (uint32_t)(share / GROUP_PKTS) : 1;
		f->a[1] = (uint32_t)!rng_chance(r, 0.75);	/* the subscriber downloads */
		f->a[2] = rng_below(r, 513);
		f->a[3] = rng_below(r, 513);
		f->a[4] = rng_below(r, 513);
		f->a[5] = rng_range(r, 40, 400);
		sess_start(g, f, s->t0 + rng_range(r, 400000, 3000000));
	}
}

void bt_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	uint32_t t;

	/* (no draw at the default 0: the default capture stays the same) */
	if (g->o->bt_bare > 0 && rng_chance(r, g->o->bt_bare)) {
		bare_spawn(g, s);
		return;
	}
	t = pick_torrent(r, 0.25);
	uint32_t w = rng_below(r, NET_SWARM - LISTED);
	int v6 = su->dual && rng_chance(r, 0.2);
	int allowed = net_torrent_allowed(t);
	uint32_t npeers = 1 + (uint32_t)(s->budget / 400);
	uint64_t t0 = s->t0;

	if (npeers > 8)
		npeers = 8;
	if (rng_chance(r, 0.7)) {
		uint32_t tr = rng_below(r, net_pool_size(POOL_TRACKER));
		int port80 = rng_chance(r, 0.3);
		struct ends e = { .sub = s->sub, .v6 = v6, .inside_client = 1, .pool = POOL_TRACKER,
				  .idx = tr, .far_port = port80 ? 80 : 6969 };
		struct flow *f = sess_new(g, K_TRACKER);

		if (f) {
			sess_place(g, f, &e);
			f->torrent = (int16_t)t;
			f->tclass = allowed ? TC_BT_ALLOW : TC_BT_PLAIN;
			f->closer = 1;
			f->a[0] = tr;
			f->a[1] = w;
			f->a[2] = LISTED;
			f->a[3] = port80 ? 80 : 6969;
			f->a[4] = (uint32_t)rng_range(r, 1u << 20, 0x7fffffff);
			f->a[5] = (uint32_t)rng_next(r);
			sess_start(g, f, t0);
		}
	}
	/* two lookups whose `values` name the peers connected to below */
	dht_flow(g, s->sub, v6, t, DHT_GET_PEERS, 0, w, 16, t0 + rng_range(r, 20000, 300000));
	dht_flow(g, s->sub, v6, t, DHT_GET_PEERS, 0, w + 16, 14, t0 + rng_range(r, 20000, 300000));

	for (uint32_t j = 0; j < npeers; j++) {
		double share = s->budget / npeers;
		enum pool p;
		uint32_t idx;
		uint8_t kind;
		struct ends e = { .sub = s->sub, .v6 = v6, .inside_client = 1 };
		struct flow *f;
		int dl_sub = rng_chance(r, 0.75);	/* the subscriber downloads */

		net_swarm_member(g->net, t, w + j, &p, &idx);
		e.pool = p;
		e.idx = idx;
		e.far_port = net_pool_port(g->net, p, idx);
		if (p == POOL_EPEER) {
			/* outgoing from an ephemeral port: nothing ties it to a
			 * port a plain BitTorrent flow already used */
			kind = K_BT_ENC;
		} else if (rng_chance(r, 0.3)) {
			kind = K_UTP;
			e.sub_port = su->bt_port;
		} else {
			kind = K_BT;
			if (rng_chance(r, 0.3)) {	/* the peer connects to us */
				e.inside_client = 0;
				e.sub_port = su->bt_port;
				e.far_port = 0;
			}
		}
		f = sess_new(g, kind);
		if (!f)
			return;
		sess_place(g, f, &e);
		f->torrent = (int16_t)t;
		f->tclass = kind == K_BT_ENC ? TC_BT_ENC : allowed ? TC_BT_ALLOW : TC_BT_PLAIN;
		f->iv = spawn_iv(s->dur, share);
		f->a[0] = share > GROUP_PKTS ? (uint32_t)(share / GROUP_PKTS) : 1;
		f->a[1] = (uint32_t)(dl_sub == e.inside_client ? 0 : 1);
		if (kind == K_BT_ENC) {
			f->a[2] = rng_below(r, 513);
			f->a[3] = rng_below(r, 513);
			f->a[4] = rng_below(r, 513);
			f->a[5] = rng_range(r, 40, 400);
		} else {
			f->a[2] = rng_range(r, 40, 400);
			f->a[3] = rng_below(r, 64);
			f->a[4] = rng_below(r, 64);
			f->a[5] = rng_below(r, 4000);
		}
		sess_start(g, f, t0 + rng_range(r, 400000, 3000000));
	}
}

void bt_dht_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	uint32_t n = s->budget > 2 ? (uint32_t)(s->budget / 2) : 1;

	if (n > 64)
		n = 64;
	for (uint32_t i = 0; i < n; i++) {
		double u = rng_unit(r);
		enum dht_q q = u < 0.3 ? DHT_PING : u < 0.65 ? DHT_FIND_NODE :
			       u < 0.9 ? DHT_GET_PEERS : DHT_ANNOUNCE;
		uint32_t t = pick_torrent(r, 0.1);
		int v6 = su->dual && rng_chance(r, 0.25);
		uint64_t when = s->t0 + (uint64_t)(s->dur * 1e6 * i / n);

		dht_flow(g, s->sub, v6, t, q, rng_chance(r, 0.4),
			 rng_below(r, NET_SWARM - 8), q == DHT_GET_PEERS ? rng_below(r, 9) : 0, when);
	}
}
