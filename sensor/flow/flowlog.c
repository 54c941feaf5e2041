/*
 * flowlog.c — writes SPEC's flow log. The client (the side that opened
 * the flow) is written as src, so c2s is always src → dst. The file is
 * appended to (a restart never truncates it; the header goes only into an
 * empty file), flushed at every step's end so that a tail -f or a crash
 * loses at most a step, and reopened by name after logrotate's mv.
 */
#include "flowlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

struct flowlog {
	FILE *fp;
	char *path;
	int shared;			/* flowlog_share: writes under mu */
	pthread_mutex_t mu;
	atomic_int reopen;		/* flowlog_reopen asked for it */
	uint64_t pending;		/* lines written since the last flush */
	uint64_t lost;			/* lines a failed write took with it */
	char buf[1 << 16];
};

static const char header[] =
	"first_ts\tlast_ts\tproto\tsrc\tsport\tdst\tdport\tc2s_pkts\tc2s_bytes"
	"\ts2c_pkts\ts2c_bytes\tapp\tsubscriber\tdirection\n";

/* Gives fp fl's buffer and, into an empty file, the header: a restart
 * or a rotation leaves one header per file. */
static FILE *
start_log(struct flowlog *fl, FILE *fp)
{
	struct stat st;

	setvbuf(fp, fl->buf, _IOFBF, sizeof fl->buf);
	if (fp == stdout || (fstat(fileno(fp), &st) == 0 && st.st_size == 0))
		fputs(header, fp);
	return fp;
}

struct flowlog *
flowlog_open(const char *path)
{
	struct flowlog *fl = calloc(1, sizeof *fl);

	if (!fl)
		return NULL;
	if ((fl->fp = strcmp(path, "-") == 0 ? stdout : fopen(path, "ae")) == NULL) {
		log_err("%s: %s", path, strerror(errno));
		free(fl);
		return NULL;
	}
	start_log(fl, fl->fp);
	fl->path = strdup(path);
	return fl;
}

/* Writes out what the buffer holds; a failure is counted in lines and
 * said once per failing stretch. Under mu when shared. */
static int
sync_locked(struct flowlog *fl)
{
	if (fflush(fl->fp) == 0 && !ferror(fl->fp)) {
		fl->pending = 0;
		return 0;
	}
	if (fl->lost == 0 || fl->pending)
		log_err("%s: %s (%llu flow lines lost so far)", fl->path, strerror(errno),
			(unsigned long long)(fl->lost + fl->pending));
	fl->lost += fl->pending;
	fl->pending = 0;
	clearerr(fl->fp);
	return -1;
}

/* The old file is kept when the new one cannot be opened. */
static void
reopen_locked(struct flowlog *fl)
{
	FILE *fp;

	if (!atomic_exchange(&fl->reopen, 0) || fl->fp == stdout)
		return;
	if ((fp = fopen(fl->path, "ae")) == NULL) {
		log_err("reopening %s: %s; still writing the old file", fl->path, strerror(errno));
		return;
	}
	sync_locked(fl);
	if (fclose(fl->fp) != 0)
		log_err("%s (rotated): %s", fl->path, strerror(errno));
	fl->fp = start_log(fl, fp);
}

/* Transport names an operator reads at a glance; others stay numbers. */
static const char *
proto_name(uint8_t proto, char *buf, size_t len)
{
	static const struct { uint8_t n; const char *name; } names[] = {
		{ 1, "icmp" }, { 2, "igmp" }, { 4, "ipip" }, { 6, "tcp" },
		{ 17, "udp" }, { 41, "ipv6" }, { 47, "gre" }, { 50, "esp" },
		{ 51, "ah" }, { 58, "icmp6" }, { 89, "ospf" }, { 132, "sctp" },
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].n == proto)
			return names[i].name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

void
flowlog_write(struct flowlog *fl, const struct flow *f, const char *app,
	      const char *subscriber, const char *direction)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], pbuf[8];
	int af = f->key.family == 6 ? AF_INET6 : AF_INET;
	const uint8_t *c = f->client_is_a ? f->key.a : f->key.b;
	const uint8_t *s = f->client_is_a ? f->key.b : f->key.a;
	unsigned cport = f->client_is_a ? f->key.aport : f->key.bport;
	unsigned sport = f->client_is_a ? f->key.bport : f->key.aport;

	inet_ntop(af, c, src, sizeof src);
	inet_ntop(af, s, dst, sizeof dst);
	if (fl->shared)
		pthread_mutex_lock(&fl->mu);
	if (atomic_load_explicit(&fl->reopen, memory_order_relaxed))
		reopen_locked(fl);
	fl->pending++;
	fprintf(fl->fp, "%llu.%06llu\t%llu.%06llu\t%s\t%s\t%u\t%s\t%u\t%llu\t%llu\t%llu\t%llu\t%s\t%s\t%s\n",
		(unsigned long long)(f->first_us / 1000000), (unsigned long long)(f->first_us % 1000000),
		(unsigned long long)(f->last_us / 1000000), (unsigned long long)(f->last_us % 1000000),
		proto_name(f->key.proto, pbuf, sizeof pbuf), src, cport, dst, sport,
		(unsigned long long)f->pkts[FLOW_C2S], (unsigned long long)f->bytes[FLOW_C2S],
		(unsigned long long)f->pkts[FLOW_S2C], (unsigned long long)f->bytes[FLOW_S2C],
		app, subscriber ? subscriber : "-", direction);
	if (fl->shared)
		pthread_mutex_unlock(&fl->mu);
}

void
flowlog_reopen(struct flowlog *fl)
{
	if (fl)
		atomic_store(&fl->reopen, 1);
}

void
flowlog_sync(struct flowlog *fl)
{
	if (!fl)
		return;
	if (fl->shared)
		pthread_mutex_lock(&fl->mu);
	if (atomic_load_explicit(&fl->reopen, memory_order_relaxed))
		reopen_locked(fl);
	if (fl->pending)
		sync_locked(fl);
	if (fl->shared)
		pthread_mutex_unlock(&fl->mu);
}

void
flowlog_share(struct flowlog *fl)
{
	if (!fl || fl->shared)
		return;
	pthread_mutex_init(&fl->mu, NULL);
	fl->shared = 1;
}

int
flowlog_close(struct flowlog *fl)
{
	int rc = 0;

	if (!fl)
		return 0;
	if (sync_locked(fl) < 0 || fl->lost)
		rc = -1;
	if (fl->fp != stdout && fclose(fl->fp) != 0 && rc == 0) {
		log_err("%s: %s", fl->path, strerror(errno));
		rc = -1;
	}
	if (fl->lost)
		log_err("%s: %llu flow lines could not be written", fl->path,
			(unsigned long long)fl->lost);
	if (fl->shared)
		pthread_mutex_destroy(&fl->mu);
	free(fl->path);
	free(fl);
	return rc;
}
