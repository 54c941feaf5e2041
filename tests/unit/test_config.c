/*
 * test_config.c — spanwatch.conf and command-line overrides: the defaults,
 * every key, every kind of error reported as file:line (all of them, not
 * just the first), the INI dialect (continuations, comments, quotes,
 * indentation), relative paths, and the example conf/spanwatch.conf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errcap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "units.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char realdir[PATH_MAX];

/* Writes text (len bytes, or up to its NUL if len is 0) to a fresh file in
 * tmpdir; returns its path (static). */
static const char *
write_conf_n(const char *text, size_t len)
{
	static char path[300];
	static int n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/conf%d.ini", tmpdir, n++);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fwrite(text, 1, len ? len : strlen(text), fp);
	fclose(fp);
	return path;
}

static const char *
write_conf(const char *text)
{
	return write_conf_n(text, 0);
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; (s = strchr(s, '\n')) != NULL; s++)
		n++;
	return n;
}

/* Loads text over the defaults; returns config_load's result and leaves
 * the messages in *err. */
static int
load_text(struct sw_config *c, const char *text, const char **err)
{
	int rc;

	config_defaults(c);
	errcap_begin(tmpdir);
	rc = config_load(c, write_conf(text));
	*err = errcap_end();
	return rc;
}

static void
assert_addr(const struct sw_addr *a, const char *text)
{
	uint8_t want[16] = { 0 };
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;

	assert_int_equal(inet_pton(fam, text, want), 1);
	assert_int_equal(a->family, fam);
	assert_memory_equal(a->a, want, fam == AF_INET ? 4 : 16);
}

static void
test_defaults(void **state)
{
	struct sw_config c;
	const char *why;

	config_defaults(&c);
	assert_null(c.capture.interface);
	assert_null(c.capture.filter);
	assert_int_equal(c.capture.snaplen, 65535);
	assert_int_equal(c.capture.buffer_mb, 64);
	assert_true(c.capture.promisc);
	assert_int_equal(c.capture.threads, 1);
	assert_null(c.subscribers.file);
	assert_null(c.rrd.dir);
	assert_int_equal(c.rrd.step, 60);
	assert_null(c.rrd.rrdcached);
	assert_int_equal(c.smtp.relays.n, 0);
	assert_int_equal(c.smtp.ports.n, 1);
	assert_int_equal(c.smtp.ports.port[0], 25);
	assert_int_equal(c.smtp.exempt.n, 0);
	assert_int_equal(c.smtp.window, 300);
	assert_int_equal(c.smtp.max_sessions, 20);
	assert_int_equal(c.smtp.max_mx, 10);
	assert_int_equal(c.smtp.max_rcpt, 100);
	assert_true(c.smtp.surge_factor == 5.0);
	assert_int_equal(c.smtp.spf, CONFIG_SPF_OFF);
	assert_int_equal(c.smtp.resolver.addr.family, 0);
	assert_int_equal(c.smtp.resolver.port, 53);
	assert_null(c.p2p.allowlist);
	assert_int_equal(c.p2p.window, 3600);
	assert_true(c.p2p.max_bt_bytes == 10000000000ULL);
	assert_int_equal(c.alerts.syslog.kind, CONFIG_SYSLOG_LOCAL);
	assert_int_equal(c.alerts.facility, LOG_DAEMON);
	assert_string_equal(c.alerts.ident, "spanwatch");
	assert_null(c.alerts.json);
	assert_int_equal(c.alerts.holddown, 3600);
	/* Whatever the host is called, the default name is a valid one. */
	assert_int_equal(units_check_name(c.sensor.name, UNITS_NAME_MAX, &why),
	    0);
	assert_null(strchr(c.sensor.name, '.'));
	assert_null(c.sensor.user);
	assert_null(c.sensor.pidfile);
	assert_int_equal(c.sensor.max_flows, 1000000);
	assert_int_equal(c.sensor.idle_timeout, 120);
	config_free(&c);
	config_free(&c);	/* twice is harmless */
}

