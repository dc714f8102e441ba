/* comm.c - MPI wrappers, rank groups, messages and the fixed-order tree reduction (see comm.h).
 *
 * A comm_t names its communicator by its Fortran handle (MPI_Comm_c2f), so that comm.h needs no
 * mpi.h; mpi_comm() turns it back. The world's comm_t has is_group = 0. */
#include "comm.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>
#include <string.h>

#include "../common/error.h"

void comm_check(int rc, const char *what, const char *file, int line) {
    if (rc == MPI_SUCCESS) return;
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    micl_fatal_at(file, line, "%s failed: %s", what, msg);
}

/* The counts and displacements arrays of comm_allgather_blocks_f64, allocated on the first call
 * (it runs once per training step, which must not allocate) and freed by comm_finalize. */
static int *g_counts, *g_displs, g_layout_size;

static MPI_Comm mpi_comm(const comm_t *c) {
    return c->is_group ? MPI_Comm_f2c(c->handle) : MPI_COMM_WORLD;
}

static void abort_hook(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
}

void comm_init(int *argc, char ***argv, comm_t *c) {
    MPI_CHECK(MPI_Init(argc, argv));
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &c->rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &c->size));
    c->world_rank = c->rank;
    c->is_group = 0;
    c->handle = 0;
    micl_set_rank(c->rank, c->size);
    micl_set_abort_hook(abort_hook);
}

void comm_finalize(void) {
    free(g_counts), free(g_displs);
    g_counts = g_displs = NULL;
    g_layout_size = 0;
    MPI_Finalize();
}

void comm_abort(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
}

void comm_block(int m, int rank, int size, int *lo, int *hi) {
    *lo = (int)((int64_t)m * rank / size);
    *hi = (int)((int64_t)m * (rank + 1) / size);
}

/* Messages of the tree travel in TREE_CHUNKS pieces, so that rank 0 adds (and broadcasts) one
 * piece while the next is still on its way; the sums are elementwise, so the pieces change no
 * bit. comm_tree_init checks that a piece fits an MPI count. */
enum { TREE_CHUNKS = 8 };
enum { PIECE_SEND, PIECE_RECV, PIECE_BCAST };

static size_t tree_piece_len(size_t n) {
    return (n + TREE_CHUNKS - 1) / TREE_CHUNKS;
}

void comm_tree_init(comm_tree_t *t, size_t n, int max_leaves) {
    if (tree_piece_len(n) > (size_t)INT_MAX)
        micl_fatal("tree reduction of %zu floats: its messages exceed an MPI count", n);
    t->n = n;
    t->depth = 1;
    while ((1 << (t->depth - 1)) < max_leaves)
        t->depth++;
    t->scratch = micl_calloc((size_t)t->depth + 1, sizeof(float *));
    for (int i = 0; i <= t->depth; i++)
        t->scratch[i] = micl_alloc_aligned(n * sizeof(float));
}

void comm_tree_free(comm_tree_t *t) {
    for (int i = 0; i <= t->depth; i++)
        free(t->scratch[i]);
    free(t->scratch);
    memset(t, 0, sizeof *t);
}

void comm_tree_pair_leaves(comm_tree_t *t, int on) {
    t->pair_leaves = on;
}

