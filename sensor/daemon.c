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
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int
daemon_detach(void)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0)
		_exit(0);
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
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

int
daemon_write_pidfile(const char *path)
{
	FILE *fp = fopen(path, "w");

	if (!fp) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
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
