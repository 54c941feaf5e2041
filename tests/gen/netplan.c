/*
 * netplan.c — addresses, roles and swarms of the invented ISP; see
 * netplan.h. Outside hosts are computed from (pool, index) rather than
 * stored, so the plan costs a few bytes per subscriber and nothing per
 * outside host.
 */
#include "netplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Outside pools. v4: hosts skip .0 and .255 of each /24, counted from
 * base (a /24) plus first; v6: 2001:db8:ffff:<net>::<first+index+1>. */
static const struct pool_def {
	uint32_t base, first, size;
	uint16_t net6;
	const char *name, *domain;	/* host name: name, index + 1, domain */
} pools[POOL_COUNT] = {
	[POOL_DNS] = { 0xc0000200, 52, 2, 0x0000, "ns", ".isp.example" },
	[POOL_RELAY] = { 0xc0000200, 24, 1, 0x0000, "smtp.isp.example", NULL },
	[POOL_SUBMIT] = { 0xcb007100, 24, 2, 0x0001, "smtp", ".mailprovider.example" },
	[POOL_TRACKER] = { 0xcb007100, 79, 10, 0x0002, "tracker", ".example.org" },
	[POOL_GAME] = { 0xcb007100, 99, 100, 0x0003, "game", ".example.net" },
	[POOL_WEB] = { 0xc6336400, 0, 254, 0x0100, NULL, NULL },
	[POOL_PEER] = { 0xc6120000, 0, 256 * 254, 0x0b00, "peer", ".example.net" },
	[POOL_EPEER] = { 0xc6130000, 0, 64 * 254, 0x0e00, "epeer", ".example.net" },
	[POOL_DHT] = { 0xc6134000, 0, 64 * 254, 0x0d00, "node", ".example.net" },
	[POOL_MX] = { 0xc6138000, 0, 64 * 254, 0x0025, "mx.mail", ".example" },
	[POOL_P2P] = { 0xc613c000, 0, 64 * 254, 0x0f00, "p2p", ".example.net" },
};

/* web servers take their names from a handful of patterns */
static const char *const web_names[][2] = {
	{ "www", ".example.com" }, { "cdn", ".example.net" }, { "video", ".example.org" },
	{ "api", ".example.com" }, { "static", ".example.net" }, { "img", ".example.org" },
};

static const char *const allow_labels[NET_ALLOWED] = {
	"debian-12.9.0-amd64-netinst.iso",
	"ubuntu-24.04.1-desktop-amd64.iso",
	"Fedora-Workstation-Live-x86_64-41.iso",
	"archlinux-2025.01.01-x86_64.iso",
};

const uint8_t net_gw_mac[6] = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 };	/* RFC 7042 */

static uint32_t pool_v4(enum pool p, uint32_t idx)
{
	uint32_t i = pools[p].first + idx;

	return pools[p].base + (i / 254) * 256 + i % 254 + 1;
}

uint32_t net_pool_size(enum pool p)
{
	return pools[p].size;
}

void net_pool_addr(enum pool p, uint32_t idx, int v6, uint8_t *out)
{
	if (v6) {
		uint32_t h = pools[p].first + idx + 1;

		memset(out, 0, 16);
		out[0] = 0x20;
		out[1] = 0x01;
		out[2] = 0x0d;
		out[3] = 0xb8;
		out[4] = 0xff;
		out[5] = 0xff;
		out[6] = (uint8_t)(pools[p].net6 >> 8);
		out[7] = (uint8_t)pools[p].net6;
		out[12] = (uint8_t)(h >> 24);
		out[13] = (uint8_t)(h >> 16);
		out[14] = (uint8_t)(h >> 8);
		out[15] = (uint8_t)h;
	} else {
		uint32_t a = pool_v4(p, idx);

		out[0] = (uint8_t)(a >> 24);
		out[1] = (uint8_t)(a >> 16);
		out[2] = (uint8_t)(a >> 8);
		out[3] = (uint8_t)a;
	}
}

uint16_t net_pool_port(const struct netplan *n, enum pool p, uint32_t idx)
{
	uint32_t port = 10000 + (uint32_t)(rng_mix(n->salt ^ (uint64_t)p, idx) % 50000);

	/* keep clear of the ports nDPI guesses BitTorrent from, so that an
	 * encrypted peer is never named by its port alone */
	if (port == 51413 || port == 53646)
		port += 7;
	return (uint16_t)port;
}

