/*
 * btmsg.h — the few BitTorrent messages the p2p collector reads, each
 * from one packet's payload, every byte bounds-checked:
 *
 *   - the peer-wire handshake (BEP 3): 19, "BitTorrent protocol", 8
 *     reserved bytes, the 20-byte info-hash, the peer id; over TCP, or
 *     over uTP (BEP 29) after its 20-byte header and extensions;
 *   - the HTTP tracker announce or scrape request (BEP 3, BEP 48):
 *     "GET /announce?info_hash=%XX..." with the hash URL-encoded
 *     (RFC 3986), and its bencoded reply with compact `peers` (BEP 23),
 *     `peers6` (BEP 7) or the original list of {ip, port} dictionaries;
 *   - the UDP tracker protocol (BEP 15): connect, announce and its reply;
 *   - DHT KRPC messages (BEP 5, BEP 32): the `info_hash` of get_peers and
 *     announce_peer queries, and the `values`, `nodes` and `nodes6` of
 *     replies;
 *   - peer exchange (BEP 11) inside extension messages (BEP 10, id 20),
 *     found by following the peer-wire message framing (BEP 3) through
 *     the in-order segments of one direction.
 *
 * Pure functions: no allocation, no globals. Peers found are handed to a
 * callback; nothing here keeps them.
 */
#ifndef SPANWATCH_BTMSG_H
#define SPANWATCH_BTMSG_H

#include <stdint.h>

#define BTMSG_HASH_LEN 20
#define BTMSG_HANDSHAKE_LEN 68	/* 1 + 19 + 8 + 20 + 20 */

/* One peer endpoint: family 4 or 6, addr 4 or 16 bytes in network order
 * (not aligned), port in host order (never 0). */
typedef void (*btmsg_peer_fn)(void *ctx, int family, const uint8_t *addr, uint16_t port);

/* A peer-wire handshake at p. Returns 1 and copies its info-hash, else 0. */
int btmsg_handshake(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN]);

/* A uTP packet (BEP 29, version 1): returns 1 and sets *off to where its
 * payload starts (after the header and extension chain), else 0. */
int btmsg_utp(const uint8_t *p, uint32_t len, uint32_t *off);

/* Fields of a uTP header (BEP 29) that pair the two directions of a
 * connection: type (0 DATA, 1 FIN, 2 STATE, 3 RESET, 4 SYN), the
 * connection id (the SYN's is one less than the initiator's later
 * packets', and the responder sends with the SYN's), seq_nr and ack_nr
 * (each side acknowledges the other's sequence numbers). */
struct btmsg_utp_hdr {
	uint8_t type;
	uint16_t conn_id, seq, ack;
};

/* btmsg_utp that also fills *h. */
int btmsg_utp_header(const uint8_t *p, uint32_t len, struct btmsg_utp_hdr *h, uint32_t *off);

/* Peer-wire messages (BEP 3) found at any offset of p, as a connection
 * picked up mid-stream shows them: a piece message's header
 * (00 00 40 09 07, index, begin: a 16 KiB block) or a request for a
 * 16 KiB block (00 00 00 0d 06, index, begin, 00 00 40 00), begin a
 * multiple of 16 KiB below 64 MiB. Returns how many, at most 255. */
unsigned btmsg_wire_scan(const uint8_t *p, uint32_t len);

/* An HTTP GET whose request line carries info_hash= (a tracker announce
 * or scrape). Returns 1 and copies the first info-hash, else 0. */
int btmsg_tracker_request(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN]);

/* The first segment of an HTTP tracker reply: hands every peer of its
 * bencoded body (up to the end of the segment) to fn. Returns how many. */
unsigned btmsg_tracker_reply(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx);

/* The same for a segment that holds only the body (the header came in
 * the segment before): bencoded, or one chunk of a chunked body. */
unsigned btmsg_tracker_reply_body(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx);

/* BEP 15: 1 when p is a UDP tracker connect request. */
int btmsg_udptracker_connect(const uint8_t *p, uint32_t len);

/* BEP 15: an announce request; returns 1 and copies its info-hash. */
int btmsg_udptracker_announce(const uint8_t *p, uint32_t len, uint8_t hash[BTMSG_HASH_LEN]);

/* BEP 15: an announce reply over a tracker reached by IP version family
 * (its peers are 6-byte IPv4 or 18-byte IPv6 entries). Returns peers. */
unsigned btmsg_udptracker_reply(const uint8_t *p, uint32_t len, int family, btmsg_peer_fn fn,
				void *ctx);

/* What a DHT KRPC message (BEP 5) says about its torrent. */
struct btmsg_krpc {
	int query;		/* it carries arguments ("a"): a query */
	int has_hash;		/* ... with an info_hash (get_peers, announce_peer) */
	int announce;		/* ... an announce_peer: its sender has the torrent */
	int valid;		/* a whole KRPC message: the dictionary is read to
				 * its end and has a transaction id ("t") and a
				 * type ("y": "q", "r" or "e"), as BEP 5 requires
				 * of every message */
	uint8_t hash[BTMSG_HASH_LEN];
};

/* A DHT KRPC message (BEP 5): a bencoded dictionary. Returns -1 when p is
 * not one; else fills *k and returns the number of peers and nodes of a
 * reply handed to fn (values, nodes, nodes6). A dictionary cut short or
 * lacking "t" or "y" still yields what was read, with k->valid 0. */
int btmsg_krpc(const uint8_t *p, uint32_t len, struct btmsg_krpc *k, btmsg_peer_fn fn,
	       void *ctx);

/* The bencoded dictionary of a ut_pex message (BEP 11): hands the peers
 * of `added` and `added6` to fn. Returns how many. */
unsigned btmsg_pex(const uint8_t *p, uint32_t len, btmsg_peer_fn fn, void *ctx);

/* Where one direction of a peer-wire connection is in its message
 * framing: `need` bytes of the current message (or handshake) remain to
 * skip, then a 4-byte length prefix follows, of which hdrlen bytes have
 * been seen (4: a prefix that ended the last segment, its message not
 * yet begun). */
struct btmsg_wire {
	uint32_t need;
	uint8_t hdr[4];
	uint8_t hdrlen;
	uint8_t lost;		/* framing no longer known: ignore the rest */
};

/* Starts following a direction at the first byte of its handshake. */
void btmsg_wire_init(struct btmsg_wire *w);

/* Follows the framing through the next in-order len bytes of the
 * direction, handing the peers of every ut_pex message that lies whole in
 * this segment to fn (a message split across segments is skipped, the
 * framing kept). Returns 0, or -1 once the framing is lost (a length no
 * peer sends). */
int btmsg_wire_walk(struct btmsg_wire *w, const uint8_t *p, uint32_t len, btmsg_peer_fn fn,
		    void *ctx);

#endif
