/*
 * frag.h — remembers, for a short while, the ports of each fragmented
 * datagram's first fragment, so that later fragments (which carry no
 * transport header) count to the same flow. A fixed-size table; an entry
 * is overwritten by a newer datagram that hashes to its slot.
 */
#ifndef SPANWATCH_FRAG_H
#define SPANWATCH_FRAG_H

#include "pkt.h"

struct frag_table;

/* Returns a table of 2^bits slots, or NULL when out of memory. */
struct frag_table *frag_new(unsigned bits);
void frag_free(struct frag_table *);

/* Records the ports of p, the first fragment of a datagram. */
void frag_note_first(struct frag_table *, const struct pkt *p);

/* Fills p's ports from its datagram's first fragment: 0 when known,
 * -1 when the first fragment was not seen (lost, late, or expired). */
int frag_fill_ports(struct frag_table *, struct pkt *p);

#endif
