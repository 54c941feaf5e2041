/*
 * pcapmap.c — classic pcap files through a mapping (see pcapmap.h). The
 * format is libpcap's savefile (pcap-savefile(5)): a 24-byte file header,
 * then records of a 16-byte header and caplen bytes of frame.
 *
 * The mapping is populated a window ahead of the reader (one
 * MADV_POPULATE_READ per window rather than a page fault per 64 KiB) and
 * let go a window behind it (MADV_DONTNEED), so that a file of any size
 * costs a few windows of page tables and of resident set, never the file.
 * Letting go is safe for frames still in use behind the reader (a
 * worker's queue keeps a few; walking workers, a few chunks): the
 * mapping is private, read-only and never written, so a page let go is
 * read again from the page cache, the same bytes, when it is touched;
 * pcapmap_hold keeps what they will touch from being let go at all.
 */
#include "pcapmap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14; older kernels refuse it, harmlessly */
#endif

#define FILE_HDR 24
#define REC_HDR 16
/* Populated ahead of the reader and kept behind it. */
#define WINDOW ((uint64_t)4 << 20)
/*
 * The records up to this many ahead of the reader are asked into all
 * cache levels: their headers and first lines, where decoding reads. A
 * scout walks the records' chain that far ahead, one record a call,
 * reading each record's header a call after it asked for it. The rest of
 * a frame is read only for the few packets of a flow that nDPI and the
 * collectors look into. Asking for every line of the file instead (the
 * bench's frames average 850 bytes: four times the lines) kept the
 * core's fill buffers busy: one thread took 1.98 s over make bench's
 * capture with it, 1.80 s with the scout. Where a thread does little
 * more than walk (threads = 2), the scout's own read of the next header
 * is where it waits.
 */
#define AHEAD_RECS 8
#define HEAD_LINES 3
#define LINE 64

/* One mapped file and the reader's place in it. */
struct pcapmap {
	const uint8_t *m;
	uint64_t size;
	int swapped, nano;
	uint64_t populated;		/* [0, populated) was asked in */
	uint64_t released;		/* [0, released) was let go */
	uint64_t hold;			/* pcapmap_hold's */
	uint64_t off;
	uint64_t next_slide;		/* off at which to look at the windows */
	uint64_t scout;			/* a record header ahead of off, asked in */
	unsigned nscout;		/* records from off to scout */
	uint32_t snapshot, max_caplen;
};

static uint32_t
get32(const uint8_t *p, int swapped)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

