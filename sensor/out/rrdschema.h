/*
 * rrdschema.h — the RRD schema: which data sources each kind of RRD file
 * holds (RRD_DIR/sensor.rrd, RRD_DIR/subscribers/NAME.rrd), in file order,
 * and the archives and heartbeat a file gets at a step. The data sources
 * are the collectors' (each declares its own in its descriptor,
 * collector_desc.h); the schema is made from the descriptors once, at the
 * first call. The writer (rrdw.h) and spanwatch-graph read it; nothing
 * here does I/O.
 */
#ifndef SPANWATCH_RRDSCHEMA_H
#define SPANWATCH_RRDSCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum rrdw_kind { RRDW_SENSOR, RRDW_SUBSCRIBER, RRDW_NKINDS };

/* The built-in data sources of sensor.rrd, in file order (the
 * collectors' descriptors put them there; a concern added later gets the
 * places after RRDW_S_NDS, see rrdw_schema_find). */
enum rrdw_sensor_ds {
	RRDW_S_PACKETS,
	RRDW_S_BYTES,
	RRDW_S_DROPS,
	RRDW_S_FLOWS_NEW,
	RRDW_S_FLOWS_ACTIVE,	/* gauge: pass the value, not a delta */
	RRDW_S_UNKNOWN_BYTES,
	RRDW_S_BT_BYTES,
	RRDW_S_SMTP_SESS,
	RRDW_S_ALERTS,
	RRDW_S_NDS
};

/* The built-in data sources of subscribers/NAME.rrd, in file order. */
enum rrdw_sub_ds {
	RRDW_U_BYTES_IN,
	RRDW_U_BYTES_OUT,
	RRDW_U_BT_IN,
	RRDW_U_BT_OUT,
	RRDW_U_BT_ALLOW_IN,
	RRDW_U_BT_ALLOW_OUT,
	RRDW_U_P2P_IN,
	RRDW_U_P2P_OUT,
	RRDW_U_SMTP_DIRECT,
	RRDW_U_SMTP_UNAUTH,
	RRDW_U_SMTP_TLS,
	RRDW_U_SMTP_RCPT,
	RRDW_U_SMTP_SPFPASS,
	RRDW_U_FLOWS,
	RRDW_U_NDS
};

/* Room for data sources in one file: the built-in ones and a few more. */
#define RRDW_MAX_DS 20
#define RRDW_NAME_MAX 64	/* longest subscriber name, without NUL */
#define RRDW_STEP_MIN 20	/* as [rrd] step: every step it accepts */
#define RRDW_STEP_MAX 3600
#define RRDW_MAX_RRA 12

/* In a values array: "not mine, leave it". Needed for the gauge, which a
 * collector that does not own it must not overwrite; for a counting data
 * source it means the same as 0. */
#define RRDW_KEEP UINT64_MAX

enum rrdw_dst { RRDW_DERIVE, RRDW_GAUGE };

struct rrdw_ds {
	const char *name;
	enum rrdw_dst type;
};

struct rrdw_schema {
	const char *what;		/* "sensor", "subscriber" */
	size_t nds;
	const struct rrdw_ds *ds;	/* indexed by the enums above */
};

/* The schema of a kind of file (a bad kind: the sensor's). If the
 * descriptors do not make one (two data sources in one place, a gap, too
 * many), it says why once and the schema has no data sources: rrdw_open
 * refuses to start. */
const struct rrdw_schema *rrdw_schema(enum rrdw_kind kind);

/* Where data source name landed in files of this kind, or -1: how a
 * collector that declares COLLECTOR_DS_NEXT finds its places. */
int rrdw_schema_find(enum rrdw_kind kind, const char *name);

struct rrdw_rra {
	const char *cf;			/* "AVERAGE", "MAX", "MIN" */
	unsigned pdp_per_row;		/* steps per row */
	unsigned rows;
};

/* The archives a file of this kind gets at this step, finest first: one
 * step for a day, and the nearest whole number of steps to 5 minutes, an
 * hour and a day (a step that does not divide them gets rows of about
 * that length). Returns how many were written to out[RRDW_MAX_RRA], 0 for
 * a bad kind or a step outside RRDW_STEP_MIN..RRDW_STEP_MAX. */
size_t rrdw_rras(enum rrdw_kind kind, unsigned step, struct rrdw_rra *out);

/* Heartbeat of every data source at this step, in seconds. */
unsigned rrdw_heartbeat(unsigned step);

/* Sets values[] to "nothing happened": 0 for counting data sources,
 * RRDW_KEEP for gauges. */
void rrdw_clear_values(enum rrdw_kind kind, uint64_t *values);

#endif
