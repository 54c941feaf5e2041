/*
 * smtp_parse.c — the SMTP session follower: RFC 5321 (SMTP), RFC 4954
 * (AUTH), RFC 3207 (STARTTLS), RFC 2920 (PIPELINING), RFC 3030 (BDAT).
 *
 * Three layers, bottom up:
 *
 * 1. Reassembly (deliver). Each direction's follower (tcpfollow.h)
 *    keeps the next sequence number it expects. Bytes before it are
 *    retransmissions and are dropped (an overlapping chunk is cut to its
 *    new tail: the first copy wins). A chunk after it (a hole: mirror
 *    reordering, or loss) waits in the session's one hold slot if the
 *    slot is free and the chunk short, and is parsed once the hole fills. When it cannot wait, the hole is declared
 *    lost. A second hole in the same direction while a chunk is held
 *    gives up on the first hole, so nothing waits forever, and
 *    smtp_parse_finish gives up on whatever is held at flow end. We hold
 *    one chunk rather than a reassembly queue because the session must
 *    stay around a kilobyte: one slot covers the common mirror reorder
 *    (two adjacent segments swapped), and loss only ever costs the line
 *    it cut.
 *
 * 2. Lines. Client bytes are command lines (gathered in a 512-byte
 *    buffer), SASL responses (AUTH), a message body (scanned, not kept,
 *    for CRLF.CRLF) or BDAT octets (counted off). Server bytes are reply
 *    lines, of which only the first four bytes matter ("250-", "354 ").
 *    After a lost hole the partial line is dropped; the next chunk counts
 *    as a line start if it begins like one (a known command verb, or
 *    three digits and a separator), otherwise bytes are skipped to the
 *    next LF. An over-long client line is cut at the buffer size, judged
 *    on its verb, and the rest skipped to the next LF.
 *
 * 3. The conversation. Commands wait in a short queue of runs (MAIL,
 *    n RCPT, DATA) for their replies, which arrive in order (RFC 2920
 *    3.1); each final reply line answers the oldest command. The first
 *    server reply is the greeting.
 *
 * The DATA body: after the client's DATA line, client bytes are taken
 *    as body at once, not only after the 354: a client must wait for 354
 *    (RFC 5321 3.3), so any bytes it sends are the body even when the
 *    mirror shows them before the reply; a refusal of DATA turns the mode
 *    back. smtp_body.c finds its end: CRLF "." CRLF only, split anywhere
 *    across chunks; a bare-LF dot line ("SMTP smuggling") is no end, but
 *    the RCPT TO lines after it count. The server's reply to the message
 *    proves the body over, so it ends the body too (counted as forced),
 *    and the commands after it are read again.
 *
 * Commands are counted from the client's stream alone: a reply lost on
 *    the mirror, or hidden by a retransmission that overlaps it, can
 *    refine nothing (no 235, no 220 to STARTTLS) but hides no command.
 *    The one mode a missing reply could leave the client in, SASL after
 *    AUTH, ends at the first line that cannot be SASL (client_line).
 *
 * Privacy: the line buffer and the hold slot are cleared after use, so
 * the session keeps no local part of an address and no SASL credential;
 * only the sender's domain and the EHLO name are kept.
 */
#include "smtp_parse.h"

#include <string.h>

#include "bytes.h"
#include "smtp_body.h"

_Static_assert(sizeof(struct smtp_sess) <= SMTP_SESS_MAX_SIZE,
	       "an SMTP session must stay small: it is pooled per flow");

/* A chunk further than this from where the direction stands is not
 * reordering but a jump (capture picked up mid-stream, broken seq):
 * start over there. */
#define SEQ_JUMP (1u << 20)
/* Lines that are neither command nor reply before the session is given
 * up as not SMTP: bounds the work spent on a stranger on port 25. */
#define GARBAGE_MAX 16

/* What client bytes are now. */
enum { CM_CMD, CM_AUTH, CM_BODY, CM_BDAT };

/* AUTH and its 235 (struct smtp_sess auth_st): an AUTH the client sent
 * awaits its final reply; a 235 came while none did, and the server has
 * said nothing since (the mirror may show a reply before its command). */
