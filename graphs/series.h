/*
 * series.h — reading RRD files for the dashboard: a file's step and last
 * update, and one fetch of every data source over a time range at a
 * resolution, through librrd's thread-safe calls (rrd_info_r,
 * rrd_fetch_r), never by parsing rrdtool's output.
 */
#ifndef SPANWATCH_SERIES_H
#define SPANWATCH_SERIES_H

#include <stddef.h>
#include <time.h>

/* One fetch. Row i holds the rates of the step ending at
 * t0 + (i + 1) * step; NAN where rrdtool knows nothing (before the file
 * existed, across an outage). */
struct series {
	time_t t0;
	unsigned long step;
	size_t rows;
	size_t nds;
	char **names;		/* nds data source names */
	double *data;		/* rows * nds, row-major */
};

/* Step and last update of an RRD file. Returns 0, or -1 after setting
 * why (librrd's message, in a buffer of the caller) when the file cannot
 * be read as an RRD. */
int series_info(const char *path, unsigned long *step, time_t *last,
    char *why, size_t whylen);

/* Fetches every data source of path with consolidation cf ("AVERAGE",
 * "MIN", "MAX") for steps ending in (start, end] at resolution res
 * (rrdtool picks the finest archive that covers the range if res is not
 * available). Rows past end are dropped. Returns 0, or -1 with why set. */
int series_fetch(const char *path, const char *cf, time_t start, time_t end,
    unsigned long res, struct series *out, char *why, size_t whylen);

void series_free(struct series *s);

/* Index of the data source called name, or -1. */
int series_ds(const struct series *s, const char *name);

/* Value of data source ds (an index from series_ds; -1 gives NAN) in
 * row i. */
double series_get(const struct series *s, size_t row, int ds);

#endif
