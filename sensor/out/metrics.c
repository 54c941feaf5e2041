/*
 * metrics.c — the health endpoint (see metrics.h), on libmicrohttpd's
 * own thread. Requests are bounded by libmicrohttpd (16 connections, 8 kB
 * of request per connection, 5 s idle); an oversized or malformed request
 * is answered 400 (431 when too large) there, anything but GET /metrics
 * here (404, 405).
 */
#include "metrics.h"

#include "alert.h"
#include "log.h"
#include "rrdw.h"
#include "chw.h"
#include "units.h"
#include "workers.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_MAX 65536
#define MAX_THREADS 64		/* series per thread beyond this are summed */

/* A single capture thread's figures, stored relaxed by that thread. */
struct snap {
	_Atomic uint64_t packets, ip_packets, ip_bytes, non_ip, truncated,
	    malformed, flows, created, evicted, active, peak, drops;
};

struct metrics {
	struct MHD_Daemon *d;
	struct metrics_src src;
	char sensor[UNITS_NAME_MAX + 1];
	struct snap one;
	_Atomic uint64_t scrapes, refused;
};

struct figures {
	struct pipeline_stats ps;
	struct flow_stats fs;
	uint64_t drops;
};

#define ST(f, v) atomic_store_explicit(&m->one.f, (v), memory_order_relaxed)
#define LD(f) atomic_load_explicit(&m->one.f, memory_order_relaxed)

void
metrics_publish(struct metrics *m, const struct pipeline_stats *ps,
    const struct flow_stats *fs, const struct capture_stats *cs)
{
	if (m == NULL)
		return;
	if (ps != NULL) {
		ST(packets, ps->packets);
		ST(ip_packets, ps->ip_packets);
		ST(ip_bytes, ps->ip_bytes);
		ST(non_ip, ps->non_ip);
		ST(truncated, ps->truncated);
		ST(malformed, ps->malformed);
		ST(flows, ps->flows);
	}
	if (fs != NULL) {
		ST(created, fs->created);
		ST(evicted, fs->evicted);
		ST(active, fs->active);
		ST(peak, fs->peak);
	}
	if (cs != NULL)
		ST(drops, cs->kernel_drops + cs->if_drops);
}

static void
read_one(struct metrics *m, struct figures *f)
{
	memset(f, 0, sizeof *f);
	f->ps.packets = LD(packets);
	f->ps.ip_packets = LD(ip_packets);
	f->ps.ip_bytes = LD(ip_bytes);
	f->ps.non_ip = LD(non_ip);
	f->ps.truncated = LD(truncated);
	f->ps.malformed = LD(malformed);
	f->ps.flows = LD(flows);
	f->fs.created = LD(created);
	f->fs.evicted = LD(evicted);
	f->fs.active = (uint32_t)LD(active);
	f->fs.peak = (uint32_t)LD(peak);
	f->drops = LD(drops);
}

struct out {
	char *buf;
	unsigned len, o;
	int full;
};

static void
put(struct out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct out *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->buf + w->o, w->len - w->o, fmt, ap);
	va_end(ap);
	if (n < 0 || (unsigned)n >= w->len - w->o) {
		w->full = 1;
		return;
	}
	w->o += (unsigned)n;
}

/* One family with the sensor-wide value, and spanwatch_thread_NAME with
 * one series per capture thread. */
static void
family(struct out *w, const char *name, const char *type, const char *help,
    const struct figures *all, const struct figures *th, unsigned nth,
    uint64_t (*get)(const struct figures *))
{
	put(w, "# HELP spanwatch_%s %s\n# TYPE spanwatch_%s %s\n", name, help,
	    name, type);
	put(w, "spanwatch_%s %llu\n", name, (unsigned long long)get(all));
	/* A family of its own: sum() over one family never counts twice. */
	put(w, "# HELP spanwatch_thread_%s %s By capture thread.\n"
	    "# TYPE spanwatch_thread_%s %s\n", name, help, name, type);
	for (unsigned i = 0; i < nth; i++)
		put(w, "spanwatch_thread_%s{thread=\"%u\"} %llu\n", name, i,
		    (unsigned long long)get(&th[i]));
}

#define GETTER(nm, expr) \
	static uint64_t nm(const struct figures *f) { return (expr); }
