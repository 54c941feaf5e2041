/*
 * frame.h — builds one captured frame: link layer (Ethernet, 802.1Q,
 * QinQ 802.1ad + 802.1Q, or a PPPoE session, RFC 2516), IPv4 (RFC 791) or
 * IPv6 (RFC 8200), and a TCP (RFC 9293) or UDP (RFC 768) header, with every
 * length and checksum filled in. The caller writes the payload straight
 * into the frame between frame_begin and frame_finish, so no packet is
 * copied twice.
 */
#ifndef SPANWATCH_GEN_FRAME_H
#define SPANWATCH_GEN_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum encap { ENCAP_ETH, ENCAP_VLAN, ENCAP_QINQ, ENCAP_PPPOE };

#define FRAME_MAX 1600
#define FRAME_MIN 60	/* Ethernet minimum without FCS: shorter frames are padded */

/* TCP flags */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

struct frame_hdr {
	/* link */
	const uint8_t *smac, *dmac;
	uint16_t svlan, cvlan;	/* outer (QinQ) and customer tag */
	uint16_t pppoe_sid;
	/* network */
	uint8_t v6, ttl, proto;
	const uint8_t *src, *dst;	/* 4 or 16 bytes */
	uint16_t ipid;
	uint32_t flowlabel;
	/* transport */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t tcpflags, optlen;
	uint16_t win;
	const uint8_t *opts;	/* TCP options, optlen a multiple of 4 */
};

struct frame {
	uint8_t buf[FRAME_MAX];
	enum encap encap;
	size_t l3, l4, pl;	/* offsets of the IP header, L4 header, payload */
	size_t pppoe;		/* offset of the PPPoE header, 0 if none */
	uint8_t v6, proto;
	size_t len;		/* frame length after frame_finish */
	uint32_t ip_bytes;	/* IPv4 total length or IPv6 payload length + 40 */
};

/* bytes of link + IP + L4 header, for sizing payloads to an MTU */
size_t frame_overhead(enum encap e, int v6, int proto, size_t optlen);
/* returns where the payload goes; room is FRAME_MAX - offset */
uint8_t *frame_begin(struct frame *fr, enum encap e, const struct frame_hdr *h);
/* fills lengths and checksums for plen payload bytes; returns the frame
 * length (padded to FRAME_MIN) */
size_t frame_finish(struct frame *fr, size_t plen);

#endif
