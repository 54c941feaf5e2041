/*
 * bigmem.h — large zeroed tables (flow pool, hash buckets, per-flow
 * indexes) mapped so that the kernel may back them with transparent huge
 * pages: a packet's lookup then costs cache misses, not TLB misses too.
 * Pages never touched cost no memory, as with calloc.
 */
#ifndef SPANWATCH_BIGMEM_H
#define SPANWATCH_BIGMEM_H

#include <stddef.h>

/* Returns n * size zeroed bytes, or NULL. */
void *bigmem_calloc(size_t n, size_t size);

/* Returns n * size zeroed bytes, every page resident and writable
 * already, or NULL. For a table that is read before it is written where
 * it is used: its first read of an untouched page would map the shared
 * zero page, and the write after it copy that page and, with several
 * threads running, stop every other core to flush its TLB (an
 * interprocessor interrupt a page, on both cores' time). */
void *bigmem_resident(size_t n, size_t size);

/* Frees what bigmem_calloc(n, size) or bigmem_resident(n, size)
 * returned; NULL is fine. */
void bigmem_free(void *p, size_t n, size_t size);

#endif
