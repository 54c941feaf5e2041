/*
 * html.h — writing the dashboard's pages: one self-contained HTML file
 * each (inline style, no external resources, relative links only, so the
 * site works from a web server and from the file system), written to a
 * temporary name and renamed into place when complete.
 *
 * Every page carries a small script that, once the page has loaded, sets
 * <body data-images="ok N/M"> (or "missing N/M") from the natural width of
 * every image: a browser-driven test reads it back with --dump-dom, and an
 * operator sees broken images outlined.
 */
#ifndef SPANWATCH_HTML_H
#define SPANWATCH_HTML_H

#include <stdio.h>

struct html {
	FILE *fp;
	char path[4096];
	char tmp[4200];
};

/* Opens path for writing and writes the head with this title (escaped)
 * and, if refresh > 0, a meta refresh every refresh seconds (the RRD
 * step: the page is redrawn no oftener). Returns 0, or -1 (logged). */
int html_open(struct html *h, const char *path, const char *title,
    unsigned long refresh);

/* Raw markup; callers escape what came from files with html_text. */
void html_printf(struct html *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Text, escaped for element content and quoted attribute values. */
void html_text(struct html *h, const char *s);

/* Writes the footer, closes and renames into place. Returns 0, or -1
 * (logged; the temporary file is removed). */
int html_close(struct html *h);

/* Drops a page half written after an error. */
void html_abort(struct html *h);

#endif
