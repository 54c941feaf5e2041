/*
 * spf_queue.h — the SPF questions waiting for the helper: a bounded set of
 * jobs (one per distinct (address, domain) being evaluated), each with the
 * cookies of the submissions waiting for it. Pure: no I/O, all memory
 * allocated at creation.
 *
 * A job is queued (first in, first out) until it is handed to the helper,
 * then sent until its verdict comes back or the helper dies (then it is
 * queued again, at the head). A job is named towards the helper by an id
 * that carries a generation, so a verdict for a job that was finished or
 * reused meanwhile is recognised as stale. Bounds: at most `jobs` jobs
 * and `waiters` cookies; a submission past either is refused.
 */
#ifndef SPANWATCH_SPF_QUEUE_H
#define SPANWATCH_SPF_QUEUE_H

#include <stdint.h>

#include "spf_cache.h"

enum spf_job_state { SPF_JOB_FREE, SPF_JOB_QUEUED, SPF_JOB_SENT };

struct spf_job {
	struct spf_key key;
	char helo[SPF_NAME_MAX + 1];
	uint64_t hash;			/* spf_cache_hash(&key) */
	uint64_t sent_ms;		/* when handed to the helper */
	uint32_t id;			/* index | generation << 16 */
	uint32_t first, last;		/* its cookies (waiter list) */
	uint32_t nwait;			/* how many */
	uint32_t next;			/* queue link or free list */
	uint8_t state;			/* enum spf_job_state */
	uint8_t tries;			/* helpers that died holding it */
};

struct spf_queue;

/* Room for jobs (at most 65535) and waiters. NULL when out of memory. */
struct spf_queue *spf_queue_new(unsigned jobs, unsigned waiters);
void spf_queue_free(struct spf_queue *q);

/* Adds cookie as waiting for the verdict on k: to the job already
 * queued or sent for k (*merged = 1), or to a new job at the tail
 * (*merged = 0, helo copied, cut to fit). Returns the job, or NULL when
 * there is no room (no job or no waiter left). */
struct spf_job *spf_queue_add(struct spf_queue *q, const struct spf_key *k, const char *helo,
			      uint64_t cookie, int *merged);

/* The oldest queued job, or NULL. */
struct spf_job *spf_queue_next(struct spf_queue *q);

/* j (the head of the queue) goes to the helper at now_ms. */
void spf_queue_sent(struct spf_queue *q, struct spf_job *j, uint64_t now_ms);

/* The sent job named id, or NULL (stale, unknown, not sent). */
struct spf_job *spf_queue_find(struct spf_queue *q, uint32_t id);

/* The sent job handed over first, or NULL. */
struct spf_job *spf_queue_oldest_sent(struct spf_queue *q);

/* Every sent job goes back to the head of the queue, in the order they
 * were sent (the helper died). */
void spf_queue_requeue_sent(struct spf_queue *q);

/* Calls fn for each cookie of j, in submission order, then frees j (its
 * id becomes stale). */
void spf_queue_done(struct spf_queue *q, struct spf_job *j,
		    void (*fn)(void *ctx, uint64_t cookie), void *ctx);

struct spf_queue_stats {
	uint32_t jobs, queued, sent, waiters;	/* in use now */
	uint32_t max_jobs, max_waiters;		/* the bounds */
};

void spf_queue_get_stats(const struct spf_queue *q, struct spf_queue_stats *st);

#endif
