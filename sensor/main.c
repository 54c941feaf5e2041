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
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "capture.h"
#include "chw.h"
#include "collector.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "preflight.h"
#include "rrdw.h"
#include "submap.h"
#include "watchdog.h"
#include "workers.h"

#define DEFAULT_CONFIG "/etc/spanwatch/spanwatch.conf"

#ifndef SPANWATCH_VERSION
#define SPANWATCH_VERSION "0.1"
#endif

/* Signal handlers only set these; the loop acts on them between batches. */
static volatile sig_atomic_t stop_flag, reload_flag;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_flag = 1;
	else
		stop_flag = 1;
}

struct opts {
	const char *config, *iface, *read, *filter, *subscribers, *rrd_dir;
	const char *rrdcached, *step, *flow_log, *alerts_json, *user, *pidfile;
	int no_syslog, daemon, check, verbosity;
	unsigned dpi_max_bytes, watchdog_s;
};

/* A configuration some capture thread may still use after a reload that
 * not all of them took (workers_reload): freed at exit. */
struct retired {
	struct sw_config *cfg;
	struct submap *subs;
	struct retired *next;
};

/* What the frame and tick callbacks need; one per run. */
struct run {
	struct pipeline *pl;		/* one capture thread */
	struct workers *wk;		/* or several ([capture] threads) */
	struct retired *retired;
	const struct opts *o;
	struct sw_config *cfg;		/* the configuration in force */
	struct submap *subs;
	struct alerts *alerts;
	uint64_t last_health_us;
	struct metrics *metrics;	/* [sensor] metrics, or NULL */
	struct chw *chw;		/* [clickhouse], or NULL */
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
	      "      --dpi-max-bytes N     give nDPI at most N bytes of a packet (default 8192)\n"
	      "      --watchdog SECONDS    exit when a packet hangs in nDPI that long (default 5, 0 off)\n"
	      "  -q, --quiet  -v, --verbose  -V, --version  -h, --help\n", fp);
}

enum { OPT_RRDCACHED = 256, OPT_STEP, OPT_FLOW_LOG, OPT_ALERTS_JSON, OPT_NO_SYSLOG,
       OPT_DPI_MAX_BYTES, OPT_WATCHDOG };

/* Tuning knobs an operator rarely needs; their defaults are safe. */
#define DEFAULT_DPI_MAX_BYTES 8192
#define DEFAULT_WATCHDOG_S 5

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
		{ "dpi-max-bytes", required_argument, NULL, OPT_DPI_MAX_BYTES },
		{ "watchdog", required_argument, NULL, OPT_WATCHDOG },
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
		case OPT_DPI_MAX_BYTES: o->dpi_max_bytes = (unsigned)strtoul(optarg, NULL, 10); break;
		case OPT_WATCHDOG: o->watchdog_s = (unsigned)strtoul(optarg, NULL, 10); break;
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

static void reload(struct run *r);

/* One capture thread's counters to the metrics endpoint, if on. */
static void
publish(struct run *r, const struct capture_stats *cs)
{
	struct pipeline_stats ps;
	struct flow_stats fs;

	if (r->metrics == NULL)
		return;
	pipeline_get_stats(r->pl, &ps);
	pipeline_get_flow_stats(r->pl, &fs);
	metrics_publish(r->metrics, &ps, &fs, cs);
}

/* A SIGHUP during a replay reloads between two packets: a file read
 * has no tick. */
static void
on_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	 uint64_t ts_us, unsigned flags)
{
	struct run *r = ctx;

	if (reload_flag) {
		reload_flag = 0;
		reload(r);
	}
	if (r->wk) {	/* several threads: this one reads and dispatches */
		workers_frame(r->wk, fn, data, caplen, wirelen, ts_us, flags);
		return;
	}
	if (flags & CAPTURE_F_MAPPED)
		pipeline_frame_mapped(r->pl, fn, data, caplen, wirelen, ts_us);
	else
		pipeline_frame(r->pl, fn, data, caplen, wirelen, ts_us);
	/* A few relaxed stores per frame, only when the endpoint is on:
	 * a scrape after the last packet sees every packet. */
	publish(r, NULL);
}

