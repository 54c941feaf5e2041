/*
 * smtp.c — the smtp collector: SPEC "What is counted" (SMTP), the smtp_*
 * data sources of subscribers/NAME.rrd, smtp_sess of sensor.rrd, and the
 * alerts smtp_direct and smtp_surge.
 *
 * A session is a TCP flow whose server port is in [smtp] ports and whose
 * client is a subscriber. It is direct unless its far end is one of
 * [smtp] relays. A direct session is then auth (235 seen), tls (STARTTLS
 * accepted, or TLS from the first byte: what follows is hidden) or
 * unauth (neither), decided as soon as the parser knows (235, TLS, QUIT)
 * and at the latest at flow end.
 *
 * When each amount is counted (so that a step holds what happened in it):
 * smtp_sess and smtp_direct at the session's first packet, smtp_rcpt at
 * each RCPT command, smtp_unauth and smtp_tls at the decision.
 *
 * Memory, all bounded and allocated at start (calloc: pages never touched
 * cost nothing):
 *  - an index by flow id (4 bytes x [sensor] max_flows) into
 *  - a pool of session parsers (about 1 KiB each, min(max_flows,
 *    SMTP_POOL_MAX) of them), taken only by direct sessions and given
 *    back as soon as the parser is done (TLS, QUIT) or the flow ends. A
 *    session that finds the pool empty is counted unauth at once
 *    (counted as "blind");
 *  - a pool of per-subscriber trackers (smtp_track.h: window, far ends,
 *    baseline; and the SPF window; about 1.5 KiB each, min(subscribers,
 *    SMTP_TRACKERS_MAX)), indexed by subscriber id, for non-exempt
 *    subscribers with direct SMTP; when it is full the least recently
 *    active of a bounded scan is recycled (its history is lost, which can
 *    only delay an alert).
 *
 * SPF ([smtp] spf = annotate or exempt; RFC 7208 through spf.h). Each
 * direct session has one identity: the MAIL FROM domain when the session
 * shows one; else the EHLO name (RFC 7208 2.3, 2.4: the null sender <>,
 * a MAIL hidden by STARTTLS, no MAIL at all). It is asked about as soon
 * as it is known (at MAIL, at TLS, at the session's end) for the
 * subscriber's address; only the domain ever leaves the parser (it keeps
 * no local part), and only the verdict and the domain are logged (-v:
 * "spf=RESULT domain=D ..."). A domain the parser cut (longer than
 * SMTP_NAME_MAX) is not asked about. Verdicts come back later:
 *  - a pass counts in smtp_spfpass in the step it arrives (live, that is
 *    the session's step but for the last moments of one; a replay waits
 *    for them at each step's end, see spf.h); broad (a pass that only a
 *    term authorising nearly everyone gave, spf_broad.h) is no pass;
 *  - verdicts are kept per subscriber and result in a window like
 *    smtp_track's (same buckets, by the session's start) and smtp_direct
 *    alerts carry them all: spf_pass=N spf_fail=N (fail: the RFC's hard
 *    fail only) spf_broad=N ... spf_none=N spf_temperror=N (spf_fields);
 *  - exempt: smtp_direct is not raised for a subscriber whose direct
 *    sessions in the window all passed (a session without a verdict did
 *    not pass);
 *  - annotate and exempt: while verdicts for a subscriber's sessions are
 *    still to come, its smtp_direct is held, until they are in or for one
 *    step of packet time at most (checked every SPF_POLL_PACKETS packets
 *    and at each step's end), then decided on what is known. Live, that
 *    is usually milliseconds; smtp_surge is never held.
 * The questions, the verdicts to come and the SPF window are
 * smtp_spf.h's; the holding of smtp_direct is here.
 * Memory: a table of pending verdicts (SPF_QUEUE_WAITERS entries,
 * smtp_spf.c) and a list of held alerts (one per tracker at most), both
 * allocated at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alert.h"
#include "collector.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "rrdw.h"
#include "smtp_parse.h"
#include "smtp_spf.h"
#include "smtp_track.h"
#include "submap.h"
#include "subrows.h"

#define SMTP_POOL_MAX 65536u
#define SMTP_TRACKERS_MAX 16384u
/* Trackers looked at to find one to recycle: bounded work per new one. */
#define EVICT_SCAN 64u
/* Packets between two looks for SPF verdicts (and once per step). */
#define SPF_POLL_PACKETS 1024u

enum { U_DIRECT, U_UNAUTH, U_TLS, U_RCPT, U_SPFPASS, U_WIDTH };
static const int u_ds[U_WIDTH] = {
	RRDW_U_SMTP_DIRECT, RRDW_U_SMTP_UNAUTH, RRDW_U_SMTP_TLS, RRDW_U_SMTP_RCPT,
	RRDW_U_SMTP_SPFPASS,
};

