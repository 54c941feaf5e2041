/*
 * hash.h — one fast, well-mixing hash for the sensor's fixed-size keys
 * (flow keys, fragment keys). Keys are hashed as whole 8-byte words, so a
 * key's size must be a multiple of 8 and its padding zeroed.
 */
#ifndef SPANWATCH_HASH_H
#define SPANWATCH_HASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t
hash_mix(uint64_t x)
{
	/* splitmix64's finaliser: every input bit reaches every output bit. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static inline uint64_t
hash_words(const void *key, size_t len, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = seed, w;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = hash_mix(h ^ w);
	}
	return h;
}

#endif
