/*
 * rrdw.c — the RRD writer (see rrdw.h for the contract).
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
#include "rrdw.h"

#include "log.h"
#include "mono.h"
#include "rrdcc.h"
#include "thr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <rrd.h>

/* ---------------------------------------------------------------- schema */

static const struct rrdw_ds sensor_ds[RRDW_S_NDS] = {
	[RRDW_S_PACKETS] = { "packets", RRDW_DERIVE },
	[RRDW_S_BYTES] = { "bytes", RRDW_DERIVE },
	[RRDW_S_DROPS] = { "drops", RRDW_DERIVE },
	[RRDW_S_FLOWS_NEW] = { "flows_new", RRDW_DERIVE },
	[RRDW_S_FLOWS_ACTIVE] = { "flows_active", RRDW_GAUGE },
	[RRDW_S_UNKNOWN_BYTES] = { "unknown_bytes", RRDW_DERIVE },
	[RRDW_S_BT_BYTES] = { "bt_bytes", RRDW_DERIVE },
	[RRDW_S_SMTP_SESS] = { "smtp_sess", RRDW_DERIVE },
	[RRDW_S_ALERTS] = { "alerts", RRDW_DERIVE },
};

static const struct rrdw_ds sub_ds[RRDW_U_NDS] = {
	[RRDW_U_BYTES_IN] = { "bytes_in", RRDW_DERIVE },
	[RRDW_U_BYTES_OUT] = { "bytes_out", RRDW_DERIVE },
	[RRDW_U_BT_IN] = { "bt_in", RRDW_DERIVE },
	[RRDW_U_BT_OUT] = { "bt_out", RRDW_DERIVE },
	[RRDW_U_BT_ALLOW_IN] = { "bt_allow_in", RRDW_DERIVE },
	[RRDW_U_BT_ALLOW_OUT] = { "bt_allow_out", RRDW_DERIVE },
	[RRDW_U_P2P_IN] = { "p2p_in", RRDW_DERIVE },
	[RRDW_U_P2P_OUT] = { "p2p_out", RRDW_DERIVE },
	[RRDW_U_SMTP_DIRECT] = { "smtp_direct", RRDW_DERIVE },
	[RRDW_U_SMTP_UNAUTH] = { "smtp_unauth", RRDW_DERIVE },
	[RRDW_U_SMTP_TLS] = { "smtp_tls", RRDW_DERIVE },
	[RRDW_U_SMTP_RCPT] = { "smtp_rcpt", RRDW_DERIVE },
	[RRDW_U_SMTP_SPFPASS] = { "smtp_spfpass", RRDW_DERIVE },
	[RRDW_U_FLOWS] = { "flows", RRDW_DERIVE },
};

const struct rrdw_schema rrdw_schemas[RRDW_NKINDS] = {
	[RRDW_SENSOR] = { "sensor", RRDW_S_NDS, sensor_ds },
	[RRDW_SUBSCRIBER] = { "subscriber", RRDW_U_NDS, sub_ds },
};

/* SPEC's resolutions: one step for a day, ~5 min for a week, ~1 h for two
 * months (62 days: any two calendar months), a day for two years (731: one
 * may be a leap year). Kept at the minimum because a per-subscriber file
 * must stay under 1.5 MiB and there may be tens of thousands of them. */
static const struct {
	unsigned res;		/* seconds per row; 0 = one step */
	unsigned days;
} levels[] = { { 0, 1 }, { 300, 7 }, { 3600, 62 }, { 86400, 731 } };

#define NLEVELS (sizeof levels / sizeof levels[0])

