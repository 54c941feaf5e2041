/*
 * smtp_body.c — where an SMTP DATA body ends (RFC 5321 4.1.1.4), for the
 * SMTP parser (smtp_parse.c); see smtp_body.h.
 */
#include "smtp_body.h"

#include <string.h>

#include "bytes.h"

/* Where the body scanner stands: start of line (after CRLF), "." at
 * start of line, ".\r" at start of line, inside a line, "\r" inside a
 * line, the same three after a bare LF (LF, LDOT, LDOTCR); END is the
 * terminator's LF, LAX a dot line that a bare LF opens or closes (both
 * are what the scanner returns, never a state it stays in). */
enum { B_SOL, B_DOT, B_DOTCR, B_MID, B_CR, B_LF, B_LDOT, B_LDOTCR, B_END, B_LAX };

void
smtp_body_reset(struct smtp_sess *s)
{
	s->bstate = B_SOL;
	s->smug = 0;
}

void
smtp_body_lost(struct smtp_sess *s)
{
	/* Not knowing what the hole held, we are inside a line. */
	s->bstate = B_MID;
}

enum { BC_DOT, BC_CR, BC_LF, BC_OTHER };

static const uint8_t body_next[B_END][4] = {
	/*                '.'      '\r'       '\n'   other */
	[B_SOL]    = { B_DOT,   B_CR,     B_LF,  B_MID },
	[B_DOT]    = { B_MID,   B_DOTCR,  B_LAX, B_MID },	/* CRLF "." LF */
	[B_DOTCR]  = { B_MID,   B_CR,     B_END, B_MID },	/* CRLF "." CRLF */
	[B_MID]    = { B_MID,   B_CR,     B_LF,  B_MID },
	[B_CR]     = { B_MID,   B_CR,     B_SOL, B_MID },
	[B_LF]     = { B_LDOT,  B_CR,     B_LF,  B_MID },
	[B_LDOT]   = { B_MID,   B_LDOTCR, B_LAX, B_MID },	/* LF "." LF */
	[B_LDOTCR] = { B_MID,   B_CR,     B_LAX, B_MID },	/* LF "." CRLF */
};

static int
body_class(uint8_t c)
{
	return c == '.' ? BC_DOT : c == '\r' ? BC_CR : c == '\n' ? BC_LF : BC_OTHER;
}

/* After a lax dot line (smug): matches the start of each body line
 * against "RCPT TO:", one byte at a time; smug_m is how much of it the
 * line has matched so far, SMUG_NO once it cannot. */
#define SMUG_NO 0xff

static void
smug_byte(struct smtp_sess *s, uint8_t st, uint8_t c)
{
	static const char rcpt[] = "RCPT TO:";

	if (st == B_SOL || st == B_LF)
		s->smug_m = 0;
	if (s->smug_m == SMUG_NO)
		return;
	if ((c >= 'a' && c <= 'z' ? c - 32 : c) != rcpt[s->smug_m]) {
		s->smug_m = SMUG_NO;
		return;
	}
	if (++s->smug_m == sizeof rcpt - 1) {
		if (s->rcpt != UINT32_MAX)
			s->rcpt++;
		s->flags |= SMTP_F_RCPT;
		s->ev |= SMTP_F_RCPT;
		s->smug_m = SMUG_NO;
	}
}

/*
 * The DATA-ending rule. Only CRLF "." CRLF ends the body (RFC 5321
 * 4.1.1.4 and 2.3.8: a bare LF is not a line end in SMTP). A dot line
 * that a bare LF opens or closes (LF.LF, CRLF.LF, LF.CRLF) is what
 * "SMTP smuggling" hides a second transaction behind: a server that
 * takes it as the end runs the MAIL/RCPT/DATA written after it; a
 * strict one keeps them as text. The sensor cannot tell which server it
 * faces before its replies, so it counts the same either way: the body
 * goes on (a strict server's replies stay in step; a lax server's 250
 * ends it anyway, see r_body), but from the first lax dot line on, each
 * body line that starts "RCPT TO:" counts as a recipient (st.lax_dot
 * says how often). Real mail never holds a lax dot line (a client
 * dot-stuffs a line that starts with ".", RFC 5321 4.5.2), so this costs
 * nothing on honest mail and a smuggled transaction never hides its
 * recipients.
 */
size_t
smtp_body_scan(struct smtp_sess *s, const uint8_t *p, size_t n, int *ended)
{
	struct bytes b = bytes_of(p, (uint32_t)n);
	uint32_t i = 0;
	uint8_t st = s->bstate;

	while (i < b.len) {
		if (st == B_MID && !s->smug) {
			/* Most body bytes: jump to the line's LF. */
			const uint8_t *q = memchr(p + i, '\n', b.len - i);
			uint32_t lf;

			if (!q) {
				st = bytes_u8(&b, b.len - 1) == '\r' ? B_CR : B_MID;
				i = b.len;
				break;
			}
			lf = (uint32_t)(q - p);
			st = lf > i && bytes_u8(&b, lf - 1) == '\r' ? B_SOL : B_LF;
			i = lf + 1;
			continue;
		}
		uint8_t c = bytes_u8(&b, i++);
		uint8_t was = st;

		if (s->smug)
			smug_byte(s, st, c);
		st = body_next[st][body_class(c)];
		if (st == B_LAX) {
			/* The next line starts after this LF: a CRLF's or a bare one. */
			st = was == B_LDOTCR ? B_SOL : B_LF;
			if (s->st.lax_dot != UINT16_MAX)
				s->st.lax_dot++;
			s->smug = 1;
			s->smug_m = SMUG_NO;
		}
		if (st == B_END) {
			*ended = 1;
			st = B_SOL;
			s->smug = 0;
			break;
		}
	}
	s->bstate = st;
	return i;
}
