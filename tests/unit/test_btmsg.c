/*
 * test_btmsg.c — the BitTorrent message readers and the bencode reader:
 * handshakes over TCP and uTP, tracker announces (URL-encoded hashes) and
 * replies (compact, IPv6, dictionaries, chunked, cut short), the UDP
 * tracker protocol, DHT queries and replies, peer exchange found through
 * the message framing across segments; and random or cut-short input of
 * every reader, for the sanitizer build to watch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bencode.h"
#include "btmsg.h"

struct peers {
	unsigned n;
	char s[64][64];		/* "addr port" */
};

static void
on_peer(void *ctx, int family, const uint8_t *addr, uint16_t port)
{
	struct peers *ps = ctx;
	char a[INET6_ADDRSTRLEN];

	assert_true(family == 4 || family == 6);
	assert_true(port != 0);
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, a, sizeof a);
	if (ps->n < 64)
		snprintf(ps->s[ps->n], sizeof ps->s[0], "%s %u", a, port);
	ps->n++;
}

static int
has(const struct peers *ps, const char *s)
{
	for (unsigned i = 0; i < ps->n && i < 64; i++)
		if (!strcmp(ps->s[i], s))
			return 1;
	return 0;
}

static const uint8_t H[20] = { 0xd2, 0x2c, 0x48, 0x4f, 0x96, 0x3d, 0x5c, 0x47, 0x96, 0x79,
			       0x2c, 0x95, 0x49, 0xd3, 0xf1, 0xd6, 0x40, 0x72, 0x80, 0x1e };

static size_t
handshake(uint8_t *p)
{
	memcpy(p, "\x13" "BitTorrent protocol", 20);
	memcpy(p + 20, "\0\0\0\0\0\x10\0\x05", 8);
	memcpy(p + 28, H, 20);
	memcpy(p + 48, "-TR3000-abcdefghijkl", 20);
	return 68;
}

static void
test_handshake(void **state)
{
	uint8_t p[200], h[20], u[200];
	uint32_t off;

	handshake(p);
	assert_true(btmsg_handshake(p, 68, h));
	assert_memory_equal(h, H, 20);
	assert_true(btmsg_handshake(p, 48, h));		/* peer id in the next segment */
	assert_false(btmsg_handshake(p, 47, h));
	p[5] = 'x';
	assert_false(btmsg_handshake(p, 68, h));

	/* uTP (BEP 29): ST_DATA, version 1, one selective-ack extension
	 * of 4 bytes, then the handshake. */
	memset(u, 0, sizeof u);
	u[0] = 0x01;
	u[1] = 1;
	u[20] = 0;
	u[21] = 4;
	handshake(u + 26);
	assert_true(btmsg_utp(u, 26 + 68, &off));
	assert_int_equal(off, 26);
	assert_true(btmsg_handshake(u + off, 68, h));
	assert_memory_equal(h, H, 20);
	assert_false(btmsg_utp(u, 23, &off));		/* extension cut short */
	u[0] = 0x02;					/* version 2 */
	assert_false(btmsg_utp(u, 94, &off));
	u[0] = 0x51;					/* type 5 */
	assert_false(btmsg_utp(u, 94, &off));
}

