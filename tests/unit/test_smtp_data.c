/*
 * test_smtp_data.c — the SMTP session follower on message bodies: DATA
 * refused and accepted, the end of a body (CRLF.CRLF, a bare LF before the
 * dot, the lax dot lines of SMTP smuggling), BDAT chunks, and sessions
 * whose server replies are missing (an AUTH answer lost, pipelining with
 * no replies at all).
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

static void
test_data_refused(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
	feeds(&f, S, "250 ok\r\n550 no\r\n554 5.5.1 no valid recipients\r\n");
	feeds(&f, C, "RCPT TO:<z@y>\r\n");
	assert_int_equal(f.s.rcpt, 2);
	assert_false(f.s.flags & SMTP_F_DATA);
	feeds(&f, C, "QUIT\r\n");
	assert_true(f.s.flags & SMTP_F_QUIT);
}

/* The body's terminator split at every position, alone in its chunks,
 * and a body that shows up before the 354 on the mirror. */
static void
test_body_terminator(void **st)
{
	static const char *body = "a\r\n.\r\n";
	size_t n = strlen(body);

	for (size_t cut = 0; cut <= n; cut++) {
		struct feeder f;

		feeder_init(&f);
		feeds(&f, S, "220 hi\r\n");
		feeds(&f, C, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
		feed(&f, C, body, cut);
		feeds(&f, S, "250 ok\r\n250 ok\r\n354 go\r\n");
		feed(&f, C, body + cut, n - cut);
		feeds(&f, C, "RCPT TO:<after@y>\r\n");
		assert_int_equal(f.s.rcpt, 2);
		assert_int_equal(f.s.st.forced, 0);
	}
	/* An empty body: DATA's CRLF is the terminator's first. */
	struct feeder f;
	feeder_init(&f);
	feeds(&f, C, "DATA\r\n.\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 1);
	/* "\r\n..\r\n" and "\r\n.x\r\n" are text; ".\r\r\n" is no end. */
	feeder_init(&f);
	feeds(&f, C, "DATA\r\n..\r\n.x\r\n.\r\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 0);
	feeds(&f, C, ".\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 1);
}

/* A bare-LF terminator is not an end; the server's reply ends the body. */
static void
test_bare_lf_terminator(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
	feeds(&f, S, "250 ok\r\n250 ok\r\n354 go\r\n");
	feeds(&f, C, "text\n.\n");
	feeds(&f, S, "250 queued\r\n");
	assert_int_equal(f.s.st.forced, 1);
	assert_int_equal(f.s.msgs, 1);
	feeds(&f, C, "RCPT TO:<z@y>\r\n");
	assert_int_equal(f.s.rcpt, 2);
}

/* Issue 15.5: commands are counted from the client's stream alone. In
 * suricata-verify's smtp-bug-5989 the server's first segment (greeting
 * and a 5000-byte line) covers the sequence space its later replies are
 * retransmitted at, so every reply after the greeting is old bytes: the
 * client's AUTH LOGIN is never answered, and its MAIL and RCPT must
 * still count (they were read as SASL: rcpt 0). */
static void
test_auth_reply_missing(void **st)
{
	static const char *const mechs_noir[] = { "AUTH LOGIN\r\n", "AUTH PLAIN\r\n",
						  "AUTH CRAM-MD5\r\n" };
	char big[5002];
	struct feeder f;

	memset(big, 'A', sizeof big);
	memcpy(big, "220 mx ESMTP\r\n", 14);
	feeder_init(&f);
	uint32_t s0 = f.seq[S];
	feed(&f, S, big, sizeof big);		/* no LF at its end */
	feeds(&f, C, "EHLO Percival\r\n");
	/* The replies, retransmitted over the greeting's bytes. */
	smtp_parse_feed(&f.s, S, s0 + 38, (const uint8_t *)"250-mx\r\n250 AUTH LOGIN\r\n", 24);
	feeds(&f, C, "AUTH LOGIN\r\n");
	smtp_parse_feed(&f.s, S, s0 + 62, (const uint8_t *)"334 VXNlcm5hbWU6\r\n", 18);
	feeds(&f, C, "Z2FsdW50\r\n");
	smtp_parse_feed(&f.s, S, s0 + 80, (const uint8_t *)"334 UGFzc3dvcmQ6\r\n", 18);
	feeds(&f, C, "VjF2MXRyMG4=\r\n");
	smtp_parse_feed(&f.s, S, s0 + 98, (const uint8_t *)"235 ok\r\n", 8);
	feeds(&f, C, "MAIL FROM: <someone@example.co.uk>\r\n");
	feeds(&f, C, "RCPT TO: <x@example.co.uk>\r\n");
	feeds(&f, C, "DATA\r\n");
	feeds(&f, C, "Subject: hi\r\n\r\nbody\r\n.\r\n");
	feeds(&f, C, "QUIT\r\n");
	assert_int_equal(f.s.rcpt, 1);
	assert_int_equal(f.s.mails, 1);
	assert_string_equal(f.s.from_domain, "example.co.uk");
	assert_true(f.s.flags & SMTP_F_QUIT);
	/* No 235 was ever read: not authenticated. */
	assert_false(f.s.flags & SMTP_F_AUTH_OK);
	assert_true(f.s.st.dups >= 4);
	assert_int_equal(f.s.st.auth_left, 1);

	/* Each mechanism without an initial response, no reply at all: its
	 * responses are SASL (a bare DATA too, valid base64), the first line
	 * with a blank after a verb is a command. */
	for (size_t m = 0; m < sizeof mechs_noir / sizeof mechs_noir[0]; m++) {
		feeder_init(&f);
		feeds(&f, C, "EHLO me\r\n");
		feeds(&f, C, mechs_noir[m]);
		feeds(&f, C, "DATA\r\n");
		feeds(&f, C, "cGFzcw==\r\n");
		assert_int_equal(f.s.mails, 0);
		feeds(&f, C, "MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y>\r\nRCPT TO:<z@y>\r\n");
		assert_int_equal(f.s.rcpt, 2);
		assert_int_equal(f.s.mails, 1);
		assert_false(f.s.flags & (SMTP_F_DATA | SMTP_F_AUTH_OK));
		/* The 235 the mirror shows late still answers the AUTH. */
		feeds(&f, S, "220 hi\r\n250 ok\r\n235 ok\r\n");
		assert_true(f.s.flags & SMTP_F_AUTH_OK);
	}
}

/* RFC 2920 pipelining with no server reply at all (the mirror lost that
 * direction): every command still counts, and the body ends at its own
 * CRLF.CRLF. */
static void
test_pipelining_no_replies(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, C, "EHLO me\r\n");
	feeds(&f, C, "MAIL FROM:<a@b.example>\r\nRCPT TO:<1@y>\r\nRCPT TO:<2@y>\r\n"
		      "RCPT TO:<3@y>\r\nDATA\r\n");
	feeds(&f, C, "Subject: x\r\n\r\nRCPT TO:<text@y>\r\n.\r\n");
	feeds(&f, C, "RSET\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<4@y>\r\nBDAT 5 LAST\r\n"
		      "RCPT \r\nQUIT\r\n");
	assert_int_equal(f.s.rcpt, 4);
	assert_int_equal(f.s.mails, 2);
	assert_string_equal(f.s.from_domain, "d.example");
	assert_true(f.s.flags & SMTP_F_QUIT);
	assert_int_equal(f.s.st.lax_dot, 0);
	assert_false(f.s.flags & SMTP_F_GREETING);
}

/* Issue 16, SMTP smuggling: only CRLF "." CRLF ends DATA (RFC 5321
 * 4.1.1.4). A dot line opened or closed by a bare LF is not an end (the
 * envelope stays the first transaction's: mails 1, its sender's domain),
 * but each "RCPT TO:" line after it counts, so a smuggled second
 * transaction never hides its recipients; whatever the chunking. */
static void
test_lax_dot_smuggling(void **st)
{
	static const char *const lax[] = { "\n.\n", "\r\n.\n", "\n.\r\n" };

	for (size_t v = 0; v < sizeof lax / sizeof lax[0]; v++) {
		char body[256];
		int n = snprintf(body, sizeof body,
				 "Subject: hi\r\n\r\ntext%sMAIL FROM:<x@evil.example>\r\n"
				 "RCPT TO:<v1@y>\r\nrcpt to:<v2@y>\r\n NOT RCPT TO:<no@y>\r\n"
				 "DATA\r\nsmuggled\r\n.\r\nRCPT TO:<after@y>\r\n", lax[v]);

		assert_true(n > 0 && (size_t)n < sizeof body);
		for (size_t cut = 0; cut <= (size_t)n; cut++) {
			struct feeder f;

			feeder_init(&f);
			feeds(&f, S, "220 hi\r\n");
			feeds(&f, C, "MAIL FROM:<a@good.example>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
			feeds(&f, S, "250 ok\r\n250 ok\r\n354 go\r\n");
			feed(&f, C, body, cut);
			feed(&f, C, body + cut, (size_t)n - cut);
			/* 1 envelope + 2 smuggled + 1 after the real end. */
			assert_int_equal(f.s.rcpt, 4);
			assert_int_equal(f.s.mails, 1);
			assert_string_equal(f.s.from_domain, "good.example");
			assert_int_equal(f.s.st.lax_dot, 1);
			/* A strict server's one 250 answers the one message. */
			feeds(&f, S, "250 queued\r\n250 ok\r\n");
			assert_int_equal(f.s.msgs, 1);
			assert_int_equal(f.s.rcpt_ok, 2);
			assert_int_equal(f.s.st.forced, 0);
		}
	}
	/* Without a lax dot line, "RCPT TO:" in a body is text. */
	struct feeder f;
	feeder_init(&f);
	feeds(&f, C, "DATA\r\nRCPT TO:<a@b>\r\n.x\nRCPT TO:<a@b>\r\n\r\n.\r\n");
	assert_int_equal(f.s.rcpt, 0);
	assert_int_equal(f.s.st.lax_dot, 0);
	/* A lax server: its 250 after the lax end ends the body (forced);
	 * the smuggled RCPTs counted once, not again. */
	feeder_init(&f);
	feeds(&f, C, "DATA\r\n");
	feeds(&f, S, "354 go\r\n");
	feeds(&f, C, "text\n.\nMAIL FROM:<x@evil>\r\nRCPT TO:<v1@y>\r\nDATA\r\n");
	feeds(&f, S, "250 queued\r\n250 ok\r\n250 ok\r\n354 go\r\n");
	feeds(&f, C, "second\r\n.\r\n");
	assert_int_equal(f.s.rcpt, 1);
	assert_int_equal(f.s.st.forced, 1);
}

/* RFC 3030: BDAT chunks are counted off, whatever they hold. */
static void
test_bdat(void **st)
{
	struct feeder f;

	feeder_init(&f);
	feeds(&f, S, "220 hi\r\n");
	feeds(&f, C, "MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nBDAT 17\r\nRCPT TO:<q@q>\r\n\r\n"
		  "BDAT 5 LAST\r\nQUIT\n");
	assert_int_equal(f.s.rcpt, 1);
	assert_false(f.s.flags & SMTP_F_QUIT);
	assert_true(f.s.flags & SMTP_F_DATA);
	feeds(&f, S, "250 ok\r\n250 ok\r\n250 ok\r\n250 done\r\n");
	assert_int_equal(f.s.msgs, 1);
	feeds(&f, C, "QUIT\r\n");
	assert_true(f.s.flags & SMTP_F_QUIT);
	/* A hole inside a chunk costs nothing. */
	feeder_init(&f);
	feeds(&f, C, "BDAT 2000\r\n");
	smtp_parse_feed(&f.s, C, f.seq[C] + 1000, (const uint8_t *)"x", 1);	/* held */
	char big[300];
	memset(big, 'x', sizeof big);
	smtp_parse_feed(&f.s, C, f.seq[C] + 1700, (const uint8_t *)big, sizeof big);
	f.seq[C] += 2000;
	feeds(&f, C, "RCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 1);
	/* A bad size is refused: no chunk follows. */
	feeder_init(&f);
	feeds(&f, C, "BDAT x\r\nRCPT TO:<a@b>\r\n");
	assert_int_equal(f.s.rcpt, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_refused),
		cmocka_unit_test(test_body_terminator),
		cmocka_unit_test(test_bare_lf_terminator),
		cmocka_unit_test(test_auth_reply_missing),
		cmocka_unit_test(test_pipelining_no_replies),
		cmocka_unit_test(test_lax_dot_smuggling),
		cmocka_unit_test(test_bdat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
