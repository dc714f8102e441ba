/* bench_eval.h - `micl bench eval`: the cost of a binding shot curve, single pass over the
 * KV cache against re-prompting every K-shot prompt (a benchmark, not a test).
 *
 *   micl bench eval [--config quickstart|tiny | --checkpoint CK.h5 --dataset STORE.h5]
 *                   [--ways 2,5] [--shots 0,1,2,4,8] [--episodes N] [--repeats R]
 *                   [--threads T] [--seed S] [-o BENCH.h5]
 *
 * For each number of ways it evaluates the whole curve (eval_binding_curve) with both engines,
 * R times in alternating order, checks that every cell's counts agree, and reports the median
 * wall times and their ratio on stdout and, with -o, in an HDF5 file of kind "micl-bench"
 * (benchmark "eval"; bench/README.md). Without a checkpoint the model is the preset's shape
 * with random weights and the images come from a synthetic store built in memory.
 */
#ifndef MICL_BENCH_EVAL_H
#define MICL_BENCH_EVAL_H

#include "common/cli_args.h"

extern const cli_command_t CLI_BENCH_EVAL;

#include "comm/comm.h"

/* argv: the options after `bench eval`. Returns a MICL_EXIT_* code. */
int bench_eval_main(int argc, char **argv, const comm_t *comm);

#endif
