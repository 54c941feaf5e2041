/*
 * registry_toy.c — collectors/registry.c with the toy's line added: what
 * adding a concern takes (in the project, that line goes in registry.h).
 * Linked before the project's library, so its registry.o is not.
 */
#include "toy.h"

#define DECLARE(n) extern const struct collector collector_##n;
#define ENTRY(n) &collector_##n,
#define TOY_COLLECTORS(X) COLLECTORS(X) X(toy)

COLLECTORS(DECLARE)

const struct collector *const collector_registry[] = {
	TOY_COLLECTORS(ENTRY)
	NULL,
};
