/* comm_tree.c - the fixed-order tree reduction as a plan of leaves, and its rank-0 MPI messages
 * (see comm_tree.h).
 *
 * This rank's leaves arrive in index order. Each becomes a node on a stack of finished nodes;
 * while the two top nodes are the two children of one tree node they are summed (left +=
 * right) into that node. A node that is maximal inside this rank's block (its parent is not)
 * is finished for this rank; on the host path with two ranks or more (COMM_REDUCE_TREE) its
 * slices go to their owners at once and comm_tree_scatter.c completes the upper levels.
 *
 * The rank-0 path (COMM_REDUCE_TREE_RANK0, and every tree on a device backend): a rank other
 * than 0 sends each maximal node to rank 0 as soon as it is finished. Rank 0 keeps its own maximal
 * nodes and, at the end, walks the tree from the root: its own nodes from the stack, the others'
 * received (the remote right children of the walk's left spine had their receives posted
 * before rank 0 computed its leaves), every node summed left += right, and each piece of the
 * top sum broadcast as soon as it is final. The nodes and additions are those of the recursive
 * definition whatever the rank count, hence the same bits.
 *
 * On a device backend without a transport the same messages are staged: each MPI call works on
 * the host copy of its vector (comm_tree_host_of), filled by kern_copy_to_host before a send and
 * copied back by kern_copy_from_host after a receive, piece by piece where the pieces are added
 * as they arrive. With a transport, comm_tree_add keeps a rank's maximal nodes for
 * comm_tree_transport.c; in the all-reduce mode the leaves go to comm_tree_allreduce.c. */
#include "comm_tree.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "comm_tree_internal.h"
#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

/* ---- the shape of the tree ---------------------------------------------------------------- */

int comm_tree_split(int lo, int hi) {
    return lo + (hi - lo) / 2;
}

/* 1 if [lo, hi) is a node of the tree on [0, m); its parent in *plo, *phi (the root: -1). */
static int tree_node(int m, int lo, int hi, int *plo, int *phi) {
    int a = 0, b = m;
    *plo = *phi = -1;
    while (a != lo || b != hi) {
        if (b - a < 2) return 0;
        int mid = comm_tree_split(a, b);
        *plo = a, *phi = b;
        if (hi <= mid)
            b = mid;
        else if (lo >= mid)
            a = mid;
        else
            return 0;
    }
    return 1;
}

/* 1 if nodes l and r are the left and right children of one node. */
static int siblings(int m, const comm_tree_node_t *l, const comm_tree_node_t *r) {
    int plo, phi;
    return l->hi == r->lo && tree_node(m, l->lo, l->hi, &plo, &phi) && plo == l->lo && phi == r->hi;
}

/* Block r is [floor(m r / size), floor(m (r + 1) / size)), so leaf i lies in block r exactly
 * when m r < (i + 1) size <= m (r + 1): r = ceil((i + 1) size / m) - 1 (never an empty block). */
int comm_tree_owner(int leaf, int m, int size) {
    int64_t r = ((int64_t)(leaf + 1) * size + m - 1) / m - 1;
    return r < 0 ? 0 : r >= size ? size - 1 : (int)r;
}

/* ---- vectors ------------------------------------------------------------------------------ */

static size_t piece_len(size_t n) {
    return (n + COMM_TREE_PIECES - 1) / COMM_TREE_PIECES;
}

/* Offset and length of piece i of an n-float vector. */
static void piece(size_t n, int i, size_t *off, int *len) {
    size_t c = piece_len(n), a = c * (size_t)i, b = a + c;
    a = a < n ? a : n;
    b = b < n ? b : n;
    *off = a;
    *len = (int)(b - a);
}

/* Vectors a tree may hold at once: two leaves being computed, the stack (a node per level),
 * the kept maximal nodes (two per level) or rank 0's received nodes. */
static int pool_cap(const comm_tree_t *t) {
    return 4 * t->depth + 4;
}

