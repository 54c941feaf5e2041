/*
 * spf_dns.h — the DNS layer under libspf2 in the SPF helper process
 * (spf_helper.h): the queries an SPF evaluation makes (RFC 7208 section
 * 4.6.4, 5), sent to the configured resolver and parsed into libspf2's
 * record sets, with the TTLs that say how long the verdict may be cached.
 *
 * Why not libspf2's own resolv layer: it calls res_ninit() on a
 * thread-local state of its own, so it always asks the resolvers of
 * /etc/resolv.conf; setting _res.nsaddr_list does not reach it ([smtp]
 * resolver would be ignored), and it drops every TTL. This layer keeps
 * one struct __res_state per worker, pointed at [smtp] resolver, and uses
 * glibc for the wire: res_nmkquery/res_nsend (random ids, answers matched
 * to the question, TCP after a truncated UDP answer, timeouts), ns_initparse
 * and ns_parserr (bounds-checked record walking), ns_name_uncompress.
 * SPF records answered are also read for terms that authorise (nearly)
 * everyone (spf_broad.h), and rewritten when asked (spf_dns_broad_mode).
 * What spanwatch itself reads of the answer bytes is the record data:
 * lengths of A and AAAA, TXT character-strings (RFC 1035 3.3.14), MX and
 * PTR names, the SOA MINIMUM of a negative answer (RFC 2308 5). That is
 * spf_dns_parse, the fuzz target of tests/fuzz/fuzz_spf.c.
 *
 * Bounds: every query waits for a token of a bucket of SPF_DNS qps per
 * second (shared by the workers of one helper); an evaluation that has
 * used its time budget gets "try again" (temperror) for its remaining
 * queries; each query waits at most SPF_DNS_TIMEOUT_S x SPF_DNS_TRIES.
 * The obsolete SPF RR type 99 is never asked for (RFC 7208 3.1, 14.1):
 * libspf2 asks for it first, this layer answers "no data" at once.
 */
#ifndef SPANWATCH_SPF_DNS_H
#define SPANWATCH_SPF_DNS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "units.h"

/* libspf2's types, kept out of the sensor's headers. */
struct SPF_dns_server_struct;
struct SPF_dns_rr_struct;

/* Longest DNS name in text form (RFC 1035 3.1: 255 octets on the wire). */
#define SPF_NAME_MAX 253
/* Per query: seconds per try, and tries (UDP; TCP after truncation). */
#define SPF_DNS_TIMEOUT_S 1
#define SPF_DNS_TRIES 2
/* Largest answer read (a TCP answer may be up to 65535 bytes). */
#define SPF_DNS_ANSWER_MAX 65535
/* TTL of a negative answer that carries no SOA. */
#define SPF_DNS_NEG_TTL 300

/* A token bucket: at most rate tokens a second, in bursts of rate. */
struct spf_dns_rate {
	double tokens;
	uint64_t last_ms;
	unsigned rate;
};

void spf_dns_rate_init(struct spf_dns_rate *r, unsigned rate, uint64_t now_ms);
/* Takes a token at now_ms: returns 0, or the milliseconds until the next
 * one (nothing taken). */
uint64_t spf_dns_rate_take(struct spf_dns_rate *r, uint64_t now_ms);

/* What the workers of one helper share: the bucket and the counters. */
struct spf_dns_shared {
	pthread_mutex_t mu;
	struct spf_dns_rate rate;
	uint64_t queries, throttled, timeouts;
};

/* Whether name is a multi-label domain name that may be looked up: labels
 * of 1..63 letters, digits, '-' or '_', at least two of them, at most
 * SPF_NAME_MAX characters, one trailing dot allowed. RFC 7208 4.3: any
 * other <domain> gives "none" without a lookup. Returns 1 or 0. */
int spf_dns_name_ok(const char *name);

/* A libspf2 DNS layer for one worker thread, asking resolver (family 0:
 * the system's, from /etc/resolv.conf) at port. Returns NULL after
 * logging why. The layer is freed by SPF_server_free, which calls its
 * destroy function. */
struct SPF_dns_server_struct *spf_dns_new(const struct sw_addr *resolver, uint16_t port,
					  struct spf_dns_shared *shared);

/* Before each evaluation: its budget ends at deadline_ms (CLOCK_MONOTONIC),
 * and the smallest TTL seen starts over. */
void spf_dns_begin(struct SPF_dns_server_struct *layer, uint64_t deadline_ms);
/* The smallest TTL of the answers the evaluation used, or -1 when it used
 * none. */
int64_t spf_dns_min_ttl(const struct SPF_dns_server_struct *layer);

/* Broad terms (spf_broad.h). After spf_dns_begin: the client's family (4
 * or 6) judges them, and with strict every SPF record answered is handed
 * to libspf2 with its broad pass terms made neutral (a record that cannot
 * be rewritten is a temporary error, never left as it was).
 * spf_dns_broad: how many such terms the records answered since
 * spf_dns_begin held. */
void spf_dns_broad_mode(struct SPF_dns_server_struct *layer, int family, int strict);
unsigned spf_dns_broad(const struct SPF_dns_server_struct *layer);

/* Parses the DNS message msg[0..len) that answered (domain, type) into a
 * libspf2 record set: records of that type in the answer section (class
 * IN, well-formed data only), herrno HOST_NOT_FOUND for NXDOMAIN, NO_DATA
 * when none is left, TRY_AGAIN for a server failure, a refusal or a
 * message that does not parse. *ttl receives the smallest TTL used (for
 * a negative answer, RFC 2308's min(SOA TTL, SOA MINIMUM), else
 * SPF_DNS_NEG_TTL). Returns NULL only when out of memory. */
struct SPF_dns_rr_struct *spf_dns_parse(struct SPF_dns_server_struct *layer, const char *domain,
					int type, const uint8_t *msg, size_t len, uint32_t *ttl);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t spf_dns_now_ms(void);

#endif
