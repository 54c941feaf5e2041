/*
 * ring.c — the SPSC record ring (see ring.h).
 *
 * Each side owns one cache line of counters it writes (tail for the
 * producer, head for the consumer) and keeps a private copy of the other's
 * counter, reloaded only when the copy says the ring is full or empty: in
 * the steady state a batch of records costs one release store and, now
 * and then, one acquire load of the other line. Sleeping is a futex on a
 * wake counter with the Dekker pattern: the sleeper announces itself
 * (seq_cst), looks again, then waits; the other side publishes (seq_cst),
 * then looks for a sleeper. Either order sees the other.
 */
#include "ring.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A record's header: its length, or RING_SKIP for the unused tail of
 * the buffer before the producer went round. */
#define HDR 16
#define RING_SKIP UINT32_MAX
/* Records committed before they are published without being asked. */
#define PUBLISH_EVERY 32
/* Looks before a side sleeps: a few microseconds, less than a futex
 * round trip, and little wasted where cores are few. */
#define SPINS 128
/* A sleeping side is woken only once there is this share of the ring to
 * do (a flush wakes it whatever there is): a worker that keeps up with
 * the reader would otherwise sleep and be woken every batch, a futex
 * call and two context switches each, which cost the reader more than
 * the packets did. */
#define WAKE_SHARE 8

struct ring {
	alignas(64) _Atomic uint64_t tail;	/* published, by the producer */
	_Atomic uint32_t wake_c;		/* the consumer sleeps on this */
	atomic_int sleep_c;
	alignas(64) _Atomic uint64_t head;	/* released, by the consumer */
	_Atomic uint32_t wake_p;		/* the producer sleeps on this */
	atomic_int sleep_p;
	/* the producer's own */
	alignas(64) uint64_t ptail, phead, res;
	unsigned pbatch;
	/* the consumer's own */
	alignas(64) uint64_t chead, ctail;
	uint32_t clen;
	/* fixed */
	alignas(64) uint8_t *buf;
	uint64_t size, mask;
};

static uint32_t
need_of(uint32_t len)
{
	return HDR + ((len + RING_ALIGN - 1) & ~(uint32_t)(RING_ALIGN - 1));
}

static void
relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void
fx_wait(_Atomic uint32_t *w, uint32_t val, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void
fx_wake(_Atomic uint32_t *w)
{
	atomic_fetch_add(w, 1);
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

struct ring *
ring_new(size_t size)
{
	struct ring *r;

	if (size < 65536 || (size & (size - 1)) != 0)
		return NULL;
	if (posix_memalign((void **)&r, 64, sizeof *r) != 0)
		return NULL;
	*r = (struct ring){ .size = size, .mask = size - 1 };
	if (posix_memalign((void **)&r->buf, 64, size) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
ring_free(struct ring *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r);
}

/* Bytes a record of need bytes takes at the producer's position,
 * counting the tail it skips when it does not fit before the end. */
static uint64_t
span_of(const struct ring *r, uint32_t need)
{
	uint64_t pos = r->ptail & r->mask;

	return pos + need > r->size ? r->size - pos + need : need;
}

static int
has_room(struct ring *r, uint32_t need)
{
	uint64_t span = span_of(r, need);

	if (r->ptail + span - r->phead <= r->size)
		return 1;
	r->phead = atomic_load_explicit(&r->head, memory_order_acquire);
	return r->ptail + span - r->phead <= r->size;
}

void *
ring_reserve(struct ring *r, uint32_t len)
{
	uint32_t need = need_of(len);
	uint64_t pos;

	if (need > r->size / 4 || !has_room(r, need))
		return NULL;
	pos = r->ptail & r->mask;
	if (pos + need > r->size) {
		*(uint32_t *)(void *)(r->buf + pos) = RING_SKIP;
		r->ptail += r->size - pos;
		pos = 0;
	}
	r->res = r->ptail;
	return r->buf + pos + HDR;
}

void
ring_commit(struct ring *r, uint32_t len)
{
	*(uint32_t *)(void *)(r->buf + (r->res & r->mask)) = len;
	r->ptail = r->res + need_of(len);
	if (++r->pbatch >= PUBLISH_EVERY)
		ring_publish(r);
}

static void
publish(struct ring *r, int flush)
{
	r->pbatch = 0;
	if (atomic_load_explicit(&r->tail, memory_order_relaxed) != r->ptail)
		atomic_store(&r->tail, r->ptail);
	else if (!flush)
		return;
	if (atomic_load(&r->sleep_c) &&
	    (flush || r->ptail - atomic_load_explicit(&r->head, memory_order_relaxed) >=
			      r->size / WAKE_SHARE))
		fx_wake(&r->wake_c);
}

void
ring_publish(struct ring *r)
{
	publish(r, 0);
}

void
ring_flush(struct ring *r)
{
	publish(r, 1);
}

void
ring_wait_room(struct ring *r, uint32_t len, int timeout_ms)
{
	uint32_t need = need_of(len), w;

	ring_flush(r);
	for (int i = 0; i < SPINS; i++) {
		if (has_room(r, need))
			return;
		relax();
	}
	w = atomic_load(&r->wake_p);
	atomic_store(&r->sleep_p, 1);
	if (!has_room(r, need))
		fx_wait(&r->wake_p, w, timeout_ms);
	atomic_store(&r->sleep_p, 0);
}

void
ring_wait_empty(struct ring *r)
{
	ring_flush(r);
	for (;;) {
		uint32_t w;

		for (int i = 0; i < SPINS; i++) {
			if (atomic_load_explicit(&r->head, memory_order_acquire) == r->ptail)
				return;
			relax();
		}
		w = atomic_load(&r->wake_p);
		atomic_store(&r->sleep_p, 1);
		if (atomic_load(&r->head) != r->ptail)
			fx_wait(&r->wake_p, w, 100);
		atomic_store(&r->sleep_p, 0);
	}
}

void *
ring_peek(struct ring *r, uint32_t *len)
{
	for (;;) {
		uint64_t pos = r->chead & r->mask;
		uint32_t l;

		if (r->chead == r->ctail &&
		    (r->ctail = atomic_load_explicit(&r->tail, memory_order_acquire)) == r->chead)
			return NULL;
		l = *(const uint32_t *)(const void *)(r->buf + pos);
		if (l == RING_SKIP) {
			r->chead += r->size - pos;
			continue;
		}
		r->clen = l;
		*len = l;
		return r->buf + pos + HDR;
	}
}

void
ring_next(struct ring *r)
{
	r->chead += need_of(r->clen);
}

void
ring_release(struct ring *r)
{
	if (atomic_load_explicit(&r->head, memory_order_relaxed) == r->chead)
		return;
	atomic_store(&r->head, r->chead);
	/* A producer waiting for room, or for the ring to empty, gets it
	 * in large pieces. */
	if (atomic_load(&r->sleep_p) &&
	    (r->chead == r->ctail || r->size - (r->ctail - r->chead) >= r->size / 4))
		fx_wake(&r->wake_p);
}

void
ring_wait_data(struct ring *r, int timeout_ms)
{
	uint32_t w;

	for (int i = 0; i < SPINS; i++) {
		if (atomic_load_explicit(&r->tail, memory_order_acquire) != r->chead)
			return;
		relax();
	}
	w = atomic_load(&r->wake_c);
	atomic_store(&r->sleep_c, 1);
	if (atomic_load(&r->tail) == r->chead)
		fx_wait(&r->wake_c, w, timeout_ms);
	atomic_store(&r->sleep_c, 0);
}
