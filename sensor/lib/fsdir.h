/*
 * fsdir.h — folders the sensor makes for its outputs (the RRD folder and
 * its subscribers/, the ClickHouse spool): mkdir -p with a mode.
 */
#ifndef SPANWATCH_FSDIR_H
#define SPANWATCH_FSDIR_H

#include <sys/types.h>

/* Makes path and every missing parent with mode (an existing folder is
 * fine). Returns 0, or -1 with errno set. */
int fsdir_make(const char *path, mode_t mode);

#endif
