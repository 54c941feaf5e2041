/*
 * bufw.c — bounded appends for payload builders; see bufw.h.
 */
#include "bufw.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void bufw_init(struct bufw *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->overflow = 0;
}

uint8_t *bufw_reserve(struct bufw *b, size_t n)
{
	uint8_t *r;

	if (b->overflow || n > b->cap - b->len) {
		b->overflow = 1;
		return NULL;
	}
	r = b->p + b->len;
	b->len += n;
	return r;
}

void bufw_bytes(struct bufw *b, const void *src, size_t n)
{
	uint8_t *d = bufw_reserve(b, n);

	if (d && n)
		memcpy(d, src, n);
}

void bufw_str(struct bufw *b, const char *s)
{
	bufw_bytes(b, s, strlen(s));
}

void bufw_fmt(struct bufw *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	/* vsnprintf wants room for its NUL; we keep only the text */
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = 1;
	else
		b->len += (size_t)n;
}

void bufw_u8(struct bufw *b, uint8_t v)
{
	bufw_bytes(b, &v, 1);
}

void bufw_be16(struct bufw *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	bufw_bytes(b, x, 2);
}

void bufw_be32(struct bufw *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	bufw_bytes(b, x, 4);
}

void bufw_le16(struct bufw *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	bufw_bytes(b, x, 2);
}

void bufw_le32(struct bufw *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	bufw_bytes(b, x, 4);
}

void bufw_zero(struct bufw *b, size_t n)
{
	uint8_t *d = bufw_reserve(b, n);

	if (d)
		memset(d, 0, n);
}

void bufw_b64(struct bufw *b, const void *src, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *s = src;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		char out[4];

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		bufw_bytes(b, out, 4);
	}
}

void bufw_hex(struct bufw *b, const void *src, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *s = src;

	for (size_t i = 0; i < n; i++) {
		char out[2] = { hx[s[i] >> 4], hx[s[i] & 15] };

		bufw_bytes(b, out, 2);
	}
}

void bufw_urlenc(struct bufw *b, const void *src, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *s = src;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		/* RFC 3986 unreserved characters stay as they are */
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			bufw_u8(b, c);
		} else {
			char out[3] = { '%', hx[c >> 4], hx[c & 15] };

			bufw_bytes(b, out, 3);
		}
	}
}
