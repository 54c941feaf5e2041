/*
 * fuzz_rrdcc.c — libFuzzer target for the rrdcached client
 * (sensor/out/rrdcc.c): the reader of the daemon's replies, its address
 * parser and its command escaping. What a broken or hostile daemon sends
 * must give a clean RRDCC_OK/ERR/DOWN, never a read past the buffer, a
 * hang or a control character in our log.
 *
 * The first byte picks what the rest is:
 *   'A'    an address for rrdcc_new ("unix:/x", "host:port", "[v6]:port")
 *   'P'    a path for rrdcc_cmd: escaped, then read back as the daemon
 *          splits words, it must give the path again
 *   other  the daemon's whole byte stream (then EOF) over a socketpair:
 *          commands are sent until the reply reader says the connection
 *          is down. Every line handed to the callback has no newline, and
 *          there are no more of them than newlines in the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "rrdcc.h"

#define MAX_INPUT 60000		/* fits a socket buffer: no writer thread */
#define MAX_REQ 2000

static size_t lines_seen;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static void
on_line(void *arg, char *line)
{
	size_t n = strlen(line);

	(void)arg;
	if (n >= 8192 || memchr(line, '\n', n) != NULL)
		abort();
	lines_seen++;
}

static void
msg_ok(const struct rrdcc *c)
{
	const char *m = rrdcc_msg(c);
	size_t n = strlen(m);

	if (n >= 256)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)m[i] < ' ' || (unsigned char)m[i] >= 127)
			abort();
}

static void
replies(const uint8_t *d, size_t n)
{
	static const char *const cmds[] = { "PING\n", "INFO /x.rrd\n",
	    "FLUSH /x.rrd\n", "UPDATE /x.rrd 1:2\n" };
	struct rrdcc *c = rrdcc_new("unix:/nonexistent");
	size_t newlines = 0;
	char sink[4096];
	int sv[2], r = RRDCC_OK;

	if (c == NULL)
		abort();
	if (n > MAX_INPUT)
		n = MAX_INPUT;
	for (size_t i = 0; i < n; i++)
		newlines += d[i] == '\n';
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &(int){ 1 << 20 }, sizeof(int));
	for (size_t done = 0; done < n;) {
		ssize_t k = write(sv[1], d + done, n - done);

		if (k <= 0)
			abort();
		done += (size_t)k;
	}
	shutdown(sv[1], SHUT_WR);
	rrdcc_attach(c, sv[0]);
	lines_seen = 0;
	for (int i = 0; i < MAX_REQ && r != RRDCC_DOWN; i++) {
		const char *cmd = cmds[i % 4];

		r = rrdcc_req(c, cmd, strlen(cmd), on_line, NULL);
		if (r != RRDCC_OK && r != RRDCC_ERR && r != RRDCC_DOWN)
			abort();
		if (r != RRDCC_OK)
			msg_ok(c);
		/* what we sent, read away so that sends never wait */
		while (recv(sv[1], sink, sizeof sink, MSG_DONTWAIT) > 0)
			;
	}
	if (lines_seen > newlines)
		abort();
	if (r == RRDCC_DOWN && rrdcc_req(c, "PING\n", 5, NULL, NULL) != RRDCC_DOWN)
		abort();	/* closed after a loss */
	close(sv[1]);
	rrdcc_free(c);	/* closes sv[0] */
}

static void
address(const uint8_t *d, size_t n)
{
	char *a = malloc(n + 1);
	struct rrdcc *c;

	if (a == NULL)
		abort();
	memcpy(a, d, n);
	a[n] = '\0';
	if ((c = rrdcc_new(a)) != NULL) {
		(void)rrdcc_local(c);
		rrdcc_free(c);	/* never connected: no network here */
	}
	free(a);
}

static void
command(const uint8_t *d, size_t n)
{
	char path[1024], buf[4000], back[1024];
	size_t len, k = 0;

	if (n >= sizeof path)
		n = sizeof path - 1;
	memcpy(path, d, n);
	path[n] = '\0';
	n = strlen(path);	/* a path ends at its NUL */
	len = rrdcc_cmd(buf, sizeof buf, "UPDATE", path);
	if (len == 0)
		return;
	if (len >= sizeof buf - 199 || strncmp(buf, "UPDATE ", 7) != 0 ||
	    memchr(buf, '\n', len) != NULL)
		abort();
	/* the daemon's reading: a backslash takes the next byte as is, a
	 * space ends the word */
	for (size_t i = 7; i < len; i++) {
		if (buf[i] == ' ')
			abort();
		if (buf[i] == '\\')
			i++;
		back[k++] = buf[i];
	}
	back[k] = '\0';
	if (k != n || memcmp(back, path, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] == 'A')
		address(data + 1, size - 1);
	else if (data[0] == 'P')
		command(data + 1, size - 1);
	else
		replies(data + 1, size - 1);
	return 0;
}