static void add_into(float *restrict a, const float *restrict b, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

static int owner_of(int leaf, int m, int size) {
    for (int r = 0; r < size; r++) {
        int lo, hi;
        comm_block(m, r, size, &lo, &hi);
        if (leaf >= lo && leaf < hi) return r;
    }
    return size - 1;
}

/* Leaves lo -> out and lo + 1 -> tmp at the same time, each on half of the threads (the
 * kernels give the same bits for any thread count). Nested teams need a second active level;
 * with 2 threads the kernels inside run on their calling thread. */
static void leaf_pair(int lo, float *out, float *tmp, comm_leaf_fn leaf, void *ctx) {
    int threads = omp_get_max_threads(), inner = threads / 2;
    if (inner > 1 && omp_get_max_active_levels() < 2) omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
    {
        int s = omp_get_thread_num();
        omp_set_num_threads(s == 0 ? inner : threads - inner);
        leaf(lo + s, s == 0 ? out : tmp, ctx);
    }
}

/* Sum of leaves [lo, hi) computed locally into out, using scratch[level+1..]. */
static void local_node(comm_tree_t *t, int lo, int hi, int level, float *out, comm_leaf_fn leaf,
                       void *ctx) {
    if (hi - lo == 1) {
        leaf(lo, out, ctx);
        return;
    }
    int mid = lo + (hi - lo) / 2;
    float *tmp = t->scratch[level + 1];
    if (hi - lo == 2 && t->pair_leaves && omp_get_max_threads() >= 2) {
        leaf_pair(lo, out, tmp, leaf, ctx);
    } else {
        local_node(t, lo, mid, level + 1, out, leaf, ctx);
        local_node(t, mid, hi, level + 1, tmp, leaf, ctx);
    }
    add_into(out, tmp, t->n);
}

/* Offset and length of piece i of an n-float vector. */
static void tree_piece(size_t n, int i, size_t *off, int *len) {
    size_t c = tree_piece_len(n), a = c * (size_t)i, b = a + c;
    a = a < n ? a : n;
    b = b < n ? b : n;
    *off = a;
    *len = (int)(b - a);
}

/* Posts piece i of buf: sent to rank 0, received from rank peer (tag: the node's first leaf),
 * or broadcast from rank 0. */
static void post_piece(const comm_tree_t *t, const comm_t *c, int op, int i, int peer, int tag,
                       float *buf, MPI_Request *req) {
    size_t off;
    int len;
    tree_piece(t->n, i, &off, &len);
    if (op == PIECE_SEND)
        MPI_CHECK(MPI_Isend(buf + off, len, MPI_FLOAT, 0, tag, mpi_comm(c), req));
    else if (op == PIECE_RECV)
        MPI_CHECK(MPI_Irecv(buf + off, len, MPI_FLOAT, peer, tag, mpi_comm(c), req));
    else
        MPI_CHECK(MPI_Ibcast(buf + off, len, MPI_FLOAT, 0, mpi_comm(c), req));
}

/* Every piece of buf, then waits for them all (wait) or leaves req to the caller. */
static void post_pieces(const comm_tree_t *t, const comm_t *c, int op, int peer, int tag,
                        float *buf, MPI_Request *req, int wait) {
    for (int i = 0; i < TREE_CHUNKS; i++)
        post_piece(t, c, op, i, peer, tag, buf, &req[i]);
    if (wait) MPI_CHECK(MPI_Waitall(TREE_CHUNKS, req, MPI_STATUSES_IGNORE));
}

/* Non-root ranks: send every maximal node inside my block [a, b), left to right. */
static void send_nodes(comm_tree_t *t, const comm_t *c, int lo, int hi, int a, int b, int level,
                       comm_leaf_fn leaf, void *ctx) {
    if (hi <= a || lo >= b) return;
    if (lo >= a && hi <= b) {
        float *buf = t->scratch[level];
        local_node(t, lo, hi, level, buf, leaf, ctx);
        MPI_Request req[TREE_CHUNKS];
        post_pieces(t, c, PIECE_SEND, 0, lo, buf, req, 1);
        return;
    }
    int mid = lo + (hi - lo) / 2;
    send_nodes(t, c, lo, mid, a, b, level + 1, leaf, ctx);
    send_nodes(t, c, mid, hi, a, b, level + 1, leaf, ctx);
}

/* Rank 0: node [lo, hi) into out, from local work or received partial sums. A right child
 * computed by one other rank has its pieces' receives posted before the left child is
 * computed, and is added piece by piece as they arrive. At the top (bcast) each finished
 * piece of the sum is broadcast at once (the other ranks post the same broadcasts in
 * comm_tree_reduce). */
static void root_node(comm_tree_t *t, const comm_t *c, int m, int lo, int hi, int level, float *out,
                      comm_leaf_fn leaf, void *ctx, MPI_Request *bcast) {
    int r_lo = owner_of(lo, m, c->size), r_hi = owner_of(hi - 1, m, c->size);
    if (r_lo == r_hi) {
        if (r_lo == 0) {
            local_node(t, lo, hi, level, out, leaf, ctx);
        } else {
            MPI_Request req[TREE_CHUNKS];
            post_pieces(t, c, PIECE_RECV, r_lo, lo, out, req, 1);
        }
        return;
    }
    int mid = lo + (hi - lo) / 2, r_mid = owner_of(mid, m, c->size);
    float *tmp = t->scratch[level + 1];
    int remote = r_mid == r_hi && r_mid != 0;
    MPI_Request req[TREE_CHUNKS];
    if (remote) post_pieces(t, c, PIECE_RECV, r_mid, mid, tmp, req, 0);
    root_node(t, c, m, lo, mid, level + 1, out, leaf, ctx, NULL);
    if (!remote) root_node(t, c, m, mid, hi, level + 1, tmp, leaf, ctx, NULL);
    if (!remote && !bcast) {
        add_into(out, tmp, t->n);
        return;
    }
    for (int i = 0; i < TREE_CHUNKS; i++) {
        size_t off;
        int len;
        tree_piece(t->n, i, &off, &len);
        if (remote) MPI_CHECK(MPI_Wait(&req[i], MPI_STATUS_IGNORE));
        add_into(out + off, tmp + off, (size_t)len);
        if (bcast) post_piece(t, c, PIECE_BCAST, i, 0, 0, out, &bcast[i]);
    }
}

void comm_tree_reduce(comm_tree_t *t, const comm_t *c, int m, comm_leaf_fn leaf, void *ctx,
                      float *result) {
    if (m > (1 << (t->depth - 1))) micl_fatal("tree reduction sized for fewer micro-batches");
    if (c->size == 1) {
        local_node(t, 0, m, 0, result, leaf, ctx);
        return;
    }
    /* pieces of the broadcast as the top sum finishes them, when the top node is split */
    int piecewise = m > 0 && owner_of(0, m, c->size) != owner_of(m - 1, m, c->size);
    MPI_Request bcast[TREE_CHUNKS];
    if (c->rank == 0) {
        root_node(t, c, m, 0, m, 0, result, leaf, ctx, piecewise ? bcast : NULL);
    } else {
        int a, b;
        comm_block(m, c->rank, c->size, &a, &b);
        send_nodes(t, c, 0, m, a, b, 0, leaf, ctx);
        if (piecewise) post_pieces(t, c, PIECE_BCAST, 0, 0, result, bcast, 0);
    }
    if (piecewise)
        MPI_CHECK(MPI_Waitall(TREE_CHUNKS, bcast, MPI_STATUSES_IGNORE));
    else
        comm_bcast_f32(c, result, t->n);
}

void comm_sum_i64(const comm_t *c, int64_t *v, int n) {
    if (c->size == 1) return;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_SUM, mpi_comm(c)));
}

