/*
 * pl_smtp.c — SMTP sessions; see pl_smtp.h. A session is a list of
 * actions computed from the flow's arguments; message `step` is action
 * `step`, so the script stays a pure function of the step.
 */
#include "pl_smtp.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gen.h"
#include "netplan.h"
#include "pl_tls.h"
#include "session.h"
#include "truth.h"

/* a[0] flags */
#define SF_LOGIN 0x01		/* AUTH LOGIN rather than AUTH PLAIN */
#define SF_TLS 0x02		/* STARTTLS after EHLO */
#define SF_PIPE 0x04		/* MAIL and RCPTs in one go (RFC 2920) */
#define SF_REJECT 0x08		/* the server refuses at the banner */
#define SF_AUTH 0x10		/* authenticates */
#define SF_HELO 0x20		/* HELO rather than EHLO */
/* a[1] recipients, a[2] refused-recipient bits, a[3] body bytes,
 * a[4] server (pool index), a[5] names */

#define MAX_RCPT 60
#define MAX_ACTS (2 * MAX_RCPT + 32)

enum act {
	A_BANNER, A_REJECT, A_EHLO, A_EHLO_RESP, A_AUTH_PLAIN, A_AUTH_LOGIN, A_334_USER,
	A_USER, A_334_PASS, A_PASS, A_235, A_MAIL, A_250_MAIL, A_RCPT, A_RCPT_RESP,
	A_PIPE, A_PIPE_RESP, A_DATA, A_354, A_BODY, A_QUEUED, A_QUIT, A_221,
	A_STARTTLS, A_READY, A_TLS_CH, A_TLS_SH, A_TLS_FIN, A_TLS_C, A_TLS_S, A_TLS_BODY
};

/* who sends each action: 0 the client, 1 the server */
static const uint8_t act_dir[] = {
	[A_BANNER] = 1, [A_REJECT] = 1, [A_EHLO] = 0, [A_EHLO_RESP] = 1,
	[A_AUTH_PLAIN] = 0, [A_AUTH_LOGIN] = 0, [A_334_USER] = 1, [A_USER] = 0,
	[A_334_PASS] = 1, [A_PASS] = 0, [A_235] = 1, [A_MAIL] = 0, [A_250_MAIL] = 1,
	[A_RCPT] = 0, [A_RCPT_RESP] = 1, [A_PIPE] = 0, [A_PIPE_RESP] = 1, [A_DATA] = 0,
	[A_354] = 1, [A_BODY] = 0, [A_QUEUED] = 1, [A_QUIT] = 0, [A_221] = 1,
	[A_STARTTLS] = 0, [A_READY] = 1, [A_TLS_CH] = 0, [A_TLS_SH] = 1, [A_TLS_FIN] = 0,
	[A_TLS_C] = 0, [A_TLS_S] = 1, [A_TLS_BODY] = 0,
};

struct plan {
	uint16_t act[MAX_ACTS];	/* action << 8 | argument */
	uint32_t n;
};

static void add(struct plan *p, enum act a, uint32_t arg)
{
	if (p->n < MAX_ACTS)
		p->act[p->n++] = (uint16_t)(a << 8 | (arg & 0xff));
}

static int any_accepted(const struct flow *f)
{
	for (uint32_t i = 0; i < f->a[1]; i++)
		if (!(f->a[2] >> (i % 32) & 1))
			return 1;
	return 0;
}

