/*
 * config_types.c — the parsers of the configuration's value types (see
 * config_int.h): numbers with units and bounds, booleans, enums, strings
 * and paths, address, port and name lists, endpoints, the syslog target
 * and the rrdcached address. Each checks a value against its key's bounds
 * and writes the field; the key table (config.c) says which applies.
 */
#include "config_int.h"

#include "log.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

static int
range_error(const char *value, const char *lo, const char *hi, char *why,
    size_t whylen)
{
	snprintf(why, whylen, "'%s' is out of range (%s..%s)", value, lo, hi);
	return -1;
}

static int
parse_uint(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const char *what;
	uint64_t v;
	char lo[32], hi[32];

	if (units_parse_uint(value, &v, &what) < 0) {
		snprintf(why, whylen, "'%s' is %s", value, what);
		return -1;
	}
	if ((double)v < k->min || (double)v > k->max) {
		snprintf(lo, sizeof(lo), "%.0f", k->min);
		snprintf(hi, sizeof(hi), "%.0f", k->max);
		return range_error(value, lo, hi, why, whylen);
	}
	*(unsigned *)fld = (unsigned)v;
	return 0;
}

static int
parse_duration(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const char *what;
	uint64_t v;
	char lo[32], hi[32];

	if (units_parse_duration(value, &v, &what) < 0) {
		snprintf(why, whylen, "'%s' is %s", value, what);
		return -1;
	}
	if ((double)v < k->min || (double)v > k->max)
		return range_error(value,
		    units_fmt_duration((uint64_t)k->min, lo, sizeof(lo)),
		    units_fmt_duration((uint64_t)k->max, hi, sizeof(hi)),
		    why, whylen);
	*(unsigned *)fld = (unsigned)v;
	return 0;
}

static int
parse_size(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const char *what;
	uint64_t v;
	char lo[32], hi[32];

	if (units_parse_size(value, &v, &what) < 0) {
		snprintf(why, whylen, "'%s' is %s", value, what);
		return -1;
	}
	if ((double)v < k->min || (double)v > k->max)
		return range_error(value,
		    units_fmt_size((uint64_t)k->min, lo, sizeof(lo)),
		    units_fmt_size((uint64_t)k->max, hi, sizeof(hi)),
		    why, whylen);
	*(uint64_t *)fld = v;
	return 0;
}

static int
parse_float(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	char *end;
	double v;
	char lo[32], hi[32];

	/* strtod alone would also take "inf", "nan" and hex floats; an
	 * operator writes plain decimals. */
	if (value[strspn(value, "0123456789.")] != '\0' || value[0] == '\0') {
		snprintf(why, whylen, "'%s' is not a decimal number", value);
		return -1;
	}
	errno = 0;
	v = strtod(value, &end);
	if (*end != '\0' || end == value || errno != 0) {
		snprintf(why, whylen, "'%s' is not a decimal number", value);
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(lo, sizeof(lo), "%g", k->min);
		snprintf(hi, sizeof(hi), "%g", k->max);
		return range_error(value, lo, hi, why, whylen);
	}
	*(double *)fld = v;
	return 0;
}

static int
parse_bool(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const char *what;
	int v;

	if (units_parse_bool(value, &v, &what) < 0) {
		snprintf(why, whylen, "'%s' is %s", value, what);
		return -1;
	}
	*(bool *)fld = v != 0;
	return 0;
}

static int
parse_enum(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const struct config_enum_name *e;
	size_t used;

	for (e = k->names; e->name != NULL; e++) {
		if (strcasecmp(value, e->name) == 0) {
			*(int *)fld = e->val;
			return 0;
		}
	}
	used = (size_t)snprintf(why, whylen, "'%s' is not one of", value);
	for (e = k->names; e->name != NULL && used < whylen; e++)
		used += (size_t)snprintf(why + used, whylen - used, "%s %s",
		    e == k->names ? "" : ",", e->name);
	return -1;
}

