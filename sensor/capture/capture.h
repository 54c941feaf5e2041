/*
 * capture.h — where frames come from: capture files in order (pcap or
 * pcapng, '-' for stdin) or a live interface. Hands each frame with its
 * link decoder to a callback; knows nothing of what happens next.
 */
#ifndef SPANWATCH_CAPTURE_H
#define SPANWATCH_CAPTURE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "decode.h"

/* One frame: caplen bytes captured of wirelen on the wire (pcap's len).
 * Without CAPTURE_F_MAPPED in flags, data is good only during the call. */
typedef void (*capture_frame_fn)(void *ctx, decode_fn fn, const uint8_t *data,
				 uint32_t caplen, uint32_t wirelen, uint64_t ts_us,
				 unsigned flags);

/* The frame lies in a mapping of the file, where it stays until
 * capture_opts.release is called (classic pcap files: pcapmap.h). */
#define CAPTURE_F_MAPPED 1u

/* Files: a record whose time cannot be true is still counted, at the
 * running clock, never moving it. Such a time is one beyond 2106 (more
 * than a pcap file's unsigned 32-bit seconds, an RRD or an ISO 8601 year
 * can hold) or one more than CAPTURE_TIME_JUMP away from both the record
 * before it and the record after it (a lone record years off among its
 * neighbours; a capture that resumes days later moves on with it). */
#define CAPTURE_TIME_JUMP_S 86400
/* The latest time a record may have: a pcap file's ts_sec is an unsigned
 * 32-bit count (2106-02-07), within what an RRD and a four-digit ISO 8601
 * year hold. */
#define CAPTURE_TIME_MAX_S 0xffffffffULL

struct capture_stats {
	uint64_t frames;
	uint64_t files_failed;		/* files that could not be read to their end */
	uint64_t kernel_drops, if_drops;	/* live: totals since the capture opened */
	uint64_t odd_times;		/* files: records counted at the running clock */
	uint64_t clock_us;		/* files: time of the last record taken as true,
					 * 0 before the first; carried from file to file */
};

struct capture_opts {
	const char *filter;		/* BPF expression or NULL */
	int progress;			/* print a progress line (a terminal) */
	/* Files: say nothing of the files' damage and odd times (another
	 * reader of the same files says it); the return codes are the same. */
	int quiet;
	/* Files: called with the callback's ctx before the frames handed with
	 * CAPTURE_F_MAPPED go (at the end of each mapped file). */
	void (*release)(void *ctx);
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
 * reported once, naming the file); what was read before is kept. A file
 * whose packets start before the previous file's last packet is read and
 * named in a warning; so is the first record whose time cannot be true
 * (see CAPTURE_TIME_JUMP_S), with the count of them at the file's end.
 * Reads retry when a signal interrupts them, so that SIGHUP never ends a
 * replay from a pipe. Classic pcap files are read through a mapping
 * (pcapmap.h), their frames handed with CAPTURE_F_MAPPED. */
int capture_files(const char *list, const struct capture_opts *, capture_frame_fn fn,
		  void *ctx, struct capture_stats *st);

/* capture_files with a handle, for a reader whose callback must know
 * where in the mapped file it is (the walking worker: capture_cursor_pos
 * and capture_cursor_hold below): capture_cursor_run reads every file
 * (or until *stop); capture_cursor_free returns what capture_files would
 * have (0, or -1). A cursor is used by one thread. */
struct capture_cursor;
struct capture_cursor *capture_cursor_new(const char *list, const struct capture_opts *,
					  capture_frame_fn fn, void *ctx, struct capture_stats *st);
void capture_cursor_run(struct capture_cursor *);
int capture_cursor_free(struct capture_cursor *);

/* Where the cursor is in the mapped file it reads (0: none), and the
 * offset below which frames may still be in use by someone (pcapmap_hold). */
uint64_t capture_cursor_pos(const struct capture_cursor *);
void capture_cursor_hold(struct capture_cursor *, uint64_t off);

/* 1 when every file of the list is one that capture_files maps (a
 * regular classic pcap file), so that a frame handed out stays valid
 * until the file's release; 0 otherwise (stdin, pcapng, a file missing). */
int capture_files_mappable(const char *list);

/* Reads one capture file from fp as capture_files reads each file of its
 * list, name standing for it in messages; st carries the clock from the
 * file before. Closes fp. Returns 0 or -1 (logged). */
int capture_stream(FILE *fp, const char *name, const struct capture_opts *, capture_frame_fn fn,
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
