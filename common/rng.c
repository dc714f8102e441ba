/* rng.c - SplitMix64-based counter RNG (see rng.h). */
#include "rng.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

rng_t rng_make(uint64_t seed, uint64_t stream, uint64_t index) {
    uint64_t k = mix64(seed + 0x9e3779b97f4a7c15ULL);
    k = mix64(k ^ (stream * 0xd1b54a32d192ed03ULL));
    k = mix64(k ^ (index * 0x8cb92ba72f3d8dd7ULL + 0x2545f4914f6cdd1dULL));
    rng_t r = {k, 0};
    return r;
}

uint64_t rng_u64(rng_t *r) {
    r->counter++;
    return mix64(r->key + r->counter * 0x9e3779b97f4a7c15ULL);
}

float rng_uniform(rng_t *r) {
    return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

double rng_uniform_double(rng_t *r) {
    return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

uint64_t rng_below(rng_t *r, uint64_t n) {
    if (n == 0) micl_fatal("rng_below: empty range");
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = rng_u64(r);
    } while (x >= limit);
    return x % n;
}

float rng_normal(rng_t *r) {
    double u1 = 1.0 - rng_uniform_double(r); /* (0, 1] */
    double u2 = rng_uniform_double(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_shuffle_i32(rng_t *r, int32_t *v, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)rng_below(r, (uint64_t)i + 1);
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

void rng_choose_distinct(rng_t *r, int64_t n, int64_t k, int32_t *out) {
    if (k > n) micl_fatal("cannot choose %lld distinct values of %lld", (long long)k, (long long)n);
    /* Floyd's algorithm keeps this O(k^2) without an n-sized buffer; k is small here. */
    for (int64_t j = n - k, m = 0; j < n; j++, m++) {
        int32_t t = (int32_t)rng_below(r, (uint64_t)j + 1);
        for (int64_t q = 0; q < m; q++) {
            if (out[q] == t) {
                t = (int32_t)j;
                break;
            }
        }
        out[m] = t;
    }
    rng_shuffle_i32(r, out, k);
}
