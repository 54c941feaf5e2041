/*
 * bencode.c — the bencoding token reader; see bencode.h (BEP 3).
 */
#include "bencode.h"

#include <string.h>

static enum benc_type
fail(struct benc *b, struct benc_tok *t)
{
	b->off = b->b.len;
	t->type = BENC_ERR;
	return BENC_ERR;
}

/* The byte at the read position, 0 past the end (bytes.h): no token
 * character is 0, so the end needs no test of its own. */
static uint8_t
cur(struct benc *b)
{
	return bytes_u8(&b->b, b->off);
}

enum benc_type
benc_next(struct benc *b, struct benc_tok *t)
{
	uint64_t n = 0;
	uint32_t left;
	int digits = 0, neg = 0;
	uint8_t c;

	memset(t, 0, sizeof *t);
	if (!bytes_has(&b->b, b->off, 1))
		return fail(b, t);
	switch (cur(b)) {
	case 'l':
		b->off++;
		return t->type = BENC_LIST;
	case 'd':
		b->off++;
		return t->type = BENC_DICT;
	case 'e':
		b->off++;
		return t->type = BENC_END;
	case 'i':
		b->off++;
		if (cur(b) == '-') {
			neg = 1;
			b->off++;
		}
		while ((c = cur(b)) >= '0' && c <= '9') {
			if (++digits > 18)	/* stays within int64_t */
				return fail(b, t);
			n = n * 10 + (uint64_t)(c - '0');
			b->off++;
		}
		if (!digits || cur(b) != 'e')
			return fail(b, t);
		b->off++;
		t->i = neg ? -(int64_t)n : (int64_t)n;
		return t->type = BENC_INT;
	default:
		break;
	}
	while ((c = cur(b)) >= '0' && c <= '9') {
		if (++digits > 9)	/* no packet holds a gigabyte string */
			return fail(b, t);
		n = n * 10 + (uint64_t)(c - '0');
		b->off++;
	}
	if (!digits || cur(b) != ':')
		return fail(b, t);
	b->off++;
	left = b->b.len - b->off;
	t->s = b->b.p + b->off;
	if (n > left) {
		t->len = left;
		t->truncated = 1;
		b->off = b->b.len;
	} else {
		t->len = (uint32_t)n;
		b->off += (uint32_t)n;
	}
	return t->type = BENC_STR;
}

int
benc_skip(struct benc *b, const struct benc_tok *t)
{
	struct benc_tok x;
	int depth;

	if (t->type == BENC_STR)
		return t->truncated ? -1 : 0;
	if (t->type == BENC_INT)
		return 0;
	if (t->type != BENC_LIST && t->type != BENC_DICT)
		return -1;
	/* Dictionary keys are strings, so for skipping a dictionary reads
	 * like a list: count nesting until it closes. */
	for (depth = 1; depth > 0;) {
		switch (benc_next(b, &x)) {
		case BENC_LIST:
		case BENC_DICT:
			if (++depth > BENC_MAX_DEPTH)
				return -1;
			break;
		case BENC_END:
			depth--;
			break;
		case BENC_STR:
			if (x.truncated)
				return -1;
			break;
		case BENC_INT:
			break;
		default:
			return -1;
		}
	}
	return 0;
}

int
benc_is(const struct benc_tok *t, const char *key)
{
	size_t n = strlen(key);

	return t->type == BENC_STR && !t->truncated && t->len == n && !memcmp(t->s, key, n);
}
