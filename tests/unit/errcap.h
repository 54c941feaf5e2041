/*
 * errcap.h — the unit tests' capture of stderr: what a call logs goes to a
 * file in the test's temporary folder, to be checked by content. Header
 * only (static functions), for the tests that include it.
 */
#ifndef SPANWATCH_ERRCAP_H
#define SPANWATCH_ERRCAP_H

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int errcap_fd = -1;
static char errcap_path[300];

/* From now on stderr goes to dir/stderr. */
static void
errcap_begin(const char *dir)
{
	int fd;

	snprintf(errcap_path, sizeof errcap_path, "%s/stderr", dir);
	fflush(stderr);
	errcap_fd = dup(2);
	fd = open(errcap_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	dup2(fd, 2);
	close(fd);
}

/* Puts stderr back; returns what was written since errcap_begin (static,
 * the first 64 KiB). */
static const char *
errcap_end(void)
{
	static char text[65536];
	FILE *fp;
	size_t n;

	fflush(stderr);
	dup2(errcap_fd, 2);
	close(errcap_fd);
	fp = fopen(errcap_path, "r");
	assert_non_null(fp);
	n = fread(text, 1, sizeof text - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

#endif
