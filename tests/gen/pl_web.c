/*
 * pl_web.c — DNS, HTTP, HTTPS, QUIC and game/call UDP; see pl_web.h.
 */
#include "pl_web.h"

#include "gen.h"
#include "pl_tls.h"
#include "session.h"

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
	"Chrome/131.0.0.0 Mobile Safari/537.36",
	"curl/8.5.0",
};

static const struct content {
	const char *type, *dir, *ext;
} contents[] = {
	{ "video/mp4", "media", "mp4" },
	{ "application/octet-stream", "dl", "bin" },
	{ "image/webp", "img", "webp" },
	{ "text/html; charset=utf-8", "news", "html" },
	{ "application/javascript", "js", "js" },
	{ "application/zip", "files", "zip" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- HTTP/1.1 (RFC 9112): one GET, one response with a body ----
 * a[0] server, a[1] body bytes, a[2] object number, a[3] user agent,
 * a[4] content type */
int web_http_script(const struct gen *g, const struct flow *f, uint32_t step,
		    struct msg *m, struct bufw *lit)
{
	const struct content *c = &contents[f->a[4] % NELEM(contents)];
	char host[64];

	(void)g;
	net_pool_name(POOL_WEB, f->a[0], host, sizeof(host));
	if (step == 0) {
		kind_msg(m, 0);
		bufw_fmt(lit, "GET /%s/%08x.%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
			 "Accept: */*\r\nAccept-Language: en-US,en;q=0.9\r\n"
			 "Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
			 c->dir, f->a[2], c->ext, host, user_agents[f->a[3] % NELEM(user_agents)]);
		m->pre = (uint16_t)lit->len;
		return 0;
	}
	if (step == 1) {
		kind_msg(m, 1);
		m->gap_us = 500 + f->a[2] % 40000;	/* server think time */
		bufw_fmt(lit, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: %s\r\n"
			 "Content-Length: %u\r\nConnection: keep-alive\r\n"
			 "Cache-Control: max-age=3600\r\nAccept-Ranges: bytes\r\n\r\n",
			 c->type, f->a[1]);
		m->pre = (uint16_t)lit->len;
		m->fill = f->a[1];
		return 0;
	}
	return -1;
}

/* ---- HTTPS: TLS 1.3 handshake, one request, the response in records ----
 * a[0] server, a[1] response records, a[2] last record's size,
 * a[3] size of the server's encrypted handshake flight */
static void tls_sid(const struct flow *f, uint8_t sid[32])
{
	struct rng r;

	kind_rng(f, 0xffff0000u, &r);
	rng_fill(&r, sid, 32);
}

int web_tls_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit)
{
	uint8_t sid[32];
	char host[64];
	struct rng r;

	(void)g;
	kind_rng(f, step, &r);
	if (step == 0) {
		kind_msg(m, 0);
		net_pool_name(POOL_WEB, f->a[0], host, sizeof(host));
		tls_sid(f, sid);
		tls_client_hello(lit, &r, host, 1, sid);
		m->pre = (uint16_t)lit->len;
		return 0;
	}
	if (step == 1) {
		kind_msg(m, 1);
		m->gap_us = 300 + f->a[3] % 8000;
		tls_sid(f, sid);
		tls_server_hello(lit, &r, sid);
		tls_change_cipher_spec(lit);
		tls_app_header(lit, (uint16_t)f->a[3]);
		m->pre = (uint16_t)lit->len;
		m->fill = f->a[3];
		return 0;
	}
	if (step == 2) {
		kind_msg(m, 0);
		tls_change_cipher_spec(lit);
		tls_app_header(lit, 53);	/* Finished */
		m->pre = (uint16_t)lit->len;
		m->fill = 53;
		return 0;
	}
	if (step == 3) {
		uint16_t n = (uint16_t)(90 + f->a[2] % 420);

		kind_msg(m, 0);
		tls_app_header(lit, n);	/* the request */
		m->pre = (uint16_t)lit->len;
		m->fill = n;
		return 0;
	}
	if (step - 4 < f->a[1]) {
		uint16_t n = step - 4 + 1 == f->a[1] ? (uint16_t)f->a[2] : TLS_REC_MAX;

		kind_msg(m, 1);
		if (step == 4)
			m->gap_us = 1000 + f->a[2] % 30000;
		tls_app_header(lit, n);
		m->pre = (uint16_t)lit->len;
		m->fill = n;
		return 0;
	}
	return -1;
}

/* ---- DNS (RFC 1035): one question, one answer naming the server ----
 * a[0] web server, a[1] qtype (1 A, 28 AAAA), a[2] transaction id */
static void dns_name(struct bufw *b, const char *name)
{
	while (*name) {
		const char *dot = name;
		size_t n;

		while (*dot && *dot != '.')
			dot++;
		n = (size_t)(dot - name);
		bufw_u8(b, (uint8_t)n);
		bufw_bytes(b, name, n);
		name = *dot ? dot + 1 : dot;
	}
	bufw_u8(b, 0);
}

int web_dns_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit)
{
	uint16_t qtype = (uint16_t)f->a[1];
	char host[64];

	(void)g;
	if (step > 1)
		return -1;
	net_pool_name(POOL_WEB, f->a[0], host, sizeof(host));
	kind_msg(m, (int)step);
	bufw_be16(lit, (uint16_t)f->a[2]);
	bufw_be16(lit, step ? 0x8180 : 0x0100);	/* response, RD, RA / query, RD */
	bufw_be16(lit, 1);
	bufw_be16(lit, (uint16_t)step);
	bufw_be32(lit, 0);
	dns_name(lit, host);
	bufw_be16(lit, qtype);
	bufw_be16(lit, 1);
	if (step) {
		uint8_t a[16];

		m->gap_us = 300 + f->a[2] % 25000;	/* cached or recursive */
		net_pool_addr(POOL_WEB, f->a[0], qtype == 28, a);
		bufw_be16(lit, 0xc00c);	/* the name of the question */
		bufw_be16(lit, qtype);
		bufw_be16(lit, 1);
		bufw_be32(lit, 300);
		bufw_be16(lit, qtype == 28 ? 16 : 4);
		bufw_bytes(lit, a, qtype == 28 ? 16 : 4);
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- QUIC v1 (RFC 9000 17.2, 17.3): Initial, Handshake, then short
 * header packets. Payloads are random: nothing is decrypted.
 * a[0] server, a[1] packets after the handshake, a[2] connection ids */
static void quic_cid(const struct flow *f, int which, struct bufw *b)
{
	struct rng r;
	uint8_t cid[8];

	kind_rng(f, 0xfffe0000u + (uint32_t)which, &r);
	rng_fill(&r, cid, sizeof(cid));
	bufw_bytes(b, cid, sizeof(cid));
}

/* a long header of type (0 Initial, 2 Handshake) whose length field says
 * `rest` more bytes follow */
static void quic_long(const struct flow *f, struct bufw *b, int type, int client,
		      uint32_t rest, uint8_t bits)
{
	bufw_u8(b, (uint8_t)(0xc0 | type << 4 | (bits & 0x0f)));
	bufw_be32(b, 0x00000001);
	if (client) {
		bufw_u8(b, 8);
		quic_cid(f, 0, b);	/* the server's id, chosen by the client */
		bufw_u8(b, 0);		/* browsers use an empty source id */
	} else {
		bufw_u8(b, 0);
		bufw_u8(b, 8);
		quic_cid(f, 1, b);
	}
	if (type == 0)
		bufw_u8(b, 0);	/* no token */
	bufw_be16(b, (uint16_t)(0x4000 | rest));	/* 2-byte varint */
}

int web_quic_script(const struct gen *g, const struct flow *f, uint32_t step,
		    struct msg *m, struct bufw *lit)
{
	struct rng r;
	uint8_t bits;

	(void)g;
	kind_rng(f, step, &r);
	bits = (uint8_t)rng_next(&r);
	if (step == 0) {
		kind_msg(m, 0);
		quic_long(f, lit, 0, 1, 1232, bits);	/* padded to 1250 bytes */
		m->fill = 1232;
	} else if (step == 1) {
		kind_msg(m, 1);
		m->gap_us = 200 + bits * 20;
		quic_long(f, lit, 0, 0, 1182, bits);
		m->fill = 1182;
	} else if (step == 2) {
		uint32_t n = 900 + (uint32_t)rng_below(&r, 300);

		kind_msg(m, 1);
		quic_long(f, lit, 2, 0, n, bits);
		m->fill = n;
	} else if (step == 3) {
		kind_msg(m, 0);
		quic_long(f, lit, 2, 1, 60, bits);
		m->fill = 60;
	} else if (step - 4 < f->a[1]) {
		int ack = (step - 4) % 3 == 2;

		kind_msg(m, ack ? 0 : 1);
		bufw_u8(lit, (uint8_t)(0x40 | (bits & 0x3f)));
		if (ack) {
			quic_cid(f, 1, lit);
			m->fill = 28 + rng_below(&r, 12);
		} else {
			m->fill = 1200 + rng_below(&r, 50);
		}
	} else {
		return -1;
	}
	m->pre = (uint16_t)lit->len;
	return 0;
}

/* ---- UDP that nothing should recognise: a game or a call ----
 * a[0] datagrams, a[1] first byte of each */
int web_udp_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit)
{
	struct rng r;

	(void)g;
	if (step >= f->a[0])
		return -1;
	kind_rng(f, step, &r);
	kind_msg(m, step % 3 == 0 ? 0 : 1);
	bufw_u8(lit, (uint8_t)f->a[1]);
	m->pre = 1;
	m->fill = m->dir ? rng_range(&r, 60, 400) : rng_range(&r, 40, 160);
	return 0;
}

/* ---- spawners ---- */

/* data packets of a TCP download of budget packets: one ACK per two */
static uint64_t tcp_bytes(double budget, uint32_t mss)
{
	double segs = (budget - 10) / 1.5;

	return segs < 1 ? 600 : (uint64_t)(segs * mss);
}

static void web_dns(struct gen *g, uint32_t sub, int v6, unsigned dev, uint32_t srv, uint64_t t)
{
	struct flow *f = sess_new(g, K_DNS);
	struct ends e = { .sub = sub, .v6 = v6, .inside_client = 1, .dev = dev,
			  .pool = POOL_DNS, .idx = rng_below(&g->rng, 2), .far_port = 53 };

	if (!f)
		return;
	sess_place(g, f, &e);
	f->a[0] = srv;
	f->a[1] = v6 ? 28 : 1;
	f->a[2] = (uint32_t)rng_next(&g->rng) & 0xffff;
	sess_start(g, f, t);
}

void web_spawn(struct gen *g, const struct spawn *s)
{
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	int v6 = su->dual && rng_chance(r, 0.45);
	uint32_t srv = rng_below(r, net_pool_size(POOL_WEB));
	unsigned dev = rng_below(r, 3);
	double u = rng_unit(r);
	uint8_t kind = u < 0.55 ? K_TLS : u < 0.75 ? K_QUIC : K_HTTP;
	uint64_t t = s->t0;
	uint64_t bytes = tcp_bytes(s->budget, 1400);
	struct ends e = { .sub = s->sub, .v6 = v6, .inside_client = 1, .dev = dev,
			  .pool = POOL_WEB, .idx = srv, .far_port = kind == K_HTTP ? 80 : 443 };
	struct flow *f;

	if (rng_chance(r, 0.6)) {
		web_dns(g, s->sub, v6, dev, srv, t);
		t += rng_range(r, 2000, 40000);
	}
	f = sess_new(g, kind);
	if (!f)
		return;
	sess_place(g, f, &e);
	f->iv = spawn_iv(s->dur, s->budget);
	f->a[0] = srv;
	if (kind == K_HTTP) {
		f->a[1] = bytes > 0x7fffffff ? 0x7fffffff : (uint32_t)bytes;
		f->a[2] = (uint32_t)rng_next(r);
		f->a[3] = rng_below(r, NELEM(user_agents));
		f->a[4] = rng_below(r, NELEM(contents));
	} else if (kind == K_TLS) {
		f->a[1] = (uint32_t)(bytes / (TLS_REC_MAX + 5)) + 1;
		f->a[2] = 100 + (uint32_t)(bytes % TLS_REC_MAX) % (TLS_REC_MAX - 100);
		f->a[3] = rng_range(r, 2500, 5200);
	} else {
		f->a[1] = s->budget > 5 ? (uint32_t)(s->budget - 4) : 1;
	}
	sess_start(g, f, t);
}

void web_noise_spawn(struct gen *g, const struct spawn *s)
{
	static const uint8_t first[] = { 0x05, 0x0a, 0x3c, 0x7e, 0xa2, 0xfe };
	struct rng *r = &g->rng;
	const struct sub *su = &g->net->subs[s->sub];
	uint32_t srv = rng_below(r, net_pool_size(POOL_GAME));
	struct ends e = { .sub = s->sub, .v6 = su->dual && rng_chance(r, 0.3),
			  .inside_client = 1, .dev = rng_below(r, 3), .pool = POOL_GAME,
			  .idx = srv, .far_port = net_pool_port(g->net, POOL_GAME, srv) };
	struct flow *f = sess_new(g, K_UDP);

	if (!f)
		return;
	sess_place(g, f, &e);
	f->iv = spawn_iv(s->dur, s->budget);
	f->a[0] = s->budget > 2 ? (uint32_t)s->budget : 2;
	f->a[1] = first[rng_below(r, sizeof(first))];
	sess_start(g, f, s->t0);
}