static void
test_tracker_request(void **state)
{
	static const char req[] =
		"GET /announce?info_hash=%d2%2cHO%96%3d%5cG%96y%2c%95I%d3%f1%d6%40r%80%1e"
		"&peer_id=-TR3000-abcdefghijkl&port=51413&compact=1 HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char later[] =
		"GET /a/passkey/announce.php?peer_id=x&info_hash=%D2%2CHO%96%3D%5CG%96y%2C%95I%D3%F1%D6%40r%80%1E HTTP/1.0\r\n";
	uint8_t h[20];

	assert_true(btmsg_tracker_request((const uint8_t *)req, sizeof req - 1, h));
	assert_memory_equal(h, H, 20);
	assert_true(btmsg_tracker_request((const uint8_t *)later, sizeof later - 1, h));
	assert_memory_equal(h, H, 20);
	/* Cut inside the hash, a hash of 19 or 21 bytes, bad escapes. */
	assert_false(btmsg_tracker_request((const uint8_t *)req, 40, h));
	assert_false(btmsg_tracker_request((const uint8_t *)"GET /announce?info_hash=%d2%2cHO HTTP/1.1", 41, h));
	assert_false(btmsg_tracker_request((const uint8_t *)"GET /?info_hash=aaaaaaaaaaaaaaaaaaaaa&", 38, h));
	assert_false(btmsg_tracker_request((const uint8_t *)"GET /?info_hash=%zzaaaaaaaaaaaaaaaaaaa", 38, h));
	assert_false(btmsg_tracker_request((const uint8_t *)"GET /index.html HTTP/1.1\r\n", 26, h));
	assert_false(btmsg_tracker_request((const uint8_t *)"POST /announce?info_hash=", 25, h));
	/* info_hash= after the request target (in a header) does not count. */
	assert_false(btmsg_tracker_request(
		(const uint8_t *)"GET / HTTP/1.1\r\nX: ?info_hash=aaaaaaaaaaaaaaaaaaaa\r\n", 52, h));
}

static void
test_tracker_reply(void **state)
{
	uint8_t r[600];
	struct peers ps = { 0 };
	size_t n, body;
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 };

	n = (size_t)sprintf((char *)r, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
	body = n;
	n += (size_t)sprintf((char *)r + n, "d8:completei5e8:intervali1800e5:peers12:");
	memcpy(r + n, "\xc6\x12\x01\x01\x1a\xe1\xc6\x12\x01\x02\x1a\xe2", 12);
	n += 12;
	n += (size_t)sprintf((char *)r + n, "6:peers618:");
	memcpy(r + n, v6, 16);
	r[n + 16] = 0xc8;
	r[n + 17] = 0xd5;
	n += 18;
	r[n++] = 'e';
	assert_int_equal(btmsg_tracker_reply(r, (uint32_t)n, on_peer, &ps), 3);
	assert_true(has(&ps, "198.18.1.1 6881"));
	assert_true(has(&ps, "198.18.1.2 6882"));
	assert_true(has(&ps, "2001:db8::7 51413"));
	/* Cut after the first peer: the whole entry still counts. */
	ps.n = 0;
	assert_int_equal(btmsg_tracker_reply(r, (uint32_t)(body + 42 + 8), on_peer, &ps), 1);
	/* The body alone (the header came in the segment before). */
	ps.n = 0;
	assert_int_equal(btmsg_tracker_reply_body(r + body, (uint32_t)(n - body), on_peer, &ps), 3);
	/* Header only: nothing. */
	assert_int_equal(btmsg_tracker_reply(r, (uint32_t)body, on_peer, &ps), 0);

	/* Chunked, with the original dictionary peers (BEP 3). */
	n = (size_t)sprintf((char *)r, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7a\r\n"
			    "d8:intervali900e5:peersld2:ip10:192.0.2.337:peer id20:abcdefghijabcdefghij"
			    "4:porti6881eed2:ip11:2001:db8::94:porti80eed2:ip9:host.name4:porti1eeee");
	ps.n = 0;
	assert_int_equal(btmsg_tracker_reply(r, (uint32_t)n, on_peer, &ps), 2);
	assert_true(has(&ps, "192.0.2.33 6881"));
	assert_true(has(&ps, "2001:db8::9 80"));
	/* A failure reply and non-HTTP bytes. */
	ps.n = 0;
	n = (size_t)sprintf((char *)r, "HTTP/1.1 200 OK\r\n\r\nd14:failure reason7:unknowne");
	assert_int_equal(btmsg_tracker_reply(r, (uint32_t)n, on_peer, &ps), 0);
	assert_int_equal(btmsg_tracker_reply((const uint8_t *)"SSH-2.0-x\r\n\r\nd5:peers6:abcdefe", 30,
					     on_peer, &ps), 0);
	assert_int_equal(ps.n, 0);
}