size_t
rrdw_rras(enum rrdw_kind kind, unsigned step, struct rrdw_rra *out)
{
	unsigned ppr[NLEVELS], secs[NLEVELS];
	size_t nl = 0, n = 0;

	if ((unsigned)kind >= RRDW_NKINDS || step < RRDW_STEP_MIN ||
	    step > RRDW_STEP_MAX)
		return 0;
	for (size_t i = 0; i < NLEVELS; i++) {
		unsigned p = levels[i].res ? (levels[i].res + step / 2) / step : 1;
		unsigned s = levels[i].days * 86400u;

		if (p < 1)
			p = 1;
		/* With a long step two levels can coincide (step 3600: 5 min
		 * and 1 h are both one step): keep one, with the longer span. */
		if (nl > 0 && p <= ppr[nl - 1]) {
			if (s > secs[nl - 1])
				secs[nl - 1] = s;
			continue;
		}
		ppr[nl] = p;
		secs[nl] = s;
		nl++;
	}
	for (size_t i = 0; i < nl; i++) {
		unsigned span = ppr[i] * step;
		unsigned rows = (secs[i] + span - 1) / span;

		out[n++] = (struct rrdw_rra){ "AVERAGE", ppr[i], rows };
		/* At one step per row MAX and MIN equal the average. */
		if (ppr[i] == 1)
			continue;
		out[n++] = (struct rrdw_rra){ "MAX", ppr[i], rows };
		if (kind == RRDW_SENSOR)
			out[n++] = (struct rrdw_rra){ "MIN", ppr[i], rows };
	}
	return n;
}

/* Ten steps, but at least 15 minutes: a counter update lost in transit
 * (rrdcached killed before writing, default write interval 5 minutes) then
 * still spreads over the steps it covers instead of turning into unknown. */
unsigned
rrdw_heartbeat(unsigned step)
{
	return step * 10 > 900 ? step * 10 : 900;
}

void
rrdw_clear_values(enum rrdw_kind kind, uint64_t *values)
{
	const struct rrdw_schema *s = &rrdw_schemas[kind];

	for (size_t i = 0; i < s->nds; i++)
		values[i] = s->ds[i].type == RRDW_GAUGE ? RRDW_KEEP : 0;
}

/* ------------------------------------------------------------ structures */

enum { W_NEW, W_READY, W_REPROBE, W_BROKEN };	/* w_state */
/* Backend results: done; refused (this file, this time); connection to
 * rrdcached lost; file exists with another schema (never written). */
enum { RC_OK = 0, RC_ERR = -1, RC_DOWN = -2, RC_BROKEN = -3 };

struct rrdw_file {
	/* set at creation, read-only afterwards */
	enum rrdw_kind kind;
	const char *name;
	const char *path;	/* as librrd or rrdcached wants it */

	/* capture thread */
	struct rrdw_file *cap_hnext;	/* hash chain */
	struct rrdw_file *cap_dnext;	/* dirty list */
	unsigned char cap_dirty;	/* totals changed since last queued */
	unsigned char cap_carried;	/* ... and hold amounts of earlier steps */
	time_t cap_qts;			/* last step queued */
	uint64_t cap_tot[RRDW_MAX_DS];
	uint64_t cap_tap[RRDW_MAX_DS];	/* cap_tot last handed to the tap */

	/* writer thread */
	struct rrdw_file *w_next;	/* every file the writer has opened */
	struct rrdw_file *w_fnext;	/* written since the last FLUSH */
	struct rrdw_file *w_bnext;	/* has items in the current batch */
	int w_bhead, w_btail;		/* its items there, chained by index */
	unsigned char w_state, w_fresh, w_flushlist, w_errlogged, w_listed;
	unsigned char w_retry;		/* refused once, probing again */
	unsigned char w_rezero;		/* the file has no value to count from */
	struct rrdw_file *w_lnext;	/* lost step updates (w->lost) */
	uint64_t w_lost;		/* step updates not written */
	uint64_t w_skip;		/* steps not after the file's last update
					 * whose amounts no later write carried */
	time_t w_last;			/* the file's last update */
	uint64_t w_base[RRDW_MAX_DS];	/* file total = base + our total */
	uint64_t w_tot[RRDW_MAX_DS];	/* our total at w_last */
};

struct item {
	struct rrdw_file *f;	/* NULL: a tick, "steps up to ts are done" */
	time_t ts;
	int carried;		/* v holds amounts of earlier steps too;
				 * on a tick: the run's last */
	int next;		/* writer: next item of the same file */
	int done;		/* writer: written or given up */
	uint64_t v[RRDW_MAX_DS];
};