static void make_plan(const struct flow *f, struct plan *p)
{
	uint32_t fl = f->a[0], n = f->a[1];

	p->n = 0;
	if (fl & SF_REJECT) {
		add(p, A_REJECT, 0);
		add(p, A_QUIT, 0);
		add(p, A_221, 0);
		return;
	}
	add(p, A_BANNER, 0);
	add(p, A_EHLO, 0);
	add(p, A_EHLO_RESP, 0);
	if (fl & SF_TLS) {
		/* after the upgrade only sizes remain: EHLO again, AUTH or not,
		 * MAIL and RCPTs, DATA and the message, QUIT */
		add(p, A_STARTTLS, 0);
		add(p, A_READY, 0);
		add(p, A_TLS_CH, 0);
		add(p, A_TLS_SH, 0);
		add(p, A_TLS_FIN, 0);
		add(p, A_TLS_C, 40);
		add(p, A_TLS_S, 200);
		add(p, A_TLS_C, (uint32_t)(30 + 4 * n));
		add(p, A_TLS_S, (uint32_t)(20 + 3 * n));
		add(p, A_TLS_BODY, 0);
		add(p, A_TLS_S, 50);
		add(p, A_TLS_C, 20);
		add(p, A_TLS_S, 25);
		return;
	}
	if (fl & SF_AUTH) {
		if (fl & SF_LOGIN) {
			add(p, A_AUTH_LOGIN, 0);
			add(p, A_334_USER, 0);
			add(p, A_USER, 0);
			add(p, A_334_PASS, 0);
			add(p, A_PASS, 0);
		} else {
			add(p, A_AUTH_PLAIN, 0);
		}
		add(p, A_235, 0);
	}
	if (fl & SF_PIPE) {
		add(p, A_PIPE, 0);
		add(p, A_PIPE_RESP, 0);
	} else {
		add(p, A_MAIL, 0);
		add(p, A_250_MAIL, 0);
		for (uint32_t i = 0; i < n; i++) {
			add(p, A_RCPT, i);
			add(p, A_RCPT_RESP, i);
		}
	}
	if (any_accepted(f)) {
		add(p, A_DATA, 0);
		add(p, A_354, 0);
		add(p, A_BODY, 0);
		add(p, A_QUEUED, 0);
	}
	add(p, A_QUIT, 0);
	add(p, A_221, 0);
}

static const char *const first_names[] = {
	"anna", "ben", "carla", "dmitri", "emma", "farid", "greta", "hugo", "ines", "jonas",
};

static void server_name(const struct flow *f, char *buf, size_t len)
{
	enum pool p = f->kind == K_SMTP_RELAY_AUTH || f->kind == K_SMTP_RELAY_TLS ? POOL_RELAY :
		      f->kind == K_SMTP_AUTH ? POOL_SUBMIT : POOL_MX;

	net_pool_name(p, f->a[4], buf, len);
}

/* the domain mail is delivered to: the MX's own for direct sessions */
static void rcpt_addr(const struct flow *f, uint32_t i, struct bufw *b)
{
	uint32_t x = f->a[5] + i * 2654435761u;

	if (f->kind == K_SMTP_UNAUTH || f->kind == K_SMTP_TLS || f->kind == K_SMTP_EXEMPT)
		bufw_fmt(b, "%s%u@mail%u.example", first_names[x % 10], x % 977, f->a[4] + 1);
	else
		bufw_fmt(b, "%s.%u@mail%u.example", first_names[x % 10], x % 97, x % 5000 + 1);
}

static void sender(const struct gen *g, const struct flow *f, struct bufw *b)
{
	char sub[32];

	net_sub_name(f->sub, sub, sizeof(sub));
	if (f->kind == K_SMTP_UNAUTH || f->kind == K_SMTP_TLS)
		bufw_fmt(b, "%s%u@%c%c%c%u.example", first_names[f->a[5] % 10], f->a[5] % 9973,
			 'a' + f->a[5] % 26, 'a' + f->a[5] / 26 % 26, 'a' + f->a[5] / 676 % 26,
			 f->a[5] % 89);
	else if (g->net->subs[f->sub].role == ROLE_EXEMPT)
		bufw_fmt(b, "newsletter@%s.example", sub);
	else
		bufw_fmt(b, "%s.%s@isp.example", first_names[f->a[5] % 10], sub);
}

static void client_name(const struct gen *g, const struct flow *f, struct bufw *b)
{
	char sub[32];

	net_sub_name(f->sub, sub, sizeof(sub));
	if (g->net->subs[f->sub].role == ROLE_EXEMPT)
		bufw_fmt(b, "mail.%s.example", sub);
	else if (f->kind == K_SMTP_UNAUTH || f->kind == K_SMTP_TLS)
		bufw_fmt(b, "%c%c%c%c%c%u", 'a' + f->a[5] % 26, 'a' + f->a[5] / 7 % 26,
			 'a' + f->a[5] / 11 % 26, 'a' + f->a[5] / 13 % 26, 'a' + f->a[5] / 17 % 26,
			 f->a[5] % 1000);
	else
		bufw_fmt(b, "[192.168.1.%u]", 2 + f->a[5] % 250);	/* a MUA behind NAT */
}

