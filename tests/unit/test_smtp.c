/*
 * test_smtp.c — the smtp collector through its hooks, with a real
 * subscriber map and alert sink (JSON file) and no RRD writer: which
 * sessions alert (unauth direct ones past the maxima; never relayed,
 * authenticated or exempt ones), the alert's fields, a surge after a long
 * quiet history, a reload that renumbers subscribers, a full parser pool
 * and tracker recycling (bounded, no crash, still alerting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "collector.h"
#include "config.h"
#include "submap.h"

extern const struct collector collector_smtp;

#define T0 1767225600u	/* 2026-01-01, a multiple of 60 */

struct rig {
	char dir[64], json[96];
	struct sw_config cfg;
	struct submap *map;
	struct alerts *al;
	struct collector_env env;
	void *c;
	uint32_t next_id;
	char *out;		/* the JSON file, after rig_alerts */
};

static struct submap *
map_of(const char *dir, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return submap_load(path);
}

static void
rig_open_flows(struct rig *r, const char *subs, const char *const *conf, const char *max_flows)
{
	memset(r, 0, sizeof *r);
	strcpy(r->dir, "/tmp/sw-test-smtp-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->json, sizeof r->json, "%s/alerts.json", r->dir);
	config_defaults(&r->cfg);
	assert_int_equal(config_set(&r->cfg, "alerts", "holddown", "0", NULL), 0);
	assert_int_equal(config_set(&r->cfg, "sensor", "max_flows", max_flows, NULL), 0);
	for (; conf && conf[0]; conf += 2)
		assert_int_equal(config_set(&r->cfg, "smtp", conf[0], conf[1], NULL), 0);
	r->map = map_of(r->dir, "subs.txt", subs);
	assert_non_null(r->map);
	struct alerts_opts o = { .use_syslog = 0, .json_path = r->json, .block = 1 };
	r->al = alerts_open(&r->cfg, &o);
	assert_non_null(r->al);
	r->env = (struct collector_env){ .cfg = &r->cfg, .subs = r->map, .alerts = r->al,
					 .step = 60, .step_end = T0 + 60 };
	r->c = collector_smtp.start(&r->env);
	assert_non_null(r->c);
}

static void
rig_open(struct rig *r, const char *subs, const char *const *conf)
{
	rig_open_flows(r, subs, conf, "1000");
}

/* Reads the alerts so far into r->out. */
static const char *
rig_alerts(struct rig *r)
{
	FILE *f;
	long n;

	alerts_flush(r->al);
	free(r->out);
	f = fopen(r->json, "r");
	if (!f)
		return r->out = calloc(1, 1);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	r->out = calloc((size_t)n + 1, 1);
	assert_int_equal(fread(r->out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return r->out;
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void
rig_close(struct rig *r)
{
	char cmd[128];

	collector_smtp.stop(r->c);
	alerts_close(r->al);
	submap_free(r->map);
	config_free(&r->cfg);
	free(r->out);
	snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
	assert_int_equal(system(cmd), 0);
}

/* One open session of the client at 100.64.0.<cli> (subscriber sub) to
 * the server at 198.18.<far/256>.<far%256>, port 25. */
struct sess {
	struct flow f;
	uint32_t seq[2];
};

static void
pkt_send(struct rig *r, struct sess *s, enum flow_dir d, uint8_t flags, const char *txt,
	 uint64_t ts_us, int created)
{
	struct pkt p = { .ts_us = ts_us, .tcp_flags = flags, .family = 4, .proto = 6 };
	struct flow_event ev = { .f = &s->f, .p = &p, .dir = d, .from_a = d == FLOW_C2S,
				 .created = (uint8_t)created };

	p.payload = (const uint8_t *)txt;
	p.payload_len = txt ? (uint32_t)strlen(txt) : 0;
	p.tcp_seq = s->seq[d];
	s->seq[d] += p.payload_len + ((flags & TCP_SYN) ? 1 : 0);
	s->f.last_us = ts_us;
	collector_smtp.packet(r->c, &ev);
}

static void
sess_open(struct rig *r, struct sess *s, int sub, unsigned cli, unsigned far, uint64_t ts_us)
{
	memset(s, 0, sizeof *s);
	s->f.key.family = 4;
	s->f.key.proto = 6;
	s->f.key.a[0] = 100, s->f.key.a[1] = 64, s->f.key.a[3] = (uint8_t)cli;
	s->f.key.a[2] = (uint8_t)(cli >> 8);
	s->f.key.b[0] = 198, s->f.key.b[1] = 18, s->f.key.b[2] = (uint8_t)(far >> 8);
	s->f.key.b[3] = (uint8_t)far;
	s->f.key.aport = (uint16_t)(30000 + r->next_id % 30000);
	s->f.key.bport = 25;
	s->f.client_is_a = 1;
	s->f.sub_a = sub;
	s->f.sub_b = -1;
	s->f.id = r->next_id++ % r->cfg.sensor.max_flows;
	s->f.first_us = ts_us;
	s->seq[0] = 1000;
	s->seq[1] = 5000;
	pkt_send(r, s, FLOW_C2S, TCP_SYN, NULL, ts_us, 1);
	pkt_send(r, s, FLOW_S2C, TCP_SYN | TCP_ACK, NULL, ts_us + 1000, 0);
	pkt_send(r, s, FLOW_S2C, TCP_ACK, "220 mx ESMTP\r\n", ts_us + 2000, 0);
	pkt_send(r, s, FLOW_C2S, TCP_ACK, "EHLO bot.example\r\n", ts_us + 3000, 0);
}

static void
sess_end(struct rig *r, struct sess *s)
{
	collector_smtp.flow_end(r->c, &s->f, FLOW_END_CLOSED);
}

/* A whole unauth session with n recipients. */
static void
session(struct rig *r, int sub, unsigned cli, unsigned far, uint64_t ts_us, int n, int auth)
{
	struct sess s;

	sess_open(r, &s, sub, cli, far, ts_us);
	if (auth) {
		pkt_send(r, &s, FLOW_C2S, TCP_ACK, "AUTH PLAIN AGEAYg==\r\n", ts_us + 4000, 0);
		pkt_send(r, &s, FLOW_S2C, TCP_ACK, "250 hi\r\n235 ok\r\n", ts_us + 5000, 0);
	}
	pkt_send(r, &s, FLOW_C2S, TCP_ACK, "MAIL FROM:<x@spam.example>\r\n", ts_us + 6000, 0);
	for (int i = 0; i < n; i++)
		pkt_send(r, &s, FLOW_C2S, TCP_ACK, "RCPT TO:<v@victim.example>\r\n",
			 ts_us + 7000 + (uint64_t)i, 0);
	pkt_send(r, &s, FLOW_C2S, TCP_ACK, "QUIT\r\n", ts_us + 9000, 0);
	sess_end(r, &s);
}

static const char subs3[] = "100.64.0.1/32 cust-a\n100.64.0.2/32 cust-b\n100.64.0.3/32 mta\n"
			    "100.64.0.4/32 cust-d\n";

static void
test_who_alerts(void **st)
{
	static const char *const conf[] = { "exempt", "mta", "relays", "198.18.0.25", NULL };
	struct rig r;
	const char *out;

	rig_open(&r, subs3, conf);
	for (unsigned i = 0; i < 30; i++) {
		uint64_t t = (uint64_t)(T0 + i) * 1000000;

		session(&r, 0, 1, 100 + i, t, 1, 0);		/* cust-a: a bot */
		session(&r, 1, 2, 25, t, 5, 0);			/* cust-b: via the relay */
		session(&r, 2, 3, 100 + i, t, 5, 0);		/* mta: exempt */
		session(&r, 3, 4, 100 + i, t, 5, 1);		/* cust-d: authenticated */
	}
	out = rig_alerts(&r);
	/* cust-a passes max_mx (10) first: 11 distinct far ends. */
	assert_true(strstr(out, "\"alert\":\"smtp_direct\"") != NULL);
	assert_true(strstr(out, "\"subscriber\":\"cust-a\"") != NULL);
	assert_true(strstr(out, "\"ip\":\"100.64.0.1\"") != NULL);
	assert_true(strstr(out, "\"mx\":11") != NULL);
	assert_true(strstr(out, "\"helo\":\"bot.example\"") != NULL);
	assert_true(strstr(out, "\"from_domain\":\"spam.example\"") != NULL);
	assert_true(strstr(out, "\"window\":300") != NULL);
	assert_int_equal(count(out, "cust-b"), 0);
	assert_int_equal(count(out, "\"mta\""), 0);
	/* cust-d's mail went direct to many hosts, 150 recipients: past
	 * max_mx and max_rcpt even though it authenticated, but with no
	 * unauth session. */
	assert_int_equal(count(out, "\"subscriber\":\"cust-d\""), 1);
	assert_true(strstr(out, "\"sessions\":0") != NULL);
	/* Said again at most once per step while it lasts: all in one step. */
	assert_int_equal(count(out, "\"subscriber\":\"cust-a\""), 1);
	rig_close(&r);
}

/* Issue 13.11: a maximum of 0 flags the first of its kind. With
 * max_sessions = 0 the first unauth direct session raises smtp_direct
 * and an authenticated one does not; max_mx = 0 flags the first far end
 * (whatever the session), max_rcpt = 0 the first recipient. */
static void
test_max_zero(void **st)
{
	static const char *const c_sess[] = { "max_sessions", "0", NULL };
	static const char *const c_mx[] = { "max_mx", "0", NULL };
	static const char *const c_rcpt[] = { "max_rcpt", "0", "max_sessions", "1000", NULL };
	struct rig r;
	const char *out;

	rig_open(&r, subs3, c_sess);
	session(&r, 3, 4, 100, (uint64_t)(T0 + 1) * 1000000, 1, 1);	/* cust-d: auth */
	assert_int_equal(count(rig_alerts(&r), "smtp_direct"), 0);
	session(&r, 0, 1, 100, (uint64_t)(T0 + 2) * 1000000, 1, 0);	/* cust-a: unauth */
	out = rig_alerts(&r);
	assert_int_equal(count(out, "\"alert\":\"smtp_direct\""), 1);
	assert_int_equal(count(out, "\"subscriber\":\"cust-a\""), 1);
	assert_true(strstr(out, "\"sessions\":1,") != NULL);
	assert_int_equal(count(out, "cust-d"), 0);
	rig_close(&r);

	rig_open(&r, subs3, c_mx);
	session(&r, 3, 4, 100, (uint64_t)(T0 + 1) * 1000000, 1, 1);
	out = rig_alerts(&r);
	assert_int_equal(count(out, "\"subscriber\":\"cust-d\""), 1);
	assert_true(strstr(out, "\"sessions\":0,\"mx\":1,") != NULL);
	rig_close(&r);

	rig_open(&r, subs3, c_rcpt);
	session(&r, 0, 1, 100, (uint64_t)(T0 + 1) * 1000000, 1, 0);
	out = rig_alerts(&r);
	assert_int_equal(count(out, "\"subscriber\":\"cust-a\""), 1);
	assert_true(strstr(out, "\"rcpt\":1,") != NULL);
	rig_close(&r);
}

/* Issue 14.8: a far end that answers 235 to no AUTH does not make the
 * session authenticated: counted unauth (here the first one alerts). */
static void
test_unasked_235(void **st)
{
	static const char *const conf[] = { "max_sessions", "0", NULL };
	struct rig r;
	struct sess s;
	uint64_t t = (uint64_t)(T0 + 1) * 1000000;

	rig_open(&r, subs3, conf);
	session(&r, 3, 4, 100, t, 1, 1);		/* cust-d: a real AUTH */
	sess_open(&r, &s, 0, 1, 101, t);		/* cust-a: 235 unasked */
	pkt_send(&r, &s, FLOW_S2C, TCP_ACK, "250 hi\r\n235 2.7.0 Authentication successful\r\n",
		 t + 4000, 0);
	pkt_send(&r, &s, FLOW_C2S, TCP_ACK, "MAIL FROM:<x@spam.example>\r\n", t + 5000, 0);
	pkt_send(&r, &s, FLOW_C2S, TCP_ACK, "RCPT TO:<v@victim.example>\r\n", t + 6000, 0);
	pkt_send(&r, &s, FLOW_C2S, TCP_ACK, "QUIT\r\n", t + 7000, 0);
	sess_end(&r, &s);
	const char *out = rig_alerts(&r);
	assert_int_equal(count(out, "\"subscriber\":\"cust-a\""), 1);
	assert_true(strstr(out, "\"sessions\":1,") != NULL);
	assert_int_equal(count(out, "cust-d"), 0);
	rig_close(&r);
}

/* Issue 14.9: an EHLO name (or sender domain) longer than the parser
 * keeps shows its start and says it was cut; a whole one says nothing. */
static void
test_names_cut(void **st)
{
	static const char *const conf[] = { "max_sessions", "0", NULL };
	char line[320], name[100];
	struct rig r;
	struct sess s;
	uint64_t t = (uint64_t)(T0 + 1) * 1000000;

	memset(name, 'h', 90);
	name[90] = '\0';
	rig_open(&r, subs3, conf);
	sess_open(&r, &s, 0, 1, 100, t);
	snprintf(line, sizeof line, "EHLO %s\r\nMAIL FROM:<x@%s.example>\r\n", name, name);
	pkt_send(&r, &s, FLOW_C2S, TCP_ACK, line, t + 4000, 0);
	pkt_send(&r, &s, FLOW_C2S, TCP_ACK, "QUIT\r\n", t + 5000, 0);
	sess_end(&r, &s);
	session(&r, 1, 2, 100, t + 10000, 1, 0);	/* cust-b: bot.example */
	const char *out = rig_alerts(&r);
	name[63] = '\0';
	snprintf(line, sizeof line, "\"helo\":\"%s\",\"helo_truncated\":1,", name);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof line, "\"from_domain\":\"%s\",\"from_domain_truncated\":1", name);
	assert_non_null(strstr(out, line));
	assert_int_equal(count(out, "_truncated"), 2);
	assert_non_null(strstr(out, "\"helo\":\"bot.example\""));
	rig_close(&r);
}

/* A subscriber that sends one session every 10 minutes for 8 hours, then
 * 30 in two minutes. */
static void
test_surge(void **st)
{
	static const char *const conf[] = { "max_sessions", "1000", "max_mx", "1000", "max_rcpt",
					    "100000", NULL };
	struct rig r;
	const char *out;

	rig_open(&r, subs3, conf);
	/* One session every 10 minutes for 25 hours (past the day of
	 * warm-up), then 30 in two minutes. */
	for (unsigned i = 0; i < 150; i++)
		session(&r, 0, 1, 7, (uint64_t)(T0 + i * 600) * 1000000, 1, 0);
	assert_int_equal(count(rig_alerts(&r), "smtp_surge"), 0);
	for (unsigned i = 0; i < 30; i++)
		session(&r, 0, 1, 7, (uint64_t)(T0 + 150 * 600 + i * 4) * 1000000, 1, 0);
	out = rig_alerts(&r);
	/* In both steps the burst spans (said once per step while it lasts). */
	assert_int_equal(count(out, "\"alert\":\"smtp_surge\""), 2);
	assert_true(strstr(out, "\"subscriber\":\"cust-a\"") != NULL);
	assert_true(strstr(out, "\"factor\":\"5.0\"") != NULL);
	assert_int_equal(count(out, "smtp_direct"), 0);
	rig_close(&r);
}

static void
test_reload(void **st)
{
	struct rig r;
	struct sess open;
	struct submap *map2;
	struct sw_config cfg2;
	struct collector_env env2;

	rig_open(&r, subs3, NULL);
	/* cust-b: 20 unauth sessions (the maximum), one more open. */
	for (unsigned i = 0; i < 20; i++)
		session(&r, 1, 2, 7, (uint64_t)(T0 + i) * 1000000, 1, 0);
	sess_open(&r, &open, 1, 2, 7, (uint64_t)(T0 + 21) * 1000000);
	assert_int_equal(count(rig_alerts(&r), "smtp_direct"), 0);

	/* A new map where cust-b is id 0 and cust-a is gone, and cust-d
	 * exempt. */
	map2 = map_of(r.dir, "subs2.txt", "100.64.0.2/32 cust-b\n100.64.0.4/32 cust-d\n");
	assert_non_null(map2);
	config_defaults(&cfg2);
	assert_int_equal(config_set(&cfg2, "smtp", "exempt", "cust-d", NULL), 0);
	assert_int_equal(config_set(&cfg2, "sensor", "max_flows", "1000", NULL), 0);
	env2 = r.env;
	env2.cfg = &cfg2;
	env2.subs = map2;
	assert_int_equal(collector_smtp.reload(r.c, &env2), 0);
	/* The open session ends unauth under the new map: the 21st. */
	pkt_send(&r, &open, FLOW_C2S, TCP_ACK, "QUIT\r\n", (uint64_t)(T0 + 22) * 1000000, 0);
	sess_end(&r, &open);
	const char *out = rig_alerts(&r);
	assert_int_equal(count(out, "\"subscriber\":\"cust-b\""), 1);
	assert_true(strstr(out, "\"sessions\":21") != NULL);
	/* Exempt now: never alerted. */
	for (unsigned i = 0; i < 30; i++)
		session(&r, 1, 4, 100 + i, (uint64_t)(T0 + 100 + i) * 1000000, 1, 0);
	assert_int_equal(count(rig_alerts(&r), "cust-d"), 0);

	collector_smtp.reload(r.c, &r.env);	/* back to the first map */
	submap_free(map2);
	config_free(&cfg2);
	rig_close(&r);
}

/* More open sessions than parsers (SMTP_POOL_MAX, 65536): the rest are
 * counted blind, as unauth at once, and still alert. */
static void
test_pool_full(void **st)
{
	struct rig r;
	unsigned n = 65536 + 10;
	struct sess *s = calloc(n, sizeof *s);

	assert_non_null(s);
	rig_open_flows(&r, subs3, NULL, "70000");
	for (unsigned i = 0; i < n; i++)
		sess_open(&r, &s[i], 0, 1, 7, (uint64_t)(T0 + 1) * 1000000);
	/* 10 blind sessions: unauth, under the maximum of 20. */
	assert_int_equal(count(rig_alerts(&r), "smtp_direct"), 0);
	for (unsigned i = 0; i < n; i++)
		sess_end(&r, &s[i]);
	assert_int_equal(count(rig_alerts(&r), "\"subscriber\":\"cust-a\""), 1);
	/* The pool is whole again. */
	session(&r, 0, 1, 7, (uint64_t)(T0 + 100) * 1000000, 1, 0);
	free(s);
	rig_close(&r);
}

/* More subscribers with SMTP than trackers: the least recently active
 * are recycled, the bound holds, alerts still come. */
static void
test_many_subscribers(void **st)
{
	struct rig r;
	size_t n = 20000, len = 0;
	char *text = malloc(n * 40);

	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "100.64.%zu.%zu/32 s%zu\n", i / 250, i % 250, i);
	rig_open(&r, text, NULL);
	free(text);
	for (unsigned i = 0; i < n; i++)
		session(&r, (int)i, i / 250 * 256 + i % 250, 7, (uint64_t)(T0 + i / 100) * 1000000, 1, 0);
	for (unsigned i = 0; i < 30; i++)
		session(&r, 5, 5, 7, (uint64_t)(T0 + 200) * 1000000, 1, 0);
	assert_int_equal(count(rig_alerts(&r), "\"subscriber\":\"s5\""), 1);
	rig_close(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_who_alerts),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_unasked_235),
		cmocka_unit_test(test_names_cut),
		cmocka_unit_test(test_surge),
		cmocka_unit_test(test_reload),
		cmocka_unit_test(test_pool_full),
		cmocka_unit_test(test_many_subscribers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
