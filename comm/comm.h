/* comm.h - MPI for micl: init, checked calls, rank groups, messages and the deterministic
 * gradient reduction.
 *
 * comm_tree_reduce sums one float vector per micro-batch over a FIXED binary tree on the
 * micro-batch indices [0, M) (node [lo,hi) = node [lo,mid) + node [mid,hi), mid = (lo+hi)/2).
 * Each rank owns a contiguous block of micro-batches and computes the largest tree nodes that
 * lie inside its block; rank 0 receives the others and completes the tree; the sum is then
 * broadcast. The additions happen in the same order for any rank count, so np=1 and np=N give
 * bit-identical gradients (MPI_Allreduce would not: its order depends on np and the algorithm).
 * With comm_tree_pair_leaves, a rank with two or more OpenMP threads computes the two leaves of
 * a node [i, i+2) at the same time, each on half the threads: the same leaves and the same
 * additions, so the same bits, with one parallel region per pair instead of one per kernel.
 */
#ifndef MICL_COMM_H
#define MICL_COMM_H

#include <stddef.h>
#include <stdint.h>

/* A communicator: the world, or a group of it (comm_split). Every collective below runs on
 * the communicator it is given; rank 0 of a group is its leader. */
typedef struct {
    int rank, size;
    int world_rank; /* this process's rank in the world */
    int is_group;   /* 0: MPI_COMM_WORLD; 1: a communicator made by comm_split */
    int handle;     /* the group's communicator (MPI_Comm_c2f) */
} comm_t;

void comm_init(int *argc, char ***argv, comm_t *c);
void comm_finalize(void);
void comm_abort(int code);

/* Checked MPI call: reports file:line and rank on failure. */
#define MPI_CHECK(call) comm_check((call), #call, __FILE__, __LINE__)
void comm_check(int rc, const char *what, const char *file, int line);

/* Micro-batches [*lo, *hi) owned by `rank` of `size` when a step has m of them. */
void comm_block(int m, int rank, int size, int *lo, int *hi);

/* Computes the gradient of micro-batch i into out[n] (out is overwritten). With paired leaves,
 * leaves i and i+1 may run at once: a leaf must then use state of its own for i % 2. */
typedef void (*comm_leaf_fn)(int i, float *out, void *ctx);

typedef struct {
    size_t n;
    int depth;
    float **scratch; /* one buffer per tree level */
    int pair_leaves; /* comm_tree_pair_leaves */
} comm_tree_t;

void comm_tree_init(comm_tree_t *t, size_t n, int max_leaves);
void comm_tree_free(comm_tree_t *t);
/* Lets the tree run two sibling leaves at once when the rank has >= 2 OpenMP threads (see top
 * of file); the leaf function must keep separate state for i % 2 == 0 and 1. */
void comm_tree_pair_leaves(comm_tree_t *t, int on);
/* Sums leaves 0..m-1 into result[n] on every rank (see top of file). */
void comm_tree_reduce(comm_tree_t *t, const comm_t *c, int m, comm_leaf_fn leaf, void *ctx,
                      float *result);

/* Exact integer and double sums (doubles gathered and summed in rank order). */
void comm_sum_i64(const comm_t *c, int64_t *v, int n);
/* Gathers one double per micro-batch (rank blocks) and returns them on every rank in index order.
 */
void comm_allgather_blocks_f64(const comm_t *c, int m, const double *mine, double *all, int per);
void comm_bcast_f32(const comm_t *c, float *v, size_t n);
void comm_barrier(const comm_t *c);
int comm_any(const comm_t *c, int flag); /* 1 if any rank's flag is set */

/* Splits `parent` into groups of equal color, ranked as in the parent (MPI_Comm_split);
 * collective over the parent. Free with comm_group_free. */
void comm_split(const comm_t *parent, int color, comm_t *group);
void comm_group_free(comm_t *group);

/* Point-to-point messages of bytes; comm_poll never blocks: it returns 1 and describes the
 * next message from src (-1: any) with tag (-1: any), which comm_recv then receives. */
typedef struct {
    int src, tag;
    size_t size;
} comm_msg_t;
void comm_send(const comm_t *c, int dest, int tag, const void *buf, size_t n);
int comm_poll(const comm_t *c, int src, int tag, comm_msg_t *msg);
void comm_recv(const comm_t *c, const comm_msg_t *msg, void *buf);
void comm_bcast_i64(const comm_t *c, int64_t *v, int n);

#endif
