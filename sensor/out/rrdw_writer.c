/*
 * rrdw_writer.c — the RRD writer's thread: takes batches of snapshots off
 * the queue, turns them into update lines (gap fills, keepalives, restart
 * markers: see rrdw.c's first comment), hands them to a back end
 * (rrdw_back.c), and rides out rrdcached outages with a backoff.
 */
#include "rrdw_int.h"

#include "log.h"
#include "mono.h"
#include "rrdcc.h"
#include "thr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rrd.h>

/* ---------------------------------------------------------- the writer */

struct chunk {
	struct rrdw_file *f;
	int n;				/* lines in w->lines */
	size_t bytes, budget;
	int items[CHUNK_LINES], nitems, nextra;
	time_t last;			/* the file's state once written */
	uint64_t tot[RRDW_MAX_DS];
};

/* A file's error, once per file and at most ten in all: a daemon without
 * -R, say, would otherwise say the same for every subscriber. The cause
 * is librrd's or the daemon's message, which often starts with the path
 * again. */
static void
file_error(struct rrdw *w, struct rrdw_file *f)
{
	const char *msg = w->rc_msg;
	size_t pl = strlen(f->path);

	if (f->w_errlogged)
		return;
	f->w_errlogged = 1;
	if (!strncmp(msg, f->path, pl) && !strncmp(msg + pl, ": ", 2))
		msg += pl + 2;
	if (w->file_errors < 10)
		log_err("rrd: %s: %s", f->path, *msg ? msg : "unknown error");
	if (++w->file_errors == 10)
		log_err("rrd: further file errors are only counted (the total "
		    "follows at the end)");
}

/* n step updates of f will never be written: counted, and f named at the
 * end of the run. */
void
rrdw_writer_lose(struct rrdw *w, struct rrdw_file *f, uint64_t n)
{
	if (n == 0)
		return;
	rrdw_count(&w->st_failed, n);
	if (f->w_lost == 0) {
		f->w_lnext = w->lost;
		w->lost = f;
	}
	f->w_lost += n;
}

/* Writes the chunk's lines. On success the file's state advances; on a
 * refusal its items are given up (counted) and the file is probed again
 * before its next write. Returns RC_OK, RC_ERR or RC_DOWN (items kept). */
static int
chunk_send(struct rrdw *w, struct chunk *c)
{
	struct rrdw_file *f = c->f;
	int r;

	for (int i = 0; i < c->n; i++)
		w->argv[i] = w->lines[i];
	r = w->addr ? rrdw_back_rc_update(w, f, c->n) :
	    rrdw_back_direct_update(w, f, c->n);
	if (r == RC_DOWN)
		return r;
	if (r == RC_OK) {
		f->w_last = c->last;
		memcpy(f->w_tot, c->tot, sizeof f->w_tot);
		f->w_fresh = 0;
		f->w_rezero = 0;
		f->w_errlogged = 0;
		f->w_skip = 0;	/* what was skipped rode with this write */
		rrdw_count(&w->st_updates, (uint64_t)c->nitems);
		rrdw_count(&w->st_extra, (uint64_t)c->nextra);
		if (w->addr && !f->w_flushlist) {
			f->w_flushlist = 1;
			f->w_fnext = w->fhead;
			w->fhead = f;
		}
	} else if (!f->w_retry) {
		/* Probe the file again and retry once: an UPDATE that the
		 * daemon applied just before it went away comes back as
		 * "illegal attempt to update"; after the probe those items
		 * are simply behind the file's last update. */
		f->w_retry = 1;
		f->w_state = W_REPROBE;
		c->n = c->nitems = c->nextra = 0;
		c->bytes = 0;
		return r;
	} else {
		file_error(w, f);
		rrdw_writer_lose(w, f, (uint64_t)c->nitems);
		f->w_state = W_REPROBE;
	}
	f->w_retry = 0;
	for (int i = 0; i < c->nitems; i++)
		w->batch[c->items[i]].done = 1;
	c->n = c->nitems = c->nextra = 0;
	c->bytes = 0;
	return r;
}

/* Appends "ts:v" (item: its batch index, or -1 for a line of our own),
 * sending the chunk first when full. Returns what chunk_send returned,
 * RC_OK if nothing was sent. */
