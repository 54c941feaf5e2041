/*
 * daemon.c — detach, pidfile, privilege drop. The capture socket is
 * opened as root first; then nothing the sensor does needs root, and a
 * bug in a dissector fed by hostile packets should find no privilege to
 * take.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/*
 * -D returns only once the daemon is ready (SPEC): the parent waits on a
 * pipe that is the daemon's stderr until then. Everything the daemon says
 * before it is ready reaches the operator's terminal; then a NUL byte and
 * the status byte end it: 0 ready, else the daemon's exit status. End of
 * file without them means it died (a signal, _exit elsewhere).
 */
static int ready_fd = -1;

/* The parent's side: copy the daemon's words to our stderr, exit with its
 * status. Never returns. */
static void
wait_ready(int fd)
{
	char buf[512];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		char *nul = memchr(buf, '\0', (size_t)n);
		size_t text = nul ? (size_t)(nul - buf) : (size_t)n;

		if (write(STDERR_FILENO, buf, text) < 0)
			break;
		if (nul) {
			unsigned char st;

			if (nul + 1 < buf + n)
				st = (unsigned char)nul[1];
			else if (read(fd, &st, 1) != 1)
				break;
			_exit(st);
		}
	}
	fprintf(stderr, "spanwatch: the detached sensor ended before it was ready "
		"(see syslog)\n");
	_exit(1);
}

int
daemon_detach(void)
{
	int p[2], fd;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		log_err("pipe: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		/* Reap the middle process; the daemon reports on the pipe. */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		wait_ready(p[0]);
	}
	close(p[0]);
	if (setsid() < 0) {
		log_err("setsid: %s", strerror(errno));
		return -1;
	}
	/* A second fork: the daemon is not a session leader, so it can never
	 * acquire a controlling terminal again. */
	if ((pid = fork()) < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
	if (chdir("/") < 0)
		log_warn("chdir /: %s", strerror(errno));
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	/* stderr is the pipe until daemon_ready. */
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	ready_fd = STDERR_FILENO;
	log_tee(1);
	return 0;
}

void
daemon_ready(int status)
{
	unsigned char msg[2] = { 0, (unsigned char)status };
	int fd;

	if (ready_fd < 0)
		return;
	log_tee(0);
	fflush(stderr);
	if (write(ready_fd, msg, sizeof msg) < 0) {
		/* The parent is gone: nobody to tell. */
	}
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	ready_fd = -1;
}

int
daemon_detached(void)
{
	return ready_fd >= 0;
}

/* The pid in a lock file another sensor holds, or 0 if unreadable. */
static long
holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

int
daemon_lock(const char *path, const char *what)
{
	int fd;
	long pid;

	/* O_NOFOLLOW: a symlink planted where the pidfile goes must not
	 * make root truncate the file it names. */
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("%s: %s", path, errno == ELOOP ? "is a symbolic link; refusing it" :
			strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK) {
			pid = holder_pid(fd);
			if (pid > 0)
				log_err("%s: another spanwatch (pid %ld) is running on this %s",
					path, pid, what);
			else
				log_err("%s: another spanwatch is running on this %s", path, what);
		} else {
			log_err("%s: lock: %s", path, strerror(e));
		}
		close(fd);
		return -1;
	}
	return fd;
}

int
daemon_lock_pid(int fd, const char *path)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

void
daemon_unlock(int fd, const char *path)
{
	if (fd < 0)
		return;
	/* Removed while still locked, so that no second sensor takes a file
	 * that is about to vanish. A folder the unprivileged user may not
	 * write keeps the file: then at least it names no live process. */
	if (unlink(path) < 0 && errno != ENOENT) {
		if (ftruncate(fd, 0) < 0)
			log_warn("%s: %s", path, strerror(errno));
		log_warn("%s: not removed: %s", path, strerror(errno));
	}
	close(fd);
}

static int
last_cap(void)
{
	FILE *fp = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = CAP_LAST_CAP;

	if (fp) {
		if (fscanf(fp, "%d", &n) != 1)
			n = CAP_LAST_CAP;
		fclose(fp);
	}
	return n;
}

int
daemon_drop_privileges(const char *user)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_err("user %s: %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0) {
		log_err("user %s: is root; name an unprivileged user", user);
		return -1;
	}
	/* Empty the bounding set while we still hold CAP_SETPCAP, so that
	 * nothing exec'd later could get a capability back. */
	for (int cap = 0; cap <= last_cap(); cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			log_err("dropping capability %d: %s", cap, strerror(errno));
			return -1;
		}
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0) {
		log_err("switching to user %s: %s", user, strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_err("no_new_privs: %s", strerror(errno));
		return -1;
	}
	/* Trust, but verify: root must be gone for good. */
	if (setuid(0) == 0 || seteuid(0) == 0) {
		log_err("switching to user %s: root could be regained", user);
		return -1;
	}
	log_info("running as %s (uid %ld, gid %ld)", user, (long)uid, (long)gid);
	return 0;
}
