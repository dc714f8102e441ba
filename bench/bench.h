/* bench.h - `micl bench`: speed measurements (benchmarks of time, not evaluation suites; those
 * are data/benchmark.h). The bench/ room holds every driver: step and vs-torch (bench_step.c),
 * eval (bench_eval.c), gemm (bench_gemm.c, against run-time loaded BLAS libraries: blas.c),
 * comm (bench_comm.c, collectives.c) and scaling (bench_scaling.c). They are built on worker's
 * optimizer step and evaluator and on comm's public API, so that what they time is what
 * `micl train` and `micl eval` run. See bench/README.md.
 */
#ifndef MICL_BENCH_H
#define MICL_BENCH_H

#include "comm/comm.h"

/* argv[0] names the measurement (step, vs-torch, eval, gemm, comm, scaling); every rank calls
 * it. Returns a MICL_EXIT_* code. */
int bench_main(int argc, char **argv, const comm_t *comm);

#endif
