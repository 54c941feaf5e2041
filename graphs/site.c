/*
 * site.c — one dashboard run (see site.h).
 *
 * Work is bounded by what is shown, not by what exists: each subscriber
 * file is read once (a day at the step resolution, in subscan), and only
 * the top N of each table get graphs and a page, so thousands of
 * subscribers cost one fetch each and at most 2N x 4 images per sensor.
 */
#include "site.h"

#include "alertlog.h"
#include "log.h"
#include "mono.h"
#include "netinfo.h"
#include "pages.h"
#include "panels.h"
#include "render.h"
#include "rrdschema.h"
#include "section.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/* mkdir -p. Returns 0, or -1 (logged). */
static int
make_dirs(const char *path)
{
	char buf[4096];
	size_t len;

	len = (size_t)snprintf(buf, sizeof buf, "%s", path);
	if (len >= sizeof buf) {
		log_err("%s: path too long", path);
		return -1;
	}
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
			log_err("%s: %s", buf, strerror(errno));
			return -1;
		}
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

/* Seconds per row of the finest MIN archive rrdw gives sensor.rrd at
 * this step (its MAX archives match), or 0. */
static unsigned long
minmax_res(unsigned long step)
{
	struct rrdw_rra rra[RRDW_MAX_RRA];
	size_t n = rrdw_rras(RRDW_SENSOR, (unsigned)step, rra);

	for (size_t i = 0; i < n; i++)
		if (strcmp(rra[i].cf, "MIN") == 0)
			return rra[i].pdp_per_row * step;
	return 0;
}

static int
cmp_sub(const void *a, const void *b)
{
	const struct subpage *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->sec > y->sec) - (x->sec < y->sec);
}

/* Every subscriber in a table of any section, once per section, sorted.
 * Returns the count; *out is NULL only when there are none or memory
 * ran out (then -1 is returned). */
static long
collect_subs(const struct section *secs, size_t nsecs,
    struct subpage **out)
{
	size_t cap = 0, n = 0;
	struct subpage *v;

	for (size_t k = 0; k < nsecs; k++)
		for (int r = 0; r < SUBSCAN_NRANKS; r++)
			cap += secs[k].scan.ranks[r].n;
	*out = NULL;
	if (cap == 0)
		return 0;
	v = calloc(cap, sizeof *v);
	if (v == NULL)
		return -1;
	for (size_t k = 0; k < nsecs; k++) {
		size_t base = n;

		for (int r = 0; r < SUBSCAN_NRANKS; r++) {
			const struct rank *rk = &secs[k].scan.ranks[r];

			for (size_t i = 0; i < rk->n; i++) {
				int dup = 0;

				for (size_t d = base; d < n && !dup; d++)
					dup = strcmp(v[d].name,
					    rk->rows[i].name) == 0;
				/* A row from ClickHouse without a file has
				 * nothing to draw a page from. */
				if (dup || !section_has_file(&secs[k],
				    rk->rows[i].name))
					continue;
				snprintf(v[n].name, sizeof v[n].name, "%s",
				    rk->rows[i].name);
				v[n].sec = (unsigned)k;
				n++;
			}
		}
	}
	qsort(v, n, sizeof *v, cmp_sub);
	*out = v;
	return (long)n;
}

/* The subscriber index is written while the files are read: one JSON
 * array per file, so 20,000 subscribers cost no memory here. */
struct index_out {
	FILE *fp;
	const struct netinfo *ni;
	unsigned sec;
	size_t n;
};

static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/* '<' too: the index is loaded as a script. */
		if (c < 0x20 || c == '"' || c == '\\' || c == '<' || c >= 0x7f)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

