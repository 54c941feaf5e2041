/*
 * pages.h — the dashboard's HTML: OUT_DIR/index.html (one section per
 * sensor directory: overview graphs, alerts, top-subscriber tables, the
 * five-scale view with the Hurst estimate and its variance-time plot)
 * and OUT_DIR/sub/NAME.html for each subscriber in a table.
 */
#ifndef SPANWATCH_PAGES_H
#define SPANWATCH_PAGES_H

#include <stddef.h>

#include "alertlog.h"
#include "netinfo.h"
#include "panels.h"
#include "rank.h"
#include "render.h"
#include "section.h"

/* A subscriber's graphs in one section: jobs [first, last). */
struct subpage {
	char name[RANK_NAME_MAX + 1];
	unsigned sec;
	size_t first, last;
};

/* Where a section's graphs are among the jobs. */
struct section_jobs {
	size_t overview[2];
	size_t scales[2];
	int scale_ok[PANELS_NSCALES];	/* drawn; else no data there */
};

struct pages_in {
	const char *top;			/* OUT_DIR */
	const struct section *secs;
	const struct section_jobs *sjobs;	/* one per section */
	size_t nsecs;
	const struct subpage *subs;		/* sorted by name, section */
	size_t nsubs;
	const struct jobs *jobs;
	const struct alertlog *alerts;		/* NULL: no file */
	const char *alerts_path;
	size_t top_n;
	unsigned workers;
	double gather_s, render_s;
	size_t failed;				/* images not drawn */
	const struct netinfo *ni;		/* NULL: no -c */
	const char *conf;			/* -c, for the hints */
	const char *const *cfg_dirs;		/* -o as given */
	const char *alerts_arg;			/* --alerts as given */
};

/* Write OUT_DIR/index.html, or every OUT_DIR/sub/NAME.html. Return 0, or
 * -1 (logged) if a page could not be written. */
int pages_index(const struct pages_in *in);
int pages_subscribers(const struct pages_in *in);

#endif
