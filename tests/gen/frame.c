/*
 * frame.c — link, IP and transport headers with correct lengths and
 * checksums (RFC 1071 one's-complement sum, computed in host order on
 * aligned-or-not loads through memcpy and stored the same way, which is
 * byte-order independent). See frame.h.
 */
#include "frame.h"

#include <string.h>

/* How each encapsulation tags the frame: the tag protocol ids in order,
 * then, for PPPoE, a session header (RFC 2516) and a PPP protocol field. */
static const struct l2_def {
	uint8_t ntags;
	uint16_t tpid[2];
	uint8_t pppoe;
} l2_defs[] = {
	[ENCAP_ETH] = { 0, { 0, 0 }, 0 },
	[ENCAP_VLAN] = { 1, { 0x8100, 0 }, 0 },
	[ENCAP_QINQ] = { 2, { 0x88a8, 0x8100 }, 0 },
	[ENCAP_PPPOE] = { 0, { 0, 0 }, 1 },
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static size_t l2_len(enum encap e)
{
	const struct l2_def *d = &l2_defs[e];

	return 14 + 4u * d->ntags + (d->pppoe ? 8 : 0);
}

size_t frame_overhead(enum encap e, int v6, int proto, size_t optlen)
{
	return l2_len(e) + (v6 ? 40 : 20) + (proto == 6 ? 20 + optlen : 8);
}

uint8_t *frame_begin(struct frame *fr, enum encap e, const struct frame_hdr *h)
{
	const struct l2_def *d = &l2_defs[e];
	const uint16_t tags[2] = { d->ntags == 2 ? h->svlan : h->cvlan, h->cvlan };
	uint8_t *p = fr->buf;
	size_t off;

	fr->encap = e;
	fr->v6 = h->v6;
	fr->proto = h->proto;
	memcpy(p, h->dmac, 6);
	memcpy(p + 6, h->smac, 6);
	off = 12;
	for (int i = 0; i < d->ntags && i < 2; i++) {
		put16(p + off, d->tpid[i]);
		put16(p + off + 2, tags[i] & 0x0fff);
		off += 4;
	}
	fr->pppoe = 0;
	if (d->pppoe) {
		put16(p + off, 0x8864);
		fr->pppoe = off + 2;
		p[off + 2] = 0x11;	/* version 1, type 1 */
		p[off + 3] = 0x00;	/* session data */
		put16(p + off + 4, h->pppoe_sid);
		put16(p + off + 8, h->v6 ? 0x0057 : 0x0021);
		off += 10;
	} else {
		put16(p + off, h->v6 ? 0x86dd : 0x0800);
		off += 2;
	}

	fr->l3 = off;
	if (h->v6) {
		put32(p + off, 0x60000000u | (h->flowlabel & 0xfffff));
		p[off + 6] = h->proto;
		p[off + 7] = h->ttl;
		memcpy(p + off + 8, h->src, 16);
		memcpy(p + off + 24, h->dst, 16);
		off += 40;
	} else {
		p[off] = 0x45;
		p[off + 1] = 0;
		put16(p + off + 4, h->ipid);
		put16(p + off + 6, 0x4000);	/* DF, as modern stacks send */
		p[off + 8] = h->ttl;
		p[off + 9] = h->proto;
		memcpy(p + off + 12, h->src, 4);
		memcpy(p + off + 16, h->dst, 4);
		off += 20;
	}

	fr->l4 = off;
	put16(p + off, h->sport);
	put16(p + off + 2, h->dport);
	if (h->proto == 6) {
		put32(p + off + 4, h->seq);
		put32(p + off + 8, h->ack);
		p[off + 12] = (uint8_t)(((20 + h->optlen) / 4) << 4);
		p[off + 13] = h->tcpflags;
		put16(p + off + 14, h->win);
		put16(p + off + 16, 0);
		put16(p + off + 18, 0);
		if (h->optlen)
			memcpy(p + off + 20, h->opts, h->optlen);
		off += 20 + h->optlen;
	} else {
		off += 8;
	}
	fr->pl = off;
	return p + off;
}

static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		sum += v;
		sum += (sum < v);	/* end-around carry */
		p += 8;
		n -= 8;
	}
	if (n >= 4) {
		uint32_t v;

		memcpy(&v, p, 4);
		sum += v;
		sum += (sum < v);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		uint16_t v;

		memcpy(&v, p, 2);
		sum += v;
		sum += (sum < v);
		p += 2;
		n -= 2;
	}
	if (n) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t v;

		memcpy(&v, last, 2);
		sum += v;
		sum += (sum < v);
	}
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t frame_finish(struct frame *fr, size_t plen)
{
	uint8_t *p = fr->buf;
	size_t l4len = fr->pl - fr->l4 + plen;
	size_t iplen = (fr->v6 ? 40 : 20) + l4len;
	uint8_t pseudo[40];
	size_t pslen;
	uint64_t sum;
	uint16_t c;
	size_t ck;

	if (fr->v6) {
		put16(p + fr->l3 + 4, (uint16_t)l4len);
		memcpy(pseudo, p + fr->l3 + 8, 32);
		put32(pseudo + 32, (uint32_t)l4len);
		memset(pseudo + 36, 0, 3);
		pseudo[39] = fr->proto;
		pslen = 40;
	} else {
		put16(p + fr->l3 + 2, (uint16_t)iplen);
		put16(p + fr->l3 + 10, 0);
		c = csum_fold(csum_add(0, p + fr->l3, 20));
		memcpy(p + fr->l3 + 10, &c, 2);
		memcpy(pseudo, p + fr->l3 + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = fr->proto;
		put16(pseudo + 10, (uint16_t)l4len);
		pslen = 12;
	}
	if (fr->pppoe)
		put16(p + fr->pppoe + 4, (uint16_t)(iplen + 2));

	if (fr->proto == 6) {
		ck = fr->l4 + 16;
	} else {
		ck = fr->l4 + 6;
		put16(p + fr->l4 + 4, (uint16_t)l4len);
	}
	put16(p + ck, 0);
	sum = csum_add(csum_add(0, pseudo, pslen), p + fr->l4, l4len);
	c = csum_fold(sum);
	if (fr->proto == 17 && c == 0)
		c = 0xffff;	/* UDP: zero means "no checksum" */
	memcpy(p + ck, &c, 2);

	fr->ip_bytes = (uint32_t)iplen;
	fr->len = fr->pl + plen;
	if (fr->len < FRAME_MIN) {
		memset(p + fr->len, 0, FRAME_MIN - fr->len);
		fr->len = FRAME_MIN;
	}
	return fr->len;
}