GETTER(g_packets, f->ps.packets)
GETTER(g_ip_packets, f->ps.ip_packets)
GETTER(g_ip_bytes, f->ps.ip_bytes)
GETTER(g_non_ip, f->ps.non_ip)
GETTER(g_truncated, f->ps.truncated)
GETTER(g_malformed, f->ps.malformed)
GETTER(g_drops, f->drops)
GETTER(g_flows, f->ps.flows)
GETTER(g_created, f->fs.created)
GETTER(g_evicted, f->fs.evicted)
GETTER(g_active, f->fs.active)
GETTER(g_peak, f->fs.peak)

/* The ClickHouse writer: its spool (depth, bytes), whether the server
 * answers, and what was sent and lost. */
static void
put_clickhouse(struct out *w, struct chw *chw)
{
	struct chw_stats cs;

	chw_get_stats(chw, &cs);
	put(w, "# HELP spanwatch_clickhouse_up 1 if the last request to ClickHouse succeeded.\n"
	    "# TYPE spanwatch_clickhouse_up gauge\n"
	    "spanwatch_clickhouse_up %d\n"
	    "# HELP spanwatch_clickhouse_spool_batches Step batches waiting in the spool.\n"
	    "# TYPE spanwatch_clickhouse_spool_batches gauge\n"
	    "spanwatch_clickhouse_spool_batches %llu\n"
	    "# HELP spanwatch_clickhouse_spool_bytes Bytes in the spool.\n"
	    "# TYPE spanwatch_clickhouse_spool_bytes gauge\n"
	    "spanwatch_clickhouse_spool_bytes %llu\n"
	    "# HELP spanwatch_clickhouse_sent_total Batches ClickHouse holds.\n"
	    "# TYPE spanwatch_clickhouse_sent_total counter\n"
	    "spanwatch_clickhouse_sent_total %llu\n"
	    "# HELP spanwatch_clickhouse_rows_sent_total Rows inserted.\n"
	    "# TYPE spanwatch_clickhouse_rows_sent_total counter\n"
	    "spanwatch_clickhouse_rows_sent_total %llu\n"
	    "# HELP spanwatch_clickhouse_dropped_total Batches lost: the spool was full.\n"
	    "# TYPE spanwatch_clickhouse_dropped_total counter\n"
	    "spanwatch_clickhouse_dropped_total %llu\n"
	    "# HELP spanwatch_clickhouse_rows_dropped_total Rows of those batches.\n"
	    "# TYPE spanwatch_clickhouse_rows_dropped_total counter\n"
	    "spanwatch_clickhouse_rows_dropped_total %llu\n"
	    "# HELP spanwatch_clickhouse_outages_total Times ClickHouse became unreachable.\n"
	    "# TYPE spanwatch_clickhouse_outages_total counter\n"
	    "spanwatch_clickhouse_outages_total %llu\n",
	    !cs.down, (unsigned long long)cs.spooled, (unsigned long long)cs.spool_bytes,
	    (unsigned long long)cs.sent, (unsigned long long)cs.rows_sent,
	    (unsigned long long)cs.dropped, (unsigned long long)cs.rows_dropped,
	    (unsigned long long)cs.outages);
}

