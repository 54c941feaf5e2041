/*
 * registry.c — the table of collectors. A new concern adds one line.
 */
#include "collector.h"

extern const struct collector collector_p2p;
extern const struct collector collector_volume;
extern const struct collector collector_smtp;
extern const struct collector collector_health;

const struct collector *const collector_registry[] = {
	&collector_p2p,
	&collector_volume,
	&collector_smtp,
	&collector_health,
	NULL,
};
