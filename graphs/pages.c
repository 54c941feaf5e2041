/*
 * pages.c — the dashboard's HTML pages (see pages.h).
 *
 * Amounts are written with SI prefixes in powers of 1000, as operators
 * count traffic (SPEC); every time is UTC, which is what the alerts file
 * and packet time use (main sets TZ=UTC, so graph axes agree). Everything that came from a file (a
 * directory name, a subscriber, an alert kind) is escaped.
 */
#include "pages.h"

#include "html.h"
#include "log.h"
#include "panels.h"
#include "rrdschema.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The search of the index (runs in the browser over subindex.js): a name
 * matches as a case-insensitive substring, an address by the longest
 * prefix that holds it, IPv4 or IPv6, as the sensor assigns it. */
static const char find_js[] =
	"(function () {\n"
	"  var f = document.getElementById('find'), out = document.getElementById('found');\n"
	"  if (!f || !out) return;\n"
	"  var q = new URLSearchParams(location.search).get('q') || '';\n"
	"  f.elements.q.value = q;\n"
	"  function v4(s) {\n"
	"    var m = /^(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})$/.exec(s), n = 0n;\n"
	"    if (!m) return null;\n"
	"    for (var i = 1; i < 5; i++) {\n"
	"      if (+m[i] > 255) return null;\n"
	"      n = n * 256n + BigInt(+m[i]);\n"
	"    }\n"
	"    return { n: n, bits: 32 };\n"
	"  }\n"
	"  function v6(s) {\n"
	"    if (s.indexOf(':') < 0) return null;\n"
	"    var halves = s.split('::');\n"
	"    if (halves.length > 2) return null;\n"
	"    var a = halves[0] === '' ? [] : halves[0].split(':');\n"
	"    var b = halves.length > 1 && halves[1] !== '' ? halves[1].split(':') : [];\n"
	"    var tail = b.length ? b : a;\n"
	"    if (tail.length && tail[tail.length - 1].indexOf('.') >= 0) {\n"
	"      var w = v4(tail.pop());\n"
	"      if (!w) return null;\n"
	"      tail.push((w.n >> 16n).toString(16), (w.n & 65535n).toString(16));\n"
	"    }\n"
	"    var fill = 8 - a.length - b.length;\n"
	"    if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;\n"
	"    var g = a.concat(new Array(halves.length > 1 ? fill : 0).fill('0'), b), n = 0n;\n"
	"    for (var i = 0; i < 8; i++) {\n"
	"      if (!/^[0-9a-fA-F]{1,4}$/.test(g[i])) return null;\n"
	"      n = n * 65536n + BigInt(parseInt(g[i], 16));\n"
	"    }\n"
	"    return { n: n, bits: 128 };\n"
	"  }\n"
	"  function addr(s) { return v4(s) || v6(s); }\n"
	"  function inside(a, cidr) {\n"
	"    var i = cidr.indexOf('/'), p = addr(i < 0 ? cidr : cidr.slice(0, i));\n"
	"    if (!p || p.bits !== a.bits) return -1;\n"
	"    var len = i < 0 ? p.bits : +cidr.slice(i + 1);\n"
	"    if (!(len >= 0 && len <= p.bits)) return -1;\n"
	"    var sh = BigInt(p.bits - len);\n"
	"    return (p.n >> sh) === (a.n >> sh) ? len : -1;\n"
	"  }\n"
	"  function si(v, u) {\n"
	"    var pre = ' kMGTPE', k = 0;\n"
	"    while (Math.abs(v) >= 1000 && k < 6) { v /= 1000; k++; }\n"
	"    return k ? v.toFixed(2) + ' ' + pre[k] + u : v.toFixed(0) + ' ' + u;\n"
	"  }\n"
	"  function td(tr, text, cls) {\n"
	"    var c = document.createElement('td');\n"
	"    c.textContent = text;\n"
	"    if (cls) c.className = cls;\n"
	"    tr.appendChild(c);\n"
	"    return c;\n"
	"  }\n"
	"  function mark(c, cls, text, title) {\n"
	"    var m = document.createElement('span');\n"
	"    m.className = 'mark ' + cls;\n"
	"    m.textContent = text;\n"
	"    m.title = title;\n"
	"    c.appendChild(m);\n"
	"  }\n"
	"  function show(hits, what) {\n"
	"    out.textContent = '';\n"
	"    var p = document.createElement('p');\n"
	"    p.className = 'meta';\n"
	"    p.textContent = hits.length + ' subscriber' + (hits.length === 1 ? '' : 's') +\n"
	"      ' ' + what + (hits.length > 100 ? '; the first 100:' : '');\n"
	"    out.appendChild(p);\n"
	"    document.body.dataset.found = String(hits.length);\n"
	"    if (!hits.length) return;\n"
	"    var t = document.createElement('table'), tr = document.createElement('tr');\n"
	"    t.className = 'found';\n"
	"    ['subscriber', 'sensor', 'prefixes', 'in', 'out', 'BitTorrent', 'allowlisted',\n"
	"     'direct SMTP', 'unauth', 'page'].forEach(function (h) {\n"
	"      var th = document.createElement('th');\n"
	"      th.textContent = h;\n"
	"      tr.appendChild(th);\n"
	"    });\n"
	"    t.appendChild(tr);\n"
	"    hits.slice(0, 100).forEach(function (e) {\n"
	"      var tr = document.createElement('tr'), c, a;\n"
	"      tr.className = 'hit';\n"
	"      tr.dataset.name = e[0];\n"
	"      c = td(tr, '');\n"
	"      a = document.createElement('a');\n"
	"      a.href = 'sub/' + encodeURIComponent(e[0]) + '.html';\n"
	"      a.textContent = e[0];\n"
	"      c.appendChild(a);\n"
	"      if (e[9]) mark(c, 'exempt', 'exempt MTA', 'in [smtp] exempt: counted, never alerted');\n"
	"      td(tr, SW_SENSORS[e[1]] || '');\n"
	"      td(tr, e[2], 'ev');\n"
	"      td(tr, si(e[3], 'B'));\n"
	"      td(tr, si(e[4], 'B'));\n"
	"      td(tr, si(e[5], 'B'));\n"
	"      c = td(tr, si(e[6], 'B'));\n"
	"      if (e[6] > 0) mark(c, 'allow', 'allowlisted', 'bytes of torrents on the allowlist');\n"
	"      td(tr, String(e[7]));\n"
	"      td(tr, String(e[8]));\n"
	"      c = td(tr, '', 'ev');\n"
	"      c.textContent = SW_PAGES[e[0]] ? 'drawn' : 'not drawn yet';\n"
	"      t.appendChild(tr);\n"
	"    });\n"
	"    out.appendChild(t);\n"
	"    if (hits.slice(0, 100).some(function (e) { return !SW_PAGES[e[0]]; })) {\n"
	"      p = document.createElement('p');\n"
	"      p.className = 'note draw';\n"
	"      p.textContent = 'A page not drawn yet (outside the top tables) takes ' +\n"
	"        'about a second: ' + f.dataset.draw + ' --subscriber NAME';\n"
	"      out.appendChild(p);\n"
	"    }\n"
	"  }\n"
	"  if (typeof SW_INDEX === 'undefined') {\n"
	"    out.textContent = 'subindex.js did not load: the index is drawn with the page.';\n"
	"    return;\n"
	"  }\n"
	"  q = q.trim();\n"
	"  if (q === '') return;\n"
	"  var a = addr(q), hits = [];\n"
	"  if (a) {\n"
	"    var best = -1;\n"
	"    SW_INDEX.forEach(function (e) {\n"
	"      e[2].split(' ').forEach(function (c) {\n"
	"        var len = c ? inside(a, c) : -1;\n"
	"        if (len < 0) return;\n"
	"        if (len > best) { best = len; hits = []; }\n"
	"        if (len === best && hits.indexOf(e) < 0) hits.push(e);\n"
	"      });\n"
	"    });\n"
	"    show(hits, 'own ' + q + (hits.length ? '' : ' (outside every subscriber prefix)'));\n"
	"    return;\n"
	"  }\n"
	"  var lq = q.toLowerCase();\n"
	"  SW_INDEX.forEach(function (e) {\n"
	"    if (e[0].toLowerCase().indexOf(lq) >= 0) hits.push(e);\n"
	"  });\n"
	"  hits.sort(function (x, y) {\n"
	"    return (y[0].toLowerCase() === lq) - (x[0].toLowerCase() === lq) ||\n"
	"      (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);\n"
	"  });\n"
	"  show(hits, 'named like \"' + q + '\"');\n"
	"})();\n";

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
	/* A subscriber without a drawn page is found by the index's
	 * search, which says how to draw it. */
	if (find_sub(in, name) != NULL)
		html_printf(h, "<a href=\"%ssub/", prefix);
	else
		html_printf(h, "<a href=\"%sindex.html?q=", prefix);
	html_text(h, name);
	html_printf(h, "%s\">", find_sub(in, name) ? ".html" : "#find");
	html_text(h, name);
	html_printf(h, "</a>");
	if (netinfo_exempt(in->ni, name))
		html_printf(h, "<span class=\"mark exempt\" title=\"in [smtp] "
		    "exempt: runs its own MTA, counted but never alerted\">"
		    "exempt MTA</span>");
}

