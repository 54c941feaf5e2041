/*
 * btmsg.c — BitTorrent message readers; see btmsg.h for the BEPs each
 * follows. Packet bytes are read through bytes.h, whose every read
 * checks the length itself (directly, or inside the bencode reader),
 * never cast to structs.
 */
#include "btmsg.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <string.h>

#include "bencode.h"
#include "bytes.h"
#include "hex.h"

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

/* Entries of skip bytes (a node id), an address and a port, back to back;
 * a partial entry at the end is ignored. */
static unsigned
compact(struct bytes b, int family, uint32_t skip, btmsg_peer_fn fn, void *ctx)
{
	uint32_t alen = family == 6 ? 16 : 4, stride = skip + alen + 2;
	unsigned n = 0;

	for (uint32_t i = 0; bytes_has(&b, i, stride); i += stride) {
		uint16_t port = bytes_be16(&b, i + skip + alen);
		const uint8_t *addr = bytes_at(&b, i + skip, alen);

		if (port && addr) {
			fn(ctx, family, addr, port);
			n++;
		}
	}
	return n;
}

int
btmsg_handshake(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	struct bytes b = bytes_of(p, len);
	/* The peer id may follow in the next segment; the hash is at 28. */
	const uint8_t *h = bytes_at(&b, 28, BTMSG_HASH_LEN);

	if (!h || !bytes_eq(&b, 0, pstr, 20))
		return 0;
	memcpy(hash, h, BTMSG_HASH_LEN);
	return 1;
}

int
btmsg_utp(const uint8_t *p, uint32_t len, uint32_t *off)
{
	struct bytes b = bytes_of(p, len);
	uint32_t o = UTP_HDR;
	uint8_t tv = bytes_u8(&b, 0), ext = bytes_u8(&b, 1);

	/* type (0..4: DATA, FIN, STATE, RESET, SYN) in the high nibble,
	 * version 1 in the low one */
	if (!bytes_has(&b, 0, UTP_HDR) || (tv & 0x0f) != 1 || (tv >> 4) > 4)
		return 0;
	for (int i = 0; ext; i++) {
		uint8_t elen = bytes_u8(&b, o + 1);

		ext = bytes_u8(&b, o);
		if (i == UTP_MAX_EXT || b.err || !bytes_has(&b, o + 2, elen))
			return 0;
		o += 2u + elen;
	}
	*off = o;
	return 1;
}

int
btmsg_utp_header(const uint8_t *p, uint32_t len, struct btmsg_utp_hdr *h, uint32_t *off)
{
	struct bytes b = bytes_of(p, len);

	if (!btmsg_utp(p, len, off))
		return 0;
	h->type = bytes_u8(&b, 0) >> 4;
	h->conn_id = bytes_be16(&b, 2);
	h->seq = bytes_be16(&b, 16);
	h->ack = bytes_be16(&b, 18);
	return 1;
}

#define WIRE_BLOCK 16384u

/* The 4 bytes at off: the begin of a 16 KiB block of a piece below 64 MiB. */
static int
block_begin(struct bytes *b, uint32_t off)
{
	uint32_t v = bytes_be32(b, off);

	return bytes_has(b, off, 4) && v % WIRE_BLOCK == 0 && v < (64u << 20);
}

unsigned
btmsg_wire_scan(const uint8_t *p, uint32_t len)
{
	static const uint8_t piece[5] = { 0, 0, 0x40, 0x09, 7 };
	static const uint8_t req[5] = { 0, 0, 0, 0x0d, 6 };
	static const uint8_t blen[4] = { 0, 0, 0x40, 0 };
	struct bytes b = bytes_of(p, len);
	unsigned n = 0;

	/* Both headers hold 0x00 at offset 1 and their id at offset 4: the
	 * cheap test first, the rest only where it passes. */
	for (uint32_t i = 0; bytes_has(&b, i, 13) && n < 255; i++) {
		uint8_t id = bytes_u8(&b, i + 4);

		if (bytes_u8(&b, i + 1) || (id != 7 && id != 6))
			continue;
		if (bytes_eq(&b, i, piece, 5) && block_begin(&b, i + 9)) {
			n++;
			i += 12;
		} else if (bytes_has(&b, i, 17) && bytes_eq(&b, i, req, 5) &&
			   block_begin(&b, i + 9) && bytes_eq(&b, i + 13, blen, 4)) {
			n++;
			i += 16;
		}
	}
	return n;
}

/* URL-decodes (RFC 3986 percent-encoding) the value that v starts with,
 * up to '&', into exactly 20 bytes. */
static int
urldecode_hash(struct bytes v, uint8_t hash[BTMSG_HASH_LEN])
{
	unsigned n = 0;
	uint32_t i = 0;
	uint8_t c;

	while (bytes_has(&v, i, 1) && (c = bytes_u8(&v, i)) != '&') {
		if (n == BTMSG_HASH_LEN)
			return 0;
		if (c == '%') {
			int hi = hex_val(bytes_u8(&v, i + 1)), lo = hex_val(bytes_u8(&v, i + 2));

			if (v.err || hi < 0 || lo < 0)
				return 0;
			hash[n++] = (uint8_t)(hi << 4 | lo);
			i += 3;
		} else {
			hash[n++] = c;
			i++;
		}
	}
	return n == BTMSG_HASH_LEN;
}

