/*
 * capture.c — libpcap sources. Files are opened with microsecond
 * timestamps (pcapng's nanoseconds are scaled by libpcap), so packet time
 * has one unit everywhere.
 */
#include "capture.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mono.h"

/* stdio buffer for capture files. */
#define READ_BUFFER (1 << 20)

/* Frames between two looks at the clock for the progress line. */
#define PROGRESS_EVERY 65536

struct progress {
	double start, last;
	off_t size;
	uint64_t frames;
};


static void
progress_show(struct progress *pr, pcap_t *p, const char *name, int final)
{
	double t = mono_s();
	FILE *fp = pcap_file(p);
	char pct[16] = "";

	if (!final && t - pr->last < 0.5)
		return;
	pr->last = t;
	if (pr->size > 0 && fp) {
		long pos = ftell(fp);
		if (pos >= 0)
			snprintf(pct, sizeof pct, ", %3.0f%%", 100.0 * (double)pos / (double)pr->size);
	}
	fprintf(stderr, "\r%s: %llu packets, %.0f pkt/s%s%s", name,
		(unsigned long long)pr->frames,
		(double)pr->frames / (t - pr->start > 1e-3 ? t - pr->start : 1e-3), pct,
		final ? "\n" : "");
}

static int
set_filter(pcap_t *p, const char *name, const char *expr)
{
	struct bpf_program prog;

	if (!expr)
		return 0;
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		log_err("%s: filter '%s': %s", name, expr, pcap_geterr(p));
		return -1;
	}
	if (pcap_setfilter(p, &prog) < 0) {
		log_err("%s: filter '%s': %s", name, expr, pcap_geterr(p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

static uint64_t
ts_of(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
}

/* Reads one file; 0 at its end, -1 when it could not be read to it. */
static int
read_file(const char *name, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
	  struct capture_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct progress pr = { 0 };
	struct stat sb;
	decode_fn dec;
	pcap_t *p;
	FILE *fp;
	int rc = 0, dlt;

	/* Our own FILE with a large buffer: libpcap's default stdio buffer
	 * costs a read(2) per few packets. */
	fp = strcmp(name, "-") == 0 ? stdin : fopen(name, "rb");
	if (!fp) {
		log_err("%s: %s", name, strerror(errno));
		return -1;
	}
	setvbuf(fp, NULL, _IOFBF, READ_BUFFER);
	p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!p) {
		log_err("%s: %s", name, err);
		if (fp != stdin)
			fclose(fp);
		return -1;
	}
	dlt = pcap_datalink(p);
	dec = decode_for_dlt(dlt);
	if (!dec) {
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
		fn(ctx, dec, data, h->caplen, ts_of(h));
		st->frames++;
		if ((++pr.frames % PROGRESS_EVERY) == 0 && o->progress)
			progress_show(&pr, p, name, 0);
	}
	if (o->progress)
		progress_show(&pr, p, name, 1);
	rc = *o->stop || rc != -1 ? 0 : -1;
	if (rc < 0 && (strstr(pcap_geterr(p), "truncated dump file") ||
		       strstr(pcap_geterr(p), "truncated pcapng dump file"))) {
		/* The writer stopped mid-record (a full disk, a killed
		 * tcpdump): everything before it is good and counted. */
		log_warn("%s: ends in an incomplete record after %llu packets: %s", name,
			 (unsigned long long)pr.frames, pcap_geterr(p));
		rc = 0;
	} else if (rc < 0) {
		log_err("%s: damaged after %llu packets: %s", name,
			(unsigned long long)pr.frames, pcap_geterr(p));
	}
	pcap_close(p);
	return rc;
}

int
capture_files(const char *list, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
	      struct capture_stats *st)
{
	char *copy = strdup(list), *save = NULL, *name;
	int rc = 0;

	if (!copy)
		return -1;
	for (name = strtok_r(copy, ",", &save); name && !*o->stop; name = strtok_r(NULL, ",", &save)) {
		if (read_file(name, o, fn, ctx, st) < 0) {
			st->files_failed++;
			rc = -1;
		}
	}
	free(copy);
	return rc;
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

	c->fn(c->ctx, c->dec, data, h->caplen, ts_of(h));
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
