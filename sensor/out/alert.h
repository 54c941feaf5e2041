/*
 * alert.h — raising alerts (SPEC "Alerts"): one logfmt line to syslog
 * (local syslog(3), or RFC 5424 over UDP or TCP to a collector) and one
 * JSON object to the alerts file, carrying the same fields, plus ts and
 * sensor in JSON. An alert for the same (kind, subscriber) is not repeated
 * within [alerts] holddown; the next one carries suppressed=N.
 *
 * alerts_raise() is for the capture thread and never blocks: it copies the
 * alert into a fixed-size slot of a bounded queue that a sink thread
 * drains, formats and sends. A full queue drops the record and counts it;
 * so does a rate limit in packet time (a burst of ALERTS_BURST, then
 * ALERTS_RATE per second), which keeps a flood of alerts from flooding the
 * collector. After a burst of drops the sink thread sends one record
 *
 *	alert=alerts_dropped count=N
 *
 * (N = records dropped since the last such line, ts = packet time of the
 * last drop), through the same sinks as any alert.
 *
 * Values that come from packets are escaped here: no control character,
 * quote, backslash or newline reaches a log line or JSON string
 * unescaped, and every value is bounded to ALERTS_VALUE_MAX bytes
 * (a longer one is cut at a character boundary and ends in "..."). The
 * logfmt line is plain printable ASCII; the JSON file is valid UTF-8 JSON
 * whatever the bytes (see alert.c for the escapes).
 */
#ifndef SPANWATCH_ALERT_H
#define SPANWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "units.h"

struct sw_config;
struct alerts;

/* Longest value kept, in bytes before escaping. */
#define ALERTS_VALUE_MAX 256
/* Fields after alert= and subscriber=; more are dropped (counted). */
#define ALERTS_MAX_FIELDS 16
/* Defaults of struct alerts_opts. */
#define ALERTS_QUEUE_SLOTS 4096
#define ALERTS_HOLD_ENTRIES 65536
#define ALERTS_BURST 1000
#define ALERTS_RATE 100

enum alert_ftype { AF_STR, AF_UINT, AF_ADDR };

/* One field of an alert, after alert= and subscriber=. AF_ADDR holds an
 * address as the sensor passes it around (family AF_INET or AF_INET6). */
struct alert_field {
	const char *key;		/* [a-z0-9_]+, from the code, not from
					 * packets (other bytes become '_');
					 * not alert, subscriber, ts, sensor
					 * or suppressed */
	enum alert_ftype type;
	union {
		const char *s;		/* may hold any bytes from a packet */
		uint64_t u;
		struct sw_addr addr;
	} v;
};

/* Zero means the default for every number. */
struct alerts_opts {
	int use_syslog;			/* 0: --no-syslog (JSON file and stderr only) */
	const char *json_path;		/* overrides [alerts] json when not NULL */
	int block;			/* reading files: a full queue makes
					 * alerts_raise wait instead of drop, so
					 * that a replay gives the same alerts
					 * whatever the disk or collector speed */
	unsigned queue_slots;		/* records in flight (power of 2) */
	unsigned hold_entries;		/* (kind, subscriber) pairs remembered
					 * for holddown; the least recently
					 * alerted of a full set is forgotten */
	unsigned burst, rate;		/* rate limit: burst, then per second
					 * of packet time */
};

/* The alert kinds SPEC names, for counts by kind (metrics); anything
 * else counts as the last, "other". */
#define ALERTS_NKINDS 6
extern const char *const alerts_kind_names[ALERTS_NKINDS];

struct alerts_stats {
	uint64_t raised;		/* queued for the sinks (alerts_count) */
	uint64_t by_kind[ALERTS_NKINDS];	/* raised, by alerts_kind_names */
	uint64_t suppressed;		/* held down */
	uint64_t dropped_full;		/* queue full */
	uint64_t dropped_rate;		/* over the rate limit */
	uint64_t fields_dropped;	/* fields over ALERTS_MAX_FIELDS or the
					 * slot size */
	uint64_t hold_evicted;		/* holddown entries forgotten early */
	uint64_t sent;			/* records the syslog sink accepted
					 * (local, UDP, TCP; none if no syslog) */
	uint64_t failed;		/* records a sink could not take */
	uint64_t reconnects;		/* TCP connections made to the collector */
};

/* Opens the sinks named by cfg ([alerts] syslog, facility, ident, json,
 * holddown; [sensor] name) and starts the sink thread (so call it after
 * any fork). Returns NULL after logging why (JSON file not writable, a
 * collector name that does not resolve). A remote collector that is down
 * is not an error: records wait in the bounded queue, then are dropped
 * and counted. */
struct alerts *alerts_open(const struct sw_config *cfg, const struct alerts_opts *o);

/* Raises alert kind ("smtp_direct") for subscriber (NULL for sensor-wide
 * alerts) at packet time ts, with n fields. Safe from several threads;
 * does no I/O and no allocation. Returns 1 when queued, 0 when held down
 * (counted for the next one), -1 when dropped by the queue or the rate
 * limit (counted for the alerts_dropped line; the holddown is not armed,
 * so the condition is alerted again when it recurs). */
int alerts_raise(struct alerts *a, const char *kind, const char *subscriber, time_t ts,
		 const struct alert_field *fields, size_t n);

/* Alerts queued so far (for the summary and sensor.rrd "alerts"); not
 * counting the held down, the dropped or the alerts_dropped lines. */
uint64_t alerts_count(const struct alerts *a);

/* Copies the counters into *st. */
void alerts_stats(const struct alerts *a, struct alerts_stats *st);

/* Waits until every record queued before the call has reached its sinks
 * or failed, and any pending alerts_dropped line is out. A collector that
 * is down gets one immediate reconnect attempt; if that fails its records
 * are counted as failed rather than waited for. */
void alerts_flush(struct alerts *a);

/* Reopens the JSON file by its name (SIGHUP, after logrotate moved it);
 * done by the sink thread before its next record. NULL is fine. */
void alerts_reopen(struct alerts *a);

/* A record as a tap sees it (alerts_set_tap): strings with lengths, not
 * NUL-terminated, raw (unescaped) bytes; trunc says the JSON value ends in
 * "..." after them. sub is NULL for sensor-wide alerts. */
struct alerts_tap_field {
	const char *key, *val;
	size_t klen, vlen;
	int trunc;
};
struct alerts_tap_rec {
	int64_t ts;
	const char *kind, *sub;
	size_t kind_len, sub_len;
	int sub_trunc;
	uint64_t suppressed;
	unsigned nf;
	struct alerts_tap_field f[ALERTS_MAX_FIELDS];
};
typedef void alerts_tap_fn(void *arg, const struct alerts_tap_rec *r);

/* Every record that reaches the local sinks (JSON file, stderr, local
 * syslog), alerts_dropped lines too, is also handed to fn, on the sink
 * thread, after the JSON line is written. Set before the first alert;
 * fn must not block. NULL a is fine. */
void alerts_set_tap(struct alerts *a, alerts_tap_fn *fn, void *arg);

/* Flushes, stops the sink thread, closes the sinks; NULL is fine. */
void alerts_close(struct alerts *a);

#endif
