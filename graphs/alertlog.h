/*
 * alertlog.h — the alerts JSON file (spanwatch --alerts-json: one object
 * per line with at least "alert", "ts" and, for subscriber alerts,
 * "subscriber") read back for the dashboard: the latest alerts inside a
 * time range, kept in a ring of fixed size, so a file of months costs one
 * sequential read and bounded memory.
 */
#ifndef SPANWATCH_ALERTLOG_H
#define SPANWATCH_ALERTLOG_H

#include <stddef.h>
#include <time.h>

#define ALERTLOG_KIND_MAX 31	/* "flow_table_full" and the like */
#define ALERTLOG_NAME_MAX 64
#define ALERTLOG_LINE_MAX 4096	/* longer lines are skipped and counted */
#define ALERTLOG_FIELDS_MAX 479	/* the evidence, "key=value" pairs */

struct alert_rec {
	time_t ts;
	char kind[ALERTLOG_KIND_MAX + 1];
	char subscriber[ALERTLOG_NAME_MAX + 1];	/* "" for sensor alerts */
	char sensor[ALERTLOG_NAME_MAX + 1];	/* "sensor", or "" */
	/* Every other member, in file order, as "key=value" separated by
	 * single spaces (strings decoded, numbers as written, nested values
	 * as "..."); cut at a whole pair when full, then ends in " ...". */
	char fields[ALERTLOG_FIELDS_MAX + 1];
};

struct alertlog {
	struct alert_rec *ring;
	size_t cap;
	size_t n;		/* kept: min(total, cap) */
	size_t head;		/* next slot to write */
	size_t total;		/* alerts in the range, kept or not */
	size_t bad;		/* lines that are not an alert we can read */
};

/* Reads path, keeping the latest cap alerts with from <= ts <= to, in
 * file order (spanwatch writes them in packet-time order); path.1, the
 * file logrotate renamed last, is read first where it exists. Returns 0,
 * or -1 (logged) if path cannot be opened or read or memory runs out. */
int alertlog_load(const char *path, time_t from, time_t to, size_t cap,
    struct alertlog *out);

void alertlog_free(struct alertlog *al);

/* The i-th kept alert, oldest first; i < al->n. */
const struct alert_rec *alertlog_get(const struct alertlog *al, size_t i);

/* Kept alerts of subscriber name (NULL: all) in [from, to]. */
size_t alertlog_count(const struct alertlog *al, const char *name,
    time_t from, time_t to);

/* Parses one JSON line into rec. Returns 0, or -1 if it is not an object
 * with string fields "alert" and "ts" (ISO 8601 UTC). Exposed for tests. */
int alertlog_parse(const char *line, struct alert_rec *rec);

#endif
