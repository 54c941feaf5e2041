/*
 * chw_rows.c — the ClickHouse writer's producers: the RRD writer's and the
 * alerts' taps turn each step's amounts and each alert into TSV rows of
 * the open batch, and a step's end closes it onto the queue.
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

/* ------------------------------------------------------------ rows */

/* Appends n bytes; returns 0, or -1 without memory or past the bound (a
 * section larger than the spool could never be spooled). */
int
chw_sec_put(struct sec *s, const char *p, size_t n, uint64_t bound)
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
size_t
chw_esc(char *out, size_t cap, const char *p, size_t n)
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
	if (chw_sec_put(&w->cur[t], row, n, w->spool_max) < 0) {
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

	n += chw_esc(row + n, sizeof row - n, w->sensor, strlen(w->sensor));
	row[n++] = '\t';
	if (kind == RRDW_SUBSCRIBER) {
		n += chw_esc(row + n, sizeof row - n, name, strnlen(name, RRDW_NAME_MAX));
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
int
chw_batch_close(struct chw *w, time_t ts)
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
		w->cur_id = chw_new_id();
		return -1;
	}
	b->id = w->cur_id;
	b->ts = ts;
	memcpy(b->s, w->cur, sizeof b->s);
	memset(w->cur, 0, sizeof w->cur);
	w->cur_id = chw_new_id();
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
	(void)chw_batch_close(w, ts);
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
			o += chw_esc(out + o, cap - o - 8, f->val ? f->val : "", f->val ? f->vlen : 0);
			if (f->trunc) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
		} else {
			o += chw_esc(out + o, cap - o - 8, f->key, f->klen);
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

	n += chw_esc(row + n, 1024, w->sensor, strlen(w->sensor));
	n += (size_t)snprintf(row + n, 64, "\t%lld\t", (long long)r->ts);
	n += chw_esc(row + n, 4 * ALERTS_VALUE_MAX + 8, r->kind, r->kind_len);
	row[n++] = '\t';
	if (r->sub) {
		n += chw_esc(row + n, 4 * ALERTS_VALUE_MAX + 8, r->sub, r->sub_len);
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
