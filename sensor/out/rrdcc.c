/*
 * rrdcc.c — the rrdcached client (see rrdcc.h). The socket is non-blocking
 * from the start and every wait is a poll on it and on an eventfd, so
 * that rrdcc_limit can cut a wait short from the thread that stops the
 * sensor.
 */
#include "rrdcc.h"

#include "mono.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct rrdcc {
	char *c_unix;		/* socket path, or NULL for TCP */
	char *host, *port;
	int fd, wake;
	atomic_llong limit_ms;	/* 0: no limit; else wait no later */
	atomic_uint grace_ms;	/* extends limit_ms on every reply */
	char in[8192];
	size_t in_len, in_off;
	char msg[256];
};

static long long
mono_ms(void)
{
	return (long long)(mono_s() * 1000.0);
}

struct rrdcc *
rrdcc_new(const char *a)
{
	struct rrdcc *c = calloc(1, sizeof *c);
	const char *p;
	char *end;
	long port;

	if (c == NULL)
		return NULL;
	c->fd = -1;
	c->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->wake < 0)
		goto bad;
	if (!strncmp(a, "unix:", 5) || a[0] == '/') {
		p = a[0] == '/' ? a : a + 5;
		if (*p == '\0' ||
		    strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			goto bad;
		if ((c->c_unix = strdup(p)) == NULL)
			goto bad;
		return c;
	}
	if (a[0] == '[') {
		if ((p = strchr(a, ']')) == NULL || p == a + 1)
			goto bad;
		c->host = strndup(a + 1, (size_t)(p - a - 1));
		p++;
		if (*p != '\0' && *p != ':')
			goto bad;
	} else {
		p = strchr(a, ':');
		if (p == a || (p && strchr(p + 1, ':')))
			goto bad;	/* empty host, or IPv6 without [] */
		c->host = p ? strndup(a, (size_t)(p - a)) : strdup(a);
		if (c->host == NULL || *c->host == '\0' || strchr(c->host, ' '))
			goto bad;
	}
	if (p && *p == ':') {
		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (p[1] == '\0' || *end != '\0' || errno || port < 1 ||
		    port > 65535)
			goto bad;
		c->port = strdup(p + 1);
	} else {
		c->port = strdup("42217");	/* rrdcached's default */
	}
	if (c->host && c->port)
		return c;
bad:
	rrdcc_free(c);
	return NULL;
}

void
rrdcc_free(struct rrdcc *c)
{
	if (c == NULL)
		return;
	rrdcc_close(c);
	if (c->wake >= 0)
		close(c->wake);
	free(c->c_unix);
	free(c->host);
	free(c->port);
	free(c);
}

int
rrdcc_local(const struct rrdcc *c)
{
	return c->c_unix != NULL;
}

const char *
rrdcc_msg(const struct rrdcc *c)
{
	return c->msg;
}

void
rrdcc_close(struct rrdcc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->in_len = c->in_off = 0;
}

void
rrdcc_attach(struct rrdcc *c, int fd)
{
	rrdcc_close(c);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd = fd;
}

void
rrdcc_limit(struct rrdcc *c, unsigned grace_s)
{
	uint64_t one = 1;

	atomic_store(&c->grace_ms, grace_s * 1000u);
	atomic_store(&c->limit_ms, mono_ms() + (long long)grace_s * 1000);
	if (write(c->wake, &one, sizeof one) < 0) {
		/* a counter at its maximum still wakes the poll */
	}
}

/* The time by which a wait of the command started at start_ms ends. */
static long long
end_ms(struct rrdcc *c, long long start_ms)
{
	long long end = start_ms + RRDCC_TIMEOUT_S * 1000LL;
	long long lim = atomic_load(&c->limit_ms);

	return lim > 0 && lim < end ? lim : end;
}

/* Waits until the socket is ready for events. Returns 0, or -1 with the
 * reason in msg (timed out, or the wait failed). */
static int
wait_fd(struct rrdcc *c, short events, long long start_ms)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = c->fd, .events = events },
		    { .fd = c->wake, .events = POLLIN } };
		long long left = end_ms(c, start_ms) - mono_ms();
		int n;

		if (left <= 0) {
			if (atomic_load(&c->limit_ms) > 0)
				snprintf(c->msg, sizeof c->msg, "no answer for "
				    "%us at exit, given up",
				    atomic_load(&c->grace_ms) / 1000);
			else
				snprintf(c->msg, sizeof c->msg, "no answer for "
				    "%ds, timed out", RRDCC_TIMEOUT_S);
			return -1;
		}
		n = poll(p, 2, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(c->msg, sizeof c->msg, "poll: %s", strerror(errno));
			return -1;
		}
		if (p[1].revents & POLLIN) {
			uint64_t v;

			if (read(c->wake, &v, sizeof v) < 0) {
				/* drained by an earlier read */
			}
		}
		if (p[0].revents != 0)
			return 0;
	}
}

