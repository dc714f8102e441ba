/* bench_gemm.h - `micl bench gemm`: micl's GEMM against OpenBLAS and BLIS at the model's
 * real shapes (bench/README.md).
 *
 *   micl bench gemm [--config quickstart,large] [--threads 1,2] [--min-ms MS]
 *                   [--openblas PATH] [--blis PATH] [-o BENCH.h5]
 */
#ifndef MICL_BENCH_GEMM_H
#define MICL_BENCH_GEMM_H

#include "common/cli_args.h"

extern const cli_command_t CLI_BENCH_GEMM;

/* argv[0] is "gemm". Returns a MICL_EXIT_* code. */
int bench_gemm_main(int argc, char **argv);

#endif
