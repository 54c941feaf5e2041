/*
 * spf_dns.c — the DNS layer under libspf2 (see spf_dns.h): RFC 1035
 * messages through glibc's resolver to [smtp] resolver, RFC 2308
 * negative TTLs, RFC 7208 4.3 domain checks. Runs only in the SPF helper
 * process, never on the capture thread.
 */
#include "spf_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spf2/spf.h>

#include "log.h"
#include "spf_broad.h"

/* What one worker's layer keeps (the layer's hook). */
struct layer {
	struct __res_state res;
	struct spf_dns_shared *sh;
	uint64_t deadline_ms;
	int64_t min_ttl;		/* -1: no answer used yet */
	int family, strict;		/* spf_dns_broad_mode */
	unsigned broad;			/* broad terms seen since spf_dns_begin */
	uint8_t query[NS_PACKETSZ];
	uint8_t answer[SPF_DNS_ANSWER_MAX];
	/* A TXT record rewritten: a record is at most an answer long, and
	 * the rewrite adds at most one byte per two (spf_broad.h). */
	char rewritten[SPF_DNS_ANSWER_MAX / 2 * 3 + 2];
};

uint64_t
spf_dns_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the bucket ---------------------------------------------------------- */

void
spf_dns_rate_init(struct spf_dns_rate *r, unsigned rate, uint64_t now_ms)
{
	r->rate = rate ? rate : 1;
	r->tokens = r->rate;
	r->last_ms = now_ms;
}

uint64_t
spf_dns_rate_take(struct spf_dns_rate *r, uint64_t now_ms)
{
	if (now_ms > r->last_ms) {
		r->tokens += (double)(now_ms - r->last_ms) * r->rate / 1000.0;
		if (r->tokens > r->rate)
			r->tokens = r->rate;
		r->last_ms = now_ms;
	}
	if (r->tokens >= 1.0) {
		r->tokens -= 1.0;
		return 0;
	}
	uint64_t wait = (uint64_t)((1.0 - r->tokens) * 1000.0 / r->rate) + 1;
	return wait;
}

/* ---- names --------------------------------------------------------------- */

int
spf_dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0, labels = 0;

	if (len && name[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else {
			return 0;
		}
	}
	return labels >= 2;
}

/* ---- answers ------------------------------------------------------------- */

static void
ttl_min(uint32_t *ttl, uint32_t v)
{
	if (v < *ttl)
		*ttl = v;
}

/* RFC 2308 5: a negative answer is cached for min(SOA TTL, SOA MINIMUM),
 * the MINIMUM being the last 32 bits of the SOA's data. */
static uint32_t
negative_ttl(ns_msg *h)
{
	uint32_t ttl = SPF_DNS_NEG_TTL;
	int n = ns_msg_count(*h, ns_s_ns);
	ns_rr rr;

	for (int i = 0; i < n; i++) {
		if (ns_parserr(h, ns_s_ns, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) != ns_t_soa || ns_rr_rdlen(rr) < 22)
			continue;
		const uint8_t *end = ns_rr_rdata(rr) + ns_rr_rdlen(rr);
		uint32_t min = (uint32_t)end[-4] << 24 | (uint32_t)end[-3] << 16 |
			       (uint32_t)end[-2] << 8 | end[-1];
		ttl = ns_rr_ttl(rr) < min ? ns_rr_ttl(rr) : min;
		break;
	}
	return ttl;
}

/* TXT data (RFC 1035 3.3.14): one or more <character-string>s, each a
 * length octet and that many octets; SPF joins them without spaces
 * (RFC 7208 3.3). Writes at most rdlen - 1 bytes and a NUL into out.
 * Returns 0, or -1 when a length runs past the data. A NUL inside is
 * replaced by DEL, which no SPF term accepts: such a record is a syntax
 * error rather than one cut short. */
