/*
 * chw.c — the ClickHouse writer (see chw.h for the contract).
 *
 * Three parties touch a struct chw. The producers (the RRD writer's tap on
 * a capture thread, the alerts' tap on the sink thread) append TSV rows to
 * the open batch under mu and, at the end of a step, move it to the queue.
 * The writer thread owns the spool and the HTTP connection: it writes
 * queued batches to the spool first (so a restart finds them) and sends
 * the spool oldest first. chw_finish stops it, bounded.
 *
 * A spool file is text, written to NAME.tmp and renamed:
 *
 *	spanwatch-clickhouse 1
 *	batch ID ts TS sensor NAME
 *	table subscriber_steps rows N bytes B
 *	<B bytes of TabSeparated rows>
 *	... (one "table" line and its rows per table with rows)
 *	end
 *
 * named SEQ.chb, SEQ a 16-digit hexadecimal number that grows over runs:
 * the order of sending.
 */
#include "chw.h"

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

enum { T_SUB, T_SENSOR, T_ALERTS, NT };

static const char *const table_names[NT] = { "subscriber_steps", "sensor_steps", "alerts" };

#define QUEUE_MAX 256		/* batches waiting for the spool */
#define RESP_MAX 4096		/* bytes of a reply kept (errors, counts) */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000
#define WARN_EVERY_S 60
#define GROUP_MAX 128		/* spooled batches sent in one INSERT */
#define GROUP_BYTES (16u << 20)
#define SQL_MAX (GROUP_MAX * 24 + 1024)

/* A growable buffer of rows of one table. */
struct sec {
	char *p;
	size_t n, cap;
	uint64_t rows;
};

struct batch {
	struct batch *next;
	uint64_t id;
	time_t ts;
	struct sec s[NT];
};

/* A batch in the spool. */
struct spooled {
	struct spooled *next;
	uint64_t seq;
	uint64_t bytes;
	int tried;		/* may be in ClickHouse already: ask first */
};

struct loaded;

struct chw {
	char *url, *db, *spool, *sensor;
	uint64_t spool_max;
	unsigned timeout;
	unsigned retention;
	int block;
	struct alerts *alerts;

	/* producers, under mu */
	pthread_mutex_t mu;
	pthread_cond_t wake, room;
	struct sec cur[NT];
	uint64_t cur_id;
	time_t last_ts;
	struct batch *qhead, *qtail;
	size_t qlen;
	int stop;
	double stop_by;		/* mono_s: give up sending after this */
	uint64_t oom_rows;	/* rows not kept for want of memory */
	unsigned qfull_said;

	/* writer thread */
	pthread_t thr;
	CURL *curl;
	int ready;		/* database and tables made on this server */
	int ttl_said;
	int full;		/* a batch was dropped; until a send makes room */
	struct spooled *shead, *stail;
	uint64_t next_seq;
	double retry_at, down_since, last_warn;
	unsigned backoff_ms;
	int was_down;
	char resp[RESP_MAX + 1];
	size_t resp_n;
	char msg[512];
	char *ddl;		/* chddl_sql without comments, split at ';' */
	struct loaded *grp;	/* GROUP_MAX batches read back */
	struct sec body;	/* an INSERT's rows */
	char sql[SQL_MAX];
	int finished, finish_rc;

	atomic_uint_fast64_t st_batches, st_sent, st_rows_sent, st_found, st_dropped,
	    st_rows_dropped, st_failures, st_outages, st_spooled, st_spool_bytes;
	atomic_int st_down;
};

static void
bump(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t
ld(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static uint64_t
new_id(void)
{
	static atomic_uint_fast64_t fallback;
	uint64_t id = 0;

	if (getrandom(&id, sizeof id, GRND_NONBLOCK) != (ssize_t)sizeof id)
		id = ((uint64_t)time(NULL) << 24) ^ ((uint64_t)getpid() << 40) ^
		    atomic_fetch_add(&fallback, 1);
	return id ? id : 1;
}

/* ------------------------------------------------------------ rows */

/* Appends n bytes; returns 0, or -1 without memory or past the bound (a
 * section larger than the spool could never be spooled). */
static int
sec_put(struct sec *s, const char *p, size_t n, uint64_t bound)
{
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		char *q;

		while (cap < s->n + n)
			cap *= 2;
		if (cap > bound + 4096 || (q = realloc(s->p, cap)) == NULL)
			return -1;
		s->p = q;
		s->cap = cap;
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
	return 0;
}

/* Escapes for a TabSeparated field and for a quoted string inside an
 * Array (ClickHouse reads the same escapes in both): backslash, quote,
 * control characters. Bytes from packets may be anything. */
static size_t
esc(char *out, size_t cap, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n && o + 4 < cap; i++) {
		unsigned char c = (unsigned char)p[i];

		switch (c) {
		case '\\': out[o++] = '\\'; out[o++] = '\\'; break;
		case '\'': out[o++] = '\\'; out[o++] = '\''; break;
		case '\t': out[o++] = '\\'; out[o++] = 't'; break;
		case '\n': out[o++] = '\\'; out[o++] = 'n'; break;
		case '\r': out[o++] = '\\'; out[o++] = 'r'; break;
		case '\0': out[o++] = '\\'; out[o++] = '0'; break;
		default:
			if (c < 0x20 || c == 0x7f) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			} else {
				out[o++] = (char)c;
			}
		}
	}
	return o;
}

