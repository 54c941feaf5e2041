/*
 * capture.h — where frames come from: capture files in order (pcap or
 * pcapng, '-' for stdin) or a live interface. Hands each frame with its
 * link decoder to a callback; knows nothing of what happens next.
 */
#ifndef SPANWATCH_CAPTURE_H
#define SPANWATCH_CAPTURE_H

#include <signal.h>
#include <stdint.h>

#include "decode.h"

typedef void (*capture_frame_fn)(void *ctx, decode_fn fn, const uint8_t *data,
				 uint32_t caplen, uint64_t ts_us);

struct capture_stats {
	uint64_t frames;
	uint64_t files_failed;		/* files that could not be read to their end */
	uint64_t kernel_drops, if_drops;	/* live: totals since the capture opened */
};

struct capture_opts {
	const char *filter;		/* BPF expression or NULL */
	int progress;			/* print a progress line (a terminal) */
	volatile sig_atomic_t *stop;	/* set by a signal: stop reading */
	/* live capture */
	int snaplen, promisc, buffer_mb;
	/* > 0: join this AF_PACKET fanout group in flow-hash mode (both
	 * directions of a flow reach the same member); 0: no fanout. */
	int fanout_group;
	/* Live: called between batches, at least every 100 ms, with the wall
	 * clock and fresh drop counters; the place for timers and signals. */
	void (*tick)(void *ctx, uint64_t now_us, const struct capture_stats *st);
};

/* Reads every file of the comma-separated list in order, calling fn per
 * frame. Returns 0 when all were read to their end, -1 when any could
 * not be opened, has an unsupported link type, or is damaged (each
 * reported once, naming the file); what was read before is kept. */
int capture_files(const char *list, const struct capture_opts *, capture_frame_fn fn,
		  void *ctx, struct capture_stats *st);

struct capture;

/* Opens iface for live capture (snap length, kernel buffer, promiscuous
 * mode, 100 ms timeout, TPACKET_V3 as libpcap does on Linux, the fanout
 * group if asked, the BPF filter). Needs the privileges; drop them after. NULL when it fails
 * (logged). */
struct capture *capture_open_live(const char *iface, const struct capture_opts *);

/* Captures until *opts->stop, calling fn per frame and opts->tick between
 * batches. Returns 0, or -1 when the capture failed (logged). */
int capture_run(struct capture *, const struct capture_opts *, capture_frame_fn fn,
		void *ctx, struct capture_stats *st);

void capture_close(struct capture *);

#endif
