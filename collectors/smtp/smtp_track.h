/*
 * smtp_track.h — one subscriber's recent direct SMTP, for the smtp
 * collector's alerts (SPEC "Alerts": smtp_direct, smtp_surge): a sliding
 * window of unauth sessions, recipients and distinct far ends (MX hosts),
 * and a learned baseline of the subscriber's own direct-session rate.
 * Pure: no I/O, no allocation, fixed size; times are packet time in
 * seconds.
 *
 * The window is SMTP_TRACK_BUCKETS buckets of ceil(window / buckets)
 * seconds, so it slides in steps of 1/16 of its length (it covers
 * between window - bucket and window seconds, plus the current bucket).
 * It is the smtp collector's one window: smtp_track_win_* below, also
 * used for the SPF verdicts (smtp_spf.h), so that both count the same
 * sessions. Its counters and sums saturate at UINT32_MAX: a count that
 * wrapped would read as a quiet subscriber.
 *
 * Distinct far ends are exact up to SMTP_TRACK_MX per window: a small set
 * of 32-bit address hashes with their last-seen time, entries older than
 * the window reused. When all SMTP_TRACK_MX are in the window the count
 * saturates there ("64 or more"), which is enough for thresholds below it
 * ([smtp] max_mx, default 10); hash collisions (two far ends taken for
 * one) are about 1 in 10^8 per pair.
 *
 * The surge baseline is described at smtp_track_judge in smtp_track.c.
 */
#ifndef SPANWATCH_SMTP_TRACK_H
#define SPANWATCH_SMTP_TRACK_H

#include <stdint.h>

#define SMTP_TRACK_BUCKETS 16
#define SMTP_TRACK_MX 64

/* Surge detection, see smtp_track.c. */
#define SMTP_SURGE_HALFLIFE (6 * 3600)	/* seconds: memory of the recent peak */
#define SMTP_SURGE_DAY_KEEP 0.9		/* an hour-of-day peak kept per day */
#define SMTP_SURGE_WARMUP 86400		/* seconds watched before it may fire: a
					 * nightly job is seen once first */
#define SMTP_SURGE_FLOOR 10		/* direct sessions in the window, at least */

struct smtp_track_params {
	unsigned window;		/* seconds, > 0 */
	unsigned step;			/* seconds, > 0: the baseline learns per step */
	unsigned max_sessions, max_mx, max_rcpt;
	double surge_factor;
	uint32_t since;			/* packet time the sensor started
					 * watching (0: the subscriber's first
					 * event): the warm-up counts from it */
};

/* What the window and the baseline say now. */
struct smtp_track_counts {
	uint32_t sessions;		/* unauth direct sessions */
	uint32_t mx;			/* distinct far ends of direct sessions */
	uint32_t rcpt;			/* RCPT commands in direct sessions */
	uint32_t direct;		/* direct sessions started */
	double rate;			/* direct sessions per step over the window */
	double baseline;		/* usual: the reference window sum, per step */
	double usual;			/* the same per window: what a window of
					 * this subscriber's routine holds */
	uint32_t learned;		/* steps watched */
};

/* Edges smtp_track_judge reports. */
enum { SMTP_TRACK_DIRECT = 1, SMTP_TRACK_SURGE = 2 };

/* The rows of smtp_track's window (struct smtp_track b). */
enum { SMTP_TRACK_B_UNAUTH, SMTP_TRACK_B_RCPT, SMTP_TRACK_B_DIRECT, SMTP_TRACK_ROWS };

struct smtp_track {
	/* window */
	uint32_t bkt_id[SMTP_TRACK_BUCKETS];	/* time / bucket width */
	uint32_t b[SMTP_TRACK_ROWS][SMTP_TRACK_BUCKETS];
	uint32_t mx_hash[SMTP_TRACK_MX];
	uint32_t mx_last[SMTP_TRACK_MX];	/* 0: empty */
	/* baseline: peaks of past window sums (smtp_track.c) */
	float recent;			/* decays with SMTP_SURGE_HALFLIFE */
	uint32_t recent_t;		/* when recent was last decayed */
	float hour_peak[24];		/* by hour of day (UTC); per day
					 * SMTP_SURGE_DAY_KEEP */
	uint16_t hour_day[24];		/* day of each hour_peak's value */
	uint32_t ep;			/* now / window at the last judge */
	uint32_t ep_max, prev_max;	/* largest window sums of epochs ep and
					 * ep - 1: not in the peaks yet */
	uint32_t born_t;		/* the first event */
	uint32_t said[2];		/* by alert bit - 1: 1 + the step index of the
					 * latest report while the condition holds,
					 * 0 when it does not */
};

void smtp_track_init(struct smtp_track *t);

/* The window: bucket ids in id[], nrows rows of counters in rows[][].
 * Returns the slot of the bucket of time t (seconds), emptied (its id
 * set, its counters in every row zeroed) when it held an older bucket;
 * -1 when it holds a newer one (t is too old to count). */
int smtp_track_win_slot(uint32_t id[SMTP_TRACK_BUCKETS], uint32_t (*rows)[SMTP_TRACK_BUCKETS],
			unsigned nrows, const struct smtp_track_params *p, uint32_t t);

/* *c += n, saturating at UINT32_MAX. */
void smtp_track_win_add(uint32_t *c, uint32_t n);

/* The sum of one row over the buckets in the window that ends at now,
 * saturating at UINT32_MAX. */
uint32_t smtp_track_win_sum(const uint32_t id[SMTP_TRACK_BUCKETS],
			    const uint32_t row[SMTP_TRACK_BUCKETS],
			    const struct smtp_track_params *p, uint32_t now);

/* Forgets the window (not the baseline): the window length changed. */
void smtp_track_reset_window(struct smtp_track *t);

/* A direct session started at now towards the far end whose address
 * hashes to mx. */
void smtp_track_direct(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		       uint32_t mx);

/* A direct session was found unauth at now. */
void smtp_track_unauth(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now);

/* n RCPT commands at now, in a direct session. */
void smtp_track_rcpt(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		     uint32_t n);

/* Fills c with the window ending at now and the baseline learnt from the
 * steps before now's. Returns the alerts that are due: SMTP_TRACK_DIRECT
 * when a window count is past its maximum, SMTP_TRACK_SURGE when the rate
 * is a surge; each when its condition starts to hold, and again at most
 * once per step while it lasts (alert.c's holddown turns repeats into
 * suppressed=N). Call it after each event. */
unsigned smtp_track_judge(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
			  struct smtp_track_counts *c);

#endif
