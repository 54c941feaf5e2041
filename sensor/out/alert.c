/*
 * alert.c — alert records: the API of alert.h (open, raise, flush, close).
 * The holddown is alert_hold.c, the slot codec and the three formats
 * alert_fmt.c, the sink thread and its transports alert_sink.c; what
 * they share is alert_int.h.
 *
 * Two sides. The raising threads (the capture thread) own the holddown
 * table, the rate limit and the producing end of the queue, under their
 * own mutex, which the sink thread never takes; alerts_raise only hashes,
 * looks up and copies bytes into a preallocated slot, and takes the sink's
 * mutex only to wake a sleeping sink. The sink thread owns all that may
 * block or cost: escaping, formatting, syslog(3), the collector socket and
 * its reconnects, the JSON file.
 */
#include "alert_int.h"

#include "config.h"
#include "hash.h"
#include "log.h"
#include "thr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
/* ------------------------------------------------------------- the API */

/* Forces a configured name into RFC 5424's PRINTUSASCII (%d33-126). */
static void
copy_printable(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < cap; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f ? src[i] : '_';
	dst[i] = '\0';
	if (i == 0)
		snprintf(dst, cap, "%s", "-");	/* NILVALUE */
}

static void
free_alerts(struct alerts *a)
{
	if (a->json)
		fclose(a->json);
	alert_sink_remote_close(a);
	pthread_cond_destroy(&a->flushed);
	pthread_cond_destroy(&a->space);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->smu);
	pthread_mutex_destroy(&a->mu);
	free(a->json_path);
	free(a->hold);
	free(a->slots);
	free(a);
}

struct alerts *
alerts_open(const struct sw_config *cfg, const struct alerts_opts *o)
{
	/* openlog keeps the pointer, and syslog(3) state outlives us. */
	static char ident[CONFIG_IDENT_MAX + 1];
	struct alerts_opts def = { .use_syslog = 1 };
	struct alerts *a;
	pthread_condattr_t ca;
	struct strv name;
	struct sbuf sb;
	int err;
	const char *path;
	uint64_t nhold;

	if (!o)
		o = &def;
	if ((a = calloc(1, sizeof *a)) == NULL) {
		log_err("alerts: out of memory");
		return NULL;
	}
	a->sink.fd = -1;
	a->sink.backoff_ms = BACKOFF_MIN_MS;
	a->sink.summary_ms = now_ms();	/* the first burst waits its quiet too */
	a->use_syslog = o->use_syslog;
	a->kind = cfg->alerts.syslog.kind;
	a->facility = cfg->alerts.facility;
	a->holddown = cfg->alerts.holddown;
	a->block = o->block;
	a->nslots = pow2_at_least(o->queue_slots ? o->queue_slots : ALERTS_QUEUE_SLOTS, 2);
	nhold = pow2_at_least(o->hold_entries ? o->hold_entries : ALERTS_HOLD_ENTRIES, HOLD_WAYS);
	a->nsets = nhold / HOLD_WAYS;
	a->burst = o->burst ? o->burst : ALERTS_BURST;
	a->rate = o->rate ? o->rate : ALERTS_RATE;
	a->tokens = a->burst;
	copy_printable(a->hostname, sizeof a->hostname, cfg->sensor.name);
	copy_printable(a->appname, sizeof a->appname, cfg->alerts.ident);
	snprintf(a->procid, sizeof a->procid, "%ld", (long)getpid());
	name = (struct strv){ (const unsigned char *)cfg->sensor.name,
			      strnlen(cfg->sensor.name, UNITS_NAME_MAX), 0 };
	sb = (struct sbuf){ a->sensor_json, 0, sizeof a->sensor_json - 1, 0 };
	alert_fmt_js_str(&sb, &name);
	alert_fmt_end(&sb);

	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->smu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&a->space, NULL);
	pthread_cond_init(&a->flushed, NULL);

	/* Cache-line aligned, so that a holddown set is one line; written
	 * now, so that the capture thread never takes their page faults. */
	a->slots = aligned_alloc(64, a->nslots * sizeof *a->slots);
	a->hold = aligned_alloc(64, nhold * sizeof *a->hold);
	if (!a->slots || !a->hold) {
		log_err("alerts: out of memory");
		free_alerts(a);
		return NULL;
	}
	memset(a->slots, 0, a->nslots * sizeof *a->slots);
	memset(a->hold, 0, nhold * sizeof *a->hold);

	path = o->json_path ? o->json_path : cfg->alerts.json;
	if (path) {
		if ((a->json_path = strdup(path)) == NULL ||
		    (a->json = fopen(path, "ae")) == NULL) {
			log_err("alerts: %s: %s", path, strerror(errno));
			free_alerts(a);
			return NULL;
		}
	}

	if (a->use_syslog && a->kind == CONFIG_SYSLOG_LOCAL) {
		snprintf(ident, sizeof ident, "%s", cfg->alerts.ident);
		openlog(ident, LOG_PID | LOG_NDELAY, cfg->alerts.facility);
	} else if (a->use_syslog) {
		struct addrinfo hints, *res;
		int rc;

		snprintf(a->host, sizeof a->host, "%s", cfg->alerts.syslog.host);
		snprintf(a->port, sizeof a->port, "%u", (unsigned)cfg->alerts.syslog.port);
		a->socktype = a->kind == CONFIG_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
		/* A name that does not resolve is a configuration error; a
		 * collector that does not answer is not. */
		memset(&hints, 0, sizeof hints);
		hints.ai_socktype = a->socktype;
		hints.ai_flags = AI_NUMERICSERV;
		if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
			log_err("alerts: syslog collector %s: %s", a->host, gai_strerror(rc));
			free_alerts(a);
			return NULL;
		}
		freeaddrinfo(res);
		if (a->socktype == SOCK_DGRAM && (a->sink.fd = alert_sink_remote_connect(a)) < 0) {
			free_alerts(a);
			return NULL;
		}
	}

	if ((err = thr_start(&a->thr, alert_sink_main, a, "alerts")) != 0) {
		log_err("alerts: cannot start the sink thread: %s", strerror(err));
		free_alerts(a);
		return NULL;
	}
	return a;
}

