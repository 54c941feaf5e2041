/*
 * units.c — owns the spelling of values that operators type: numbers,
 * sizes (powers of 1000), durations, switches, addresses, ports, names.
 * Parsers are strict: a token is accepted whole or not at all, because a
 * silently half-read value ("10 G" read as 10) is worse than an error.
 */
#include "units.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads a run of digits at *sp into *out, advancing *sp.
 * 0 ok, -1 no digits, -2 overflow. */
static int
digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!is_digit(*s))
		return -1;
	for (; is_digit(*s); s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -2;
	}
	*sp = s;
	*out = v;
	return 0;
}

int
units_parse_uint(const char *s, uint64_t *out, const char **why)
{
	int rc = digits(&s, out);

	*why = rc == -2 ? "too large" : "not a whole number";
	if (rc < 0 || *s != '\0')
		return -1;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out, const char **why)
{
	static const struct {
		char c;
		uint64_t mult;
	} suffix[] = {
		{ 'k', 1000ULL }, { 'm', 1000000ULL },
		{ 'g', 1000000000ULL }, { 't', 1000000000000ULL },
	};
	uint64_t whole, frac = 0, scale = 1, mult = 1, v;
	size_t i;
	int rc;

	*why = "not a size (a number with an optional k, M, G or T "
	    "suffix: 500M, 10G, 1.5T)";
	if ((rc = digits(&s, &whole)) < 0) {
		if (rc == -2)
			*why = "too large";
		return -1;
	}
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return -1;
		/* Fraction digits are kept exactly, as frac / scale. */
		for (; is_digit(*s); s++) {
			if (scale >= 1000000000000ULL)
				return -1;	/* finer than any suffix */
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
	}
	if (*s != '\0') {
		char c = (char)(*s | 0x20);	/* ASCII lower case */

		for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++)
			if (suffix[i].c == c)
				break;
		if (i == sizeof(suffix) / sizeof(suffix[0]) || s[1] != '\0')
			return -1;
		mult = suffix[i].mult;
	}
	if (__builtin_mul_overflow(whole, mult, &v)) {
		*why = "too large";
		return -1;
	}
	/* frac / scale times mult, without overflow: both are powers of
	 * ten, so one divides the other. */
	if (scale > mult) {
		if (frac % (scale / mult) != 0) {
			*why = "not a whole number of bytes";
			return -1;
		}
		frac /= scale / mult;
	} else {
		frac *= mult / scale;
	}
	if (__builtin_add_overflow(v, frac, &v)) {
		*why = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

int
units_parse_duration(const char *s, uint64_t *out, const char **why)
{
	static const struct {
		char c;
		uint64_t secs;
	} unit[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	uint64_t total = 0, n, part;
	size_t i;
	int rc;

	*why = "not a duration (seconds, or a number with s, m, h or d: "
	    "90, 5m, 1h30m, 2d)";
	if ((rc = digits(&s, &n)) < 0) {
		if (rc == -2)
			*why = "too large";
		return -1;
	}
	if (*s == '\0') {	/* a bare number is seconds */
		*out = n;
		return 0;
	}
	for (;;) {
		for (i = 0; i < sizeof(unit) / sizeof(unit[0]); i++)
			if (unit[i].c == *s)
				break;
		if (i == sizeof(unit) / sizeof(unit[0]))
			return -1;
		s++;
		if (__builtin_mul_overflow(n, unit[i].secs, &part) ||
		    __builtin_add_overflow(total, part, &total)) {
			*why = "too large";
			return -1;
		}
		if (*s == '\0')
			break;
		if ((rc = digits(&s, &n)) < 0) {
			if (rc == -2)
				*why = "too large";
			return -1;
		}
		/* Every group after the first needs its unit too, so that
		 * "1h30" is an error rather than 1h and 30 seconds. */
		if (*s == '\0')
			return -1;
	}
	*out = total;
	return 0;
}

int
units_parse_bool(const char *s, int *out, const char **why)
{
	static const struct {
		const char *word;
		int val;
	} word[] = {
		{ "yes", 1 }, { "true", 1 }, { "on", 1 }, { "1", 1 },
		{ "no", 0 }, { "false", 0 }, { "off", 0 }, { "0", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(word) / sizeof(word[0]); i++) {
		if (strcasecmp(s, word[i].word) == 0) {
			*out = word[i].val;
			return 0;
		}
	}
	*why = "not a boolean (yes/no, true/false, on/off, 1/0)";
	return -1;
}

int
units_parse_port(const char *s, uint16_t *out, const char **why)
{
	uint64_t v;

	if (digits(&s, &v) < 0 || *s != '\0' || v < 1 || v > 65535) {
		*why = "not a port (1..65535)";
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

/* A bare address literal, no brackets. 0 ok, -1 bad. */
static int
addr_literal(const char *s, struct sw_addr *out)
{
	struct in_addr a4;
	struct in6_addr a6;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &a4) == 1) {
		out->family = AF_INET;
		memcpy(out->a, &a4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		out->family = AF_INET6;
		memcpy(out->a, &a6, 16);
		return 0;
	}
	return -1;
}

int
units_parse_addr(const char *s, struct sw_addr *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(s);

	*why = "not an IPv4 or IPv6 address";
	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		if (len - 2 >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, len - 2);
		buf[len - 2] = '\0';
		if (strchr(buf, ':') == NULL)	/* brackets are for IPv6 */
			return -1;
		return addr_literal(buf, out);
	}
	return addr_literal(s, out);
}

int
units_parse_endpoint(const char *s, struct sw_addr *addr, uint16_t *port,
    const char **why)
{
	char buf[INET6_ADDRSTRLEN + 2];
	const char *colon, *close, *portstr = NULL;
	size_t alen;

	*why = "not ADDRESS[:PORT] (192.0.2.53, 192.0.2.53:53, 2001:db8::53, "
	    "[2001:db8::53]:53)";
	if (s[0] == '[') {
		close = strchr(s, ']');
		if (close == NULL)
			return -1;
		if (close[1] == ':')
			portstr = close + 2;
		else if (close[1] != '\0')
			return -1;
		alen = (size_t)(close - s - 1);
		if (alen == 0 || alen >= sizeof(buf))
			return -1;
		memcpy(buf, s + 1, alen);
		buf[alen] = '\0';
		if (strchr(buf, ':') == NULL)
			return -1;
	} else {
		colon = strchr(s, ':');
		/* Two or more colons: an unbracketed IPv6 address, no port. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			portstr = colon + 1;
			alen = (size_t)(colon - s);
		} else {
			alen = strlen(s);
		}
		if (alen == 0 || alen >= sizeof(buf))
			return -1;
		memcpy(buf, s, alen);
		buf[alen] = '\0';
	}
	if (addr_literal(buf, addr) < 0)
		return -1;
	if (portstr != NULL && units_parse_port(portstr, port, why) < 0)
		return -1;
	return 0;
}

int
units_check_name(const char *s, size_t maxlen, const char **why)
{
	size_t len = strlen(s);
	const char *p;

	if (len == 0) {
		*why = "empty name";
		return -1;
	}
	if (len > maxlen) {
		*why = "name too long";
		return -1;
	}
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || c == '.' || c == '_' || c == '-')) {
			*why = "a name may only hold letters, digits, '.', '_' "
			    "and '-'";
			return -1;
		}
	}
	if (s[0] == '.' || s[0] == '-') {
		*why = "a name may not start with '.' or '-'";
		return -1;
	}
	return 0;
}

char *
units_fmt_size(uint64_t v, char *buf, size_t len)
{
	static const struct {
		const char *sfx;
		uint64_t mult;
	} sfx[] = {
		{ "T", 1000000000000ULL }, { "G", 1000000000ULL },
		{ "M", 1000000ULL }, { "k", 1000ULL },
	};
	size_t i;

	for (i = 0; v != 0 && i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (v % sfx[i].mult == 0) {
			snprintf(buf, len, "%llu%s",
			    (unsigned long long)(v / sfx[i].mult), sfx[i].sfx);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

char *
units_fmt_duration(uint64_t secs, char *buf, size_t len)
{
	static const struct {
		char c;
		uint64_t secs;
	} unit[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	size_t i, used = 0;
	int n;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (secs == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (i = 0; i < sizeof(unit) / sizeof(unit[0]) && used < len; i++) {
		if (secs < unit[i].secs)
			continue;
		n = snprintf(buf + used, len - used, "%llu%c",
		    (unsigned long long)(secs / unit[i].secs), unit[i].c);
		if (n < 0)
			break;
		used += (size_t)n;
		secs %= unit[i].secs;
	}
	return buf;
}
