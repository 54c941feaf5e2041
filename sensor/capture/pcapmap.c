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
 * worker's queue keeps a few): the mapping is private, read-only and
 * never written, so a page let go is read again from the page cache, the
 * same bytes, when it is touched.
 *
 * Several readers of one list (pcapmap_group: worker threads that each
 * read every file) share each file's mapping: it is populated once,
 * ahead of the fastest, and let go behind the slowest, so that the
 * kernel's work on page tables is done once, not once per reader.
 */
#include "pcapmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14; older kernels refuse it, harmlessly */
#endif

#define FILE_HDR 24
#define REC_HDR 16
/* Populated ahead of the reader and kept behind it. */
#define WINDOW ((uint64_t)4 << 20)
/* The fastest of several readers keeps within this of the slowest,
 * waiting at most GAP_WAITS times 0.2 ms each time it looks. */
#define GAP (8 * WINDOW)
#define GAP_WAITS 500
/* Every line up to this far ahead of the reader is prefetched. */
#define AHEAD 4096
#define LINE 64

/* One mapped file, shared by the readers of a group (or one reader's). */
struct pmfile {
	const uint8_t *m;
	uint64_t size;
	_Atomic uint64_t populated;	/* [0, populated) was asked in */
	_Atomic uint64_t released;	/* [0, released) was let go */
	_Atomic uint64_t *at;		/* by reader: where it is; 0 before it
					 * starts, UINT64_MAX once done */
	unsigned readers, refs, opened;	/* under the group's lock */
	unsigned index;			/* in the group's list */
	int swapped, nano;
	struct pmfile *next;
};

struct pcapmap_group {
	pthread_mutex_t mu;
	unsigned readers;
	struct pmfile *files;		/* mapped now */
};

/* One reader's place in a file. */
struct pcapmap {
	struct pmfile *f;
	struct pcapmap_group *g;	/* NULL: the file is this reader's */
	unsigned reader;
	uint64_t off;
	uint64_t next_slide;		/* off at which to look at the windows */
	uint64_t prefetched;		/* the lines below it were prefetched */
	uint32_t snapshot, max_caplen;
};

static uint32_t
get32(const uint8_t *p, int swapped)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

/* Maps name if it is a classic pcap file for a file of readers readers.
 * NULL when it is not, or cannot be mapped. */
static struct pmfile *
pmfile_open(const char *name, unsigned readers)
{
	static const struct {
		uint32_t magic;
		int swapped, nano;
	} magics[] = {
		{ 0xa1b2c3d4, 0, 0 }, { 0xd4c3b2a1, 1, 0 },
		{ 0xa1b23c4d, 0, 1 }, { 0x4d3cb2a1, 1, 1 },
	};
	uint8_t hdr[FILE_HDR];
	struct pmfile *f;
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
	if ((f = calloc(1, sizeof *f)) == NULL || (f->at = calloc(readers, sizeof *f->at)) == NULL) {
		free(f);
		munmap(m, (size_t)sb.st_size);
		return NULL;
	}
	(void)madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
	f->m = m;
	f->size = (uint64_t)sb.st_size;
	f->readers = readers;
	f->swapped = magics[i].swapped;
	f->nano = magics[i].nano;
	return f;
}

static void
pmfile_free(struct pmfile *f)
{
	munmap((void *)(uintptr_t)f->m, (size_t)f->size);
	free(f->at);
	free(f);
}

static struct pcapmap *
reader_new(struct pmfile *f, struct pcapmap_group *g, unsigned reader, uint32_t snapshot,
	   uint32_t max_caplen)
{
	struct pcapmap *pm = calloc(1, sizeof *pm);

	if (!pm)
		return NULL;
	pm->f = f;
	pm->g = g;
	pm->reader = reader;
	pm->off = pm->prefetched = FILE_HDR;
	pm->snapshot = snapshot;
	pm->max_caplen = max_caplen;
	return pm;
}

struct pcapmap *
pcapmap_open(const char *name, uint32_t snapshot, uint32_t max_caplen)
{
	struct pmfile *f = pmfile_open(name, 1);
	struct pcapmap *pm = f ? reader_new(f, NULL, 0, snapshot, max_caplen) : NULL;

	if (f && !pm)
		pmfile_free(f);
	return pm;
}

struct pcapmap_group *
pcapmap_group_new(unsigned readers)
{
	struct pcapmap_group *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	pthread_mutex_init(&g->mu, NULL);
	g->readers = readers ? readers : 1;
	return g;
}

void
pcapmap_group_free(struct pcapmap_group *g)
{
	if (!g)
		return;
	while (g->files) {
		struct pmfile *f = g->files;

		g->files = f->next;
		pmfile_free(f);
	}
	pthread_mutex_destroy(&g->mu);
	free(g);
}

