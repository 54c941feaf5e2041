/*
 * genopt.c — the option table and its parser; see genopt.h.
 */
#include "genopt.h"

#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

enum opt_type { OT_STR, OT_U32, OT_U64, OT_DBL, OT_FLAG, OT_ENCAP };

static const struct opt_def {
	const char *name;
	int shortopt;
	enum opt_type type;
	size_t off;
	double min, max;	/* bounds; for OT_ENCAP, min is the encapsulation */
	const char *arg, *help;
} opt_defs[] = {
	{ "write", 'w', OT_STR, offsetof(struct gen_opts, out), 0, 0, "FILE",
	  "pcap file to write ('-' = stdout); required" },
	{ "truth", 0, OT_STR, offsetof(struct gen_opts, truth), 0, 0, "FILE",
	  "per-subscriber, per-step ground truth (TSV)" },
	{ "truth-flows", 0, OT_STR, offsetof(struct gen_opts, truth_flows), 0, 0, "FILE",
	  "per-flow ground truth (TSV); default: the --truth name with .tsv\n"
	  "replaced by .flows.tsv" },
	{ "seed", 0, OT_U64, offsetof(struct gen_opts, seed), 0, 1.8e19, "N",
	  "randomness seed; same seed and options give the same bytes (1)" },
	{ "subscribers", 0, OT_U32, offsetof(struct gen_opts, subscribers), 1, 4e6, "N",
	  "number of subscribers (100)" },
	{ "packets", 0, OT_U64, offsetof(struct gen_opts, packets), 1, 1e13, "N",
	  "stop after N packets (default 100000 when no --duration)" },
	{ "duration", 0, OT_DBL, offsetof(struct gen_opts, duration), 0.001, 3.2e8, "SECONDS",
	  "stop at --start + SECONDS" },
	{ "rate", 0, OT_DBL, offsetof(struct gen_opts, rate), 0.01, 1e9, "PPS",
	  "mean aggregate packet rate (20 per subscriber); traffic is bursty, so\n"
	  "the rate over a short run can differ a lot" },
	{ "alpha", 0, OT_DBL, offsetof(struct gen_opts, alpha), 1.05, 1.95, "A",
	  "Pareto shape of ON and OFF periods; Hurst H = (3 - A) / 2 (1.4)" },
	{ "vlan", 0, OT_ENCAP, offsetof(struct gen_opts, encap), ENCAP_VLAN, 0, NULL,
	  "802.1Q tag per subscriber" },
	{ "qinq", 0, OT_ENCAP, offsetof(struct gen_opts, encap), ENCAP_QINQ, 0, NULL,
	  "802.1ad outer tag (0x88a8) per access node + 802.1Q inner tag" },
	{ "pppoe", 0, OT_ENCAP, offsetof(struct gen_opts, encap), ENCAP_PPPOE, 0, NULL,
	  "PPPoE session (0x8864) per subscriber, MTU 1492" },
	{ "conf-dir", 0, OT_STR, offsetof(struct gen_opts, conf_dir), 0, 0, "DIR",
	  "write subscribers.txt, torrent-allowlist.txt, spanwatch.conf there" },
	{ "step", 0, OT_U32, offsetof(struct gen_opts, step), 1, 86400, "SECONDS",
	  "truth step, aligned to multiples in Unix time (60)" },
	{ "start", 0, OT_U64, offsetof(struct gen_opts, start), 0, 4e9, "UNIX_TIME",
	  "time of the first packet (1767225600 = 2026-01-01 00:00 UTC)" },
	{ "prefix4", 0, OT_STR, offsetof(struct gen_opts, prefix4), 0, 0, "CIDR",
	  "subscribers' IPv4 space (100.64.0.0/10), a /32 or /29 each" },
	{ "prefix6", 0, OT_STR, offsetof(struct gen_opts, prefix6), 0, 0, "CIDR",
	  "subscribers' IPv6 space (2001:db8::/32), a /56 each" },
	{ "daily-cycle", 0, OT_FLAG, offsetof(struct gen_opts, daily), 0, 0, NULL,
	  "modulate activity by time of day (trough 04-06h, peak 20-22h UTC)" },
	{ "bots", 0, OT_U32, offsetof(struct gen_opts, bots), 0, 1e6, "N",
	  "spam-bot subscribers (1 per 250 subscribers, at least 1)" },
	{ "exempt", 0, OT_U32, offsetof(struct gen_opts, exempt), 0, 1e6, "N",
	  "subscribers running their own MTA, listed as [smtp] exempt (1)" },
	{ "bt-share", 0, OT_DBL, offsetof(struct gen_opts, bt_share), 0, 0.9, "FRACTION",
	  "share of subscribers using BitTorrent (0.1)" },
	{ "bt-bare", 0, OT_DBL, offsetof(struct gen_opts, bt_bare), 0, 1, "FRACTION",
	  "share of BitTorrent swarms joined encrypted only: no DHT, and a tracker announce"
	  " in clear only for allowlisted torrents (0)" },
	{ "p2p-share", 0, OT_DBL, offsetof(struct gen_opts, p2p_share), 0, 0.5, "FRACTION",
	  "share of subscribers using eDonkey or Gnutella (0.02)" },
	{ "v6-share", 0, OT_DBL, offsetof(struct gen_opts, v6_share), 0, 1, "FRACTION",
	  "share of dual-stack subscribers (0.5)" },
	{ "routine", 0, OT_U32, offsetof(struct gen_opts, routine), 0, 64, "N",
	  "routine direct-SMTP senders: even ones 12 sessions to 6 MX every hour,\n"
	  "odd ones the same burst nightly at a fixed hour +-20 min (0)" },
	{ "switchers", 0, OT_U32, offsetof(struct gen_opts, switchers), 0, 64, "N",
	  "subscribers who submit a few AUTH'd mails a day to the relay, then\n"
	  "send a burst of 40 direct sessions at --start + 30 h + 2 h each (0)" },
	{ "mail-interval", 0, OT_DBL, offsetof(struct gen_opts, mail_interval), 0.01, 1e7, "SECONDS",
	  "mean time between a mail user's sessions (1800)" },
	{ "max-flows", 0, OT_U32, offsetof(struct gen_opts, max_flows), 16, 5e7, "N",
	  "hard cap on concurrent flows; more are refused and counted (2000000)" },
	{ "snaplen", 0, OT_U32, offsetof(struct gen_opts, snaplen), 0, 65535, "N",
	  "capture only N bytes of each frame (0 = whole frames)" },
	{ "quiet", 'q', OT_FLAG, offsetof(struct gen_opts, quiet), 0, 0, NULL,
	  "no summary line on stderr" },
	{ "help", 'h', OT_FLAG, offsetof(struct gen_opts, help), 0, 0, NULL,
	  "this text" },
};

