/*
 * spf.h — SPF verdicts (RFC 7208) for the capture thread: the evaluator
 * service the smtp collector asks "may this subscriber's address send
 * mail for this domain?". It never blocks the capture and can never take
 * the sensor down:
 *
 *  - spf_submit is non-blocking. It answers at once from the cache, or
 *    for a name that is no domain (RFC 7208 4.3: "none" without a
 *    lookup), or queues the question for the helper process
 *    (spf_helper.h), or drops it (counted) when the queue is full.
 *  - The helper evaluates with libspf2 against the configured resolver.
 *    A pass is checked once more with every term that authorises
 *    (nearly) everyone made neutral (spf_broad.h): a pass that needed
 *    such a term is SPFR_BROAD.
 *    Its verdicts come back through spf_poll, which the caller runs once
 *    per step and every few hundred packets, and which hands them to the
 *    verdict function given to spf_open, on the caller's thread.
 *  - The same (address, domain) asked again while queued or being
 *    evaluated joins that evaluation: a burst of one bot's sessions costs
 *    one evaluation, and SPF_QUEUE_WAITERS bounds the waiting questions.
 *  - Verdicts are cached by (address, domain) for the smallest DNS TTL
 *    the evaluation used, at most SPF_TTL_MAX (an hour); temperror for
 *    SPF_TTL_TEMPERROR; a verdict that used no DNS answer for
 *    SPF_DNS_NEG_TTL. The cache is a fixed table (spf_cache.h).
 *  - Bounds: SPF_QUEUE_JOBS evaluations queued or in the helper,
 *    SPF_HELPER_INFLIGHT of them handed over at once, SPF_QPS DNS queries
 *    a second (spf_dns.h), SPF_HELPER_BUDGET_MS of DNS per evaluation. A
 *    slow or dead resolver therefore fills the queue and gets temperror
 *    verdicts; questions past the queue are dropped and counted.
 *  - The helper starts with the first question. Its death (a crash, a
 *    kill) is seen at the next poll: logged, its unanswered questions
 *    queued again, and it is started again as soon as there is work: at
 *    once if it had run for 10 s, else after 1, 2, 4 ... 60 s. A question
 *    that was in the helper when it died twice gets temperror, cached for
 *    SPF_TTL_CRASH, so that one poisonous record cannot keep killing it.
 *    A helper that holds a question for SPF_HUNG_MS is killed likewise.
 *
 * Reading files (spf_set_replay), packet time outruns the resolver:
 * spf_wait lets each step wait (up to SPF_REPLAY_WAIT_MS of real time)
 * for its verdicts, and a full queue makes spf_submit wait rather than
 * drop, so that a replay counts what a live sensor would. Neither waits
 * when no helper runs or may start meanwhile. Live, nothing ever waits.
 */
#ifndef SPANWATCH_SPF_H
#define SPANWATCH_SPF_H

#include <stdint.h>

#include "units.h"

/* RFC 7208 2.6, and broad: a pass that only a term authorising (nearly)
 * everyone gave (spf_broad.h), which vouches for nothing. */
enum spf_result {
	SPFR_PASS, SPFR_FAIL, SPFR_SOFTFAIL, SPFR_NEUTRAL, SPFR_NONE,
	SPFR_TEMPERROR, SPFR_PERMERROR, SPFR_BROAD, SPFR_N
};

#define SPF_QUEUE_JOBS 256
#define SPF_QUEUE_WAITERS 4096
#define SPF_CACHE_ENTRIES 4096
#define SPF_QPS 100
#define SPF_TTL_MAX 3600
#define SPF_TTL_TEMPERROR 30
#define SPF_TTL_CRASH 3600
#define SPF_HUNG_MS 30000
#define SPF_RESTART_MAX_MS 60000
#define SPF_REPLAY_WAIT_MS 10000

struct spf;

