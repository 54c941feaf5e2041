/*
 * panels_dump.c — prints every dashboard panel's rrdtool argument list
 * (graphs/panels.c) for a fixed section: the sensor overview with and
 * without the subscribers' in/out sum, with the sensor's alert ticks and
 * with marks from an alerts file, the five-scale view, and a subscriber's
 * page. RRD paths hold a colon, so escaping shows. No file is read but
 * the alerts file (argv[1]); nothing is drawn. t_panels.sh compares the
 * output with panels.expected.
 */
#include <stdio.h>

#include "alertlog.h"
#include "panels.h"
#include "render.h"

static void
dump(const struct jobs *js, const char *what)
{
	printf("### %s\n", what);
	for (size_t i = 0; i < js->n; i++) {
		const struct job *j = &js->v[i];

		printf("== %s | %s%s\n", j->rel, j->alt, j->broken ? " BROKEN" : "");
		for (int a = 0; a < j->argc; a++)
			printf("%s\n", j->argv[a]);
	}
}

static int
run(const char *what, const struct panel_env *e, int sub)
{
	struct jobs js = { 0 };
	int rc;

	if (sub)
		rc = panels_subscriber(&js, e, "alice", "/r/sub:x/alice.rrd");
	else {
		rc = panels_sensor(&js, e);
		if (rc == 0)
			rc = panels_fractal(&js, e);
	}
	if (rc == 0)
		dump(&js, what);
	jobs_free(&js);
	return rc;
}

int
main(int argc, char **argv)
{
	static const int some[PANELS_NSCALES] = { 1, 1, 0, 0, 1 };
	struct alertlog al;
	struct panel_env e = {
		.top = "/out", .sensor_rrd = "/r/a:b/sensor.rrd",
		.inout_rrd = "/t/io:1.rrd", .label = "main site",
		.section = 2, .start = 1700000000, .end = 1700086400,
		.minmax_res = 300,
	};

	if (argc != 2 || alertlog_load(argv[1], e.start, e.end, 1000, &al) < 0) {
		fprintf(stderr, "usage: panels_dump ALERTS.json\n");
		return 2;
	}
	if (run("sensor, in/out sum, ticks", &e, 0) < 0)
		return 1;
	e.inout_rrd = NULL;
	e.minmax_res = 0;
	e.scale_ok = some;
	if (run("sensor, no sum, ticks", &e, 0) < 0)
		return 1;
	e.alerts = &al;
	if (run("sensor, no sum, marks", &e, 0) < 0 ||
	    run("subscriber, marks", &e, 1) < 0)
		return 1;
	e.alerts = NULL;
	if (run("subscriber, no alerts file", &e, 1) < 0)
		return 1;
	alertlog_free(&al);
	return 0;
}
