/*
 * bencode.c — the bencoding token reader; see bencode.h (BEP 3).
 */
#include "bencode.h"

#include <string.h>

static enum benc_type
fail(struct benc *b, struct benc_tok *t)
{
	b->p = b->end;
	t->type = BENC_ERR;
	return BENC_ERR;
}

enum benc_type
benc_next(struct benc *b, struct benc_tok *t)
{
	uint64_t n = 0;
	int digits = 0, neg = 0;

	memset(t, 0, sizeof *t);
	if (b->p >= b->end)
		return fail(b, t);
	switch (*b->p) {
	case 'l':
		b->p++;
		return t->type = BENC_LIST;
	case 'd':
		b->p++;
		return t->type = BENC_DICT;
	case 'e':
		b->p++;
		return t->type = BENC_END;
	case 'i':
		b->p++;
		if (b->p < b->end && *b->p == '-') {
			neg = 1;
			b->p++;
		}
		while (b->p < b->end && *b->p >= '0' && *b->p <= '9') {
			if (++digits > 18)	/* stays within int64_t */
				return fail(b, t);
			n = n * 10 + (uint64_t)(*b->p++ - '0');
		}
		if (!digits || b->p >= b->end || *b->p != 'e')
			return fail(b, t);
		b->p++;
		t->i = neg ? -(int64_t)n : (int64_t)n;
		return t->type = BENC_INT;
	default:
		break;
	}
	while (b->p < b->end && *b->p >= '0' && *b->p <= '9') {
		if (++digits > 9)	/* no packet holds a gigabyte string */
			return fail(b, t);
		n = n * 10 + (uint64_t)(*b->p++ - '0');
	}
	if (!digits || b->p >= b->end || *b->p != ':')
		return fail(b, t);
	b->p++;
	t->s = b->p;
	if (n > (uint64_t)(b->end - b->p)) {
		t->len = (uint32_t)(b->end - b->p);
		t->truncated = 1;
		b->p = b->end;
	} else {
		t->len = (uint32_t)n;
		b->p += n;
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