#define BATCH 1024		/* snapshots the writer takes at once */
#define CHUNK_LINES 48		/* values per rrd_update / UPDATE */
#define LINE_MAX_LEN 400	/* "ts:" + 14 x 20 digits, with room */
#define CMD_MAX 4000		/* rrdcached reads lines of < 4096 bytes and
				 * truncates longer ones in its journal */
#define EXIT_GRACE_S 10		/* at exit: give up after this long without
				 * an answer from rrdcached */
#define WARN_EVERY_S 60		/* a failing cause is logged this often */
#define NAMES_SHOWN 5		/* files named in an end-of-run line */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 10000

struct rrdw {
	unsigned step, hb, ka;	/* ka: keepalive after this many seconds */
	int block;
	size_t max_files;
	char *dir;		/* prefix of every path */

	/* rrdcached; addr == NULL means direct librrd */
	char *addr;		/* as configured, for messages */
	struct rrdcc *rc;
	char rc_msg[256];	/* last error (the daemon's, librrd's, ours) */
	int conn_ok;		/* a command got a reply on this connection */

	/* capture thread */
	struct rrdw_file **buckets;
	size_t nbuckets;
	struct rrdw_file *sensor;
	struct rrdw_file *dhead, *dtail;
	time_t cur;		/* step of the data not yet queued, 0: none */
	time_t committed;	/* steps up to here are queued */
	time_t last_tick;
	int badname_logged, full_logged, drop_logged;
	DIR *adopt;		/* subscriber files of earlier runs, read a
				 * slice per step */
	size_t odd_files;	/* entries there that are not regular files */

	/* queue, under mu */
	pthread_mutex_t mu;
	pthread_cond_t can_put, can_take, flushed;
	struct item *ring;
	size_t cap, head, count;
	int stop, down;
	uint64_t flush_req, flush_done;
	int flush_ok;

	/* writer thread */
	pthread_t thr;
	struct item *batch;
	size_t nbatch;
	struct rrdw_file *wfiles, *fhead;
	int skip_logged, file_errors;
	time_t run_start;	/* first step end of this run */
	time_t ticks[BATCH];	/* the batch's ticks, ascending */
	size_t nticks;
	time_t final_tick;	/* the run's last tick, if in this batch */
	double down_since, last_warn;
	unsigned backoff_ms;
	int outage_logged;	/* the outage said; its end will be too */
	uint64_t quiet_fails;	/* failed at once after a reconnect, since
				 * the last warning */
	uint64_t flush_tried;	/* flush generation a reconnect was tried for
				 * while down */
	struct rrdw_file *lost;	/* files that lost step updates */
	int finished, finish_rc;	/* rrdw_finish ran, and its result */
	char lines[CHUNK_LINES][LINE_MAX_LEN];
	const char *argv[CHUNK_LINES];
	char cmd[2 * CMD_MAX];	/* a CREATE may pass CMD_MAX: the daemon
				 * then says so */

	/* several producers (rrdw_set_producers); with nprod > 1 the
	 * capture-side fields above are under cap_mu */
	unsigned nprod;
	pthread_mutex_t cap_mu;
	time_t prod_done[RRDW_MAX_PRODUCERS];	/* each one's last commit */
	uint64_t prod_gauge[RRDW_MAX_PRODUCERS][RRDW_S_NDS];	/* sensor.rrd */

	struct rrdw_tap tap;	/* rrdw_set_tap; tap.row NULL: none */

	/* statistics, written by either thread */
	atomic_uint_fast64_t st_updates, st_extra, st_dropped, st_failed,
	    st_skipped, st_late, st_rejected, st_created, st_outages;
	atomic_size_t st_files, st_hwm;
};

static void
count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* 1 the first time for this flag: a message said once. */
static int
once(int *flag)
{
	if (*flag)
		return 0;
	*flag = 1;
	return 1;
}

