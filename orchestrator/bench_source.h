/* bench_source.h - the store, vocabulary and episode source a benchmark runs on, from a
 * config: the glyph store (or Fashion-MNIST for cross_domain, or a store given by path), the
 * config's vocabulary (fake names from its seed), and the benchmark's split. Shared by
 * `micl data export --benchmark` and the scoring of external predictions, so both see the
 * episodes `micl eval` scores.
 */
#ifndef MICL_BENCH_SOURCE_H
#define MICL_BENCH_SOURCE_H

#include "../common/config.h"
#include "../data/benchmark.h"
#include "../data/episode.h"
#include "../data/store.h"
#include "../data/vocab.h"

typedef struct {
    const benchmark_t *bench;
    image_store_t store; /* the store the episodes draw images from */
    vocab_t vocab;
    benchmark_source_t src; /* the episodes' source (glyph or scene families) */
} bench_source_t;

/* Opens benchmark `name` for `cfg`; dataset: a store path overriding the benchmark's store
 * (NULL: the config's). Fails with a clear message on an unknown name or a missing store. */
void bench_source_open(bench_source_t *bs, const config_t *cfg, const char *name,
                       const char *dataset);
void bench_source_close(bench_source_t *bs);

#endif