#define NOPTS (sizeof(opt_defs) / sizeof(opt_defs[0]))

static void usage(FILE *fp)
{
	fprintf(fp, "usage: spanwatch-gen -w FILE.pcap [options]\n"
		"Writes a synthetic ISP mirror-port capture and its ground truth.\n\n");
	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		char head[64];
		const char *h = d->help;

		if (d->shortopt)
			snprintf(head, sizeof(head), "-%c, --%s%s%s", d->shortopt, d->name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(head, sizeof(head), "    --%s%s%s", d->name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		fprintf(fp, "  %-30s ", head);
		/* continuation lines of the help text line up under the first */
		for (; *h; h++) {
			fputc(*h, fp);
			if (*h == '\n')
				fprintf(fp, "  %-30s ", "");
		}
		fputc('\n', fp);
	}
	fprintf(fp, "\nSee tests/gen/README.md for the traffic model and truth formats.\n");
}

static int set_value(struct gen_opts *o, const struct opt_def *d, const char *arg)
{
	char *p = (char *)o + d->off;
	char *end = NULL;
	double v = 0;

	switch (d->type) {
	case OT_STR:
		*(const char **)(void *)p = arg;
		return 0;
	case OT_FLAG:
		*(int *)(void *)p = 1;
		return 0;
	case OT_ENCAP:
		if (o->encap != ENCAP_ETH && o->encap != (int)d->min) {
			fprintf(stderr, "spanwatch-gen: --vlan, --qinq and --pppoe exclude each other\n");
			return -1;
		}
		*(int *)(void *)p = (int)d->min;
		return 0;
	case OT_U32:
	case OT_U64:
		if (*arg == '-')
			break;
		v = (double)strtoull(arg, &end, 10);
		break;
	case OT_DBL:
		v = strtod(arg, &end);
		break;
	}
	if (!end || end == arg || *end || !isfinite(v) || v < d->min || v > d->max) {
		fprintf(stderr, "spanwatch-gen: --%s: bad value '%s' (expected %g..%g)\n",
			d->name, arg, d->min, d->max);
		return -1;
	}
	if (d->type == OT_U32)
		*(uint32_t *)(void *)p = (uint32_t)strtoull(arg, NULL, 10);
	else if (d->type == OT_U64)
		*(uint64_t *)(void *)p = strtoull(arg, NULL, 10);
	else
		*(double *)(void *)p = v;
	if (d->off == offsetof(struct gen_opts, bots))
		o->bots_set = 1;
	return 0;
}

int genopt_parse(struct gen_opts *o, int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	char shorts[2 * NOPTS + 1];
	size_t ns = 0;
	int c, idx;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->subscribers = 100;
	o->start = 1767225600;
	o->alpha = 1.4;
	o->step = 60;
	o->exempt = 1;
	o->bt_share = 0.1;
	o->p2p_share = 0.02;
	o->v6_share = 0.5;
	o->mail_interval = 1800;
	o->max_flows = 2000000;
	o->prefix4 = "100.64.0.0/10";
	o->prefix6 = "2001:db8::/32";
	o->encap = ENCAP_ETH;

	for (size_t i = 0; i < NOPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		int needs = d->type != OT_FLAG && d->type != OT_ENCAP;

		lo[i].name = d->name;
		lo[i].has_arg = needs ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
		if (d->shortopt) {
			shorts[ns++] = (char)d->shortopt;
			if (needs)
				shorts[ns++] = ':';
		}
	}
	lo[NOPTS] = (struct option){ 0 };
	shorts[ns] = '\0';

	opterr = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, &idx)) != -1) {
		const struct opt_def *d = NULL;

		if (c >= 256) {
			d = &opt_defs[c - 256];
		} else {
			for (size_t i = 0; i < NOPTS; i++)
				if (opt_defs[i].shortopt == c)
					d = &opt_defs[i];
		}
		if (!d) {
			fprintf(stderr, "Try 'spanwatch-gen --help'.\n");
			return -1;
		}
		if (set_value(o, d, optarg) < 0)
			return -1;
	}
	if (o->help) {
		usage(stdout);
		return 1;
	}
	if (optind < argc) {
		fprintf(stderr, "spanwatch-gen: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!o->out) {
		fprintf(stderr, "spanwatch-gen: -w FILE is required (see --help)\n");
		return -1;
	}
	if (!o->packets && o->duration <= 0)
		o->packets = 100000;
	if (!o->bots_set)
		o->bots = o->subscribers / 250 ? o->subscribers / 250 : 1;
	if ((uint64_t)o->bots + o->exempt + o->routine + o->switchers > o->subscribers) {
		fprintf(stderr, "spanwatch-gen: --bots + --exempt + --routine + --switchers "
			"exceed --subscribers\n");
		return -1;
	}
	if (o->bt_share + o->p2p_share > 1) {
		fprintf(stderr, "spanwatch-gen: --bt-share + --p2p-share exceed 1\n");
		return -1;
	}
	if (o->rate <= 0)
		o->rate = 20.0 * o->subscribers;
	return 0;
}
