/*
 * config.h — the sensor's settings: spanwatch.conf (INI, read with
 * libinih) and the command-line options that override it.
 *
 * Every key of SPEC "Configuration" is a typed field of struct sw_config.
 * One table gives each key its type, bounds and default, and drives
 * defaults, parsing, validation and freeing alike: config.c holds the
 * sensor's own keys ([capture], [subscribers], [rrd], [alerts],
 * [sensor]); each collector declares its own section's keys in its
 * descriptor (collector.h), which the table reads. The parsers of the
 * types are config_types.c.
 *
 * Usage, at start-up and again on SIGHUP (into a fresh struct, so that a
 * bad reload leaves the running configuration untouched):
 *
 *	struct sw_config c;
 *	config_defaults(&c);
 *	if (config_load(&c, path) < 0 ||
 *	    config_set(&c, "rrd", "step", optarg, "--step") < 0) {
 *		config_free(&c);
 *		(exit 2 at start-up; keep the old configuration on reload)
 *	}
 */
#ifndef SPANWATCH_CONFIG_H
#define SPANWATCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config_key.h"
#include "units.h"

/* Bounds of the lists; longer lists are errors, not truncated. */
#define CONFIG_MAX_RELAYS 64
#define CONFIG_MAX_PORTS 16
#define CONFIG_MAX_EXEMPT 4096
/* RFC 5424 APP-NAME is at most 48 characters. */
#define CONFIG_IDENT_MAX 48
/* Room for the key table's entries (config.c checks it). */
#define CONFIG_MAX_KEYS 64
/* Keys of collectors without a field of their own in struct sw_config
 * (config_ext); each takes one slot of 8 bytes. */
#define CONFIG_MAX_EXT 16
/* A DNS name is at most 253 characters. */
#define CONFIG_HOST_MAX 253

enum config_spf { CONFIG_SPF_OFF, CONFIG_SPF_ANNOTATE, CONFIG_SPF_EXEMPT };

enum config_syslog {
	CONFIG_SYSLOG_LOCAL, CONFIG_SYSLOG_UDP, CONFIG_SYSLOG_TCP
};

struct config_addrs {
	unsigned n;
	struct sw_addr addr[CONFIG_MAX_RELAYS];
};

struct config_ports {
	unsigned n;
	uint16_t port[CONFIG_MAX_PORTS];
};

struct config_names {
	unsigned n;
	char **name;		/* n names, each valid per units_check_name */
};

/* [smtp] resolver: addr.family == 0 means "use the system's resolver". */
struct config_endpoint {
	struct sw_addr addr;
	uint16_t port;		/* 53 unless given */
};

/* [alerts] syslog: local syslog(3), or RFC 5424 to a collector. */
struct config_syslog_target {
	enum config_syslog kind;
	char host[CONFIG_HOST_MAX + 1];	/* name or address; IPv6 unbracketed */
	uint16_t port;			/* 514 unless given */
};

/*
 * Strings are NULL when not set. File paths read from a configuration
 * file are absolute: a relative path there is taken relative to the
 * directory of that file (a generated conf dir refers to its neighbours
 * by relative names); paths given through config_set (command line) are
 * kept as given, relative to the working directory.
 */
