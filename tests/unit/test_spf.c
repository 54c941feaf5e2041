/*
 * test_spf.c — the bounded parts of the SPF service: the verdict cache
 * (size, TTL expiry, which entry goes), the job queue (jobs and waiters
 * bounds, merging, order, stale ids, requeue after a helper's death), the
 * DNS query bucket (burst, then rate), domain checks, and the parser of
 * DNS answers on hand-built messages. A unit test has no SPF helper:
 * spf_open refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <string.h>

#include <spf2/spf.h>

#include "spf.h"
#include "spf_broad.h"
#include "spf_cache.h"
#include "spf_dns.h"
#include "spf_queue.h"

static void
key(struct spf_key *k, unsigned n, const char *domain)
{
	uint8_t a[16] = { 100, 64, (uint8_t)(n >> 8), (uint8_t)n };

	spf_cache_key(k, 4, a, domain);
}

/* ---- cache -------------------------------------------------------------- */

static void
test_cache_size_is_bounded(void **state)
{
	struct spf_cache *c = spf_cache_new(10);
	struct spf_cache_stats st;
	struct spf_key k;

	assert_non_null(c);
	spf_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 16);	/* 4 sets of 4 ways */
	for (unsigned i = 0; i < 1000; i++) {
		key(&k, i, "a.example");
		spf_cache_put(c, &k, SPFR_PASS, 60000, 0);
	}
	spf_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 16);
	assert_int_equal(st.stored, 1000);
	assert_int_equal(st.evicted, 1000 - 16);
	key(&k, 999, "a.example");		/* the newest is there */
	assert_int_equal(spf_cache_get(c, &k, 1), SPFR_PASS);
	unsigned kept = 0;
	for (unsigned i = 0; i < 1000; i++) {
		key(&k, i, "a.example");
		kept += spf_cache_get(c, &k, 1) >= 0;
	}
	assert_int_equal(kept, 16);
	spf_cache_free(c);
}

static void
test_cache_ttl(void **state)
{
	struct spf_cache *c = spf_cache_new(64);
	struct spf_key k;

	key(&k, 1, "ttl.example");
	assert_int_equal(spf_cache_get(c, &k, 0), -1);
	spf_cache_put(c, &k, SPFR_FAIL, 1000, 5000);
	assert_int_equal(spf_cache_get(c, &k, 5999), SPFR_FAIL);
	assert_int_equal(spf_cache_get(c, &k, 6000), -1);	/* expired */
	spf_cache_put(c, &k, SPFR_PASS, 1000, 7000);
	assert_int_equal(spf_cache_get(c, &k, 7001), SPFR_PASS);
	spf_cache_put(c, &k, SPFR_NONE, 0, 7002);	/* TTL 0: forgotten */
	assert_int_equal(spf_cache_get(c, &k, 7003), -1);
	spf_cache_free(c);
}

static void
test_cache_key(void **state)
{
	struct spf_cache *c = spf_cache_new(64);
	uint8_t a4[16] = { 100, 64, 0, 1, 0xaa, 0xbb }, a4b[16] = { 100, 64, 0, 1, 0xcc };
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct spf_key k, k2;

	/* Case and one trailing dot do not matter; bytes past an IPv4
	 * address do not either; the family does. */
	spf_cache_key(&k, 4, a4, "Mixed.EXAMPLE.");
	assert_string_equal(k.domain, "mixed.example");
	spf_cache_put(c, &k, SPFR_SOFTFAIL, 1000, 0);
	spf_cache_key(&k2, 4, a4b, "mixed.example");
	assert_int_equal(spf_cache_get(c, &k2, 1), SPFR_SOFTFAIL);
	spf_cache_key(&k2, 6, a6, "mixed.example");
	assert_int_equal(spf_cache_get(c, &k2, 1), -1);
	spf_cache_key(&k2, 4, a4, "other.example");
	assert_int_equal(spf_cache_get(c, &k2, 1), -1);
	spf_cache_free(c);
}

