/*
 * alert_fmt.c — the alert slot codec (what alerts_raise copies into a
 * queue slot, and the sink thread reads back) and the three record
 * formatters. Pure: no I/O.
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

void
alert_fmt_fill(struct alerts *a, struct slot *s, const char *kind, const char *sub,
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
void
alert_fmt_parse(const struct slot *s, struct rec *r)
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
const char *
alert_fmt_end(struct sbuf *b)
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

void
alert_fmt_js_str(struct sbuf *b, const struct strv *v)
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
const char *
alert_fmt_logfmt(char *buf, const struct rec *r)
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
	return alert_fmt_end(&b);
}

/* Returns the object without newline, or NULL if it did not fit. */
const char *
alert_fmt_json(const struct alerts *a, char *buf, const struct rec *r)
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
		alert_fmt_js_str(&b, &r->sub);
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
			alert_fmt_js_str(&b, &f->s);
		}
	}
	if (r->suppressed) {
		sb_puts(&b, ",\"suppressed\":");
		sb_u64(&b, r->suppressed);
	}
	sb_putc(&b, '}');
	return alert_fmt_end(&b);
}

/* The RFC 5424 message around line, octet-counted for TCP. Returns its
 * length, or 0 if it did not fit. */
size_t
alert_fmt_5424(const struct alerts *a, char *out, size_t cap, const struct rec *r,
    const char *line)
{
	char ts[64], msgid[KIND_MAX + 2], head[512];
	struct sbuf m = { msgid, 0, sizeof msgid - 1, 0 };
	int hn, n;

	fmt_time(ts, sizeof ts, r->ts);
	put_name(&m, &r->kind);
	alert_fmt_end(&m);
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


/* The tap (alerts_set_tap, the ClickHouse writer): the record's fields
 * as strings, numbers and addresses written out as in the JSON line. */
void
alert_fmt_tap(struct alerts *a, const struct rec *r)
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
		o->val = alert_fmt_end(&b);
		o->vlen = o->val ? strlen(o->val) : 0;
	}
	atomic_load(&a->tap)(a->tap_arg, &t);
}
