/*
 * test_alert.c — alert records as an operator reads them: the logfmt line
 * (the --no-syslog copy on stderr) and the JSON file. Escaping of hostile
 * values, bounds, holddown with packet times, the holddown table's bound,
 * the rate limit, a full queue, blocking mode, and a 100,000-alert flood
 * with the time alerts_raise takes.
 *
 * Every JSON line any test writes goes through a small strict validator
 * (RFC 8259 grammar for what we emit, and UTF-8 well-formedness).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"

/* 2026-01-01T00:05:00Z */
#define T0 ((time_t)1767225900)

struct run {
	char dir[64], json_path[96], err_path[96];
	int saved_err;
	struct sw_config cfg;
	struct alerts *a;
	struct alerts_stats st;
	char *json, *err;		/* file contents after close */
	size_t njson, nlog;		/* lines: JSON, and "alert=" on stderr */
	char **jl, **ll;
};

/* ------------------------------------------------- a strict JSON check */

/* Whether p starts with one well-formed UTF-8 character, and its length.
 * The oracle is glibc's iconv (no overlong forms, no surrogates, nothing
 * past U+10FFFF), not a second copy of alert.c's own decoder. */
static int
utf8_ok(const unsigned char *p, size_t *adv)
{
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	char out[4], *in = (char *)(uintptr_t)p, *o = out;
	size_t il = strlen((const char *)p), ol = sizeof out;
	int ok;

	assert_true(cd != (iconv_t)-1);
	/* Room for one character: it converts exactly one, or fails. */
	ok = iconv(cd, &in, &il, &o, &ol) != (size_t)-1 || errno == E2BIG;
	iconv_close(cd);
	*adv = (size_t)(in - (const char *)p);
	return ok && ol == 0;
}

static const char *
js_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (*p++ != '"')
		return NULL;
	for (;;) {
		size_t adv;

		if (*p == '"')
			return (const char *)p + 1;
		if (*p < 0x20)
			return NULL;		/* includes the end of the line */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
						return NULL;
				p += 5;
			} else if (*p && strchr("\"\\/bfnrt", *p)) {
				p++;
			} else {
				return NULL;
			}
		} else if (*p >= 0x80) {
			if (!utf8_ok(p, &adv))
				return NULL;
			p += adv;
		} else {
			p++;
		}
	}
}

static const char *
js_number(const char *p)
{
	const char *q = p;

	if (*p == '0')
		return p + 1;
	while (*p >= '0' && *p <= '9')
		p++;
	return p == q ? NULL : p;
}