static int
add_line(struct rrdw *w, struct chunk *c, time_t ts, const uint64_t *v,
    int unknown, int item)
{
	char line[LINE_MAX_LEN];
	size_t len = rrdw_back_line(line, c->f, ts, v, unknown);
	int r = RC_OK;

	if (c->n == CHUNK_LINES ||
	    (w->addr && c->n > 0 && c->bytes + len + 1 > c->budget))
		if ((r = chunk_send(w, c)) != RC_OK)
			return r;
	memcpy(w->lines[c->n++], line, len + 1);
	c->bytes += len + 1;
	c->last = ts;
	if (!unknown && v != c->tot)
		memcpy(c->tot, v, sizeof c->tot);
	if (item >= 0)
		c->items[c->nitems++] = item;
	else
		c->nextra++;
	return r;
}

static void
give_up(struct rrdw *w, struct rrdw_file *f)
{
	for (int i = f->w_bhead; i >= 0; i = w->batch[i].next)
		if (!w->batch[i].done) {
			w->batch[i].done = 1;
			rrdw_writer_lose(w, f, 1);
		}
}

/* Makes sure the file exists and we know its state. Returns RC_OK, RC_DOWN,
 * or RC_ERR after giving up this file's items in the batch. */
static int
file_ready(struct rrdw *w, struct rrdw_file *f, time_t first)
{
	int r;

	if (f->w_state == W_READY)
		return RC_OK;
	if (f->w_state == W_BROKEN) {
		give_up(w, f);
		return RC_ERR;
	}
	r = w->addr ? rrdw_back_rc_probe(w, f, first) :
	    rrdw_back_direct_probe(w, f, first);
	if (r == RC_DOWN)
		return r;
	if (r == RC_BROKEN) {
		f->w_state = W_BROKEN;
		give_up(w, f);
		return RC_ERR;
	}
	if (r != RC_OK) {
		file_error(w, f);
		give_up(w, f);
		return RC_ERR;
	}
	f->w_state = W_READY;
	if (!f->w_listed) {
		f->w_listed = 1;
		f->w_next = w->wfiles;
		w->wfiles = f;
	}
	return RC_OK;
}

/* Keepalive lines at the batch's ticks before upto, as if each tick had
 * been handled when it came: a file silent for ka seconds at a tick gets
 * its unchanged totals written there, so that silence while the sensor
 * runs reads 0 rather than unknown. Where no tick came (the capture
 * stopped), nothing is written and a long gap reads unknown. Returns as
 * add_line. */
static int
ka_lines(struct rrdw *w, struct chunk *c, time_t upto)
{
	for (;;) {
		time_t want = c->last + (time_t)w->ka;
		size_t lo = 0, hi = w->nticks;
		int r;

		while (lo < hi) {	/* first tick >= want */
			size_t mid = (lo + hi) / 2;

			if (w->ticks[mid] < want)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == w->nticks || w->ticks[lo] >= upto)
			return RC_OK;
		if ((r = add_line(w, c, w->ticks[lo], c->tot, 0, -1)) != RC_OK)
			return r;
	}
}

/* A file found without a value (a new file whose first lines rrdcached
 * acknowledged and then lost in a crash) gets our zero total just after
 * its last update: the next line then has a value to count from, and the
 * lost amounts, carried in the running totals, spread over the gap instead
 * of vanishing into an unknown interval. Returns as add_line. */
static int
rezero_line(struct rrdw *w, struct chunk *c)
{
	uint64_t zero[RRDW_MAX_DS], tot[RRDW_MAX_DS];
	int r;

	if (!c->f->w_rezero)
		return RC_OK;
	memcpy(tot, c->tot, sizeof tot);
	rrdw_clear_values(c->f->kind, zero);
	r = add_line(w, c, c->last + 1, zero, 0, -1);
	memcpy(c->tot, tot, sizeof c->tot);
	return r;
}

/* The lines that go before the update at t. A file that existed before
 * this run (fresh): unknown up to this run's first step, then zero (the
 * sensor was watching, the subscriber was silent), kept within the
 * heartbeat by fills every keepalive period. Any other: keepalives, then a
 * gap fill at t - step, unless the update carries amounts of earlier steps
 * that may spread over the gap. Returns as add_line. */
