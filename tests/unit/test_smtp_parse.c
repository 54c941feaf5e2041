/*
 * test_smtp_parse.c — the SMTP session follower: every command and reply
 * it tracks, a full session split at every byte position (in order and
 * with the two halves swapped), pipelining, retransmissions, reordering
 * and loss, AUTH PLAIN/LOGIN success and failure, STARTTLS and implicit
 * TLS, over-long lines and garbage (DATA and BDAT bodies, missing
 * replies: test_smtp_data.c). Also measures throughput (printed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "smtp_parse.h"

#include "smtp_feeder.h"

/* A whole unauthenticated session: greeting, EHLO refused then HELO,
 * one message to three recipients (one refused) whose body holds
 * command-like and dot-stuffed lines, a second transaction, QUIT. */
static const struct msg full[] = {
	{ S, "220 mx.example.net ESMTP ready\r\n" },
	{ C, "EHLO bot.example\r\n" },
	{ S, "500 5.5.1 unknown\r\n" },
	{ C, "HELO bot.example\r\n" },
	{ S, "250 mx.example.net\r\n" },
	{ C, "MAIL FROM:<alice.secret@Sender.Example.ORG> SIZE=1000\r\n" },
	{ S, "250 2.1.0 ok\r\n" },
	{ C, "RCPT TO:<a@x.example>\r\n" },
	{ S, "250 2.1.5 ok\r\n" },
	{ C, "RCPT TO:<b@x.example>\r\n" },
	{ S, "550 5.1.1 no such user\r\n" },
	{ C, "rcpt to:<c@x.example>\r\n" },
	{ S, "250 2.1.5 ok\r\n" },
	{ C, "DATA\r\n" },
	{ S, "354 go ahead\r\n" },
	{ C, "Subject: hi\r\n\r\nRCPT TO:<hidden@x.example>\r\n..\r\n"
	     "..RCPT TO:<stuffed@x.example>\r\n.RCPT TO:<dot@x>\r\nQUIT\r\n.\r\n" },
	{ S, "250 2.0.0 queued\r\n" },
	{ C, "RSET\r\n" },
	{ S, "250 ok\r\n" },
	{ C, "MAIL FROM:<>\r\n" },
	{ S, "250 ok\r\n" },
	{ C, "RCPT TO:<d@y.example>\r\n" },
	{ S, "451 4.7.1 try later\r\n" },
	{ C, "QUIT\r\n" },
	{ S, "221 bye\r\n" },
};

static void
check_full(const struct smtp_sess *s)
{
	assert_int_equal(s->greeting, 220);
	assert_true(s->flags & SMTP_F_GREETING);
	assert_true(s->flags & SMTP_F_HELO);
	assert_string_equal(s->helo, "bot.example");
	assert_true(s->flags & SMTP_F_MAIL);
	assert_int_equal(s->mails, 2);
	assert_string_equal(s->from_domain, "");	/* the latest: <> */
	assert_int_equal(s->rcpt, 4);
	assert_int_equal(s->rcpt_ok, 2);
	assert_int_equal(s->rcpt_fail, 1);
	assert_int_equal(s->rcpt_temp, 1);
	assert_int_equal(s->msgs, 1);
	assert_true(s->flags & SMTP_F_DATA);
	assert_true(s->flags & SMTP_F_QUIT);
	assert_true(s->flags & SMTP_F_DONE);
	assert_false(s->flags & (SMTP_F_AUTH | SMTP_F_TLS | SMTP_F_STARTTLS | SMTP_F_NOT_SMTP));
	assert_int_equal(s->st.gaps, 0);
	assert_int_equal(s->st.garbage, 0);
	assert_int_equal(s->st.forced, 0);
	assert_int_equal(s->st.unmatched, 0);
}

static void
test_full_session(void **st)
{
	struct feeder f;

	feeder_init(&f);
	RUN(&f, full);
	check_full(&f.s);
	/* The first MAIL's domain, lower-cased, while it was the latest. */
	feeder_init(&f);
	run(&f, full, 7);
	assert_string_equal(f.s.from_domain, "sender.example.org");
}

/* The session's bytes as one stream per direction, cut at global byte
 * position pos (0: not cut); when swap, the second piece of the cut
 * message goes first. */
