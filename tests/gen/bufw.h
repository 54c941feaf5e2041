/*
 * bufw.h — appends protocol text and binary fields to a bounded buffer.
 * Payload builders write through it so that no builder indexes a raw
 * buffer by hand; writes past the end are dropped and remembered.
 */
#ifndef SPANWATCH_GEN_BUFW_H
#define SPANWATCH_GEN_BUFW_H

#include <stddef.h>
#include <stdint.h>

struct bufw {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

void bufw_init(struct bufw *b, uint8_t *p, size_t cap);
void bufw_bytes(struct bufw *b, const void *src, size_t n);
void bufw_str(struct bufw *b, const char *s);
void bufw_fmt(struct bufw *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bufw_u8(struct bufw *b, uint8_t v);
void bufw_be16(struct bufw *b, uint16_t v);
void bufw_be32(struct bufw *b, uint32_t v);
void bufw_le16(struct bufw *b, uint16_t v);
void bufw_le32(struct bufw *b, uint32_t v);
void bufw_zero(struct bufw *b, size_t n);
/* reserves n bytes and returns them (NULL on overflow), for fields filled later */
uint8_t *bufw_reserve(struct bufw *b, size_t n);
/* base64 (RFC 4648) of src */
void bufw_b64(struct bufw *b, const void *src, size_t n);
/* lower-case hex of src */
void bufw_hex(struct bufw *b, const void *src, size_t n);
/* URL-encodes binary src the way BitTorrent clients do in announces */
void bufw_urlenc(struct bufw *b, const void *src, size_t n);

#endif
