/*
 * test_p2p.c — the p2p collector's hooks on hand-made flows: a flow's
 * bytes before its label counted once; the bt_volume window (crossing,
 * no repeat while above, re-armed after it slides below); allowlisted
 * torrents (over uTP) never alerted, also when the info-hash comes after
 * nDPI's label; uTP and DHT on one UDP 5-tuple keeping their classes
 * apart (an allowlisted uTP stream after DHT queries, an encrypted one
 * after an allowlisted query); a subscriber's plaintext BitTorrent
 * vouching for its MSE-shaped flows as soon as spanwatch reads it, not
 * when nDPI decides, and evidence that comes a moment after nDPI's
 * verdict, within a bound; a label that comes only at flow end; a reload
 * that renumbers subscribers keeps their windows, and a reload with a bad
 * allowlist is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "classify.h"
#include "collector.h"
#include "config.h"
#include "submap.h"

extern const struct collector collector_p2p;

#define T0 1767225600ULL
#define MAX 10000

static char tmpdir[] = "/tmp/test_p2p.XXXXXX";
static const uint8_t HASH[20] = { 0xd2, 0x2c, 0x48, 0x4f, 0x96, 0x3d, 0x5c, 0x47, 0x96, 0x79,
				  0x2c, 0x95, 0x49, 0xd3, 0xf1, 0xd6, 0x40, 0x72, 0x80, 0x1e };

struct world {
	struct sw_config cfg;
	struct submap *subs;
	struct classifier *cls;
	struct alerts *alerts;
	struct collector_env env;
	void *p2p;
	int bt;
};

static const char *
write_file(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	FILE *fp;

	snprintf(p, 256, "%s/%s", tmpdir, name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return p;
}

/* with_allow: [p2p] allowlist names a list with one torrent; without,
 * BitTorrent flows do not wait for their info-hash. */
static void
world_open(struct world *w, int with_allow)
{
	struct alerts_opts o = { .use_syslog = 0 };
	char json[300];

	memset(w, 0, sizeof *w);
	config_defaults(&w->cfg);
	w->cfg.p2p.window = 60;
	w->cfg.p2p.max_bt_bytes = MAX;
	w->cfg.alerts.holddown = 0;	/* every alert the collector raises */
	w->cfg.sensor.max_flows = 1000;
	if (with_allow)
		w->cfg.p2p.allowlist = strdup(write_file("allow.txt",
			"d22c484f963d5c4796792c9549d3f1d64072801e debian\n"));
	w->subs = submap_load(write_file("subs.txt", "100.64.0.0/24 a\n100.64.1.0/24 b\n"));
	assert_non_null(w->subs);
	w->cls = classify_new(16, 8192);
	assert_non_null(w->cls);
	w->bt = classify_proto_id(w->cls, "BitTorrent");
	assert_true(w->bt > 0);
	snprintf(json, sizeof json, "%s/alerts.json", tmpdir);
	o.json_path = json;
	w->alerts = alerts_open(&w->cfg, &o);
	assert_non_null(w->alerts);
	w->env = (struct collector_env){ .cfg = &w->cfg, .subs = w->subs, .cls = w->cls,
					 .alerts = w->alerts, .step = 60 };
	w->p2p = collector_p2p.start(&w->env);
	assert_non_null(w->p2p);
}

static void
world_close(struct world *w)
{
	collector_p2p.stop(w->p2p);
	alerts_close(w->alerts);
	classify_free(w->cls);
	submap_free(w->subs);
	config_free(&w->cfg);
}

/* A UDP flow from 100.64.S.2 (subscriber S) to an outside peer. */
static void
flow_init(struct flow *f, uint32_t id, int sub, int32_t subid)
{
	memset(f, 0, sizeof *f);
	f->id = id;
	f->key.family = 4;
	f->key.proto = 17;
	f->key.a[0] = 100;
	f->key.a[1] = 64;
	f->key.a[2] = (uint8_t)sub;
	f->key.a[3] = 2;
	f->key.b[0] = 198;
	f->key.b[1] = 18;
	f->key.b[3] = 1;
	f->key.aport = 50000;
	f->key.bport = 6881;
	f->client_is_a = 1;
	f->sub_a = subid;
	f->sub_b = -1;
	f->dpi = FLOW_NONE;
}

