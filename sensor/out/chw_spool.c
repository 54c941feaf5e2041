/*
 * chw_spool.c — the ClickHouse writer's spool: batches written to disk
 * before they are sent, read back oldest first, asked for when they may be
 * in ClickHouse already, and sent in groups.
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
void
chw_spool_batch(struct chw *w, const struct batch *b)
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
		ok = fprintf(fp, "table %s rows %" PRIu64 " bytes %zu\n", chw_table_names[t],
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
int
chw_spool_scan(struct chw *w)
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
		for (t = 0; t < NT && strcmp(tname, chw_table_names[t]) != 0; t++)
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
	size_t len = chw_esc(name, sizeof name - 1, l[0].sensor, strlen(l[0].sensor)), o;
	long long lo = l[0].ts, hi;

	name[len] = '\0';
	hi = lo;
	for (size_t i = 1; i < n; i++) {
		lo = l[i].ts < lo ? l[i].ts : lo;
		hi = l[i].ts > hi ? l[i].ts : hi;
	}
	o = (size_t)snprintf(w->sql, SQL_MAX, "SELECT batch, count() FROM `%s` WHERE sensor = '%s'",
	    chw_table_names[t], name);
	if (t != T_ALERTS)
		o += (size_t)snprintf(w->sql + o, SQL_MAX - o, " AND ts >= toDateTime(%lld) AND "
		    "ts <= toDateTime(%lld)", lo, hi);
	o += (size_t)snprintf(w->sql + o, SQL_MAX - o, " AND batch IN (");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(w->sql + o, SQL_MAX - o, "%s%" PRIu64, i ? "," : "", l[i].id);
	snprintf(w->sql + o, SQL_MAX - o, ") GROUP BY batch");
	if (chw_http_sql(w, w->sql) < 0)
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
				    "batch %" PRIu64 " (step %lld); not sent again", chw_table_names[t],
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
int
chw_send_group(struct chw *w)
{
	struct loaded *l = w->grp;
	unsigned char found[GROUP_MAX];
	struct spooled *e;
	char q[128];
	uint64_t bytes = 0, rows = 0;
	size_t n = 0;
	int r = 0, tried = 0;

	if (!w->ready && chw_setup(w) < 0)
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
			if (chw_sec_put(&w->body, l[i].s[t].p, l[i].s[t].n, UINT64_MAX / 4) < 0) {
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
		snprintf(q, sizeof q, "INSERT INTO `%s` FORMAT TabSeparated", chw_table_names[t]);
		r = chw_http(w, 1, q, w->body.p, w->body.n);
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
