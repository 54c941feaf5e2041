/*
 * toy_desc.c — the toy concern's descriptor: packets to and from each
 * subscriber, times [toy] weight, into a data source of its own in the
 * subscriber's file, drawn on the subscriber's page.
 */
#include "toy.h"

static const struct collector_ds ds[] = {
	{ RRDW_SUBSCRIBER, COLLECTOR_DS_NEXT, "toy_pkts", RRDW_DERIVE },
};

static const struct config_key keys[] = {
	{ "toy", "weight", CONFIG_T_UINT, CONFIG_OFF_EXT, 1, 1000, "1", NULL },
};

static const struct collector_panel panels[] = {
	{ .kind = RRDW_SUBSCRIBER, .what = "toy", .title = "toy packets",
	  .vlabel = "packets/min", .nlines = 1, .line = {
		{ "toy_pkts", 0, 0, "#17becf", 60, "toy packets per minute",
		  "packets" },
	} },
};

const struct collector_desc toy_desc = {
	.name = "toy",
	.rank = 30,
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.keys = keys,
	.nkeys = COLLECTOR_N(keys),
	.panels = panels,
	.npanels = COLLECTOR_N(panels),
};
