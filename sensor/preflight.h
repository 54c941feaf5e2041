/*
 * preflight.h — what a start would check and could fail on, checked
 * before anything is opened: the BPF filter compiles, the user to drop to
 * exists, and every file and folder the sensor writes is writable by that
 * user. `-n` and a real start call the same function, so that `-n` never
 * says "configuration OK" to a configuration that cannot start (SPEC).
 */
#ifndef SPANWATCH_PREFLIGHT_H
#define SPANWATCH_PREFLIGHT_H

#include "config.h"

/* What the sensor writes besides what cfg names: the flow log is a
 * command-line option only. */
struct preflight_extra {
	const char *flow_log;		/* NULL or "-": none to check */
	int check_only;			/* -n: what only a start as root
					 * could check is a warning */
};

/* Logs every problem as "where: message" (where: config file:line, the
 * option, or "[section] key"). The writability checks run as
 * [sensor] user when one is set and we are root (in a child process that
 * drops to it), else as ourselves. Returns 0, or -1 when anything would
 * stop a start. */
int preflight_check(const struct sw_config *cfg, const struct preflight_extra *x);

#endif