/* A free vector; the pool grows during the first steps and is reused afterwards. */
float *comm_tree_take(comm_tree_t *t) {
    if (t->n_free > 0) return t->free_bufs[--t->n_free];
    if (t->n_pool >= pool_cap(t))
        micl_fatal("tree reduction: more vectors in flight than its plan allows");
    float *b = kern_alloc(t->n * sizeof(float));
    t->pool[t->n_pool++] = b;
    return b;
}

void comm_tree_give(comm_tree_t *t, float *b) {
    if (b != t->result) t->free_bufs[t->n_free++] = b;
}

/* A staged message's host vector: one per pool vector and one for the result, each allocated
 * the first time it carries a message (during the first steps) and reused afterwards. */
float *comm_tree_host_of(comm_tree_t *t, const float *buf) {
    float **slot = NULL;
    if (buf == t->result)
        slot = &t->host_result;
    else
        for (int i = 0; i < t->n_pool && !slot; i++)
            if (t->pool[i] == buf) slot = &t->host_pool[i];
    if (!slot) micl_fatal("tree reduction: a vector that is neither a pool vector nor the result");
    if (!*slot) *slot = micl_malloc(t->n * sizeof(float));
    return *slot;
}

void comm_tree_init(comm_tree_t *t, size_t n, int max_leaves) {
    if (piece_len(n) > (size_t)INT_MAX)
        micl_fatal("tree reduction of %zu floats: its messages exceed an MPI count", n);
    memset(t, 0, sizeof *t);
    t->n = n;
    t->max_leaves = max_leaves > 0 ? max_leaves : 1;
    t->depth = 1;
    while ((1 << (t->depth - 1)) < t->max_leaves)
        t->depth++;
    if (t->depth > COMM_TREE_MAX_DEPTH) micl_fatal("tree reduction of %d leaves", max_leaves);
    int cap = pool_cap(t);
    t->pool = micl_calloc((size_t)cap, sizeof(float *));
    t->host_pool = micl_calloc((size_t)cap, sizeof(float *));
    t->free_bufs = micl_calloc((size_t)cap, sizeof(float *));
    t->stack = micl_calloc((size_t)t->depth + 2, sizeof(comm_tree_node_t));
    t->pending = micl_calloc((size_t)t->depth + 1, sizeof(comm_tree_node_t));
    /* a block's maximal nodes: at most two per level below the root */
    t->held = micl_calloc(2 * (size_t)t->depth, sizeof(comm_tree_node_t));
}

void comm_tree_set_reduce(comm_tree_t *t, comm_reduce_t mode) {
    if (mode != COMM_REDUCE_TREE && mode != COMM_REDUCE_ALLREDUCE && mode != COMM_REDUCE_TREE_RANK0)
        micl_fatal("tree reduction: unknown reduction mode %d", (int)mode);
    t->reduce = mode;
}

void comm_tree_free(comm_tree_t *t) {
    for (int i = 0; i < t->n_pool; i++) {
        kern_free(t->pool[i]);
        free(t->host_pool[i]);
    }
    free(t->pool);
    free(t->host_pool);
    free(t->host_result);
    free(t->free_bufs);
    free(t->stack);
    free(t->pending);
    free(t->held);
    comm_tree_scatter_free(t);
    memset(t, 0, sizeof *t);
}

/* ---- messages ----------------------------------------------------------------------------- */

/* Where MPI reads or writes vector buf: buf itself, or its host copy when staged. */
static float *mpi_buf(comm_tree_t *t, float *buf) {
    return t->path == COMM_TREE_STAGED ? comm_tree_host_of(t, buf) : buf;
}

static void post_recv(comm_tree_t *t, comm_tree_node_t *node) {
    int src = comm_tree_owner(node->lo, t->m, t->comm->size);
    float *dst = mpi_buf(t, node->buf);
    for (int i = 0; i < COMM_TREE_PIECES; i++) {
        size_t off;
        int len;
        piece(t->n, i, &off, &len);
        MPI_CHECK(
            MPI_Irecv(dst + off, len, MPI_FLOAT, src, node->lo, comm_mpi(t->comm), &node->req[i]));
    }
}