static void
run_cut(struct feeder *f, const struct msg *m, size_t n, size_t pos, int swap)
{
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(m[i].txt);

		if (pos > at && pos < at + len) {
			size_t k = pos - at;
			uint32_t seq = f->seq[m[i].dir];

			if (swap) {
				smtp_parse_feed(&f->s, (enum smtp_dir)m[i].dir, seq + (uint32_t)k,
						(const uint8_t *)m[i].txt + k, len - k);
				smtp_parse_feed(&f->s, (enum smtp_dir)m[i].dir, seq,
						(const uint8_t *)m[i].txt, k);
			} else {
				smtp_parse_feed(&f->s, (enum smtp_dir)m[i].dir, seq,
						(const uint8_t *)m[i].txt, k);
				smtp_parse_feed(&f->s, (enum smtp_dir)m[i].dir, seq + (uint32_t)k,
						(const uint8_t *)m[i].txt + k, len - k);
			}
			f->seq[m[i].dir] += (uint32_t)len;
		} else {
			feeds(f, m[i].dir, m[i].txt);
		}
		at += len;
	}
}

static size_t
script_len(const struct msg *m, size_t n)
{
	size_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += strlen(m[i].txt);
	return t;
}

static void
test_split_every_byte(void **st)
{
	struct feeder ref, f;
	size_t n = sizeof full / sizeof full[0], total = script_len(full, n);

	feeder_init(&ref);
	RUN(&ref, full);
	for (size_t pos = 1; pos < total; pos++) {
		feeder_init(&f);
		run_cut(&f, full, n, pos, 0);
		assert_same(&ref.s, &f.s);
		check_full(&f.s);
	}
}

static void
test_swapped_every_byte(void **st)
{
	struct feeder ref, f;
	size_t n = sizeof full / sizeof full[0], total = script_len(full, n);

	feeder_init(&ref);
	RUN(&ref, full);
	for (size_t pos = 1; pos < total; pos++) {
		feeder_init(&f);
		run_cut(&f, full, n, pos, 1);
		assert_same(&ref.s, &f.s);
		assert_int_equal(f.s.st.gaps, 0);
	}
}

static void
test_one_byte_chunks(void **st)
{
	struct feeder f;

	feeder_init(&f);
	for (size_t i = 0; i < sizeof full / sizeof full[0]; i++)
		for (const char *p = full[i].txt; *p; p++)
			feed(&f, full[i].dir, p, 1);
	check_full(&f.s);
}

/* RFC 2920: a whole transaction in one segment each way. */
static void
test_pipelining(void **st)
{
	struct feeder f;
	uint32_t ev;

	feeder_init(&f);
	feeds(&f, S, "220-mx.example.net ESMTP\r\n220 second line\r\n");
	feeds(&f, C, "EHLO host.example\r\n");
	feeds(&f, S, "250-mx.example.net\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
	ev = feeds(&f, C, "MAIL FROM:<u@d.example>\r\nRCPT TO:<a@x>\r\nRCPT TO:<b@x>\r\n"
		   "RCPT TO:<c@x>\r\nDATA\r\n");
	assert_true(ev & SMTP_F_RCPT);
	assert_true(ev & SMTP_F_MAIL);
	assert_int_equal(f.s.rcpt, 3);
	feeds(&f, S, "250 ok\r\n250 ok\r\n550 no\r\n250 ok\r\n354 send\r\n");
	assert_int_equal(f.s.rcpt_ok, 2);
	assert_int_equal(f.s.rcpt_fail, 1);
	feeds(&f, C, "body\r\n.\r\nQUIT\r\n");
	assert_true(f.s.flags & SMTP_F_QUIT);
	/* The reply to the message after QUIT: no longer read. */
	assert_int_equal(f.s.msgs, 0);
	assert_string_equal(f.s.from_domain, "d.example");
	assert_string_equal(f.s.helo, "host.example");
	assert_int_equal(f.s.greeting, 220);
}

/* The message's reply arrives before the QUIT: counted. */
static void
test_message_accepted(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "HELO h\r\nMAIL FROM:<u@d>\r\nRCPT TO:<a@x>\r\nDATA\r\n");
	feeds(&f, S, "250 a\r\n250 b\r\n250 c\r\n354 d\r\n");
	feeds(&f, C, "x\r\n.\r\n");
	feeds(&f, S, "250 queued\r\n");
	assert_int_equal(f.s.msgs, 1);
	assert_int_equal(f.s.st.forced, 0);
}

