/*
 * test_decode.c — the decoder, one frame per link type and encapsulation,
 * built byte by byte here, plus every truncation of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <pcap/dlt.h>

#include "decode.h"

struct buf {
	uint8_t b[2048];
	uint32_t n;
};

static void
put(struct buf *b, const void *p, uint32_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void
put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void
put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v);
}

static void
put32(struct buf *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b, v & 0xffff);
}

static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2 };

/* IPv4 header (20 + optlen bytes) + TCP header (20) + payload. */
static void
ip4_tcp(struct buf *b, unsigned optlen, unsigned payload, unsigned frag)
{
	unsigned tot = 20 + optlen + 20 + payload;

	put8(b, 0x40 | ((20 + optlen) / 4));
	put8(b, 0);
	put16(b, tot);
	put16(b, 0x1234);		/* id */
	put16(b, frag);
	put8(b, 64);
	put8(b, 6);
	put16(b, 0);
	put32(b, 0x0a000001);		/* 10.0.0.1 */
	put32(b, 0xc0000201);		/* 192.0.2.1 */
	for (unsigned i = 0; i < optlen; i++)
		put8(b, 1);		/* NOP options */
	put16(b, 40000);
	put16(b, 25);
	put32(b, 1000);			/* seq */
	put32(b, 0);
	put8(b, 0x50);
	put8(b, 0x18);			/* PSH ACK */
	put16(b, 65535);
	put32(b, 0);
	for (unsigned i = 0; i < payload; i++)
		put8(b, 'a');
}

/* IPv6 + the given extension headers (each 8 bytes) + UDP + payload. */
static void
ip6_udp(struct buf *b, const uint8_t *exts, unsigned nexts, unsigned payload)
{
	unsigned plen = nexts * 8 + 8 + payload;

	put32(b, 0x60000000);
	put16(b, plen);
	put8(b, nexts ? exts[0] : 17);
	put8(b, 64);
	put32(b, 0x20010db8); put32(b, 0); put32(b, 0); put32(b, 1);
	put32(b, 0x20010db8); put32(b, 0); put32(b, 0); put32(b, 2);
	for (unsigned i = 0; i < nexts; i++) {
		put8(b, i + 1 < nexts ? exts[i + 1] : 17);
		put8(b, 0);		/* length: 8 bytes */
		put16(b, 0); put32(b, 0);
	}
	put16(b, 5353);
	put16(b, 53);
	put16(b, 8 + payload);
	put16(b, 0);
	for (unsigned i = 0; i < payload; i++)
		put8(b, 'x');
}

/* The frame as captured from a wire of wire bytes (0: not known). */
static enum decode_result
dec_wire(int dlt, const struct buf *b, uint32_t wire, struct pkt *p)
{
	decode_fn fn = decode_for_dlt(dlt);

	assert_non_null(fn);
	return decode_frame(fn, b->b, b->n, wire, p);
}

/* The whole frame, as it was on the wire. */
static enum decode_result
dec(int dlt, const struct buf *b, struct pkt *p)
{
	return dec_wire(dlt, b, b->n, p);
}

static void
check_v4(const struct pkt *p, unsigned payload)
{
	assert_int_equal(p->family, 4);
	assert_int_equal(p->proto, 6);
	assert_int_equal(p->sport, 40000);
	assert_int_equal(p->dport, 25);
	assert_int_equal(p->src[0], 10);
	assert_int_equal(p->dst[0], 192);
	assert_int_equal(p->tcp_flags, 0x18);
	assert_int_equal(p->tcp_seq, 1000);
	assert_int_equal(p->payload_len, payload);
}

/* Every shorter capture of a good frame must decode without reading past
 * its end (ASan watches) and never claim more than was captured. */
static void
all_truncations(int dlt, const struct buf *b)
{
	for (uint32_t n = 0; n < b->n; n++) {
		struct buf t;
		struct pkt p;
		enum decode_result r;

		memcpy(t.b, b->b, n);
		t.n = n;
		/* A snap length: the wire had the whole frame. */
		r = dec_wire(dlt, &t, b->n, &p);
		assert_true(r < DEC_NRESULTS);
		if (r == DEC_IP) {
			assert_false(p.flags & PKT_F_LEN_LIE);
			assert_true(p.l3 >= t.b && p.l3 + p.l3_len <= t.b + n);
			if (p.payload)
				assert_true(p.payload + p.payload_len <= t.b + n);
		}
	}
}

static void
test_ethernet_ipv4(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 5, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 5);
	assert_int_equal(p.ip_len, 45);
	assert_int_equal(p.vlan, 0);
	all_truncations(DLT_EN10MB, &b);
}

