/*
 * alertlog.c — reading the alerts JSON file (see alertlog.h).
 *
 * The lines are spanwatch's own flat objects, but the file is input like
 * any other: a small scanner walks each object's members, decodes string
 * values (RFC 8259 escapes; \u is kept only for ASCII) and skips every
 * other value, nested ones included, without trusting its shape.
 */
#include "alertlog.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	return p;
}

/* Reads a JSON string at p (at the opening quote) into buf (cut to
 * len - 1 bytes). Returns the position after the closing quote, or NULL. */
static const char *
read_string(const char *p, char *buf, size_t len)
{
	size_t o = 0;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		int c = (unsigned char)*p++;

		if (c < 0x20)	/* NUL too */
			return NULL;
		if (c == '\\') {
			c = (unsigned char)*p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned v = 0;

				for (int i = 0; i < 4; i++, p++) {
					int h = *p;

					v <<= 4;
					if (h >= '0' && h <= '9')
						v |= (unsigned)(h - '0');
					else if (h >= 'a' && h <= 'f')
						v |= (unsigned)(h - 'a' + 10);
					else if (h >= 'A' && h <= 'F')
						v |= (unsigned)(h - 'A' + 10);
					else
						return NULL;
				}
				c = v < 0x80 ? (int)v : '?';
				break;
			}
			default:
				return NULL;
			}
		}
		if (o + 1 < len)
			buf[o++] = (char)c;
	}
	if (len > 0)
		buf[o] = '\0';
	return p + 1;
}

/* Skips any JSON value at p. Returns the position after it, or NULL. */
static const char *
skip_value(const char *p, int depth)
{
	char dummy[1];

	p = skip_ws(p);
	if (depth > 16)
		return NULL;
	if (*p == '"')
		return read_string(p, dummy, sizeof dummy);
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';

		p = skip_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = read_string(skip_ws(p), dummy, sizeof dummy);
				if (p == NULL || *(p = skip_ws(p)) != ':')
					return NULL;
				p++;
			}
			p = skip_value(p, depth + 1);
			if (p == NULL)
				return NULL;
			p = skip_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	/* number, true, false, null */
	if (strchr("-0123456789tfn", *p) == NULL || *p == '\0')
		return NULL;
	while (*p != '\0' && strchr(",}] \t\r\n", *p) == NULL)
		p++;
	return p;
}

/* "2026-01-01T00:00:08Z", optionally with a fraction of a second. */
static int
parse_ts(const char *s, time_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return -1;
	s += n;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	if (strcmp(s, "Z") != 0 && strcmp(s, "+00:00") != 0)
		return -1;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return 0;
}

/* Appends "key=value" to rec->fields, or marks it cut. */
static void
add_field(struct alert_rec *rec, const char *key, const char *val)
{
	size_t len = strlen(rec->fields), need;

	if (len >= 4 && strcmp(rec->fields + len - 4, " ...") == 0)
		return;
	need = (len ? 1 : 0) + strlen(key) + 1 + strlen(val);
	if (len + need + 4 > ALERTLOG_FIELDS_MAX) {
		snprintf(rec->fields + len, sizeof rec->fields - len, " ...");
		return;
	}
	snprintf(rec->fields + len, sizeof rec->fields - len, "%s%s=%s",
	    len ? " " : "", key, val);
}

int
alertlog_parse(const char *line, struct alert_rec *rec)
{
	const char *p = skip_ws(line);
	char key[32], ts[48] = "";

	memset(rec, 0, sizeof *rec);
	if (*p++ != '{')
		return -1;
	p = skip_ws(p);
	if (*p == '}')
		return -1;
	for (;;) {
		p = read_string(skip_ws(p), key, sizeof key);
		if (p == NULL || *(p = skip_ws(p)) != ':')
			return -1;
		p = skip_ws(p + 1);
		if (strcmp(key, "alert") == 0 && *p == '"')
			p = read_string(p, rec->kind, sizeof rec->kind);
		else if (strcmp(key, "subscriber") == 0 && *p == '"')
			p = read_string(p, rec->subscriber,
			    sizeof rec->subscriber);
		else if (strcmp(key, "ts") == 0 && *p == '"')
			p = read_string(p, ts, sizeof ts);
		else if (strcmp(key, "sensor") == 0 && *p == '"')
			p = read_string(p, rec->sensor, sizeof rec->sensor);
		else if (*p == '"') {
			char val[256];

			p = read_string(p, val, sizeof val);
			if (p != NULL)
				add_field(rec, key, val);
		} else {
			const char *q = skip_value(p, 0);
			char val[64];
			size_t n = q ? (size_t)(q - p) : 0;

			if (q != NULL && *p != '{' && *p != '[' &&
			    n < sizeof val) {
				memcpy(val, p, n);
				val[n] = '\0';
			} else
				snprintf(val, sizeof val, "...");
			if (q != NULL)
				add_field(rec, key, val);
			p = q;
		}
		if (p == NULL)
			return -1;
		p = skip_ws(p);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return -1;
	}
	if (rec->kind[0] == '\0' || parse_ts(ts, &rec->ts) < 0)
		return -1;
	return 0;
}

