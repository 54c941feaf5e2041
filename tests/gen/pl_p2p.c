/*
 * pl_p2p.c — eDonkey and Gnutella; see pl_p2p.h. eDonkey packets are
 * 0xe3, a little-endian length counting the opcode, the opcode, then
 * little-endian fields (the eMule protocol specification, 2005).
 */
#include "pl_p2p.h"

#include <string.h>

#include "gen.h"
#include "netplan.h"
#include "session.h"
#include "truth.h"

#define ED_PART 10240		/* bytes of one SENDINGPART block */
#define GROUP_PKTS 26		/* packets of one request and its three blocks */

enum {
	OP_HELLO = 0x01, OP_SENDINGPART = 0x46, OP_REQUESTPARTS = 0x47,
	OP_HELLOANSWER = 0x4c, OP_SETREQFILEID = 0x4f, OP_FILESTATUS = 0x50,
	OP_STARTUPLOADREQ = 0x54, OP_ACCEPTUPLOADREQ = 0x55,
	OP_REQUESTFILENAME = 0x58, OP_REQFILENAMEANSWER = 0x59,
};

static const char *const file_names[] = {
	"holiday.video.2009.avi", "album.complete.mp3.zip", "linux.distro.iso",
	"documentary.part1.mkv", "ebook.collection.rar",
};

/* an eDonkey packet header for a payload of n bytes after the opcode */
static void ed_head(struct bufw *b, uint8_t op, uint32_t n)
{
	bufw_u8(b, 0xe3);
	bufw_le32(b, n + 1);
	bufw_u8(b, op);
}

static void ed_hash(struct bufw *b, const struct flow *f, int which)
{
	struct rng r;
	uint8_t h[16];

	kind_rng(f, 0xfffb0000u + (uint32_t)which, &r);
	rng_fill(&r, h, sizeof(h));
	bufw_bytes(b, h, sizeof(h));
}

/* the body of Hello and Hello answer: user hash, client id, port, tags
 * (name, version), server address */
static void ed_hello_body(struct bufw *b, const struct flow *f, int side)
{
	static const char *const nick[] = { "http://www.aMule.org", "[eMule]user" };
	const char *name = nick[side];

	ed_hash(b, f, 1 + side);
	bufw_le32(b, 0x0a000000u + f->a[2] + (uint32_t)side);	/* client id */
	bufw_le16(b, 4662);
	bufw_le32(b, 2);	/* tag count */
	bufw_u8(b, 0x02);	/* string tag, name id 0x01 */
	bufw_le16(b, 1);
	bufw_u8(b, 0x01);
	bufw_le16(b, (uint16_t)strlen(name));
	bufw_str(b, name);
	bufw_u8(b, 0x03);	/* integer tag, version id 0x11 */
	bufw_le16(b, 1);
	bufw_u8(b, 0x11);
	bufw_le32(b, 0x3c);
	bufw_le32(b, 0);	/* no server */
	bufw_le16(b, 0);
}

/* a[0] groups of 3 blocks, a[1] file name, a[2] client ids */
int p2p_edonkey_script(const struct gen *g, const struct flow *f, uint32_t step,
		       struct msg *m, struct bufw *lit)
{
	const char *name = file_names[f->a[1] % (sizeof(file_names) / sizeof(file_names[0]))];
	uint8_t body[256];
	struct bufw b;