static void rcpt_resp(const struct flow *f, uint32_t i, struct bufw *b)
{
	if (f->a[2] >> (i % 32) & 1) {
		bufw_str(b, "550 5.1.1 <");
		rcpt_addr(f, i, b);
		bufw_str(b, ">: Recipient address rejected: User unknown in local recipient table\r\n");
	} else {
		bufw_str(b, "250 2.1.5 Ok\r\n");
	}
}

static void tls_sid(const struct flow *f, uint8_t sid[32])
{
	struct rng r;

	kind_rng(f, 0xffff0000u, &r);
	rng_fill(&r, sid, 32);
}

int smtp_script(const struct gen *g, const struct flow *f, uint32_t step,
		struct msg *m, struct bufw *lit)
{
	struct plan p;
	enum act a;
	uint32_t arg;
	char srv[64], cred[96];
	struct bufw cb;
	struct rng r;
	uint8_t sid[32];

	make_plan(f, &p);
	if (step >= p.n)
		return -1;
	a = (enum act)(p.act[step] >> 8);
	arg = p.act[step] & 0xff;
	kind_msg(m, act_dir[a]);
	if (step >= 3 && a != A_TLS_CH && a != A_TLS_SH)
		m->flags = MSG_SPLITOK;
	if (act_dir[a])
		m->gap_us = 300 + (f->a[5] >> (step % 16)) % 3000;	/* server processing */
	else if (step > 2)
		m->gap_us = (f->kind == K_SMTP_UNAUTH || f->kind == K_SMTP_TLS) ? 200 : 5000;
	server_name(f, srv, sizeof(srv));
	kind_rng(f, step, &r);

