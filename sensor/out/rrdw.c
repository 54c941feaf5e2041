/*
 * rrdw.c — the RRD writer (see rrdw.h for the contract): the capture-side
 * table of files, the queue to the writer thread, open and close. The
 * writer thread is rrdw_writer.c, what it writes and how rrdw_back.c.
 *
 * Two threads share this module. The capture thread (rrdw_update,
 * rrdw_commit) keeps every file's running totals in a hash table and queues
 * snapshots of them; it never does I/O. The writer thread owns everything
 * that blocks: probing and creating files, librrd or the rrdcached socket,
 * retries. The fields of struct rrdw_file are split by owner (cap_* and
 * w_*); the queue's mutex orders the hand-over of a snapshot.
 *
 * What the writer writes, per file and step end T (times step-aligned):
 *  - "T:totals". Data sources are DERIVE over running totals, so rrdtool
 *    stores (total(T) - total(T-step)) / step for the step ending at T.
 *  - a gap fill "T-step:previous totals" before it when the file's last
 *    update is older, so that the silent steps read 0 and the whole delta
 *    lands in step T instead of DERIVE spreading it over the gap. (Not when
 *    the snapshot carries amounts of earlier steps that could not be
 *    queued: then spreading them is the best guess.)
 *  - keepalives "K:unchanged totals" at the step ends K the capture thread
 *    committed, once a file has been silent for half a heartbeat: silence
 *    while the sensor runs reads 0, a span nobody committed (capture
 *    stopped) longer than the heartbeat reads unknown. At rrdw_close every
 *    file is brought up to the last committed step.
 *  - on the first write of this run to a file an earlier run left: "U" just
 *    before this run's first step (the sensor was not running: unknown, not
 *    zero), then unchanged totals from there on. The counters continue
 *    from the file's last stored values (ds[].last_ds): no negative and no
 *    lost step across a restart.
 *
 * rrdcached is spoken to through rrdcc.c, a client of its own with bounded
 * waits (see rrdcc.h). Nothing here waits for ever: at the end of the run
 * (rrdw_finish) the daemon gets a grace without an answer, then what is
 * left is counted as lost; librrd is never handed a path that is not a
 * regular file inside the folder (a FIFO would block it for ever, a link
 * would lead its writes out). What cannot be written is counted per file
 * and said at the end, and makes rrdw_finish return -1.
 */
#include "rrdw_int.h"

#include "fsdir.h"
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

/* ---------------------------------------------------- capture-side table */

/* Subscriber names become file names and rrdcached protocol words. The
 * subscriber map already keeps them to [A-Za-z0-9._-]; this is the last
 * line of defence against "..", "/" or a space. Returns 1 if safe. */
