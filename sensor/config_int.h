/*
 * config_int.h — what config.c (the key table, reading files) and
 * config_types.c (the parsers of the value types) share. Private to them.
 */
#ifndef SPANWATCH_CONFIG_INT_H
#define SPANWATCH_CONFIG_INT_H

#include "config.h"

#include <stddef.h>

#define WHY_LEN 512

/* A parser reads value into the field at fld; append is set for the
 * continuation lines of a list. basedir is where relative paths lead, or
 * NULL to keep them as given. Returns 0, or -1 with the reason in why. */
typedef int config_parse_fn(const struct config_key *k, void *fld,
    const char *value, int append, const char *basedir, char *why,
    size_t whylen);
typedef void config_release_fn(void *fld);

struct config_ops {
	config_parse_fn *parse;
	config_release_fn *release;	/* NULL: nothing on the heap */
	int list;		/* may continue on indented lines */
	size_t ext_size;	/* bytes of the value, for a key without a
				 * field (CONFIG_OFF_EXT); 0: not allowed */
};

extern const struct config_ops config_ops[CONFIG_NTYPES];

#endif
