/*
 * pl_smtp.h — mail submission and delivery (RFC 5321 SMTP, RFC 6409
 * submission, RFC 4954 AUTH PLAIN/LOGIN, RFC 3207 STARTTLS, RFC 2920
 * pipelining) in the shapes an ISP sees: customers submitting through the
 * ISP relay on 587 with AUTH, customers submitting to an outside provider,
 * spam bots talking straight to many MX hosts on 25 (many recipients, many
 * refused), STARTTLS sessions that hide everything after the upgrade, and
 * exempt customers' own mail servers.
 */
#ifndef SPANWATCH_GEN_PL_SMTP_H
#define SPANWATCH_GEN_PL_SMTP_H

#include "kinds.h"
#include "spawn.h"

int smtp_script(const struct gen *g, const struct flow *f, uint32_t step,
		struct msg *m, struct bufw *lit);

/* a customer sends a message (relay, or an outside provider) */
void smtp_user_spawn(struct gen *g, const struct spawn *s);
/* a spam bot's burst of direct-to-MX sessions */
void smtp_bot_spawn(struct gen *g, const struct spawn *s);
/* an exempt customer's MTA delivers a few messages */
void smtp_mta_spawn(struct gen *g, const struct spawn *s);

/*
 * Planned senders (--routine, --switchers): direct SMTP on a timetable,
 * for the smtp_surge tests. Routine ones send the same burst every hour
 * or every night and must never be a surge; a switcher submits a few
 * AUTH'd mails a day to the relay and then, at a time the truth records
 * ("# switchers=NAME@UNIX_TIME,..."), a burst of direct sessions. They
 * are the last ordinary subscribers (neither bot nor exempt): switchers
 * from the end, then routine ones ("# routine=NAME:hourly,..."). Each has
 * one heap event, ref GEN_REF_SOURCE | (nsrc + k). 0, or -1 (no memory).
 */
int smtp_plan_create(struct gen *g, uint32_t nsrc);
/* planned sender k's event is due at now: its sessions, its next time */
void smtp_plan_fire(struct gen *g, uint32_t k, uint64_t now);

#endif
