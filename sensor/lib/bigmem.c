/*
 * bigmem.c — anonymous mappings with MADV_HUGEPAGE (the machine's THP
 * mode is usually "madvise", so plain calloc never gets huge pages).
 *
 * A huge page backs only a 2 MiB-aligned 2 MiB of a mapping, so a table
 * of a quarter of that or more is mapped aligned and in whole huge pages:
 * a table of 480 KiB (a counter row for each of 20,000 subscribers) read
 * at random otherwise costs a TLB miss, and in a virtual machine a
 * two-level page walk, on most packets, which no prefetch hides. The
 * rounding costs at most 2 MiB a table, and only once it is touched.
 */
#include "bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define HUGE ((size_t)2 << 20)
#define HUGE_MIN (HUGE / 8)

/* How much bigmem_calloc(n, size) maps: len itself, or whole huge pages. */
static size_t
map_len(size_t len)
{
	return len < HUGE_MIN ? len : (len + HUGE - 1) / HUGE * HUGE;
}

void *
bigmem_calloc(size_t n, size_t size)
{
	size_t len, ml;
	uint8_t *p, *a;

	if (size && n > SIZE_MAX / size)
		return NULL;
	len = n * size;
	if (len == 0 || len > SIZE_MAX - 2 * HUGE)
		return NULL;
	ml = map_len(len);
	if (ml == len) {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	/* A huge page more than asked, then the unaligned head and the
	 * tail given back. */
	p = mmap(NULL, ml + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + ml < p + ml + HUGE)
		munmap(a + ml, (size_t)(p + ml + HUGE - (a + ml)));
	/* Advice only: without THP the table still works. */
	(void)madvise(a, ml, MADV_HUGEPAGE);
	return a;
}

void
bigmem_free(void *p, size_t n, size_t size)
{
	if (p)
		munmap(p, map_len(n * size));
}