static int
check_text(const char *value, double maxlen, char *why, size_t whylen)
{
	const unsigned char *p;

	if ((double)strlen(value) > maxlen) {
		snprintf(why, whylen, "value is longer than %.0f characters",
		    maxlen);
		return -1;
	}
	for (p = (const unsigned char *)value; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			snprintf(why, whylen, "value holds a control character");
			return -1;
		}
	}
	return 0;
}

static int
set_string(char **fld, const char *s, char *why, size_t whylen)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	free(*fld);
	*fld = copy;
	return 0;
}

static void
release_string(void *fld)
{
	char **s = fld;

	free(*s);
	*s = NULL;
}

/* Optional free text; empty means unset. */
static int
parse_string(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	if (check_text(value, k->max, why, whylen) < 0)
		return -1;
	return set_string(fld, value[0] ? value : NULL, why, whylen);
}

/* A file or directory; empty means unset. Relative paths from a file are
 * joined to that file's directory (see config.h). */
static int
parse_path(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	char buf[PATH_MAX];
	int n;

	if (check_text(value, PATH_MAX - 1, why, whylen) < 0)
		return -1;
	if (value[0] == '\0' || value[0] == '/' || basedir == NULL)
		return set_string(fld, value[0] ? value : NULL, why, whylen);
	while (value[0] == '.' && value[1] == '/')
		value += 2 + strspn(value + 2, "/");
	n = snprintf(buf, sizeof(buf), "%s%s%s", basedir,
	    strcmp(basedir, "/") == 0 ? "" : "/", value);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(why, whylen, "path is too long");
		return -1;
	}
	return set_string(fld, buf, why, whylen);
}

/* A name that ends up in file names or log fields; required. */
static int
parse_name(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const char *what;

	if (units_check_name(value, (size_t)k->max, &what) < 0) {
		snprintf(why, whylen, "'%s': %s (at most %.0f of "
		    "[A-Za-z0-9._-], not starting with '.' or '-')",
		    value, what, k->max);
		return -1;
	}
	/* The field is an array of k->max + 1 chars (see struct sw_config). */
	memcpy(fld, value, strlen(value) + 1);
	return 0;
}

/* Splits a list value at commas and blanks; calls each for every item.
 * Returns 0, or -1 as soon as each does. */
static int
split_list(const char *value, int (*each)(void *arg, const char *item),
    void *arg)
{
	char item[256];
	const char *p = value;
	size_t len;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			return 0;
		len = strcspn(p, ", \t");
		if (len >= sizeof(item))
			len = sizeof(item) - 1;	/* too long for any item:
						 * it fails its own check */
		memcpy(item, p, len);
		item[len] = '\0';
		p += strcspn(p, ", \t");
		if (each(arg, item) < 0)
			return -1;
	}
}

struct list_arg {
	const struct config_key *k;
	void *fld;
	char *why;
	size_t whylen;
};

static int
count_check(const struct list_arg *a, unsigned n, const char *what)
{
	if ((double)n >= a->k->max) {
		snprintf(a->why, a->whylen, "more than %.0f %s", a->k->max,
		    what);
		return -1;
	}
	return 0;
}

static int
min_check(const struct config_key *k, unsigned n, const char *what, char *why,
    size_t whylen)
{
	if ((double)n < k->min) {
		snprintf(why, whylen, "needs at least %.0f %s", k->min, what);
		return -1;
	}
	return 0;
}

static int
addr_item(void *arg, const char *item)
{
	struct list_arg *a = arg;
	struct config_addrs *l = a->fld;
	const char *what;

	if (count_check(a, l->n, "addresses") < 0)
		return -1;
	if (units_parse_addr(item, &l->addr[l->n], &what) < 0) {
		snprintf(a->why, a->whylen, "'%s' is %s", item, what);
		return -1;
	}
	l->n++;
	return 0;
}