void net_pool_name(enum pool p, uint32_t idx, char *buf, size_t len)
{
	const char *name = pools[p].name, *domain = pools[p].domain;

	if (p == POOL_WEB) {
		name = web_names[idx % (sizeof(web_names) / sizeof(web_names[0]))][0];
		domain = web_names[idx % (sizeof(web_names) / sizeof(web_names[0]))][1];
	}
	if (domain)
		snprintf(buf, len, "%s%u%s", name, idx + 1, domain);
	else
		snprintf(buf, len, "%s", name);
}

void net_sub_name(uint32_t sub, char *buf, size_t len)
{
	snprintf(buf, len, "cust-%04u", sub + 1);
}

void net_sub_mac(uint32_t sub, uint8_t mac[6])
{
	/* locally administered, unicast, one per subscriber CPE */
	mac[0] = 0x02;
	mac[1] = 0x53;
	mac[2] = (uint8_t)(sub >> 24);
	mac[3] = (uint8_t)(sub >> 16);
	mac[4] = (uint8_t)(sub >> 8);
	mac[5] = (uint8_t)sub;
}

void net_sub_prefix6(const struct netplan *n, uint32_t sub, uint8_t *out)
{
	uint32_t carry = sub + 1;

	memcpy(out, n->p6, 16);
	/* the /56 index occupies bits 72..95 counted from the right, bytes 4..6 */
	for (int i = 6; i >= 0 && carry; i--) {
		uint32_t v = out[i] + (carry & 0xff);

		out[i] = (uint8_t)v;
		carry = (carry >> 8) + (v >> 8);
	}
	memset(out + 7, 0, 9);
}

void net_sub_addr(const struct netplan *n, uint32_t sub, int v6, unsigned device, uint8_t *out)
{
	if (v6) {
		uint64_t iid = rng_mix(n->salt + 0x6666, ((uint64_t)sub << 8) | device);

		net_sub_prefix6(n, sub, out);
		for (int i = 0; i < 8; i++)
			out[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
		out[8] &= 0xfd;	/* a random interface id, not an EUI-64 */
	} else {
		uint32_t a = n->subs[sub].v4;

		out[0] = (uint8_t)(a >> 24);
		out[1] = (uint8_t)(a >> 16);
		out[2] = (uint8_t)(a >> 8);
		out[3] = (uint8_t)a;
	}
}

uint16_t net_ephemeral(struct netplan *n, uint32_t sub, struct rng *r)
{
	struct sub *s = &n->subs[sub];
	uint32_t p = s->eport;

	/* steps of several ports: nDPI's BitTorrent cache also remembers the
	 * two ports after a detected one, and real stacks randomise anyway */
	do {
		p += rng_range(r, 3, 40);
		if (p > 60999)
			p = 32768 + p % 97;
	} while (p + 2 >= s->bt_port && p <= s->bt_port + 2u);
	s->eport = (uint16_t)p;
	return (uint16_t)p;
}

void net_swarm_member(const struct netplan *n, uint32_t t, uint32_t k,
		      enum pool *pool, uint32_t *idx)
{
	uint64_t h = rng_mix(n->salt ^ 0x5377a4d, (uint64_t)t * NET_SWARM + k);

	if (!net_torrent_allowed(t) && (h >> 40) % 100 < 45) {
		*pool = POOL_EPEER;
		*idx = (uint32_t)((h & 0xffffffffu) % pools[POOL_EPEER].size);
	} else {
		*pool = POOL_PEER;
		*idx = (uint32_t)((h & 0xffffffffu) % pools[POOL_PEER].size);
	}
}

int net_torrent_allowed(uint32_t t)
{
	return t < NET_ALLOWED;
}

const char *net_allow_label(uint32_t t)
{
	return t < NET_ALLOWED ? allow_labels[t] : NULL;
}

static int cmp16(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, 16);
}

int net_is_inside(const struct netplan *n, const uint8_t *addr, int v6)
{
	if (v6) {
		uint8_t lo[16], hi[16];

		net_sub_prefix6(n, 0, lo);
		net_sub_prefix6(n, n->nsubs - 1, hi);
		memset(hi + 7, 0xff, 9);
		return cmp16(addr, lo) >= 0 && cmp16(addr, hi) <= 0;
	} else {
		uint32_t a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 |
			     (uint32_t)addr[2] << 8 | addr[3];
		const struct sub *last = &n->subs[n->nsubs - 1];
		uint32_t end = last->v4 + (last->v4len == 32 ? 0 : 6);

		return a >= n->subs[0].v4 && a <= end;
	}
}

