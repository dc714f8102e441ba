/* bench_comm.h - `micl bench comm`: allreduce, reduce-scatter, broadcast and micl's own
 * deterministic tree reduction over message sizes, in nccl-tests columns (bench/README.md).
 *
 *   mpirun -np N micl bench comm [--max-bytes B] [--iters I] [-o BENCH.h5]
 */
#ifndef MICL_BENCH_COMM_H
#define MICL_BENCH_COMM_H

#include "comm/comm.h"

#include "common/cli_args.h"

extern const cli_command_t CLI_BENCH_COMM;

/* argv[0] is "comm". Every rank takes part. Returns a MICL_EXIT_* code. */
int bench_comm_main(int argc, char **argv, const comm_t *comm);

#endif