static int
name_ok(const char *name)
{
	size_t n = 0;

	if (name == NULL || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (; name[n] != '\0'; n++) {
		unsigned char c = (unsigned char)name[n];

		if (n >= RRDW_NAME_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return n > 0;
}

static uint64_t
hash_name(const char *s)
{
	uint64_t h = 14695981039346656037ull;	/* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

/* Returns the new file entry, or NULL (out of memory). */
static struct rrdw_file *
file_new(struct rrdw *w, enum rrdw_kind kind, const char *name)
{
	const char *sub = kind == RRDW_SENSOR ? "" : "subscribers/";
	size_t nl = strlen(name), pl = strlen(w->dir) + strlen(sub) + nl + 6;
	struct rrdw_file *f = calloc(1, sizeof(*f) + nl + 1 + pl);
	char *p;

	if (f == NULL)
		return NULL;
	p = (char *)(f + 1);
	memcpy(p, name, nl + 1);
	f->name = p;
	p += nl + 1;
	snprintf(p, pl, "%s/%s%s.rrd", w->dir, sub, name);
	f->path = p;
	f->kind = kind;
	f->w_bhead = f->w_btail = -1;
	rrdw_clear_values(kind, f->cap_tot);
	memcpy(f->w_tot, f->cap_tot, sizeof f->w_tot);
	return f;
}

/* Doubling the bucket array rehashes every entry at once; that happens
 * log2(subscribers) times in a run, on a new subscriber's first step, never
 * per packet. Returns 0 or -1 (out of memory: the table stays as it was). */
static int
table_grow(struct rrdw *w)
{
	size_t n = w->nbuckets * 2;
	struct rrdw_file **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return -1;
	for (size_t i = 0; i < w->nbuckets; i++) {
		struct rrdw_file *f = w->buckets[i], *next;

		for (; f != NULL; f = next) {
			size_t j = hash_name(f->name) & (n - 1);

			next = f->cap_hnext;
			f->cap_hnext = b[j];
			b[j] = f;
		}
	}
	free(w->buckets);
	w->buckets = b;
	w->nbuckets = n;
	return 0;
}

/* The subscriber's entry, or NULL if it has none yet. */
static struct rrdw_file *
lookup(const struct rrdw *w, const char *name)
{
	struct rrdw_file *f = w->buckets[hash_name(name) & (w->nbuckets - 1)];

	while (f != NULL && strcmp(f->name, name) != 0)
		f = f->cap_hnext;
	return f;
}

/* Returns the subscriber's entry, created on first use, or NULL after
 * logging once (bad name, table full, out of memory). */
static struct rrdw_file *
subscriber(struct rrdw *w, const char *name)
{
	size_t nfiles = atomic_load_explicit(&w->st_files, memory_order_relaxed);
	struct rrdw_file *f;
	size_t i;

	if (name == NULL)
		goto bad;
	if ((f = lookup(w, name)) != NULL)
		return f;
	i = hash_name(name) & (w->nbuckets - 1);
	if (!name_ok(name))
		goto bad;
	if (nfiles >= w->max_files) {
		if (rrdw_once(&w->full_logged))
			log_err("rrd: more than %zu files; no RRD for "
			    "subscriber %s and any further one", w->max_files,
			    name);
		rrdw_count(&w->st_rejected, 1);
		return NULL;
	}
	if (nfiles >= w->nbuckets) {
		(void)table_grow(w);	/* a failure only lengthens chains */
		i = hash_name(name) & (w->nbuckets - 1);
	}
	if ((f = file_new(w, RRDW_SUBSCRIBER, name)) == NULL) {
		log_err("rrd: out of memory for subscriber %s", name);
		rrdw_count(&w->st_rejected, 1);
		return NULL;
	}
	f->cap_hnext = w->buckets[i];
	w->buckets[i] = f;
	atomic_store_explicit(&w->st_files, nfiles + 1, memory_order_relaxed);
	return f;
bad:
	if (!w->badname_logged) {
		char shown[RRDW_NAME_MAX + 1];
		size_t k = 0;

		/* what is wrong with it may be a control character */
		for (; name != NULL && name[k] != '\0' && k < RRDW_NAME_MAX; k++)
			shown[k] = name[k] > ' ' && name[k] < 127 ? name[k] : '?';
		shown[k] = '\0';
		w->badname_logged = 1;
		log_err("rrd: refusing subscriber name '%s'%s as a file name",
		    name ? shown : "(null)", name && name[k] ? "..." : "");
	}
	rrdw_count(&w->st_rejected, 1);
	return NULL;
}

/* Files of subscribers of earlier runs. A subscriber silent in this run
 * must read 0 while the sensor runs, not unknown, and the writer keeps
 * alive only the files it knows: so the folder is read a slice per step
 * (a million files must not stall the first one) and each file found is
 * given this step's zero, as if the subscriber had been seen. Only where
 * the folder is ours to read: directly or through a local rrdcached (over
 * TCP the path is the daemon's). */
#define ADOPT_SLICE 512

static void
mark_dirty(struct rrdw *w, struct rrdw_file *f)
{
	if (f->cap_dirty)
		return;
	f->cap_dirty = 1;
	if (w->dtail)
		w->dtail->cap_dnext = f;
	else
		w->dhead = f;
	w->dtail = f;
}

/* Only regular files are adopted: librrd would block for ever on a FIFO
 * named NAME.rrd, and a symbolic link may lead out of the folder. The
 * others are named (the first few) and counted. Returns 1 to adopt. */
static int
adopt_regular(struct rrdw *w, const struct dirent *de)
{
	struct stat sb;
	unsigned char t = de->d_type;

	if (t == DT_UNKNOWN)
		t = fstatat(dirfd(w->adopt), de->d_name, &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode) ? DT_REG :
		    DT_UNKNOWN;
	if (t == DT_REG)
		return 1;
	if (w->odd_files++ < NAMES_SHOWN)
		log_warn("rrd: %s/subscribers/%s: not a regular file (%s); "
		    "skipped", w->dir, de->d_name, t == DT_LNK ?
		    "a symbolic link" : t == DT_FIFO ? "a FIFO" : t == DT_DIR ?
		    "a directory" : "not a file");
	return 0;
}

static void
adopt_slice(struct rrdw *w)
{
	struct dirent *de = NULL;
	char name[RRDW_NAME_MAX + 1];
	int n = 0;

	if (w->adopt == NULL)
		return;
	while (n < ADOPT_SLICE && (de = readdir(w->adopt)) != NULL) {
		size_t len = strlen(de->d_name);
		struct rrdw_file *f;

		if (len <= 4 || len - 4 > RRDW_NAME_MAX ||
		    strcmp(de->d_name + len - 4, ".rrd") != 0)
			continue;
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (!name_ok(name) || lookup(w, name) != NULL)
			continue;
		if (!adopt_regular(w, de))
			continue;
		n++;
		if ((f = subscriber(w, name)) == NULL)
			break;	/* table full: logged */
		mark_dirty(w, f);
	}
	if (de == NULL) {
		closedir(w->adopt);
		w->adopt = NULL;
		if (w->odd_files > NAMES_SHOWN)
			log_warn("rrd: %s/subscribers: %zu entries in all that are "
			    "not regular files skipped", w->dir, w->odd_files);
	}
}

/* ----------------------------------------------------------------- queue */

static void
push_locked(struct rrdw *w, const struct item *it)
{
	size_t hwm;

	w->ring[(w->head + w->count) % w->cap] = *it;
	w->count++;
	hwm = atomic_load_explicit(&w->st_hwm, memory_order_relaxed);
	if (w->count > hwm)
		atomic_store_explicit(&w->st_hwm, w->count,
		    memory_order_relaxed);
}

void
rrdw_set_tap(struct rrdw *w, const struct rrdw_tap *tap)
{
	if (w != NULL && tap != NULL)
		w->tap = *tap;
}

/* The file's amounts since its last tap: what the tap stores as the step's
 * row (a gauge as its value). */
static void
tap_row(struct rrdw *w, struct rrdw_file *f, time_t ts)
{
	const struct rrdw_schema *s = rrdw_schema(f->kind);
	uint64_t a[RRDW_MAX_DS];

	for (size_t i = 0; i < s->nds; i++) {
		if (s->ds[i].type == RRDW_GAUGE)
			a[i] = f->cap_tot[i] == RRDW_KEEP ? 0 : f->cap_tot[i];
		else
			a[i] = f->cap_tot[i] - f->cap_tap[i];
		f->cap_tap[i] = f->cap_tot[i];
	}
	w->tap.row(w->tap.arg, f->kind, f->kind == RRDW_SENSOR ? NULL : f->name, ts, a);
}

/* Queues a snapshot of every dirty file at step end ts. Files already
 * queued at ts or later (late data) stay dirty for a later step. With wait,
 * a full queue waits for the writer, unless rrdcached is down: then, and
 * without wait, the rest stays dirty and carried. Returns 0, or -1 if some
 * had to stay behind. */
static int
enqueue_dirty(struct rrdw *w, time_t ts, int wait)
{
	struct rrdw_file *keep = NULL, *ktail = NULL, *f, *next;
	size_t left = 0;
	int full = 0, queued = 0;

	pthread_mutex_lock(&w->mu);
	for (f = w->dhead; f != NULL; f = next) {
		next = f->cap_dnext;
		f->cap_dnext = NULL;
		if (!full && f->cap_qts < ts) {
			while (w->count == w->cap && wait && !w->down && !w->stop) {
				pthread_cond_signal(&w->can_take);
				pthread_cond_wait(&w->can_put, &w->mu);
			}
			full = w->count == w->cap;
		}
		if (full || f->cap_qts >= ts) {
			if (f->cap_qts < ts) {
				left++;
				f->cap_carried = 1;
			}
			if (ktail)
				ktail->cap_dnext = f;
			else
				keep = f;
			ktail = f;
			continue;
		}
		struct item it = { .f = f, .ts = ts, .carried = f->cap_carried };
		memcpy(it.v, f->cap_tot, sizeof it.v);
		push_locked(w, &it);
		if (w->tap.row)
			tap_row(w, f, ts);
		queued = 1;
		f->cap_dirty = 0;
		f->cap_carried = 0;
		f->cap_qts = ts;
	}
	w->dhead = keep;
	w->dtail = ktail;
	if (queued && w->tap.done)
		w->tap.done(w->tap.arg, ts);
	if (queued)
		pthread_cond_signal(&w->can_take);
	pthread_mutex_unlock(&w->mu);
	if (left) {
		rrdw_count(&w->st_dropped, left);
		if (rrdw_once(&w->drop_logged))
			log_warn("rrd: update queue full (%zu); %zu files wait "
			    "for the next step, their totals carry over", w->cap,
			    left);
		return -1;
	}
	return 0;
}

static void
push_tick(struct rrdw *w, time_t ts, int wait)
{
	struct item it = { .f = NULL, .ts = ts };

	if (ts <= w->last_tick)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->count == w->cap && wait && !w->down && !w->stop) {
		pthread_cond_signal(&w->can_take);
		pthread_cond_wait(&w->can_put, &w->mu);
	}
	/* A tick only triggers keepalives; losing one delays them a step. */
	if (w->count < w->cap) {
		push_locked(w, &it);
		w->last_tick = ts;
		pthread_cond_signal(&w->can_take);
	}
	pthread_mutex_unlock(&w->mu);
}

/* The run's last tick: every file silent since its last write gets its
 * totals rewritten at the last committed step (written by the flush that
 * follows). */
static void
push_final(struct rrdw *w)
{
	struct item it = { .f = NULL, .ts = w->committed, .carried = 1 };

	if (w->committed == 0)
		return;
	pthread_mutex_lock(&w->mu);
	while (w->count == w->cap && !w->down && !w->stop) {
		pthread_cond_signal(&w->can_take);
		pthread_cond_wait(&w->can_put, &w->mu);
	}
	if (w->count < w->cap) {
		push_locked(w, &it);
		pthread_cond_signal(&w->can_take);
	}
	pthread_mutex_unlock(&w->mu);
}

static int
commit(struct rrdw *w, time_t t, int wait)
{
	int r = 0;

	if (w->cur != 0 && w->cur <= t) {
		r = enqueue_dirty(w, w->cur, wait);
		if (w->cur > w->committed)
			w->committed = w->cur;
		w->cur = 0;
	} else if (w->cur == 0 && w->dhead != NULL && t > w->committed) {
		/* Leftovers (dropped or late): they ride with this step. */
		r = enqueue_dirty(w, t, wait);
	}
	if (t > w->committed)
		w->committed = t;
	push_tick(w, w->committed, wait);
	return r;
}

/* The producer the calling thread is (rrdw_bind_producer). */
static _Thread_local unsigned tl_producer;

void
rrdw_bind_producer(unsigned idx)
{
	tl_producer = idx;
}

int
rrdw_set_producers(struct rrdw *w, unsigned n)
{
	if (w == NULL || n < 1 || n > RRDW_MAX_PRODUCERS)
		return -1;
	w->nprod = n;
	for (unsigned p = 0; p < RRDW_MAX_PRODUCERS; p++) {
		w->prod_done[p] = 0;
		rrdw_clear_values(RRDW_SENSOR, w->prod_gauge[p]);
	}
	return 0;
}

/* A gauge of sensor.rrd with several producers: the sum of what each
 * reported last (RRDW_KEEP while none has). */
static uint64_t
gauge_sum(const struct rrdw *w, size_t i)
{
	uint64_t sum = RRDW_KEEP;

	for (unsigned p = 0; p < w->nprod; p++) {
		if (w->prod_gauge[p][i] == RRDW_KEEP)
			continue;
		sum = (sum == RRDW_KEEP ? 0 : sum) + w->prod_gauge[p][i];
	}
	return sum;
}

static int
update(struct rrdw *w, enum rrdw_kind kind, const char *name,
    time_t step_end, const uint64_t *values, int multi)
{
	const struct rrdw_schema *s;
	struct rrdw_file *f;
	time_t t;

	f = kind == RRDW_SENSOR ? w->sensor : subscriber(w, name);
	if (f == NULL)
		return -1;
	t = rrdw_align_up(w, step_end);
	if (t > w->committed) {
		/* Several producers: the step stays open until all have
		 * committed it (rrdw_commit); a faster one's amounts for the
		 * next step ride with it, none is lost. */
		if (!multi && w->cur != 0 && t > w->cur)
			(void)commit(w, w->cur, w->block);
		if (w->cur == 0 || (multi && t < w->cur))
			w->cur = t;
		else if (t < w->cur)
			f->cap_carried = 1;	/* an older, open step */
	} else {
		rrdw_count(&w->st_late, 1);
		f->cap_carried = 1;
	}
	s = rrdw_schema(kind);
	for (size_t i = 0; i < s->nds; i++) {
		if (values[i] == RRDW_KEEP)
			continue;
		if (s->ds[i].type != RRDW_GAUGE) {
			f->cap_tot[i] += values[i];
		} else if (multi && f == w->sensor) {
			unsigned p = tl_producer < w->nprod ? tl_producer : 0;

			w->prod_gauge[p][i] = values[i];
			f->cap_tot[i] = gauge_sum(w, i);
		} else {
			f->cap_tot[i] = values[i];
		}
	}
	mark_dirty(w, f);
	return 0;
}

int
rrdw_update(struct rrdw *w, enum rrdw_kind kind, const char *name,
    time_t step_end, const uint64_t *values)
{
	int r;

	if (w == NULL || values == NULL || (unsigned)kind >= RRDW_NKINDS)
		return -1;
	if (w->nprod <= 1)
		return update(w, kind, name, step_end, values, 0);
	pthread_mutex_lock(&w->cap_mu);
	r = update(w, kind, name, step_end, values, 1);
	pthread_mutex_unlock(&w->cap_mu);
	return r;
}

int
rrdw_commit(struct rrdw *w, time_t step_end)
{
	unsigned me;
	time_t t, q;
	int r = 0;

	if (w == NULL)
		return -1;
	t = rrdw_align_up(w, step_end);
	if (w->nprod <= 1) {
		adopt_slice(w);
		return commit(w, t, w->block);
	}
	/* The quorum: steps every producer has committed. */
	pthread_mutex_lock(&w->cap_mu);
	me = tl_producer < w->nprod ? tl_producer : 0;
	if (t > w->prod_done[me])
		w->prod_done[me] = t;
	q = w->prod_done[0];
	for (unsigned p = 1; p < w->nprod; p++)
		if (w->prod_done[p] < q)
			q = w->prod_done[p];
	if (q > 0) {
		adopt_slice(w);
		r = commit(w, q, w->block);
	}
	pthread_mutex_unlock(&w->cap_mu);
	return r;
}

int
rrdw_flush(struct rrdw *w)
{
	uint64_t gen;
	int ok;

	if (w == NULL)
		return -1;
	if (w->cur != 0)
		(void)commit(w, w->cur, 1);
	if (w->dhead != NULL && w->committed > 0)
		(void)enqueue_dirty(w, w->committed, 1);
	pthread_mutex_lock(&w->mu);
	gen = ++w->flush_req;
	pthread_cond_signal(&w->can_take);
	while (w->flush_done < gen)
		pthread_cond_wait(&w->flushed, &w->mu);
	ok = w->flush_ok;
	pthread_mutex_unlock(&w->mu);
	return ok ? 0 : -1;
}

void
rrdw_get_stats(struct rrdw *w, struct rrdw_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (w == NULL)
		return;
#define LD(x) atomic_load_explicit(&w->x, memory_order_relaxed)
	st->updates = LD(st_updates);
	st->extra = LD(st_extra);
	st->dropped = LD(st_dropped);
	st->failed = LD(st_failed);
	st->skipped = LD(st_skipped);
	st->late = LD(st_late);
	st->rejected = LD(st_rejected);
	st->created = LD(st_created);
	st->outages = LD(st_outages);
	st->files = LD(st_files);
	st->queue_hwm = LD(st_hwm);
#undef LD
	st->queue_len = w->cap;
}

/* ------------------------------------------------------ open and close */

/* Prepares the directories. Direct: they must exist and be writable.
 * Local rrdcached: best effort (the daemon may create them, -R). Both keep
 * the absolute path: what a unix-socket daemon expects, and what still
 * holds once the sensor has detached (chdir "/"). Remote: the path as the
 * daemon sees it, untouched here. Returns 0 or -1 (logged). */
static int
setup_dir(struct rrdw *w, const char *dir)
{
	char sub[PATH_MAX], *real;
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if ((w->dir = strndup(dir, n)) == NULL)
		return -1;
	if (w->addr != NULL && !rrdcc_local(w->rc))
		return 0;
	snprintf(sub, sizeof sub, "%s/subscribers", w->dir);
	if (w->addr == NULL) {
		const char *bad = NULL;

		if (fsdir_make(w->dir, 0755) != 0 || access(w->dir, W_OK | X_OK) != 0)
			bad = w->dir;
		else if (fsdir_make(sub, 0755) != 0 || access(sub, W_OK | X_OK) != 0)
			bad = sub;
		if (bad != NULL) {
			log_err("rrd: %s: %s", bad, strerror(errno));
			return -1;
		}
	} else {
		(void)fsdir_make(sub, 0755);
	}
	if ((real = realpath(w->dir, NULL)) == NULL && w->dir[0] != '/') {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof cwd) == NULL) {
			log_err("rrd: %s: %s", w->dir, strerror(errno));
			return -1;
		}
		n = strlen(cwd) + strlen(w->dir) + 2;
		if ((real = malloc(n)) != NULL)
			snprintf(real, n, "%s/%s", cwd, w->dir);
	}
	if (real != NULL) {
		free(w->dir);
		w->dir = real;
	}
	/* A folder that cannot be read only means no files to adopt. */
	w->adopt = opendir(sub);
	return 0;
}

static void
free_all(struct rrdw *w)
{
	if (w->buckets != NULL)
		for (size_t i = 0; i < w->nbuckets; i++) {
			struct rrdw_file *f = w->buckets[i], *next;

			for (; f != NULL; f = next) {
				next = f->cap_hnext;
				free(f);
			}
		}
	if (w->adopt != NULL)
		closedir(w->adopt);
	free(w->buckets);
	free(w->sensor);
	free(w->ring);
	free(w->batch);
	free(w->dir);
	free(w->addr);
	rrdcc_free(w->rc);
	free(w);
}

struct rrdw *
rrdw_open(const struct rrdw_cfg *cfg)
{
	struct rrdw_rra rra[RRDW_MAX_RRA];
	struct rrdw *w;
	pthread_condattr_t ca;
	int err;

	if (cfg == NULL || cfg->dir == NULL || cfg->dir[0] == '\0') {
		log_err("rrd: no directory given");
		return NULL;
	}
	if (rrdw_rras(RRDW_SENSOR, cfg->step, rra) == 0) {
		log_err("rrd: step %u: must be %u..%u seconds", cfg->step,
		    RRDW_STEP_MIN, RRDW_STEP_MAX);
		return NULL;
	}
	/* The collectors' descriptors did not make a schema (said why). */
	if (rrdw_schema(RRDW_SENSOR)->nds == 0 ||
	    rrdw_schema(RRDW_SUBSCRIBER)->nds == 0)
		return NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_err("rrd: out of memory");
		return NULL;
	}
	w->step = cfg->step;
	w->hb = rrdw_heartbeat(cfg->step);
	w->ka = w->hb / 2 / w->step * w->step;
	if (w->ka < w->step)
		w->ka = w->step;
	w->block = cfg->block;
	w->cap = cfg->queue_len ? cfg->queue_len : 65536;
	w->max_files = cfg->max_files ? cfg->max_files : 1048576;
	if (cfg->rrdcached != NULL && cfg->rrdcached[0] != '\0') {
		if ((w->addr = strdup(cfg->rrdcached)) == NULL ||
		    (w->rc = rrdcc_new(cfg->rrdcached)) == NULL) {
			log_err("rrdcached %s: malformed address (want unix:/path, "
			    "host, host:port or [v6addr]:port)", cfg->rrdcached);
			goto fail;
		}
	}
	if (setup_dir(w, cfg->dir) != 0)
		goto fail;
	if (w->addr != NULL) {
		if (rrdcc_connect(w->rc) != 0 ||
		    rrdcc_req(w->rc, "PING\n", 5, NULL, NULL) != RRDCC_OK) {
			log_err("rrdcached %s: %s", w->addr, rrdcc_msg(w->rc));
			goto fail;
		}
		w->conn_ok = 1;
	}
	w->nbuckets = 1024;
	w->buckets = calloc(w->nbuckets, sizeof(*w->buckets));
	w->sensor = file_new(w, RRDW_SENSOR, "sensor");
	w->ring = calloc(w->cap, sizeof(*w->ring));
	w->batch = calloc(BATCH, sizeof(*w->batch));
	if (!w->buckets || !w->sensor || !w->ring || !w->batch) {
		log_err("rrd: out of memory for a queue of %zu", w->cap);
		goto fail;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->cap_mu, NULL);
	w->nprod = 1;
	pthread_cond_init(&w->can_put, NULL);
	pthread_cond_init(&w->flushed, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->can_take, &ca);
	pthread_condattr_destroy(&ca);
	/* The writer takes no asynchronous signal: SIGTERM, SIGHUP and SIGINT
	 * belong to the capture loop, and a SIGPIPE has nobody to kill. */
	if ((err = thr_start(&w->thr, rrdw_writer_main, w, "rrdw")) != 0) {
		log_err("rrd: cannot start the writer thread: %s", strerror(err));
		pthread_cond_destroy(&w->can_take);
		pthread_cond_destroy(&w->can_put);
		pthread_cond_destroy(&w->flushed);
		pthread_mutex_destroy(&w->mu);
		pthread_mutex_destroy(&w->cap_mu);
		goto fail;
	}
	log_debug("rrd: %s%s, step %us, heartbeat %us, queue %zu (%s)",
	    w->dir, w->addr ? " through rrdcached" : "", w->step, w->hb, w->cap,
	    w->block ? "block" : "drop");
	return w;
fail:
	free_all(w);
	return NULL;
}