struct pcapmap *
pcapmap_open_shared(struct pcapmap_group *g, unsigned reader, unsigned index, const char *name,
		    uint32_t snapshot, uint32_t max_caplen)
{
	struct pcapmap *pm = NULL;
	struct pmfile *f;

	if (reader >= g->readers)
		return NULL;
	pthread_mutex_lock(&g->mu);
	for (f = g->files; f && f->index != index; f = f->next)
		;
	if (!f && (f = pmfile_open(name, g->readers)) != NULL) {
		f->index = index;
		f->next = g->files;
		g->files = f;
	}
	if (f && (pm = reader_new(f, g, reader, snapshot, max_caplen)) != NULL) {
		f->refs++;
		f->opened++;
	}
	pthread_mutex_unlock(&g->mu);
	return pm;
}

/* Where the slowest reader of f is. */
static uint64_t
slowest(struct pmfile *f)
{
	uint64_t low = UINT64_MAX;

	for (unsigned i = 0; i < f->readers; i++) {
		uint64_t a = atomic_load_explicit(&f->at[i], memory_order_relaxed);

		low = a < low ? a : low;
	}
	return low;
}

/* Keeps the windows around the readers: the next one asked in before
 * the fastest reaches it, the one two behind the slowest let go. Looked
 * at once a window's eighth. */
static void
slide(struct pcapmap *pm)
{
	struct pmfile *f = pm->f;
	uint8_t *base = (uint8_t *)(uintptr_t)f->m;
	uint64_t p = atomic_load_explicit(&f->populated, memory_order_relaxed);
	uint64_t r = atomic_load_explicit(&f->released, memory_order_relaxed);

	pm->next_slide = pm->off + WINDOW / 8;
	atomic_store_explicit(&f->at[pm->reader], pm->off, memory_order_relaxed);
	if (pm->off + WINDOW / 2 >= p && p < f->size) {
		uint64_t len = f->size - p < WINDOW ? f->size - p : WINDOW;

		if (atomic_compare_exchange_strong(&f->populated, &p, p + len))
			(void)madvise(base + p, (size_t)len, MADV_POPULATE_READ);
	}
	if (pm->off >= r + 2 * WINDOW && slowest(f) >= r + 2 * WINDOW &&
	    atomic_compare_exchange_strong(&f->released, &r, r + WINDOW))
		(void)madvise(base + r, (size_t)WINDOW, MADV_DONTNEED);
	/* What lies between the slowest and the fastest stays mapped (and in
	 * the resident set): the fastest waits a little for the others when
	 * it is too far ahead. A little: a reader that waits on another for
	 * its own reasons must not hold it. */
	for (unsigned tries = 0; f->readers > 1 && tries < GAP_WAITS && pm->off > slowest(f) + GAP;
	     tries++) {
		struct timespec ts = { 0, 200000 };

		nanosleep(&ts, NULL);
	}
}

int
pcapmap_next(struct pcapmap *pm, struct pcap_pkthdr *h, const uint8_t **data, char *err,
	     size_t errlen)
{
	const struct pmfile *f = pm->f;
	uint64_t left = f->size - pm->off, lim;
	const uint8_t *r = f->m + pm->off;
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
	lim = pm->off + AHEAD < f->size ? pm->off + AHEAD : f->size;
	for (; pm->prefetched < lim; pm->prefetched += LINE)
		__builtin_prefetch(f->m + pm->prefetched, 0, 0);

	sec = get32(r, f->swapped);
	frac = get32(r + 4, f->swapped);
	caplen = get32(r + 8, f->swapped);
	len = get32(r + 12, f->swapped);
	/* libpcap's fields are signed 32-bit numbers, widened as such. */
	h->ts.tv_sec = (time_t)(int32_t)sec;
	h->ts.tv_usec = f->nano ? (suseconds_t)((int32_t)frac / 1000) : (suseconds_t)(int32_t)frac;
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
	struct pcapmap_group *g;
	struct pmfile *f, **pp;

	if (!pm)
		return;
	f = pm->f;
	if ((g = pm->g) == NULL) {
		pmfile_free(f);
		free(pm);
		return;
	}
	atomic_store(&f->at[pm->reader], UINT64_MAX);
	pthread_mutex_lock(&g->mu);
	/* The last of all the readers unmaps it. */
	if (--f->refs == 0 && f->opened == f->readers) {
		for (pp = &g->files; *pp != f; pp = &(*pp)->next)
			;
		*pp = f->next;
		pmfile_free(f);
	}
	pthread_mutex_unlock(&g->mu);
	free(pm);
}
