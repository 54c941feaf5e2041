/*
 * config.c — owns the reading of spanwatch.conf and of command-line
 * overrides into struct sw_config.
 *
 * One table (keys[] below, built once) gives each key its section, type,
 * field, bounds and default: the sensor's own keys are declared here, each
 * collector's in its descriptor (collector_desc.h). Each type gives its
 * parser and, for values on the heap, its destructor (config_types.c). Defaults go through the
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
#include "config_int.h"

#include "collector_desc.h"

#include <errno.h>
#include <stdarg.h>
#include <ini.h>
#include <limits.h>
#include <pthread.h>
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

/* A file with more errors than this is not a configuration file at all;
 * the rest of it would only bury the first messages. */
#define CONFIG_MAX_ERRORS 200

/* ---- the keys ---- */

static const struct config_enum_name facility_names[] = {
	{ "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

#define F(field) offsetof(struct sw_config, field)
#define DAY 86400.0

/*
 * Bounds are there to catch typos and nonsense, not to second-guess an
 * operator: a step under 10 s would make rrdtool the bottleneck, a
 * max_flows under 1000 cannot hold a small office. Keep conf/spanwatch.conf
 * in step with the table (tests/unit/test_config.c checks it). The
 * sensor's own sections come first and last; the collectors' keys go
 * between, by their descriptors' rank.
 */
static const struct config_key keys_first[] = {
	{ "capture", "interface", CONFIG_T_STRING, F(capture.interface), 0, 255, NULL, NULL },
	{ "capture", "filter", CONFIG_T_STRING, F(capture.filter), 0, 8191, NULL, NULL },
	/* 65535 holds any IP packet whole, even GRO-merged ones. */
	{ "capture", "snaplen", CONFIG_T_UINT, F(capture.snaplen), 64, 262144, "65535", NULL },
	{ "capture", "buffer_mb", CONFIG_T_UINT, F(capture.buffer_mb), 1, 4096, "64", NULL },
	{ "capture", "promisc", CONFIG_T_BOOL, F(capture.promisc), 0, 0, "yes", NULL },
	{ "capture", "threads", CONFIG_T_UINT, F(capture.threads), 1, 16, "1", NULL },
	{ "subscribers", "file", CONFIG_T_PATH, F(subscribers.file), 0, 0, NULL, NULL },
	{ "rrd", "dir", CONFIG_T_PATH, F(rrd.dir), 0, 0, NULL, NULL },
	/* 20 s at least: a shorter step cannot keep a subscriber file under
	 * 1.5 MiB with the resolutions SPEC asks for (1.84 MiB at 10 s). */
	{ "rrd", "step", CONFIG_T_DURATION, F(rrd.step), 20, 3600, "60", NULL },
	{ "rrd", "rrdcached", CONFIG_T_RRDCACHED, F(rrd.rrdcached), 0, 1023, NULL, NULL },
};

static const struct config_key keys_last[] = {
	{ "alerts", "syslog", CONFIG_T_SYSLOG, F(alerts.syslog), 0, 0, "local", NULL },
	{ "alerts", "facility", CONFIG_T_ENUM, F(alerts.facility), 0, 0, "daemon", facility_names },
	{ "alerts", "ident", CONFIG_T_NAME, F(alerts.ident), 1, CONFIG_IDENT_MAX, "spanwatch", NULL },
	{ "alerts", "json", CONFIG_T_PATH, F(alerts.json), 0, 0, NULL, NULL },
	{ "alerts", "holddown", CONFIG_T_DURATION, F(alerts.holddown), 0, 7 * DAY, "1h", NULL },
	{ "sensor", "name", CONFIG_T_NAME, F(sensor.name), 1, UNITS_NAME_MAX, NULL, NULL },
	{ "sensor", "user", CONFIG_T_STRING, F(sensor.user), 0, 32, NULL, NULL },
	{ "sensor", "pidfile", CONFIG_T_PATH, F(sensor.pidfile), 0, 0, NULL, NULL },
	{ "sensor", "max_flows", CONFIG_T_UINT, F(sensor.max_flows), 1000, 1e8, "1000000", NULL },
	{ "sensor", "idle_timeout", CONFIG_T_DURATION, F(sensor.idle_timeout), 10, DAY, "2m", NULL },
	{ "sensor", "metrics", CONFIG_T_STRING, F(sensor.metrics), 0, 80, NULL, NULL },
	{ "clickhouse", "url", CONFIG_T_STRING, F(clickhouse.url), 0, 1023, NULL, NULL },
	{ "clickhouse", "database", CONFIG_T_NAME, F(clickhouse.database), 1, CONFIG_IDENT_MAX,
	  "spanwatch", NULL },
	{ "clickhouse", "spool", CONFIG_T_PATH, F(clickhouse.spool), 0, 0, NULL, NULL },
	{ "clickhouse", "spool_max", CONFIG_T_SIZE, F(clickhouse.spool_max), 1e4, 1e15, "1G", NULL },
	{ "clickhouse", "timeout", CONFIG_T_DURATION, F(clickhouse.timeout), 1, 3600, "10s", NULL },
	{ "clickhouse", "retention", CONFIG_T_DURATION, F(clickhouse.retention), 0, 3650 * DAY, "0",
	  NULL },
};

/* The table: every key, and where its value lives in struct sw_config. */
struct key {
	const struct config_key *d;
	size_t off;
};

static struct key keys[CONFIG_MAX_KEYS];
static size_t nkeys;
static const char *sections[CONFIG_MAX_KEYS];
static size_t nsections;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static const struct key *
key_find(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < nkeys; i++)
		if (strcasecmp(keys[i].d->section, section) == 0 &&
		    strcasecmp(keys[i].d->name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
section_find(const char *name)
{
	size_t i;

	for (i = 0; i < nsections; i++)
		if (strcasecmp(sections[i], name) == 0)
			return (int)i;
	return -1;
}

/* A declaration that cannot be used is a bug (the tests catch it): said,
 * and the key left out. */
static void
table_add(const struct config_key *d, size_t *next_ext)
{
	struct key *k = &keys[nkeys];

	if (nkeys == CONFIG_MAX_KEYS || key_find(d->section, d->name) != NULL ||
	    (unsigned)d->type >= CONFIG_NTYPES) {
		log_err("config: key [%s] %s: table full, twice or bad type",
		    d->section, d->name);
		return;
	}
	k->d = d;
	k->off = d->off;
	if (d->off == CONFIG_OFF_EXT) {
		if (config_ops[d->type].ext_size == 0 ||
		    *next_ext == CONFIG_MAX_EXT) {
			log_err("config: key [%s] %s: no room without a field",
			    d->section, d->name);
			return;
		}
		k->off = offsetof(struct sw_config, ext) +
		    (*next_ext)++ * sizeof(uint64_t);
	}
	if (section_find(d->section) < 0)
		sections[nsections++] = d->section;
	nkeys++;
}

static void
table_build(void)
{
	size_t next_ext = 0, n = 0, order[64];

	for (size_t i = 0; i < COLLECTOR_N(keys_first); i++)
		table_add(&keys_first[i], &next_ext);
	/* The collectors by rank, the registry's order among equals. */
	while (n < COLLECTOR_N(order) && collector_descs[n] != NULL)
		n++;
	if (n == COLLECTOR_N(order) && collector_descs[n] != NULL)
		log_err("config: more than %zu collectors: the keys of the "
		    "rest are left out", n);
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		while (j > 0 && collector_descs[order[j - 1]]->rank >
		    collector_descs[i]->rank) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (size_t i = 0; i < n; i++) {
		const struct collector_desc *c = collector_descs[order[i]];

		for (size_t j = 0; j < c->nkeys; j++)
			table_add(&c->keys[j], &next_ext);
	}
	for (size_t i = 0; i < COLLECTOR_N(keys_last); i++)
		table_add(&keys_last[i], &next_ext);
}

static void
table_init(void)
{
	(void)pthread_once(&table_once, table_build);
}

/* "relays, ports, ..." for the messages that list what would be valid. */
static const char *
key_names(const char *section, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < nkeys && used < len; i++)
		if (strcmp(keys[i].d->section, section) == 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s",
			    used ? ", " : "", keys[i].d->name);
	return buf;
}

static const char *
section_names(char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < nsections && used < len; i++)
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

	table_init();

	memset(cfg, 0, sizeof(*cfg));
	default_name(cfg->sensor.name, sizeof(cfg->sensor.name));
	for (i = 0; i < nkeys; i++) {
		const struct key *k = &keys[i];

		if (k->d->def != NULL &&
		    config_ops[k->d->type].parse(k->d, (char *)cfg + k->off, k->d->def, 0, NULL,
		    why, sizeof(why)) < 0)
			log_err("built-in default of [%s] %s: %s", k->d->section,
			    k->d->name, why);	/* a bug; the tests catch it */
	}
}

void
config_free(struct sw_config *cfg)
{
	size_t i;

	table_init();

	for (i = 0; i < nkeys; i++)
		if (config_ops[keys[i].d->type].release != NULL)
			config_ops[keys[i].d->type].release((char *)cfg + keys[i].off);
	free(cfg->origin.file);
	cfg->origin.file = NULL;
}

const char *
config_where(const struct sw_config *cfg, const char *section,
    const char *key, char *buf, size_t len)
{
	const struct key *k;
	size_t idx;

	table_init();
	k = key_find(section, key);

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
		snprintf(buf, len, "[%s] %s", k->d->section, k->d->name);
	return buf;
}

const void *
config_ext(const struct sw_config *cfg, const char *section,
    const char *key)
{
	const struct key *k;

	table_init();
	k = key_find(section, key);
	if (k == NULL || k->d->off != CONFIG_OFF_EXT)
		return NULL;
	return (const char *)cfg + k->off;
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
	const struct key *k;
	char why[WHY_LEN];

	table_init();
	k = key_find(section, key);
	if (k == NULL) {
		log_err("%s: no such setting [%s] %s",
		    origin ? origin : "config", section, key);
		return -1;
	}
	if (config_ops[k->d->type].parse(k->d, (char *)cfg + k->off, value, 0, NULL, why,
	    sizeof(why)) < 0) {
		if (origin != NULL)
			log_err("%s: %s", origin, why);
		else
			log_err("[%s] %s: %s", k->d->section, k->d->name, why);
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
	unsigned seen[CONFIG_MAX_KEYS];	/* line where each key was set, 0 = not */
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
		if (!config_ops[k->d->type].list) {
			load_error(ld, "[%s] %s: only lists may continue on "
			    "indented lines", k->d->section, k->d->name);
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
	if (config_ops[k->d->type].parse(k->d, (char *)ld->cfg + k->off, value, ld->cont,
	    ld->basedir, why, sizeof(why)) < 0) {
		load_error(ld, "[%s] %s: %s", k->d->section, k->d->name, why);
		return 1;
	}
	/* Only a value that took effect is worth a warning when replaced. */
	if (!ld->cont && ld->seen[idx] != 0)
		log_warn("%s:%u: [%s] %s is set again (first at line %u); "
		    "the last value counts", ld->path, ld->line, k->d->section,
		    k->d->name, ld->seen[idx]);
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

	table_init();

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
