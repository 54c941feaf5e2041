/*
 * allowlist.c — owns the torrent allowlist: reading the file, and the
 * sorted array of info-hashes that lookups search. See allowlist.h.
 */
#include "allowlist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "hex.h"
#include "log.h"

/* A file with more bad lines than this is not an allowlist at all (a
 * wrong path); more messages would bury the first ones. */
#define ALLOWLIST_MAX_ERRORS 200

struct allowlist {
	size_t n;
	uint8_t (*hash)[ALLOWLIST_HASH_LEN];	/* sorted, distinct */
};

/* One torrent while loading: its line, to name both lines of a
 * duplicate. */
struct ent {
	uint8_t hash[ALLOWLIST_HASH_LEN];
	uint32_t line;
};

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int
allowlist_parse_line(const char *line, uint8_t hash[ALLOWLIST_HASH_LEN], const char **why)
{
	const char *p = line;
	size_t n = 0;

	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	while (hex_val(p[n]) >= 0)
		n++;
	if (n != 2 * ALLOWLIST_HASH_LEN || (p[n] != '\0' && !is_blank(p[n]))) {
		/* Say what is wrong in the operator's terms: a wrong length
		 * (a truncated paste, a SHA-256 v2 hash) or a stray character. */
		if (p[n] != '\0' && !is_blank(p[n]) && n < 2 * ALLOWLIST_HASH_LEN)
			*why = "bad character in info-hash (expected 40 hexadecimal digits)";
		else
			*why = "info-hash must be 40 hexadecimal digits (a BitTorrent v1 SHA-1)";
		return -1;
	}
	for (size_t i = 0; i < ALLOWLIST_HASH_LEN; i++)
		hash[i] = (uint8_t)(hex_val(p[2 * i]) << 4 | hex_val(p[2 * i + 1]));
	/* The rest is the label, free text up to an optional " #" comment;
	 * only control characters are refused, since they would reach a
	 * terminal when an operator greps the file. */
	for (p += n; *p; p++)
		if ((unsigned char)*p < 0x20 && !is_blank(*p)) {
			*why = "control character in label";
			return -1;
		}
	return 1;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = memcmp(x->hash, y->hash, ALLOWLIST_HASH_LEN);

	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Reads path into a growing array of entries. Returns the number of bad
 * lines (each logged), or -1 when the file cannot be read (logged). */
static long
read_entries(const char *path, struct ent **out, size_t *nout)
{
	char *buf = NULL;
	size_t bufcap = 0;
	struct ent *e = NULL;
	size_t n = 0, cap = 0;
	uint32_t line = 0;
	long errors = 0;
	ssize_t got;
	FILE *fp = fopen(path, "r");

	if (!fp) {
		log_err("%s: %s", path, strerror(errno));
		return -1;
	}
	while (errors < ALLOWLIST_MAX_ERRORS && (got = getline(&buf, &bufcap, fp)) >= 0) {
		size_t len = (size_t)got;
		const char *why;
		uint8_t hash[ALLOWLIST_HASH_LEN];
		int rc;

		line++;
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > ALLOWLIST_LINE_MAX) {
			log_err("%s:%u: line longer than %d characters", path, line, ALLOWLIST_LINE_MAX);
			errors++;
			continue;
		}
		if (memchr(buf, '\0', len)) {
			log_err("%s:%u: NUL byte in line", path, line);
			errors++;
			continue;
		}
		rc = allowlist_parse_line(buf, hash, &why);
		if (rc < 0) {
			log_err("%s:%u: %s", path, line, why);
			errors++;
			continue;
		}
		if (rc == 0)
			continue;
		if (n == ALLOWLIST_MAX) {
			log_err("%s:%u: more than %d torrents", path, line, ALLOWLIST_MAX);
			errors++;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct ent *ne = realloc(e, ncap * sizeof *e);

			if (!ne) {
				log_err("%s: out of memory at line %u", path, line);
				errors++;
				break;
			}
			e = ne;
			cap = ncap;
		}
		memcpy(e[n].hash, hash, sizeof hash);
		e[n].line = line;
		n++;
	}
	if (ferror(fp)) {
		log_err("%s: read error: %s", path, strerror(errno));
		errors++;
	}
	free(buf);
	fclose(fp);
	*out = e;
	*nout = n;
	return errors;
}

struct allowlist *
allowlist_load(const char *path)
{
	struct allowlist *al;
	struct ent *e = NULL;
	size_t n = 0, k = 0;
	long errors = read_entries(path, &e, &n);

	if (errors < 0)
		return NULL;
	if (n)
		qsort(e, n, sizeof *e, ent_cmp);
	/* Sorted by hash then line: a duplicate follows its first
	 * occurrence. Report them in the order the operator reads. */
	for (size_t i = 1; i < n; i++)
		if (!memcmp(e[i].hash, e[i - 1].hash, ALLOWLIST_HASH_LEN)) {
			size_t first = i - 1;

			while (first > 0 && !memcmp(e[first - 1].hash, e[i].hash, ALLOWLIST_HASH_LEN))
				first--;
			log_err("%s:%u: duplicate info-hash (first on line %u)", path, e[i].line,
				e[first].line);
			errors++;
		}
	al = errors ? NULL : calloc(1, sizeof *al);
	if (al && n && !(al->hash = malloc(n * sizeof *al->hash))) {
		log_err("%s: out of memory for %zu torrents", path, n);
		free(al);
		al = NULL;
	}
	if (al) {
		for (size_t i = 0; i < n; i++)
			memcpy(al->hash[k++], e[i].hash, ALLOWLIST_HASH_LEN);
		al->n = k;
	}
	free(e);
	return al;
}

void
allowlist_free(struct allowlist *al)
{
	if (!al)
		return;
	free(al->hash);
	free(al);
}

static int
hash_cmp(const void *key, const void *elem)
{
	return memcmp(key, elem, ALLOWLIST_HASH_LEN);
}

int
allowlist_has(const struct allowlist *al, const uint8_t *hash)
{
	if (!al || !al->n)
		return 0;
	return bsearch(hash, al->hash, al->n, ALLOWLIST_HASH_LEN, hash_cmp) != NULL;
}

size_t
allowlist_count(const struct allowlist *al)
{
	return al ? al->n : 0;
}