enum { AS_OPEN = 1, AS_EARLY = 2 };

/* Commands waiting for a reply. */
enum { PD_EHLO, PD_MAIL, PD_RCPT, PD_DATA, PD_BODY, PD_BDAT, PD_BDAT_LAST, PD_AUTH,
       PD_STARTTLS, PD_OTHER, PD_COUNT };


/* ---- small helpers ---------------------------------------------------- */

static void
sat16(uint16_t *c)
{
	if (*c != UINT16_MAX)
		(*c)++;
}

static void
sat32(uint32_t *c)
{
	if (*c != UINT32_MAX)
		(*c)++;
}

static void
set(struct smtp_sess *s, uint32_t bits)
{
	s->flags |= bits;
	s->ev |= bits;
}

static int
upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int
is_alpha(int c)
{
	c = upper(c);
	return c >= 'A' && c <= 'Z';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Case-insensitive: does p[0..n) start with the upper-case word w? */
static int
starts_ci(const char *p, size_t n, const char *w)
{
	size_t k = strlen(w);

	if (n < k)
		return 0;
	for (size_t i = 0; i < k; i++)
		if (upper((unsigned char)p[i]) != w[i])
			return 0;
	return 1;
}

/* Copies the bytes [p, p+n) into dst[SMTP_NAME_MAX + 1], cut to fit,
 * lower-cased when asked (domains compare without case), and marks in
 * s->cut (bit) whether it was cut: an alert must not show the start of a
 * name as if it were the name. */
static void
copy_name(struct smtp_sess *s, uint8_t bit, char *dst, const char *p, size_t n, int fold)
{
	if (n > SMTP_NAME_MAX) {
		n = SMTP_NAME_MAX;
		s->cut |= bit;
	} else {
		s->cut &= (uint8_t)~bit;
	}
	for (size_t i = 0; i < n; i++)
		dst[i] = fold ? (char)lower((unsigned char)p[i]) : p[i];
	dst[n] = '\0';
}

static void
garbage(struct smtp_sess *s)
{
	sat16(&s->st.garbage);
	if (s->st.garbage >= GARBAGE_MAX)
		set(s, SMTP_F_NOT_SMTP | SMTP_F_DONE);
}

/* TLS starts where a command or reply was due: everything after is
 * opaque. */
static void
tls_started(struct smtp_sess *s)
{
	set(s, SMTP_F_TLS | SMTP_F_DONE);
}

/* ---- the queue of commands awaiting replies ----------------------------- */

static void
pend_push(struct smtp_sess *s, uint8_t cmd)
{
	if (s->pend_n) {
		struct smtp_pend *t = &s->pend[(s->pend_head + s->pend_n - 1) % SMTP_PEND_MAX];

		if (t->cmd == cmd && t->n < UINT16_MAX) {
			t->n++;
			return;
		}
	}
	if (s->pend_n == SMTP_PEND_MAX) {
		sat16(&s->st.pend_full);
		return;
	}
	s->pend[(s->pend_head + s->pend_n) % SMTP_PEND_MAX] = (struct smtp_pend){ .cmd = cmd, .n = 1 };
	s->pend_n++;
}

static void
pend_pop(struct smtp_sess *s)
{
	struct smtp_pend *h = &s->pend[s->pend_head];

	if (!s->pend_n)
		return;
	if (--h->n == 0) {
		s->pend_head = (uint8_t)((s->pend_head + 1) % SMTP_PEND_MAX);
		s->pend_n--;
	}
}

/* ---- replies -------------------------------------------------------- */

static void
client_line_reset(struct smtp_sess *s)
{
	struct smtp_half *h = &s->half[SMTP_C2S];

	memset(s->line, 0, h->len);
	h->len = 0;
	h->skip = 0;
}

static void
r_plain(struct smtp_sess *s, unsigned code)
{
	pend_pop(s);
}

static void
r_rcpt(struct smtp_sess *s, unsigned code)
{
	pend_pop(s);
	if (code / 100 == 2)
		sat32(&s->rcpt_ok);
	else if (code / 100 == 4)
		sat32(&s->rcpt_temp);
	else if (code / 100 == 5)
		sat32(&s->rcpt_fail);
}

static void
r_data(struct smtp_sess *s, unsigned code)
{
	pend_pop(s);
	if (code == 354) {
		set(s, SMTP_F_DATA);
		pend_push(s, PD_BODY);
		return;
	}
	/* Refused: the client sends no body; what we took as body start is
	 * commands again. */
	if (s->cmode == CM_BODY) {
		s->cmode = CM_CMD;
		client_line_reset(s);
	}
}

/* The reply to a message's end (the dot, or BDAT LAST): a message when
 * the server took it. */
static void
r_bdat_last(struct smtp_sess *s, unsigned code)
{
	pend_pop(s);
	if (code / 100 == 2)
		sat16(&s->msgs);
}

static void
r_body(struct smtp_sess *s, unsigned code)
{
	r_bdat_last(s, code);
	if (s->cmode == CM_BODY) {
		/* The server saw the end of the message we missed. */
		sat16(&s->st.forced);
		s->cmode = CM_CMD;
		smtp_body_reset(s);
		client_line_reset(s);
	}
}

static void
r_auth(struct smtp_sess *s, unsigned code)
{
	if (code == 334) {
		/* A challenge: the client's next lines are SASL responses. */
		s->cmode = CM_AUTH;
		return;
	}
	pend_pop(s);
	if (s->cmode == CM_AUTH)
		s->cmode = CM_CMD;
	if (code >= 400 && (s->auth_st & AS_OPEN))
		set(s, SMTP_F_AUTH_FAIL);
	s->auth_st &= (uint8_t)~AS_OPEN;	/* a 235 was taken in reply() */
}

static void
r_starttls(struct smtp_sess *s, unsigned code)
{
	pend_pop(s);
	if (code == 220)
		tls_started(s);
}

static void (*const reply_fn[PD_COUNT])(struct smtp_sess *, unsigned) = {
	[PD_EHLO] = r_plain,
	[PD_MAIL] = r_plain,
	[PD_RCPT] = r_rcpt,
	[PD_DATA] = r_data,
	[PD_BODY] = r_body,
	[PD_BDAT] = r_plain,
	[PD_BDAT_LAST] = r_bdat_last,
	[PD_AUTH] = r_auth,
	[PD_STARTTLS] = r_starttls,
	[PD_OTHER] = r_plain,
};

static void
reply(struct smtp_sess *s, unsigned code)
{
	/* 235 answers nothing but AUTH (RFC 4954 6), so it is taken as the
	 * answer to the client's AUTH whatever the queue says (a reply lost
	 * on the mirror puts the queue out of step) -- but only while an AUTH
	 * the client sent awaits its answer, or when that AUTH is the next
	 * thing the client is seen to send before the server says anything
	 * else (c_auth): a far end saying 235 unasked (a bot's cooperating
	 * server) authenticates nothing. */
	s->auth_st &= (uint8_t)~AS_EARLY;
	if (code == 235) {
		if (s->auth_st & AS_OPEN) {
			s->auth_st = 0;
			set(s, SMTP_F_AUTH_OK);
		} else {
			s->auth_st |= AS_EARLY;
		}
	}
	if (!s->greeted) {
		s->greeted = 1;
		/* The greeting (220, or 554/421 refusing service) comes first;
		 * another code answering a command means it was lost. */
		if (code == 220 || code == 554 || code == 421 || !s->pend_n) {
			s->greeting = (uint16_t)code;
			if (code / 100 == 2)
				set(s, SMTP_F_GREETING);
			return;
		}
	}
	if (!s->pend_n) {
		sat16(&s->st.unmatched);
		return;
	}
	reply_fn[s->pend[s->pend_head].cmd](s, code);
}

/* One whole server line, of which spfx holds the first bytes. */
static void
server_line(struct smtp_sess *s)
{
	const char *p = s->spfx;

	if (s->spfx_n < 3 || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
	    (s->spfx_n > 3 && p[3] != ' ' && p[3] != '-' && p[3] != '\r')) {
		garbage(s);
		return;
	}
	if (s->spfx_n > 3 && p[3] == '-')
		return;		/* a continuation; the last line answers */
	reply(s, (unsigned)((p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0')));
}

/* ---- commands ------------------------------------------------------- */

/* The argument after the verb: line[vlen..len), leading blanks off. */
struct arg {
	const char *p;
	size_t n;
};

static struct arg
arg_of(const char *line, size_t len, size_t vlen)
{
	struct arg a = { line + vlen, len - vlen };

	while (a.n && (*a.p == ' ' || *a.p == '\t')) {
		a.p++;
		a.n--;
	}
	return a;
}

static size_t
token_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	return i;
}

static void
c_helo(struct smtp_sess *s, struct arg a, int cut)
{
	copy_name(s, SMTP_CUT_HELO, s->helo, a.p, token_len(a.p, a.n), 0);
	set(s, SMTP_F_HELO);
	pend_push(s, PD_EHLO);
}

/* MAIL FROM:<local@domain> [params]: only the domain is kept. Source
 * routes (<@relay,@relay:user@domain>) end at the last '@'. */
static void
c_mail(struct smtp_sess *s, struct arg a, int cut)
{
	if (s->mails != UINT16_MAX)
		s->mails++;
	pend_push(s, PD_MAIL);
	if (!starts_ci(a.p, a.n, "FROM:"))
		return;
	a.p += 5;
	a.n -= 5;
	while (a.n && *a.p == ' ') {
		a.p++;
		a.n--;
	}
	const char *end = a.p + token_len(a.p, a.n);
	if (a.n && *a.p == '<') {
		const char *gt = memchr(a.p, '>', a.n);

		if (!gt) {
			if (cut)
				return;	/* the path went on past the buffer */
			gt = end;
		}
		a.p++;
		end = gt;
	}
	const char *at = NULL;
	for (const char *q = a.p; q < end; q++)
		if (*q == '@')
			at = q;
	if (at) {
		copy_name(s, SMTP_CUT_FROM, s->from_domain, at + 1, (size_t)(end - at - 1), 1);
	} else {
		s->from_domain[0] = '\0';
		s->cut &= (uint8_t)~SMTP_CUT_FROM;
	}
	set(s, SMTP_F_MAIL);
}

static void
c_rcpt(struct smtp_sess *s, struct arg a, int cut)
{
	sat32(&s->rcpt);
	set(s, SMTP_F_RCPT);
	pend_push(s, PD_RCPT);
}

static void
c_data(struct smtp_sess *s, struct arg a, int cut)
{
	pend_push(s, PD_DATA);
	s->cmode = CM_BODY;
	smtp_body_reset(s);	/* DATA's own CRLF opens CRLF.CRLF */
}

/* BDAT size [LAST]: size octets follow the line at once, no 354. */
static void
c_bdat(struct smtp_sess *s, struct arg a, int cut)
{
	uint64_t n = 0;
	size_t i = 0;

	while (i < a.n && is_digit(a.p[i]) && n <= UINT32_MAX)
		n = n * 10 + (unsigned)(a.p[i++] - '0');
	if (i == 0 || n > UINT32_MAX) {
		/* The server refuses it; the client has no size to send. */
		pend_push(s, PD_OTHER);
		return;
	}
	struct arg rest = arg_of(a.p, a.n, i);
	pend_push(s, starts_ci(rest.p, rest.n, "LAST") ? PD_BDAT_LAST : PD_BDAT);
	set(s, SMTP_F_DATA);
	s->bdat_left = (uint32_t)n;
	if (n)
		s->cmode = CM_BDAT;
}

static const struct {
	const char *name;
	uint8_t mech;
} mechs[] = {
	{ "PLAIN", SMTP_AUTH_PLAIN },
	{ "LOGIN", SMTP_AUTH_LOGIN },
	{ "CRAM-MD5", SMTP_AUTH_CRAM_MD5 },
	{ "XOAUTH2", SMTP_AUTH_XOAUTH2 },
};

/* AUTH mechanism [initial-response] (RFC 4954 4). Without an initial
 * response the client can only wait for 334 and answer it, so its next
 * lines are SASL at once; with one, it may pipeline commands after it,
 * so its lines become SASL only when a 334 asks for more. */
static void
c_auth(struct smtp_sess *s, struct arg a, int cut)
{
	size_t k = token_len(a.p, a.n);
	struct arg ir = arg_of(a.p, a.n, k);

	s->auth_mech = SMTP_AUTH_OTHER;
	for (size_t i = 0; i < sizeof mechs / sizeof mechs[0]; i++)
		if (k == strlen(mechs[i].name) && starts_ci(a.p, k, mechs[i].name))
			s->auth_mech = mechs[i].mech;
	s->auth_ir = ir.n > 0;
	set(s, SMTP_F_AUTH);
	if (s->auth_st & AS_EARLY) {
		/* Its 235 was shown first: answered already, nothing to wait
		 * for, and what follows is commands. */
		s->auth_st = 0;
		set(s, SMTP_F_AUTH_OK);
		return;
	}
	s->auth_st = AS_OPEN;
	pend_push(s, PD_AUTH);
	if (!s->auth_ir)
		s->cmode = CM_AUTH;
}

static void
c_starttls(struct smtp_sess *s, struct arg a, int cut)
{
	set(s, SMTP_F_STARTTLS);
	pend_push(s, PD_STARTTLS);
}

static void
c_quit(struct smtp_sess *s, struct arg a, int cut)
{
	set(s, SMTP_F_QUIT | SMTP_F_DONE);
}

static void
c_other(struct smtp_sess *s, struct arg a, int cut)
{
	pend_push(s, PD_OTHER);
}

/* CF_WHOLE: the command changes what the following bytes are, so a cut
 * (over-long) line of it is not trusted: the server refuses such a line. */
enum { CF_WHOLE = 1 };

static const struct cmd {
	const char *verb;
	void (*fn)(struct smtp_sess *, struct arg, int cut);
	uint8_t flags;
} cmds[] = {
	{ "EHLO", c_helo, 0 },
	{ "HELO", c_helo, 0 },
	{ "MAIL", c_mail, 0 },
	{ "RCPT", c_rcpt, 0 },
	{ "DATA", c_data, CF_WHOLE },
	{ "BDAT", c_bdat, CF_WHOLE },
	{ "AUTH", c_auth, CF_WHOLE },
	{ "STARTTLS", c_starttls, CF_WHOLE },
	{ "QUIT", c_quit, CF_WHOLE },
	{ "RSET", c_other, 0 },
	{ "NOOP", c_other, 0 },
	{ "VRFY", c_other, 0 },
	{ "EXPN", c_other, 0 },
	{ "HELP", c_other, 0 },
};

#define VERB_MAX 8

/* The command whose verb p[0..n) is (case-insensitive), or NULL. */
static const struct cmd *
cmd_find(const char *p, size_t n)
{
	if (n == 0 || n > VERB_MAX)
		return NULL;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strlen(cmds[i].verb) == n && starts_ci(p, n, cmds[i].verb))
			return &cmds[i];
	return NULL;
}

/* Does p[0..n) begin with a known verb and its separator? Used to find a
 * line start after a loss. */
static int
looks_like_command(const uint8_t *p, size_t n)
{
	struct bytes b = bytes_of(p, (uint32_t)n);
	uint32_t i = 0;
	uint8_t c;

	/* A read past the end gives 0, which is no letter. */
	while (i <= VERB_MAX && is_alpha(bytes_u8(&b, i)))
		i++;
	c = bytes_u8(&b, i);
	if (b.err || (c != ' ' && c != '\r' && c != '\n'))
		return 0;
	return cmd_find((const char *)p, i) != NULL;
}

static int
looks_like_reply(const uint8_t *p, size_t n)
{
	struct bytes b = bytes_of(p, (uint32_t)n);
	uint8_t c3 = bytes_u8(&b, 3), c0 = bytes_u8(&b, 0);

	return !b.err && c0 >= '2' && c0 <= '5' && is_digit(bytes_u8(&b, 1)) &&
	       is_digit(bytes_u8(&b, 2)) && (c3 == ' ' || c3 == '-' || c3 == '\r' || c3 == '\n');
}

/* The first of the n bytes at p; 0 when there are none. */
static uint8_t
first_byte(const uint8_t *p, size_t n)
{
	struct bytes b = bytes_of(p, (uint32_t)n);

	return bytes_u8(&b, 0);
}

/* One whole client line in line[0..len), CR stripped; cut: the line was
 * longer than the buffer and this is its start. */
static void
client_line(struct smtp_sess *s, size_t len, int cut)
{
	if (s->ncmds != UINT16_MAX)
		s->ncmds++;

	size_t v = 0;
	while (v < len && s->line[v] != ' ' && s->line[v] != '\t')
		v++;
	const struct cmd *c = cmd_find(s->line, v);
	if (s->cmode == CM_AUTH) {
		/* A SASL response is one base64 word or "*" (RFC 4954 4): it
		 * never holds a blank. A known verb and a blank is a command,
		 * so the exchange is over and its final reply went missing on
		 * the mirror (lost, or hidden by an overlapping retransmission,
		 * as in suricata-verify smtp-bug-5989): commands are counted
		 * from the client's stream alone; the replies only refine.
		 * A bare "DATA" or "QUIT" is valid base64 and stays SASL. */
		if (!c || v == len)
			return;	/* a SASL response: nothing to learn, cleared below */
		sat16(&s->st.auth_left);
		s->cmode = CM_CMD;
	}
	if (!c) {
		int word = v > 0 && v <= VERB_MAX;

		for (size_t i = 0; word && i < v; i++)
			word = is_alpha((unsigned char)s->line[i]);
		if (!word && len)
			garbage(s);
		/* A server answers every line, known or not (500). */
		pend_push(s, PD_OTHER);
		return;
	}
	if (cut && (c->flags & CF_WHOLE)) {
		pend_push(s, PD_OTHER);
		return;
	}
	c->fn(s, arg_of(s->line, len, v), cut);
}

/* ---- byte streams --------------------------------------------------- */

static void
client_bytes(struct smtp_sess *s, const uint8_t *p, size_t n)
{
	struct smtp_half *h = &s->half[SMTP_C2S];

	while (n && !(s->flags & SMTP_F_DONE)) {
		if (s->cmode == CM_BDAT) {
			size_t k = n < s->bdat_left ? n : s->bdat_left;

			p += k;
			n -= k;
			s->bdat_left -= (uint32_t)k;
			if (!s->bdat_left)
				s->cmode = CM_CMD;
			continue;
		}
		if (s->cmode == CM_BODY) {
			int ended = 0;
			size_t k = smtp_body_scan(s, p, n, &ended);

			if (ended) {
				s->cmode = CM_CMD;
				client_line_reset(s);
			}
			p += k;
			n -= k;
			continue;
		}
		if (h->resync) {
			h->resync = 0;
			h->skip = !(s->cmode == CM_CMD && looks_like_command(p, n));
		}
		if (h->skip) {
			const uint8_t *q = memchr(p, '\n', n);

			if (!q)
				return;
			n -= (size_t)(q - p) + 1;
			p = q + 1;
			h->skip = 0;
			continue;
		}
		/* A TLS handshake record (content type 22) where a command was
		 * due: after STARTTLS (the 220 may come later on the mirror),
		 * or as the client's very first bytes (implicit TLS, port 465). */
		if (h->len == 0 && s->cmode == CM_CMD && first_byte(p, n) == 0x16 &&
		    ((s->flags & SMTP_F_STARTTLS) || (s->ncmds == 0 && !s->greeted))) {
			tls_started(s);
			return;
		}

		const uint8_t *q = memchr(p, '\n', n);
		size_t k = q ? (size_t)(q - p) : n;
		size_t room = SMTP_LINE_MAX - 1u - h->len;

		if (k > room) {
			memcpy(s->line + h->len, p, room);
			p += room;
			n -= room;
			h->len = (uint16_t)(h->len + room);
			s->line[h->len] = '\0';
			sat16(&s->st.overlong);
			client_line(s, h->len, 1);
			client_line_reset(s);
			h->skip = 1;
			continue;
		}
		memcpy(s->line + h->len, p, k);
		h->len = (uint16_t)(h->len + k);
		p += k;
		n -= k;
		if (!q)
			return;
		p++;
		n--;
		size_t len = h->len;
		if (len && s->line[len - 1] == '\r')
			len--;
		s->line[len] = '\0';
		client_line(s, len, 0);
		client_line_reset(s);
	}
}

static void
server_bytes(struct smtp_sess *s, const uint8_t *p, size_t n)
{
	struct smtp_half *h = &s->half[SMTP_S2C];

	while (n && !(s->flags & SMTP_F_DONE)) {
		if (h->resync) {
			h->resync = 0;
			h->skip = !looks_like_reply(p, n);
		}
		if (h->skip) {
			const uint8_t *q = memchr(p, '\n', n);

			if (!q)
				return;
			n -= (size_t)(q - p) + 1;
			p = q + 1;
			h->skip = 0;
			continue;
		}
		/* The server's TLS handshake: implicit TLS, or a STARTTLS
		 * whose 220 we lost. */
		if (s->spfx_n == 0 && first_byte(p, n) == 0x16 &&
		    (!s->greeted || (s->flags & SMTP_F_STARTTLS))) {
			tls_started(s);
			return;
		}

		const uint8_t *q = memchr(p, '\n', n);
		size_t k = q ? (size_t)(q - p) : n;

		for (size_t i = 0; i < k && s->spfx_n < sizeof s->spfx; i++)
			s->spfx[s->spfx_n++] = (char)p[i];
		p += k;
		n -= k;
		if (!q)
			return;
		p++;
		n--;
		server_line(s);
		s->spfx_n = 0;
	}
}

static void
consume(struct smtp_sess *s, enum smtp_dir dir, const uint8_t *p, size_t n)
{
	if (dir == SMTP_C2S)
		client_bytes(s, p, n);
	else
		server_bytes(s, p, n);
}

/* ---- reassembly ----------------------------------------------------- */

/* gap bytes of direction dir will never be seen. */
static void
lose(struct smtp_sess *s, enum smtp_dir dir, uint32_t gap)
{
	struct smtp_half *h = &s->half[dir];

	sat16(&s->st.gaps);
	if (dir == SMTP_S2C) {
		s->spfx_n = 0;
		h->skip = 0;
		h->resync = 1;
		return;
	}
	if (s->cmode == CM_BDAT) {
		/* The hole is chunk data we would have skipped anyway. */
		if (gap < s->bdat_left) {
			s->bdat_left -= gap;
			return;
		}
		s->bdat_left = 0;
		s->cmode = CM_CMD;
	}
	if (s->cmode == CM_BODY) {
		smtp_body_lost(s);
		return;
	}
	client_line_reset(s);
	h->resync = 1;
}

/* Parses bytes at seq, which is at or before where dir stands: what is
 * old is cut off. */
static void
take(struct smtp_sess *s, enum smtp_dir dir, uint32_t seq, const uint8_t *p, size_t n)
{
	struct smtp_half *h = &s->half[dir];
	uint32_t back;

	if (tcpfollow_place(&h->f, seq, (uint32_t)n, TCPF_NO_JUMP, &back) != TCPF_NEW) {
		sat16(&s->st.dups);
		return;
	}
	tcpfollow_took(&h->f, seq, (uint32_t)n);
	consume(s, dir, p + back, n - back);
}

/* Parses the held chunk; when force, its hole is given up first. */
static void
unhold(struct smtp_sess *s, int force)
{
	enum smtp_dir dir = (enum smtp_dir)s->hold_dir;
	struct smtp_half *h = &s->half[dir];

	uint32_t gap;

	s->hold_used = 0;
	if (force && tcpfollow_place(&h->f, s->hold_seq, s->hold_len, TCPF_NO_JUMP, &gap) ==
			     TCPF_GAP) {
		lose(s, dir, gap);
		tcpfollow_start(&h->f, s->hold_seq);
	}
	/* hold[] stays intact while parsed: nothing below stores a chunk. */
	take(s, dir, s->hold_seq, s->hold, s->hold_len);
	memset(s->hold, 0, s->hold_len);
}

static void
deliver(struct smtp_sess *s, enum smtp_dir dir, uint32_t seq, const uint8_t *p, size_t n)
{
	struct smtp_half *h = &s->half[dir];
	enum tcpfollow_place w;
	uint32_t gap;

	if (!h->synced) {
		tcpfollow_start(&h->f, seq);
		h->synced = 1;
	}
	for (;;) {
		w = tcpfollow_place(&h->f, seq, (uint32_t)n, SEQ_JUMP, &gap);
		if (w == TCPF_NEW || w == TCPF_OLD)
			break;				/* in order, or old */
		if (w == TCPF_JUMP) {
			/* Not a hole but a jump: start over at seq. */
			if (s->hold_used && s->hold_dir == dir) {
				s->hold_used = 0;
				memset(s->hold, 0, s->hold_len);
			}
			lose(s, dir, 0);
			tcpfollow_start(&h->f, seq);
			break;
		}
		if (!s->hold_used && n <= SMTP_HOLD_MAX) {
			memcpy(s->hold, p, n);
			s->hold_seq = seq;
			s->hold_len = (uint16_t)n;
			s->hold_dir = (uint8_t)dir;
			s->hold_used = 1;
			sat16(&s->st.held);
			return;
		}
		if (s->hold_used && s->hold_dir == dir &&
		    (int32_t)(s->hold_seq - seq) < 0) {
			/* A second hole behind the held chunk: the first one is
			 * not going to fill. */
			unhold(s, 1);
			if (s->flags & SMTP_F_DONE)
				return;
			continue;
		}
		lose(s, dir, gap);
		tcpfollow_start(&h->f, seq);
		break;
	}
	take(s, dir, seq, p, n);
	if (s->hold_used && s->hold_dir == dir && !(s->flags & SMTP_F_DONE) &&
	    tcpfollow_place(&h->f, s->hold_seq, s->hold_len, TCPF_NO_JUMP, &gap) != TCPF_GAP)
		unhold(s, 0);
}

/* ---- interface ------------------------------------------------------ */

void
smtp_parse_init(struct smtp_sess *s)
{
	memset(s, 0, sizeof *s);
}

void
smtp_parse_syn(struct smtp_sess *s, enum smtp_dir dir, uint32_t isn)
{
	struct smtp_half *h = &s->half[dir & 1];

	if (!h->synced) {
		tcpfollow_start(&h->f, isn + 1);
		h->synced = 1;
	}
}

static uint32_t
events(struct smtp_sess *s, uint32_t rcpt0)
{
	uint32_t ev = s->ev & ~(uint32_t)SMTP_F_RCPT;

	if (s->rcpt != rcpt0)
		ev |= SMTP_F_RCPT;
	s->ev = 0;
	return ev;
}

uint32_t
smtp_parse_feed(struct smtp_sess *s, enum smtp_dir dir, uint32_t seq, const uint8_t *data,
		size_t len)
{
	uint32_t rcpt0 = s->rcpt;

	s->ev = 0;
	if ((s->flags & SMTP_F_DONE) || !data || !len || (unsigned)dir > SMTP_S2C)
		return 0;
	/* Sequence arithmetic is modulo 2^32; no real chunk comes near. */
	if (len > SEQ_JUMP)
		return 0;
	deliver(s, dir, seq, data, len);
	return events(s, rcpt0);
}

uint32_t
smtp_parse_finish(struct smtp_sess *s)
{
	uint32_t rcpt0 = s->rcpt;

	s->ev = 0;
	if (s->hold_used && !(s->flags & SMTP_F_DONE))
		unhold(s, 1);
	s->hold_used = 0;
	return events(s, rcpt0);
}

const char *
smtp_parse_mech_name(unsigned mech)
{
	static const char *const names[] = {
		[SMTP_AUTH_NONE] = "-", [SMTP_AUTH_PLAIN] = "PLAIN", [SMTP_AUTH_LOGIN] = "LOGIN",
		[SMTP_AUTH_CRAM_MD5] = "CRAM-MD5", [SMTP_AUTH_XOAUTH2] = "XOAUTH2",
		[SMTP_AUTH_OTHER] = "other",
	};

	return mech < sizeof names / sizeof names[0] ? names[mech] : "-";
}
