/*
 * smtp_track.c — a subscriber's direct-SMTP window and learned baseline
 * (see smtp_track.h).
 *
 * Surge detection (alert smtp_surge). The question is "is this subscriber
 * sending far more direct SMTP than it usually does?", so each subscriber
 * is compared with its own history, not with a fixed number.
 *
 *  - The observation is x = direct sessions started per RRD step.
 *  - The baseline is an exponentially weighted moving average (EWMA) of
 *    x with a half-life of SMTP_SURGE_HALFLIFE (6 h): per step,
 *        mean <- b * mean + a * x,   a = 1 - b,   b = 2^(-step / 6 h);
 *    beside it the same EWMA of |x - mean| gives the deviation, the
 *    width of the subscriber's normal band (a mean absolute deviation,
 *    which one outlier moves less than a variance). A half-life of hours
 *    follows a daily pattern slowly enough that a burst of minutes stands
 *    out against it. Steps without sessions are folded in lazily, in
 *    closed form, when the next session comes (k empty steps:
 *    mean <- b^k mean, dev <- b^k dev + a k b^(k-1) mean), so a silent
 *    subscriber costs nothing per step.
 *  - Both start at 0 on the step of the subscriber's first direct
 *    session and are read bias-corrected, divided by 1 - b^n after n
 *    steps (as Adam's moment estimates are), so that early on the
 *    baseline is the weighted mean of the steps seen so far rather than
 *    pulled towards the 0 it started from. The deviation is measured
 *    against the raw mean, which is still low early on, so it starts
 *    wide: that errs against firing.
 *  - Warm-up: it may fire only once it has learned for SMTP_SURGE_WARMUP
 *    (6 h, one half-life: the start then weighs at most half) and at
 *    least SMTP_SURGE_MIN_STEPS steps.
 *  - It fires when the rate over the [smtp] window, r = direct sessions
 *    in the window * step / window, passes surge_factor * mean AND
 *    mean + SMTP_SURGE_BAND * dev (4 deviations: above the subscriber's
 *    usual spread, so a bursty sender is not flagged for its own normal
 *    bursts), AND the window holds at least SMTP_SURGE_FLOOR (10) direct
 *    sessions, so that 0 -> 2 or 1 -> 6 sessions never fires.
 *  - The current step is not yet in the baseline, so a surge is judged
 *    against the history before it; a surge that lasts is learned in
 *    over hours and stops firing, which is the point of a baseline (the
 *    absolute thresholds of smtp_direct still hold).
 */
#include "smtp_track.h"

#include <math.h>
#include <string.h>

void
smtp_track_init(struct smtp_track *t)
{
	memset(t, 0, sizeof *t);
}

void
smtp_track_reset_window(struct smtp_track *t)
{
	memset(t->bkt_id, 0, sizeof t->bkt_id);
	memset(t->b_unauth, 0, sizeof t->b_unauth);
	memset(t->b_rcpt, 0, sizeof t->b_rcpt);
	memset(t->b_direct, 0, sizeof t->b_direct);
	memset(t->mx_hash, 0, sizeof t->mx_hash);
	memset(t->mx_last, 0, sizeof t->mx_last);
	t->said[0] = t->said[1] = 0;
}

/* ---- the window --------------------------------------------------------- */

static uint32_t
bucket_width(const struct smtp_track_params *p)
{
	uint32_t w = (p->window + SMTP_TRACK_BUCKETS - 1) / SMTP_TRACK_BUCKETS;

	return w ? w : 1;
}

/* The slot for the bucket of time now, emptied if it held an older
 * bucket; NULL when it holds a newer one (now is too old to count). */
static int
bucket_slot(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	uint32_t id = now / bucket_width(p);
	int i = (int)(id % SMTP_TRACK_BUCKETS);

	if (t->bkt_id[i] == id)
		return i;
	if (t->bkt_id[i] > id)
		return -1;
	t->bkt_id[i] = id;
	t->b_unauth[i] = t->b_rcpt[i] = t->b_direct[i] = 0;
	return i;
}

static void
add(uint32_t *c, uint32_t n)
{
	*c = *c > UINT32_MAX - n ? UINT32_MAX : *c + n;
}

static uint32_t
window_sum(const struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
	   const uint32_t *b)
{
	uint32_t bw = bucket_width(p), nb = (p->window + bw - 1) / bw;
	uint32_t id = now / bw, sum = 0;

	for (int i = 0; i < SMTP_TRACK_BUCKETS; i++)
		if (t->bkt_id[i] + nb > id)
			add(&sum, b[i]);
	return sum;
}