/* A TCP flow from 100.64.S.2 to outside peer 198.18.0.peer:6881. */
static void
tcp_flow_init(struct flow *f, uint32_t id, int sub, int32_t subid, uint8_t peer)
{
	flow_init(f, id, sub, subid);
	f->key.proto = 6;
	f->key.b[3] = peer;
}

/* One packet of ip_len bytes from the client (c2s) or to it; for TCP
 * with its flags and sequence number. */
static void
segment(struct world *w, struct flow *f, int c2s, uint32_t ip_len, uint64_t t_s,
	const uint8_t *payload, uint32_t plen, uint8_t tcp_flags, uint32_t seq)
{
	struct pkt p = { 0 };
	struct flow_event ev = { 0 };
	int d = c2s ? FLOW_C2S : FLOW_S2C;

	p.ts_us = t_s * 1000000;
	p.ip_len = ip_len;
	p.proto = f->key.proto;
	p.family = 4;
	p.payload = payload;
	p.payload_len = plen;
	p.tcp_flags = tcp_flags;
	p.tcp_seq = seq;
	ev.created = f->pkts[0] + f->pkts[1] == 0;
	if (ev.created)
		f->first_us = p.ts_us;
	f->pkts[d]++;
	f->bytes[d] += ip_len;
	f->last_us = p.ts_us;
	ev.f = f;
	ev.p = &p;
	ev.dir = d;
	ev.from_a = c2s;
	collector_p2p.packet(w->p2p, &ev);
}

static void
packet(struct world *w, struct flow *f, int c2s, uint32_t ip_len, uint64_t t_s,
       const uint8_t *payload, uint32_t plen)
{
	segment(w, f, c2s, ip_len, t_s, payload, plen, 0, 0);
}

/* nDPI's verdict: BitTorrent, or (bt 0) Unknown after its give-up. */
static void
ndpi_says(struct world *w, struct flow *f, int bt)
{
	f->classified = 1;
	f->app_proto = bt ? (uint16_t)w->bt : 0;
}

/* Deterministic bytes that look random (xorshift32). */
static void
noise(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 24);
	}
}

