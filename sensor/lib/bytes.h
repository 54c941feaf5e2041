/*
 * bytes.h — the one checked accessor for packet bytes (tcpdump's
 * GET_BE_U_2 model: the bounds check is inside the read, so a reader
 * cannot forget it). Every module that reads bytes off the wire (decode,
 * the SMTP parser, the BitTorrent readers, MSE, DHT/bencode) reads them
 * through a struct bytes.
 *
 * A struct bytes is a view {p, len} with a sticky error flag. A read
 * whose bytes are not all inside the view returns 0 (NULL for a
 * pointer) and sets err; err stays set, so a reader makes the reads a
 * header needs and asks once, before it uses what it read:
 *
 *	struct bytes b = bytes_of(p, len);
 *	uint16_t sport = bytes_be16(&b, 0), dport = bytes_be16(&b, 2);
 *	if (b.err)
 *		return TRUNCATED;
 *
 * Offsets are relative to the view's start; no read moves it
 * (bytes_skip does). Multi-byte values are assembled byte by byte, so
 * alignment never matters and nothing is cast to a struct. Lengths are
 * uint32_t like a capture's caplen; the checks cannot overflow (off + n
 * is taken in 64 bits).
 */
#ifndef SPANWATCH_BYTES_H
#define SPANWATCH_BYTES_H

#include <stdint.h>
#include <string.h>

struct bytes {
	const uint8_t *p;
	uint32_t len;
	uint8_t err;		/* a read fell outside the view: sticky */
};

static inline struct bytes
bytes_of(const uint8_t *p, uint32_t len)
{
	struct bytes b = { p, len, 0 };

	return b;
}

/* 1 when the n bytes at off are inside the view; never sets err. For a
 * decision on a length ("is the header whole?"), not for a read. */
static inline int
bytes_has(const struct bytes *b, uint32_t off, uint32_t n)
{
	/* In 64 bits the sum cannot wrap; with constant off and n it is one
	 * comparison with len, so a reader that reads its furthest field
	 * first lets the compiler drop the checks of the nearer ones. */
	return (uint64_t)off + n <= b->len;
}

/* The check every read makes: 1 when the n bytes at off are there,
 * otherwise 0 and err set. */
static inline int
bytes_need(struct bytes *b, uint32_t off, uint32_t n)
{
	if (bytes_has(b, off, n))
		return 1;
	b->err = 1;
	return 0;
}

static inline uint8_t
bytes_u8(struct bytes *b, uint32_t off)
{
	return bytes_need(b, off, 1) ? b->p[off] : 0;
}

static inline uint16_t
bytes_be16(struct bytes *b, uint32_t off)
{
	if (!bytes_need(b, off, 2))
		return 0;
	return (uint16_t)(b->p[off] << 8 | b->p[off + 1]);
}

static inline uint32_t
bytes_be32(struct bytes *b, uint32_t off)
{
	const uint8_t *q;

	if (!bytes_need(b, off, 4))
		return 0;
	q = b->p + off;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static inline uint64_t
bytes_be64(struct bytes *b, uint32_t off)
{
	const uint8_t *q;

	if (!bytes_need(b, off, 8))
		return 0;
	q = b->p + off;
	return (uint64_t)q[0] << 56 | (uint64_t)q[1] << 48 | (uint64_t)q[2] << 40 |
	       (uint64_t)q[3] << 32 | (uint64_t)q[4] << 24 | (uint64_t)q[5] << 16 |
	       (uint64_t)q[6] << 8 | q[7];
}

static inline uint16_t
bytes_le16(struct bytes *b, uint32_t off)
{
	if (!bytes_need(b, off, 2))
		return 0;
	return (uint16_t)(b->p[off] | b->p[off + 1] << 8);
}

static inline uint32_t
bytes_le32(struct bytes *b, uint32_t off)
{
	const uint8_t *q;

	if (!bytes_need(b, off, 4))
		return 0;
	q = b->p + off;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}

/* A pointer to the n bytes at off (to copy an address, compare a
 * signature, hand a body on), or NULL with err set. */
static inline const uint8_t *
bytes_at(struct bytes *b, uint32_t off, uint32_t n)
{
	return bytes_need(b, off, n) ? b->p + off : NULL;
}

/* 1 when the n bytes at off are there and equal s (a signature, a
 * keyword); 0 otherwise, with err set when they are not there. */
static inline int
bytes_eq(struct bytes *b, uint32_t off, const void *s, uint32_t n)
{
	return bytes_need(b, off, n) && memcmp(b->p + off, s, n) == 0;
}

/* The view from off to its end (empty, and err set on b, when off is
 * past the end). */
static inline struct bytes
bytes_from(struct bytes *b, uint32_t off)
{
	if (!bytes_need(b, off, 0))
		return bytes_of(b->p + b->len, 0);
	return bytes_of(b->p + off, b->len - off);
}

/* Moves the view's start n bytes on: 0, or -1 with err set and the view
 * unchanged when fewer than n are left. */
static inline int
bytes_skip(struct bytes *b, uint32_t n)
{
	if (!bytes_need(b, 0, n))
		return -1;
	b->p += n;
	b->len -= n;
	return 0;
}

#endif
