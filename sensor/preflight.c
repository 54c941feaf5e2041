/*
 * preflight.c — the checks a start makes before it opens anything (see
 * preflight.h). The writability checks are made by a child process that
 * has become the unprivileged user, as the sensor itself will: root can
 * write almost anywhere, so asking as root would say yes to a folder the
 * sensor will be refused.
 */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* One thing the sensor writes, and where the configuration named it. */
struct output {
	const char *path;
	char where[320];
	int dir;		/* a folder the sensor creates files in */
};

static int
check_filter(const struct sw_config *cfg)
{
	char where[320];
	struct bpf_program prog;
	pcap_t *p;
	int rc = 0;

	if (cfg->capture.filter == NULL)
		return 0;
	/* The link type of a live port is not known before it is opened;
	 * Ethernet is what a SPAN port gives, and a filter's syntax and
	 * names do not depend on it. */
	if ((p = pcap_open_dead(DLT_EN10MB, (int)cfg->capture.snaplen)) == NULL) {
		log_err("[capture] filter: cannot compile: out of memory");
		return -1;
	}
	if (pcap_compile(p, &prog, cfg->capture.filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		log_err("%s: [capture] filter '%s': %s",
			config_where(cfg, "capture", "filter", where, sizeof where),
			cfg->capture.filter, pcap_geterr(p));
		rc = -1;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(p);
	return rc;
}

/* An existing file must open for appending; a missing one needs a
 * folder we may create files in. */
static int
check_file(const struct output *o)
{
	struct stat st;
	char *copy, *slash;
	const char *dir;
	int fd, rc = 0;

	/* O_NONBLOCK: a FIFO with no reader must not hang the check. */
	fd = open(o->path, O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
			log_err("%s: %s: not a regular file", o->where, o->path);
			rc = -1;
		}
		close(fd);
		return rc;
	}
	if (errno != ENOENT) {
		log_err("%s: %s: %s", o->where, o->path, strerror(errno));
		return -1;
	}
	if ((copy = strdup(o->path)) == NULL)
		return -1;
	dir = copy;
	slash = strrchr(copy, '/');
	if (slash == copy)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		dir = ".";
	if (access(dir, W_OK | X_OK) < 0) {
		log_err("%s: %s: cannot be created: %s: %s", o->where, o->path, dir,
			strerror(errno));
		rc = -1;
	}
	free(copy);
	return rc;
}

/* A folder that exists must take new files (and so must its subscribers/
 * folder); one that does not must be creatable from its nearest existing
 * ancestor, as the RRD writer's mkdir -p will. */
static int
check_dir(const struct output *o)
{
	char path[4096], sub[4200];
	struct stat st;
	char *slash;

	if (snprintf(path, sizeof path, "%s", o->path) >= (int)sizeof path) {
		log_err("%s: %s: path too long", o->where, o->path);
		return -1;
	}
	while (stat(path, &st) < 0) {
		if (errno != ENOENT || (slash = strrchr(path, '/')) == NULL) {
			if (errno == ENOENT)	/* relative, first component */
				snprintf(path, sizeof path, ".");
			else {
				log_err("%s: %s: %s", o->where, path, strerror(errno));
				return -1;
			}
		} else if (slash == path) {
			path[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("%s: %s: not a folder", o->where, path);
		return -1;
	}
	if (access(path, W_OK | X_OK) < 0) {
		if (strcmp(path, o->path) == 0)
			log_err("%s: %s: not writable: %s", o->where, path, strerror(errno));
		else
			log_err("%s: %s: cannot be created: %s: %s", o->where, o->path,
				path, strerror(errno));
		return -1;
	}
	snprintf(sub, sizeof sub, "%s/subscribers", o->path);
	if (strcmp(path, o->path) == 0 && stat(sub, &st) == 0 &&
	    access(sub, W_OK | X_OK) < 0) {
		log_err("%s: %s: not writable: %s", o->where, sub, strerror(errno));
		return -1;
	}
	return 0;
}

static int
check_outputs(const struct output *out, unsigned n)
{
	int rc = 0;

	for (unsigned i = 0; i < n; i++)
		if ((out[i].dir ? check_dir(&out[i]) : check_file(&out[i])) < 0)
			rc = -1;
	return rc;
}

/* The checks as pw's user, in a child that drops to it as the sensor
 * will (no supplementary groups). Its messages go to our stderr. */
static int
check_outputs_as(const struct passwd *pw, const struct output *out, unsigned n)
{
	int status;
	pid_t pid;

	fflush(NULL);
	if ((pid = fork()) < 0) {
		log_err("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
			log_err("switching to user %s: %s", pw->pw_name, strerror(errno));
			_exit(1);
		}
		_exit(check_outputs(out, n) < 0 ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int
preflight_check(const struct sw_config *cfg, const struct preflight_extra *x)
{
	struct output out[3];
	struct passwd *pw = NULL;
	char where[320];
	unsigned n = 0;
	int rc = 0;

	if (check_filter(cfg) < 0)
		rc = -1;
	if (cfg->sensor.user) {
		config_where(cfg, "sensor", "user", where, sizeof where);
		errno = 0;
		if ((pw = getpwnam(cfg->sensor.user)) == NULL) {
			log_err("%s: [sensor] user '%s': %s", where, cfg->sensor.user,
				errno ? strerror(errno) : "no such user");
			rc = -1;
		} else if (pw->pw_uid == 0) {
			log_err("%s: [sensor] user '%s' is root; name an unprivileged user",
				where, cfg->sensor.user);
			rc = -1;
			pw = NULL;
		} else if (geteuid() != 0 && geteuid() != pw->pw_uid) {
			if (x->check_only)
				log_warn("%s: not root: outputs checked as uid %ld, not as "
					 "user '%s'", where, (long)geteuid(), cfg->sensor.user);
			else {
				log_err("%s: [sensor] user '%s': switching to it needs root",
					where, cfg->sensor.user);
				rc = -1;
			}
			pw = NULL;
		} else if (geteuid() == pw->pw_uid) {
			pw = NULL;	/* already that user */
		}
	}
	/* rrdcached writes the files itself, possibly on another host: its
	 * own refusals are reported by the RRD writer. */
	if (cfg->rrd.dir && !cfg->rrd.rrdcached) {
		out[n] = (struct output){ .path = cfg->rrd.dir, .dir = 1 };
		config_where(cfg, "rrd", "dir", out[n++].where, sizeof out[0].where);
	}
	if (cfg->alerts.json) {
		out[n] = (struct output){ .path = cfg->alerts.json };
		config_where(cfg, "alerts", "json", out[n++].where, sizeof out[0].where);
	}
	if (x->flow_log && strcmp(x->flow_log, "-") != 0) {
		out[n] = (struct output){ .path = x->flow_log };
		snprintf(out[n++].where, sizeof out[0].where, "--flow-log");
	}
	if (pw ? check_outputs_as(pw, out, n) < 0 : check_outputs(out, n) < 0)
		rc = -1;
	return rc;
}
