/*
 * spf_helper.h — the SPF helper process and the messages it exchanges
 * with the sensor (spf.c) over a SOCK_SEQPACKET socket pair: one message
 * per datagram, fixed layouts, each side checking type and size of what
 * it reads. The helper evaluates RFC 7208 check_host() with libspf2 for
 * (client address, domain, HELO name) and answers with the result and how
 * long it may be cached.
 *
 * Why a process: the inputs (MAIL FROM and EHLO names from packets, SPF
 * records and DNS answers from whoever runs the sender's domain) are
 * hostile, libspf2 has had memory-safety bugs in exactly that code
 * (CVE-2021-20314, CVE-2023-42118), aborts on some internal errors, and
 * DNS can block for seconds. In a process of its own, unprivileged, a
 * crash or a hang costs verdicts, never the capture; the sensor restarts
 * it (spf.c). It is the sensor's own program, re-executed (spf_main), so
 * it can be started again after the sensor has dropped root and started
 * threads, which a plain fork could not safely do.
 *
 * Inside: SPF_HELPER_THREADS workers, each with its own libspf2 server
 * and DNS layer (spf_dns.h), take evaluations from a small queue the main
 * thread fills from the socket. Started as root, the helper first drops
 * to the configured user (daemon_drop_privileges). It ignores terminal and
 * termination signals and exits when the sensor's end of the socket
 * closes (or, as a backstop, when the sensor dies: PR_SET_PDEATHSIG).
 */
#ifndef SPANWATCH_SPF_HELPER_H
#define SPANWATCH_SPF_HELPER_H

#include <stdint.h>

#include "spf_dns.h"

/* argv[1] of a helper, and the descriptor its socket is on. */
#define SPF_HELPER_ARG "--spf-helper"
#define SPF_HELPER_FD 3
/* Evaluations at once, and handed over at once (the sensor never has
 * more than SPF_HELPER_INFLIGHT sent and unanswered). */
#define SPF_HELPER_THREADS 4
#define SPF_HELPER_INFLIGHT 8
/* DNS time one evaluation may use; past it, its lookups fail as
 * temporary errors (RFC 7208 4.6.4 leaves the limit to the verifier). */
#define SPF_HELPER_BUDGET_MS 5000
#define SPF_HELPER_USER_MAX 63

enum spf_msg_type {
	SPF_MSG_CONFIG = 0x53504601,	/* sensor -> helper, once, first */
	SPF_MSG_EVAL,			/* sensor -> helper */
	SPF_MSG_VERDICT,		/* helper -> sensor */
	SPF_MSG_NOTE,			/* helper -> sensor: a problem, to log */
};

struct spf_msg_config {
	uint32_t type;
	uint32_t qps;			/* DNS queries per second, all workers */
	uint32_t budget_ms;
	uint16_t port;
	uint8_t family;			/* 0: the system's resolver; 4; 6 */
	uint8_t pad;
	uint8_t addr[16];
	char user[SPF_HELPER_USER_MAX + 1];	/* root drops to it; "" keeps */
};

struct spf_msg_eval {
	uint32_t type;
	uint32_t id;			/* echoed in the verdict */
	uint8_t family;			/* 4 or 6 */
	uint8_t pad[3];
	uint8_t addr[16];
	char domain[SPF_NAME_MAX + 1];	/* checked, lower case */
	char helo[SPF_NAME_MAX + 1];	/* as sent; the helper checks it */
};

struct spf_msg_verdict {
	uint32_t type;
	uint32_t id;
	uint32_t result;		/* enum spf_result */
	uint32_t ttl;			/* seconds it may be cached; 0: not */
	uint64_t queries, throttled, timeouts;	/* the helper's totals so far */
};

struct spf_msg_note {
	uint32_t type;
	char text[160];
};

/* The helper's life, from spf_main: fd is its socket, parent the pid of
 * the sensor that started it. Returns the exit status. */
int spf_helper_run(int fd, long parent);

#endif
