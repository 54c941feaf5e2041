/*
 * genconf.c — the --conf-dir files; see genconf.h.
 */
#include "genconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gen.h"
#include "netplan.h"

static FILE *open_in(const char *dir, const char *name, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (!fp)
		fprintf(stderr, "spanwatch-gen: %s: %s\n", path, strerror(errno));
	return fp;
}

static int close_checked(FILE *fp, const char *path)
{
	if (ferror(fp) | fclose(fp)) {
		fprintf(stderr, "spanwatch-gen: %s: write error\n", path);
		return -1;
	}
	return 0;
}

static int write_subscribers(const struct gen *g, const char *dir, char *path, size_t len)
{
	const struct netplan *n = g->net;
	FILE *fp = open_in(dir, "subscribers.txt", path, len);
	char name[32], a6[INET6_ADDRSTRLEN];
	uint8_t p6[16];

	if (!fp)
		return -1;
	fprintf(fp, "# subscriber map written by spanwatch-gen --seed %" PRIu64
		" --subscribers %u\n# CIDR NAME\n", g->o->seed, n->nsubs);
	for (uint32_t i = 0; i < n->nsubs; i++) {
		const struct sub *s = &n->subs[i];
		uint32_t net4 = s->v4len == 32 ? s->v4 : s->v4 - 1;

		net_sub_name(i, name, sizeof(name));
		fprintf(fp, "%u.%u.%u.%u/%u %s\n", net4 >> 24, net4 >> 16 & 255, net4 >> 8 & 255,
			net4 & 255, s->v4len, name);
		if (s->dual) {
			net_sub_prefix6(n, i, p6);
			inet_ntop(AF_INET6, p6, a6, sizeof(a6));
			fprintf(fp, "%s/%d %s\n", a6, NET_SUB6_LEN, name);
		}
	}
	return close_checked(fp, path);
}

static int write_allowlist(const struct gen *g, const char *dir, char *path, size_t len)
{
	FILE *fp = open_in(dir, "torrent-allowlist.txt", path, len);

	if (!fp)
		return -1;
	fprintf(fp, "# torrents that are never alerted on: INFO_HASH LABEL\n");
	for (uint32_t t = 0; t < NET_ALLOWED; t++) {
		for (int i = 0; i < 20; i++)
			fprintf(fp, "%02x", g->net->hash[t][i]);
		fprintf(fp, " %s\n", net_allow_label(t));
	}
	return close_checked(fp, path);
}

int genconf_write(const struct gen *g, const char *dir)
{
	char absdir[PATH_MAX], path[PATH_MAX + 64], a4[16], a6[INET6_ADDRSTRLEN], name[32];
	uint8_t r4[4], r6[16];
	const char *sep = "";
	FILE *fp;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "spanwatch-gen: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	/* absolute paths, so the configuration works from any directory */
	if (!realpath(dir, absdir)) {
		fprintf(stderr, "spanwatch-gen: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (write_subscribers(g, absdir, path, sizeof(path)) < 0 ||
	    write_allowlist(g, absdir, path, sizeof(path)) < 0)
		return -1;

	fp = open_in(absdir, "spanwatch.conf", path, sizeof(path));
	if (!fp)
		return -1;
	net_pool_addr(POOL_RELAY, 0, 0, r4);
	net_pool_addr(POOL_RELAY, 0, 1, r6);
	inet_ntop(AF_INET, r4, a4, sizeof(a4));
	inet_ntop(AF_INET6, r6, a6, sizeof(a6));
	fprintf(fp, "# spanwatch.conf written by spanwatch-gen --seed %" PRIu64
		" --subscribers %u\n# for the capture it wrote with the same options\n\n",
		g->o->seed, g->net->nsubs);
	fprintf(fp, "[subscribers]\nfile = %s/subscribers.txt\n\n", absdir);
	fprintf(fp, "[rrd]\nstep = %u\n\n", g->o->step);
	/* SPF off, said rather than left to the default: no resolver serves
	 * the generated senders' domains, and a replay of this capture must
	 * never ask live DNS about them. */
	fprintf(fp, "[smtp]\n# the ISP's submission relay (smtp.isp.example)\n"
		"relays = %s, %s\nports = 25, 587\n"
		"# no DNS server knows the generated domains: no SPF look-ups\nspf = off\n", a4, a6);
	for (uint32_t i = 0; i < g->net->nsubs; i++) {
		if (g->net->subs[i].role != ROLE_EXEMPT)
			continue;
		net_sub_name(i, name, sizeof(name));
		fprintf(fp, "%s%s", *sep ? ", " : "exempt = ", name);
		sep = ",";
	}
	fprintf(fp, "%s\n[p2p]\nallowlist = %s/torrent-allowlist.txt\n", *sep ? "\n" : "", absdir);
	return close_checked(fp, path);
}
