/*
 * smtp_desc.c — what the SMTP collector (smtp.c) declares: its data
 * sources (sessions in sensor.rrd; direct, unauthenticated, STARTTLS,
 * recipients and SPF-pass counts per subscriber) and its [smtp] keys. Its
 * panels are still drawn by graphs/panels.c.
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

const struct collector_desc smtp_desc = {
	.name = "smtp",
	.rank = 10,
	.ds = ds,
	.nds = COLLECTOR_N(ds),
	.keys = keys,
	.nkeys = COLLECTOR_N(keys),
};
