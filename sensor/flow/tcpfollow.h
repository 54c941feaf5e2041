/*
 * tcpfollow.h — the one TCP stream follower: where a segment falls in
 * one direction's byte stream, by sequence number (RFC 9293 3.4: compared
 * modulo 2^32, so a stream may wrap). The SMTP parser, the P2P
 * collector's PEX reader and the MSE detector all place their segments
 * with it, so retransmissions, overlaps and gaps are judged once.
 *
 * A follower holds the sequence number of the next byte it expects. A
 * segment of len bytes at seq is
 *   TCPF_NEW   at or before that byte and reaching past it: its first
 *              *n bytes were seen before and are skipped (a retransmission
 *              that overlaps; when they differ from the first copy, the
 *              first copy wins, as it does for most receivers), the rest
 *              is new;
 *   TCPF_OLD   wholly before it: a retransmission, or a copy the mirror
 *              shows twice;
 *   TCPF_GAP   after it: *n bytes between were not seen (reordering on
 *              the mirror, or loss);
 *   TCPF_JUMP  further from it than the caller's jump limit, either way:
 *              not a hole but a stream picked up elsewhere.
 * What a gap means (wait, give the bytes up, stop following) is the
 * caller's policy; tcpfollow_took moves the follower past what the
 * caller has read or given up.
 *
 * Pure: no allocation, 4 bytes of state per direction.
 */
#ifndef SPANWATCH_TCPFOLLOW_H
#define SPANWATCH_TCPFOLLOW_H

#include <stdint.h>

enum tcpfollow_place { TCPF_NEW, TCPF_OLD, TCPF_GAP, TCPF_JUMP };

/* A jump limit of none: every segment before the next byte is old, every
 * one after it a gap (half the sequence space either way). */
#define TCPF_NO_JUMP 0u

struct tcpfollow {
	uint32_t next;		/* sequence number of the next byte expected */
};

/* The stream's next byte is at seq (its first payload byte, or where the
 * caller picks it up again). */
void tcpfollow_start(struct tcpfollow *f, uint32_t seq);

/* Places the len bytes at seq; jump is the largest distance from the
 * next byte (either way) that still counts as old or as a gap, or
 * TCPF_NO_JUMP. *n: for TCPF_NEW the bytes to skip, for TCPF_GAP the
 * bytes missing, otherwise 0. */
enum tcpfollow_place tcpfollow_place(const struct tcpfollow *f, uint32_t seq, uint32_t len,
				     uint32_t jump, uint32_t *n);

/* The bytes up to seq + len have been read (or given up): the next byte
 * moves there, unless it is already past. */
void tcpfollow_took(struct tcpfollow *f, uint32_t seq, uint32_t len);

/* The stream offset of seq from base (a stream's first byte); negative
 * when seq is before it. */
static inline int64_t
tcpfollow_offset(uint32_t base, uint32_t seq)
{
	return (int32_t)(seq - base);
}

#endif