/* Zero means the default for every number. */
struct spf_opts {
	struct sw_addr resolver;	/* family 0: the system's resolver */
	uint16_t port;			/* 53 unless given */
	const char *user;		/* the helper's user when the sensor runs
					 * as root; NULL: "nobody" */
	unsigned qps, jobs, waiters, cache_entries;
};

struct spf_verdict {
	enum spf_result result;
	const char *domain;		/* what was evaluated, lower case; NULL
					 * when the name was no domain */
	uint8_t cached;			/* from the cache or decided locally */
};

/* Receives the verdict of the question submitted with cookie. */
typedef void (*spf_verdict_fn)(void *ctx, uint64_t cookie, const struct spf_verdict *v);

struct spf_stats {
	uint64_t submitted;
	uint64_t cached;		/* answered from the cache */
	uint64_t local;			/* no domain name: none at once */
	uint64_t merged;		/* joined an evaluation already asked for */
	uint64_t evaluations;		/* handed to the helper, retries included */
	uint64_t dropped;		/* the queue was full */
	uint64_t results[SPFR_N];	/* verdicts handed out, by result */
	uint64_t helper_starts, helper_deaths, helper_hung;
	uint64_t poisoned;		/* questions in the helper when it died twice */
	uint64_t bad_msgs;		/* messages from the helper that made no sense */
	uint64_t dns_queries, dns_throttled, dns_timeouts;
	uint64_t cache_evicted;
	uint32_t queue_peak;		/* evaluations queued or in the helper, at most */
};

/* First thing in main(). In a process started as the SPF helper (argv[1]
 * is SPF_HELPER_ARG), runs the helper and returns its exit status.
 * Otherwise returns -1, and from then on spf_open may start this program
 * again as its helper (a program that does not call spf_main, such as a
 * unit test, gets no helper and no SPF). */
int spf_main(int argc, char **argv);

/* Reading files rather than a live interface (see above). Call once,
 * before spf_open. */
void spf_set_replay(int replay);
int spf_replay(void);

/* Starts the service; fn receives the verdicts. The helper starts with
 * the first question (a helper that cannot start is logged and tried
 * again with the next, after the pauses above). Returns NULL after
 * logging why (no memory; a program without spf_main), and the sensor
 * then runs without SPF. */
struct spf *spf_open(const struct spf_opts *o, spf_verdict_fn fn, void *ctx);

enum { SPF_SUBMIT_NOW, SPF_SUBMIT_QUEUED, SPF_SUBMIT_DROPPED };

/* Asks for the verdict on (addr, domain) with helo as the EHLO name
 * (family AF_INET or AF_INET6, addr in network order, 16 bytes). Returns
 * SPF_SUBMIT_NOW with the verdict in *now (its domain valid until the
 * next call), SPF_SUBMIT_QUEUED (fn will get it exactly once, from a
 * later spf_poll or spf_wait, unless spf_close comes first), or
 * SPF_SUBMIT_DROPPED. Never
 * blocks live; in a replay it may wait for room, and then fn can be
 * called for other cookies before it returns. */
int spf_submit(struct spf *s, int family, const uint8_t *addr, const char *domain,
	       const char *helo, uint64_t cookie, struct spf_verdict *now);

/* Non-blocking: hands out the verdicts that came back, watches the
 * helper (restarts it when it died or hung) and hands it queued work. */
void spf_poll(struct spf *s);

/* Polls until no question is waiting or max_ms have passed. */
void spf_wait(struct spf *s, unsigned max_ms);

/* Questions submitted whose verdict is still to come. */
unsigned spf_pending(const struct spf *s);

void spf_get_stats(const struct spf *s, struct spf_stats *st);

/* Stops the helper and frees. Questions still waiting get no verdict. */
void spf_close(struct spf *s);

/* "pass", "fail", "softfail", "neutral", "none", "temperror",
 * "permerror" (RFC 7208 2.6), "broad". */
const char *spf_result_name(enum spf_result r);

#endif
