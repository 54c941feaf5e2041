/*
 * pkt.h — the flat summary of one decoded packet. decode.c fills it once,
 * on the stack; every later stage (fragments, flows, nDPI, collectors)
 * reads this and never re-parses link or IP headers.
 */
#ifndef SPANWATCH_PKT_H
#define SPANWATCH_PKT_H

#include <stdint.h>

enum {
	PKT_F_FRAG       = 1 << 0,	/* part of a fragmented datagram */
	PKT_F_FRAG_LATER = 1 << 1,	/* a fragment other than the first: no L4 header */
	PKT_F_L4_TRUNC   = 1 << 2,	/* IP header fine, L4 header not captured */
	PKT_F_LEN_LIE    = 1 << 3,	/* the IP header claims more than the wire carried:
					 * ip_len is what it carried; counted malformed */
};

/* TCP flag bits as on the wire (RFC 9293). */
enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACK = 0x10 };

struct pkt {
	uint64_t ts_us;			/* packet time, microseconds since the epoch */
	const uint8_t *l3;		/* outer IP header */
	uint32_t l3_len;		/* captured bytes of the datagram from l3 */
	uint32_t ip_len;		/* IP bytes as billed (SPEC): v4 total length, v6 payload + 40,
					 * never more than the wire carried */
	uint32_t cap_len, wire_len;	/* the frame: captured bytes, bytes on the wire
					 * (0: not known) */
	const uint8_t *payload;		/* TCP/UDP payload, NULL when none is captured */
	uint32_t payload_len;		/* captured payload bytes */
	uint32_t vlan;			/* (outer id << 12) | inner id; 0 when untagged */
	uint32_t frag_id;		/* IPv4 or IPv6 fragment identification */
	uint32_t tcp_seq;		/* TCP sequence number, for stream reassembly */
	uint16_t sport, dport;		/* 0 for port-less protocols */
	uint8_t family;			/* 4 or 6 */
	uint8_t proto;			/* transport protocol number */
	uint8_t tcp_flags;
	uint8_t flags;			/* PKT_F_* */
	uint8_t src[16], dst[16];	/* addresses; IPv4 uses the first 4 bytes, rest zero */
};

#endif
