/*
 * capture.c — libpcap sources. Files are opened with microsecond
 * timestamps (pcapng's nanoseconds are scaled by libpcap), so packet time
 * has one unit everywhere.
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mono.h"
#include "pcapmap.h"

/* stdio buffer for capture files. */
#define READ_BUFFER (1 << 20)

/* Frames between two looks at the clock for the progress line. */
#define PROGRESS_EVERY 65536

struct progress {
	double start, last;
	off_t size;
	uint64_t frames;
};


/* pos: bytes of the file read, or -1 when unknown. */
static void
progress_show(struct progress *pr, long long pos, const char *name, int final)
{
	double t = mono_s();
	char pct[16] = "";

	if (!final && t - pr->last < 0.5)
		return;
	pr->last = t;
	if (pr->size > 0 && pos >= 0)
		snprintf(pct, sizeof pct, ", %3.0f%%", 100.0 * (double)pos / (double)pr->size);
	fprintf(stderr, "\r%s: %llu packets, %.0f pkt/s%s%s", name,
		(unsigned long long)pr->frames,
		(double)pr->frames / (t - pr->start > 1e-3 ? t - pr->start : 1e-3), pct,
		final ? "\n" : "");
}

/* Where a stdio stream is, for the progress line. */
static long long
file_pos(pcap_t *p)
{
	FILE *fp = pcap_file(p);

	return fp ? (long long)ftell(fp) : -1;
}

/* Compiles expr for p into prog. Returns 0, or -1 (logged). */
static int
compile_filter(pcap_t *p, const char *name, const char *expr, struct bpf_program *prog)
{
	if (pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		log_err("%s: filter '%s': %s", name, expr, pcap_geterr(p));
		return -1;
	}
	return 0;
}