static int
parse_addrs(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	struct list_arg a = { k, fld, why, whylen };
	struct config_addrs *l = fld;

	if (!append)
		l->n = 0;
	if (split_list(value, addr_item, &a) < 0)
		return -1;
	return min_check(k, l->n, "address", why, whylen);
}

static int
port_item(void *arg, const char *item)
{
	struct list_arg *a = arg;
	struct config_ports *l = a->fld;
	const char *what;

	if (count_check(a, l->n, "ports") < 0)
		return -1;
	if (units_parse_port(item, &l->port[l->n], &what) < 0) {
		snprintf(a->why, a->whylen, "'%s' is %s", item, what);
		return -1;
	}
	l->n++;
	return 0;
}

static int
parse_ports(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	struct list_arg a = { k, fld, why, whylen };
	struct config_ports *l = fld;

	if (!append)
		l->n = 0;
	if (split_list(value, port_item, &a) < 0)
		return -1;
	return min_check(k, l->n, "port", why, whylen);
}

static void
release_names(void *fld)
{
	struct config_names *l = fld;

	while (l->n > 0)
		free(l->name[--l->n]);
	free(l->name);
	l->name = NULL;
}

static int
name_item(void *arg, const char *item)
{
	struct list_arg *a = arg;
	struct config_names *l = a->fld;
	const char *what;
	char **grown;

	if (count_check(a, l->n, "names") < 0)
		return -1;
	if (units_check_name(item, UNITS_NAME_MAX, &what) < 0) {
		snprintf(a->why, a->whylen, "'%s': %s", item, what);
		return -1;
	}
	/* Grows by doubling; the count is bounded by the key's max. */
	if ((l->n & (l->n - 1)) == 0) {
		grown = realloc(l->name, (l->n ? 2 * l->n : 4) * sizeof(*grown));
		if (grown == NULL)
			goto oom;
		l->name = grown;
	}
	if ((l->name[l->n] = strdup(item)) == NULL)
		goto oom;
	l->n++;
	return 0;
oom:
	snprintf(a->why, a->whylen, "out of memory");
	return -1;
}

static int
parse_names(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	struct list_arg a = { k, fld, why, whylen };
	struct config_names *l = fld;

	if (!append)
		release_names(fld);
	if (split_list(value, name_item, &a) < 0)
		return -1;
	return min_check(k, l->n, "name", why, whylen);
}

/* ADDRESS[:PORT]; empty means unset. */
static int
parse_endpoint(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	struct config_endpoint *ep = fld, v;
	const char *what;

	memset(&v, 0, sizeof(v));
	v.port = 53;
	if (value[0] != '\0' &&
	    units_parse_endpoint(value, &v.addr, &v.port, &what) < 0) {
		snprintf(why, whylen, "'%s' is %s", value, what);
		return -1;
	}
	*ep = v;
	return 0;
}

/* A DNS name, or an IPv4 address (which is a valid name's spelling too).
 * 0 ok, -1 bad. */
static int
check_hostname(const char *h)
{
	size_t len = strlen(h), label = 0;
	const char *p;

	if (len == 0 || len > CONFIG_HOST_MAX)
		return -1;
	for (p = h; *p; p++) {
		char c = *p;

		if (c == '.') {
			if (label == 0 || p[-1] == '-')
				return -1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-'))
			return -1;
		if ((label == 0 && c == '-') || ++label > 63)
			return -1;
	}
	return p[-1] == '-' ? -1 : 0;
}

/* HOST[:PORT] with HOST a name, an IPv4 address or a bracketed IPv6
 * address; host gets the name or address without brackets. *port is
 * left alone when no port is given. 0 ok, -1 bad. */
static int
host_port(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *end, *what;
	struct sw_addr a;
	size_t len;

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL)
			return -1;
		len = (size_t)(end - s - 1);
		if (len == 0 || len >= hostlen)
			return -1;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		if (strchr(host, ':') == NULL ||
		    units_parse_addr(host, &a, &what) < 0)
			return -1;
		end++;
	} else {
		len = strcspn(s, ":");
		if (len == 0 || len >= hostlen)
			return -1;
		memcpy(host, s, len);
		host[len] = '\0';
		if (check_hostname(host) < 0)
			return -1;
		end = s + len;
	}
	if (*end == '\0')
		return 0;
	if (*end != ':' || units_parse_port(end + 1, port, &what) < 0)
		return -1;
	return 0;
}