static void
mx_add(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now, uint32_t h)
{
	int freeslot = -1;

	for (int i = 0; i < SMTP_TRACK_MX; i++) {
		if (t->mx_last[i] && t->mx_hash[i] == h) {
			if (now > t->mx_last[i])
				t->mx_last[i] = now;
			return;
		}
		if (freeslot < 0 && (!t->mx_last[i] || (uint64_t)t->mx_last[i] + p->window <= now))
			freeslot = i;
	}
	/* No room: every entry is in the window, the count saturates. */
	if (freeslot >= 0) {
		t->mx_hash[freeslot] = h;
		t->mx_last[freeslot] = now ? now : 1;
	}
}

static uint32_t
mx_count(const struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	uint32_t n = 0;

	for (int i = 0; i < SMTP_TRACK_MX; i++)
		n += t->mx_last[i] && (uint64_t)t->mx_last[i] + p->window > now;
	return n;
}

/* ---- the baseline ------------------------------------------------------- */

static double
keep(const struct smtp_track_params *p)
{
	return exp2(-(double)p->step / SMTP_SURGE_HALFLIFE);
}

/* Folds in the steps before now's. */
static void
advance(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	uint32_t k = now / p->step;

	if (!t->born) {
		t->born = 1;
		t->cur_step = k;
		t->cur_count = 0;
		return;
	}
	if (k <= t->cur_step)
		return;		/* same step, or a packet out of order */

	double b = keep(p), a = 1 - b, x = t->cur_count;
	t->dev = b * t->dev + a * fabs(x - t->mean);
	t->mean = b * t->mean + a * x;
	uint32_t empty = k - t->cur_step - 1;
	if (empty) {
		double bk = pow(b, empty);

		t->dev = bk * t->dev + a * empty * pow(b, empty - 1.0) * t->mean;
		t->mean = bk * t->mean;
	}
	uint64_t learned = (uint64_t)t->learned + 1 + empty;
	t->learned = learned > UINT32_MAX ? UINT32_MAX : (uint32_t)learned;
	t->cur_step = k;
	t->cur_count = 0;
}

/* ---- events ------------------------------------------------------------- */

void
smtp_track_direct(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		  uint32_t mx)
{
	int i;

	advance(t, p, now);
	add(&t->cur_count, 1);
	if ((i = bucket_slot(t, p, now)) >= 0)
		add(&t->b_direct[i], 1);
	mx_add(t, p, now, mx);
}

void
smtp_track_unauth(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	int i = bucket_slot(t, p, now);

	if (i >= 0)
		add(&t->b_unauth[i], 1);
}

void
smtp_track_rcpt(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		uint32_t n)
{
	int i = bucket_slot(t, p, now);

	if (i >= 0)
		add(&t->b_rcpt[i], n);
}

/* Whether a condition that holds (or not) at step k is to be reported. */
static int
say(uint32_t *said, int holds, uint32_t k)
{
	if (!holds) {
		*said = 0;
		return 0;
	}
	if (*said == k + 1)
		return 0;
	*said = k + 1;
	return 1;
}

unsigned
smtp_track_judge(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		 struct smtp_track_counts *c)
{
	unsigned due = 0;

	advance(t, p, now);
	memset(c, 0, sizeof *c);
	c->sessions = window_sum(t, p, now, t->b_unauth);
	c->rcpt = window_sum(t, p, now, t->b_rcpt);
	c->direct = window_sum(t, p, now, t->b_direct);
	c->mx = mx_count(t, p, now);
	c->rate = (double)c->direct * p->step / p->window;
	if (t->learned) {
		double corr = 1 - pow(keep(p), t->learned);

		c->baseline = t->mean / corr;
		c->dev = t->dev / corr;
	}
	c->learned = t->learned;

	int over = c->sessions > p->max_sessions || c->mx > p->max_mx || c->rcpt > p->max_rcpt;
	int warm = t->learned >= SMTP_SURGE_MIN_STEPS &&
		   (uint64_t)t->learned * p->step >= SMTP_SURGE_WARMUP;
	int surge = warm && c->direct >= SMTP_SURGE_FLOOR &&
		    c->rate > p->surge_factor * c->baseline &&
		    c->rate > c->baseline + SMTP_SURGE_BAND * c->dev;

	due |= say(&t->said[0], over, now / p->step) ? SMTP_TRACK_DIRECT : 0;
	due |= say(&t->said[1], surge, now / p->step) ? SMTP_TRACK_SURGE : 0;
	return due;
}
