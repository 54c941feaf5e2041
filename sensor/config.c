/*
 * config.c — owns the reading of spanwatch.conf and of command-line
 * overrides into struct sw_config.
 *
 * One table (keys[] below) gives each key its section, type, field,
 * bounds and default; each type (t_uint, t_duration, ...) gives its parser
 * and, for values on the heap, its destructor. Defaults go through the
 * same parsers as the file does, so a default cannot drift outside its own
 * bounds unnoticed.
 *
 * libinih is built here without INI_HANDLER_LINENO, and it reports only
 * the first syntax error. So config_load feeds it through its own line
 * reader, which counts lines (inih calls the handler for a line before it
 * reads the next, so the count is the handler's line) and screens each
 * line first: overlong lines (inih would truncate them silently),
 * malformed section headers and lines without "=" are reported here, with
 * their line numbers, and handed on to inih as blank lines. Every error
 * in a file is therefore reported, not just the first.
 *
 * Dialect, beyond inih's: indentation of keys and section headers is
 * cosmetic; an indented line without "=" continues the list above it
 * (inih's multi-line values, allowed for lists only); "#" or ";" after
 * whitespace starts a comment; one pair of double quotes around a value
 * is removed; section and key names ignore case.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

_Static_assert(sizeof(enum config_spf) == sizeof(int),
    "enum fields are written through int *");

#define WHY_LEN 512
/* A file with more errors than this is not a configuration file at all;
 * the rest of it would only bury the first messages. */
#define CONFIG_MAX_ERRORS 200

struct key;

/* A parser reads value into the field at fld; append is set for the
 * continuation lines of a list. basedir is where relative paths lead, or
 * NULL to keep them as given. Returns 0, or -1 with the reason in why. */
typedef int parse_fn(const struct key *k, void *fld, const char *value,
    int append, const char *basedir, char *why, size_t whylen);
typedef void release_fn(void *fld);

struct type {
	parse_fn *parse;
	release_fn *release;	/* NULL: nothing on the heap */
	int list;		/* may continue on indented lines */
};

struct enum_name {
	const char *name;
	int val;
};

struct key {
	const char *section;
	const char *name;
	const struct type *type;
	size_t off;
	double min, max;	/* value bounds; for strings and lists, the
				 * bounds of the length or count */
	const char *def;	/* as an operator would write it; NULL: unset */
	const struct enum_name *names;	/* for enums, NULL-terminated */
};

/* ---- the types ---- */

static int
range_error(const char *value, const char *lo, const char *hi, char *why,
    size_t whylen)
{
	snprintf(why, whylen, "'%s' is out of range (%s..%s)", value, lo, hi);
	return -1;
}

