/* bench.h - `micl bench`: speed measurements (benchmarks of time, not evaluation suites; those
 * are data/benchmark.h). The bench/ room holds every driver: step and vs-torch (bench_step.c),
 * eval (bench_eval.c), gemm (bench_gemm.c, against run-time loaded BLAS libraries: blas.c),
 * comm (bench_comm.c, collectives.c) and scaling (bench_scaling.c); the conditions they run
 * under: busy neighbour processes (neighbours.c) and the OpenBLAS core type that vs-torch and
 * gemm compare against (openblas_probe.c). They are built on worker's
 * optimizer step and evaluator and on comm's public API, so that what they time is what
 * `micl train` and `micl eval` run. See bench/README.md.
 */
#ifndef MICL_BENCH_H
#define MICL_BENCH_H

#include "comm/comm.h"
#include "common/cli_args.h"

/* The command descriptions, for `micl help`. */
extern const cli_command_t CLI_BENCH_STEP, CLI_BENCH_VS_TORCH, CLI_BENCH_EVAL, CLI_BENCH_GEMM,
    CLI_BENCH_COMM, CLI_BENCH_SCALING;

/* 1 if `name` is a measurement of micl bench. */
int bench_known(const char *name);
/* argv[0] names the measurement (step, vs-torch, eval, gemm, comm, scaling: bench_known);
 * every rank calls it. Returns a MICL_EXIT_* code. */
int bench_main(int argc, char **argv, const comm_t *comm);

#endif