static void
test_retransmission(void **st)
{
	struct feeder f;
	const char *a = "RCPT TO:<a@x>\r\n", *b = "RCPT TO:<b@x>\r\n";
	uint32_t s0;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	s0 = f.seq[C];
	feeds(&f, C, a);
	/* The same segment again, then one that overlaps it and goes on. */
	smtp_parse_feed(&f.s, C, s0, (const uint8_t *)a, strlen(a));
	char both[64];
	snprintf(both, sizeof both, "%s%s", a, b);
	smtp_parse_feed(&f.s, C, s0, (const uint8_t *)both, strlen(both));
	f.seq[C] = s0 + (uint32_t)strlen(both);
	assert_int_equal(f.s.rcpt, 2);
	assert_int_equal(f.s.st.dups, 1);
	/* A retransmitted reply is not a second reply. */
	s0 = f.seq[S];
	feeds(&f, S, "250 ok\r\n");
	smtp_parse_feed(&f.s, S, s0, (const uint8_t *)"250 ok\r\n", 8);
	feeds(&f, S, "550 no\r\n");
	assert_int_equal(f.s.rcpt_ok, 1);
	assert_int_equal(f.s.rcpt_fail, 1);
	assert_int_equal(f.s.st.dups, 2);
	assert_int_equal(f.s.st.gaps, 0);
}

/* Three segments in the order 3, 1, 2: the first early one is held, the
 * second hole gives it up and parsing resyncs at a line start. */
static void
test_reorder_and_loss(void **st)
{
	struct feeder f;
	const char *s1 = "RCPT TO:<1@x>\r\n", *s2 = "RCPT TO:<2@x>\r\n", *s3 = "RCPT TO:<3@x>\r\n";
	uint32_t q = 0;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	q = f.seq[C];
	/* 2 before 1: held, then parsed in order. */
	smtp_parse_feed(&f.s, C, q + 15, (const uint8_t *)s2, 15);
	assert_int_equal(f.s.rcpt, 0);
	assert_int_equal(f.s.st.held, 1);
	smtp_parse_feed(&f.s, C, q, (const uint8_t *)s1, 15);
	assert_int_equal(f.s.rcpt, 2);
	q += 30;
	/* 3 is lost; 4 and 5 arrive: 4 waits, 5 gives up the hole and both
	 * are parsed from their line starts. */
	smtp_parse_feed(&f.s, C, q + 15, (const uint8_t *)s2, 15);
	smtp_parse_feed(&f.s, C, q + 30, (const uint8_t *)s3, 15);
	assert_int_equal(f.s.rcpt, 4);
	assert_int_equal(f.s.st.gaps, 1);
	q += 45;
	/* A loss in the middle of a line: that line is lost, not the next. */
	smtp_parse_feed(&f.s, C, q, (const uint8_t *)"RCPT TO:<", 9);
	smtp_parse_feed(&f.s, C, q + 100, (const uint8_t *)"tail@x>\r\nRCPT TO:<6@x>\r\n", 24);
	assert_int_equal(f.s.rcpt, 4);			/* held */
	smtp_parse_finish(&f.s);
	assert_int_equal(f.s.rcpt, 5);
	assert_int_equal(f.s.st.gaps, 2);
	assert_int_equal(f.s.st.garbage, 0);
}

/* A chunk too long to hold ahead of a hole: the hole is lost at once. */
static void
test_long_early_chunk(void **st)
{
	struct feeder f;
	char big[1400];
	uint32_t q;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	q = f.seq[C];
	memset(big, 'x', sizeof big);
	memcpy(big, "xx\r\n", 4);
	memcpy(big + sizeof big - 17, "\r\nRCPT TO:<z@x>\r\n", 17);
	smtp_parse_feed(&f.s, C, q + 50, (const uint8_t *)big, sizeof big);
	/* Mid-line start: skipped to LF, then a 1381-byte line (over long),
	 * then the RCPT. */
	assert_int_equal(f.s.rcpt, 1);
	assert_int_equal(f.s.st.gaps, 1);
	assert_int_equal(f.s.st.overlong, 1);
	/* The hole's bytes arrive late: old now, dropped. */
	smtp_parse_feed(&f.s, C, q, (const uint8_t *)"RCPT TO:<late@x>\r\n", 18);
	assert_int_equal(f.s.rcpt, 1);
}

static const struct msg auth_plain_ok[] = {
	{ S, "220 hi\r\n" },
	{ C, "EHLO me\r\n" },
	{ S, "250-hi\r\n250 AUTH PLAIN LOGIN\r\n" },
	{ C, "AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n" },
	{ S, "235 2.7.0 Authentication successful\r\n" },
	{ C, "MAIL FROM:<user@isp.example>\r\n" },
	{ S, "250 ok\r\n" },
	{ C, "RCPT TO:<a@b>\r\n" },
	{ S, "250 ok\r\n" },
	{ C, "QUIT\r\n" },
};

