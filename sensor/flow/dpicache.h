/*
 * dpicache.h — nDPI 4.2's caches of far endpoints (BitTorrent peers, STUN
 * and Zoom servers, TLS certificates, Ookla, mining pools, Teams), which
 * label one flow by what another flow showed. nDPI makes them on first use
 * inside its module; here they are made at start, so that every module
 * has them at the same sizes, and several modules (worker threads) can
 * use one set: what one subscriber's flow showed labels another's flow on
 * another worker as it would with one thread.
 */
#ifndef SPANWATCH_DPICACHE_H
#define SPANWATCH_DPICACHE_H

struct ndpi_detection_module_struct;

/* Makes n's caches not made yet (after ndpi_finalize_initialization).
 * Returns 0, or -1 (logged) when out of memory. */
int dpicache_make(struct ndpi_detection_module_struct *n);

/* n uses owner's caches from now on (its own are freed). nDPI 4.2 reads
 * and writes their 8-byte entries without locks: a torn entry can at
 * worst mislabel one flow. Returns 0, or -1 (logged). */
int dpicache_share(struct ndpi_detection_module_struct *n,
		   struct ndpi_detection_module_struct *owner);

/* Before ndpi_exit_detection_module(n) of a module that shares: the
 * owner frees the caches, later. */
void dpicache_unshare(struct ndpi_detection_module_struct *n);

#endif
