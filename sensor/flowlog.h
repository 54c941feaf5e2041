/*
 * flowlog.h — the flow log of SPEC: one tab-separated line per finished
 * flow, header first, written through a large stdio buffer.
 */
#ifndef SPANWATCH_FLOWLOG_H
#define SPANWATCH_FLOWLOG_H

#include "flow.h"

struct flowlog;

/* Opens path for writing ("-" = stdout) and writes the header; NULL on
 * error (logged with the path). */
struct flowlog *flowlog_open(const char *path);

/* Writes one line for f with its application label, subscriber name (or
 * NULL) and direction word. */
void flowlog_write(struct flowlog *, const struct flow *f, const char *app,
		   const char *subscriber, const char *direction);

/* Flushes and closes; returns 0, or -1 when a write failed (logged). */
/* From now on several pipelines write fl, each from its own thread: every
 * line is written whole, under a lock. Call before they start. */
void flowlog_share(struct flowlog *fl);

int flowlog_close(struct flowlog *);

#endif
