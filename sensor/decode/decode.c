/*
 * decode.c — link layer to transport ports, one bounds-checked pass.
 *
 * Link types: Ethernet (with LLC/SNAP), Linux cooked v1 and v2, raw IP
 * (generic, v4, v6), BSD null and loop, PPP, PPP-over-Ethernet without
 * the Ethernet header, Cisco HDLC. Below the link: 802.1Q/802.1ad tags
 * (IEEE 802.1Q-2018), MPLS label stacks (RFC 3032, with the RFC 4385
 * control word before an Ethernet pseudowire), PPPoE sessions (RFC 2516),
 * IPv4 (RFC 791) and IPv6 with extension headers (RFC 8200, AH RFC 4302).
 *
 * Nothing casts packet bytes to a struct: every field is read with be16()
 * or be32() after an explicit length check, so alignment never matters.
 */
#include "decode.h"

#include <pcap/dlt.h>
#include <string.h>

/* How many tags, labels or extension headers we follow before calling a
 * packet malformed: deeper nesting is an attack or a loop, not traffic. */
#define MAX_DEPTH 10

/* Ethertypes, plus one internal value: "look at the IP version nibble". */
enum {
	ET_IPV4 = 0x0800, ET_IPV6 = 0x86dd, ET_VLAN = 0x8100, ET_QINQ = 0x88a8,
	ET_QINQ_OLD = 0x9100, ET_MPLS = 0x8847, ET_MPLS_MC = 0x8848,
	ET_PPPOE = 0x8864, ET_FABRICPATH = 0x8903, ET_GUESS_IP = 0x10000, ET_ETHER = 0x10001,
	ET_NONE = 0x10002
};

/* An encapsulation step either hands on to the next ethertype (ENC_NEXT)
 * or ends with a decode_result. */
#define ENC_NEXT DEC_NRESULTS

struct cur {
	const uint8_t *p;
	uint32_t len;
	unsigned et;
};

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
skip(struct cur *c, uint32_t n)
{
	c->p += n;
	c->len -= n;
}

/* ---- transport ---------------------------------------------------------- */

/* Ports and payload of TCP (RFC 9293) and UDP (RFC 768); other protocols
 * are port-less flows. The IP packet is good at this point, so a short or
 * bogus transport header marks the packet, it does not reject it: its IP
 * bytes still count. */
static enum decode_result
decode_l4(const uint8_t *p, uint32_t len, struct pkt *out)
{
	uint32_t hl;

	if (out->proto != 6 && out->proto != 17)
		return DEC_IP;
	if (len < 4) {
		out->flags |= PKT_F_L4_TRUNC;
		return DEC_IP;
	}
	out->sport = be16(p);
	out->dport = be16(p + 2);
	if (out->proto == 17) {
		hl = 8;
	} else {
		if (len < 14) {
			out->flags |= PKT_F_L4_TRUNC;
			return DEC_IP;
		}
		out->tcp_seq = be32(p + 4);
		out->tcp_flags = p[13];
		hl = (uint32_t)(p[12] >> 4) * 4;
		if (hl < 20) {
			out->flags |= PKT_F_L4_TRUNC;
			return DEC_IP;
		}
	}
	if (len < hl) {
		out->flags |= PKT_F_L4_TRUNC;
		return DEC_IP;
	}
	out->payload = p + hl;
	out->payload_len = len - hl;
	return DEC_IP;
}

/* ---- IP ------------------------------------------------------------------ */

/* The IP bytes to bill for a datagram whose header says claimed, with len
 * bytes of it captured from its first byte: the claim, unless the frame's
 * wire length proves it false (a 74-byte frame cannot carry 65535 bytes
 * of IP); then what the wire carried, and the packet is flagged, as
 * tcpdump flags truncated-ip. A snap length that cut the capture short
 * (caplen < wire length) proves nothing beyond the wire length. */
