/*
 * rrdcc.h — a small client of rrdcached's text protocol (rrdcached(1)):
 * one connection over a unix socket or TCP, one command at a time, its
 * reply read back ("N message", then N lines for N > 0).
 *
 * Our own rather than librrd's rrd_client: MSG_NOSIGNAL, "daemon refused"
 * told from "daemon gone", and every wait bounded. A command gets
 * RRDCC_TIMEOUT_S for its reply; once rrdcc_limit has been called (the
 * sensor stops), a wait also ends when the daemon has answered nothing
 * for the given grace, and rrdcc_limit wakes a wait already in progress.
 * So a daemon that stalls, or answers garbage, cannot hold the sensor.
 *
 * Everything but rrdcc_limit is for one thread (the RRD writer's).
 */
#ifndef SPANWATCH_RRDC_H
#define SPANWATCH_RRDC_H

#include <stddef.h>

#define RRDCC_TIMEOUT_S 30
#define RRDCC_MAX_LINES 100000	/* more in one reply is not rrdcached */

/* Results of rrdcc_req. */
enum { RRDCC_OK = 0, RRDCC_ERR = -1, RRDCC_DOWN = -2 };

struct rrdcc;

/* Parses an address ("unix:/path", "/path", "host", "host:port",
 * "[v6addr]:port"; port 42217 by default) without connecting. Returns
 * NULL if malformed or out of memory. */
struct rrdcc *rrdcc_new(const char *addr);

void rrdcc_free(struct rrdcc *c);

/* 1 if the daemon is reached over a unix socket (it shares our files). */
int rrdcc_local(const struct rrdcc *c);

/* (Re)connects. Returns 0, or -1 with the reason in rrdcc_msg. */
int rrdcc_connect(struct rrdcc *c);

/* Uses fd, a connected stream socket, as the connection (tests). */
void rrdcc_attach(struct rrdcc *c, int fd);

void rrdcc_close(struct rrdcc *c);

/* Sends cmd (len bytes, ending in a newline) and reads the reply; each
 * line of a positive reply goes to cb (NUL-terminated, without its
 * newline; valid during the call). Returns RRDCC_OK, RRDCC_ERR (the daemon
 * said no: its message in rrdcc_msg) or RRDCC_DOWN (connection lost, timed
 * out or garbage: closed, the reason in rrdcc_msg). */
int rrdcc_req(struct rrdcc *c, const char *cmd, size_t len,
    void (*cb)(void *, char *), void *arg);

/* Writes "VERB path" into buf, escaping what the protocol splits on.
 * Returns its length, 0 if it does not fit in size - 200 (room left for
 * the arguments) or the path holds a control character. */
size_t rrdcc_cmd(char *buf, size_t size, const char *verb, const char *path);

/* The last error: the daemon's message (control characters replaced) or
 * ours. */
const char *rrdcc_msg(const struct rrdcc *c);

/* From now on a wait ends once the daemon has answered nothing for grace
 * seconds; wakes a wait in progress. Any thread. */
void rrdcc_limit(struct rrdcc *c, unsigned grace_s);

#endif