/* What the index by flow id holds. */
enum {
	IX_NONE = 0,	/* not a session (or not yet seen) */
	IX_DONE = 1,	/* counted and decided: nothing more to learn */
	IX_SLOT0 = 2,	/* parser slot k is stored as IX_SLOT0 + k */
};

enum sclass { CL_NONE, CL_AUTH, CL_TLS, CL_UNAUTH };

/* A session's SPF: not asked about (SPF off, blind), identity still to
 * come, asked (or settled without a verdict). */
enum { SS_OFF, SS_NEED, SS_ASKED };

#define NO_SLOT UINT32_MAX

struct sess {
	struct smtp_sess p;
	int32_t sub;		/* the client subscriber; -1 once it left the map */
	uint32_t rcpt_seen;	/* RCPTs already counted */
	uint32_t next_free;
	uint8_t used;
	uint8_t cls;		/* enum sclass, CL_NONE until decided */
	uint8_t fam;		/* 4 or 6 */
	uint8_t ip[16];		/* the client address, for alerts */
	uint8_t spf;		/* SS_* */
	uint32_t start;		/* packet time of the first packet */
	uint32_t gen;		/* its tracker's generation then */
};

struct trk {
	struct smtp_track t;
	int32_t sub;		/* -1: free */
	uint32_t last;		/* packet time of the latest event */
	uint32_t next_free;
	uint8_t fam;		/* the latest session's client address */
	uint8_t ip[16];
	char helo[SMTP_NAME_MAX + 1];
	char from_domain[SMTP_NAME_MAX + 1];
	uint8_t cut;			/* SMTP_CUT_*: which of the two was cut */
	/* SPF */
	uint32_t gen;			/* tells this tracker from a recycled one */
	uint32_t spf_open;		/* sessions whose verdict is still to come */
	uint32_t held_pos;		/* 1 + place in the held list; 0: none */
	uint32_t held_since;		/* packet time smtp_direct was held */
	struct smtp_spf_win spfw;	/* verdicts of the window */
};

struct smtp_counts {
	uint64_t sessions, direct, relay, blind, recycled;
	uint64_t dups, held, gaps, overlong, garbage, unmatched, forced, lax_dot, auth_left;
	uint64_t not_smtp;
	/* SPF (the rest is smtp_spf.c's): alerts not raised (all passed),
	 * alerts raised without every verdict */
	uint64_t spf_exempted, spf_late;
};

struct smtp {
	struct collector_env env;
	struct sw_config own_cfg;	/* defaults, when env has no cfg */
	const struct sw_config *cfg;
	struct smtp_track_params tp;
	struct subrows rows;
	uint64_t sess_step;		/* smtp_sess in this step */

	uint32_t *ix, nix;		/* by flow id */
	struct sess *pool;
	uint32_t npool, pool_hwm, pool_free;

	struct trk *trk;
	uint32_t ntrk, trk_hwm, trk_free, hand;
	uint32_t *trk_of;		/* by subscriber id: tracker index + 1 */
	uint8_t *exempt;		/* by subscriber id */
	uint32_t nsubs;

	/* SPF */
	struct smtp_spf q;		/* the questions and verdicts */
	uint32_t *held, nheld;		/* trackers with smtp_direct held */
	uint32_t gen_seq;
	uint32_t now;			/* latest packet time */
	uint32_t poll_n;

	struct smtp_counts n;
};

/* ---- configuration ------------------------------------------------------ */

static void
params_from(struct smtp_track_params *tp, const struct sw_config *cfg, unsigned step)
{
	tp->window = cfg->smtp.window ? cfg->smtp.window : 300;
	tp->step = step ? step : 60;
	tp->max_sessions = cfg->smtp.max_sessions;
	tp->max_mx = cfg->smtp.max_mx;
	tp->max_rcpt = cfg->smtp.max_rcpt;
	tp->surge_factor = cfg->smtp.surge_factor;
}

static int
is_smtp_port(const struct sw_config *cfg, uint16_t port)
{
	for (unsigned i = 0; i < cfg->smtp.ports.n; i++)
		if (cfg->smtp.ports.port[i] == port)
			return 1;
	return 0;
}

static int
is_relay(const struct sw_config *cfg, unsigned family, const uint8_t *addr)
{
	int af = family == 4 ? AF_INET : AF_INET6;
	size_t len = family == 4 ? 4 : 16;

	for (unsigned i = 0; i < cfg->smtp.relays.n; i++)
		if (cfg->smtp.relays.addr[i].family == af &&
		    memcmp(cfg->smtp.relays.addr[i].a, addr, len) == 0)
			return 1;
	return 0;
}

/* exempt[id] for the subscribers of map that [smtp] exempt names; names
 * the map lacks are fine (a customer may leave before the config does). */
