/*
 * spf_helper.c — the SPF helper process (see spf_helper.h): RFC 7208
 * check_host() with libspf2, on worker threads fed from the sensor's
 * socket.
 */
#include "spf_helper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <spf2/spf.h>

#include "daemon.h"
#include "log.h"
#include "spf.h"

struct helper {
	int fd;
	struct spf_msg_config cfg;
	struct sw_addr resolver;
	struct spf_dns_shared sh;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spf_msg_eval q[SPF_HELPER_INFLIGHT];	/* waiting for a worker */
	unsigned qhead, qn;
};

/* The socket, for libspf2's fatal-error handler, which gets no context.
 * One helper per process. */
static int note_fd = -1;

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tells the sensor about a problem; it logs it. */
static void
note(const char *fmt, ...)
{
	struct spf_msg_note n = { .type = SPF_MSG_NOTE };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n.text, sizeof n.text, fmt, ap);
	va_end(ap);
	if (note_fd >= 0)
		send(note_fd, &n, sizeof n, MSG_NOSIGNAL);
}

static void quiet(const char *file, int line, const char *msg) {}

/* libspf2 calls this on an internal error (a failed assertion, no
 * memory) and must not return: the sensor sees the helper die and starts
 * another. */
static void __attribute__((noreturn))
fatal(const char *file, int line, const char *msg)
{
	note("libspf2: %s (%s:%d)", msg, file, line);
	_exit(70);
}

/* libspf2's result; when it stopped before one (SPF_RESULT_INVALID), the
 * error it stopped on says which RFC 7208 result that is. */
static enum spf_result
result_of(SPF_errcode_t err, SPF_response_t *resp)
{
	if (resp) {
		switch (SPF_response_result(resp)) {
		case SPF_RESULT_PASS: return SPFR_PASS;
		case SPF_RESULT_FAIL: return SPFR_FAIL;
		case SPF_RESULT_SOFTFAIL: return SPFR_SOFTFAIL;
		case SPF_RESULT_NEUTRAL: return SPFR_NEUTRAL;
		case SPF_RESULT_NONE: return SPFR_NONE;
		case SPF_RESULT_TEMPERROR: return SPFR_TEMPERROR;
		case SPF_RESULT_PERMERROR: return SPFR_PERMERROR;
		default: break;
		}
	}
	switch (err) {
	case SPF_E_DNS_ERROR:
	case SPF_E_NO_MEMORY:
	case SPF_E_INTERNAL_ERROR:
		return SPFR_TEMPERROR;
	case SPF_E_NOT_SPF:
		/* "No SPF record" comes with no other error; a record that
		 * failed to compile leaves its syntax errors (RFC 7208 4.6:
		 * permerror). */
		return resp && SPF_response_errors(resp) > 1 ? SPFR_PERMERROR : SPFR_NONE;
	case SPF_E_SUCCESS:
		return SPFR_NEUTRAL;
	default:
		return SPFR_PERMERROR;
	}
}

/* One check_host() of m, with broad terms made neutral when strict.
 * *ttl receives the smallest TTL it used (-1: none). */
static enum spf_result
check_host(SPF_server_t *srv, SPF_dns_server_t *dns, const struct spf_msg_eval *m,
	   uint64_t deadline_ms, int strict, int64_t *ttl)
{
	SPF_request_t *req = SPF_request_new(srv);
	SPF_response_t *resp = NULL;
	enum spf_result r = SPFR_TEMPERROR;
	SPF_errcode_t err;

	*ttl = -1;
	if (!req)
		return r;
	if (m->family == 4) {
		struct in_addr a;

		memcpy(&a, m->addr, 4);
		SPF_request_set_ipv4(req, a);
	} else {
		struct in6_addr a;

		memcpy(&a, m->addr, 16);
		SPF_request_set_ipv6(req, a);
	}
	/* The HELO name only fills %{h} macros, and one that is no domain
	 * name becomes "unknown" rather than reach a DNS query. */
	if (SPF_request_set_helo_dom(req, spf_dns_name_ok(m->helo) ? m->helo : "unknown") != 0 ||
	    SPF_request_set_env_from(req, m->domain) != 0) {
		SPF_request_free(req);
		return r;
	}
	spf_dns_begin(dns, deadline_ms);
	spf_dns_broad_mode(dns, m->family, strict);
	err = SPF_request_query_mailfrom(req, &resp);
	r = result_of(err, resp);
	*ttl = spf_dns_min_ttl(dns);
	if (resp)
		SPF_response_free(resp);
	SPF_request_free(req);
	return r;
}

/* The verdict on m, and in *ttl how long it may be cached. A pass when a
 * record on the way holds a term authorising (nearly) everyone is
 * checked again with those terms neutral (spf_broad.h): a pass that
 * needed one is broad; one that did not ("ip4:192.0.2.0/24 +all" for an
 * address in the /24) stays a pass. Both checks share the DNS budget. */
static enum spf_result
evaluate(SPF_server_t *srv, SPF_dns_server_t *dns, const struct spf_msg_eval *m,
	 uint32_t budget_ms, uint32_t *ttl)
{
	uint64_t deadline = spf_dns_now_ms() + budget_ms;
	enum spf_result r;
	int64_t t, t2;

	*ttl = SPF_TTL_TEMPERROR;
	/* The sensor checked the domain; this is the backstop. */
	if (!spf_dns_name_ok(m->domain)) {
		*ttl = SPF_DNS_NEG_TTL;
		return SPFR_NONE;
	}
	r = check_host(srv, dns, m, deadline, 0, &t);
	if (r == SPFR_PASS && spf_dns_broad(dns) > 0) {
		enum spf_result strict = check_host(srv, dns, m, deadline, 1, &t2);

		r = strict == SPFR_PASS ? SPFR_PASS : strict == SPFR_TEMPERROR ? SPFR_TEMPERROR
									: SPFR_BROAD;
		if (t2 >= 0 && (t < 0 || t2 < t))
			t = t2;
	}
	if (r != SPFR_TEMPERROR)
		*ttl = t < 0 ? SPF_DNS_NEG_TTL : t > SPF_TTL_MAX ? SPF_TTL_MAX : (uint32_t)t;
	return r;
}

