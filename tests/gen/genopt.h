/*
 * genopt.h — spanwatch-gen's command line: one table of typed options with
 * defaults and bounds, parsed with getopt_long; --help is printed from the
 * same table.
 */
#ifndef SPANWATCH_GEN_GENOPT_H
#define SPANWATCH_GEN_GENOPT_H

#include <stdint.h>

struct gen_opts {
	const char *out, *truth, *truth_flows, *conf_dir;
	const char *prefix4, *prefix6;
	uint64_t seed, packets, start;
	double duration, rate, alpha, bt_share, p2p_share, v6_share, mail_interval;
	double bt_bare;		/* share of BitTorrent swarms without evidence in clear */
	uint32_t subscribers, step, bots, exempt, max_flows, snaplen;
	uint32_t routine, switchers;	/* planned SMTP senders (pl_smtp.c) */
	int encap, daily, quiet, bots_set, help;
};

/* 0 ok, 1 --help was printed, -1 bad usage (message printed) */
int genopt_parse(struct gen_opts *o, int argc, char **argv);

#endif