/* One line: an object of string or number (or nested object) values. */
static const char *
js_object(const char *p)
{
	if (*p++ != '{')
		return NULL;
	if (*p == '}')
		return p + 1;
	for (;;) {
		if ((p = js_string(p)) == NULL || *p++ != ':')
			return NULL;
		if (*p == '"')
			p = js_string(p);
		else if (*p == '{')
			p = js_object(p);
		else
			p = js_number(p);
		if (!p)
			return NULL;
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static int
json_line_ok(const char *line)
{
	const char *end = js_object(line);

	return end && *end == '\0';
}

/* ------------------------------------------------------------- helpers */

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Splits buf into lines in place; keeps those starting with prefix. */
static char **
split(char *buf, const char *prefix, size_t *n)
{
	size_t cap = 16;
	char **v = malloc(cap * sizeof *v), *p = buf, *nl;

	*n = 0;
	while (*p) {
		nl = strchr(p, '\n');
		assert_non_null(nl);		/* every line ends */
		*nl = '\0';
		if (strncmp(p, prefix, strlen(prefix)) == 0) {
			if (*n == cap)
				v = realloc(v, (cap *= 2) * sizeof *v);
			v[(*n)++] = p;
		}
		p = nl + 1;
	}
	return v;
}

static void
run_open(struct run *r, unsigned holddown, const struct alerts_opts *opts)
{
	struct alerts_opts o = { 0 };
	int fd;

	memset(r, 0, sizeof *r);
	if (opts)
		o = *opts;
	snprintf(r->dir, sizeof r->dir, "/tmp/test_alert.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->json_path, sizeof r->json_path, "%s/alerts.json", r->dir);
	snprintf(r->err_path, sizeof r->err_path, "%s/stderr", r->dir);
	config_defaults(&r->cfg);
	r->cfg.alerts.holddown = holddown;
	snprintf(r->cfg.sensor.name, sizeof r->cfg.sensor.name, "pop-1");
	o.use_syslog = 0;
	o.json_path = r->json_path;

	/* The --no-syslog copy goes to stderr: catch it in a file. */
	fflush(stderr);
	r->saved_err = dup(2);
	fd = open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && r->saved_err >= 0);
	dup2(fd, 2);
	close(fd);
	r->a = alerts_open(&r->cfg, &o);
	assert_non_null(r->a);
}

static void
run_close(struct run *r)
{
	alerts_stats(r->a, &r->st);
	alerts_close(r->a);
	r->a = NULL;
	fflush(stderr);
	dup2(r->saved_err, 2);
	close(r->saved_err);
	r->json = slurp(r->json_path);
	r->err = slurp(r->err_path);
	r->jl = split(r->json, "", &r->njson);
	r->ll = split(r->err, "alert=", &r->nlog);
	for (size_t i = 0; i < r->njson; i++)
		if (!json_line_ok(r->jl[i]))
			fail_msg("invalid JSON line %zu: %s", i, r->jl[i]);
	/* The same records in both places. */
	assert_int_equal(r->njson, r->nlog);
}

static void
run_free(struct run *r)
{
	unlink(r->json_path);
	unlink(r->err_path);
	rmdir(r->dir);
	free(r->jl);
	free(r->ll);
	free(r->json);
	free(r->err);
	config_free(&r->cfg);
}

static struct alert_field
fs(const char *k, const char *v)
{
	struct alert_field f = { .key = k, .type = AF_STR };

	f.v.s = v;
	return f;
}

static struct alert_field
fu(const char *k, uint64_t v)
{
	struct alert_field f = { .key = k, .type = AF_UINT };

	f.v.u = v;
	return f;
}

static struct alert_field
fa(const char *k, int family, const char *text)
{
	struct alert_field f = { .key = k, .type = AF_ADDR };

	f.v.addr.family = family;
	if (text)
		assert_int_equal(inet_pton(family, text, f.v.addr.a), 1);
	return f;
}

static double
ns_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e9 + (double)(t1.tv_nsec - t0->tv_nsec);
}

/* --------------------------------------------------------------- tests */

static void
test_spec_example(void **st)
{
	struct run r;
	struct alert_field f[5];

	f[0] = fa("ip", AF_INET, "100.64.0.42");
	f[1] = fu("sessions", 37);
	f[2] = fu("mx", 21);
	f[3] = fu("rcpt", 412);
	f[4] = fu("window", 300);
	run_open(&r, 3600, NULL);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "cust-0042", T0, f, 5), 1);
	f[0] = fu("count", 5);
	assert_int_equal(alerts_raise(r.a, "capture_drops", NULL, T0 + 60, f, 1), 1);
	assert_int_equal(alerts_count(r.a), 2);
	run_close(&r);
	assert_int_equal(r.nlog, 2);
	assert_string_equal(r.ll[0], "alert=smtp_direct subscriber=cust-0042 ip=100.64.0.42 "
	    "sessions=37 mx=21 rcpt=412 window=300");
	assert_string_equal(r.ll[1], "alert=capture_drops count=5");
	assert_string_equal(r.jl[0], "{\"ts\":\"2026-01-01T00:05:00Z\",\"sensor\":\"pop-1\","
	    "\"alert\":\"smtp_direct\",\"subscriber\":\"cust-0042\",\"ip\":\"100.64.0.42\","
	    "\"sessions\":37,\"mx\":21,\"rcpt\":412,\"window\":300}");
	assert_string_equal(r.jl[1], "{\"ts\":\"2026-01-01T00:06:00Z\",\"sensor\":\"pop-1\","
	    "\"alert\":\"capture_drops\",\"count\":5}");
	run_free(&r);
}

