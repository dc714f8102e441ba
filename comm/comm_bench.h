/* comm_bench.h - timing of the collectives for `micl bench comm` (benchmark only; the trainer
 * does not use this file).
 *
 * Every rank calls the same function with the same arguments. A measurement is: one warm-up
 * call (connections are set up lazily), a barrier, `iters` timed calls, then the slowest rank's
 * mean time per call (MPI_MAX), returned on every rank.
 */
#ifndef MICL_COMM_BENCH_H
#define MICL_COMM_BENCH_H

#include <stddef.h>

#include "comm.h"
#include "comm_tree.h"

typedef enum {
    COMM_BENCH_ALLREDUCE,      /* MPI_Allreduce, float sum, in place */
    COMM_BENCH_REDUCE_SCATTER, /* MPI_Reduce_scatter_block, n / size floats per rank */
    COMM_BENCH_BCAST,          /* MPI_Bcast from rank 0 */
    COMM_BENCH_TREE,           /* comm_tree_*, one leaf per rank (the trainer's reduction) */
    COMM_BENCH_N_OPS
} comm_bench_op_t;

/* The communicator of all ranks. */
void comm_bench_world(comm_t *c);
/* Short name of an op ("allreduce", ...). */
const char *comm_bench_op_name(comm_bench_op_t op);
/* nccl-tests bus-bandwidth factor of an op for `size` ranks (2(n-1)/n for allreduce and the
 * tree, (n-1)/n for reduce-scatter, 1 for broadcast). */
double comm_bench_bus_factor(comm_bench_op_t op, int size);
/* Floats the op actually moves for a request of n (reduce-scatter rounds down to a multiple of
 * the rank count, at least one per rank). */
size_t comm_bench_count(comm_bench_op_t op, size_t n, int size);
/* Mean seconds per call of `op` on n floats (see top of file). buf needs n floats. */
double comm_bench_time(const comm_t *c, comm_bench_op_t op, size_t n, int iters, float *buf);

#endif