static uint32_t
billed(uint32_t claimed, uint32_t len, struct pkt *out)
{
	uint64_t wire;

	if (out->wire_len == 0)
		return claimed;
	wire = (uint64_t)len + (out->wire_len - out->cap_len);
	if (claimed <= wire)
		return claimed;
	out->flags |= PKT_F_LEN_LIE;
	return (uint32_t)wire;
}

static enum decode_result
decode_ip4(const uint8_t *p, uint32_t len, struct pkt *out)
{
	uint32_t ihl, tot, frag;

	if (len < 20)
		return DEC_TRUNCATED;
	ihl = (uint32_t)(p[0] & 0x0f) * 4;
	tot = be16(p + 2);
	/* A sender's own capture with TCP segmentation offload shows total
	 * length 0 on the large segments it hands to the NIC: the datagram
	 * is then what was captured (as tshark reads it too). */
	if (tot == 0 && len > ihl && len <= 0xffff)
		tot = len;
	if ((p[0] >> 4) != 4 || ihl < 20 || tot < ihl)
		return DEC_MALFORMED;
	if (len < ihl)
		return DEC_TRUNCATED;

	out->family = 4;
	out->proto = p[9];
	memcpy(out->src, p + 12, 4);
	memcpy(out->dst, p + 16, 4);
	out->l3 = p;
	out->ip_len = billed(tot, len, out);
	/* Ethernet pads short frames: the datagram ends at the total length. */
	out->l3_len = len < tot ? len : tot;

	frag = be16(p + 6);
	if (frag & 0x3fff) {			/* MF set or an offset: a fragment */
		out->flags |= PKT_F_FRAG;
		out->frag_id = be16(p + 4);
		if (frag & 0x1fff) {
			out->flags |= PKT_F_FRAG_LATER;
			return DEC_IP;
		}
	}
	return decode_l4(p + ihl, out->l3_len - ihl, out);
}

/* IPv6 extension headers we step over, by next-header value: how their
 * length byte counts. 0 means the chain ends there. */
enum { EXT_NONE, EXT_8 /* (len + 1) * 8 */, EXT_AH /* (len + 2) * 4, RFC 4302 */ };

static int
ip6_ext(uint8_t nh)
{
	switch (nh) {
	case 0: case 43: case 60: case 135: case 139: case 140:
		return EXT_8;	/* hop-by-hop, routing, dest. options, mobility, HIP, shim6 */
	case 51:
		return EXT_AH;
	default:
		return EXT_NONE;
	}
}

static enum decode_result
decode_ip6(const uint8_t *p, uint32_t len, struct pkt *out)
{
	uint32_t plen, off = 40, n;
	uint8_t nh;
	int depth, kind;

	if (len >= 1 && (p[0] >> 4) != 6)
		return DEC_MALFORMED;
	if (len < 40)
		return DEC_TRUNCATED;
	plen = be16(p + 4);
	nh = p[6];
	out->family = 6;
	memcpy(out->src, p + 8, 16);
	memcpy(out->dst, p + 24, 16);
	out->l3 = p;
	out->ip_len = billed(plen + 40, len, out);
	out->l3_len = len < plen + 40 ? len : plen + 40;

	for (depth = 0; depth < MAX_DEPTH; depth++) {
		if (nh == 44) {			/* fragment header, 8 bytes */
			if (out->l3_len < off + 8)
				break;
			out->flags |= PKT_F_FRAG;
			out->frag_id = be32(p + off + 4);
			nh = p[off];
			if (be16(p + off + 2) & 0xfff8) {
				out->proto = nh;
				out->flags |= PKT_F_FRAG_LATER;
				return DEC_IP;
			}
			off += 8;
			continue;
		}
		kind = ip6_ext(nh);
		if (kind == EXT_NONE)
			goto transport;
		if (out->l3_len < off + 2)
			break;
		n = kind == EXT_AH ? ((uint32_t)p[off + 1] + 2) * 4
				   : ((uint32_t)p[off + 1] + 1) * 8;
		nh = p[off];
		off += n;
	}
	/* The chain is longer than we follow, or cut by the snap length. */
	out->proto = nh;
	out->flags |= PKT_F_L4_TRUNC;
	return DEC_IP;

transport:
	out->proto = nh;
	if (off > out->l3_len) {
		out->flags |= PKT_F_L4_TRUNC;
		return DEC_IP;
	}
	return decode_l4(p + off, out->l3_len - off, out);
}