static void
test_udp_tracker(void **state)
{
	uint8_t p[120] = { 0 }, h[20];
	struct peers ps = { 0 };

	memcpy(p, "\x00\x00\x04\x17\x27\x10\x19\x80\0\0\0\0\0\0\0\x2a", 16);
	assert_true(btmsg_udptracker_connect(p, 16));
	assert_false(btmsg_udptracker_connect(p, 15));
	p[11] = 1;
	assert_false(btmsg_udptracker_connect(p, 16));
	memset(p, 0, sizeof p);
	p[11] = 1;				/* action announce */
	memcpy(p + 16, H, 20);
	assert_true(btmsg_udptracker_announce(p, 98, h));
	assert_memory_equal(h, H, 20);
	assert_false(btmsg_udptracker_announce(p, 97, h));
	memset(p, 0, sizeof p);
	p[3] = 1;				/* reply to announce */
	memcpy(p + 20, "\xc6\x12\x01\x03\x1a\xe1\xc6\x12\x01\x04\x00\x00\xc6", 13);
	assert_int_equal(btmsg_udptracker_reply(p, 33, 4, on_peer, &ps), 1);	/* port 0 skipped */
	assert_true(has(&ps, "198.18.1.3 6881"));
	p[3] = 3;				/* error */
	assert_int_equal(btmsg_udptracker_reply(p, 33, 4, on_peer, &ps), 0);
}

