/* collectives.h - timing of the collectives for `micl bench comm`, on comm's public API (the
 * trainer does not use this file).
 *
 * Every rank calls the same function with the same arguments. A measurement is: one warm-up
 * call (connections are set up lazily), a barrier, `iters` timed calls, then the slowest rank's
 * mean time per call (MPI_MAX), returned on every rank.
 */
#ifndef MICL_BENCH_COLLECTIVES_H
#define MICL_BENCH_COLLECTIVES_H

#include <stddef.h>

#include "comm/comm.h"

typedef enum {
    COLLECTIVES_ALLREDUCE,      /* comm_allreduce_sum_f32 (MPI_Allreduce), in place */
    COLLECTIVES_REDUCE_SCATTER, /* comm_reduce_scatter_sum_f32, n / size floats per rank */
    COLLECTIVES_BCAST,          /* comm_bcast_f32 from rank 0 */
    COLLECTIVES_TREE,           /* comm_tree_* through rank 0 (COMM_REDUCE_TREE_RANK0) */
    COLLECTIVES_TREE_SCATTER,   /* comm_tree_* as the trainer sums (COMM_REDUCE_TREE: on host
                                   buffers the tree's reduce-scatter, then an all-gather) */
    COLLECTIVES_N_OPS
} collectives_op_t;

/* Short name of an op ("allreduce", ...). */
const char *collectives_op_name(collectives_op_t op);
/* nccl-tests bus-bandwidth factor of an op for `size` ranks (2(n-1)/n for allreduce and the
 * trees, (n-1)/n for reduce-scatter, 1 for broadcast). */
double collectives_bus_factor(collectives_op_t op, int size);
/* Floats the op actually moves for a request of n (reduce-scatter rounds down to a multiple of
 * the rank count, at least one per rank). */
size_t collectives_count(collectives_op_t op, size_t n, int size);
/* Mean seconds per call of `op` on n floats (see top of file). buf needs n floats. */
double collectives_time(const comm_t *c, collectives_op_t op, size_t n, int iters, float *buf);

#endif
