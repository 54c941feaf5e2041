/*
 * pages.c — the dashboard's HTML pages (see pages.h).
 *
 * Amounts are written with SI prefixes in powers of 1000, as operators
 * count traffic (SPEC); times in the tables in UTC, which is what the
 * alerts file and packet time use. Everything that came from a file (a
 * directory name, a subscriber, an alert kind) is escaped.
 */
#include "pages.h"

#include "html.h"
#include "log.h"
#include "panels.h"
#include "rrdw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECENT_ALERTS 20	/* alerts listed per section on the index */
#define SUB_ALERTS 50		/* alerts listed per section on a sub page */

static const char *
si(char *buf, size_t len, double v, const char *unit)
{
	static const char pre[] = " kMGTPE";
	size_t k = 0;

	if (!isfinite(v)) {
		snprintf(buf, len, "–");
		return buf;
	}
	while (fabs(v) >= 1000 && k + 1 < sizeof pre - 1) {
		v /= 1000;
		k++;
	}
	if (k == 0)
		snprintf(buf, len, "%.0f %s", v, unit);
	else
		snprintf(buf, len, "%.2f %c%s", v, pre[k], unit);
	return buf;
}

static const char *
utc(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* The first subpage of name, or NULL (subs are sorted by name). */
static const struct subpage *
find_sub(const struct pages_in *in, const char *name)
{
	size_t lo = 0, hi = in->nsubs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(in->subs[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->nsubs && strcmp(in->subs[lo].name, name) == 0 ?
	    &in->subs[lo] : NULL;
}

/* A subscriber's name, linked to its page when it has one. prefix is
 * the way from the current page to OUT_DIR ("" or "../"). */
static void
sub_link(struct html *h, const struct pages_in *in, const char *name,
    const char *prefix)
{
	if (name[0] == '\0') {
		html_printf(h, "–");
		return;
	}
	if (find_sub(in, name) != NULL) {
		html_printf(h, "<a href=\"%ssub/", prefix);
		html_text(h, name);
		html_printf(h, ".html\">");
		html_text(h, name);
		html_printf(h, "</a>");
	} else {
		html_text(h, name);
	}
}

/* An image of job i; strip is what to remove from its path to make it
 * relative to the page ("sub/" on subscriber pages). */
static void
img(struct html *h, const struct pages_in *in, size_t i, const char *strip)
{
	const struct job *j = &in->jobs->v[i];
	const char *rel = j->rel;

	if (strncmp(rel, strip, strlen(strip)) == 0)
		rel += strlen(strip);
	html_printf(h, "<img src=\"");
	html_text(h, rel);
	html_printf(h, "\" alt=\"");
	html_text(h, j->alt);
	html_printf(h, "\" title=\"");
	html_text(h, j->alt);
	html_printf(h, "\">\n");
}

/* Alerts of a subscriber (or all, name NULL) in a section's last day. */
static void
alert_count(struct html *h, const struct pages_in *in,
    const struct section *s, const char *name)
{
	size_t c;

	if (in->alerts == NULL) {
		html_printf(h, "–");
		return;
	}
	c = alertlog_count(in->alerts, name, s->day_start, s->end);
	/* The ring keeps the latest alerts only; older ones of the day
	 * may have been dropped from it. */
	html_printf(h, "%s%zu", in->alerts->total > in->alerts->n ? "≥ " : "",
	    c);
}

static void
alert_list(struct html *h, const struct pages_in *in,
    const struct section *s, const char *name, size_t max,
    const char *prefix)
{
	const struct alertlog *al = in->alerts;
	size_t shown = 0, total;
	char t[64];

	if (al == NULL) {
		html_printf(h, "<p class=\"empty\">No --alerts file given: the "
		    "graphs mark the sensor's <code>alerts</code> counter "
		    "instead.</p>\n");
		return;
	}
	total = alertlog_count(al, name, s->day_start, s->end);
	if (total == 0) {
		html_printf(h, "<p class=\"empty\">No alerts in the last "
		    "day.</p>\n");
		return;
	}
	html_printf(h, "<table><tr><th>time</th><th>alert</th>"
	    "<th>subscriber</th></tr>\n");
	for (size_t i = al->n; i-- > 0 && shown < max;) {
		const struct alert_rec *r = alertlog_get(al, i);

		if (r->ts < s->day_start || r->ts > s->end)
			continue;
		if (name != NULL && strcmp(r->subscriber, name) != 0)
			continue;
		html_printf(h, "<tr><td>%s</td><td>", utc(t, sizeof t, r->ts));
		html_text(h, r->kind);
		html_printf(h, "</td><td>");
		sub_link(h, in, r->subscriber, prefix);
		html_printf(h, "</td></tr>\n");
		shown++;
	}
	html_printf(h, "</table>\n");
	if (total > shown)
		html_printf(h, "<p class=\"meta\">The latest %zu of %zu.</p>\n",
		    shown, total);
}

static void
table_bt(struct html *h, const struct pages_in *in, const struct section *s)
{
	const struct rank *r = &s->scan.ranks[SUBSCAN_BT];
	char a[32], b[32], c[32], d[32], e[32], f[32];

	html_printf(h, "<h3 id=\"s%u-bt\">Top %zu subscribers by BitTorrent "
	    "bytes, not allowlisted (last day)</h3>\n", s->idx, in->top_n);
	if (r->n == 0) {
		html_printf(h, "<p class=\"empty\">No subscriber moved "
		    "non-allowlisted BitTorrent bytes in the last day.</p>\n");
		return;
	}
	html_printf(h, "<table class=\"top-bt\"><tr><th>#</th>"
	    "<th>subscriber</th><th>BitTorrent</th><th>in</th><th>out</th>"
	    "<th>allowlisted</th><th>other P2P</th><th>all traffic</th>"
	    "<th>alerts</th></tr>\n");
	for (size_t i = 0; i < r->n; i++) {
		const double *v = r->rows[i].v;

		html_printf(h, "<tr><td>%zu</td><td>", i + 1);
		sub_link(h, in, r->rows[i].name, "");
		html_printf(h, "</td><td>%s</td><td>%s</td><td>%s</td>"
		    "<td>%s</td><td>%s</td><td>%s</td><td>",
		    si(a, sizeof a, r->rows[i].key, "B"),
		    si(b, sizeof b, v[RRDW_U_BT_IN], "B"),
		    si(c, sizeof c, v[RRDW_U_BT_OUT], "B"),
		    si(d, sizeof d, v[RRDW_U_BT_ALLOW_IN] +
			v[RRDW_U_BT_ALLOW_OUT], "B"),
		    si(e, sizeof e, v[RRDW_U_P2P_IN] + v[RRDW_U_P2P_OUT], "B"),
		    si(f, sizeof f, v[RRDW_U_BYTES_IN] + v[RRDW_U_BYTES_OUT],
			"B"));
		alert_count(h, in, s, r->rows[i].name);
		html_printf(h, "</td></tr>\n");
	}
	html_printf(h, "</table>\n");
}

static void
table_smtp(struct html *h, const struct pages_in *in,
    const struct section *s)
{
	const struct rank *r = &s->scan.ranks[SUBSCAN_SMTP];

	html_printf(h, "<h3 id=\"s%u-smtp\">Top %zu subscribers by direct SMTP "
	    "sessions (last day)</h3>\n", s->idx, in->top_n);
	if (r->n == 0) {
		html_printf(h, "<p class=\"empty\">No direct SMTP sessions in "
		    "the last day.</p>\n");
		return;
	}
	html_printf(h, "<table class=\"top-smtp\"><tr><th>#</th>"
	    "<th>subscriber</th><th>direct sessions</th><th>unauth</th>"
	    "<th>STARTTLS</th><th>auth</th><th>recipients</th>"
	    "<th>SPF pass</th><th>alerts</th></tr>\n");
	for (size_t i = 0; i < r->n; i++) {
		const double *v = r->rows[i].v;
		double auth = v[RRDW_U_SMTP_DIRECT] - v[RRDW_U_SMTP_UNAUTH] -
		    v[RRDW_U_SMTP_TLS];

		html_printf(h, "<tr><td>%zu</td><td>", i + 1);
		sub_link(h, in, r->rows[i].name, "");
		/* Amounts are rate x step summed: whole numbers up to
		 * floating-point rounding. */
		html_printf(h, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>"
		    "<td>%.0f</td><td>%.0f</td><td>%.0f</td><td>",
		    r->rows[i].key, v[RRDW_U_SMTP_UNAUTH], v[RRDW_U_SMTP_TLS],
		    auth > 0.5 ? auth : 0, v[RRDW_U_SMTP_RCPT],
		    v[RRDW_U_SMTP_SPFPASS]);
		alert_count(h, in, s, r->rows[i].name);
		html_printf(h, "</td></tr>\n");
	}
	html_printf(h, "</table>\n");
}

/* The variance-time plot behind the estimate: log10 of the (corrected)
 * variance of block means against log10 m, the fitted line, and the
 * slope -1 that independent noise (H = 0.5) would give. */
static void
svg_plot(struct html *h, const struct hurst_est *e)
{
	const double W = 360, H = 220, L = 50, R = 10, T = 10, B = 36;
	double x0 = e->logm[0], x1 = e->logm[0], y0 = e->logv[0],
	    y1 = e->logv[0], mx = 0, my = 0, a, ref;

	for (size_t i = 0; i < e->nscales; i++) {
		x0 = fmin(x0, e->logm[i]);
		x1 = fmax(x1, e->logm[i]);
		y0 = fmin(y0, e->logv[i]);
		y1 = fmax(y1, e->logv[i]);
		mx += e->logm[i];
		my += e->logv[i];
	}
	mx /= (double)e->nscales;
	my /= (double)e->nscales;
	a = my - e->slope * mx;
	ref = e->logv[0] - (-1) * e->logm[0];	/* slope -1 through point 0 */
	y0 = fmin(y0, fmin(a + e->slope * x1, ref - x1));
	y1 = fmax(y1, fmax(a + e->slope * x0, ref - x0));
	if (x1 - x0 < 1e-9)
		x1 = x0 + 1;
	if (y1 - y0 < 1e-9)
		y1 = y0 + 1;
#define PX(x) (L + ((x) - x0) / (x1 - x0) * (W - L - R))
#define PY(y) (T + (y1 - (y)) / (y1 - y0) * (H - T - B))
	html_printf(h, "<svg class=\"vt\" width=\"%.0f\" height=\"%.0f\" "
	    "viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"variance-time "
	    "plot\">\n", W, H, W, H);
	html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#aaa\" stroke-dasharray=\"4 3\"/>\n", PX(x0),
	    PY(ref - x0), PX(x1), PY(ref - x1));
	html_printf(h, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "stroke=\"#08519c\" stroke-width=\"2\"/>\n", PX(x0),
	    PY(a + e->slope * x0), PX(x1), PY(a + e->slope * x1));
	for (size_t i = 0; i < e->nscales; i++)
		html_printf(h, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" "
		    "fill=\"#d62728\"><title>m = %zu</title></circle>\n",
		    PX(e->logm[i]), PY(e->logv[i]), e->m[i]);
	html_printf(h, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" "
	    "text-anchor=\"middle\">log10 m (steps per block, %zu to %zu)"
	    "</text>\n", (L + W - R) / 2, H - 8, e->m[0],
	    e->m[e->nscales - 1]);
	html_printf(h, "<text x=\"12\" y=\"%.0f\" font-size=\"11\" "
	    "text-anchor=\"middle\" transform=\"rotate(-90 12 %.0f)\">log10 "
	    "variance of block means</text>\n", (T + H - B) / 2,
	    (T + H - B) / 2);
	html_printf(h, "<text x=\"%.0f\" y=\"22\" font-size=\"11\" "
	    "text-anchor=\"end\" fill=\"#08519c\">fit: slope %.2f, H = %.2f"
	    "</text>\n<text x=\"%.0f\" y=\"36\" font-size=\"11\" "
	    "text-anchor=\"end\" fill=\"#888\">dashed: slope -1, H = 0.5"
	    "</text>\n</svg>\n", W - R, e->slope, e->h, W - R);
#undef PX
#undef PY
}

static void
hurst_block(struct html *h, const struct section *s)
{
	char a[64], b[64];

	html_printf(h, "<h3 id=\"s%u-hurst\">Hurst exponent</h3>\n", s->idx);
	if (!s->have_av) {
		html_printf(h, "<p class=\"hurst empty\">No estimate: the "
		    "longest run of known steps in the last day is %zu steps; "
		    "at least %d are needed.</p>\n", s->h_points,
		    HURST_MIN_POINTS);
	} else {
		html_printf(h, "<p class=\"hurst\">H ≈ <b class=\"hurst-av\">"
		    "%.2f</b> ± %.2f by aggregated variance (± one standard "
		    "error of the log-log slope), from %zu steps of %lu s "
		    "(%s to %s) at %zu block sizes, m = %zu to %zu steps, "
		    "R² = %.3f.", s->av.h, s->av.se, s->av.n, s->step,
		    utc(a, sizeof a, s->h_from), utc(b, sizeof b, s->h_to),
		    s->av.nscales, s->av.m[0], s->av.m[s->av.nscales - 1],
		    s->av.r2);
		if (s->have_rs)
			html_printf(h, " Cross-check by rescaled range: H ≈ "
			    "<span class=\"hurst-rs\">%.2f</span> ± %.2f "
			    "(%zu block sizes, %zu to %zu steps).", s->rs.h,
			    s->rs.se, s->rs.nscales, s->rs.m[0],
			    s->rs.m[s->rs.nscales - 1]);
		if (s->av.nscales < 5)
			html_printf(h, " <b>Only %zu block sizes: a rough "
			    "figure.</b> A few hours of data give a steadier "
			    "one.", s->av.nscales);
		html_printf(h, "</p>\n");
		svg_plot(h, &s->av);
	}
	html_printf(h,
	    "<p class=\"note\">How it is estimated. The series is the sensor's "
	    "bytes per second at its finest resolution (one step; rrdtool "
	    "keeps a day of it), over the longest stretch of the last day "
	    "without unknown steps. <b>Aggregated variance</b>: the series is "
	    "cut into blocks of m steps, for m from 1 up to a %dth of its "
	    "length spaced evenly on a log scale, and the variance of the "
	    "block means is plotted against m on log-log axes (above). For "
	    "independent noise it falls as 1/m (slope −1, H = 0.5); for "
	    "self-similar traffic it falls more slowly, as m<sup>2H−2</sup>, "
	    "so H = 1 + slope/2 of a least-squares line. The variance of k "
	    "block means around their own mean is biased low by the factor "
	    "(k − k<sup>2H−1</sup>)/(k − 1); it is divided out and the line "
	    "refitted until H settles. The ± is the standard error of the "
	    "slope from the scatter of the points about the line, halved as "
	    "H is. The points share the same data, so it understates the "
	    "uncertainty: on simulated series of 1440 points with known H the "
	    "estimate is off by 0.04 to 0.05 (root mean square). <b>Rescaled "
	    "range</b> (R/S) is a second method: the slope of log R/S over "
	    "blocks of 8 steps to a quarter of the series; it reads about "
	    "0.05 high near H = 0.5 and 0.06 low near H = 0.9. H near 0.5 "
	    "means bursts average out; 0.7 to 0.9 is typical of aggregated "
	    "Internet traffic, whose bursts persist at every time scale (the "
	    "five graphs above look alike); a daily cycle or a trend in the "
	    "window pushes the estimate towards 1 and beyond, where the "
	    "series is not stationary at these scales. Fewer than %d steps "
	    "give no estimate.</p>\n", HURST_MIN_BLOCKS, HURST_MIN_POINTS);
}

static void
section_index(struct html *h, const struct pages_in *in, size_t k)
{
	const struct section *s = &in->secs[k];
	const struct section_jobs *sj = &in->sjobs[k];
	char a[64], b[64], c[64];

	html_printf(h, "<section id=\"s%u\">\n<h2>", s->idx);
	html_text(h, s->dir);
	html_printf(h, "</h2>\n<p class=\"meta\">sensor.rrd last updated %s; "
	    "graphs end at %s; the overview starts at %s (the first known "
	    "step of the last day, at least an hour back); step %lu s. %zu "
	    "subscriber files, %zu with traffic in the last day",
	    utc(a, sizeof a, s->last), utc(b, sizeof b, s->end),
	    utc(c, sizeof c, s->start), s->step, s->scan.files,
	    s->scan.active);
	if (s->scan.unreadable > 0)
		html_printf(h, ", %zu unreadable", s->scan.unreadable);
	if (s->scan.foreign > 0)
		html_printf(h, ", %zu other entries ignored", s->scan.foreign);
	html_printf(h, "; read in %.2f s.</p>\n", s->seconds);

	html_printf(h, "<h3 id=\"s%u-overview\">Overview</h3>\n"
	    "<div class=\"grid\">\n", s->idx);
	for (size_t i = sj->overview[0]; i < sj->overview[1]; i++)
		img(h, in, i, "");
	html_printf(h, "</div>\n<p class=\"note\">");
	if (s->inout_rrd[0] != '\0')
		html_printf(h, "To and from subscribers: the sums of all %zu "
		    "subscriber files per step (traffic between two "
		    "subscribers counts in both, transit in neither); the "
		    "black line is every byte the sensor saw. ",
		    s->scan.summed);
	html_printf(h, "Vertical marks are alerts, coloured by kind%s.</p>\n",
	    in->alerts ? " (from the alerts file)" :
	    " (ticks of the sensor's alerts counter)");

	html_printf(h, "<h3 id=\"s%u-alerts\">Alerts in the last day</h3>\n",
	    s->idx);
	alert_list(h, in, s, NULL, RECENT_ALERTS, "");
	table_bt(h, in, s);
	table_smtp(h, in, s);

	html_printf(h, "<h3 id=\"s%u-scales\">The same traffic at five "
	    "scales</h3>\n<div class=\"scales\">\n", s->idx);
	for (size_t i = sj->scales[0]; i < sj->scales[1]; i++)
		img(h, in, i, "");
	html_printf(h, "</div>\n<p class=\"note\">Bits per second over the "
	    "last hour, day, week, month and year: the line is the average "
	    "of each pixel's span, the band the lowest and highest step "
	    "average within it (from rrdtool's MIN and MAX archives; the "
	    "finest of them holds 5-minute rows, so in the hour view the "
	    "band is the range of the steps of each 5 minutes). "
	    "Self-similar traffic looks alike at every scale: the peaks do "
	    "not smooth out as the window grows.</p>\n");
	hurst_block(h, s);
	html_printf(h, "</section>\n");
}

int
pages_index(const struct pages_in *in)
{
	char path[4200], now[64];
	struct html h;

	snprintf(path, sizeof path, "%s/index.html", in->top);
	if (html_open(&h, path, "spanwatch dashboard") < 0)
		return -1;
	html_printf(&h, "<h1>spanwatch dashboard</h1>\n<p class=\"meta\">"
	    "Drawn by spanwatch-graph at %s from %zu sensor director%s. "
	    "Tables and alert times are UTC; graph axes use the local time "
	    "zone of the machine that drew them.</p>\n",
	    utc(now, sizeof now, time(NULL)), in->nsecs,
	    in->nsecs == 1 ? "y" : "ies");
	if (in->nsecs > 1) {
		html_printf(&h, "<nav>");
		for (size_t k = 0; k < in->nsecs; k++) {
			html_printf(&h, "<a href=\"#s%u\">", in->secs[k].idx);
			html_text(&h, in->secs[k].dir);
			html_printf(&h, "</a>");
		}
		html_printf(&h, "</nav>\n");
	}
	for (size_t k = 0; k < in->nsecs; k++)
		section_index(&h, in, k);
	html_printf(&h, "<p class=\"meta\">Bounded work: each subscriber "
	    "file is read once (a day at the step resolution); only the top "
	    "%zu of each table get graphs and a page. Reading took %.2f s, "
	    "drawing %zu images %.2f s with %u process%s.",
	    in->top_n, in->gather_s, in->jobs->n, in->render_s, in->workers,
	    in->workers == 1 ? "" : "es");
	if (in->failed > 0)
		html_printf(&h, " <b>%zu images could not be drawn.</b>",
		    in->failed);
	if (in->alerts != NULL) {
		html_printf(&h, " Alerts from ");
		html_text(&h, in->alerts_path);
		html_printf(&h, " (%zu in range", in->alerts->total);
		if (in->alerts->bad > 0)
			html_printf(&h, ", %zu unreadable lines",
			    in->alerts->bad);
		html_printf(&h, ").");
	}
	html_printf(&h, "</p>\n");
	return html_close(&h);
}

/* One subscriber's block in one section. */
static void
sub_section(struct html *h, const struct pages_in *in,
    const struct subpage *p)
{
	const struct section *s = &in->secs[p->sec];
	const double *v = NULL;
	size_t pos[SUBSCAN_NRANKS] = { 0 };
	char a[32], b[32], c[32], d[32];

	for (int k = 0; k < SUBSCAN_NRANKS; k++) {
		const struct rank *r = &s->scan.ranks[k];

		for (size_t i = 0; i < r->n; i++)
			if (strcmp(r->rows[i].name, p->name) == 0) {
				pos[k] = i + 1;
				v = r->rows[i].v;
			}
	}
	html_printf(h, "<section id=\"s%u\">\n<h2>", s->idx);
	html_text(h, s->dir);
	html_printf(h, "</h2>\n");
	if (v != NULL) {
		html_printf(h, "<p class=\"meta\">Last day: traffic in %s, out "
		    "%s; BitTorrent not allowlisted %s", si(a, sizeof a,
		    v[RRDW_U_BYTES_IN], "B"), si(b, sizeof b,
		    v[RRDW_U_BYTES_OUT], "B"), si(c, sizeof c,
		    v[RRDW_U_BT_IN] + v[RRDW_U_BT_OUT], "B"));
		if (pos[SUBSCAN_BT])
			html_printf(h, " (#%zu)", pos[SUBSCAN_BT]);
		html_printf(h, ", allowlisted %s; direct SMTP sessions %.0f",
		    si(d, sizeof d, v[RRDW_U_BT_ALLOW_IN] +
		    v[RRDW_U_BT_ALLOW_OUT], "B"), v[RRDW_U_SMTP_DIRECT]);
		if (pos[SUBSCAN_SMTP])
			html_printf(h, " (#%zu)", pos[SUBSCAN_SMTP]);
		html_printf(h, " (%.0f unauthenticated, %.0f STARTTLS), %.0f "
		    "recipients, %.0f SPF pass; alerts ",
		    v[RRDW_U_SMTP_UNAUTH], v[RRDW_U_SMTP_TLS],
		    v[RRDW_U_SMTP_RCPT], v[RRDW_U_SMTP_SPFPASS]);
		alert_count(h, in, s, p->name);
		html_printf(h, ".</p>\n");
	}
	html_printf(h, "<div class=\"grid\">\n");
	for (size_t i = p->first; i < p->last; i++)
		img(h, in, i, "sub/");
	html_printf(h, "</div>\n<h3>Alerts</h3>\n");
	alert_list(h, in, s, p->name, SUB_ALERTS, "../");
	html_printf(h, "</section>\n");
}

int
pages_subscribers(const struct pages_in *in)
{
	for (size_t i = 0; i < in->nsubs;) {
		const char *name = in->subs[i].name;
		char path[4200], title[160];
		struct html h;

		snprintf(path, sizeof path, "%s/sub/%s.html", in->top, name);
		snprintf(title, sizeof title, "%s — spanwatch", name);
		if (html_open(&h, path, title) < 0)
			return -1;
		html_printf(&h, "<p><a href=\"../index.html\">← dashboard</a>"
		    "</p>\n<h1>");
		html_text(&h, name);
		html_printf(&h, "</h1>\n");
		for (; i < in->nsubs && strcmp(in->subs[i].name, name) == 0;
		    i++)
			sub_section(&h, in, &in->subs[i]);
		if (html_close(&h) < 0)
			return -1;
	}
	return 0;
}
