/*
 * rrdw_back.c — what the RRD writer's thread writes into a file and how:
 * the file contents (rrdcreate arguments, update lines, probing a file an
 * earlier run left) and the two back ends, librrd directly and rrdcached
 * through rrdcc.c. Called from rrdw_writer.c only (rrdw_int.h).
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

/* -------------------------------------------------------- file contents */

/* Builds the rrdcreate DS and RRA definitions into defs[] and argv[].
 * Returns the number of arguments. */
static int
create_args(const struct rrdw *w, enum rrdw_kind kind, char defs[][64],
    const char **argv)
{
	const struct rrdw_schema *s = rrdw_schema(kind);
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
size_t
rrdw_back_line(char *buf, const struct rrdw_file *f, time_t ts,
    const uint64_t *v, int unknown)
{
	const struct rrdw_schema *s = rrdw_schema(f->kind);
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
	const struct rrdw_schema *s = rrdw_schema(f->kind);
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
	const struct rrdw_schema *s = rrdw_schema(f->kind);

	for (size_t i = 0; i < s->nds; i++)
		if (s->ds[i].type == RRDW_DERIVE)
			f->w_base[i] = 0 - f->w_tot[i];
	f->w_last = start;
	f->w_fresh = 1;
	rrdw_count(&w->st_created, 1);
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
		    rrdw_schema(kind)->nds * 8;
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

int
rrdw_back_direct_probe(struct rrdw *w, struct rrdw_file *f, time_t first)
{
	struct probe p = { .s = rrdw_schema(f->kind) };
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

int
rrdw_back_direct_update(struct rrdw *w, struct rrdw_file *f, int n)
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

int
rrdw_back_rc_simple(struct rrdw *w, const char *verb, const struct rrdw_file *f)
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

int
rrdw_back_rc_probe(struct rrdw *w, struct rrdw_file *f, time_t first)
{
	struct probe p = { .s = rrdw_schema(f->kind) };
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
	if ((r = rrdw_back_rc_simple(w, "FLUSH", f)) == RC_DOWN)
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

int
rrdw_back_rc_update(struct rrdw *w, struct rrdw_file *f, int nlines)
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