static time_t
align_up(const struct rrdw *w, time_t t)
{
	time_t s = (time_t)w->step;
	time_t r = t % s;

	if (r < 0)
		r += s;
	return r ? t - r + s : t;
}


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
		if (once(&w->full_logged))
			log_err("rrd: more than %zu files; no RRD for "
			    "subscriber %s and any further one", w->max_files,
			    name);
		count(&w->st_rejected, 1);
		return NULL;
	}
	if (nfiles >= w->nbuckets) {
		(void)table_grow(w);	/* a failure only lengthens chains */
		i = hash_name(name) & (w->nbuckets - 1);
	}
	if ((f = file_new(w, RRDW_SUBSCRIBER, name)) == NULL) {
		log_err("rrd: out of memory for subscriber %s", name);
		count(&w->st_rejected, 1);
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
	count(&w->st_rejected, 1);
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
	const struct rrdw_schema *s = &rrdw_schemas[f->kind];
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
		count(&w->st_dropped, left);
		if (once(&w->drop_logged))
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
	t = align_up(w, step_end);
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
		count(&w->st_late, 1);
		f->cap_carried = 1;
	}
	s = &rrdw_schemas[kind];
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
	t = align_up(w, step_end);
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

/* -------------------------------------------------------- file contents */

/* Builds the rrdcreate DS and RRA definitions into defs[] and argv[].
 * Returns the number of arguments. */
static int
create_args(const struct rrdw *w, enum rrdw_kind kind, char defs[][64],
    const char **argv)
{
	const struct rrdw_schema *s = &rrdw_schemas[kind];
	struct rrdw_rra rra[RRDW_MAX_RRA];
	size_t nrra = rrdw_rras(kind, w->step, rra);
	int n = 0;

	for (size_t i = 0; i < s->nds; i++, n++) {
		snprintf(defs[n], 64, "DS:%s:%s:%u:0:U", s->ds[i].name,
		    s->ds[i].type == RRDW_GAUGE ? "GAUGE" : "DERIVE", w->hb);
		argv[n] = defs[n];
	}
	for (size_t i = 0; i < nrra; i++, n++) {
		snprintf(defs[n], 64, "RRA:%s:0.5:%u:%u", rra[i].cf,
		    rra[i].pdp_per_row, rra[i].rows);
		argv[n] = defs[n];
	}
	return n;
}

/* One update line "ts:v1:v2...". v holds our totals (gauges: values);
 * unknown writes U everywhere. Returns its length. */
static size_t
fmt_line(char *buf, const struct rrdw_file *f, time_t ts, const uint64_t *v,
    int unknown)
{
	const struct rrdw_schema *s = &rrdw_schemas[f->kind];
	size_t n = (size_t)snprintf(buf, LINE_MAX_LEN, "%lld", (long long)ts);

	for (size_t i = 0; i < s->nds; i++) {
		if (unknown || v[i] == RRDW_KEEP)
			n += (size_t)snprintf(buf + n, LINE_MAX_LEN - n, ":U");
		else if (s->ds[i].type == RRDW_GAUGE)
			n += (size_t)snprintf(buf + n, LINE_MAX_LEN - n,
			    ":%" PRIu64, v[i]);
		else	/* modular: base may be "minus" our total */
			n += (size_t)snprintf(buf + n, LINE_MAX_LEN - n,
			    ":%" PRIu64, f->w_base[i] + v[i]);
	}
	return n;
}

/* What a file says about itself (rrdinfo keys), from librrd or rrdcached. */
struct probe {
	const struct rrdw_schema *s;
	unsigned long step;
	long long last;
	size_t nds;
	unsigned char type_ok[RRDW_MAX_DS], known[RRDW_MAX_DS];
	uint64_t val[RRDW_MAX_DS];
};