/* Adds the alerts of fp to out. Returns 0, or -1 on a read error (for
 * the caller to say how much it matters). */
static int
load_file(FILE *fp, time_t from, time_t to, struct alertlog *out)
{
	char line[ALERTLOG_LINE_MAX];
	int cut = 0;

	while (fgets(line, sizeof line, fp) != NULL) {
		size_t len = strlen(line);
		struct alert_rec rec;

		/* A line longer than the buffer arrives in pieces; the
		 * first is counted as bad, the rest skipped. */
		if (len > 0 && line[len - 1] != '\n' && !feof(fp)) {
			if (!cut)
				out->bad++;
			cut = 1;
			continue;
		}
		if (cut) {
			cut = 0;
			continue;
		}
		if (skip_ws(line)[0] == '\0')
			continue;
		if (alertlog_parse(line, &rec) < 0) {
			out->bad++;
			continue;
		}
		if (rec.ts < from || rec.ts > to)
			continue;
		out->total++;
		if (out->cap == 0)
			continue;
		out->ring[out->head] = rec;
		out->head = (out->head + 1) % out->cap;
		if (out->n < out->cap)
			out->n++;
	}
	return ferror(fp) ? -1 : 0;
}

int
alertlog_load(const char *path, time_t from, time_t to, size_t cap,
    struct alertlog *out)
{
	char prev[4096];
	FILE *fp, *pf = NULL;
	int rc = 0;

	memset(out, 0, sizeof *out);
	fp = fopen(path, "r");
	if (fp == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	/* logrotate's last rotation (delaycompress leaves it as it was):
	 * without it, a rotation at midnight would empty the last day's
	 * tables. Older, compressed files are not read. */
	if ((size_t)snprintf(prev, sizeof prev, "%s.1", path) < sizeof prev &&
	    (pf = fopen(prev, "r")) == NULL && errno != ENOENT)
		log_warn("%s: %s (its alerts are not shown)", prev,
		    strerror(errno));
	out->ring = calloc(cap ? cap : 1, sizeof *out->ring);
	if (out->ring == NULL) {
		log_err("out of memory");
		rc = -1;
	}
	out->cap = cap;
	/* A rotated file that cannot be read to its end costs its alerts
	 * on the pages, not the pages. */
	if (rc == 0 && pf && load_file(pf, from, to, out) < 0)
		log_warn("%s: read error (its alerts are not all shown)", prev);
	if (rc == 0 && load_file(fp, from, to, out) < 0) {
		log_err("%s: read error", path);
		rc = -1;
	}
	if (pf)
		fclose(pf);
	fclose(fp);
	if (rc < 0)
		alertlog_free(out);
	return rc;
}

void
alertlog_free(struct alertlog *al)
{
	free(al->ring);
	memset(al, 0, sizeof *al);
}

const struct alert_rec *
alertlog_get(const struct alertlog *al, size_t i)
{
	size_t first = al->n < al->cap ? 0 : al->head;

	return &al->ring[(first + i) % al->cap];
}

size_t
alertlog_count(const struct alertlog *al, const char *name, time_t from,
    time_t to)
{
	size_t c = 0;

	for (size_t i = 0; i < al->n; i++) {
		const struct alert_rec *r = alertlog_get(al, i);

		if (r->ts >= from && r->ts <= to &&
		    (name == NULL || strcmp(r->subscriber, name) == 0))
			c++;
	}
	return c;
}
