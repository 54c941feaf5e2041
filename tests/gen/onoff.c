/*
 * onoff.c — ON/OFF traffic sources; see onoff.h.
 *
 * Calibration: a volume class c gets share_c of the mean rate R, spread
 * over its M_c sources. With E[ON] = alpha * on_min / (alpha - 1), a
 * source is ON a fraction p = (share_c * R / M_c) / pps_c of the time,
 * which fixes E[OFF] = E[ON] (1 - p) / p. Event classes (mail, spam,
 * deliveries) have fixed mean OFF times instead, in seconds.
 */
#include "onoff.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen.h"
#include "netplan.h"
#include "pl_bt.h"
#include "pl_p2p.h"
#include "pl_smtp.h"
#include "pl_web.h"
#include "spawn.h"

#define ON_CAP 1e4		/* ON and OFF periods are capped at 10^4 minimums */

enum member { M_ALL, M_GAMER, M_BT, M_P2P, M_MAILER, M_BOT, M_EXEMPT };

static const struct src_class {
	/* cppcheck-suppress unusedStructMember ; names the row for a reader */
	const char *name;
	enum member who;
	double share;		/* of --rate; 0 for event classes */
	double pps;		/* while ON */
	double on_min;		/* s */
	double off_mean;	/* s, event classes; < 0 means --mail-interval */
	double first_within;	/* s, event classes: the first ON comes this soon */
	void (*spawn)(struct gen *, const struct spawn *);
} classes[] = {
	{ "web", M_ALL, 0.62, 100, 0.4, 0, 0, web_spawn },
	{ "game", M_GAMER, 0.06, 40, 3, 0, 0, web_noise_spawn },
	{ "bittorrent", M_BT, 0.24, 150, 3, 0, 0, bt_spawn },
	{ "dht", M_BT, 0.01, 4, 2, 0, 0, bt_dht_spawn },
	{ "p2p", M_P2P, 0.05, 80, 3, 0, 0, p2p_spawn },
	{ "mail", M_MAILER, 0, 0, 0, -1, 0, smtp_user_spawn },
	{ "spam", M_BOT, 0, 0, 20, 240, 10, smtp_bot_spawn },
	{ "mta", M_EXEMPT, 0, 0, 0, 30, 5, smtp_mta_spawn },
};

#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

/* relative activity by hour of day (UTC), mean 1: trough before dawn,
 * peak in the evening, as residential ISPs see */
static const double daily[24] = {
	0.90, 0.66, 0.46, 0.33, 0.26, 0.26, 0.33, 0.50, 0.70, 0.84, 0.93, 0.99,
	1.04, 1.05, 1.05, 1.06, 1.11, 1.21, 1.36, 1.52, 1.67, 1.72, 1.56, 1.24,
};

struct source {
	uint32_t sub;
	uint8_t cls;
};

struct cls_param {
	double pps, on_min, off_min;
};

struct sources {
	struct source *s;
	uint32_t n;
	struct cls_param p[NCLASSES];
	double alpha, daily_norm;
	int daily;
};

static int is_member(const struct sub *s, enum member m)
{
	switch (m) {
	case M_ALL:
		return 1;
	case M_GAMER:
		return s->gamer;
	case M_BT:
		return s->p2p == P2P_BT;
	case M_P2P:
		return s->p2p == P2P_EDONKEY || s->p2p == P2P_GNUTELLA;
	case M_MAILER:
		return s->mailer && s->role == ROLE_NORMAL;
	case M_BOT:
		return s->role == ROLE_BOT;
	case M_EXEMPT:
		return s->role == ROLE_EXEMPT;
	}
	return 0;
}

static double activity(const struct sources *s, uint64_t t_us)
{
	uint64_t sec = t_us / 1000000;
	uint32_t h = (uint32_t)(sec / 3600 % 24);
	double frac = (double)(sec % 3600) / 3600.0;

	/* linear between hourly points, so there are no steps in the rate */
	return (daily[h] * (1 - frac) + daily[(h + 1) % 24] * frac) / s->daily_norm;
}

