/*
 * capture.c — libpcap sources. Files are opened with microsecond
 * timestamps (pcapng's nanoseconds are scaled by libpcap), so packet time
 * has one unit everywhere.
 */
#include "capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Frames between two looks at the clock for the progress line. */
#define PROGRESS_EVERY 65536

struct progress {
	double start, last;
	off_t size;
	uint64_t frames;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
progress_show(struct progress *pr, pcap_t *p, const char *name, int final)
{
	double t = now_s();
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
	int rc = 0, dlt;

	p = pcap_open_offline_with_tstamp_precision(name, PCAP_TSTAMP_PRECISION_MICRO, err);
	if (!p) {
		log_err("%s: %s", name, err);
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
	pr.start = pr.last = now_s();

	while (!*o->stop && (rc = pcap_next_ex(p, &h, &data)) == 1) {
		fn(ctx, dec, data, h->caplen, ts_of(h));
		st->frames++;
		if ((++pr.frames % PROGRESS_EVERY) == 0 && o->progress)
			progress_show(&pr, p, name, 0);
	}
	if (o->progress)
		progress_show(&pr, p, name, 1);
	rc = *o->stop || rc != -1 ? 0 : -1;
	if (rc < 0 && strstr(pcap_geterr(p), "truncated dump file")) {
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

struct live_ctx {
	capture_frame_fn fn;
	void *ctx;
	decode_fn dec;
	struct capture_stats *st;
};

static void
live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_ctx *lc = (struct live_ctx *)(void *)user;

	lc->fn(lc->ctx, lc->dec, data, h->caplen, ts_of(h));
	lc->st->frames++;
}

int
capture_live(const char *iface, const struct capture_opts *o, capture_frame_fn fn, void *ctx,
	     struct capture_stats *st)
{
	char err[PCAP_ERRBUF_SIZE];
	struct live_ctx lc = { fn, ctx, NULL, st };
	struct pcap_stat ps;
	pcap_t *p;
	int rc = 0, dlt;

	p = pcap_create(iface, err);
	if (!p) {
		log_err("%s: %s", iface, err);
		return -1;
	}
	pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : 65535);
	pcap_set_promisc(p, o->promisc);
	pcap_set_timeout(p, 100);
	if (o->buffer_mb > 0)
		pcap_set_buffer_size(p, o->buffer_mb * 1024 * 1024);
	if ((rc = pcap_activate(p)) < 0) {
		log_err("%s: %s", iface, rc == PCAP_ERROR ? pcap_geterr(p) : pcap_statustostr(rc));
		pcap_close(p);
		return -1;
	}
	dlt = pcap_datalink(p);
	if ((lc.dec = decode_for_dlt(dlt)) == NULL) {
		log_err("%s: link type %d is not supported", iface, dlt);
		pcap_close(p);
		return -1;
	}
	if (set_filter(p, iface, o->filter) < 0) {
		pcap_close(p);
		return -1;
	}
	rc = 0;
	while (!*o->stop) {
		if (pcap_dispatch(p, -1, live_cb, (u_char *)&lc) < 0) {
			log_err("%s: %s", iface, pcap_geterr(p));
			rc = -1;
			break;
		}
	}
	if (pcap_stats(p, &ps) == 0) {
		st->kernel_drops = ps.ps_drop;
		st->if_drops = ps.ps_ifdrop;
	}
	pcap_close(p);
	return rc;
}
