/*
 * p2p_desc.c — what the P2P collector (p2p.c) declares: its data sources
 * (BitTorrent bytes in sensor.rrd; BitTorrent, allowlisted BitTorrent and
 * eDonkey/Gnutella bytes per subscriber) and its [p2p] keys. Its panels
 * are still drawn by graphs/panels.c.
 */
#include "collector_desc.h"
#include "config.h"

#define F(field) offsetof(struct sw_config, field)
#define DAY 86400.0

static const struct collector_ds ds[] = {
	{ RRDW_SENSOR, RRDW_S_BT_BYTES, "bt_bytes", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BT_IN, "bt_in", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BT_OUT, "bt_out", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BT_ALLOW_IN, "bt_allow_in", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_BT_ALLOW_OUT, "bt_allow_out", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_P2P_IN, "p2p_in", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_P2P_OUT, "p2p_out", RRDW_DERIVE },
};

/* Keep conf/spanwatch.conf in step (tests/unit/test_config.c checks it). */
static const struct config_key keys[] = {
	{ "p2p", "allowlist", CONFIG_T_PATH, F(p2p.allowlist), 0, 0, NULL, NULL },
	{ "p2p", "window", CONFIG_T_DURATION, F(p2p.window), 60, 7 * DAY, "1h", NULL },
	{ "p2p", "max_bt_bytes", CONFIG_T_SIZE, F(p2p.max_bt_bytes), 1e3, 1e15, "10G", NULL },
};

const struct collector_desc p2p_desc = {
	.name = "p2p",
	.rank = 20,
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.keys = keys,
	.nkeys = COLLECTOR_N(keys),
};