	(void)g;
	bufw_init(&b, body, sizeof(body));
	switch (step) {
	case 0:
	case 1:
		kind_msg(m, (int)step);
		if (step == 0)
			bufw_u8(&b, 16);	/* Hello starts with the hash size */
		ed_hello_body(&b, f, (int)step);
		ed_head(lit, step ? OP_HELLOANSWER : OP_HELLO, (uint32_t)b.len);
		bufw_bytes(lit, body, b.len);
		break;
	case 2:
		kind_msg(m, 0);
		ed_head(lit, OP_REQUESTFILENAME, 16);
		ed_hash(lit, f, 0);
		break;
	case 3:
		kind_msg(m, 1);
		ed_head(lit, OP_REQFILENAMEANSWER, 16 + 2 + (uint32_t)strlen(name));
		ed_hash(lit, f, 0);
		bufw_le16(lit, (uint16_t)strlen(name));
		bufw_str(lit, name);
		break;
	case 4:
		kind_msg(m, 0);
		ed_head(lit, OP_SETREQFILEID, 16);
		ed_hash(lit, f, 0);
		break;
	case 5:
		kind_msg(m, 1);
		ed_head(lit, OP_FILESTATUS, 18);
		ed_hash(lit, f, 0);
		bufw_le16(lit, 0);	/* complete source */
		break;
	case 6:
		kind_msg(m, 0);
		ed_head(lit, OP_STARTUPLOADREQ, 16);
		ed_hash(lit, f, 0);
		break;
	case 7:
		kind_msg(m, 1);
		m->gap_us = 5000;
		ed_head(lit, OP_ACCEPTUPLOADREQ, 0);
		break;
	default: {
		uint32_t j = step - 8, grp = j / 4, k = j % 4;
		uint32_t base = grp * 3 * ED_PART;

		if (grp >= f->a[0])
			return -1;
		if (k == 0) {
			kind_msg(m, 0);
			ed_head(lit, OP_REQUESTPARTS, 16 + 24);
			ed_hash(lit, f, 0);
			for (uint32_t i = 0; i < 3; i++)
				bufw_le32(lit, base + i * ED_PART);
			for (uint32_t i = 0; i < 3; i++)
				bufw_le32(lit, base + (i + 1) * ED_PART);
		} else {
			uint32_t start = base + (k - 1) * ED_PART;

			kind_msg(m, 1);
			ed_head(lit, OP_SENDINGPART, 16 + 8 + ED_PART);
			ed_hash(lit, f, 0);
			bufw_le32(lit, start);
			bufw_le32(lit, start + ED_PART);
			m->fill = ED_PART;
		}
		break;
	}
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- Kademlia 2 (eMule's DHT) over UDP: 0xe4, opcode, fields ----
 * a[0] 0 = HELLO_REQ/HELLO_RES, 1 = KADEMLIA2_REQ/KADEMLIA2_RES;
 * a[1] contacts in the answer */
enum { KAD2_HELLO_REQ = 0x11, KAD2_HELLO_RES = 0x19, KAD2_REQ = 0x21, KAD2_RES = 0x29 };

static void kad_id(struct bufw *b, const struct flow *f, uint32_t which)
{
	struct rng r;
	uint8_t id[16];

	kind_rng(f, 0xfffa0000u + which, &r);
	rng_fill(&r, id, sizeof(id));
	bufw_bytes(b, id, sizeof(id));
}

int p2p_kad_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit)
{
	struct rng r;

	if (step > 1)
		return -1;
	kind_msg(m, (int)step);
	bufw_u8(lit, 0xe4);
	if (f->a[0] == 0) {
		/* <kad id 16><tcp port 2><version 1><tag count 1> */
		bufw_u8(lit, step ? KAD2_HELLO_RES : KAD2_HELLO_REQ);
		kad_id(lit, f, (uint32_t)step);
		bufw_le16(lit, 4662);
		bufw_u8(lit, 0x08);
		bufw_u8(lit, 0);
	} else if (step == 0) {
		/* <contacts wanted 1><target 16><receiver's id 16> */
		bufw_u8(lit, KAD2_REQ);
		bufw_u8(lit, 0x0b);
		kad_id(lit, f, 2);
		kad_id(lit, f, 1);
	} else {
		/* <target 16><count 1>, count x <id 16><ip 4><udp 2><tcp 2><version 1> */
		kind_rng(f, 3, &r);
		bufw_u8(lit, KAD2_RES);
		kad_id(lit, f, 2);
		bufw_u8(lit, (uint8_t)f->a[1]);
		for (uint32_t i = 0; i < f->a[1]; i++) {
			uint32_t peer = rng_below(&r, net_pool_size(POOL_P2P));
			uint8_t a[4];

			kad_id(lit, f, 10 + i);
			net_pool_addr(POOL_P2P, peer, 0, a);
			bufw_bytes(lit, a, 4);
			bufw_le16(lit, net_pool_port(g->net, POOL_P2P, peer));
			bufw_le16(lit, 4662);
			bufw_u8(lit, 0x08);
		}
	}
	if (step)
		m->gap_us = 5000 + f->a[1] * 300;
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- Gnutella 0.6: handshake, then 23-byte descriptor headers (GUID,
 * type, TTL, hops, little-endian payload length) ----
 * a[0] query rounds, a[1] user agent */
static void gnut_header(struct bufw *b, const struct flow *f, uint32_t step, uint8_t type,
			uint32_t len)
{
	struct rng r;
	uint8_t guid[16];

	kind_rng(f, step, &r);
	rng_fill(&r, guid, sizeof(guid));
	guid[8] = 0xff;		/* "modern servent" marker */
	guid[15] = 0x00;
	bufw_bytes(b, guid, sizeof(guid));
	bufw_u8(b, type);
	bufw_u8(b, type == 0x81 ? 7 : 4);	/* TTL */
	bufw_u8(b, type == 0x81 ? 2 : 0);	/* hops */
	bufw_le32(b, len);
}

int p2p_gnutella_script(const struct gen *g, const struct flow *f, uint32_t step,
			struct msg *m, struct bufw *lit)
{
	static const char *const agents[] = { "LimeWire/5.5.16", "gtk-gnutella/1.2.2",
					      "Shareaza 2.7.10.2" };
	const char *ua = agents[f->a[1] % 3];

	(void)g;
	if (step == 0) {
		kind_msg(m, 0);
		bufw_fmt(lit, "GNUTELLA CONNECT/0.6\r\nUser-Agent: %s\r\nX-Ultrapeer: False\r\n"
			 "X-Query-Routing: 0.1\r\nX-Requeries: false\r\n\r\n", ua);
	} else if (step == 1) {
		kind_msg(m, 1);
		bufw_fmt(lit, "GNUTELLA/0.6 200 OK\r\nUser-Agent: %s\r\nX-Ultrapeer: True\r\n"
			 "X-Query-Routing: 0.1\r\nX-Degree: 32\r\n\r\n", agents[(f->a[1] + 1) % 3]);
	} else if (step == 2) {
		kind_msg(m, 0);
		bufw_str(lit, "GNUTELLA/0.6 200 OK\r\n\r\n");
	} else {
		uint32_t j = step - 3, round = j / 4, k = j % 4;
		struct rng r;

		if (round >= f->a[0])
			return -1;
		kind_rng(f, step, &r);
		if (k == 0) {
			static const char *const words[] = { "live concert", "travel guide",
							     "piano lessons", "old cartoons" };
			const char *w = words[rng_below(&r, 4)];

			kind_msg(m, 0);
			gnut_header(lit, f, step, 0x80, (uint32_t)(2 + strlen(w) + 1));
			bufw_le16(lit, 0);	/* minimum speed */
			bufw_str(lit, w);
			bufw_u8(lit, 0);
		} else {
			uint32_t hits = rng_range(&r, 3, 20);
			uint8_t rs[1400];
			struct bufw b;

			bufw_init(&b, rs, sizeof(rs));
			bufw_u8(&b, (uint8_t)hits);
			bufw_le16(&b, 6346);
			bufw_bytes(&b, f->addr[1], 4);
			bufw_le32(&b, 1000);	/* speed */
			for (uint32_t i = 0; i < hits; i++) {
				bufw_le32(&b, rng_below(&r, 100000));
				bufw_le32(&b, rng_range(&r, 100000, 900000000));
				bufw_fmt(&b, "%s.%u.%s", file_names[rng_below(&r, 5)], i,
					 i % 2 ? "mp4" : "mp3");
				bufw_u8(&b, 0);
				bufw_u8(&b, 0);
			}
			bufw_str(&b, "LIME");
			bufw_u8(&b, 2);
			bufw_be16(&b, 0x1c01);	/* open data */
			{
				uint8_t sid[16];

				rng_fill(&r, sid, sizeof(sid));
				bufw_bytes(&b, sid, sizeof(sid));
			}
			kind_msg(m, 1);
			gnut_header(lit, f, step, 0x81, (uint32_t)b.len);
			bufw_bytes(lit, rs, b.len);
		}
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* Kademlia lookups from the subscriber's Kad port; nDPI 4.2 recognises
 * eDonkey in these, but not on TCP (its eDonkey dissector gives up at the
 * first empty segment, the SYN) */
static void kad_spawn(struct gen *g, uint32_t sub, uint64_t t0, uint32_t n)
{
	static const uint8_t res_sizes[] = { 2, 4, 11 };	/* 69, 119, 294 bytes */
	struct rng *r = &g->rng;
	uint16_t kport = (uint16_t)(g->net->subs[sub].bt_port ^ 0x5a5);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t peer = rng_below(r, net_pool_size(POOL_P2P));
		struct ends e = { .sub = sub, .inside_client = 1, .pool = POOL_P2P, .idx = peer,
				  .sub_port = kport < 1024 ? (uint16_t)(kport + 1024) : kport,
				  .far_port = net_pool_port(g->net, POOL_P2P, peer) };
		struct flow *f;

		if (e.far_port == e.sub_port)
			e.far_port++;	/* equal ports confuse nDPI 4.2's flow keys */
		f = sess_new(g, K_KAD);
		if (!f)
			return;
		sess_place(g, f, &e);
		f->tclass = TC_P2P;
		f->a[0] = rng_below(r, 2);
		f->a[1] = res_sizes[rng_below(r, 3)];
		sess_start(g, f, t0 + (uint64_t)i * rng_range(r, 20000, 400000));
	}
}

void p2p_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	int ed = su->p2p == P2P_EDONKEY;
	uint32_t peer = rng_below(r, net_pool_size(POOL_P2P));
	struct ends e = { .sub = s->sub, .v6 = 0, .inside_client = 1, .pool = POOL_P2P,
			  .idx = peer, .far_port = ed ? 4662 : 6346 };
	struct flow *f;

	if (ed)
		kad_spawn(g, s->sub, s->t0, rng_range(r, 2, 6));
	f = sess_new(g, ed ? K_EDONKEY : K_GNUTELLA);
	if (!f)
		return;
	sess_place(g, f, &e);
	f->tclass = TC_P2P;
	f->iv = spawn_iv(s->dur, s->budget);
	f->a[0] = s->budget > (ed ? GROUP_PKTS : 6) ? (uint32_t)(s->budget / (ed ? GROUP_PKTS : 6)) : 1;
	f->a[1] = rng_next(r) & 0xffff;
	f->a[2] = rng_next(r) & 0xffff;
	sess_start(g, f, s->t0 + (ed ? 500000 : 0));
}
