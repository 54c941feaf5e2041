/*
 * panels.c — the dashboard's graph definitions (see panels.h).
 *
 * rrdtool graph arguments are colon-separated: a colon inside an RRD path
 * must be written "\:" (rrdgraph_data(1)), so every path goes through
 * esc_path. Legends are constants here, written without colons.
 *
 * The sensor overview's and the subscriber page's panels are those the
 * collectors' descriptors declare (collector_desc.h), drawn by
 * declared(); this file names no concern's data source but the sensor's
 * bytes, for the five-scale view.
 */
#include "panels.h"

#include "collector_desc.h"
#include "series.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

const struct panel_scale panels_scales[PANELS_NSCALES] = {
	{ "hour", 3600 },
	{ "day", 86400 },
	{ "week", 7 * 86400 },
	{ "month", 31 * 86400 },
	{ "year", 365 * 86400 },
};

#define W_BIG 540
#define H_BIG 150
#define W_SMALL 300
#define H_SMALL 120

static const struct {
	const char *kind;
	const char *color;
} mark_colors[] = {
	{ "smtp_direct", "#d62728" },
	{ "smtp_surge", "#ff7f0e" },
	{ "bt_volume", "#9467bd" },
	{ "capture_drops", "#8c564b" },
	{ "flow_table_full", "#e377c2" },
};

static const char *
mark_color(const char *kind)
{
	for (size_t i = 0; i < sizeof mark_colors / sizeof mark_colors[0]; i++)
		if (strcmp(mark_colors[i].kind, kind) == 0)
			return mark_colors[i].color;
	return "#7f7f7f";
}

/* path with ':' escaped for a DEF; bounded by out's size. */
static const char *
esc_path(const char *path, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = path; *p != '\0' && o + 2 < len; p++) {
		if (*p == ':')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o] = '\0';
	return out;
}

/* Keeps legends to rrdtool-safe characters: kinds and names come from
 * files, and a colon would end the legend. */
static void
safe_text(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = in; *p != '\0' && o + 1 < len; p++)
		out[o++] = (*p == ':' || *p == '\\' || (unsigned char)*p < 0x20)
		    ? '_' : *p;
	out[o] = '\0';
}

static void
common(struct job *j, time_t start, time_t end, int w, int h,
    const char *title, const char *vlabel)
{
	job_arg(j, "--start=%lld", (long long)start);
	job_arg(j, "--end=%lld", (long long)end);
	job_arg(j, "--width=%d", w);
	job_arg(j, "--height=%d", h);
	job_arg(j, "--title=%s", title);
	job_arg(j, "--vertical-label=%s", vlabel);
	/* Zero stays on the axis: a flat line near a peak's value reads
	 * as a trough otherwise. */
	job_arg(j, "--lower-limit=0");
	job_arg(j, "--imgformat=PNG");
	job_arg(j, "--slope-mode");
	job_arg(j, "--border=0");
	job_arg(j, "--color=BACK#ffffff");
	job_arg(j, "--color=SHADEA#ffffff");
	job_arg(j, "--color=SHADEB#ffffff");
	job_arg(j, "--disable-rrdtool-tag");
}

/* Vertical marks for the alerts in [start, end] (of subscriber name, or
 * all with name NULL): the latest PANELS_MAX_MARKS, a legend entry for the
 * first mark of each kind. */
static void
alert_marks(struct job *j, const struct panel_env *e, const char *name,
    time_t start, time_t end)
{
	const struct alertlog *al = e->alerts;
	const struct alert_rec *pick[PANELS_MAX_MARKS];
	size_t np = 0;

	if (al == NULL)
		return;
	for (size_t i = al->n; i-- > 0 && np < PANELS_MAX_MARKS;) {
		const struct alert_rec *r = alertlog_get(al, i);

		if (r->ts < start || r->ts > end)
			continue;
		if (name != NULL && strcmp(r->subscriber, name) != 0)
			continue;
		pick[np++] = r;
	}
	for (size_t i = 0; i < np; i++) {
		char kind[ALERTLOG_KIND_MAX + 1];
		int first = 1;

		for (size_t k = 0; k < i; k++)
			if (strcmp(pick[k]->kind, pick[i]->kind) == 0)
				first = 0;
		safe_text(pick[i]->kind, kind, sizeof kind);
		if (first)
			job_arg(j, "VRULE:%lld%s:alert %s", (long long)pick[i]->ts,
			    mark_color(pick[i]->kind), kind);
		else
			job_arg(j, "VRULE:%lld%s", (long long)pick[i]->ts,
			    mark_color(pick[i]->kind));
	}
}

