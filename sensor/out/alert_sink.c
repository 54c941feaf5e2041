/*
 * alert_sink.c — the alerts' sink thread and its transports: local
 * syslog(3), RFC 5424 to a collector over UDP or TCP, the JSON file.
 *
 * The collector over TCP: a record waits in the queue while the collector
 * is down; reconnects back off from 1 s to 60 s. A flush (or a raiser
 * waiting for room in blocking mode) gets one immediate attempt, and
 * counts the records as failed if that fails, so that exit never hangs on
 * a dead collector. UDP and local syslog cannot tell loss; their records
 * never wait.
 */
#include "alert_int.h"

#include "config.h"
#include "hash.h"
#include "log.h"
#include "thr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
void
alert_sink_remote_close(struct alerts *a)
{
	struct sink *k = &a->sink;

	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* Opens a socket to the collector: for UDP once (connected, so that send
 * needs no address), for TCP at every reconnect, resolving again in case
 * the collector moved. Returns the socket, or -1 after logging why (only
 * the first failure of an outage is logged). */
int
alert_sink_remote_connect(struct alerts *a)
{
	struct sink *k = &a->sink;
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = a->socktype;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
		if (!k->down_logged)
			log_warn("alerts: syslog collector %s: %s", a->host, gai_strerror(rc));
		k->down_logged = 1;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof err;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				rc = poll(&pfd, 1, IO_TIMEOUT_MS);
				if (rc == 0)
					err = ETIMEDOUT;
				else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
					err = errno;
			}
		}
		if (err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (!k->down_logged)
			log_warn("alerts: syslog collector %s port %s: %s",
			    a->host, a->port, strerror(err ? err : EADDRNOTAVAIL));
		k->down_logged = 1;
		return -1;
	}
	if (a->socktype == SOCK_STREAM) {
		/* Blocking sends with a timeout: the sink thread may wait on a
		 * slow collector, but not forever. */
		struct timeval tv = { IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000 };

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		bump(&a->st_reconnects, 1);
		if (k->down_logged)
			log_info("alerts: syslog collector %s port %s reachable again",
			    a->host, a->port);
	}
	k->down_logged = 0;
	return fd;
}