struct sw_config {
	struct {
		char *interface;	/* NULL: -i or -r decides */
		char *filter;		/* BPF expression; NULL: none */
		unsigned snaplen;	/* bytes */
		unsigned buffer_mb;	/* kernel buffer, MiB (2^20 bytes) */
		bool promisc;
		unsigned threads;
	} capture;
	struct {
		char *file;		/* NULL: no subscribers, all transit */
	} subscribers;
	struct {
		char *dir;		/* NULL: no RRD files */
		unsigned step;		/* seconds */
		char *rrdcached;	/* as librrd takes it: "unix:/path",
					 * "/path", "host", "host:port",
					 * "[v6]:port"; NULL: write directly */
	} rrd;
	struct {
		struct config_addrs relays;
		struct config_ports ports;
		struct config_names exempt;
		unsigned window;	/* seconds */
		unsigned max_sessions;
		unsigned max_mx;
		unsigned max_rcpt;
		double surge_factor;
		enum config_spf spf;
		struct config_endpoint resolver;
	} smtp;
	struct {
		char *allowlist;	/* NULL: no allowlist */
		unsigned window;	/* seconds */
		uint64_t max_bt_bytes;
	} p2p;
	struct {
		struct config_syslog_target syslog;
		int facility;		/* LOG_DAEMON, LOG_USER, LOG_LOCAL0.. */
		char ident[CONFIG_IDENT_MAX + 1];
		char *json;		/* NULL: no JSON file */
		unsigned holddown;	/* seconds; 0 repeats every alert */
	} alerts;
	struct {
		char name[UNITS_NAME_MAX + 1];	/* default: short host name */
		char *user;		/* NULL: keep running as started */
		char *pidfile;		/* NULL: none */
		unsigned max_flows;
		unsigned idle_timeout;	/* seconds */
		char *metrics;		/* ADDR:PORT of the health endpoint;
					 * NULL: none (metrics.h) */
	} sensor;
	struct {
		char *url;		/* http://HOST:PORT/; NULL: off (chw.h) */
		char database[CONFIG_IDENT_MAX + 1];
		char *spool;		/* folder of batches not yet sent */
		uint64_t spool_max;	/* bytes */
		unsigned timeout;	/* seconds without progress */
		unsigned retention;	/* seconds; 0: the operator's */
	} clickhouse;
	/* Where each key got its value, for messages about a value that is
	 * well-formed but fails later (a BPF filter that does not compile, a
	 * folder the user cannot write): see config_where. */
	struct {
		char *file;				/* the file read, or NULL */
		unsigned line[CONFIG_MAX_KEYS];		/* 0: not set there */
		const char *flag[CONFIG_MAX_KEYS];	/* set by this option */
	} origin;
	/* The values of keys declared with CONFIG_OFF_EXT (config_ext). */
	uint64_t ext[CONFIG_MAX_EXT];
};


/* Fills cfg with the built-in defaults, overwriting (not freeing) what it
 * held. Never fails: the defaults are constants checked by the tests. */
void config_defaults(struct sw_config *cfg);

/* Applies the file at path on top of what cfg holds (normally the
 * defaults). Reads the whole file and logs every problem through log_err
 * as "path:line: message" (unreadable file: "path: reason"; after 200
 * errors it stops reading); a key set twice is a warning and the last
 * value counts. Returns 0, or -1 if
 * anything was wrong; cfg then holds a mix that the caller must
 * config_free and not use. errno is kept from a failed open, so a caller
 * can tell a missing default file (ENOENT) from a broken one. */
int config_load(struct sw_config *cfg, const char *path);

/* Sets one key from the command line; origin ("--step") prefixes any
 * message, or "[section] key" does when origin is NULL; origin must
 * outlive cfg (a string literal): config_where names it. Lists replace the
 * current list; relative paths stay relative to the working directory.
 * Returns 0, or -1 after logging why (a scalar is then unchanged; a list
 * may hold the items before the bad one). */
int config_set(struct sw_config *cfg, const char *section, const char *key,
    const char *value, const char *origin);

/* Where [section] key got its value: "file:line", the command-line option
 * ("-f"), or "[section] key" for a default. Written into buf, returned. */
const char *config_where(const struct sw_config *cfg, const char *section,
    const char *key, char *buf, size_t len);

/* The value of a key declared with CONFIG_OFF_EXT (a collector's own,
 * without a field in struct sw_config), of the type it was declared with
 * (unsigned for a uint or a duration, uint64_t for a size, char * for a
 * string...); NULL if there is no such key, or it has a field. */
const void *config_ext(const struct sw_config *cfg, const char *section,
    const char *key);

/* Frees what cfg holds on the heap; cfg is left with every string NULL
 * and every list empty, safe to free again or to refill. */
void config_free(struct sw_config *cfg);

#endif
