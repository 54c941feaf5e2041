/*
 * registry_desc.c — the table of descriptors, from registry.h's list, in
 * the same order as the collectors. Data only: spanwatch-graph links it
 * (and the NAME_desc.c files) without the packet code.
 */
#include "collector_desc.h"
#include "registry.h"

#define ENTRY(n) &n##_desc,

const struct collector_desc *const collector_descs[] = {
	COLLECTORS(ENTRY)
	NULL,
};