static void
test_every_key(void **state)
{
	struct sw_config c;
	const char *err;
	char want[PATH_MAX + 64];

	assert_int_equal(load_text(&c,
	    "[capture]\n"
	    "interface = eth1\n"
	    "filter = not port 22 and not arp\n"
	    "snaplen = 1514\n"
	    "buffer_mb = 512\n"
	    "promisc = off\n"
	    "threads = 4\n"
	    "[subscribers]\n"
	    "file = subs/subscribers.txt\n"
	    "[rrd]\n"
	    "dir = /var/lib/spanwatch/pop1\n"
	    "step = 5m\n"
	    "rrdcached = rrd.example.net:42217\n"
	    "[smtp]\n"
	    "relays = 192.0.2.25, 192.0.2.26 2001:db8::25,[2001:db8::26]\n"
	    "ports = 25, 587 2525\n"
	    "exempt = cust-0042 mail-hosting-co, Cust_7.b\n"
	    "window = 10m\n"
	    "max_sessions = 50\n"
	    "max_mx = 30\n"
	    "max_rcpt = 1000\n"
	    "surge_factor = 2.5\n"
	    "spf = Exempt\n"
	    "resolver = [2001:db8::53]:5353\n"
	    "[p2p]\n"
	    "allowlist = ./allow.txt\n"
	    "window = 1d\n"
	    "max_bt_bytes = 2.5G\n"
	    "[alerts]\n"
	    "syslog = tcp://[2001:db8::514]:6514\n"
	    "facility = local3\n"
	    "ident = spanwatch-pop1\n"
	    "json = /var/log/spanwatch/alerts.json\n"
	    "holddown = 0\n"
	    "[sensor]\n"
	    "name = pop1-span0\n"
	    "user = spanwatch\n"
	    "pidfile = run/spanwatch.pid\n"
	    "max_flows = 5000000\n"
	    "idle_timeout = 1m30s\n", &err), 0);
	assert_string_equal(err, "");
	assert_string_equal(c.capture.interface, "eth1");
	assert_string_equal(c.capture.filter, "not port 22 and not arp");
	assert_int_equal(c.capture.snaplen, 1514);
	assert_int_equal(c.capture.buffer_mb, 512);
	assert_false(c.capture.promisc);
	assert_int_equal(c.capture.threads, 4);
	/* Relative paths: from the directory of the file, made absolute. */
	snprintf(want, sizeof(want), "%s/subs/subscribers.txt", realdir);
	assert_string_equal(c.subscribers.file, want);
	assert_string_equal(c.rrd.dir, "/var/lib/spanwatch/pop1");
	assert_int_equal(c.rrd.step, 300);
	assert_string_equal(c.rrd.rrdcached, "rrd.example.net:42217");
	assert_int_equal(c.smtp.relays.n, 4);
	assert_addr(&c.smtp.relays.addr[0], "192.0.2.25");
	assert_addr(&c.smtp.relays.addr[1], "192.0.2.26");
	assert_addr(&c.smtp.relays.addr[2], "2001:db8::25");
	assert_addr(&c.smtp.relays.addr[3], "2001:db8::26");
	assert_int_equal(c.smtp.ports.n, 3);
	assert_int_equal(c.smtp.ports.port[0], 25);
	assert_int_equal(c.smtp.ports.port[1], 587);
	assert_int_equal(c.smtp.ports.port[2], 2525);
	assert_int_equal(c.smtp.exempt.n, 3);
	assert_string_equal(c.smtp.exempt.name[0], "cust-0042");
	assert_string_equal(c.smtp.exempt.name[1], "mail-hosting-co");
	assert_string_equal(c.smtp.exempt.name[2], "Cust_7.b");
	assert_int_equal(c.smtp.window, 600);
	assert_int_equal(c.smtp.max_sessions, 50);
	assert_int_equal(c.smtp.max_mx, 30);
	assert_int_equal(c.smtp.max_rcpt, 1000);
	assert_true(c.smtp.surge_factor == 2.5);
	assert_int_equal(c.smtp.spf, CONFIG_SPF_EXEMPT);
	assert_addr(&c.smtp.resolver.addr, "2001:db8::53");
	assert_int_equal(c.smtp.resolver.port, 5353);
	snprintf(want, sizeof(want), "%s/allow.txt", realdir);
	assert_string_equal(c.p2p.allowlist, want);
	assert_int_equal(c.p2p.window, 86400);
	assert_true(c.p2p.max_bt_bytes == 2500000000ULL);
	assert_int_equal(c.alerts.syslog.kind, CONFIG_SYSLOG_TCP);
	assert_string_equal(c.alerts.syslog.host, "2001:db8::514");
	assert_int_equal(c.alerts.syslog.port, 6514);
	assert_int_equal(c.alerts.facility, LOG_LOCAL3);
	assert_string_equal(c.alerts.ident, "spanwatch-pop1");
	assert_string_equal(c.alerts.json, "/var/log/spanwatch/alerts.json");
	assert_int_equal(c.alerts.holddown, 0);
	assert_string_equal(c.sensor.name, "pop1-span0");
	assert_string_equal(c.sensor.user, "spanwatch");
	snprintf(want, sizeof(want), "%s/run/spanwatch.pid", realdir);
	assert_string_equal(c.sensor.pidfile, want);
	assert_int_equal(c.sensor.max_flows, 5000000);
	assert_int_equal(c.sensor.idle_timeout, 90);
	config_free(&c);
	assert_null(c.capture.interface);
	assert_null(c.smtp.exempt.name);
	assert_int_equal(c.smtp.exempt.n, 0);
}

