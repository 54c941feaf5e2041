/*
 * pl_tls.c — TLS 1.3 handshake records as browsers and MTAs send them
 * (RFC 8446 4.1.2 ClientHello, 4.1.3 ServerHello, RFC 6066 SNI, RFC 7301
 * ALPN); see pl_tls.h. Keys and randoms are random bytes: nothing here is
 * ever decrypted.
 */
#include "pl_tls.h"

#include <string.h>

static const uint16_t suites[] = {
	0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
	0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
};

static const uint16_t sigalgs[] = {
	0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
};

/* fills a 2-byte (or 3-byte) length reserved at p with the bytes since */
static void patch_len(struct bufw *b, uint8_t *p, size_t start, int width)
{
	size_t n = b->len - start;

	if (!p)
		return;
	if (width == 3)
		*p++ = (uint8_t)(n >> 16);
	p[0] = (uint8_t)(n >> 8);
	p[1] = (uint8_t)n;
}

static void random_bytes(struct bufw *b, struct rng *r, size_t n)
{
	uint8_t *p = bufw_reserve(b, n);

	if (p)
		rng_fill(r, p, n);
}

void tls_client_hello(struct bufw *b, struct rng *r, const char *sni, int alpn,
		      const uint8_t sid[32])
{
	uint8_t *rec, *hs, *ext, *e;
	size_t rec0, hs0, ext0, e0;
	size_t snilen = strlen(sni);

	bufw_u8(b, 0x16);
	bufw_be16(b, 0x0301);	/* record version stays 1.0 for compatibility */
	rec = bufw_reserve(b, 2);
	rec0 = b->len;
	bufw_u8(b, 0x01);	/* client_hello */
	hs = bufw_reserve(b, 3);
	hs0 = b->len;
	bufw_be16(b, 0x0303);
	random_bytes(b, r, 32);
	bufw_u8(b, 32);
	bufw_bytes(b, sid, 32);
	bufw_be16(b, (uint16_t)(2 * (sizeof(suites) / sizeof(suites[0]))));
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		bufw_be16(b, suites[i]);
	bufw_u8(b, 1);
	bufw_u8(b, 0);		/* null compression only */
	ext = bufw_reserve(b, 2);
	ext0 = b->len;

	/* server_name */
	bufw_be16(b, 0x0000);
	bufw_be16(b, (uint16_t)(snilen + 5));
	bufw_be16(b, (uint16_t)(snilen + 3));
	bufw_u8(b, 0);
	bufw_be16(b, (uint16_t)snilen);
	bufw_bytes(b, sni, snilen);
	/* extended_master_secret, renegotiation_info */
	bufw_be32(b, 0x00170000);
	bufw_be32(b, 0xff010001);
	bufw_u8(b, 0);
	/* supported_groups: x25519, secp256r1, secp384r1 */
	bufw_be32(b, 0x000a0008);
	bufw_be32(b, 0x0006001d);
	bufw_be32(b, 0x00170018);
	/* ec_point_formats: uncompressed */
	bufw_be32(b, 0x000b0002);
	bufw_be16(b, 0x0100);
	/* session_ticket, empty */
	bufw_be32(b, 0x00230000);
	if (alpn) {
		static const uint8_t a[] = { 0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 2, 'h', '2',
					     8, 'h', 't', 't', 'p', '/', '1', '.', '1' };

		bufw_bytes(b, a, sizeof(a));
	}
	/* status_request (OCSP) */
	bufw_be32(b, 0x00050005);
	bufw_u8(b, 1);
	bufw_be32(b, 0);
	/* signature_algorithms */
	bufw_be16(b, 0x000d);
	bufw_be16(b, (uint16_t)(2 + 2 * (sizeof(sigalgs) / sizeof(sigalgs[0]))));
	bufw_be16(b, (uint16_t)(2 * (sizeof(sigalgs) / sizeof(sigalgs[0]))));
	for (size_t i = 0; i < sizeof(sigalgs) / sizeof(sigalgs[0]); i++)
		bufw_be16(b, sigalgs[i]);
	/* signed_certificate_timestamp */
	bufw_be32(b, 0x00120000);
	/* key_share: one x25519 share */
	bufw_be16(b, 0x0033);
	e = bufw_reserve(b, 2);
	e0 = b->len;
	bufw_be16(b, 36);
	bufw_be16(b, 0x001d);
	bufw_be16(b, 32);
	random_bytes(b, r, 32);
	patch_len(b, e, e0, 2);
	/* psk_key_exchange_modes: psk_dhe_ke */
	bufw_be32(b, 0x002d0002);
	bufw_be16(b, 0x0101);
	/* supported_versions: 1.3, 1.2 */
	bufw_be32(b, 0x002b0005);
	bufw_u8(b, 4);
	bufw_be32(b, 0x03040303);

	patch_len(b, ext, ext0, 2);
	patch_len(b, hs, hs0, 3);
	patch_len(b, rec, rec0, 2);
}

void tls_server_hello(struct bufw *b, struct rng *r, const uint8_t sid[32])
{
	uint8_t *rec, *hs, *ext;
	size_t rec0, hs0, ext0;

	bufw_u8(b, 0x16);
	bufw_be16(b, 0x0303);
	rec = bufw_reserve(b, 2);
	rec0 = b->len;
	bufw_u8(b, 0x02);	/* server_hello */
	hs = bufw_reserve(b, 3);
	hs0 = b->len;
	bufw_be16(b, 0x0303);
	random_bytes(b, r, 32);
	bufw_u8(b, 32);
	bufw_bytes(b, sid, 32);
	bufw_be16(b, 0x1301);	/* TLS_AES_128_GCM_SHA256 */
	bufw_u8(b, 0);
	ext = bufw_reserve(b, 2);
	ext0 = b->len;
	bufw_be32(b, 0x002b0002);
	bufw_be16(b, 0x0304);
	bufw_be32(b, 0x00330024);
	bufw_be16(b, 0x001d);
	bufw_be16(b, 32);
	random_bytes(b, r, 32);
	patch_len(b, ext, ext0, 2);
	patch_len(b, hs, hs0, 3);
	patch_len(b, rec, rec0, 2);
}

void tls_change_cipher_spec(struct bufw *b)
{
	static const uint8_t ccs[] = { 0x14, 0x03, 0x03, 0x00, 0x01, 0x01 };

	bufw_bytes(b, ccs, sizeof(ccs));
}

void tls_app_header(struct bufw *b, uint16_t len)
{
	bufw_u8(b, 0x17);
	bufw_be16(b, 0x0303);
	bufw_be16(b, len);
}
