/*
 * smtp_spf.h — the smtp collector's SPF-verdict bookkeeping: the
 * questions it asks the SPF service (spf.h) about direct sessions, the
 * verdicts still to come (a table of SPF_QUEUE_WAITERS entries, by
 * cookie), the per-subscriber SPF window and the alert fields it gives
 * smtp_direct, and the spf: summary line. smtp.c says which identity a
 * session has and when (SPEC "SPF", smtp.c's header); this module says
 * what became of the question, once, through the collector's done
 * function: a verdict, or none to come (no identity, a cut name, a full
 * queue, the service closed).
 *
 * Memory: the table, allocated at smtp_spf_init; the window is in the
 * caller's per-subscriber tracker.
 */
#ifndef SPANWATCH_SMTP_SPF_H
#define SPANWATCH_SMTP_SPF_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "smtp_track.h"
#include "spf.h"
#include "submap.h"

/* Verdicts by the start of their session, in smtp_track's window
 * (smtp_track_win_*, saturating), so that "passed in the window" and
 * smtp_track's "direct in the window" count the same sessions. */
struct smtp_spf_win {
	uint32_t id[SMTP_TRACK_BUCKETS];
	uint32_t n[SPFR_N][SMTP_TRACK_BUCKETS];	/* by enum spf_result */
};

void smtp_spf_win_reset(struct smtp_spf_win *w);
/* One verdict r for a session that started at start. */
void smtp_spf_win_add(struct smtp_spf_win *w, const struct smtp_track_params *p, uint32_t start,
		      enum spf_result r);
/* The sessions of the window ending at now whose verdict was r. */
uint32_t smtp_spf_win_sum(const struct smtp_spf_win *w, const struct smtp_track_params *p,
			  uint32_t now, enum spf_result r);
/* Appends smtp_direct's SPF fields (spf_pass=N spf_fail=N ..., every
 * result, SPFR_N of them) to f[n..]; returns the new count. */
size_t smtp_spf_fields(const struct smtp_spf_win *w, const struct smtp_track_params *p,
		       uint32_t now, struct alert_field *f, size_t n);

/* A question: the identity domain of a session of subscriber sub (-1:
 * gone from the map), its tracker generation gen (0: none), its start
 * (packet time) and client address (family AF_INET or AF_INET6, 16
 * bytes at ip); helo when the domain is the EHLO name, cut when the
 * parser kept only its start. */
struct smtp_spf_q {
	int32_t sub;
	uint32_t gen, start;
	int family;
	const uint8_t *ip;
	const char *domain, *helo_name;
	uint8_t helo, cut;
};

/* What became of a question: v is the verdict, or NULL when none will
 * come. Called once per question, from smtp_spf_ask (a cached verdict,
 * or none), smtp_spf_check or smtp_spf_close. */
typedef void (*smtp_spf_done_fn)(void *ctx, int32_t sub, uint32_t gen, uint32_t start,
				 const struct spf_verdict *v);

struct smtp_spf_pend;

struct smtp_spf_counts {
	uint64_t asked, noident, cut, dropped;
	uint64_t res[SPFR_N];
};

/* Public for embedding in the collector; the fields are this module's. */
struct smtp_spf {
	struct spf *spf;		/* NULL: off, or no helper */
	enum config_spf mode;
	const struct submap *subs;	/* for the names in -v lines */
	smtp_spf_done_fn done;
	void *ctx;
	struct smtp_spf_pend *pend;
	uint32_t npend, pend_hwm, pend_free;
	struct smtp_spf_counts n;
};

/* Allocates the table. Returns 0, or -1 (no memory). */
int smtp_spf_init(struct smtp_spf *q, const struct submap *subs, smtp_spf_done_fn done,
		  void *ctx);
/* Starts the service that [smtp] spf and resolver of cfg ask for (none
 * for spf = off; none either when its helper cannot start, and SPF is
 * then simply not checked). */
void smtp_spf_open(struct smtp_spf *q, const struct sw_config *cfg);
/* 1 when verdicts can come. */
static inline int
smtp_spf_on(const struct smtp_spf *q)
{
	return q->spf != NULL;
}
/* Stops the service; the questions still open get done(NULL). */
void smtp_spf_close(struct smtp_spf *q);
void smtp_spf_free(struct smtp_spf *q);

void smtp_spf_ask(struct smtp_spf *q, const struct smtp_spf_q *a);
/* Takes the verdicts that have come (wait: replaying a file, waits for
 * them first, spf.h). */
void smtp_spf_check(struct smtp_spf *q, int wait);
/* A new subscriber map: the open questions follow their subscriber. */
void smtp_spf_remap(struct smtp_spf *q, const struct submap *subs);
/* The spf: summary line, with the collector's own two counts (alerts
 * not raised since every session passed; raised before every verdict). */
void smtp_spf_report(const struct smtp_spf *q, uint64_t exempted, uint64_t late);

#endif