/* The other spellings of each type. */
static void
test_value_forms(void **state)
{
	struct sw_config c;
	const char *err;

	assert_int_equal(load_text(&c,
	    "[alerts]\n"
	    "syslog = udp://logs.example.net\n"
	    "facility = USER\n"
	    "[smtp]\n"
	    "resolver = 192.0.2.53\n"
	    "relays =\n"
	    "spf = off\n"
	    "surge_factor = 1000\n"
	    "[rrd]\n"
	    "rrdcached = unix:/run/rrdcached.sock\n"
	    "step = 3600\n"
	    "[p2p]\n"
	    "max_bt_bytes = 1000T\n"
	    "[capture]\n"
	    "promisc = TRUE\n"
	    "filter =\n", &err), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.alerts.syslog.kind, CONFIG_SYSLOG_UDP);
	assert_string_equal(c.alerts.syslog.host, "logs.example.net");
	assert_int_equal(c.alerts.syslog.port, 514);
	assert_int_equal(c.alerts.facility, LOG_USER);
	assert_addr(&c.smtp.resolver.addr, "192.0.2.53");
	assert_int_equal(c.smtp.resolver.port, 53);
	assert_int_equal(c.smtp.relays.n, 0);
	assert_int_equal(c.smtp.spf, CONFIG_SPF_OFF);
	assert_true(c.smtp.surge_factor == 1000.0);
	assert_string_equal(c.rrd.rrdcached, "unix:/run/rrdcached.sock");
	assert_int_equal(c.rrd.step, 3600);
	assert_true(c.p2p.max_bt_bytes == 1000000000000000ULL);
	assert_true(c.capture.promisc);
	assert_null(c.capture.filter);
	config_free(&c);

	assert_int_equal(load_text(&c,
	    "[alerts]\n"
	    "syslog = TCP://192.0.2.1:601\n"
	    "[smtp]\n"
	    "resolver = 2001:db8::53\n"
	    "[rrd]\n"
	    "rrdcached = /run/rrdcached.sock\n", &err), 0);
	assert_int_equal(c.alerts.syslog.kind, CONFIG_SYSLOG_TCP);
	assert_string_equal(c.alerts.syslog.host, "192.0.2.1");
	assert_int_equal(c.alerts.syslog.port, 601);
	assert_addr(&c.smtp.resolver.addr, "2001:db8::53");
	assert_int_equal(c.smtp.resolver.port, 53);
	assert_string_equal(c.rrd.rrdcached, "/run/rrdcached.sock");
	config_free(&c);
}

/* The INI dialect: continuation lines for lists, comments, quotes,
 * indentation, case, line endings, a byte order mark. */
