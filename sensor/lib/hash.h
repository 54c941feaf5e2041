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

/* Two words folded into one through their 128-bit product (the "mum"
 * step of wyhash): every bit of either reaches the middle of the
 * product, and the halves xored keep it. */
static inline uint64_t
hash_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Pairs of words, each pair folded by one multiplication: the pairs do
 * not wait on each other, so a 40-byte flow key costs three
 * multiplications side by side where a chain of five mixes waited on
 * each (the flow lookup's hash was a tenth of the packet path). */
static inline uint64_t
hash_words(const void *key, size_t len, uint64_t seed)
{
	static const uint64_t k[4] = {
		0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL,
		0x8ebc6af09c88c6e3ULL, 0x589965cc75374cc3ULL,
	};
	const unsigned char *p = key;
	uint64_t h = seed ^ (uint64_t)len, a, b;
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		memcpy(&a, p + i, 8);
		memcpy(&b, p + i + 8, 8);
		h ^= hash_mum(a ^ k[(i / 16) & 3], b ^ k[((i / 16) + 1) & 3]);
	}
	if (i + 8 <= len) {
		memcpy(&a, p + i, 8);
		h ^= hash_mum(a ^ k[2], seed ^ k[3]);
	}
	return hash_mix(h);
}

#endif
