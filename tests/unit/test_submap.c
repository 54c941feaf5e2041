/*
 * test_submap.c — the subscriber map: longest-prefix lookups in IPv4 and
 * IPv6, name interning, every kind of bad line reported with its line
 * number, and a 100k-prefix load (its time and the lookup cost are
 * printed; the bounds asserted are generous, for the sanitizer build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errcap.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mono.h"
#include "submap.h"

static char tmpdir[] = "/tmp/test_submap.XXXXXX";

/* Writes text to a fresh file in tmpdir; returns its path (static). */
static const char *
write_map(const char *text)
{
	static char path[256];
	static int n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/map%d.txt", tmpdir, n++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static int
look(const struct submap *m, const char *addr)
{
	uint8_t a[16];
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(fam, addr, a), 1);
	return submap_lookup(m, fam, a);
}

static const char *
owner(const struct submap *m, const char *addr)
{
	int id = look(m, addr);

	return id < 0 ? "-" : submap_name(m, id);
}

static void
test_ipv4_nesting(void **state)
{
	struct submap *m = submap_load(write_map(
	    "# ISP test map\n"
	    "\n"
	    "10.0.0.0/8      wide\n"
	    "10.1.0.0/16     middle   # a comment after the name\n"
	    "10.1.2.0/24     narrow\n"
	    "10.1.2.128/25   wide\n"
	    "  192.0.2.7     host\t\n"
	    "198.51.100.0/24 crlf\r\n"));

	assert_non_null(m);
	assert_int_equal(submap_count(m), 5);
	assert_int_equal(submap_prefixes(m), 6);
	assert_string_equal(owner(m, "10.0.0.0"), "wide");
	assert_string_equal(owner(m, "10.255.255.255"), "wide");
	assert_string_equal(owner(m, "10.1.0.0"), "middle");
	assert_string_equal(owner(m, "10.1.255.255"), "middle");
	assert_string_equal(owner(m, "10.1.1.255"), "middle");
	assert_string_equal(owner(m, "10.1.2.0"), "narrow");
	assert_string_equal(owner(m, "10.1.2.127"), "narrow");
	assert_string_equal(owner(m, "10.1.2.128"), "wide");
	assert_string_equal(owner(m, "10.1.2.255"), "wide");
	assert_string_equal(owner(m, "10.1.3.0"), "middle");
	assert_string_equal(owner(m, "9.255.255.255"), "-");
	assert_string_equal(owner(m, "11.0.0.0"), "-");
	assert_string_equal(owner(m, "192.0.2.7"), "host");
	assert_string_equal(owner(m, "192.0.2.6"), "-");
	assert_string_equal(owner(m, "192.0.2.8"), "-");
	assert_string_equal(owner(m, "198.51.100.1"), "crlf");
	/* One name, one id, whichever prefix matched. */
	assert_int_equal(look(m, "10.1.2.200"), look(m, "10.200.0.1"));
	assert_int_equal(submap_find(m, "wide"), look(m, "10.9.9.9"));
	assert_int_equal(submap_find(m, "nobody"), -1);
	assert_null(submap_name(m, -1));
	assert_null(submap_name(m, 5));
	/* Ids in order of first appearance. */
	assert_string_equal(submap_name(m, 0), "wide");
	assert_string_equal(submap_name(m, 4), "crlf");
	submap_free(m);
}

