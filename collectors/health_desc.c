/*
 * health_desc.c — what the health collector (health.c) declares: the
 * sensor's own data sources in sensor.rrd (packets, bytes, drops, flows,
 * unclassified bytes, alerts). No keys; its panels are still drawn by
 * graphs/panels.c.
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

const struct collector_desc health_desc = {
	.name = "health",
	.ds = ds,
	.nds = COLLECTOR_N(ds),
};
