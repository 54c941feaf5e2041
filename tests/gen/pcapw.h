/*
 * pcapw.h — the capture file the generator writes, through libpcap's
 * dumper (DLT_EN10MB, microsecond timestamps) on a large stdio buffer,
 * with running totals of what was written.
 */
#ifndef SPANWATCH_GEN_PCAPW_H
#define SPANWATCH_GEN_PCAPW_H

#include <stddef.h>
#include <stdint.h>

struct pcapw;

/* path "-" is stdout; snaplen 0 keeps whole frames. NULL on error (logged). */
struct pcapw *pcapw_open(const char *path, unsigned snaplen);
void pcapw_write(struct pcapw *w, uint64_t ts_us, const uint8_t *frame, size_t len);
/* 0, or -1 if a write failed (logged) */
int pcapw_close(struct pcapw *w);
uint64_t pcapw_packets(const struct pcapw *w);
uint64_t pcapw_frame_bytes(const struct pcapw *w);

#endif
