/*
 * chsrc.c — per-subscriber sums from ClickHouse (see chsrc.h).
 *
 * The query names the columns after the subscriber RRD's data sources
 * (the writer uses the same names), so a row's values land in the same
 * enum rrdw_sub_ds slots the RRD scan fills and the pages need no second
 * code path. FORMAT TabSeparated and sum() of UInt64 are what the oldest
 * server we support (18.16) answers; each field is checked: a name the
 * sensor would refuse, a value that is not a whole number, a missing or
 * extra field or an overlong line stops the parse with the line number.
 */
#include "chsrc.h"

#include "rrdschema.h"
#include "units.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 1024	/* a name and 14 numbers fit many times */
#define SQL_MAX 4096

struct parse {
	struct rank *ranks;
	const struct rrdw_schema *sch;
	char line[LINE_MAX_LEN + 1];
	size_t len;
	unsigned long lineno;
	size_t subs;
	int bad;		/* why[] says which line */
	char why[256];
	char err[512];		/* start of a non-200 reply */
	size_t errlen;
};

/* One reply line: NAME TAB v1 TAB ... vN. Returns 0 or -1 (p->why). */
static int
parse_line(struct parse *p, char *s)
{
	double sum[RRDW_MAX_DS] = { 0 };
	const char *why;
	char *tab = strchr(s, '\t');

	if (tab == NULL) {
		snprintf(p->why, sizeof p->why, "reply line %lu: no fields "
		    "after the subscriber", p->lineno);
		return -1;
	}
	*tab = '\0';
	if (strlen(s) > RANK_NAME_MAX ||
	    units_check_name(s, RRDW_NAME_MAX, &why) < 0) {
		snprintf(p->why, sizeof p->why, "reply line %lu: subscriber "
		    "name refused", p->lineno);
		return -1;
	}
	for (size_t k = 0; k < p->sch->nds; k++) {
		char *f = tab + 1, *end;
		unsigned long long v;

		tab = strchr(f, '\t');
		if ((tab == NULL) != (k + 1 == p->sch->nds)) {
			snprintf(p->why, sizeof p->why, "reply line %lu: "
			    "%s fields, %zu expected", p->lineno, tab == NULL ?
			    "fewer" : "more", p->sch->nds + 1);
			return -1;
		}
		if (tab != NULL)
			*tab = '\0';
		errno = 0;
		v = strtoull(f, &end, 10);
		if (f[0] < '0' || f[0] > '9' || *end != '\0' || errno != 0) {
			snprintf(p->why, sizeof p->why, "reply line %lu: "
			    "field %zu (%s) is not a count", p->lineno, k + 2,
			    p->sch->ds[k].name);
			return -1;
		}
		sum[k] = (double)v;
	}
	p->subs++;
	rank_offer(&p->ranks[SUBSCAN_BT], s,
	    sum[RRDW_U_BT_IN] + sum[RRDW_U_BT_OUT], sum, p->sch->nds);
	rank_offer(&p->ranks[SUBSCAN_SMTP], s, sum[RRDW_U_SMTP_DIRECT], sum,
	    p->sch->nds);
	return 0;
}

/* libcurl's write callback: cuts the reply into lines. Returning less
 * than given stops the transfer (a bad line). */
static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct parse *p = arg;
	size_t n = size * nmemb;

	if (p->bad)
		return 0;
	/* Keep the start of the reply for an error message too. */
	if (p->errlen < sizeof p->err - 1) {
		size_t c = sizeof p->err - 1 - p->errlen;

		c = c < n ? c : n;
		memcpy(p->err + p->errlen, data, c);
		p->errlen += c;
		p->err[p->errlen] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		if (data[i] != '\n') {
			if (p->len == LINE_MAX_LEN) {
				snprintf(p->why, sizeof p->why, "reply line "
				    "%lu: longer than %d bytes", p->lineno + 1,
				    LINE_MAX_LEN);
				p->bad = 1;
				return 0;
			}
			p->line[p->len++] = data[i];
			continue;
		}
		p->line[p->len] = '\0';
		p->lineno++;
		p->len = 0;
		if (parse_line(p, p->line) < 0) {
			p->bad = 1;
			return 0;
		}
	}
	return n;
}

/* Appends s to the query as a quoted ClickHouse string. */
static size_t
put_str(char *q, size_t n, const char *s)
{
	if (n < SQL_MAX)
		q[n++] = '\'';
	for (; *s != '\0' && n + 3 < SQL_MAX; s++) {
		if (*s == '\'' || *s == '\\')
			q[n++] = '\\';
		q[n++] = *s;
	}
	if (n < SQL_MAX)
		q[n++] = '\'';
	q[n < SQL_MAX ? n : SQL_MAX - 1] = '\0';
	return n;
}

int
chsrc_rank(const struct chsrc_cfg *c, struct rank ranks[SUBSCAN_NRANKS],
    size_t *subs, char *why, size_t wlen)
{
	static struct parse p;	/* 2 kB of buffers, one query at a time */
	char sql[SQL_MAX], url[2048];
	size_t n;
	long code = 0;
	CURLcode rc;
	CURL *cu;
	char *db;

	memset(&p, 0, sizeof p);
	p.ranks = ranks;
	p.sch = rrdw_schema(RRDW_SUBSCRIBER);
	*subs = 0;
	n = (size_t)snprintf(sql, sizeof sql, "SELECT subscriber");
	for (size_t k = 0; k < p.sch->nds && n < sizeof sql; k++)
		n += (size_t)snprintf(sql + n, sizeof sql - n, ", sum(%s)",
		    p.sch->ds[k].name);
	if (n < sizeof sql)
		n += (size_t)snprintf(sql + n, sizeof sql - n,
		    " FROM subscriber_steps WHERE sensor = ");
	n = put_str(sql, n, c->sensor);
	if (c->only != NULL && n < sizeof sql) {
		n += (size_t)snprintf(sql + n, sizeof sql - n,
		    " AND subscriber = ");
		n = put_str(sql, n, c->only);
	}
	if (n < sizeof sql)
		n += (size_t)snprintf(sql + n, sizeof sql - n,
		    " AND ts > toDateTime(%lld) AND ts <= toDateTime(%lld)"
		    " GROUP BY subscriber FORMAT TabSeparated",
		    (long long)c->start, (long long)c->end);
	if (n >= sizeof sql) {
		snprintf(why, wlen, "query too long");
		return -1;
	}

	cu = curl_easy_init();
	if (cu == NULL) {
		snprintf(why, wlen, "libcurl: cannot start");
		return -1;
	}
	db = curl_easy_escape(cu, c->db, 0);
	snprintf(url, sizeof url, "%s%cdatabase=%s", c->url,
	    strchr(c->url, '?') ? '&' : '?', db != NULL ? db : "");
	curl_free(db);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, sql);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &p);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, (long)(c->timeout ? c->timeout :
	    60));
	rc = curl_easy_perform(cu);
	/* Known once the headers came, even if a bad line stopped it. */
	curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(cu);
	if (code != 0 && code != 200) {
		size_t l = strcspn(p.err, "\n");

		snprintf(why, wlen, "HTTP %ld: %.*s", code,
		    (int)(l > 300 ? 300 : l), p.err);
		return -1;
	}
	if (p.bad) {
		snprintf(why, wlen, "%s", p.why);
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(why, wlen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (p.len != 0) {
		snprintf(why, wlen, "reply line %lu: cut short", p.lineno + 1);
		return -1;
	}
	*subs = p.subs;
	return 0;
}