	switch (a) {
	case A_BANNER:
		/* nDPI 4.2 takes a 52-byte line starting "22" for an MQTT
		 * PUBLISH; this banner is always longer */
		bufw_fmt(lit, "220 %s ESMTP Postfix (Debian/GNU) ready\r\n", srv);
		break;
	case A_REJECT:
		bufw_fmt(lit, "554 5.7.1 %s: Client host [%u.%u.%u.%u] blocked using "
			 "zen.spamhaus.example\r\n", srv, f->addr[0][0], f->addr[0][1],
			 f->addr[0][2], f->addr[0][3]);
		break;
	case A_EHLO:
		bufw_str(lit, f->a[0] & SF_HELO ? "HELO " : "EHLO ");
		client_name(g, f, lit);
		bufw_str(lit, "\r\n");
		break;
	case A_EHLO_RESP:
		if (f->a[0] & SF_HELO) {
			bufw_fmt(lit, "250 %s\r\n", srv);
			break;
		}
		bufw_fmt(lit, "250-%s\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-VRFY\r\n"
			 "250-ETRN\r\n250-STARTTLS\r\n", srv);
		if (f->kind == K_SMTP_RELAY_AUTH || f->kind == K_SMTP_RELAY_TLS || f->kind == K_SMTP_AUTH)
			bufw_str(lit, "250-AUTH PLAIN LOGIN\r\n");
		bufw_str(lit, "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n");
		break;
	case A_AUTH_PLAIN:
	case A_USER:
	case A_PASS: {
		char sub[32];

		net_sub_name(f->sub, sub, sizeof(sub));
		bufw_init(&cb, (uint8_t *)cred, sizeof(cred));
		if (a == A_AUTH_PLAIN) {
			bufw_u8(&cb, 0);
			bufw_fmt(&cb, "%s@isp.example", sub);
			bufw_u8(&cb, 0);
			bufw_fmt(&cb, "pw%08x", f->a[5]);
			bufw_str(lit, "AUTH PLAIN ");
		} else if (a == A_USER) {
			bufw_fmt(&cb, "%s@isp.example", sub);
		} else {
			bufw_fmt(&cb, "pw%08x", f->a[5]);
		}
		bufw_b64(lit, cred, cb.len);
		bufw_str(lit, "\r\n");
		break;
	}
	case A_AUTH_LOGIN:
		bufw_str(lit, "AUTH LOGIN\r\n");
		break;
	case A_334_USER:
		bufw_str(lit, "334 VXNlcm5hbWU6\r\n");
		break;
	case A_334_PASS:
		bufw_str(lit, "334 UGFzc3dvcmQ6\r\n");
		break;
	case A_235:
		bufw_str(lit, "235 2.7.0 Authentication successful\r\n");
		break;
	case A_MAIL:
	case A_PIPE:
		bufw_str(lit, "MAIL FROM:<");
		sender(g, f, lit);
		bufw_str(lit, ">\r\n");
		if (a == A_PIPE) {
			for (uint32_t i = 0; i < f->a[1]; i++) {
				bufw_str(lit, "RCPT TO:<");
				rcpt_addr(f, i, lit);
				bufw_str(lit, ">\r\n");
			}
			m->rcpt = (uint16_t)f->a[1];
		}
		break;
	case A_250_MAIL:
		bufw_str(lit, "250 2.1.0 Ok\r\n");
		break;
	case A_PIPE_RESP:
		bufw_str(lit, "250 2.1.0 Ok\r\n");
		for (uint32_t i = 0; i < f->a[1]; i++)
			rcpt_resp(f, i, lit);
		break;
	case A_RCPT:
		bufw_str(lit, "RCPT TO:<");
		rcpt_addr(f, arg, lit);
		bufw_str(lit, ">\r\n");
		m->rcpt = 1;
		break;
	case A_RCPT_RESP:
		rcpt_resp(f, arg, lit);
		break;
	case A_DATA:
		bufw_str(lit, "DATA\r\n");
		break;
	case A_354:
		bufw_str(lit, "354 End data with <CR><LF>.<CR><LF>\r\n");
		break;
	case A_BODY:
		bufw_str(lit, "From: <");
		sender(g, f, lit);
		bufw_str(lit, ">\r\nTo: <");
		rcpt_addr(f, 0, lit);
		bufw_fmt(lit, ">\r\nSubject: %s %u\r\nMessage-ID: <%08x.%u@isp.example>\r\n"
			 "MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n"
			 "Content-Transfer-Encoding: base64\r\n\r\n",
			 f->kind == K_SMTP_UNAUTH ? "You have won" : "Re: our meeting",
			 f->a[5] % 1000, f->a[5], f->sub);
		m->pre = (uint16_t)lit->len;
		m->fill = f->a[3];
		m->fill_kind = FILL_TEXT;
		bufw_str(lit, "\r\n.\r\n");
		m->suf = (uint16_t)(lit->len - m->pre);
		return 0;
	case A_QUEUED:
		bufw_fmt(lit, "250 2.0.0 Ok: queued as %08X%u\r\n", f->a[5], f->sub % 100);
		break;
	case A_QUIT:
		bufw_str(lit, "QUIT\r\n");
		break;
	case A_221:
		bufw_str(lit, "221 2.0.0 Bye\r\n");
		break;
	case A_STARTTLS:
		bufw_str(lit, "STARTTLS\r\n");
		break;
	case A_READY:
		bufw_str(lit, "220 2.0.0 Ready to start TLS\r\n");
		break;
	case A_TLS_CH:
		tls_sid(f, sid);
		tls_client_hello(lit, &r, srv, 0, sid);
		break;
	case A_TLS_SH:
		tls_sid(f, sid);
		tls_server_hello(lit, &r, sid);
		tls_change_cipher_spec(lit);
		tls_app_header(lit, 2600);
		m->pre = (uint16_t)lit->len;
		m->fill = 2600;
		return 0;
	case A_TLS_FIN:
		tls_change_cipher_spec(lit);
		tls_app_header(lit, 53);
		m->pre = (uint16_t)lit->len;
		m->fill = 53;
		return 0;
	case A_TLS_C:
	case A_TLS_S:
		tls_app_header(lit, (uint16_t)(arg + 17));
		m->pre = (uint16_t)lit->len;
		m->fill = arg + 17;
		return 0;
	case A_TLS_BODY: {
		/* the message in full records, as the TLS layer cuts it */
		uint32_t n = f->a[3] + 600 < TLS_REC_MAX ? f->a[3] + 600 : TLS_REC_MAX;

		tls_app_header(lit, (uint16_t)n);
		m->pre = (uint16_t)lit->len;
		m->fill = n;
		return 0;
	}
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- spawners ---- */

static struct flow *smtp_flow(struct gen *g, uint32_t sub, uint8_t kind, enum pool pool,
			      uint32_t idx, uint16_t port, int v6, uint8_t sc)
{
	struct ends e = { .sub = sub, .v6 = v6, .inside_client = 1, .pool = pool, .idx = idx,
			  .far_port = port };
	struct flow *f = sess_new(g, kind);

	if (!f)
		return NULL;
	sess_place(g, f, &e);
	f->smtp_class = sc;
	f->closer = 1;	/* the server hangs up after 221 */
	f->a[5] = (uint32_t)rng_next(&g->rng);
	return f;
}

static uint32_t body_size(struct rng *r, double xm, double cap)
{
	return (uint32_t)rng_pareto(r, 1.3, xm, cap);
}

void smtp_user_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	double u = rng_unit(r);
	const struct sub *su = &g->net->subs[s->sub];
	int v6 = su->dual && rng_chance(r, 0.3);
	struct flow *f;

	if (u < 0.75)
		f = smtp_flow(g, s->sub, K_SMTP_RELAY_AUTH, POOL_RELAY, 0, 587, v6, SC_RELAY);
	else if (u < 0.9)
		f = smtp_flow(g, s->sub, K_SMTP_RELAY_TLS, POOL_RELAY, 0, 587, v6, SC_RELAY);
	else
		f = smtp_flow(g, s->sub, K_SMTP_AUTH, POOL_SUBMIT,
			      rng_below(r, net_pool_size(POOL_SUBMIT)), 587, v6, SC_DIRECT_AUTH);
	if (!f)
		return;
	f->a[0] = f->kind == K_SMTP_RELAY_TLS ? SF_TLS :
		  SF_AUTH | (rng_chance(r, 0.5) ? SF_LOGIN : 0);
	f->a[1] = rng_chance(r, 0.9) ? rng_range(r, 1, 3) : rng_range(r, 4, 12);
	f->a[3] = body_size(r, 1500, 4e6);
	sess_start(g, f, s->t0);
}

void smtp_bot_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	double rate = 0.5 + rng_unit(r) * 1.5;	/* sessions per second */
	uint32_t n = (uint32_t)(s->dur * rate) + 3;

