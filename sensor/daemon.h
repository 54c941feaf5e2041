/*
 * daemon.h — the process hygiene of a long-running sensor (after OpenBSD's
 * pflogd): detach, a pidfile, and dropping root once the capture is open.
 */
#ifndef SPANWATCH_DAEMON_H
#define SPANWATCH_DAEMON_H

/* Detaches from the terminal (fork, setsid, fork, stdio to /dev/null).
 * Returns 0 in the daemon, -1 (logged) when it could not. The parent does
 * not return: it waits until the daemon calls daemon_ready, printing what
 * the daemon logs until then, and exits with the daemon's status. Call
 * before any thread is started. */
int daemon_detach(void);

/* Tells the waiting parent of daemon_detach that the daemon is running
 * (status 0) or failed (its exit status), and sends stderr to /dev/null.
 * Does nothing when not detached or called before. */
void daemon_ready(int status);

/* 1 while a detached daemon has not called daemon_ready yet. */
int daemon_detached(void);

/* Takes the lock file at path (created 0644, never through a symlink),
 * flock()ed for as long as the process lives. what names the thing
 * locked in the message when another sensor holds it ("pidfile", "RRD
 * folder"), with that sensor's pid. Returns the descriptor, or -1
 * (logged). */
int daemon_lock(const char *path, const char *what);

/* Writes our pid into the lock file fd. Returns 0, or -1 (logged). */
int daemon_lock_pid(int fd, const char *path);

/* Removes the lock file and closes fd (fd < 0: nothing). */
void daemon_unlock(int fd, const char *path);

/* Drops root for good: supplementary groups cleared, gid and uid set to
 * user's (real, effective and saved), every capability removed from the
 * bounding set, no_new_privs set. Returns 0, or -1 (logged): the caller
 * must not go on running as root when asked not to. */
int daemon_drop_privileges(const char *user);

#endif
