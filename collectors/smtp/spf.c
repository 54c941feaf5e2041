/*
 * spf.c — the SPF evaluator service on the sensor's side (see spf.h): the
 * cache, the bounded queue, and the helper process's life (start,
 * watch, restart). Everything here runs on the caller's thread and never
 * waits on the helper, except spf_wait and a replay's spf_submit.
 *
 * The helper is started with the first question (a capture without SMTP
 * from subscribers never has one), and after a death with the next. It
 * is this program, re-executed: posix_spawn of /proc/self/exe
 * (vfork and exec, safe in a threaded process and cheap however large
 * the sensor's memory) with argv[1] = SPF_HELPER_ARG and its end of the
 * socket pair on SPF_HELPER_FD; every other descriptor (the capture,
 * the RRD files) is closed, stdin and stdout are /dev/null, and it gets
 * a process group of its own so that a terminal's ^C does not reach it.
 * It inherits the sensor's user: after -u, that one; as root, the helper
 * drops to [sensor] user or "nobody" itself. What it sends back is
 * checked like any input: exact sizes and types, ids of jobs actually
 * sent, results and TTLs within range.
 */
#include "spf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spf_cache.h"
#include "spf_helper.h"
#include "spf_queue.h"

extern char **environ;

/* A helper that lived this long is restarted at once when it dies. */
#define HEALTHY_MS 10000

/* Properties of the process, set by main before any thread exists. */
static struct {
	int can_spawn;
	int replay;
} proc;

struct spf {
	spf_verdict_fn fn;
	void *ctx;
	struct spf_msg_config cfg;	/* what every helper is told */
	struct spf_cache *cache;
	struct spf_queue *q;
	int fd;				/* -1: no helper running */
	pid_t pid;
	uint64_t started_ms, next_spawn_ms, backoff_ms;
	uint64_t spawn_failures;
	uint64_t dns_prev[3];		/* counters of helpers gone */
	uint64_t dns_cur[3];		/* of the running one */
	struct spf_stats st;
	struct spf_verdict v;		/* the verdict being handed out */
	char v_domain[SPF_NAME_MAX + 1];
	char now_domain[SPF_NAME_MAX + 1];
};

static const char *const result_names[SPFR_N] = {
	"pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "broad",
};

const char *
spf_result_name(enum spf_result r)
{
	return (unsigned)r < SPFR_N ? result_names[r] : "?";
}

int
spf_main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], SPF_HELPER_ARG) == 0)
		return spf_helper_run(SPF_HELPER_FD, strtol(argv[2], NULL, 10));
	proc.can_spawn = 1;
	return -1;
}

void
spf_set_replay(int replay)
{
	proc.replay = replay;
}

int
spf_replay(void)
{
	return proc.replay;
}

/* ---- the helper's life -------------------------------------------------- */