static int
fill_lines(struct rrdw *w, struct chunk *c, const struct item *it, int fresh)
{
	time_t s = (time_t)w->step, t = it->ts;
	int r;

	if (fresh) {
		time_t from = w->run_start - s;

		if (from > c->last) {
			if (from - 1 > c->last &&
			    (r = add_line(w, c, from - 1, c->tot, 1, -1)) != RC_OK)
				return r;
			if ((r = add_line(w, c, from, c->tot, 0, -1)) != RC_OK)
				return r;
		}
		for (time_t k = c->last + (time_t)w->ka; k < t - s;
		    k += (time_t)w->ka)
			if ((r = add_line(w, c, k, c->tot, 0, -1)) != RC_OK)
				return r;
	} else if ((r = ka_lines(w, c, t)) != RC_OK) {
		return r;
	}
	if (c->last < t - s &&
	    (fresh || !(it->carried && t - c->last <= (time_t)w->hb)))
		return add_line(w, c, t - s, c->tot, 0, -1);
	return RC_OK;
}

/* After a file's items: keepalives up to the batch's last tick and, at the
 * run's end, its totals at the last step (the sensor watched it until
 * then). Returns as chunk_send. */
static int
tail_lines(struct rrdw *w, struct chunk *c)
{
	int r;

	if ((r = ka_lines(w, c, (time_t)1 << 62)) != RC_OK)
		return r;
	if (w->final_tick > c->last &&
	    (r = add_line(w, c, w->final_tick, c->tot, 0, -1)) != RC_OK)
		return r;
	return c->n > 0 ? chunk_send(w, c) : RC_OK;
}

/* Writes one file's items of the batch, in order. Returns RC_DOWN if
 * rrdcached went away (the unwritten items stay), else RC_OK. */
static int
deliver_file(struct rrdw *w, struct rrdw_file *f)
{
	struct chunk c = { .f = f };
	int r, i, fresh;

	for (i = f->w_bhead; i >= 0 && w->batch[i].done; i = w->batch[i].next)
		;
	if (i < 0)
		return RC_OK;
	if ((r = file_ready(w, f, w->batch[i].ts)) != RC_OK)
		return r == RC_DOWN ? r : RC_OK;
	/* rc_cmd refuses paths longer than CMD_MAX - 200 */
	c.budget = strlen(f->path) < CMD_MAX - 200 ?
	    CMD_MAX - strlen(f->path) - 16 : 0;
	c.last = f->w_last;
	memcpy(c.tot, f->w_tot, sizeof c.tot);
	fresh = f->w_fresh;
	if ((r = rezero_line(w, &c)) != RC_OK)
		return r == RC_DOWN ? r : RC_OK;
	for (; i >= 0; i = w->batch[i].next) {
		struct item *it = &w->batch[i];

		if (it->done)
			continue;
		if (it->ts <= c.last) {
			/* Restarted within a step the last run already wrote
			 * (its partial step at exit): the amount is in our
			 * totals and goes with the next update. */
			it->done = 1;
			rrdw_count(&w->st_skipped, 1);
			f->w_skip++;
			if (rrdw_once(&w->skip_logged))
				log_info("rrd: %s: update for %lld not after the "
				    "file's last (%lld); carried to the next step",
				    f->path, (long long)it->ts, (long long)c.last);
			continue;
		}
		if ((r = fill_lines(w, &c, it, fresh)) != RC_OK ||
		    (r = add_line(w, &c, it->ts, it->v, 0, i)) != RC_OK)
			return r == RC_DOWN ? r : RC_OK;
		fresh = 0;
	}
	/* Every item skipped means the file already reaches into this run
	 * (an earlier run wrote this step): it is kept alive from there. */
	f->w_fresh = 0;
	r = tail_lines(w, &c);
	return r == RC_DOWN ? r : RC_OK;
}

/* Keepalives for the files without items in this batch. Returns RC_OK or
 * RC_DOWN. */
static int
keepalive(struct rrdw *w)
{
	for (struct rrdw_file *f = w->wfiles; f != NULL; f = f->w_next) {
		struct chunk c = { .f = f, .budget = CMD_MAX };
		int r;

		if (f->w_bhead < 0 && f->w_state == W_REPROBE &&
		    (r = file_ready(w, f, f->w_last + (time_t)w->step)) != RC_OK) {
			if (r == RC_DOWN)
				return r;
			continue;
		}
		if (f->w_state != W_READY || f->w_fresh || f->w_bhead >= 0)
			continue;
		c.last = f->w_last;
		memcpy(c.tot, f->w_tot, sizeof c.tot);
		if ((r = rezero_line(w, &c)) == RC_OK)
			r = tail_lines(w, &c);
		if (r == RC_DOWN)
			return RC_DOWN;
	}
	return RC_OK;
}

