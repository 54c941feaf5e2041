/*
 * alert.c — alert records, their holddown, and their sinks (see alert.h).
 *
 * Two sides. The raising threads (the capture thread) own the holddown
 * table, the rate limit and the producing end of the queue, under their
 * own mutex, which the sink thread never takes; alerts_raise only hashes,
 * looks up and copies bytes into a preallocated slot, and takes the sink's
 * mutex only to wake a sleeping sink. The sink thread owns all that may
 * block or cost: escaping, formatting, syslog(3), the collector socket and
 * its reconnects, the JSON file.
 *
 * Record formats:
 *
 *  logfmt  alert=KIND [subscriber=NAME] key=value ... [suppressed=N]
 *	A value is written bare when it is non-empty printable ASCII without
 *	space, '=', '"' or '\'. Otherwise it is quoted, and inside the quotes
 *	'"' is \", '\' is \\, and every byte below 0x20 or from 0x7f up is
 *	\xHH. So a line is printable ASCII and one line whatever a packet
 *	held, and '%' is just a byte (nothing here is a format string).
 *
 *  JSON	{"ts":"2026-01-01T00:05:00Z","sensor":S,"alert":KIND,
 *	"subscriber":NAME,"key":value,...,"suppressed":N}, one per line.
 *	Strings follow RFC 8259: \" \\ \b \f \n \r \t, \u00XX for the other
 *	control characters and for DEL. Well-formed UTF-8 (RFC 3629: no
 *	overlong forms, surrogates or code points above U+10FFFF) passes
 *	through; a byte that is not part of a well-formed sequence becomes
 *	\u00XX with XX its value, i.e. it is read as Latin-1. Every line is
 *	then valid JSON in valid UTF-8. The price: a reader cannot tell a
 *	stray byte 0xE9 from a genuine U+00E9; JSON has no escape for raw
 *	bytes, and inventing one would break its readers.
 *
 *  RFC 5424 (remote syslog)
 *	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
 *	PRI = facility + warning, TIMESTAMP the packet time in UTC, HOSTNAME
 *	the sensor name, APP-NAME the ident, MSGID the alert kind, MSG the
 *	logfmt line (ASCII, so no BOM). UDP carries one record per datagram
 *	(RFC 5426). TCP uses octet counting, "LEN SP MSG" (RFC 6587 3.4.1),
 *	so that a collector never has to guess where a record ends.
 *
 * Values are cut to ALERTS_VALUE_MAX bytes when copied into the slot, at a
 * UTF-8 character boundary, and end in "..." in both formats.
 *
 * The collector over TCP: a record waits in the queue while the collector
 * is down; reconnects back off from 1 s to 60 s. A flush (or a raiser
 * waiting for room in blocking mode) gets one immediate attempt, and
 * counts the records as failed if that fails, so that exit never hangs on
 * a dead collector. UDP and local syslog cannot tell loss; their records
 * never wait.
 */
#include "alert.h"

#include "config.h"
#include "hash.h"
#include "log.h"
#include "thr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
static void
bump(counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	    memory_order_relaxed);
}

