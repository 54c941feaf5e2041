/*
 * volume_desc.c — what the volume collector (volume.c) declares: its data
 * sources in each subscriber's file. No keys, no panels of its own yet
 * (graphs/panels.c draws the traffic panel).
 */
#include "collector_desc.h"

static const struct collector_ds ds[] = {
	{ RRDW_SUBSCRIBER, RRDW_U_BYTES_IN, "bytes_in", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BYTES_OUT, "bytes_out", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_FLOWS, "flows", RRDW_DERIVE },
};

const struct collector_desc volume_desc = {
	.name = "volume",
	.ds = ds,
	.nds = COLLECTOR_N(ds),
};