static void
test_ethernet_padding(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	/* 40-byte datagram padded to a 60-byte frame: bytes stay 40. */
	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 0, 0);
	for (int i = 0; i < 6; i++)
		put8(&b, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	assert_int_equal(p.ip_len, 40);
	assert_int_equal(p.l3_len, 40);
	assert_int_equal(p.payload_len, 0);
	/* The wire carried 46 bytes after the link header: no lie. */
	assert_false(p.flags & PKT_F_LEN_LIE);
}

/* Issue 14.4: an IP length the frame proves false is billed what the
 * wire carried and flagged; a snap length or Ethernet padding is not a
 * lie. */
static void
test_length_lies(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	/* 74 bytes on the wire, the IPv4 header says 65535. */
	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 20, 0);
	b.b[14 + 2] = 0xff;
	b.b[14 + 3] = 0xff;
	assert_int_equal(b.n, 74);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	assert_int_equal(p.ip_len, 60);
	assert_true(p.flags & PKT_F_LEN_LIE);
	check_v4(&p, 20);
	/* The wire length not known: the header is all there is. */
	assert_int_equal(dec_wire(DLT_EN10MB, &b, 0, &p), DEC_IP);
	assert_int_equal(p.ip_len, 65535);
	assert_false(p.flags & PKT_F_LEN_LIE);
	/* A wire length below the captured length is false itself. */
	assert_int_equal(dec_wire(DLT_EN10MB, &b, 60, &p), DEC_IP);
	assert_int_equal(p.ip_len, 65535);
	/* Snapped at 74 of a 65549-byte frame: the claim fits the wire. */
	assert_int_equal(dec_wire(DLT_EN10MB, &b, 14 + 65535, &p), DEC_IP);
	assert_int_equal(p.ip_len, 65535);
	assert_false(p.flags & PKT_F_LEN_LIE);
	/* One byte short of it: a lie by one. */
	assert_int_equal(dec_wire(DLT_EN10MB, &b, 14 + 65534, &p), DEC_IP);
	assert_int_equal(p.ip_len, 65534);
	assert_true(p.flags & PKT_F_LEN_LIE);

	/* Behind a VLAN tag: the link header is 18 bytes. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x8100); put16(&b, 7); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 20, 0);
	b.b[18 + 2] = 0xff;
	b.b[18 + 3] = 0xff;
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	assert_int_equal(p.ip_len, 60);
	assert_true(p.flags & PKT_F_LEN_LIE);

	/* IPv6: payload length 65535 in a 148-byte frame. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x86dd);
	ip6_udp(&b, NULL, 0, 148 - 14 - 40 - 8);
	b.b[14 + 4] = 0xff;
	b.b[14 + 5] = 0xff;
	assert_int_equal(b.n, 148);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	assert_int_equal(p.ip_len, 134);
	assert_true(p.flags & PKT_F_LEN_LIE);
	assert_int_equal(p.dport, 53);
}

static void
test_ipv4_options(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 8, 3, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 3);
	assert_int_equal(p.ip_len, 51);
	assert_memory_equal(p.payload, "aaa", 3);
	all_truncations(DLT_EN10MB, &b);
}

static void
test_vlan_qinq(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12);
	put16(&b, 0x88a8); put16(&b, 100);	/* service tag 100 */
	put16(&b, 0x8100); put16(&b, 0x2000 | 200);	/* customer tag 200, PCP set */
	put16(&b, 0x0800);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 1);
	assert_int_equal(p.vlan, (100u << 12) | 200u);
	all_truncations(DLT_EN10MB, &b);

	b.n = 0;
	put(&b, mac, 12);
	put16(&b, 0x8100); put16(&b, 7);
	put16(&b, 0x0800);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	assert_int_equal(p.vlan, 7);
}