/* A top table's subscriber: linked as sub_link does, or, for a row from
 * ClickHouse without a file in subscribers/, the name and a mark (there
 * is nothing to draw its page from; its totals are the row). */
static void
row_name(struct html *h, const struct pages_in *in, const struct section *s,
    const char *name)
{
	if (!section_has_file(s, name)) {
		html_text(h, name);
		html_printf(h, "<span class=\"mark ch\" title=\"from "
		    "ClickHouse: no RRD file here, so no page\">from "
		    "ClickHouse</span>");
		return;
	}
	sub_link(h, in, name, "");
}

/* Marks allowlisted BitTorrent bytes, naming the list's torrents (the
 * RRDs do not say which of them a subscriber fetched). */
static void
allow_mark(struct html *h, const struct pages_in *in, double bytes)
{
	const struct netinfo *ni = in->ni;

	if (!(bytes > 0))
		return;
	html_printf(h, "<span class=\"mark allow\" title=\"");
	if (ni != NULL && ni->ntorrents > 0) {
		html_printf(h, "torrents on the allowlist: ");
		for (size_t i = 0; i < ni->ntorrents; i++) {
			html_printf(h, "%s", i ? ", " : "");
			html_text(h, ni->torrent[i]);
		}
	} else
		html_printf(h, "bytes of torrents on the allowlist");
	html_printf(h, "\">allowlisted</span>");
}

