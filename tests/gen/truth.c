/*
 * truth.c — per-step, per-subscriber counters and the two truth files;
 * see truth.h and tests/gen/README.md for the formats.
 */
#include "truth.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum col {
	C_BYTES_IN, C_BYTES_OUT, C_PKTS_IN, C_PKTS_OUT, C_FLOWS,
	C_BT_ALLOW_IN, C_BT_ALLOW_OUT, C_BT_PLAIN_IN, C_BT_PLAIN_OUT,
	C_BT_ENC_IN, C_BT_ENC_OUT, C_P2P_IN, C_P2P_OUT,
	C_SMTP_RELAY, C_SMTP_DIRECT_AUTH, C_SMTP_DIRECT_UNAUTH, C_SMTP_DIRECT_TLS,
	C_SMTP_EXEMPT, C_SMTP_RCPT, C_COUNT
};

static const char *const col_names[C_COUNT] = {
	"bytes_in", "bytes_out", "pkts_in", "pkts_out", "flows",
	"bt_allow_in", "bt_allow_out", "bt_plain_in", "bt_plain_out",
	"bt_enc_in", "bt_enc_out", "p2p_in", "p2p_out",
	"smtp_relay", "smtp_direct_auth", "smtp_direct_unauth", "smtp_direct_tls",
	"smtp_exempt", "smtp_rcpt",
};

/* the "in" column of each byte class; "out" follows it */
static const int tclass_col[TC_COUNT] = {
	[TC_NONE] = -1, [TC_BT_ALLOW] = C_BT_ALLOW_IN, [TC_BT_PLAIN] = C_BT_PLAIN_IN,
	[TC_BT_ENC] = C_BT_ENC_IN, [TC_P2P] = C_P2P_IN,
};
static const char *const tclass_names[TC_COUNT] = {
	"-", "allow", "plain", "enc", "p2p",
};
static const int smtp_col[SC_COUNT] = {
	[SC_NONE] = -1, [SC_RELAY] = C_SMTP_RELAY, [SC_DIRECT_AUTH] = C_SMTP_DIRECT_AUTH,
	[SC_DIRECT_UNAUTH] = C_SMTP_DIRECT_UNAUTH, [SC_DIRECT_TLS] = C_SMTP_DIRECT_TLS,
};
static const char *const smtp_names[SC_COUNT] = {
	"-", "relay", "auth", "unauth", "tls",
};

struct truth {
	FILE *fp, *flows;
	uint32_t nsubs, step;
	uint64_t cur;		/* start of the step being counted, seconds */
	int started, rows_begun;
	uint64_t (*row)[C_COUNT];
	uint32_t ndirty;	/* subscribers with a row in this step */
	uint8_t *is_dirty;
};

const char *truth_smtp_class_name(enum smtp_class sc)
{
	return smtp_names[sc];
}

const char *truth_tclass_name(enum tclass tc)
{
	return tclass_names[tc];
}

struct truth *truth_open(const char *path, const char *flows_path,
			 uint32_t nsubs, uint32_t step)
{
	struct truth *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nsubs = nsubs;
	t->step = step;
	if (path) {
		t->fp = fopen(path, "w");
		t->row = calloc(nsubs, sizeof(*t->row));
		t->is_dirty = calloc(nsubs, 1);
		if (!t->fp || !t->row || !t->is_dirty) {
			fprintf(stderr, "spanwatch-gen: %s: %s\n", path, strerror(errno));
			goto fail;
		}
	}
	if (flows_path) {
		t->flows = fopen(flows_path, "w");
		if (!t->flows) {
			fprintf(stderr, "spanwatch-gen: %s: %s\n", flows_path, strerror(errno));
			goto fail;
		}
		fprintf(t->flows, "first_ts\tlast_ts\tproto\tsrc\tsport\tdst\tdport\t"
			"c2s_pkts\tc2s_bytes\ts2c_pkts\ts2c_bytes\tkind\tsubscriber\t"
			"direction\tclass\tinfo_hash\trcpt\tend\n");
	}
	return t;
fail:
	truth_close(t);
	return NULL;
}

void truth_comment(struct truth *t, const char *fmt, ...)
{
	va_list ap;

	if (!t->fp)
		return;
	fputs("# ", t->fp);
	va_start(ap, fmt);
	vfprintf(t->fp, fmt, ap);
	va_end(ap);
	fputc('\n', t->fp);
}