static uint8_t *
exempt_for(const struct sw_config *cfg, const struct submap *map)
{
	uint8_t *e = calloc((size_t)submap_count(map) + 1, 1);

	if (!e)
		return NULL;
	for (unsigned i = 0; i < cfg->smtp.exempt.n; i++) {
		int id = submap_find(map, cfg->smtp.exempt.name[i]);

		if (id >= 0)
			e[id] = 1;
	}
	return e;
}

static uint32_t
addr_hash(unsigned family, const uint8_t *a)
{
	uint32_t h = (uint32_t)hash_words(a, 16, 0x736d7470u + family);

	return h ? h : 1;
}

/* ---- trackers ----------------------------------------------------------- */

static void unhold(struct smtp *m, struct trk *k);

/* The tracker of subscriber sub, made (or recycled) when it has none. */
static struct trk *
trk_get(struct smtp *m, int32_t sub, uint32_t now)
{
	uint32_t i;

	if (m->trk_of[sub])
		return &m->trk[m->trk_of[sub] - 1];
	if (m->trk_free != NO_SLOT) {
		i = m->trk_free;
		m->trk_free = m->trk[i].next_free;
	} else if (m->trk_hwm < m->ntrk) {
		i = m->trk_hwm++;
	} else {
		/* Full: the least recently active of the next few. */
		i = m->hand % m->ntrk;
		for (uint32_t k = 0; k < EVICT_SCAN && k < m->ntrk; k++) {
			uint32_t j = (m->hand + k) % m->ntrk;

			if (m->trk[j].last < m->trk[i].last)
				i = j;
		}
		m->hand = (m->hand + EVICT_SCAN) % m->ntrk;
		m->trk_of[m->trk[i].sub] = 0;
		m->n.recycled++;
	}
	struct trk *k = &m->trk[i];
	if (k->held_pos)
		unhold(m, k);
	memset(k, 0, sizeof *k);
	smtp_track_init(&k->t);
	k->sub = sub;
	k->last = now;
	k->next_free = NO_SLOT;
	if (++m->gen_seq == 0)
		m->gen_seq = 1;
	k->gen = m->gen_seq;
	m->trk_of[sub] = i + 1;
	return k;
}

/* The tracker that alerts for session s, or NULL (relay, exempt, gone). */
static struct trk *
trk_of_sess(struct smtp *m, const struct sess *s)
{
	if (s->sub < 0 || m->exempt[s->sub] || !m->trk_of[s->sub])
		return NULL;
	return &m->trk[m->trk_of[s->sub] - 1];
}

/* ---- alerts ------------------------------------------------------------- */

static size_t
add_str(struct alert_field *f, size_t n, const char *key, const char *v)
{
	if (!v[0])
		return n;
	f[n] = (struct alert_field){ .key = key, .type = AF_STR, .v.s = v };
	return n + 1;
}

static size_t
add_uint(struct alert_field *f, size_t n, const char *key, uint64_t v)
{
	f[n] = (struct alert_field){ .key = key, .type = AF_UINT, .v.u = v };
	return n + 1;
}

static size_t
add_ip(struct alert_field *f, const struct trk *k)
{
	f[0] = (struct alert_field){ .key = "ip", .type = AF_ADDR };
	f[0].v.addr.family = k->fam == 4 ? AF_INET : AF_INET6;
	memcpy(f[0].v.addr.a, k->ip, 16);
	return 1;
}

/* The latest session's EHLO name and sender domain. A name longer than
 * the parser keeps (SMTP_NAME_MAX) shows its start, followed by
 * helo_truncated=1 (from_domain_truncated=1): a separate field, not a
 * mark inside the value, since the value is whatever the client sent
 * and could end in any mark itself. */
static size_t
add_names(struct alert_field *f, size_t n, const struct trk *k)
{
	n = add_str(f, n, "helo", k->helo);
	if (k->helo[0] && (k->cut & SMTP_CUT_HELO))
		n = add_uint(f, n, "helo_truncated", 1);
	n = add_str(f, n, "from_domain", k->from_domain);
	if (k->from_domain[0] && (k->cut & SMTP_CUT_FROM))
		n = add_uint(f, n, "from_domain_truncated", 1);
	return n;
}

/* ---- alerts, continued --------------------------------------------------- */

static void
raise_direct(struct smtp *m, struct trk *k, const struct smtp_track_counts *c, uint32_t now)
{
	struct alert_field f[24];
	const char *name = submap_name(m->env.subs, k->sub);
	size_t n;

	if (!m->env.alerts || !name)
		return;
	n = add_ip(f, k);
	n = add_uint(f, n, "sessions", c->sessions);
	n = add_uint(f, n, "mx", c->mx);
	n = add_uint(f, n, "rcpt", c->rcpt);
	n = add_uint(f, n, "window", m->tp.window);
	if (smtp_spf_on(&m->q))
		n = smtp_spf_fields(&k->spfw, &m->tp, now, f, n);
	n = add_names(f, n, k);
	alerts_raise(m->env.alerts, "smtp_direct", name, (time_t)now, f, n);
}