static int
parse_uint(const struct key *k, void *fld, const char *value, int append,
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
parse_duration(const struct key *k, void *fld, const char *value, int append,
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
parse_size(const struct key *k, void *fld, const char *value, int append,
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
parse_float(const struct key *k, void *fld, const char *value, int append,
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
parse_bool(const struct key *k, void *fld, const char *value, int append,
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
parse_enum(const struct key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	const struct enum_name *e;
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
parse_string(const struct key *k, void *fld, const char *value, int append,
    const char *basedir, char *why, size_t whylen)
{
	if (check_text(value, k->max, why, whylen) < 0)
		return -1;
	return set_string(fld, value[0] ? value : NULL, why, whylen);
}

/* A file or directory; empty means unset. Relative paths from a file are
 * joined to that file's directory (see config.h). */
static int
parse_path(const struct key *k, void *fld, const char *value, int append,
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
parse_name(const struct key *k, void *fld, const char *value, int append,
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
	const struct key *k;
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
min_check(const struct key *k, unsigned n, const char *what, char *why,
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
parse_addrs(const struct key *k, void *fld, const char *value, int append,
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
parse_ports(const struct key *k, void *fld, const char *value, int append,
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
parse_names(const struct key *k, void *fld, const char *value, int append,
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
parse_endpoint(const struct key *k, void *fld, const char *value, int append,
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
parse_syslog(const struct key *k, void *fld, const char *value, int append,
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
parse_rrdcached(const struct key *k, void *fld, const char *value, int append,
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

static const struct type t_uint = { parse_uint, NULL, 0 };
static const struct type t_duration = { parse_duration, NULL, 0 };
static const struct type t_size = { parse_size, NULL, 0 };
static const struct type t_float = { parse_float, NULL, 0 };
static const struct type t_bool = { parse_bool, NULL, 0 };
static const struct type t_enum = { parse_enum, NULL, 0 };
static const struct type t_string = { parse_string, release_string, 0 };
static const struct type t_path = { parse_path, release_string, 0 };
static const struct type t_name = { parse_name, NULL, 0 };
static const struct type t_addrs = { parse_addrs, NULL, 1 };
static const struct type t_ports = { parse_ports, NULL, 1 };
static const struct type t_names = { parse_names, release_names, 1 };
static const struct type t_endpoint = { parse_endpoint, NULL, 0 };
static const struct type t_syslog = { parse_syslog, NULL, 0 };
static const struct type t_rrdcached = { parse_rrdcached, release_string, 0 };

/* ---- the keys ---- */

static const struct enum_name spf_names[] = {
	{ "off", CONFIG_SPF_OFF },
	{ "annotate", CONFIG_SPF_ANNOTATE },
	{ "exempt", CONFIG_SPF_EXEMPT },
	{ NULL, 0 },
};

static const struct enum_name facility_names[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

#define F(field) offsetof(struct sw_config, field)
#define DAY 86400.0

static const char *const sections[] = {
	"capture", "subscribers", "rrd", "smtp", "p2p", "alerts", "sensor",
	"clickhouse",
};

/*
 * Bounds are there to catch typos and nonsense, not to second-guess an
 * operator: a step under 10 s would make rrdtool the bottleneck, a
 * max_flows under 1000 cannot hold a small office. Keep conf/spanwatch.conf
 * in step with this table (tests/unit/test_config.c checks it).
 */
static const struct key keys[] = {
	{ "capture", "interface", &t_string, F(capture.interface), 0, 255, NULL, NULL },
	{ "capture", "filter", &t_string, F(capture.filter), 0, 8191, NULL, NULL },
	/* 65535 holds any IP packet whole, even GRO-merged ones. */
	{ "capture", "snaplen", &t_uint, F(capture.snaplen), 64, 262144, "65535", NULL },
	{ "capture", "buffer_mb", &t_uint, F(capture.buffer_mb), 1, 4096, "64", NULL },
	{ "capture", "promisc", &t_bool, F(capture.promisc), 0, 0, "yes", NULL },
	{ "capture", "threads", &t_uint, F(capture.threads), 1, 16, "1", NULL },
	{ "subscribers", "file", &t_path, F(subscribers.file), 0, 0, NULL, NULL },
	{ "rrd", "dir", &t_path, F(rrd.dir), 0, 0, NULL, NULL },
	/* 20 s at least: a shorter step cannot keep a subscriber file under
	 * 1.5 MiB with the resolutions SPEC asks for (1.84 MiB at 10 s). */
	{ "rrd", "step", &t_duration, F(rrd.step), 20, 3600, "60", NULL },
	{ "rrd", "rrdcached", &t_rrdcached, F(rrd.rrdcached), 0, 1023, NULL, NULL },
	{ "smtp", "relays", &t_addrs, F(smtp.relays), 0, CONFIG_MAX_RELAYS, "", NULL },
	{ "smtp", "ports", &t_ports, F(smtp.ports), 1, CONFIG_MAX_PORTS, "25", NULL },
	{ "smtp", "exempt", &t_names, F(smtp.exempt), 0, CONFIG_MAX_EXEMPT, "", NULL },
	{ "smtp", "window", &t_duration, F(smtp.window), 10, DAY, "5m", NULL },
	/* 0: the first unauth direct session, far end or recipient alerts. */
	{ "smtp", "max_sessions", &t_uint, F(smtp.max_sessions), 0, 1e6, "20", NULL },
	{ "smtp", "max_mx", &t_uint, F(smtp.max_mx), 0, 1e6, "10", NULL },
	{ "smtp", "max_rcpt", &t_uint, F(smtp.max_rcpt), 0, 1e6, "100", NULL },
	{ "smtp", "surge_factor", &t_float, F(smtp.surge_factor), 1.01, 1000, "5", NULL },
	/* off: a replay never queries live DNS unless the configuration asks. */
	{ "smtp", "spf", &t_enum, F(smtp.spf), 0, 0, "off", spf_names },
	{ "smtp", "resolver", &t_endpoint, F(smtp.resolver), 0, 0, "", NULL },
	{ "p2p", "allowlist", &t_path, F(p2p.allowlist), 0, 0, NULL, NULL },
	{ "p2p", "window", &t_duration, F(p2p.window), 60, 7 * DAY, "1h", NULL },
	{ "p2p", "max_bt_bytes", &t_size, F(p2p.max_bt_bytes), 1e3, 1e15, "10G", NULL },
	{ "alerts", "syslog", &t_syslog, F(alerts.syslog), 0, 0, "local", NULL },
	{ "alerts", "facility", &t_enum, F(alerts.facility), 0, 0, "daemon", facility_names },
	{ "alerts", "ident", &t_name, F(alerts.ident), 1, CONFIG_IDENT_MAX, "spanwatch", NULL },
	{ "alerts", "json", &t_path, F(alerts.json), 0, 0, NULL, NULL },
	{ "alerts", "holddown", &t_duration, F(alerts.holddown), 0, 7 * DAY, "1h", NULL },
	{ "sensor", "name", &t_name, F(sensor.name), 1, UNITS_NAME_MAX, NULL, NULL },
	{ "sensor", "user", &t_string, F(sensor.user), 0, 32, NULL, NULL },
	{ "sensor", "pidfile", &t_path, F(sensor.pidfile), 0, 0, NULL, NULL },
	{ "sensor", "max_flows", &t_uint, F(sensor.max_flows), 1000, 1e8, "1000000", NULL },
	{ "sensor", "idle_timeout", &t_duration, F(sensor.idle_timeout), 10, DAY, "2m", NULL },
	{ "sensor", "metrics", &t_string, F(sensor.metrics), 0, 80, NULL, NULL },
	{ "clickhouse", "url", &t_string, F(clickhouse.url), 0, 1023, NULL, NULL },
	{ "clickhouse", "database", &t_name, F(clickhouse.database), 1, CONFIG_IDENT_MAX,
	  "spanwatch", NULL },
	{ "clickhouse", "spool", &t_path, F(clickhouse.spool), 0, 0, NULL, NULL },
	{ "clickhouse", "spool_max", &t_size, F(clickhouse.spool_max), 1e4, 1e15, "1G", NULL },
	{ "clickhouse", "timeout", &t_duration, F(clickhouse.timeout), 1, 3600, "10s", NULL },
	{ "clickhouse", "retention", &t_duration, F(clickhouse.retention), 0, 3650 * DAY, "0",
	  NULL },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

static const struct key *
key_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcasecmp(keys[i].section, section) == 0 &&
		    strcasecmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
section_find(const char *name)
{
	size_t i;

	for (i = 0; i < NSECTIONS; i++)
		if (strcasecmp(sections[i], name) == 0)
			return (int)i;
	return -1;
}

/* "relays, ports, ..." for the messages that list what would be valid. */
static const char *
key_names(const char *section, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < NKEYS && used < len; i++)
		if (strcmp(keys[i].section, section) == 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used ? ", " : "", keys[i].name);
	return buf;
}

static const char *
section_names(char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < NSECTIONS && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s",
		    used ? ", " : "", sections[i]);
	return buf;
}

/* The short host name, cut down to the characters of a name. */
static void
default_name(char *name, size_t len)
{
	char host[256];
	const char *why;
	size_t i;

	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	for (i = 0; host[i]; i++) {
		char c = host[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			host[i] = '_';
	}
	host[len - 1 < UNITS_NAME_MAX ? len - 1 : UNITS_NAME_MAX] = '\0';
	if (units_check_name(host, UNITS_NAME_MAX, &why) < 0)
		strcpy(host, "spanwatch");
	memcpy(name, host, strlen(host) + 1);	/* cut to fit above */
}

void
config_defaults(struct sw_config *cfg)
{
	char why[WHY_LEN];
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	default_name(cfg->sensor.name, sizeof(cfg->sensor.name));
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->def != NULL &&
		    k->type->parse(k, (char *)cfg + k->off, k->def, 0, NULL,
		    why, sizeof(why)) < 0)
			log_err("built-in default of [%s] %s: %s", k->section,
			    k->name, why);	/* a bug; the tests catch it */
	}
}

void
config_free(struct sw_config *cfg)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].type->release != NULL)
			keys[i].type->release((char *)cfg + keys[i].off);
	free(cfg->origin.file);
	cfg->origin.file = NULL;
}

const char *
config_where(const struct sw_config *cfg, const char *section,
    const char *key, char *buf, size_t len)
{
	const struct key *k = key_find(section, key);
	size_t idx;

	if (k == NULL) {
		snprintf(buf, len, "[%s] %s", section, key);
		return buf;
	}
	idx = (size_t)(k - keys);
	if (cfg->origin.flag[idx] != NULL)
		snprintf(buf, len, "%s", cfg->origin.flag[idx]);
	else if (cfg->origin.line[idx] != 0 && cfg->origin.file != NULL)
		snprintf(buf, len, "%s:%u", cfg->origin.file,
		    cfg->origin.line[idx]);
	else
		snprintf(buf, len, "[%s] %s", k->section, k->name);
	return buf;
}

/* Removes one pair of double quotes around a value, so that a value can
 * be written as operators often do ("tcp port 25"). */
static const char *
unquote(const char *value, char *buf, size_t len)
{
	size_t n = strlen(value);

	if (n < 2 || value[0] != '"' || value[n - 1] != '"' || n - 1 > len)
		return value;
	memcpy(buf, value + 1, n - 2);
	buf[n - 2] = '\0';
	return buf;
}

int
config_set(struct sw_config *cfg, const char *section, const char *key,
    const char *value, const char *origin)
{
	const struct key *k = key_find(section, key);
	char why[WHY_LEN];

	if (k == NULL) {
		log_err("%s: no such setting [%s] %s",
		    origin ? origin : "config", section, key);
		return -1;
	}
	if (k->type->parse(k, (char *)cfg + k->off, value, 0, NULL, why,
	    sizeof(why)) < 0) {
		if (origin != NULL)
			log_err("%s: %s", origin, why);
		else
			log_err("[%s] %s: %s", k->section, k->name, why);
		return -1;
	}
	if (origin != NULL)
		cfg->origin.flag[k - keys] = origin;	/* a string literal */
	return 0;
}

/* ---- reading a file ---- */

struct load {
	struct sw_config *cfg;
	const char *path;
	const char *basedir;
	FILE *fp;
	char *buf;		/* the current line, whole */
	size_t cap;
	unsigned line;
	unsigned errors;
	int section;		/* index in sections[]; -1 none yet; -2 a bad
				 * or unknown one, whose keys are skipped */
	int had_key;		/* a key line since the section header:
				 * inih then takes indented lines as
				 * continuations */
	int cont;		/* the current line is a continuation */
	const struct key *last;	/* key of the last key line, or NULL */
	unsigned seen[NKEYS];	/* line where each key was set, 0 = not */
};

static void
load_error(struct load *ld, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
load_error(struct load *ld, const char *fmt, ...)
{
	char msg[WHY_LEN + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s:%u: %s", ld->path, ld->line, msg);
	ld->errors++;
}

/* Whether a key line has what inih (r55) ends a key name with: '=' or
 * ':'. Comments are cut by then. */
static int
has_separator(const char *s)
{
	return strpbrk(s, "=:") != NULL;
}

/* Cuts a comment that starts with '#' or ';' after whitespace. */
static void
cut_comment(char *s)
{
	char *p;

	for (p = s; *p; p++) {
		if ((*p == '#' || *p == ';') && p > s &&
		    (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
}

/* A section header "[name]" at s; sets ld->section. Returns 0 when inih
 * is to see a section header, -1 a blank line (a malformed header). */
static int
section_line(struct load *ld, char *s)
{
	char *end = strchr(s, ']'), *name = s + 1, list[256];

	if (end == NULL) {
		load_error(ld, "section header without ']'");
		ld->section = -2;
		return -1;
	}
	if (end[1 + strspn(end + 1, " \t")] != '\0') {
		load_error(ld, "unexpected text after the section header");
		ld->section = -2;
		return -1;
	}
	*end = '\0';
	name += strspn(name, " \t");
	while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	ld->section = section_find(name);
	if (ld->section < 0) {
		load_error(ld, "unknown section [%s] (sections: %s)", name,
		    section_names(list, sizeof(list)));
		ld->section = -2;
	}
	return 0;
}

/*
 * inih's reader: hands over one line at a time (fgets-style, num bytes
 * at most) after screening it; see the top of this file.
 */
static char *
load_reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	ssize_t n;
	char *s;
	const char *out;
	size_t indent;

	if (ld->errors >= CONFIG_MAX_ERRORS) {
		log_err("%s:%u: too many errors, stopping here", ld->path,
		    ld->line);
		return NULL;
	}
	n = getline(&ld->buf, &ld->cap, ld->fp);
	if (n < 0) {
		/* Not only the end: also a read error (EISDIR) or ENOMEM. */
		if (!feof(ld->fp)) {
			log_err("%s: %s", ld->path, strerror(errno));
			ld->errors++;
		}
		return NULL;
	}
	ld->line++;
	ld->cont = 0;
	out = NULL;
	s = ld->buf;
	if (ld->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;		/* a UTF-8 byte order mark */
	if (strlen(s) != (size_t)n - (size_t)(s - ld->buf)) {
		load_error(ld, "line holds a NUL byte");
		goto blank;
	}
	s[strcspn(s, "\r\n")] = '\0';
	if (strlen(s) + 2 > (size_t)num) {
		load_error(ld, "line is longer than %d characters (continue a "
		    "long list on indented lines)", num - 2);
		goto blank;
	}
	indent = strspn(s, " \t");
	if (s[indent] == '\0' || s[indent] == '#' || s[indent] == ';')
		goto blank;
	cut_comment(s + indent);
	if (s[indent] == '[') {
		s += indent;
		ld->had_key = 0;
		ld->last = NULL;
		if (section_line(ld, s) < 0)
			goto blank;
		/* inih gets a canonical header (so that it forgets the last
		 * key, as the reader does); the name it passes is unused. */
		out = "[x]";
	} else if (indent > 0 && ld->had_key && strchr(s, '=') == NULL) {
		ld->cont = 1;	/* inih passes it on as the last key's */
	} else {
		s += indent;	/* indentation of a key is cosmetic */
		if (!has_separator(s)) {
			load_error(ld, "expected 'key = value'");
			goto blank;
		}
		ld->had_key = 1;
	}
	if (out == NULL)
		out = s;
	snprintf(str, (size_t)num, "%s\n", out);
	return str;
blank:
	snprintf(str, (size_t)num, "\n");
	return str;
}

/* inih's handler: one key line or continuation line. Always returns 1:
 * errors are counted in ld, and inih must go on to the next line. */
static int
load_handler(void *user, const char *section, const char *name,
    const char *value)
{
	struct load *ld = user;
	const struct key *k;
	char why[WHY_LEN], list[512], buf[1024];
	size_t idx;

	(void)section;		/* the reader keeps track, in ld->section */
	if (ld->section == -2)
		return 1;	/* reported at the section header */
	if (ld->cont) {
		k = ld->last;
		if (k == NULL)
			return 1;	/* its key line was reported */
		if (!k->type->list) {
			load_error(ld, "[%s] %s: only lists may continue on "
			    "indented lines", k->section, k->name);
			return 1;
		}
	} else {
		ld->last = NULL;
		if (ld->section < 0) {
			load_error(ld, "'%s' comes before any [section]",
			    name);
			return 1;
		}
		k = key_find(sections[ld->section], name);
		if (k == NULL) {
			load_error(ld, "unknown key '%s' in [%s] (keys: %s)",
			    name, sections[ld->section],
			    key_names(sections[ld->section], list,
			    sizeof(list)));
			return 1;
		}
		ld->last = k;
	}
	idx = (size_t)(k - keys);
	value = unquote(value, buf, sizeof(buf));
	if (k->type->parse(k, (char *)ld->cfg + k->off, value, ld->cont,
	    ld->basedir, why, sizeof(why)) < 0) {
		load_error(ld, "[%s] %s: %s", k->section, k->name, why);
		return 1;
	}
	/* Only a value that took effect is worth a warning when replaced. */
	if (!ld->cont && ld->seen[idx] != 0)
		log_warn("%s:%u: [%s] %s is set again (first at line %u); "
		    "the last value counts", ld->path, ld->line, k->section,
		    k->name, ld->seen[idx]);
	if (!ld->cont) {
		ld->seen[idx] = ld->line;
		ld->cfg->origin.line[idx] = ld->line;
	}
	return 1;
}

/* The absolute directory of path, or NULL if out of memory. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir, *abs;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return NULL;
	/* Absolute, so that a later chdir (daemon mode) keeps paths valid. */
	abs = realpath(dir, NULL);
	if (abs == NULL)
		return dir;
	free(dir);
	return abs;
}

int
config_load(struct sw_config *cfg, const char *path)
{
	struct load ld;
	char *basedir;
	int rc, saved;

	memset(&ld, 0, sizeof(ld));
	ld.cfg = cfg;
	ld.path = path;
	ld.section = -1;
	if ((ld.fp = fopen(path, "r")) == NULL) {
		saved = errno;
		log_err("%s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if ((basedir = dir_of(path)) == NULL) {
		log_err("%s: out of memory", path);
		fclose(ld.fp);
		return -1;
	}
	ld.basedir = basedir;
	free(cfg->origin.file);
	cfg->origin.file = strdup(path);
	rc = ini_parse_stream(load_reader, &ld, load_handler, &ld);
	if (rc == -2) {
		log_err("%s: out of memory", path);
		ld.errors++;
	} else if (rc > 0 && ld.errors == 0) {
		/* inih saw a fault that the reader's screening missed. */
		log_err("%s:%d: syntax error", path, rc);
		ld.errors++;
	}
	free(ld.buf);
	free(basedir);
	fclose(ld.fp);
	return ld.errors ? -1 : 0;
}
