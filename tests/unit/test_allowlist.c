/*
 * test_allowlist.c — the torrent allowlist: hashes in either case,
 * labels, comments and blank lines; every kind of bad line reported as
 * path:line with the whole file refused; duplicates naming their first
 * line; no info-hash in any message; lookups.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errcap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"

static char tmpdir[] = "/tmp/test_allowlist.XXXXXX";

static const char *
write_list(const char *text)
{
	static char path[256];
	static int n;
	FILE *fp;

	snprintf(path, sizeof path, "%s/list%d.txt", tmpdir, n++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	return path;
}

static void
unhex(const char *s, uint8_t h[20])
{
	for (int i = 0; i < 20; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		h[i] = (uint8_t)v;
	}
}

#define DEBIAN "d22c484f963d5c4796792c9549d3f1d64072801e"
#define UBUNTU "1803547EEC04A9FD498C21B6E31C6EDF5458EC95"
#define FEDORA "dc616f54cb4dbc1a2085c8ca964f596763018e01"

static void
test_good(void **state)
{
	const char *path = write_list(
		"# torrents that are never alerted on: INFO_HASH LABEL\n"
		"\n"
		DEBIAN " debian-12.9.0-amd64-netinst.iso\n"
		"   \t# indented comment\n"
		UBUNTU "\tUbuntu 24.04.1 desktop  # upper case, a label with blanks\n"
		FEDORA "\r\n"	/* no label, CRLF */
		"  \n");
	struct allowlist *al = allowlist_load(path);
	uint8_t h[20];

	assert_non_null(al);
	assert_int_equal(allowlist_count(al), 3);
	unhex(DEBIAN, h);
	assert_true(allowlist_has(al, h));
	unhex(UBUNTU, h);
	assert_true(allowlist_has(al, h));
	unhex(FEDORA, h);
	assert_true(allowlist_has(al, h));
	h[19] ^= 1;
	assert_false(allowlist_has(al, h));
	assert_false(allowlist_has(NULL, h));
	assert_int_equal(allowlist_count(NULL), 0);
	allowlist_free(al);
	allowlist_free(NULL);
}

static void
test_empty(void **state)
{
	struct allowlist *al = allowlist_load(write_list("# nothing yet\n"));
	uint8_t h[20] = { 0 };

	assert_non_null(al);
	assert_int_equal(allowlist_count(al), 0);
	assert_false(allowlist_has(al, h));
	allowlist_free(al);
	al = allowlist_load(write_list(""));
	assert_non_null(al);
	allowlist_free(al);
}

static void
test_bad_lines(void **state)
{
	char want[400];
	const char *err, *path = write_list(
		DEBIAN " ok\n"					/* 1 */
		"d22c484f963d5c4796792c9549d3f1d64072801 short\n"	/* 2: 39 digits */
		"d22c484f963d5c4796792c9549d3f1d64072801ef long\n"	/* 3: 41 digits */
		"d22c484f963d5c4796792c9549d3f1d6407280xe bad\n"	/* 4: bad digit */
		"magnet:?xt=urn:btih:" FEDORA "\n"			/* 5 */
		UBUNTU " first\n"				/* 6 */
		DEBIAN "x\n"					/* 7: glued */
		"1803547eec04a9fd498c21b6e31c6edf5458ec95 again\n"	/* 8: duplicate of 6 */
		FEDORA " ctrl\x01label\n");			/* 9 */
	struct allowlist *al;

	errcap_begin(tmpdir);
	al = allowlist_load(path);
	err = errcap_end();
	assert_null(al);
	for (int line = 2; line <= 9; line++) {
		if (line == 6)
			continue;
		snprintf(want, sizeof want, "%s:%d: ", path, line);
		if (!strstr(err, want))
			fail_msg("no message for line %d in:\n%s", line, err);
	}
	snprintf(want, sizeof want, "%s:1:", path);
	assert_null(strstr(err, want));
	snprintf(want, sizeof want, "%s:6:", path);
	assert_null(strstr(err, want));
	snprintf(want, sizeof want, "%s:8: duplicate info-hash (first on line 6)", path);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "40 hexadecimal digits"));
	/* Messages name lines, never hashes. */
	assert_null(strstr(err, "d22c484f"));
	assert_null(strstr(err, "1803547e"));
	assert_null(strstr(err, "dc616f54"));
}

static void
test_unreadable(void **state)
{
	char path[300];
	const char *err;

	snprintf(path, sizeof path, "%s/missing.txt", tmpdir);
	errcap_begin(tmpdir);
	assert_null(allowlist_load(path));
	err = errcap_end();
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));
}

static void
test_long_line(void **state)
{
	char *text = malloc(3000);
	char want[300];
	const char *err, *path;

	assert_non_null(text);
	snprintf(text, 3000, "%s ", DEBIAN);
	memset(text + 41, 'x', 2000);
	strcpy(text + 2041, "\n" FEDORA "\n");
	path = write_list(text);
	free(text);
	errcap_begin(tmpdir);
	assert_null(allowlist_load(path));
	err = errcap_end();
	snprintf(want, sizeof want, "%s:1: line longer than", path);
	assert_non_null(strstr(err, want));
}

static void
test_parse_line(void **state)
{
	uint8_t h[20];
	const char *why = NULL;

	assert_int_equal(allowlist_parse_line("", h, &why), 0);
	assert_int_equal(allowlist_parse_line("   # x", h, &why), 0);
	assert_int_equal(allowlist_parse_line(DEBIAN, h, &why), 1);
	assert_int_equal(h[0], 0xd2);
	assert_int_equal(h[19], 0x1e);
	assert_int_equal(allowlist_parse_line(" " UBUNTU "  label ", h, &why), 1);
	assert_int_equal(h[0], 0x18);
	assert_int_equal(allowlist_parse_line("xyz", h, &why), -1);
	assert_non_null(why);
}

static void
test_many(void **state)
{
	char path[300];
	FILE *fp;
	struct allowlist *al;
	uint8_t h[20];

	snprintf(path, sizeof path, "%s/many.txt", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (unsigned i = 0; i < 50000; i++)
		fprintf(fp, "%08x%032x t%u\n", i * 2654435761u, i, i);
	fclose(fp);
	al = allowlist_load(path);
	assert_non_null(al);
	assert_int_equal(allowlist_count(al), 50000);
	for (unsigned i = 0; i < 50000; i += 997) {
		char hex[41];

		snprintf(hex, sizeof hex, "%08x%032x", i * 2654435761u, i);
		unhex(hex, h);
		assert_true(allowlist_has(al, h));
		h[10] ^= 0x80;
		assert_false(allowlist_has(al, h));
	}
	allowlist_free(al);
}

static int
setup(void **state)
{
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_parse_line),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