int
metrics_render(struct metrics *m, char *buf, unsigned len)
{
	static struct figures th[MAX_THREADS];	/* the server's thread only */
	struct figures all;
	struct out w = { buf, len, 0, 0 };
	unsigned nth = 0;

	memset(&all, 0, sizeof all);
	if (m->src.wk != NULL) {
		unsigned n = workers_count(m->src.wk);

		nth = n < MAX_THREADS ? n : MAX_THREADS;
		for (unsigned i = 0; i < n; i++) {
			struct figures f;
			struct capture_stats cs;

			memset(&f, 0, sizeof f);
			workers_get(m->src.wk, i, &f.ps, &f.fs, &cs);
			f.drops = cs.kernel_drops + cs.if_drops;
			if (i < MAX_THREADS)
				th[i] = f;
			all.ps.packets += f.ps.packets;
			all.ps.ip_packets += f.ps.ip_packets;
			all.ps.ip_bytes += f.ps.ip_bytes;
			all.ps.non_ip += f.ps.non_ip;
			all.ps.truncated += f.ps.truncated;
			all.ps.malformed += f.ps.malformed;
			all.ps.flows += f.ps.flows;
			all.fs.created += f.fs.created;
			all.fs.evicted += f.fs.evicted;
			all.fs.active += f.fs.active;
			all.fs.peak += f.fs.peak;
			all.drops += f.drops;
		}
	} else {
		read_one(m, &all);
		th[0] = all;
		nth = 1;
	}
	put(&w, "# HELP spanwatch_info The sensor; always 1.\n"
	    "# TYPE spanwatch_info gauge\nspanwatch_info{sensor=\"%s\"} 1\n",
	    m->sensor);
	family(&w, "packets_total", "counter", "Frames read.", &all, th, nth,
	    g_packets);
	family(&w, "ip_packets_total", "counter", "IP packets.", &all, th,
	    nth, g_ip_packets);
	family(&w, "ip_bytes_total", "counter", "IP bytes (what an ISP bills).",
	    &all, th, nth, g_ip_bytes);
	family(&w, "non_ip_total", "counter", "Frames that are not IP.", &all,
	    th, nth, g_non_ip);
	family(&w, "truncated_total", "counter", "Packets cut by the snap "
	    "length.", &all, th, nth, g_truncated);
	family(&w, "malformed_total", "counter", "Malformed packets.", &all,
	    th, nth, g_malformed);
	family(&w, "drops_total", "counter", "Packets the kernel or interface "
	    "dropped.", &all, th, nth, g_drops);
	family(&w, "flows_total", "counter", "Flows ended.", &all, th, nth,
	    g_flows);
	family(&w, "flows_created_total", "counter", "Flows started.", &all,
	    th, nth, g_created);
	family(&w, "flows_evicted_total", "counter", "Flows ended early by a "
	    "full flow table.", &all, th, nth, g_evicted);
	family(&w, "flows_active", "gauge", "Flows in the table.", &all, th,
	    nth, g_active);
	family(&w, "flows_peak", "gauge", "Most flows in the table at once.",
	    &all, th, nth, g_peak);
	if (m->src.alerts != NULL) {
		struct alerts_stats as;

		alerts_stats(m->src.alerts, &as);
		put(&w, "# HELP spanwatch_alerts_total Alerts raised.\n"
		    "# TYPE spanwatch_alerts_total counter\n"
		    "spanwatch_alerts_total %llu\n"
		    "# HELP spanwatch_alerts_suppressed_total Alerts held down.\n"
		    "# TYPE spanwatch_alerts_suppressed_total counter\n"
		    "spanwatch_alerts_suppressed_total %llu\n"
		    "# HELP spanwatch_alerts_dropped_total Alerts dropped.\n"
		    "# TYPE spanwatch_alerts_dropped_total counter\n"
		    "spanwatch_alerts_dropped_total{reason=\"queue_full\"} %llu\n"
		    "spanwatch_alerts_dropped_total{reason=\"rate\"} %llu\n"
		    "# HELP spanwatch_alerts_sink_failed_total Records a sink "
		    "could not take.\n"
		    "# TYPE spanwatch_alerts_sink_failed_total counter\n"
		    "spanwatch_alerts_sink_failed_total %llu\n",
		    (unsigned long long)as.raised,
		    (unsigned long long)as.suppressed,
		    (unsigned long long)as.dropped_full,
		    (unsigned long long)as.dropped_rate,
		    (unsigned long long)as.failed);
		put(&w, "# HELP spanwatch_alerts_kind_total Alerts raised, by kind.\n"
		    "# TYPE spanwatch_alerts_kind_total counter\n");
		for (size_t i = 0; i < ALERTS_NKINDS; i++)
			put(&w, "spanwatch_alerts_kind_total{kind=\"%s\"} %llu\n",
			    alerts_kind_names[i], (unsigned long long)as.by_kind[i]);
	}
	if (m->src.rrdw != NULL) {
		struct rrdw_stats rs;

		rrdw_get_stats(m->src.rrdw, &rs);
		put(&w, "# HELP spanwatch_rrd_queue_length Step snapshots "
		    "waiting for the RRD writer.\n"
		    "# TYPE spanwatch_rrd_queue_length gauge\n"
		    "spanwatch_rrd_queue_length %zu\n"
		    "# HELP spanwatch_rrd_updates_total Step updates written.\n"
		    "# TYPE spanwatch_rrd_updates_total counter\n"
		    "spanwatch_rrd_updates_total %llu\n"
		    "# HELP spanwatch_rrd_dropped_total Snapshots not queued "
		    "(their amounts went with a later one).\n"
		    "# TYPE spanwatch_rrd_dropped_total counter\n"
		    "spanwatch_rrd_dropped_total %llu\n"
		    "# HELP spanwatch_rrd_failed_total Step updates refused or "
		    "undelivered.\n"
		    "# TYPE spanwatch_rrd_failed_total counter\n"
		    "spanwatch_rrd_failed_total %llu\n"
		    "# HELP spanwatch_rrd_outages_total Times rrdcached became "
		    "unreachable.\n"
		    "# TYPE spanwatch_rrd_outages_total counter\n"
		    "spanwatch_rrd_outages_total %llu\n",
		    rs.queue_len, (unsigned long long)rs.updates,
		    (unsigned long long)rs.dropped,
		    (unsigned long long)rs.failed,
		    (unsigned long long)rs.outages);
	}
	if (m->src.chw != NULL)
		put_clickhouse(&w, m->src.chw);
	put(&w, "# HELP spanwatch_metrics_refused_total Requests for anything "
	    "but GET /metrics (libmicrohttpd answers malformed ones itself).\n# TYPE spanwatch_metrics_refused_total counter\n"
	    "spanwatch_metrics_refused_total %llu\n"
	    "# HELP spanwatch_metrics_scrapes_total GET /metrics answered.\n"
	    "# TYPE spanwatch_metrics_scrapes_total counter\n"
	    "spanwatch_metrics_scrapes_total %llu\n",
	    (unsigned long long)atomic_load(&m->refused),
	    (unsigned long long)atomic_load(&m->scrapes));
	return w.full ? -1 : (int)w.o;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type,
    const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
	    MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	struct metrics *m = cls;
	static const char text[] = "text/plain; version=0.0.4; charset=utf-8";
	char *body;
	int n;

	/* Any request body is discarded, then refused. */
	if (*upload_len > 0) {
		*upload_len = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		atomic_fetch_add(&m->refused, 1);
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		    "only GET /metrics\n", 18);
	}
	if (strcmp(url, "/metrics") != 0) {
		atomic_fetch_add(&m->refused, 1);
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
		    "see /metrics\n", 13);
	}
	body = malloc(BODY_MAX);
	if (body == NULL)
		return MHD_NO;
	atomic_fetch_add(&m->scrapes, 1);
	n = metrics_render(m, body, BODY_MAX);
	if (n < 0) {
		free(body);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
		    "too many series\n", 16);
	}
	{
		enum MHD_Result ret = reply(c, MHD_HTTP_OK, text, body,
		    (size_t)n);

		free(body);
		return ret;
	}
}