static int
set_filter(pcap_t *p, const char *name, const char *expr)
{
	struct bpf_program prog;

	if (!expr)
		return 0;
	if (compile_filter(p, name, expr, &prog) < 0)
		return -1;
	if (pcap_setfilter(p, &prog) < 0) {
		log_err("%s: filter '%s': %s", name, expr, pcap_geterr(p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

/* ts_of's answer for a time that cannot be one. */
#define TS_BAD UINT64_MAX

/* Packet time in microseconds, or TS_BAD when it cannot be one. libpcap
 * hands a pcap file's unsigned ts_sec as a signed 32-bit number, so that
 * 2038-01-19 to 2106 arrive negative: they are read as the unsigned
 * value the file holds. */
static uint64_t
ts_of(const struct pcap_pkthdr *h)
{
	int64_t sec = (int64_t)h->ts.tv_sec;
	uint64_t us;

	if (sec < 0 && sec >= INT32_MIN)
		sec += (int64_t)1 << 32;
	if (sec < 0 || (uint64_t)sec > CAPTURE_TIME_MAX_S)
		return TS_BAD;
	/* A microsecond field past a second moves the time on, as in tshark;
	 * never past the last one. */
	us = (uint64_t)sec * 1000000 + (uint32_t)h->ts.tv_usec;
	return us / 1000000 > CAPTURE_TIME_MAX_S ? TS_BAD : us;
}

/* A record's time for messages: ISO 8601 when it is a time, else the
 * number of seconds the file holds. */
static const char *
ts_text(const struct pcap_pkthdr *h, char *buf, size_t len)
{
	uint64_t us = ts_of(h);
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (us == TS_BAD || !gmtime_r(&t, &tm))
		snprintf(buf, len, "%lld s", (long long)h->ts.tv_sec);
	else
		strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static const char *
us_text(uint64_t us, char *buf, size_t len)
{
	struct pcap_pkthdr h = { .ts = { .tv_sec = (time_t)(us / 1000000) } };

	return ts_text(&h, buf, len);
}

static int
far_apart(uint64_t a, uint64_t b)
{
	return (a > b ? a - b : b - a) > (uint64_t)CAPTURE_TIME_JUMP_S * 1000000;
}

/* One file being read. A record far from the clock waits in held until
 * the next record says whether time really moved on. */
struct reader {
	const char *name;
	capture_frame_fn fn;
	void *ctx;
	struct capture_stats *st;
	decode_fn dec;
	uint64_t recs;			/* records read from this file */
	uint64_t odd, odd_first;	/* odd times here, the first one's record */
	uint64_t start_us;		/* the clock when the file was opened */
	int started;			/* a record of this file was taken as true */
	unsigned flags;			/* CAPTURE_F_MAPPED: frames lie in a mapping */
	int quiet;			/* capture_opts.quiet */
	struct {
		struct pcap_pkthdr h;
		uint8_t *buf;		/* CAPTURE_HOLD_BYTES, allocated on first use */
		uint64_t rec;
		int on;
	} held;
};

/* libpcap's largest record. */
#define CAPTURE_HOLD_BYTES 262144

static void
emit(struct reader *r, const uint8_t *data, const struct pcap_pkthdr *h, uint64_t ts)
{
	/* A held record is a copy, reused by the next one held. */
	r->fn(r->ctx, r->dec, data, h->caplen, h->len, ts, data == r->held.buf ? 0 : r->flags);
	r->st->frames++;
}

/* A record taken as true: the clock moves to it. */
static void
take(struct reader *r, const uint8_t *data, const struct pcap_pkthdr *h, uint64_t ts)
{
	char a[40], b[40];

	if (!r->started) {
		r->started = 1;
		if (r->start_us && ts < r->start_us && !r->quiet)
			log_warn("%s: its packets start at %s, before the previous file's last "
				 "packet (%s): read and counted, in the steps in progress",
				 r->name, us_text(ts, a, sizeof a), us_text(r->start_us, b, sizeof b));
	}
	r->st->clock_us = ts;
	emit(r, data, h, ts);
}

/* A record whose time cannot be true: counted at the running clock (or,
 * before any, at the next record's time), named once per file. */
static void
odd(struct reader *r, const uint8_t *data, const struct pcap_pkthdr *h, uint64_t rec,
    uint64_t next_us)
{
	uint64_t at = r->st->clock_us ? r->st->clock_us : next_us != TS_BAD ? next_us : 0;
	char a[40], b[40];

	if (r->odd++ == 0) {
		r->odd_first = rec;
		if (!r->quiet)
			log_warn("%s: record %llu: time %s is %s; counted at %s, the clock not moved",
				 r->name, (unsigned long long)rec, ts_text(h, a, sizeof a),
				 ts_of(h) == TS_BAD ? "past 2106" : "far from the records around it",
				 at ? us_text(at, b, sizeof b) : "the start");
	}
	r->st->odd_times++;
	emit(r, data, h, at);
}

/* The held record, judged by the record after it (next_us; TS_BAD at the
 * end of the file): true when the two are close, or when it is alone in
 * its file. */
static void
settle(struct reader *r, uint64_t next_us)
{
	uint64_t ts = ts_of(&r->held.h);

	if (!r->held.on)
		return;
	r->held.on = 0;
	if (ts != TS_BAD && (next_us != TS_BAD ? !far_apart(ts, next_us) : r->recs == 1))
		take(r, r->held.buf, &r->held.h, ts);
	else
		odd(r, r->held.buf, &r->held.h, r->held.rec, next_us);
}

/* One record as libpcap read it. Returns 0, or -1 when out of memory. */
static int
record(struct reader *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
	uint64_t ts = ts_of(h);

	r->recs++;
	settle(r, ts);
	if (ts == TS_BAD && r->st->clock_us != 0) {
		odd(r, data, h, r->recs, TS_BAD);
		return 0;
	}
	/* The first record of a run, a file after another, a capture
	 * resumed days later may start anywhere, and so may a lone record
	 * with a broken time: the next record decides (and gives its time
	 * to a first record that has none). */
	if (ts != TS_BAD && r->st->clock_us != 0 && !far_apart(ts, r->st->clock_us)) {
		take(r, data, h, ts);
		return 0;
	}
	if (!r->held.buf && (r->held.buf = malloc(CAPTURE_HOLD_BYTES)) == NULL) {
		log_err("%s: out of memory", r->name);
		return -1;
	}
	r->held.h = *h;
	if (r->held.h.caplen > CAPTURE_HOLD_BYTES)
		r->held.h.caplen = CAPTURE_HOLD_BYTES;
	memcpy(r->held.buf, data, r->held.h.caplen);
	r->held.rec = r->recs;
	r->held.on = 1;
	return 0;
}

/* A capture file's descriptor under stdio. */
struct fdio {
	int fd;
	volatile sig_atomic_t *stop;
};

/* Reads through fd, again when a signal interrupts the read: libpcap
 * takes a failed fread for a damaged file, and a SIGHUP during a replay
 * from a pipe would end it. A stop (SIGTERM, SIGINT; main.c sets those
 * without SA_RESTART) ends the read, so that a replay from an idle pipe
 * still stops. */
static ssize_t
fd_read(void *cookie, char *buf, size_t len)
{
	struct fdio *io = cookie;
	ssize_t n;

	do
		n = read(io->fd, buf, len);
	while (n < 0 && errno == EINTR && !*io->stop);
	return n;
}

static int
fd_seek(void *cookie, off64_t *off, int whence)
{
	off_t at = lseek(((struct fdio *)cookie)->fd, (off_t)*off, whence);

	if (at < 0)
		return -1;
	*off = at;
	return 0;
}

static int
fd_close(void *cookie)
{
	struct fdio *io = cookie;
	int rc = io->fd == STDIN_FILENO ? 0 : close(io->fd);

	free(io);
	return rc;
}

/* The file (or stdin for "-") as a stdio stream that retries EINTR, with
 * a large buffer: libpcap's default costs a read(2) per few packets. */
static FILE *
open_capture(const char *name, volatile sig_atomic_t *stop)
{
	static const cookie_io_functions_t fns = { .read = fd_read, .seek = fd_seek,
						   .close = fd_close };
	struct fdio *io = malloc(sizeof *io);
	FILE *fp;

	if (!io) {
		log_err("%s: out of memory", name);
		return NULL;
	}
	io->stop = stop;
	io->fd = strcmp(name, "-") == 0 ? STDIN_FILENO : open(name, O_RDONLY | O_CLOEXEC);
	if (io->fd < 0) {
		log_err("%s: %s", name, strerror(errno));
		free(io);
		return NULL;
	}
	if ((fp = fopencookie(io, "rb", fns)) == NULL) {
		log_err("%s: %s", name, strerror(errno));
		fd_close(io);
		return NULL;
	}
	setvbuf(fp, NULL, _IOFBF, READ_BUFFER);
	return fp;
}

/* The end of a file: the held record's buffer freed, the odd times
 * summed up, and how it ended said (unless quiet: another thread reading
 * the same files says it). how: 0 at its end, -1 damaged (why says how),
 * 1 when record() failed (out of memory, logged). Returns 0 or -1. */
static int
file_end(struct reader *r, const struct capture_opts *o, int how, uint64_t frames, const char *why)
{
	const char *name = r->name;
	int loud = !o->quiet;

	free(r->held.buf);
	r->held.buf = NULL;
	if (r->odd > 1 && loud)
		log_warn("%s: %llu records (the first record %llu) had times that cannot be true; "
			 "counted at the running clock", name, (unsigned long long)r->odd,
			 (unsigned long long)r->odd_first);
	if (*o->stop || how == 0)
		return 0;
	if (how == 1)
		return -1;
	if (strstr(why, "truncated dump file") || strstr(why, "truncated pcapng dump file")) {
		/* The writer stopped mid-record (a full disk, a killed
		 * tcpdump): everything before it is good and counted. */
		if (loud)
			log_warn("%s: ends in an incomplete record after %llu packets: %s", name,
				 (unsigned long long)frames, why);
		return 0;
	}
	if (loud && strstr(why, "different from the type of the first interface"))
		/* libpcap 1.10 hands no packet its interface: such a file
		 * cannot be decoded, and is refused, not damaged. */
		log_err("%s: its interfaces have different link types, which libpcap does not "
			"read (%s); the %llu packets before the second link type are counted: "
			"split the file per interface (editcap, tshark -Y frame.interface_id==N)",
			name, why, (unsigned long long)frames);
	else if (loud)
		log_err("%s: damaged after %llu packets: %s", name, (unsigned long long)frames, why);
	return -1;
}

int
capture_stream(FILE *fp, const char *name, const struct capture_opts *o, capture_frame_fn fn,
	       void *ctx, struct capture_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct progress pr = { 0 };
	struct reader r = { .name = name, .fn = fn, .ctx = ctx, .st = st,
			    .start_us = st->clock_us, .quiet = o->quiet };
	struct stat sb;
	pcap_t *p;
	int rc = 0, dlt;

	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!p) {
		log_err("%s: %s", name, err);
		fclose(fp);
		return -1;
	}
	dlt = pcap_datalink(p);
	r.dec = decode_for_dlt(dlt);
	if (!r.dec) {
		const char *dn = pcap_datalink_val_to_name(dlt);
		log_err("%s: link type %d (%s) is not supported", name, dlt, dn ? dn : "unknown");
		pcap_close(p);
		return -1;
	}
	if (set_filter(p, name, o->filter) < 0) {
		pcap_close(p);
		return -1;
	}
	if (o->progress && strcmp(name, "-") != 0 && stat(name, &sb) == 0)
		pr.size = sb.st_size;
	pr.start = pr.last = mono_s();

	while (!*o->stop && (rc = pcap_next_ex(p, &h, &data)) == 1) {
		if (record(&r, h, data) < 0)
			break;
		if ((++pr.frames % PROGRESS_EVERY) == 0 && o->progress)
			progress_show(&pr, file_pos(p), name, 0);
	}
	settle(&r, TS_BAD);
	if (o->progress)
		progress_show(&pr, file_pos(p), name, 1);
	rc = file_end(&r, o, rc == 1 ? 1 : rc == -1 ? -1 : 0, pr.frames, pcap_geterr(p));
	pcap_close(p);
	return rc;
}

/* A classic pcap file being read through its mapping (pcapmap.h):
 * libpcap opened it for its header (link type, snapshot length; and says
 * what is wrong with one) and compiled the filter, the records are
 * walked here, and frames go on with CAPTURE_F_MAPPED. */
struct mapped {
	struct reader r;
	struct bpf_program prog;
	struct progress pr;
	struct pcapmap *pm;
	pcap_t *p;
	int filtered;
};

struct capture_cursor {
	const struct capture_opts *o;
	capture_frame_fn fn;
	void *ctx;
	struct capture_stats *st;
	char *copy, *save;
	const char *name;		/* the file open, or NULL */
	int first;			/* strtok_r's first call to come */
	int rc;
	struct mapped m;		/* when m.pm */
};

/* Opens name as a mapped file into m. Returns 0, -1 when it cannot be
 * read at all (logged: the filter), or 1 when it is not a file to map
 * (libpcap reads it). */
static int
map_open(struct mapped *m, const char *name, const struct capture_opts *o, capture_frame_fn fn,
	 void *ctx, struct capture_stats *st)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct stat sb;

	memset(m, 0, sizeof *m);
	m->r = (struct reader){ .name = name, .fn = fn, .ctx = ctx, .st = st,
				.start_us = st->clock_us, .quiet = o->quiet,
				.flags = CAPTURE_F_MAPPED };
	/* Regular files only (a FIFO's bytes are read once, by libpcap's
	 * stream); then libpcap: a header it refuses is its to name. */
	if (stat(name, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 1;
	m->p = pcap_open_offline_with_tstamp_precision(name, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!m->p)
		return 1;
	m->r.dec = decode_for_dlt(pcap_datalink(m->p));
	if (m->r.dec && pcap_snapshot(m->p) > 0)
		m->pm = pcapmap_open(name, (uint32_t)pcap_snapshot(m->p), CAPTURE_HOLD_BYTES);
	if (!m->pm) {
		pcap_close(m->p);
		return 1;
	}
	if (o->filter) {
		if (compile_filter(m->p, name, o->filter, &m->prog) < 0) {
			pcapmap_close(m->pm);
			m->pm = NULL;
			pcap_close(m->p);
			return -1;
		}
		m->filtered = 1;
	}
	m->pr.size = sb.st_size;
	m->pr.start = m->pr.last = mono_s();
	return 0;
}

/* Reads m to its end (or *stop). Returns as capture_stream (0, or -1),
 * the file closed. */
static int
map_read(struct mapped *m, const struct capture_opts *o, void *ctx)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr h;
	const uint8_t *data;
	int rc;

	for (;;) {
		if (*o->stop) {
			rc = 0;
			break;
		}
		if ((rc = pcapmap_next(m->pm, &h, &data, err, sizeof err)) != 1)
			break;
		if (m->filtered && !pcap_offline_filter(&m->prog, &h, data))
			continue;
		if (record(&m->r, &h, data) < 0)
			break;
		if ((++m->pr.frames % PROGRESS_EVERY) == 0 && o->progress)
			progress_show(&m->pr, (long long)pcapmap_pos(m->pm), m->r.name, 0);
	}
	settle(&m->r, TS_BAD);
	if (o->progress)
		progress_show(&m->pr, (long long)pcapmap_pos(m->pm), m->r.name, 1);
	rc = file_end(&m->r, o, rc, m->pr.frames, err);
	/* The frames handed out go with the mapping. */
	if (o->release)
		o->release(ctx);
	pcapmap_close(m->pm);
	m->pm = NULL;
	if (m->filtered)
		pcap_freecode(&m->prog);
	pcap_close(m->p);
	return rc;
}

struct capture_cursor *
capture_cursor_new(const char *list, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
		   struct capture_stats *st)
{
	struct capture_cursor *c = calloc(1, sizeof *c);

	if (c && (c->copy = strdup(list)) == NULL) {
		free(c);
		c = NULL;
	}
	if (!c) {
		log_err("out of memory");
		return NULL;
	}
	c->o = o;
	c->fn = fn;
	c->ctx = ctx;
	c->st = st;
	c->first = 1;
	return c;
}

void
capture_cursor_run(struct capture_cursor *c)
{
	const struct capture_opts *o = c->o;
	int rc;

	while (!*o->stop) {
		c->name = strtok_r(c->first ? c->copy : NULL, ",", &c->save);
		c->first = 0;
		if (!c->name)
			return;
		rc = strcmp(c->name, "-") != 0 ? map_open(&c->m, c->name, o, c->fn, c->ctx, c->st) : 1;
		if (rc == 1) {
			/* libpcap's, the whole file at once */
			FILE *fp = open_capture(c->name, o->stop);

			rc = fp ? capture_stream(fp, c->name, o, c->fn, c->ctx, c->st) : -1;
		} else if (rc == 0) {
			rc = map_read(&c->m, o, c->ctx);
		}
		c->name = NULL;
		if (rc < 0) {
			c->st->files_failed++;
			c->rc = -1;
		}
	}
}

uint64_t
capture_cursor_pos(const struct capture_cursor *c)
{
	return c->name && c->m.pm ? pcapmap_pos(c->m.pm) : 0;
}

void
capture_cursor_hold(struct capture_cursor *c, uint64_t off)
{
	if (c->name && c->m.pm)
		pcapmap_hold(c->m.pm, off);
}

int
capture_cursor_free(struct capture_cursor *c)
{
	int rc;

	if (!c)
		return 0;
	/* capture_cursor_run closes every file it opens before it returns. */
	rc = c->rc;
	free(c->copy);
	free(c);
	return rc;
}

int
capture_files_mappable(const char *list)
{
	char *copy = strdup(list), *save = NULL, *name;
	int all = copy != NULL;

	for (name = copy ? strtok_r(copy, ",", &save) : NULL; name && all;
	     name = strtok_r(NULL, ",", &save)) {
		struct pcapmap *pm = strcmp(name, "-") != 0 ? pcapmap_open(name, 65535, 65535) : NULL;

		all = pm != NULL;
		pcapmap_close(pm);
	}
	free(copy);
	return all;
}

int
capture_files(const char *list, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
	      struct capture_stats *st)
{
	struct capture_cursor *c = capture_cursor_new(list, o, fn, ctx, st);

	if (!c)
		return -1;
	capture_cursor_run(c);
	return capture_cursor_free(c);
}

struct capture {
	pcap_t *p;
	char *iface;
	decode_fn dec;
	capture_frame_fn fn;
	void *ctx;
	struct capture_stats *st;
};

static void
live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct capture *c = (struct capture *)(void *)user;
	uint64_t ts = ts_of(h);

	/* The kernel's clock: a time past 2106 is not one; the last
	 * packet's stands in. */
	if (ts == TS_BAD)
		ts = c->st->clock_us;
	c->st->clock_us = ts;
	c->fn(c->ctx, c->dec, data, h->caplen, h->len, ts, 0);
	c->st->frames++;
}

/* Several handles on one interface share its packets: the kernel hashes
 * each packet's flow (addresses, ports, protocol, both directions alike;
 * fragments reassembled first, DEFRAG, so that they hash with their flow)
 * and hands it to one member. Returns 0 or -1 (logged). */
static int
join_fanout(pcap_t *p, const char *iface, int group)
{
	/* The mode goes in the upper 16 bits; DEFRAG is 0x8000, so the
	 * shift is done unsigned. */
	uint32_t arg = ((uint32_t)group & 0xffff) |
	    ((uint32_t)(PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_DEFRAG) << 16);

	if (setsockopt(pcap_fileno(p), SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0) {
		log_err("%s: cannot join packet fanout group %d: %s (threads > 1 needs "
			"Linux AF_PACKET fanout)", iface, group & 0xffff, strerror(errno));
		return -1;
	}
	return 0;
}

struct capture *
capture_open_live(const char *iface, const struct capture_opts *o)
{
	char err[PCAP_ERRBUF_SIZE];
	struct capture *c;
	pcap_t *p;
	int rc, dlt;

	p = pcap_create(iface, err);
	if (!p) {
		log_err("%s: %s", iface, err);
		return NULL;
	}
	pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : 65535);
	pcap_set_promisc(p, o->promisc);
	/* Wake at least every 100 ms, so that the tick runs on a quiet link. */
	pcap_set_timeout(p, 100);
	if (o->buffer_mb > 0)
		pcap_set_buffer_size(p, o->buffer_mb * 1024 * 1024);
	rc = pcap_activate(p);
	if (rc < 0) {
		log_err("%s: %s", iface, rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc));
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)
		log_warn("%s: %s", iface, pcap_statustostr(rc));
	if (o->fanout_group > 0 && join_fanout(p, iface, o->fanout_group) < 0) {
		pcap_close(p);
		return NULL;
	}
	dlt = pcap_datalink(p);
	if (decode_for_dlt(dlt) == NULL) {
		log_err("%s: link type %d (%s) is not supported", iface, dlt,
			pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "unknown");
		pcap_close(p);
		return NULL;
	}
	if (set_filter(p, iface, o->filter) < 0) {
		pcap_close(p);
		return NULL;
	}
	/* Non-blocking, and our own poll with a timeout: with TPACKET_V3
	 * libpcap waits in poll() without one, so an idle link would never
	 * let the tick run, nor a signal end the loop. */
	if (pcap_setnonblock(p, 1, err) < 0 || pcap_get_selectable_fd(p) < 0) {
		log_err("%s: cannot poll the capture: %s", iface, err);
		pcap_close(p);
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL || (c->iface = strdup(iface)) == NULL) {
		free(c);
		pcap_close(p);
		return NULL;
	}
	c->p = p;
	c->dec = decode_for_dlt(dlt);
	return c;
}

/* Reads the kernel's counters into st (they are totals since open). */
static void
live_stats(struct capture *c, struct capture_stats *st)
{
	struct pcap_stat ps;

	if (pcap_stats(c->p, &ps) == 0) {
		st->kernel_drops = ps.ps_drop;
		st->if_drops = ps.ps_ifdrop;
	}
}

int
capture_run(struct capture *c, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
	    struct capture_stats *st)
{
	struct timespec ts;
	int rc = 0;

	c->fn = fn;
	c->ctx = ctx;
	c->st = st;
	struct pollfd pfd = { .fd = pcap_get_selectable_fd(c->p), .events = POLLIN };

	while (!*o->stop) {
		/* EINTR (a signal) and the timeout both just go round. */
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
			log_err("%s: poll: %s", c->iface, strerror(errno));
			rc = -1;
			break;
		}
		if (pcap_dispatch(c->p, -1, live_cb, (u_char *)c) < 0) {
			log_err("%s: %s", c->iface, pcap_geterr(c->p));
			rc = -1;
			break;
		}
		if (o->tick) {
			live_stats(c, st);
			clock_gettime(CLOCK_REALTIME, &ts);
			o->tick(ctx, (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, st);
		}
	}
	live_stats(c, st);
	return rc;
}

void
capture_close(struct capture *c)
{
	if (!c)
		return;
	pcap_close(c->p);
	free(c->iface);
	free(c);
}