static void
test_escaping(void **st)
{
	struct run r;
	struct alert_field f[8];

	/* What a bot may put in EHLO: line breaks to forge a second record,
	 * quotes and '=' to forge fields, format directives, terminal
	 * escapes, and bytes that are not UTF-8. */
	f[0] = fs("ehlo", "mx.example\r\nalert=fake \"q\" back\\slash %n%s\t\x1b[31m"
	    "\x80\xff\xc3\xa9");
	f[1] = fs("plain", "mail.example.com");
	f[2] = fs("empty", "");
	f[3] = fs("eq", "a=b");
	f[4] = fs("bad_utf8", "\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xf0\x9f\x98\x80|\xe2\x82");
	f[5] = fs("ctl", "\x01\x7f\x1f\b\f");
	f[6] = fa("ip6", AF_INET6, "2001:db8::1");
	f[7] = fa("nofam", 0, NULL);
	run_open(&r, 0, NULL);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "cust \"x\"", T0, f, 8), 1);
	run_close(&r);
	assert_int_equal(r.nlog, 1);
	assert_string_equal(r.ll[0],
	    "alert=smtp_direct subscriber=\"cust \\\"x\\\"\" "
	    "ehlo=\"mx.example\\x0d\\x0aalert=fake \\\"q\\\" back\\\\slash %n%s\\x09\\x1b[31m"
	    "\\x80\\xff\\xc3\\xa9\" "
	    "plain=mail.example.com empty=\"\" eq=\"a=b\" "
	    "bad_utf8=\"\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\xf0\\x9f\\x98\\x80|\\xe2\\x82\" "
	    "ctl=\"\\x01\\x7f\\x1f\\x08\\x0c\" ip6=2001:db8::1 nofam=invalid");
	/* Valid UTF-8 (é, U+1F600) passes; stray bytes read as Latin-1. */
	assert_string_equal(r.jl[0],
	    "{\"ts\":\"2026-01-01T00:05:00Z\",\"sensor\":\"pop-1\",\"alert\":\"smtp_direct\","
	    "\"subscriber\":\"cust \\\"x\\\"\","
	    "\"ehlo\":\"mx.example\\r\\nalert=fake \\\"q\\\" back\\\\slash %n%s\\t\\u001b[31m"
	    "\\u0080\\u00ff\xc3\xa9\","
	    "\"plain\":\"mail.example.com\",\"empty\":\"\",\"eq\":\"a=b\","
	    "\"bad_utf8\":\"\\u00c0\\u00af|\\u00ed\\u00a0\\u0080|\\u00f4\\u0090\\u0080\\u0080|"
	    "\xf0\x9f\x98\x80|\\u00e2\\u0082\","
	    "\"ctl\":\"\\u0001\\u007f\\u001f\\b\\f\",\"ip6\":\"2001:db8::1\",\"nofam\":\"invalid\"}");
	run_free(&r);
}

static void
test_keys_forced_to_names(void **st)
{
	struct run r;
	struct alert_field f[1];

	f[0] = fu("Bad Key=\"", 1);
	run_open(&r, 0, NULL);
	alerts_raise(r.a, "odd kind\n", NULL, T0, f, 1);
	run_close(&r);
	assert_string_equal(r.ll[0], "alert=odd_kind_ _ad__ey__=1");
	run_free(&r);
}

