/*
 * rng.h — the generator's only source of randomness: xoshiro256**
 * (Blackman and Vigna, 2018) seeded through splitmix64. A seed and the
 * options fix every byte of output; nothing reads the clock or rand(3).
 * Distributions used by the traffic model (Pareto for ON/OFF periods,
 * exponential for think times) live here too, so that every draw goes
 * through one audited place.
 */
#ifndef SPANWATCH_GEN_RNG_H
#define SPANWATCH_GEN_RNG_H

#include <stddef.h>
#include <stdint.h>

struct rng {
	uint64_t s[4];
};

void rng_seed(struct rng *r, uint64_t seed);
/* a well-mixed 64-bit value derived from two others (per-flow seeds) */
uint64_t rng_mix(uint64_t a, uint64_t b);
uint64_t rng_next(struct rng *r);
/* uniform in [0, n); n == 0 gives 0 */
uint32_t rng_below(struct rng *r, uint32_t n);
/* uniform in [lo, hi], inclusive */
uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi);
/* uniform in [0, 1) with 53 random bits */
double rng_unit(struct rng *r);
/* 1 with probability p */
int rng_chance(struct rng *r, double p);
/* Pareto with shape alpha and minimum xm, truncated at cap (cap <= 0: none) */
double rng_pareto(struct rng *r, double alpha, double xm, double cap);
double rng_exp(struct rng *r, double mean);
void rng_fill(struct rng *r, uint8_t *buf, size_t n);

#endif