static void
raise_surge(struct smtp *m, struct trk *k, const struct smtp_track_counts *c, uint32_t now)
{
	struct alert_field f[10];
	const char *name = submap_name(m->env.subs, k->sub);
	char usual[32], factor[32];
	size_t n;

	if (!m->env.alerts || !name)
		return;
	/* What a window of this subscriber's routine holds, beside sessions. */
	snprintf(usual, sizeof usual, "%.1f", c->usual);
	snprintf(factor, sizeof factor, "%.1f", m->tp.surge_factor);
	n = add_ip(f, k);
	n = add_uint(f, n, "sessions", c->direct);
	n = add_str(f, n, "usual", usual);
	n = add_str(f, n, "factor", factor);
	n = add_uint(f, n, "window", m->tp.window);
	n = add_names(f, n, k);
	alerts_raise(m->env.alerts, "smtp_surge", name, (time_t)now, f, n);
}

static void
hold(struct smtp *m, struct trk *k, uint32_t now)
{
	if (k->held_pos)
		return;
	m->held[m->nheld++] = (uint32_t)(k - m->trk);
	k->held_pos = m->nheld;
	k->held_since = now;
}

static void
unhold(struct smtp *m, struct trk *k)
{
	uint32_t pos = k->held_pos - 1, last = m->held[--m->nheld];

	m->held[pos] = last;
	m->trk[last].held_pos = pos + 1;
	k->held_pos = 0;
}

/* smtp_direct is due for k: [smtp] spf decides. With exempt, a subscriber
 * whose direct sessions in the window all passed is not alerted. With
 * annotate or exempt, while verdicts of its sessions are still to come
 * the alert is held (when may_hold), so that it says what SPF said;
 * otherwise it is raised on what is known. */
static void
direct_due(struct smtp *m, struct trk *k, const struct smtp_track_counts *c, uint32_t now,
	   int may_hold)
{
	if (m->q.mode == CONFIG_SPF_EXEMPT && smtp_spf_on(&m->q) && c->direct &&
	    smtp_spf_win_sum(&k->spfw, &m->tp, now, SPFR_PASS) >= c->direct) {
		m->n.spf_exempted++;
		if (k->held_pos)
			unhold(m, k);
		return;
	}
	if (smtp_spf_on(&m->q) && k->spf_open) {
		if (may_hold) {
			hold(m, k, now);
			return;
		}
		m->n.spf_late++;
	}
	if (k->held_pos)
		unhold(m, k);
	raise_direct(m, k, c, now);
}

static void
judge(struct smtp *m, struct trk *k, uint32_t now)
{
	struct smtp_track_counts c;
	unsigned due = smtp_track_judge(&k->t, &m->tp, now, &c);

	k->last = now;
	if (due & SMTP_TRACK_DIRECT)
		direct_due(m, k, &c, now, 1);
	if (due & SMTP_TRACK_SURGE)
		raise_surge(m, k, &c, now);
}

/* A held smtp_direct: decided once k's verdicts are in, or when it has
 * waited a step (force: now). The window may have moved on meanwhile;
 * then nothing is due any more. */
static void
release(struct smtp *m, struct trk *k, uint32_t now, int force)
{
	struct smtp_track_counts c;
	unsigned due;

	if (!force && k->spf_open && now < k->held_since + m->tp.step)
		return;
	unhold(m, k);
	due = smtp_track_judge(&k->t, &m->tp, now, &c);
	if (due & SMTP_TRACK_SURGE)
		raise_surge(m, k, &c, now);
	if (c.sessions > m->tp.max_sessions || c.mx > m->tp.max_mx || c.rcpt > m->tp.max_rcpt)
		direct_due(m, k, &c, now, 0);
}

static void
release_due(struct smtp *m, uint32_t now, int force)
{
	/* Backwards: release() moves the last entry into the freed place. */
	for (uint32_t i = m->nheld; i-- > 0;)
		release(m, &m->trk[m->held[i]], now, force);
}

/* ---- SPF verdicts ------------------------------------------------------- */

/* The tracker a session or a verdict belongs to: the subscriber's, if it
 * is still the one that was there (not recycled meanwhile). */
static struct trk *
trk_gen(struct smtp *m, int32_t sub, uint32_t gen)
{
	struct trk *k;

	if (!gen || sub < 0 || (uint32_t)sub >= m->nsubs || !m->trk_of[sub])
		return NULL;
	k = &m->trk[m->trk_of[sub] - 1];
	return k->gen == gen ? k : NULL;
}

