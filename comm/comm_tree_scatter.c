/* comm_tree_scatter.c - the fixed tree's upper levels as a reduce-scatter, then an all-gather
 * (the host path of COMM_REDUCE_TREE for two ranks or more; see comm_tree.h).
 *
 * The vector is cut into one slice per rank: fixed, contiguous, boundaries rounded down to 16
 * floats (slice_bound), so a slice may be empty when the vector is shorter than 16 floats per
 * rank. Rank r owns slice r.
 *
 * The leaves of all ranks meet in the "frontier" of the tree: the nodes that lie inside one
 * rank's block and whose parent does not (every rank's maximal nodes; together they cover
 * [0, m)). Above them lie the upper levels, the nodes whose leaves span two blocks or more.
 *  - comm_tree_scatter_begin: rank r posts, for each frontier node of another rank, the receive
 *    of that node's slice r, left to right, and the receives of the sum's other slices.
 *  - comm_tree_scatter_send (comm_tree_add, as soon as one of this rank's maximal nodes is
 *    finished): slice s of the node goes to rank s for every s != r; the node is kept (its
 *    slice r is summed here, and its sends are in flight until the end).
 *  - comm_tree_scatter_finish: rank r walks the upper levels from the root, left child before
 *    right, on slice r only: a frontier node is its own (kept) or the received slice, every
 *    node above is left += right - the additions of the recursive definition, elementwise, so
 *    slice r of the sum has the bits the whole tree on one rank gives it. The slice goes into
 *    the result and from there straight to every other rank: an all-gather of point-to-point
 *    messages whose receives (into the result) were posted by comm_tree_begin, so a rank that
 *    finishes its slice early hands it on at once, with no collective's steps to wait for. The
 *    result holds no leaf on this path (leaf 0 takes a pool vector), so it is free for them.
 *
 * Traffic per rank: each of its maximal nodes minus its own slice, (P-1)/P of the vector, and
 * the all-gather, (P-1)/P again: 2(P-1)/P when each rank holds one maximal node (m = P, or m
 * and P powers of two, m >= P), (k+1)(P-1)/P when it holds k of them (an uneven block
 * spans several; every rank still receives one slice per frontier node, so the sum of slice r
 * costs rank r as many receives as the frontier has remote nodes). The rank-0 path instead
 * sends whole nodes to rank 0 and broadcasts the whole sum from there.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "comm_tree_internal.h"
#include "common/error.h"
#include "kernels/kernels.h"

/* The slices' layout and the messages of the step under way (one per tree, sized on first use
 * for a rank count and a frontier, reused by the later steps). */
struct comm_tree_scatter {
    int size;         /* the rank count the layout is for */
    size_t *bound;    /* slice s = [bound[s], bound[s + 1]) */
    int cap_recv;     /* frontier nodes the receive arrays hold */
    int n_recv, next; /* frontier nodes of other ranks this step; the walk's cursor over them */
    comm_tree_node_t *recv;
    size_t store_floats;
    float *store; /* their slices of this rank, one after the other */
    int cap_send, n_send;
    MPI_Request *send;
    MPI_Request *gather; /* the all-gather: [0, size) receives, [size, 2 size) sends */
};

/* Slice s of n floats for `size` ranks: boundaries n * s / size rounded down to 16 floats, the
 * last one n. */
static size_t slice_bound(size_t n, int s, int size) {
    if (s >= size) return n;
    size_t b = (size_t)((unsigned long long)n * (unsigned)s / (unsigned)size);
    return b & ~(size_t)15;
}

int comm_tree_scatter_fits(size_t n) {
    return n <= (size_t)INT_MAX;
}

/* m: no node of the step starts there. A node of the next step may (when it has more leaves),
 * but a rank sends it only after its all-gather messages of this step, and MPI matches the
 * messages of one sender in their order, so this step's receive takes this step's message. */
int comm_tree_gather_tag(const comm_tree_t *t) {
    return t->m;
}

