/*
 * flowlog.h — the flow log of SPEC: one tab-separated line per finished
 * flow, header first, written through a large stdio buffer.
 */
#ifndef SPANWATCH_FLOWLOG_H
#define SPANWATCH_FLOWLOG_H

#include "flow.h"

struct flowlog;

/* Opens path for appending ("-" = stdout); the header goes only into an
 * empty file. NULL on error (logged with the path). */
struct flowlog *flowlog_open(const char *path);

/* Writes one line for f with its application label, subscriber name (or
 * NULL) and direction word. */
void flowlog_write(struct flowlog *, const struct flow *f, const char *app,
		   const char *subscriber, const char *direction);

/* Asks for the file to be reopened by its name (SIGHUP after logrotate's
 * mv); the writer does it before its next line or sync. Any thread. */
void flowlog_reopen(struct flowlog *fl);

/* Writes out the buffered lines (each step's end) and does an asked-for
 * reopen. NULL is fine. */
void flowlog_sync(struct flowlog *fl);

/* From now on several pipelines write fl, each from its own thread: every
 * line is written whole, under a lock. Call before they start. */
void flowlog_share(struct flowlog *fl);

/* Flushes and closes; returns 0, or -1 when any line could not be written
 * (logged, with how many). */
int flowlog_close(struct flowlog *);

#endif
