/*
 * ring.h — a single-producer, single-consumer ring of variable-length
 * records in one preallocated buffer (the capture thread hands decoded
 * packets to a worker through it: Suricata's autofp model). Lock-free on
 * the packet path: C11 acquire/release on two byte counters, published in
 * batches so that the counters' cache line crosses cores once per batch,
 * not once per packet. Either side that finds nothing to do (empty, full)
 * sleeps on a futex and the other wakes it, so an idle ring costs no CPU.
 *
 * Records are aligned to RING_ALIGN; one never wraps (the producer skips
 * the buffer's tail when a record does not fit there). No allocation after
 * ring_new.
 */
#ifndef SPANWATCH_RING_H
#define SPANWATCH_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_ALIGN 16

struct ring;

/* A ring of size bytes (a power of two, at least 64 KiB), or NULL when
 * out of memory. */
struct ring *ring_new(size_t size);
void ring_free(struct ring *);

/* Producer: room for a record of len bytes, contiguous, or NULL when the
 * ring has not that much free now. Nothing is visible to the consumer
 * before ring_commit. len is at most a quarter of the ring. */
void *ring_reserve(struct ring *, uint32_t len);

/* Producer: the record reserved last, of len bytes (at most what was
 * reserved), is complete. It becomes visible at the next ring_publish (or
 * by itself after a batch of records). */
void ring_commit(struct ring *, uint32_t len);

/* Producer: makes every committed record visible, and wakes a sleeping
 * consumer once an eighth of the ring is waiting for it. */
void ring_publish(struct ring *);

/* Producer: ring_publish, and wakes a sleeping consumer whatever there
 * is (the end of a live batch, an event that must not wait). */
void ring_flush(struct ring *);

/* Producer: waits until a record of len bytes fits (or timeout_ms has
 * passed); publishes first, so that the consumer has work. */
void ring_wait_room(struct ring *, uint32_t len, int timeout_ms);

/* Producer: publishes, then waits until the consumer has given back every
 * record (it has done them all). */
void ring_wait_empty(struct ring *);

/* Consumer: the next visible record and its length, or NULL when there
 * is none now. Records stay valid until ring_release. */
void *ring_peek(struct ring *, uint32_t *len);

/* Consumer: the record ring_peek returned is done; its bytes are
 * given back at the next ring_release (never before: a worker may still
 * hold pointers into the records it has consumed). */
void ring_next(struct ring *);

/* Consumer: gives back every record consumed so far (ring_next) and
 * wakes a producer waiting for room. Pointers to them are invalid after. */
void ring_release(struct ring *);

/* Consumer: waits until a record is visible (or timeout_ms has passed). */
void ring_wait_data(struct ring *, int timeout_ms);

#endif
