/* cmd_coverage.h - `micl data coverage CFG [--steps N]`: does every run of CFG train on every
 * answer word its benchmarks score?
 *
 * For each run it draws the training sequences of the first N steps (default 200) of every
 * stage in order (a stage that ends by its `steps` gives min(N, steps); worker/sampler.h, the
 * trainer's own sequences, no model) and marks every token that is a loss target. For each
 * benchmark of eval.benchmarks it builds the episodes evaluation scores (eval.ways, eval.shots,
 * eval.episodes, every variant; data/benchmark.h) and collects the answer tokens of the scored
 * answers. It prints one row per run and benchmark (answer words, words never trained, up to 10
 * named) and returns 1 when some run never sees a benchmark answer word as a target, else 0.
 */
#ifndef MICL_CMD_COVERAGE_H
#define MICL_CMD_COVERAGE_H

#include "common/cli_args.h"

extern const cli_command_t CLI_DATA_COVERAGE;

/* argv[0] is CFG (after "data coverage"); returns the process exit code. */
int cmd_data_coverage(int argc, char **argv);

#endif