/* One of k's sessions has its SPF outcome (a verdict, or none to come). */
static void
settle(struct trk *k)
{
	if (k && k->spf_open)
		k->spf_open--;
}

/* What became of a question (smtp_spf.h): the verdict v, or none. */
static void
on_verdict(void *ctx, int32_t sub, uint32_t gen, uint32_t start, const struct spf_verdict *v)
{
	struct smtp *m = ctx;
	struct trk *k = trk_gen(m, sub, gen);

	if (v && sub >= 0 && v->result == SPFR_PASS)
		subrows_get(&m->rows, sub)[U_SPFPASS]++;
	if (v && k && (unsigned)v->result < SPFR_N)
		smtp_spf_win_add(&k->spfw, &m->tp, start, v->result);
	settle(k);
	if (v && k && k->held_pos)
		release(m, k, m->now, 0);
}

/* Asks about session s's identity d (helo: it is the EHLO name). */
static void
spf_ask(struct smtp *m, struct sess *s, const char *d, int helo)
{
	struct trk *k = trk_gen(m, s->sub, s->gen);
	struct smtp_spf_q a = {
		.sub = s->sub, .gen = k ? k->gen : 0, .start = s->start,
		.family = s->fam == 4 ? AF_INET : AF_INET6, .ip = s->ip,
		.domain = d, .helo_name = s->p.helo, .helo = (uint8_t)helo,
		.cut = (s->p.cut & (helo ? SMTP_CUT_HELO : SMTP_CUT_FROM)) != 0,
	};

	s->spf = SS_ASKED;
	smtp_spf_ask(&m->q, &a);
}

/* Asks about s once its identity is known: the MAIL FROM domain, or the
 * EHLO name for the null sender, when STARTTLS hides MAIL, or when the
 * session ends without MAIL (ending). */
static void
spf_identity(struct smtp *m, struct sess *s, uint32_t now, int ending)
{
	if (s->spf != SS_NEED)
		return;
	if (!smtp_spf_on(&m->q)) {
		/* SPF was turned off (SIGHUP) while the session ran. */
		s->spf = SS_ASKED;
		settle(trk_gen(m, s->sub, s->gen));
		return;
	}
	if (s->p.flags & SMTP_F_MAIL) {
		if (s->p.from_domain[0])
			spf_ask(m, s, s->p.from_domain, 0);
		else
			spf_ask(m, s, s->p.helo, 1);
	} else if ((s->p.flags & SMTP_F_TLS) || ending) {
		spf_ask(m, s, s->p.helo, 1);
	}
}

/* Looks for verdicts; held alerts whose time is up are decided. */
static void
spf_check(struct smtp *m, uint32_t now, int wait)
{
	smtp_spf_check(&m->q, wait);
	if (m->nheld)
		release_due(m, now, 0);
}

/* ---- sessions ----------------------------------------------------------- */

static uint32_t
slot_get(struct smtp *m)
{
	uint32_t i;

	if (m->pool_free != NO_SLOT) {
		i = m->pool_free;
		m->pool_free = m->pool[i].next_free;
	} else if (m->pool_hwm < m->npool) {
		i = m->pool_hwm++;
	} else {
		return NO_SLOT;
	}
	return i;
}

static void
slot_put(struct smtp *m, uint32_t i)
{
	struct sess *s = &m->pool[i];
	const struct smtp_parse_stats *st = &s->p.st;

	m->n.dups += st->dups;
	m->n.held += st->held;
	m->n.gaps += st->gaps;
	m->n.overlong += st->overlong;
	m->n.garbage += st->garbage;
	m->n.unmatched += st->unmatched;
	m->n.forced += st->forced;
	m->n.lax_dot += st->lax_dot;
	m->n.auth_left += st->auth_left;
	m->n.not_smtp += !!(s->p.flags & SMTP_F_NOT_SMTP);
	s->used = 0;
	s->next_free = m->pool_free;
	m->pool_free = i;
}

/* The session's class is known: count it. */
static void
decide(struct smtp *m, struct sess *s, enum sclass cls, uint32_t now)
{
	struct trk *k;

	if (s->cls != CL_NONE)
		return;
	s->cls = (uint8_t)cls;
	if (s->sub < 0 || cls == CL_AUTH)
		return;
	subrows_get(&m->rows, s->sub)[cls == CL_TLS ? U_TLS : U_UNAUTH]++;
	if (cls == CL_UNAUTH && (k = trk_of_sess(m, s)) != NULL) {
		smtp_track_unauth(&k->t, &m->tp, now);
		judge(m, k, now);
	}
}

/* Acts on what the parser just learnt (bits ev). Returns 1 when the
 * parser is done and its slot can go. */