/* Blocking mode: waits until the sink has taken a record. Returns 0,
 * or -1 when the sink is stopping. */
static int
wait_space(struct alerts *a)
{
	int rc;

	pthread_mutex_lock(&a->smu);
	atomic_fetch_add(&a->raisers_waiting, 1);
	pthread_cond_signal(&a->wake);
	while (!a->stop && atomic_load(&a->head) - atomic_load(&a->tail) >= a->nslots)
		pthread_cond_wait(&a->space, &a->smu);
	atomic_fetch_sub(&a->raisers_waiting, 1);
	rc = a->stop ? -1 : 0;
	pthread_mutex_unlock(&a->smu);
	return rc;
}

static void
wake_sink(struct alerts *a)
{
	/* Only a sleeping sink needs the wake-up (a futex call); a busy
	 * one finds the record on its next pass. */
	if (atomic_load(&a->sink_sleeping)) {
		pthread_mutex_lock(&a->smu);
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->smu);
	}
}

void
alerts_reopen(struct alerts *a)
{
	if (!a)
		return;
	atomic_store(&a->json_reopen, 1);
	pthread_mutex_lock(&a->smu);
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->smu);
}

const char *const alerts_kind_names[ALERTS_NKINDS] = {
	"smtp_direct", "smtp_surge", "bt_volume", "capture_drops", "flow_table_full", "other",
};

/* A bounded label set for the metrics: SPEC's kinds, then "other". */
static size_t
kind_index(const char *kind)
{
	size_t i;

	for (i = 0; i + 1 < ALERTS_NKINDS; i++)
		if (strcmp(kind, alerts_kind_names[i]) == 0)
			break;
	return i;
}

