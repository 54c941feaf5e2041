/*
 * rrdw_int.h — what the RRD writer's three files share (rrdw.c: the
 * capture-side table, the queue and open/close; rrdw_back.c: file contents
 * and the direct and rrdcached back ends; rrdw_writer.c: the writer
 * thread). Private to them: nothing else includes it.
 */
#ifndef SPANWATCH_RRDW_INT_H
#define SPANWATCH_RRDW_INT_H

#include "rrdw.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

struct rrdcc;
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
#define LINE_MAX_LEN (24 + RRDW_MAX_DS * 21)	/* "ts" + ":v" each */
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
	uint64_t prod_gauge[RRDW_MAX_PRODUCERS][RRDW_MAX_DS];	/* sensor.rrd */

	struct rrdw_tap tap;	/* rrdw_set_tap; tap.row NULL: none */

	/* statistics, written by either thread */
	atomic_uint_fast64_t st_updates, st_extra, st_dropped, st_failed,
	    st_skipped, st_late, st_rejected, st_created, st_outages;
	atomic_size_t st_files, st_hwm;
};

static inline void
rrdw_count(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* 1 the first time for this flag: a message said once. */
static inline int
rrdw_once(int *flag)
{
	if (*flag)
		return 0;
	*flag = 1;
	return 1;
}

static inline time_t
rrdw_align_up(const struct rrdw *w, time_t t)
{
	time_t s = (time_t)w->step;
	time_t r = t % s;

	if (r < 0)
		r += s;
	return r ? t - r + s : t;
}

/* rrdw_back.c: a file's contents and the two back ends. Back end results
 * are the RC_* above. */
size_t rrdw_back_line(char *buf, const struct rrdw_file *f, time_t ts,
    const uint64_t *v, int unknown);
int rrdw_back_direct_probe(struct rrdw *w, struct rrdw_file *f, time_t first);
int rrdw_back_direct_update(struct rrdw *w, struct rrdw_file *f, int n);
int rrdw_back_rc_simple(struct rrdw *w, const char *verb,
    const struct rrdw_file *f);
int rrdw_back_rc_probe(struct rrdw *w, struct rrdw_file *f, time_t first);
int rrdw_back_rc_update(struct rrdw *w, struct rrdw_file *f, int nlines);

/* rrdw_writer.c: the writer thread, and the count of a file's lost step
 * updates. */
void *rrdw_writer_main(void *arg);
void rrdw_writer_lose(struct rrdw *w, struct rrdw_file *f, uint64_t n);

#endif