static int
learn(struct smtp *m, struct sess *s, uint32_t ev, uint32_t now)
{
	struct trk *k = trk_of_sess(m, s);

	/* The latest session's names, for the alert line. */
	if (k && (ev & SMTP_F_HELO)) {
		memcpy(k->helo, s->p.helo, sizeof k->helo);
		k->cut = (uint8_t)((k->cut & ~SMTP_CUT_HELO) | (s->p.cut & SMTP_CUT_HELO));
	}
	if (k && (ev & SMTP_F_MAIL)) {
		memcpy(k->from_domain, s->p.from_domain, sizeof k->from_domain);
		k->cut = (uint8_t)((k->cut & ~SMTP_CUT_FROM) | (s->p.cut & SMTP_CUT_FROM));
	}
	if (ev & SMTP_F_RCPT) {
		uint32_t d = s->p.rcpt - s->rcpt_seen;

		s->rcpt_seen = s->p.rcpt;
		if (s->sub >= 0)
			subrows_get(&m->rows, s->sub)[U_RCPT] += d;
		if (k) {
			smtp_track_rcpt(&k->t, &m->tp, now, d);
			judge(m, k, now);
		}
	}
	if (s->p.flags & SMTP_F_AUTH_OK)
		decide(m, s, CL_AUTH, now);
	else if (s->p.flags & SMTP_F_TLS)
		decide(m, s, CL_TLS, now);
	spf_identity(m, s, now, (s->p.flags & SMTP_F_DONE) != 0);
	if (!(s->p.flags & SMTP_F_DONE))
		return 0;
	decide(m, s, CL_UNAUTH, now);
	return 1;
}

/* The first packet of flow f: is it a session, and which kind? */
static void
sess_start(struct smtp *m, const struct flow_event *ev, uint32_t now)
{
	const struct flow *f = ev->f;
	const uint8_t *cli = f->client_is_a ? f->key.a : f->key.b;
	const uint8_t *far = f->client_is_a ? f->key.b : f->key.a;
	int32_t sub = f->client_is_a ? f->sub_a : f->sub_b;

	if (f->key.proto != 6 || sub < 0 || (uint32_t)sub >= m->nsubs ||
	    !is_smtp_port(m->cfg, f->client_is_a ? f->key.bport : f->key.aport))
		return;
	m->sess_step++;
	m->n.sessions++;
	if (is_relay(m->cfg, f->key.family, far)) {
		/* Counted in smtp_sess; nothing more to know about it. */
		m->n.relay++;
		m->ix[f->id] = IX_DONE;
		return;
	}
	m->n.direct++;
	subrows_get(&m->rows, sub)[U_DIRECT]++;

	struct trk *k = NULL;
	if (!m->exempt[sub]) {
		k = trk_get(m, sub, now);
		k->fam = f->key.family;
		memcpy(k->ip, cli, 16);
		smtp_track_direct(&k->t, &m->tp, now, addr_hash(f->key.family, far));
	}

	uint32_t i = slot_get(m);
	if (i == NO_SLOT) {
		/* No parser to tell: neither 235 nor TLS will be seen. */
		struct sess blind = { .sub = sub };

		m->n.blind++;
		m->ix[f->id] = IX_DONE;
		decide(m, &blind, CL_UNAUTH, now);
	} else {
		struct sess *s = &m->pool[i];

		smtp_parse_init(&s->p);
		s->sub = sub;
		s->rcpt_seen = 0;
		s->used = 1;
		s->cls = CL_NONE;
		s->fam = f->key.family;
		memcpy(s->ip, cli, 16);
		s->next_free = NO_SLOT;
		s->spf = smtp_spf_on(&m->q) ? SS_NEED : SS_OFF;
		s->start = now;
		s->gen = k ? k->gen : 0;
		if (k && smtp_spf_on(&m->q))
			k->spf_open++;
		m->ix[f->id] = IX_SLOT0 + i;
	}
	if (k)
		judge(m, k, now);
}

static void
smtp_packet(void *self, const struct flow_event *ev)
{
	struct smtp *m = self;
	struct flow *f = ev->f;
	const struct pkt *p = ev->p;
	uint32_t now = (uint32_t)(p->ts_us / 1000000);

	if (now > m->now)
		m->now = now;
	if ((smtp_spf_on(&m->q) || m->nheld) && ++m->poll_n >= SPF_POLL_PACKETS) {
		m->poll_n = 0;
		spf_check(m, m->now, 0);
	}
	if (f->id >= m->nix)
		return;
	if (ev->created) {
		sess_start(m, ev, now);
		if (m->ix[f->id] >= IX_SLOT0)
			f->watch |= FLOW_W_SMTP;
	}
	/* Only sessions still being parsed: the others cost no look into
	 * ix[] (a cache miss per packet). */
	if (!(f->watch & FLOW_W_SMTP))
		return;

	uint32_t x = m->ix[f->id];
	if (x < IX_SLOT0) {
		f->watch &= (uint8_t)~FLOW_W_SMTP;
		return;
	}

	struct sess *s = &m->pool[x - IX_SLOT0];
	enum smtp_dir dir = ev->dir == FLOW_C2S ? SMTP_C2S : SMTP_S2C;
	if (p->tcp_flags & TCP_SYN)
		smtp_parse_syn(&s->p, dir, p->tcp_seq);
	if (!p->payload || !p->payload_len)
		return;

	uint32_t got = smtp_parse_feed(&s->p, dir, p->tcp_seq, p->payload, p->payload_len);
	if (got && learn(m, s, got, now)) {
		slot_put(m, x - IX_SLOT0);
		m->ix[f->id] = IX_DONE;
		f->watch &= (uint8_t)~FLOW_W_SMTP;
	}
}

