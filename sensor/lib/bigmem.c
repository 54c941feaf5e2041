/*
 * bigmem.c — anonymous mappings with MADV_HUGEPAGE (the machine's THP
 * mode is usually "madvise", so plain calloc never gets huge pages).
 */
#include "bigmem.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif

void *
bigmem_calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	if (n * size == 0)
		return NULL;
	p = mmap(NULL, n * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Advice only: without THP the table still works. */
	(void)madvise(p, n * size, MADV_HUGEPAGE);
	return p;
}

void
bigmem_free(void *p, size_t n, size_t size)
{
	if (p)
		munmap(p, n * size);
}

void *
bigmem_resident(size_t n, size_t size)
{
	size_t len, page = (size_t)sysconf(_SC_PAGESIZE);
	volatile uint8_t *b;
	void *p;

	if ((size && n > SIZE_MAX / size) || n * size == 0)
		return NULL;
	len = n * size;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
		return p;
	/* An older kernel: a write to every page does the same. */
	b = p;
	for (size_t off = 0; off < len; off += page)
		b[off] = 0;
	return p;
}
