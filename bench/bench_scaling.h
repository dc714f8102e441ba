/* bench_scaling.h - `micl bench scaling`: the training step of a preset at several rank
 * counts (one OpenMP thread per rank, fixed global batch), with speed-up and efficiency
 * (bench/README.md).
 *
 *   micl bench scaling [--config quickstart|large|tiny] [--np 1,2,4] [--steps N] [--warmup W]
 *                      [-o BENCH.h5]
 */
#ifndef MICL_BENCH_SCALING_H
#define MICL_BENCH_SCALING_H

#include "common/cli_args.h"

extern const cli_command_t CLI_BENCH_SCALING;

/* argv[0] is "scaling". Run it as one process (not under mpirun): it launches mpirun itself
 * ($MICL_MPIRUN, default mpirun). Returns a MICL_EXIT_* code. */
int bench_scaling_main(int argc, char **argv);

#endif