static void
probe_kv(struct probe *p, const char *key, const char *val)
{
	const char *name, *end;
	char *e;
	size_t i;

	if (!strcmp(key, "step")) {
		p->step = strtoul(val, NULL, 10);
		return;
	}
	if (!strcmp(key, "last_update")) {
		p->last = strtoll(val, NULL, 10);
		return;
	}
	if (strncmp(key, "ds[", 3) != 0 || (end = strchr(key, ']')) == NULL)
		return;
	if (!strcmp(end, "].index"))
		p->nds++;
	name = key + 3;
	for (i = 0; i < p->s->nds; i++)
		if (strlen(p->s->ds[i].name) == (size_t)(end - name) &&
		    !strncmp(p->s->ds[i].name, name, (size_t)(end - name)))
			break;
	if (i == p->s->nds)
		return;
	if (!strcmp(end, "].type")) {
		p->type_ok[i] = !strcmp(val, p->s->ds[i].type == RRDW_GAUGE ?
		    "GAUGE" : "DERIVE");
	} else if (!strcmp(end, "].last_ds")) {
		errno = 0;
		p->val[i] = strtoull(val, &e, 10);
		p->known[i] = *val >= '0' && *val <= '9' && *e == '\0' &&
		    errno == 0;
	}
}

/* Applies a probe of an existing file. Returns 0, or -1 (and logs) when
 * the file does not have our schema: writing into it would mix units. */
static int
probe_apply(struct rrdw *w, struct rrdw_file *f, const struct probe *p)
{
	const struct rrdw_schema *s = &rrdw_schemas[f->kind];
	int initial = f->w_state == W_NEW;

	for (size_t i = 0; i < s->nds; i++)
		if (!p->type_ok[i]) {
			log_err("rrd: %s: no %s data source '%s'; not written "
			    "(move the file away to start a new one)", f->path,
			    s->ds[i].type == RRDW_GAUGE ? "GAUGE" : "DERIVE",
			    s->ds[i].name);
			return -1;
		}
	if (p->nds != s->nds || p->step != w->step || p->last <= 0) {
		log_err("rrd: %s: %zu data sources, step %lus; expected %zu "
		    "and %us; not written (move the file away to start a new "
		    "one)", f->path, p->nds, p->step, s->nds, w->step);
		return -1;
	}
	f->w_last = (time_t)p->last;
	for (size_t i = 0; i < s->nds; i++) {
		if (s->ds[i].type == RRDW_GAUGE)
			continue;
		if (initial) {
			/* Continue the file's counters: our totals start at
			 * 0 in this run. */
			f->w_base[i] = p->known[i] ? p->val[i] : 0;
			f->w_tot[i] = 0;
		} else if (p->known[i]) {
			/* After an error: learn where the file really is,
			 * keep the offset (what a lost update lacked still
			 * spreads into the next one). */
			f->w_tot[i] = p->val[i] - f->w_base[i];
		} else {
			/* Not even a first value: rrdcached lost all it
			 * had acknowledged for a new file. */
			f->w_rezero = 1;
		}
	}
	f->w_fresh = initial;
	return 0;
}

/* A new file: its totals start at zero at step end first, the step where
 * the subscriber first appears. */
static void
created(struct rrdw *w, struct rrdw_file *f, time_t start)
{
	const struct rrdw_schema *s = &rrdw_schemas[f->kind];

	for (size_t i = 0; i < s->nds; i++)
		if (s->ds[i].type == RRDW_DERIVE)
			f->w_base[i] = 0 - f->w_tot[i];
	f->w_last = start;
	f->w_fresh = 1;
	count(&w->st_created, 1);
}

/* ------------------------------------------------------- direct backend */

/* librrd's message for the call that just failed; where it has none (a
 * short write, say, leaves it empty), the errno it left. */
static void
rrd_cause(struct rrdw *w, int err)
{
	const char *m = rrd_get_error();

	if (m != NULL && *m != '\0') {
		size_t n = strlen(m);

		/* "...: " with nothing after it: the reason is errno's */
		if (n >= 2 && !strcmp(m + n - 2, ": ") && err != 0)
			snprintf(w->rc_msg, sizeof w->rc_msg, "%s%s", m,
			    strerror(err));
		else
			snprintf(w->rc_msg, sizeof w->rc_msg, "%s", m);
	} else {
		snprintf(w->rc_msg, sizeof w->rc_msg, "%s",
		    err ? strerror(err) : "librrd gave no reason");
	}
}

