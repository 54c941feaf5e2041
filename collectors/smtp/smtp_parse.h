/*
 * smtp_parse.h — follows one SMTP session from the TCP payload of both
 * directions, as a mirror port sees it: RFC 5321 (commands, replies, the
 * DATA terminator), RFC 4954 (AUTH), RFC 3207 (STARTTLS), RFC 2920
 * (PIPELINING) and RFC 3030 (BDAT chunks). Pure: no I/O, no allocation;
 * the caller owns the struct (the smtp collector keeps them in a pool).
 *
 * What it learns is what spanwatch's SMTP counters and alerts need: the
 * greeting, the EHLO/HELO name, whether STARTTLS was accepted (the rest
 * of the session is then opaque), the AUTH mechanism and its outcome,
 * the envelope sender's domain (never its local part), the RCPT TO
 * commands and their replies, messages sent, QUIT. It stops reading once
 * nothing more can be learnt (TLS started, QUIT sent, or not SMTP).
 *
 * Transport. Chunks come with their TCP sequence numbers, placed in
 * each direction's stream by the TCP follower (tcpfollow.h).
 * Retransmitted bytes are dropped (the first copy wins); a chunk that arrives early (a hole before it) is
 * held in one small slot per session until the hole fills. A hole that
 * cannot wait (the slot is busy or the chunk is too long) is declared
 * lost: the partial line is dropped and parsing resumes at the next line
 * start (see smtp_parse.c for how a line start is recognised).
 */
#ifndef SPANWATCH_SMTP_PARSE_H
#define SPANWATCH_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "tcpfollow.h"

/* RFC 5321 4.5.3.1.4: a command line is at most 512 octets with CRLF. */
#define SMTP_LINE_MAX 512
/* Longest early chunk held while its hole fills: commands and replies
 * fit, message bodies need not (their content is skipped anyway). */
#define SMTP_HOLD_MAX 256
/* Kept of the EHLO name and the sender's domain (longer ones cut, and
 * the cut marked in struct smtp_sess cut). */
#define SMTP_NAME_MAX 63
/* Command runs awaiting their replies (a pipelined MAIL, n RCPT, DATA
 * group is three runs). */
#define SMTP_PEND_MAX 8

enum smtp_dir { SMTP_C2S = 0, SMTP_S2C = 1 };

/* What has been seen (struct smtp_sess flags); smtp_parse_feed returns
 * the bits a call set. */
enum {
	SMTP_F_GREETING  = 1 << 0,	/* a 2xx greeting (220) */
	SMTP_F_HELO      = 1 << 1,	/* EHLO or HELO, helo[] holds the name */
	SMTP_F_MAIL      = 1 << 2,	/* MAIL FROM, from_domain[] holds the domain */
	SMTP_F_RCPT      = 1 << 3,	/* at least one RCPT (rcpt grew in this call) */
	SMTP_F_STARTTLS  = 1 << 4,	/* the client asked for STARTTLS */
	SMTP_F_TLS       = 1 << 5,	/* TLS started (220 to STARTTLS, a TLS
					 * record where a command was due, or
					 * implicit TLS as on port 465) */
	SMTP_F_AUTH      = 1 << 6,	/* the client sent AUTH */
	SMTP_F_AUTH_OK   = 1 << 7,	/* 235 to the client's AUTH (a 235 that
					 * answers no AUTH counts for nothing) */
	SMTP_F_AUTH_FAIL = 1 << 8,	/* AUTH refused (4xx or 5xx) */
	SMTP_F_DATA      = 1 << 9,	/* a message was handed over (354, BDAT) */
	SMTP_F_QUIT      = 1 << 10,
	SMTP_F_NOT_SMTP  = 1 << 11,	/* too much that is not SMTP: gave up */
	SMTP_F_DONE      = 1 << 12,	/* nothing more to learn: input is ignored */
};

/* Which names were longer than SMTP_NAME_MAX (struct smtp_sess cut). */
enum { SMTP_CUT_HELO = 1 << 0, SMTP_CUT_FROM = 1 << 1 };

enum smtp_auth_mech {
	SMTP_AUTH_NONE, SMTP_AUTH_PLAIN, SMTP_AUTH_LOGIN, SMTP_AUTH_CRAM_MD5,
	SMTP_AUTH_XOAUTH2, SMTP_AUTH_OTHER
};

