/*
 * rng.c — xoshiro256** and the few distributions the traffic model draws
 * from. See rng.h for why everything random goes through here.
 */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void rng_seed(struct rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint64_t rng_mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ rotl(b, 32) ^ 0x5851f42d4c957f2dULL;

	splitmix64(&x);
	x ^= b;
	return splitmix64(&x);
}

uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Lemire's multiply-shift without the rejection step: the bias is below
 * 2^-32 for the small ranges used here and the draw count stays fixed,
 * which keeps the stream easy to reason about. */
uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

uint32_t rng_range(struct rng *r, uint32_t lo, uint32_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (uint32_t)((((rng_next(r) >> 32) * ((uint64_t)hi - lo + 1)) >> 32));
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

int rng_chance(struct rng *r, double p)
{
	return rng_unit(r) < p;
}

double rng_pareto(struct rng *r, double alpha, double xm, double cap)
{
	double v = xm / pow(1.0 - rng_unit(r), 1.0 / alpha);

	return (cap > 0 && v > cap) ? cap : v;
}

double rng_exp(struct rng *r, double mean)
{
	return -mean * log(1.0 - rng_unit(r));
}

void rng_fill(struct rng *r, uint8_t *buf, size_t n)
{
	/* bytes in little-endian order, so that the output does not depend
	 * on the host's byte order */
	while (n) {
		uint64_t v = rng_next(r);

		for (int i = 0; i < 8 && n; i++, n--) {
			*buf++ = (uint8_t)v;
			v >>= 8;
		}
	}
}
