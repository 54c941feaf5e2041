/*
 * modules_test.c — the dashboard's pure modules: the top-N table
 * (graphs/rank.c: order, ties, bounds) and the alerts JSON reader
 * (graphs/alertlog.c: spanwatch's lines, escapes, values it must skip,
 * malformed and overlong lines, the ring of the latest). Built and run by
 * t_modules.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alertlog.h"
#include "rank.h"

static void
test_rank_top(void **st)
{
	struct rank r;
	double v[2];

	(void)st;
	assert_int_equal(rank_init(&r, 0), -1);
	assert_int_equal(rank_init(&r, RANK_MAX_N + 1), -1);
	assert_int_equal(rank_init(&r, 3), 0);
	for (int i = 1; i <= 10; i++) {
		char name[16];

		snprintf(name, sizeof name, "s%02d", i);
		v[0] = i;
		v[1] = -i;
		/* 7 is the largest, then 10, 9 (keys are i for i != 7) */
		rank_offer(&r, name, i == 7 ? 100 : i, v, 2);
	}
	rank_offer(&r, "zero", 0, v, 2);
	rank_offer(&r, "nan", NAN, v, 2);
	rank_offer(&r, "neg", -5, v, 2);
	rank_sort(&r);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.rows[0].name, "s07");
	assert_string_equal(r.rows[1].name, "s10");
	assert_string_equal(r.rows[2].name, "s09");
	assert_true(r.rows[0].v[0] == 7 && r.rows[0].v[1] == -7);
	rank_free(&r);
}

/* Equal keys: the alphabetically first names win and come first,
 * whatever the order of offers (directory order is arbitrary). */
static void
test_rank_ties(void **st)
{
	static const char *orders[2][5] = {
		{ "e", "d", "c", "b", "a" },
		{ "c", "a", "e", "b", "d" },
	};

	(void)st;
	for (int o = 0; o < 2; o++) {
		struct rank r;

		assert_int_equal(rank_init(&r, 3), 0);
		for (int i = 0; i < 5; i++)
			rank_offer(&r, orders[o][i], 1, NULL, 0);
		rank_sort(&r);
		assert_int_equal(r.n, 3);
		assert_string_equal(r.rows[0].name, "a");
		assert_string_equal(r.rows[1].name, "b");
		assert_string_equal(r.rows[2].name, "c");
		rank_free(&r);
	}
}

static void
test_rank_long_name(void **st)
{
	char name[RANK_NAME_MAX + 20];
	struct rank r;
	double v[RANK_MAX_VALS + 4] = { 0 };

	(void)st;
	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	assert_int_equal(rank_init(&r, 1), 0);
	rank_offer(&r, name, 1, v, RANK_MAX_VALS + 4);	/* cut, not overrun */
	assert_int_equal(strlen(r.rows[0].name), RANK_NAME_MAX);
	rank_free(&r);
}

static void
test_parse_spanwatch(void **st)
{
	struct alert_rec a;

	(void)st;
	assert_int_equal(alertlog_parse("{\"ts\":\"2026-01-01T00:00:08Z\","
	    "\"sensor\":\"vm\",\"alert\":\"smtp_direct\",\"subscriber\":"
	    "\"cust-0141\",\"ip\":\"100.64.0.209\",\"sessions\":5,\"mx\":7,"
	    "\"rcpt\":110,\"window\":300,\"helo\":\"dtjmh995\"}\n", &a), 0);
	assert_int_equal(a.ts, 1767225608);
	assert_string_equal(a.kind, "smtp_direct");
	assert_string_equal(a.subscriber, "cust-0141");
	/* the evidence, in file order; sensor kept apart */
	assert_string_equal(a.sensor, "vm");
	assert_string_equal(a.fields, "ip=100.64.0.209 sessions=5 mx=7 "
	    "rcpt=110 window=300 helo=dtjmh995");

	/* sensor alerts have no subscriber; fractions of a second */
	assert_int_equal(alertlog_parse(" { \"alert\" : \"capture_drops\" , "
	    "\"ts\" : \"2026-01-01T00:01:00.250Z\", \"drops\": 12 } ", &a), 0);
	assert_string_equal(a.kind, "capture_drops");
	assert_string_equal(a.subscriber, "");
	assert_int_equal(a.ts, 1767225660);
}