/* What went wrong on the way, for the sensor's counters; saturating. */
struct smtp_parse_stats {
	uint16_t dups;		/* chunks that were wholly retransmissions */
	uint16_t held;		/* early chunks held until their hole filled */
	uint16_t gaps;		/* holes declared lost */
	uint16_t overlong;	/* client lines over SMTP_LINE_MAX */
	uint16_t garbage;	/* lines that are neither command nor reply */
	uint16_t unmatched;	/* replies with no command waiting */
	uint16_t pend_full;	/* commands not queued: SMTP_PEND_MAX runs */
	uint16_t forced;	/* bodies ended by the server's reply, not by
				 * CRLF.CRLF (a lost or bare-LF terminator) */
	uint16_t lax_dot;	/* dot lines inside a body that a bare LF opens
				 * or closes (SMTP smuggling): not an end */
	uint16_t auth_left;	/* commands that ended an AUTH exchange whose
				 * final reply the mirror never showed */
};

/* One direction's reassembly and line state. Private to smtp_parse.c. */
struct smtp_half {
	struct tcpfollow f;	/* where the direction's stream stands */
	uint16_t len;		/* line bytes buffered */
	uint8_t synced;		/* next is known */
	uint8_t skip;		/* dropping bytes up to the next LF */
	uint8_t resync;		/* after a loss: judge the next chunk's start */
	uint8_t pad[3];
};

struct smtp_pend {
	uint8_t cmd;		/* which command (smtp_parse.c) */
	uint8_t pad;
	uint16_t n;		/* how many in a row */
};

/*
 * One session. Results are public and read-only for the caller; the
 * fields after "private" belong to smtp_parse.c. Its size is checked at
 * compile time (at most SMTP_SESS_MAX_SIZE bytes).
 */
struct smtp_sess {
	uint32_t flags;			/* SMTP_F_* */
	uint32_t rcpt;			/* RCPT commands */
	uint32_t rcpt_ok, rcpt_temp, rcpt_fail;	/* their 2xx, 4xx, 5xx replies */
	uint16_t mails;			/* MAIL commands */
	uint16_t msgs;			/* messages the server accepted (250 after
					 * the body or the last BDAT) */
	uint16_t greeting;		/* the greeting's reply code, 0: none yet */
	uint8_t auth_mech;		/* enum smtp_auth_mech of the latest AUTH */
	uint8_t cut;			/* SMTP_CUT_*: helo[] or from_domain[] holds
					 * only the start of the name sent */
	char helo[SMTP_NAME_MAX + 1];	/* latest EHLO/HELO name, as sent */
	char from_domain[SMTP_NAME_MAX + 1];	/* latest envelope sender's domain;
						 * "" for the null sender <> */
	struct smtp_parse_stats st;

	/* private */
	struct smtp_half half[2];
	struct smtp_pend pend[SMTP_PEND_MAX];
	uint8_t pend_head, pend_n;
	uint8_t cmode;			/* what client bytes are now */
	uint8_t bstate;			/* where in a body line */
	uint8_t smug;			/* a lax dot line was seen in this body */
	uint8_t smug_m;			/* how much of "RCPT TO:" the body line matched */
	uint8_t greeted;		/* the first server reply has been seen */
	uint8_t spfx_n;			/* server line prefix bytes */
	char spfx[4];			/* first bytes of the server line */
	uint16_t ncmds;			/* client lines seen (saturating) */
	uint8_t auth_ir;		/* the pending AUTH carried an initial response */
	uint8_t auth_st;		/* AS_* (smtp_parse.c): AUTH and 235 */
	uint32_t ev;			/* SMTP_F_* set during the current call */
	uint32_t bdat_left;		/* BDAT octets still to skip */
	uint32_t hold_seq;
	uint16_t hold_len;
	uint8_t hold_dir, hold_used;
	uint8_t hold[SMTP_HOLD_MAX];
	char line[SMTP_LINE_MAX];	/* the client line being gathered */
};

#define SMTP_SESS_MAX_SIZE 1152

/* Starts s as a session nothing has been seen of. */
void smtp_parse_init(struct smtp_sess *s);

/* A SYN (or SYN-ACK) with sequence number isn in direction dir: payload
 * starts at isn + 1. Optional; lets early chunks at the very start of a
 * direction be held rather than taken as the start. */
void smtp_parse_syn(struct smtp_sess *s, enum smtp_dir dir, uint32_t isn);

/* Feeds len payload bytes of direction dir whose first byte has TCP
 * sequence number seq. Any bytes, any order, any length. Returns the
 * SMTP_F_* bits this call set (0: nothing new). */
uint32_t smtp_parse_feed(struct smtp_sess *s, enum smtp_dir dir, uint32_t seq,
			 const uint8_t *data, size_t len);

/* The session is over (flow end): a chunk still held waiting for its
 * hole is parsed, the hole counted as lost. Returns the bits it set. */
uint32_t smtp_parse_finish(struct smtp_sess *s);

/* "PLAIN", "LOGIN", …; "-" for none. */
const char *smtp_parse_mech_name(unsigned mech);

#endif
