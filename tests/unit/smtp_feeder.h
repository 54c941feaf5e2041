/*
 * smtp_feeder.h — what the SMTP parser's unit tests share: a feeder that
 * keeps each direction's sequence number (starting near the 2^32 wrap, so
 * every test crosses it), scripts of messages, and the comparison of two
 * sessions' results as the collector reads them. Included by
 * test_smtp_parse.c and test_smtp_data.c only.
 */
#ifndef SPANWATCH_SMTP_FEEDER_H
#define SPANWATCH_SMTP_FEEDER_H

#define C SMTP_C2S
#define S SMTP_S2C

struct msg {
	int dir;
	const char *txt;
};

/* A feeder that keeps each direction's sequence number, starting near
 * the 2^32 wrap so that every test crosses it. */
struct feeder {
	struct smtp_sess s;
	uint32_t seq[2];
};

static inline void
feeder_init(struct feeder *f)
{
	smtp_parse_init(&f->s);
	f->seq[C] = 0xfffffe00u;
	f->seq[S] = 0x7ffffff0u;
	smtp_parse_syn(&f->s, C, f->seq[C] - 1);
	smtp_parse_syn(&f->s, S, f->seq[S] - 1);
}

static inline uint32_t
feed(struct feeder *f, int dir, const void *p, size_t n)
{
	uint32_t ev = smtp_parse_feed(&f->s, (enum smtp_dir)dir, f->seq[dir], p, n);

	f->seq[dir] += (uint32_t)n;
	return ev;
}

static inline uint32_t
feeds(struct feeder *f, int dir, const char *txt)
{
	return feed(f, dir, txt, strlen(txt));
}

static inline void
run(struct feeder *f, const struct msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		feeds(f, m[i].dir, m[i].txt);
}

#define RUN(f, script) run((f), (script), sizeof(script) / sizeof((script)[0]))

/* The results, as the collector reads them. */
static inline void
assert_same(const struct smtp_sess *a, const struct smtp_sess *b)
{
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->rcpt, b->rcpt);
	assert_int_equal(a->rcpt_ok, b->rcpt_ok);
	assert_int_equal(a->rcpt_temp, b->rcpt_temp);
	assert_int_equal(a->rcpt_fail, b->rcpt_fail);
	assert_int_equal(a->mails, b->mails);
	assert_int_equal(a->msgs, b->msgs);
	assert_int_equal(a->greeting, b->greeting);
	assert_int_equal(a->auth_mech, b->auth_mech);
	assert_string_equal(a->helo, b->helo);
	assert_string_equal(a->from_domain, b->from_domain);
}

#endif
