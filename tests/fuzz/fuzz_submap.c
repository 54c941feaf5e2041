/*
 * fuzz_submap.c — libFuzzer target for the subscriber map
 * (sensor/submap.c): the reader of subscribers.txt, and the flattened
 * ranges and radix index that answer longest-prefix lookups.
 *
 * Two kinds of input:
 *   - text (any first byte but 0xff): the whole input is subscribers.txt;
 *   - records (first byte 0xff): the rest is turned into a valid file,
 *     which reaches deep nesting and large indexes that text rarely
 *     does. Each record is a byte (bit 7: IPv6; bits 0-6: the prefix
 *     length, modulo the family's bits + 1), the address (4 or 16 bytes,
 *     host bits cleared) and a byte whose low 4 bits name the subscriber
 *     (s0..s15). A prefix already written is skipped.
 *
 * When the map loads, it is checked against a brute-force longest-prefix
 * search over the same prefixes at the first and last address of each
 * prefix and just outside both, so a wrong range or index shows; and
 * every name is a safe file name that submap_find maps back to its id.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_common.h"
#include "submap.h"
#include "units.h"

#define MAXP 1024	/* prefixes the oracle follows */
#define PROBE_MAX 128	/* prefixes whose edges are probed */

/* The oracle is the fuzzer's own code: no coverage feedback from it
 * (it would steer the fuzzer and cost most of the time). */
#define ORACLE __attribute__((no_sanitize("coverage")))

struct pfx {
	int family;
	unsigned bits;
	uint8_t a[16];
	uint8_t mask[16];
	char name[UNITS_NAME_MAX + 1];
};

static struct pfx P[MAXP];
static size_t np;
static char text[1 << 16];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static size_t
alen(int family)
{
	return family == AF_INET ? 4 : 16;
}

static void
clear_host(uint8_t *a, unsigned bits, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned keep = bits > 8 * i ? bits - 8 * (unsigned)i : 0;
		a[i] &= keep >= 8 ? 0xff : (uint8_t)(0xff00u >> keep);
	}
}

static void
set_mask(struct pfx *p)
{
	memset(p->mask, 0xff, sizeof p->mask);
	clear_host(p->mask, p->bits, 16);
}

ORACLE static int
contains(const struct pfx *p, int family, const uint8_t *a)
{
	if (p->family != family)
		return 0;
	for (size_t i = 0; i < alen(family); i++)
		if ((a[i] & p->mask[i]) != p->a[i])
			return 0;
	return 1;
}

/* Builds a file from records; fills P. Returns its length. */
static size_t
from_records(const uint8_t *d, size_t n)
{
	size_t used = 0;

	np = 0;
	while (n >= 2 && np < MAXP) {
		struct pfx *p = &P[np];
		char addr[INET6_ADDRSTRLEN];
		int dup = 0;

		p->family = d[0] & 0x80 ? AF_INET6 : AF_INET;
		p->bits = (d[0] & 0x7f) % (unsigned)(8 * alen(p->family) + 1);
		if (n < 2 + alen(p->family))
			break;
		memset(p->a, 0, sizeof p->a);
		memcpy(p->a, d + 1, alen(p->family));
		clear_host(p->a, p->bits, alen(p->family));
		set_mask(p);
		snprintf(p->name, sizeof p->name, "s%u", d[1 + alen(p->family)] & 15u);
		d += 2 + alen(p->family);
		n -= 2 + alen(p->family);
		for (size_t i = 0; i < np && !dup; i++)
			dup = P[i].family == p->family && P[i].bits == p->bits &&
			      memcmp(P[i].a, p->a, 16) == 0;
		if (dup)
			continue;
		if (used + 128 > sizeof text)
			break;
		inet_ntop(p->family, p->a, addr, sizeof addr);
		used += (size_t)snprintf(text + used, sizeof text - used, "%s/%u %s\n", addr,
					 p->bits, p->name);
		np++;
	}
	return used;
}

/* Reads the prefixes back from a file that loaded, the way subscribers.txt
 * is written (SPEC). 0, or -1 when a line is beyond this simple reader:
 * no oracle then. */