static void
test_dialect(void **state)
{
	struct sw_config c;
	const char *err;

	assert_int_equal(load_text(&c,
	    "\xEF\xBB\xBF# a byte order mark, then a comment\n"
	    "; another comment\n"
	    "[SMTP]\r\n"
	    "  Relays = 192.0.2.1, 192.0.2.2   # the relays\n"
	    "           192.0.2.3\n"
	    "\n"
	    "    # a comment inside the list\n"
	    "\t2001:db8::1 ; the v6 one\n"
	    "  ports = 25\n"	/* indented, with '=': a key, not more relays */
	    "exempt = a\n"
	    "         b, c\n"
	    "[ capture ]\n"
	    "filter = \"tcp port 25\"\n"
	    "interface=eth2\n"
	    "[sensor]\n"
	    "name: colon-style\n", &err), 0);
	assert_string_equal(err, "");
	assert_int_equal(c.smtp.relays.n, 4);
	assert_addr(&c.smtp.relays.addr[2], "192.0.2.3");
	assert_addr(&c.smtp.relays.addr[3], "2001:db8::1");
	assert_int_equal(c.smtp.ports.n, 1);
	assert_int_equal(c.smtp.exempt.n, 3);
	assert_string_equal(c.smtp.exempt.name[2], "c");
	assert_string_equal(c.capture.filter, "tcp port 25");
	assert_string_equal(c.capture.interface, "eth2");
	assert_string_equal(c.sensor.name, "colon-style");
	config_free(&c);

	/* A key set twice: a warning, and the last value counts. */
	assert_int_equal(load_text(&c,
	    "[rrd]\nstep = 120\n\nstep = 300\n", &err), 0);
	assert_non_null(strstr(err, ":4: [rrd] step is set again (first at "
	    "line 2); the last value counts"));
	assert_int_equal(c.rrd.step, 300);
	config_free(&c);

	/* A list set twice is replaced, not appended to. */
	assert_int_equal(load_text(&c,
	    "[smtp]\nports = 25 587\nports = 2525\n", &err), 0);
	assert_int_equal(c.smtp.ports.n, 1);
	assert_int_equal(c.smtp.ports.port[0], 2525);
	config_free(&c);

	/* An empty file, and one with only comments, are the defaults. */
	assert_int_equal(load_text(&c, "", &err), 0);
	assert_int_equal(c.rrd.step, 60);
	config_free(&c);
	assert_int_equal(load_text(&c, "# nothing\n\n; here\n", &err), 0);
	config_free(&c);
}