static void
test_parse_hostile(void **st)
{
	struct alert_rec a;

	(void)st;
	/* escapes decoded; values of every kind skipped, nested too */
	assert_int_equal(alertlog_parse("{\"x\":{\"y\":[1,-2.5e3,{\"z\":\"}\"}"
	    ",true,null]},\"alert\":\"bt_\\u0076olume\",\"subscriber\":"
	    "\"a\\\"b\\\\c\",\"ts\":\"2026-01-01T00:00:00Z\",\"q\":false}",
	    &a), 0);
	assert_string_equal(a.kind, "bt_volume");
	assert_string_equal(a.subscriber, "a\"b\\c");
	/* nested values are named, not copied; literals as written */
	assert_string_equal(a.fields, "x=... q=false");

	/* more evidence than fits: cut at a whole pair, marked */
	{
		char line[3000], *p = line;

		p += sprintf(p, "{\"alert\":\"x\",\"ts\":\"2026-01-01T00:00:00Z\"");
		for (int i = 0; i < 100; i++)
			p += sprintf(p, ",\"k%02d\":\"vvvvvvvv\"", i);
		sprintf(p, "}");
		assert_int_equal(alertlog_parse(line, &a), 0);
		assert_true(strlen(a.fields) <= ALERTLOG_FIELDS_MAX);
		assert_non_null(strstr(a.fields, "k00=vvvvvvvv k01="));
		assert_string_equal(a.fields + strlen(a.fields) - 4, " ...");
	}

	/* an over-long value is cut, not overrun */
	{
		char line[600], *p = line;

		p += sprintf(p, "{\"alert\":\"");
		memset(p, 'k', 300);
		p += 300;
		sprintf(p, "\",\"ts\":\"2026-01-01T00:00:00Z\"}");
		assert_int_equal(alertlog_parse(line, &a), 0);
		assert_int_equal(strlen(a.kind), ALERTLOG_KIND_MAX);
	}

	static const char *bad[] = {
		"",
		"[]",
		"{}",
		"{\"alert\":\"x\"}",				/* no ts */
		"{\"ts\":\"2026-01-01T00:00:00Z\"}",		/* no alert */
		"{\"alert\":\"x\",\"ts\":\"2026-13-01T00:00:00Z\"}",
		"{\"alert\":\"x\",\"ts\":\"2026-01-01 00:00:00\"}",
		"{\"alert\":\"x\",\"ts\":\"2026-01-01T00:00:00+02:00\"}",
		"{\"alert\":\"x\",\"ts\":\"2026-01-01T00:00:00Z\"",	/* open */
		"{\"alert\":\"x\" \"ts\":\"2026-01-01T00:00:00Z\"}",	/* no , */
		"{\"alert\":\"x\tz\",\"ts\":\"2026-01-01T00:00:00Z\"}",
		"{\"alert\":\"x\\q\",\"ts\":\"2026-01-01T00:00:00Z\"}",
		"{\"alert\":\"x\\u12\",\"ts\":\"2026-01-01T00:00:00Z\"}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]],"
		    "\"alert\":\"x\",\"ts\":\"2026-01-01T00:00:00Z\"}",
		"{\"a\":@,\"alert\":\"x\",\"ts\":\"2026-01-01T00:00:00Z\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (alertlog_parse(bad[i], &a) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_load(void **st)
{
	char path[] = "/tmp/spanwatch-alertlog.XXXXXX";
	struct alertlog al;
	FILE *fp;
	int fd;

	(void)st;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"alert\":\"a1\",\"subscriber\":\"s1\","
	    "\"ts\":\"2026-01-01T00:00:00Z\"}\n");		/* before range */
	fprintf(fp, "{\"alert\":\"a2\",\"subscriber\":\"s1\","
	    "\"ts\":\"2026-01-01T00:01:00Z\"}\n");
	fprintf(fp, "not json\n\n");
	fprintf(fp, "{\"alert\":\"a3\",\"pad\":\"");		/* overlong */
	for (int i = 0; i < 3 * ALERTLOG_LINE_MAX; i++)
		fputc('p', fp);
	fprintf(fp, "\",\"ts\":\"2026-01-01T00:01:30Z\"}\n");
	fprintf(fp, "{\"alert\":\"a4\",\"subscriber\":\"s2\","
	    "\"ts\":\"2026-01-01T00:02:00Z\"}\n");
	fprintf(fp, "{\"alert\":\"a5\",\"subscriber\":\"s1\","
	    "\"ts\":\"2026-01-01T00:03:00Z\"}\n");
	fprintf(fp, "{\"alert\":\"a6\",\"subscriber\":\"s1\","
	    "\"ts\":\"2026-01-01T01:00:00Z\"}");		/* after; no \n */
	fclose(fp);

	assert_int_equal(alertlog_load(path, 1767225660, 1767225900, 2, &al),
	    0);
	assert_int_equal(al.total, 3);		/* a2, a4, a5 */
	assert_int_equal(al.n, 2);		/* the latest two */
	assert_int_equal(al.bad, 2);		/* "not json", the long one */
	assert_string_equal(alertlog_get(&al, 0)->kind, "a4");
	assert_string_equal(alertlog_get(&al, 1)->kind, "a5");
	assert_int_equal(alertlog_count(&al, "s1", 0, 2000000000), 1);
	assert_int_equal(alertlog_count(&al, NULL, 0, 2000000000), 2);
	assert_int_equal(alertlog_count(&al, NULL, 1767225781, 1767225800),
	    0);
	alertlog_free(&al);

	assert_int_equal(alertlog_load(path, 0, 2000000000, 100, &al), 0);
	assert_int_equal(al.total, 5);
	assert_string_equal(alertlog_get(&al, 0)->kind, "a1");
	assert_string_equal(alertlog_get(&al, 4)->kind, "a6");
	alertlog_free(&al);
	unlink(path);

	assert_int_equal(alertlog_load("/nonexistent/alerts.json", 0, 1, 10,
	    &al), -1);
}

/* After a rotation: the renamed file (path.1) first, then the new one. */
static void
test_load_rotated(void **st)
{
	char dir[] = "/tmp/spanwatch-alertlog.XXXXXX", path[64], prev[80];
	struct alertlog al;
	FILE *fp;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/alerts.json", dir);
	snprintf(prev, sizeof prev, "%s.1", path);
	fp = fopen(prev, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"alert\":\"r1\",\"ts\":\"2026-01-01T23:58:00Z\"}\n");
	fprintf(fp, "{\"alert\":\"r2\",\"ts\":\"2026-01-01T23:59:00Z\"}\n");
	fclose(fp);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "{\"alert\":\"r3\",\"ts\":\"2026-01-02T00:01:00Z\"}\n");
	fclose(fp);

	assert_int_equal(alertlog_load(path, 0, 2000000000, 2, &al), 0);
	assert_int_equal(al.total, 3);
	assert_int_equal(al.n, 2);
	assert_string_equal(alertlog_get(&al, 0)->kind, "r2");
	assert_string_equal(alertlog_get(&al, 1)->kind, "r3");
	alertlog_free(&al);

	/* The new file missing is still an error, whatever path.1 holds. */
	unlink(path);
	assert_int_equal(alertlog_load(path, 0, 2000000000, 2, &al), -1);
	unlink(prev);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rank_top),
		cmocka_unit_test(test_rank_ties),
		cmocka_unit_test(test_rank_long_name),
		cmocka_unit_test(test_parse_spanwatch),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_rotated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
