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

/* Frees what bigmem_calloc(n, size) returned; NULL is fine. */
void bigmem_free(void *p, size_t n, size_t size);

#endif
