/*
 * main.c — spanwatch's command line: options, signals, wiring the capture
 * to the pipeline, and the end-of-run summary. Exit status (SPEC): 0 done,
 * 1 runtime failure, 2 bad usage or configuration.
 */
#include <getopt.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "capture.h"
#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "rrdw.h"
#include "submap.h"

#define DEFAULT_CONFIG "/etc/spanwatch/spanwatch.conf"

#ifndef SPANWATCH_VERSION
#define SPANWATCH_VERSION "0.1"
#endif

static volatile sig_atomic_t stop_flag;

static void
on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct opts {
	const char *config, *iface, *read, *filter, *subscribers, *rrd_dir;
	const char *rrdcached, *step, *flow_log, *alerts_json, *user, *pidfile;
	int no_syslog, daemon, check, verbosity;
};

static void
usage(FILE *fp)
{
	fputs("usage: spanwatch [-c FILE] (-i IFACE | -r FILE[,FILE...]) [options]\n"
	      "  -c, --config FILE         main configuration (INI)\n"
	      "  -i, --interface IFACE     live capture from a mirror/SPAN port\n"
	      "  -r, --read FILE[,FILE]    read pcap/pcapng files in order ('-' = stdin)\n"
	      "  -f, --filter EXPR         BPF filter\n"
	      "  -S, --subscribers FILE    subscriber map\n"
	      "  -o, --rrd-dir DIR         where RRD files go\n"
	      "      --rrdcached ADDR      write through rrdcached: unix:/path or host:port\n"
	      "      --step SECONDS        RRD step (default 60)\n"
	      "      --flow-log FILE       one TSV line per finished flow\n"
	      "      --alerts-json FILE    one JSON object per alert\n"
	      "      --no-syslog           alerts only to --alerts-json / stderr\n"
	      "  -u, --user USER           drop privileges after opening the capture\n"
	      "  -D, --daemon              detach\n"
	      "  -p, --pidfile FILE\n"
	      "  -n, --check-config        validate the configuration and exit\n"
	      "  -q, --quiet  -v, --verbose  -V, --version  -h, --help\n", fp);
}

enum { OPT_RRDCACHED = 256, OPT_STEP, OPT_FLOW_LOG, OPT_ALERTS_JSON, OPT_NO_SYSLOG };

static int
parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "interface", required_argument, NULL, 'i' },
		{ "read", required_argument, NULL, 'r' },
		{ "filter", required_argument, NULL, 'f' },
		{ "subscribers", required_argument, NULL, 'S' },
		{ "rrd-dir", required_argument, NULL, 'o' },
		{ "rrdcached", required_argument, NULL, OPT_RRDCACHED },
		{ "step", required_argument, NULL, OPT_STEP },
		{ "flow-log", required_argument, NULL, OPT_FLOW_LOG },
		{ "alerts-json", required_argument, NULL, OPT_ALERTS_JSON },
		{ "no-syslog", no_argument, NULL, OPT_NO_SYSLOG },
		{ "user", required_argument, NULL, 'u' },
		{ "daemon", no_argument, NULL, 'D' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:i:r:f:S:o:u:Dp:nqvVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'i': o->iface = optarg; break;
		case 'r': o->read = optarg; break;
		case 'f': o->filter = optarg; break;
		case 'S': o->subscribers = optarg; break;
		case 'o': o->rrd_dir = optarg; break;
		case OPT_RRDCACHED: o->rrdcached = optarg; break;
		case OPT_STEP: o->step = optarg; break;
		case OPT_FLOW_LOG: o->flow_log = optarg; break;
		case OPT_ALERTS_JSON: o->alerts_json = optarg; break;
		case OPT_NO_SYSLOG: o->no_syslog = 1; break;
		case 'u': o->user = optarg; break;
		case 'D': o->daemon = 1; break;
		case 'p': o->pidfile = optarg; break;
		case 'n': o->check = 1; break;
		case 'q': o->verbosity = -1; break;
		case 'v': o->verbosity++; break;
		case 'V': printf("spanwatch %s\n", SPANWATCH_VERSION); exit(0);
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "spanwatch: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->iface && o->read) {
		fprintf(stderr, "spanwatch: give -i IFACE or -r FILE, not both\n");
		usage(stderr);
		return -1;
	}
	return 0;
}

static void
on_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint64_t ts_us)
{
	pipeline_frame(ctx, fn, data, caplen, ts_us);
}

/* The configuration: the file (the default one only if it exists), then
 * the command line on top. Every problem is logged; returns 0 or -1. */
static int
load_config(const struct opts *o, struct sw_config *cfg)
{
	static const struct {
		size_t off;
		const char *section, *key, *flag;
	} overrides[] = {
		{ offsetof(struct opts, iface), "capture", "interface", "-i" },
		{ offsetof(struct opts, filter), "capture", "filter", "-f" },
		{ offsetof(struct opts, subscribers), "subscribers", "file", "-S" },
		{ offsetof(struct opts, rrd_dir), "rrd", "dir", "-o" },
		{ offsetof(struct opts, rrdcached), "rrd", "rrdcached", "--rrdcached" },
		{ offsetof(struct opts, step), "rrd", "step", "--step" },
		{ offsetof(struct opts, alerts_json), "alerts", "json", "--alerts-json" },
		{ offsetof(struct opts, user), "sensor", "user", "-u" },
		{ offsetof(struct opts, pidfile), "sensor", "pidfile", "-p" },
	};
	int rc = 0;

	config_defaults(cfg);
	if (o->config || access(DEFAULT_CONFIG, F_OK) == 0)
		rc = config_load(cfg, o->config ? o->config : DEFAULT_CONFIG);
	for (size_t i = 0; i < sizeof overrides / sizeof overrides[0]; i++) {
		const char *v = *(const char *const *)(const void *)((const char *)o + overrides[i].off);
		if (v && config_set(cfg, overrides[i].section, overrides[i].key, v, overrides[i].flag) < 0)
			rc = -1;
	}
	return rc;
}

