/*
 * fuzz_config.c — libFuzzer target for the configuration reader
 * (sensor/config.c over libinih, and the value parsers of sensor/lib/units.c).
 *
 * The whole input is the file given to config_load (through a memfd,
 * see fuzz_common.h). Then its first line, without the first byte, goes
 * to config_set as the value of the key that the first byte picks, so the
 * value parsers also see bytes that the file reader screens out.
 *
 * Checks, whenever a load or a set succeeds: every number within its
 * key's bounds, every list within its size, every name a safe file name,
 * every path from the file absolute, no control character in a string;
 * and config_free leaves a struct that can be freed again.
 *
 *   build/fuzz/fuzz_config -dict=tests/fuzz/config.dict build/fuzz/corpus/config
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include "config.h"
#include "fuzz_common.h"
#include "units.h"

/* Every key of config.c's table, and one that is not there. */
static const char *const keys[][2] = {
	{ "capture", "interface" }, { "capture", "filter" }, { "capture", "snaplen" },
	{ "capture", "buffer_mb" }, { "capture", "promisc" }, { "capture", "threads" },
	{ "subscribers", "file" }, { "rrd", "dir" }, { "rrd", "step" }, { "rrd", "rrdcached" },
	{ "smtp", "relays" }, { "smtp", "ports" }, { "smtp", "exempt" }, { "smtp", "window" },
	{ "smtp", "max_sessions" }, { "smtp", "max_mx" }, { "smtp", "max_rcpt" },
	{ "smtp", "surge_factor" }, { "smtp", "spf" }, { "smtp", "resolver" },
	{ "p2p", "allowlist" }, { "p2p", "window" }, { "p2p", "max_bt_bytes" },
	{ "alerts", "syslog" }, { "alerts", "facility" }, { "alerts", "ident" },
	{ "alerts", "json" }, { "alerts", "holddown" }, { "sensor", "name" },
	{ "sensor", "user" }, { "sensor", "pidfile" }, { "sensor", "max_flows" },
	{ "sensor", "idle_timeout" }, { "sensor", "metrics" }, { "sensor", "no_such_key" },
};
#define NKEYS (sizeof keys / sizeof keys[0])

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	return 0;
}

static int
text_ok(const char *s)
{
	if (!s)
		return 1;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A path from a file is absolute; one from config_set is as given. */
static int
path_ok(const char *s, int from_file)
{
	return !s || (text_ok(s) && *s && (!from_file || *s == '/'));
}

static int
name_ok(const char *s, size_t max)
{
	const char *why;

	return units_check_name(s, max, &why) == 0;
}

static void
check(const struct sw_config *c, int from_file)
{
	int ok = 1;

	ok &= c->capture.snaplen >= 64 && c->capture.snaplen <= 262144;
	ok &= c->capture.buffer_mb >= 1 && c->capture.buffer_mb <= 4096;
	ok &= c->capture.threads >= 1 && c->capture.threads <= 16;
	ok &= text_ok(c->capture.interface) && text_ok(c->capture.filter);
	ok &= path_ok(c->subscribers.file, from_file) && path_ok(c->rrd.dir, from_file);
	ok &= c->rrd.step >= 20 && c->rrd.step <= 3600 && text_ok(c->rrd.rrdcached);
	ok &= c->smtp.relays.n <= CONFIG_MAX_RELAYS;
	for (unsigned i = 0; ok && i < c->smtp.relays.n; i++)
		ok &= c->smtp.relays.addr[i].family == AF_INET ||
		      c->smtp.relays.addr[i].family == AF_INET6;
	ok &= c->smtp.ports.n >= 1 && c->smtp.ports.n <= CONFIG_MAX_PORTS;
	for (unsigned i = 0; ok && i < c->smtp.ports.n; i++)
		ok &= c->smtp.ports.port[i] != 0;
	ok &= c->smtp.exempt.n <= CONFIG_MAX_EXEMPT;
	for (unsigned i = 0; ok && i < c->smtp.exempt.n; i++)
		ok &= name_ok(c->smtp.exempt.name[i], UNITS_NAME_MAX);
	ok &= c->smtp.window >= 10 && c->smtp.window <= 86400;
	/* 0 is valid since issue 13: it alerts on the first. */
	ok &= c->smtp.max_sessions <= 1000000 && c->smtp.max_mx <= 1000000 &&
	      c->smtp.max_rcpt <= 1000000;
	ok &= c->smtp.surge_factor >= 1.01 && c->smtp.surge_factor <= 1000;
	ok &= c->smtp.spf == CONFIG_SPF_OFF || c->smtp.spf == CONFIG_SPF_ANNOTATE ||
	      c->smtp.spf == CONFIG_SPF_EXEMPT;
	ok &= c->smtp.resolver.addr.family == 0 || c->smtp.resolver.port != 0;
	ok &= path_ok(c->p2p.allowlist, from_file);
	ok &= c->p2p.window >= 60 && c->p2p.window <= 7 * 86400;
	ok &= c->p2p.max_bt_bytes >= 1000 && c->p2p.max_bt_bytes <= 1000000000000000ull;
	ok &= c->alerts.syslog.kind == CONFIG_SYSLOG_LOCAL ||
	      (memchr(c->alerts.syslog.host, 0, sizeof c->alerts.syslog.host) &&
	       c->alerts.syslog.host[0] && text_ok(c->alerts.syslog.host) &&
	       c->alerts.syslog.port != 0);
	ok &= c->alerts.facility == LOG_DAEMON || c->alerts.facility == LOG_USER ||
	      (c->alerts.facility >= LOG_LOCAL0 && c->alerts.facility <= LOG_LOCAL7);
	ok &= name_ok(c->alerts.ident, CONFIG_IDENT_MAX);
	ok &= path_ok(c->alerts.json, from_file);
	ok &= c->alerts.holddown <= 7 * 86400;
	ok &= name_ok(c->sensor.name, UNITS_NAME_MAX) && text_ok(c->sensor.user) &&
	      text_ok(c->sensor.metrics);
	ok &= path_ok(c->sensor.pidfile, from_file);
	ok &= c->sensor.max_flows >= 1000 && c->sensor.max_flows <= 100000000;
	ok &= c->sensor.idle_timeout >= 10 && c->sensor.idle_timeout <= 86400;
	if (!ok)
		abort();
}

static void
check_freed(const struct sw_config *c)
{
	if (c->capture.interface || c->capture.filter || c->subscribers.file || c->rrd.dir ||
	    c->rrd.rrdcached || c->smtp.exempt.n || c->smtp.exempt.name || c->p2p.allowlist ||
	    c->alerts.json || c->sensor.user || c->sensor.pidfile)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_config c;
	char value[512];
	size_t n;

	config_defaults(&c);
	check(&c, 1);
	if (config_load(&c, fuzz_file(data, size)) == 0)
		check(&c, 1);
	config_free(&c);
	check_freed(&c);
	config_free(&c);

	if (size < 1)
		return 0;
	n = size - 1 < sizeof value - 1 ? size - 1 : sizeof value - 1;
	memcpy(value, data + 1, n);
	value[n] = '\0';
	value[strcspn(value, "\n")] = '\0';
	config_defaults(&c);
	if (config_set(&c, keys[data[0] % NKEYS][0], keys[data[0] % NKEYS][1], value, NULL) == 0)
		check(&c, 0);
	config_free(&c);
	check_freed(&c);
	return 0;
}
