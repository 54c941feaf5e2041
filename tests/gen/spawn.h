/*
 * spawn.h — what a traffic source hands to a payload module when one of
 * its ON periods begins: whose it is, when, how long, and how many packets
 * it should carry. The payload modules turn that into flows.
 */
#ifndef SPANWATCH_GEN_SPAWN_H
#define SPANWATCH_GEN_SPAWN_H

#include <stdint.h>

struct spawn {
	uint32_t sub;
	uint64_t t0;		/* us */
	double dur;		/* seconds */
	double budget;		/* packets */
};

/* pacing that spreads n packets over dur seconds, in us */
static inline uint32_t spawn_iv(double dur, double n)
{
	double iv = n > 1 ? dur * 1e6 / n : 1000;

	return iv < 40 ? 40 : iv > 2e6 ? 2000000 : (uint32_t)iv;
}

#endif
