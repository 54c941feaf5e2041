/*
 * metrics.h — the sensor's own health over HTTP ([sensor] metrics =
 * ADDR:PORT, off by default): GET /metrics answers in the Prometheus text
 * exposition format (version 0.0.4, which OpenMetrics scrapers read too).
 * Sensor-wide and per-capture-thread series only, never per subscriber,
 * so the label sets stay bounded by the thread count.
 *
 * The server (libmicrohttpd) runs on its own thread and never touches the
 * packet path's data: a single capture thread publishes a snapshot with
 * relaxed atomic stores (metrics_publish, no lock, no wait); several
 * threads are read through workers_get, which is made for it; alerts and
 * the RRD writer keep atomic counters of their own.
 */
#ifndef SPANWATCH_METRICS_H
#define SPANWATCH_METRICS_H

#include <stdint.h>

#include "capture.h"
#include "flow.h"
#include "pipeline.h"

struct metrics;
struct workers;
struct alerts;
struct rrdw;
struct chw;

/* Where the figures come from; any may be NULL. Pointers must outlive
 * the server (metrics_stop before freeing them). */
struct metrics_src {
	const char *sensor;		/* [sensor] name, for spanwatch_info */
	struct workers *wk;		/* several capture threads, or NULL:
					 * one, published by metrics_publish */
	const struct alerts *alerts;
	struct rrdw *rrdw;
	struct chw *chw;		/* [clickhouse], or NULL */
};

/* Checks ADDR:PORT ("127.0.0.1:9187", "[::1]:9187"; the port is
 * required). Returns 0, or -1 with *why set to a static phrase. */
int metrics_parse_addr(const char *s, char *host, unsigned hostlen,
    uint16_t *port, const char **why);

/* Listens on addr (as metrics_parse_addr takes it) and starts the server
 * thread. Returns the server, or NULL after logging why (a bad address,
 * the port in use). */
struct metrics *metrics_start(const char *addr, const struct metrics_src *src);

/* One capture thread: its counters as of now. Relaxed atomic stores
 * only: cheap enough for every frame, never blocks. m may be NULL. */
void metrics_publish(struct metrics *m, const struct pipeline_stats *ps,
    const struct flow_stats *fs, const struct capture_stats *cs);

/* Stops the server and frees it; NULL is fine. */
void metrics_stop(struct metrics *m);

/* Writes the exposition text into buf (at most len bytes, NUL-terminated).
 * Returns its length, or -1 if it did not fit. Exposed for the fuzz
 * target and tests. */
int metrics_render(struct metrics *m, char *buf, unsigned len);

#endif