static int
from_text(const uint8_t *d, size_t n)
{
	char *buf = malloc(n + 1), *line, *save = NULL;
	int rc = 0;

	if (!buf)
		return -1;
	memcpy(buf, d, n);
	buf[n] = '\0';
	np = 0;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *tok[2], *s2 = NULL, *slash, *end;
		struct pfx *p = &P[np];

		line[strcspn(line, "#")] = '\0';
		if ((tok[0] = strtok_r(line, " \t\r", &s2)) == NULL)
			continue;
		tok[1] = strtok_r(NULL, " \t\r", &s2);
		if (!tok[1] || strtok_r(NULL, " \t\r", &s2) || np == MAXP ||
		    strlen(tok[1]) > UNITS_NAME_MAX) {
			rc = -1;
			break;
		}
		strcpy(p->name, tok[1]);
		if ((slash = strchr(tok[0], '/')) != NULL)
			*slash++ = '\0';
		p->family = strchr(tok[0], ':') ? AF_INET6 : AF_INET;
		memset(p->a, 0, sizeof p->a);
		if (inet_pton(p->family, tok[0], p->a) != 1) {
			rc = -1;
			break;
		}
		p->bits = (unsigned)(8 * alen(p->family));
		if (slash) {
			if (!*slash || strspn(slash, "0123456789") != strlen(slash)) {
				rc = -1;
				break;
			}
			p->bits = (unsigned)strtoul(slash, &end, 10);
		}
		set_mask(p);
		np++;
	}
	free(buf);
	return rc;
}

/* The name the longest prefix holding a gives, or NULL. */
ORACLE static const char *
brute(int family, const uint8_t *a)
{
	const struct pfx *best = NULL;

	for (size_t i = 0; i < np; i++)
		if (contains(&P[i], family, a) && (!best || P[i].bits > best->bits))
			best = &P[i];
	return best ? best->name : NULL;
}

ORACLE static void
probe(const struct submap *m, int family, const uint8_t *a)
{
	const char *want = brute(family, a), *got;
	int id = submap_lookup(m, family, a);

	if (id < -1 || id >= submap_count(m))
		abort();
	got = submap_name(m, id);
	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
		abort();
}

/* a + 1 or a - 1 in place; 0, or -1 when it wraps. */
ORACLE static int
step(uint8_t *a, size_t len, int up)
{
	for (size_t i = len; i-- > 0;) {
		if (up ? a[i]++ != 0xff : a[i]-- != 0x00)
			return 0;
	}
	return -1;
}

ORACLE static void
check(const struct submap *m)
{
	size_t n = np < PROBE_MAX ? np : PROBE_MAX;
	uint8_t a[16];

	if (submap_prefixes(m) != np)
		abort();
	for (int id = 0; id < submap_count(m); id++) {
		const char *name = submap_name(m, id), *why;

		if (!name || units_check_name(name, UNITS_NAME_MAX, &why) < 0 ||
		    submap_find(m, name) != id)
			abort();
	}
	if (submap_name(m, submap_count(m)) != NULL || submap_name(m, -1) != NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct pfx *p = &P[i];
		size_t len = alen(p->family);

		if (submap_find(m, p->name) < 0)
			abort();
		memcpy(a, p->a, 16);
		probe(m, p->family, a);
		if (step(a, len, 0) == 0)
			probe(m, p->family, a);
		memcpy(a, p->a, 16);
		for (size_t j = 0; j < len; j++) {	/* the last address */
			unsigned keep = p->bits > 8 * j ? p->bits - 8 * (unsigned)j : 0;
			a[j] |= keep >= 8 ? 0 : (uint8_t)(0xffu >> keep);
		}
		probe(m, p->family, a);
		if (step(a, len, 1) == 0)
			probe(m, p->family, a);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct submap *m;
	const uint8_t *file = data;
	size_t len = size;
	int records = size > 0 && data[0] == 0xff;

	if (records) {
		len = from_records(data + 1, size - 1);
		file = (const uint8_t *)text;
	}
	m = submap_load(fuzz_file(file, len));
	if (records && !m)
		abort();	/* every line written was valid and new */
	if (m && (records || from_text(file, len) == 0))
		check(m);
	submap_free(m);
	return 0;
}