static int
txt_join(const uint8_t *rd, size_t rdlen, char *out)
{
	size_t i = 0, o = 0;

	while (i < rdlen) {
		size_t n = rd[i++];

		if (n > rdlen - i)
			return -1;
		for (size_t k = 0; k < n; k++)
			out[o++] = rd[i + k] ? (char)rd[i + k] : '\x7f';
		i += n;
	}
	out[o] = '\0';
	return 0;
}

/* A domain name in record data at rd, within rdlen bytes (compression
 * pointers may point anywhere in the message). Returns 0 or -1. */
static int
rdata_name(const uint8_t *msg, size_t len, const uint8_t *rd, size_t rdlen, char *out,
	   size_t outlen)
{
	int used = ns_name_uncompress(msg, msg + len, rd, out, outlen);

	return used > 0 && (size_t)used <= rdlen ? 0 : -1;
}

SPF_dns_rr_t *
spf_dns_parse(SPF_dns_server_t *layer, const char *domain, int type, const uint8_t *msg,
	      size_t len, uint32_t *ttl)
{
	ns_msg h;
	ns_rr rr;
	char name[NS_MAXDNAME];
	SPF_dns_rr_t *set;
	int cnt = 0, n;

	*ttl = SPF_DNS_NEG_TTL;
	if (ns_initparse(msg, (int)len, &h) < 0 || ns_msg_getflag(h, ns_f_qr) == 0)
		return SPF_dns_rr_new_init(layer, domain, (ns_type)type, 0, TRY_AGAIN);
	switch (ns_msg_getflag(h, ns_f_rcode)) {
	case ns_r_noerror:
		break;
	case ns_r_nxdomain:
		*ttl = negative_ttl(&h);
		return SPF_dns_rr_new_init(layer, domain, (ns_type)type, 0, HOST_NOT_FOUND);
	default:
		/* SERVFAIL, REFUSED, FORMERR...: RFC 7208 2.6.6 temperror. */
		return SPF_dns_rr_new_init(layer, domain, (ns_type)type, 0, TRY_AGAIN);
	}
	if ((set = SPF_dns_rr_new_init(layer, domain, (ns_type)type, 0, NETDB_SUCCESS)) == NULL)
		return NULL;
	*ttl = UINT32_MAX;
	n = ns_msg_count(h, ns_s_an);
	for (int i = 0; i < n; i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0) {
			/* A record that does not parse: the set may be partial,
			 * and a partial TXT set could turn "two SPF records"
			 * (permerror) into one. Ask again later instead. */
			SPF_dns_rr_free(set);
			*ttl = SPF_DNS_NEG_TTL;
			return SPF_dns_rr_new_init(layer, domain, (ns_type)type, 0, TRY_AGAIN);
		}
		if (ns_rr_class(rr) != ns_c_in || (int)ns_rr_type(rr) != type)
			continue;	/* a CNAME on the way, or noise */
		const uint8_t *rd = ns_rr_rdata(rr);
		size_t rdlen = ns_rr_rdlen(rr);
		size_t need;

		switch (type) {
		case ns_t_a:
			if (rdlen != 4)
				continue;
			need = sizeof set->rr[0]->a;
			break;
		case ns_t_aaaa:
			if (rdlen != 16)
				continue;
			need = sizeof set->rr[0]->aaaa;
			break;
		case ns_t_txt:
			if (rdlen < 1)
				continue;
			need = rdlen;	/* the joined text and its NUL */
			break;
		case ns_t_mx:
			if (rdlen < 3 || rdata_name(msg, len, rd + 2, rdlen - 2, name, sizeof name) < 0)
				continue;
			need = strlen(name) + 1;
			break;
		case ns_t_ptr:
			if (rdata_name(msg, len, rd, rdlen, name, sizeof name) < 0)
				continue;
			need = strlen(name) + 1;
			break;
		default:
			continue;
		}
		if (SPF_dns_rr_buf_realloc(set, cnt, need) != SPF_E_SUCCESS)
			break;
		switch (type) {
		case ns_t_a:
			memcpy(&set->rr[cnt]->a, rd, 4);
			break;
		case ns_t_aaaa:
			memcpy(&set->rr[cnt]->aaaa, rd, 16);
			break;
		case ns_t_txt:
			if (txt_join(rd, rdlen, set->rr[cnt]->txt) < 0)
				continue;	/* the buffer is reused by the next */
			break;
		default:
			memcpy(set->rr[cnt]->mx, name, need);	/* mx and ptr alias */
			break;
		}
		ttl_min(ttl, ns_rr_ttl(rr));
		cnt++;
	}
	set->num_rr = cnt;
	if (cnt == 0) {
		set->herrno = NO_DATA;
		*ttl = negative_ttl(&h);
	}
	set->ttl = *ttl;
	return set;
}

