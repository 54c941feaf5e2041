/*
 * alert_int.h — what the alert modules share (alert.c: the API;
 * alert_hold.c: the holddown; alert_fmt.c: slot codec and formats;
 * alert_sink.c: the sink thread). Private to them.
 */
#ifndef SPANWATCH_ALERT_INT_H
#define SPANWATCH_ALERT_INT_H

#include "alert.h"

#include "config.h"
#include "units.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

/* RFC 5424 MSGID is at most 32 characters; our kinds are short names. */
#define KIND_MAX 32
#define KEY_MAX 32
/* A slot is about 1 KiB; 4096 of them are 4 MiB, allocated once. */
#define SLOT_DATA 1000
/* Worst case of one record formatted: every data byte as \u00XX, plus
 * keys, quotes and numbers; far below this. */
#define LINE_BYTES 16384
/* A holddown set is one cache line: a raise costs one miss at most. */
#define HOLD_WAYS 4
#define WAIT_IDLE_MS 1000
#define WAIT_BUSY_MS 200
/* A burst of drops is over when no drop came for this long ... */
#define DROP_QUIET_MS 500
/* ... or, in a flood that does not end, a summary every this often. */
#define DROP_EVERY_MS 10000
#define IO_TIMEOUT_MS 2000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

typedef atomic_uint_fast64_t counter;

/* One queued alert: the raw values, bounded; the sink escapes them. The
 * data holds kind, an optional subscriber, then the fields, each as a
 * type byte, a key and a payload (see slot_fill and slot_parse). */
struct slot {
	int64_t ts;
	uint64_t suppressed;
	uint16_t used;
	uint8_t nfields;
	unsigned char data[SLOT_DATA];
};
/* aligned_alloc wants a multiple of the alignment. */
_Static_assert(sizeof(struct slot) % 64 == 0, "slot size");

enum { ENC_NOSUB, ENC_SUB };

/* What (kind, subscriber) last alerted, for holddown. The table is
 * set-associative: a key lives in one set of HOLD_WAYS entries, and a new
 * key in a full set takes the place of the least recently alerted one.
 * Lookup and eviction are therefore bounded work, and the table never
 * grows. A key is a 64-bit hash: its low bits choose the set, its high 32
 * bits are the tag. A new pair taking an existing pair's holddown needs
 * a tag match within its set, odds 2^-30 per new pair: once in a billion
 * new pairs, one alert is held down that should not be. */
struct hold {
	uint32_t tag;			/* 0: empty */
	uint32_t suppressed;		/* held down since (saturates) */
	int64_t last;			/* packet time of the last emitted */
};
_Static_assert(sizeof(struct hold) * HOLD_WAYS == 64, "a set is a cache line");

struct strv {
	const unsigned char *p;
	size_t n;
	int trunc;
};

struct rfield {
	struct strv key;
	uint8_t type;
	uint64_t u;
	struct sw_addr addr;
	struct strv s;
};

/* A record as the sink sees it: a parsed slot, or a summary line. */
struct rec {
	int64_t ts;
	uint64_t suppressed;
	struct strv kind;
	int has_sub;
	struct strv sub;
	unsigned nf;
	struct rfield f[ALERTS_MAX_FIELDS];
};

struct sbuf {
	char *p;
	size_t n, cap;			/* cap excludes the final NUL */
	int over;
};

/* The sink thread's own state; nothing else touches it. */
struct sink {
	uint64_t jpos;			/* next record for the JSON file, stderr
					 * and local syslog */
	uint64_t spos;			/* next record for the remote collector */
	int fd;				/* collector socket, -1: none */
	int down_logged;
	uint64_t next_try_ms, backoff_ms;
	uint64_t forced_req;		/* flush request already given its
					 * immediate reconnect */
	uint64_t drops_seen, drops_reported, drops_changed_ms, summary_ms;
	int64_t drop_ts;
	uint64_t remote_summary;	/* dropped count the collector still
					 * has to be told */
	int json_err_logged;
	char line[LINE_BYTES + 1];
	char json[LINE_BYTES + 1];
	char frame[LINE_BYTES + 512];
};