static void *
worker(void *arg)
{
	struct helper *h = arg;
	SPF_dns_server_t *dns = spf_dns_new(&h->resolver, h->cfg.port, &h->sh);
	SPF_server_t *srv = dns ? SPF_server_new_dns(dns, 0) : NULL;

	if (!srv) {
		note("cannot set up libspf2");
		_exit(1);
	}
	for (;;) {
		struct spf_msg_eval m;
		struct spf_msg_verdict v = { .type = SPF_MSG_VERDICT };

		pthread_mutex_lock(&h->mu);
		while (!h->qn)
			pthread_cond_wait(&h->cv, &h->mu);
		m = h->q[h->qhead];
		h->qhead = (h->qhead + 1) % SPF_HELPER_INFLIGHT;
		h->qn--;
		pthread_mutex_unlock(&h->mu);

		v.id = m.id;
		v.result = evaluate(srv, dns, &m, h->cfg.budget_ms, &v.ttl);
		pthread_mutex_lock(&h->sh.mu);
		v.queries = h->sh.queries;
		v.throttled = h->sh.throttled;
		v.timeouts = h->sh.timeouts;
		pthread_mutex_unlock(&h->sh.mu);
		if (send(h->fd, &v, sizeof v, MSG_NOSIGNAL) != (ssize_t)sizeof v)
			_exit(0);	/* the sensor is gone */
	}
	return NULL;
}

/* Dies with the sensor. The setting is lost when the credentials change,
 * hence again after dropping root; a parent that died before it was set
 * shows as a new parent. */
static int
tie_to_parent(long parent)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	return (long)getppid() == parent ? 0 : -1;
}

static int
read_config(struct helper *h)
{
	struct timeval tv = { .tv_sec = 10 };
	ssize_t n;

	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	do
		n = recv(h->fd, &h->cfg, sizeof h->cfg, 0);
	while (n < 0 && errno == EINTR);
	tv.tv_sec = 0;
	setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (n != (ssize_t)sizeof h->cfg || h->cfg.type != SPF_MSG_CONFIG ||
	    (h->cfg.family != 0 && h->cfg.family != 4 && h->cfg.family != 6))
		return -1;
	h->cfg.user[SPF_HELPER_USER_MAX] = '\0';
	h->resolver.family = h->cfg.family == 4 ? AF_INET : h->cfg.family == 6 ? AF_INET6 : 0;
	memcpy(h->resolver.a, h->cfg.addr, 16);
	if (!h->cfg.budget_ms)
		h->cfg.budget_ms = SPF_HELPER_BUDGET_MS;
	return 0;
}

/* Hands m to a worker. The sensor keeps at most SPF_HELPER_INFLIGHT with
 * us; one more is answered temperror at once rather than queued. */
static void
enqueue(struct helper *h, const struct spf_msg_eval *m)
{
	pthread_mutex_lock(&h->mu);
	if (h->qn < SPF_HELPER_INFLIGHT) {
		h->q[(h->qhead + h->qn) % SPF_HELPER_INFLIGHT] = *m;
		h->qn++;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		return;
	}
	pthread_mutex_unlock(&h->mu);
	struct spf_msg_verdict v = { .type = SPF_MSG_VERDICT, .id = m->id,
				     .result = SPFR_TEMPERROR };
	send(h->fd, &v, sizeof v, MSG_NOSIGNAL);
}

int
spf_helper_run(int fd, long parent)
{
	static struct helper hs;
	struct helper *h = &hs;
	struct sigaction sa = { .sa_handler = SIG_IGN };

	/* Terminal and termination signals are for the sensor: the helper
	 * ends when the sensor closes its socket. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	log_init("spanwatch-spf", 0, 0);
	h->fd = note_fd = fd;
	if (tie_to_parent(parent) < 0)
		return 0;
	if (read_config(h) < 0) {
		note("bad configuration message");
		return 1;
	}
	if (geteuid() == 0 || getuid() == 0) {
		if (!h->cfg.user[0] || daemon_drop_privileges(h->cfg.user) < 0) {
			note("cannot drop root to user '%s'", h->cfg.user);
			return 1;
		}
		if (tie_to_parent(parent) < 0)
			return 0;
	} else {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	}
	SPF_error_handler = fatal;
	SPF_warning_handler = quiet;
	SPF_info_handler = quiet;
	SPF_debug_handler = quiet;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_mutex_init(&h->sh.mu, NULL);
	spf_dns_rate_init(&h->sh.rate, h->cfg.qps ? h->cfg.qps : SPF_QPS, spf_dns_now_ms());
	for (int i = 0; i < SPF_HELPER_THREADS; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, worker, h) != 0) {
			note("cannot start a worker thread");
			_exit(1);
		}
		pthread_detach(t);
	}
	for (;;) {
		struct spf_msg_eval m;
		ssize_t n = recv(fd, &m, sizeof m, 0);

		if (n == 0)
			_exit(0);	/* the sensor closed its end */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		if (n != (ssize_t)sizeof m || m.type != SPF_MSG_EVAL || (m.family != 4 && m.family != 6))
			continue;
		m.domain[SPF_NAME_MAX] = '\0';
		m.helo[SPF_NAME_MAX] = '\0';
		enqueue(h, &m);
	}
}
