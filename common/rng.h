/* rng.h - counter-based random numbers keyed by (seed, stream, index).
 *
 * A generator is a key (derived from seed, stream and index) plus a counter; every draw hashes
 * (key, counter) with a SplitMix64-style finaliser. There is no hidden state to carry between
 * ranks or restarts: episode i of a run is rebuilt from (seed, RNG_STREAM_..., i) anywhere,
 * so its bytes do not depend on the rank count or on a resume.
 */
#ifndef MICL_RNG_H
#define MICL_RNG_H

#include <stdint.h>

/* Stream ids: one per independent use of randomness. Never renumber (results depend on it). */
enum {
    RNG_STREAM_INIT = 1, /* parameter initialisation */
    RNG_STREAM_TRAIN_EPISODE = 2,
    RNG_STREAM_EVAL_EPISODE = 3,
    RNG_STREAM_GLYPH_RENDER = 4,
    RNG_STREAM_SPLIT = 5, /* class / instance splits of stores */
    RNG_STREAM_FAKE_NAMES = 6,
    RNG_STREAM_ZEROSHOT = 7,
    RNG_STREAM_GLYPH_AUG = 8,        /* glyph store: augmentation of class k's instances */
    RNG_STREAM_SCENE_RENDER = 20,    /* scene store: objects of image i */
    RNG_STREAM_OPERATOR_RENDER = 21, /* operator store: operands, font and jitter of image i */
    RNG_STREAM_TEST = 99
};

typedef struct {
    uint64_t key;
    uint64_t counter;
} rng_t;

rng_t rng_make(uint64_t seed, uint64_t stream, uint64_t index);
uint64_t rng_u64(rng_t *r);
/* Uniform in [0, 1) with 24 random bits (exact in float). */
float rng_uniform(rng_t *r);
double rng_uniform_double(rng_t *r);
/* Uniform integer in [0, n), n > 0, without modulo bias. */
uint64_t rng_below(rng_t *r, uint64_t n);
/* Standard normal (Box-Muller, deterministic). */
float rng_normal(rng_t *r);
/* Fisher-Yates shuffle of n int32 values. */
void rng_shuffle_i32(rng_t *r, int32_t *v, int64_t n);
/* Picks k distinct values of [0, n) into out (k <= n), in random order. */
void rng_choose_distinct(rng_t *r, int64_t n, int64_t k, int32_t *out);

#endif
