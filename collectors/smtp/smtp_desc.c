/*
 * smtp_desc.c — what the SMTP collector (smtp.c) declares: its data
 * sources (sessions in sensor.rrd; direct, unauthenticated, STARTTLS,
 * recipients and SPF-pass counts per subscriber), its [smtp] keys and
 * its panels (sessions on the sensor overview; sessions and recipients
 * on a subscriber's page).
 */
#include "collector_desc.h"
#include "config.h"

#define F(field) offsetof(struct sw_config, field)
#define DAY 86400.0

static const struct collector_ds ds[] = {
	{ RRDW_SENSOR, RRDW_S_SMTP_SESS, "smtp_sess", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_SMTP_DIRECT, "smtp_direct", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_SMTP_UNAUTH, "smtp_unauth", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_SMTP_TLS, "smtp_tls", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_SMTP_RCPT, "smtp_rcpt", RRDW_DERIVE },
	{ RRDW_SUBSCRIBER, RRDW_U_SMTP_SPFPASS, "smtp_spfpass", RRDW_DERIVE },
};

static const struct config_enum_name spf_names[] = {
	{ "off", CONFIG_SPF_OFF },
	{ "annotate", CONFIG_SPF_ANNOTATE },
	{ "exempt", CONFIG_SPF_EXEMPT },
	{ NULL, 0 },
};

/* Keep conf/spanwatch.conf in step (tests/unit/test_config.c checks it). */
static const struct config_key keys[] = {
	{ "smtp", "relays", CONFIG_T_ADDRS, F(smtp.relays), 0, CONFIG_MAX_RELAYS, "", NULL },
	{ "smtp", "ports", CONFIG_T_PORTS, F(smtp.ports), 1, CONFIG_MAX_PORTS, "25", NULL },
	{ "smtp", "exempt", CONFIG_T_NAMES, F(smtp.exempt), 0, CONFIG_MAX_EXEMPT, "", NULL },
	{ "smtp", "window", CONFIG_T_DURATION, F(smtp.window), 10, DAY, "5m", NULL },
	/* 0: the first unauth direct session, far end or recipient alerts. */
	{ "smtp", "max_sessions", CONFIG_T_UINT, F(smtp.max_sessions), 0, 1e6, "20", NULL },
	{ "smtp", "max_mx", CONFIG_T_UINT, F(smtp.max_mx), 0, 1e6, "10", NULL },
	{ "smtp", "max_rcpt", CONFIG_T_UINT, F(smtp.max_rcpt), 0, 1e6, "100", NULL },
	{ "smtp", "surge_factor", CONFIG_T_FLOAT, F(smtp.surge_factor), 1.01, 1000, "5", NULL },
	/* off: a replay never queries live DNS unless the configuration asks. */
	{ "smtp", "spf", CONFIG_T_ENUM, F(smtp.spf), 0, 0, "off", spf_names },
	{ "smtp", "resolver", CONFIG_T_ENDPOINT, F(smtp.resolver), 0, 0, "", NULL },
};

static const struct collector_arg sessions[] = {
	COLLECTOR_ARG("DEF:sm={rrd}:smtp_sess:AVERAGE"),
	COLLECTOR_ARG("CDEF:smm=sm,60,*"),
	COLLECTOR_ARG("AREA:smm#fdae6b"),
	COLLECTOR_ARG("LINE1:smm#e6550d:SMTP sessions per minute"),
	COLLECTOR_STATS("smm", "", "sm", "sessions", 0),
};

/* direct = auth + unauth + tls: the gap between the stack and the line
 * is authenticated sessions. */
static const struct collector_arg sub_sessions[] = {
	COLLECTOR_ARG("DEF:d={rrd}:smtp_direct:AVERAGE"),
	COLLECTOR_ARG("DEF:un={rrd}:smtp_unauth:AVERAGE"),
	COLLECTOR_ARG("DEF:tl={rrd}:smtp_tls:AVERAGE"),
	COLLECTOR_ARG("DEF:sp={rrd}:smtp_spfpass:AVERAGE"),
	COLLECTOR_ARG("CDEF:dm=d,60,*"),
	COLLECTOR_ARG("CDEF:unm=un,60,*"),
	COLLECTOR_ARG("CDEF:tlm=tl,60,*"),
	COLLECTOR_ARG("CDEF:spm=sp,60,*"),
	COLLECTOR_ARG("AREA:unm#d62728:direct, unauthenticated"),
	COLLECTOR_STATS("unm", "", "un", "sessions", 0),
	COLLECTOR_ARG("AREA:tlm#ff9896:direct, STARTTLS       :STACK"),
	COLLECTOR_STATS("tlm", "", "tl", "sessions", 0),
	COLLECTOR_ARG("LINE1:dm#000000:direct, all            "),
	COLLECTOR_STATS("dm", "", "d", "sessions", 0),
	COLLECTOR_ARG("LINE1:spm#2ca02c:SPF pass               "),
	COLLECTOR_STATS("spm", "", "sp", "sessions", 0),
};

static const struct collector_arg rcpt[] = {
	COLLECTOR_ARG("DEF:r={rrd}:smtp_rcpt:AVERAGE"),
	COLLECTOR_ARG("CDEF:rm=r,60,*"),
	COLLECTOR_ARG("AREA:rm#fdae6b"),
	COLLECTOR_ARG("LINE1:rm#e6550d:RCPT TO per minute"),
	COLLECTOR_STATS("rm", "", "r", "recipients", 0),
};

static const struct collector_panel panels[] = {
	COLLECTOR_PANEL_ARGS(RRDW_SENSOR, "smtp", "SMTP sessions",
	    "SMTP sessions per minute", "sessions/min", 60, sessions,
	    COLLECTOR_PANEL_TICKS),
	COLLECTOR_PANEL_ARGS(RRDW_SUBSCRIBER, "smtp", "SMTP sessions", NULL,
	    "sessions/min", 30, sub_sessions, 0),
	COLLECTOR_PANEL_ARGS(RRDW_SUBSCRIBER, "rcpt", "SMTP recipients", NULL,
	    "recipients/min", 40, rcpt, 0),
};

const struct collector_desc smtp_desc = {
	.name = "smtp",
	.rank = 10,
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.keys = keys,
	.nkeys = COLLECTOR_N(keys),
	.panels = panels,
	.npanels = COLLECTOR_N(panels),
	/* smtp.c's ix[]: a flow's slot in the pool of session parsers
	 * (the pool itself is bounded by SMTP_POOL_MAX, not per flow). */
	.flow_state = sizeof(uint32_t),
};