/* librrd 1.7 writes a new file under a temporary name and, when a write
 * fails, unlinks it twice: errno then says ENOENT, and its message may say
 * nothing. The folder is there (we made it), so look at why a file of
 * this size could not be written. Returns the errno to report. */
static int
create_errno(const struct rrdw *w, enum rrdw_kind kind, int err)
{
	struct rrdw_rra rra[RRDW_MAX_RRA];
	size_t n = rrdw_rras(kind, w->step, rra);
	unsigned long long need = 16384;
	struct statvfs sv;

	if (err != 0 && err != ENOENT)
		return err;
	for (size_t i = 0; i < n; i++)
		need += (unsigned long long)rra[i].rows *
		    rrdw_schemas[kind].nds * 8;
	if (statvfs(w->dir, &sv) != 0)
		return err;
	if (sv.f_flag & ST_RDONLY)
		return EROFS;
	if ((unsigned long long)sv.f_bavail * sv.f_frsize < need)
		return ENOSPC;
	if (sv.f_favail == 0)
		return ENOSPC;
	return err;
}

/* Whether librrd (or a local rrdcached) may open the file: before anything
 * touches the path, so that a FIFO cannot block the writer and a symbolic
 * link cannot lead a write out of the RRD folder. Returns 1 (a regular
 * file inside the folder), 0 (nothing there: create it) or -1 (not to be
 * touched; why in rc_msg). */
