/*
 * smtp_spf.c — the smtp collector's SPF-verdict bookkeeping; see
 * smtp_spf.h.
 */
#include "smtp_spf.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define NO_SLOT UINT32_MAX

/* A verdict to come, by cookie. */
struct smtp_spf_pend {
	int32_t sub;		/* -1 once it left the map */
	uint32_t gen;		/* its tracker's generation; 0: none */
	uint32_t start;		/* the session's first packet */
	uint32_t next_free;
	uint8_t used;
	uint8_t helo;		/* the identity is the EHLO name */
};

/* ---- the window ----------------------------------------------------- */

void
smtp_spf_win_reset(struct smtp_spf_win *w)
{
	memset(w, 0, sizeof *w);
}

void
smtp_spf_win_add(struct smtp_spf_win *w, const struct smtp_track_params *p, uint32_t start,
		 enum spf_result r)
{
	int i = smtp_track_win_slot(w->id, w->n, SPFR_N, p, start);

	if (i >= 0)
		smtp_track_win_add(&w->n[r][i], 1);
}

uint32_t
smtp_spf_win_sum(const struct smtp_spf_win *w, const struct smtp_track_params *p, uint32_t now,
		 enum spf_result r)
{
	return smtp_track_win_sum(w->id, w->n[r], p, now);
}

/* smtp_direct's SPF evidence (when SPF is on): the direct sessions of the
 * window by their verdict, every result always there. spf_pass and
 * spf_fail (the hard fail only) come first, as they always have; broad
 * (a pass only a term authorising everyone gave) is never a pass; a
 * lookup that failed (temperror) is not a domain without a record
 * (none). A session without a verdict (no identity, a cut name, a full
 * queue, one still to come) is in none of them. */
static const struct {
	const char *key;
	enum spf_result r;
} spf_fields[] = {
	{ "spf_pass", SPFR_PASS }, { "spf_fail", SPFR_FAIL }, { "spf_broad", SPFR_BROAD },
	{ "spf_softfail", SPFR_SOFTFAIL }, { "spf_neutral", SPFR_NEUTRAL },
	{ "spf_none", SPFR_NONE }, { "spf_temperror", SPFR_TEMPERROR },
	{ "spf_permerror", SPFR_PERMERROR },
};
_Static_assert(sizeof spf_fields / sizeof spf_fields[0] == SPFR_N, "every SPF result");

size_t
smtp_spf_fields(const struct smtp_spf_win *w, const struct smtp_track_params *p, uint32_t now,
		struct alert_field *f, size_t n)
{
	for (size_t i = 0; i < sizeof spf_fields / sizeof spf_fields[0]; i++)
		f[n++] = (struct alert_field){ .key = spf_fields[i].key, .type = AF_UINT,
					       .v.u = smtp_spf_win_sum(w, p, now, spf_fields[i].r) };
	return n;
}

/* ---- the table of verdicts to come ---------------------------------- */

static uint32_t
pend_get(struct smtp_spf *q)
{
	uint32_t i;

	if (q->pend_free != NO_SLOT) {
		i = q->pend_free;
		q->pend_free = q->pend[i].next_free;
	} else if (q->pend_hwm < q->npend) {
		i = q->pend_hwm++;
	} else {
		return NO_SLOT;
	}
	return i;
}

static void
pend_put(struct smtp_spf *q, uint32_t i)
{
	q->pend[i].used = 0;
	q->pend[i].next_free = q->pend_free;
	q->pend_free = i;
}

/* The verdict for pending entry i. */
static void
apply(struct smtp_spf *q, uint32_t i, const struct spf_verdict *v)
{
	struct smtp_spf_pend p = q->pend[i];
	const char *name = p.sub >= 0 ? submap_name(q->subs, p.sub) : NULL;

	q->n.res[v->result]++;
	/* The domain comes checked from spf.c ([a-z0-9._-] only), and it is
	 * all of the envelope that is ever logged. */
	if (log_verbosity() >= 1)
		log_info("spf=%s domain=%s identity=%s subscriber=%s%s", spf_result_name(v->result),
			 v->domain ? v->domain : "-", p.helo ? "helo" : "mailfrom",
			 name ? name : "-", v->cached ? " cached=1" : "");
	pend_put(q, i);
	q->done(q->ctx, p.sub, p.gen, p.start, v);
}

static void
on_spf(void *ctx, uint64_t cookie, const struct spf_verdict *v)
{
	struct smtp_spf *q = ctx;

	if (cookie < q->pend_hwm && q->pend[cookie].used)
		apply(q, (uint32_t)cookie, v);
}

/* ---- interface ------------------------------------------------------ */

int
smtp_spf_init(struct smtp_spf *q, const struct submap *subs, smtp_spf_done_fn done, void *ctx)
{
	memset(q, 0, sizeof *q);
	q->subs = subs;
	q->done = done;
	q->ctx = ctx;
	q->npend = SPF_QUEUE_WAITERS;
	q->pend_free = NO_SLOT;
	q->pend = calloc(q->npend, sizeof *q->pend);
	return q->pend ? 0 : -1;
}