static void
test_mpls(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12); put16(&b, 0x8847);
	put32(&b, (16u << 12) | 64);		/* label 16 */
	put32(&b, (17u << 12) | 0x100 | 64);	/* label 17, bottom of stack */
	ip4_tcp(&b, 0, 2, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 2);
	all_truncations(DLT_EN10MB, &b);

	/* Ethernet pseudowire with a control word (RFC 4385) over one label. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x8847);
	put32(&b, (18u << 12) | 0x100 | 64);
	put32(&b, 0);				/* control word */
	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 2, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 2);
	all_truncations(DLT_EN10MB, &b);

	/* A label stack that never ends is malformed, not a loop. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x8847);
	for (int i = 0; i < 40; i++)
		put32(&b, (16u << 12) | 64);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_MALFORMED);
}

static void
test_pppoe(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12); put16(&b, 0x8864);
	put8(&b, 0x11); put8(&b, 0); put16(&b, 0x0042); put16(&b, 40 + 2 + 4);
	put16(&b, 0x0021);
	ip4_tcp(&b, 0, 4, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 4);
	all_truncations(DLT_EN10MB, &b);

	/* PPPoE discovery and LCP carry no IP. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x8864);
	put8(&b, 0x11); put8(&b, 0); put16(&b, 0x0042); put16(&b, 6);
	put16(&b, 0xc021); put32(&b, 0x01010004);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_NONIP);

	/* DLT_PPP_ETHER: PPPoE without the Ethernet header. */
	b.n = 0;
	put8(&b, 0x11); put8(&b, 0); put16(&b, 0x0042); put16(&b, 46);
	put16(&b, 0x0057);
	ip6_udp(&b, NULL, 0, 3);
	assert_int_equal(dec(DLT_PPP_ETHER, &b, &p), DEC_IP);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.dport, 53);
}

static void
test_llc_snap_and_arp(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put(&b, mac, 12); put16(&b, 48 + 8);
	put8(&b, 0xaa); put8(&b, 0xaa); put8(&b, 0x03); put8(&b, 0); put16(&b, 0);
	put16(&b, 0x0800);
	ip4_tcp(&b, 0, 8, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 8);

	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x0806);
	for (int i = 0; i < 28; i++)
		put8(&b, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_NONIP);
}

static void
test_sll_sll2(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put16(&b, 0); put16(&b, 1); put16(&b, 6); put(&b, mac, 8); put16(&b, 0x86dd);
	ip6_udp(&b, NULL, 0, 2);
	assert_int_equal(dec(DLT_LINUX_SLL, &b, &p), DEC_IP);
	assert_int_equal(p.family, 6);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.ip_len, 40 + 8 + 2);
	all_truncations(DLT_LINUX_SLL, &b);

	b.n = 0;
	put16(&b, 0x0800); put16(&b, 0); put32(&b, 3); put16(&b, 1); put8(&b, 0); put8(&b, 6);
	put(&b, mac, 8);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(b.n, 20 + 41);
	assert_int_equal(dec(DLT_LINUX_SLL2, &b, &p), DEC_IP);
	check_v4(&p, 1);
	all_truncations(DLT_LINUX_SLL2, &b);
}

static void
test_raw(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	check_v4(&p, 1);
	assert_int_equal(dec(DLT_IPV4, &b, &p), DEC_IP);
	check_v4(&p, 1);
	assert_int_equal(dec(DLT_IPV6, &b, &p), DEC_MALFORMED);
	all_truncations(DLT_RAW, &b);

	b.n = 0;
	ip6_udp(&b, NULL, 0, 1);
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_int_equal(p.family, 6);
	assert_int_equal(dec(DLT_IPV6, &b, &p), DEC_IP);
	assert_int_equal(dec(DLT_IPV4, &b, &p), DEC_MALFORMED);
	all_truncations(DLT_IPV6, &b);
}

static void
test_null_loop(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put8(&b, 2); put8(&b, 0); put8(&b, 0); put8(&b, 0);	/* AF_INET, little-endian */
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_NULL, &b, &p), DEC_IP);
	check_v4(&p, 1);
	all_truncations(DLT_NULL, &b);

	b.n = 0;
	put32(&b, 30);					/* macOS AF_INET6, big-endian */
	ip6_udp(&b, NULL, 0, 1);
	assert_int_equal(dec(DLT_NULL, &b, &p), DEC_IP);
	assert_int_equal(p.family, 6);
	assert_int_equal(dec(DLT_LOOP, &b, &p), DEC_IP);

	b.n = 0;
	put32(&b, 7);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_LOOP, &b, &p), DEC_NONIP);
}

static void
test_ppp_hdlc(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put8(&b, 0xff); put8(&b, 0x03); put16(&b, 0x0021);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_PPP, &b, &p), DEC_IP);
	check_v4(&p, 1);
	all_truncations(DLT_PPP, &b);

	b.n = 0;
	put8(&b, 0x21);				/* compressed protocol field */
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_PPP, &b, &p), DEC_IP);
	check_v4(&p, 1);

	b.n = 0;
	put8(&b, 0x0f); put8(&b, 0x00); put16(&b, 0x86dd);
	ip6_udp(&b, NULL, 0, 1);
	assert_int_equal(dec(DLT_C_HDLC, &b, &p), DEC_IP);
	assert_int_equal(p.family, 6);
	all_truncations(DLT_C_HDLC, &b);
}