/* Every kind of error, one per line, all reported, each with its line. */
static void
test_errors(void **state)
{
	static const struct {
		const char *line;
		const char *expect;	/* NULL: a good line */
	} lines[] = {
		{ "step = 60", "'step' comes before any [section]" },
		{ "[capture]", NULL },
		{ "snaplen = 63", "[capture] snaplen: '63' is out of range (64..262144)" },
		{ "snaplen = 300000", "'300000' is out of range (64..262144)" },
		{ "buffer_mb = 64M", "[capture] buffer_mb: '64M' is not a whole number" },
		{ "threads = -1", "'-1' is not a whole number" },
		{ "threads = 99999999999999999999999", "[capture] threads: '99999999999999999999999' is too large" },
		{ "threads = 17", "'17' is out of range (1..16)" },
		{ "promisc = maybe", "'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)" },
		{ "interfce = eth0", "unknown key 'interfce' in [capture] (keys: interface, filter, snaplen, buffer_mb, promisc, threads)" },
		{ "= eth0", "unknown key '' in [capture]" },
		{ "just some words", "expected 'key = value'" },
		{ "filter = a\x01" "b", "[capture] filter: value holds a control character" },
		{ "[rrd", "section header without ']'" },
		{ "step = 5", NULL },	/* skipped: its section was bad */
		{ "[rrd] junk", "unexpected text after the section header" },
		{ "[rdd]", "unknown section [rdd] (sections: capture, subscribers, rrd, smtp, p2p, alerts, sensor, clickhouse)" },
		{ "whatever = 1", NULL },	/* skipped with its section */
		{ "[rrd]", NULL },
		{ "step = 5", "[rrd] step: '5' is out of range (20s..1h)" },
		{ "step = 2h", "'2h' is out of range (20s..1h)" },
		{ "step = 1h30", "'1h30' is not a duration" },
		{ "step = 5 m", "'5 m' is not a duration" },
		{ "step = 5M", "'5M' is not a duration" },
		{ "step = 1.5h", "'1.5h' is not a duration" },
		{ "step = ", "'' is not a duration" },
		{ "rrdcached = unix:relative.sock", "[rrd] rrdcached: 'unix:relative.sock': the socket path must be absolute" },
		{ "rrdcached = host:99999", "'host:99999' is not unix:/PATH or HOST[:PORT]" },
		{ "rrdcached = bad_host", "'bad_host' is not unix:/PATH or HOST[:PORT]" },
		{ "rrdcached = -bad.example", "is not unix:/PATH or HOST[:PORT]" },
		{ "[smtp]", NULL },
		{ "relays = 192.0.2.1, 192.0.2.300", "[smtp] relays: '192.0.2.300' is not an IPv4 or IPv6 address" },
		{ "relays = mail.example.net", "'mail.example.net' is not an IPv4 or IPv6 address" },
		{ "relays = 192.0.2.0/24", "'192.0.2.0/24' is not an IPv4 or IPv6 address" },
		{ "ports = 0", "[smtp] ports: '0' is not a port (1..65535)" },
		{ "ports = 25 65536", "'65536' is not a port (1..65535)" },
		{ "ports =", "[smtp] ports: needs at least 1 port" },
		{ "ports = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "[smtp] ports: more than 16 ports" },
		{ "exempt = ok ../x", "[smtp] exempt: '../x': a name may only hold letters" },
		{ "exempt = .hidden", "'.hidden': a name may not start with '.' or '-'" },
		{ "window = 5", "[smtp] window: '5' is out of range (10s..1d)" },
		{ "max_sessions = 1000001", "'1000001' is out of range (0..1000000)" },
		{ "surge_factor = 1", "[smtp] surge_factor: '1' is out of range (1.01..1000)" },
		{ "surge_factor = 1e3", "'1e3' is not a decimal number" },
		{ "surge_factor = nan", "'nan' is not a decimal number" },
		{ "spf = strict", "[smtp] spf: 'strict' is not one of off, annotate, exempt" },
		{ "resolver = 192.0.2.53:0", "[smtp] resolver: '192.0.2.53:0' is not a port (1..65535)" },
		{ "resolver = dns.example.net", "is not ADDRESS[:PORT]" },
		{ "resolver = [192.0.2.53]:53", "is not ADDRESS[:PORT]" },
		{ "window = 600", NULL },
		{ "    30", "[smtp] window: only lists may continue on indented lines" },
		{ "[p2p]", NULL },
		{ "max_bt_bytes = 10GB", "[p2p] max_bt_bytes: '10GB' is not a size" },
		{ "max_bt_bytes = 1.5", "'1.5' is not a whole number of bytes" },
		{ "max_bt_bytes = 999", "'999' is out of range (1k..1000T)" },
		{ "max_bt_bytes = 1001T", "'1001T' is out of range (1k..1000T)" },
		{ "max_bt_bytes = 99999999999999999999", "too large" },
		{ "max_bt_bytes = 20000000000T", "too large" },
		{ "window = 59", "[p2p] window: '59' is out of range (1m..7d)" },
		{ "[alerts]", NULL },
		{ "syslog = remote", "[alerts] syslog: 'remote' is not local, udp://HOST[:PORT] or tcp://HOST[:PORT]" },
		{ "syslog = udp://", "is not local, udp://HOST[:PORT]" },
		{ "syslog = udp://2001:db8::1:514", "is not local, udp://HOST[:PORT]" },
		{ "syslog = tcp://host:0", "is not local, udp://HOST[:PORT]" },
		{ "facility = local8", "[alerts] facility: 'local8' is not one of daemon, user, local0, local1" },
		{ "ident = span watch", "[alerts] ident: 'span watch': a name may only hold" },
		{ "ident = a123456789012345678901234567890123456789012345678", "name too long (at most 48 of" },
		{ "holddown = 8d", "'8d' is out of range (0s..7d)" },
		{ "[sensor]", NULL },
		{ "name = ../etc", "[sensor] name: '../etc': a name may only hold" },
		{ "name =", "[sensor] name: '': empty name" },
		{ "max_flows = 999", "'999' is out of range (1000..100000000)" },
		{ "idle_timeout = 0", "'0' is out of range (10s..1d)" },
		{ "user = spanwatch", NULL },
	};
	char text[16384], want[512];
	const char *path, *err, *p, *nl;
	struct sw_config c;
	size_t i, used = 0;
	int nerr = 0, nwarn;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s\n", lines[i].line);
	/* An overlong line, then a good one after it. */
	memset(text + used, 'x', 250);
	used += 250;
	used += (size_t)snprintf(text + used, sizeof(text) - used,
	    "\nmax_flows = 2000\n");

	config_defaults(&c);
	path = write_conf(text);
	errcap_begin(tmpdir);
	assert_int_equal(config_load(&c, path), -1);
	err = errcap_end();
	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i].expect == NULL)
			continue;
		nerr++;
		snprintf(want, sizeof(want), "%s:%zu: ", path, i + 1);
		p = strstr(err, want);
		nl = p ? strchr(p, '\n') : NULL;
		if (p == NULL || (p = strstr(p, lines[i].expect)) == NULL ||
		    p > nl)
			fail_msg("line %zu '%s': expected \"%s...%s\" in:\n%s",
			    i + 1, lines[i].line, want, lines[i].expect, err);
	}
	snprintf(want, sizeof(want), "%s:%zu: line is longer than 198 "
	    "characters", path, i + 1);
	assert_non_null(strstr(err, want));
	nerr++;
	/* Nothing else: one message per bad line, no follow-on errors. */
	nwarn = 0;
	for (p = err; (p = strstr(p, "warning:")) != NULL; p++)
		nwarn++;
	if (count_lines(err) - nwarn != nerr)
		fail_msg("expected %d errors, got:\n%s", nerr, err);
	/* The good lines after errors still took effect. */
	assert_int_equal(c.sensor.max_flows, 2000);
	assert_string_equal(c.sensor.user, "spanwatch");
	config_free(&c);
}