	if (n > 200)
		n = 200;
	for (uint32_t i = 0; i < n; i++) {
		int tls = rng_chance(r, 0.15);
		uint32_t mx = rng_below(r, net_pool_size(POOL_MX));
		struct flow *f = smtp_flow(g, s->sub, tls ? K_SMTP_TLS : K_SMTP_UNAUTH, POOL_MX, mx,
					   25, 0, tls ? SC_DIRECT_TLS : SC_DIRECT_UNAUTH);

		if (!f)
			return;
		f->a[0] = (tls ? SF_TLS : 0) | (rng_chance(r, 0.5) ? SF_PIPE : 0) |
			  (rng_chance(r, 0.08) ? SF_REJECT : 0) |
			  (!tls && rng_chance(r, 0.4) ? SF_HELO : 0);
		/* Refused at the banner, the bot never reaches STARTTLS: by
		 * SPEC that session is unauth (neither 235 nor STARTTLS). */
		if (f->a[0] & SF_REJECT)
			f->smtp_class = SC_DIRECT_UNAUTH;
		f->a[1] = rng_range(r, 3, 40);
		for (uint32_t k = 0; k < 32; k++)
			if (rng_chance(r, 0.4))
				f->a[2] |= 1u << k;
		f->a[3] = rng_range(r, 800, 8000);
		f->a[4] = mx;
		sess_start(g, f, s->t0 + (uint64_t)(i * 1e6 / rate) + rng_below(r, 200000));
	}
}