/* The allowlist's torrents by name, under the BitTorrent table. */
static void
allow_list(struct html *h, const struct pages_in *in)
{
	const struct netinfo *ni = in->ni;

	if (ni == NULL || ni->allowlist == NULL)
		return;
	html_printf(h, "<p class=\"note allowlist\">Allowlisted torrents "
	    "(<code>");
	html_text(h, ni->allowlist);
	html_printf(h, "</code>, %zu): their bytes count as allowlisted and "
	    "are never alerted: ", ni->torrents_total);
	for (size_t i = 0; i < ni->ntorrents; i++) {
		html_printf(h, "%s<span class=\"torrent\">", i ? ", " : "");
		html_text(h, ni->torrent[i]);
		html_printf(h, "</span>");
	}
	if (ni->torrents_total > ni->ntorrents)
		html_printf(h, ", …");
	html_printf(h, ".</p>\n");
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
	/* The index lists the last day; a subscriber's page its whole
	 * history in the files read (the latest SITE_ALERTS_KEPT alerts of
	 * the alerts file and of the one logrotate renamed last). */
	time_t from = name != NULL ? 0 : s->day_start;

	total = alertlog_count(al, name, from, s->end);
	if (total == 0) {
		html_printf(h, "<p class=\"empty\">No alerts %s.</p>\n",
		    name != NULL ? "in the alerts file" : "in the last day");
		return;
	}
	html_printf(h, "<table class=\"alerts\"><tr><th>time</th>"
	    "<th>alert</th><th>subscriber</th><th>evidence</th></tr>\n");
	for (size_t i = al->n; i-- > 0 && shown < max;) {
		const struct alert_rec *r = alertlog_get(al, i);

		if (r->ts < from || r->ts > s->end)
			continue;
		if (name != NULL && strcmp(r->subscriber, name) != 0)
			continue;
		html_printf(h, "<tr><td>%s</td><td class=\"kind\">",
		    utc(t, sizeof t, r->ts));
		html_text(h, r->kind);
		html_printf(h, "</td><td>");
		sub_link(h, in, r->subscriber, prefix);
		html_printf(h, "</td><td class=\"ev\">");
		html_text(h, r->fields);
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
		row_name(h, in, s, r->rows[i].name);
		html_printf(h, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s",
		    si(a, sizeof a, r->rows[i].key, "B"),
		    si(b, sizeof b, v[RRDW_U_BT_IN], "B"),
		    si(c, sizeof c, v[RRDW_U_BT_OUT], "B"),
		    si(d, sizeof d, v[RRDW_U_BT_ALLOW_IN] +
			v[RRDW_U_BT_ALLOW_OUT], "B"));
		allow_mark(h, in, v[RRDW_U_BT_ALLOW_IN] +
		    v[RRDW_U_BT_ALLOW_OUT]);
		html_printf(h, "</td><td>%s</td><td>%s</td><td>",
		    si(e, sizeof e, v[RRDW_U_P2P_IN] + v[RRDW_U_P2P_OUT], "B"),
		    si(f, sizeof f, v[RRDW_U_BYTES_IN] + v[RRDW_U_BYTES_OUT],
			"B"));
		alert_count(h, in, s, r->rows[i].name);
		html_printf(h, "</td></tr>\n");
	}
	html_printf(h, "</table>\n");
	allow_list(h, in);
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
		row_name(h, in, s, r->rows[i].name);
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
	/* One line an operator can act on; the method one click away. */
	if (s->have_av) {
		const char *what = s->av.h < 0.6 ?
		    "bursts average out: peaks smooth as traffic aggregates, "
		    "so links can be sized near the mean" :
		    s->av.h < 0.95 ? "bursty at every time scale, as "
		    "aggregated Internet traffic is: size links for the peaks, "
		    "not the mean" : "not stationary over the window (a daily "
		    "cycle or a trend dominates): read the graphs, not H";

		html_printf(h, "<p class=\"hurst-line\">H = <b class=\""
		    "hurst-av\">%.2f</b> ± %.2f (standard error%s): %s.</p>\n",
		    s->av.h, s->av.se, s->av.nscales < 5 ? ", few block "
		    "sizes: rough" : "", what);
	} else
		html_printf(h, "<p class=\"hurst-line empty\">No Hurst "
		    "estimate yet: %zu gapless steps in the last day, %d "
		    "needed.</p>\n", s->h_points, HURST_MIN_POINTS);
	html_printf(h, "<details><summary>How it is estimated</summary>\n");
	if (!s->have_av) {
		html_printf(h, "<p class=\"hurst empty\">No estimate: the "
		    "longest run of known steps in the last day is %zu steps; "
		    "at least %d are needed.</p>\n", s->h_points,
		    HURST_MIN_POINTS);
	} else {
		html_printf(h, "<p class=\"hurst\">H ≈ <b>"
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
	    "give no estimate.</p>\n</details>\n", HURST_MIN_BLOCKS,
	    HURST_MIN_POINTS);
}

static void
section_index(struct html *h, const struct pages_in *in, size_t k)
{
	const struct section *s = &in->secs[k];
	const struct section_jobs *sj = &in->sjobs[k];
	char a[64], b[64], c[64];

	html_printf(h, "<section id=\"s%u\">\n<h2 class=\"sensor\">", s->idx);
	html_text(h, s->label);
	html_printf(h, "</h2>\n<p class=\"meta\">Sensor ");
	html_text(h, s->label);
	html_printf(h, ", RRD directory <code>");
	html_text(h, s->dir);
	html_printf(h, "</code>. sensor.rrd last updated %s; "
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
	for (size_t k2 = 0, i = sj->scales[0]; k2 < PANELS_NSCALES; k2++) {
		if (sj->scale_ok[k2] && i < sj->scales[1]) {
			img(h, in, i++, "");
			continue;
		}
		html_printf(h, "<p class=\"noscale\">Last %s: no data at "
		    "this scale yet. rrdtool keeps the %s view in coarser rows "
		    "that fill as the sensor runs; the sensor's data starts "
		    "%s.</p>\n", panels_scales[k2].name,
		    panels_scales[k2].name, utc(a, sizeof a, s->start));
	}
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

/* Shell quoting for the command the search shows. */
static void
shq(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	if (o + 1 < len)
		buf[o++] = '\'';
	for (; *s != '\0' && o + 5 < len; s++) {
		if (*s == '\'') {
			memcpy(buf + o, "'\\''", 4);
			o += 4;
		} else
			buf[o++] = *s;
	}
	if (o + 1 < len)
		buf[o++] = '\'';
	buf[o] = '\0';
}

static const char *
abs_path(const char *p, char *buf, size_t len)
{
	char r[PATH_MAX];

	if (realpath(p, r) == NULL)
		return p;
	snprintf(buf, len, "%s", r);
	return buf;
}

/* The search over every subscriber file (subindex.js), and the command
 * that draws a page the run did not draw. */
static void
find_form(struct html *h, const struct pages_in *in)
{
	char cmd[8192], q[4200], abs[4096];
	size_t o;
	size_t files = 0;

	for (size_t k = 0; k < in->nsecs; k++)
		files += in->secs[k].scan.files;
	o = (size_t)snprintf(cmd, sizeof cmd, "spanwatch-graph");
	/* Absolute paths: the command may be run from anywhere. */
	for (size_t k = 0; k < in->nsecs && o < sizeof cmd; k++) {
		shq(q, sizeof q, abs_path(in->cfg_dirs[k], abs, sizeof abs));
		o += (size_t)snprintf(cmd + o, sizeof cmd - o, " -o %s", q);
		if (o < sizeof cmd) {
			shq(q, sizeof q, in->secs[k].label);
			o += (size_t)snprintf(cmd + o, sizeof cmd - o,
			    " -n %s", q);
		}
	}
	if (in->conf != NULL && o < sizeof cmd) {
		shq(q, sizeof q, abs_path(in->conf, abs, sizeof abs));
		o += (size_t)snprintf(cmd + o, sizeof cmd - o, " -c %s", q);
	}
	if (in->alerts_arg != NULL && o < sizeof cmd) {
		shq(q, sizeof q, abs_path(in->alerts_arg, abs, sizeof abs));
		o += (size_t)snprintf(cmd + o, sizeof cmd - o, " --alerts %s", q);
	}
	if (o < sizeof cmd) {
		shq(q, sizeof q, abs_path(in->top, abs, sizeof abs));
		snprintf(cmd + o, sizeof cmd - o, " -w %s", q);
	}
	html_printf(h, "<h2 id=\"find-h\">Find a subscriber</h2>\n"
	    "<form id=\"find\" method=\"get\" action=\"index.html\" "
	    "data-draw=\"");
	html_text(h, cmd);
	html_printf(h, "\"><input name=\"q\" type=\"search\" placeholder="
	    "\"name, or an address such as 100.64.0.42\"> <button>find"
	    "</button></form>\n<div id=\"found\"></div>\n<p class=\"note\">"
	    "Searches all %zu subscriber files (name, prefixes from the "
	    "subscriber map%s, totals of the last day). Pages with graphs are "
	    "drawn for the top %zu of each table; any other is drawn in "
	    "about a second by the command the search shows.</p>\n"
	    "<script src=\"subindex.js\"></script>\n<script>\n%s</script>\n",
	    files, in->ni != NULL ? "" : " when -c names the sensor's "
	    "configuration", in->top_n, find_js);
}

/* Several sensors: one line each before their sections. */
static void
combined(struct html *h, const struct pages_in *in)
{
	char a[64];

	html_printf(h, "<h2>All sensors</h2>\n<table class=\"sensors\"><tr>"
	    "<th>#</th><th>sensor</th><th>last update</th><th>step</th>"
	    "<th>subscriber files</th><th>with traffic</th>"
	    "<th>alerts, last day</th></tr>\n");
	for (size_t k = 0; k < in->nsecs; k++) {
		const struct section *s = &in->secs[k];

		html_printf(h, "<tr><td>%zu</td><td><a href=\"#s%u\">", k + 1,
		    s->idx);
		html_text(h, s->label);
		html_printf(h, "</a></td><td>%s</td><td>%lu s</td><td>%zu</td>"
		    "<td>%zu</td><td>", utc(a, sizeof a, s->last), s->step,
		    s->scan.files, s->scan.active);
		alert_count(h, in, s, NULL);
		html_printf(h, "</td></tr>\n");
	}
	html_printf(h, "</table>\n");
}

int
pages_index(const struct pages_in *in)
{
	char path[4200], now[64];
	unsigned long refresh = 0;
	struct html h;

	snprintf(path, sizeof path, "%s/index.html", in->top);
	for (size_t k = 0; k < in->nsecs; k++)
		if (refresh == 0 || in->secs[k].step < refresh)
			refresh = in->secs[k].step;
	if (html_open(&h, path, "spanwatch dashboard", refresh) < 0)
		return -1;
	html_printf(&h, "<h1>spanwatch dashboard</h1>\n<p class=\"meta\">"
	    "Drawn by spanwatch-graph at %s from %zu sensor%s. <b>Every time "
	    "on these pages, graph axes included, is UTC.</b> The page "
	    "reloads itself every %lu s (the RRD step).</p>\n",
	    utc(now, sizeof now, time(NULL)), in->nsecs,
	    in->nsecs == 1 ? "" : "s", refresh);
	find_form(&h, in);
	if (in->nsecs > 1)
		combined(&h, in);
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
	html_printf(h, "<section id=\"s%u\">\n<h2 class=\"sensor\">", s->idx);
	html_text(h, s->label);
	html_printf(h, "</h2>\n");
	if (v != NULL) {
		html_printf(h, "<p class=\"meta\">Last day: traffic in %s, out "
		    "%s; BitTorrent not allowlisted %s", si(a, sizeof a,
		    v[RRDW_U_BYTES_IN], "B"), si(b, sizeof b,
		    v[RRDW_U_BYTES_OUT], "B"), si(c, sizeof c,
		    v[RRDW_U_BT_IN] + v[RRDW_U_BT_OUT], "B"));
		if (pos[SUBSCAN_BT])
			html_printf(h, " (#%zu)", pos[SUBSCAN_BT]);
		html_printf(h, ", allowlisted %s", si(d, sizeof d,
		    v[RRDW_U_BT_ALLOW_IN] + v[RRDW_U_BT_ALLOW_OUT], "B"));
		allow_mark(h, in, v[RRDW_U_BT_ALLOW_IN] +
		    v[RRDW_U_BT_ALLOW_OUT]);
		html_printf(h, "; direct SMTP sessions %.0f",
		    v[RRDW_U_SMTP_DIRECT]);
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
	html_printf(h, "</div>\n<h3>Alert history</h3>\n");
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
		if (html_open(&h, path, title,
		    in->secs[in->subs[i].sec].step) < 0)
			return -1;
		html_printf(&h, "<p><a href=\"../index.html\">← dashboard</a>"
		    "</p>\n<h1>");
		html_text(&h, name);
		if (netinfo_exempt(in->ni, name))
			html_printf(&h, " <span class=\"mark exempt\">exempt "
			    "MTA</span>");
		html_printf(&h, "</h1>\n<p class=\"meta\">");
		if (netinfo_prefixes(in->ni, name)[0] != '\0') {
			html_printf(&h, "Prefixes: <code class=\"prefixes\">");
			html_text(&h, netinfo_prefixes(in->ni, name));
			html_printf(&h, "</code>. ");
		}
		if (netinfo_exempt(in->ni, name))
			html_printf(&h, "In <code>[smtp] exempt</code>: its own "
			    "MTA, counted but never alerted. ");
		html_printf(&h, "Every time here is UTC; the page reloads "
		    "every %lu s.</p>\n", in->secs[in->subs[i].sec].step);
		for (; i < in->nsubs && strcmp(in->subs[i].name, name) == 0;
		    i++)
			sub_section(&h, in, &in->subs[i]);
		if (html_close(&h) < 0)
			return -1;
	}
	return 0;
}