/* A row into the open batch, under mu. A row that cannot be kept is
 * counted (it is lost, like a batch the spool could not take). */
static void
add_row(struct chw *w, int t, const char *row, size_t n)
{
	if (sec_put(&w->cur[t], row, n, w->spool_max) < 0) {
		w->oom_rows++;
		return;
	}
	w->cur[t].rows++;
}

/* v in decimal at p (room for 20 digits); returns the digits written.
 * Once per value of every subscriber row: snprintf costs more. */
static size_t
put_u64(char *p, uint64_t v)
{
	char t[20];
	size_t n = 0, i;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

static void
tap_row(void *arg, enum rrdw_kind kind, const char *name, time_t ts, const uint64_t *a)
{
	struct chw *w = arg;
	const struct rrdw_schema *s = rrdw_schema(kind);
	char row[RRDW_MAX_DS * 22 + 4 * RRDW_NAME_MAX + 200];
	size_t n = 0;

	n += esc(row + n, sizeof row - n, w->sensor, strlen(w->sensor));
	row[n++] = '\t';
	if (kind == RRDW_SUBSCRIBER) {
		n += esc(row + n, sizeof row - n, name, strnlen(name, RRDW_NAME_MAX));
		row[n++] = '\t';
	}
	n += put_u64(row + n, (uint64_t)ts);
	row[n++] = '\t';
	pthread_mutex_lock(&w->mu);
	n += put_u64(row + n, w->cur_id);
	for (size_t i = 0; i < s->nds; i++) {
		row[n++] = '\t';
		n += put_u64(row + n, a[i]);
	}
	row[n++] = '\n';
	add_row(w, kind == RRDW_SUBSCRIBER ? T_SUB : T_SENSOR, row, n);
	pthread_mutex_unlock(&w->mu);
}

/* Closes the open batch at step end ts and queues it; under mu. Returns 0,
 * or -1 if the queue was full (live: the batch is counted as dropped). */
static int
close_batch(struct chw *w, time_t ts)
{
	struct batch *b;
	uint64_t rows = 0;

	for (int t = 0; t < NT; t++)
		rows += w->cur[t].rows;
	if (rows == 0)
		return 0;
	while (w->block && w->qlen >= QUEUE_MAX && !w->stop)
		pthread_cond_wait(&w->room, &w->mu);
	if (w->qlen >= QUEUE_MAX || (b = calloc(1, sizeof *b)) == NULL) {
		bump(&w->st_dropped, 1);
		bump(&w->st_rows_dropped, rows);
		/* Live, the writer has not even reached the disk for QUEUE_MAX
		 * steps: said once (the counter and the end-of-run line say
		 * the rest), as the spool says a full spool. */
		if (!w->qfull_said++)
			log_err("clickhouse: %d steps wait for the spool writer; the batch of step %lld "
			    "(%" PRIu64 " rows) and any more like it are dropped (counted)", QUEUE_MAX,
			    (long long)ts, rows);
		for (int t = 0; t < NT; t++) {
			w->cur[t].n = 0;
			w->cur[t].rows = 0;
		}
		w->cur_id = new_id();
		return -1;
	}
	b->id = w->cur_id;
	b->ts = ts;
	memcpy(b->s, w->cur, sizeof b->s);
	memset(w->cur, 0, sizeof w->cur);
	w->cur_id = new_id();
	if (w->qtail)
		w->qtail->next = b;
	else
		w->qhead = b;
	w->qtail = b;
	w->qlen++;
	bump(&w->st_batches, 1);
	pthread_cond_signal(&w->wake);
	return 0;
}

static void
tap_done(void *arg, time_t ts)
{
	struct chw *w = arg;

	pthread_mutex_lock(&w->mu);
	if (ts > w->last_ts)
		w->last_ts = ts;
	(void)close_batch(w, ts);
	pthread_mutex_unlock(&w->mu);
}

void
chw_tap(struct chw *w, struct rrdw_tap *tap)
{
	tap->row = tap_row;
	tap->done = tap_done;
	tap->arg = w;
}

/* Appends ['a','b'] of n strings. */
static size_t
put_array(char *out, size_t cap, const struct alerts_tap_rec *r, int values)
{
	size_t o = 0;

	out[o++] = '[';
	for (unsigned i = 0; i < r->nf && o + 16 < cap; i++) {
		const struct alerts_tap_field *f = &r->f[i];

		if (i)
			out[o++] = ',';
		out[o++] = '\'';
		if (values) {
			o += esc(out + o, cap - o - 8, f->val ? f->val : "", f->val ? f->vlen : 0);
			if (f->trunc) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
		} else {
			o += esc(out + o, cap - o - 8, f->key, f->klen);
		}
		out[o++] = '\'';
	}
	out[o++] = ']';
	return o;
}

void
chw_alert(void *arg, const struct alerts_tap_rec *r)
{
	struct chw *w = arg;
	/* Each value at most ALERTS_VALUE_MAX bytes, 4 bytes escaped. */
	static _Thread_local char row[2 * ALERTS_MAX_FIELDS * (4 * ALERTS_VALUE_MAX + 8) + 8192];
	size_t n = 0;

	n += esc(row + n, 1024, w->sensor, strlen(w->sensor));
	n += (size_t)snprintf(row + n, 64, "\t%lld\t", (long long)r->ts);
	n += esc(row + n, 4 * ALERTS_VALUE_MAX + 8, r->kind, r->kind_len);
	row[n++] = '\t';
	if (r->sub) {
		n += esc(row + n, 4 * ALERTS_VALUE_MAX + 8, r->sub, r->sub_len);
		if (r->sub_trunc) {
			memcpy(row + n, "...", 3);
			n += 3;
		}
	}
	n += (size_t)snprintf(row + n, 64, "\t%" PRIu64 "\t", r->suppressed);
	n += put_array(row + n, ALERTS_MAX_FIELDS * (4 * ALERTS_VALUE_MAX + 8), r, 0);
	row[n++] = '\t';
	n += put_array(row + n, ALERTS_MAX_FIELDS * (4 * ALERTS_VALUE_MAX + 8), r, 1);
	pthread_mutex_lock(&w->mu);
	n += (size_t)snprintf(row + n, 64, "\t%" PRIu64 "\n", w->cur_id);
	add_row(w, T_ALERTS, row, n);
	pthread_mutex_unlock(&w->mu);
}

/* ----------------------------------------------------------- HTTP */

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
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
static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
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
static int
http(struct chw *w, int use_db, const char *query, const char *body, size_t len)
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

static int
http_sql(struct chw *w, const char *sql)
{
	return http(w, 1, NULL, sql, strlen(sql));
}

/* The DDL's statements, comments dropped, separated by NULs in w->ddl. */
static int
ddl_prepare(struct chw *w)
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
static int
setup(struct chw *w)
{
	char sql[512];
	unsigned major = 0, minor = 0;
	const char *st;

	if (http(w, 0, NULL, "SELECT version()", 16) < 0)
		return -1;
	if (sscanf(w->resp, "%u.%u", &major, &minor) != 2) {
		snprintf(w->msg, sizeof w->msg, "SELECT version() answered '%.40s'", w->resp);
		return -1;
	}
	snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s`", w->db);
	if (http(w, 0, NULL, sql, strlen(sql)) < 0)
		return -1;
	for (st = w->ddl; *st; st += strlen(st) + 1) {
		if (strspn(st, " \t\n") == strlen(st))
			continue;
		if (http_sql(w, st) < 0)
			return -1;
	}
	if (w->retention && (major > 19 || (major == 19 && minor >= 6))) {
		for (int t = 0; t < NT; t++) {
			snprintf(sql, sizeof sql, "ALTER TABLE `%s` MODIFY TTL ts + INTERVAL %u SECOND",
			    table_names[t], w->retention);
			if (http_sql(w, sql) < 0)
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

/* ----------------------------------------------------------- spool */

static void
spool_path(const struct chw *w, char *buf, size_t size, uint64_t seq, const char *ext)
{
	snprintf(buf, size, "%s/%016" PRIx64 ".%s", w->spool, seq, ext);
}

static void
spool_append(struct chw *w, uint64_t seq, uint64_t bytes, int tried)
{
	struct spooled *e = calloc(1, sizeof *e);

	if (e == NULL) {
		/* Still on disk: the next start sends it. */
		log_err("clickhouse: out of memory; a spooled batch waits for the next start");
		return;
	}
	e->seq = seq;
	e->bytes = bytes;
	e->tried = tried;
	if (w->stail)
		w->stail->next = e;
	else
		w->shead = e;
	w->stail = e;
	bump(&w->st_spooled, 1);
	bump(&w->st_spool_bytes, bytes);
}

static void
drop_batch(struct chw *w, const struct batch *b, uint64_t rows, uint64_t bytes, const char *why)
{
	static const char kind[] = "clickhouse_spool_full";
	struct alert_field f[3] = {
		{ .key = "step", .type = AF_UINT, .v.u = (uint64_t)b->ts },
		{ .key = "rows", .type = AF_UINT, .v.u = rows },
		{ .key = "spool_max", .type = AF_UINT, .v.u = w->spool_max },
	};

	bump(&w->st_dropped, 1);
	bump(&w->st_rows_dropped, rows);
	log_err("clickhouse: batch of step %lld (%" PRIu64 " rows, %" PRIu64 " bytes) dropped: %s",
	    (long long)b->ts, rows, bytes, why);
	if (w->alerts)
		(void)alerts_raise(w->alerts, kind, NULL, b->ts, f, 3);
}

/* Writes a queued batch to the spool, or drops it (counted, alerted) when
 * the spool would pass spool_max or the disk refuses. */
static void
spool_batch(struct chw *w, const struct batch *b)
{
	char tmp[PATH_MAX], fin[PATH_MAX], head[256];
	uint64_t bytes = 0, rows = 0;
	FILE *fp;
	long pos;
	int hn, ok;

	hn = snprintf(head, sizeof head, "spanwatch-clickhouse 1\nbatch %" PRIu64 " ts %lld "
	    "sensor %s\n", b->id, (long long)b->ts, w->sensor);
	bytes = (uint64_t)hn + 4;
	for (int t = 0; t < NT; t++) {
		if (b->s[t].rows == 0)
			continue;
		rows += b->s[t].rows;
		bytes += b->s[t].n + 80;
	}
	/* Once full, full until a send makes room: what is lost is then one
	 * span of steps, not a scatter of the batches that happened to fit. */
	if (w->full || ld(&w->st_spool_bytes) + bytes > w->spool_max) {
		w->full = 1;
		drop_batch(w, b, rows, bytes, "the spool is full ([clickhouse] spool_max)");
		return;
	}
	spool_path(w, tmp, sizeof tmp, w->next_seq, "tmp");
	spool_path(w, fin, sizeof fin, w->next_seq, "chb");
	if ((fp = fopen(tmp, "we")) == NULL) {
		drop_batch(w, b, rows, bytes, strerror(errno));
		return;
	}
	ok = fputs(head, fp) != EOF;
	for (int t = 0; t < NT && ok; t++) {
		if (b->s[t].rows == 0)
			continue;
		ok = fprintf(fp, "table %s rows %" PRIu64 " bytes %zu\n", table_names[t],
		    b->s[t].rows, b->s[t].n) > 0 && fwrite(b->s[t].p, 1, b->s[t].n, fp) == b->s[t].n;
	}
	ok = ok && fputs("end\n", fp) != EOF;
	ok = (fflush(fp) == 0) && ok;
	if (ok && (pos = ftell(fp)) > 0)
		bytes = (uint64_t)pos;
	/* On disk before it counts as spooled (a power cut); reading files,
	 * the capture itself is the durable copy, and a sync per step would
	 * make the replay wait for the disk a thousand times a day. */
	ok = ok && (w->block || fdatasync(fileno(fp)) == 0);
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok || rename(tmp, fin) != 0) {
		int e = errno;

		unlink(tmp);
		drop_batch(w, b, rows, bytes, strerror(e));
		return;
	}
	spool_append(w, w->next_seq++, bytes, 0);
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Takes up what an earlier run left: every SEQ.chb, in order, as maybe
 * sent already. Leftover .tmp files were never complete: removed. */
static int
spool_scan(struct chw *w)
{
	DIR *d = opendir(w->spool);
	struct dirent *de;
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;

	if (d == NULL) {
		log_err("clickhouse: spool %s: %s", w->spool, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		char path[PATH_MAX], *end;
		uint64_t seq;

		if (strlen(de->d_name) != 20 || de->d_name[0] == '.')
			continue;
		seq = strtoull(de->d_name, &end, 16);
		if (end != de->d_name + 16)
			continue;
		if (strcmp(end, ".tmp") == 0) {
			spool_path(w, path, sizeof path, seq, "tmp");
			unlink(path);
			continue;
		}
		if (strcmp(end, ".chb") != 0)
			continue;
		if (n == cap) {
			uint64_t *s = realloc(seqs, (cap = cap ? 2 * cap : 64) * sizeof *s);

			if (s == NULL) {
				log_err("clickhouse: spool %s: out of memory", w->spool);
				free(seqs);
				closedir(d);
				return -1;
			}
			seqs = s;
		}
		seqs[n++] = seq;
	}
	closedir(d);
	if (n > 0)
		qsort(seqs, n, sizeof *seqs, seq_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		struct stat sb;

		spool_path(w, path, sizeof path, seqs[i], "chb");
		if (stat(path, &sb) != 0)
			continue;
		spool_append(w, seqs[i], (uint64_t)sb.st_size, 1);
		w->next_seq = seqs[i] + 1;
	}
	free(seqs);
	if (n > 0)
		log_info("clickhouse: spool %s holds %zu batches (%" PRIu64 " bytes) from an earlier "
		    "run; sending them first", w->spool, n, ld(&w->st_spool_bytes));
	return 0;
}

struct loaded {
	char *buf;
	uint64_t id;
	long long ts;
	char sensor[256];
	struct {
		const char *p;
		size_t n;
		uint64_t rows;
	} s[NT];
};

/* Reads and parses a spool file. Returns 0, -1 (I/O: retried), -2 (not a
 * batch: set aside as .bad). */
static int
spool_load(struct chw *w, const struct spooled *e, struct loaded *l)
{
	char path[PATH_MAX];
	FILE *fp;
	size_t got;
	char *p, *end;

	memset(l, 0, sizeof *l);
	spool_path(w, path, sizeof path, e->seq, "chb");
	if ((fp = fopen(path, "re")) == NULL || (l->buf = malloc(e->bytes + 1)) == NULL) {
		snprintf(w->msg, sizeof w->msg, "%.400s: %s", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	got = fread(l->buf, 1, e->bytes, fp);
	fclose(fp);
	l->buf[got] = '\0';
	end = l->buf + got;
	p = l->buf;
	if (strncmp(p, "spanwatch-clickhouse 1\n", 23) != 0)
		return -2;
	p += 23;
	if (sscanf(p, "batch %" SCNu64 " ts %lld sensor %255s", &l->id, &l->ts, l->sensor) != 3)
		return -2;
	p = strchr(p, '\n');
	while (p && ++p < end && strncmp(p, "end\n", 4) != 0) {
		char tname[64];
		uint64_t rows;
		size_t bytes;
		int t;

		if (sscanf(p, "table %63s rows %" SCNu64 " bytes %zu", tname, &rows, &bytes) != 3)
			return -2;
		for (t = 0; t < NT && strcmp(tname, table_names[t]) != 0; t++)
			;
		if (t == NT || (p = strchr(p, '\n')) == NULL || (size_t)(end - p - 1) < bytes)
			return -2;
		l->s[t].p = p + 1;
		l->s[t].n = bytes;
		l->s[t].rows = rows;
		p += bytes;	/* at the row data's last byte, a newline */
	}
	return p && p < end ? 0 : -2;
}

/* Which batches of the group table t holds already (found[i] = 1), asked
 * by batch id, within the group's sensor and steps so that the primary key
 * (sensor, ts) narrows the search. Returns 0 or -1 (w->msg). */
static int
ask_found(struct chw *w, int t, const struct loaded *l, size_t n, unsigned char *found)
{
	char name[300], *p, *end;
	size_t len = esc(name, sizeof name - 1, l[0].sensor, strlen(l[0].sensor)), o;
	long long lo = l[0].ts, hi;

	name[len] = '\0';
	hi = lo;
	for (size_t i = 1; i < n; i++) {
		lo = l[i].ts < lo ? l[i].ts : lo;
		hi = l[i].ts > hi ? l[i].ts : hi;
	}
	o = (size_t)snprintf(w->sql, SQL_MAX, "SELECT batch, count() FROM `%s` WHERE sensor = '%s'",
	    table_names[t], name);
	if (t != T_ALERTS)
		o += (size_t)snprintf(w->sql + o, SQL_MAX - o, " AND ts >= toDateTime(%lld) AND "
		    "ts <= toDateTime(%lld)", lo, hi);
	o += (size_t)snprintf(w->sql + o, SQL_MAX - o, " AND batch IN (");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(w->sql + o, SQL_MAX - o, "%s%" PRIu64, i ? "," : "", l[i].id);
	snprintf(w->sql + o, SQL_MAX - o, ") GROUP BY batch");
	if (http_sql(w, w->sql) < 0)
		return -1;
	for (p = w->resp; *p; p = end + (*end == '\n')) {
		uint64_t id = strtoull(p, &end, 10), c;

		if (end == p || *end != '\t') {
			snprintf(w->msg, sizeof w->msg, "a count answered '%.40s'", p);
			return -1;
		}
		c = strtoull(end + 1, &end, 10);
		for (size_t i = 0; i < n; i++) {
			if (l[i].id != id)
				continue;
			found[i] = 1;
			if (c != l[i].s[t].rows)
				log_warn("clickhouse: %s holds %" PRIu64 " of the %" PRIu64 " rows of "
				    "batch %" PRIu64 " (step %lld); not sent again", table_names[t],
				    c, l[i].s[t].rows, id, l[i].ts);
		}
		end += strcspn(end, "\n");
	}
	return 0;
}

static void
pop_head(struct chw *w)
{
	struct spooled *e = w->shead;

	w->shead = e->next;
	if (w->shead == NULL)
		w->stail = NULL;
	atomic_fetch_sub(&w->st_spooled, 1);
	atomic_fetch_sub(&w->st_spool_bytes, e->bytes);
	free(e);
}

/* Sends the oldest spooled batches, up to GROUP_MAX of one sensor and
 * GROUP_BYTES, one INSERT per table. Where one of them was tried before,
 * ClickHouse is first asked which it holds, and only the others go. Returns
 * 0 when they are all in ClickHouse (and gone from the spool), -1 to retry
 * later (w->msg). */
static int
send_group(struct chw *w)
{
	struct loaded *l = w->grp;
	unsigned char found[GROUP_MAX];
	struct spooled *e;
	char q[128];
	uint64_t bytes = 0, rows = 0;
	size_t n = 0;
	int r = 0, tried = 0;

	if (!w->ready && setup(w) < 0)
		return -1;
	for (e = w->shead; e && n < GROUP_MAX && (n == 0 || bytes + e->bytes <= GROUP_BYTES);
	    e = e->next) {
		if ((r = spool_load(w, e, &l[n])) != 0 ||
		    (n > 0 && strcmp(l[n].sensor, l[0].sensor) != 0)) {
			free(l[n].buf);
			break;
		}
		tried |= e->tried;
		bytes += e->bytes;
		n++;
	}
	if (n == 0) {
		char path[PATH_MAX], bad[PATH_MAX];

		if (r == -1 || w->shead == NULL)
			return -1;
		spool_path(w, path, sizeof path, w->shead->seq, "chb");
		spool_path(w, bad, sizeof bad, w->shead->seq, "bad");
		log_err("clickhouse: %s is not a spanwatch batch; set aside as %s", path, bad);
		(void)rename(path, bad);
		pop_head(w);
		return 0;
	}
	for (int t = 0; t < NT && r == 0; t++) {
		memset(found, 0, n);
		w->body.n = 0;
		if (tried && ask_found(w, t, l, n, found) < 0) {
			r = -1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			if (l[i].s[t].rows == 0)
				continue;
			if (found[i]) {
				bump(&w->st_found, 1);
				continue;
			}
			if (sec_put(&w->body, l[i].s[t].p, l[i].s[t].n, UINT64_MAX / 4) < 0) {
				snprintf(w->msg, sizeof w->msg, "out of memory");
				r = -1;
				break;
			}
			rows += l[i].s[t].rows;
		}
		if (r < 0 || w->body.n == 0)
			continue;
		/* From here an answer lost in transit may hide a success. */
		e = w->shead;
		for (size_t i = 0; i < n; i++, e = e->next)
			e->tried = 1;
		tried = 1;
		snprintf(q, sizeof q, "INSERT INTO `%s` FORMAT TabSeparated", table_names[t]);
		r = http(w, 1, q, w->body.p, w->body.n);
	}
	for (size_t i = 0; i < n; i++)
		free(l[i].buf);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];

		spool_path(w, path, sizeof path, w->shead->seq, "chb");
		if (unlink(path) != 0 && errno != ENOENT)
			log_err("clickhouse: %s: %s (sent; the next start asks before sending it "
			    "again)", path, strerror(errno));
		pop_head(w);
	}
	bump(&w->st_sent, n);
	bump(&w->st_rows_sent, rows);
	w->full = 0;
	return 0;
}

/* ---------------------------------------------------------- thread */

static void
went_down(struct chw *w)
{
	double now = mono_s();

	bump(&w->st_failures, 1);
	atomic_store(&w->st_down, 1);
	w->ready = 0;	/* a new server (restarted, empty) gets the tables again */
	if (!w->was_down) {
		w->was_down = 1;
		w->down_since = w->last_warn = now;
		w->backoff_ms = BACKOFF_MIN_MS;
		bump(&w->st_outages, 1);
		log_warn("clickhouse %s: %s; batches wait in the spool %s", w->url, w->msg, w->spool);
	} else if (now - w->last_warn >= WARN_EVERY_S) {
		w->last_warn = now;
		log_warn("clickhouse %s: still failing after %.0fs: %s (%" PRIu64 " batches spooled)",
		    w->url, now - w->down_since, w->msg, ld(&w->st_spooled));
	}
	w->retry_at = now + w->backoff_ms / 1000.0;
	w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
}

static void
came_back(struct chw *w)
{
	atomic_store(&w->st_down, 0);
	if (w->was_down)
		log_warn("clickhouse %s: reachable again after %.0fs; sending the spool (%" PRIu64
		    " batches)", w->url, mono_s() - w->down_since, ld(&w->st_spooled));
	w->was_down = 0;
}

static void
timed_wait(struct chw *w, double until)
{
	struct timespec ts;
	double d = until - mono_s();

	if (d <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)d;
	ts.tv_nsec += (long)((d - (double)(time_t)d) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&w->wake, &w->mu, &ts);
}

static void
batch_free(struct batch *b)
{
	for (int t = 0; t < NT; t++)
		free(b->s[t].p);
	free(b);
}

static void *
writer_main(void *arg)
{
	struct chw *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->qhead) {
			struct batch *b = w->qhead;

			w->qhead = b->next;
			if (w->qhead == NULL)
				w->qtail = NULL;
			w->qlen--;
			pthread_cond_broadcast(&w->room);
			pthread_mutex_unlock(&w->mu);
			spool_batch(w, b);
			batch_free(b);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->stop && (w->shead == NULL || mono_s() > w->stop_by))
			break;
		if (w->shead && mono_s() >= w->retry_at) {
			int r;

			pthread_mutex_unlock(&w->mu);
			r = send_group(w);
			if (r == 0)
				came_back(w);
			else
				went_down(w);
			pthread_mutex_lock(&w->mu);
			/* Stopping: one failure ends it, the rest waits on disk. */
			if (r < 0 && w->stop)
				break;
			continue;
		}
		if (w->stop)
			timed_wait(w, w->retry_at < w->stop_by ? w->retry_at : w->stop_by);
		else if (w->shead)
			timed_wait(w, w->retry_at);
		else
			pthread_cond_wait(&w->wake, &w->mu);
	}
	/* Whatever is still queued goes to disk before the thread ends. */
	while (w->qhead) {
		struct batch *b = w->qhead;

		w->qhead = b->next;
		w->qlen--;
		pthread_mutex_unlock(&w->mu);
		spool_batch(w, b);
		batch_free(b);
		pthread_mutex_lock(&w->mu);
	}
	w->qtail = NULL;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ------------------------------------------------------ open, close */

static int
mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0750) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void
free_all(struct chw *w)
{
	struct spooled *e, *en;
	struct batch *b, *bn;

	for (e = w->shead; e; e = en) {
		en = e->next;
		free(e);
	}
	for (b = w->qhead; b; b = bn) {
		bn = b->next;
		batch_free(b);
	}
	for (int t = 0; t < NT; t++)
		free(w->cur[t].p);
	if (w->curl)
		curl_easy_cleanup(w->curl);
	free(w->url);
	free(w->db);
	free(w->spool);
	free(w->sensor);
	free(w->ddl);
	free(w->grp);
	free(w->body.p);
	free(w);
}

struct chw *
chw_open(const struct chw_cfg *cfg)
{
	struct chw *w;
	pthread_condattr_t ca;
	long ms;
	int err;

	if (cfg->url == NULL || (strncmp(cfg->url, "http://", 7) != 0 &&
	    strncmp(cfg->url, "https://", 8) != 0)) {
		log_err("clickhouse: url '%s': want http://HOST:PORT/", cfg->url ? cfg->url : "");
		return NULL;
	}
	if (cfg->spool == NULL || cfg->spool[0] == '\0') {
		log_err("clickhouse: [clickhouse] spool is not set: batches need a folder to wait in");
		return NULL;
	}
	if (cfg->database == NULL || cfg->database[0] == '\0' ||
	    strspn(cfg->database, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
	    strlen(cfg->database)) {
		log_err("clickhouse: database '%s': letters, digits and '_' only",
		    cfg->database ? cfg->database : "");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("clickhouse: libcurl does not initialise");
		return NULL;
	}
	if ((w = calloc(1, sizeof *w)) == NULL)
		return NULL;
	w->url = strdup(cfg->url);
	w->db = strdup(cfg->database);
	w->spool = strdup(cfg->spool);
	w->sensor = strdup(cfg->sensor ? cfg->sensor : "");
	w->spool_max = cfg->spool_max;
	w->timeout = cfg->timeout ? cfg->timeout : 10;
	w->retention = cfg->retention;
	w->block = cfg->block;
	w->alerts = cfg->alerts;
	w->cur_id = new_id();
	w->backoff_ms = BACKOFF_MIN_MS;
	w->grp = calloc(GROUP_MAX, sizeof *w->grp);
	if (!w->url || !w->db || !w->spool || !w->sensor || !w->grp || ddl_prepare(w) < 0 ||
	    (w->curl = curl_easy_init()) == NULL) {
		log_err("clickhouse: out of memory");
		free_all(w);
		return NULL;
	}
	if (mkdir_p(w->spool) != 0 || access(w->spool, W_OK | X_OK) != 0) {
		log_err("clickhouse: spool %s: %s", w->spool, strerror(errno));
		free_all(w);
		return NULL;
	}
	if (spool_scan(w) < 0) {
		free_all(w);
		return NULL;
	}
	ms = (long)w->timeout * 1000;
	curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->curl, CURLOPT_CONNECTTIMEOUT_MS, ms);
	/* A server that stalls: no byte for `timeout` ends the request; a
	 * slow one that keeps moving gets ten times that in all. */
	curl_easy_setopt(w->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->curl, CURLOPT_LOW_SPEED_TIME, (long)w->timeout);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, 10 * ms);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
	curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->room, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->wake, &ca);
	pthread_condattr_destroy(&ca);
	if ((err = thr_start(&w->thr, writer_main, w, "chw")) != 0) {
		log_err("clickhouse: cannot start the writer thread: %s", strerror(err));
		pthread_cond_destroy(&w->wake);
		pthread_cond_destroy(&w->room);
		pthread_mutex_destroy(&w->mu);
		free_all(w);
		return NULL;
	}
	log_debug("clickhouse: %s database %s, spool %s (at most %" PRIu64 " bytes)", w->url, w->db,
	    w->spool, w->spool_max);
	return w;
}

struct chw *
chw_start(const struct sw_config *cfg, struct rrdw *rrdw, struct alerts *alerts, int block)
{
	struct chw_cfg c = { .url = cfg->clickhouse.url, .database = cfg->clickhouse.database,
			     .spool = cfg->clickhouse.spool, .sensor = cfg->sensor.name,
			     .spool_max = cfg->clickhouse.spool_max,
			     .timeout = cfg->clickhouse.timeout,
			     .retention = cfg->clickhouse.retention, .block = block,
			     .alerts = alerts };
	struct rrdw_tap tap;
	struct chw *w;

	if (rrdw == NULL) {
		log_err("clickhouse: [clickhouse] url needs [rrd] dir (the rows are the RRD files' "
		    "steps)");
		return NULL;
	}
	if ((w = chw_open(&c)) == NULL)
		return NULL;
	chw_tap(w, &tap);
	rrdw_set_tap(rrdw, &tap);
	alerts_set_tap(alerts, chw_alert, w);
	return w;
}

void
chw_get_stats(struct chw *w, struct chw_stats *st)
{
	memset(st, 0, sizeof *st);
	if (w == NULL)
		return;
	st->batches = ld(&w->st_batches);
	st->sent = ld(&w->st_sent);
	st->rows_sent = ld(&w->st_rows_sent);
	st->found = ld(&w->st_found);
	st->dropped = ld(&w->st_dropped);
	st->rows_dropped = ld(&w->st_rows_dropped);
	st->failures = ld(&w->st_failures);
	st->outages = ld(&w->st_outages);
	st->spooled = ld(&w->st_spooled);
	st->spool_bytes = ld(&w->st_spool_bytes);
	st->down = atomic_load(&w->st_down);
}

int
chw_finish(struct chw *w)
{
	struct chw_stats st;

	if (w == NULL)
		return 0;
	if (w->finished)
		return w->finish_rc;
	w->finished = 1;
	pthread_mutex_lock(&w->mu);
	(void)close_batch(w, w->last_ts ? w->last_ts : time(NULL));
	if (w->oom_rows) {
		bump(&w->st_rows_dropped, w->oom_rows);
		log_err("clickhouse: %" PRIu64 " rows not kept: out of memory for the batch",
		    w->oom_rows);
	}
	w->stop = 1;
	/* Reading files: everything, while the server answers; live: a
	 * stop must not wait for the network longer than the timeout. */
	w->stop_by = mono_s() + (w->block ? 1e9 : (double)w->timeout);
	pthread_cond_signal(&w->wake);
	pthread_cond_broadcast(&w->room);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	chw_get_stats(w, &st);
	if (st.spooled > 0)
		log_warn("clickhouse %s: %" PRIu64 " batches (%" PRIu64 " bytes) not sent (%s); they "
		    "stay in the spool %s and are sent at the next start", w->url, st.spooled,
		    st.spool_bytes, st.down ? w->msg : "stopping", w->spool);
	log_info("clickhouse: %" PRIu64 " batches (%" PRIu64 " rows) sent, %" PRIu64 " found there "
	    "already, %" PRIu64 " dropped (%" PRIu64 " rows), %" PRIu64 " in the spool", st.sent,
	    st.rows_sent, st.found, st.dropped, st.rows_dropped, st.spooled);
	w->finish_rc = st.dropped || st.rows_dropped ? -1 : 0;
	return w->finish_rc;
}

int
chw_close(struct chw *w)
{
	int r;

	if (w == NULL)
		return 0;
	r = chw_finish(w);
	pthread_cond_destroy(&w->wake);
	pthread_cond_destroy(&w->room);
	pthread_mutex_destroy(&w->mu);
	free_all(w);
	return r;
}