void smtp_mta_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	uint32_t n = rng_range(r, 1, 3);

	for (uint32_t i = 0; i < n; i++) {
		int tls = rng_chance(r, 0.6);
		uint32_t mx = rng_below(r, net_pool_size(POOL_MX));
		struct flow *f = smtp_flow(g, s->sub, K_SMTP_EXEMPT, POOL_MX, mx, 25,
					   su->dual && rng_chance(r, 0.3),
					   tls ? SC_DIRECT_TLS : SC_DIRECT_UNAUTH);

		if (!f)
			return;
		f->a[0] = tls ? SF_TLS : 0;
		f->a[1] = rng_range(r, 1, 4);
		if (rng_chance(r, 0.1))
			f->a[2] = 1;
		f->a[3] = body_size(r, 3000, 2e6);
		f->a[4] = mx;
		sess_start(g, f, s->t0 + (uint64_t)i * rng_range(r, 50000, 2000000));
	}
}

/* ---- planned senders ---------------------------------------------------- */

#define US ((uint64_t)1000000)
#define PLAN_BURST 12		/* a routine burst: sessions, */
#define PLAN_MX 6		/* to this many MX hosts */
#define PLAN_SWITCH_N 40	/* a switcher's burst */
#define PLAN_SWITCH_AT (30 * 3600ull)	/* first switch, after --start */
#define PLAN_SWITCH_STEP (2 * 3600ull)	/* between switchers */
#define PLAN_SUBMIT_EVERY (6 * 3600ull)	/* a switcher's relayed submissions */

enum plan_kind { PK_HOURLY, PK_NIGHTLY, PK_SWITCHER };

static enum plan_kind plan_kind(const struct gen *g, uint32_t k)
{
	return k >= g->o->routine ? PK_SWITCHER : k % 2 ? PK_NIGHTLY : PK_HOURLY;
}

/* Planned sender k's subscriber: switchers are the last ordinary
 * subscribers, routine ones the ordinary ones before them. */
static uint32_t plan_sub(const struct gen *g, uint32_t k)
{
	uint32_t want = k >= g->o->routine ? k - g->o->routine : g->o->switchers + k;

	for (uint32_t i = g->net->nsubs; i-- > 0;)
		if (g->net->subs[i].role == ROLE_NORMAL && want-- == 0)
			return i;
	return 0;	/* genopt made sure there are enough */
}

/* a uniform jitter in [-span, span] us for occurrence n of sender k: a
 * pure function, so the timetable needs no state */
static int64_t plan_jitter(const struct gen *g, uint32_t k, uint64_t n, uint64_t span)
{
	uint64_t x = rng_mix(rng_mix(g->o->seed, 0x5107ull << 32 | k), n);

	return (int64_t)(x % (2 * span + 1)) - (int64_t)span;
}

static uint64_t plan_switch_time(const struct gen *g, uint32_t k)
{
	return g->t_start + (PLAN_SWITCH_AT + (k - g->o->routine) * PLAN_SWITCH_STEP + 1020) * US;
}

/* occurrence n of sender k's periodic events */
static uint64_t plan_at(const struct gen *g, uint32_t k, uint64_t n)
{
	uint64_t day0 = g->t_start / (86400 * US) * 86400 * US;

	switch (plan_kind(g, k)) {
	case PK_HOURLY:	/* minute 5-55 of every hour, +-1 min */
		return day0 + n * 3600 * US + (300 + 420ull * k % 3000) * US +
		       (uint64_t)plan_jitter(g, k, n, 60 * US);
	case PK_NIGHTLY:	/* 02:10, 05:10, ... +-20 min: crosses the hour */
		return day0 + n * 86400 * US + ((2 + 3ull * (k / 2)) % 24 * 3600 + 600) * US +
		       (uint64_t)plan_jitter(g, k, n, 1200 * US);
	case PK_SWITCHER:	/* every 6 h from 00:30 + 30 min each, +-15 min */
		return day0 + n * PLAN_SUBMIT_EVERY * US +
		       (1800 + 1800ull * (k - g->o->routine) % 3600) * US +
		       (uint64_t)plan_jitter(g, k, n, 900 * US);
	}
	return UINT64_MAX;
}

