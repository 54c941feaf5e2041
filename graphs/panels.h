/*
 * panels.h — what each dashboard graph shows: the rrdtool graph
 * definitions of the sensor overview, the five-scale ("fractal") view and
 * a subscriber's page, added as render jobs. Graphs are in bits per second
 * (bytes x 8) as operators read links, and in sessions per minute for
 * SMTP. Alerts are drawn as vertical marks coloured by kind: from the
 * alerts JSON file when one is given (a subscriber's page shows only its
 * own), else the sensor's `alerts` data source as ticks.
 */
#ifndef SPANWATCH_PANELS_H
#define SPANWATCH_PANELS_H

#include <time.h>

#include "alertlog.h"
#include "render.h"

#define PANELS_MAX_MARKS 100	/* alert marks per graph: the latest */
#define PANELS_NSCALES 5

struct panel_env {
	const char *top;		/* OUT_DIR */
	const char *sensor_rrd;		/* RRD_DIR/sensor.rrd */
	const char *inout_rrd;		/* subscribers' bytes in/out summed
					 * (GAUGE in, out); NULL: none */
	const char *label;		/* the section, for titles */
	unsigned section;		/* index, for file names */
	time_t start, end;		/* the overview window */
	unsigned long minmax_res;	/* seconds per row of sensor.rrd's
					 * finest MIN/MAX archive; 0: unknown */
	const struct alertlog *alerts;	/* NULL: no alerts file */
	const int *scale_ok;		/* per scale: 1 draw it, 0 no data
					 * there (panels_scale_known); NULL:
					 * all */
};

struct panel_scale {
	const char *name;	/* "hour", ... */
	time_t span;
};

extern const struct panel_scale panels_scales[PANELS_NSCALES];

/* 1 if scale k of sensor_rrd, ending at end, has a known value in the
 * archive rrdtool graph would read for it (the same resolution), else 0:
 * on short data the hourly and daily archives hold no row yet, and an
 * empty panel with "avg nan" tells an operator nothing. */
int panels_scale_known(const char *sensor_rrd, size_t k, time_t end);

/* Each adds its jobs to js and returns 0, or -1 when memory ran out. */
int panels_sensor(struct jobs *js, const struct panel_env *e);
int panels_fractal(struct jobs *js, const struct panel_env *e);
int panels_subscriber(struct jobs *js, const struct panel_env *e,
    const char *name, const char *sub_rrd);

#endif
