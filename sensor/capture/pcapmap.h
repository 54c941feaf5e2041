/*
 * pcapmap.h — classic pcap files read through a mapping of the file.
 *
 * libpcap reads a file through stdio: read(2) copies the file into a
 * buffer and fread copies each record out of it, which is most of what a
 * bare libpcap read loop costs. Here the file is mapped and each frame is
 * handed where it lies in the mapping: no copy, and the lines ahead of the
 * reader are prefetched, since a record's position depends on the length
 * of the one before and the processor cannot guess it.
 *
 * Only what libpcap itself would read the same way is taken: a regular
 * file with the classic magic (microseconds or nanoseconds, either byte
 * order) and version 2.4. Everything else (pcapng, stdin, a pipe, the
 * older and the modified formats) is libpcap's. The records are walked
 * with libpcap 1.10's rules (sf-pcap.c) and its words for damage, so a
 * file reads alike either way: a record longer than the snapshot length
 * is cut to it, one longer than any link's maximum is damage, a file
 * that stops inside a record is "truncated dump file".
 */
#ifndef SPANWATCH_PCAPMAP_H
#define SPANWATCH_PCAPMAP_H

#include <pcap/pcap.h>
#include <stdint.h>

struct pcapmap;

/* Maps name if it is such a file; NULL when it is not or cannot be
 * mapped (the caller reads it with libpcap, which says what is wrong
 * with it, if anything). snapshot is libpcap's for the file
 * (pcap_snapshot: the header's, or the maximum when that is 0 or too
 * large), max_caplen the link's largest record. */
struct pcapmap *pcapmap_open(const char *name, uint32_t snapshot, uint32_t max_caplen);

/* The next record: 1 with *h (times in microseconds, as libpcap's
 * MICRO precision gives them) and *data, which stays valid until
 * pcapmap_close; 0 at the end of the file; -1 when the file is damaged
 * or truncated there, with libpcap's message in err. */
int pcapmap_next(struct pcapmap *, struct pcap_pkthdr *h, const uint8_t **data, char *err,
		 size_t errlen);

/* Bytes of the file read so far (for a progress line). */
uint64_t pcapmap_pos(const struct pcapmap *);

/* Frames from off on are still in use (by threads behind the reader):
 * what lies there is not let go, so that they need not fault it in
 * again. Only a matter of speed: a page let go is read again when
 * touched. Starts at UINT64_MAX (the reader alone counts). */
void pcapmap_hold(struct pcapmap *, uint64_t off);

/* Unmaps: every data pointer handed out is gone. NULL is fine. */
void pcapmap_close(struct pcapmap *);

#endif