/* The sensor's own count of alerts as ticks, when no JSON file says which
 * alert was which. */
static void
alert_ticks(struct job *j, const struct panel_env *e, const char *srrd)
{
	if (e->alerts != NULL)
		return;
	job_arg(j, "DEF:alerts=%s:alerts:AVERAGE", srrd);
	job_arg(j, "TICK:alerts#d6272899:1:alerts raised");
}

/* Average and maximum of vname, and its total if tot names a rate in
 * units per second (it is then summed over time). Rates of bits and
 * packets take SI prefixes; small counts (sessions, recipients per
 * minute) are written plainly, "0.47" rather than "466.7 m". */
static void
stats(struct job *j, const char *vname, const char *unit, const char *tot,
    const char *totunit, int si)
{
	const char *f = si ? "%6.1lf %s" : "%7.2lf ";

	/* Unknown steps count as nothing in the figures printed: a
	 * subscriber file exists only from its first traffic on, and a
	 * window with no known step would print "nan". */
	job_arg(j, "CDEF:%s_z=%s,UN,0,%s,IF", vname, vname, vname);
	job_arg(j, "VDEF:%s_avg=%s_z,AVERAGE", vname, vname);
	job_arg(j, "VDEF:%s_max=%s_z,MAXIMUM", vname, vname);
	job_arg(j, "GPRINT:%s_avg:avg %s%s", vname, f, unit);
	job_arg(j, "GPRINT:%s_max:max %s%s%s", vname, f, unit,
	    tot ? "" : "\\n");
	if (tot != NULL) {
		if (strcmp(tot, vname) != 0)
			job_arg(j, "CDEF:%s_z=%s,UN,0,%s,IF", tot, tot, tot);
		job_arg(j, "VDEF:%s_tot=%s_z,TOTAL", tot, tot);
		job_arg(j, "GPRINT:%s_tot:total %s%s\\n", tot,
		    si ? "%6.1lf %s" : "%6.0lf ", totunit);
	}
}

static struct job *
new_job(struct jobs *js, const struct panel_env *e, const char *what,
    const char *alt)
{
	char rel[256];

	snprintf(rel, sizeof rel, "img/s%u-%s.png", e->section, what);
	return jobs_add(js, e->top, rel, alt);
}

/* arg with "{rrd}" and "{inout}" replaced by their paths. Returns 0, or
 * -1 if the result does not fit out. */