/* picks k distinct subscribers not yet given a role */
static void assign_role(struct netplan *n, struct rng *r, uint32_t k, uint8_t role)
{
	for (uint32_t done = 0, tries = 0; done < k && tries < 100 * k + 100; tries++) {
		struct sub *s = &n->subs[rng_below(r, n->nsubs)];

		if (s->role != ROLE_NORMAL)
			continue;
		s->role = role;
		done++;
	}
}

static int check_outside(const struct netplan *n)
{
	for (int p = 0; p < POOL_COUNT; p++) {
		uint8_t a[16];

		for (int v6 = 0; v6 < 2; v6++) {
			net_pool_addr((enum pool)p, 0, v6, a);
			if (net_is_inside(n, a, v6))
				goto clash;
			net_pool_addr((enum pool)p, pools[p].size - 1, v6, a);
			if (net_is_inside(n, a, v6))
				goto clash;
		}
		continue;
clash:
		fprintf(stderr, "spanwatch-gen: subscriber prefixes overlap the outside "
			"hosts (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, "
			"198.18.0.0/15, 2001:db8:ffff::/48); choose other --prefix4/--prefix6\n");
		return -1;
	}
	return 0;
}

struct netplan *net_create(const struct netplan_cfg *c, struct rng *r)
{
	struct netplan *n = calloc(1, sizeof(*n));
	uint64_t room4 = c->p4len >= 32 ? 1 : (1ULL << (32 - c->p4len));
	uint64_t cursor = 1;	/* skip the prefix's network address */

	if (!n)
		return NULL;
	n->nsubs = c->nsubs;
	n->p4 = c->p4;
	n->p4len = c->p4len;
	memcpy(n->p6, c->p6, 16);
	n->p6len = c->p6len;
	n->salt = rng_next(r);
	n->subs = calloc(c->nsubs, sizeof(*n->subs));
	if (!n->subs) {
		free(n);
		return NULL;
	}
	if (c->p6len > NET_SUB6_LEN - 8 ||
	    (NET_SUB6_LEN - c->p6len < 32 &&
	     (uint64_t)c->nsubs + 1 > (1ULL << (NET_SUB6_LEN - c->p6len)))) {
		fprintf(stderr, "spanwatch-gen: --prefix6 /%u has no room for %u /%d prefixes\n",
			c->p6len, c->nsubs, NET_SUB6_LEN);
		goto fail;
	}
	for (int i = 0; i < NET_TORRENTS; i++)
		rng_fill(r, n->hash[i], 20);

	for (uint32_t i = 0; i < c->nsubs; i++) {
		struct sub *s = &n->subs[i];
		double u = rng_unit(r);

		s->dual = rng_chance(r, c->v6_share);
		s->p2p = u < c->bt_share ? P2P_BT :
			 u < c->bt_share + c->p2p_share / 2 ? P2P_EDONKEY :
			 u < c->bt_share + c->p2p_share ? P2P_GNUTELLA : P2P_NONE;
		s->gamer = rng_chance(r, 0.3);
		s->mailer = rng_chance(r, 0.25);
		s->bt_port = (uint16_t)rng_range(r, 20000, 65000);
		if (s->bt_port == 51413 || s->bt_port == 53646)
			s->bt_port++;
		s->eport = (uint16_t)rng_range(r, 32768, 60999);
	}
	assign_role(n, r, c->exempt, ROLE_EXEMPT);
	assign_role(n, r, c->bots, ROLE_BOT);

	/* addresses in order: a /32 each, an aligned /29 for business lines
	 * (the exempt mail servers and a few others) */
	for (uint32_t i = 0; i < c->nsubs; i++) {
		struct sub *s = &n->subs[i];
		int biz = s->role == ROLE_EXEMPT || rng_chance(r, 0.02);

		if (biz) {
			cursor = (cursor + 7) & ~7ULL;
			s->v4 = c->p4 + (uint32_t)cursor + 1;
			s->v4len = 29;
			cursor += 8;
		} else {
			if ((cursor & 0xff) == 0xff)
				cursor++;	/* no .255 host addresses, for realism */
			s->v4 = c->p4 + (uint32_t)cursor;
			s->v4len = 32;
			cursor++;
		}
		if (cursor >= room4) {
			fprintf(stderr, "spanwatch-gen: --prefix4 /%u has no room for %u subscribers\n",
				c->p4len, c->nsubs);
			goto fail;
		}
	}
	if (check_outside(n) < 0)
		goto fail;
	return n;
fail:
	net_free(n);
	return NULL;
}

void net_free(struct netplan *n)
{
	if (!n)
		return;
	free(n->subs);
	free(n);
}