/* "a, b, c and 4 more" of up to NAMES_SHOWN files into buf; with skip,
 * each with its count of skipped steps: "a (6), b (5)". */
static void
names_of(char *buf, size_t size, struct rrdw_file *const *shown, size_t n,
    size_t total, int skip)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++) {
		len += (size_t)snprintf(buf + len, size - len, "%s%s%s",
		    i ? ", " : "", shown[i]->kind == RRDW_SENSOR ? "" :
		    "subscribers/", shown[i]->name);
		if (skip && len < size)
			len += (size_t)snprintf(buf + len, size - len, " (%"
			    PRIu64 ")", shown[i]->w_skip);
	}
	if (total > n && len < size)
		snprintf(buf + len, size - len, " and %zu more", total - n);
}

/* The end-of-run lines an operator must see at any verbosity: what was
 * not written, and what a replay skipped. Returns the step updates lost. */
static uint64_t
report(struct rrdw *w)
{
	struct rrdw_file *shown[NAMES_SHOWN];
	char names[NAMES_SHOWN * (RRDW_NAME_MAX + 40) + 32];
	uint64_t lost = 0, skipped = 0;
	size_t n = 0, nf = 0;

	for (struct rrdw_file *f = w->lost; f != NULL; f = f->w_lnext, nf++) {
		lost += f->w_lost;
		if (n < NAMES_SHOWN)
			shown[n++] = f;
	}
	if (nf > 0) {
		names_of(names, sizeof names, shown, n, nf, 0);
		log_err("rrd: %" PRIu64 " step updates of %zu files not written "
		    "(%s); the errors above say why", lost, nf, names);
	}
	n = nf = 0;
	for (struct rrdw_file *f = w->wfiles; f != NULL; f = f->w_next) {
		if (f->w_skip == 0)
			continue;
		skipped += f->w_skip;
		if (n < NAMES_SHOWN)
			shown[n++] = f;
		nf++;
	}
	if (nf > 0) {
		names_of(names, sizeof names, shown, n, nf, 1);
		log_warn("rrd: %" PRIu64 " steps of %zu files not written: the "
		    "files already hold later steps (steps per file: %s)",
		    skipped, nf, names);
	}
	return lost;
}

