/*
 * registry.c — the table of collectors, from registry.h's list (a new
 * concern adds its line there).
 */
#include "collector.h"
#include "registry.h"

#define DECLARE(n) extern const struct collector collector_##n;
#define ENTRY(n) &collector_##n,

COLLECTORS(DECLARE)

const struct collector *const collector_registry[] = {
	COLLECTORS(ENTRY)
	NULL,
};