/* Piece i of a received node is in its vector (staged: copied in from the host). */
static void wait_piece(comm_tree_t *t, comm_tree_node_t *node, int i) {
    MPI_CHECK(MPI_Wait(&node->req[i], MPI_STATUS_IGNORE));
    if (t->path != COMM_TREE_STAGED) return;
    size_t off;
    int len;
    piece(t->n, i, &off, &len);
    kern_copy_from_host(node->buf + off, comm_tree_host_of(t, node->buf) + off,
                        (size_t)len * sizeof(float));
}

/* The whole of a received node is in its vector. */
static void wait_node(comm_tree_t *t, comm_tree_node_t *node) {
    MPI_CHECK(MPI_Waitall(COMM_TREE_PIECES, node->req, MPI_STATUSES_IGNORE));
    if (t->path == COMM_TREE_STAGED)
        kern_copy_from_host(node->buf, comm_tree_host_of(t, node->buf), t->n * sizeof(float));
}

static void send_node(comm_tree_t *t, const comm_tree_node_t *node) {
    float *src = mpi_buf(t, node->buf);
    if (t->path == COMM_TREE_STAGED) kern_copy_to_host(src, node->buf, t->n * sizeof(float));
    MPI_Request req[COMM_TREE_PIECES];
    for (int i = 0; i < COMM_TREE_PIECES; i++) {
        size_t off;
        int len;
        piece(t->n, i, &off, &len);
        MPI_CHECK(MPI_Isend(src + off, len, MPI_FLOAT, 0, node->lo, comm_mpi(t->comm), &req[i]));
    }
    MPI_CHECK(MPI_Waitall(COMM_TREE_PIECES, req, MPI_STATUSES_IGNORE));
}

/* Piece i of the sum from rank 0 to every rank (rank 0: the piece is final). */
static void post_bcast(comm_tree_t *t, int i, MPI_Request *req) {
    size_t off;
    int len;
    piece(t->n, i, &off, &len);
    float *buf = mpi_buf(t, t->result);
    if (t->path == COMM_TREE_STAGED && t->comm->rank == 0)
        kern_copy_to_host(buf + off, t->result + off, (size_t)len * sizeof(float));
    MPI_CHECK(MPI_Ibcast(buf + off, len, MPI_FLOAT, 0, comm_mpi(t->comm), req));
}

/* The broadcast pieces have arrived (staged: copied in from the host). */
static void bcast_done(comm_tree_t *t, MPI_Request *bcast) {
    MPI_CHECK(MPI_Waitall(COMM_TREE_PIECES, bcast, MPI_STATUSES_IGNORE));
    if (t->path == COMM_TREE_STAGED && t->comm->rank != 0)
        kern_copy_from_host(t->result, comm_tree_host_of(t, t->result), t->n * sizeof(float));
}

/* The whole sum from rank 0 to every rank, when the top node is not split between ranks. */
static void bcast_whole(comm_tree_t *t) {
    if (t->path != COMM_TREE_STAGED) {
        comm_bcast_f32(t->comm, t->result, t->n);
        return;
    }
    float *host = comm_tree_host_of(t, t->result);
    if (t->comm->rank == 0) kern_copy_to_host(host, t->result, t->n * sizeof(float));
    comm_bcast_f32(t->comm, host, t->n);
    if (t->comm->rank != 0) kern_copy_from_host(t->result, host, t->n * sizeof(float));
}

/* ---- the plan ----------------------------------------------------------------------------- */

/* Rank 0, before its leaves: the receives of the remote right children along the left spine. */
static void post_spine(comm_tree_t *t) {
    int lo = 0, hi = t->m, size = t->comm->size;
    while (comm_tree_owner(lo, t->m, size) != comm_tree_owner(hi - 1, t->m, size)) {
        int mid = comm_tree_split(lo, hi), r = comm_tree_owner(mid, t->m, size);
        if (r == comm_tree_owner(hi - 1, t->m, size) && r != 0) {
            comm_tree_node_t *node = &t->pending[t->n_pending++];
            node->lo = mid, node->hi = hi, node->buf = comm_tree_take(t);
            post_recv(t, node);
        }
        hi = mid;
    }
}