int
alerts_raise(struct alerts *a, const char *kind, const char *subscriber, time_t ts,
    const struct alert_field *fields, size_t n)
{
	struct hold *h;
	struct slot *s;
	uint64_t key, carried, head;

	if (!a)
		return 0;
	if (!kind)
		kind = "";
	key = alert_hold_key(kind, subscriber);
	pthread_mutex_lock(&a->mu);
	head = atomic_load_explicit(&a->head, memory_order_relaxed);
	for (;;) {
		h = alert_hold_find(a, key);
		if (h && a->holddown && absdiff(ts, h->last) < a->holddown) {
			h->suppressed += h->suppressed != UINT32_MAX;
			bump(&a->st_suppressed, 1);
			pthread_mutex_unlock(&a->mu);
			return 0;
		}
		if (head - atomic_load_explicit(&a->tail, memory_order_acquire) < a->nslots)
			break;
		/* Blocking mode (files): the sink runs on wall time, so
		 * waiting costs the replay time, never an alert. Other
		 * raisers wait on mu meanwhile and the table stays as it
		 * was, but look again all the same. */
		if (!a->block || wait_space(a) < 0) {
			bump(&a->st_dropped_full, 1);
			atomic_store_explicit(&a->drop_ts, ts, memory_order_relaxed);
			pthread_mutex_unlock(&a->mu);
			return -1;
		}
	}
	if (alert_hold_rate(a, ts) < 0) {
		bump(&a->st_dropped_rate, 1);
		atomic_store_explicit(&a->drop_ts, ts, memory_order_relaxed);
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	carried = h ? h->suppressed : 0;
	if (!h)
		h = alert_hold_insert(a, key, ts);
	h->last = ts;
	h->suppressed = 0;
	s = &a->slots[head & (a->nslots - 1)];
	alert_fmt_fill(a, s, kind, subscriber, ts, fields, n);
	s->suppressed = carried;
	/* seq_cst: ordered before the load of sink_sleeping below, which
	 * pairs with the sink's store of it and its load of head. */
	atomic_store(&a->head, head + 1);
	bump(&a->st_raised, 1);
	bump(&a->st_kind[kind_index(kind)], 1);
	pthread_mutex_unlock(&a->mu);
	wake_sink(a);
	return 1;
}

uint64_t
alerts_count(const struct alerts *a)
{
	return a ? get(&a->st_raised) : 0;
}

void
alerts_stats(const struct alerts *a, struct alerts_stats *st)
{
	memset(st, 0, sizeof *st);
	if (!a)
		return;
	st->raised = get(&a->st_raised);
	for (size_t i = 0; i < ALERTS_NKINDS; i++)
		st->by_kind[i] = get(&a->st_kind[i]);
	st->suppressed = get(&a->st_suppressed);
	st->dropped_full = get(&a->st_dropped_full);
	st->dropped_rate = get(&a->st_dropped_rate);
	st->fields_dropped = get(&a->st_fields_dropped);
	st->hold_evicted = get(&a->st_hold_evicted);
	st->sent = get(&a->st_sent);
	st->failed = get(&a->st_failed);
	st->reconnects = get(&a->st_reconnects);
}

void
alerts_flush(struct alerts *a)
{
	uint64_t my;

	if (!a)
		return;
	pthread_mutex_lock(&a->smu);
	my = ++a->flush_req;
	pthread_cond_signal(&a->wake);
	while (a->flush_done < my)
		pthread_cond_wait(&a->flushed, &a->smu);
	pthread_mutex_unlock(&a->smu);
}

void
alerts_close(struct alerts *a)
{
	if (!a)
		return;
	alerts_flush(a);
	pthread_mutex_lock(&a->smu);
	a->stop = 1;
	pthread_cond_signal(&a->wake);
	pthread_cond_broadcast(&a->space);
	pthread_mutex_unlock(&a->smu);
	pthread_join(a->thr, NULL);
	free_alerts(a);
}


void
alerts_set_tap(struct alerts *a, alerts_tap_fn *fn, void *arg)
{
	if (a == NULL)
		return;
	a->tap_arg = arg;
	atomic_store(&a->tap, fn);	/* after tap_arg, for the sink thread */
}