static void
test_cache_eviction_order(void **state)
{
	struct spf_cache *c = spf_cache_new(1);	/* one set of 4 */
	struct spf_cache_stats st;
	struct spf_key k;

	for (unsigned i = 0; i < 4; i++) {
		key(&k, i, "e.example");
		spf_cache_put(c, &k, (int)i, 1000 * (i + 1), 0);	/* expire 1000..4000 */
	}
	/* Full: the one that expires soonest (0) goes. */
	key(&k, 4, "e.example");
	spf_cache_put(c, &k, 4, 10000, 0);
	key(&k, 0, "e.example");
	assert_int_equal(spf_cache_get(c, &k, 1), -1);
	key(&k, 1, "e.example");
	assert_int_equal(spf_cache_get(c, &k, 1), 1);
	/* An expired one goes first, and is no eviction. */
	spf_cache_get_stats(c, &st);
	uint64_t ev = st.evicted;
	key(&k, 5, "e.example");
	spf_cache_put(c, &k, 5, 10000, 2500);	/* 1 (2000) has expired */
	spf_cache_get_stats(c, &st);
	assert_int_equal(st.evicted, ev);
	key(&k, 2, "e.example");
	assert_int_equal(spf_cache_get(c, &k, 2600), 2);
	spf_cache_free(c);
}

/* ---- queue -------------------------------------------------------------- */

static uint64_t got[64];
static unsigned ngot;

static void
collect(void *ctx, uint64_t cookie)
{
	if (ngot < 64)
		got[ngot++] = cookie;
}

static void
test_queue_bounds(void **state)
{
	struct spf_queue *q = spf_queue_new(4, 6);
	struct spf_queue_stats st;
	struct spf_key k;
	int merged;

	for (unsigned i = 0; i < 4; i++) {
		key(&k, i, "q.example");
		assert_non_null(spf_queue_add(q, &k, "helo", 100 + i, &merged));
		assert_int_equal(merged, 0);
	}
	key(&k, 4, "q.example");
	assert_null(spf_queue_add(q, &k, "helo", 104, &merged));	/* no job left */
	key(&k, 0, "q.example");
	struct spf_job *j = spf_queue_add(q, &k, "helo", 105, &merged);
	assert_non_null(j);
	assert_int_equal(merged, 1);
	assert_int_equal(j->nwait, 2);
	assert_non_null(spf_queue_add(q, &k, "helo", 106, &merged));
	assert_null(spf_queue_add(q, &k, "helo", 107, &merged));	/* no waiter left */
	spf_queue_get_stats(q, &st);
	assert_int_equal(st.jobs, 4);
	assert_int_equal(st.waiters, 6);
	assert_int_equal(st.max_jobs, 4);
	assert_int_equal(st.max_waiters, 6);

	/* A job done frees its job and all its waiters, in order. */
	ngot = 0;
	spf_queue_done(q, j, collect, NULL);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[0], 100);
	assert_int_equal(got[1], 105);
	assert_int_equal(got[2], 106);
	spf_queue_get_stats(q, &st);
	assert_int_equal(st.jobs, 3);
	assert_int_equal(st.waiters, 3);
	key(&k, 4, "q.example");
	assert_non_null(spf_queue_add(q, &k, "helo", 108, &merged));
	spf_queue_free(q);
}