struct pcapmap *
pcapmap_open(const char *name, uint32_t snapshot, uint32_t max_caplen)
{
	static const struct {
		uint32_t magic;
		int swapped, nano;
	} magics[] = {
		{ 0xa1b2c3d4, 0, 0 }, { 0xd4c3b2a1, 1, 0 },
		{ 0xa1b23c4d, 0, 1 }, { 0x4d3cb2a1, 1, 1 },
	};
	uint8_t hdr[FILE_HDR];
	struct pcapmap *pm;
	struct stat sb;
	uint32_t magic;
	uint16_t major, minor;
	size_t i;
	void *m;
	int fd;

	/* Not even opened unless regular: opening a FIFO would take a
	 * writer's data, or its only reader, from the libpcap that reads it. */
	if (stat(name, &sb) < 0 || !S_ISREG(sb.st_mode))
		return NULL;
	if ((fd = open(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size < FILE_HDR ||
	    pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr) {
		close(fd);
		return NULL;
	}
	memcpy(&magic, hdr, 4);
	for (i = 0; i < sizeof magics / sizeof magics[0] && magics[i].magic != magic; i++)
		;
	if (i == sizeof magics / sizeof magics[0]) {
		close(fd);
		return NULL;
	}
	/* Version 2.4 only (major and minor: two 16-bit fields in the file's
	 * order): libpcap reads 2.2 and 2.3 with caplen and len swapped
	 * where they look so. */
	memcpy(&major, hdr + 4, 2);
	memcpy(&minor, hdr + 6, 2);
	if (magics[i].swapped) {
		major = __builtin_bswap16(major);
		minor = __builtin_bswap16(minor);
	}
	if (major != 2 || minor != 4) {
		close(fd);
		return NULL;
	}
	m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	if ((pm = calloc(1, sizeof *pm)) == NULL) {
		munmap(m, (size_t)sb.st_size);
		return NULL;
	}
	(void)madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
	pm->m = m;
	pm->size = (uint64_t)sb.st_size;
	pm->swapped = magics[i].swapped;
	pm->nano = magics[i].nano;
	pm->off = pm->scout = FILE_HDR;
	pm->hold = UINT64_MAX;
	pm->snapshot = snapshot;
	pm->max_caplen = max_caplen;
	return pm;
}

void
pcapmap_hold(struct pcapmap *pm, uint64_t off)
{
	pm->hold = off;
}

/* Keeps the windows around the reader: the next one asked in before it
 * reaches it, the one behind it (and behind the hold) let go once the
 * reader is a whole window past it (two windows kept behind cost 4 MiB
 * of resident memory for nothing: what is still in use behind the reader
 * is held, and a page let go too early is only read again). Looked at
 * once a window's eighth. */
static void
slide(struct pcapmap *pm)
{
	uint8_t *base = (uint8_t *)(uintptr_t)pm->m;
	uint64_t low = pm->off < pm->hold ? pm->off : pm->hold;

	pm->next_slide = pm->off + WINDOW / 8;
	if (pm->off + WINDOW / 2 >= pm->populated && pm->populated < pm->size) {
		uint64_t len = pm->size - pm->populated < WINDOW ? pm->size - pm->populated : WINDOW;

		(void)madvise(base + pm->populated, (size_t)len, MADV_POPULATE_READ);
		pm->populated += len;
	}
	if (low >= pm->released + WINDOW) {
		(void)madvise(base + pm->released, (size_t)WINDOW, MADV_DONTNEED);
		pm->released += WINDOW;
	}
}

/* The scout a record further ahead, while it is fewer than AHEAD_RECS
 * ahead of the reader: the header it is at (asked in a call ago) read,
 * and the next record's first lines asked in. It stops at the end of the
 * file, or at a record the reader will refuse (and say why). */
static void
scout(struct pcapmap *pm)
{
	while (pm->nscout < AHEAD_RECS && pm->size - pm->scout >= REC_HDR) {
		uint32_t caplen = get32(pm->m + pm->scout + 8, pm->swapped);
		const uint8_t *next;

		if (caplen > pm->max_caplen || pm->size - pm->scout - REC_HDR < caplen)
			break;
		pm->scout += REC_HDR + (uint64_t)caplen;
		pm->nscout++;
		next = pm->m + pm->scout;
		for (unsigned i = 0; i < HEAD_LINES; i++)
			__builtin_prefetch(next + i * LINE, 0, 3);
	}
}

int
pcapmap_next(struct pcapmap *pm, struct pcap_pkthdr *h, const uint8_t **data, char *err,
	     size_t errlen)
{
	uint64_t left = pm->size - pm->off;
	const uint8_t *r = pm->m + pm->off;
	uint32_t sec, frac, caplen, len, want;

	if (left == 0)
		return 0;
	if (left < REC_HDR) {
		snprintf(err, errlen, "truncated dump file; tried to read %d header bytes, only got %zu",
			 REC_HDR, (size_t)left);
		return -1;
	}
	if (pm->off >= pm->next_slide)
		slide(pm);
	scout(pm);

	sec = get32(r, pm->swapped);
	frac = get32(r + 4, pm->swapped);
	caplen = get32(r + 8, pm->swapped);
	len = get32(r + 12, pm->swapped);
	/* libpcap's fields are signed 32-bit numbers, widened as such. */
	h->ts.tv_sec = (time_t)(int32_t)sec;
	h->ts.tv_usec = pm->nano ? (suseconds_t)((int32_t)frac / 1000) : (suseconds_t)(int32_t)frac;
	h->len = len;
	if (caplen > pm->max_caplen) {
		if (caplen > pm->snapshot)
			snprintf(err, errlen, "invalid packet capture length %u, bigger than snaplen of %u",
				 caplen, pm->snapshot);
		else
			snprintf(err, errlen, "invalid packet capture length %u, bigger than maximum of %u",
				 caplen, pm->max_caplen);
		return -1;
	}
	left -= REC_HDR;
	if (left < caplen) {
		/* A record longer than the snapshot length is read to that
		 * length first, then skipped to its end: libpcap names the
		 * read that came short. */
		want = caplen > pm->snapshot && left < pm->snapshot ? pm->snapshot : caplen;
		snprintf(err, errlen, "truncated dump file; tried to read %u captured bytes, only got %zu",
			 want, (size_t)left);
		return -1;
	}
	/* libpcap keeps the first snapshot bytes and skips the rest. */
	h->caplen = caplen > pm->snapshot ? pm->snapshot : caplen;
	*data = r + REC_HDR;
	pm->off += REC_HDR + (uint64_t)caplen;
	if (pm->nscout > 0)
		pm->nscout--;
	else
		pm->scout = pm->off;	/* it had stopped here */
	return 1;
}

uint64_t
pcapmap_pos(const struct pcapmap *pm)
{
	return pm->off;
}

void
pcapmap_close(struct pcapmap *pm)
{
	if (!pm)
		return;
	munmap((void *)(uintptr_t)pm->m, (size_t)pm->size);
	free(pm);
}
