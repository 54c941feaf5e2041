/*
 * bigmem.c — anonymous mappings with MADV_HUGEPAGE (the machine's THP
 * mode is usually "madvise", so plain calloc never gets huge pages).
 */
#include "bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

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