static void flush_step(struct truth *t)
{
	char name[32];

	if (!t->rows_begun) {
		fputs("step\tsubscriber", t->fp);
		for (int c = 0; c < C_COUNT; c++)
			fprintf(t->fp, "\t%s", col_names[c]);
		fputc('\n', t->fp);
		t->rows_begun = 1;
	}
	/* rows in subscriber order, whatever order activity came in */
	for (uint32_t s = 0; s < t->nsubs && t->ndirty; s++) {
		if (!t->is_dirty[s])
			continue;
		snprintf(name, sizeof(name), "cust-%04" PRIu32, s + 1);
		fprintf(t->fp, "%" PRIu64 "\t%s", t->cur, name);
		for (int c = 0; c < C_COUNT; c++)
			fprintf(t->fp, "\t%" PRIu64, t->row[s][c]);
		fputc('\n', t->fp);
		memset(t->row[s], 0, sizeof(t->row[s]));
		t->is_dirty[s] = 0;
		t->ndirty--;
	}
}

/* the row of sub for the step holding ts, flushing finished steps */
static uint64_t *row_at(struct truth *t, uint32_t sub, uint64_t ts_us)
{
	uint64_t s = ts_us / 1000000 / t->step * t->step;

	if (!t->started) {
		t->cur = s;
		t->started = 1;
	} else if (s != t->cur) {
		flush_step(t);
		t->cur = s;
	}
	if (!t->is_dirty[sub]) {
		t->is_dirty[sub] = 1;
		t->ndirty++;
	}
	return t->row[sub];
}

void truth_packet(struct truth *t, uint32_t sub, int in, uint32_t ip_bytes,
		  enum tclass tc, uint64_t ts_us)
{
	uint64_t *r;

	if (!t->fp)
		return;
	r = row_at(t, sub, ts_us);
	r[in ? C_BYTES_IN : C_BYTES_OUT] += ip_bytes;
	r[in ? C_PKTS_IN : C_PKTS_OUT]++;
	if (tclass_col[tc] >= 0)
		r[tclass_col[tc] + !in] += ip_bytes;
}

void truth_flow_start(struct truth *t, uint32_t sub, enum smtp_class sc, int exempt,
		      uint64_t ts_us)
{
	uint64_t *r;

	if (!t->fp)
		return;
	r = row_at(t, sub, ts_us);
	r[C_FLOWS]++;
	if (smtp_col[sc] >= 0)
		r[smtp_col[sc]]++;
	if (exempt && sc != SC_NONE && sc != SC_RELAY)
		r[C_SMTP_EXEMPT]++;
}

void truth_rcpt(struct truth *t, uint32_t sub, uint32_t n, uint64_t ts_us)
{
	if (!t->fp)
		return;
	row_at(t, sub, ts_us)[C_SMTP_RCPT] += n;
}

static void put_ts(FILE *fp, uint64_t us)
{
	fprintf(fp, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

void truth_flow_end(struct truth *t, const struct truth_flow_row *r)
{
	FILE *fp = t->flows;

	if (!fp)
		return;
	put_ts(fp, r->first_us);
	fputc('\t', fp);
	put_ts(fp, r->last_us);
	fprintf(fp, "\t%d\t%s\t%u\t%s\t%u\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64
		"\t%s\t%s\t%s\t%s\t%s\t%" PRIu32 "\t%s\n",
		r->proto, r->src, r->sport, r->dst, r->dport,
		r->pkts[0], r->bytes[0], r->pkts[1], r->bytes[1],
		r->kind, r->sub, r->direction, r->cls, r->info_hash, r->rcpt, r->end);
}

int truth_finish(struct truth *t)
{
	int rc = 0;

	if (t->fp) {
		if (t->started || !t->rows_begun)
			flush_step(t);
		if (fflush(t->fp) != 0 || ferror(t->fp))
			rc = -1;
	}
	if (t->flows && (fflush(t->flows) != 0 || ferror(t->flows)))
		rc = -1;
	if (rc)
		fprintf(stderr, "spanwatch-gen: writing the truth failed\n");
	return rc;
}

int truth_close(struct truth *t)
{
	int rc = 0;

	if (!t)
		return 0;
	if (t->fp && (ferror(t->fp) | fclose(t->fp)))
		rc = -1;
	if (t->flows && (ferror(t->flows) | fclose(t->flows)))
		rc = -1;
	if (rc)
		fprintf(stderr, "spanwatch-gen: writing the truth failed\n");
	free(t->row);
	free(t->is_dirty);
	free(t);
	return rc;
}
