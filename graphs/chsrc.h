/*
 * chsrc.h — the dashboard's top tables from ClickHouse (issue 19): one
 * query per sensor section sums every subscriber's subscriber_steps rows
 * over the tables' window, so subscribers whose RRD file is gone (or was
 * never written on this host) are ranked too. The reply is parsed as it
 * arrives, one bounded line at a time: memory is O(top), whatever the
 * number of subscribers.
 */
#ifndef SPANWATCH_CHSRC_H
#define SPANWATCH_CHSRC_H

#include <stddef.h>
#include <time.h>

#include "subscan.h"

struct chsrc_cfg {
	const char *url;	/* [clickhouse] url */
	const char *db;		/* [clickhouse] database */
	const char *sensor;	/* the rows' sensor column */
	const char *only;	/* one subscriber (NULL: all) */
	time_t start, end;	/* steps ending in (start, end] */
	unsigned timeout;	/* seconds for the whole query */
};

/* Offers every subscriber ClickHouse knows in the window to ranks[]
 * (initialised by the caller), with the amounts indexed by enum
 * rrdw_sub_ds, as subscan does; *subs is the number of subscribers read.
 * Returns 0, or -1 with why (the server unreachable, an HTTP error, a bad
 * reply line and its number); then ranks[] may hold part of the rows. */
int chsrc_rank(const struct chsrc_cfg *c, struct rank ranks[SUBSCAN_NRANKS],
    size_t *subs, char *why, size_t wlen);

#endif