void comm_tree_begin(comm_tree_t *t, const comm_t *c, int m, float *result) {
    if (m < 1 || m > (1 << (t->depth - 1)))
        micl_fatal("tree reduction of %d leaves, sized for 1 to %d", m, 1 << (t->depth - 1));
    t->comm = c;
    t->m = m;
    t->result = result;
    t->path = !kern_backend()->host_memory ? (c->transport ? COMM_TREE_TRANSPORT : COMM_TREE_STAGED)
              : c->size > 1 && t->reduce == COMM_REDUCE_TREE && comm_tree_scatter_fits(t->n)
                  ? COMM_TREE_SCATTER
                  : COMM_TREE_HOST;
    t->n_stack = t->n_pending = t->n_held = 0;
    t->n_free = 0;
    for (int i = 0; i < t->n_pool; i++)
        t->free_bufs[t->n_free++] = t->pool[i];
    comm_block(m, c->rank, c->size, &t->leaf_lo, &t->leaf_hi);
    t->next = t->leaf_lo;
    t->out[0] = t->out[1] = NULL;
    if (t->reduce == COMM_REDUCE_ALLREDUCE || c->size == 1) return;
    if (t->path == COMM_TREE_SCATTER)
        comm_tree_scatter_begin(t);
    else if (c->rank == 0 && t->path != COMM_TREE_TRANSPORT)
        post_spine(t);
}

float *comm_tree_leaf(comm_tree_t *t, int i) {
    int k = i - t->next;
    if (k < 0 || k > 1 || i >= t->leaf_hi)
        micl_fatal("tree reduction: leaf %d is not one of the next two of this rank", i);
    /* the result holds the first leaf: leaf 0 in the tree (not on the scatter path), each
     * rank's first in the all-reduce */
    int first = t->reduce == COMM_REDUCE_ALLREDUCE ? i == t->leaf_lo
                : t->path == COMM_TREE_SCATTER     ? 0 /* the result receives the all-gather */
                                                   : i == 0;
    if (!t->out[k]) t->out[k] = first ? t->result : comm_tree_take(t);
    return t->out[k];
}

void comm_tree_add(comm_tree_t *t, int i) {
    if (i != t->next) micl_fatal("tree reduction: leaf %d added out of order", i);
    float *buf = comm_tree_leaf(t, i);
    t->out[0] = t->out[1], t->out[1] = NULL;
    t->next++;
    if (t->reduce == COMM_REDUCE_ALLREDUCE) {
        comm_tree_allreduce_add(t, buf);
        return;
    }
    comm_tree_node_t *top = &t->stack[t->n_stack++];
    top->lo = i, top->hi = i + 1, top->buf = buf;
    while (t->n_stack >= 2 && siblings(t->m, &t->stack[t->n_stack - 2], top)) {
        comm_tree_node_t *left = &t->stack[t->n_stack - 2];
        kern_add_inplace(left->buf, top->buf, (int64_t)t->n);
        comm_tree_give(t, top->buf);
        left->hi = top->hi;
        top = left;
        t->n_stack--;
    }
    /* rank 0 keeps its nodes for the walk of finish, but on the scatter path */
    if (t->comm->rank == 0 && t->path != COMM_TREE_SCATTER) return;
    int plo, phi;
    tree_node(t->m, top->lo, top->hi, &plo, &phi);
    if (plo < 0 || plo < t->leaf_lo || phi > t->leaf_hi) { /* maximal inside this block */
        if (t->path == COMM_TREE_TRANSPORT || t->path == COMM_TREE_SCATTER) {
            /* transport: sent after the last leaf; scatter: its slices sent now, and kept */
            if (t->n_held >= 2 * t->depth) micl_fatal("tree reduction: too many nodes to send");
            t->held[t->n_held++] = *top;
            if (t->path == COMM_TREE_SCATTER) comm_tree_scatter_send(t, top);
        } else {
            send_node(t, top);
            comm_tree_give(t, top->buf);
        }
        t->n_stack--;
    }
}

