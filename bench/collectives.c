/* collectives.c - collectives timed for `micl bench comm` (see collectives.h): MPI's, and the
 * fixed tree's two host paths (through rank 0, and as a reduce-scatter plus all-gather). */
#include "collectives.h"

#include <stdlib.h>
#include <string.h>

#include "comm/comm_tree.h"
#include "common/error.h"

static const char *NAMES[COLLECTIVES_N_OPS] = {"allreduce", "reduce_scatter", "broadcast",
                                               "tree_reduce", "tree_scatter"};

const char *collectives_op_name(collectives_op_t op) {
    return op >= 0 && op < COLLECTIVES_N_OPS ? NAMES[op] : "?";
}

double collectives_bus_factor(collectives_op_t op, int size) {
    double n = (double)size;
    if (op == COLLECTIVES_BCAST) return 1.0;
    if (op == COLLECTIVES_REDUCE_SCATTER) return (n - 1.0) / n;
    return 2.0 * (n - 1.0) / n;
}

size_t collectives_count(collectives_op_t op, size_t n, int size) {
    if (op != COLLECTIVES_REDUCE_SCATTER) return n;
    size_t per = n / (size_t)size;
    return (per > 0 ? per : 1) * (size_t)size;
}

typedef struct {
    const float *src;
    size_t n;
} leaf_ctx_t;

/* The tree benchmarks: one leaf per rank. The trainer's backward pass writes its gradient
 * straight into the leaf buffer, so the timed calls charge no copy into it: this rank's
 * contribution is copied in by the untimed first call (fill), and later calls sum what the
 * leaf buffers hold then: small non-negative integers, or their growing sums where a leaf is
 * the result (rank 0 of the rank-0 tree), up to infinity - an addition costs the same. */
static void tree_reduce(const comm_t *c, comm_tree_t *tree, const leaf_ctx_t *leaf, float *buf,
                        int fill) {
    comm_tree_begin(tree, c, c->size, buf);
    for (int i = tree->leaf_lo; i < tree->leaf_hi; i++) {
        if (fill) memcpy(comm_tree_leaf(tree, i), leaf->src, leaf->n * sizeof(float));
        comm_tree_add(tree, i);
    }
    comm_tree_finish(tree);
}

static void run_op(const comm_t *c, collectives_op_t op, size_t n, float *buf, comm_tree_t *tree,
                   leaf_ctx_t *leaf, int first) {
    switch (op) {
    case COLLECTIVES_ALLREDUCE:
        comm_allreduce_sum_f32(c, buf, n);
        break;
    case COLLECTIVES_REDUCE_SCATTER: /* this rank's block of the result lands at buf */
        comm_reduce_scatter_sum_f32(c, buf, n / (size_t)c->size);
        break;
    case COLLECTIVES_BCAST:
        comm_bcast_f32(c, buf, n);
        break;
    case COLLECTIVES_TREE:
    case COLLECTIVES_TREE_SCATTER:
        tree_reduce(c, tree, leaf, buf, first);
        break;
    default:
        micl_fatal("bench comm: unknown collective %d", (int)op);
        break;
    }
}

double collectives_time(const comm_t *c, collectives_op_t op, size_t n, int iters, float *buf) {
    n = collectives_count(op, n, c->size);
    comm_tree_t tree;
    memset(&tree, 0, sizeof tree);
    float *src = NULL;
    leaf_ctx_t leaf = {NULL, n};
    int is_tree = op == COLLECTIVES_TREE || op == COLLECTIVES_TREE_SCATTER;
    if (is_tree) {
        comm_tree_init(&tree, n, c->size);
        comm_tree_set_reduce(&tree,
                             op == COLLECTIVES_TREE ? COMM_REDUCE_TREE_RANK0 : COMM_REDUCE_TREE);
        src = micl_alloc_aligned(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            src[i] = (float)((i + (size_t)c->rank) % 7);
        leaf.src = src;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = 0.0f; /* sums of zeros stay finite whatever the iteration count */
    run_op(c, op, n, buf, &tree, &leaf, 1);
    comm_barrier(c);
    double t0 = comm_wtime();
    for (int i = 0; i < iters; i++)
        run_op(c, op, n, buf, &tree, &leaf, 0);
    double worst = comm_max_f64(c, (comm_wtime() - t0) / iters);
    if (is_tree) {
        comm_tree_free(&tree);
        free(src);
    }
    return worst;
}
