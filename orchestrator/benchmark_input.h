/* benchmark_input.h - the store, vocabulary and episode source a benchmark runs on, from a
 * config: the benchmark's store (glyphs, Fashion-MNIST, scenes or operators; or a store given by
 * path), the config's vocabulary (fake names from its seed), and the benchmark's split. Shared by
 * `micl data export --benchmark` and the scoring of external predictions, so both see the
 * episodes `micl eval` scores.
 */
#ifndef MICL_BENCHMARK_INPUT_H
#define MICL_BENCHMARK_INPUT_H

#include "common/config.h"
#include "data/benchmark.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"

typedef struct {
    const benchmark_t *benchmark;
    image_store_t store; /* the store the episodes draw images from */
    vocab_t vocab;
    benchmark_source_t src; /* the episodes' source (glyph or scene families) */
} benchmark_input_t;

/* Opens benchmark `name` for `cfg`; dataset: a store path overriding the benchmark's store
 * (NULL: the config's). Fails with a clear message on an unknown name or a missing store. */
void benchmark_input_open(benchmark_input_t *bs, const config_t *cfg, const char *name,
                          const char *dataset);
void benchmark_input_close(benchmark_input_t *bs);
/* The path of the store benchmark b reads for cfg: dataset if given, else the config's store
 * for b (data_benchmark_store_path). Fails with a clear message if the file is missing. Also
 * used by `micl eval --benchmark --checkpoint`, which builds its vocabulary from the
 * checkpoint. */
void benchmark_input_store_path(const config_t *cfg, const benchmark_t *b, const char *dataset,
                                char *buf, size_t len);

#endif