static void
index_each(void *arg, const char *name, const double *v)
{
	struct index_out *o = arg;

	/* [name, section, prefixes, bytes in, bytes out, BitTorrent not
	 * allowlisted, allowlisted, direct SMTP, unauth SMTP, exempt] */
	fprintf(o->fp, "%s[", o->n ? ",\n" : "");
	json_str(o->fp, name);
	fprintf(o->fp, ",%u,", o->sec);
	json_str(o->fp, netinfo_prefixes(o->ni, name));
	fprintf(o->fp, ",%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%d]",
	    v[RRDW_U_BYTES_IN], v[RRDW_U_BYTES_OUT],
	    v[RRDW_U_BT_IN] + v[RRDW_U_BT_OUT],
	    v[RRDW_U_BT_ALLOW_IN] + v[RRDW_U_BT_ALLOW_OUT],
	    v[RRDW_U_SMTP_DIRECT], v[RRDW_U_SMTP_UNAUTH],
	    netinfo_exempt(o->ni, name));
	o->n++;
}

/* OUT_DIR/subindex.js from the entries in tmp: the sensors, every
 * subscriber file, the names that have a page. A script, not JSON: a
 * page opened from file:// may load a script but not fetch a file.
 * Returns 0, or -1 (logged). */
static int
index_write(const char *outdir, const char *entries,
    const struct section *secs, size_t nsec, const struct subpage *subs,
    long nsubs)
{
	char path[4200], tmp[4300], buf[65536];
	FILE *in, *fp;
	size_t r;
	int bad;

	snprintf(path, sizeof path, "%s/subindex.js", outdir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	in = fopen(entries, "r");
	if (in == NULL) {
		log_err("%s: %s", entries, strerror(errno));
		return -1;
	}
	fp = fopen(tmp, "w");
	if (fp == NULL) {
		log_err("%s: %s", tmp, strerror(errno));
		fclose(in);
		return -1;
	}
	fputs("/* spanwatch-graph: every subscriber file, for the search */\n"
	    "var SW_SENSORS = [", fp);
	for (size_t k = 0; k < nsec; k++) {
		fputs(k ? "," : "", fp);
		json_str(fp, secs[k].label);
	}
	fputs("];\nvar SW_INDEX = [\n", fp);
	while ((r = fread(buf, 1, sizeof buf, in)) > 0)
		fwrite(buf, 1, r, fp);
	bad = ferror(in);
	fclose(in);
	fputs("];\nvar SW_PAGES = {", fp);
	for (long i = 0; i < nsubs; i++) {
		fputs(i ? "," : "", fp);
		json_str(fp, subs[i].name);
		fputs(":1", fp);
	}
	fputs("};\n", fp);
	if (fclose(fp) != 0 || bad) {
		log_err("%s: write error", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		log_err("%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
site_build(const struct site_cfg *cfg)
{
	struct section *secs = NULL;
	struct section_jobs *sj = NULL;
	struct subpage *subs = NULL;
	struct alertlog alerts;
	struct netinfo ni;
	struct index_out ix = { 0 };
	char ixpath[4200] = "";
	int have_ni = 0;
	struct jobs js = { 0 };
	struct pages_in in;
	char tmpl[4096], dirbuf[4200];
	const char *tmpdir;
	double t0 = mono_s(), t1;
	long nsubs = 0;
	int rc = -1, have_alerts = 0, have_tmp = 0;
	size_t nsec = 0;

	memset(&alerts, 0, sizeof alerts);
	tmpdir = getenv("TMPDIR");
	snprintf(tmpl, sizeof tmpl, "%s/spanwatch-graph.XXXXXX",
	    tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		log_err("%s: %s", tmpl, strerror(errno));
		return -1;
	}
	have_tmp = 1;

	secs = calloc(cfg->ndirs, sizeof *secs);
	sj = calloc(cfg->ndirs, sizeof *sj);
	if (secs == NULL || sj == NULL) {
		log_err("out of memory");
		goto out;
	}
	if (cfg->conf != NULL) {
		if (netinfo_load(&ni, cfg->conf) < 0)
			goto out;
		have_ni = 1;
		ix.ni = &ni;
	}
	if (cfg->only == NULL) {
		snprintf(ixpath, sizeof ixpath, "%s/subindex.part", tmpl);
		ix.fp = fopen(ixpath, "w");
		if (ix.fp == NULL) {
			log_err("%s: %s", ixpath, strerror(errno));
			ixpath[0] = '\0';
			goto out;
		}
	}
	for (; nsec < cfg->ndirs; nsec++) {
		struct section_req rq = {
			.dir = cfg->dirs[nsec],
			.idx = (unsigned)nsec,
			.end = cfg->end,
			.top = cfg->top,
			.tmpdir = tmpl,
			.name = nsec < cfg->nnames ? cfg->names[nsec] :
			    cfg->ndirs == 1 && have_ni ? ni.name : NULL,
			.only = cfg->only,
			.each = ix.fp != NULL ? index_each : NULL,
			.arg = &ix,
			/* Only a section whose sensor has a name set can
			 * pick its rows; a folder's name is not one. */
			.ch_url = have_ni && nsec < cfg->nnames ? ni.ch_url :
			    cfg->ndirs == 1 && have_ni && ni.name[0] != '\0' ?
			    ni.ch_url : NULL,
			.ch_db = ni.ch_db,
			.ch_timeout = have_ni ? ni.ch_timeout : 0,
		};

		ix.sec = (unsigned)nsec;
		if (section_gather(&secs[nsec], &rq) < 0) {
			section_free(&secs[nsec]);
			goto out;
		}
		if (cfg->only != NULL && secs[nsec].scan.files == 0)
			log_warn("%s: no subscribers/%s.rrd", cfg->dirs[nsec],
			    cfg->only);
	}
	if (ix.fp != NULL) {
		int bad = ferror(ix.fp);

		if (fclose(ix.fp) != 0 || bad) {
			ix.fp = NULL;
			log_err("%s: write error", ixpath);
			goto out;
		}
		ix.fp = NULL;
	}

	/* Only now, so that a directory that cannot be read leaves no
	 * empty site behind. */
	snprintf(dirbuf, sizeof dirbuf, "%s/img", cfg->outdir);
	if (make_dirs(dirbuf) < 0)
		goto out;
	snprintf(dirbuf, sizeof dirbuf, "%s/sub/img", cfg->outdir);
	if (make_dirs(dirbuf) < 0)
		goto out;

	if (cfg->alerts != NULL) {
		/* From the start: a subscriber's page lists its history
		 * (the latest SITE_ALERTS_KEPT of the file). */
		time_t from = 0, to = secs[0].end;

		for (size_t k = 1; k < nsec; k++) {
			if (secs[k].end > to)
				to = secs[k].end;
		}
		if (alertlog_load(cfg->alerts, from, to, SITE_ALERTS_KEPT,
		    &alerts) < 0)
			goto out;
		have_alerts = 1;
		if (alerts.bad > 0)
			log_warn("%s: %zu lines are not alerts", cfg->alerts,
			    alerts.bad);
		/* One sensor without -n or [sensor] name: the name its
		 * latest alert gives. */
		if (nsec == 1 && cfg->nnames == 0 &&
		    !(have_ni && ni.name[0] != '\0'))
			for (size_t i = alerts.n; i-- > 0;) {
				const struct alert_rec *r =
				    alertlog_get(&alerts, i);

				if (r->sensor[0] == '\0')
					continue;
				snprintf(secs[0].label, sizeof secs[0].label,
				    "%s", r->sensor);
				break;
			}
	}
	if (cfg->only != NULL) {
		size_t n = 0;

		subs = calloc(nsec, sizeof *subs);
		if (subs == NULL) {
			log_err("out of memory");
			goto out;
		}
		for (size_t k = 0; k < nsec; k++)
			if (secs[k].scan.files > 0) {
				snprintf(subs[n].name, sizeof subs[n].name,
				    "%s", cfg->only);
				subs[n++].sec = (unsigned)k;
			}
		if (n == 0) {
			log_err("%s: no such subscriber file in any -o "
			    "directory", cfg->only);
			goto out;
		}
		nsubs = (long)n;
	} else

	nsubs = collect_subs(secs, nsec, &subs);
	if (nsubs < 0) {
		log_err("out of memory");
		goto out;
	}
	for (size_t k = 0; k < nsec; k++) {
		struct panel_env e = {
			.top = cfg->outdir,
			.sensor_rrd = secs[k].sensor_rrd,
			.inout_rrd = secs[k].inout_rrd[0] ? secs[k].inout_rrd :
			    NULL,
			.label = secs[k].label,
			.section = secs[k].idx,
			.start = secs[k].start,
			.end = secs[k].end,
			.minmax_res = minmax_res(secs[k].step),
			.alerts = have_alerts ? &alerts : NULL,
		};

		for (size_t i = 0; i < PANELS_NSCALES; i++)
			sj[k].scale_ok[i] = cfg->only == NULL &&
			    panels_scale_known(secs[k].sensor_rrd, i,
			    secs[k].end);
		e.scale_ok = sj[k].scale_ok;
		sj[k].overview[0] = js.n;
		if (cfg->only == NULL && panels_sensor(&js, &e) < 0)
			goto out;
		sj[k].overview[1] = sj[k].scales[0] = js.n;
		if (cfg->only == NULL && panels_fractal(&js, &e) < 0)
			goto out;
		sj[k].scales[1] = js.n;
		for (long i = 0; i < nsubs; i++) {
			char rrd[4300];

			if (subs[i].sec != k)
				continue;
			snprintf(rrd, sizeof rrd, "%s/subscribers/%s.rrd",
			    secs[k].dir, subs[i].name);
			subs[i].first = js.n;
			if (panels_subscriber(&js, &e, subs[i].name, rrd) < 0)
				goto out;
			subs[i].last = js.n;
		}
	}
	t1 = mono_s();

	memset(&in, 0, sizeof in);
	in.failed = render_all(&js, 0, js.n, cfg->workers);
	in.render_s = mono_s() - t1;
	in.gather_s = t1 - t0;
	in.top = cfg->outdir;
	in.secs = secs;
	in.sjobs = sj;
	in.nsecs = nsec;
	in.subs = subs;
	in.nsubs = (size_t)nsubs;
	in.jobs = &js;
	in.alerts = have_alerts ? &alerts : NULL;
	in.alerts_path = cfg->alerts;
	in.top_n = cfg->top;
	in.workers = cfg->workers;
	in.ni = have_ni ? &ni : NULL;
	in.conf = cfg->conf;
	in.cfg_dirs = cfg->dirs;
	in.alerts_arg = cfg->alerts;
	if (pages_subscribers(&in) < 0)
		goto out;
	if (cfg->only == NULL && (pages_index(&in) < 0 ||
	    index_write(cfg->outdir, ixpath, secs, nsec, subs, nsubs) < 0))
		goto out;
	if (!cfg->quiet) {
		size_t files = 0;

		for (size_t k = 0; k < nsec; k++)
			files += secs[k].scan.files;
		fprintf(stderr, "spanwatch-graph: %s/%s%s%s: %zu sensor "
		    "director%s, %zu subscriber files, %ld subscriber pages, "
		    "%zu images (%zu failed); read %.2f s, drew %.2f s\n",
		    cfg->outdir, cfg->only ? "sub/" : "index",
		    cfg->only ? cfg->only : "", ".html", nsec,
		    nsec == 1 ? "y" : "ies", files, nsubs,
		    js.n, in.failed, in.gather_s, in.render_s);
	}
	rc = in.failed > 0 ? -1 : 0;
	if (in.failed > 0)
		log_err("%zu of %zu images could not be drawn", in.failed,
		    js.n);
	/* Pages from the files alone when ClickHouse was asked and failed:
	 * written, but a timer's failure shows it (warned in section.c). */
	for (size_t k = 0; k < nsec; k++)
		if (secs[k].scan.ch < 0)
			rc = -1;
out:
	if (ix.fp != NULL)
		fclose(ix.fp);
	if (ixpath[0] != '\0')
		unlink(ixpath);
	if (have_ni)
		netinfo_free(&ni);
	for (size_t k = 0; k < nsec; k++)
		section_free(&secs[k]);
	if (have_tmp && rmdir(tmpl) < 0)
		log_warn("%s: %s", tmpl, strerror(errno));
	if (have_alerts)
		alertlog_free(&alerts);
	jobs_free(&js);
	free(subs);
	free(sj);
	free(secs);
	return rc;
}