/* libmicrohttpd's own complaints (a malformed request among them): at
 * debug verbosity only, a scraper's noise is not the operator's. */
static void
on_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
on_log(void *cls, const char *fmt, va_list ap)
{
	struct metrics *m = cls;
	char msg[256];

	(void)m;
	if (log_verbosity() < 2)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_debug("metrics: %s", msg);
}

int
metrics_parse_addr(const char *s, char *host, unsigned hostlen,
    uint16_t *port, const char **why)
{
	struct sw_addr a;

	*port = 0;
	if (units_parse_endpoint(s, &a, port, why) < 0)
		return -1;
	if (*port == 0) {
		*why = "not ADDR:PORT (a port is needed, e.g. 127.0.0.1:9187)";
		return -1;
	}
	if (inet_ntop(a.family, a.a, host, hostlen) == NULL) {
		*why = "not an address";
		return -1;
	}
	return 0;
}

struct metrics *
metrics_start(const char *addr, const struct metrics_src *src)
{
	struct sockaddr_storage ss;
	struct metrics *m;
	char host[64];
	uint16_t port;
	const char *why;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (metrics_parse_addr(addr, host, sizeof host, &port, &why) < 0) {
		log_err("[sensor] metrics = %s: %s", addr, why);
		return NULL;
	}
	memset(&ss, 0, sizeof ss);
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, host, &s6->sin6_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, host, &s4->sin_addr);
	}
	m = calloc(1, sizeof *m);
	if (m == NULL) {
		log_err("out of memory");
		return NULL;
	}
	m->src = *src;
	snprintf(m->sensor, sizeof m->sensor, "%s", src->sensor ? src->sensor :
	    "");
	m->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, m,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)5,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)8192,
	    MHD_OPTION_EXTERNAL_LOGGER, on_log, m,
	    MHD_OPTION_END);
	if (m->d == NULL) {
		log_err("[sensor] metrics = %s: cannot listen there (in use, "
		    "or not an address of this machine)", addr);
		free(m);
		return NULL;
	}
	log_info("metrics on http://%s%s%s:%u/metrics",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
	    port);
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	MHD_stop_daemon(m->d);
	free(m);
}
