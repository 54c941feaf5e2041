/*
 * subscan.h — one pass over the files RRD_DIR/subscribers/NAME.rrd: each
 * file's amounts over the last day (one rrd_fetch_r each, at the step
 * resolution), ranked into the top-N tables the dashboard shows, and the
 * sum of every subscriber's bytes in and out per step (the sensor file
 * only has the total). Memory is O(N + steps), whatever the number of
 * files; time is one fetch of a day per file.
 */
#ifndef SPANWATCH_SUBSCAN_H
#define SPANWATCH_SUBSCAN_H

#include <stddef.h>
#include <time.h>

#include "rank.h"

/* The tables. A row's v[] holds the amounts (rate x step, summed) of every
 * subscriber data source, indexed by enum rrdw_sub_ds. */
enum subscan_rank {
	SUBSCAN_BT,	/* key: bt_in + bt_out, non-allowlisted BitTorrent bytes */
	SUBSCAN_SMTP,	/* key: smtp_direct sessions */
	SUBSCAN_NRANKS
};

struct subscan_cfg {
	const char *dir;	/* RRD_DIR */
	time_t start, end;	/* steps ending in (start, end] */
	unsigned long step;	/* the sensor's step: the rows of in[]/out[] */
	size_t top;		/* rows per table */
	/* Called for every file read, with its amounts (enum rrdw_sub_ds),
	 * or NULL: the subscriber index is written from here, so it costs
	 * no second pass and no memory per file. */
	void (*each)(void *arg, const char *name, const double *sum);
	void *arg;
	const char *only;	/* read only NAME.rrd (NULL: every file) */
};

struct subscan {
	struct rank ranks[SUBSCAN_NRANKS];
	size_t files;		/* subscriber files read */
	size_t unreadable;	/* files librrd refused */
	size_t foreign;		/* entries that are not NAME.rrd */
	size_t active;		/* files with any byte in the range */
	size_t rows;		/* steps in the range */
	double *in, *out;	/* bytes/s per step summed over subscribers;
				 * NAN where no file knew the step */
	size_t summed;		/* files added into in[]/out[] */
	double seconds;		/* wall time of the pass */
	int ch;			/* where ranks[] come from: 0 the files, 1
				 * ClickHouse (chsrc.h), -1 the files because
				 * ClickHouse failed (logged) */
	size_t ch_subs;		/* subscribers ClickHouse knew */
};

/* Reads every subscriber file of cfg->dir. A missing subscribers folder
 * is an empty scan, not an error. Returns 0, or -1 (logged) when the
 * folder cannot be listed or memory runs out. */
int subscan_run(const struct subscan_cfg *cfg, struct subscan *out);

void subscan_free(struct subscan *s);

#endif