static struct comm_tree_scatter *scatter_of(comm_tree_t *t) {
    if (!t->scatter) t->scatter = micl_calloc(1, sizeof *t->scatter);
    struct comm_tree_scatter *s = t->scatter;
    int size = t->comm->size;
    if (s->size != size) { /* first step, or another communicator: lay the slices out */
        free(s->bound), free(s->send), free(s->gather);
        s->size = size;
        s->bound = micl_malloc(((size_t)size + 1) * sizeof(size_t));
        for (int r = 0; r <= size; r++)
            s->bound[r] = slice_bound(t->n, r, size);
        s->gather = micl_malloc(2 * (size_t)size * sizeof(MPI_Request));
        /* at most 2 maximal nodes per level in one block, each sent to every other rank */
        s->cap_send = 2 * t->depth * size;
        s->send = micl_malloc((size_t)s->cap_send * sizeof(MPI_Request));
    }
    return s;
}

void comm_tree_scatter_free(comm_tree_t *t) {
    struct comm_tree_scatter *s = t->scatter;
    if (!s) return;
    free(s->bound), free(s->send), free(s->gather);
    free(s->recv), free(s->store);
    free(s);
    t->scatter = NULL;
}

/* ---- begin: the receives of this rank's slice of every remote frontier node -------------- */

/* Frontier nodes under [lo, hi) of ranks other than this one, left to right: counted, or (post
 * set) their receives posted into the next slots. */
static void frontier(comm_tree_t *t, struct comm_tree_scatter *s, int lo, int hi, int post) {
    int size = t->comm->size, r_lo = comm_tree_owner(lo, t->m, size);
    if (r_lo != comm_tree_owner(hi - 1, t->m, size)) {
        int mid = comm_tree_split(lo, hi);
        frontier(t, s, lo, mid, post);
        frontier(t, s, mid, hi, post);
        return;
    }
    if (r_lo == t->comm->rank) return;
    int me = t->comm->rank;
    size_t off = s->bound[me], len = s->bound[me + 1] - off;
    if (post) {
        comm_tree_node_t *node = &s->recv[s->n_recv];
        node->lo = lo, node->hi = hi, node->buf = s->store + (size_t)s->n_recv * len;
        node->req[0] = MPI_REQUEST_NULL;
        if (len > 0)
            MPI_CHECK(MPI_Irecv(node->buf, (int)len, MPI_FLOAT, r_lo, lo, comm_mpi(t->comm),
                                &node->req[0]));
    }
    s->n_recv++;
}

void comm_tree_scatter_begin(comm_tree_t *t) {
    struct comm_tree_scatter *s = scatter_of(t);
    s->n_recv = 0;
    frontier(t, s, 0, t->m, 0);
    int nodes = s->n_recv, me = t->comm->rank;
    size_t floats = (size_t)nodes * (s->bound[me + 1] - s->bound[me]);
    if (nodes > s->cap_recv) { /* grows during the first steps only */
        s->recv = micl_realloc(s->recv, (size_t)nodes * sizeof(comm_tree_node_t));
        s->cap_recv = nodes;
    }
    if (floats > s->store_floats) {
        free(s->store);
        s->store = micl_malloc(floats * sizeof(float));
        s->store_floats = floats;
    }
    s->n_recv = s->n_send = s->next = 0;
    frontier(t, s, 0, t->m, 1);
    /* the all-gather's receives: every other rank's slice of the sum, straight into the result
     * (which holds no leaf on this path) */
    for (int r = 0; r < s->size; r++) {
        size_t off = s->bound[r], len = s->bound[r + 1] - off;
        s->gather[r] = MPI_REQUEST_NULL;
        if (r != me && len > 0)
            MPI_CHECK(MPI_Irecv(t->result + off, (int)len, MPI_FLOAT, r, comm_tree_gather_tag(t),
                                comm_mpi(t->comm), &s->gather[r]));
    }
}

/* ---- add: a finished maximal node's slices to their owners ------------------------------- */

void comm_tree_scatter_send(comm_tree_t *t, const comm_tree_node_t *node) {
    struct comm_tree_scatter *s = t->scatter;
    int me = t->comm->rank;
    for (int k = 1; k < s->size; k++) {
        int dst =
            (me + k) % s->size; /* the ranks after this one first: no rank is everyone's first */
        size_t off = s->bound[dst], len = s->bound[dst + 1] - off;
        if (len == 0) continue;
        if (s->n_send >= s->cap_send) micl_fatal("tree reduction: too many slices in flight");
        MPI_CHECK(MPI_Isend(node->buf + off, (int)len, MPI_FLOAT, dst, node->lo, comm_mpi(t->comm),
                            &s->send[s->n_send++]));
    }
}