static int
parse_syslog(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	static const struct {
		const char *scheme;
		enum config_syslog kind;
	} scheme[] = {
		{ "udp://", CONFIG_SYSLOG_UDP }, { "tcp://", CONFIG_SYSLOG_TCP },
	};
	struct config_syslog_target *t = fld, v;
	size_t i;

	memset(&v, 0, sizeof(v));
	v.port = 514;
	if (strcasecmp(value, "local") == 0) {
		v.kind = CONFIG_SYSLOG_LOCAL;
		*t = v;
		return 0;
	}
	for (i = 0; i < sizeof(scheme) / sizeof(scheme[0]); i++) {
		size_t n = strlen(scheme[i].scheme);

		if (strncasecmp(value, scheme[i].scheme, n) == 0 &&
		    host_port(value + n, v.host, sizeof(v.host), &v.port) == 0) {
			v.kind = scheme[i].kind;
			*t = v;
			return 0;
		}
	}
	snprintf(why, whylen, "'%s' is not local, udp://HOST[:PORT] or "
	    "tcp://HOST[:PORT]", value);
	return -1;
}

/* rrdcached's own address forms, validated here so that a typo is a
 * configuration error and not a failure at the first flush. */
static int
parse_rrdcached(const struct config_key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	char host[CONFIG_HOST_MAX + 1];
	const char *path = NULL;
	uint16_t port;

	if (check_text(value, k->max, why, whylen) < 0)
		return -1;
	if (strncmp(value, "unix:", 5) == 0)
		path = value + 5;
	else if (value[0] == '/')
		path = value;
	if (path != NULL && path[0] != '/') {
		snprintf(why, whylen, "'%s': the socket path must be absolute",
		    value);
		return -1;
	}
	if (path == NULL && value[0] != '\0' &&
	    host_port(value, host, sizeof(host), &port) < 0) {
		snprintf(why, whylen, "'%s' is not unix:/PATH or HOST[:PORT]",
		    value);
		return -1;
	}
	return set_string(fld, value[0] ? value : NULL, why, whylen);
}

const struct config_ops config_ops[CONFIG_NTYPES] = {
	[CONFIG_T_UINT] = { parse_uint, NULL, 0, sizeof(unsigned) },
	[CONFIG_T_DURATION] = { parse_duration, NULL, 0, sizeof(unsigned) },
	[CONFIG_T_SIZE] = { parse_size, NULL, 0, sizeof(uint64_t) },
	[CONFIG_T_FLOAT] = { parse_float, NULL, 0, sizeof(double) },
	[CONFIG_T_BOOL] = { parse_bool, NULL, 0, sizeof(bool) },
	[CONFIG_T_ENUM] = { parse_enum, NULL, 0, sizeof(int) },
	[CONFIG_T_STRING] = { parse_string, release_string, 0, sizeof(char *) },
	[CONFIG_T_PATH] = { parse_path, release_string, 0, sizeof(char *) },
	[CONFIG_T_NAME] = { parse_name, NULL, 0, 0 },
	[CONFIG_T_ADDRS] = { parse_addrs, NULL, 1, 0 },
	[CONFIG_T_PORTS] = { parse_ports, NULL, 1, 0 },
	[CONFIG_T_NAMES] = { parse_names, release_names, 1, 0 },
	[CONFIG_T_ENDPOINT] = { parse_endpoint, NULL, 0, 0 },
	[CONFIG_T_SYSLOG] = { parse_syslog, NULL, 0, 0 },
	[CONFIG_T_RRDCACHED] = { parse_rrdcached, release_string, 0, 0 },
};