/* A mapped file is about to go: the frames queued in it are processed
 * first. (The workers' reader copies each frame into a ring.) */
static void
on_release(void *ctx)
{
	struct run *r = ctx;

	if (r->pl)
		pipeline_drain(r->pl);
}

/* [sensor] metrics: the health endpoint on its own thread. */
static int
start_metrics(struct run *r, struct rrdw *rrdw)
{
	struct metrics_src ms = { .sensor = r->cfg->sensor.name, .wk = r->wk,
				  .alerts = r->alerts, .rrdw = rrdw, .chw = r->chw };

	if (r->cfg->sensor.metrics == NULL)
		return 0;
	r->metrics = metrics_start(r->cfg->sensor.metrics, &ms);
	return r->metrics ? 0 : -1;
}

static int load_config(const struct opts *o, struct sw_config *cfg);

/* SIGHUP: a new configuration and subscriber map, or, if either is bad,
 * the old ones (the errors are logged as file:line). Settings that need
 * the capture or the RRD writer reopened wait for a restart. */
static void
reload(struct run *r)
{
	struct sw_config *cfg = calloc(1, sizeof *cfg);
	struct submap *subs = NULL;
	struct retired *old;
	int sw = -1;

	/* logrotate's postrotate: new lines go to new files at the old
	 * names, whether or not the new configuration is good. */
	alerts_reopen(r->alerts);
	if (r->wk)
		workers_reopen_log(r->wk);
	else if (r->pl)
		pipeline_reopen_log(r->pl);
	if (!cfg)
		return;
	if (load_config(r->o, cfg) < 0 ||
	    (cfg->subscribers.file && (subs = submap_load(cfg->subscribers.file)) == NULL) ||
	    (sw = r->wk ? workers_reload(r->wk, cfg, subs) : pipeline_reload(r->pl, cfg, subs)) < 0) {
		log_err("reload failed: keeping the running configuration");
		submap_free(subs);
		config_free(cfg);
		free(cfg);
		return;
	}
	if (cfg->rrd.step != r->cfg->rrd.step || cfg->sensor.max_flows != r->cfg->sensor.max_flows ||
	    (cfg->rrd.dir == NULL) != (r->cfg->rrd.dir == NULL))
		log_warn("reload: rrd step, rrd dir and max_flows change at the next restart");
	if (sw > 0 && (old = calloc(1, sizeof *old)) != NULL) {
		/* Some capture thread kept the old one (out of memory). */
		log_err("reload: not every capture thread switched; restart to be sure");
		*old = (struct retired){ r->cfg, r->subs, r->retired };
		r->retired = old;
	} else {
		submap_free(r->subs);
		config_free(r->cfg);
		free(r->cfg);
	}
	r->cfg = cfg;
	r->subs = subs;
	log_info("reloaded: %d subscribers", submap_count(subs));
}

