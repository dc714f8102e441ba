/* comm_tree_internal.h - what the files of the tree reduction share (comm_tree.c: the plan and
 * its rank-0 MPI messages; comm_tree_scatter.c: the reduce-scatter and all-gather of the host
 * path; comm_tree_transport.c: the messages over a device transport; comm_tree_allreduce.c: the
 * all-reduce mode). Nothing outside comm/ includes it. */
#ifndef MICL_COMM_TREE_INTERNAL_H
#define MICL_COMM_TREE_INTERNAL_H

#include "comm_internal.h"
#include "comm_tree.h"

/* How the messages of a step travel (comm_tree_t.path), chosen by comm_tree_begin. */
enum {
    COMM_TREE_HOST = 0,  /* host buffers (the CPU backend): MPI on the vectors, via rank 0 */
    COMM_TREE_SCATTER,   /* host buffers, two ranks or more: reduce-scatter, then all-gather */
    COMM_TREE_STAGED,    /* device buffers, no transport: MPI on host copies of the vectors */
    COMM_TREE_TRANSPORT, /* device buffers over the communicator's device transport */
};

struct comm_tree_node {
    int lo, hi;
    float *buf;
    MPI_Request req[COMM_TREE_PIECES]; /* pending: the receives of its pieces */
};

/* The tree's shape: the split of node [lo, hi), and the rank whose block holds leaf i. */
int comm_tree_split(int lo, int hi);
int comm_tree_owner(int leaf, int m, int size);
/* A free vector of the pool, and one given back (the result is never given back). */
float *comm_tree_take(comm_tree_t *t);
void comm_tree_give(comm_tree_t *t, float *b);
/* The host copy of vector buf (a pool vector or the result) for staged messages. */
float *comm_tree_host_of(comm_tree_t *t, const float *buf);
/* Rank 0: its own finished node [lo, hi). */
float *comm_tree_own_node(comm_tree_t *t, int lo, int hi);

/* The scatter path (comm_tree_scatter.c): 1 if a vector of n floats can take it; the receives
 * (from comm_tree_begin), the slices of a finished maximal node of this rank (from
 * comm_tree_add; the node is kept in t->held until the end), the end of comm_tree_finish, and
 * its arrays freed (comm_tree_free). */
int comm_tree_scatter_fits(size_t n);
/* The tag of the scatter path's all-gather: above every node's tag (its first leaf). */
int comm_tree_gather_tag(const comm_tree_t *t);
void comm_tree_scatter_begin(comm_tree_t *t);
void comm_tree_scatter_send(comm_tree_t *t, const comm_tree_node_t *node);
void comm_tree_scatter_finish(comm_tree_t *t);
void comm_tree_scatter_free(comm_tree_t *t);

/* Over the device transport: the end of comm_tree_finish. */
void comm_tree_transport_finish(comm_tree_t *t);
/* The all-reduce mode: leaf i's buffer sums into the result; the end of comm_tree_finish. */
void comm_tree_allreduce_add(comm_tree_t *t, float *buf);
void comm_tree_allreduce_finish(comm_tree_t *t);

#endif
