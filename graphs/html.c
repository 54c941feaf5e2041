/*
 * html.c — the dashboard's page writer (see html.h).
 */
#include "html.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

static const char style[] =
	"body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222}"
	"h1{font-size:1.5em}h2{border-bottom:2px solid #08519c;"
	"padding-bottom:.2em;margin-top:2em}h3{margin:1.5em 0 .5em}"
	".grid{display:flex;flex-wrap:wrap;gap:8px}"
	/* the five scales stay side by side, shrunk to fit */
	".scales{display:flex;gap:6px}"
	".scales img{flex:1 1 0;min-width:0;max-width:384px;height:auto}"
	"img{border:1px solid #ddd}img.broken{outline:3px solid red}"
	"table{border-collapse:collapse;margin:.5em 0}"
	"td,th{padding:2px 8px;border-bottom:1px solid #eee;"
	"text-align:right}td:nth-child(2),th:nth-child(2){text-align:left}"
	"th{background:#f0f4f8}"
	".meta,.note{color:#555;font-size:.9em;max-width:60em}"
	".hurst{font-size:1.1em}.empty{color:#888;font-style:italic}"
	"nav a{margin-right:1em}svg{background:#fafafa;border:1px solid #ddd}"
	".mark{font-size:.8em;padding:0 4px;margin-left:4px;border-radius:3px;"
	"color:#fff;white-space:nowrap}.mark.exempt{background:#2ca02c}"
	".mark.allow{background:#17becf}td.ev{text-align:left;"
	"font-family:monospace;font-size:.85em}"
	".noscale{flex:1 1 0;max-width:384px;border:1px dashed #ccc;"
	"padding:1em;color:#666}#find input{font-size:1.1em;width:24em}";

/* On load, not DOMContentLoaded: images have then either loaded or
 * failed. naturalWidth is 0 for a missing or undecodable image. */
static const char check[] =
	"<script>\n"
	"window.addEventListener('load', function () {\n"
	"  var im = document.images, ok = 0;\n"
	"  for (var i = 0; i < im.length; i++) {\n"
	"    if (im[i].complete && im[i].naturalWidth > 0) ok++;\n"
	"    else im[i].className += ' broken';\n"
	"  }\n"
	"  document.body.dataset.images =\n"
	"    (ok === im.length ? 'ok ' : 'missing ') + ok + '/' + im.length;\n"
	"});\n"
	"</script>\n";

int
html_open(struct html *h, const char *path, const char *title,
    unsigned long refresh)
{
	memset(h, 0, sizeof *h);
	snprintf(h->path, sizeof h->path, "%s", path);
	snprintf(h->tmp, sizeof h->tmp, "%s.tmp", path);
	h->fp = fopen(h->tmp, "w");
	if (h->fp == NULL) {
		log_err("%s: %s", h->tmp, strerror(errno));
		return -1;
	}
	html_printf(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"generator\" content=\"spanwatch-graph\">\n");
	if (refresh > 0)
		html_printf(h, "<meta http-equiv=\"refresh\" content=\"%lu\">\n",
		    refresh);
	html_printf(h, "<title>");
	html_text(h, title);
	html_printf(h, "</title>\n<style>%s</style>\n%s</head>\n<body>\n",
	    style, check);
	return 0;
}

void
html_printf(struct html *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(h->fp, fmt, ap);
	va_end(ap);
}

void
html_text(struct html *h, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&': fputs("&amp;", h->fp); break;
		case '<': fputs("&lt;", h->fp); break;
		case '>': fputs("&gt;", h->fp); break;
		case '"': fputs("&quot;", h->fp); break;
		case '\'': fputs("&#39;", h->fp); break;
		default: fputc(*s, h->fp);
		}
	}
}

int
html_close(struct html *h)
{
	int bad;

	html_printf(h, "</body>\n</html>\n");
	bad = ferror(h->fp);
	if (fclose(h->fp) != 0)
		bad = 1;
	h->fp = NULL;
	if (bad) {
		log_err("%s: write error", h->tmp);
		unlink(h->tmp);
		return -1;
	}
	if (rename(h->tmp, h->path) < 0) {
		log_err("%s: %s", h->path, strerror(errno));
		unlink(h->tmp);
		return -1;
	}
	return 0;
}

void
html_abort(struct html *h)
{
	if (h->fp != NULL) {
		fclose(h->fp);
		h->fp = NULL;
		unlink(h->tmp);
	}
}