static void
test_bounds(void **st)
{
	struct run r;
	struct alert_field f[ALERTS_MAX_FIELDS + 4];
	char *big = malloc(10001), *wide = malloc(10002), *want;
	size_t i;

	memset(big, 'A', 10000);
	big[10000] = '\0';
	/* "x" then é (2 bytes) repeated: a cut at 256 falls inside an é. */
	wide[0] = 'x';
	for (i = 1; i + 1 < 10001; i += 2)
		memcpy(wide + i, "\xc3\xa9", 2);
	wide[i] = '\0';
	f[0] = fs("big", big);
	f[1] = fs("wide", wide);
	run_open(&r, 0, NULL);
	alerts_raise(r.a, "k", NULL, T0, f, 2);
	/* Many big fields: the slot bounds the record, later fields go. */
	for (i = 0; i < ALERTS_MAX_FIELDS + 4; i++)
		f[i] = fs("f", big);
	alerts_raise(r.a, "k", NULL, T0, f, ALERTS_MAX_FIELDS + 4);
	for (i = 0; i < ALERTS_MAX_FIELDS + 4; i++)
		f[i] = fu("n", i);
	alerts_raise(r.a, "k", NULL, T0, f, ALERTS_MAX_FIELDS + 4);
	run_close(&r);
	assert_int_equal(r.nlog, 3);

	want = malloc(600);
	snprintf(want, 600, "alert=k big=%.*s... wide=\"x", ALERTS_VALUE_MAX, big);
	assert_memory_equal(r.ll[0], want, strlen(want));
	/* 1 + 127 * 2 = 255 bytes: the half é is not kept. */
	assert_int_equal(strlen(r.ll[0]), strlen(want) + 127 * 8 + 4);
	assert_string_equal(r.ll[0] + strlen(r.ll[0]) - 12, "\\xc3\\xa9...\"");
	assert_non_null(strstr(r.jl[0], "\"wide\":\"x\xc3\xa9"));
	assert_non_null(strstr(r.jl[0], "\xc3\xa9...\"}"));
	assert_null(strstr(r.jl[0], "\\u00c3"));

	assert_true(strlen(r.ll[1]) < 1200);
	assert_true(strlen(r.jl[1]) < 1400);
	assert_true(r.st.fields_dropped >= 4 + 4);
	/* 16 small fields fit; the 4 over ALERTS_MAX_FIELDS do not. */
	assert_non_null(strstr(r.ll[2], " n=15"));
	assert_null(strstr(r.ll[2], " n=16"));
	free(want);
	free(big);
	free(wide);
	run_free(&r);
}

static void
test_holddown(void **st)
{
	struct run r;
	struct alert_field f[1];

	f[0] = fu("rcpt", 1);
	run_open(&r, 300, NULL);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0, f, 1), 1);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 + 100, f, 1), 0);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 + 299, f, 1), 0);
	/* Another subscriber, another kind, no subscriber: own holddowns. */
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "b", T0 + 100, f, 1), 1);
	assert_int_equal(alerts_raise(r.a, "bt_volume", "a", T0 + 100, f, 1), 1);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", NULL, T0 + 100, f, 1), 1);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "", T0 + 100, f, 1), 1);
	/* Packets slightly out of order are still within the holddown. */
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 - 10, f, 1), 0);
	/* holddown seconds after the last emitted: out again, with the count. */
	f[0] = fu("rcpt", 2);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 + 300, f, 1), 1);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 + 301, f, 1), 0);
	f[0] = fu("rcpt", 3);
	assert_int_equal(alerts_raise(r.a, "smtp_direct", "a", T0 + 600, f, 1), 1);
	assert_int_equal(alerts_count(r.a), 7);
	run_close(&r);
	assert_int_equal(r.st.suppressed, 4);
	assert_int_equal(r.nlog, 7);
	assert_string_equal(r.ll[0], "alert=smtp_direct subscriber=a rcpt=1");
	assert_string_equal(r.ll[5], "alert=smtp_direct subscriber=a rcpt=2 suppressed=3");
	assert_string_equal(r.ll[6], "alert=smtp_direct subscriber=a rcpt=3 suppressed=1");
	assert_non_null(strstr(r.jl[5], ",\"rcpt\":2,\"suppressed\":3}"));
	assert_null(strstr(r.jl[0], "suppressed"));
	run_free(&r);
}

static void
test_holddown_zero_repeats(void **st)
{
	struct run r;

	run_open(&r, 0, NULL);
	for (int i = 0; i < 5; i++)
		assert_int_equal(alerts_raise(r.a, "flow_table_full", NULL, T0, NULL, 0), 1);
	run_close(&r);
	assert_int_equal(r.nlog, 5);
	assert_string_equal(r.ll[4], "alert=flow_table_full");
	run_free(&r);
}