static void block_layout(int size, int **counts, int **displs) {
    if (g_layout_size != size) {
        free(g_counts), free(g_displs);
        g_counts = micl_malloc((size_t)size * sizeof(int));
        g_displs = micl_malloc((size_t)size * sizeof(int));
        g_layout_size = size;
    }
    *counts = g_counts;
    *displs = g_displs;
}

void comm_allgather_blocks_f64(const comm_t *c, int m, const double *mine, double *all, int per) {
    int lo, hi;
    comm_block(m, c->rank, c->size, &lo, &hi);
    if (c->size == 1) {
        memcpy(all, mine, (size_t)m * per * sizeof(double));
        return;
    }
    int *counts, *displs;
    block_layout(c->size, &counts, &displs);
    for (int r = 0; r < c->size; r++) {
        int a, b;
        comm_block(m, r, c->size, &a, &b);
        counts[r] = (b - a) * per;
        displs[r] = a * per;
    }
    MPI_CHECK(MPI_Allgatherv(mine, (hi - lo) * per, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE,
                             mpi_comm(c)));
}

void comm_bcast_f32(const comm_t *c, float *v, size_t n) {
    if (c->size == 1) return;
    size_t chunk = (size_t)1 << 28;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        MPI_CHECK(MPI_Bcast(v + off, (int)len, MPI_FLOAT, 0, mpi_comm(c)));
    }
}

void comm_barrier(const comm_t *c) {
    if (c->size > 1) MPI_CHECK(MPI_Barrier(mpi_comm(c)));
}

int comm_any(const comm_t *c, int flag) {
    if (c->size == 1) return flag;
    int v = flag ? 1 : 0;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, mpi_comm(c)));
    return v;
}

/* ---- groups and messages ------------------------------------------------------------------ */

void comm_split(const comm_t *parent, int color, comm_t *group) {
    MPI_Comm g;
    MPI_CHECK(MPI_Comm_split(mpi_comm(parent), color, parent->rank, &g));
    MPI_CHECK(MPI_Comm_set_errhandler(g, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(g, &group->rank));
    MPI_CHECK(MPI_Comm_size(g, &group->size));
    group->world_rank = parent->world_rank;
    group->is_group = 1;
    group->handle = (int)MPI_Comm_c2f(g);
}

void comm_group_free(comm_t *group) {
    if (!group->is_group) return;
    MPI_Comm g = MPI_Comm_f2c(group->handle);
    MPI_CHECK(MPI_Comm_free(&g));
    group->is_group = 0;
}

static int byte_count(size_t n) {
    if (n > (size_t)0x7fffffff) micl_fatal("message of %zu bytes is too large (at most 2 GiB)", n);
    return (int)n;
}

void comm_send(const comm_t *c, int dest, int tag, const void *buf, size_t n) {
    MPI_CHECK(MPI_Send(buf, byte_count(n), MPI_BYTE, dest, tag, mpi_comm(c)));
}

int comm_poll(const comm_t *c, int src, int tag, comm_msg_t *msg) {
    int flag = 0;
    MPI_Status s;
    MPI_CHECK(MPI_Iprobe(src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, mpi_comm(c),
                         &flag, &s));
    if (!flag) return 0;
    int n = 0;
    MPI_CHECK(MPI_Get_count(&s, MPI_BYTE, &n));
    msg->src = s.MPI_SOURCE;
    msg->tag = s.MPI_TAG;
    msg->size = (size_t)n;
    return 1;
}

void comm_recv(const comm_t *c, const comm_msg_t *msg, void *buf) {
    MPI_CHECK(MPI_Recv(buf, byte_count(msg->size), MPI_BYTE, msg->src, msg->tag, mpi_comm(c),
                       MPI_STATUS_IGNORE));
}

void comm_bcast_i64(const comm_t *c, int64_t *v, int n) {
    if (c->size == 1) return;
    MPI_CHECK(MPI_Bcast(v, n, MPI_INT64_T, 0, mpi_comm(c)));
}
