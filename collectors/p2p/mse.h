/*
 * mse.h — recognises the shape of a BitTorrent Message Stream Encryption
 * (MSE, also called PE or protocol encryption) handshake in the first
 * payloads of a TCP connection, without any key: the handshake is
 * designed to look random, so only its sizes, its order and its
 * randomness show.
 *
 * The handshake, from the MSE specification (Vuze wiki "Message Stream
 * Encryption", as implemented by libtorrent, Transmission, qBittorrent
 * and µTorrent), A the initiator (the TCP client), B the responder:
 *
 *   1 A->B: Diffie-Hellman Ya, PadA          96 + 0..512 bytes
 *   2 B->A: Diffie-Hellman Yb, PadB          96 + 0..512 bytes
 *   3 A->B: HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *           ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)),
 *           ENCRYPT(IA)                      at least 20+20+8+4+2+2 = 56
 *   4 B->A: ENCRYPT(VC, crypto_select, len(padD), padD), ENCRYPT2(payload)
 *   then RC4 or plaintext payload
 *
 * Ya and Yb are 768-bit numbers, the pads and everything after them are
 * random or RC4 output. A waits for Yb before it can send message 3 (it
 * needs the shared secret S), and B waits for Ya, so on the wire the
 * client's bytes come first, then the server's, then the client's again.
 *
 * The detector therefore says yes when, from the start of the connection:
 * the client's first bytes (before any server byte) total 96..608, of
 * which the first segment holds at least the 96-byte key (any MSS does:
 * IPv4's least is 536), the
 * server's reply (before the client speaks again) totals 96..608, the
 * client's next bytes reach 56, and the first segment of each of the
 * three looks uniformly random (mse_random_looking) and starts with no
 * known plaintext signature (TLS, HTTP, SSH, BitTorrent, ...). It cannot
 * verify HASH('req1', S) without S, so the yes means "shaped like MSE",
 * not "is MSE": the p2p collector asks for more evidence (a peer named
 * in clear, the subscriber's plain BitTorrent, or the message lengths
 * after the handshake: mse_msglen_like).
 *
 * Sizes are counted by TCP sequence number, from the first payload byte
 * of each direction (each direction's stream placed by the TCP follower,
 * tcpfollow.h), so that a retransmitted segment is not counted twice and
 * a message cut into segments adds up.
 *
 * Pure: no allocation, no globals; the state is 20 bytes per flow.
 */
#ifndef SPANWATCH_MSE_H
#define SPANWATCH_MSE_H

#include <stdint.h>

#include "tcpfollow.h"

#define MSE_DH_LEN 96		/* a 768-bit Diffie-Hellman public key */
#define MSE_PAD_MAX 512
#define MSE_MSG_MAX (MSE_DH_LEN + MSE_PAD_MAX)
#define MSE_REQ_MIN 56		/* message 3 with empty PadC and IA */
/* Bytes of a segment that the randomness test reads: enough to tell
 * random from structured, few enough to stay cheap. */
#define MSE_SAMPLE_MAX 512

enum mse_verdict { MSE_UNDECIDED, MSE_NO, MSE_YES };

struct mse {
	uint32_t base[2];	/* sequence number of the first payload byte:
				 * [0] client, [1] server */
	struct tcpfollow f[2];	/* each direction's stream: the end of its
				 * furthest byte (messages 1 and 3, or 2) */
	uint16_t c1;		/* bytes of message 1, once message 3 starts
				 * (message 2's: f[1] from base[1]) */
	uint8_t phase;		/* private: where in the handshake */
	uint8_t verdict;	/* enum mse_verdict, sticky once decided */
};

/* Starts the detector for a connection seen from its first packet. */
void mse_init(struct mse *m);

/* Feeds one TCP payload of len bytes (len > 0) whose first byte has
 * sequence number seq, from the client when from_client. Returns the
 * verdict, which stays once it is not MSE_UNDECIDED. */
enum mse_verdict mse_feed(struct mse *m, int from_client, uint32_t seq, const uint8_t *payload,
			  uint32_t len);

/* 1 when the first MSE_SAMPLE_MAX bytes of p (len of them) look like
 * uniform random bytes: at least as many distinct byte values as random
 * bytes of that length show in all but about one case in a million
 * (the mean less five standard deviations). 0 for fewer than 16 bytes. */
int mse_random_looking(const uint8_t *p, uint32_t len);

/* 1 when p starts like a known plaintext protocol that MSE is not:
 * TLS/SSL records, HTTP requests and responses, SSH, the plain
 * BitTorrent handshake, and a few more. */
int mse_plaintext_signature(const uint8_t *p, uint32_t len);

/* What RC4 does not hide: the lengths of peer-wire messages (BEP 3).
 * 1 when a TCP segment of len payload bytes, once the handshake is over,
 * has a length that a leecher's small segments show: a keep-alive (4),
 * a state message (5), a piece message's 13-byte header sent apart from
 * its block, or up to MSE_MSGLEN_SMALL bytes made of requests (17 bytes
 * each) with at most two haves (9 bytes each), or of haves only. About
 * one random length in four passes; a leecher's segments nearly all do. */
#define MSE_MSGLEN_SMALL 600
int mse_msglen_like(uint32_t len);

#endif
