/*
 * section.h — one sensor's RRD directory as the dashboard sees it: its
 * step and time windows, the Hurst estimates of its traffic, the ranked
 * subscribers of the last day and the per-step sum of their bytes in and
 * out (written to a small RRD of its own in a temporary folder, so that
 * rrdtool graph can stack them under the sensor's total).
 */
#ifndef SPANWATCH_SECTION_H
#define SPANWATCH_SECTION_H

#include <stddef.h>
#include <time.h>

#include "hurst.h"
#include "units.h"
#include "subscan.h"

#define SECTION_DAY 86400
#define SECTION_MIN_SPAN 3600	/* shortest overview window */

struct section {
	unsigned idx;
	char dir[4096];		/* as given, without trailing '/' */
	char label[UNITS_NAME_MAX + 1];	/* the sensor's name, for titles: -n, the
				 * config's [sensor] name, the alerts' "sensor"
				 * field, or the folder's last component */
	char sensor_rrd[4200];
	unsigned long step;
	time_t last;		/* sensor.rrd's last update */
	time_t end;		/* right edge of every graph */
	time_t day_start;	/* end - 1 day: tables, sums, Hurst */
	time_t start;		/* left edge of the overview: the first step
				 * of the last day the sensor knows, and at
				 * least SECTION_MIN_SPAN before end */
	int have_av, have_rs;
	struct hurst_est av, rs;	/* aggregated variance, R/S */
	size_t h_points;	/* longest gapless run of steps */
	time_t h_from, h_to;	/* its first step's start, last step's end */
	struct subscan scan;
	char inout_rrd[4200];	/* "" if no subscriber sums */
	double seconds;		/* time spent reading */
};

/* Is dir a spanwatch RRD directory (it has sensor.rrd)? Returns 0, or -1
 * after logging what is wrong, in words an operator can act on. */
int section_check_dir(const char *dir);

/* What a run asks of one directory. */
struct section_req {
	const char *dir;
	unsigned idx;
	time_t end;		/* right edge; 0: sensor.rrd's last update */
	size_t top;		/* rows per table */
	const char *tmpdir;	/* where the in/out sums go */
	const char *name;	/* the sensor's name; NULL or "": the folder's */
	const char *only;	/* one subscriber only (NULL: all) */
	void (*each)(void *arg, const char *name, const double *sum);
	void *arg;		/* see subscan_cfg */
	const char *ch_url;	/* tables from ClickHouse (NULL: the files) */
	const char *ch_db;
	unsigned ch_timeout;	/* seconds */
};

/* Reads req->dir. Returns 0, or -1 (logged) if sensor.rrd cannot be read
 * or memory runs out. */
int section_gather(struct section *s, const struct section_req *req);

void section_free(struct section *s);

/* 1 if the tables' row name has a file s->dir/subscribers/NAME.rrd (rows
 * from ClickHouse may not: no page is drawn for them). */
int section_has_file(const struct section *s, const char *name);

#endif
