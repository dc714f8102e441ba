/* comm_tree_allreduce.c - the all-reduce mode of the gradient reduction (COMM_REDUCE_ALLREDUCE;
 * see comm_tree.h): fast, and not the same bits for different rank counts.
 *
 * Each rank sums its own leaves in index order into the result (its first leaf is the result
 * buffer, every later one is added to it: ((l0 + l1) + l2) + ...), then one all-reduce adds the
 * ranks' sums in the order the library picks: the device transport's (ncclAllReduce) where the
 * communicator has one, else MPI_Allreduce on host memory (on a device backend through a host
 * copy of the result). A rank without leaves contributes zeros.
 */

#include "comm_tree_internal.h"
#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

void comm_tree_allreduce_add(comm_tree_t *t, float *buf) {
    if (buf == t->result) return; /* this rank's first leaf */
    kern_add_inplace(t->result, buf, (int64_t)t->n);
    comm_tree_give(t, buf);
}

/* v[n] (host memory) = the sum over the ranks of c, in MPI calls of at most 2^28 floats. */
static void allreduce_host(const comm_t *c, float *v, size_t n) {
    size_t chunk = (size_t)1 << 28;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v + off, (int)len, MPI_FLOAT, MPI_SUM, comm_mpi(c)));
    }
}

void comm_tree_allreduce_finish(comm_tree_t *t) {
    const comm_t *c = t->comm;
    size_t bytes = t->n * sizeof(float);
    if (t->leaf_lo == t->leaf_hi) kern_zero(t->result, bytes);
    if (c->size == 1) return;
    if (t->path == COMM_TREE_HOST) {
        allreduce_host(c, t->result, t->n);
    } else if (t->path == COMM_TREE_TRANSPORT) {
        kern_backend()->transport.allreduce_sum(c->transport, t->result, t->n);
    } else {
        float *host = comm_tree_host_of(t, t->result);
        kern_copy_to_host(host, t->result, bytes);
        allreduce_host(c, host, t->n);
        kern_copy_from_host(t->result, host, bytes);
    }
}