int
btmsg_tracker_request(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	struct bytes b = bytes_of(p, len), t;
	uint32_t end = 4;
	const uint8_t *q;

	if (!bytes_has(&b, 0, 5) || !bytes_eq(&b, 0, "GET ", 4))
		return 0;
	/* The request target ends at the blank before the HTTP version, or
	 * at the end of the segment. */
	for (uint8_t c; bytes_has(&b, end, 1); end++)
		if ((c = bytes_u8(&b, end)) == ' ' || c == '\r' || c == '\n')
			break;
	t = bytes_of(p + 4, end - 4);
	q = memchr(t.p, '?', t.len);
	while (q) {
		uint32_t at = (uint32_t)(q - t.p) + 1;

		if (bytes_has(&t, at, 11) && bytes_eq(&t, at, "info_hash=", 10))
			return urldecode_hash(bytes_from(&t, at + 10), hash);
		q = at < t.len ? memchr(t.p + at, '&', t.len - at) : NULL;
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
	struct bytes body = bytes_of(p, len);
	struct benc b;
	struct benc_tok k, v;
	unsigned n = 0;

	/* Chunked transfer coding: a hexadecimal size line before the data
	 * (a read past the end gives 0, which is no hex digit). */
	if (bytes_has(&body, 0, 1) && bytes_u8(&body, 0) != 'd') {
		uint32_t h = 0;

		while (h < 8 && hex_val(bytes_u8(&body, h)) >= 0)
			h++;
		if (h == 0 || !bytes_eq(&body, h, "\r\n", 2))
			return 0;
		body = bytes_from(&body, h + 2);
	}
	benc_init(&b, body.p, body.len);
	if (benc_next(&b, &k) != BENC_DICT)
		return 0;
	while (benc_next(&b, &k) == BENC_STR) {
		if (benc_next(&b, &v) == BENC_ERR)
			break;
		if (benc_is(&k, "peers") && v.type == BENC_STR) {
			n += compact(bytes_of(v.s, v.len), 4, 0, fn, ctx);
		} else if (benc_is(&k, "peers6") && v.type == BENC_STR) {
			n += compact(bytes_of(v.s, v.len), 6, 0, fn, ctx);
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
	struct bytes b = bytes_of(p, len);
	const uint8_t *body;

	if (!bytes_has(&b, 0, 12) || !bytes_eq(&b, 0, "HTTP/1.", 7))
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
	struct bytes b = bytes_of(p, len);

	return bytes_has(&b, 0, UDPT_CONNECT_LEN) && bytes_be64(&b, 0) == UDPT_MAGIC &&
	       bytes_be32(&b, 8) == 0;
}

int
btmsg_udptracker_announce(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN])
{
	struct bytes b = bytes_of(p, len);
	const uint8_t *h;

	if (!bytes_has(&b, 0, UDPT_ANNOUNCE_LEN) || bytes_be32(&b, 8) != 1)
		return 0;
	h = bytes_at(&b, 16, BTMSG_HASH_LEN);
	if (!h)
		return 0;
	memcpy(hash, h, BTMSG_HASH_LEN);
	return 1;
}

unsigned
btmsg_udptracker_reply(const uint8_t *p, uint32_t len, int family, btmsg_peer_fn fn, void *ctx)
{
	struct bytes b = bytes_of(p, len);

	if (!bytes_has(&b, 0, UDPT_REPLY_HDR) || bytes_be32(&b, 0) != 1)
		return 0;
	return compact(bytes_from(&b, UDPT_REPLY_HDR), family, 0, fn, ctx);
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
					*n += compact(bytes_of(s.s, s.len), s.len == 6 ? 4 : 6, 0,
						      fn, ctx);
			if (s.type != BENC_END)
				return -1;
		} else if (benc_is(&k, "nodes") && v.type == BENC_STR) {
			*n += compact(bytes_of(v.s, v.len), 4, 20, fn, ctx);
		} else if (benc_is(&k, "nodes6") && v.type == BENC_STR) {
			*n += compact(bytes_of(v.s, v.len), 6, 20, fn, ctx);
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
			n += compact(bytes_of(v.s, v.len), 4, 0, fn, ctx);
		else if (benc_is(&k, "added6") && v.type == BENC_STR)
			n += compact(bytes_of(v.s, v.len), 6, 0, fn, ctx);
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
	struct bytes b = bytes_of(p, len);
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
			w->hdr[w->hdrlen++] = bytes_u8(&b, i++);
		/* A prefix that ends the segment is read with the segment
		 * its message starts in, so that a ut_pex right after it is
		 * seen whole. */
		if (w->hdrlen < 4 || i == len)
			break;
		w->hdrlen = 0;
		mlen = (uint32_t)w->hdr[0] << 24 | (uint32_t)w->hdr[1] << 16 |
		       (uint32_t)w->hdr[2] << 8 | w->hdr[3];
		if (mlen > WIRE_MSG_MAX) {
			w->lost = 1;
			return -1;
		}
		/* An extension message (BEP 10) other than the extension
		 * handshake (extended id 0), whole in this segment: ut_pex
		 * is the one whose dictionary has "added". Its extended id
		 * is whatever the receiver chose, so the keys decide. */
		if (mlen > 2 && bytes_has(&b, i, mlen) && bytes_u8(&b, i) == WIRE_EXTENDED &&
		    bytes_u8(&b, i + 1) != 0)
			btmsg_pex(p + i + 2, mlen - 2, fn, ctx);
		w->need = mlen;
	}
	return 0;
}
