/*
 * log.c — owns where diagnostics go (stderr or syslog) and how loud.
 * Messages are printf-checked; callers log an error once, where it is
 * understood.
 */
#include "log.h"

#include <stdio.h>
#include <syslog.h>

static struct {
	const char *ident;
	int verbosity;
	int use_syslog;
	int plain;
	int tee;		/* syslog and stderr: a -D not yet ready */
} lg = { "spanwatch", 0, 0, 0, 0 };

void
log_init(const char *ident, int verbosity, int use_syslog)
{
	lg.ident = ident;
	lg.verbosity = verbosity;
	lg.use_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_tee(int tee)
{
	lg.tee = tee;
}

void
log_plain(int plain)
{
	lg.plain = plain;
}

int
log_verbosity(void)
{
	return lg.verbosity;
}

static void vlog(enum log_level lvl, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
vlog(enum log_level lvl, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	/* Errors and warnings always (SPEC: -q silences the progress line
	 * and the summary, never a warning); -v adds info, -vv debug. */
	if (lvl > LOG_LVL_WARN && (int)lvl > lg.verbosity + 1)
		return;
	if (lg.use_syslog) {
		va_list again;

		va_copy(again, ap);
		vsyslog(prio[lvl], fmt, again);
		va_end(again);
		if (!lg.tee)
			return;
	}
	if (!lg.plain)
		fprintf(stderr, "%s: %s", lg.ident, tag[lvl]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define LOG_FN(name, lvl)                      \
	void name(const char *fmt, ...)        \
	{                                      \
		va_list ap;                    \
		va_start(ap, fmt);             \
		vlog(lvl, fmt, ap);            \
		va_end(ap);                    \
	}

LOG_FN(log_err, LOG_LVL_ERR)
LOG_FN(log_warn, LOG_LVL_WARN)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)
