/*
 * health_desc.c — what the health collector (health.c) declares: the
 * sensor's own data sources in sensor.rrd (packets, bytes, drops, flows,
 * unclassified bytes, alerts) and the sensor overview's traffic, packets,
 * capture drops and flows panels. No keys.
 */
#include "collector_desc.h"

static const struct collector_ds ds[] = {
	{ RRDW_SENSOR, RRDW_S_PACKETS, "packets", RRDW_DERIVE },
	{ RRDW_SENSOR, RRDW_S_BYTES, "bytes", RRDW_DERIVE },
	{ RRDW_SENSOR, RRDW_S_DROPS, "drops", RRDW_DERIVE },
	{ RRDW_SENSOR, RRDW_S_FLOWS_NEW, "flows_new", RRDW_DERIVE },
	{ RRDW_SENSOR, RRDW_S_FLOWS_ACTIVE, "flows_active", RRDW_GAUGE },
	{ RRDW_SENSOR, RRDW_S_UNKNOWN_BYTES, "unknown_bytes", RRDW_DERIVE },
	{ RRDW_SENSOR, RRDW_S_ALERTS, "alerts", RRDW_DERIVE },
};

/* The sensor's traffic panel reads the subscribers' in/out sum too (the
 * volume collector's bytes, summed by spanwatch-graph): the question is
 * the sensor's, what it saw against what reached subscriber files. */
static const struct collector_arg traffic[] = {
	COLLECTOR_ARG("DEF:b={rrd}:bytes:AVERAGE"),
	COLLECTOR_ARG("CDEF:bits=b,8,*"),
	COLLECTOR_ARG_INOUT("DEF:i={inout}:in:AVERAGE"),
	COLLECTOR_ARG_INOUT("DEF:o={inout}:out:AVERAGE"),
	COLLECTOR_ARG_INOUT("CDEF:ib=i,8,*"),
	COLLECTOR_ARG_INOUT("CDEF:ob=o,8,*"),
	COLLECTOR_ARG_INOUT("AREA:ib#74c476:to subscribers (sum of their files)"),
	COLLECTOR_ARG_INOUT("AREA:ob#6baed6:from subscribers\\n:STACK"),
	COLLECTOR_ARG("LINE1:bits#000000:all bytes seen by the sensor"),
	COLLECTOR_STATS("bits", "bit/s", "b", "B", 1),
};

static const struct collector_arg packets[] = {
	COLLECTOR_ARG("DEF:p={rrd}:packets:AVERAGE"),
	COLLECTOR_ARG("AREA:p#9ecae1"),
	COLLECTOR_ARG("LINE1:p#3182bd:packets/s"),
	COLLECTOR_STATS("p", "", "p", "packets", 1),
};

static const struct collector_arg drops[] = {
	COLLECTOR_ARG("DEF:d={rrd}:drops:AVERAGE"),
	COLLECTOR_ARG("AREA:d#d62728:dropped packets/s"),
	COLLECTOR_STATS("d", "", "d", "packets", 1),
};

/* New flows per minute share the axis with the active count: both are
 * counts of flows, and per minute keeps them comparable. */
static const struct collector_arg flows[] = {
	COLLECTOR_ARG("DEF:fa={rrd}:flows_active:AVERAGE"),
	COLLECTOR_ARG("DEF:fn={rrd}:flows_new:AVERAGE"),
	COLLECTOR_ARG("CDEF:fnm=fn,60,*"),
	COLLECTOR_ARG("AREA:fa#c7e9c0:active flows"),
	COLLECTOR_STATS("fa", "", NULL, NULL, 1),
	COLLECTOR_ARG("LINE1:fnm#31a354:new flows per minute"),
	COLLECTOR_STATS("fnm", "", "fn", "flows", 1),
};

static const struct collector_panel panels[] = {
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "traffic", "traffic",
	    "traffic, bits per second", "bit/s", 10, traffic,
	    COLLECTOR_PANEL_TICKS),
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "packets", "packets",
	    "packets per second", "packets/s", 20, packets,
	    COLLECTOR_PANEL_TICKS),
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "drops", "capture drops",
	    "packets dropped per second", "drops/s", 30, drops, 0),
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "flows", "flows",
	    "active flows and new flows", "flows", 40, flows, 0),
};

const struct collector_desc health_desc = {
	.name = "health",
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.panels = panels,
	.npanels = COLLECTOR_N(panels),
};
