/* comm_tree.h - the deterministic gradient reduction: a sum of one float vector per micro-batch
 * over a FIXED binary tree on the micro-batch indices [0, M), the same bits for any rank count.
 *
 * The tree: node [lo, hi) = node [lo, mid) + node [mid, hi), mid = (lo + hi) / 2, leaves are
 * single micro-batches; every addition is "left += right". Each rank owns a contiguous block
 * of micro-batches (comm_block) and sums the largest nodes that lie inside its block (its
 * maximal nodes); the ranks then complete the tree's upper levels (the nodes whose leaves span
 * several blocks) from those.
 * The additions are the same for any rank count, so np=1 and np=N give bit-identical gradients
 * (MPI_Allreduce would not: its order depends on np and the algorithm).
 *
 * How the upper levels are summed (host buffers, two ranks or more):
 *  - COMM_REDUCE_TREE: a reduce-scatter along the tree, then an all-gather
 *    (comm_tree_scatter.c). The vector is cut into one fixed slice per rank; every rank sends
 *    slice s of each of its maximal nodes to rank s as soon as the node is finished, rank s
 *    sums its slice over the upper levels (the same nodes, left += right) and sends it to
 *    every rank (an all-gather whose receives were posted by comm_tree_begin). About
 *    2(P-1)/P of the vector leaves each rank.
 *  - COMM_REDUCE_TREE_RANK0: every rank sends its maximal nodes whole to rank 0, which
 *    completes the tree and broadcasts the sum (the messages described below). Rank 0 receives
 *    and sends (P-1) vectors: a hot spot. Kept for comparison (micl bench comm) and as the
 *    path of vectors of more than INT_MAX floats, which one MPI count cannot slice.
 * Both give the same bits: the sums are elementwise and in the tree's order.
 *
 * The tree is a plan, not a callback: the caller computes its leaves and hands them in.
 *
 *     comm_tree_begin(&t, comm, m, grad);           this rank's leaves: [t.leaf_lo, t.leaf_hi)
 *     for (int i = t.leaf_lo; i < t.leaf_hi; i++) {
 *         float *g = comm_tree_leaf(&t, i);         where leaf i's vector goes
 *         ... write micro-batch i's gradient into g ...
 *         comm_tree_add(&t, i);                     sums it in (and sends finished nodes)
 *     }
 *     comm_tree_finish(&t);                         grad = the sum, on every rank
 *
 * Leaves are added in index order. Up to two leaves may be outstanding at once (their buffers
 * taken with comm_tree_leaf before either is added), so that two micro-batches can be computed
 * at the same time. Leaf 0's buffer is the result buffer itself (on the rank that computes it;
 * not on the scatter path, whose result receives the all-gather), so a single rank sums in
 * place without a copy.
 *
 * On the rank-0 path messages travel in COMM_TREE_PIECES pieces: rank 0 posts the receives of a
 * remote right child before its own leaves are computed, adds each piece as it arrives and
 * broadcasts each finished piece of the top sum at once. The sums are elementwise, so the pieces
 * change no bit. The sums run through kern_add_inplace, so a backend's buffers are summed where
 * they live.
 *
 * On a device backend (kern_backend()->host_memory == 0) the vectors are device buffers and the
 * same tree moves them one of two ways, with the same additions and so the same bits (both
 * through rank 0, for COMM_REDUCE_TREE and COMM_REDUCE_TREE_RANK0 alike):
 *  - the communicator's device transport (comm_device_open; NCCL): blocking send/recv pairs
 *    matched in issue order. A rank other than 0 keeps its maximal nodes and sends them left
 *    to right after its last leaf; rank 0 walks the tree left to right after its own leaves,
 *    receiving each remote node where the walk meets it (so in each sender's order), and the
 *    sum goes out over a binomial tree of sends (rank r receives from r minus its highest bit).
 *  - no transport: the MPI messages above, each staged through a host copy of its vector
 *    (kern_copy_to_host before a send, kern_copy_from_host after a receive), allocated the
 *    first time a vector carries a message and reused.
 *
 * COMM_REDUCE_ALLREDUCE trades those bits for speed: each rank sums its own leaves in index
 * order (into the result buffer, which holds its first leaf), then one all-reduce adds the
 * ranks' sums: the transport's where the communicator has one, else MPI_Allreduce on the host
 * (staged on a device). The library picks that order by rank count, size, topology, version and
 * settings, so the bits change with the rank count; on one rank they are the index-order sum's,
 * not the tree's.
 * With all of those fixed the order is fixed in practice, and a run repeats its bits (Open MPI's
 * and NCCL's behaviour, not a promise of either; test_comm_device checks it for MPI).
 */
#ifndef MICL_COMM_TREE_H
#define MICL_COMM_TREE_H

#include <stddef.h>

#include "comm.h"

enum { COMM_TREE_PIECES = 8, COMM_TREE_MAX_DEPTH = 32 };

/* How the ranks' leaves become one sum. */
typedef enum {
    COMM_REDUCE_TREE = 0,      /* the fixed tree: the same bits for any rank count (default) */
    COMM_REDUCE_ALLREDUCE = 1, /* local sums, then an all-reduce: fast, bits vary with ranks */
    COMM_REDUCE_TREE_RANK0 = 2 /* the fixed tree, upper levels on rank 0: TREE's bits, slower */
} comm_reduce_t;

typedef struct comm_tree_node comm_tree_node_t;
struct comm_tree_scatter; /* the reduce-scatter's slices and messages (comm_tree_scatter.c) */

typedef struct {
    size_t n; /* floats per vector */
    int max_leaves;
    int depth;            /* levels of a tree of max_leaves leaves */
    int leaf_lo, leaf_hi; /* the leaves this rank computes in the step under way */
    /* private */
    comm_reduce_t reduce;
    int path; /* how messages travel in the step under way (comm_tree_internal.h) */
    const comm_t *comm;
    int m, next;
    float *result;
    float *out[2]; /* buffers handed out for leaves next and next + 1 */
    int n_pool;
    float **pool;      /* vectors free for leaves and received nodes */
    float **host_pool; /* the host copy of pool[i] its staged messages use (or NULL) */
    float *host_result;
    int n_free;
    float **free_bufs;
    int n_stack;
    comm_tree_node_t *stack; /* finished nodes of this rank, left to right */
    int n_pending;
    comm_tree_node_t *pending; /* rank 0: remote nodes whose receives are posted */
    int n_held;
    comm_tree_node_t *held; /* its maximal nodes, kept: over a transport (a rank other than
                               0: to send) and on the scatter path (their slices in flight) */
    struct comm_tree_scatter *scatter;
} comm_tree_t;

/* A tree for vectors of n floats and steps of at most max_leaves micro-batches (mode TREE). */
void comm_tree_init(comm_tree_t *t, size_t n, int max_leaves);
void comm_tree_free(comm_tree_t *t);
/* The reduction of the steps begun from now on (between steps; every rank the same mode). */
void comm_tree_set_reduce(comm_tree_t *t, comm_reduce_t mode);

/* Starts a reduction of m leaves into result[n] on communicator c; sets t->leaf_lo/leaf_hi. */
void comm_tree_begin(comm_tree_t *t, const comm_t *c, int m, float *result);
/* The buffer leaf i (this rank's next leaf, or the one after it) is to be written into. */
float *comm_tree_leaf(comm_tree_t *t, int i);
/* Adds leaf i (the next in order) into the tree. */
void comm_tree_add(comm_tree_t *t, int i);
/* Completes the tree: the sum of all m leaves is in result on every rank of c. */
void comm_tree_finish(comm_tree_t *t);

#endif
