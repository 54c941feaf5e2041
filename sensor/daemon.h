/*
 * daemon.h — the process hygiene of a long-running sensor (after OpenBSD's
 * pflogd): detach, a pidfile, and dropping root once the capture is open.
 */
#ifndef SPANWATCH_DAEMON_H
#define SPANWATCH_DAEMON_H

/* Detaches from the terminal (fork, setsid, fork, stdio to /dev/null).
 * Returns 0 in the daemon, -1 (logged) when it could not; the parent
 * exits 0 inside. Call before any thread is started. */
int daemon_detach(void);

/* Writes our pid to path (created 0644, replaced if it exists). Returns
 * 0, or -1 (logged). */
int daemon_write_pidfile(const char *path);

/* Drops root for good: supplementary groups cleared, gid and uid set to
 * user's (real, effective and saved), every capability removed from the
 * bounding set, no_new_privs set. Returns 0, or -1 (logged): the caller
 * must not go on running as root when asked not to. */
int daemon_drop_privileges(const char *user);

#endif
