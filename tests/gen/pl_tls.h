/*
 * pl_tls.h — TLS records (RFC 8446): a browser-like ClientHello carrying
 * SNI and ALPN, a ServerHello with ChangeCipherSpec, and record headers for
 * the encrypted records that follow. Used by HTTPS flows and by SMTP
 * sessions after STARTTLS.
 */
#ifndef SPANWATCH_GEN_PL_TLS_H
#define SPANWATCH_GEN_PL_TLS_H

#include <stdint.h>

#include "bufw.h"
#include "rng.h"

#define TLS_REC_MAX 16401	/* 2^14 of plaintext + content type + AEAD tag */

/* sid is the legacy session id the server echoes (32 bytes) */
void tls_client_hello(struct bufw *b, struct rng *r, const char *sni, int alpn,
		      const uint8_t sid[32]);
void tls_server_hello(struct bufw *b, struct rng *r, const uint8_t sid[32]);
void tls_change_cipher_spec(struct bufw *b);
/* the 5-byte header of an application_data record of len bytes */
void tls_app_header(struct bufw *b, uint16_t len);

#endif
