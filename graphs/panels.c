/*
 * panels.c — the dashboard's graph definitions (see panels.h).
 *
 * rrdtool graph arguments are colon-separated: a colon inside an RRD path
 * must be written "\:" (rrdgraph_data(1)), so every path goes through
 * esc_path. Legends are constants here, written without colons.
 *
 * After the built-in panels come those the collectors' descriptors
 * declare (collector_desc.h), drawn by declared().
 */
#include "panels.h"

#include "collector_desc.h"
#include "series.h"

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

/* The panels the collectors' descriptors declare for files of this kind,
 * in registry order, after the built-in ones: one line per data source
 * (DEF, scaled, AREA or LINE1), its figures, the alert marks. rrd is the
 * file's path, already escaped; name the subscriber (NULL: the sensor). */
static int
declared(struct jobs *js, const struct panel_env *e, enum rrdw_kind kind,
    const char *name, const char *rrd)
{
	char rel[256], alt[256], title[512], v[16], sv[16];
	time_t a = e->start, b = e->end;
	struct job *j;

	for (size_t c = 0; collector_descs[c] != NULL; c++)
	for (size_t p = 0; p < collector_descs[c]->npanels; p++) {
		const struct collector_panel *pa = &collector_descs[c]->panels[p];

		if (pa->kind != kind)
			continue;
		if (name == NULL) {
			snprintf(rel, sizeof rel, "img/s%u-%s.png", e->section,
			    pa->what);
			snprintf(alt, sizeof alt, "%s", pa->title);
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
		for (size_t l = 0; l < pa->nlines && l < COLLECTOR_PANEL_LINES;
		    l++) {
			const struct collector_line *li = &pa->line[l];

			snprintf(v, sizeof v, "d%zu", l);
			snprintf(sv, sizeof sv, "d%zus", l);
			job_arg(j, "DEF:%s=%s:%s:AVERAGE", v, rrd, li->ds);
			job_arg(j, "CDEF:%s=%s,%u,*", sv, v,
			    li->scale ? li->scale : 1);
			job_arg(j, "%s:%s%s:%s%s", li->area ? "AREA" : "LINE1",
			    sv, li->color, li->legend, li->stack ? ":STACK" : "");
			stats(j, sv, "", li->unit ? v : NULL, li->unit, 0);
		}
		alert_marks(j, e, name, a, b);
	}
	return 0;
}

int
panels_sensor(struct jobs *js, const struct panel_env *e)
{
	char s[4096], io[4096], title[512];
	time_t a = e->start, b = e->end;
	struct job *j;

	esc_path(e->sensor_rrd, s, sizeof s);

	snprintf(title, sizeof title, "%s  traffic", e->label);
	if ((j = new_job(js, e, "traffic", "traffic, bits per second")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "bit/s");
	job_arg(j, "DEF:b=%s:bytes:AVERAGE", s);
	job_arg(j, "CDEF:bits=b,8,*");
	if (e->inout_rrd != NULL) {
		esc_path(e->inout_rrd, io, sizeof io);
		job_arg(j, "DEF:i=%s:in:AVERAGE", io);
		job_arg(j, "DEF:o=%s:out:AVERAGE", io);
		job_arg(j, "CDEF:ib=i,8,*");
		job_arg(j, "CDEF:ob=o,8,*");
		job_arg(j, "AREA:ib#74c476:to subscribers (sum of their files)");
		job_arg(j, "AREA:ob#6baed6:from subscribers\\n:STACK");
	}
	job_arg(j, "LINE1:bits#000000:all bytes seen by the sensor");
	stats(j, "bits", "bit/s", "b", "B", 1);
	alert_ticks(j, e, s);
	alert_marks(j, e, NULL, a, b);

	snprintf(title, sizeof title, "%s  packets", e->label);
	if ((j = new_job(js, e, "packets", "packets per second")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "packets/s");
	job_arg(j, "DEF:p=%s:packets:AVERAGE", s);
	job_arg(j, "AREA:p#9ecae1");
	job_arg(j, "LINE1:p#3182bd:packets/s");
	stats(j, "p", "", "p", "packets", 1);
	alert_ticks(j, e, s);
	alert_marks(j, e, NULL, a, b);

	snprintf(title, sizeof title, "%s  capture drops", e->label);
	if ((j = new_job(js, e, "drops", "packets dropped per second")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "drops/s");
	job_arg(j, "DEF:d=%s:drops:AVERAGE", s);
	job_arg(j, "AREA:d#d62728:dropped packets/s");
	stats(j, "d", "", "d", "packets", 1);
	alert_marks(j, e, NULL, a, b);

	snprintf(title, sizeof title, "%s  flows", e->label);
	if ((j = new_job(js, e, "flows", "active flows and new flows")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "flows");
	job_arg(j, "DEF:fa=%s:flows_active:AVERAGE", s);
	job_arg(j, "DEF:fn=%s:flows_new:AVERAGE", s);
	/* New flows per minute share the axis with the active count: both
	 * are counts of flows, and per minute keeps them comparable. */
	job_arg(j, "CDEF:fnm=fn,60,*");
	job_arg(j, "AREA:fa#c7e9c0:active flows");
	stats(j, "fa", "", NULL, NULL, 1);
	job_arg(j, "LINE1:fnm#31a354:new flows per minute");
	stats(j, "fnm", "", "fn", "flows", 1);
	alert_marks(j, e, NULL, a, b);

	snprintf(title, sizeof title, "%s  BitTorrent and unclassified share",
	    e->label);
	if ((j = new_job(js, e, "share",
	    "BitTorrent and unclassified share of bytes")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "% of bytes");
	job_arg(j, "--upper-limit=100");
	job_arg(j, "DEF:b=%s:bytes:AVERAGE", s);
	job_arg(j, "DEF:bt=%s:bt_bytes:AVERAGE", s);
	job_arg(j, "DEF:u=%s:unknown_bytes:AVERAGE", s);
	job_arg(j, "CDEF:bts=b,0,GT,bt,b,/,100,*,UNKN,IF");
	job_arg(j, "CDEF:us=b,0,GT,u,b,/,100,*,UNKN,IF");
	job_arg(j, "AREA:bts#9467bd:BitTorrent (all, allowlisted too)");
	stats(j, "bts", "%%", NULL, NULL, 1);
	job_arg(j, "LINE1:us#7f7f7f:unclassified by nDPI");
	stats(j, "us", "%%", NULL, NULL, 1);
	alert_marks(j, e, NULL, a, b);

	snprintf(title, sizeof title, "%s  SMTP sessions", e->label);
	if ((j = new_job(js, e, "smtp", "SMTP sessions per minute")) == NULL)
		return -1;
	common(j, a, b, W_BIG, H_BIG, title, "sessions/min");
	job_arg(j, "DEF:sm=%s:smtp_sess:AVERAGE", s);
	job_arg(j, "CDEF:smm=sm,60,*");
	job_arg(j, "AREA:smm#fdae6b");
	job_arg(j, "LINE1:smm#e6550d:SMTP sessions per minute");
	stats(j, "smm", "", "sm", "sessions", 0);
	alert_ticks(j, e, s);
	alert_marks(j, e, NULL, a, b);
	return declared(js, e, RRDW_SENSOR, NULL, s);
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
	char u[4096], rel[256], alt[256], title[512];
	time_t a = e->start, b = e->end;
	struct job *j;

	esc_path(sub_rrd, u, sizeof u);

#define SUBJOB(what, text)                                                 \
	do {                                                               \
		snprintf(rel, sizeof rel, "sub/img/s%u-%s-%s.png",         \
		    e->section, name, what);                               \
		snprintf(alt, sizeof alt, "%s: %s", name, text);           \
		snprintf(title, sizeof title, "%s  %s  (%s)", name, text,  \
		    e->label);                                             \
		if ((j = jobs_add(js, e->top, rel, alt)) == NULL)          \
			return -1;                                         \
	} while (0)

	SUBJOB("traffic", "traffic");
	common(j, a, b, W_BIG, H_BIG, title, "bit/s  (out below 0)");
	job_arg(j, "DEF:i=%s:bytes_in:AVERAGE", u);
	job_arg(j, "DEF:o=%s:bytes_out:AVERAGE", u);
	job_arg(j, "CDEF:ib=i,8,*");
	job_arg(j, "CDEF:ob=o,8,*");
	job_arg(j, "CDEF:obn=o,-8,*");
	job_arg(j, "AREA:ib#74c476:in ");
	stats(j, "ib", "bit/s", "i", "B", 1);
	job_arg(j, "AREA:obn#6baed6:out");
	stats(j, "ob", "bit/s", "o", "B", 1);
	job_arg(j, "HRULE:0#000000");
	alert_marks(j, e, name, a, b);

	SUBJOB("bt", "BitTorrent and P2P");
	common(j, a, b, W_BIG, H_BIG, title, "bit/s");
	job_arg(j, "DEF:bi=%s:bt_in:AVERAGE", u);
	job_arg(j, "DEF:bo=%s:bt_out:AVERAGE", u);
	job_arg(j, "DEF:ai=%s:bt_allow_in:AVERAGE", u);
	job_arg(j, "DEF:ao=%s:bt_allow_out:AVERAGE", u);
	job_arg(j, "DEF:pi=%s:p2p_in:AVERAGE", u);
	job_arg(j, "DEF:po=%s:p2p_out:AVERAGE", u);
	job_arg(j, "CDEF:plain=bi,bo,+");
	job_arg(j, "CDEF:allow=ai,ao,+");
	job_arg(j, "CDEF:p2p=pi,po,+");
	job_arg(j, "CDEF:plainb=plain,8,*");
	job_arg(j, "CDEF:allowb=allow,8,*");
	job_arg(j, "CDEF:p2pb=p2p,8,*");
	job_arg(j, "AREA:plainb#9467bd:BitTorrent, not allowlisted");
	stats(j, "plainb", "bit/s", "plain", "B", 1);
	job_arg(j, "AREA:allowb#c5b0d5:BitTorrent, allowlisted    :STACK");
	stats(j, "allowb", "bit/s", "allow", "B", 1);
	job_arg(j, "LINE1:p2pb#ff7f0e:eDonkey and Gnutella       ");
	stats(j, "p2pb", "bit/s", "p2p", "B", 1);
	alert_marks(j, e, name, a, b);

	SUBJOB("smtp", "SMTP sessions");
	common(j, a, b, W_BIG, H_BIG, title, "sessions/min");
	job_arg(j, "DEF:d=%s:smtp_direct:AVERAGE", u);
	job_arg(j, "DEF:un=%s:smtp_unauth:AVERAGE", u);
	job_arg(j, "DEF:tl=%s:smtp_tls:AVERAGE", u);
	job_arg(j, "DEF:sp=%s:smtp_spfpass:AVERAGE", u);
	job_arg(j, "CDEF:dm=d,60,*");
	job_arg(j, "CDEF:unm=un,60,*");
	job_arg(j, "CDEF:tlm=tl,60,*");
	job_arg(j, "CDEF:spm=sp,60,*");
	/* direct = auth + unauth + tls: the gap between the stack and the
	 * line is authenticated sessions. */
	job_arg(j, "AREA:unm#d62728:direct, unauthenticated");
	stats(j, "unm", "", "un", "sessions", 0);
	job_arg(j, "AREA:tlm#ff9896:direct, STARTTLS       :STACK");
	stats(j, "tlm", "", "tl", "sessions", 0);
	job_arg(j, "LINE1:dm#000000:direct, all            ");
	stats(j, "dm", "", "d", "sessions", 0);
	job_arg(j, "LINE1:spm#2ca02c:SPF pass               ");
	stats(j, "spm", "", "sp", "sessions", 0);
	alert_marks(j, e, name, a, b);

	SUBJOB("rcpt", "SMTP recipients");
	common(j, a, b, W_BIG, H_BIG, title, "recipients/min");
	job_arg(j, "DEF:r=%s:smtp_rcpt:AVERAGE", u);
	job_arg(j, "CDEF:rm=r,60,*");
	job_arg(j, "AREA:rm#fdae6b");
	job_arg(j, "LINE1:rm#e6550d:RCPT TO per minute");
	stats(j, "rm", "", "r", "recipients", 0);
	alert_marks(j, e, name, a, b);
#undef SUBJOB
	return declared(js, e, RRDW_SUBSCRIBER, name, u);
}
