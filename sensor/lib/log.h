/*
 * log.h — the sensor's one way to report: stderr in the foreground,
 * syslog(3) once detached. Nothing here is for alerts (see alert.h), and
 * nothing is logged per packet at normal verbosity: count instead.
 */
#ifndef SPANWATCH_LOG_H
#define SPANWATCH_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* verbosity: 0 = errors and warnings, 1 = info (-v), 2 = debug (-vv);
 * -1 (-q) is 0 here: errors and warnings are never silenced (main.c
 * leaves out the progress line and the summary). */
void log_init(const char *ident, int verbosity, int use_syslog);
int log_verbosity(void);
/* plain = 1: messages on stderr without "spanwatch: error: ", so that -n
 * prints each problem as "file:line: message", as compilers do. */
void log_plain(int plain);
/* tee = 1: with syslog, messages go to stderr as well (a detached sensor
 * whose stderr is still the starting terminal's, until it is ready). */
void log_tee(int tee);
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
