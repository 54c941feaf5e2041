/*
 * main.c — spanwatch-graph: renders the dashboard (a static site of HTML
 * and PNG) from one or more spanwatch RRD directories.
 *
 * Exit status, as the sensor's: 0 done, 1 runtime failure (an image or
 * page could not be written), 2 bad usage or a directory that is not
 * spanwatch's.
 */
#include "log.h"
#include "rrdschema.h"
#include "section.h"
#include "site.h"
#include "units.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The sensor's version: one release draws what it writes. */
#ifndef SPANWATCH_VERSION
#define SPANWATCH_VERSION "0.1"
#endif

static void
usage(FILE *fp)
{
	fputs("usage: spanwatch-graph -o RRD_DIR [-o RRD_DIR...] -w OUT_DIR "
	    "[options]\n"
	    "  -o, --rrd-dir DIR   a sensor's RRD directory (sensor.rrd, "
	    "subscribers/);\n"
	    "                      repeat for several sensors: one section "
	    "each\n"
	    "  -n, --name NAME     the sensor's name in titles and tables, "
	    "one per -o in\n"
	    "                      order (default: the -c file's [sensor] "
	    "name, else the\n"
	    "                      alerts' \"sensor\" field, else the "
	    "folder's name)\n"
	    "  -c, --config FILE   the sensor's spanwatch.conf: its name, "
	    "[smtp] exempt\n"
	    "                      (marked), subscriber map (prefixes in the "
	    "search),\n"
	    "                      torrent allowlist (named)\n"
	    "  -w, --write DIR     where index.html, img/ and sub/ go "
	    "(created if missing)\n"
	    "      --end TIME      right edge of the graphs: Unix time or "
	    "'now'\n"
	    "                      (default: sensor.rrd's last update)\n"
	    "      --alerts FILE   spanwatch --alerts-json file: alerts as "
	    "marks and tables\n"
	    "      --top N         subscribers per table, each with its own "
	    "page (default 20,\n"
	    "                      at most 200); every other subscriber is "
	    "in the search\n"
	    "      --subscriber NAME  draw only sub/NAME.html and its images "
	    "(the page the\n"
	    "                      search offers for a subscriber outside "
	    "the tables)\n"
	    "  -j, --jobs N        drawing processes (default: online CPUs, "
	    "at most 16)\n"
	    "  -q, --quiet         no summary line\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          this text\n"
	    "Every time shown is UTC (graph axes too); pages reload "
	    "themselves every step.\n"
	    "Exit status: 0 done, 1 a page or image not written, 2 bad usage "
	    "or no\n"
	    "sensor.rrd in a directory. See spanwatch-graph(8).\n", fp);
}

static int
parse_end(const char *s, time_t *out)
{
	uint64_t v;
	const char *why;

	if (strcmp(s, "now") == 0) {
		*out = time(NULL);
		return 0;
	}
	if (units_parse_uint(s, &v, &why) < 0 || v == 0 || v > INT64_MAX / 2)
		return -1;
	*out = (time_t)v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rrd-dir", required_argument, NULL, 'o' },
		{ "write", required_argument, NULL, 'w' },
		{ "end", required_argument, NULL, 'E' },
		{ "alerts", required_argument, NULL, 'A' },
		{ "top", required_argument, NULL, 'T' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "version", no_argument, NULL, 'V' },
		{ "name", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "subscriber", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct site_cfg cfg;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t v;
	const char *why;
	int c;

	log_init("spanwatch-graph", 0, 0);
	/* One clock: rrdtool graph draws its axes in local time, the
	 * tables and the alerts file are UTC. */
	if (setenv("TZ", "UTC", 1) < 0) {
		log_err("setenv TZ: %s", strerror(errno));
		return 1;
	}
	tzset();
	memset(&cfg, 0, sizeof cfg);
	cfg.top = 20;
	cfg.workers = cpus < 1 ? 1 : cpus > 16 ? 16 : (unsigned)cpus;
	while ((c = getopt_long(argc, argv, "o:w:j:n:c:qVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (cfg.ndirs == SITE_MAX_DIRS) {
				log_err("at most %d -o directories",
				    SITE_MAX_DIRS);
				return 2;
			}
			cfg.dirs[cfg.ndirs++] = optarg;
			break;
		case 'w':
			cfg.outdir = optarg;
			break;
		case 'E':
			if (parse_end(optarg, &cfg.end) < 0) {
				log_err("--end %s: expected a Unix time in "
				    "seconds or 'now'", optarg);
				return 2;
			}
			break;
		case 'A':
			cfg.alerts = optarg;
			break;
		case 'T':
			if (units_parse_uint(optarg, &v, &why) < 0 || v < 1 ||
			    v > SITE_MAX_TOP) {
				log_err("--top %s: expected 1 to %d", optarg,
				    SITE_MAX_TOP);
				return 2;
			}
			cfg.top = (size_t)v;
			break;
		case 'j':
			if (units_parse_uint(optarg, &v, &why) < 0 || v < 1 ||
			    v > 16) {
				log_err("--jobs %s: expected 1 to 16", optarg);
				return 2;
			}
			cfg.workers = (unsigned)v;
			break;
		case 'q':
			cfg.quiet = 1;
			break;
		case 'V':
			printf("spanwatch-graph %s\n", SPANWATCH_VERSION);
			return 0;
		case 'n':
			if (cfg.nnames == SITE_MAX_DIRS ||
			    units_check_name(optarg, UNITS_NAME_MAX, &why) < 0) {
				log_err("-n %s: %s", optarg,
				    cfg.nnames == SITE_MAX_DIRS ? "too many "
				    "names" : why);
				return 2;
			}
			cfg.names[cfg.nnames++] = optarg;
			break;
		case 'c':
			cfg.conf = optarg;
			break;
		case 'S':
			if (units_check_name(optarg, RRDW_NAME_MAX, &why) < 0) {
				log_err("--subscriber %s: %s", optarg, why);
				return 2;
			}
			cfg.only = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cfg.ndirs == 0 || cfg.outdir == NULL) {
		log_err("%s", cfg.ndirs == 0 ? "no RRD directory (-o DIR)" :
		    "no output directory (-w DIR)");
		usage(stderr);
		return 2;
	}
	if (cfg.nnames > cfg.ndirs) {
		log_err("%zu -n names for %zu -o directories", cfg.nnames,
		    cfg.ndirs);
		return 2;
	}
	for (size_t i = 0; i < cfg.ndirs; i++)
		if (section_check_dir(cfg.dirs[i]) < 0)
			return 2;
	return site_build(&cfg) < 0 ? 1 : 0;
}
