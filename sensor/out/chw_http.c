/*
 * chw_http.c — the ClickHouse writer's HTTP side: one request over
 * libcurl, bounded in time and in the reply kept, and the making of the
 * database and tables (conf/clickhouse.sql) on a server first reached.
 */
#include "chw_int.h"

#include "config.h"
#include "log.h"
#include "mono.h"
#include "thr.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------- HTTP */

size_t
chw_on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct chw *w = arg;
	size_t n = size * nmemb, take = n;

	if (take > RESP_MAX - w->resp_n)
		take = RESP_MAX - w->resp_n;
	memcpy(w->resp + w->resp_n, p, take);
	w->resp_n += take;
	return n;
}

/* Stops a transfer at the end of the shutdown grace. */
int
chw_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct chw *w = arg;
	int stop;
	double by;

	pthread_mutex_lock(&w->mu);
	stop = w->stop;
	by = w->stop_by;
	pthread_mutex_unlock(&w->mu);
	return stop && mono_s() > by;
}

/* One request: body to the URL, with query= when query is not NULL (an
 * INSERT whose data is the body), else the body is the statement. The
 * reply (its first RESP_MAX bytes) is in w->resp. Returns 0 for HTTP 200,
 * -1 with w->msg saying why. */
int
chw_http(struct chw *w, int use_db, const char *query, const char *body, size_t len)
{
	char url[2048], *q = NULL;
	long code = 0;
	CURLcode rc;

	if (query != NULL && (q = curl_easy_escape(w->curl, query, 0)) == NULL) {
		snprintf(w->msg, sizeof w->msg, "out of memory");
		return -1;
	}
	snprintf(url, sizeof url, "%s%c%s%s%s%s", w->url, strchr(w->url, '?') ? '&' : '?',
	    use_db ? "database=" : "", use_db ? w->db : "", q ? "&query=" : "", q ? q : "");
	curl_free(q);
	w->resp_n = 0;
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	/* An INSERT on a fresh connection, closed after it: libcurl sends a
	 * request again by itself when a reused connection dies before any
	 * reply, which for an INSERT whose rows arrived would count them
	 * twice behind our back. The retry is ours (asking first). */
	curl_easy_setopt(w->curl, CURLOPT_FRESH_CONNECT, query != NULL ? 1L : 0L);
	curl_easy_setopt(w->curl, CURLOPT_FORBID_REUSE, query != NULL ? 1L : 0L);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	rc = curl_easy_perform(w->curl);
	w->resp[w->resp_n] = '\0';
	if (rc != CURLE_OK) {
		snprintf(w->msg, sizeof w->msg, "%s", curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		size_t l = strcspn(w->resp, "\n");

		snprintf(w->msg, sizeof w->msg, "HTTP %ld: %.*s", code, (int)(l > 300 ? 300 : l),
		    w->resp);
		return -1;
	}
	return 0;
}

int
chw_http_sql(struct chw *w, const char *sql)
{
	return chw_http(w, 1, NULL, sql, strlen(sql));
}

/* The DDL's statements, comments dropped, separated by NULs in w->ddl. */
int
chw_ddl_prepare(struct chw *w)
{
	const char *p = chddl_sql;
	size_t n = 0;

	if ((w->ddl = malloc(strlen(chddl_sql) + 2)) == NULL)
		return -1;
	while (*p) {
		size_t l = strcspn(p, "\n");
		const char *s = p;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!(s[0] == '-' && s[1] == '-')) {
			for (size_t i = 0; i < l; i++)
				w->ddl[n++] = p[i] == ';' ? '\0' : p[i];
			w->ddl[n++] = '\n';
		}
		p += l + (p[l] == '\n');
	}
	w->ddl[n++] = '\0';
	w->ddl[n] = '\0';
	return 0;
}

/* Database, tables and views, made when missing; TTLs where the server
 * has them. Returns 0 or -1 (w->msg). */
int
chw_setup(struct chw *w)
{
	char sql[512];
	unsigned major = 0, minor = 0;
	const char *st;

	if (chw_http(w, 0, NULL, "SELECT version()", 16) < 0)
		return -1;
	if (sscanf(w->resp, "%u.%u", &major, &minor) != 2) {
		snprintf(w->msg, sizeof w->msg, "SELECT version() answered '%.40s'", w->resp);
		return -1;
	}
	snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s`", w->db);
	if (chw_http(w, 0, NULL, sql, strlen(sql)) < 0)
		return -1;
	for (st = w->ddl; *st; st += strlen(st) + 1) {
		if (strspn(st, " \t\n") == strlen(st))
			continue;
		if (chw_http_sql(w, st) < 0)
			return -1;
	}
	if (w->retention && (major > 19 || (major == 19 && minor >= 6))) {
		for (int t = 0; t < NT; t++) {
			snprintf(sql, sizeof sql, "ALTER TABLE `%s` MODIFY TTL ts + INTERVAL %u SECOND",
			    chw_table_names[t], w->retention);
			if (chw_http_sql(w, sql) < 0)
				return -1;
		}
	} else if (w->retention && !w->ttl_said) {
		log_warn("clickhouse %s: version %u.%u has no table TTL (19.6 or later): [clickhouse] "
		    "retention is not applied; drop old partitions (ALTER TABLE ... DROP PARTITION) "
		    "yourself", w->url, major, minor);
		w->ttl_said = 1;
	}
	log_info("clickhouse %s: version %u.%u, database %s ready", w->url, major, minor, w->db);
	w->ready = 1;
	return 0;
}
