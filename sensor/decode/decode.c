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
 * Nothing casts packet bytes to a struct: every field is read through
 * bytes.h, whose reads check the length themselves, so alignment never
 * matters and no read can miss its check.
 */
#include "decode.h"

#include <pcap/dlt.h>
#include <string.h>

#include "bytes.h"

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

/* Where the chain stands: the bytes left and the ethertype they carry. */
struct cur {
	struct bytes b;
	unsigned et;
};

/* ---- transport ---------------------------------------------------------- */

/* Ports and payload of TCP (RFC 9293) and UDP (RFC 768); other protocols
 * are port-less flows. The IP packet is good at this point, so a short or
 * bogus transport header marks the packet, it does not reject it: its IP
 * bytes still count. */
static enum decode_result
decode_l4(struct bytes b, struct pkt *out)
{
	uint32_t hl = 8;
	struct bytes pl;

	if (out->proto != 6 && out->proto != 17)
		return DEC_IP;
	out->dport = bytes_be16(&b, 2);
	out->sport = bytes_be16(&b, 0);
	if (b.err)
		goto trunc;
	if (out->proto == 6) {
		uint8_t flags = bytes_u8(&b, 13), off = bytes_u8(&b, 12);
		uint32_t seq = bytes_be32(&b, 4);

		if (b.err)
			goto trunc;
		out->tcp_seq = seq;
		out->tcp_flags = flags;
		hl = (uint32_t)(off >> 4) * 4;
		if (hl < 20)
			goto trunc;
	}
	pl = bytes_from(&b, hl);
	if (b.err)
		goto trunc;
	out->payload = pl.p;
	out->payload_len = pl.len;
	return DEC_IP;
trunc:
	out->flags |= PKT_F_L4_TRUNC;
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
decode_ip4(struct bytes b, struct pkt *out)
{
	/* The furthest field first: once it is there, so are the others. */
	const uint8_t *addr = bytes_at(&b, 12, 8);
	uint8_t vihl = bytes_u8(&b, 0), proto = bytes_u8(&b, 9);
	uint32_t tot = bytes_be16(&b, 2), id = bytes_be16(&b, 4), frag = bytes_be16(&b, 6);
	uint32_t ihl = (uint32_t)(vihl & 0x0f) * 4, len = b.len;
	struct bytes dgram;

	if (b.err)
		return DEC_TRUNCATED;
	/* A sender's own capture with TCP segmentation offload shows total
	 * length 0 on the large segments it hands to the NIC: the datagram
	 * is then what was captured (as tshark reads it too). */
	if (tot == 0 && len > ihl && len <= 0xffff)
		tot = len;
	if ((vihl >> 4) != 4 || ihl < 20 || tot < ihl)
		return DEC_MALFORMED;
	if (!bytes_has(&b, 0, ihl))
		return DEC_TRUNCATED;

	out->family = 4;
	out->proto = proto;
	memcpy(out->src, addr, 4);
	memcpy(out->dst, addr + 4, 4);
	out->l3 = b.p;
	out->ip_len = billed(tot, len, out);
	/* Ethernet pads short frames: the datagram ends at the total length. */
	out->l3_len = len < tot ? len : tot;

	if (frag & 0x3fff) {			/* MF set or an offset: a fragment */
		out->flags |= PKT_F_FRAG;
		out->frag_id = id;
		if (frag & 0x1fff) {
			out->flags |= PKT_F_FRAG_LATER;
			return DEC_IP;
		}
	}
	dgram = bytes_of(b.p, out->l3_len);
	return decode_l4(bytes_from(&dgram, ihl), out);
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
decode_ip6(struct bytes b, struct pkt *out)
{
	uint8_t v = bytes_u8(&b, 0);
	uint32_t plen, off = 40, n, len = b.len;
	uint8_t nh;
	const uint8_t *addr;
	struct bytes dgram, l4;
	int depth, kind;

	if (!b.err && (v >> 4) != 6)
		return DEC_MALFORMED;
	addr = bytes_at(&b, 8, 32);
	plen = bytes_be16(&b, 4);
	nh = bytes_u8(&b, 6);
	if (b.err)
		return DEC_TRUNCATED;
	out->family = 6;
	memcpy(out->src, addr, 16);
	memcpy(out->dst, addr + 16, 16);
	out->l3 = b.p;
	out->ip_len = billed(plen + 40, len, out);
	out->l3_len = len < plen + 40 ? len : plen + 40;
	dgram = bytes_of(b.p, out->l3_len);

	for (depth = 0; depth < MAX_DEPTH; depth++) {
		if (nh == 44) {			/* fragment header, 8 bytes */
			uint32_t id = bytes_be32(&dgram, off + 4);
			uint16_t fo = bytes_be16(&dgram, off + 2);
			uint8_t next = bytes_u8(&dgram, off);

			if (dgram.err)
				break;
			out->flags |= PKT_F_FRAG;
			out->frag_id = id;
			nh = next;
			if (fo & 0xfff8) {
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
		{
			uint8_t hlen = bytes_u8(&dgram, off + 1), next = bytes_u8(&dgram, off);

			if (dgram.err)
				break;
			n = kind == EXT_AH ? ((uint32_t)hlen + 2) * 4 : ((uint32_t)hlen + 1) * 8;
			nh = next;
			off += n;
		}
	}
	/* The chain is longer than we follow, or cut by the snap length. */
	out->proto = nh;
	out->flags |= PKT_F_L4_TRUNC;
	return DEC_IP;

transport:
	out->proto = nh;
	l4 = bytes_from(&dgram, off);
	if (dgram.err) {
		out->flags |= PKT_F_L4_TRUNC;
		return DEC_IP;
	}
	return decode_l4(l4, out);
}

/* ---- encapsulations between link and IP ---------------------------------- */

static int
enc_ip4(struct cur *c, struct pkt *out)
{
	return decode_ip4(c->b, out);
}

static int
enc_ip6(struct cur *c, struct pkt *out)
{
	return decode_ip6(c->b, out);
}

/* Raw IP or the payload of an MPLS stack: the version nibble decides. */
static int
enc_guess_ip(struct cur *c, struct pkt *out)
{
	uint8_t v = bytes_u8(&c->b, 0);

	if (c->b.err)
		return DEC_TRUNCATED;
	switch (v >> 4) {
	case 4: return decode_ip4(c->b, out);
	case 6: return decode_ip6(c->b, out);
	default: return DEC_NONIP;
	}
}

static int
enc_ether(struct cur *c, struct pkt *out)
{
	uint32_t llc;

	c->et = bytes_be16(&c->b, 12);
	if (bytes_skip(&c->b, 14) < 0)
		return DEC_TRUNCATED;
	if (c->et >= 0x0600)
		return ENC_NEXT;
	/* An 802.3 length field: only LLC/SNAP (AA AA 03) carries an ethertype. */
	llc = bytes_be32(&c->b, 0) >> 8;
	c->et = bytes_be16(&c->b, 6);
	if (bytes_skip(&c->b, 8) < 0)
		return DEC_TRUNCATED;
	return llc == 0xaaaa03 ? ENC_NEXT : DEC_NONIP;
}

static int
enc_vlan(struct cur *c, struct pkt *out)
{
	uint16_t tci = bytes_be16(&c->b, 0);

	c->et = bytes_be16(&c->b, 2);
	if (bytes_skip(&c->b, 4) < 0)
		return DEC_TRUNCATED;
	/* Keep the two innermost ids: QinQ's service tag and customer tag. */
	out->vlan = ((out->vlan << 12) | (tci & 0x0fff)) & 0xffffff;
	return ENC_NEXT;
}

static int
enc_mpls(struct cur *c, struct pkt *out)
{
	uint8_t first;
	int n;

	for (n = 0; n < MAX_DEPTH; n++) {
		int bottom = bytes_u8(&c->b, 2) & 0x01;

		if (bytes_skip(&c->b, 4) < 0)
			return DEC_TRUNCATED;
		if (bottom)
			break;
	}
	if (n == MAX_DEPTH)
		return DEC_MALFORMED;
	first = bytes_u8(&c->b, 0);
	if (c->b.err)
		return DEC_TRUNCATED;
	/* First nibble 0: a pseudowire control word, then an Ethernet frame. */
	if ((first >> 4) == 0) {
		if (bytes_skip(&c->b, 4) < 0)
			return DEC_TRUNCATED;
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
	uint8_t first = bytes_u8(&c->b, 0);

	if (c->b.err)
		return DEC_TRUNCATED;
	if (first & 0x01) {
		c->et = ppp_to_et(first);
		bytes_skip(&c->b, 1);
	} else {
		unsigned proto = bytes_be16(&c->b, 0);

		if (bytes_skip(&c->b, 2) < 0)
			return DEC_TRUNCATED;
		c->et = ppp_to_et(proto);
	}
	return c->et == ET_NONE ? DEC_NONIP : ENC_NEXT;
}

static int
enc_pppoe(struct cur *c, struct pkt *out)
{
	uint16_t vt = bytes_be16(&c->b, 0);

	if (bytes_skip(&c->b, 6) < 0)
		return DEC_TRUNCATED;
	if (vt != 0x1100)	/* version 1, type 1, session data */
		return DEC_MALFORMED;
	return ppp_proto(c);
}

/* Cisco FabricPath: after the outer ethertype, a 2-byte FTag/TTL, then
 * the original Ethernet frame. */
static int
enc_fabricpath(struct cur *c, struct pkt *out)
{
	if (bytes_skip(&c->b, 2) < 0)
		return DEC_TRUNCATED;
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
start(struct bytes b, unsigned et, struct pkt *out)
{
	struct cur c = { b, et };

	return decode_chain(&c, out);
}

/* A link header of hlen bytes whose ethertype was read into et (with
 * the read's check in b): the chain after it. */
static enum decode_result
after_link(struct bytes b, uint32_t hlen, unsigned et, struct pkt *out)
{
	if (bytes_skip(&b, hlen) < 0)
		return DEC_TRUNCATED;
	return et == ET_NONE ? DEC_NONIP : start(b, et, out);
}

static enum decode_result
link_ether(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(bytes_of(p, len), ET_ETHER, out);
}

static enum decode_result
link_raw(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(bytes_of(p, len), ET_GUESS_IP, out);
}

static enum decode_result
link_ipv4(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(bytes_of(p, len), ET_IPV4, out);
}

static enum decode_result
link_ipv6(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(bytes_of(p, len), ET_IPV6, out);
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
	struct bytes b = bytes_of(p, len);
	unsigned et = af_to_et(bytes_le32(&b, 0));

	if (et == ET_NONE)
		et = af_to_et(bytes_be32(&b, 0));
	return after_link(b, 4, et, out);
}

static enum decode_result
link_loop(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct bytes b = bytes_of(p, len);

	return after_link(b, 4, af_to_et(bytes_be32(&b, 0)), out);
}

static enum decode_result
link_sll(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct bytes b = bytes_of(p, len);

	return after_link(b, 16, bytes_be16(&b, 14), out);
}

static enum decode_result
link_sll2(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct bytes b = bytes_of(p, len);

	return after_link(b, 20, bytes_be16(&b, 0), out);
}

/* Cisco HDLC: address, control, then an ethertype. */
static enum decode_result
link_chdlc(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct bytes b = bytes_of(p, len);

	return after_link(b, 4, bytes_be16(&b, 2), out);
}

/* PPP with or without the HDLC-like address and control bytes (RFC 1662).
 * Routers also write Cisco HDLC frames (address 0x0f or 0x8f, control 0)
 * under the PPP link types, as Wireshark knows: take them as such. */
static enum decode_result
link_ppp(const uint8_t *p, uint32_t len, struct pkt *out)
{
	struct cur c = { bytes_of(p, len), ET_NONE };
	int r;

	if (bytes_has(&c.b, 0, 2)) {
		uint16_t ac = bytes_be16(&c.b, 0);

		if (ac == 0x0f00 || ac == 0x8f00)
			return link_chdlc(p, len, out);
		if (ac == 0xff03)
			bytes_skip(&c.b, 2);
	}
	r = ppp_proto(&c);
	return r == ENC_NEXT ? decode_chain(&c, out) : (enum decode_result)r;
}

/* DLT_PPP_ETHER: a PPPoE header without its Ethernet frame. */
static enum decode_result
link_pppoe(const uint8_t *p, uint32_t len, struct pkt *out)
{
	return start(bytes_of(p, len), ET_PPPOE, out);
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
	struct bytes b = bytes_of(p, len);
	uint8_t ver = bytes_u8(&b, 0);
	uint32_t hlen = bytes_le16(&b, 2), dlt = bytes_le32(&b, 4);
	decode_fn fn;

	if (b.err)
		return DEC_TRUNCATED;
	if (ver != 0 || hlen < 8)
		return DEC_MALFORMED;
	if (bytes_skip(&b, hlen) < 0)
		return DEC_TRUNCATED;
	fn = dlt == DLT_PPI ? NULL : decode_for_dlt((int)dlt);
	return fn ? fn(b.p, b.len, out) : DEC_NONIP;
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