static void
test_ipv6(void **state)
{
	struct submap *m;

	errcap_begin(tmpdir);
	m = submap_load(write_map(
	    "2001:db8::/32        isp\n"
	    "2001:db8:2::1/128    \n"));	/* one field: an error */
	assert_non_null(strstr(errcap_end(), ":2: expected 'CIDR NAME'"));
	assert_null(m);
	m = submap_load(write_map(
	    "2001:db8::/32        isp\n"
	    "2001:db8:1::/48      cust-1\n"
	    "2001:db8:1:5::/64    cust-5\n"
	    "2001:db8:2::1        host6\n"
	    "10.0.0.0/8           cust-1\n"));
	assert_non_null(m);
	assert_int_equal(submap_count(m), 4);
	assert_string_equal(owner(m, "2001:db8::"), "isp");
	assert_string_equal(owner(m, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"),
	    "isp");
	assert_string_equal(owner(m, "2001:db9::"), "-");
	assert_string_equal(owner(m, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"),
	    "-");
	assert_string_equal(owner(m, "2001:db8:1::1"), "cust-1");
	assert_string_equal(owner(m, "2001:db8:1:4:ffff:ffff:ffff:ffff"),
	    "cust-1");
	assert_string_equal(owner(m, "2001:db8:1:5::"), "cust-5");
	assert_string_equal(owner(m, "2001:db8:1:5:ffff:ffff:ffff:ffff"),
	    "cust-5");
	assert_string_equal(owner(m, "2001:db8:1:6::"), "cust-1");
	assert_string_equal(owner(m, "2001:db8:2::1"), "host6");
	assert_string_equal(owner(m, "2001:db8:2::2"), "isp");
	/* The same name in both families is one subscriber. */
	assert_int_equal(look(m, "10.1.1.1"), look(m, "2001:db8:1::9"));
	/* An IPv4 address is not looked up among IPv6 prefixes. */
	assert_string_equal(owner(m, "::ffff:10.1.1.1"), "-");
	assert_int_equal(submap_lookup(m, AF_UNIX, "abcd"), -1);
	submap_free(m);
}

static void
test_default_routes(void **state)
{
	struct submap *m = submap_load(write_map(
	    "0.0.0.0/0 all4\n"
	    "::/0 all6\n"
	    "255.255.255.255/32 top\n"
	    "0.0.0.0/32 bottom\n"
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 top6\n"));

	assert_non_null(m);
	assert_string_equal(owner(m, "1.2.3.4"), "all4");
	assert_string_equal(owner(m, "255.255.255.254"), "all4");
	assert_string_equal(owner(m, "255.255.255.255"), "top");
	assert_string_equal(owner(m, "0.0.0.0"), "bottom");
	assert_string_equal(owner(m, "0.0.0.1"), "all4");
	assert_string_equal(owner(m, "::"), "all6");
	assert_string_equal(owner(m, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	    "top6");
	submap_free(m);
}

static void
test_empty(void **state)
{
	struct submap *m = submap_load(write_map(""));
	uint8_t a[16] = { 10, 0, 0, 1 };

	assert_non_null(m);
	assert_int_equal(submap_count(m), 0);
	assert_int_equal(submap_prefixes(m), 0);
	assert_int_equal(submap_lookup(m, AF_INET, a), -1);
	assert_int_equal(submap_lookup(m, AF_INET6, a), -1);
	assert_int_equal(submap_find(m, "x"), -1);
	submap_free(m);

	m = submap_load(write_map("# only comments\n\n   \n\t# and blanks\n"));
	assert_non_null(m);
	assert_int_equal(submap_count(m), 0);
	submap_free(m);

	/* NULL is the empty map. */
	assert_int_equal(submap_lookup(NULL, AF_INET, a), -1);
	assert_int_equal(submap_count(NULL), 0);
	assert_int_equal(submap_prefixes(NULL), 0);
	assert_null(submap_name(NULL, 0));
	assert_int_equal(submap_find(NULL, "x"), -1);
	submap_free(NULL);
}

static void
test_unreadable(void **state)
{
	char path[300];
	const char *err;

	snprintf(path, sizeof(path), "%s/does-not-exist.txt", tmpdir);
	errcap_begin(tmpdir);
	assert_null(submap_load(path));
	err = errcap_end();
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, ": No such file or directory"));

	errcap_begin(tmpdir);
	assert_null(submap_load(tmpdir));	/* a directory */
	err = errcap_end();
	assert_non_null(strstr(err, ": Is a directory"));
}

/* Every bad line is reported, each with its own line number, and the map
 * is refused. */
static void
test_bad_lines(void **state)
{
	static const struct {
		const char *text;
		const char *expect;	/* part of the message */
	} bad[] = {
		{ "10.0.0.0/33 a", "prefix length 33 is more than 32" },
		{ "2001:db8::/129 a", "prefix length 129 is more than 128" },
		{ "10.0.0.1/24 a", "host bits set (the network is 10.0.0.0/24)" },
		{ "2001:db8::1/64 a", "(the network is 2001:db8::/64)" },
		{ "300.1.1.0/24 a", "not an IPv4 or IPv6 prefix" },
		{ "10.0.0.0/ a", "not an IPv4 or IPv6 prefix" },
		{ "10.0.0.0/8/8 a", "not an IPv4 or IPv6 prefix" },
		{ "10.0.0.0/-8 a", "not an IPv4 or IPv6 prefix" },
		{ "10.0.0.0/+8 a", "not an IPv4 or IPv6 prefix" },
		{ "10.0.0.0/0008 a", "not an IPv4 or IPv6 prefix" },
		{ "10.0/16 a", "not an IPv4 or IPv6 prefix" },
		{ "/24 a", "not an IPv4 or IPv6 prefix" },
		{ "cust-1 10.0.0.0/8", "not an IPv4 or IPv6 prefix" },
		{ "2001:db8:::/48 a", "not an IPv4 or IPv6 prefix" },
		{ "10.7.0.0/16", "found only one field" },
		{ "10.8.0.0/16 a b", "found more fields" },
		{ "10.9.0.0/16 ../x", "bad subscriber name '../x'" },
		{ "10.10.0.0/16 /etc/y", "bad subscriber name '/etc/y'" },
		{ "10.11.0.0/16 .hidden", "may not start with '.'" },
		{ "10.12.0.0/16 ..", "bad subscriber name '..'" },
		{ "10.13.0.0/16 .", "bad subscriber name '.'" },
		{ "10.14.0.0/16 -rf", "may not start with '.' or '-'" },
		{ "10.15.0.0/16 caf\xc3\xa9", "may only hold letters" },
		{ "10.16.0.0/16 a;b", "may only hold letters" },
		{ "10.17.0.0/16 "
		  "a1234567890123456789012345678901234567890123456789012345678901234",
		  "name too long" },
		{ "10.1.0.0/16 dup", "duplicate prefix 10.1.0.0/16 (first at line 1)" },
		{ "10.1.0.0/16 ok", "duplicate prefix 10.1.0.0/16 (first at line 1)" },
		{ "2001:db8:1::/48 dup", "duplicate prefix 2001:db8:1::/48 (first at line 2)" },
		{ "10.2.3.4 dup", "duplicate prefix 10.2.3.4 (first at line 3)" },
		{ "10.2.3.4/32 dup", "duplicate prefix 10.2.3.4/32 (first at line 3)" },
	};
	char text[8192], want[512], path[300];
	const char *err, *p;
	size_t i, used;

	/* Three good lines first (the duplicates refer to them), then one
	 * bad line each, interleaved with good ones to keep numbers honest. */
	used = (size_t)snprintf(text, sizeof(text),
	    "10.1.0.0/16 ok\n2001:db8:1::/48 ok6\n10.2.3.4 host\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s\n# fine\n172.16.%zu.0/24 good-%zu\n", bad[i].text, i, i);
	snprintf(path, sizeof(path), "%s", write_map(text));

	errcap_begin(tmpdir);
	assert_null(submap_load(path));
	err = errcap_end();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(want, sizeof(want), "%s:%zu: ", path, 4 + 3 * i);
		p = strstr(err, want);
		if (p == NULL || strstr(p, bad[i].expect) == NULL ||
		    strstr(p, bad[i].expect) > strchr(p, '\n'))
			fail_msg("line %zu '%s': expected \"%s...%s\" in:\n%s",
			    4 + 3 * i, bad[i].text, want, bad[i].expect, err);
	}
	/* Nothing else was reported. */
	for (i = 0, p = err; (p = strchr(p, '\n')) != NULL; p++)
		i++;
	assert_int_equal(i, sizeof(bad) / sizeof(bad[0]));

	/* A NUL byte in a line. */
	{
		FILE *fp;

		snprintf(path, sizeof(path), "%s/nul.txt", tmpdir);
		fp = fopen(path, "w");
		fwrite("10.0.0.0/8 a\n10.1.0.0/16 b\0c\n", 1, 29, fp);
		fclose(fp);
		errcap_begin(tmpdir);
		assert_null(submap_load(path));
		err = errcap_end();
		snprintf(want, sizeof(want), "%s:2: line holds a NUL byte", path);
		assert_non_null(strstr(err, want));
	}
}

/* A longest-prefix oracle: the slow, obvious way. */
struct pfx {
	int family;
	unsigned bits;
	uint8_t a[16];
	char name[16];
};

static int
covers(const struct pfx *p, int family, const uint8_t *a)
{
	unsigned i = 0;

	if (p->family != family)
		return 0;
	for (; i + 8 <= p->bits; i += 8)
		if (p->a[i / 8] != a[i / 8])
			return 0;
	for (; i < p->bits; i++)
		if (((p->a[i / 8] ^ a[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

static uint32_t rnd_state = 12345;

static uint32_t
rnd(void)
{
	/* xorshift32: reproducible across libcs. */
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Random nested prefixes in a small space (so that they nest and
 * overlap), random addresses, and the oracle's answer for each. */
static void
run_oracle(int npfx, int naddr, uint32_t seed)
{
	struct pfx *p = calloc((size_t)npfx, sizeof(*p));
	char *text = malloc((size_t)npfx * 80), addr[INET6_ADDRSTRLEN];
	size_t used = 0;
	int n = 0, i, j, best, fam, id;
	struct submap *m;
	uint8_t a[16];
	unsigned b;

	assert_non_null(p);
	assert_non_null(text);
	rnd_state = seed;
	while (n < npfx) {
		struct pfx *q = &p[n];

		memset(q, 0, sizeof(*q));
		q->family = rnd() % 2 ? AF_INET6 : AF_INET;
		/* Addresses share a short common head, lengths spread over
		 * the whole range, so that nesting is frequent. */
		if (q->family == AF_INET) {
			q->a[0] = 10;
			q->a[1] = (uint8_t)(rnd() % 4);
			q->a[2] = (uint8_t)rnd();
			q->a[3] = (uint8_t)rnd();
			q->bits = rnd() % 33;
		} else {
			q->a[0] = 0x20;
			q->a[1] = 0x01;
			q->a[2] = (uint8_t)(rnd() % 4);
			for (j = 3; j < 16; j++)
				q->a[j] = (uint8_t)rnd();
			q->bits = rnd() % 129;
		}
		for (b = q->bits; b < (q->family == AF_INET ? 32u : 128u); b++)
			q->a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		for (j = 0; j < n; j++)
			if (p[j].family == q->family && p[j].bits == q->bits &&
			    memcmp(p[j].a, q->a, 16) == 0)
				break;
		if (j < n)
			continue;	/* duplicates are errors */
		snprintf(q->name, sizeof(q->name), "s%d", (int)(rnd() % 200));
		inet_ntop(q->family, q->a, addr, sizeof(addr));
		used += (size_t)sprintf(text + used, "%s/%u %s\n", addr,
		    q->bits, q->name);
		n++;
	}
	m = submap_load(write_map(text));
	free(text);
	assert_non_null(m);
	assert_int_equal(submap_prefixes(m), npfx);

	for (i = 0; i < naddr; i++) {
		fam = rnd() % 2 ? AF_INET6 : AF_INET;
		/* Half near a prefix (one bit off, or its first or last
		 * address), half anywhere in the common head. */
		if (i % 2) {
			j = (int)(rnd() % (uint32_t)npfx);
			fam = p[j].family;
			memcpy(a, p[j].a, 16);
			if (i % 3 == 0) {
				a[rnd() % (fam == AF_INET ? 4 : 16)] ^=
				    (uint8_t)(1u << (rnd() % 8));
			} else if (i % 3 == 1) {
				for (b = p[j].bits;
				    b < (fam == AF_INET ? 32u : 128u); b++)
					a[b / 8] |= (uint8_t)(0x80 >> (b % 8));
			}
		} else {
			for (j = 0; j < 16; j++)
				a[j] = (uint8_t)rnd();
			a[0] = fam == AF_INET ? 10 : 0x20;
			if (fam == AF_INET6)
				a[1] = 0x01, a[2] = (uint8_t)(rnd() % 4);
			else
				a[1] = (uint8_t)(rnd() % 4);
		}
		if (fam == AF_INET)
			memset(a + 4, 0, 12);
		best = -1;
		for (j = 0; j < npfx; j++)
			if (covers(&p[j], fam, a) &&
			    (best < 0 || p[j].bits > p[best].bits))
				best = j;
		id = submap_lookup(m, fam, a);
		if (best < 0) {
			assert_int_equal(id, -1);
		} else {
			assert_true(id >= 0);
			assert_string_equal(submap_name(m, id), p[best].name);
		}
	}
	submap_free(m);
	free(p);
}

static void
test_against_oracle(void **state)
{
	run_oracle(40, 5000, 1);	/* mostly leaves */
	run_oracle(600, 20000, 12345);
	run_oracle(4000, 8000, 777);	/* a deeper index */
}

/* A file that is no map at all stops after 200 errors. */
static void
test_error_cap(void **state)
{
	char *text = malloc(300 * 16);
	const char *err;
	size_t used = 0;
	int i;

	assert_non_null(text);
	for (i = 0; i < 300; i++)
		used += (size_t)sprintf(text + used, "a,b,c,%d\n", i);
	errcap_begin(tmpdir);
	assert_null(submap_load(write_map(text)));
	err = errcap_end();
	free(text);
	assert_non_null(strstr(err, ":200: expected 'CIDR NAME'"));
	assert_null(strstr(err, ":201: expected"));
	assert_non_null(strstr(err, ":201: too many errors, stopping here"));
}

/* conf/subscribers.txt is a valid map. */
static void
test_example_map(void **state)
{
	struct submap *m;

	if (access("conf/subscribers.txt", R_OK) != 0)
		skip();
	m = submap_load("conf/subscribers.txt");
	assert_non_null(m);
	assert_string_equal(owner(m, "100.64.0.42"), "cust-0042");
	assert_string_equal(owner(m, "100.64.0.44"), "residential-pool");
	assert_string_equal(owner(m, "2001:db8:100::1"), "acme-gmbh");
	assert_string_equal(owner(m, "192.0.2.1"), "acme-gmbh");
	assert_int_equal(submap_find(m, "mail-hosting-co"),
	    look(m, "198.51.100.25"));
	submap_free(m);
}


/* 100,000 IPv4 and 100,000 IPv6 prefixes of 50,000 subscribers (each
 * with two of each), the shape of a mid-size ISP's export. */
static void
test_large(void **state)
{
	enum { N = 100000, LOOKUPS = 2000000 };
	char path[300];
	FILE *fp;
	int i, id, hits = 0;
	double t0, t1;
	struct submap *m;
	uint8_t (*addrs)[16];
	int *fams;

	snprintf(path, sizeof(path), "%s/large.txt", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "# generated\n100.64.0.0/10 cgnat-pool\n"
	    "2a00:1000::/24 v6-pool\n");
	for (i = 0; i < N; i++) {
		/* /28s and /30s (and some /32s) in 100.64.0.0/10. */
		fprintf(fp, "100.%d.%d.%d/%d cust-%05d\n", 64 + (i >> 12) % 64,
		    (i >> 4) & 0xff, (i & 0xf) << 4, i % 7 == 0 ? 32 : 28,
		    i / 2);
		fprintf(fp, "2a00:1000:%x:%x::/%d cust-%05d\n", i >> 8,
		    (i & 0xff) << 8, i % 5 == 0 ? 64 : 56, i / 2);
	}
	fclose(fp);

	t0 = mono_s();
	m = submap_load(path);
	t1 = mono_s();
	assert_non_null(m);
	assert_int_equal(submap_prefixes(m), 2 * N + 2);
	assert_int_equal(submap_count(m), N / 2 + 2);
	print_message("submap: loaded %zu prefixes (%d subscribers) in "
	    "%.1f ms\n", submap_prefixes(m), submap_count(m),
	    (t1 - t0) * 1e3);
	/* Generous: the sanitizer build on a busy CI machine. */
	assert_true(t1 - t0 < 5.0);

	/* Lookups over a pool of addresses, most of them inside. */
	addrs = malloc(65536 * sizeof(*addrs));
	fams = malloc(65536 * sizeof(*fams));
	assert_non_null(addrs);
	assert_non_null(fams);
	for (i = 0; i < 65536; i++) {
		uint32_t r = rnd();

		memset(addrs[i], 0, 16);
		if (i % 2) {
			fams[i] = AF_INET;
			addrs[i][0] = 100;
			addrs[i][1] = (uint8_t)(64 + (r >> 24) % 72);
			addrs[i][2] = (uint8_t)(r >> 8);
			addrs[i][3] = (uint8_t)r;
		} else {
			fams[i] = AF_INET6;
			addrs[i][0] = 0x2a;
			addrs[i][1] = 0x00;
			addrs[i][2] = 0x10;
			addrs[i][3] = 0x00;
			addrs[i][4] = (uint8_t)(r >> 24) % 2;
			addrs[i][5] = (uint8_t)(r >> 16);
			addrs[i][6] = (uint8_t)(r >> 8);
			addrs[i][7] = (uint8_t)r;
			addrs[i][15] = (uint8_t)r;
		}
	}
	t0 = mono_s();
	for (i = 0; i < LOOKUPS; i++) {
		id = submap_lookup(m, fams[i & 0xffff], addrs[i & 0xffff]);
		hits += id >= 0;
	}
	t1 = mono_s();
	print_message("submap: %d lookups, %.0f ns each (%d%% inside)\n",
	    LOOKUPS, (t1 - t0) * 1e9 / LOOKUPS, hits / (LOOKUPS / 100));

	/* Spot checks on the generated layout. */
	assert_string_equal(owner(m, "100.64.0.0"), "cust-00000");
	assert_string_equal(owner(m, "100.64.0.17"), "cust-00000");
	assert_string_equal(owner(m, "100.64.0.127"), "cgnat-pool");
	assert_string_equal(owner(m, "2a00:1000:0:100::1"), "cust-00000");
	assert_string_equal(owner(m, "2a00:10ff::1"), "v6-pool");
	free(addrs);
	free(fams);
	t0 = mono_s();
	submap_free(m);
	print_message("submap: freed in %.1f ms\n", (mono_s() - t0) * 1e3);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_nesting),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_default_routes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_against_oracle),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_example_map),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
