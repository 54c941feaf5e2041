/*
 * volume_desc.c — what the volume collector (volume.c) declares: its data
 * sources in each subscriber's file and the subscriber page's traffic
 * panel. No keys.
 */
#include "collector_desc.h"

static const struct collector_ds ds[] = {
	{ RRDW_SUBSCRIBER, RRDW_U_BYTES_IN, "bytes_in", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BYTES_OUT, "bytes_out", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_FLOWS, "flows", RRDW_DERIVE },
};

/* In above the axis, out below it. */
static const struct collector_arg traffic[] = {
	COLLECTOR_ARG("DEF:i={rrd}:bytes_in:AVERAGE"),
	COLLECTOR_ARG("DEF:o={rrd}:bytes_out:AVERAGE"),
	COLLECTOR_ARG("CDEF:ib=i,8,*"),
	COLLECTOR_ARG("CDEF:ob=o,8,*"),
	COLLECTOR_ARG("CDEF:obn=o,-8,*"),
	COLLECTOR_ARG("AREA:ib#74c476:in "),
	COLLECTOR_STATS("ib", "bit/s", "i", "B", 1),
	COLLECTOR_ARG("AREA:obn#6baed6:out"),
	COLLECTOR_STATS("ob", "bit/s", "o", "B", 1),
	COLLECTOR_ARG("HRULE:0#000000"),
};

static const struct collector_panel panels[] = {
	COLLECTOR_PANEL_ARGS(RRDW_SUBSCRIBER, "traffic", "traffic", NULL,
	    "bit/s  (out below 0)", 10, traffic, 0),
};

const struct collector_desc volume_desc = {
	.name = "volume",
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.panels = panels,
	.npanels = COLLECTOR_N(panels),
	/* volume.c's struct vflow: the bytes counted */
	.flow_state = 16,
};