/* ---- the layer ----------------------------------------------------------- */

static SPF_dns_rr_t *
answer(SPF_dns_server_t *d, const char *domain, ns_type type, int herrno)
{
	return SPF_dns_rr_new_init(d, domain, type, 0, herrno);
}

/* Waits for a token of the shared bucket, but not past the deadline.
 * Returns 0, or -1 when the budget ends first. */
static int
rate_wait(struct layer *l)
{
	for (;;) {
		uint64_t now = spf_dns_now_ms(), wait;

		pthread_mutex_lock(&l->sh->mu);
		wait = spf_dns_rate_take(&l->sh->rate, now);
		if (wait)
			l->sh->throttled++;
		else
			l->sh->queries++;
		pthread_mutex_unlock(&l->sh->mu);
		if (!wait)
			return 0;
		if (now + wait >= l->deadline_ms)
			return -1;
		struct timespec ts = { .tv_sec = (time_t)(wait / 1000),
				       .tv_nsec = (long)(wait % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
}

/* Counts the broad terms of the TXT records in set and, when strict,
 * makes them neutral in place. Returns 0, or -1 when a record could not
 * be rewritten (then it must not reach libspf2 as it is). */
static int
broad_terms(struct layer *l, SPF_dns_rr_t *set)
{
	for (int i = 0; i < set->num_rr; i++) {
		int n = spf_broad_terms(set->rr[i]->txt, l->family,
					l->strict ? l->rewritten : NULL, sizeof l->rewritten);

		if (n < 0)
			return -1;
		l->broad += (unsigned)n;
		if (n == 0 || !l->strict)
			continue;
		size_t need = strlen(l->rewritten) + 1;
		if (SPF_dns_rr_buf_realloc(set, i, need) != SPF_E_SUCCESS)
			return -1;
		memcpy(set->rr[i]->txt, l->rewritten, need);
	}
	return 0;
}

static SPF_dns_rr_t *
layer_lookup(SPF_dns_server_t *d, const char *domain, ns_type type, int should_cache)
{
	struct layer *l = d->hook;
	uint32_t ttl;
	int qlen, alen;

	if (type == ns_t_spf)
		return answer(d, domain, type, NO_DATA);
	/* Names made by macro expansion may hold anything: only host names
	 * go out (and in-addr.arpa names of the ptr mechanism). */
	if (!spf_dns_name_ok(domain))
		return answer(d, domain, type, HOST_NOT_FOUND);
	if (spf_dns_now_ms() >= l->deadline_ms || rate_wait(l) < 0)
		return answer(d, domain, type, TRY_AGAIN);
	qlen = res_nmkquery(&l->res, ns_o_query, domain, ns_c_in, type, NULL, 0, NULL,
			    l->query, sizeof l->query);
	if (qlen < 0)
		return answer(d, domain, type, HOST_NOT_FOUND);
	alen = res_nsend(&l->res, l->query, qlen, l->answer, sizeof l->answer);
	if (alen < 0) {
		pthread_mutex_lock(&l->sh->mu);
		l->sh->timeouts++;
		pthread_mutex_unlock(&l->sh->mu);
		return answer(d, domain, type, TRY_AGAIN);
	}
	SPF_dns_rr_t *set = spf_dns_parse(d, domain, type, l->answer,
					  (size_t)alen < sizeof l->answer ? (size_t)alen : sizeof l->answer,
					  &ttl);
	if (set && type == ns_t_txt && set->herrno == NETDB_SUCCESS && broad_terms(l, set) < 0) {
		SPF_dns_rr_free(set);
		return answer(d, domain, type, TRY_AGAIN);
	}
	if (set && (set->herrno == NETDB_SUCCESS || set->herrno == HOST_NOT_FOUND ||
		    set->herrno == NO_DATA) && (l->min_ttl < 0 || ttl < l->min_ttl))
		l->min_ttl = ttl;
	return set;
}

static void
layer_destroy(SPF_dns_server_t *d)
{
	struct layer *l = d->hook;

	if (l) {
		/* res_nclose frees what res_ninit (or we) allocated: an IPv6
		 * server's address lives in _u._ext.nsaddrs. */
		res_nclose(&l->res);
		free(l);
	}
	free(d);
}

/* Points res at resolver:port alone. An IPv6 server goes where glibc's
 * res_ninit puts one read from resolv.conf: _u._ext.nsaddrs, with the
 * IPv4 slot's family 0. */
static int
set_server(struct __res_state *res, const struct sw_addr *a, uint16_t port)
{
	for (int i = 0; i < MAXNS; i++) {
		free(res->_u._ext.nsaddrs[i]);
		res->_u._ext.nsaddrs[i] = NULL;
	}
	memset(res->nsaddr_list, 0, sizeof res->nsaddr_list);
	res->nscount = 1;
	if (a->family == AF_INET) {
		res->nsaddr_list[0].sin_family = AF_INET;
		res->nsaddr_list[0].sin_port = htons(port);
		memcpy(&res->nsaddr_list[0].sin_addr, a->a, 4);
		return 0;
	}
	struct sockaddr_in6 *s6 = calloc(1, sizeof *s6);
	if (!s6)
		return -1;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	memcpy(&s6->sin6_addr, a->a, 16);
	res->_u._ext.nsaddrs[0] = s6;
	return 0;
}

SPF_dns_server_t *
spf_dns_new(const struct sw_addr *resolver, uint16_t port, struct spf_dns_shared *shared)
{
	SPF_dns_server_t *d = calloc(1, sizeof *d);
	struct layer *l = calloc(1, sizeof *l);

	if (!d || !l) {
		log_err("spf: out of memory");
		free(d);
		free(l);
		return NULL;
	}
	if (res_ninit(&l->res) != 0) {
		log_err("spf: res_ninit failed");
		free(d);
		free(l);
		return NULL;
	}
	if (resolver->family && set_server(&l->res, resolver, port ? port : 53) < 0) {
		log_err("spf: out of memory");
		res_nclose(&l->res);
		free(d);
		free(l);
		return NULL;
	}
	l->res.retrans = SPF_DNS_TIMEOUT_S;
	l->res.retry = SPF_DNS_TRIES;
	/* Exactly the name asked for: no search list, no local domain. */
	l->res.options &= ~(unsigned long)(RES_DNSRCH | RES_DEFNAMES);
	l->sh = shared;
	l->min_ttl = -1;
	d->destroy = layer_destroy;
	d->lookup = layer_lookup;
	d->name = "spanwatch";
	d->hook = l;
	return d;
}

void
spf_dns_begin(SPF_dns_server_t *layer, uint64_t deadline_ms)
{
	struct layer *l = layer->hook;

	l->deadline_ms = deadline_ms;
	l->min_ttl = -1;
	l->broad = 0;
	l->strict = 0;
}

void
spf_dns_broad_mode(SPF_dns_server_t *layer, int family, int strict)
{
	struct layer *l = layer->hook;

	l->family = family;
	l->strict = strict;
}

unsigned
spf_dns_broad(const SPF_dns_server_t *layer)
{
	const struct layer *l = layer->hook;

	return l->broad;
}

int64_t
spf_dns_min_ttl(const SPF_dns_server_t *layer)
{
	const struct layer *l = layer->hook;

	return l->min_ttl;
}
