/*
 * Seeded pseudo-random numbers with no global state (splitmix64).
 *
 * Deterministic by construction: the same seed gives the same sequence on
 * every compiler and optimisation level. Not for cryptography.
 */
#ifndef ASUP_UTIL_RNG_H
#define ASUP_UTIL_RNG_H

#include <stdint.h>

typedef struct asup__rng {
	uint64_t state;
} asup__rng;

static inline uint64_t asup__mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline void asup__rng_seed(asup__rng *r, uint64_t seed)
{
	r->state = seed;
}

static inline uint64_t asup__rng_next(asup__rng *r)
{
	r->state += 0x9e3779b97f4a7c15ull;
	return asup__mix64(r->state);
}

/* Uniform in [0, bound) by rejection sampling; bound must be > 0. */
static inline uint64_t asup__rng_below(asup__rng *r, uint64_t bound)
{
	uint64_t threshold = UINT64_MAX - UINT64_MAX % bound;
	uint64_t x;
	do
		x = asup__rng_next(r);
	while (x >= threshold);
	return x % bound;
}

#endif