/* ---- finish: this rank's slice of the upper levels, then the all-gather ------------------- */

/* This rank's slice of the sum (in the result) to every other rank, the ranks after it first. */
static void gather_send(comm_tree_t *t, struct comm_tree_scatter *s, size_t off, size_t len) {
    int me = t->comm->rank;
    MPI_Request *req = s->gather + s->size;
    req[0] = MPI_REQUEST_NULL; /* no message to itself */
    for (int k = 1; k < s->size; k++) {
        req[k] = MPI_REQUEST_NULL;
        if (len > 0)
            MPI_CHECK(MPI_Isend(t->result + off, (int)len, MPI_FLOAT, (me + k) % s->size,
                                comm_tree_gather_tag(t), comm_mpi(t->comm), &req[k]));
    }
}

/* This rank's own maximal node [lo, hi). */
static float *own_node(comm_tree_t *t, int lo, int hi) {
    for (int k = 0; k < t->n_held; k++)
        if (t->held[k].lo == lo && t->held[k].hi == hi) return t->held[k].buf;
    micl_fatal("tree reduction: node [%d, %d) of this rank was never computed", lo, hi);
}

/* Slice [off, off + len) of node [lo, hi): a frontier node as it is, an upper node summed. */
static float *walk(comm_tree_t *t, struct comm_tree_scatter *s, int lo, int hi, size_t off,
                   size_t len) {
    int size = t->comm->size, r_lo = comm_tree_owner(lo, t->m, size);
    if (r_lo == comm_tree_owner(hi - 1, t->m, size)) {
        if (r_lo == t->comm->rank) return own_node(t, lo, hi) + off;
        comm_tree_node_t *node = &s->recv[s->next++];
        if (node->lo != lo || node->hi != hi)
            micl_fatal("tree reduction: node [%d, %d) received out of order", lo, hi);
        MPI_CHECK(MPI_Wait(&node->req[0], MPI_STATUS_IGNORE));
        return node->buf;
    }
    int mid = comm_tree_split(lo, hi);
    float *l = walk(t, s, lo, mid, off, len);
    float *r = walk(t, s, mid, hi, off, len);
    kern_add_inplace(l, r, (int64_t)len);
    return l;
}

/* dst = l + r, elementwise: the bits of kern_add_inplace(l, r) (one rounded addition each),
 * written where the sum goes instead of into l and copied there. */
static void add_into(float *restrict dst, const float *restrict l, const float *restrict r,
                     size_t n) {
    for (size_t i = 0; i < n; i++)
        dst[i] = l[i] + r[i];
}

/* Slice [off, off + len) of the root, summed straight into the result. */
static void walk_root(comm_tree_t *t, struct comm_tree_scatter *s, size_t off, size_t len) {
    int size = t->comm->size;
    if (comm_tree_owner(0, t->m, size) == comm_tree_owner(t->m - 1, t->m, size)) {
        memcpy(t->result + off, walk(t, s, 0, t->m, off, len), len * sizeof(float));
        return; /* one rank holds every leaf: the root is a frontier node */
    }
    int mid = comm_tree_split(0, t->m);
    const float *l = walk(t, s, 0, mid, off, len);
    const float *r = walk(t, s, mid, t->m, off, len);
    add_into(t->result + off, l, r, len);
}

void comm_tree_scatter_finish(comm_tree_t *t) {
    struct comm_tree_scatter *s = t->scatter;
    int me = t->comm->rank;
    size_t off = s->bound[me], len = s->bound[me + 1] - off;
    if (len > 0) {
        walk_root(t, s, off, len);
    } else { /* an empty slice: nothing to sum, the (empty) receives complete at once */
        for (int k = 0; k < s->n_recv; k++)
            MPI_CHECK(MPI_Wait(&s->recv[k].req[0], MPI_STATUS_IGNORE));
    }
    gather_send(t, s, off, len);
    MPI_CHECK(MPI_Waitall(2 * s->size, s->gather, MPI_STATUSES_IGNORE));
    /* the kept nodes go back to the pool once their slices have left */
    MPI_CHECK(MPI_Waitall(s->n_send, s->send, MPI_STATUSES_IGNORE));
    for (int k = 0; k < t->n_held; k++)
        comm_tree_give(t, t->held[k].buf);
    t->n_held = s->n_send = 0;
}