static void
test_table_bound(void **st)
{
	struct alerts_opts o = { .hold_entries = 64, .burst = 1000000 };
	struct run r;
	char name[32];
	int i;

	run_open(&r, 3600, &o);
	assert_int_equal(alerts_raise(r.a, "k", "old", T0, NULL, 0), 1);
	assert_int_equal(alerts_raise(r.a, "k", "old", T0 + 1, NULL, 0), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "s%d", i);
		assert_int_equal(alerts_raise(r.a, "k", name, T0 + 1 + i, NULL, 0), 1);
	}
	/* 64 entries remembered: "old" was forgotten (its set filled with
	 * newer keys), the newest key is still held down. */
	assert_int_equal(alerts_raise(r.a, "k", "old", T0 + 1002, NULL, 0), 1);
	assert_int_equal(alerts_raise(r.a, "k", "s999", T0 + 1003, NULL, 0), 0);
	run_close(&r);
	assert_true(r.st.hold_evicted >= 1000 - 64);
	assert_int_equal(r.nlog, 1002);
	/* The suppressed count of the forgotten entry went with it. */
	assert_string_equal(r.ll[1001], "alert=k subscriber=old");
	run_free(&r);
}

static void
test_rate_limit(void **st)
{
	struct alerts_opts o = { .burst = 10, .rate = 2 };
	struct run r;
	char name[32];
	int i, ok = 0;

	run_open(&r, 3600, &o);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "s%d", i);
		ok += alerts_raise(r.a, "k", name, T0, NULL, 0) == 1;
	}
	assert_int_equal(ok, 10);
	alerts_flush(r.a);
	/* Three seconds of packet time later: six more tokens. A dropped
	 * alert did not arm its holddown, so s10.. can be raised again. */
	for (ok = 0, i = 10; i < 50; i++) {
		snprintf(name, sizeof name, "s%d", i);
		ok += alerts_raise(r.a, "k", name, T0 + 3, NULL, 0) == 1;
	}
	assert_int_equal(ok, 6);
	run_close(&r);
	assert_int_equal(r.st.dropped_rate, 40 + 34);
	assert_int_equal(r.nlog, 10 + 1 + 6 + 1);
	assert_string_equal(r.ll[10], "alert=alerts_dropped count=40");
	assert_string_equal(r.ll[17], "alert=alerts_dropped count=34");
	assert_string_equal(r.jl[17], "{\"ts\":\"2026-01-01T00:05:03Z\",\"sensor\":\"pop-1\","
	    "\"alert\":\"alerts_dropped\",\"count\":34}");
	run_free(&r);
}

/* The queue, not the rate limit, decides here: whatever the sink keeps
 * up with is written, the rest is counted, and the sums agree. */
static void
test_queue_full(void **st)
{
	struct alerts_opts o = { .queue_slots = 16, .burst = 1000000000, .rate = 1000000000 };
	struct run r;
	char name[32];
	uint64_t ok = 0, dropped = 0, summed = 0;

	run_open(&r, 3600, &o);
	for (int i = 0; i < 20000; i++) {
		int rc;

		snprintf(name, sizeof name, "s%d", i);
		rc = alerts_raise(r.a, "k", name, T0, NULL, 0);
		ok += rc == 1;
		dropped += rc == -1;
	}
	run_close(&r);
	assert_int_equal(ok + dropped, 20000);
	assert_int_equal(r.st.dropped_full, dropped);
	assert_int_equal(r.st.raised, ok);
	assert_true(dropped > 0);
	for (size_t i = 0; i < r.nlog; i++)
		if (strncmp(r.ll[i], "alert=alerts_dropped count=", 27) == 0)
			summed += strtoull(r.ll[i] + 27, NULL, 10);
	assert_int_equal(summed, dropped);
	assert_true(r.nlog >= ok + 1);
	print_message("queue of 16: %llu written, %llu dropped, %zu lines\n",
	    (unsigned long long)ok, (unsigned long long)dropped, r.nlog);
	run_free(&r);
}

static void
test_blocking_loses_nothing(void **st)
{
	struct alerts_opts o = { .queue_slots = 16, .block = 1, .burst = 1000000000 };
	struct run r;
	char name[32];

	run_open(&r, 3600, &o);
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "s%d", i);
		assert_int_equal(alerts_raise(r.a, "k", name, T0, NULL, 0), 1);
	}
	run_close(&r);
	assert_int_equal(r.nlog, 5000);
	assert_string_equal(r.ll[4999], "alert=k subscriber=s4999");
	run_free(&r);
}

