/* comm_bench.c - collectives timed for `micl bench comm` (see comm_bench.h). */
#include "comm_bench.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"

static const char *NAMES[COMM_BENCH_N_OPS] = {"allreduce", "reduce_scatter", "broadcast",
                                              "tree_reduce"};

void comm_bench_world(comm_t *c) {
    memset(c, 0, sizeof *c); /* the world communicator, not a group */
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &c->rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &c->size));
    c->world_rank = c->rank;
}

const char *comm_bench_op_name(comm_bench_op_t op) {
    return op >= 0 && op < COMM_BENCH_N_OPS ? NAMES[op] : "?";
}

double comm_bench_bus_factor(comm_bench_op_t op, int size) {
    double n = (double)size;
    if (op == COMM_BENCH_BCAST) return 1.0;
    if (op == COMM_BENCH_REDUCE_SCATTER) return (n - 1.0) / n;
    return 2.0 * (n - 1.0) / n;
}

size_t comm_bench_count(comm_bench_op_t op, size_t n, int size) {
    if (op != COMM_BENCH_REDUCE_SCATTER) return n;
    size_t per = n / (size_t)size;
    return (per > 0 ? per : 1) * (size_t)size;
}

typedef struct {
    const float *src;
    size_t n;
} leaf_ctx_t;

/* The tree benchmark: one leaf per rank, this rank's contribution copied into its leaf buffer
 * (as the trainer's pass writes its micro-batch gradient there). */
static void tree_reduce(const comm_t *c, comm_tree_t *tree, const leaf_ctx_t *leaf, float *buf) {
    comm_tree_begin(tree, c, c->size, buf);
    for (int i = tree->leaf_lo; i < tree->leaf_hi; i++) {
        memcpy(comm_tree_leaf(tree, i), leaf->src, leaf->n * sizeof(float));
        comm_tree_add(tree, i);
    }
    comm_tree_finish(tree);
}

static int to_count(size_t n) {
    if (n > 0x7fffffff) micl_fatal("comm bench: %zu floats exceed one MPI call", n);
    return (int)n;
}

static void run_op(const comm_t *c, comm_bench_op_t op, size_t n, float *buf, comm_tree_t *tree,
                   leaf_ctx_t *leaf) {
    switch (op) {
    case COMM_BENCH_ALLREDUCE:
        MPI_CHECK(
            MPI_Allreduce(MPI_IN_PLACE, buf, to_count(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
        break;
    case COMM_BENCH_REDUCE_SCATTER: {
        size_t per = n / (size_t)c->size;
        /* in place: this rank's block of the result lands at the start of buf */
        MPI_CHECK(MPI_Reduce_scatter_block(MPI_IN_PLACE, buf, to_count(per), MPI_FLOAT, MPI_SUM,
                                           MPI_COMM_WORLD));
        break;
    }
    case COMM_BENCH_BCAST:
        MPI_CHECK(MPI_Bcast(buf, to_count(n), MPI_FLOAT, 0, MPI_COMM_WORLD));
        break;
    default:
        tree_reduce(c, tree, leaf, buf);
        break;
    }
}

double comm_bench_time(const comm_t *c, comm_bench_op_t op, size_t n, int iters, float *buf) {
    n = comm_bench_count(op, n, c->size);
    comm_tree_t tree;
    memset(&tree, 0, sizeof tree);
    float *src = NULL;
    leaf_ctx_t leaf = {NULL, n};
    if (op == COMM_BENCH_TREE) {
        comm_tree_init(&tree, n, c->size);
        src = micl_alloc_aligned(n * sizeof(float));
        for (size_t i = 0; i < n; i++)
            src[i] = (float)((i + (size_t)c->rank) % 7);
        leaf.src = src;
    }
    for (size_t i = 0; i < n; i++)
        buf[i] = 0.0f; /* sums of zeros stay finite whatever the iteration count */
    run_op(c, op, n, buf, &tree, &leaf);
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++)
        run_op(c, op, n, buf, &tree, &leaf);
    double dt = (MPI_Wtime() - t0) / iters, worst = dt;
    MPI_CHECK(MPI_Allreduce(&dt, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD));
    if (op == COMM_BENCH_TREE) {
        comm_tree_free(&tree);
        free(src);
    }
    return worst;
}
