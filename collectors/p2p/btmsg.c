/*
 * btmsg.c — BitTorrent message readers; see btmsg.h for the BEPs each
 * follows. Packet bytes are read through the bounds-checked helpers
 * below or the bencode reader, never cast to structs.
 */
#include "btmsg.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <string.h>

#include "bencode.h"

/* BEP 15: the magic connection id of a connect request. */
#define UDPT_MAGIC 0x41727101980ULL
#define UDPT_CONNECT_LEN 16
#define UDPT_ANNOUNCE_LEN 98
#define UDPT_REPLY_HDR 20
#define UTP_HDR 20
#define UTP_MAX_EXT 8		/* extensions in one header; BEP 29 defines 2 */
/* A message longer than this is no message a client sends (the longest,
 * a bitfield, is a bit per piece; a piece message carries 16 KiB): the
 * framing has been lost. */
#define WIRE_MSG_MAX (1u << 21)
#define WIRE_EXTENDED 20	/* BEP 10 message id */

static const char pstr[] = "\x13" "BitTorrent protocol";

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

/* Entries of skip bytes (a node id), an address and a port, back to back;
 * a partial entry at the end is ignored. */
static unsigned
compact(const uint8_t *s, uint32_t len, int family, uint32_t skip, btmsg_peer_fn fn, void *ctx)
{
	uint32_t alen = family == 6 ? 16 : 4, stride = skip + alen + 2;
	unsigned n = 0;

	for (uint32_t i = 0; i + stride <= len; i += stride) {
		uint16_t port = rd16(s + i + skip + alen);

		if (port) {
			fn(ctx, family, s + i + skip, port);
			n++;
		}
	}
	return n;
}

int
btmsg_handshake(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	/* The peer id may follow in the next segment; the hash is at 28. */
	if (len < 28 + BTMSG_HASH_LEN || memcmp(p, pstr, 20))
		return 0;
	memcpy(hash, p + 28, BTMSG_HASH_LEN);
	return 1;
}

int
btmsg_utp(const uint8_t *p, uint32_t len, uint32_t *off)
{
	uint32_t o = UTP_HDR;
	uint8_t ext;

	/* type (0..4: DATA, FIN, STATE, RESET, SYN) in the high nibble,
	 * version 1 in the low one */
	if (len < UTP_HDR || (p[0] & 0x0f) != 1 || (p[0] >> 4) > 4)
		return 0;
	ext = p[1];
	for (int i = 0; ext; i++) {
		if (i == UTP_MAX_EXT || o + 2 > len)
			return 0;
		ext = p[o];
		if (o + 2 + p[o + 1] > len)
			return 0;
		o += 2u + p[o + 1];
	}
	*off = o;
	return 1;
}

int
btmsg_utp_header(const uint8_t *p, uint32_t len, struct btmsg_utp_hdr *h, uint32_t *off)
{
	if (!btmsg_utp(p, len, off))
		return 0;
	h->type = p[0] >> 4;
	h->conn_id = (uint16_t)(p[2] << 8 | p[3]);
	h->seq = (uint16_t)(p[16] << 8 | p[17]);
	h->ack = (uint16_t)(p[18] << 8 | p[19]);
	return 1;
}

#define WIRE_BLOCK 16384u

/* begin (4 bytes at p) of a 16 KiB block of a piece below 64 MiB */
static int
block_begin(const uint8_t *p)
{
	uint32_t b = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];

	return b % WIRE_BLOCK == 0 && b < (64u << 20);
}