static void
test_ppi(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	put8(&b, 0); put8(&b, 0); put8(&b, 8); put8(&b, 0);
	put8(&b, 1); put8(&b, 0); put8(&b, 0); put8(&b, 0);	/* inner DLT_EN10MB */
	put(&b, mac, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_PPI, &b, &p), DEC_IP);
	check_v4(&p, 1);
	all_truncations(DLT_PPI, &b);
}

static void
test_ipv6_ext_headers(void **s)
{
	static const uint8_t exts[] = { 0, 60, 43 };	/* hop-by-hop, dest opts, routing */
	struct buf b = { .n = 0 };
	struct pkt p;

	ip6_udp(&b, exts, 3, 4);
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.sport, 5353);
	assert_int_equal(p.dport, 53);
	assert_int_equal(p.payload_len, 4);
	assert_int_equal(p.ip_len, 40 + 24 + 8 + 4);
	all_truncations(DLT_RAW, &b);
}

static void
test_fragments(void **s)
{
	static const uint8_t frag_hdr[] = { 44 };
	struct buf b = { .n = 0 };
	struct pkt p;

	/* IPv4 first fragment (MF) has ports; a later one does not. */
	ip4_tcp(&b, 0, 8, 0x2000);
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_true(p.flags & 1);
	assert_false(p.flags & 2);
	assert_int_equal(p.frag_id, 0x1234);
	assert_int_equal(p.dport, 25);

	b.n = 0;
	ip4_tcp(&b, 0, 8, 0x0005);
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_true(p.flags & 2);
	assert_int_equal(p.dport, 0);
	assert_int_equal(p.ip_len, 48);

	/* IPv6 fragment header, first fragment: the transport follows. */
	b.n = 0;
	ip6_udp(&b, frag_hdr, 1, 2);
	b.b[40 + 2] = 0; b.b[40 + 3] = 1;		/* offset 0, M set */
	b.b[40 + 7] = 9;				/* id 9 */
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_true(p.flags & 1);
	assert_false(p.flags & 2);
	assert_int_equal(p.frag_id, 9);
	assert_int_equal(p.dport, 53);

	/* Later fragment: offset 8, no ports. */
	b.b[40 + 2] = 0; b.b[40 + 3] = 8 << 3;
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_true(p.flags & 2);
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.dport, 0);
	all_truncations(DLT_RAW, &b);
}

static void
test_malformed(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	ip4_tcp(&b, 0, 0, 0);
	b.b[0] = 0x44;				/* IHL 16 bytes */
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_MALFORMED);
	b.b[0] = 0x45;
	b.b[2] = 0; b.b[3] = 10;		/* total length below the header */
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_MALFORMED);
	b.b[3] = 40;
	b.b[20 + 12] = 0x20;			/* TCP data offset 8 bytes */
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_true(p.flags & PKT_F_L4_TRUNC);
	assert_int_equal(p.ip_len, 40);
	assert_null(decode_for_dlt(105));	/* 802.11: not ours */
}

static void
test_seen_in_the_wild(void **s)
{
	struct buf b = { .n = 0 };
	struct pkt p;

	/* TSO: total length 0 on a sender's own capture means "what was captured". */
	ip4_tcp(&b, 0, 100, 0);
	b.b[2] = 0; b.b[3] = 0;
	assert_int_equal(dec(DLT_RAW, &b, &p), DEC_IP);
	assert_int_equal(p.ip_len, 140);
	assert_int_equal(p.payload_len, 100);

	/* Cisco FabricPath around an 802.1Q frame. */
	b.n = 0;
	put(&b, mac, 12); put16(&b, 0x8903); put16(&b, 0x0140);
	put(&b, mac, 12); put16(&b, 0x8100); put16(&b, 12); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_EN10MB, &b, &p), DEC_IP);
	check_v4(&p, 1);
	assert_int_equal(p.vlan, 12);
	all_truncations(DLT_EN10MB, &b);

	/* Cisco HDLC frames written under DLT_PPP. */
	b.n = 0;
	put8(&b, 0x0f); put8(&b, 0x00); put16(&b, 0x0800);
	ip4_tcp(&b, 0, 1, 0);
	assert_int_equal(dec(DLT_PPP, &b, &p), DEC_IP);
	check_v4(&p, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ethernet_ipv4),
		cmocka_unit_test(test_ethernet_padding),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_mpls),
		cmocka_unit_test(test_pppoe),
		cmocka_unit_test(test_llc_snap_and_arp),
		cmocka_unit_test(test_sll_sll2),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_null_loop),
		cmocka_unit_test(test_ppp_hdlc),
		cmocka_unit_test(test_ppi),
		cmocka_unit_test(test_length_lies),
		cmocka_unit_test(test_ipv6_ext_headers),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_seen_in_the_wild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
