/*
 * netplan.h — the ISP the generator invents: subscribers with their IPv4
 * and IPv6 prefixes, roles (spam bot, exempt mail server) and habits, and
 * the outside world they talk to: resolvers, the ISP's mail relay, web
 * servers, trackers, DHT nodes, BitTorrent swarms, MX hosts. Subscribers
 * come from --prefix4/--prefix6; the outside lives in documentation and
 * benchmarking ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
 * 198.18.0.0/15, 2001:db8:ffff::/48) that must not overlap them.
 */
#ifndef SPANWATCH_GEN_NETPLAN_H
#define SPANWATCH_GEN_NETPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

enum role { ROLE_NORMAL, ROLE_BOT, ROLE_EXEMPT };
enum p2p_use { P2P_NONE, P2P_BT, P2P_EDONKEY, P2P_GNUTELLA };

/* outside host pools; an address is (pool, index) */
enum pool {
	POOL_DNS, POOL_RELAY, POOL_SUBMIT, POOL_TRACKER, POOL_WEB, POOL_GAME,
	POOL_PEER, POOL_EPEER, POOL_DHT, POOL_MX, POOL_P2P, POOL_COUNT
};

struct sub {
	uint32_t v4;		/* host order; the subscriber's (first) address */
	uint8_t v4len;		/* 32, or 29 for a business line */
	uint8_t dual;		/* also has an IPv6 /56 */
	uint8_t role;		/* enum role */
	uint8_t p2p;		/* enum p2p_use */
	uint8_t gamer, mailer;
	uint16_t bt_port;	/* BitTorrent listen port: TCP, uTP and DHT */
	uint16_t eport;		/* next ephemeral port */
};

struct netplan_cfg {
	uint32_t nsubs;
	uint32_t p4, p4len;	/* host order */
	uint8_t p6[16];
	uint32_t p6len;
	uint32_t bots, exempt;
	double bt_share, p2p_share, v6_share;
};

#define NET_SUB6_LEN 56
#define NET_ALLOWED 4		/* allowlisted ("Linux ISO") torrents */
#define NET_TORRENTS 200	/* torrents in all, allowlisted ones first */
#define NET_SWARM 4096		/* swarm members a torrent can name */

struct netplan {
	uint32_t nsubs;
	struct sub *subs;
	uint32_t p4, p4len;
	uint8_t p6[16];
	uint32_t p6len;
	uint8_t hash[NET_TORRENTS][20];
	uint64_t salt;		/* mixes swarm membership and ports */
};

/* NULL with a message on stderr if the plan cannot be made */
struct netplan *net_create(const struct netplan_cfg *c, struct rng *r);
void net_free(struct netplan *n);

void net_sub_name(uint32_t sub, char *buf, size_t len);
/* the subscriber's address; v6 device selects one of its hosts */
void net_sub_addr(const struct netplan *n, uint32_t sub, int v6, unsigned device, uint8_t *out);
void net_sub_prefix6(const struct netplan *n, uint32_t sub, uint8_t *out);
uint16_t net_ephemeral(struct netplan *n, uint32_t sub, struct rng *r);
void net_sub_mac(uint32_t sub, uint8_t mac[6]);
extern const uint8_t net_gw_mac[6];

uint32_t net_pool_size(enum pool p);
void net_pool_addr(enum pool p, uint32_t idx, int v6, uint8_t *out);
/* a stable listening port for a peer-like host */
uint16_t net_pool_port(const struct netplan *n, enum pool p, uint32_t idx);
/* host name of a web server, MX host, tracker... */
void net_pool_name(enum pool p, uint32_t idx, char *buf, size_t len);

/* swarm member k of torrent t: a plain (POOL_PEER) or encrypted-only
 * (POOL_EPEER) peer. Allowlisted torrents have plain peers only. */
void net_swarm_member(const struct netplan *n, uint32_t t, uint32_t k,
		      enum pool *pool, uint32_t *idx);
int net_torrent_allowed(uint32_t t);
const char *net_allow_label(uint32_t t);

/* 0 if addr (4 or 16 bytes) is outside every subscriber prefix */
int net_is_inside(const struct netplan *n, const uint8_t *addr, int v6);

#endif