static int
spawn(struct spf *s, uint64_t now)
{
	char ppid[24];
	char *argv[] = { "spanwatch-spf", SPF_HELPER_ARG, ppid, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	pid_t pid;
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_warn("spf: socketpair: %s", strerror(errno));
		return -1;
	}
	snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
	posix_spawn_file_actions_init(&fa);
	/* dup2 onto the fixed number clears close-on-exec (glibc >= 2.29
	 * does so even when the numbers are equal). */
	posix_spawn_file_actions_adddup2(&fa, sv[1], SPF_HELPER_FD);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, SPF_HELPER_FD + 1);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	rc = posix_spawn(&pid, "/proc/self/exe", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(sv[1]);
	if (rc != 0) {
		/* Said once loudly; the retries (every minute at most) quietly. */
		if (s->spawn_failures++ == 0)
			log_warn("spf: cannot start the helper (/proc/self/exe): %s; SPF verdicts "
				 "wait until it can", strerror(rc));
		else
			log_debug("spf: cannot start the helper: %s", strerror(rc));
		close(sv[0]);
		return -1;
	}
	/* The socket is empty: this send cannot block. */
	if (send(sv[0], &s->cfg, sizeof s->cfg, MSG_NOSIGNAL) != (ssize_t)sizeof s->cfg ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		log_warn("spf: cannot talk to the helper: %s", strerror(errno));
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	s->fd = sv[0];
	s->pid = pid;
	s->started_ms = now;
	memset(s->dns_cur, 0, sizeof s->dns_cur);
	s->st.helper_starts++;
	log_info("spf: helper started (pid %ld)", (long)pid);
	return 0;
}

/* Starts a helper when there is work for one and none runs, unless a
 * pause after the last failure is still on. */
static void
start_helper(struct spf *s, uint64_t now)
{
	struct spf_queue_stats qs;

	if (s->fd >= 0 || now < s->next_spawn_ms)
		return;
	spf_queue_get_stats(s->q, &qs);
	if (!qs.queued)
		return;
	if (spawn(s, now) < 0) {
		s->backoff_ms = s->backoff_ms ? 2 * s->backoff_ms : 1000;
		if (s->backoff_ms > SPF_RESTART_MAX_MS)
			s->backoff_ms = SPF_RESTART_MAX_MS;
		s->next_spawn_ms = now + s->backoff_ms;
	}
}

static void deliver(void *ctx, uint64_t cookie);

/* Hands the verdict on job j to its waiters and caches it. */
static void
finish(struct spf *s, struct spf_job *j, enum spf_result r, uint64_t ttl_ms, uint64_t now)
{
	spf_cache_put(s->cache, &j->key, (int)r, ttl_ms, now);
	memcpy(s->v_domain, j->key.domain, sizeof s->v_domain);
	s->v = (struct spf_verdict){ .result = r, .domain = s->v_domain };
	spf_queue_done(s->q, j, deliver, s);
}

static void
deliver(void *ctx, uint64_t cookie)
{
	struct spf *s = ctx;

	s->st.results[s->v.result]++;
	s->fn(s->ctx, cookie, &s->v);
}

/* The helper is gone (why: what we saw). Reaps it, logs how it ended,
 * queues its questions again and sets when to start the next one. */
static void
helper_down(struct spf *s, uint64_t now, const char *why)
{
	char how[64];
	int status = 0;
	pid_t r;

	close(s->fd);
	s->fd = -1;
	do
		r = waitpid(s->pid, &status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == 0) {
		kill(s->pid, SIGKILL);
		do
			r = waitpid(s->pid, &status, 0);
		while (r < 0 && errno == EINTR);
	}
	if (r > 0 && WIFSIGNALED(status))
		snprintf(how, sizeof how, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (r > 0 && WIFEXITED(status))
		snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(how, sizeof how, "gone");
	for (int i = 0; i < 3; i++)
		s->dns_prev[i] += s->dns_cur[i];
	memset(s->dns_cur, 0, sizeof s->dns_cur);
	s->st.helper_deaths++;

	/* The oldest question it held may be what killed it: a second death
	 * on the same one ends its chances. */
	struct spf_job *j = spf_queue_oldest_sent(s->q);
	if (j)
		j->tries++;
	spf_queue_requeue_sent(s->q);
	if (j && j->tries >= 2) {
		s->st.poisoned++;
		finish(s, j, SPFR_TEMPERROR, (uint64_t)SPF_TTL_CRASH * 1000, now);
	}
	if (now - s->started_ms >= HEALTHY_MS)
		s->backoff_ms = 0;
	else
		s->backoff_ms = s->backoff_ms ? 2 * s->backoff_ms : 1000;
	if (s->backoff_ms > SPF_RESTART_MAX_MS)
		s->backoff_ms = SPF_RESTART_MAX_MS;
	s->next_spawn_ms = now + s->backoff_ms;
	log_warn("spf: helper (pid %ld) %s, %s, after %llu s; restarting it%s", (long)s->pid, why,
		 how, (unsigned long long)((now - s->started_ms) / 1000),
		 s->backoff_ms ? " after a pause" : "");
}

/* Printable ASCII only, whatever the helper sent. */
static void
clean(char *t, size_t n)
{
	t[n - 1] = '\0';
	for (char *p = t; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static void
on_verdict(struct spf *s, const struct spf_msg_verdict *v, uint64_t now)
{
	struct spf_job *j = spf_queue_find(s->q, v->id);

	if (v->queries >= s->dns_cur[0])
		s->dns_cur[0] = v->queries;
	if (v->throttled >= s->dns_cur[1])
		s->dns_cur[1] = v->throttled;
	if (v->timeouts >= s->dns_cur[2])
		s->dns_cur[2] = v->timeouts;
	if (!j) {
		s->st.bad_msgs++;
		return;
	}
	enum spf_result r = v->result < SPFR_N ? (enum spf_result)v->result : SPFR_TEMPERROR;
	uint32_t ttl = v->ttl < SPF_TTL_MAX ? v->ttl : SPF_TTL_MAX;
	finish(s, j, r, (uint64_t)ttl * 1000, now);
}

static void
receive(struct spf *s, uint64_t now)
{
	union {
		struct spf_msg_verdict v;
		struct spf_msg_note n;
		/* cppcheck-suppress unusedStructMember ; sizes the buffer */
		uint8_t raw[1024];
	} m;

	while (s->fd >= 0) {
		ssize_t n = recv(s->fd, &m, sizeof m, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				helper_down(s, now, strerror(errno));
			return;
		}
		if (n == 0) {
			helper_down(s, now, "closed its socket");
			return;
		}
		if (n == (ssize_t)sizeof m.v && m.v.type == SPF_MSG_VERDICT) {
			on_verdict(s, &m.v, now);
		} else if (n == (ssize_t)sizeof m.n && m.n.type == SPF_MSG_NOTE) {
			clean(m.n.text, sizeof m.n.text);
			log_warn("spf: helper: %s", m.n.text);
		} else {
			s->st.bad_msgs++;
		}
	}
}

/* Hands queued questions to the helper, up to SPF_HELPER_INFLIGHT. */
static void
kick(struct spf *s, uint64_t now)
{
	struct spf_queue_stats qs;
	struct spf_job *j;

	spf_queue_get_stats(s->q, &qs);
	while (s->fd >= 0 && qs.sent < SPF_HELPER_INFLIGHT && (j = spf_queue_next(s->q)) != NULL) {
		struct spf_msg_eval m = { .type = SPF_MSG_EVAL, .id = j->id, .family = j->key.family };

		memcpy(m.addr, j->key.addr, 16);
		memcpy(m.domain, j->key.domain, sizeof m.domain);
		memcpy(m.helo, j->helo, sizeof m.helo);
		if (send(s->fd, &m, sizeof m, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				helper_down(s, now, strerror(errno));
			return;
		}
		spf_queue_sent(s->q, j, now);
		s->st.evaluations++;
		qs.sent++;
	}
}

void
spf_poll(struct spf *s)
{
	uint64_t now = spf_dns_now_ms();
	struct spf_job *j;

	if (s->fd >= 0)
		receive(s, now);
	if (s->fd >= 0 && (j = spf_queue_oldest_sent(s->q)) != NULL &&
	    now - j->sent_ms > SPF_HUNG_MS) {
		s->st.helper_hung++;
		kill(s->pid, SIGKILL);
		helper_down(s, now, "held a question too long and was killed");
	}
	start_helper(s, now);
	kick(s, now);
}

unsigned
spf_pending(const struct spf *s)
{
	struct spf_queue_stats qs;

	spf_queue_get_stats(s->q, &qs);
	return qs.waiters;
}

/* Sleeps until the helper has something to say, or ms pass. */
static void
idle(struct spf *s, uint64_t ms)
{
	if (ms > 100)
		ms = 100;	/* the helper's life is watched in between */
	if (s->fd >= 0) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };

		poll(&p, 1, (int)ms);
	} else {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000 };

		nanosleep(&ts, NULL);
	}
}

/* Whether waiting until end can bring a verdict: not when no helper
 * runs and none may start before then (it cannot start, or keeps dying). */
static int
worth_waiting(const struct spf *s, uint64_t end)
{
	return s->fd >= 0 || s->next_spawn_ms < end;
}

void
spf_wait(struct spf *s, unsigned max_ms)
{
	uint64_t end = spf_dns_now_ms() + max_ms;

	for (;;) {
		spf_poll(s);
		uint64_t now = spf_dns_now_ms();
		if (!spf_pending(s) || now >= end || !worth_waiting(s, end))
			return;
		idle(s, end - now);
	}
}

/* ---- questions ---------------------------------------------------------- */

int
spf_submit(struct spf *s, int family, const uint8_t *addr, const char *domain, const char *helo,
	   uint64_t cookie, struct spf_verdict *now)
{
	uint64_t t = spf_dns_now_ms();
	struct spf_queue_stats qs;
	struct spf_key k;
	struct spf_job *j;
	int merged, r;

	s->st.submitted++;
	if (!spf_dns_name_ok(domain)) {
		/* RFC 7208 4.3: not a domain name, "none" without a lookup. */
		s->st.local++;
		s->st.results[SPFR_NONE]++;
		*now = (struct spf_verdict){ .result = SPFR_NONE, .cached = 1 };
		return SPF_SUBMIT_NOW;
	}
	spf_cache_key(&k, family == AF_INET6 ? 6 : 4, addr, domain);
	if ((r = spf_cache_get(s->cache, &k, t)) >= 0 && r < SPFR_N) {
		s->st.cached++;
		s->st.results[r]++;
		memcpy(s->now_domain, k.domain, sizeof s->now_domain);
		*now = (struct spf_verdict){ .result = (enum spf_result)r, .domain = s->now_domain,
					     .cached = 1 };
		return SPF_SUBMIT_NOW;
	}
	j = spf_queue_add(s->q, &k, helo ? helo : "", cookie, &merged);
	if (!j && proc.replay) {
		/* A replay waits for room rather than lose the question. */
		uint64_t end = t + SPF_REPLAY_WAIT_MS;

		while (!j && (t = spf_dns_now_ms()) < end && worth_waiting(s, end)) {
			idle(s, end - t);
			spf_poll(s);
			j = spf_queue_add(s->q, &k, helo ? helo : "", cookie, &merged);
		}
	}
	if (!j) {
		s->st.dropped++;
		return SPF_SUBMIT_DROPPED;
	}
	s->st.merged += (unsigned)merged;
	spf_queue_get_stats(s->q, &qs);
	if (qs.jobs > s->st.queue_peak)
		s->st.queue_peak = qs.jobs;
	t = spf_dns_now_ms();
	start_helper(s, t);
	kick(s, t);
	return SPF_SUBMIT_QUEUED;
}

/* ---- life cycle --------------------------------------------------------- */

struct spf *
spf_open(const struct spf_opts *o, spf_verdict_fn fn, void *ctx)
{
	const char *user = o->user ? o->user : "nobody";
	struct spf *s;

	if (!proc.can_spawn) {
		log_debug("spf: this program has no SPF helper; SPF is not evaluated");
		return NULL;
	}
	if (strlen(user) > SPF_HELPER_USER_MAX) {
		log_err("spf: user name '%s' too long for the helper", user);
		return NULL;
	}
	if ((s = calloc(1, sizeof *s)) == NULL ||
	    (s->cache = spf_cache_new(o->cache_entries ? o->cache_entries : SPF_CACHE_ENTRIES)) == NULL ||
	    (s->q = spf_queue_new(o->jobs ? o->jobs : SPF_QUEUE_JOBS,
				  o->waiters ? o->waiters : SPF_QUEUE_WAITERS)) == NULL) {
		log_err("spf: out of memory");
		if (s) {
			spf_cache_free(s->cache);
			free(s);
		}
		return NULL;
	}
	s->fn = fn;
	s->ctx = ctx;
	s->fd = -1;
	s->cfg = (struct spf_msg_config){
		.type = SPF_MSG_CONFIG,
		.qps = o->qps ? o->qps : SPF_QPS,
		.budget_ms = SPF_HELPER_BUDGET_MS,
		.port = o->port ? o->port : 53,
		.family = o->resolver.family == AF_INET ? 4 : o->resolver.family == AF_INET6 ? 6 : 0,
	};
	memcpy(s->cfg.addr, o->resolver.a, 16);
	memcpy(s->cfg.user, user, strlen(user));
	return s;
}

void
spf_get_stats(const struct spf *s, struct spf_stats *st)
{
	struct spf_cache_stats cs;

	*st = s->st;
	st->dns_queries = s->dns_prev[0] + s->dns_cur[0];
	st->dns_throttled = s->dns_prev[1] + s->dns_cur[1];
	st->dns_timeouts = s->dns_prev[2] + s->dns_cur[2];
	spf_cache_get_stats(s->cache, &cs);
	st->cache_evicted = cs.evicted;
}

void
spf_close(struct spf *s)
{
	if (!s)
		return;
	if (s->fd >= 0) {
		pid_t r = 0;

		/* The helper exits when its socket closes; a helper stuck in
		 * a DNS timeout gets a moment, then SIGKILL. */
		close(s->fd);
		for (int i = 0; i < 50 && (r = waitpid(s->pid, NULL, WNOHANG)) == 0; i++) {
			struct timespec ts = { .tv_sec = 0, .tv_nsec = 10 * 1000000 };

			nanosleep(&ts, NULL);
		}
		if (r == 0) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, NULL, 0);
		}
	}
	spf_queue_free(s->q);
	spf_cache_free(s->cache);
	free(s);
}
