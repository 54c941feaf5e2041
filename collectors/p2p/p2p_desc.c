/*
 * p2p_desc.c — what the P2P collector (p2p.c) declares: its data sources
 * (BitTorrent bytes in sensor.rrd; BitTorrent, allowlisted BitTorrent and
 * eDonkey/Gnutella bytes per subscriber), its [p2p] keys, the sensor
 * overview's BitTorrent share panel and the subscriber page's P2P panel.
 */
#include "collector_desc.h"
#include "config.h"
#include "p2p_int.h"

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

/* The sensor's share panel reads the health collector's bytes and
 * unknown_bytes beside bt_bytes: the question (how much is BitTorrent)
 * is this concern's. */
static const struct collector_arg share[] = {
	COLLECTOR_ARG("--upper-limit=100"),
	COLLECTOR_ARG("DEF:b={rrd}:bytes:AVERAGE"),
	COLLECTOR_ARG("DEF:bt={rrd}:bt_bytes:AVERAGE"),
	COLLECTOR_ARG("DEF:u={rrd}:unknown_bytes:AVERAGE"),
	COLLECTOR_ARG("CDEF:bts=b,0,GT,bt,b,/,100,*,UNKN,IF"),
	COLLECTOR_ARG("CDEF:us=b,0,GT,u,b,/,100,*,UNKN,IF"),
	COLLECTOR_ARG("AREA:bts#9467bd:BitTorrent (all, allowlisted too)"),
	COLLECTOR_STATS("bts", "%%", NULL, NULL, 1),
	COLLECTOR_ARG("LINE1:us#7f7f7f:unclassified by nDPI"),
	COLLECTOR_STATS("us", "%%", NULL, NULL, 1),
};

static const struct collector_arg bt[] = {
	COLLECTOR_ARG("DEF:bi={rrd}:bt_in:AVERAGE"),
	COLLECTOR_ARG("DEF:bo={rrd}:bt_out:AVERAGE"),
	COLLECTOR_ARG("DEF:ai={rrd}:bt_allow_in:AVERAGE"),
	COLLECTOR_ARG("DEF:ao={rrd}:bt_allow_out:AVERAGE"),
	COLLECTOR_ARG("DEF:pi={rrd}:p2p_in:AVERAGE"),
	COLLECTOR_ARG("DEF:po={rrd}:p2p_out:AVERAGE"),
	COLLECTOR_ARG("CDEF:plain=bi,bo,+"),
	COLLECTOR_ARG("CDEF:allow=ai,ao,+"),
	COLLECTOR_ARG("CDEF:p2p=pi,po,+"),
	COLLECTOR_ARG("CDEF:plainb=plain,8,*"),
	COLLECTOR_ARG("CDEF:allowb=allow,8,*"),
	COLLECTOR_ARG("CDEF:p2pb=p2p,8,*"),
	COLLECTOR_ARG("AREA:plainb#9467bd:BitTorrent, not allowlisted"),
	COLLECTOR_STATS("plainb", "bit/s", "plain", "B", 1),
	COLLECTOR_ARG("AREA:allowb#c5b0d5:BitTorrent, allowlisted    :STACK"),
	COLLECTOR_STATS("allowb", "bit/s", "allow", "B", 1),
	COLLECTOR_ARG("LINE1:p2pb#ff7f0e:eDonkey and Gnutella       "),
	COLLECTOR_STATS("p2pb", "bit/s", "p2p", "B", 1),
};

static const struct collector_panel panels[] = {
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "share",
	    "BitTorrent and unclassified share",
	    "BitTorrent and unclassified share of bytes", "% of bytes", 50,
	    share, 0),
	COLLECTOR_PANEL_ARGS(RRDW_SUBSCRIBER, "bt", "BitTorrent and P2P", NULL,
	    "bit/s", 20, bt, 0),
};

const struct collector_desc p2p_desc = {
	.name = "p2p",
	.rank = 20,
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.keys = keys,
	.nkeys = COLLECTOR_N(keys),
	.panels = panels,
	.npanels = COLLECTOR_N(panels),
	.flow_state = sizeof(struct pflow),
};