static void
test_queue_order_and_ids(void **state)
{
	struct spf_queue *q = spf_queue_new(8, 32);
	struct spf_job *j, *a, *b, *c;
	struct spf_key k;
	int merged;
	char longhelo[400];

	memset(longhelo, 'h', sizeof longhelo - 1);
	longhelo[sizeof longhelo - 1] = '\0';
	key(&k, 1, "one.example");
	a = spf_queue_add(q, &k, longhelo, 1, &merged);
	assert_int_equal(strlen(a->helo), SPF_NAME_MAX);	/* cut to fit */
	key(&k, 2, "two.example");
	b = spf_queue_add(q, &k, "", 2, &merged);
	key(&k, 3, "three.example");
	c = spf_queue_add(q, &k, "", 3, &merged);
	assert_ptr_equal(spf_queue_next(q), a);
	spf_queue_sent(q, a, 10);
	assert_ptr_equal(spf_queue_next(q), b);
	spf_queue_sent(q, b, 20);
	assert_ptr_equal(spf_queue_next(q), c);
	assert_ptr_equal(spf_queue_oldest_sent(q), a);
	/* Only sent jobs are found by id. */
	assert_ptr_equal(spf_queue_find(q, a->id), a);
	assert_null(spf_queue_find(q, c->id));
	/* The helper died: a and b go back before c, a first. */
	spf_queue_requeue_sent(q);
	assert_null(spf_queue_oldest_sent(q));
	assert_ptr_equal(spf_queue_next(q), a);
	spf_queue_sent(q, a, 30);
	assert_ptr_equal(spf_queue_next(q), b);
	spf_queue_sent(q, b, 30);
	assert_ptr_equal(spf_queue_next(q), c);
	/* Done: its id goes stale, even when the slot is reused. */
	uint32_t old = a->id;
	ngot = 0;
	spf_queue_done(q, a, collect, NULL);
	assert_null(spf_queue_find(q, old));
	key(&k, 9, "nine.example");
	j = spf_queue_add(q, &k, "", 9, &merged);
	assert_ptr_equal(j, a);			/* the same slot */
	assert_int_not_equal(j->id, old);
	assert_int_equal(j->id & 0xffff, old & 0xffff);
	/* A queued job can be finished too (spf_close, a poisoned one). */
	spf_queue_done(q, c, collect, NULL);
	assert_ptr_equal(spf_queue_next(q), j);
	spf_queue_free(q);
}

/* ---- bucket, names ------------------------------------------------------ */