static void
summary(const struct pipeline *pl, const struct capture_stats *cs, const struct alerts *al)
{
	struct pipeline_stats st;
	struct flow_stats fs;

	pipeline_get_stats(pl, &st);
	pipeline_get_flow_stats(pl, &fs);
	fprintf(stderr, "summary packets=%llu ip_packets=%llu ip_bytes=%llu non_ip=%llu "
		"truncated=%llu malformed=%llu frag_orphans=%llu flows=%llu peak_flows=%u "
		"evicted=%llu classified_pct=%.1f subscribers=%u alerts=%llu drops=%llu\n",
		(unsigned long long)st.packets, (unsigned long long)st.ip_packets,
		(unsigned long long)st.ip_bytes, (unsigned long long)st.non_ip,
		(unsigned long long)st.truncated, (unsigned long long)st.malformed,
		(unsigned long long)st.frag_orphans, (unsigned long long)st.flows, fs.peak,
		(unsigned long long)fs.evicted,
		st.flows ? 100.0 * (double)st.flows_classified / (double)st.flows : 0.0,
		st.subscribers_seen, al ? (unsigned long long)alerts_count(al) : 0ULL,
		(unsigned long long)(cs->kernel_drops + cs->if_drops));
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct sw_config cfg;
	struct pipeline_cfg pc = { .dpi_states = 65536 };
	struct capture_opts co = { .stop = &stop_flag };
	struct capture_stats cs = { 0 };
	struct submap *subs = NULL;
	struct rrdw *rrdw = NULL;
	struct alerts *alerts;
	struct alerts_opts ao = { 0 };
	struct sigaction sa;
	struct pipeline *pl;
	int rc, bad;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_init("spanwatch", o.verbosity, 0);
	log_plain(o.check);

	bad = load_config(&o, &cfg) < 0;
	if (cfg.subscribers.file && (subs = submap_load(cfg.subscribers.file)) == NULL)
		bad = 1;
	if (o.check || bad) {
		if (!bad)
			printf("configuration OK\n");
		submap_free(subs);
		config_free(&cfg);
		return bad ? 2 : 0;
	}
	if (!o.read && !cfg.capture.interface) {
		fprintf(stderr, "spanwatch: nothing to read: give -i IFACE, -r FILE or [capture] interface\n");
		usage(stderr);
		config_free(&cfg);
		return 2;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ao.use_syslog = !o.no_syslog;
	ao.block = o.read != NULL;	/* a replay never loses an alert to a full queue */
	if ((alerts = alerts_open(&cfg, &ao)) == NULL) {
		submap_free(subs);
		config_free(&cfg);
		return 1;
	}
	if (cfg.rrd.dir) {
		/* Reading files, packet time outruns the disk: wait for the
		 * writer rather than drop. Live, never wait. */
		struct rrdw_cfg wc = { .dir = cfg.rrd.dir, .rrdcached = cfg.rrd.rrdcached,
				       .step = cfg.rrd.step, .block = o.read != NULL };
		if ((rrdw = rrdw_open(&wc)) == NULL) {
			alerts_close(alerts);
			submap_free(subs);
			config_free(&cfg);
			return 1;
		}
	}
	pc.max_flows = cfg.sensor.max_flows;
	pc.idle_timeout_s = cfg.sensor.idle_timeout;
	pc.step = cfg.rrd.step;
	pc.flow_log = o.flow_log;
	pc.cfg = &cfg;
	pc.subs = subs;
	pc.rrdw = rrdw;
	pc.alerts = alerts;
	if ((pl = pipeline_new(&pc)) == NULL) {
		rrdw_close(rrdw);
		alerts_close(alerts);
		submap_free(subs);
		config_free(&cfg);
		return 1;
	}
	co.filter = cfg.capture.filter;
	co.snaplen = (int)cfg.capture.snaplen;
	co.promisc = cfg.capture.promisc;
	co.buffer_mb = (int)cfg.capture.buffer_mb;
	co.progress = o.verbosity >= 0 && isatty(STDERR_FILENO);
	if (o.read)
		rc = capture_files(o.read, &co, on_frame, pl, &cs);
	else
		rc = capture_live(cfg.capture.interface, &co, on_frame, pl, &cs);

	/* Everything seen is accounted and written, signal or not. */
	pipeline_set_drops(pl, cs.kernel_drops + cs.if_drops);
	pipeline_finish(pl);
	if (rrdw && rrdw_flush(rrdw) < 0)
		rc = -1;
	alerts_flush(alerts);
	if (o.verbosity >= 0)
		summary(pl, &cs, alerts);
	if (pipeline_free(pl) < 0)
		rc = -1;
	rrdw_close(rrdw);
	alerts_close(alerts);
	submap_free(subs);
	config_free(&cfg);
	return rc < 0 ? 1 : 0;
}
