/*
 * netinfo.h — what the sensor's configuration file tells the dashboard
 * about the network (spanwatch-graph -c spanwatch.conf): the sensor's
 * name, the subscribers exempt from SMTP alerts, each subscriber's
 * prefixes from the subscriber map and the labels of the allowlisted
 * torrents. Read once per run with the sensor's own config parser; the map
 * and the allowlist are read line by line here because the sensor's
 * loaders keep neither the prefixes per name nor the labels.
 */
#ifndef SPANWATCH_NETINFO_H
#define SPANWATCH_NETINFO_H

#include <stddef.h>

#include "units.h"

#define NETINFO_TORRENTS_MAX 64		/* labels listed on the page */
#define NETINFO_PREFIXES_MAX 200	/* characters of prefixes per name */

struct netinfo_sub {
	char *name;
	char *prefixes;		/* "100.64.0.42/32 2001:db8::/56" */
};

struct netinfo {
	char name[UNITS_NAME_MAX + 1];	/* [sensor] name as set in the file, or "" */
	char **exempt;		/* [smtp] exempt */
	size_t nexempt;
	struct netinfo_sub *subs;	/* sorted by name */
	size_t nsubs;
	char *torrent[NETINFO_TORRENTS_MAX];	/* allowlist labels */
	size_t ntorrents;	/* listed */
	size_t torrents_total;	/* lines on the list */
	char *allowlist;	/* its path, or NULL */
	char *ch_url;		/* [clickhouse] url, or NULL: tables from RRDs */
	char ch_db[128];	/* [clickhouse] database */
	unsigned ch_timeout;	/* [clickhouse] timeout, seconds */
};

/* Reads the configuration at path and the files it names. Returns 0, or
 * -1 (logged, with file:line where the parser gives one). */
int netinfo_load(struct netinfo *ni, const char *path);

void netinfo_free(struct netinfo *ni);

/* 1 if name is in [smtp] exempt. ni may be NULL. */
int netinfo_exempt(const struct netinfo *ni, const char *name);

/* The prefixes of name, or "" (ni may be NULL). */
const char *netinfo_prefixes(const struct netinfo *ni, const char *name);

#endif
