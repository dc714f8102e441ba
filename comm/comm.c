/* comm.c - MPI wrappers, rank groups and messages (see comm.h; the tree reduction is comm_tree.c).
 *
 * A comm_t names its communicator by its Fortran handle (MPI_Comm_c2f), so that comm.h needs no
 * mpi.h; comm_mpi() (comm_internal.h) turns it back. The world's comm_t has is_group = 0. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "comm.h"

#include "comm_internal.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

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

MPI_Comm comm_mpi(const comm_t *c) {
    return c->is_group ? MPI_Comm_f2c(c->handle) : MPI_COMM_WORLD;
}

static void abort_hook(int code) {
    MPI_Abort(MPI_COMM_WORLD, code);
}

/* This process's rank among the world's processes that share its node (memory). */
static int node_rank(int world_rank) {
    MPI_Comm node;
    int r = 0;
    MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world_rank, MPI_INFO_NULL,
                                  &node));
    MPI_CHECK(MPI_Comm_rank(node, &r));
    MPI_CHECK(MPI_Comm_free(&node));
    return r;
}

/* A process started without a launcher (no mpirun, srun or PMIx server around it) is an MPI
 * singleton: MPI_Init starts its own Open MPI daemon, which inherits this environment. Where the
 * munge package is installed but its daemon does not answer, PMIx's munge security component
 * retries its socket for about 2.3 s before falling back; both ends of a singleton are this
 * process and its child, so the plain native component is chosen for them unless the user chose.
 * Under a launcher the launcher's choice stands. */
static void singleton_security(void) {
    static const char *const launched[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                           "PMI_FD"};
    for (size_t i = 0; i < sizeof launched / sizeof launched[0]; i++)
        if (getenv(launched[i])) return;
    setenv("PMIX_MCA_psec", "native", 0);
}

void comm_init(int *argc, char ***argv, comm_t *c) {
    singleton_security();
    MPI_CHECK(MPI_Init(argc, argv));
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &c->rank));
    MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &c->size));
    c->world_rank = c->rank;
    c->is_group = 0;
    c->handle = 0;
    c->local_rank = node_rank(c->rank);
    c->transport = NULL;
    micl_set_rank(c->rank, c->size);
    micl_set_abort_hook(abort_hook);
}

int comm_local_rank(const comm_t *c) {
    return c->local_rank;
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

void comm_sum_i64(const comm_t *c, int64_t *v, int n) {
    if (c->size == 1) return;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_INT64_T, MPI_SUM, comm_mpi(c)));
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
                             comm_mpi(c)));
}

void comm_bcast_f32(const comm_t *c, float *v, size_t n) {
    if (c->size == 1) return;
    size_t chunk = (size_t)1 << 28;
    for (size_t off = 0; off < n; off += chunk) {
        size_t len = n - off < chunk ? n - off : chunk;
        MPI_CHECK(MPI_Bcast(v + off, (int)len, MPI_FLOAT, 0, comm_mpi(c)));
    }
}

double comm_max_f64(const comm_t *c, double v) {
    if (c->size == 1) return v;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, comm_mpi(c)));
    return v;
}

double comm_wtime(void) {
    return MPI_Wtime();
}

/* n as the int count of one MPI call; more is fatal. */
static int mpi_count(size_t n, const char *unit) {
    if (n > (size_t)INT_MAX)
        micl_fatal("%zu %s exceed one MPI call (at most %d)", n, unit, INT_MAX);
    return (int)n;
}

void comm_allreduce_sum_f32(const comm_t *c, float *v, size_t n) {
    MPI_CHECK(
        MPI_Allreduce(MPI_IN_PLACE, v, mpi_count(n, "floats"), MPI_FLOAT, MPI_SUM, comm_mpi(c)));
}

void comm_reduce_scatter_sum_f32(const comm_t *c, float *v, size_t per) {
    MPI_CHECK(MPI_Reduce_scatter_block(MPI_IN_PLACE, v, mpi_count(per, "floats"), MPI_FLOAT,
                                       MPI_SUM, comm_mpi(c)));
}

void comm_barrier(const comm_t *c) {
    if (c->size > 1) MPI_CHECK(MPI_Barrier(comm_mpi(c)));
}

int comm_any(const comm_t *c, int flag) {
    if (c->size == 1) return flag;
    int v = flag ? 1 : 0;
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_MAX, comm_mpi(c)));
    return v;
}

/* ---- groups and messages ------------------------------------------------------------------ */

void comm_split(const comm_t *parent, int color, comm_t *group) {
    MPI_Comm g;
    MPI_CHECK(MPI_Comm_split(comm_mpi(parent), color, parent->rank, &g));
    MPI_CHECK(MPI_Comm_set_errhandler(g, MPI_ERRORS_RETURN));
    MPI_CHECK(MPI_Comm_rank(g, &group->rank));
    MPI_CHECK(MPI_Comm_size(g, &group->size));
    group->world_rank = parent->world_rank;
    group->is_group = 1;
    group->handle = (int)MPI_Comm_c2f(g);
    group->local_rank = parent->local_rank;
    group->transport = NULL;
}

void comm_group_free(comm_t *group) {
    if (!group->is_group) return;
    comm_device_close(group);
    MPI_Comm g = MPI_Comm_f2c(group->handle);
    MPI_CHECK(MPI_Comm_free(&g));
    group->is_group = 0;
}

void comm_send(const comm_t *c, int dest, int tag, const void *buf, size_t n) {
    MPI_CHECK(MPI_Send(buf, mpi_count(n, "bytes"), MPI_BYTE, dest, tag, comm_mpi(c)));
}

int comm_poll(const comm_t *c, int src, int tag, comm_msg_t *msg) {
    int flag = 0;
    MPI_Status s;
    MPI_CHECK(MPI_Iprobe(src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, comm_mpi(c),
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
    MPI_CHECK(MPI_Recv(buf, mpi_count(msg->size, "bytes"), MPI_BYTE, msg->src, msg->tag,
                       comm_mpi(c), MPI_STATUS_IGNORE));
}

void comm_bcast_i64(const comm_t *c, int64_t *v, int n) {
    if (c->size == 1) return;
    MPI_CHECK(MPI_Bcast(v, n, MPI_INT64_T, 0, comm_mpi(c)));
}