static uint64_t
get(const counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t
absdiff(int64_t x, int64_t y)
{
	/* In unsigned arithmetic: no overflow whatever a pcap claims. */
	return x >= y ? (uint64_t)x - (uint64_t)y : (uint64_t)y - (uint64_t)x;
}

static uint64_t
pow2_at_least(uint64_t v, uint64_t min)
{
	uint64_t p = min;

	while (p < v && p < (UINT64_C(1) << 40))
		p <<= 1;
	return p;
}

/* ------------------------------------------------------------ holddown */

static uint64_t
hold_key(const char *kind, const char *sub)
{
	/* FNV-1a over kind, a separator that tells NULL from "", the
	 * subscriber; then a full mix so that the set index is uniform. */
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	/* cppcheck-suppress arrayIndexOutOfBoundsCond ; a string: its NUL ends the loop */
	for (i = 0; i < KIND_MAX && kind[i]; i++)
		h = (h ^ (unsigned char)kind[i]) * 0x100000001b3ULL;
	h = (h ^ (sub ? 0x100 : 0x200)) * 0x100000001b3ULL;
	for (i = 0; sub && i < ALERTS_VALUE_MAX && sub[i]; i++)
		h = (h ^ (unsigned char)sub[i]) * 0x100000001b3ULL;
	return hash_mix(h);
}

static struct hold *
hold_set(struct alerts *a, uint64_t key)
{
	return &a->hold[(key & (a->nsets - 1)) * HOLD_WAYS];
}

static uint32_t
hold_tag(uint64_t key)
{
	uint32_t t = (uint32_t)(key >> 32);

	return t ? t : 1;
}

/* Returns the entry of key, or NULL. */
static struct hold *
hold_find(struct alerts *a, uint64_t key)
{
	struct hold *s = hold_set(a, key);
	uint32_t tag = hold_tag(key);

	for (unsigned i = 0; i < HOLD_WAYS; i++)
		if (s[i].tag == tag)
			return &s[i];
	return NULL;
}

/* Returns a fresh entry for key: an empty one of its set, or the one
 * that alerted longest ago. */
static struct hold *
hold_insert(struct alerts *a, uint64_t key, int64_t ts)
{
	struct hold *s = hold_set(a, key), *v = &s[0];

	for (unsigned i = 0; i < HOLD_WAYS; i++) {
		if (s[i].tag == 0) {
			v = &s[i];
			goto take;
		}
		if (s[i].last < v->last)
			v = &s[i];
	}
	if (v->suppressed || absdiff(ts, v->last) < a->holddown)
		bump(&a->st_hold_evicted, 1);
take:
	v->tag = hold_tag(key);
	v->suppressed = 0;
	return v;
}

/* Token bucket in packet time, so that a replay limits as live would.
 * Returns 0 with a token taken, -1 over the limit. */
static int
rate_take(struct alerts *a, int64_t ts)
{
	if (!a->bucket_started) {
		a->bucket_started = 1;
		a->bucket_ts = ts;
	} else if (ts > a->bucket_ts) {
		uint64_t el = (uint64_t)ts - (uint64_t)a->bucket_ts;

		if (el > a->burst / a->rate)
			a->tokens = a->burst;
		else if ((a->tokens += el * a->rate) > a->burst)
			a->tokens = a->burst;
		a->bucket_ts = ts;
	} else if (ts < a->bucket_ts) {
		/* Time went back (files out of order): restart from here
		 * rather than wait for the old time to come again. */
		a->bucket_ts = ts;
	}
	if (a->tokens == 0)
		return -1;
	a->tokens--;
	return 0;
}

/* ---------------------------------------------------------- slot codec */

/* Writing a slot. The enc_ functions return 0, or -1 when the item does
 * not fit (enc_field then leaves the slot as it was). */
struct enc {
	unsigned char *p;
	size_t used, cap;
};

static int
enc_put(struct enc *e, const void *b, size_t n)
{
	if (n > e->cap - e->used)
		return -1;
	memcpy(e->p + e->used, b, n);
	e->used += n;
	return 0;
}

static int
enc_u8(struct enc *e, unsigned v)
{
	uint8_t b = (uint8_t)v;

	return enc_put(e, &b, 1);
}

/* A short name from the code: length byte and bytes (escaped later). */
static int
enc_name(struct enc *e, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;

	if (enc_u8(e, (unsigned)n) < 0 || (n && enc_put(e, s, n) < 0))
		return -1;
	return 0;
}

/* Any bytes, cut to max and to the room left: 2 bytes of length, a
 * truncation flag, the bytes. A cut backs up to the start of a UTF-8
 * character, so that only the "..." marks it. */
static int
enc_str(struct enc *e, const char *s, size_t max)
{
	size_t room, n;
	uint8_t hdr[3];
	int trunc = 0;

	if (e->cap - e->used < sizeof hdr)
		return -1;
	if (!s)
		s = "";
	room = e->cap - e->used - sizeof hdr;
	if (max > room)
		max = room;
	n = strnlen(s, max + 1);
	if (n > max) {
		trunc = 1;
		n = max;
		for (int back = 0; back < 3 && n > 0 &&
		     ((unsigned char)s[n] & 0xc0) == 0x80; back++)
			n--;
	}
	hdr[0] = (uint8_t)(n & 0xff);
	hdr[1] = (uint8_t)(n >> 8);
	hdr[2] = (uint8_t)trunc;
	enc_put(e, hdr, sizeof hdr);
	enc_put(e, s, n);
	return 0;
}

static int
enc_field(struct enc *e, const struct alert_field *f)
{
	size_t mark = e->used;
	uint8_t fam;
	int rc;

	rc = enc_u8(e, (unsigned)f->type);
	if (rc == 0)
		rc = enc_name(e, f->key, KEY_MAX);
	if (rc == 0) {
		switch (f->type) {
		case AF_UINT:
			rc = enc_put(e, &f->v.u, sizeof f->v.u);
			break;
		case AF_ADDR:
			fam = f->v.addr.family == AF_INET ? 4 :
			      f->v.addr.family == AF_INET6 ? 6 : 0;
			rc = enc_u8(e, fam);
			if (rc == 0)
				rc = enc_put(e, f->v.addr.a, 16);
			break;
		case AF_STR:
			rc = enc_str(e, f->v.s, ALERTS_VALUE_MAX);
			break;
		default:
			rc = -1;
		}
	}
	if (rc < 0)
		e->used = mark;
	return rc;
}

static void
slot_fill(struct alerts *a, struct slot *s, const char *kind, const char *sub,
    int64_t ts, const struct alert_field *fields, size_t n)
{
	struct enc e = { s->data, 0, sizeof s->data };
	size_t i;

	s->ts = ts;
	s->nfields = 0;
	/* Kind and subscriber are first and bounded, so they always fit. */
	enc_name(&e, kind, KIND_MAX);
	enc_u8(&e, sub ? ENC_SUB : ENC_NOSUB);
	if (sub)
		enc_str(&e, sub, ALERTS_VALUE_MAX);
	for (i = 0; i < n && i < ALERTS_MAX_FIELDS; i++) {
		if (enc_field(&e, &fields[i]) < 0)
			break;
		s->nfields++;
	}
	if (i < n)
		bump(&a->st_fields_dropped, n - i);
	s->used = (uint16_t)e.used;
}

struct dec {
	const unsigned char *p;
	size_t pos;
};

static void
dec_name(struct dec *d, struct strv *v)
{
	v->n = d->p[d->pos++];
	v->p = d->p + d->pos;
	v->trunc = 0;
	d->pos += v->n;
}

static void
dec_str(struct dec *d, struct strv *v)
{
	v->n = d->p[d->pos] | (size_t)d->p[d->pos + 1] << 8;
	v->trunc = d->p[d->pos + 2];
	v->p = d->p + d->pos + 3;
	d->pos += 3 + v->n;
}

/* The slot's bytes were written by slot_fill on our side, so they are
 * read without checks beyond what slot_fill guarantees. */
static void
slot_parse(const struct slot *s, struct rec *r)
{
	struct dec d = { s->data, 0 };

	r->ts = s->ts;
	r->suppressed = s->suppressed;
	dec_name(&d, &r->kind);
	r->has_sub = d.p[d.pos++] == ENC_SUB;
	if (r->has_sub)
		dec_str(&d, &r->sub);
	r->nf = s->nfields;
	for (unsigned i = 0; i < r->nf; i++) {
		struct rfield *f = &r->f[i];
		uint8_t fam;

		f->type = d.p[d.pos++];
		dec_name(&d, &f->key);
		switch (f->type) {
		case AF_UINT:
			memcpy(&f->u, d.p + d.pos, sizeof f->u);
			d.pos += sizeof f->u;
			break;
		case AF_ADDR:
			fam = d.p[d.pos++];
			f->addr.family = fam == 4 ? AF_INET : fam == 6 ? AF_INET6 : 0;
			memcpy(f->addr.a, d.p + d.pos, 16);
			d.pos += 16;
			break;
		default:
			dec_str(&d, &f->s);
		}
	}
}

/* ---------------------------------------------------------- formatting */

static void
sb_put(struct sbuf *b, const void *s, size_t n)
{
	if (b->over || n > b->cap - b->n) {
		b->over = 1;
		return;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void
sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void
sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

static void
sb_u64(struct sbuf *b, uint64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof t, "%" PRIu64, v);

	sb_put(b, t, (size_t)n);
}

static void
sb_hex(struct sbuf *b, const char *prefix, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	sb_puts(b, prefix);
	sb_putc(b, hex[c >> 4]);
	sb_putc(b, hex[c & 15]);
}

/* Returns the NUL-terminated text, or NULL if it did not fit. */
static const char *
sb_str(struct sbuf *b)
{
	if (b->over)
		return NULL;
	b->p[b->n] = '\0';
	return b->p;
}

/* Keys and kinds come from our code, but are forced into [a-z0-9_]
 * anyway: a slip there must not be able to break a line either. */
static void
put_name(struct sbuf *b, const struct strv *v)
{
	if (v->n == 0)
		sb_putc(b, '_');
	for (size_t i = 0; i < v->n; i++) {
		unsigned char c = v->p[i];

		sb_putc(b, (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ?
		    (char)c : '_');
	}
}

static void
lf_value(struct sbuf *b, const struct strv *v)
{
	int quote = v->n == 0 && !v->trunc;

	for (size_t i = 0; i < v->n && !quote; i++) {
		unsigned char c = v->p[i];

		quote = c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\';
	}
	if (quote)
		sb_putc(b, '"');
	for (size_t i = 0; i < v->n; i++) {
		unsigned char c = v->p[i];

		if (c == '"' || c == '\\') {
			sb_putc(b, '\\');
			sb_putc(b, (char)c);
		} else if (c < 0x20 || c >= 0x7f) {
			sb_hex(b, "\\x", c);
		} else {
			sb_putc(b, (char)c);
		}
	}
	if (v->trunc)
		sb_puts(b, "...");
	if (quote)
		sb_putc(b, '"');
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629, table 3-7 of
 * Unicode), or 0 if the byte at p does not start one. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		need = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		need = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;		/* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f;		/* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90;		/* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f;		/* above U+10FFFF */
	if (n < need || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < need; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return need;
}

static void
js_str(struct sbuf *b, const struct strv *v)
{
	size_t i = 0, len;

	sb_putc(b, '"');
	while (i < v->n) {
		unsigned char c = v->p[i];

		if (c >= 0x80) {
			if ((len = utf8_len(v->p + i, v->n - i)) != 0) {
				sb_put(b, v->p + i, len);
				i += len;
			} else {
				sb_hex(b, "\\u00", c);
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': sb_puts(b, "\\\""); break;
		case '\\': sb_puts(b, "\\\\"); break;
		case '\b': sb_puts(b, "\\b"); break;
		case '\f': sb_puts(b, "\\f"); break;
		case '\n': sb_puts(b, "\\n"); break;
		case '\r': sb_puts(b, "\\r"); break;
		case '\t': sb_puts(b, "\\t"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				sb_hex(b, "\\u00", c);
			else
				sb_putc(b, (char)c);
		}
		i++;
	}
	if (v->trunc)
		sb_puts(b, "...");
	sb_putc(b, '"');
}

static void
put_addr(struct sbuf *b, const struct sw_addr *ad)
{
	char t[INET6_ADDRSTRLEN];

	if ((ad->family != AF_INET && ad->family != AF_INET6) ||
	    !inet_ntop(ad->family, ad->a, t, sizeof t))
		strcpy(t, "invalid");
	sb_puts(b, t);
}

/* ISO 8601 / RFC 3339 in UTC, the form both JSON and RFC 5424 want. */
static void
fmt_time(char *out, size_t len, int64_t ts)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%s", "1970-01-01T00:00:00Z");
}

/* Returns the line, or NULL if it did not fit (cannot happen with the
 * slot bounds; counted as failed if it ever does). */
static const char *
fmt_logfmt(char *buf, const struct rec *r)
{
	struct sbuf b = { buf, 0, LINE_BYTES, 0 };

	sb_puts(&b, "alert=");
	put_name(&b, &r->kind);
	if (r->has_sub) {
		sb_puts(&b, " subscriber=");
		lf_value(&b, &r->sub);
	}
	for (unsigned i = 0; i < r->nf; i++) {
		const struct rfield *f = &r->f[i];

		sb_putc(&b, ' ');
		put_name(&b, &f->key);
		sb_putc(&b, '=');
		if (f->type == AF_UINT)
			sb_u64(&b, f->u);
		else if (f->type == AF_ADDR)
			put_addr(&b, &f->addr);
		else
			lf_value(&b, &f->s);
	}
	if (r->suppressed) {
		sb_puts(&b, " suppressed=");
		sb_u64(&b, r->suppressed);
	}
	return sb_str(&b);
}

/* Returns the object without newline, or NULL if it did not fit. */
static const char *
fmt_json(const struct alerts *a, char *buf, const struct rec *r)
{
	struct sbuf b = { buf, 0, LINE_BYTES, 0 };
	char ts[64];

	fmt_time(ts, sizeof ts, r->ts);
	sb_puts(&b, "{\"ts\":\"");
	sb_puts(&b, ts);
	sb_puts(&b, "\",\"sensor\":");
	sb_puts(&b, a->sensor_json);
	sb_puts(&b, ",\"alert\":\"");
	put_name(&b, &r->kind);
	sb_putc(&b, '"');
	if (r->has_sub) {
		sb_puts(&b, ",\"subscriber\":");
		js_str(&b, &r->sub);
	}
	for (unsigned i = 0; i < r->nf; i++) {
		const struct rfield *f = &r->f[i];

		sb_puts(&b, ",\"");
		put_name(&b, &f->key);
		sb_puts(&b, "\":");
		if (f->type == AF_UINT) {
			sb_u64(&b, f->u);
		} else if (f->type == AF_ADDR) {
			sb_putc(&b, '"');
			put_addr(&b, &f->addr);
			sb_putc(&b, '"');
		} else {
			js_str(&b, &f->s);
		}
	}
	if (r->suppressed) {
		sb_puts(&b, ",\"suppressed\":");
		sb_u64(&b, r->suppressed);
	}
	sb_putc(&b, '}');
	return sb_str(&b);
}

/* The RFC 5424 message around line, octet-counted for TCP. Returns its
 * length, or 0 if it did not fit. */
static size_t
fmt_5424(const struct alerts *a, char *out, size_t cap, const struct rec *r,
    const char *line)
{
	char ts[64], msgid[KIND_MAX + 2], head[512];
	struct sbuf m = { msgid, 0, sizeof msgid - 1, 0 };
	int hn, n;

	fmt_time(ts, sizeof ts, r->ts);
	put_name(&m, &r->kind);
	sb_str(&m);
	hn = snprintf(head, sizeof head, "<%d>1 %s %s %s %s %s - ",
	    a->facility | LOG_WARNING, ts, a->hostname, a->appname, a->procid, msgid);
	if (hn < 0 || (size_t)hn >= sizeof head)
		return 0;
	if (a->kind == CONFIG_SYSLOG_TCP)
		n = snprintf(out, cap, "%zu %s%s", (size_t)hn + strlen(line), head, line);
	else
		n = snprintf(out, cap, "%s%s", head, line);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* ----------------------------------------------------------- the sinks */

static void
remote_close(struct alerts *a)
{
	struct sink *k = &a->sink;

	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

/* Opens a socket to the collector: for UDP once (connected, so that send
 * needs no address), for TCP at every reconnect, resolving again in case
 * the collector moved. Returns the socket, or -1 after logging why (only
 * the first failure of an outage is logged). */
static int
remote_connect(struct alerts *a)
{
	struct sink *k = &a->sink;
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = a->socktype;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(a->host, a->port, &hints, &res)) != 0) {
		if (!k->down_logged)
			log_warn("alerts: syslog collector %s: %s", a->host, gai_strerror(rc));
		k->down_logged = 1;
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t sl = sizeof err;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		err = 0;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			err = errno;
			if (err == EINPROGRESS) {
				pfd.fd = fd;
				pfd.events = POLLOUT;
				rc = poll(&pfd, 1, IO_TIMEOUT_MS);
				if (rc == 0)
					err = ETIMEDOUT;
				else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
					err = errno;
			}
		}
		if (err == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		if (!k->down_logged)
			log_warn("alerts: syslog collector %s port %s: %s",
			    a->host, a->port, strerror(err ? err : EADDRNOTAVAIL));
		k->down_logged = 1;
		return -1;
	}
	if (a->socktype == SOCK_STREAM) {
		/* Blocking sends with a timeout: the sink thread may wait on a
		 * slow collector, but not forever. */
		struct timeval tv = { IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000 };

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		bump(&a->st_reconnects, 1);
		if (k->down_logged)
			log_info("alerts: syslog collector %s port %s reachable again",
			    a->host, a->port);
	}
	k->down_logged = 0;
	return fd;
}

/* Returns 0, or -1 when the record did not go out. */
static int
remote_send(struct alerts *a, const char *msg, size_t len)
{
	struct sink *k = &a->sink;
	size_t off = 0;

	if (a->socktype == SOCK_DGRAM) {
		/* ECONNREFUSED reports an earlier datagram's ICMP error and
		 * consumes it: this one may still arrive, so try it again. */
		for (int i = 0; i < 2; i++)
			if (send(k->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len)
				return 0;
		return -1;
	}
	while (off < len) {
		ssize_t w = send(k->fd, msg + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!k->down_logged)
				log_warn("alerts: syslog collector %s port %s: %s; reconnecting",
				    a->host, a->port, w < 0 ? strerror(errno) : "closed");
			k->down_logged = 1;
			return -1;
		}
		off += (size_t)w;
	}
	return 0;
}

/* A collector that closed the connection (restarted) shows as EOF; a
 * send into it would vanish without an error. Checked before each batch. */
static void
remote_check(struct alerts *a)
{
	struct sink *k = &a->sink;
	char junk[256];

	if (k->fd < 0 || a->socktype != SOCK_STREAM)
		return;
	for (;;) {
		ssize_t r = recv(k->fd, junk, sizeof junk, MSG_DONTWAIT);

		if (r > 0)
			continue;	/* collectors have nothing to say */
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r < 0 && errno == EINTR)
			continue;
		remote_close(a);
		k->next_try_ms = 0;	/* restarted collector: try at once */
		return;
	}
}

static void
remote_backoff(struct alerts *a)
{
	struct sink *k = &a->sink;

	k->next_try_ms = now_ms() + k->backoff_ms;
	k->backoff_ms = k->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : k->backoff_ms * 2;
}

/* Returns 0 with a socket, -1 if none now (backing off, or failed). */
static int
remote_ready(struct alerts *a, int force)
{
	struct sink *k = &a->sink;

	if (k->fd >= 0)
		return 0;
	if (!force && now_ms() < k->next_try_ms)
		return -1;
	if ((k->fd = remote_connect(a)) >= 0) {
		k->backoff_ms = BACKOFF_MIN_MS;
		return 0;
	}
	remote_backoff(a);
	return -1;
}

/* Sends one record to the collector. Returns 0, or -1 (the connection
 * is closed and the record not sent). */
static int
remote_record(struct alerts *a, const struct rec *r)
{
	struct sink *k = &a->sink;
	const char *line = fmt_logfmt(k->line, r);
	size_t len = line ? fmt_5424(a, k->frame, sizeof k->frame, r, line) : 0;

	if (len == 0) {
		bump(&a->st_failed, 1);	/* unformattable: skip, not retry */
		return 0;
	}
	if (remote_send(a, k->frame, len) < 0) {
		if (a->socktype == SOCK_DGRAM) {
			bump(&a->st_failed, 1);
			return 0;
		}
		remote_close(a);
		remote_backoff(a);
		return -1;
	}
	bump(&a->st_sent, 1);
	return 0;
}

/* The tap (alerts_set_tap, the ClickHouse writer): the record's fields
 * as strings, numbers and addresses written out as in the JSON line. */
static void
tap_record(struct alerts *a, const struct rec *r)
{
	char num[ALERTS_MAX_FIELDS][INET6_ADDRSTRLEN + 24] = { { 0 } };
	struct alerts_tap_rec t = { .ts = r->ts, .suppressed = r->suppressed, .nf = r->nf,
				    .kind = (const char *)r->kind.p, .kind_len = r->kind.n };

	if (r->has_sub) {
		t.sub = (const char *)r->sub.p;
		t.sub_len = r->sub.n;
		t.sub_trunc = r->sub.trunc;
	}
	for (unsigned i = 0; i < r->nf && i < ALERTS_MAX_FIELDS; i++) {
		const struct rfield *f = &r->f[i];
		struct alerts_tap_field *o = &t.f[i];
		struct sbuf b = { num[i], 0, sizeof num[i] - 1, 0 };

		o->key = (const char *)f->key.p;
		o->klen = f->key.n;
		if (f->type == AF_STR) {
			o->val = (const char *)f->s.p;
			o->vlen = f->s.n;
			o->trunc = f->s.trunc;
			continue;
		}
		if (f->type == AF_UINT)
			sb_u64(&b, f->u);
		else
			put_addr(&b, &f->addr);
		o->val = sb_str(&b);
		o->vlen = o->val ? strlen(o->val) : 0;
	}
	atomic_load(&a->tap)(a->tap_arg, &t);
}

void
alerts_set_tap(struct alerts *a, alerts_tap_fn *fn, void *arg)
{
	if (a == NULL)
		return;
	a->tap_arg = arg;
	atomic_store(&a->tap, fn);	/* after tap_arg, for the sink thread */
}

/* The JSON file, the stderr copy and local syslog: sinks that take a
 * record at once or lose it, so their cursor never waits. */
static void
local_record(struct alerts *a, const struct rec *r)
{
	struct sink *k = &a->sink;
	const char *line = NULL, *js;

	if (a->kind == CONFIG_SYSLOG_LOCAL && a->use_syslog) {
		if ((line = fmt_logfmt(k->line, r)) != NULL) {
			syslog(a->facility | LOG_WARNING, "%s", line);
			bump(&a->st_sent, 1);
		} else {
			bump(&a->st_failed, 1);
		}
	}
	if (!a->use_syslog) {
		if (!line)
			line = fmt_logfmt(k->line, r);
		if (line) {
			/* One write for the line and its newline: stderr is
			 * unbuffered, and other threads log there too. */
			size_t n = strlen(line);

			k->line[n] = '\n';
			fwrite(k->line, 1, n + 1, stderr);
			k->line[n] = '\0';
		}
	}
	if (a->json) {
		if ((js = fmt_json(a, k->json, r)) == NULL) {
			bump(&a->st_failed, 1);
			return;
		}
		if (fputs(js, a->json) == EOF || fputc('\n', a->json) == EOF) {
			if (!k->json_err_logged)
				log_err("alerts: %s: %s", a->json_path, strerror(errno));
			k->json_err_logged = 1;
			bump(&a->st_failed, 1);
		}
	}
	if (atomic_load(&a->tap))
		tap_record(a, r);
}

/* After logrotate's mv: new records go to a new file at the old name.
 * The old file is kept when the new one cannot be opened. */
static void
json_reopen(struct alerts *a)
{
	FILE *fp;

	if (!a->json || !atomic_exchange(&a->json_reopen, 0))
		return;
	if ((fp = fopen(a->json_path, "ae")) == NULL) {
		log_err("alerts: reopening %s: %s; still writing the old file", a->json_path,
			strerror(errno));
		return;
	}
	if (fclose(a->json) != 0)
		log_err("alerts: %s (rotated): %s", a->json_path, strerror(errno));
	a->json = fp;
}

static void
json_sync(struct alerts *a)
{
	struct sink *k = &a->sink;

	if (!a->json)
		return;
	if (fflush(a->json) == EOF) {
		if (!k->json_err_logged)
			log_err("alerts: %s: %s", a->json_path, strerror(errno));
		k->json_err_logged = 1;
		clearerr(a->json);
	} else {
		k->json_err_logged = 0;
	}
}

static void
summary_rec(struct rec *r, int64_t ts, uint64_t n)
{
	static const char kind[] = "alerts_dropped", key[] = "count";

	memset(r, 0, sizeof *r);
	r->ts = ts;
	r->kind = (struct strv){ (const unsigned char *)kind, sizeof kind - 1, 0 };
	r->nf = 1;
	r->f[0].key = (struct strv){ (const unsigned char *)key, sizeof key - 1, 0 };
	r->f[0].type = AF_UINT;
	r->f[0].u = n;
}

static int
is_remote(const struct alerts *a)
{
	return a->use_syslog && a->kind != CONFIG_SYSLOG_LOCAL;
}

/* One pass over what is queued up to h. force: a flush or a blocked
 * raiser is waiting, so a collector that is down fails its records. */
static void
sink_pass(struct alerts *a, uint64_t h, uint64_t drops, int64_t drop_ts, int force)
{
	struct sink *k = &a->sink;
	struct rec r;
	uint64_t now = now_ms(), pending;

	json_reopen(a);
	for (; k->jpos < h; k->jpos++) {
		slot_parse(&a->slots[k->jpos & (a->nslots - 1)], &r);
		local_record(a, &r);
	}
	if (!is_remote(a)) {
		k->spos = k->jpos;
	} else {
		remote_check(a);
		while (k->spos < h && remote_ready(a, force) == 0) {
			slot_parse(&a->slots[k->spos & (a->nslots - 1)], &r);
			if (remote_record(a, &r) < 0)
				break;
			k->spos++;
		}
		/* UDP never waits; TCP waits unless someone waits on us. */
		if (k->spos < h && (force || a->socktype == SOCK_DGRAM)) {
			bump(&a->st_failed, h - k->spos);
			k->spos = h;
		}
	}

	if (drops != k->drops_seen) {
		k->drops_seen = drops;
		k->drops_changed_ms = now;
		k->drop_ts = drop_ts;
	}
	pending = k->drops_seen - k->drops_reported;
	if (pending && (force || now - k->drops_changed_ms >= DROP_QUIET_MS ||
			now - k->summary_ms >= DROP_EVERY_MS)) {
		summary_rec(&r, k->drop_ts, pending);
		local_record(a, &r);
		if (is_remote(a))
			k->remote_summary += pending;
		k->drops_reported += pending;
		k->summary_ms = now;
	}
	json_sync(a);
	/* The collector hears of drops after the records before them. */
	if (k->remote_summary && k->spos == h) {
		if (remote_ready(a, force) == 0) {
			summary_rec(&r, k->drop_ts, k->remote_summary);
			if (remote_record(a, &r) == 0)
				k->remote_summary = 0;
		}
		if (k->remote_summary && force) {
			bump(&a->st_failed, 1);
			k->remote_summary = 0;
		}
	}
}

static void
deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
sink_main(void *arg)
{
	struct alerts *a = arg;
	struct sink *k = &a->sink;

	for (;;) {
		uint64_t h, req, drops;
		int force, stop, busy;
		struct timespec until;

		pthread_mutex_lock(&a->smu);
		busy = k->spos < k->jpos || k->remote_summary ||
		    k->drops_seen != k->drops_reported ||
		    get(&a->st_dropped_full) + get(&a->st_dropped_rate) != k->drops_seen;
		if (atomic_load(&a->head) == k->jpos && !a->stop &&
		    a->flush_req == a->flush_done && !atomic_load(&a->raisers_waiting)) {
			/* Announce the sleep, then look again: a raiser either
			 * sees the flag (and signals under smu, which it cannot
			 * do before we wait) or we see its record. */
			atomic_store(&a->sink_sleeping, 1);
			if (atomic_load(&a->head) == k->jpos) {
				deadline(&until, busy ? WAIT_BUSY_MS : WAIT_IDLE_MS);
				pthread_cond_timedwait(&a->wake, &a->smu, &until);
			}
			atomic_store(&a->sink_sleeping, 0);
		}
		h = atomic_load_explicit(&a->head, memory_order_acquire);
		req = a->flush_req;
		stop = a->stop;
		/* One immediate reconnect per flush, not one per pass. */
		force = (req != a->flush_done && req != k->forced_req) ||
		    atomic_load(&a->raisers_waiting) || stop;
		if (force)
			k->forced_req = req;
		pthread_mutex_unlock(&a->smu);

		drops = get(&a->st_dropped_full) + get(&a->st_dropped_rate);
		sink_pass(a, h, drops, atomic_load_explicit(&a->drop_ts, memory_order_relaxed),
		    force);

		pthread_mutex_lock(&a->smu);
		if (atomic_load(&a->tail) != k->spos) {
			atomic_store_explicit(&a->tail, k->spos, memory_order_release);
			if (atomic_load(&a->raisers_waiting))
				pthread_cond_broadcast(&a->space);
		}
		if (k->spos == h && k->drops_reported == drops && !k->remote_summary &&
		    a->flush_done != req) {
			a->flush_done = req;
			pthread_cond_broadcast(&a->flushed);
		}
		if (stop && k->spos == atomic_load(&a->head)) {
			pthread_mutex_unlock(&a->smu);
			break;
		}
		pthread_mutex_unlock(&a->smu);
	}
	return NULL;
}

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
	remote_close(a);
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
	js_str(&sb, &name);
	sb_str(&sb);

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
		if (a->socktype == SOCK_DGRAM && (a->sink.fd = remote_connect(a)) < 0) {
			free_alerts(a);
			return NULL;
		}
	}

	if ((err = thr_start(&a->thr, sink_main, a, "alerts")) != 0) {
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
	key = hold_key(kind, subscriber);
	pthread_mutex_lock(&a->mu);
	head = atomic_load_explicit(&a->head, memory_order_relaxed);
	for (;;) {
		h = hold_find(a, key);
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
	if (rate_take(a, ts) < 0) {
		bump(&a->st_dropped_rate, 1);
		atomic_store_explicit(&a->drop_ts, ts, memory_order_relaxed);
		pthread_mutex_unlock(&a->mu);
		return -1;
	}
	carried = h ? h->suppressed : 0;
	if (!h)
		h = hold_insert(a, key, ts);
	h->last = ts;
	h->suppressed = 0;
	s = &a->slots[head & (a->nslots - 1)];
	slot_fill(a, s, kind, subscriber, ts, fields, n);
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