static void
test_auth_plain(void **st)
{
	struct feeder f;

	feeder_init(&f);
	RUN(&f, auth_plain_ok);
	assert_true(f.s.flags & SMTP_F_AUTH);
	assert_true(f.s.flags & SMTP_F_AUTH_OK);
	assert_false(f.s.flags & SMTP_F_AUTH_FAIL);
	assert_int_equal(f.s.auth_mech, SMTP_AUTH_PLAIN);
	assert_string_equal(smtp_parse_mech_name(f.s.auth_mech), "PLAIN");
	assert_int_equal(f.s.rcpt, 1);
	assert_int_equal(f.s.rcpt_ok, 1);
	assert_string_equal(f.s.from_domain, "isp.example");

	/* Refused. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 AUTH PLAIN\r\n");
	feeds(&f, C, "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n");
	feeds(&f, S, "535 5.7.8 Authentication credentials invalid\r\n");
	feeds(&f, C, "MAIL FROM:<x@y>\r\n");
	assert_true(f.s.flags & SMTP_F_AUTH_FAIL);
	assert_false(f.s.flags & SMTP_F_AUTH_OK);
	assert_int_equal(f.s.mails, 1);

	/* Without an initial response: 334, then the response. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "AUTH plain\r\n");
	feeds(&f, S, "334 \r\n");
	feeds(&f, C, "AHVzZXIAcGFzcw==\r\n");
	assert_int_equal(f.s.ncmds, 2);
	feeds(&f, S, "235 ok\r\n");
	assert_true(f.s.flags & SMTP_F_AUTH_OK);
}

/* RFC 4954 LOGIN: two 334 challenges; responses that read like commands
 * (base64 "DATA", "QUIT") are not commands. */
static void
test_auth_login(void **st)
{
	struct feeder f;
	uint32_t ev;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 AUTH LOGIN\r\n");
	feeds(&f, C, "AUTH LOGIN\r\n");
	feeds(&f, S, "334 VXNlcm5hbWU6\r\n");
	feeds(&f, C, "DATA\r\n");
	feeds(&f, S, "334 UGFzc3dvcmQ6\r\n");
	ev = feeds(&f, C, "QUIT\r\n");
	assert_int_equal(ev, 0);
	assert_false(f.s.flags & (SMTP_F_QUIT | SMTP_F_DATA));
	ev = feeds(&f, S, "235 2.7.0 ok\r\n");
	assert_true(ev & SMTP_F_AUTH_OK);
	assert_int_equal(f.s.auth_mech, SMTP_AUTH_LOGIN);
	feeds(&f, C, "RCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 1);

	/* Refused after the password. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "AUTH LOGIN dXNlcg==\r\n");
	feeds(&f, S, "334 UGFzc3dvcmQ6\r\n");
	feeds(&f, C, "cGFzcw==\r\n");
	feeds(&f, S, "535 5.7.8 no\r\n");
	feeds(&f, C, "RCPT TO:<a@b>\r\n");
	assert_true(f.s.flags & SMTP_F_AUTH_FAIL);
	assert_false(f.s.flags & SMTP_F_AUTH_OK);
	assert_int_equal(f.s.rcpt, 1);

	/* Cancelled by the client ("*", RFC 4954 4), then another mechanism. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "AUTH CRAM-MD5\r\n");
	feeds(&f, S, "334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZT4=\r\n");
	feeds(&f, C, "*\r\n");
	feeds(&f, S, "501 5.7.0 cancelled\r\n");
	assert_int_equal(f.s.auth_mech, SMTP_AUTH_CRAM_MD5);
	feeds(&f, C, "AUTH XOAUTH2 dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5\r\n");
	feeds(&f, S, "235 ok\r\n");
	assert_int_equal(f.s.auth_mech, SMTP_AUTH_XOAUTH2);
	assert_true(f.s.flags & SMTP_F_AUTH_OK);
	feeds(&f, C, "AUTH NTLM\r\n");
	assert_int_equal(f.s.auth_mech, SMTP_AUTH_OTHER);
	assert_string_equal(smtp_parse_mech_name(SMTP_AUTH_NONE), "-");
}

/* Issue 14.8: a 235 counts only as the answer to the client's AUTH
 * (RFC 4954 6). A far end that says 235 unasked (a bot's cooperating
 * server) authenticates nothing: as the greeting, with nothing waiting,
 * in answer to EHLO or MAIL, or after the client's AUTH was refused. */
static void
test_auth_unasked(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 hi\r\n");
	feeds(&f, S, "235 2.7.0 Authentication successful\r\n");
	feeds(&f, C, "MAIL FROM:<a@b.example>\r\n");
	feeds(&f, S, "250 ok\r\n");
	feeds(&f, C, "RCPT TO:<c@d.example>\r\n");
	feeds(&f, S, "250 ok\r\n");
	assert_false(f.s.flags & (SMTP_F_AUTH | SMTP_F_AUTH_OK));
	assert_int_equal(f.s.rcpt_ok, 1);

	feeder_init(&f);
	feeds(&f, S, "235 hi\r\n");		/* as the greeting */
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "235 hi\r\n");		/* to EHLO */
	feeds(&f, C, "MAIL FROM:<a@b.example>\r\n");
	feeds(&f, S, "235 ok\r\n");		/* to MAIL */
	smtp_parse_finish(&f.s);
	assert_false(f.s.flags & (SMTP_F_AUTH | SMTP_F_AUTH_OK));

	/* AUTH refused; the 235 that follows answers nothing. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 AUTH PLAIN\r\n");
	feeds(&f, C, "AUTH PLAIN AHVzZXIAd3Jvbmc=\r\n");
	feeds(&f, S, "535 5.7.8 no\r\n");
	feeds(&f, S, "235 ok\r\n");
	feeds(&f, C, "MAIL FROM:<a@b.example>\r\n");
	feeds(&f, S, "235 ok\r\n");
	assert_true(f.s.flags & SMTP_F_AUTH_FAIL);
	assert_false(f.s.flags & SMTP_F_AUTH_OK);

	/* A real AUTH whose 235 the mirror shows out of step (the reply to
	 * EHLO was lost): it still answers the AUTH the client sent. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\nAUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n");
	f.seq[S] += (uint32_t)strlen("250 AUTH PLAIN\r\n");	/* lost */
	feeds(&f, S, "235 2.7.0 ok\r\n");
	smtp_parse_finish(&f.s);
	assert_true(f.s.flags & SMTP_F_AUTH_OK);
	assert_int_equal(f.s.st.gaps, 1);

	/* The mirror shows the 235 before the AUTH it answers (the two
	 * directions reach it by different paths): still the client's AUTH,
	 * and the queue stays in step. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 AUTH PLAIN\r\n");
	feeds(&f, S, "235 2.7.0 ok\r\n");
	feeds(&f, C, "AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n");
	feeds(&f, C, "RCPT TO:<c@d.example>\r\n");
	feeds(&f, S, "550 no\r\n");
	assert_true(f.s.flags & SMTP_F_AUTH_OK);
	assert_false(f.s.flags & SMTP_F_AUTH_FAIL);
	assert_int_equal(f.s.rcpt_fail, 1);

	/* But a 235 with another reply after it answers no AUTH that comes
	 * later. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250 AUTH PLAIN\r\n");
	feeds(&f, S, "235 2.7.0 ok\r\n");
	feeds(&f, C, "NOOP\r\n");
	feeds(&f, S, "250 ok\r\n");
	feeds(&f, C, "AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n");
	feeds(&f, S, "535 no\r\n");
	assert_false(f.s.flags & SMTP_F_AUTH_OK);
	assert_true(f.s.flags & SMTP_F_AUTH_FAIL);
}

/* Issue 14.9: names longer than SMTP_NAME_MAX are cut, and the cut is
 * marked; a name of exactly SMTP_NAME_MAX is whole. */
static void
test_names_cut(void **st)
{
	struct feeder f;
	char line[512], name[100];

	memset(name, 'h', 99);
	name[99] = '\0';
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	snprintf(line, sizeof line, "EHLO %s\r\n", name);
	feeds(&f, C, line);
	assert_int_equal(strlen(f.s.helo), SMTP_NAME_MAX);
	assert_true(f.s.cut & SMTP_CUT_HELO);
	assert_false(f.s.cut & SMTP_CUT_FROM);
	memset(name, 'd', 80);
	memcpy(name + 80, ".example", 9);	/* 88 */
	snprintf(line, sizeof line, "MAIL FROM:<x@%s>\r\n", name);
	feeds(&f, C, line);
	assert_int_equal(strlen(f.s.from_domain), SMTP_NAME_MAX);
	assert_true(f.s.cut & SMTP_CUT_FROM);

	/* The next EHLO and MAIL, exactly SMTP_NAME_MAX long: whole. */
	memset(name, 'k', SMTP_NAME_MAX);
	name[SMTP_NAME_MAX] = '\0';
	snprintf(line, sizeof line, "EHLO %s\r\nMAIL FROM:<x@%s>\r\n", name, name);
	feeds(&f, C, line);
	assert_string_equal(f.s.helo, name);
	assert_string_equal(f.s.from_domain, name);
	assert_int_equal(f.s.cut, 0);
	/* The null sender has no domain to cut. */
	feeds(&f, C, "MAIL FROM:<>\r\n");
	assert_int_equal(f.s.cut, 0);
}

/* No credential and no local part stays in the session's memory. */
static void
test_nothing_private_kept(void **st)
{
	struct feeder f;
	static const char *secrets[] = { "AHVzZXIAcGFzc3dvcmQ", "alice.secret", "c@x.example",
					  "hidden@", "stuffed@" };

	feeder_init(&f);
	RUN(&f, auth_plain_ok);
	feeder_init(&f);
	run(&f, auth_plain_ok, 5);
	for (size_t i = 0; i < 2; i++) {
		feeder_init(&f);
		if (i)
			RUN(&f, full);
		else
			run(&f, auth_plain_ok, 5);
		for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++)
			assert_null(memmem(&f.s, sizeof f.s, secrets[k], strlen(secrets[k])));
	}
	/* Nor in the hold slot, once parsed. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	smtp_parse_feed(&f.s, C, f.seq[C] + 5, (const uint8_t *)"FROM:<alice.secret@d>\r\n", 23);
	smtp_parse_feed(&f.s, C, f.seq[C], (const uint8_t *)"MAIL ", 5);
	assert_string_equal(f.s.from_domain, "d");
	assert_null(memmem(&f.s, sizeof f.s, "alice.secret", 12));
}

static void
test_starttls(void **st)
{
	struct feeder f;
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'R', 'C', 'P', 'T', '\n' };
	uint32_t ev;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, S, "250-hi\r\n250 STARTTLS\r\n");
	ev = feeds(&f, C, "STARTTLS\r\n");
	assert_true(ev & SMTP_F_STARTTLS);
	ev = feeds(&f, S, "220 2.0.0 Ready to start TLS\r\n");
	assert_true(ev & SMTP_F_TLS);
	assert_true(f.s.flags & SMTP_F_DONE);
	/* Opaque from here. */
	assert_int_equal(feed(&f, C, hello, sizeof hello), 0);
	assert_int_equal(feeds(&f, C, "RCPT TO:<a@b>\r\n"), 0);
	assert_int_equal(f.s.rcpt, 0);

	/* Refused: the session goes on in the clear. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "STARTTLS\r\n");
	feeds(&f, S, "454 4.7.0 TLS not available\r\n");
	feeds(&f, C, "RCPT TO:<a@b>\r\n");
	assert_false(f.s.flags & SMTP_F_TLS);
	assert_int_equal(f.s.rcpt, 1);

	/* The ClientHello shows up before the 220 on the mirror. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "STARTTLS\r\n");
	ev = feed(&f, C, hello, sizeof hello);
	assert_true(ev & SMTP_F_TLS);
	assert_int_equal(f.s.st.garbage, 0);
}

/* Port 465: TLS from the first byte, no greeting in the clear. */
static void
test_implicit_tls(void **st)
{
	struct feeder f;
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc };

	feeder_init(&f);
	assert_true(feed(&f, C, hello, sizeof hello) & SMTP_F_TLS);
	assert_false(f.s.flags & SMTP_F_STARTTLS);
	feeder_init(&f);
	assert_true(feed(&f, S, hello, sizeof hello) & SMTP_F_TLS);
	/* But not in the middle of a clear session without STARTTLS. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "EHLO me\r\n");
	assert_false(feed(&f, C, hello, sizeof hello) & SMTP_F_TLS);
}

static void
test_mail_from_forms(void **st)
{
	static const struct {
		const char *line, *domain;
	} t[] = {
		{ "MAIL FROM:<a@B.example>\r\n", "b.example" },
		{ "mail from: <a@c.example> BODY=8BITMIME\r\n", "c.example" },
		{ "MAIL FROM:a@d.example SIZE=1\r\n", "d.example" },
		{ "MAIL FROM:<@relay.example,@r2.example:u@e.example>\r\n", "e.example" },
		{ "MAIL FROM:<>\r\n", "" },
		{ "MAIL FROM:<postmaster>\r\n", "" },
		{ "MAIL FROM:<\"a@b\"@f.example>\r\n", "f.example" },
		{ "MAIL FROM:<a@012345678901234567890123456789012345678901234567890123456789"
		  "0123456789.example>\r\n",
		  "012345678901234567890123456789012345678901234567890123456789012" },
	};

	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct feeder f;

		feeder_init(&f);
		feeds(&f, C, t[i].line);
		assert_true(f.s.flags & SMTP_F_MAIL);
		assert_string_equal(f.s.from_domain, t[i].domain);
	}
	/* Not "FROM:": counted, no domain. */
	struct feeder f;
	feeder_init(&f);
	feeds(&f, C, "MAIL TO:<a@b>\r\n");
	assert_int_equal(f.s.mails, 1);
	assert_false(f.s.flags & SMTP_F_MAIL);
}

static void
test_overlong_lines(void **st)
{
	struct feeder f;
	char *big = malloc(10000);

	assert_non_null(big);
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	/* A 10 kB line, fed in chunks, then a normal command. */
	memset(big, 'A', 10000);
	for (int i = 0; i < 10; i++)
		feed(&f, C, big, 1000);
	feeds(&f, C, "\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.st.overlong, 1);
	assert_int_equal(f.s.rcpt, 1);
	/* An over-long RCPT still counts; an over-long DATA changes nothing. */
	memcpy(big, "RCPT TO:<", 9);
	feed(&f, C, big, 700);
	feeds(&f, C, ">\r\n");
	assert_int_equal(f.s.rcpt, 2);
	memcpy(big, "DATA ", 5);
	feed(&f, C, big, 700);
	feeds(&f, C, "\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 3);
	assert_int_equal(f.s.st.overlong, 3);
	/* An over-long MAIL: counted, its cut path not taken for a domain. */
	memcpy(big, "MAIL FROM:<a@", 13);
	feed(&f, C, big, 700);
	feeds(&f, C, ">\r\n");
	assert_int_equal(f.s.mails, 1);
	assert_false(f.s.flags & SMTP_F_MAIL);
	/* Exactly 510 characters and CRLF fit (RFC 5321 4.5.3.1.4). */
	memcpy(big, "RCPT TO:<", 9);
	big[508] = '>';
	memcpy(big + 509, "\r\n", 2);
	feed(&f, C, big, 511);
	assert_int_equal(f.s.rcpt, 4);
	assert_int_equal(f.s.st.overlong, 4);
	feed(&f, C, big + 1, 510);
	assert_int_equal(f.s.st.overlong, 4);
	/* Long server lines: only their code matters. */
	memset(big, 'x', 10000);
	memcpy(big, "250-", 4);
	feed(&f, S, big, 10000);
	feeds(&f, S, "\r\n250 ok\r\n");
	/* Only the line of 10000 'A' was neither command nor reply. */
	assert_int_equal(f.s.st.garbage, 1);
	free(big);
}

static void
test_garbage(void **st)
{
	struct feeder f;
	uint8_t buf[4096];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof buf; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	feeder_init(&f);
	for (size_t i = 0; i < sizeof buf; i += 97)
		feed(&f, (int)(i & 1), buf + i, sizeof buf - i < 97 ? sizeof buf - i : 97);
	/* Random bytes are not SMTP: given up, bounded, no crash. */
	assert_true(f.s.flags & SMTP_F_NOT_SMTP);
	assert_true(f.s.flags & SMTP_F_DONE);
	/* Nor is a binary protocol on port 25. */
	feeder_init(&f);
	for (int i = 0; i < 40; i++)
		feeds(&f, S, "\x01\x02garbage\r\n");
	assert_true(f.s.flags & SMTP_F_NOT_SMTP);
	/* Empty lines and odd verbs are commands the server refuses. */
	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "\r\nXCLIENT ADDR=1.2.3.4\r\nRCPT TO:<a@b>\r\n");
	feeds(&f, S, "500 no\r\n500 no\r\n250 ok\r\n");
	assert_int_equal(f.s.rcpt_ok, 1);
	assert_int_equal(f.s.st.garbage, 0);
}

/* Random chunks at random sequence numbers, both ways, under the
 * sanitizers: nothing read out of bounds, nothing stuck. */
static void
test_random_feed(void **st)
{
	struct smtp_sess s;
	uint8_t buf[2048];
	uint64_t x = 88172645463325252ULL;
	static const char *words[] = { "RCPT TO:<a@b>\r\n", "DATA\r\n", "\r\n.\r\n", "AUTH LOGIN\r\n",
				       "334 x\r\n", "250 ok\r\n", "BDAT 7\r\n", "STARTTLS\r\n",
				       "MAIL FROM:<a@b>\r\n", "354 go\r\n", "\n", "." };

	for (int round = 0; round < 2000; round++) {
		uint32_t base[2] = { (uint32_t)x, (uint32_t)(x >> 32) };

		smtp_parse_init(&s);
		for (int k = 0; k < 40; k++) {
			size_t n = 0;

			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			int parts = (int)(x % 6);
			for (int p = 0; p < parts; p++) {
				const char *w = words[(x >> (8 + p * 4)) % (sizeof words / sizeof words[0])];
				size_t l = strlen(w);

				if (n + l > sizeof buf)
					break;
				memcpy(buf + n, w, l);
				n += l;
			}
			if (x & 0x1000000)
				buf[n++] = (uint8_t)(x >> 40);
			int dir = (int)((x >> 20) & 1);
			uint32_t seq = base[dir] + (uint32_t)((x >> 24) % 600) - 100;
			smtp_parse_feed(&s, (enum smtp_dir)dir, seq, buf, n);
			base[dir] += (uint32_t)n;
		}
		smtp_parse_finish(&s);
		assert_true(s.pend_n <= SMTP_PEND_MAX);
	}
}

/* A greeting lost on the mirror: replies still meet their commands. */
static void
test_lost_greeting(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, C, "EHLO me\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	feeds(&f, S, "250 hi\r\n250 ok\r\n550 no\r\n");
	assert_int_equal(f.s.rcpt_fail, 1);
	assert_int_equal(f.s.greeting, 0);
}

static void
test_size(void **st)
{
	assert_true(sizeof(struct smtp_sess) <= 1200);
	print_message("sizeof(struct smtp_sess) = %zu bytes\n", sizeof(struct smtp_sess));
}

/* Not a correctness test: prints MB/s for a typical session mix (a
 * 100 kB message among commands) fed in 1460-byte segments. */
static void
test_throughput(void **st)
{
	size_t cap = 1u << 20, n = 0;
	uint8_t *c2s = malloc(cap), *s2c = malloc(4096);
	struct smtp_sess s;
	struct timespec t0, t1;
	size_t bytes = 0;
	int rounds = 2000;

	assert_non_null(c2s);
	assert_non_null(s2c);
	n += (size_t)sprintf((char *)c2s, "EHLO host.example\r\nMAIL FROM:<a@b.example>\r\n");
	for (int i = 0; i < 20; i++)
		n += (size_t)sprintf((char *)c2s + n, "RCPT TO:<user%d@dest.example>\r\n", i);
	n += (size_t)sprintf((char *)c2s + n, "DATA\r\n");
	while (n < 100000)
		n += (size_t)sprintf((char *)c2s + n,
				     "Lorem ipsum dolor sit amet, consectetur adipiscing elit %zu\r\n", n);
	n += (size_t)sprintf((char *)c2s + n, ".\r\nQUIT\r\n");
	size_t m = (size_t)sprintf((char *)s2c, "220 hi\r\n250 a\r\n250 b\r\n");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int r = 0; r < rounds; r++) {
		smtp_parse_init(&s);
		smtp_parse_feed(&s, S, 1, s2c, m);
		for (size_t off = 0; off < n; off += 1460) {
			size_t k = n - off < 1460 ? n - off : 1460;

			smtp_parse_feed(&s, C, 1000 + (uint32_t)off, c2s + off, k);
		}
		assert_true(s.flags & SMTP_F_QUIT);
		assert_int_equal(s.rcpt, 20);
		bytes += n + m;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("throughput: %.0f MB/s (%zu bytes in %.3f s)\n", (double)bytes / secs / 1e6,
		      bytes, secs);

	/* Command-only traffic (a bot's RCPT storm), the parser's slow path. */
	n = 0;
	while (n + 64 < cap)
		n += (size_t)sprintf((char *)c2s + n, "RCPT TO:<user%zu@dest.example>\r\n", n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	smtp_parse_init(&s);
	for (size_t off = 0; off < n; off += 1460) {
		size_t k = n - off < 1460 ? n - off : 1460;

		smtp_parse_feed(&s, C, (uint32_t)off, c2s + off, k);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("throughput, commands only: %.0f MB/s (%u RCPT)\n", (double)n / secs / 1e6,
		      s.rcpt);
	free(c2s);
	free(s2c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_session),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_swapped_every_byte),
		cmocka_unit_test(test_one_byte_chunks),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_message_accepted),
		cmocka_unit_test(test_retransmission),
		cmocka_unit_test(test_reorder_and_loss),
		cmocka_unit_test(test_long_early_chunk),
		cmocka_unit_test(test_auth_plain),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_auth_unasked),
		cmocka_unit_test(test_names_cut),
		cmocka_unit_test(test_nothing_private_kept),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_mail_from_forms),
		cmocka_unit_test(test_overlong_lines),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_random_feed),
		cmocka_unit_test(test_lost_greeting),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_throughput),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