static void
smtp_flow_end(void *self, struct flow *f, enum flow_end why)
{
	struct smtp *m = self;
	uint32_t now = (uint32_t)(f->last_us / 1000000), x;

	if (f->id >= m->nix || (x = m->ix[f->id]) == IX_NONE)
		return;
	m->ix[f->id] = IX_NONE;		/* the id is reused by the next flow */
	if (x < IX_SLOT0)
		return;

	struct sess *s = &m->pool[x - IX_SLOT0];
	uint32_t got = smtp_parse_finish(&s->p);
	learn(m, s, got, now);
	spf_identity(m, s, now, 1);
	decide(m, s, CL_UNAUTH, now);
	slot_put(m, x - IX_SLOT0);
}

/* ---- steps -------------------------------------------------------------- */

static void
smtp_step(void *self, time_t step_end)
{
	struct smtp *m = self;

	/* The surge warm-up counts from when the sensor started watching
	 * (the first step), not from a subscriber's first direct session:
	 * a day of silence is a baseline too. */
	if (!m->tp.since)
		m->tp.since = (uint32_t)step_end - m->tp.step;
	/* Live, verdicts of the step that came back are counted in it;
	 * reading files, the step first waits for its verdicts (spf.h). */
	spf_check(m, (uint32_t)step_end, spf_replay());
	subrows_flush(&m->rows, m->env.subs, m->env.rrdw, step_end, u_ds);
	if (m->env.rrdw) {
		uint64_t v[RRDW_MAX_DS];

		rrdw_clear_values(RRDW_SENSOR, v);
		v[RRDW_S_SMTP_SESS] = m->sess_step;
		rrdw_update(m->env.rrdw, RRDW_SENSOR, NULL, step_end, v);
	}
	m->sess_step = 0;
}

/* ---- life cycle --------------------------------------------------------- */

static void
smtp_free(struct smtp *m)
{
	smtp_spf_free(&m->q);
	subrows_free(&m->rows);
	free(m->held);
	collector_flow_state_free(m->ix, m->nix, &smtp_desc);
	free(m->pool);
	free(m->trk);
	free(m->trk_of);
	free(m->exempt);
	config_free(&m->own_cfg);
	free(m);
}

static void *
smtp_start(const struct collector_env *env)
{
	struct smtp *m = calloc(1, sizeof *m);

	if (!m)
		return NULL;
	m->env = *env;
	if (env->cfg) {
		m->cfg = env->cfg;
	} else {
		config_defaults(&m->own_cfg);
		m->cfg = &m->own_cfg;
	}
	params_from(&m->tp, m->cfg, env->step);
	m->nsubs = (uint32_t)submap_count(env->subs);
	m->ix = collector_flow_state(env, m->cfg, &smtp_desc, &m->nix);
	m->npool = m->nix < SMTP_POOL_MAX ? m->nix : SMTP_POOL_MAX;
	m->ntrk = m->nsubs < SMTP_TRACKERS_MAX ? m->nsubs : SMTP_TRACKERS_MAX;
	m->pool_free = m->trk_free = NO_SLOT;
	m->pool = calloc((size_t)m->npool + 1, sizeof *m->pool);
	m->trk = calloc((size_t)m->ntrk + 1, sizeof *m->trk);
	m->trk_of = calloc((size_t)m->nsubs + 1, sizeof *m->trk_of);
	m->exempt = exempt_for(m->cfg, env->subs);
	m->held = calloc((size_t)m->ntrk + 1, sizeof *m->held);
	if (!m->ix || !m->pool || !m->trk || !m->trk_of || !m->exempt || !m->held ||
	    smtp_spf_init(&m->q, env->subs, on_verdict, m) < 0 ||
	    subrows_init(&m->rows, env->subs, U_WIDTH) < 0) {
		log_err("smtp: no memory for %u flows and %u subscribers", m->nix, m->nsubs);
		smtp_free(m);
		return NULL;
	}
	/* Without a helper (it could not start) SPF is simply not checked. */
	smtp_spf_open(&m->q, m->cfg);
	return m;
}