/* Connects to one address, bounded. Returns the socket or -1 (errno). */
static int
connect_one(struct rrdcc *c, int family, int type, int proto,
    const struct sockaddr *sa, socklen_t salen, long long start_ms)
{
	int fd = socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, proto);
	int err = 0;
	socklen_t len = sizeof err;

	if (fd < 0)
		return -1;
	if (connect(fd, sa, salen) != 0) {
		err = errno;
		if (err == EINPROGRESS) {
			/* an address that swallows SYNs must not stall us for
			 * the kernel's minutes */
			c->fd = fd;
			err = wait_fd(c, POLLOUT, start_ms) == 0 ? 0 : ETIMEDOUT;
			c->fd = -1;
			if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err,
			    &len) != 0)
				err = errno;
		}
	}
	if (err) {
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

int
rrdcc_connect(struct rrdcc *c)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	long long start = mono_ms();
	int fd = -1, err = EHOSTUNREACH, gai;

	rrdcc_close(c);
	if (atomic_load(&c->limit_ms) > 0 && mono_ms() >= atomic_load(&c->limit_ms)) {
		snprintf(c->msg, sizeof c->msg, "no answer for %us at exit, "
		    "given up", atomic_load(&c->grace_ms) / 1000);
		return -1;
	}
	if (c->c_unix != NULL) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		memcpy(sa.sun_path, c->c_unix, strlen(c->c_unix) + 1);
		if ((fd = connect_one(c, AF_UNIX, SOCK_STREAM, 0,
		    (struct sockaddr *)&sa, sizeof sa, start)) < 0) {
			snprintf(c->msg, sizeof c->msg, "%s", strerror(errno));
			return -1;
		}
		c->fd = fd;
		return 0;
	}
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(c->host, c->port, &hints, &res)) != 0) {
		snprintf(c->msg, sizeof c->msg, "%s", gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		if ((fd = connect_one(c, ai->ai_family, ai->ai_socktype,
		    ai->ai_protocol, ai->ai_addr, ai->ai_addrlen, start)) < 0)
			err = errno;
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(c->msg, sizeof c->msg, "%s", strerror(err));
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->fd = fd;
	return 0;
}

/* Sends all of buf. MSG_NOSIGNAL: a daemon that went away must cost an
 * EPIPE, not the process. Returns 0 or -1 (reason in msg). */
static int
send_all(struct rrdcc *c, const char *buf, size_t len, long long start)
{
	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c, POLLOUT, start) != 0)
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->msg, sizeof c->msg, "%s", strerror(errno));
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (without its newline) into *line, valid until the next
 * call. Returns 0 or -1 (reason in msg). */
static int
get_line(struct rrdcc *c, char **line, long long start)
{
	for (;;) {
		char *s = c->in + c->in_off;
		char *nl = memchr(s, '\n', c->in_len - c->in_off);
		ssize_t n;

		if (nl != NULL) {
			*nl = '\0';
			*line = s;
			c->in_off = (size_t)(nl - c->in) + 1;
			return 0;
		}
		if (c->in_off > 0) {
			memmove(c->in, s, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_len == sizeof c->in) {
			snprintf(c->msg, sizeof c->msg, "reply line longer than "
			    "%zu bytes", sizeof c->in);
			return -1;
		}
		n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c, POLLIN, start) != 0)
				return -1;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(c->msg, sizeof c->msg, "%s",
			    n == 0 ? "connection closed by rrdcached" :
			    strerror(errno));
			return -1;
		}
		c->in_len += (size_t)n;
	}
}

/* The daemon's words go to our log: no control characters. */
static void
set_msg(struct rrdcc *c, const char *s)
{
	size_t i = 0;

	for (; s[i] != '\0' && i + 1 < sizeof c->msg; i++)
		c->msg[i] = (unsigned char)s[i] >= ' ' &&
		    (unsigned char)s[i] < 127 ? s[i] : '?';
	c->msg[i] = '\0';
}

int
rrdcc_req(struct rrdcc *c, const char *cmd, size_t len,
    void (*cb)(void *, char *), void *arg)
{
	long long start = mono_ms();
	char *line, *msg;
	long st;
	unsigned g;

	if (c->fd < 0) {
		snprintf(c->msg, sizeof c->msg, "not connected");
		return RRDCC_DOWN;
	}
	if (send_all(c, cmd, len, start) != 0 || get_line(c, &line, start) != 0)
		goto down;
	errno = 0;
	st = strtol(line, &msg, 10);
	if (msg == line || errno != 0 || st > RRDCC_MAX_LINES ||
	    (*msg != '\0' && *msg != ' ' && *msg != '\t')) {
		char shown[64];

		snprintf(shown, sizeof shown, "unexpected reply '%.40s'", line);
		set_msg(c, shown);
		goto down;
	}
	msg += strspn(msg, " \t");
	if (st < 0) {
		set_msg(c, *msg ? msg : "refused, no reason given");
		goto answered;
	}
	for (long i = 0; i < st; i++) {
		if (get_line(c, &line, start) != 0)
			goto down;
		if (cb != NULL)
			cb(arg, line);
	}
answered:
	/* An answer is progress: the grace at exit starts again. */
	if ((g = atomic_load(&c->grace_ms)) > 0)
		atomic_store(&c->limit_ms, mono_ms() + g);
	return st < 0 ? RRDCC_ERR : RRDCC_OK;
down:
	rrdcc_close(c);
	return RRDCC_DOWN;
}

size_t
rrdcc_cmd(char *buf, size_t size, const char *verb, const char *path)
{
	size_t n;

	if (size < 200 + strlen(verb) + 2)
		return 0;
	n = (size_t)snprintf(buf, size, "%s ", verb);
	for (; *path != '\0'; path++) {
		/* a newline would end the command: no control characters */
		if (n + 3 > size - 200 || (unsigned char)*path < ' ')
			return 0;
		if (*path == ' ' || *path == '\\')
			buf[n++] = '\\';
		buf[n++] = *path;
	}
	buf[n] = '\0';
	return n;
}
