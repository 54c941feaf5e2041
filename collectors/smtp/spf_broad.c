/*
 * spf_broad.c — SPF terms that authorise (nearly) everyone; see
 * spf_broad.h. Terms follow the RFC 7208 section 12 grammar:
 * [qualifier] mechanism [":" domain-spec | ":" address] [dual-cidr],
 * modifiers are name "=" value. Anything that does not parse is left
 * alone: libspf2 finds it a syntax error (permerror), which is no pass.
 */
#include "spf_broad.h"

#include <string.h>

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Wider than the RFC's SP: libspf2 and this reader must not disagree on
 * where a term ends, and finding a term that is not there costs only a
 * second look. */
static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Is t[0..n) the lower-case word w, in any case? */
static int
word_is(const char *t, size_t n, const char *w)
{
	if (n != strlen(w))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)t[i]) != w[i])
			return 0;
	return 1;
}

/* A CIDR length "/N" (1 to 3 digits) at the end of p[0..*n): N goes to
 * *len and *n is cut before the '/'. Returns 1, or 0 when there is none. */
static int
cut_cidr(const char *p, size_t *n, unsigned *len)
{
	size_t i = *n, d = 0;
	unsigned v = 0;

	while (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9' && d <= 3) {
		i--;
		d++;
	}
	if (d == 0 || d > 3 || i == 0 || p[i - 1] != '/')
		return 0;
	for (size_t k = i; k < *n; k++)
		v = v * 10 + (unsigned)(p[k] - '0');
	*len = v;
	*n = i - 1;
	return 1;
}

/* exists:DOMAIN names one DNS name for every client unless a macro of
 * the client's address (%{i}, %{c}, %{p}, any case) is in it. */
static int
exists_broad(const char *r, size_t n)
{
	if (n < 2 || r[0] != ':')
		return 0;
	for (size_t i = 1; i + 2 < n; i++)
		if (r[i] == '%' && r[i + 1] == '{' && strchr("icp", lower((unsigned char)r[i + 2])))
			return 0;
	return 1;
}

/* Whether the term t[0..n) is a broad pass term for a client of family. */
static int
term_broad(const char *t, size_t n, int family)
{
	size_t i = 0, j;
	unsigned v4 = 32, v6 = 128, x;

	if (n && strchr("+-?~", t[0])) {
		if (t[0] != '+')
			return 0;	/* fail, softfail, neutral: no pass */
		i = 1;
	}
	for (j = i; j < n && t[j] != ':' && t[j] != '/' && t[j] != '='; j++)
		;
	if (j < n && t[j] == '=')
		return 0;		/* a modifier */

	const char *name = t + i, *rest = t + j;
	size_t nlen = j - i, rn = n - j;

	if (word_is(name, nlen, "all"))
		return j == n;	/* "all" alone, nothing after it */
	if (word_is(name, nlen, "exists"))
		return exists_broad(rest, rn);
	if (word_is(name, nlen, "ip4") || word_is(name, nlen, "ip6")) {
		int six = lower((unsigned char)name[2]) == '6';

		if (rn < 2 || rest[0] != ':' || !cut_cidr(rest, &rn, &x))
			return 0;	/* a host, or no address at all */
		return x < (six ? SPF_BROAD_V6 : SPF_BROAD_V4);
	}
	if (word_is(name, nlen, "a") || word_is(name, nlen, "mx")) {
		/* dual-cidr-length = [ "/" ip4 ] [ "//" ip6 ], at the end */
		if (cut_cidr(rest, &rn, &x)) {
			if (rn > 0 && rest[rn - 1] == '/') {
				v6 = x;
				rn--;
				if (cut_cidr(rest, &rn, &x))
					v4 = x;
			} else {
				v4 = x;
			}
		}
		return family == 6 ? v6 < SPF_BROAD_V6 : v4 < SPF_BROAD_V4;
	}
	return 0;			/* ptr, include, unknown */
}

int
spf_broad_terms(const char *rec, int family, char *out, size_t outlen)
{
	const char *p = rec;
	size_t o = 0;
	int count = 0;

	if (out && outlen == 0)
		return -1;
	/* "v=spf1" then a space or the end (RFC 7208 4.5); leading blanks are
	 * let through, so that nothing libspf2 might take is missed. */
	while (is_space((unsigned char)*p))
		p++;
	if (!word_is(p, strnlen(p, 6), "v=spf1") || (p[6] && !is_space((unsigned char)p[6]))) {
		if (out) {
			size_t n = strlen(rec);

			if (n >= outlen)
				return -1;
			memcpy(out, rec, n + 1);
		}
		return 0;
	}
	for (p = rec; *p;) {
		const char *t = p;
		size_t n = 0;

		while (t[n] && !is_space((unsigned char)t[n]))
			n++;
		int broad = n && term_broad(t, n, family);

		count += broad;
		if (out) {
			/* "+all" -> "?all", "all" -> "?all" */
			size_t skip = broad && t[0] == '+';

			if (o + broad + n - skip + 1 > outlen)
				return -1;
			if (broad)
				out[o++] = '?';
			memcpy(out + o, t + skip, n - skip);
			o += n - skip;
		}
		p = t + n;
		while (is_space((unsigned char)*p)) {
			if (out) {
				if (o + 2 > outlen)
					return -1;
				out[o++] = *p;
			}
			p++;
		}
	}
	if (out)
		out[o] = '\0';
	return count;
}
