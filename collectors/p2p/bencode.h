/*
 * bencode.h — a bounded reader for bencoding (BEP 3 "bencoding"), the
 * encoding of BitTorrent metainfo, tracker replies (BEP 3, 23), DHT
 * messages (BEP 5) and extension messages (BEP 10, 11), as they arrive in
 * packets: untrusted, and often cut short by the end of a segment.
 *
 * A token reader over a byte range: no allocation, no recursion, every
 * read bounds-checked. A string whose declared length runs past the end
 * of the range is returned with the bytes that are there and `truncated`
 * set (a compact peer list cut by the segment end still yields its whole
 * entries); reading past it then fails.
 */
#ifndef SPANWATCH_BENCODE_H
#define SPANWATCH_BENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

/* Nesting deeper than this is refused: no BitTorrent message needs it. */
#define BENC_MAX_DEPTH 16

enum benc_type {
	BENC_ERR,	/* malformed or out of bytes */
	BENC_INT,	/* i<digits>e */
	BENC_STR,	/* <len>:<bytes> */
	BENC_LIST,	/* l: a list starts; its items follow, then BENC_END */
	BENC_DICT,	/* d: a dictionary starts; key, value pairs, then BENC_END */
	BENC_END,	/* e: the innermost list or dictionary ends */
};

struct benc {
	struct bytes b;		/* the message */
	uint32_t off;		/* where the next token starts */
};

struct benc_tok {
	enum benc_type type;
	const uint8_t *s;	/* BENC_STR: the bytes */
	uint32_t len;		/* BENC_STR: bytes at s */
	uint8_t truncated;	/* BENC_STR: fewer bytes than declared */
	int64_t i;		/* BENC_INT */
};

static inline void
benc_init(struct benc *b, const uint8_t *p, uint32_t len)
{
	b->b = bytes_of(p, len);
	b->off = 0;
}

/* Reads the next token. Returns its type (also in t->type); BENC_ERR
 * leaves the reader at the end. */
enum benc_type benc_next(struct benc *b, struct benc_tok *t);

/* Skips the rest of the value that token t started (nothing for a
 * string or integer; up to the matching end for a list or dictionary).
 * Returns 0, or -1 when the value is malformed or cut short. */
int benc_skip(struct benc *b, const struct benc_tok *t);

/* 1 when string token t is exactly the NUL-terminated key. */
int benc_is(const struct benc_tok *t, const char *key);

#endif
