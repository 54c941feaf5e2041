/*
 * decode.h — turns one captured frame into a struct pkt: link layer (by
 * DLT), VLAN/QinQ tags, MPLS label stacks, PPPoE sessions, IPv4 with
 * options, IPv6 with extension headers, fragments, TCP and UDP ports.
 * Every read is bounds-checked against the captured length.
 */
#ifndef SPANWATCH_DECODE_H
#define SPANWATCH_DECODE_H

#include <stdint.h>

#include "pkt.h"

enum decode_result {
	DEC_IP,		/* an IP packet; struct pkt is filled */
	DEC_NONIP,	/* a well-formed frame that carries no IP (ARP, LLDP, …) */
	DEC_TRUNCATED,	/* the capture stopped before the headers did */
	DEC_MALFORMED,	/* a header field that cannot be true */
	DEC_NRESULTS
};

/* Returns the decoder for a pcap link type (DLT_*), or NULL when the link
 * type is not one spanwatch reads. */
typedef enum decode_result (*decode_fn)(const uint8_t *p, uint32_t caplen, struct pkt *out);
decode_fn decode_for_dlt(int dlt);

/* Decodes one frame with fn into *out (which it clears first). wirelen is
 * the frame's length on the wire (pcap's len), 0 when not known: an IP
 * header that claims more than the wire carried is billed what it
 * carried, and flagged PKT_F_LEN_LIE. */
enum decode_result decode_frame(decode_fn fn, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
				struct pkt *out);

/* The link type's name for messages ("EN10MB"), never NULL. */
const char *decode_dlt_name(int dlt);

#endif