/* ---- encapsulations between link and IP ---------------------------------- */

static int
enc_ip4(struct cur *c, struct pkt *out)
{
	return decode_ip4(c->p, c->len, out);
}

static int
enc_ip6(struct cur *c, struct pkt *out)
{
	return decode_ip6(c->p, c->len, out);
}

/* Raw IP or the payload of an MPLS stack: the version nibble decides. */
static int
enc_guess_ip(struct cur *c, struct pkt *out)
{
	if (c->len < 1)
		return DEC_TRUNCATED;
	switch (c->p[0] >> 4) {
	case 4: return decode_ip4(c->p, c->len, out);
	case 6: return decode_ip6(c->p, c->len, out);
	default: return DEC_NONIP;
	}
}

static int
enc_ether(struct cur *c, struct pkt *out)
{
	if (c->len < 14)
		return DEC_TRUNCATED;
	c->et = be16(c->p + 12);
	skip(c, 14);
	if (c->et >= 0x0600)
		return ENC_NEXT;
	/* An 802.3 length field: only LLC/SNAP (AA AA 03) carries an ethertype. */
	if (c->len < 8)
		return DEC_TRUNCATED;
	if (c->p[0] != 0xaa || c->p[1] != 0xaa || c->p[2] != 0x03)
		return DEC_NONIP;
	c->et = be16(c->p + 6);
	skip(c, 8);
	return ENC_NEXT;
}

static int
enc_vlan(struct cur *c, struct pkt *out)
{
	if (c->len < 4)
		return DEC_TRUNCATED;
	/* Keep the two innermost ids: QinQ's service tag and customer tag. */
	out->vlan = ((out->vlan << 12) | (be16(c->p) & 0x0fff)) & 0xffffff;
	c->et = be16(c->p + 2);
	skip(c, 4);
	return ENC_NEXT;
}

static int
enc_mpls(struct cur *c, struct pkt *out)
{
	int n;

	for (n = 0; n < MAX_DEPTH; n++) {
		if (c->len < 4)
			return DEC_TRUNCATED;
		int bottom = c->p[2] & 0x01;
		skip(c, 4);
		if (bottom)
			break;
	}
	if (n == MAX_DEPTH)
		return DEC_MALFORMED;
	if (c->len < 1)
		return DEC_TRUNCATED;
	/* First nibble 0: a pseudowire control word, then an Ethernet frame. */
	if ((c->p[0] >> 4) == 0) {
		if (c->len < 4)
			return DEC_TRUNCATED;
		skip(c, 4);
		c->et = ET_ETHER;
	} else {
		c->et = ET_GUESS_IP;
	}
	return ENC_NEXT;
}

/* PPP protocol numbers (RFC 1661 and its assignments) as ethertypes. */
static unsigned
ppp_to_et(unsigned proto)
{
	switch (proto) {
	case 0x0021: return ET_IPV4;
	case 0x0057: return ET_IPV6;
	case 0x0281: return ET_MPLS;
	default: return ET_NONE;
	}
}

/* A PPP protocol field, one byte when compressed (RFC 1661 §6.5). */
static int
ppp_proto(struct cur *c)
{
	if (c->len < 1)
		return DEC_TRUNCATED;
	if (c->p[0] & 0x01) {
		c->et = ppp_to_et(c->p[0]);
		skip(c, 1);
	} else {
		if (c->len < 2)
			return DEC_TRUNCATED;
		c->et = ppp_to_et(be16(c->p));
		skip(c, 2);
	}
	return c->et == ET_NONE ? DEC_NONIP : ENC_NEXT;
}