static void
test_window_alerts(void **state)
{
	struct world w;
	struct flow f;

	world_open(&w, 0);
	flow_init(&f, 1, 0, submap_find(w.subs, "a"));
	/* 3 packets before nDPI names the flow: nothing counted yet. */
	packet(&w, &f, 1, 4000, T0, NULL, 0);
	packet(&w, &f, 0, 4000, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* Named on the third: 12000 bytes at once, over 10000: one alert. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 4000, T0 + 1, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	/* Still above: no repeat. */
	packet(&w, &f, 0, 4000, T0 + 2, NULL, 0);
	packet(&w, &f, 0, 4000, T0 + 3, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	/* The window has slid past all of it: 6000 is below, re-armed;
	 * 6000 more passes again. */
	packet(&w, &f, 0, 6000, T0 + 200, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	packet(&w, &f, 1, 6000, T0 + 201, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 2);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static size_t
utp_handshake(uint8_t *p)
{
	memset(p, 0, 20);
	p[0] = 0x01;			/* ST_DATA, version 1 */
	memcpy(p + 20, "\x13" "BitTorrent protocol", 20);
	memset(p + 40, 0, 8);
	memcpy(p + 48, HASH, 20);
	memcpy(p + 68, "-TR3000-abcdefghijkl", 20);
	return 88;
}

static const uint8_t OTHER[20] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
				   0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14 };

/* A DHT query (BEP 5) as libtorrent sends it: get_peers when hash is
 * given, else ping; padded with a "v" value to about len bytes. */
static size_t
dht_query_msg(uint8_t *p, const uint8_t *hash, size_t len)
{
	size_t n = (size_t)sprintf((char *)p, "d1:ad2:id20:");

	memset(p + n, 'N', 20);
	n += 20;
	if (hash) {
		n += (size_t)sprintf((char *)p + n, "9:info_hash20:");
		memcpy(p + n, hash, 20);
		n += 20;
	}
	n += (size_t)sprintf((char *)p + n, "e1:q%s1:t2:aa", hash ? "9:get_peers" : "4:ping");
	if (len > n + 20) {
		size_t v = len - n - 20;

		n += (size_t)sprintf((char *)p + n, "1:v%zu:", v);
		memset(p + n, 'x', v);
		n += v;
	}
	n += (size_t)sprintf((char *)p + n, "1:y1:qe");
	return n;
}

/* A DHT reply without peers or nodes. */
static size_t
dht_reply_msg(uint8_t *p)
{
	size_t n = (size_t)sprintf((char *)p, "d1:rd2:id20:");

	memset(p + n, 'R', 20);
	n += 20;
	n += (size_t)sprintf((char *)p + n, "5:token8:abcdefghe1:t2:aa1:y1:re");
	return n;
}

/* A uTP packet (BEP 29) of type (0 DATA, 2 STATE, 4 SYN) with plen
 * bytes of payload (already at p + 20). */
static size_t
utp_packet(uint8_t *p, int type, size_t plen)
{
	memset(p, 0, 20);
	p[0] = (uint8_t)(type << 4 | 1);
	p[3] = 7;			/* connection id */
	return 20 + plen;
}

/* A DHT exchange on f: a query from the client (hash: get_peers, else
 * ping) of about len bytes, and its reply. */
static void
dht_exchange(struct world *w, struct flow *f, uint64_t t, const uint8_t *hash, size_t len)
{
	uint8_t m[1600];
	size_t n = dht_query_msg(m, hash, len);

	packet(w, f, 1, (uint32_t)n + 28, t, m, (uint32_t)n);
	n = dht_reply_msg(m);
	packet(w, f, 0, (uint32_t)n + 28, t, m, (uint32_t)n);
}

static void
utp_send(struct world *w, struct flow *f, int c2s, uint64_t t, int type, const uint8_t *pl,
	 size_t plen)
{
	uint8_t m[1600];
	size_t n;

	if (plen)
		memcpy(m + 20, pl, plen);
	n = utp_packet(m, type, plen);
	packet(w, f, c2s, (uint32_t)n + 28, t, m, (uint32_t)n);
}

/* Issue 1, plain: libtorrent's one UDP socket carries the two clients'
 * DHT exchange and the uTP connection of an allowlisted torrent. The
 * uTP handshake is the downloader's 6th payload and the seeder's 7th,
 * after DHT queries without an info-hash: the stream is allowlisted by
 * its own handshake, whatever DHT query came last, and the DHT
 * exchanges keep their own classes. */
static void
test_utp_beside_dht(void **state)
{
	struct world w;
	struct flow f;
	uint8_t hs[100], junk[1400];
	size_t n = utp_handshake(hs);

	world_open(&w, 1);
	noise(junk, sizeof junk, 1);
	flow_init(&f, 10, 1, submap_find(w.subs, "b"));
	dht_exchange(&w, &f, T0, NULL, 100);			/* ping */
	ndpi_says(&w, &f, 1);	/* nDPI names it from its DHT */
	dht_exchange(&w, &f, T0, HASH, 120);			/* get_peers, allowlisted */
	utp_send(&w, &f, 1, T0, 4, NULL, 0);			/* SYN */
	dht_exchange(&w, &f, T0, NULL, 100);			/* ping */
	utp_send(&w, &f, 0, T0, 2, NULL, 0);			/* STATE */
	dht_exchange(&w, &f, T0, NULL, 100);			/* ping: the last query */
	utp_send(&w, &f, 0, T0, 2, NULL, 0);			/* STATE */
	utp_send(&w, &f, 1, T0, 0, hs + 20, n - 20);		/* 6th payload of the client */
	utp_send(&w, &f, 0, T0, 0, hs + 20, n - 20);		/* 7th of the server */
	for (int i = 0; i < 100; i++) {
		if (i % 25 == 0)
			dht_exchange(&w, &f, T0 + 1, NULL, 100);
		utp_send(&w, &f, i & 1, T0 + 1, 0, junk, sizeof junk);
	}
	/* 140 kB of allowlisted uTP, about 2 kB of DHT that is not. */
	assert_int_equal(alerts_count(w.alerts), 0);
	/* A query about another torrent is its exchange's class, not the
	 * stream's: the uTP that follows stays allowlisted ... */
	dht_exchange(&w, &f, T0 + 2, OTHER, 120);
	for (int i = 0; i < 50; i++)
		utp_send(&w, &f, i & 1, T0 + 2, 0, junk, sizeof junk);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* ... and its own bytes count as BitTorrent: 10 exchanges of about
	 * 1 kB pass 10000. */
	for (int i = 0; i < 10; i++)
		dht_exchange(&w, &f, T0 + 3, OTHER, 1000);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

/* Issue 1, encrypted: an MSE-encrypted uTP stream shows no info-hash, so
 * it is not allowlisted, also right after a DHT get_peers about an
 * allowlisted torrent on the same 5-tuple (clients send get_peers for
 * random targets too: only announce_peer ties, issue 15); that DHT
 * exchange is. */
static void
test_encrypted_utp_beside_dht(void **state)
{
	struct world w;
	struct flow f, g;
	uint8_t junk[1400];

	world_open(&w, 1);
	noise(junk, sizeof junk, 2);
	/* DHT only, all about the allowlisted torrent: 20 kB, no alert. */
	flow_init(&f, 11, 0, submap_find(w.subs, "a"));
	for (int i = 0; i < 10; i++)
		dht_exchange(&w, &f, T0, HASH, 1000);
	ndpi_says(&w, &f, 1);
	for (int i = 0; i < 10; i++)
		dht_exchange(&w, &f, T0 + 1, HASH, 1000);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 0);

	flow_init(&g, 12, 1, submap_find(w.subs, "b"));
	dht_exchange(&w, &g, T0, HASH, 120);
	ndpi_says(&w, &g, 1);
	utp_send(&w, &g, 1, T0, 4, NULL, 0);
	utp_send(&w, &g, 0, T0, 2, NULL, 0);
	dht_exchange(&w, &g, T0, HASH, 120);	/* the last query: allowlisted */
	for (int i = 0; i < 20; i++)
		utp_send(&w, &g, i & 1, T0 + 1, 0, junk, sizeof junk);
	/* 28 kB of encrypted uTP: BitTorrent, not allowlisted. */
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &g, FLOW_END_IDLE);
	world_close(&w);
}

/* An MSE-shaped start of TCP flow f at t: SYN, message 1 (client), 2
 * (server), 3 (client), all random; then blocks 1400-byte segments from
 * the server. Returns the server's next sequence number. */
static uint32_t
mse_start(struct world *w, struct flow *f, uint64_t t, uint32_t seed)
{
	uint8_t m[700];
	uint32_t cs = 1000, ss = 50000;

	segment(w, f, 1, 40, t, NULL, 0, 0x02, cs++);
	segment(w, f, 0, 40, t, NULL, 0, 0x12, ss++);
	noise(m, 96 + 200, seed);
	segment(w, f, 1, 40 + 296, t, m, 296, 0x18, cs);
	cs += 296;
	noise(m, 96 + 100, seed + 1);
	segment(w, f, 0, 40 + 196, t, m, 196, 0x18, ss);
	ss += 196;
	noise(m, 120, seed + 2);
	segment(w, f, 1, 40 + 120, t, m, 120, 0x18, cs);
	return ss;
}

static uint32_t
mse_data(struct world *w, struct flow *f, uint64_t t, uint32_t ss, int blocks)
{
	uint8_t m[1400];

	noise(m, sizeof m, ss);
	for (int i = 0; i < blocks; i++) {
		segment(w, f, 0, 1440, t, m, sizeof m, 0x10, ss);
		ss += sizeof m;
	}
	return ss;
}

/* MSE over TCP after its handshake: n client segments of len bytes (each
 * followed by a 1400-byte server segment), from client seq cs. */
static void
mse_client_segments(struct world *w, struct flow *f, uint64_t t, uint32_t *ss, uint32_t len,
		    int n)
{
	uint8_t m[1400];
	uint32_t cs = 1000 + 296 + 120;

	noise(m, sizeof m, len);
	for (int i = 0; i < n; i++) {
		segment(w, f, 1, 40 + len, t, m, len, 0x18, cs);
		cs += len;
		segment(w, f, 0, 1440, t, m, 1400, 0x10, *ss);
		*ss += 1400;
	}
}

/* Issue 15: encrypted BitTorrent with no tracker or DHT in view is
 * called by the flow's own framing: MSE followed by a leecher's 34-byte
 * requests (two of 17); MSE followed by lengths no peer-wire message
 * makes stays Unknown (its shape alone accuses nobody); uTP framing over
 * UDP, random UDP not; block headers of a connection picked up mid-
 * stream. */
static void
test_own_evidence(void **state)
{
	struct world w;
	struct flow e1, e2, u, r, mid;
	uint8_t m[1600];
	uint32_t ss;
	static const uint32_t odd[4] = { 23, 50, 61, 100 };

	world_open(&w, 0);
	tcp_flow_init(&e1, 40, 0, submap_find(w.subs, "a"), 40);
	ss = mse_start(&w, &e1, T0, 21);
	ndpi_says(&w, &e1, 0);
	mse_client_segments(&w, &e1, T0, &ss, 34, 8);
	assert_int_equal(e1.own_app, FLOW_OWN_BT_ENC_FRAMING);
	assert_int_equal(alerts_count(w.alerts), 1);

	tcp_flow_init(&e2, 41, 1, submap_find(w.subs, "b"), 41);
	ss = mse_start(&w, &e2, T0, 22);
	ndpi_says(&w, &e2, 0);
	for (int i = 0; i < 40; i++)
		mse_client_segments(&w, &e2, T0 + 1, &ss, odd[i % 4], 1);
	collector_p2p.flow_end(w.p2p, &e2, FLOW_END_IDLE);
	assert_int_equal(e2.own_app, FLOW_OWN_NONE);
	assert_int_equal(alerts_count(w.alerts), 1);

	/* uTP, no SYN seen: ids 101 (initiator) and 100, acks close behind. */
	flow_init(&u, 42, 1, submap_find(w.subs, "b"));
	u.key.aport = 6881;
	for (uint16_t i = 0; i < 10; i++) {
		int c2s = i & 1;

		noise(m, sizeof m, i);
		utp_packet(m, c2s ? 2 : 0, 1400);
		m[3] = c2s ? 101 : 100;
		m[16] = 1, m[17] = (uint8_t)(c2s ? 5 : 10 + i);	/* seq_nr */
		m[18] = 1, m[19] = (uint8_t)(c2s ? 10 + i - 1 : 5);	/* ack_nr */
		packet(&w, &u, c2s, 1448, T0 + 2, m, 1420);
		if (i == 0)
			ndpi_says(&w, &u, 0);
	}
	assert_int_equal(u.own_app, FLOW_OWN_BT_UTP_FRAMING);
	assert_int_equal(alerts_count(w.alerts), 2);

	flow_init(&r, 43, 0, submap_find(w.subs, "a"));
	r.key.b[3] = 43;
	ndpi_says(&w, &r, 0);
	for (int i = 0; i < 40; i++) {
		noise(m, sizeof m, 100 + (uint32_t)i);
		packet(&w, &r, i & 1, 1228, T0 + 3, m, 1200);
	}
	collector_p2p.flow_end(w.p2p, &r, FLOW_END_IDLE);
	assert_int_equal(r.own_app, FLOW_OWN_NONE);

	/* Mid-stream: no SYN, two piece headers among the server's bytes;
	 * nDPI guessed TLS (as it does for a real peer wire's file bytes). */
	tcp_flow_init(&mid, 44, 0, submap_find(w.subs, "a"), 44);
	ndpi_says(&w, &mid, 0);
	mid.app_proto = (uint16_t)classify_proto_id(w.cls, "TLS");
	assert_true(mid.app_proto > 0);
	for (uint32_t i = 0; i < 12; i++) {
		noise(m, 1400, 200 + i);
		if (i == 2 || i == 9) {
			static const uint8_t hdr[13] = { 0, 0, 0x40, 0x09, 7, 0, 0, 0, 3, 0, 0, 0x40, 0 };

			memcpy(m + 700, hdr, sizeof hdr);
		}
		segment(&w, &mid, 0, 1440, T0 + 4, m, 1400, 0x10, 7000 + i * 1400);
	}
	assert_int_equal(mid.own_app, FLOW_OWN_BT_WIRE_FRAMING);
	collector_p2p.flow_end(w.p2p, &mid, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &u, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &e1, FLOW_END_IDLE);
	world_close(&w);
}

/* A tracker exchange on TCP flow f (id, subscriber sub): an announce of
 * hash in clear, a compact reply naming one peer, 198.18.0.peer:6881. */
static void
tracker_exchange(struct world *w, struct flow *f, uint32_t id, int sub, const uint8_t *hash,
		 uint8_t peer)
{
	char req[200];
	uint8_t rep[200];
	int n = snprintf(req, sizeof req, "GET /announce?info_hash=");
	size_t rn = (size_t)sprintf((char *)rep, "HTTP/1.1 200 OK\r\n\r\nd8:intervali1800e5:peers6:");
	const uint8_t peerinfo[7] = { 198, 18, 0, peer, 0x1a, 0xe1, 'e' };

	for (int i = 0; i < 20; i++)
		n += snprintf(req + n, sizeof req - (size_t)n, "%%%02X", hash[i]);
	n += snprintf(req + n, sizeof req - (size_t)n, "&port=6881 HTTP/1.1\r\n\r\n");
	memcpy(rep + rn, peerinfo, sizeof peerinfo);
	rn += sizeof peerinfo;
	tcp_flow_init(f, id, sub, submap_find(w->subs, sub ? "b" : "a"), 99);
	f->key.bport = 80;
	segment(w, f, 1, 40, T0, NULL, 0, 0x02, 1);
	segment(w, f, 1, 40 + (uint32_t)n, T0, (const uint8_t *)req, (uint32_t)n, 0x18, 2);
	segment(w, f, 0, 40 + (uint32_t)rn, T0, rep, (uint32_t)rn, 0x18, 9);
	ndpi_says(w, f, 1);
	collector_p2p.flow_end(w->p2p, f, FLOW_END_CLOSED);
}

/* Issue 15: the allowlist across encryption. Subscriber a announces the
 * allowlisted torrent in clear and the tracker's reply names peer
 * 198.18.0.50:6881; a's encrypted connection to it carries the torrent:
 * 60 kB, all bt_allow, no alert; its connection to a peer nobody named
 * is of unknown torrent and alerts. b's encrypted connection to a peer
 * named for another torrent alerts. */
static void
test_allow_across_encryption(void **state)
{
	struct world w;
	struct flow tr, enc, tr_b, enc_b, far;
	uint32_t ss;

	world_open(&w, 1);
	tracker_exchange(&w, &tr, 50, 0, HASH, 50);
	tcp_flow_init(&enc, 51, 0, submap_find(w.subs, "a"), 50);
	ss = mse_start(&w, &enc, T0 + 1, 31);
	ndpi_says(&w, &enc, 0);
	ss = mse_data(&w, &enc, T0 + 1, ss, 40);
	assert_int_equal(enc.own_app, FLOW_OWN_BT_ENC_PEER);
	assert_int_equal(alerts_count(w.alerts), 0);
	collector_p2p.flow_end(w.p2p, &enc, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* a peer nobody named (PEX, a magnet link's): though a announced
	 * only the allowlisted torrent in clear, this flow's torrent is
	 * unknown (it may be one announced over HTTPS): not allowlisted. */
	tcp_flow_init(&far, 54, 0, submap_find(w.subs, "a"), 70);
	ss = mse_start(&w, &far, T0 + 2, 33);
	ndpi_says(&w, &far, 0);
	mse_client_segments(&w, &far, T0 + 2, &ss, 34, 30);
	assert_int_equal(far.own_app, FLOW_OWN_BT_ENC_SWARM);
	collector_p2p.flow_end(w.p2p, &far, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 1);

	tracker_exchange(&w, &tr_b, 52, 1, OTHER, 51);
	tcp_flow_init(&enc_b, 53, 1, submap_find(w.subs, "b"), 51);
	ss = mse_start(&w, &enc_b, T0 + 1, 32);
	ndpi_says(&w, &enc_b, 0);
	ss = mse_data(&w, &enc_b, T0 + 1, ss, 40);
	assert_int_equal(enc_b.own_app, FLOW_OWN_BT_ENC_PEER);
	assert_int_equal(alerts_count(w.alerts), 2);
	collector_p2p.flow_end(w.p2p, &enc_b, FLOW_END_IDLE);
	world_close(&w);
}

/* Issue 2: a subscriber's DHT message vouches for its MSE-shaped flow at
 * once, though nDPI is still reading the DHT flow (it wants an
 * info-hash). A DHT query it only received, or a dictionary that is no
 * KRPC message, vouches for nobody; a BEP 3 handshake it sends does. */
static void
test_vouched_before_label(void **state)
{
	struct world w;
	struct flow dht, enc, dht_b, enc_b, pw_b, enc_b2;
	uint8_t m[300], hs[100];
	size_t n;
	uint32_t ss;

	world_open(&w, 0);
	flow_init(&dht, 20, 0, submap_find(w.subs, "a"));
	n = dht_query_msg(m, NULL, 100);
	packet(&w, &dht, 1, (uint32_t)n + 28, T0, m, (uint32_t)n);
	assert_false(dht.classified);
	tcp_flow_init(&enc, 21, 0, submap_find(w.subs, "a"), 1);
	ss = mse_start(&w, &enc, T0 + 2, 3);
	ndpi_says(&w, &enc, 0);
	ss = mse_data(&w, &enc, T0 + 2, ss, 10);
	assert_int_equal(enc.own_app, FLOW_OWN_BT_ENC_SWARM);
	assert_int_equal(alerts_count(w.alerts), 1);

	/* b: a query from outside, and a dictionary without "t" and "y". */
	flow_init(&dht_b, 22, 1, submap_find(w.subs, "b"));
	packet(&w, &dht_b, 0, (uint32_t)n + 28, T0, m, (uint32_t)n);
	n = (size_t)sprintf((char *)m, "d1:ad2:id3:abce1:q4:pinge");
	packet(&w, &dht_b, 1, (uint32_t)n + 28, T0, m, (uint32_t)n);
	tcp_flow_init(&enc_b, 23, 1, submap_find(w.subs, "b"), 2);
	ss = mse_start(&w, &enc_b, T0 + 2, 5);
	ndpi_says(&w, &enc_b, 0);
	for (uint64_t t = T0 + 2; t < T0 + 10; t++)
		ss = mse_data(&w, &enc_b, t, ss, 2);
	collector_p2p.flow_end(w.p2p, &enc_b, FLOW_END_IDLE);
	assert_int_equal(enc_b.own_app, FLOW_OWN_NONE);
	assert_int_equal(alerts_count(w.alerts), 1);

	/* b sends a plain handshake, nDPI not yet decided on that flow. */
	tcp_flow_init(&pw_b, 24, 1, submap_find(w.subs, "b"), 3);
	segment(&w, &pw_b, 1, 40, T0 + 20, NULL, 0, 0x02, 7);
	n = utp_handshake(hs) - 20;
	segment(&w, &pw_b, 1, 40 + (uint32_t)n, T0 + 20, hs + 20, (uint32_t)n, 0x18, 8);
	assert_false(pw_b.classified);
	tcp_flow_init(&enc_b2, 25, 1, submap_find(w.subs, "b"), 4);
	ss = mse_start(&w, &enc_b2, T0 + 21, 11);
	ndpi_says(&w, &enc_b2, 0);
	ss = mse_data(&w, &enc_b2, T0 + 21, ss, 10);
	assert_int_equal(enc_b2.own_app, FLOW_OWN_BT_ENC_SWARM);
	assert_int_equal(alerts_count(w.alerts), 2);
	collector_p2p.flow_end(w.p2p, &enc_b2, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &pw_b, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &dht_b, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &enc, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &dht, FLOW_END_IDLE);
	world_close(&w);
}

/* Issue 2, after nDPI's verdict: the evidence comes a second after nDPI
 * gave up on an MSE-shaped flow (here a peer-wire connection of the
 * subscriber's that nDPI names BitTorrent); the flow, held meanwhile, is
 * encrypted BitTorrent from its first byte. The wait is bounded:
 * evidence that comes EVIDENCE_WAIT seconds after the flow's start is
 * too late. */
static void
test_evidence_after_verdict(void **state)
{
	struct world w;
	struct flow enc, peer, enc_b, dht_b;
	uint8_t hs[100], m[300];
	size_t n;
	uint32_t ss;

	world_open(&w, 0);
	tcp_flow_init(&enc, 30, 0, submap_find(w.subs, "a"), 3);
	ss = mse_start(&w, &enc, T0, 7);
	ndpi_says(&w, &enc, 0);
	ss = mse_data(&w, &enc, T0, ss, 10);
	assert_int_equal(enc.own_app, FLOW_OWN_NONE);
	assert_int_equal(alerts_count(w.alerts), 0);

	tcp_flow_init(&peer, 31, 0, submap_find(w.subs, "a"), 4);
	segment(&w, &peer, 1, 40, T0 + 1, NULL, 0, 0x02, 7);
	ndpi_says(&w, &peer, 1);
	memset(hs, 0, sizeof hs);	/* (not a handshake spanwatch reads) */
	segment(&w, &peer, 0, 40 + 68, T0 + 1, hs, 68, 0x18, 8);
	ss = mse_data(&w, &enc, T0 + 1, ss, 1);
	assert_int_equal(enc.own_app, FLOW_OWN_BT_ENC_SWARM);
	/* The MSE handshake and 11 segments of 1440 bytes, all counted. */
	assert_int_equal(alerts_count(w.alerts), 1);

	tcp_flow_init(&enc_b, 32, 1, submap_find(w.subs, "b"), 5);
	ss = mse_start(&w, &enc_b, T0, 9);
	ndpi_says(&w, &enc_b, 0);
	for (uint64_t t = T0; t <= T0 + 2; t++)
		ss = mse_data(&w, &enc_b, t, ss, 2);
	flow_init(&dht_b, 33, 1, submap_find(w.subs, "b"));
	n = dht_query_msg(m, NULL, 100);
	packet(&w, &dht_b, 1, (uint32_t)n + 28, T0 + 10, m, (uint32_t)n);
	ss = mse_data(&w, &enc_b, T0 + 11, ss, 10);
	assert_int_equal(enc_b.own_app, FLOW_OWN_NONE);
	collector_p2p.flow_end(w.p2p, &enc_b, FLOW_END_IDLE);
	assert_int_equal(enc_b.own_app, FLOW_OWN_NONE);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &dht_b, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &peer, FLOW_END_IDLE);
	collector_p2p.flow_end(w.p2p, &enc, FLOW_END_IDLE);
	world_close(&w);
}

static void
test_allowlisted_never_alerted(void **state)
{
	struct world w;
	struct flow f;
	uint8_t hs[100];
	size_t n = utp_handshake(hs);

	world_open(&w, 1);
	flow_init(&f, 2, 1, submap_find(w.subs, "b"));
	/* nDPI names the flow on its first packet (uTP SYN), the handshake
	 * with the allowlisted hash comes two packets later: the flow waits
	 * for it and then counts as allowlisted from its first byte. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 48, T0, NULL, 0);
	packet(&w, &f, 0, 48, T0, NULL, 0);
	packet(&w, &f, 1, (uint32_t)n + 28, T0, hs, (uint32_t)n);
	for (int i = 0; i < 100; i++)
		packet(&w, &f, i & 1, 1400, T0 + 1 + (uint64_t)i / 10, NULL, 0);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 0);

	/* The same without the handshake: not allowlisted, alerted. */
	flow_init(&f, 3, 1, submap_find(w.subs, "b"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	for (int i = 0; i < 100; i++)
		packet(&w, &f, i & 1, 1400, T0 + 20 + (uint64_t)i / 10, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static void
test_label_at_flow_end(void **state)
{
	struct world w;
	struct flow f;

	world_open(&w, 1);
	flow_init(&f, 4, 0, submap_find(w.subs, "a"));
	for (int i = 0; i < 8; i++)
		packet(&w, &f, i & 1, 1500, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);
	/* nDPI's verdict at flow end (a give-up guess): all 12000 count. */
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	assert_int_equal(alerts_count(w.alerts), 1);
	world_close(&w);
}

static void
test_reload(void **state)
{
	struct world w;
	struct flow f;
	struct submap *renum;
	struct collector_env env;

	world_open(&w, 0);
	flow_init(&f, 5, 0, submap_find(w.subs, "a"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 6000, T0, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 0);

	/* A new map that numbers b before a, and a new subscriber c. */
	renum = submap_load(write_file("subs2.txt",
		"100.64.1.0/24 b\n100.64.2.0/24 c\n100.64.0.0/24 a\n"));
	assert_non_null(renum);
	assert_int_not_equal(submap_find(renum, "a"), submap_find(w.subs, "a"));
	/* A bad allowlist: the reload is refused. */
	w.cfg.p2p.allowlist = (char *)write_file("bad.txt", "not a hash\n");
	env = w.env;
	env.subs = renum;
	assert_int_equal(collector_p2p.reload(w.p2p, &env), -1);
	w.cfg.p2p.allowlist = NULL;
	assert_int_equal(collector_p2p.reload(w.p2p, &env), 0);
	submap_free(w.subs);
	w.subs = renum;
	w.env = env;
	/* a's 6000 carried over under its new id: 6000 more pass 10000. */
	flow_init(&f, 6, 0, submap_find(w.subs, "a"));
	f.classified = 1;
	f.app_proto = (uint16_t)w.bt;
	packet(&w, &f, 1, 6000, T0 + 1, NULL, 0);
	assert_int_equal(alerts_count(w.alerts), 1);
	collector_p2p.flow_end(w.p2p, &f, FLOW_END_IDLE);
	world_close(&w);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_alerts),
		cmocka_unit_test(test_allowlisted_never_alerted),
		cmocka_unit_test(test_utp_beside_dht),
		cmocka_unit_test(test_encrypted_utp_beside_dht),
		cmocka_unit_test(test_vouched_before_label),
		cmocka_unit_test(test_evidence_after_verdict),
		cmocka_unit_test(test_label_at_flow_end),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_own_evidence),
		cmocka_unit_test(test_allow_across_encryption),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
