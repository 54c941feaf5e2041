/*
 * alert.h — raising alerts (SPEC "Alerts"): one logfmt line to syslog
 * (local syslog(3), or RFC 5424 over UDP or TCP to a collector) and one
 * JSON object to the alerts file, carrying the same fields, plus ts and
 * sensor in JSON. An alert for the same (kind, subscriber) is not repeated
 * within [alerts] holddown; the next one carries suppressed=N.
 *
 * alerts_raise() is for the capture thread and never blocks: it formats
 * the record and queues it to a sink thread. A full queue drops the
 * record and counts it; the sink thread later sends one summary line
 * saying how many were dropped. Values that come from packets are escaped
 * here: no control character, quote, backslash or newline reaches a log
 * line or JSON string unescaped, and every value is bounded in length.
 */
#ifndef SPANWATCH_ALERT_H
#define SPANWATCH_ALERT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct sw_config;
struct alerts;

enum alert_ftype { AF_STR, AF_UINT, AF_ADDR };

/* One field of an alert, after alert= and subscriber=. AF_ADDR holds a
 * family (4 or 6) and 4 or 16 bytes in network order. */
struct alert_field {
	const char *key;		/* [a-z_]+, from the code, not from packets */
	enum alert_ftype type;
	union {
		const char *s;		/* may hold any bytes from a packet */
		uint64_t u;
		struct { uint8_t family; uint8_t a[16]; } addr;
	} v;
};

struct alerts_opts {
	int use_syslog;			/* 0: --no-syslog (JSON file and stderr only) */
	const char *json_path;		/* overrides [alerts] json when not NULL */
};

/* Opens the sinks named by cfg ([alerts] syslog, facility, ident, json,
 * holddown; [sensor] name) and starts the sink thread. Returns NULL after
 * logging why (JSON file not writable, bad syslog target). A remote
 * collector that is down is not an error: records wait in the bounded
 * queue, then are dropped and counted. */
struct alerts *alerts_open(const struct sw_config *cfg, const struct alerts_opts *o);

/* Raises alert kind ("smtp_direct") for subscriber (NULL for sensor-wide
 * alerts) at packet time ts, with n fields. Returns 1 when the alert was
 * emitted, 0 when held down (suppressed, counted for the next one). */
int alerts_raise(struct alerts *a, const char *kind, const char *subscriber, time_t ts,
		 const struct alert_field *fields, size_t n);

/* Alerts emitted so far (for the summary and sensor.rrd "alerts"). */
uint64_t alerts_count(const struct alerts *a);

/* Waits until every queued record has reached its sinks (or failed). */
void alerts_flush(struct alerts *a);

/* Flushes, stops the sink thread, closes the sinks; NULL is fine. */
void alerts_close(struct alerts *a);

#endif