static int
expand(const char *arg, const char *rrd, const char *io, char *out,
    size_t len)
{
	size_t o = 0;

	for (const char *p = arg; *p != '\0';) {
		const char *put = NULL;
		size_t n;

		if (strncmp(p, "{rrd}", 5) == 0) {
			put = rrd;
			p += 5;
		} else if (strncmp(p, "{inout}", 7) == 0) {
			put = io != NULL ? io : "";
			p += 7;
		}
		if (put == NULL) {
			if (o + 1 >= len)
				return -1;
			out[o++] = *p++;
			continue;
		}
		n = strlen(put);
		if (o + n >= len)
			return -1;
		memcpy(out + o, put, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* A panel of the line form: one line per data source (DEF, scaled, AREA
 * or LINE1) and its figures. */
static void
lines(struct job *j, const struct collector_panel *pa, const char *rrd)
{
	char v[16], sv[16];

	for (size_t l = 0; l < pa->nlines && l < COLLECTOR_PANEL_LINES; l++) {
		const struct collector_line *li = &pa->line[l];

		snprintf(v, sizeof v, "d%zu", l);
		snprintf(sv, sizeof sv, "d%zus", l);
		job_arg(j, "DEF:%s=%s:%s:AVERAGE", v, rrd, li->ds);
		job_arg(j, "CDEF:%s=%s,%u,*", sv, v, li->scale ? li->scale : 1);
		job_arg(j, "%s:%s%s:%s%s", li->area ? "AREA" : "LINE1", sv,
		    li->color, li->legend, li->stack ? ":STACK" : "");
		stats(j, sv, "", li->unit ? v : NULL, li->unit, 0);
	}
}

/* A panel of the argument form; io the escaped in/out sum or NULL. */
static void
args(struct job *j, const struct collector_panel *pa, const char *rrd,
    const char *io)
{
	char buf[3 * 4096];

	for (size_t i = 0; i < pa->nargs; i++) {
		const struct collector_arg *ar = &pa->args[i];

		if ((ar->need & COLLECTOR_NEED_INOUT) && io == NULL)
			continue;
		if (ar->arg == NULL)
			stats(j, ar->vname, ar->unit, ar->tot, ar->totunit,
			    ar->si);
		else if (expand(ar->arg, rrd, io, buf, sizeof buf) < 0)
			j->broken = 1;
		else
			job_arg(j, "%s", buf);
	}
}

#define MAX_PANELS 64	/* of one kind, all concerns together */

static unsigned
order_key(const struct collector_panel *pa)
{
	return pa->order != 0 ? pa->order : UINT_MAX;
}

/* The panels the collectors' descriptors declare for files of this kind,
 * by order then registry order, each followed by the alert marks. rrd is
 * the file's path and io the in/out sum's (NULL: none), both already
 * escaped; name the subscriber (NULL: the sensor). */
static int
declared(struct jobs *js, const struct panel_env *e, enum rrdw_kind kind,
    const char *name, const char *rrd, const char *io)
{
	const struct collector_panel *pick[MAX_PANELS];
	char rel[256], alt[256], title[512];
	time_t a = e->start, b = e->end;
	size_t np = 0;
	struct job *j;

	for (size_t c = 0; collector_descs[c] != NULL; c++)
	for (size_t p = 0; p < collector_descs[c]->npanels; p++) {
		const struct collector_panel *pa = &collector_descs[c]->panels[p];
		size_t k;

		if (pa->kind != kind || np == MAX_PANELS)
			continue;
		/* insertion, after the equal ones: stable */
		for (k = np; k > 0 && order_key(pick[k - 1]) > order_key(pa); k--)
			pick[k] = pick[k - 1];
		pick[k] = pa;
		np++;
	}
	for (size_t p = 0; p < np; p++) {
		const struct collector_panel *pa = pick[p];

		if (name == NULL) {
			snprintf(rel, sizeof rel, "img/s%u-%s.png", e->section,
			    pa->what);
			snprintf(alt, sizeof alt, "%s",
			    pa->alt != NULL ? pa->alt : pa->title);
			snprintf(title, sizeof title, "%s  %s", e->label,
			    pa->title);
		} else {
			snprintf(rel, sizeof rel, "sub/img/s%u-%s-%s.png",
			    e->section, name, pa->what);
			snprintf(alt, sizeof alt, "%s: %s", name, pa->title);
			snprintf(title, sizeof title, "%s  %s  (%s)", name,
			    pa->title, e->label);
		}
		if ((j = jobs_add(js, e->top, rel, alt)) == NULL)
			return -1;
		common(j, a, b, W_BIG, H_BIG, title, pa->vlabel);
		if (pa->args != NULL)
			args(j, pa, rrd, io);
		else
			lines(j, pa, rrd);
		if (pa->flags & COLLECTOR_PANEL_TICKS)
			alert_ticks(j, e, rrd);
		alert_marks(j, e, name, a, b);
	}
	return 0;
}

int
panels_sensor(struct jobs *js, const struct panel_env *e)
{
	char s[4096], io[4096];

	esc_path(e->sensor_rrd, s, sizeof s);
	if (e->inout_rrd != NULL)
		esc_path(e->inout_rrd, io, sizeof io);
	return declared(js, e, RRDW_SENSOR, NULL, s,
	    e->inout_rrd != NULL ? io : NULL);
}

int
panels_scale_known(const char *sensor_rrd, size_t k, time_t end)
{
	const struct panel_scale *sc = &panels_scales[k];
	struct series s;
	char why[256];
	int col, known = 0;

	/* rrdtool graph asks each DEF for a pixel's worth of seconds;
	 * rrd_fetch then picks the archive exactly as it does here. */
	if (series_fetch(sensor_rrd, "AVERAGE", end - sc->span, end,
	    (unsigned long)(sc->span / W_SMALL), &s, why, sizeof why) < 0)
		return 0;
	col = series_ds(&s, "bytes");
	for (size_t i = 0; col >= 0 && i < s.rows && !known; i++)
		known = isfinite(series_get(&s, i, col));
	series_free(&s);
	return known;
}

int
panels_fractal(struct jobs *js, const struct panel_env *e)
{
	char s[4096], what[32], alt[128], title[512];

	esc_path(e->sensor_rrd, s, sizeof s);
	for (size_t k = 0; k < PANELS_NSCALES; k++) {
		const struct panel_scale *sc = &panels_scales[k];
		struct job *j;

		if (e->scale_ok != NULL && !e->scale_ok[k])
			continue;
		snprintf(what, sizeof what, "scale-%s", sc->name);
		snprintf(alt, sizeof alt, "traffic over the last %s: average "
		    "and min-max envelope", sc->name);
		snprintf(title, sizeof title, "%s  last %s", e->label,
		    sc->name);
		if ((j = new_job(js, e, what, alt)) == NULL)
			return -1;
		common(j, e->end - sc->span, e->end, W_SMALL, H_SMALL, title,
		    "bit/s");
		/* The envelope is drawn as an invisible area up to the
		 * minimum with the spread stacked on it. The finest archive
		 * has no MIN/MAX (one step's min and max are its average):
		 * asking for the MIN/MAX archives' resolution at least
		 * makes the hour view show the range of step averages
		 * within each 5 minutes instead of a band of zero width. */
		job_arg(j, "DEF:avg=%s:bytes:AVERAGE", s);
		if (e->minmax_res > 0) {
			job_arg(j, "DEF:mn=%s:bytes:MIN:step=%lu", s,
			    e->minmax_res);
			job_arg(j, "DEF:mx=%s:bytes:MAX:step=%lu", s,
			    e->minmax_res);
		} else {
			job_arg(j, "DEF:mn=%s:bytes:MIN", s);
			job_arg(j, "DEF:mx=%s:bytes:MAX", s);
		}
		job_arg(j, "CDEF:avgb=avg,8,*");
		job_arg(j, "CDEF:mnb=mn,8,*");
		job_arg(j, "CDEF:spread=mx,mn,-,8,*");
		job_arg(j, "AREA:mnb#ffffff00");
		job_arg(j, "AREA:spread#c6dbef:min to max:STACK");
		job_arg(j, "LINE1:avgb#08519c:average\\n");
		job_arg(j, "VDEF:avgb_avg=avgb,AVERAGE");
		/* The MAX archive may lag the average by a row. */
		job_arg(j, "CDEF:mxb=mx,UN,avgb,mx,8,*,IF");
		job_arg(j, "VDEF:mxb_max=mxb,MAXIMUM");
		job_arg(j, "GPRINT:avgb_avg:avg %%.1lf %%sbit/s");
		job_arg(j, "GPRINT:mxb_max:peak %%.1lf %%sbit/s");
	}
	return 0;
}

int
panels_subscriber(struct jobs *js, const struct panel_env *e,
    const char *name, const char *sub_rrd)
{
	char u[4096];

	esc_path(sub_rrd, u, sizeof u);
	return declared(js, e, RRDW_SUBSCRIBER, name, u, NULL);
}