/* A file that is no configuration at all stops after 200 errors. */
static void
test_error_cap(void **state)
{
	char *text = malloc(300 * 16);
	struct sw_config c;
	const char *err;
	size_t used;
	int i;

	assert_non_null(text);
	used = (size_t)sprintf(text, "[rrd]\n");
	for (i = 0; i < 300; i++)
		used += (size_t)sprintf(text + used, "junk %d\n", i);
	assert_int_equal(load_text(&c, text, &err), -1);
	free(text);
	assert_non_null(strstr(err, ":201: expected 'key = value'"));
	assert_null(strstr(err, ":202: expected"));
	assert_non_null(strstr(err, ":201: too many errors, stopping here"));
	config_free(&c);
}

static void
test_list_bounds(void **state)
{
	struct sw_config c;
	char text[4096];
	const char *err;
	size_t used;
	int i;

	/* 64 relays on continuation lines: fine; 65: an error. */
	used = (size_t)snprintf(text, sizeof(text), "[smtp]\nrelays =");
	for (i = 0; i < 64; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s192.0.2.%d", i % 8 == 0 ? "\n  " : ", ", i);
	strcat(text, "\n");
	assert_int_equal(load_text(&c, text, &err), 0);
	assert_int_equal(c.smtp.relays.n, 64);
	assert_addr(&c.smtp.relays.addr[63], "192.0.2.63");
	config_free(&c);

	strcat(text, "  192.0.2.64\n");
	assert_int_equal(load_text(&c, text, &err), -1);
	assert_non_null(strstr(err, ":11: [smtp] relays: more than 64 "
	    "addresses"));
	config_free(&c);

	/* 4096 exempt names is the most. */
	{
		char *big = malloc(4200 * 16);
		size_t u = 0;

		assert_non_null(big);
		u += (size_t)sprintf(big + u, "[smtp]\nexempt =\n");
		for (i = 0; i < 4097; i++)
			u += (size_t)sprintf(big + u, "  n%d\n", i);
		assert_int_equal(load_text(&c, big, &err), -1);
		assert_non_null(strstr(err, ":4099: [smtp] exempt: more than "
		    "4096 names"));
		config_free(&c);
		big[u - strlen("  n4096\n")] = '\0';
		assert_int_equal(load_text(&c, big, &err), 0);
		assert_int_equal(c.smtp.exempt.n, 4096);
		assert_string_equal(c.smtp.exempt.name[4095], "n4095");
		config_free(&c);
		free(big);
	}
}

static void
test_unreadable(void **state)
{
	struct sw_config c;
	char path[400];
	const char *err;

	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	errcap_begin(tmpdir);
	assert_int_equal(config_load(&c, path), -1);
	assert_int_equal(errno, ENOENT);
	err = errcap_end();
	snprintf(path + strlen(path), sizeof(path) - strlen(path),
	    ": No such file or directory");
	assert_non_null(strstr(err, path));

	errcap_begin(tmpdir);
	assert_int_equal(config_load(&c, tmpdir), -1);
	err = errcap_end();
	assert_non_null(strstr(err, ": Is a directory"));

	/* A NUL byte is an error of its line. */
	errcap_begin(tmpdir);
	{
		static const char nul[] = "[rrd]\nstep = 60\0\nstep = 70\n";

		assert_int_equal(config_load(&c,
		    write_conf_n(nul, sizeof(nul) - 1)), -1);
	}
	err = errcap_end();
	assert_non_null(strstr(err, ":2: line holds a NUL byte"));
	config_free(&c);
}

/* Command-line options win over the file, and their errors name them. */
static void
test_overrides(void **state)
{
	struct sw_config c;
	const char *err;

	assert_int_equal(load_text(&c,
	    "[rrd]\nstep = 300\ndir = rrd\n[smtp]\nports = 25 587\n", &err), 0);
	assert_int_equal(config_set(&c, "rrd", "step", "120", "--step"), 0);
	assert_int_equal(c.rrd.step, 120);
	/* A relative path on the command line stays relative to the working
	 * directory. */
	assert_int_equal(config_set(&c, "rrd", "dir", "out/rrd", "-o"), 0);
	assert_string_equal(c.rrd.dir, "out/rrd");
	assert_int_equal(config_set(&c, "smtp", "ports", "2525", NULL), 0);
	assert_int_equal(c.smtp.ports.n, 1);
	assert_int_equal(config_set(&c, "capture", "filter", "tcp", "-f"), 0);
	assert_string_equal(c.capture.filter, "tcp");

	errcap_begin(tmpdir);
	assert_int_equal(config_set(&c, "rrd", "step", "5", "--step"), -1);
	assert_int_equal(config_set(&c, "rrd", "step", "x", NULL), -1);
	assert_int_equal(config_set(&c, "rrd", "nope", "x", "--nope"), -1);
	err = errcap_end();
	assert_non_null(strstr(err, "--step: '5' is out of range (20s..1h)\n"));
	assert_non_null(strstr(err, "[rrd] step: 'x' is not a duration"));
	assert_non_null(strstr(err, "--nope: no such setting [rrd] nope"));
	assert_int_equal(c.rrd.step, 120);	/* unchanged by the errors */
	config_free(&c);
}

/* conf/spanwatch.conf loads as it is, and with every "#key = value" line
 * uncommented: its examples are valid and its defaults are the real
 * ones. */
static void
test_example_conf(void **state)
{
	static const char *const candidates[] = {
		"conf/spanwatch.conf", "../conf/spanwatch.conf",
		"../../conf/spanwatch.conf",
	};
	struct sw_config c, d;
	FILE *in = NULL, *out;
	char line[512], path[400];
	const char *err;
	size_t i;
	int keys = 0;

	for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if ((in = fopen(candidates[i], "r")) != NULL)
			break;
	if (in == NULL)
		skip();
	config_defaults(&c);
	errcap_begin(tmpdir);
	assert_int_equal(config_load(&c, candidates[i]), 0);
	err = errcap_end();
	assert_string_equal(err, "");
	config_free(&c);

	snprintf(path, sizeof(path), "%s/uncommented.conf", tmpdir);
	out = fopen(path, "w");
	assert_non_null(out);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " = ") != NULL) {
			fputs(line + 1, out);
			keys++;
		} else {
			fputs(line, out);
		}
	}
	fclose(in);
	fclose(out);
	assert_int_equal(keys, 40);	/* every key of struct sw_config */
	config_defaults(&c);
	config_defaults(&d);
	errcap_begin(tmpdir);
	assert_int_equal(config_load(&c, path), 0);
	err = errcap_end();
	assert_string_equal(err, "");
	assert_int_equal(c.capture.snaplen, d.capture.snaplen);
	assert_int_equal(c.capture.buffer_mb, d.capture.buffer_mb);
	assert_int_equal(c.capture.promisc, d.capture.promisc);
	assert_int_equal(c.capture.threads, d.capture.threads);
	assert_int_equal(c.rrd.step, d.rrd.step);
	assert_int_equal(c.smtp.ports.n, d.smtp.ports.n);
	assert_int_equal(c.smtp.ports.port[0], d.smtp.ports.port[0]);
	assert_int_equal(c.smtp.window, d.smtp.window);
	assert_int_equal(c.smtp.max_sessions, d.smtp.max_sessions);
	assert_int_equal(c.smtp.max_mx, d.smtp.max_mx);
	assert_int_equal(c.smtp.max_rcpt, d.smtp.max_rcpt);
	assert_true(c.smtp.surge_factor == d.smtp.surge_factor);
	assert_int_equal(c.smtp.spf, d.smtp.spf);
	assert_int_equal(c.p2p.window, d.p2p.window);
	assert_true(c.p2p.max_bt_bytes == d.p2p.max_bt_bytes);
	assert_int_equal(c.alerts.syslog.kind, d.alerts.syslog.kind);
	assert_int_equal(c.alerts.facility, d.alerts.facility);
	assert_string_equal(c.alerts.ident, d.alerts.ident);
	assert_int_equal(c.alerts.holddown, d.alerts.holddown);
	assert_int_equal(c.sensor.max_flows, d.sensor.max_flows);
	assert_int_equal(c.sensor.idle_timeout, d.sensor.idle_timeout);
	config_free(&c);
	config_free(&d);
}