static int
enc_pppoe(struct cur *c, struct pkt *out)
{
	if (c->len < 6)
		return DEC_TRUNCATED;
	if (c->p[0] != 0x11 || c->p[1] != 0x00)	/* version 1, type 1, session data */
		return DEC_MALFORMED;
	skip(c, 6);
	return ppp_proto(c);
}

/* Cisco FabricPath: after the outer ethertype, a 2-byte FTag/TTL, then
 * the original Ethernet frame. */
static int
enc_fabricpath(struct cur *c, struct pkt *out)
{
	if (c->len < 2)
		return DEC_TRUNCATED;
	skip(c, 2);
	c->et = ET_ETHER;
	return ENC_NEXT;
}

static const struct {
	unsigned et;
	int (*fn)(struct cur *, struct pkt *);
} encaps[] = {
	{ ET_IPV4, enc_ip4 },
	{ ET_IPV6, enc_ip6 },
	{ ET_VLAN, enc_vlan },
	{ ET_QINQ, enc_vlan },
	{ ET_QINQ_OLD, enc_vlan },
	{ ET_MPLS, enc_mpls },
	{ ET_MPLS_MC, enc_mpls },
	{ ET_PPPOE, enc_pppoe },
	{ ET_FABRICPATH, enc_fabricpath },
	{ ET_GUESS_IP, enc_guess_ip },
	{ ET_ETHER, enc_ether },
};

static enum decode_result
decode_chain(struct cur *c, struct pkt *out)
{
	int depth, r = ENC_NEXT;
	size_t i;

	for (depth = 0; depth < MAX_DEPTH && r == ENC_NEXT; depth++) {
		for (i = 0; i < sizeof encaps / sizeof encaps[0]; i++)
			if (encaps[i].et == c->et)
				break;
		if (i == sizeof encaps / sizeof encaps[0])
			return DEC_NONIP;
		r = encaps[i].fn(c, out);
	}
	return r == ENC_NEXT ? DEC_MALFORMED : (enum decode_result)r;
}

/* ---- link types ------------------------------------------------------------ */

static enum decode_result
start(const uint8_t *p, uint32_t len, unsigned et, struct pkt *out)
{
	struct cur c = { p, len, et };

	return decode_chain(&c, out);
}

static enum decode_result
link_ether(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(p, len, ET_ETHER, out);
}

static enum decode_result
link_raw(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(p, len, ET_GUESS_IP, out);
}

static enum decode_result
link_ipv4(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(p, len, ET_IPV4, out);
}

static enum decode_result
link_ipv6(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(p, len, ET_IPV6, out);
}

/* Address families as BSD, macOS and Linux write them in DLT_NULL/LOOP. */
static unsigned
af_to_et(uint32_t af)
{
	switch (af) {
	case 2: return ET_IPV4;
	case 10: case 24: case 28: case 30: return ET_IPV6;
	default: return ET_NONE;
	}
}