/* A new configuration or subscriber map. Sessions and trackers follow
 * their subscriber by name; a subscriber gone from the map loses its
 * tracker and its open sessions count nowhere. A new window length
 * empties the windows (not the baselines). The pools keep the size they
 * were given at start ([sensor] max_flows takes a restart). */
static int
smtp_reload(void *self, const struct collector_env *env)
{
	struct smtp *m = self;
	const struct sw_config *cfg = env->cfg ? env->cfg : m->cfg;
	uint32_t nsubs = (uint32_t)submap_count(env->subs);
	uint8_t *exempt = exempt_for(cfg, env->subs);
	uint32_t *trk_of = calloc((size_t)nsubs + 1, sizeof *trk_of);
	struct smtp_track_params tp;

	if (!exempt || !trk_of ||
	    subrows_remap(&m->rows, m->env.subs, env->subs, env->rrdw, env->step_end, u_ds) < 0) {
		log_err("smtp: no memory to reload");
		free(exempt);
		free(trk_of);
		return -1;
	}
	for (uint32_t i = 0; i < m->pool_hwm; i++) {
		struct sess *s = &m->pool[i];

		if (s->used && s->sub >= 0)
			s->sub = submap_find(env->subs, submap_name(m->env.subs, s->sub));
	}
	smtp_spf_remap(&m->q, env->subs);
	params_from(&tp, cfg, env->step);
	for (uint32_t i = 0; i < m->trk_hwm; i++) {
		struct trk *k = &m->trk[i];
		int id;

		if (k->sub < 0)
			continue;
		id = submap_find(env->subs, submap_name(m->env.subs, k->sub));
		m->trk_of[k->sub] = 0;
		if (id < 0 || exempt[id]) {
			if (k->held_pos)
				unhold(m, k);
			k->spf_open = 0;
			k->sub = -1;
			k->next_free = m->trk_free;
			m->trk_free = i;
			continue;
		}
		k->sub = id;
		trk_of[id] = i + 1;
		if (tp.window != m->tp.window) {
			smtp_track_reset_window(&k->t);
			smtp_spf_win_reset(&k->spfw);
		}
	}
	free(m->trk_of);
	free(m->exempt);
	m->trk_of = trk_of;
	m->exempt = exempt;
	m->nsubs = nsubs;
	tp.since = m->tp.since;
	m->tp = tp;

	/* A new spf setting or resolver: a new service (and helper). */
	const struct config_endpoint *ra = &cfg->smtp.resolver, *rb = &m->cfg->smtp.resolver;
	if (cfg->smtp.spf != m->q.mode || ra->port != rb->port ||
	    ra->addr.family != rb->addr.family || memcmp(ra->addr.a, rb->addr.a, 16) != 0) {
		smtp_spf_close(&m->q);
		smtp_spf_open(&m->q, cfg);
		if (!smtp_spf_on(&m->q))
			release_due(m, m->now, 1);
	}
	m->cfg = cfg;
	m->env = *env;
	return 0;
}

static void
smtp_stop(void *self)
{
	struct smtp *m = self;

	for (uint32_t i = 0; i < m->pool_hwm; i++)
		if (m->pool[i].used)
			slot_put(m, i);
	release_due(m, m->now, 1);
	smtp_spf_report(&m->q, m->n.spf_exempted, m->n.spf_late);
	if (m->n.sessions)
		log_info("smtp: sessions=%llu direct=%llu relay=%llu blind=%llu trackers_recycled=%llu "
			 "dups=%llu held=%llu gaps=%llu overlong=%llu garbage=%llu unmatched=%llu "
			 "forced_body_end=%llu lax_dot=%llu auth_unanswered=%llu not_smtp=%llu",
			 (unsigned long long)m->n.sessions, (unsigned long long)m->n.direct,
			 (unsigned long long)m->n.relay, (unsigned long long)m->n.blind,
			 (unsigned long long)m->n.recycled, (unsigned long long)m->n.dups,
			 (unsigned long long)m->n.held, (unsigned long long)m->n.gaps,
			 (unsigned long long)m->n.overlong, (unsigned long long)m->n.garbage,
			 (unsigned long long)m->n.unmatched, (unsigned long long)m->n.forced,
			 (unsigned long long)m->n.lax_dot, (unsigned long long)m->n.auth_left,
			 (unsigned long long)m->n.not_smtp);
	smtp_free(m);
}

const struct collector collector_smtp = {
	.name = "smtp",
	.desc = &smtp_desc,
	.start = smtp_start,
	.packet = smtp_packet,
	.flow_end = smtp_flow_end,
	.step = smtp_step,
	.reload = smtp_reload,
	.stop = smtp_stop,
	.helper = spf_main,
	.replay = spf_set_replay,
};