void
smtp_spf_open(struct smtp_spf *q, const struct sw_config *cfg)
{
	struct spf_opts o = { .resolver = cfg->smtp.resolver.addr, .port = cfg->smtp.resolver.port,
			      .user = cfg->sensor.user };

	q->mode = cfg->smtp.spf;
	q->spf = cfg->smtp.spf == CONFIG_SPF_OFF ? NULL : spf_open(&o, on_spf, q);
}

void
smtp_spf_close(struct smtp_spf *q)
{
	spf_close(q->spf);
	q->spf = NULL;
	/* Verdicts still to come will not: their sessions are settled. */
	for (uint32_t i = 0; i < q->pend_hwm; i++)
		if (q->pend[i].used) {
			struct smtp_spf_pend p = q->pend[i];

			pend_put(q, i);
			q->done(q->ctx, p.sub, p.gen, p.start, NULL);
		}
}

void
smtp_spf_free(struct smtp_spf *q)
{
	spf_close(q->spf);
	q->spf = NULL;
	free(q->pend);
	q->pend = NULL;
}

void
smtp_spf_ask(struct smtp_spf *q, const struct smtp_spf_q *a)
{
	struct spf_verdict v;
	uint32_t i;

	if (!a->domain[0] || a->sub < 0) {
		q->n.noident++;
		q->done(q->ctx, a->sub, a->gen, a->start, NULL);
		return;
	}
	if (a->cut) {
		/* The parser keeps SMTP_NAME_MAX characters of a name, and a
		 * cut name is another domain. */
		q->n.cut++;
		q->done(q->ctx, a->sub, a->gen, a->start, NULL);
		return;
	}
	if ((i = pend_get(q)) == NO_SLOT) {
		q->n.dropped++;
		q->done(q->ctx, a->sub, a->gen, a->start, NULL);
		return;
	}
	q->pend[i] = (struct smtp_spf_pend){ .sub = a->sub, .gen = a->gen, .start = a->start,
					     .next_free = NO_SLOT, .used = 1,
					     .helo = a->helo };
	q->n.asked++;
	switch (spf_submit(q->spf, a->family, a->ip, a->domain, a->helo_name, i, &v)) {
	case SPF_SUBMIT_NOW:
		apply(q, i, &v);
		break;
	case SPF_SUBMIT_QUEUED:
		break;
	default:
		pend_put(q, i);
		q->n.dropped++;
		q->done(q->ctx, a->sub, a->gen, a->start, NULL);
		break;
	}
}

void
smtp_spf_check(struct smtp_spf *q, int wait)
{
	if (!q->spf)
		return;
	if (wait)
		spf_wait(q->spf, SPF_REPLAY_WAIT_MS);
	else
		spf_poll(q->spf);
}

void
smtp_spf_remap(struct smtp_spf *q, const struct submap *subs)
{
	for (uint32_t i = 0; i < q->pend_hwm; i++) {
		struct smtp_spf_pend *p = &q->pend[i];

		if (p->used && p->sub >= 0)
			p->sub = submap_find(subs, submap_name(q->subs, p->sub));
	}
	q->subs = subs;
}

void
smtp_spf_report(const struct smtp_spf *q, uint64_t exempted, uint64_t late)
{
	struct spf_stats st;
	const uint64_t *r = q->n.res;

	if (!q->spf || !q->n.asked)
		return;
	spf_get_stats(q->spf, &st);
	log_info("spf: asked=%llu pass=%llu fail=%llu softfail=%llu neutral=%llu none=%llu "
		 "temperror=%llu permerror=%llu broad=%llu no_identity=%llu cut=%llu dropped=%llu "
		 "exempted=%llu late=%llu cached=%llu merged=%llu evaluations=%llu queue_peak=%u "
		 "dns_queries=%llu dns_throttled=%llu dns_timeouts=%llu helper_starts=%llu "
		 "helper_deaths=%llu helper_hung=%llu poisoned=%llu bad_msgs=%llu",
		 (unsigned long long)q->n.asked, (unsigned long long)r[SPFR_PASS],
		 (unsigned long long)r[SPFR_FAIL], (unsigned long long)r[SPFR_SOFTFAIL],
		 (unsigned long long)r[SPFR_NEUTRAL], (unsigned long long)r[SPFR_NONE],
		 (unsigned long long)r[SPFR_TEMPERROR], (unsigned long long)r[SPFR_PERMERROR],
		 (unsigned long long)r[SPFR_BROAD],
		 (unsigned long long)q->n.noident, (unsigned long long)q->n.cut,
		 (unsigned long long)q->n.dropped,
		 (unsigned long long)exempted, (unsigned long long)late,
		 (unsigned long long)st.cached, (unsigned long long)st.merged,
		 (unsigned long long)st.evaluations, st.queue_peak,
		 (unsigned long long)st.dns_queries, (unsigned long long)st.dns_throttled,
		 (unsigned long long)st.dns_timeouts, (unsigned long long)st.helper_starts,
		 (unsigned long long)st.helper_deaths, (unsigned long long)st.helper_hung,
		 (unsigned long long)st.poisoned, (unsigned long long)st.bad_msgs);
}