/* 100,000 raises at once: distinct subscribers (the rate limit bounds the
 * output to the burst, one summary line tells the rest), and one
 * subscriber (the holddown takes them). */
static void
test_flood(void **st)
{
	enum { N = 100000 };
	struct run r;
	struct timespec t0;
	struct alert_field f[3];
	char (*names)[24] = malloc(N * sizeof *names);
	double ns_distinct, ns_same, ns_queued;
	int ok = 0;

	for (int i = 0; i < N; i++)
		snprintf(names[i], sizeof names[i], "cust-%06d", i);
	f[0] = fa("ip", AF_INET, "100.64.0.42");
	f[1] = fs("ehlo", "bot.example\r\n");
	f[2] = fu("rcpt", 412);

	run_open(&r, 3600, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		ok += alerts_raise(r.a, "smtp_direct", names[i], T0, f, 3) == 1;
	ns_distinct = ns_since(&t0) / N;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		alerts_raise(r.a, "smtp_direct", names[0], T0 + i / 1000, f, 3);
	ns_same = ns_since(&t0) / N;
	run_close(&r);

	assert_int_equal(ok, ALERTS_BURST);
	assert_int_equal(r.st.dropped_rate, N - ALERTS_BURST);
	assert_int_equal(r.st.suppressed, N);
	assert_int_equal(r.nlog, ALERTS_BURST + 1);
	assert_string_equal(r.ll[ALERTS_BURST], "alert=alerts_dropped count=99000");
	assert_non_null(strstr(r.ll[0], "ehlo=\"bot.example\\x0d\\x0a\""));
	run_free(&r);

	/* The queued path alone: no rate limit, as many as the queue holds
	 * while the sink writes. */
	{
		struct alerts_opts o = { .burst = 1000000000, .rate = 1000000000 };

		run_open(&r, 3600, &o);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < ALERTS_QUEUE_SLOTS; i++)
			alerts_raise(r.a, "smtp_direct", names[i], T0, f, 3);
		ns_queued = ns_since(&t0) / ALERTS_QUEUE_SLOTS;
		run_close(&r);
		run_free(&r);
	}
	print_message("alerts_raise: %.0f ns queued, %.0f ns rate-dropped (distinct "
	    "subscribers), %.0f ns held down (one subscriber)\n",
	    ns_queued, ns_distinct, ns_same);
	/* Generous, for the sanitizer build and a busy machine: the point is
	 * microseconds, not the milliseconds of a blocking write. */
	assert_true(ns_distinct < 20000 && ns_same < 20000 && ns_queued < 20000);
	free(names);
}

static void
test_null_is_fine(void **st)
{
	struct alerts_stats s;

	assert_int_equal(alerts_raise(NULL, "k", NULL, T0, NULL, 0), 0);
	assert_int_equal(alerts_count(NULL), 0);
	alerts_stats(NULL, &s);
	assert_int_equal(s.raised, 0);
	alerts_flush(NULL);
	alerts_close(NULL);
}

static void
test_json_unwritable(void **st)
{
	struct sw_config cfg;
	struct alerts_opts o = { .use_syslog = 0, .json_path = "/nonexistent/dir/a.json" };

	config_defaults(&cfg);
	assert_null(alerts_open(&cfg, &o));
	config_free(&cfg);
}

static void
test_validator_rejects(void **st)
{
	/* The checker itself must catch what the escaping prevents. */
	assert_true(json_line_ok("{\"a\":\"x\",\"b\":12}"));
	assert_false(json_line_ok("{\"a\":\"x\ny\"}"));
	assert_false(json_line_ok("{\"a\":\"\x80\"}"));
	assert_false(json_line_ok("{\"a\":\"\xed\xa0\x80\"}"));
	assert_false(json_line_ok("{\"a\":\"\\x41\"}"));
	assert_false(json_line_ok("{\"a\":\"x\"} "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator_rejects),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_keys_forced_to_names),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_holddown),
		cmocka_unit_test(test_holddown_zero_repeats),
		cmocka_unit_test(test_table_bound),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_blocking_loses_nothing),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_null_is_fine),
		cmocka_unit_test(test_json_unwritable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