static double off_period(struct gen *g, const struct sources *s, const struct cls_param *p,
			 uint64_t now)
{
	double off = rng_pareto(&g->rng, s->alpha, p->off_min, p->off_min * ON_CAP);

	return s->daily ? off / activity(s, now) : off;
}

struct sources *src_create(struct gen *g)
{
	struct sources *s = calloc(1, sizeof(*s));
	const struct gen_opts *o = g->o;
	uint32_t members[NCLASSES] = { 0 };
	double a = o->alpha, share_sum = 0;

	if (!s)
		return NULL;
	s->alpha = a;
	s->daily = o->daily;
	for (int h = 0; h < 24; h++)
		s->daily_norm += daily[h] / 24;

	for (uint32_t i = 0; i < g->net->nsubs; i++)
		for (size_t c = 0; c < NCLASSES; c++)
			if (is_member(&g->net->subs[i], classes[c].who)) {
				members[c]++;
				s->n++;
			}
	s->s = calloc(s->n ? s->n : 1, sizeof(*s->s));
	if (!s->s) {
		free(s);
		return NULL;
	}
	for (size_t c = 0; c < NCLASSES; c++)
		if (members[c])
			share_sum += classes[c].share;

	for (size_t c = 0; c < NCLASSES; c++) {
		const struct src_class *k = &classes[c];
		struct cls_param *p = &s->p[c];
		double off_mean;

		if (!members[c])
			continue;
		if (k->share > 0) {
			double per_src = k->share / share_sum * o->rate / members[c];
			double on_mean = a * k->on_min / (a - 1);
			double pon;

			p->pps = k->pps;
			if (per_src / p->pps > 0.5)
				p->pps = 2 * per_src;	/* a busy source: faster, not always on */
			pon = per_src / p->pps;
			off_mean = on_mean * (1 - pon) / pon;
		} else {
			off_mean = k->off_mean < 0 ? o->mail_interval : k->off_mean;
		}
		p->on_min = k->on_min;
		p->off_min = off_mean * (a - 1) / a;
	}

	/* every source starts somewhere in its cycle, so the capture does not
	 * open with everyone switching on at once */
	for (uint32_t i = 0, n = 0; i < g->net->nsubs; i++) {
		for (size_t c = 0; c < NCLASSES; c++) {
			const struct src_class *k = &classes[c];
			uint64_t first;

			if (!is_member(&g->net->subs[i], k->who))
				continue;
			s->s[n].sub = i;
			s->s[n].cls = (uint8_t)c;
			if (k->first_within > 0)
				first = (uint64_t)(rng_unit(&g->rng) * k->first_within * 1e6);
			else
				first = (uint64_t)(rng_unit(&g->rng) *
						   off_period(g, s, &s->p[c], g->t_start) * 1e6);
			if (evheap_push(&g->heap, g->t_start + first, GEN_REF_SOURCE | n) < 0) {
				src_free(s);
				return NULL;
			}
			n++;
		}
	}
	return s;
}

void src_free(struct sources *s)
{
	if (!s)
		return;
	free(s->s);
	free(s);
}

uint32_t src_count(const struct sources *s)
{
	return s->n;
}

void src_fire(struct gen *g, uint32_t idx, uint64_t now)
{
	struct sources *s = g->src;
	const struct source *so = &s->s[idx];
	const struct src_class *k = &classes[so->cls];
	const struct cls_param *p = &s->p[so->cls];
	struct spawn sp = { .sub = so->sub, .t0 = now };
	double next;

	if (p->on_min > 0)
		sp.dur = rng_pareto(&g->rng, s->alpha, p->on_min, p->on_min * ON_CAP);
	sp.budget = p->pps * sp.dur;
	next = sp.dur + off_period(g, s, p, now);
	/* re-schedule first: the flows pushed below may take the top */
	evheap_retime_top(&g->heap, now + (uint64_t)(next * 1e6) + 1);
	k->spawn(g, &sp);
}