/* Writes what the batch holds; what could not be written because rrdcached
 * is down stays in it, in order. Returns RC_OK or RC_DOWN. */
static int
write_batch(struct rrdw *w)
{
	struct rrdw_file *files = NULL, *f, *next;
	int r = RC_OK;
	size_t i, j;

	w->nticks = 0;
	w->final_tick = 0;
	for (i = 0; i < w->nbatch; i++) {
		struct item *it = &w->batch[i];

		it->next = -1;
		if (it->done)
			continue;
		if (w->run_start == 0)
			w->run_start = it->ts;
		if ((f = it->f) == NULL) {
			/* done only once the batch got through: keepalives
			 * missed in an outage are written on the retry */
			w->ticks[w->nticks++] = it->ts;
			if (it->carried)
				w->final_tick = it->ts;
			continue;
		}
		if (f->w_bhead < 0) {
			f->w_bhead = (int)i;
			f->w_bnext = files;
			files = f;
		} else {
			w->batch[f->w_btail].next = (int)i;
		}
		f->w_btail = (int)i;
	}
	for (f = files; f != NULL && r == RC_OK; f = f->w_bnext)
		r = deliver_file(w, f);
	if (r == RC_OK && w->nticks > 0)
		r = keepalive(w);
	for (f = files; f != NULL; f = next) {
		next = f->w_bnext;
		f->w_bnext = NULL;
		f->w_bhead = f->w_btail = -1;
	}
	for (i = 0; i < w->nbatch && r == RC_OK; i++)
		if (w->batch[i].f == NULL)
			w->batch[i].done = 1;
	for (i = j = 0; i < w->nbatch; i++)
		if (!w->batch[i].done)
			w->batch[j++] = w->batch[i];
	w->nbatch = j;
	return r;
}

/* FLUSH every file written since the last flush. Returns RC_OK or
 * RC_DOWN (the rest stay listed). */
static int
backend_flush(struct rrdw *w)
{
	while (w->fhead != NULL) {
		struct rrdw_file *f = w->fhead;

		if (rrdw_back_rc_simple(w, "FLUSH", f) == RC_DOWN)
			return RC_DOWN;
		w->fhead = f->w_fnext;
		f->w_fnext = NULL;
		f->w_flushlist = 0;
	}
	return RC_OK;
}

/* The connection failed. A connection that had worked is a new outage:
 * said, and retried from the shortest backoff. One that failed on its
 * first command (a daemon that accepts and then stalls, or answers
 * garbage) is the same outage going on: the backoff keeps growing, and
 * the cause is said again only every WARN_EVERY_S. */
static void
went_down(struct rrdw *w)
{
	double now = mono_s();

	w->down = 1;
	if (w->conn_ok || !w->outage_logged) {
		if (w->conn_ok || w->backoff_ms == 0)
			w->backoff_ms = BACKOFF_MIN_MS;
		w->down_since = now;
		w->last_warn = now;
		w->outage_logged = 1;
		w->quiet_fails = 0;
		rrdw_count(&w->st_outages, 1);
		log_warn("rrdcached %s: %s; retrying, updates wait in the queue "
		    "(%zu) and then carry their totals", w->addr, w->rc_msg,
		    w->cap);
	} else if (now - w->last_warn >= WARN_EVERY_S) {
		log_warn("rrdcached %s: still failing after %.0fs: %s (%" PRIu64
		    " reconnections failed at once since the last message)",
		    w->addr, now - w->down_since, w->rc_msg, w->quiet_fails + 1);
		w->last_warn = now;
		w->quiet_fails = 0;
	} else {
		w->quiet_fails++;
	}
	w->conn_ok = 0;
	/* Producers waiting for room must not wait for a dead daemon. */
	pthread_cond_broadcast(&w->can_put);
}

