/* synthetic.h - the speed measurements' batch: sequences of <bos> then `pairs` x (<img> name),
 * the target of each image position its name, names and pixels from a hash of their index. It
 * needs no other part of micl, so the standalone GPU check (tests/gpu/standalone) times the
 * batch that `micl bench step` times (bench/workload.h).
 */
#ifndef MICL_BENCH_SYNTHETIC_H
#define MICL_BENCH_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_IMAGE_TOKEN 1
#define BENCH_BOS 2
#define BENCH_FIRST_NAME 3

/* A 32-bit integer hash (a full-avalanche mix): the batch's names and pixels. */
uint32_t bench_mix32(uint32_t x);
/* n_seq sequences of 1 + 2 * pairs tokens into tokens and targets (-1: no target), names among
 * [BENCH_FIRST_NAME, vocab); n_px pixel bytes. */
void bench_synthetic_batch(int32_t *tokens, int32_t *targets, size_t n_seq, int pairs, int vocab,
                           uint8_t *pixels, size_t n_px);

#endif