static void
test_rate_bucket(void **state)
{
	struct spf_dns_rate r;
	unsigned taken = 0;

	spf_dns_rate_init(&r, 10, 1000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(spf_dns_rate_take(&r, 1000), 0);	/* the burst */
	uint64_t wait = spf_dns_rate_take(&r, 1000);
	assert_true(wait >= 100 && wait <= 101);
	assert_true(spf_dns_rate_take(&r, 1050) > 0);
	assert_int_equal(spf_dns_rate_take(&r, 1100), 0);
	/* Over ten seconds, asking every millisecond: at most 10 a second. */
	for (uint64_t t = 1100; t < 11100; t++)
		taken += spf_dns_rate_take(&r, t) == 0;
	assert_true(taken >= 99 && taken <= 101);
}

static void
test_names(void **state)
{
	static const char *const good[] = {
		"example.com", "a.b", "x-1.example.", "_spf.example.org", "A.EXAMPLE",
	};
	static const char *const bad[] = {
		"", ".", "localhost", "a..b", ".a.b", "a.b..", "a b.example", "exa\"mple.com",
		"[192.0.2.1]", "x\n.example", "-@example.com", "a/b.example",
	};
	char label64[80], long254[300];

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		assert_true(spf_dns_name_ok(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_false(spf_dns_name_ok(bad[i]));
	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".example");
	assert_false(spf_dns_name_ok(label64));		/* a label of 64 */
	assert_true(spf_dns_name_ok(label64 + 1));	/* of 63 */
	/* "a.a.a...": 253 characters is the most, a trailing dot aside. */
	for (int i = 0; i < 300; i++)
		long254[i] = i % 2 ? '.' : 'a';
	long254[253] = '\0';
	assert_true(spf_dns_name_ok(long254));
	long254[253] = '.';
	long254[254] = '\0';
	assert_true(spf_dns_name_ok(long254));
	long254[253] = 'b';
	assert_false(spf_dns_name_ok(long254));
}

/* ---- DNS answers -------------------------------------------------------- */

/* A response to (q.example, type) with rcode and the given answer and
 * authority records (each: type, ttl, rdata), names compressed to the
 * question. */
struct rec {
	uint16_t type;
	uint32_t ttl;
	const char *rd;
	size_t rdlen;
};

static size_t
message(uint8_t *m, uint16_t type, int rcode, const struct rec *an, int nan, const struct rec *ns,
	int nns)
{
	static const uint8_t qname[] = "\x01q\x07" "example";
	size_t n = 0;

	m[n++] = 0x12; m[n++] = 0x34;
	m[n++] = 0x81; m[n++] = (uint8_t)(0x80 | rcode);
	m[n++] = 0; m[n++] = 1;
	m[n++] = 0; m[n++] = (uint8_t)nan;
	m[n++] = 0; m[n++] = (uint8_t)nns;
	m[n++] = 0; m[n++] = 0;
	memcpy(m + n, qname, sizeof qname);	/* with its root label */
	n += sizeof qname;
	m[n++] = (uint8_t)(type >> 8); m[n++] = (uint8_t)type;
	m[n++] = 0; m[n++] = 1;
	for (int s = 0; s < 2; s++) {
		const struct rec *r = s ? ns : an;

		for (int i = 0; i < (s ? nns : nan); i++) {
			m[n++] = 0xc0; m[n++] = 12;
			m[n++] = (uint8_t)(r[i].type >> 8); m[n++] = (uint8_t)r[i].type;
			m[n++] = 0; m[n++] = 1;
			m[n++] = (uint8_t)(r[i].ttl >> 24); m[n++] = (uint8_t)(r[i].ttl >> 16);
			m[n++] = (uint8_t)(r[i].ttl >> 8); m[n++] = (uint8_t)r[i].ttl;
			m[n++] = (uint8_t)(r[i].rdlen >> 8); m[n++] = (uint8_t)r[i].rdlen;
			memcpy(m + n, r[i].rd, r[i].rdlen);
			n += r[i].rdlen;
		}
	}
	return n;
}

static void
test_parse_answers(void **state)
{
	uint8_t m[1024];
	uint32_t ttl;
	SPF_dns_rr_t *rr;
	size_t n;

	/* TXT: character-strings joined without spaces; the smaller TTL. */
	struct rec txt[] = {
		{ ns_t_txt, 300, "\x07v=spf1 \x08ip4:1/32\x05 -all", 23 },
		{ ns_t_txt, 120, "\x05hello", 6 },
		{ ns_t_txt, 60, "\x09overrun", 8 },	/* a length past its data */
	};
	n = message(m, ns_t_txt, ns_r_noerror, txt, 3, NULL, 0);
	rr = spf_dns_parse(NULL, "q.example", ns_t_txt, m, n, &ttl);
	assert_non_null(rr);
	assert_int_equal(rr->herrno, NETDB_SUCCESS);
	assert_int_equal(rr->num_rr, 2);
	assert_string_equal(rr->rr[0]->txt, "v=spf1 ip4:1/32 -all");
	assert_string_equal(rr->rr[1]->txt, "hello");
	assert_int_equal(ttl, 120);
	SPF_dns_rr_free(rr);

	/* A: only 4-byte data; a CNAME on the way is skipped. */
	struct rec a[] = {
		{ ns_t_cname, 10, "\x01x\xc0\x0e", 4 },
		{ ns_t_a, 600, "\xc0\x00\x02\x01", 4 },
		{ ns_t_a, 600, "\xc0\x00\x02", 3 },
	};
	n = message(m, ns_t_a, ns_r_noerror, a, 3, NULL, 0);
	rr = spf_dns_parse(NULL, "q.example", ns_t_a, m, n, &ttl);
	assert_int_equal(rr->num_rr, 1);
	assert_int_equal(ntohl(rr->rr[0]->a.s_addr), 0xc0000201);
	SPF_dns_rr_free(rr);

	/* MX: the exchange's name, through a compression pointer. */
	struct rec mx[] = { { ns_t_mx, 600, "\x00\x0a\x02mx\xc0\x0c", 7 } };
	n = message(m, ns_t_mx, ns_r_noerror, mx, 1, NULL, 0);
	rr = spf_dns_parse(NULL, "q.example", ns_t_mx, m, n, &ttl);
	assert_int_equal(rr->num_rr, 1);
	assert_string_equal(rr->rr[0]->mx, "mx.q.example");
	SPF_dns_rr_free(rr);

	/* NXDOMAIN: RFC 2308's TTL, min(SOA TTL, MINIMUM). */
	struct rec soa[] = {
		{ ns_t_soa, 3600, "\xc0\x0c\xc0\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03"
				  "\x00\x00\x00\x04\x00\x00\x00\x2a", 24 },
	};
	n = message(m, ns_t_txt, ns_r_nxdomain, NULL, 0, soa, 1);
	rr = spf_dns_parse(NULL, "q.example", ns_t_txt, m, n, &ttl);
	assert_int_equal(rr->herrno, HOST_NOT_FOUND);
	assert_int_equal(ttl, 42);
	SPF_dns_rr_free(rr);

	/* NOERROR without the type asked for: NO_DATA. */
	n = message(m, ns_t_txt, ns_r_noerror, a + 1, 1, soa, 1);
	rr = spf_dns_parse(NULL, "q.example", ns_t_txt, m, n, &ttl);
	assert_int_equal(rr->herrno, NO_DATA);
	assert_int_equal(rr->num_rr, 0);
	SPF_dns_rr_free(rr);

	/* SERVFAIL, and a message cut short: try again (temperror). */
	n = message(m, ns_t_txt, ns_r_servfail, NULL, 0, NULL, 0);
	rr = spf_dns_parse(NULL, "q.example", ns_t_txt, m, n, &ttl);
	assert_int_equal(rr->herrno, TRY_AGAIN);
	SPF_dns_rr_free(rr);
	n = message(m, ns_t_txt, ns_r_noerror, txt, 1, NULL, 0);
	rr = spf_dns_parse(NULL, "q.example", ns_t_txt, m, n - 5, &ttl);
	assert_int_equal(rr->herrno, TRY_AGAIN);
	SPF_dns_rr_free(rr);
}

/* ---- broad terms -------------------------------------------------------- */

/* SPEC: a pass only a term authorising (nearly) everyone gives is broad.
 * Each record, the client's family, how many broad pass terms, and the
 * record with them neutral. */
static void
test_broad_terms(void **state)
{
	static const struct {
		const char *rec;
		int family, n;
		const char *out;
	} t[] = {
		{ "v=spf1 +all", 4, 1, "v=spf1 ?all" },
		{ "v=spf1 all", 6, 1, "v=spf1 ?all" },
		{ "V=SPF1 +ALL", 4, 1, "V=SPF1 ?ALL" },
		{ "v=spf1 -all", 4, 0, "v=spf1 -all" },
		{ "v=spf1 ~all", 4, 0, "v=spf1 ~all" },
		{ "v=spf1 ?all", 4, 0, "v=spf1 ?all" },
		{ "v=spf1 ip4:0.0.0.0/1 -all", 4, 1, "v=spf1 ?ip4:0.0.0.0/1 -all" },
		{ "v=spf1 ip4:100.64.0.0/15 -all", 4, 1, "v=spf1 ?ip4:100.64.0.0/15 -all" },
		{ "v=spf1 ip4:100.64.0.0/16 -all", 4, 0, "v=spf1 ip4:100.64.0.0/16 -all" },
		{ "v=spf1 ip4:100.64.0.0/24 -all", 4, 0, "v=spf1 ip4:100.64.0.0/24 -all" },
		{ "v=spf1 ip4:100.64.0.1 -all", 4, 0, "v=spf1 ip4:100.64.0.1 -all" },
		{ "v=spf1 -ip4:0.0.0.0/0 +all", 4, 1, "v=spf1 -ip4:0.0.0.0/0 ?all" },
		{ "v=spf1 ip6:2000::/3 -all", 6, 1, "v=spf1 ?ip6:2000::/3 -all" },
		{ "v=spf1 ip6:2001:db8::/31 ip6:2001:db8::/32 -all", 6, 1,
		  "v=spf1 ?ip6:2001:db8::/31 ip6:2001:db8::/32 -all" },
		{ "v=spf1 ip6:2001:db8::1 -all", 6, 0, "v=spf1 ip6:2001:db8::1 -all" },
		/* a and mx: the length for the client's family */
		{ "v=spf1 a/8 mx -all", 4, 1, "v=spf1 ?a/8 mx -all" },
		{ "v=spf1 a/8 mx -all", 6, 0, "v=spf1 a/8 mx -all" },
		{ "v=spf1 a:h.example/24//16 -all", 6, 1, "v=spf1 ?a:h.example/24//16 -all" },
		{ "v=spf1 a:h.example/24//16 -all", 4, 0, "v=spf1 a:h.example/24//16 -all" },
		{ "v=spf1 mx//0 +mx:m.example/0", 6, 1, "v=spf1 ?mx//0 +mx:m.example/0" },
		{ "v=spf1 mx//0 +mx:m.example/0", 4, 1, "v=spf1 mx//0 ?mx:m.example/0" },
		/* exists: the same answer for all, unless it names the client */
		{ "v=spf1 exists:yes.example -all", 4, 1, "v=spf1 ?exists:yes.example -all" },
		{ "v=spf1 exists:%{d}.list.example", 4, 1, "v=spf1 ?exists:%{d}.list.example" },
		{ "v=spf1 exists:%{ir}.list.example -all", 4, 0, "v=spf1 exists:%{ir}.list.example -all" },
		{ "v=spf1 exists:%{P}.list.example", 6, 0, "v=spf1 exists:%{P}.list.example" },
		/* not terms of this kind: include, redirect, ptr, modifiers */
		{ "v=spf1 include:all.example redirect=all.example", 4, 0,
		  "v=spf1 include:all.example redirect=all.example" },
		{ "v=spf1 ptr exp=all.example -all", 4, 0, "v=spf1 ptr exp=all.example -all" },
		/* spacing kept; several at once */
		{ "v=spf1  +all\tip4:1.0.0.0/8 ", 4, 2, "v=spf1  ?all\t?ip4:1.0.0.0/8 " },
		/* not SPF, or malformed: left alone */
		{ "google-site-verification=+all", 4, 0, "google-site-verification=+all" },
		{ "v=spf10 +all", 4, 0, "v=spf10 +all" },
		{ "v=spf1 ip4:0.0.0.0/x all/8 ip4", 4, 0, "v=spf1 ip4:0.0.0.0/x all/8 ip4" },
		{ "", 4, 0, "" },
	};
	char out[128];

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(spf_broad_terms(t[i].rec, t[i].family, NULL, 0), t[i].n);
		assert_int_equal(spf_broad_terms(t[i].rec, t[i].family, out, sizeof out), t[i].n);
		assert_string_equal(out, t[i].out);
	}
	/* The bound of spf_broad.h is enough, one byte less is not. */
	static const char worst[] = "v=spf1 all all all all";
	size_t need = strlen(worst) * 3 / 2 + 2;
	assert_int_equal(spf_broad_terms(worst, 4, out, need), 4);
	assert_string_equal(out, "v=spf1 ?all ?all ?all ?all");
	assert_int_equal(spf_broad_terms(worst, 4, out, strlen(out)), -1);
	assert_int_equal(spf_broad_terms(worst, 4, out, strlen(out) + 1), 4);
}

static void
test_no_helper_in_unit_tests(void **state)
{
	struct spf_opts o = { 0 };

	assert_null(spf_open(&o, NULL, NULL));
	assert_string_equal(spf_result_name(SPFR_PERMERROR), "permerror");
	assert_string_equal(spf_result_name(SPFR_BROAD), "broad");
	assert_string_equal(spf_result_name(SPFR_N), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_size_is_bounded),
		cmocka_unit_test(test_cache_ttl),
		cmocka_unit_test(test_cache_key),
		cmocka_unit_test(test_cache_eviction_order),
		cmocka_unit_test(test_queue_bounds),
		cmocka_unit_test(test_queue_order_and_ids),
		cmocka_unit_test(test_rate_bucket),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_answers),
		cmocka_unit_test(test_broad_terms),
		cmocka_unit_test(test_no_helper_in_unit_tests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