/* Rank 0's node [lo, hi) of its own maximal nodes. */
float *comm_tree_own_node(comm_tree_t *t, int lo, int hi) {
    for (int k = 0; k < t->n_stack; k++)
        if (t->stack[k].lo == lo && t->stack[k].hi == hi) return t->stack[k].buf;
    micl_fatal("tree reduction: node [%d, %d) of rank 0 was never computed", lo, hi);
}

static comm_tree_node_t *pending_node(comm_tree_t *t, int lo, int hi) {
    for (int k = 0; k < t->n_pending; k++)
        if (t->pending[k].lo == lo && t->pending[k].hi == hi) return &t->pending[k];
    return NULL;
}

/* Rank 0: the vector holding node [lo, hi), from its own nodes and received ones. At the top
 * (bcast set) each piece of the sum is broadcast as soon as it is final. */
static float *root_sum(comm_tree_t *t, int lo, int hi, MPI_Request *bcast) {
    int size = t->comm->size, r_lo = comm_tree_owner(lo, t->m, size),
        r_hi = comm_tree_owner(hi - 1, t->m, size);
    if (r_lo == r_hi) {
        if (r_lo == 0) return comm_tree_own_node(t, lo, hi);
        comm_tree_node_t node = {.lo = lo, .hi = hi, .buf = comm_tree_take(t)};
        post_recv(t, &node);
        wait_node(t, &node);
        return node.buf;
    }
    int mid = comm_tree_split(lo, hi), r_mid = comm_tree_owner(mid, t->m, size);
    comm_tree_node_t *right = pending_node(t, mid, hi), posted;
    if (!right && r_mid == r_hi && r_mid != 0) { /* a remote right child: receive meanwhile */
        posted = (comm_tree_node_t){.lo = mid, .hi = hi, .buf = comm_tree_take(t)};
        post_recv(t, &posted);
        right = &posted;
    }
    float *l = root_sum(t, lo, mid, NULL);
    float *r = right ? right->buf : root_sum(t, mid, hi, NULL);
    if (bcast && l != t->result) { /* rank 0 has no leaf: the left sum was received */
        kern_copy(t->result, l, t->n * sizeof(float));
        comm_tree_give(t, l);
        l = t->result;
    }
    if (!right && !bcast) {
        kern_add_inplace(l, r, (int64_t)t->n);
    } else {
        for (int i = 0; i < COMM_TREE_PIECES; i++) {
            size_t off;
            int len;
            piece(t->n, i, &off, &len);
            if (right) wait_piece(t, right, i);
            kern_add_inplace(l + off, r + off, len);
            if (bcast) post_bcast(t, i, &bcast[i]);
        }
    }
    comm_tree_give(t, r);
    return l;
}

void comm_tree_finish(comm_tree_t *t) {
    if (t->next != t->leaf_hi)
        micl_fatal("tree reduction: %d leaves missing", t->leaf_hi - t->next);
    if (t->reduce == COMM_REDUCE_ALLREDUCE) {
        comm_tree_allreduce_finish(t);
        return;
    }
    const comm_t *c = t->comm;
    if (c->size == 1) {
        if (t->n_stack != 1 || t->stack[0].buf != t->result)
            micl_fatal("tree reduction: the leaves did not sum to one node");
        return;
    }
    if (t->path == COMM_TREE_TRANSPORT) {
        comm_tree_transport_finish(t);
        return;
    }
    if (t->path == COMM_TREE_SCATTER) {
        comm_tree_scatter_finish(t);
        return;
    }
    /* pieces of the broadcast as the top sum finishes them, when the top node is split */
    int split = comm_tree_owner(0, t->m, c->size) != comm_tree_owner(t->m - 1, t->m, c->size);
    MPI_Request bcast[COMM_TREE_PIECES];
    if (c->rank == 0) {
        float *top = root_sum(t, 0, t->m, split ? bcast : NULL);
        if (top != t->result) kern_copy(t->result, top, t->n * sizeof(float));
    } else if (split) {
        for (int i = 0; i < COMM_TREE_PIECES; i++)
            post_bcast(t, i, &bcast[i]);
    }
    if (split)
        bcast_done(t, bcast);
    else
        bcast_whole(t);
}