/* sender k's first event after `after` (us) */
static uint64_t plan_next(const struct gen *g, uint32_t k, uint64_t after)
{
	uint64_t day0 = g->t_start / (86400 * US) * 86400 * US;
	uint64_t period = plan_kind(g, k) == PK_HOURLY ? 3600 * US :
			  plan_kind(g, k) == PK_NIGHTLY ? 86400 * US : PLAN_SUBMIT_EVERY * US;
	uint64_t n = after > day0 + period ? (after - day0) / period - 1 : 0;
	uint64_t t;

	while ((t = plan_at(g, k, n)) <= after || t < g->t_start)
		n++;
	if (plan_kind(g, k) == PK_SWITCHER) {
		uint64_t sw = plan_switch_time(g, k);

		if (sw > after && sw < t)
			t = sw;
	}
	return t;
}

/* one direct unauthenticated session to MX host mx at t */
static void plan_direct(struct gen *g, uint32_t sub, uint32_t mx, uint64_t t)
{
	struct flow *f = smtp_flow(g, sub, K_SMTP_UNAUTH, POOL_MX, mx, 25, 0, SC_DIRECT_UNAUTH);

	if (!f)
		return;
	f->a[1] = 1 + (uint32_t)rng_below(&g->rng, 2);
	f->a[3] = 1200 + rng_below(&g->rng, 800);
	f->a[4] = mx;
	sess_start(g, f, t);
}

void smtp_plan_fire(struct gen *g, uint32_t k, uint64_t now)
{
	uint32_t sub = plan_sub(g, k), nmx = net_pool_size(POOL_MX);
	enum plan_kind pk = plan_kind(g, k);

	/* re-schedule first: the flows pushed below may take the top */
	evheap_retime_top(&g->heap, plan_next(g, k, now));
	if (pk == PK_SWITCHER && now != plan_switch_time(g, k)) {
		struct flow *f = smtp_flow(g, sub, K_SMTP_RELAY_AUTH, POOL_RELAY, 0, 587, 0,
					   SC_RELAY);

		if (!f)
			return;
		f->a[0] = SF_AUTH;
		f->a[1] = 1;
		f->a[3] = body_size(&g->rng, 1500, 1e5);
		sess_start(g, f, now);
		return;
	}
	/* a burst: the routine one to the same 6 MX hosts, 4-5 s apart; the
	 * switcher's to any, 3 s apart (all within the 5 min window) */
	uint32_t n = pk == PK_SWITCHER ? PLAN_SWITCH_N : PLAN_BURST;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t mx = pk == PK_SWITCHER ? rng_below(&g->rng, nmx) :
			      (k * PLAN_MX + i % PLAN_MX) % nmx;
		uint64_t gap = pk == PK_SWITCHER ? 3 * US : 4 * US;

		plan_direct(g, sub, mx, now + i * gap + rng_below(&g->rng, 1000000));
	}
}

int smtp_plan_create(struct gen *g, uint32_t nsrc)
{
	uint32_t np = g->o->routine + g->o->switchers;
	char line[4096], name[32];
	size_t len = 0;

	if (!np)
		return 0;	/* nothing said: the truth stays as it was */
	for (uint32_t k = 0; k < np; k++)
		if (evheap_push(&g->heap, plan_next(g, k, g->t_start > 0 ? g->t_start - 1 : 0),
				GEN_REF_SOURCE | (nsrc + k)) < 0)
			return -1;
	line[0] = '\0';
	for (uint32_t k = 0; k < g->o->routine && len + 48 < sizeof(line); k++) {
		net_sub_name(plan_sub(g, k), name, sizeof(name));
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s:%s", len ? "," : "",
					name, plan_kind(g, k) == PK_HOURLY ? "hourly" : "nightly");
	}
	truth_comment(g->truth, "routine=%s", line);
	len = 0;
	line[0] = '\0';
	for (uint32_t k = g->o->routine; k < np && len + 48 < sizeof(line); k++) {
		net_sub_name(plan_sub(g, k), name, sizeof(name));
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s@%" PRIu64,
					len ? "," : "", name, (uint64_t)(plan_switch_time(g, k) / US));
	}
	truth_comment(g->truth, "switchers=%s", line);
	return 0;
}
