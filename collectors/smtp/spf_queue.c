/*
 * spf_queue.c — the bounded set of SPF jobs and their waiting cookies
 * (see spf_queue.h).
 */
#include "spf_queue.h"

#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct waiter {
	uint64_t cookie;
	uint32_t next;
};

struct spf_queue {
	struct spf_job *job;
	uint32_t njobs, job_free;
	uint32_t head, tail;		/* queued jobs, oldest first */
	struct waiter *w;
	uint32_t nw, w_free;
	uint64_t seq;			/* sends so far: orders the sent jobs */
	uint64_t *sent_seq;		/* by job index */
	struct spf_queue_stats st;
};

struct spf_queue *
spf_queue_new(unsigned jobs, unsigned waiters)
{
	struct spf_queue *q = calloc(1, sizeof *q);

	if (!q)
		return NULL;
	if (jobs > 65535)
		jobs = 65535;
	q->njobs = jobs ? jobs : 1;
	q->nw = waiters ? waiters : 1;
	q->job = calloc(q->njobs, sizeof *q->job);
	q->sent_seq = calloc(q->njobs, sizeof *q->sent_seq);
	q->w = calloc(q->nw, sizeof *q->w);
	if (!q->job || !q->sent_seq || !q->w) {
		spf_queue_free(q);
		return NULL;
	}
	for (uint32_t i = 0; i < q->njobs; i++) {
		q->job[i].id = i;
		q->job[i].next = i + 1 < q->njobs ? i + 1 : NONE;
	}
	for (uint32_t i = 0; i < q->nw; i++)
		q->w[i].next = i + 1 < q->nw ? i + 1 : NONE;
	q->head = q->tail = NONE;
	q->st.max_jobs = q->njobs;
	q->st.max_waiters = q->nw;
	return q;
}

void
spf_queue_free(struct spf_queue *q)
{
	if (!q)
		return;
	free(q->job);
	free(q->sent_seq);
	free(q->w);
	free(q);
}

static uint32_t
index_of(const struct spf_queue *q, const struct spf_job *j)
{
	return (uint32_t)(j - q->job);
}

static void
wait_on(struct spf_queue *q, struct spf_job *j, uint64_t cookie)
{
	uint32_t i = q->w_free;

	q->w_free = q->w[i].next;
	q->w[i].cookie = cookie;
	q->w[i].next = NONE;
	if (j->first == NONE)
		j->first = i;
	else
		q->w[j->last].next = i;
	j->last = i;
	j->nwait++;
	q->st.waiters++;
}

struct spf_job *
spf_queue_add(struct spf_queue *q, const struct spf_key *k, const char *helo, uint64_t cookie,
	      int *merged)
{
	uint64_t h = spf_cache_hash(k);
	struct spf_job *j;

	*merged = 0;
	if (q->w_free == NONE)
		return NULL;
	for (uint32_t i = 0; i < q->njobs; i++) {
		j = &q->job[i];
		if (j->state != SPF_JOB_FREE && j->hash == h && memcmp(&j->key, k, sizeof *k) == 0) {
			wait_on(q, j, cookie);
			*merged = 1;
			return j;
		}
	}
	if (q->job_free == NONE)
		return NULL;
	uint32_t i = q->job_free;
	j = &q->job[i];
	q->job_free = j->next;
	j->key = *k;
	j->hash = h;
	size_t n = strnlen(helo, SPF_NAME_MAX);
	memcpy(j->helo, helo, n);
	j->helo[n] = '\0';
	j->sent_ms = 0;
	j->first = j->last = NONE;
	j->nwait = 0;
	j->tries = 0;
	j->state = SPF_JOB_QUEUED;
	j->next = NONE;
	if (q->tail == NONE)
		q->head = i;
	else
		q->job[q->tail].next = i;
	q->tail = i;
	q->st.jobs++;
	q->st.queued++;
	wait_on(q, j, cookie);
	return j;
}

struct spf_job *
spf_queue_next(struct spf_queue *q)
{
	return q->head == NONE ? NULL : &q->job[q->head];
}

void
spf_queue_sent(struct spf_queue *q, struct spf_job *j, uint64_t now_ms)
{
	uint32_t i = index_of(q, j);

	if (q->head != i)
		return;		/* only the head is handed over */
	q->head = j->next;
	if (q->head == NONE)
		q->tail = NONE;
	j->next = NONE;
	j->state = SPF_JOB_SENT;
	j->sent_ms = now_ms;
	q->sent_seq[i] = ++q->seq;
	q->st.queued--;
	q->st.sent++;
}

struct spf_job *
spf_queue_find(struct spf_queue *q, uint32_t id)
{
	uint32_t i = id & 0xffff;

	if (i >= q->njobs || q->job[i].id != id || q->job[i].state != SPF_JOB_SENT)
		return NULL;
	return &q->job[i];
}

struct spf_job *
spf_queue_oldest_sent(struct spf_queue *q)
{
	struct spf_job *best = NULL;

	if (!q->st.sent)
		return NULL;
	for (uint32_t i = 0; i < q->njobs; i++)
		if (q->job[i].state == SPF_JOB_SENT &&
		    (!best || q->sent_seq[i] < q->sent_seq[index_of(q, best)]))
			best = &q->job[i];
	return best;
}

void
spf_queue_requeue_sent(struct spf_queue *q)
{
	/* Newest first onto the head, so that the oldest ends up first. */
	while (q->st.sent) {
		uint32_t k = NONE;

		for (uint32_t i = 0; i < q->njobs; i++)
			if (q->job[i].state == SPF_JOB_SENT &&
			    (k == NONE || q->sent_seq[i] > q->sent_seq[k]))
				k = i;
		struct spf_job *j = &q->job[k];
		j->state = SPF_JOB_QUEUED;
		j->sent_ms = 0;
		j->next = q->head;
		q->head = k;
		if (q->tail == NONE)
			q->tail = k;
		q->st.sent--;
		q->st.queued++;
	}
}

static void
unlink_queued(struct spf_queue *q, uint32_t i)
{
	uint32_t prev = NONE;

	for (uint32_t k = q->head; k != NONE; prev = k, k = q->job[k].next) {
		if (k != i)
			continue;
		if (prev == NONE)
			q->head = q->job[k].next;
		else
			q->job[prev].next = q->job[k].next;
		if (q->tail == k)
			q->tail = prev;
		return;
	}
}

void
spf_queue_done(struct spf_queue *q, struct spf_job *j, void (*fn)(void *ctx, uint64_t cookie),
	       void *ctx)
{
	uint32_t i = index_of(q, j);

	if (j->state == SPF_JOB_FREE)
		return;
	if (j->state == SPF_JOB_QUEUED) {
		unlink_queued(q, i);
		q->st.queued--;
	} else {
		q->st.sent--;
	}
	/* Free the job before the calls, so that fn may submit again. */
	uint32_t w = j->first;
	j->state = SPF_JOB_FREE;
	j->first = j->last = NONE;
	j->id = ((((j->id >> 16) + 1) & 0xffffu) << 16) | i;	/* a new generation */
	j->next = q->job_free;
	q->job_free = i;
	q->st.jobs--;
	while (w != NONE) {
		uint32_t next = q->w[w].next;
		uint64_t cookie = q->w[w].cookie;

		q->w[w].next = q->w_free;
		q->w_free = w;
		q->st.waiters--;
		if (fn)
			fn(ctx, cookie);
		w = next;
	}
}

void
spf_queue_get_stats(const struct spf_queue *q, struct spf_queue_stats *st)
{
	*st = q->st;
}
