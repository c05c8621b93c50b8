/* prng.h - x86vmx libc extension: small deterministic pseudo-random generators.
   splitmix64 (a Weyl sequence through a 64-bit mixing function) expands a seed into state;
   xorshift64* (shifts 12/25/27, output multiplier 0x2545F4914F6CDD1D) generates the stream.
   Both are public algorithms by S. Vigna; written here from their published descriptions. */
#ifndef _X86VMX_PRNG_H
#define _X86VMX_PRNG_H

#include <stdint.h>

typedef struct {
    uint64_t s;
} prng_t;

/* Advances *x by the golden-ratio increment and returns the mixed value. */
static inline uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15UL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

static inline void prng_seed(prng_t *r, uint64_t seed)
{
    uint64_t x = seed;
    r->s = splitmix64(&x);
    if (r->s == 0) r->s = 1; /* xorshift state must be non-zero */
}

static inline uint64_t prng_next(prng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dUL;
}

static inline uint32_t prng_u32(prng_t *r) { return (uint32_t)(prng_next(r) >> 32); }

/* Uniform-ish integer in [0, n) by a 64x64->128 multiply (no division, bias < n / 2^64). */
static inline uint64_t prng_below(prng_t *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)prng_next(r) * n) >> 64);
}

/* Double in [0, 1) with 53 random bits. */
static inline double prng_unit(prng_t *r)
{
    return (double)(int64_t)(prng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