static struct timespec
deadline(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Called with mu held while down: one reconnect attempt. The backoff
 * grows with every attempt and shrinks only once a command got through
 * (rc_req), so that a daemon that accepts and then fails costs one
 * attempt per backoff, not a busy loop. Returns 1 if connected again. */
static int
reconnect(struct rrdw *w)
{
	int ok;

	pthread_mutex_unlock(&w->mu);
	ok = rrdcc_connect(w->rc) == 0;
	if (!ok)
		snprintf(w->rc_msg, sizeof w->rc_msg, "%s", rrdcc_msg(w->rc));
	pthread_mutex_lock(&w->mu);
	if (w->backoff_ms < BACKOFF_MAX_MS)
		w->backoff_ms *= 2;
	if (w->backoff_ms > BACKOFF_MAX_MS)
		w->backoff_ms = BACKOFF_MAX_MS;
	if (!ok)
		return 0;
	w->down = 0;
	w->conn_ok = 0;
	/* What the daemon acknowledged since our last FLUSH may have died
	 * with it (its journal is buffered): look at those files again
	 * before writing on. */
	for (struct rrdw_file *f = w->fhead; f != NULL; f = f->w_fnext)
		if (f->w_state == W_READY)
			f->w_state = W_REPROBE;
	return 1;
}

static int
past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec ||
	    (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

void *
rrdw_writer_main(void *arg)
{
	struct rrdw *w = arg;
	struct timespec retry = deadline(0);

	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (!w->down && w->nbatch < BATCH && w->count > 0) {
			size_t take = BATCH - w->nbatch;

			if (take > w->count)
				take = w->count;
			for (size_t k = 0; k < take; k++) {
				w->batch[w->nbatch] = w->ring[w->head];
				w->batch[w->nbatch++].done = 0;
				w->head = (w->head + 1) % w->cap;
			}
			w->count -= take;
			pthread_cond_broadcast(&w->can_put);
		}
		if (!w->down && w->nbatch > 0) {
			int r;

			pthread_mutex_unlock(&w->mu);
			r = write_batch(w);
			pthread_mutex_lock(&w->mu);
			if (r == RC_DOWN) {
				went_down(w);
				retry = deadline(w->backoff_ms);
			}
			continue;
		}
		if (w->down) {
			/* A flush (or the stop) waiting gets one attempt of
			 * its own, not one per turn of this loop. */
			int want = (w->flush_req > w->flush_done || w->stop) &&
			    w->flush_tried < w->flush_req + (uint64_t)w->stop;

			if (want || past(&retry)) {
				if (want)
					w->flush_tried = w->flush_req +
					    (uint64_t)w->stop;
				if (reconnect(w))
					continue;
				retry = deadline(w->backoff_ms);
			}
			if (w->flush_req > w->flush_done) {
				w->flush_done = w->flush_req;
				w->flush_ok = 0;
				pthread_cond_broadcast(&w->flushed);
			}
			if (w->stop)
				break;
			pthread_cond_timedwait(&w->can_take, &w->mu, &retry);
			continue;
		}
		if (w->flush_req > w->flush_done) {
			uint64_t gen = w->flush_req;
			int r = RC_OK;

			pthread_mutex_unlock(&w->mu);
			if (w->addr)
				r = backend_flush(w);
			pthread_mutex_lock(&w->mu);
			if (r == RC_DOWN) {
				went_down(w);
				retry = deadline(w->backoff_ms);
				continue;
			}
			w->flush_done = gen;
			w->flush_ok = 1;
			pthread_cond_broadcast(&w->flushed);
			continue;
		}
		if (w->stop)
			break;
		pthread_cond_wait(&w->can_take, &w->mu);
	}
	if (w->down) {
		uint64_t lost = 0;

		for (size_t k = 0; k < w->nbatch; k++)
			if (w->batch[k].f != NULL && !w->batch[k].done) {
				rrdw_writer_lose(w, w->batch[k].f, 1);
				lost++;
			}
		for (size_t k = 0; k < w->count; k++) {
			struct item *it = &w->ring[(w->head + k) % w->cap];

			if (it->f != NULL) {
				rrdw_writer_lose(w, it->f, 1);
				lost++;
			}
		}
		w->nbatch = w->count = 0;
		if (lost)
			log_err("rrdcached %s: %s; %" PRIu64 " step updates "
			    "not written at exit", w->addr, w->rc_msg, lost);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}