/* DLT_NULL stores the family in the writer's byte order: try both. */
static enum decode_result
link_null(const uint8_t *p, uint32_t len, struct pkt *out)
{
	unsigned et;

	if (len < 4)
		return DEC_TRUNCATED;
	et = af_to_et((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
	if (et == ET_NONE)
		et = af_to_et(be32(p));
	return et == ET_NONE ? DEC_NONIP : start(p + 4, len - 4, et, out);
}

static enum decode_result
link_loop(const uint8_t *p, uint32_t len, struct pkt *out)
{
	unsigned et;

	if (len < 4)
		return DEC_TRUNCATED;
	et = af_to_et(be32(p));
	return et == ET_NONE ? DEC_NONIP : start(p + 4, len - 4, et, out);
}

static enum decode_result
link_sll(const uint8_t *p, uint32_t len, struct pkt *out)
{
	if (len < 16)
		return DEC_TRUNCATED;
	return start(p + 16, len - 16, be16(p + 14), out);
}

static enum decode_result
link_sll2(const uint8_t *p, uint32_t len, struct pkt *out)
{
	if (len < 20)
		return DEC_TRUNCATED;
	return start(p + 20, len - 20, be16(p), out);
}

/* Cisco HDLC: address, control, then an ethertype. */
static enum decode_result
link_chdlc(const uint8_t *p, uint32_t len, struct pkt *out)
{
	if (len < 4)
		return DEC_TRUNCATED;
	return start(p + 4, len - 4, be16(p + 2), out);
}

/* PPP with or without the HDLC-like address and control bytes (RFC 1662).
 * Routers also write Cisco HDLC frames (address 0x0f or 0x8f, control 0)
 * under the PPP link types, as Wireshark knows: take them as such. */
static enum decode_result
link_ppp(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct cur c = { p, len, ET_NONE };
	int r;

	if (len >= 2 && (p[0] == 0x0f || p[0] == 0x8f) && p[1] == 0x00)
		return link_chdlc(p, len, out);
	if (len >= 2 && p[0] == 0xff && p[1] == 0x03)
		skip(&c, 2);
	r = ppp_proto(&c);
	return r == ENC_NEXT ? decode_chain(&c, out) : (enum decode_result)r;
}

/* DLT_PPP_ETHER: a PPPoE header without its Ethernet frame. */
static enum decode_result
link_pppoe(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(p, len, ET_PPPOE, out);
}

static enum decode_result link_ppi(const uint8_t *p, uint32_t len, struct pkt *out);

static const struct {
	int dlt;
	const char *name;
	decode_fn fn;
} links[] = {
	{ DLT_EN10MB, "EN10MB", link_ether },
	{ DLT_RAW, "RAW", link_raw },
#if DLT_RAW != 14
	{ 14, "RAW", link_raw },		/* OpenBSD's number for DLT_RAW */
#endif
	{ DLT_IPV4, "IPV4", link_ipv4 },
	{ DLT_IPV6, "IPV6", link_ipv6 },
	{ DLT_NULL, "NULL", link_null },
	{ DLT_LOOP, "LOOP", link_loop },
	{ DLT_LINUX_SLL, "LINUX_SLL", link_sll },
	{ DLT_LINUX_SLL2, "LINUX_SLL2", link_sll2 },
	{ DLT_PPP, "PPP", link_ppp },
	{ DLT_PPP_SERIAL, "PPP_SERIAL", link_ppp },
	{ DLT_PPP_ETHER, "PPP_ETHER", link_pppoe },
	{ DLT_C_HDLC, "C_HDLC", link_chdlc },
	{ DLT_PPI, "PPI", link_ppi },
};

/* Per-Packet Information (CACE PPI 1.0): a little-endian header that
 * names the link type of the frame after it. */
static enum decode_result
link_ppi(const uint8_t *p, uint32_t len, struct pkt *out)
{
	uint32_t hlen, dlt;
	decode_fn fn;

	if (len < 8)
		return DEC_TRUNCATED;
	hlen = (uint32_t)p[2] | (uint32_t)p[3] << 8;
	dlt = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	if (p[0] != 0 || hlen < 8)
		return DEC_MALFORMED;
	if (len < hlen)
		return DEC_TRUNCATED;
	fn = dlt == DLT_PPI ? NULL : decode_for_dlt((int)dlt);
	return fn ? fn(p + hlen, len - hlen, out) : DEC_NONIP;
}

enum decode_result
decode_frame(decode_fn fn, const uint8_t *p, uint32_t caplen, uint32_t wirelen, struct pkt *out)
{
	memset(out, 0, sizeof *out);
	out->cap_len = caplen;
	/* A wire length below what was captured is itself false: unknown. */
	out->wire_len = wirelen >= caplen ? wirelen : 0;
	return fn(p, caplen, out);
}

decode_fn
decode_for_dlt(int dlt)
{
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (links[i].dlt == dlt)
			return links[i].fn;
	return NULL;
}

const char *
decode_dlt_name(int dlt)
{
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
		if (links[i].dlt == dlt)
			return links[i].name;
	return "unsupported";
}
