/*
 * registry_toy_desc.c — collectors/registry_desc.c with the toy's line
 * added (in the project: one line in registry.h).
 */
#include "toy.h"

#define ENTRY(n) &n##_desc,
#define TOY_COLLECTORS(X) COLLECTORS(X) X(toy)

const struct collector_desc *const collector_descs[] = {
	TOY_COLLECTORS(ENTRY)
	NULL,
};
