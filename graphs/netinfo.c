/*
 * netinfo.c — the sensor's configuration as the dashboard reads it (see
 * netinfo.h).
 */
#include "netinfo.h"

#include "config.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_sub(const void *a, const void *b)
{
	return strcmp(((const struct netinfo_sub *)a)->name,
	    ((const struct netinfo_sub *)b)->name);
}

static struct netinfo_sub *
find(const struct netinfo *ni, const char *name)
{
	struct netinfo_sub key = { .name = (char *)name };

	if (ni == NULL || ni->nsubs == 0)
		return NULL;
	return bsearch(&key, ni->subs, ni->nsubs, sizeof *ni->subs, cmp_sub);
}

/* "CIDR NAME" lines; the sensor has checked the file, so a line that does
 * not split in two is skipped. Returns 0, or -1 (logged). */
static int
load_map(struct netinfo *ni, const char *path)
{
	char line[1024];
	size_t cap = 0, n = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		char cidr[128], name[128];
		char *hash = strchr(line, '#');

		if (hash != NULL)
			*hash = '\0';
		if (sscanf(line, "%127s %127s", cidr, name) != 2)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 256;
			struct netinfo_sub *v = realloc(ni->subs,
			    nc * sizeof *v);

			if (v == NULL)
				goto nomem;
			ni->subs = v;
			cap = nc;
		}
		ni->subs[n].name = strdup(name);
		ni->subs[n].prefixes = strdup(cidr);
		if (ni->subs[n].name == NULL || ni->subs[n].prefixes == NULL) {
			free(ni->subs[n].name);
			free(ni->subs[n].prefixes);
			goto nomem;
		}
		n++;
		ni->nsubs = n;
	}
	fclose(fp);
	qsort(ni->subs, n, sizeof *ni->subs, cmp_sub);
	/* Several prefixes of one name: fold them into the first entry. */
	{
		size_t o = 0;

		for (size_t i = 0; i < n; i++) {
			if (o > 0 && strcmp(ni->subs[o - 1].name,
			    ni->subs[i].name) == 0) {
				struct netinfo_sub *d = &ni->subs[o - 1];
				size_t a = strlen(d->prefixes),
				    b = strlen(ni->subs[i].prefixes);
				char *p;

				if (a + b + 2 <= NETINFO_PREFIXES_MAX &&
				    (p = realloc(d->prefixes, a + b + 2)) !=
				    NULL) {
					p[a] = ' ';
					memcpy(p + a + 1, ni->subs[i].prefixes,
					    b + 1);
					d->prefixes = p;
				}
				free(ni->subs[i].name);
				free(ni->subs[i].prefixes);
				continue;
			}
			ni->subs[o++] = ni->subs[i];
		}
		ni->nsubs = o;
	}
	return 0;
nomem:
	fclose(fp);
	log_err("out of memory");
	return -1;
}

/* "HEX40 label" lines: the labels, for the page. */
static int
load_allowlist(struct netinfo *ni, const char *path)
{
	char line[1100];
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, fp) != NULL) {
		char *p = line, *lab;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		ni->torrents_total++;
		lab = p + strcspn(p, " \t\n");
		lab += strspn(lab, " \t");
		len = strcspn(lab, "\n");
		if (ni->ntorrents == NETINFO_TORRENTS_MAX)
			continue;
		if (len == 0) {
			lab = p;
			len = strcspn(p, " \t\n");
		}
		ni->torrent[ni->ntorrents] = strndup(lab, len);
		if (ni->torrent[ni->ntorrents] == NULL) {
			fclose(fp);
			log_err("out of memory");
			return -1;
		}
		ni->ntorrents++;
	}
	fclose(fp);
	return 0;
}

int
netinfo_load(struct netinfo *ni, const char *path)
{
	struct sw_config c;
	char where[512];
	int rc = -1;

	memset(ni, 0, sizeof *ni);
	config_defaults(&c);
	if (config_load(&c, path) < 0)
		goto out;
	/* The default name is this host's: only a name the file sets
	 * names the sensor whose RRDs these are. */
	config_where(&c, "sensor", "name", where, sizeof where);
	if (strncmp(where, "[sensor]", 8) != 0)
		snprintf(ni->name, sizeof ni->name, "%s", c.sensor.name);
	if (c.smtp.exempt.n > 0) {
		ni->exempt = calloc(c.smtp.exempt.n, sizeof *ni->exempt);
		if (ni->exempt == NULL)
			goto nomem;
		for (size_t i = 0; i < c.smtp.exempt.n; i++) {
			ni->exempt[i] = strdup(c.smtp.exempt.name[i]);
			if (ni->exempt[i] == NULL)
				goto nomem;
			ni->nexempt++;
		}
	}
	if (c.subscribers.file != NULL && load_map(ni, c.subscribers.file) < 0)
		goto out;
	if (c.p2p.allowlist != NULL) {
		ni->allowlist = strdup(c.p2p.allowlist);
		if (ni->allowlist == NULL)
			goto nomem;
		if (load_allowlist(ni, c.p2p.allowlist) < 0)
			goto out;
	}
	if (c.clickhouse.url != NULL) {
		ni->ch_url = strdup(c.clickhouse.url);
		if (ni->ch_url == NULL)
			goto nomem;
		snprintf(ni->ch_db, sizeof ni->ch_db, "%s",
		    c.clickhouse.database);
		ni->ch_timeout = c.clickhouse.timeout;
	}
	rc = 0;
	goto out;
nomem:
	log_err("out of memory");
out:
	config_free(&c);
	if (rc < 0)
		netinfo_free(ni);
	return rc;
}

void
netinfo_free(struct netinfo *ni)
{
	for (size_t i = 0; i < ni->nexempt; i++)
		free(ni->exempt[i]);
	free(ni->exempt);
	for (size_t i = 0; i < ni->nsubs; i++) {
		free(ni->subs[i].name);
		free(ni->subs[i].prefixes);
	}
	free(ni->subs);
	for (size_t i = 0; i < ni->ntorrents; i++)
		free(ni->torrent[i]);
	free(ni->allowlist);
	free(ni->ch_url);
	memset(ni, 0, sizeof *ni);
}

int
netinfo_exempt(const struct netinfo *ni, const char *name)
{
	if (ni == NULL)
		return 0;
	for (size_t i = 0; i < ni->nexempt; i++)
		if (strcmp(ni->exempt[i], name) == 0)
			return 1;
	return 0;
}

const char *
netinfo_prefixes(const struct netinfo *ni, const char *name)
{
	const struct netinfo_sub *s = find(ni, name);

	return s ? s->prefixes : "";
}