struct alerts {
	/* Fixed at open. */
	int use_syslog;
	enum config_syslog kind;
	int facility;
	unsigned holddown;
	int block;
	char host[CONFIG_HOST_MAX + 1];
	char port[8];
	int socktype;
	char hostname[UNITS_NAME_MAX + 1];	/* RFC 5424 HOSTNAME */
	char appname[CONFIG_IDENT_MAX + 1];	/* RFC 5424 APP-NAME */
	char procid[24];
	char sensor_json[6 * UNITS_NAME_MAX + 3];
	char *json_path;
	FILE *json;
	atomic_int json_reopen;		/* SIGHUP: the sink reopens json_path */

	/* The raisers' side, under mu. The sink thread never takes mu, so
	 * a raiser waits at most for another raiser. */
	pthread_mutex_t mu;
	struct hold *hold;
	uint64_t nsets;
	uint64_t tokens, burst, rate;
	int64_t bucket_ts;
	int bucket_started;

	/* The queue: slots [tail, head) belong to the sink thread, the
	 * others to the raisers. head is written under mu, tail by the
	 * sink; each side reads the other's with acquire. */
	struct slot *slots;
	uint64_t nslots;
	_Atomic uint64_t head, tail;
	_Atomic int64_t drop_ts;	/* packet time of the last drop */
	atomic_int sink_sleeping;	/* raisers wake it only then */
	atomic_uint raisers_waiting;	/* blocking mode: for room */

	/* Sleeping, waking, flushing and stopping, under smu. */
	pthread_mutex_t smu;
	pthread_cond_t wake;		/* sink: work, flush or stop */
	pthread_cond_t space;		/* blocked raisers: the sink took records */
	pthread_cond_t flushed;
	int stop;
	uint64_t flush_req, flush_done;

	/* Counters: each has one writer at a time (the mutex holder or the
	 * sink thread), readers are anywhere. */
	counter st_kind[ALERTS_NKINDS];
	counter st_raised, st_suppressed, st_dropped_full, st_dropped_rate,
	    st_fields_dropped, st_hold_evicted, st_sent, st_failed, st_reconnects;

	pthread_t thr;
	struct sink sink;
	_Atomic(alerts_tap_fn *) tap;	/* alerts_set_tap, read by the sink */
	void *tap_arg;
};

/* One writer at a time, so a plain load and store is enough and costs no
 * locked instruction on the capture thread. */
static inline void
bump(counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static inline uint64_t
get(const counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static inline uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static inline uint64_t
absdiff(int64_t x, int64_t y)
{
	/* In unsigned arithmetic: no overflow whatever a pcap claims. */
	return x >= y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x;
}

static inline uint64_t
pow2_at_least(uint64_t v, uint64_t min)
{
	uint64_t p = min;

	while (p < v && p < (UINT64_C(1) << 40))
		p <<= 1;
	return p;
}

/* alert_hold.c */
uint64_t alert_hold_key(const char *kind, const char *sub);
struct hold *alert_hold_find(struct alerts *a, uint64_t key);
struct hold *alert_hold_insert(struct alerts *a, uint64_t key, int64_t ts);
int alert_hold_rate(struct alerts *a, int64_t ts);

/* alert_fmt.c */
void alert_fmt_fill(struct alerts *a, struct slot *s, const char *kind,
    const char *sub, int64_t ts, const struct alert_field *fields, size_t n);
void alert_fmt_parse(const struct slot *s, struct rec *r);
void alert_fmt_tap(struct alerts *a, const struct rec *r);
const char *alert_fmt_end(struct sbuf *b);
void alert_fmt_js_str(struct sbuf *b, const struct strv *v);
const char *alert_fmt_logfmt(char *buf, const struct rec *r);
const char *alert_fmt_json(const struct alerts *a, char *buf,
    const struct rec *r);
size_t alert_fmt_5424(const struct alerts *a, char *out, size_t cap,
    const struct rec *r, const char *line);

/* alert_sink.c */
void alert_sink_remote_close(struct alerts *a);
int alert_sink_remote_connect(struct alerts *a);
void *alert_sink_main(void *arg);

#endif
