/*
 * config_key.h — how a configuration key is declared: its section, name,
 * type, field, bounds and default. The sensor's own keys (config.c) and
 * each collector's (its descriptor, collector_desc.h) use it; config.c's
 * table reads both. Data only, so that spanwatch-graph can read the
 * descriptors without the configuration code.
 */
#ifndef SPANWATCH_CONFIG_KEY_H
#define SPANWATCH_CONFIG_KEY_H

#include <stddef.h>
#include <stdint.h>

/* The types a key may have. Sizes and lists, in the field: */
enum config_type {
	CONFIG_T_UINT,		/* unsigned; bounds of the value */
	CONFIG_T_DURATION,	/* unsigned seconds ("5m", "1h") */
	CONFIG_T_SIZE,		/* uint64_t bytes ("10G") */
	CONFIG_T_FLOAT,		/* double */
	CONFIG_T_BOOL,		/* bool */
	CONFIG_T_ENUM,		/* int, one of names[] */
	CONFIG_T_STRING,	/* char *; bounds of the length */
	CONFIG_T_PATH,		/* char *, absolute once read from a file */
	CONFIG_T_NAME,		/* char[max + 1], a units_check_name name */
	CONFIG_T_ADDRS,		/* struct config_addrs; bounds of the count */
	CONFIG_T_PORTS,		/* struct config_ports */
	CONFIG_T_NAMES,		/* struct config_names */
	CONFIG_T_ENDPOINT,	/* struct config_endpoint */
	CONFIG_T_SYSLOG,	/* struct config_syslog_target */
	CONFIG_T_RRDCACHED,	/* char *, an rrdcached address */
	CONFIG_NTYPES
};

struct config_enum_name {
	const char *name;
	int val;
};

/* off: a key without a field in struct sw_config (a collector's own):
 * its value lives in cfg->ext, read with config_ext. Scalar types only
 * (uint, duration, size, float, bool, enum, string, path). */
#define CONFIG_OFF_EXT SIZE_MAX

/* One key, as the table and the collectors' descriptors declare it. */
struct config_key {
	const char *section;
	const char *name;
	enum config_type type;
	size_t off;		/* of the field in struct sw_config, or
				 * CONFIG_OFF_EXT */
	double min, max;	/* value bounds; for strings and lists, the
				 * bounds of the length or count */
	const char *def;	/* as an operator would write it; NULL: unset */
	const struct config_enum_name *names;	/* for enums, NULL-ended */
};

#endif
