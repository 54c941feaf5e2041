/*
 * thr.h — starting the sensor's helper threads (RRD writer, alert sink,
 * capture workers). Asynchronous signals (SIGTERM, SIGHUP, SIGINT,
 * SIGPIPE, ...) belong to the main thread's loop, which acts on them
 * between batches: a helper thread starts with them blocked, so that none
 * lands in its poll or send. Faults stay deliverable.
 */
#ifndef SPANWATCH_THR_H
#define SPANWATCH_THR_H

#include <pthread.h>

/* pthread_create with the asynchronous signals blocked in the new thread,
 * named name (at most 15 characters shown). Returns 0 or the error
 * number; the caller logs it. */
int thr_start(pthread_t *t, void *(*fn)(void *), void *arg, const char *name);

#endif
