/*
 * fuzz_allowlist.c — libFuzzer target for the torrent allowlist
 * (collectors/p2p/allowlist.c): the file reader, the line parser and the
 * sorted lookup.
 *
 * Two kinds of input:
 *   - text (any first byte but 0xff): the whole input is the file;
 *   - records (first byte 0xff): the rest, 21 bytes a torrent (an
 *     info-hash and a style byte: upper or lower case hex, a label, a
 *     comment, leading blanks, a CR), is written as a valid file, so that
 *     lists of many torrents are searched. A hash already written is
 *     skipped.
 *
 * Checks: a list that loads holds exactly the torrent lines of the file
 * (allowlist_parse_line's reading of each line), allowlist_has finds
 * each, and a hash next to each one is found exactly when it is on the
 * file too.
 */
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "fuzz_common.h"

#define MAXH 4096

static uint8_t H[MAXH][ALLOWLIST_HASH_LEN];
static size_t nh;
static char text[MAXH * 96];	/* 82 bytes at most a torrent */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int
known(const uint8_t *h)
{
	for (size_t i = 0; i < nh; i++)
		if (memcmp(H[i], h, ALLOWLIST_HASH_LEN) == 0)
			return 1;
	return 0;
}

static size_t
from_records(const uint8_t *d, size_t n)
{
	static const char *const hex[2] = { "0123456789abcdef", "0123456789ABCDEF" };
	size_t used = 0;

	nh = 0;
	for (; n >= ALLOWLIST_HASH_LEN + 1 && nh < MAXH;
	     d += ALLOWLIST_HASH_LEN + 1, n -= ALLOWLIST_HASH_LEN + 1) {
		uint8_t style = d[ALLOWLIST_HASH_LEN];

		if (known(d))
			continue;
		memcpy(H[nh++], d, ALLOWLIST_HASH_LEN);
		if (style & 4)
			text[used++] = (style & 8) ? '\t' : ' ';
		for (size_t i = 0; i < ALLOWLIST_HASH_LEN; i++) {
			text[used++] = hex[style & 1][d[i] >> 4];
			text[used++] = hex[style & 1][d[i] & 15];
		}
		if (style & 2)
			used += (size_t)snprintf(text + used, sizeof text - used, " label-%u", style);
		if (style & 16)
			used += (size_t)snprintf(text + used, sizeof text - used, " # comment");
		if (style & 32)
			text[used++] = '\r';
		text[used++] = '\n';
		if (style & 64)
			used += (size_t)snprintf(text + used, sizeof text - used, "# a comment line\n\n");
	}
	return used;
}

/* The torrents of a file that loaded, by the documented line parser. */
static void
from_text(const uint8_t *d, size_t n)
{
	char line[ALLOWLIST_LINE_MAX + 2];

	nh = 0;
	while (n > 0) {
		const uint8_t *nl = memchr(d, '\n', n);
		size_t len = nl ? (size_t)(nl - d) : n;
		uint8_t h[ALLOWLIST_HASH_LEN];
		const char *why;
		int rc;

		if (len > ALLOWLIST_LINE_MAX || memchr(d, '\0', len))
			abort();	/* the loader refuses such lines */
		memcpy(line, d, len);
		line[len] = '\0';
		rc = allowlist_parse_line(line, h, &why);
		if (rc < 0 || (rc == 1 && (known(h) || nh == MAXH)))
			abort();	/* a bad line or a duplicate loaded */
		if (rc == 1)
			memcpy(H[nh++], h, sizeof h);
		d += len + (nl != NULL);
		n -= len + (nl != NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct allowlist *al;
	const uint8_t *file = data;
	size_t len = size;
	int records = size > 0 && data[0] == 0xff;
	uint8_t h[ALLOWLIST_HASH_LEN];

	if (records) {
		len = from_records(data + 1, size - 1);
		file = (const uint8_t *)text;
	}
	al = allowlist_load(fuzz_file(file, len));
	if (records && !al)
		abort();
	if (al) {
		if (!records)
			from_text(file, len);
		if (allowlist_count(al) != nh)
			abort();
		for (size_t i = 0; i < nh; i++) {
			if (!allowlist_has(al, H[i]))
				abort();
			memcpy(h, H[i], sizeof h);
			h[i % ALLOWLIST_HASH_LEN] ^= 1;
			if (allowlist_has(al, h) != known(h))
				abort();
		}
	}
	/* A line on its own: whatever the bytes, a verdict and no overread. */
	if (size > 0 && !records) {
		char *line = malloc(size + 1);
		const char *why = NULL;
		int rc;

		if (!line)
			return 0;
		memcpy(line, data, size);
		line[size] = '\0';
		rc = allowlist_parse_line(line, h, &why);
		if (rc < -1 || rc > 1 || (rc < 0 && !why))
			abort();
		free(line);
	}
	allowlist_free(al);
	return 0;
}