/* Returns 0, or -1 when the record did not go out. */
static int
remote_send(struct alerts *a, const char *msg, size_t len)
{
	struct sink *k = &a->sink;
	size_t off = 0;

	if (a->socktype == SOCK_DGRAM) {
		/* ECONNREFUSED reports an earlier datagram's ICMP error and
		 * consumes it: this one may still arrive, so try it again. */
		for (int i = 0; i < 2; i++)
			if (send(k->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
				return 0;
		return -1;
	}
	while (off < len) {
		ssize_t w = send(k->fd, msg + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!k->down_logged)
				log_warn("alerts: syslog collector %s port %s: %s; reconnecting",
				    a->host, a->port, w < 0 ? strerror(errno) : "closed");
			k->down_logged = 1;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* A collector that closed the connection (restarted) shows as EOF; a
 * send into it would vanish without an error. Checked before each batch. */
static void
remote_check(struct alerts *a)
{
	struct sink *k = &a->sink;
	char junk[256];

	if (k->fd < 0 || a->socktype != SOCK_STREAM)
		return;
	for (;;) {
		ssize_t r = recv(k->fd, junk, sizeof junk, MSG_DONTWAIT);

		if (r > 0)
			continue;	/* collectors have nothing to say */
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		alert_sink_remote_close(a);
		k->next_try_ms = 0;	/* restarted collector: try at once */
		return;
	}
}

static void
remote_backoff(struct alerts *a)
{
	struct sink *k = &a->sink;

	k->next_try_ms = now_ms() + k->backoff_ms;
	k->backoff_ms = k->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : k->backoff_ms * 2;
}

/* Returns 0 with a socket, -1 if none now (backing off, or failed). */
static int
remote_ready(struct alerts *a, int force)
{
	struct sink *k = &a->sink;

	if (k->fd >= 0)
		return 0;
	if (!force && now_ms() < k->next_try_ms)
		return -1;
	if ((k->fd = alert_sink_remote_connect(a)) >= 0) {
		k->backoff_ms = BACKOFF_MIN_MS;
		return 0;
	}
	remote_backoff(a);
	return -1;
}

/* Sends one record to the collector. Returns 0, or -1 (the connection
 * is closed and the record not sent). */
static int
remote_record(struct alerts *a, const struct rec *r)
{
	struct sink *k = &a->sink;
	const char *line = alert_fmt_logfmt(k->line, r);
	size_t len = line ? alert_fmt_5424(a, k->frame, sizeof k->frame, r, line) : 0;

	if (len == 0) {
		bump(&a->st_failed, 1);	/* unformattable: skip, not retry */
		return 0;
	}
	if (remote_send(a, k->frame, len) < 0) {
		if (a->socktype == SOCK_DGRAM) {
			bump(&a->st_failed, 1);
			return 0;
		}
		alert_sink_remote_close(a);
		remote_backoff(a);
		return -1;
	}
	bump(&a->st_sent, 1);
	return 0;
}

/* The JSON file, the stderr copy and local syslog: sinks that take a
 * record at once or lose it, so their cursor never waits. */
static void
local_record(struct alerts *a, const struct rec *r)
{
	struct sink *k = &a->sink;
	const char *line = NULL, *js;

	if (a->kind == CONFIG_SYSLOG_LOCAL && a->use_syslog) {
		if ((line = alert_fmt_logfmt(k->line, r)) != NULL) {
			syslog(a->facility | LOG_WARNING, "%s", line);
			bump(&a->st_sent, 1);
		} else {
			bump(&a->st_failed, 1);
		}
	}
	if (!a->use_syslog) {
		if (!line)
			line = alert_fmt_logfmt(k->line, r);
		if (line) {
			/* One write for the line and its newline: stderr is
			 * unbuffered, and other threads log there too. */
			size_t n = strlen(line);

			k->line[n] = '\n';
			fwrite(k->line, 1, n + 1, stderr);
			k->line[n] = '\0';
		}
	}
	if (a->json) {
		if ((js = alert_fmt_json(a, k->json, r)) == NULL) {
			bump(&a->st_failed, 1);
			return;
		}
		if (fputs(js, a->json) == EOF || fputc('\n', a->json) == EOF) {
			if (!k->json_err_logged)
				log_err("alerts: %s: %s", a->json_path, strerror(errno));
			k->json_err_logged = 1;
			bump(&a->st_failed, 1);
		}
	}
	if (atomic_load(&a->tap))
		alert_fmt_tap(a, r);
}

/* After logrotate's mv: new records go to a new file at the old name.
 * The old file is kept when the new one cannot be opened. */
static void
json_reopen(struct alerts *a)
{
	FILE *fp;

	if (!a->json || !atomic_exchange(&a->json_reopen, 0))
		return;
	if ((fp = fopen(a->json_path, "ae")) == NULL) {
		log_err("alerts: reopening %s: %s; still writing the old file", a->json_path,
			strerror(errno));
		return;
	}
	if (fclose(a->json) != 0)
		log_err("alerts: %s (rotated): %s", a->json_path, strerror(errno));
	a->json = fp;
}

static void
json_sync(struct alerts *a)
{
	struct sink *k = &a->sink;

	if (!a->json)
		return;
	if (fflush(a->json) == EOF) {
		if (!k->json_err_logged)
			log_err("alerts: %s: %s", a->json_path, strerror(errno));
		k->json_err_logged = 1;
		clearerr(a->json);
	} else {
		k->json_err_logged = 0;
	}
}

static void
summary_rec(struct rec *r, int64_t ts, uint64_t n)
{
	static const char kind[] = "alerts_dropped", key[] = "count";

	memset(r, 0, sizeof *r);
	r->ts = ts;
	r->kind = (struct strv){ (const unsigned char *)kind, sizeof kind - 1, 0 };
	r->nf = 1;
	r->f[0].key = (struct strv){ (const unsigned char *)key, sizeof key - 1, 0 };
	r->f[0].type = AF_UINT;
	r->f[0].u = n;
}

static int
is_remote(const struct alerts *a)
{
	return a->use_syslog && a->kind != CONFIG_SYSLOG_LOCAL;
}

/* One pass over what is queued up to h. force: a flush or a blocked
 * raiser is waiting, so a collector that is down fails its records. */
static void
sink_pass(struct alerts *a, uint64_t h, uint64_t drops, int64_t drop_ts, int force)
{
	struct sink *k = &a->sink;
	struct rec r;
	uint64_t now = now_ms(), pending;

	json_reopen(a);
	for (; k->jpos < h; k->jpos++) {
		alert_fmt_parse(&a->slots[k->jpos & (a->nslots - 1)], &r);
		local_record(a, &r);
	}
	if (!is_remote(a)) {
		k->spos = k->jpos;
	} else {
		remote_check(a);
		while (k->spos < h && remote_ready(a, force) == 0) {
			alert_fmt_parse(&a->slots[k->spos & (a->nslots - 1)], &r);
			if (remote_record(a, &r) < 0)
				break;
			k->spos++;
		}
		/* UDP never waits; TCP waits unless someone waits on us. */
		if (k->spos < h && (force || a->socktype == SOCK_DGRAM)) {
			bump(&a->st_failed, h - k->spos);
			k->spos = h;
		}
	}

	if (drops != k->drops_seen) {
		k->drops_seen = drops;
		k->drops_changed_ms = now;
		k->drop_ts = drop_ts;
	}
	pending = k->drops_seen - k->drops_reported;
	if (pending && (force || now - k->drops_changed_ms >= DROP_QUIET_MS ||
			now - k->summary_ms >= DROP_EVERY_MS)) {
		summary_rec(&r, k->drop_ts, pending);
		local_record(a, &r);
		if (is_remote(a))
			k->remote_summary += pending;
		k->drops_reported += pending;
		k->summary_ms = now;
	}
	json_sync(a);
	/* The collector hears of drops after the records before them. */
	if (k->remote_summary && k->spos == h) {
		if (remote_ready(a, force) == 0) {
			summary_rec(&r, k->drop_ts, k->remote_summary);
			if (remote_record(a, &r) == 0)
				k->remote_summary = 0;
		}
		if (k->remote_summary && force) {
			bump(&a->st_failed, 1);
			k->remote_summary = 0;
		}
	}
}

static void
deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void *
alert_sink_main(void *arg)
{
	struct alerts *a = arg;
	struct sink *k = &a->sink;

	for (;;) {
		uint64_t h, req, drops;
		int force, stop, busy;
		struct timespec until;

		pthread_mutex_lock(&a->smu);
		busy = k->spos < k->jpos || k->remote_summary ||
		    k->drops_seen != k->drops_reported ||
		    get(&a->st_dropped_full) + get(&a->st_dropped_rate) != k->drops_seen;
		if (atomic_load(&a->head) == k->jpos && !a->stop &&
		    a->flush_req == a->flush_done && !atomic_load(&a->raisers_waiting)) {
			/* Announce the sleep, then look again: a raiser either
			 * sees the flag (and signals under smu, which it cannot
			 * do before we wait) or we see its record. */
			atomic_store(&a->sink_sleeping, 1);
			if (atomic_load(&a->head) == k->jpos) {
				deadline(&until, busy ? WAIT_BUSY_MS : WAIT_IDLE_MS);
				pthread_cond_timedwait(&a->wake, &a->smu, &until);
			}
			atomic_store(&a->sink_sleeping, 0);
		}
		h = atomic_load_explicit(&a->head, memory_order_acquire);
		req = a->flush_req;
		stop = a->stop;
		/* One immediate reconnect per flush, not one per pass. */
		force = (req != a->flush_done && req != k->forced_req) ||
		    atomic_load(&a->raisers_waiting) || stop;
		if (force)
			k->forced_req = req;
		pthread_mutex_unlock(&a->smu);

		drops = get(&a->st_dropped_full) + get(&a->st_dropped_rate);
		sink_pass(a, h, drops, atomic_load_explicit(&a->drop_ts, memory_order_relaxed),
		    force);

		pthread_mutex_lock(&a->smu);
		if (atomic_load(&a->tail) != k->spos) {
			atomic_store_explicit(&a->tail, k->spos, memory_order_release);
			if (atomic_load(&a->raisers_waiting))
				pthread_cond_broadcast(&a->space);
		}
		if (k->spos == h && k->drops_reported == drops && !k->remote_summary &&
		    a->flush_done != req) {
			a->flush_done = req;
			pthread_cond_broadcast(&a->flushed);
		}
		if (stop && k->spos == atomic_load(&a->head)) {
			pthread_mutex_unlock(&a->smu);
			break;
		}
		pthread_mutex_unlock(&a->smu);
	}
	return NULL;
}

