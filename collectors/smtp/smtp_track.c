/*
 * smtp_track.c — a subscriber's direct-SMTP window and learned baseline
 * (see smtp_track.h).
 *
 * Surge detection (alert smtp_surge). The question is "is this subscriber
 * sending far more direct SMTP than it usually does?", so each subscriber
 * is compared with its own history, not with a fixed number, and like
 * with like: the window sum now (direct sessions in the [smtp] window)
 * against the window sums it has had before. A mean per step would call
 * any regular burst a surge (12 sessions in one minute every hour average
 * 0.2 a minute; the window holding them holds 12), so the reference is
 * the peak, not the mean:
 *
 *  - recent: the largest window sum seen, decaying with a half-life of
 *    SMTP_SURGE_HALFLIFE (6 h). A job every hour, or every few hours,
 *    finds its own last burst there.
 *  - hour_peak[24]: the largest window sum seen in each hour of the day
 *    (UTC), kept at SMTP_SURGE_DAY_KEEP (0.9) a day. A nightly job finds
 *    last night's burst there; the hours on either side count too, so a
 *    job that drifts across an hour boundary is still itself.
 *  - The current window and the one before it are judged but not yet
 *    learned (their sums wait in ep_max and prev_max until a window has
 *    passed): a burst is never its own reference, so one that grows
 *    within a window still fires.
 *
 * It fires when the window sum passes surge_factor times the reference
 * AND holds at least SMTP_SURGE_FLOOR (10) sessions (0 -> 2 or 1 -> 6
 * never fire), once the sensor has watched for SMTP_SURGE_WARMUP (a day,
 * from [smtp_track_params] since or the subscriber's first event): before
 * that, a nightly job has not been seen once. A subscriber that sends a
 * few relayed mails a day and then dozens of direct sessions has a
 * reference near 0 and fires within the first window. A surge that lasts
 * is learned within a window or two and stops firing, which is the point
 * of a baseline (the absolute thresholds of smtp_direct still hold).
 * An hour-of-day peak falls to 1/surge_factor of itself in about two
 * weeks (0.9^15 = 0.2), so a job that comes back within that, a weekly
 * one too, is still its own routine; a burst at an hour and size never
 * seen before is new behaviour, which is what the alert is for.
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
	memset(t->b, 0, sizeof t->b);
	memset(t->mx_hash, 0, sizeof t->mx_hash);
	memset(t->mx_last, 0, sizeof t->mx_last);
	t->said[0] = t->said[1] = 0;
	/* Epochs are in windows: start them again (the peaks stay). */
	t->ep = t->ep_max = t->prev_max = 0;
}

/* ---- the window --------------------------------------------------------- */

static uint32_t
bucket_width(const struct smtp_track_params *p)
{
	uint32_t w = (p->window + SMTP_TRACK_BUCKETS - 1) / SMTP_TRACK_BUCKETS;

	return w ? w : 1;
}

int
smtp_track_win_slot(uint32_t id[SMTP_TRACK_BUCKETS], uint32_t (*rows)[SMTP_TRACK_BUCKETS],
		    unsigned nrows, const struct smtp_track_params *p, uint32_t t)
{
	uint32_t b = t / bucket_width(p);
	int i = (int)(b % SMTP_TRACK_BUCKETS);

	if (id[i] == b)
		return i;
	if (id[i] > b)
		return -1;
	id[i] = b;
	for (unsigned r = 0; r < nrows; r++)
		rows[r][i] = 0;
	return i;
}

void
smtp_track_win_add(uint32_t *c, uint32_t n)
{
	*c = *c > UINT32_MAX - n ? UINT32_MAX : *c + n;
}

uint32_t
smtp_track_win_sum(const uint32_t id[SMTP_TRACK_BUCKETS], const uint32_t row[SMTP_TRACK_BUCKETS],
		   const struct smtp_track_params *p, uint32_t now)
{
	uint32_t bw = bucket_width(p), nb = (p->window + bw - 1) / bw;
	uint32_t b = now / bw, sum = 0;

	for (int i = 0; i < SMTP_TRACK_BUCKETS; i++)
		if (id[i] + nb > b)
			smtp_track_win_add(&sum, row[i]);
	return sum;
}

/* The slot of t's window for the bucket of time now, or -1. */
static int
bucket_slot(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	return smtp_track_win_slot(t->bkt_id, t->b, SMTP_TRACK_ROWS, p, now);
}