static int
path_check(struct rrdw *w, const struct rrdw_file *f)
{
	struct stat sb;
	size_t dl = strlen(w->dir);
	char *real;

	if (lstat(f->path, &sb) != 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(w->rc_msg, sizeof w->rc_msg, "%s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb.st_mode) || !S_ISREG(sb.st_mode)) {
		real = S_ISLNK(sb.st_mode) ? realpath(f->path, NULL) : NULL;
		if (S_ISLNK(sb.st_mode) && real == NULL) {
			snprintf(w->rc_msg, sizeof w->rc_msg, "symbolic link to "
			    "nothing usable (%s); not followed", strerror(errno));
			return -1;
		}
		if (real != NULL && (strncmp(real, w->dir, dl) != 0 ||
		    real[dl] != '/')) {
			snprintf(w->rc_msg, sizeof w->rc_msg, "symbolic link out "
			    "of the RRD folder (to %.150s); not followed", real);
			free(real);
			return -1;
		}
		if (real != NULL && stat(real, &sb) != 0)
			sb.st_mode = 0;
		free(real);
		if (!S_ISREG(sb.st_mode)) {
			snprintf(w->rc_msg, sizeof w->rc_msg, "not a regular file "
			    "(%s); not opened",
			    S_ISFIFO(sb.st_mode) ? "a FIFO" :
			    S_ISDIR(sb.st_mode) ? "a directory" :
			    S_ISSOCK(sb.st_mode) ? "a socket" :
			    S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ?
			    "a device" : "not a file");
			return -1;
		}
	}
	return 1;
}

static int
direct_probe(struct rrdw *w, struct rrdw_file *f, time_t first)
{
	struct probe p = { .s = &rrdw_schemas[f->kind] };
	char defs[RRDW_MAX_DS + RRDW_MAX_RRA][64];
	const char *argv[RRDW_MAX_DS + RRDW_MAX_RRA];
	rrd_info_t *info, *i;
	char num[32];
	int there = path_check(w, f);

	if (there < 0)
		return RC_ERR;
	if (there == 0) {
		time_t start = first - (time_t)w->step - 1;
		int argc = create_args(w, f->kind, defs, argv);

		rrd_clear_error();
		errno = 0;
		if (rrd_create_r2(f->path, w->step, start, 1, NULL, NULL, argc,
		    argv) != 0) {
			rrd_cause(w, create_errno(w, f->kind, errno));
			return RC_ERR;
		}
		created(w, f, start);
		return RC_OK;
	}
	rrd_clear_error();
	errno = 0;
	if ((info = rrd_info_r(f->path)) == NULL) {
		rrd_cause(w, errno);
		return RC_ERR;
	}
	for (i = info; i != NULL; i = i->next) {
		if (i->type == RD_I_CNT) {
			snprintf(num, sizeof num, "%lu", i->value.u_cnt);
			probe_kv(&p, i->key, num);
		} else if (i->type == RD_I_STR) {
			probe_kv(&p, i->key, i->value.u_str);
		}
	}
	rrd_info_free(info);
	return probe_apply(w, f, &p) == 0 ? RC_OK : RC_BROKEN;
}

static int
direct_update(struct rrdw *w, struct rrdw_file *f, int n)
{
	rrd_clear_error();
	errno = 0;
	/* SKIP_PAST_UPDATES: a file somebody else wrote ahead of us must not
	 * stop the whole batch; we check timestamps ourselves anyway. */
	if (rrd_updatex_r(f->path, NULL, RRD_SKIP_PAST_UPDATES, n, w->argv) != 0) {
		rrd_cause(w, errno);
		return RC_ERR;
	}
	return RC_OK;
}

/* ---------------------------------------------------- rrdcached backend */

/* One request through the client, its message kept for file_error. A
 * reply, even a refusal, proves the connection works: the backoff of an
 * outage starts again from its minimum only then (went_down). */
static int
rc_req(struct rrdw *w, const char *cmd, size_t len,
    void (*cb)(void *, char *), void *arg)
{
	int r = rrdcc_req(w->rc, cmd, len, cb, arg);

	if (r != RRDCC_OK)
		snprintf(w->rc_msg, sizeof w->rc_msg, "%s", rrdcc_msg(w->rc));
	if (r != RRDCC_DOWN && !w->conn_ok) {
		w->conn_ok = 1;
		if (w->outage_logged) {
			log_warn("rrdcached %s: reconnected after %.1fs%s", w->addr,
			    mono_s() - w->down_since, w->quiet_fails ?
			    " (reconnections that failed at once not logged)" : "");
			w->outage_logged = 0;
			w->quiet_fails = 0;
		}
	}
	return r == RRDCC_OK ? RC_OK : r == RRDCC_ERR ? RC_ERR : RC_DOWN;
}

static size_t
rc_cmd(struct rrdw *w, const char *verb, const char *path)
{
	return rrdcc_cmd(w->cmd, CMD_MAX, verb, path);
}

static int
rc_simple(struct rrdw *w, const char *verb, const struct rrdw_file *f)
{
	size_t n = rc_cmd(w, verb, f->path);

	if (n == 0) {
		snprintf(w->rc_msg, sizeof w->rc_msg, "path too long");
		return RC_ERR;
	}
	w->cmd[n++] = '\n';
	return rc_req(w, w->cmd, n, NULL, NULL);
}

/* An INFO line: "key type value". */
static void
rc_info_line(void *arg, char *line)
{
	char *t = strchr(line, ' '), *v;

	if (t == NULL || (v = strchr(t + 1, ' ')) == NULL)
		return;
	*t = '\0';
	probe_kv(arg, line, v + 1);
}

static int
rc_probe(struct rrdw *w, struct rrdw_file *f, time_t first)
{
	struct probe p = { .s = &rrdw_schemas[f->kind] };
	char defs[RRDW_MAX_DS + RRDW_MAX_RRA][64];
	const char *argv[RRDW_MAX_DS + RRDW_MAX_RRA];
	time_t start = first - (time_t)w->step - 1;
	size_t n;
	int r, argc;

	/* A local daemon opens our folder's files: the same checks as for
	 * librrd (over TCP the path is the daemon's, not ours to look at). */
	if (rrdcc_local(w->rc) && path_check(w, f) < 0)
		return RC_ERR;
	/* INFO reads the file itself: first have the daemon write what it
	 * holds for it (updates of our previous run, say). "No such file"
	 * is fine here. */
	if ((r = rc_simple(w, "FLUSH", f)) == RC_DOWN)
		return r;
	if ((n = rc_cmd(w, "INFO", f->path)) == 0) {
		snprintf(w->rc_msg, sizeof w->rc_msg, "path too long");
		return RC_ERR;
	}
	w->cmd[n++] = '\n';
	r = rc_req(w, w->cmd, n, rc_info_line, &p);
	if (r == RC_OK)
		return probe_apply(w, f, &p) == 0 ? RC_OK : RC_BROKEN;
	if (r == RC_DOWN)
		return r;
	/* No file (or unreadable: then CREATE says why). -O: never
	 * overwrite, whatever the daemon's default. */
	n = rc_cmd(w, "CREATE", f->path);
	n += (size_t)snprintf(w->cmd + n, sizeof w->cmd - n, " -b %lld -s %u -O",
	    (long long)start, w->step);
	argc = create_args(w, f->kind, defs, argv);
	for (int i = 0; i < argc; i++)
		n += (size_t)snprintf(w->cmd + n, sizeof w->cmd - n, " %s",
		    argv[i]);
	w->cmd[n++] = '\n';
	if ((r = rc_req(w, w->cmd, n, NULL, NULL)) == RC_OK)
		created(w, f, start);
	return r;
}

static int
rc_update(struct rrdw *w, struct rrdw_file *f, int nlines)
{
	size_t n = rc_cmd(w, "UPDATE", f->path);

	if (n == 0) {
		snprintf(w->rc_msg, sizeof w->rc_msg, "path too long");
		return RC_ERR;
	}
	for (int i = 0; i < nlines; i++)
		n += (size_t)snprintf(w->cmd + n, sizeof w->cmd - n, " %s",
		    w->argv[i]);
	w->cmd[n++] = '\n';
	return rc_req(w, w->cmd, n, NULL, NULL);
}

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
static void
lose(struct rrdw *w, struct rrdw_file *f, uint64_t n)
{
	if (n == 0)
		return;
	count(&w->st_failed, n);
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
	r = w->addr ? rc_update(w, f, c->n) : direct_update(w, f, c->n);
	if (r == RC_DOWN)
		return r;
	if (r == RC_OK) {
		f->w_last = c->last;
		memcpy(f->w_tot, c->tot, sizeof f->w_tot);
		f->w_fresh = 0;
		f->w_rezero = 0;
		f->w_errlogged = 0;
		f->w_skip = 0;	/* what was skipped rode with this write */
		count(&w->st_updates, (uint64_t)c->nitems);
		count(&w->st_extra, (uint64_t)c->nextra);
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
		lose(w, f, (uint64_t)c->nitems);
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
	size_t len = fmt_line(line, c->f, ts, v, unknown);
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
			lose(w, f, 1);
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
	r = w->addr ? rc_probe(w, f, first) : direct_probe(w, f, first);
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
			count(&w->st_skipped, 1);
			f->w_skip++;
			if (once(&w->skip_logged))
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

		if (rc_simple(w, "FLUSH", f) == RC_DOWN)
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
		count(&w->st_outages, 1);
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

static void *
writer_main(void *arg)
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
				lose(w, w->batch[k].f, 1);
				lost++;
			}
		for (size_t k = 0; k < w->count; k++) {
			struct item *it = &w->ring[(w->head + k) % w->cap];

			if (it->f != NULL) {
				lose(w, it->f, 1);
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

/* ------------------------------------------------------ open and close */

/* mkdir -p. Returns 0, or -1 with errno set. */
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
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

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

		if (mkdir_p(w->dir) != 0 || access(w->dir, W_OK | X_OK) != 0)
			bad = w->dir;
		else if (mkdir_p(sub) != 0 || access(sub, W_OK | X_OK) != 0)
			bad = sub;
		if (bad != NULL) {
			log_err("rrd: %s: %s", bad, strerror(errno));
			return -1;
		}
	} else {
		(void)mkdir_p(sub);
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
	if ((err = thr_start(&w->thr, writer_main, w, "rrdw")) != 0) {
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
		lose(w, f, 1);
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
