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
#include "chw_int.h"

#include "config.h"
#include "fsdir.h"
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

const char *const chw_table_names[NT] = { "subscriber_steps", "sensor_steps", "alerts" };

uint64_t
chw_new_id(void)
{
	static atomic_uint_fast64_t fallback;
	uint64_t id = 0;

	if (getrandom(&id, sizeof id, GRND_NONBLOCK) != (ssize_t)sizeof id)
		id = ((uint64_t)time(NULL) << 24) ^ ((uint64_t)getpid() << 40) ^
		    atomic_fetch_add(&fallback, 1);
	return id ? id : 1;
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
			chw_spool_batch(w, b);
			batch_free(b);
			pthread_mutex_lock(&w->mu);
			continue;
		}
		if (w->stop && (w->shead == NULL || mono_s() > w->stop_by))
			break;
		if (w->shead && mono_s() >= w->retry_at) {
			int r;

			pthread_mutex_unlock(&w->mu);
			r = chw_send_group(w);
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
		chw_spool_batch(w, b);
		batch_free(b);
		pthread_mutex_lock(&w->mu);
	}
	w->qtail = NULL;
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ------------------------------------------------------ open, close */

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
	w->cur_id = chw_new_id();
	w->backoff_ms = BACKOFF_MIN_MS;
	w->grp = calloc(GROUP_MAX, sizeof *w->grp);
	if (!w->url || !w->db || !w->spool || !w->sensor || !w->grp || chw_ddl_prepare(w) < 0 ||
	    (w->curl = curl_easy_init()) == NULL) {
		log_err("clickhouse: out of memory");
		free_all(w);
		return NULL;
	}
	if (fsdir_make(w->spool, 0750) != 0 || access(w->spool, W_OK | X_OK) != 0) {
		log_err("clickhouse: spool %s: %s", w->spool, strerror(errno));
		free_all(w);
		return NULL;
	}
	if (chw_spool_scan(w) < 0) {
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
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, chw_on_data);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, chw_on_progress);
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
	(void)chw_batch_close(w, w->last_ts ? w->last_ts : time(NULL));
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