int
rrdw_finish(struct rrdw *w)
{
	struct rrdw_stats st;
	int ok;

	if (w == NULL)
		return 0;
	if (w->finished)
		return w->finish_rc;
	w->finished = 1;
	/* From here on no wait for rrdcached may outlast its silence by
	 * more than the grace, whatever is still to write. */
	if (w->rc != NULL)
		rrdcc_limit(w->rc, EXIT_GRACE_S);
	ok = rrdw_flush(w) == 0;
	push_final(w);
	/* Late data for a step already written: give it the next step. */
	if (w->dhead != NULL && !w->down)
		(void)enqueue_dirty(w, w->committed + (time_t)w->step, 1);
	if (rrdw_flush(w) != 0)
		ok = 0;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->can_take);
	pthread_cond_broadcast(&w->can_put);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thr, NULL);
	/* The writer is gone: its fields are ours now. */
	for (struct rrdw_file *f = w->dhead; f != NULL; f = f->cap_dnext)
		rrdw_writer_lose(w, f, 1);
	w->dhead = w->dtail = NULL;
	if (report(w) > 0)
		ok = 0;
	rrdw_get_stats(w, &st);
	log_info("rrd: %" PRIu64 " updates written (+%" PRIu64 " fills), %"
	    PRIu64 " files created, %" PRIu64 " dropped, %" PRIu64 " failed, %"
	    PRIu64 " skipped; queue peak %zu of %zu", st.updates, st.extra,
	    st.created, st.dropped, st.failed, st.skipped, st.queue_hwm,
	    st.queue_len);
	w->finish_rc = ok ? 0 : -1;
	return w->finish_rc;
}

int
rrdw_close(struct rrdw *w)
{
	int r;

	if (w == NULL)
		return 0;
	r = rrdw_finish(w);
	pthread_cond_destroy(&w->can_take);
	pthread_cond_destroy(&w->can_put);
	pthread_cond_destroy(&w->flushed);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->cap_mu);
	free_all(w);
	return r;
}

