/* cmd_eval_benchmark.h - `micl eval CFG --benchmark B --checkpoint CK.h5`: a trained model on a
 * named benchmark (data/benchmark.h), every cell, with an optional predictions file.
 *
 *   micl eval CFG --benchmark B --checkpoint CK.h5 [--episodes N] [--dataset STORE.h5]
 *             [--write-predictions FILE.jsonl] [-o RESULTS.h5]
 *
 * CFG gives the stores and the episode seed; CK the model and its vocabulary. With
 * --write-predictions every prompt's answer (the best-scoring candidate) is written as one JSON
 * line {"id", "prediction"} with the sample ids of `micl data export`, so that
 * `micl eval CFG --benchmark B --predictions FILE.jsonl` scores exactly the same table.
 */
#ifndef MICL_CMD_EVAL_BENCHMARK_H
#define MICL_CMD_EVAL_BENCHMARK_H

#include <stdint.h>

#include "comm/comm.h"
#include "common/config.h"
#include "data/benchmark.h"

/* cells: the cells to score (NULL: the benchmark's own). */
int eval_benchmark_checkpoint(const config_t *cfg, const comm_t *comm, const char *benchmark,
                              const char *checkpoint, int64_t episodes, const char *dataset,
                              const benchmark_cells_t *cells, const char *predictions_path,
                              const char *results_path);

#endif