static void
test_krpc(void **state)
{
	uint8_t q[200], r[300];
	struct peers ps = { 0 };
	struct btmsg_krpc k;
	size_t n = 0;

	n += (size_t)sprintf((char *)q, "d1:ad2:id20:");
	memset(q + n, 'A', 20);
	n += 20;
	n += (size_t)sprintf((char *)q + n, "9:info_hash20:");
	memcpy(q + n, H, 20);
	n += 20;
	n += (size_t)sprintf((char *)q + n, "e1:q9:get_peers1:t2:aa1:y1:qe");
	assert_int_equal(btmsg_krpc(q, (uint32_t)n, &k, on_peer, &ps), 0);
	assert_true(k.query);
	assert_true(k.has_hash);
	assert_memory_equal(k.hash, H, 20);
	/* Cut before the end: the hash was read already. */
	assert_int_equal(btmsg_krpc(q, 67, &k, on_peer, &ps), 0);
	assert_true(k.has_hash);
	assert_int_equal(btmsg_krpc(q, 30, &k, on_peer, &ps), 0);
	assert_true(k.query);
	assert_false(k.has_hash);

	n = (size_t)sprintf((char *)r, "d2:ip6:");
	memcpy(r + n, "\x01\x02\x03\x04\x05\x06", 6);
	n += 6;
	n += (size_t)sprintf((char *)r + n, "1:rd2:id20:");
	memset(r + n, 'B', 20);
	n += 20;
	n += (size_t)sprintf((char *)r + n, "5:nodes26:");
	memset(r + n, 'C', 20);
	memcpy(r + n + 20, "\xcb\x00\x71\x05\x1a\xe1", 6);
	n += 26;
	n += (size_t)sprintf((char *)r + n, "5:token8:abcdefgh6:valuesl6:");
	memcpy(r + n, "\xc6\x12\x02\x01\xc8\xd5", 6);
	n += 6;
	n += (size_t)sprintf((char *)r + n, "18:");
	memcpy(r + n, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05\x1a\xe1", 18);
	n += 18;
	n += (size_t)sprintf((char *)r + n, "5:shorte");	/* neither 6 nor 18 bytes */
	n += (size_t)sprintf((char *)r + n, "e1:t2:aa1:y1:re");
	assert_int_equal(btmsg_krpc(r, (uint32_t)n, &k, on_peer, &ps), 3);
	assert_false(k.query);
	assert_false(k.has_hash);
	assert_true(has(&ps, "203.0.113.5 6881"));
	assert_true(has(&ps, "198.18.2.1 51413"));
	assert_true(has(&ps, "2001:db8::5 6881"));
	assert_int_equal(btmsg_krpc((const uint8_t *)"l1:ae", 5, &k, on_peer, &ps), -1);
}

static void
test_pex_framing(void **state)
{
	uint8_t s[2000], pex[64];
	struct btmsg_wire w;
	struct peers ps = { 0 };
	size_t n = 0, pn;

	/* ut_pex payload: added (2 peers), added.f, dropped */
	pn = (size_t)sprintf((char *)pex, "d5:added12:");
	memcpy(pex + pn, "\xc6\x12\x03\x01\x1a\xe1\xc6\x12\x03\x02\x1a\xe2", 12);
	pn += 12;
	memcpy(pex + pn, "7:added.f2:\x10\x00" "7:dropped0:e", 24);
	pn += 24;

	/* handshake, bitfield (5 bytes), a keep-alive, a piece of 1000
	 * bytes, the ut_pex message (id 20, extended id 1), then a have */
	n += handshake(s);
	memcpy(s + n, "\0\0\0\x06\x05\xff\xff\xff\xff\xfe", 10);
	n += 10;
	memset(s + n, 0, 4);
	n += 4;
	memcpy(s + n, "\0\0\x03\xf1\x07\0\0\0\x01\0\0\0\0", 13);
	n += 13;
	memset(s + n, 0xaa, 1000);
	n += 1000;
	s[n] = 0;
	s[n + 1] = 0;
	s[n + 2] = 0;
	s[n + 3] = (uint8_t)(pn + 2);
	s[n + 4] = 20;
	s[n + 5] = 1;
	memcpy(s + n + 6, pex, pn);
	n += 6 + pn;
	memcpy(s + n, "\0\0\0\x05\x04\0\0\0\x09", 9);
	n += 9;

	/* Whole stream in one segment. */
	btmsg_wire_init(&w);
	assert_int_equal(btmsg_wire_walk(&w, s, (uint32_t)n, on_peer, &ps), 0);
	assert_int_equal(ps.n, 2);
	assert_true(has(&ps, "198.18.3.1 6881"));
	assert_true(has(&ps, "198.18.3.2 6882"));

	/* Every cut of the stream in two: the framing survives each (a
	 * length prefix split included); ut_pex is found whenever its body
	 * (after the length prefix) lies whole in one part. */
	for (size_t cut = 1; cut < n; cut++) {
		size_t pexat = n - 9 - (6 + pn);
		unsigned want = (cut <= pexat + 4 || cut >= pexat + 6 + pn) ? 2 : 0;

		ps.n = 0;
		btmsg_wire_init(&w);
		assert_int_equal(btmsg_wire_walk(&w, s, (uint32_t)cut, on_peer, &ps), 0);
		assert_int_equal(btmsg_wire_walk(&w, s + cut, (uint32_t)(n - cut), on_peer, &ps), 0);
		assert_int_equal(w.need, 0);
		assert_int_equal(w.hdrlen, 0);
		if (ps.n != want)
			fail_msg("cut at %zu: %u peers, want %u", cut, ps.n, want);
	}
	/* A length no peer sends: the framing is lost for good. */
	btmsg_wire_init(&w);
	memcpy(s + 68, "\x7f\xff\xff\xff", 4);
	assert_int_equal(btmsg_wire_walk(&w, s, 80, on_peer, &ps), -1);
	assert_int_equal(btmsg_wire_walk(&w, s, 80, on_peer, &ps), -1);
}

static void
test_bencode(void **state)
{
	struct benc b;
	struct benc_tok t;
	static const char deep[] = "llllllllllllllllllllllllllllllllllllllllllllllllllllll";

	benc_init(&b, (const uint8_t *)"i-42e3:abci9999999999999999999e", 31);
	assert_int_equal(benc_next(&b, &t), BENC_INT);
	assert_int_equal(t.i, -42);
	assert_int_equal(benc_next(&b, &t), BENC_STR);
	assert_true(benc_is(&t, "abc"));
	assert_int_equal(benc_next(&b, &t), BENC_ERR);		/* 19 digits */
	benc_init(&b, (const uint8_t *)"10:abc", 6);
	assert_int_equal(benc_next(&b, &t), BENC_STR);
	assert_true(t.truncated);
	assert_int_equal(t.len, 3);
	assert_int_equal(benc_next(&b, &t), BENC_ERR);
	benc_init(&b, (const uint8_t *)deep, sizeof deep - 1);
	assert_int_equal(benc_next(&b, &t), BENC_LIST);
	assert_int_equal(benc_skip(&b, &t), -1);
	benc_init(&b, (const uint8_t *)"d1:ali1ei2eee1:x", 16);
	assert_int_equal(benc_next(&b, &t), BENC_DICT);
	assert_int_equal(benc_skip(&b, &t), 0);
	assert_int_equal(benc_next(&b, &t), BENC_STR);
	assert_true(benc_is(&t, "x"));
	benc_init(&b, (const uint8_t *)"ie", 2);
	assert_int_equal(benc_next(&b, &t), BENC_ERR);
	benc_init(&b, (const uint8_t *)"", 0);
	assert_int_equal(benc_next(&b, &t), BENC_ERR);
}

static uint64_t rs = 88172645463325252ULL;

static uint64_t
rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* Random bytes, and mutations of real messages, into every reader:
 * nothing may read out of bounds (the san build checks) or hang. */
static void
test_hostile_input(void **state)
{
	static const char *const seeds[] = {
		"d1:rd2:id20:BBBBBBBBBBBBBBBBBBBB5:nodes26:CCCCCCCCCCCCCCCCCCCC\xcb\0q\x05\x1a\xe1"
		"6:valuesl6:\xc6\x12\x02\x01\xc8\xd5" "ee1:t2:aa1:y1:re",
		"HTTP/1.1 200 OK\r\n\r\nd5:peers6:\xc6\x12\x01\x01\x1a\xe1" "6:peers618:0123456789abcdef\x1a\xe1" "e",
		"GET /announce?info_hash=%d2%2cHO%96%3d%5cG%96y%2c%95I%d3%f1%d6%40r%80%1e&x=1 HTTP/1.1",
		"d5:added6:\xc6\x12\x03\x01\x1a\xe1" "6:added618:0123456789abcdef\x1a\xe1" "e",
	};
	uint8_t buf[256], h[20];
	struct peers ps;
	struct btmsg_wire w;
	struct btmsg_krpc k;
	uint32_t off;

	for (int i = 0; i < 200000; i++) {
		uint32_t len = (uint32_t)(rnd() % sizeof buf);
		uint8_t *p;

		if (i & 1) {
			for (uint32_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
		} else {
			const char *s = seeds[(i >> 1) % 4];
			size_t sl = strlen(s) < sizeof buf ? strlen(s) : sizeof buf;

			memcpy(buf, s, sl);
			len = (uint32_t)(rnd() % (sl + 1));
			for (int m = 0; m < 3; m++)
				buf[rnd() % sl] = (uint8_t)rnd();
		}
		/* Exactly len bytes on the heap, so that ASan sees any read
		 * past the end. */
		p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, buf, len);
		ps.n = 0;
		btmsg_handshake(p, len, h);
		btmsg_tracker_request(p, len, h);
		btmsg_tracker_reply(p, len, on_peer, &ps);
		btmsg_tracker_reply_body(p, len, on_peer, &ps);
		btmsg_krpc(p, len, &k, on_peer, &ps);
		btmsg_pex(p, len, on_peer, &ps);
		btmsg_udptracker_connect(p, len);
		btmsg_udptracker_announce(p, len, h);
		btmsg_udptracker_reply(p, len, 6, on_peer, &ps);
		if (btmsg_utp(p, len, &off))
			assert_true(off <= len);
		btmsg_wire_init(&w);
		w.need = (uint32_t)(rnd() % 8);
		btmsg_wire_walk(&w, p, len, on_peer, &ps);
		free(p);
	}
}

/* Issue 15: block headers at any offset (a connection picked up mid-
 * stream); uTP header fields; a KRPC announce_peer. */
static void
test_framing(void **state)
{
	uint8_t p[2000];
	static const uint8_t piece[13] = { 0, 0, 0x40, 0x09, 7, 0, 0, 1, 2, 0, 0, 0xc0, 0 };
	static const uint8_t req[17] = { 0, 0, 0, 0x0d, 6, 0, 0, 0, 9, 0, 1, 0, 0, 0, 0, 0x40, 0 };
	struct btmsg_utp_hdr h;
	struct btmsg_krpc k;
	uint32_t off;
	const char *ann = "d1:ad2:id20:abcdefghij0123456789"
			  "9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token2:zze"
			  "1:q13:announce_peer1:t2:aa1:y1:qe";
	const char *gp = "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e"
			 "1:q9:get_peers1:t2:aa1:y1:qe";

	(void)state;
	memset(p, 0x55, sizeof p);
	assert_int_equal(btmsg_wire_scan(p, sizeof p), 0);
	memcpy(p + 3, piece, sizeof piece);
	memcpy(p + 1000, req, sizeof req);
	memcpy(p + 1017, req, sizeof req);
	assert_int_equal(btmsg_wire_scan(p, sizeof p), 3);
	assert_int_equal(btmsg_wire_scan(p, 1016), 1);		/* the request cut short */
	p[1000 + 12] = 1;					/* begin not a block's */
	assert_int_equal(btmsg_wire_scan(p, sizeof p), 2);
	p[3 + 11] = 0xc1;					/* nor this one's */
	assert_int_equal(btmsg_wire_scan(p, sizeof p), 1);
	memset(p, 0, sizeof p);					/* zeros: no id 6 or 7 */
	assert_int_equal(btmsg_wire_scan(p, sizeof p), 0);

	memset(p, 0, 20);
	p[0] = 0x21;		/* STATE, version 1 */
	p[2] = 0x12, p[3] = 0x34, p[16] = 0xab, p[17] = 0xcd, p[18] = 0x00, p[19] = 0x07;
	assert_true(btmsg_utp_header(p, 20, &h, &off));
	assert_int_equal(h.type, 2);
	assert_int_equal(h.conn_id, 0x1234);
	assert_int_equal(h.seq, 0xabcd);
	assert_int_equal(h.ack, 7);
	assert_int_equal(off, 20);
	p[0] = 0x51;		/* type 5: none */
	assert_false(btmsg_utp_header(p, 20, &h, &off));

	assert_true(btmsg_krpc((const uint8_t *)ann, (uint32_t)strlen(ann), &k, NULL, NULL) >= 0);
	assert_true(k.valid && k.query && k.has_hash && k.announce);
	assert_true(btmsg_krpc((const uint8_t *)gp, (uint32_t)strlen(gp), &k, NULL, NULL) >= 0);
	assert_true(k.valid && k.query && k.has_hash && !k.announce);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_tracker_request),
		cmocka_unit_test(test_tracker_reply),
		cmocka_unit_test(test_udp_tracker),
		cmocka_unit_test(test_krpc),
		cmocka_unit_test(test_pex_framing),
		cmocka_unit_test(test_bencode),
		cmocka_unit_test(test_hostile_input),
		cmocka_unit_test(test_framing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
