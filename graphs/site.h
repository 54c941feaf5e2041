/*
 * site.h — the whole dashboard run: read every sensor directory, load the
 * alerts, describe the graphs, draw them, write the pages.
 */
#ifndef SPANWATCH_SITE_H
#define SPANWATCH_SITE_H

#include <stddef.h>
#include <time.h>

#define SITE_MAX_DIRS 16
#define SITE_MAX_TOP 200
#define SITE_ALERTS_KEPT 4096	/* latest alerts kept from the file */

struct site_cfg {
	const char *outdir;
	const char *dirs[SITE_MAX_DIRS];
	size_t ndirs;
	time_t end;		/* 0: each sensor.rrd's last update */
	const char *alerts;	/* alerts JSON file, or NULL */
	size_t top;		/* rows per table; each gets a page */
	unsigned workers;	/* drawing processes */
	int quiet;
	const char *names[SITE_MAX_DIRS];	/* -n, in -o order; NULL: none */
	size_t nnames;
	const char *conf;	/* the sensor's spanwatch.conf, or NULL */
	const char *only;	/* --subscriber NAME: draw only its page */
};

/* Builds OUT_DIR/index.html, img/, sub/ and subindex.js (every
 * subscriber file, for the search on the index); with cfg->only, only
 * OUT_DIR/sub/NAME.html and its images. The directories must have passed
 * section_check_dir. Returns 0, or -1 (logged) on a runtime failure,
 * including images that could not be drawn (the pages are written
 * anyway, with what there is). */
int site_build(const struct site_cfg *cfg);

#endif