/* Live capture, between batches. */
static void
on_tick(void *ctx, uint64_t now_us, const struct capture_stats *st)
{
	struct run *r = ctx;

	pipeline_set_drops(r->pl, st->kernel_drops + st->if_drops);
	pipeline_tick(r->pl, now_us);
	publish(r, st);		/* the tick drained the prefetch queue */
	if (reload_flag) {
		reload_flag = 0;
		reload(r);
	}
	if (log_verbosity() >= 1 && now_us >= r->last_health_us + 60 * 1000000ULL) {
		struct pipeline_stats ps;
		struct flow_stats fs;

		r->last_health_us = now_us;
		pipeline_get_stats(r->pl, &ps);
		pipeline_get_flow_stats(r->pl, &fs);
		log_info("health packets=%llu ip_bytes=%llu flows_active=%u flows=%llu evicted=%llu "
			 "drops=%llu subscribers=%u", (unsigned long long)ps.packets,
			 (unsigned long long)ps.ip_bytes, fs.active, (unsigned long long)fs.created,
			 (unsigned long long)fs.evicted,
			 (unsigned long long)(st->kernel_drops + st->if_drops), ps.subscribers_seen);
	}
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
summary(const struct pipeline_stats *sp, const struct flow_stats *fsp,
	const struct capture_stats *cs, const struct alerts *al)
{
	struct pipeline_stats st = *sp;
	struct flow_stats fs = *fsp;

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

/* Several capture threads: their counters added up. Subscribers seen are
 * counted once (after the run, else the largest share); peak flows is the
 * sum of each table's peak, an upper bound. */
static void
threads_stats(struct run *r, struct pipeline_stats *st, struct flow_stats *fs,
	      struct capture_stats *cs, int final)
{
	memset(st, 0, sizeof *st);
	memset(fs, 0, sizeof *fs);
	memset(cs, 0, sizeof *cs);
	for (unsigned i = 0; i < workers_count(r->wk); i++) {
		struct pipeline_stats p;
		struct flow_stats f;
		struct capture_stats c;

		workers_get(r->wk, i, &p, &f, &c);
		st->packets += p.packets;
		st->ip_packets += p.ip_packets;
		st->ip_bytes += p.ip_bytes;
		st->non_ip += p.non_ip;
		st->truncated += p.truncated;
		st->malformed += p.malformed;
		st->frag_orphans += p.frag_orphans;
		st->l4_truncated += p.l4_truncated;
		st->flows += p.flows;
		st->flows_classified += p.flows_classified;
		if (p.subscribers_seen > st->subscribers_seen)
			st->subscribers_seen = p.subscribers_seen;
		st->steps = p.steps > st->steps ? p.steps : st->steps;
		fs->active += f.active;
		fs->peak += f.peak;
		fs->created += f.created;
		fs->evicted += f.evicted;
		cs->frames += c.frames;
		cs->kernel_drops += c.kernel_drops;
		cs->if_drops += c.if_drops;
	}
	if (final)
		st->subscribers_seen = workers_subscribers_seen(r->wk, r->subs);
}

/* Several capture threads: the main thread waits for signals and passes
 * them on; the threads do the rest. Returns 0, or -1 if a capture failed. */
static int
run_threads(struct run *r)
{
	/* Reading files, the end comes as soon as the workers are done. */
	struct timespec tick = { 0, (r->o->read ? 10 : 100) * 1000000L };
	uint64_t last_health = 0, now;

	while (!stop_flag && !workers_failed(r->wk) && workers_running(r->wk)) {
		nanosleep(&tick, NULL);
		if (reload_flag) {
			reload_flag = 0;
			reload(r);
		}
		now = (uint64_t)time(NULL);
		if (log_verbosity() >= 1 && now >= last_health + 60) {
			struct pipeline_stats ps;
			struct flow_stats fs;
			struct capture_stats cs;

			last_health = now;
			threads_stats(r, &ps, &fs, &cs, 0);
			log_info("health packets=%llu ip_bytes=%llu flows_active=%u flows=%llu "
				 "evicted=%llu drops=%llu subscribers=%u threads=%u",
				 (unsigned long long)ps.packets, (unsigned long long)ps.ip_bytes,
				 fs.active, (unsigned long long)fs.created,
				 (unsigned long long)fs.evicted,
				 (unsigned long long)(cs.kernel_drops + cs.if_drops),
				 ps.subscribers_seen, workers_count(r->wk));
		}
	}
	return workers_stop(r->wk);
}

/* The RRD folder's lock (SPEC: a second sensor on the same folder refuses
 * to start), once the folder exists; through rrdcached, only where the
 * folder is on this machine and ours to write. Returns 0 (*fd is -1 while
 * the folder does not exist yet), or -1 (logged). */
static int
lock_rrd_dir(const struct sw_config *cfg, const char *path, int *fd)
{
	if (access(cfg->rrd.dir, cfg->rrd.rrdcached ? W_OK | X_OK : F_OK) < 0)
		return 0;
	return (*fd = daemon_lock(path, "RRD folder")) < 0 ? -1 : daemon_lock_pid(*fd, path);
}

static void
set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* A stop interrupts a blocked read (a replay from an idle pipe);
	 * capture retries other interrupted reads. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A reload must not fail the read it interrupts: the loops look
	 * at the flag between packets. */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct opts o = { .dpi_max_bytes = DEFAULT_DPI_MAX_BYTES, .watchdog_s = DEFAULT_WATCHDOG_S };
	struct run r = { .o = &o };
	struct pipeline_cfg pc = { .dpi_states = 65536 };
	struct capture_opts co = { .stop = &stop_flag };
	struct capture_stats cs = { 0 };
	struct capture *cap = NULL;
	struct rrdw *rrdw = NULL;
	struct chw *chw = NULL;
	struct alerts *alerts = NULL;
	struct alerts_opts ao = { 0 };
	unsigned threads = 1;
	int walk = 0;
	int rc = 0, bad, pid_fd = -1, rrd_fd = -1;
	char rrd_lock[4200] = "";

	/* Started as a concern's helper (the SMTP collector's SPF resolver):
	 * that is all this process does. */
	for (size_t i = 0; collector_registry[i] != NULL; i++)
		if (collector_registry[i]->helper != NULL &&
		    (bad = collector_registry[i]->helper(argc, argv)) >= 0)
			return bad;
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_init("spanwatch", o.verbosity, 0);
	for (size_t i = 0; collector_registry[i] != NULL; i++)
		if (collector_registry[i]->replay != NULL)
			collector_registry[i]->replay(o.read != NULL);
	log_plain(o.check);

	if ((r.cfg = calloc(1, sizeof *r.cfg)) == NULL)
		return 1;
	bad = load_config(&o, r.cfg) < 0;
	if (r.cfg->subscribers.file && (r.subs = submap_load(r.cfg->subscribers.file)) == NULL)
		bad = 1;
	/* What the collectors check beyond the keys (the P2P allowlist): a
	 * bad configuration, found here, before anything is created. */
	for (size_t i = 0; collector_registry[i] != NULL; i++)
		if (collector_registry[i]->check != NULL &&
		    collector_registry[i]->check(r.cfg) < 0)
			bad = 1;
	/* -n checks files; what to capture is the command line's business.
	 * One line, for the journal of a service started unconfigured. */
	if (!bad && !o.check && !o.read && !r.cfg->capture.interface) {
		log_err("nothing to capture: set [capture] interface in %s, or give -i IFACE "
			"or -r FILE", o.config ? o.config : DEFAULT_CONFIG);
		bad = 1;
	}
	/* What would stop a start stops -n too, and a start before it
	 * opens anything: the filter, the user, the outputs. */
	if (!bad) {
		struct preflight_extra px = { .flow_log = o.flow_log, .check_only = o.check };

		if (preflight_check(r.cfg, &px) < 0)
			bad = 1;
	}
	if (o.check && !bad)
		printf("configuration OK\n");
	if (o.check || bad) {
		rc = bad ? 2 : 0;
		goto out;
	}
	set_signals();

	co.filter = r.cfg->capture.filter;
	co.snaplen = (int)r.cfg->capture.snaplen;
	co.promisc = r.cfg->capture.promisc;
	co.buffer_mb = (int)r.cfg->capture.buffer_mb;
	co.progress = o.verbosity >= 0 && isatty(STDERR_FILENO) && !o.daemon;
	co.tick = on_tick;
	co.release = on_release;
	if (r.cfg->capture.threads > 1)
		threads = r.cfg->capture.threads;
	/* Locked before anything is opened: a second sensor on the same
	 * pidfile stops here, naming the first. */
	if (r.cfg->sensor.pidfile &&
	    (pid_fd = daemon_lock(r.cfg->sensor.pidfile, "pidfile")) < 0) {
		rc = 1;
		goto out;
	}
	/* Open the capture while root, then let root go before the first
	 * packet, and before any thread exists (fork and setuid act on one). */
	if (!o.read && threads == 1 &&
	    (cap = capture_open_live(r.cfg->capture.interface, &co)) == NULL) {
		rc = 1;
		goto out;
	}
	/* Files that can be mapped are read by every worker (no reader
	 * thread); others (stdin, pcapng) by this thread, into rings. */
	walk = threads > 1 && o.read && capture_files_mappable(o.read);
	if (threads > 1 && (r.wk = walk ? workers_open_walk(threads, o.read, &co)
				   : o.read ? workers_open_files(threads)
				   : workers_open(r.cfg->capture.interface, threads, &co)) == NULL) {
		rc = 1;
		goto out;
	}
	if (o.daemon) {
		if (daemon_detach() < 0) {
			rc = 1;
			goto out;
		}
		log_init("spanwatch", o.verbosity, 1);
	}
	if (pid_fd >= 0 && daemon_lock_pid(pid_fd, r.cfg->sensor.pidfile) < 0) {
		rc = 1;
		goto out;
	}
	if (r.cfg->sensor.user && daemon_drop_privileges(r.cfg->sensor.user) < 0) {
		rc = 1;
		goto out;
	}

	ao.use_syslog = !o.no_syslog;
	ao.block = o.read != NULL;	/* a replay never loses an alert to a full queue */
	if ((alerts = alerts_open(r.cfg, &ao)) == NULL) {
		rc = 1;
		goto out;
	}
	r.alerts = alerts;
	if (r.cfg->rrd.dir) {
		/* Reading files, packet time outruns the disk: wait for the
		 * writer rather than drop. Live, never wait. */
		struct rrdw_cfg wc = { .dir = r.cfg->rrd.dir, .rrdcached = r.cfg->rrd.rrdcached,
				       .step = r.cfg->rrd.step, .block = o.read != NULL };

		/* Locked before the writer touches it, where it exists. */
		snprintf(rrd_lock, sizeof rrd_lock, "%s/.spanwatch.lock", r.cfg->rrd.dir);
		if (lock_rrd_dir(r.cfg, rrd_lock, &rrd_fd) < 0) {
			rc = 1;
			goto out;
		}
		if ((rrdw = rrdw_open(&wc)) == NULL) {
			rc = 1;
			goto out;
		}
		/* A folder the writer has just made is locked now. */
		if (rrd_fd < 0 && lock_rrd_dir(r.cfg, rrd_lock, &rrd_fd) < 0) {
			rc = 1;
			goto out;
		}
	}
	if (r.cfg->clickhouse.url &&
	    (chw = chw_start(r.cfg, rrdw, alerts, o.read != NULL)) == NULL) {
		rc = 1;
		goto out;
	}
	r.chw = chw;
	if (watchdog_start(o.watchdog_s, NULL) < 0) {
		rc = 1;
		goto out;
	}
	pc.dpi_max_bytes = o.dpi_max_bytes;
	pc.max_flows = r.cfg->sensor.max_flows;
	collector_log_flow_state(pc.max_flows);
	pc.idle_timeout_s = r.cfg->sensor.idle_timeout;
	pc.step = r.cfg->rrd.step;
	pc.flow_log = o.flow_log;
	pc.cfg = r.cfg;
	pc.subs = r.subs;
	pc.rrdw = rrdw;
	pc.alerts = alerts;
	if (r.wk) {
		if (workers_start(r.wk, &pc) < 0) {
			workers_stop(r.wk);
			rc = 1;
			goto out;
		}
		if (start_metrics(&r, rrdw) < 0) {
			workers_stop(r.wk);
			rc = 1;
			goto out;
		}
		daemon_ready(0);
		if (o.read && !walk) {
			rc = capture_files(o.read, &co, on_frame, &r, &cs);
			if (workers_stop(r.wk) < 0)
				rc = -1;
		} else {
			rc = run_threads(&r);
		}
		goto finish_threads;
	}
	if ((r.pl = pipeline_new(&pc)) == NULL) {
		rc = 1;
		goto out;
	}
	if (start_metrics(&r, rrdw) < 0) {
		pipeline_free(r.pl);
		rc = 1;
		goto out;
	}
	daemon_ready(0);
	if (o.read)
		rc = capture_files(o.read, &co, on_frame, &r, &cs);
	else
		rc = capture_run(cap, &co, on_frame, &r, &cs);

	/* Everything seen is accounted and written, signal or not. */
	pipeline_set_drops(r.pl, cs.kernel_drops + cs.if_drops);
	pipeline_finish(r.pl);
	publish(&r, &cs);
	/* Written, or said what was lost: never exit 0 after losing it. */
	if (rrdw && rrdw_finish(rrdw) < 0)
		rc = -1;
	alerts_flush(alerts);
	if (chw_finish(chw) < 0)
		rc = -1;
	if (o.verbosity >= 0 && !o.daemon) {
		struct pipeline_stats ps;
		struct flow_stats fs;

		pipeline_get_stats(r.pl, &ps);
		pipeline_get_flow_stats(r.pl, &fs);
		summary(&ps, &fs, &cs, alerts);
	}
	if (pipeline_free(r.pl) < 0)
		rc = -1;
	rc = rc < 0 ? 1 : 0;
	goto out;

finish_threads:
	/* The threads have ended their flows and steps: write (or say what
	 * was lost: never exit 0 after losing it), then sum. */
	if (rrdw && rrdw_finish(rrdw) < 0)
		rc = -1;
	alerts_flush(alerts);
	if (chw_finish(chw) < 0)
		rc = -1;
	if (o.verbosity >= 0 && !o.daemon) {
		struct pipeline_stats ps;
		struct flow_stats fs;

		threads_stats(&r, &ps, &fs, &cs, 1);
		summary(&ps, &fs, &cs, alerts);
		for (unsigned i = 0; i < threads; i++) {
			struct capture_stats c;

			workers_get(r.wk, i, &ps, &fs, &c);
			char heavy[64];
			double share;

			workers_heavy(r.wk, i, heavy, sizeof heavy, &share);
			fprintf(stderr, "summary thread=%u packets=%llu ip_bytes=%llu flows=%llu "
				"peak_flows=%u drops=%llu top_subscriber=%s top_share=%.2f\n", i,
				(unsigned long long)ps.packets,
				(unsigned long long)ps.ip_bytes, (unsigned long long)ps.flows,
				fs.peak, (unsigned long long)(c.kernel_drops + c.if_drops),
				heavy[0] ? heavy : "-", share);
		}
	}
	rc = rc < 0 ? 1 : 0;
out:
	/* A detached sensor that never got ready tells the waiting -D. */
	daemon_ready(rc);
	watchdog_stop();
	metrics_stop(r.metrics);	/* it reads the workers, alerts, rrdw */
	if (workers_free(r.wk) < 0)
		rc = 1;
	capture_close(cap);
	if (rrdw_close(rrdw) < 0)
		rc = 1;
	(void)chw_finish(chw);	/* joins its thread, which may raise an alert */
	alerts_close(alerts);
	if (chw_close(chw) < 0)
		rc = 1;
	daemon_unlock(rrd_fd, rrd_lock);
	if (pid_fd >= 0)
		daemon_unlock(pid_fd, r.cfg->sensor.pidfile);
	submap_free(r.subs);
	config_free(r.cfg);
	free(r.cfg);
	while (r.retired) {
		struct retired *next = r.retired->next;

		submap_free(r.retired->subs);
		config_free(r.retired->cfg);
		free(r.retired->cfg);
		free(r.retired);
		r.retired = next;
	}
	return rc;
}
