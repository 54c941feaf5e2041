/*
 * rrdschema.c — the RRD schema (see rrdschema.h): the data sources of each
 * kind of file, and the archives and heartbeat a step gives them.
 */
#include "rrdschema.h"

static const struct rrdw_ds sensor_ds[RRDW_S_NDS] = {
	[RRDW_S_PACKETS] = { "packets", RRDW_DERIVE },
	[RRDW_S_BYTES] = { "bytes", RRDW_DERIVE },
	[RRDW_S_DROPS] = { "drops", RRDW_DERIVE },
	[RRDW_S_FLOWS_NEW] = { "flows_new", RRDW_DERIVE },
	[RRDW_S_FLOWS_ACTIVE] = { "flows_active", RRDW_GAUGE },
	[RRDW_S_UNKNOWN_BYTES] = { "unknown_bytes", RRDW_DERIVE },
	[RRDW_S_BT_BYTES] = { "bt_bytes", RRDW_DERIVE },
	[RRDW_S_SMTP_SESS] = { "smtp_sess", RRDW_DERIVE },
	[RRDW_S_ALERTS] = { "alerts", RRDW_DERIVE },
};

static const struct rrdw_ds sub_ds[RRDW_U_NDS] = {
	[RRDW_U_BYTES_IN] = { "bytes_in", RRDW_DERIVE },
	[RRDW_U_BYTES_OUT] = { "bytes_out", RRDW_DERIVE },
	[RRDW_U_BT_IN] = { "bt_in", RRDW_DERIVE },
	[RRDW_U_BT_OUT] = { "bt_out", RRDW_DERIVE },
	[RRDW_U_BT_ALLOW_IN] = { "bt_allow_in", RRDW_DERIVE },
	[RRDW_U_BT_ALLOW_OUT] = { "bt_allow_out", RRDW_DERIVE },
	[RRDW_U_P2P_IN] = { "p2p_in", RRDW_DERIVE },
	[RRDW_U_P2P_OUT] = { "p2p_out", RRDW_DERIVE },
	[RRDW_U_SMTP_DIRECT] = { "smtp_direct", RRDW_DERIVE },
	[RRDW_U_SMTP_UNAUTH] = { "smtp_unauth", RRDW_DERIVE },
	[RRDW_U_SMTP_TLS] = { "smtp_tls", RRDW_DERIVE },
	[RRDW_U_SMTP_RCPT] = { "smtp_rcpt", RRDW_DERIVE },
	[RRDW_U_SMTP_SPFPASS] = { "smtp_spfpass", RRDW_DERIVE },
	[RRDW_U_FLOWS] = { "flows", RRDW_DERIVE },
};

const struct rrdw_schema rrdw_schemas[RRDW_NKINDS] = {
	[RRDW_SENSOR] = { "sensor", RRDW_S_NDS, sensor_ds },
	[RRDW_SUBSCRIBER] = { "subscriber", RRDW_U_NDS, sub_ds },
};

/* SPEC's resolutions: one step for a day, ~5 min for a week, ~1 h for two
 * months (62 days: any two calendar months), a day for two years (731: one
 * may be a leap year). Kept at the minimum because a per-subscriber file
 * must stay under 1.5 MiB and there may be tens of thousands of them. */
static const struct {
	unsigned res;		/* seconds per row; 0 = one step */
	unsigned days;
} levels[] = { { 0, 1 }, { 300, 7 }, { 3600, 62 }, { 86400, 731 } };

#define NLEVELS (sizeof levels / sizeof levels[0])

size_t
rrdw_rras(enum rrdw_kind kind, unsigned step, struct rrdw_rra *out)
{
	unsigned ppr[NLEVELS], secs[NLEVELS];
	size_t nl = 0, n = 0;

	if ((unsigned)kind >= RRDW_NKINDS || step < RRDW_STEP_MIN ||
	    step > RRDW_STEP_MAX)
		return 0;
	for (size_t i = 0; i < NLEVELS; i++) {
		unsigned p = levels[i].res ? (levels[i].res + step / 2) / step : 1;
		unsigned s = levels[i].days * 86400u;

		if (p < 1)
			p = 1;
		/* With a long step two levels can coincide (step 3600: 5 min
		 * and 1 h are both one step): keep one, with the longer span. */
		if (nl > 0 && p <= ppr[nl - 1]) {
			if (s > secs[nl - 1])
				secs[nl - 1] = s;
			continue;
		}
		ppr[nl] = p;
		secs[nl] = s;
		nl++;
	}
	for (size_t i = 0; i < nl; i++) {
		unsigned span = ppr[i] * step;
		unsigned rows = (secs[i] + span - 1) / span;

		out[n++] = (struct rrdw_rra){ "AVERAGE", ppr[i], rows };
		/* At one step per row MAX and MIN equal the average. */
		if (ppr[i] == 1)
			continue;
		out[n++] = (struct rrdw_rra){ "MAX", ppr[i], rows };
		if (kind == RRDW_SENSOR)
			out[n++] = (struct rrdw_rra){ "MIN", ppr[i], rows };
	}
	return n;
}

/* Ten steps, but at least 15 minutes: a counter update lost in transit
 * (rrdcached killed before writing, default write interval 5 minutes) then
 * still spreads over the steps it covers instead of turning into unknown. */
unsigned
rrdw_heartbeat(unsigned step)
{
	return step * 10 > 900 ? step * 10 : 900;
}

void
rrdw_clear_values(enum rrdw_kind kind, uint64_t *values)
{
	const struct rrdw_schema *s = &rrdw_schemas[kind];

	for (size_t i = 0; i < s->nds; i++)
		values[i] = s->ds[i].type == RRDW_GAUGE ? RRDW_KEEP : 0;
}