unsigned
btmsg_wire_scan(const uint8_t *p, uint32_t len)
{
	static const uint8_t piece[5] = { 0, 0, 0x40, 0x09, 7 };
	static const uint8_t req[5] = { 0, 0, 0, 0x0d, 6 };
	static const uint8_t blen[4] = { 0, 0, 0x40, 0 };
	unsigned n = 0;

	/* Both headers hold 0x00 at offset 1 and their id at offset 4: the
	 * cheap test first, the rest only where it passes. */
	for (uint32_t i = 0; i + 13 <= len && n < 255; i++) {
		if (p[i + 1] || (p[i + 4] != 7 && p[i + 4] != 6))
			continue;
		if (!memcmp(p + i, piece, 5) && block_begin(p + i + 9)) {
			n++;
			i += 12;
		} else if (i + 17 <= len && !memcmp(p + i, req, 5) && block_begin(p + i + 9) &&
			   !memcmp(p + i + 13, blen, 4)) {
			n++;
			i += 16;
		}
	}
	return n;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* URL-decodes (RFC 3986 percent-encoding) the value at p..end up to '&'
 * into exactly 20 bytes. */
static int
urldecode_hash(const uint8_t *p, const uint8_t *end, uint8_t hash[BTMSG_HASH_LEN])
{
	unsigned n = 0;

	while (p < end && *p != '&') {
		int hi, lo;

		if (n == BTMSG_HASH_LEN)
			return 0;
		if (*p == '%') {
			if (end - p < 3 || (hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0)
				return 0;
			hash[n++] = (uint8_t)(hi << 4 | lo);
			p += 3;
		} else {
			hash[n++] = *p++;
		}
	}
	return n == BTMSG_HASH_LEN;
}

int
btmsg_tracker_request(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	const uint8_t *t, *end, *q;

	if (len < 5 || memcmp(p, "GET ", 4))
		return 0;
	/* The request target ends at the blank before the HTTP version, or
	 * at the end of the segment. */
	t = p + 4;
	for (end = t; end < p + len && *end != ' ' && *end != '\r' && *end != '\n'; end++)
		;
	q = memchr(t, '?', (size_t)(end - t));
	while (q && q < end) {
		q++;
		if (end - q > 10 && !memcmp(q, "info_hash=", 10))
			return urldecode_hash(q + 10, end, hash);
		q = memchr(q, '&', (size_t)(end - q));
	}
	return 0;
}

/* A non-compact peer (BEP 3): a dictionary with "ip" (text, or a DNS
 * name we cannot use) and "port". The dictionary's start is consumed. */
static unsigned
dict_peer(struct benc *b, btmsg_peer_fn fn, void *ctx)
{
	struct benc_tok k, v;
	char ip[48];
	uint8_t a[16];
	int64_t port = 0;
	int family = 0;

	while (benc_next(b, &k) == BENC_STR) {
		if (benc_next(b, &v) == BENC_ERR)
			return 0;
		if (benc_is(&k, "ip") && v.type == BENC_STR && v.len < sizeof ip) {
			memcpy(ip, v.s, v.len);
			ip[v.len] = '\0';
			family = inet_pton(AF_INET, ip, a) == 1 ? 4 : inet_pton(AF_INET6, ip, a) == 1 ? 6 : 0;
		} else if (benc_is(&k, "port") && v.type == BENC_INT) {
			port = v.i;
		} else if (benc_skip(b, &v) < 0) {
			return 0;
		}
	}
	if (k.type != BENC_END || !family || port <= 0 || port > 0xffff)
		return 0;
	fn(ctx, family, a, (uint16_t)port);
	return 1;
}

unsigned
btmsg_tracker_reply_body(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx)
{
	const uint8_t *body = p, *end = p + len;
	struct benc b;
	struct benc_tok k, v;
	unsigned n = 0;

	/* Chunked transfer coding: a hexadecimal size line before the data. */
	if (body < end && *body != 'd') {
		const uint8_t *h = body;

		while (h < end && h - body < 8 && hexval(*h) >= 0)
			h++;
		if (h == body || end - h < 2 || h[0] != '\r' || h[1] != '\n')
			return 0;
		body = h + 2;
	}
	benc_init(&b, body, (size_t)(end - body));
	if (benc_next(&b, &k) != BENC_DICT)
		return 0;
	while (benc_next(&b, &k) == BENC_STR) {
		if (benc_next(&b, &v) == BENC_ERR)
			break;
		if (benc_is(&k, "peers") && v.type == BENC_STR) {
			n += compact(v.s, v.len, 4, 0, fn, ctx);
		} else if (benc_is(&k, "peers6") && v.type == BENC_STR) {
			n += compact(v.s, v.len, 6, 0, fn, ctx);
		} else if (benc_is(&k, "peers") && v.type == BENC_LIST) {
			struct benc_tok d;

			while (benc_next(&b, &d) == BENC_DICT)
				n += dict_peer(&b, fn, ctx);
			if (d.type != BENC_END)
				break;
		} else if (benc_skip(&b, &v) < 0) {
			break;
		}
	}
	return n;
}

unsigned
btmsg_tracker_reply(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx)
{
	const uint8_t *body;

	if (len < 12 || memcmp(p, "HTTP/1.", 7))
		return 0;
	body = memmem(p, len, "\r\n\r\n", 4);
	if (!body)
		return 0;
	body += 4;
	return btmsg_tracker_reply_body(body, (uint32_t)(p + len - body), fn, ctx);
}

int
btmsg_udptracker_connect(const uint8_t *p, uint32_t len)
{
	return len >= UDPT_CONNECT_LEN && rd64(p) == UDPT_MAGIC && rd32(p + 8) == 0;
}

int
btmsg_udptracker_announce(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	if (len < UDPT_ANNOUNCE_LEN || rd32(p + 8) != 1)
		return 0;
	memcpy(hash, p + 16, BTMSG_HASH_LEN);
	return 1;
}

unsigned
btmsg_udptracker_reply(const uint8_t *p, uint32_t len, int family, btmsg_peer_fn fn, void *ctx)
{
	if (len < UDPT_REPLY_HDR || rd32(p) != 1)
		return 0;
	return compact(p + UDPT_REPLY_HDR, len - UDPT_REPLY_HDR, family, 0, fn, ctx);
}

/* The "a" dictionary of a query: its info_hash. The start is consumed. */
static int
krpc_args(struct benc *b, struct btmsg_krpc *q)
{
	struct benc_tok k, v;

	while (benc_next(b, &k) == BENC_STR) {
		if (benc_next(b, &v) == BENC_ERR)
			return -1;
		if (benc_is(&k, "info_hash") && v.type == BENC_STR && v.len == BTMSG_HASH_LEN &&
		    !v.truncated) {
			memcpy(q->hash, v.s, BTMSG_HASH_LEN);
			q->has_hash = 1;
		} else if (benc_skip(b, &v) < 0) {
			return -1;
		}
	}
	return k.type == BENC_END ? 0 : -1;
}

/* The "r" dictionary of a reply: its peers (values) and nodes. */
static int
krpc_reply(struct benc *b, unsigned *n, btmsg_peer_fn fn, void *ctx)
{
	struct benc_tok k, v;

	while (benc_next(b, &k) == BENC_STR) {
		if (benc_next(b, &v) == BENC_ERR)
			return -1;
		if (benc_is(&k, "values") && v.type == BENC_LIST) {
			struct benc_tok s;

			while (benc_next(b, &s) == BENC_STR)
				if (s.len == 6 || s.len == 18)
					*n += compact(s.s, s.len, s.len == 6 ? 4 : 6, 0, fn, ctx);
			if (s.type != BENC_END)
				return -1;
		} else if (benc_is(&k, "nodes") && v.type == BENC_STR) {
			*n += compact(v.s, v.len, 4, 20, fn, ctx);
		} else if (benc_is(&k, "nodes6") && v.type == BENC_STR) {
			*n += compact(v.s, v.len, 6, 20, fn, ctx);
		} else if (benc_skip(b, &v) < 0) {
			return -1;
		}
	}
	return k.type == BENC_END ? 0 : -1;
}

int
btmsg_krpc(const uint8_t *p, uint32_t len, struct btmsg_krpc *q, btmsg_peer_fn fn, void *ctx)
{
	struct benc b;
	struct benc_tok k, v;
	unsigned n = 0;
	int tid = 0;
	uint8_t y = 0;

	q->query = q->has_hash = q->valid = q->announce = 0;
	benc_init(&b, p, len);
	if (benc_next(&b, &k) != BENC_DICT)
		return -1;
	while (benc_next(&b, &k) == BENC_STR) {
		if (benc_next(&b, &v) == BENC_ERR)
			break;
		if (benc_is(&k, "a") && v.type == BENC_DICT) {
			q->query = 1;
			if (krpc_args(&b, q) < 0)
				break;
		} else if (benc_is(&k, "r") && v.type == BENC_DICT) {
			if (krpc_reply(&b, &n, fn, ctx) < 0)
				break;
		} else if (benc_is(&k, "t") && v.type == BENC_STR) {
			tid = 1;
		} else if (benc_is(&k, "q") && v.type == BENC_STR) {
			q->announce = benc_is(&v, "announce_peer");
		} else if (benc_is(&k, "y") && v.type == BENC_STR && v.len == 1) {
			y = v.s[0];
		} else if (benc_skip(&b, &v) < 0) {
			break;
		}
	}
	/* A truncated string reads as BENC_STR but the reader fails after
	 * it, so reaching the dictionary's end means every value was whole. */
	q->valid = k.type == BENC_END && tid && (y == 'q' || y == 'r' || y == 'e');
	return (int)n;
}

unsigned
btmsg_pex(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx)
{
	struct benc b;
	struct benc_tok k, v;
	unsigned n = 0;

	benc_init(&b, p, len);
	if (benc_next(&b, &k) != BENC_DICT)
		return 0;
	while (benc_next(&b, &k) == BENC_STR) {
		if (benc_next(&b, &v) == BENC_ERR)
			break;
		if (benc_is(&k, "added") && v.type == BENC_STR)
			n += compact(v.s, v.len, 4, 0, fn, ctx);
		else if (benc_is(&k, "added6") && v.type == BENC_STR)
			n += compact(v.s, v.len, 6, 0, fn, ctx);
		else if (benc_skip(&b, &v) < 0)
			break;
	}
	return n;
}

void
btmsg_wire_init(struct btmsg_wire *w)
{
	memset(w, 0, sizeof *w);
	w->need = BTMSG_HANDSHAKE_LEN;
}

int
btmsg_wire_walk(struct btmsg_wire *w, const uint8_t *p, uint32_t len, btmsg_peer_fn fn,
		void *ctx)
{
	uint32_t i = 0;

	if (w->lost)
		return -1;
	while (i < len) {
		uint32_t mlen, take;

		if (w->need) {
			take = len - i < w->need ? len - i : w->need;
			w->need -= take;
			i += take;
			continue;
		}
		/* The 4-byte length prefix, possibly split across segments. */
		while (w->hdrlen < 4 && i < len)
			w->hdr[w->hdrlen++] = p[i++];
		/* A prefix that ends the segment is read with the segment
		 * its message starts in, so that a ut_pex right after it is
		 * seen whole. */
		if (w->hdrlen < 4 || i == len)
			break;
		w->hdrlen = 0;
		mlen = rd32(w->hdr);
		if (mlen > WIRE_MSG_MAX) {
			w->lost = 1;
			return -1;
		}
		/* An extension message (BEP 10) other than the extension
		 * handshake (extended id 0), whole in this segment: ut_pex
		 * is the one whose dictionary has "added". Its extended id
		 * is whatever the receiver chose, so the keys decide. */
		if (mlen > 2 && len - i >= mlen && p[i] == WIRE_EXTENDED && p[i + 1] != 0)
			btmsg_pex(p + i + 2, mlen - 2, fn, ctx);
		w->need = mlen;
	}
	return 0;
}