static void
test_units(void **state)
{
	uint64_t v;
	const char *why;
	char buf[64];

	assert_int_equal(units_parse_size("10G", &v, &why), 0);
	assert_true(v == 10000000000ULL);
	assert_int_equal(units_parse_size("1.5k", &v, &why), 0);
	assert_true(v == 1500);
	assert_int_equal(units_parse_size("0.000000000001T", &v, &why), 0);
	assert_true(v == 1);
	assert_int_equal(units_parse_size("1.999999999999T", &v, &why), 0);
	assert_true(v == 1999999999999ULL);
	assert_int_equal(units_parse_size("18446744073709551615", &v, &why), 0);
	assert_int_equal(units_parse_size("18446744073709551616", &v, &why), -1);
	assert_int_equal(units_parse_size("18446744073709552T", &v, &why), -1);
	assert_int_equal(units_parse_size("1.", &v, &why), -1);
	assert_int_equal(units_parse_size(".5", &v, &why), -1);
	assert_int_equal(units_parse_size("", &v, &why), -1);
	assert_int_equal(units_parse_size("5 k", &v, &why), -1);
	assert_int_equal(units_parse_size("5kk", &v, &why), -1);
	assert_int_equal(units_parse_duration("1d2h3m4s", &v, &why), 0);
	assert_true(v == 93784);
	assert_int_equal(units_parse_duration("90", &v, &why), 0);
	assert_true(v == 90);
	assert_int_equal(units_parse_duration("90s5", &v, &why), -1);
	assert_int_equal(units_parse_duration("m", &v, &why), -1);
	assert_int_equal(units_parse_duration("999999999999999999d", &v, &why),
	    -1);
	assert_string_equal(units_fmt_duration(93784, buf, sizeof(buf)),
	    "1d2h3m4s");
	assert_string_equal(units_fmt_duration(0, buf, sizeof(buf)), "0s");
	assert_string_equal(units_fmt_duration(3600, buf, sizeof(buf)), "1h");
	assert_string_equal(units_fmt_size(10000000000ULL, buf, sizeof(buf)),
	    "10G");
	assert_string_equal(units_fmt_size(1500, buf, sizeof(buf)), "1500");
	assert_string_equal(units_fmt_size(15000, buf, sizeof(buf)), "15k");
	assert_string_equal(units_fmt_size(0, buf, sizeof(buf)), "0");
	{
		struct sw_addr a;
		uint16_t port = 7;

		assert_int_equal(units_parse_endpoint("192.0.2.1:53", &a, &port,
		    &why), 0);
		assert_int_equal(port, 53);
		port = 7;
		assert_int_equal(units_parse_endpoint("::1", &a, &port, &why),
		    0);
		assert_int_equal(port, 7);
		assert_int_equal(a.family, AF_INET6);
		assert_int_equal(units_parse_endpoint("[::1]", &a, &port,
		    &why), 0);
		assert_int_equal(units_parse_endpoint("[::1]x", &a, &port,
		    &why), -1);
		assert_int_equal(units_parse_endpoint(":53", &a, &port, &why),
		    -1);
		assert_int_equal(units_parse_endpoint("[]:53", &a, &port,
		    &why), -1);
		assert_int_equal(units_parse_addr("[192.0.2.1]", &a, &why), -1);
		assert_int_equal(units_parse_addr("[2001:db8::1]", &a, &why),
		    0);
	}
	assert_int_equal(units_check_name("a", 64, &why), 0);
	assert_int_equal(units_check_name("a..b", 64, &why), 0);
	assert_int_equal(units_check_name("", 64, &why), -1);
	assert_int_equal(units_check_name("abc", 2, &why), -1);
}

static int
setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL || realpath(tmpdir, realdir) == NULL)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_dialect),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_list_bounds),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_example_conf),
		cmocka_unit_test(test_units),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
