/* comm_tree_transport.c - the tree's messages over the communicator's device transport (NCCL on
 * the CUDA backend; see comm_tree.h and kernels/backend.h).
 *
 * The transport's send and receive are blocking pairs matched in the order they are issued:
 * there are no tags, and a send completes only when its peer receives. So the messages go in an
 * order that every pair of ranks agrees on and that has no cycle:
 *  - a rank other than 0 keeps each maximal node of its block (comm_tree_add) and, after its
 *    last leaf, sends them to rank 0 left to right;
 *  - rank 0, after its own leaves, walks the tree depth first, left child before right: a node
 *    of one remote rank is received where the walk meets it, so rank 0 receives every rank's
 *    nodes left to right, as that rank sends them, and a sender waits for nothing but rank 0;
 *  - the sum leaves rank 0 over a binomial tree: rank r > 0 receives it from r minus its
 *    highest bit, then every rank sends it to r + 2^k for each 2^k > r (the farthest first).
 * The walk adds the nodes as the recursive definition does (left += right at every node whose
 * children lie in different blocks), so the bits are those of the MPI messages and of one rank.
 * Each call only enqueues work on the device; the host never waits here.
 */
#include "comm_tree_internal.h"
#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

static const kern_transport_t *transport(void) {
    return &kern_backend()->transport;
}

/* Rank 0: the vector holding node [lo, hi), its own nodes and received ones summed. */
static float *walk(comm_tree_t *t, int lo, int hi) {
    int size = t->comm->size;
    int r_lo = comm_tree_owner(lo, t->m, size), r_hi = comm_tree_owner(hi - 1, t->m, size);
    if (r_lo == r_hi) {
        if (r_lo == 0) return comm_tree_own_node(t, lo, hi);
        float *b = comm_tree_take(t);
        transport()->recv(t->comm->transport, b, t->n, r_lo);
        return b;
    }
    int mid = comm_tree_split(lo, hi);
    float *l = walk(t, lo, mid);
    float *r = walk(t, mid, hi);
    kern_add_inplace(l, r, (int64_t)t->n);
    comm_tree_give(t, r);
    return l;
}

/* The sum from rank 0 to every rank over a binomial tree. */
static void broadcast(comm_tree_t *t) {
    const comm_t *c = t->comm;
    int first = 1; /* this rank sends to rank + 2^k for 2^k >= first */
    if (c->rank > 0) {
        int high = 1;
        while (high <= c->rank / 2)
            high *= 2;
        transport()->recv(c->transport, t->result, t->n, c->rank - high);
        first = 2 * high;
    }
    int step = first;
    while (step < c->size - c->rank)
        step *= 2;
    for (step /= 2; step >= first; step /= 2)
        transport()->send(c->transport, t->result, t->n, c->rank + step);
}

void comm_tree_transport_finish(comm_tree_t *t) {
    const comm_t *c = t->comm;
    if (c->rank == 0) {
        float *top = walk(t, 0, t->m);
        if (top != t->result) { /* rank 0 has no leaf: the sum was received */
            kern_copy(t->result, top, t->n * sizeof(float));
            comm_tree_give(t, top);
        }
    } else {
        for (int k = 0; k < t->n_held; k++) {
            transport()->send(c->transport, t->held[k].buf, t->n, 0);
            comm_tree_give(t, t->held[k].buf);
        }
        t->n_held = 0;
    }
    broadcast(t);
}