static uint32_t
window_sum(const struct smtp_track *t, const struct smtp_track_params *p, uint32_t now, int row)
{
	return smtp_track_win_sum(t->bkt_id, t->b[row], p, now);
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
recent_at(const struct smtp_track *t, uint32_t now)
{
	if (now <= t->recent_t)
		return t->recent;
	return t->recent * exp2(-(double)(now - t->recent_t) / SMTP_SURGE_HALFLIFE);
}

static double
hour_at(const struct smtp_track *t, int h, uint32_t now)
{
	uint16_t days = (uint16_t)((uint16_t)(now / 86400) - t->hour_day[h]);

	return t->hour_peak[h] * pow(SMTP_SURGE_DAY_KEEP, days);
}

/* A window sum v of the epoch starting at 'at' joins the peaks. */
static void
fold(struct smtp_track *t, uint32_t v, uint32_t at)
{
	double r = recent_at(t, at), hp;
	int h = (int)(at / 3600 % 24);

	if (v == 0)
		return;
	if (at > t->recent_t) {
		t->recent = (float)r;
		t->recent_t = at;
	}
	if (v > t->recent)
		t->recent = (float)v;
	hp = hour_at(t, h, at);
	t->hour_peak[h] = (float)(v > hp ? v : hp);
	t->hour_day[h] = (uint16_t)(at / 86400);
}

/* Moves the epochs on to now's: sums a window old or more are learned. */
static void
learn(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	uint32_t e = now / p->window;

	if (!t->born_t) {
		t->born_t = now ? now : 1;
		t->ep = e;
	}
	if (e <= t->ep)
		return;		/* same epoch, or a packet out of order */
	if (t->ep > 0)
		fold(t, t->prev_max, (t->ep - 1) * p->window);
	if (e == t->ep + 1) {
		t->prev_max = t->ep_max;
	} else {
		fold(t, t->ep_max, t->ep * p->window);
		t->prev_max = 0;
	}
	t->ep_max = 0;
	t->ep = e;
}

/* What a window of this subscriber usually holds at now: the recent peak
 * or the peak of this hour of day or the hours beside it. */
static double
reference(const struct smtp_track *t, uint32_t now)
{
	int h = (int)(now / 3600 % 24);
	double ref = recent_at(t, now);

	for (int d = -1; d <= 1; d++) {
		double v = hour_at(t, (h + d + 24) % 24, now);

		if (v > ref)
			ref = v;
	}
	return ref;
}

/* ---- events ------------------------------------------------------------- */

void
smtp_track_direct(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		  uint32_t mx)
{
	int i;

	if (!t->born_t)
		t->born_t = now ? now : 1;
	if ((i = bucket_slot(t, p, now)) >= 0)
		smtp_track_win_add(&t->b[SMTP_TRACK_B_DIRECT][i], 1);
	mx_add(t, p, now, mx);
}

void
smtp_track_unauth(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now)
{
	int i = bucket_slot(t, p, now);

	if (i >= 0)
		smtp_track_win_add(&t->b[SMTP_TRACK_B_UNAUTH][i], 1);
}

void
smtp_track_rcpt(struct smtp_track *t, const struct smtp_track_params *p, uint32_t now,
		uint32_t n)
{
	int i = bucket_slot(t, p, now);

	if (i >= 0)
		smtp_track_win_add(&t->b[SMTP_TRACK_B_RCPT][i], n);
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
	uint32_t since;
	unsigned due = 0;

	learn(t, p, now);
	memset(c, 0, sizeof *c);
	c->sessions = window_sum(t, p, now, SMTP_TRACK_B_UNAUTH);
	c->rcpt = window_sum(t, p, now, SMTP_TRACK_B_RCPT);
	c->direct = window_sum(t, p, now, SMTP_TRACK_B_DIRECT);
	c->mx = mx_count(t, p, now);
	c->rate = (double)c->direct * p->step / p->window;
	c->usual = reference(t, now);
	c->baseline = c->usual * p->step / p->window;
	since = p->since && p->since < t->born_t ? p->since : t->born_t;
	c->learned = now > since ? (now - since) / p->step : 0;

	int over = c->sessions > p->max_sessions || c->mx > p->max_mx || c->rcpt > p->max_rcpt;
	int warm = (uint64_t)since + SMTP_SURGE_WARMUP <= now;
	int surge = warm && c->direct >= SMTP_SURGE_FLOOR &&
		    c->direct > p->surge_factor * c->usual;

	if (c->direct > t->ep_max)
		t->ep_max = c->direct;
	due |= say(&t->said[0], over, now / p->step) ? SMTP_TRACK_DIRECT : 0;
	due |= say(&t->said[1], surge, now / p->step) ? SMTP_TRACK_SURGE : 0;
	return due;
}
