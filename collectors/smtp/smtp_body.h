/*
 * smtp_body.h — the SMTP parser's DATA body scanner: finds the body's
 * end, CRLF "." CRLF (RFC 5321 4.1.1.4), split anywhere across chunks,
 * and counts the recipients a smuggled transaction (a dot line that a
 * bare LF opens or closes: "SMTP smuggling") would hide; smtp_body.c says
 * why. Its state is in struct smtp_sess (bstate, smug, smug_m); only
 * smtp_parse.c calls it.
 */
#ifndef SPANWATCH_SMTP_BODY_H
#define SPANWATCH_SMTP_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_parse.h"

/* A body starts (after DATA's own CRLF, which opens CRLF.CRLF), or one
 * ended by the server's reply: no lax dot line seen. */
void smtp_body_reset(struct smtp_sess *s);

/* Body bytes were lost: the scanner is inside a line. */
void smtp_body_lost(struct smtp_sess *s);

/* Scans n body bytes at p. Returns the bytes consumed: all of them, or
 * up to and including the terminator's LF, and then sets *ended (the
 * client's next bytes are commands). A recipient counted in a smuggled
 * transaction sets SMTP_F_RCPT. */
size_t smtp_body_scan(struct smtp_sess *s, const uint8_t *p, size_t n, int *ended);

#endif
