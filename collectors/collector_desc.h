/*
 * collector_desc.h — what a concern declares about itself, as data: the
 * RRD data sources it writes, its configuration keys and its dashboard
 * panels. The RRD schema (rrdschema.c), the configuration table
 * (config.c) and spanwatch-graph read these descriptors; none of them names
 * a concern. A collector's descriptor lives in a file of its own (NAME_desc.c
 * beside the collector) so that spanwatch-graph links the tables without
 * the packet code.
 *
 * The list of concerns is registry.h's: one line per concern.
 */
#ifndef SPANWATCH_COLLECTOR_DESC_H
#define SPANWATCH_COLLECTOR_DESC_H

#include <stddef.h>

#include "config_key.h"
#include "registry.h"
#include "rrdschema.h"

/* A data source's place in its file: the built-in ones have fixed places
 * (rrdschema.h's enums, which name the file order that existing files
 * were created with); COLLECTOR_DS_NEXT puts one after them, in the
 * order of the registry. A collector finds where its data sources landed
 * with rrdw_schema_find. */
#define COLLECTOR_DS_NEXT (-1)

struct collector_ds {
	enum rrdw_kind kind;	/* which file: sensor.rrd or NAME.rrd */
	int slot;		/* rrdschema.h's enum, or COLLECTOR_DS_NEXT */
	const char *name;	/* rrdtool's: [a-zA-Z0-9_], at most 19 */
	enum rrdw_dst type;
};

/* One line of a panel: a data source of the panel's file, drawn as an
 * area (stacked on the previous one if stack) or a line, scaled (8: bytes
 * to bits; 60: per second to per minute), with its legend and the unit of
 * the total printed under the graph. */
struct collector_line {
	const char *ds;
	int area;		/* 1: AREA, 0: LINE1 */
	int stack;
	const char *color;	/* "#rrggbb" */
	unsigned scale;		/* multiplies the stored rate; 0 means 1 */
	const char *legend;	/* without ':' */
	const char *unit;	/* of the total: "B", "sessions"; NULL: none */
};

#define COLLECTOR_PANEL_LINES 8

/* One step of a panel written as rrdtool arguments (the built-in panels,
 * whose CDEFs the line form above cannot say): an argument template, or
 * the figures of a drawn value under the graph.
 *
 * In arg, "{rrd}" stands for the panel's file (sensor.rrd or the
 * subscriber's, escaped for a DEF) and "{inout}" for the subscribers'
 * bytes in/out summed (GAUGE in, out; spanwatch-graph writes it); a step
 * with need COLLECTOR_NEED_INOUT is left out when there is no such sum.
 * arg NULL: the figures of vname (average, maximum; then the total of
 * tot, a rate per second, in totunit, if tot is not NULL), with SI
 * prefixes if si ("%%" as unit prints a percent sign). */
struct collector_arg {
	const char *arg;
	unsigned need;
	const char *vname, *unit, *tot, *totunit;
	int si;
};

#define COLLECTOR_NEED_INOUT 1u

#define COLLECTOR_ARG(s) { .arg = (s) }
#define COLLECTOR_ARG_INOUT(s) { .arg = (s), .need = COLLECTOR_NEED_INOUT }
#define COLLECTOR_STATS(v, u, t, tu, si_) \
	{ .vname = (v), .unit = (u), .tot = (t), .totunit = (tu), .si = (si_) }

/* panel flags: after its arguments, the sensor's `alerts` data source as
 * ticks when there is no alerts file (marks from the file are drawn on
 * every panel). */
#define COLLECTOR_PANEL_TICKS 1u

/* A dashboard panel of the sensor overview (kind RRDW_SENSOR) or of a
 * subscriber's page (RRDW_SUBSCRIBER), drawn by graphs/panels.c: either
 * nlines lines, or nargs argument steps (args not NULL). Panels of a kind
 * are drawn by increasing order (0: after those that give one), equal
 * ones in registry order. A panel that reads another concern's data
 * sources (the share of BitTorrent in all bytes) lives with the concern
 * that asks the question. */
struct collector_panel {
	enum rrdw_kind kind;
	const char *what;	/* file name part: [a-z0-9_] */
	const char *title;	/* "SMTP recipients" */
	const char *vlabel;	/* vertical axis: "recipients/min" */
	size_t nlines;
	struct collector_line line[COLLECTOR_PANEL_LINES];
	unsigned order;
	const char *alt;	/* the image's text on the sensor page; NULL:
				 * the title */
	const struct collector_arg *args;
	size_t nargs;
	unsigned flags;		/* COLLECTOR_PANEL_* */
};

/* A panel of the argument form, args a static array. */
#define COLLECTOR_PANEL_ARGS(kind_, what_, title_, alt_, vlabel_, order_, \
    a, flags_) \
	{ .kind = (kind_), .what = (what_), .title = (title_), \
	  .alt = (alt_), .vlabel = (vlabel_), .order = (order_), .args = (a), \
	  .nargs = sizeof(a) / sizeof((a)[0]), .flags = (flags_) }

struct collector_desc {
	const char *name;	/* as struct collector's */
	/* Where the concern's configuration section comes among the others
	 * in messages that list them (lower first; the sensor's own
	 * sections [capture] [subscribers] [rrd] come before all, [alerts]
	 * [sensor] after). */
	unsigned rank;
	const struct collector_ds *ds;
	size_t nds;
	const struct config_key *keys;
	size_t nkeys;
	const struct collector_panel *panels;
	size_t npanels;
	/* Bytes the collector keeps for each flow of the flow table, in
	 * an array indexed by flow id that collector_flow_state
	 * (flowstate.c) allocates; 0: none. The sensor's memory per flow is
	 * the flow table's and these (logged at start with -v). */
	size_t flow_state;
};

/* Every concern's descriptor, in registry order, NULL-terminated
 * (registry_desc.c). */
extern const struct collector_desc *const collector_descs[];

/* Each one by name: NAME_desc for every NAME of registry.h. */
#define COLLECTOR_DESC_DECLARE(n) extern const struct collector_desc n##_desc;
COLLECTORS(COLLECTOR_DESC_DECLARE)

#define COLLECTOR_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
