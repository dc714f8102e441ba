/* test_comm_device.c - the gradient reduction and the device transport's bootstrap on device
 * buffers, run on the CPU under 1 to 4 ranks.
 *
 * A pseudo-device backend stands in for a GPU: the CPU table with host_memory = 0 whose buffers
 * keep every float with its mantissa bits scrambled (XOR SCRAMBLE), so that the host reading a
 * buffer, or MPI moving one, without kern_copy_to_host / kern_copy_from_host gives wrong bits.
 * Its transport is MPI point to point in this file, with NCCL's pairing: a send is synchronous
 * (MPI_Ssend: it returns once its peer receives), messages carry no tag and match in the order
 * they are issued, and a node received out of a sender's order shows as wrong bits (or a hang,
 * which the test's timeout turns into a failure).
 *
 * Checked, for M = 1..12 micro-batches, a vector sent in pieces (N floats) and one shorter than
 * the pieces (5), leaves handed in one and two at a time, three steps on one tree:
 *  - TREE mode over the transport, and staged through host memory (no transport), give the bits
 *    of a plain recursive sum over the tree, as the CPU backend does;
 *  - ALLREDUCE mode gives the sum within a relative tolerance, the same bits on every rank and
 *    in every step, the bits of the CPU backend when staged, and on one rank the bits of a sum
 *    in index order;
 *  - the device buffers the reduction allocates stop growing after the first step;
 *  - comm_device_open: every rank fails when rank 0 cannot make the id or when any one rank
 *    cannot open (and no rank keeps a transport), nothing is opened without a transport, on the
 *    CPU backend or on one rank, and comm_group_free closes a group's transport;
 *  - the tree's messages go through the transport when it is open, and only then;
 *  - comm_local_rank is the world rank (the ranks of a test share one node).
 */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_tree.h"
#include "common/error.h"
#include "common/rng.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"

#include "tree_reference.h"

enum { N = 1000, REPS = 3 };
static const uint32_t SCRAMBLE = 0x005a5a5au; /* mantissa bits only: finite stays finite */

/* ---- the pseudo-device backend -------------------------------------------------------------- */

static long g_live_buffers, g_allocs; /* buffers allocated and not freed; allocations in all */

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static float load(const void *buf, size_t i) {
    uint32_t u;
    memcpy(&u, (const char *)buf + 4 * i, 4);
    return float_of(u ^ SCRAMBLE);
}

static void store(void *buf, size_t i, float f) {
    uint32_t u = bits_of(f) ^ SCRAMBLE;
    memcpy((char *)buf + 4 * i, &u, 4);
}

static void *dev_alloc(size_t bytes) {
    g_live_buffers++, g_allocs++;
    return micl_malloc(bytes);
}

static void dev_free(void *buf) {
    if (buf) g_live_buffers--;
    free(buf);
}

static void dev_zero(void *buf, size_t bytes) {
    for (size_t i = 0; i < bytes / 4; i++)
        store(buf, i, 0.0f);
}

static void dev_copy(void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
}

static void dev_copy_from_host(void *dst, const void *host_src, size_t bytes) {
    const float *h = host_src;
    for (size_t i = 0; i < bytes / 4; i++)
        store(dst, i, h[i]);
}

static void dev_copy_to_host(void *host_dst, const void *src, size_t bytes) {
    float *h = host_dst;
    for (size_t i = 0; i < bytes / 4; i++)
        h[i] = load(src, i);
}

static void dev_add_inplace(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        store(y, (size_t)i, load(y, (size_t)i) + load(x, (size_t)i));
}

/* ---- its transport: MPI point to point with NCCL's pairing ---------------------------------- */

static MPI_Comm g_tcomm;                          /* the transport's own messages (a world dup) */
static int g_fail_make_id, g_fail_open_rank = -1; /* failures on purpose */
static int g_open;                                /* transports open in this process */
static long g_messages;                           /* sends and receives through the transport */
static const char ID[24] = "pseudo transport id";

typedef struct {
    int rank, size;
} pseudo_t;

static int pt_make_id(void *id, char *err, size_t errlen) {
    if (g_fail_make_id) {
        snprintf(err, errlen, "no id on purpose");
        return -1;
    }
    memcpy(id, ID, sizeof ID);
    return 0;
}

static void *pt_open(const void *id, int rank, int size, char *err, size_t errlen) {
    int world = 0;
    MPI_Comm_size(g_tcomm, &world);
    if (memcmp(id, ID, sizeof ID) != 0 || size != world) {
        snprintf(err, errlen, "a wrong id or group size");
        return NULL;
    }
    if (rank == g_fail_open_rank) {
        snprintf(err, errlen, "refused on purpose");
        return NULL;
    }
    pseudo_t *p = micl_malloc(sizeof *p);
    p->rank = rank, p->size = size;
    g_open++;
    return p;
}

static void pt_close(void *t) {
    g_open--;
    free(t);
}

static void pt_send(void *t, const float *buf, size_t n, int peer) {
    (void)t;
    g_messages++;
    MPI_Ssend(buf, (int)(n * 4), MPI_BYTE, peer, 0, g_tcomm);
}

static void pt_recv(void *t, float *buf, size_t n, int peer) {
    (void)t;
    MPI_Status st;
    int got = -1;
    g_messages++;
    MPI_Recv(buf, (int)(n * 4), MPI_BYTE, peer, 0, g_tcomm, &st);
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got != (int)(n * 4)) micl_fatal("pseudo transport: %d bytes for %zu floats", got, n);
}

static void pt_allreduce_sum(void *t, float *buf, size_t n) {
    (void)t;
    float *h = micl_malloc(n * sizeof(float));
    dev_copy_to_host(h, buf, n * sizeof(float));
    MPI_Allreduce(MPI_IN_PLACE, h, (int)n, MPI_FLOAT, MPI_SUM, g_tcomm);
    dev_copy_from_host(buf, h, n * sizeof(float));
    free(h);
}

/* The pseudo-device backend, with the transport (with_transport) or without. */
static kern_backend_t pseudo_backend(int with_transport) {
    kern_backend_t b = *kern_backend_cpu();
    b.name = with_transport ? "pseudo-device" : "pseudo-device without transport";
    b.host_memory = 0;
    b.alloc = dev_alloc, b.free = dev_free, b.zero = dev_zero, b.copy = dev_copy;
    b.copy_from_host = dev_copy_from_host, b.copy_to_host = dev_copy_to_host;
    b.add_inplace = dev_add_inplace;
    memset(&b.transport, 0, sizeof b.transport);
    if (with_transport)
        b.transport = (kern_transport_t){sizeof ID, pt_make_id, pt_open,         pt_close,
                                         pt_send,   pt_recv,    pt_allreduce_sum};
    return b;
}

/* ---- the reductions ---------------------------------------------------------------------------
 */

/* Leaves in index order, ((l0 + l1) + l2) + ..., and the sum of their magnitudes. */
static void index_sum(int m, int n, float *out, double *mag) {
    float tmp[N];
    for (int k = 0; k < n; k++)
        out[k] = 0.0f, mag[k] = 0.0;
    for (int i = 0; i < m; i++) {
        tree_ref_leaf(i, tmp, n);
        for (int k = 0; k < n; k++) {
            out[k] = i == 0 ? tmp[k] : out[k] + tmp[k];
            mag[k] += fabs((double)tmp[k]);
        }
    }
}

/* REPS steps of the reduction on the current backend; out[rep] = each step's sum (host). The
 * leaves enter their buffers with kern_copy_from_host, `ahead` (1 or 2) taken before the first
 * is added. *grew: device buffers allocated after the first step. */
static void tree_sum(const comm_t *c, comm_reduce_t mode, int m, int n, int ahead,
                     float out[REPS][N], long *grew) {
    comm_tree_t t;
    comm_tree_init(&t, (size_t)n, m);
    comm_tree_set_reduce(&t, mode);
    float *result = kern_alloc((size_t)n * sizeof(float));
    float host[N];
    long after_first = 0;
    for (int rep = 0; rep < REPS; rep++) {
        comm_tree_begin(&t, c, m, result);
        for (int i = t.leaf_lo; i < t.leaf_hi;) {
            int k = ahead == 2 && i + 1 < t.leaf_hi ? 2 : 1;
            float *g[2];
            for (int j = 0; j < k; j++)
                g[j] = comm_tree_leaf(&t, i + j);
            for (int j = k - 1; j >= 0; j--) { /* computed in any order */
                tree_ref_leaf(i + j, host, n);
                kern_copy_from_host(g[j], host, (size_t)n * sizeof(float));
            }
            for (int j = 0; j < k; j++)
                comm_tree_add(&t, i + j);
            i += k;
        }
        comm_tree_finish(&t);
        kern_copy_to_host(out[rep], result, (size_t)n * sizeof(float));
        if (rep == 0) after_first = g_allocs;
    }
    *grew = g_allocs - after_first;
    kern_free(result);
    comm_tree_free(&t);
}

/* 1 if rank 0 holds the same n floats as this rank. */
static int same_on_every_rank(const comm_t *c, const float *v, int n) {
    float root[N];
    memcpy(root, v, (size_t)n * sizeof(float));
    comm_bcast_f32(c, root, (size_t)n);
    return !comm_any(c, memcmp(root, v, (size_t)n * sizeof(float)) != 0);
}

static int g_bad;

static void fail(const comm_t *c, const char *what, const char *backend, int mode, int n, int m,
                 int ahead) {
    fprintf(stderr, "rank %d: %s (backend %s, mode %s, N=%d M=%d ahead=%d)\n", c->rank, what,
            backend, mode == COMM_REDUCE_TREE ? "tree" : "allreduce", n, m, ahead);
    g_bad++;
}

/* Every case of TREE and ALLREDUCE on the backend in use; cpu_allreduce: the CPU backend's
 * ALLREDUCE sums of the cases, in order (filled when cpu is set, compared when staged). */
static void check_backend(comm_t *c, const char *name, int cpu, int staged, float *cpu_allreduce) {
    long messages = g_messages;
    static float got[REPS][N], solo[REPS][N], want[N], fold[N];
    static double mag[N];
    comm_t one = {.rank = 0, .size = 1};
    int sizes[2] = {N, 5}, idx = 0;
    for (int s = 0; s < 2; s++)
        for (int m = 1; m <= 12; m++)
            for (int ahead = 1; ahead <= 2; ahead++, idx++) {
                int n = sizes[s];
                size_t bytes = (size_t)n * sizeof(float);
                long grew = 0, grew_solo = 0;
                tree_ref_sum(0, m, n, want);
                index_sum(m, n, fold, mag);

                tree_sum(c, COMM_REDUCE_TREE, m, n, ahead, got, &grew);
                tree_sum(&one, COMM_REDUCE_TREE, m, n, ahead, solo, &grew_solo);
                for (int rep = 0; rep < REPS; rep++)
                    if (memcmp(got[rep], want, bytes) || memcmp(solo[rep], want, bytes))
                        fail(c, "tree: not the plain tree sum", name, 0, n, m, ahead);
                if (grew || grew_solo)
                    fail(c, "tree: allocates after the first step", name, 0, n, m, ahead);

                tree_sum(c, COMM_REDUCE_ALLREDUCE, m, n, ahead, got, &grew);
                tree_sum(&one, COMM_REDUCE_ALLREDUCE, m, n, ahead, solo, &grew_solo);
                for (int rep = 0; rep < REPS; rep++) {
                    if (memcmp(got[rep], got[0], bytes) || memcmp(solo[rep], fold, bytes))
                        fail(c, "allreduce: steps differ, or one rank is not the index-order sum",
                             name, 1, n, m, ahead);
                    for (int k = 0; k < n; k++)
                        if (!(fabs((double)got[rep][k] - (double)want[k]) <= 4e-6 * mag[k]))
                            fail(c, "allreduce: not the sum", name, 1, n, m, ahead), k = n;
                }
                if (!same_on_every_rank(c, got[0], n))
                    fail(c, "allreduce: ranks differ", name, 1, n, m, ahead);
                if (grew || grew_solo)
                    fail(c, "allreduce: allocates after the first step", name, 1, n, m, ahead);
                float *ref = cpu_allreduce + (size_t)idx * N;
                if (cpu) memcpy(ref, got[0], bytes);
                if (staged && memcmp(ref, got[0], bytes))
                    fail(c, "allreduce staged: not the CPU backend's bits", name, 1, n, m, ahead);
            }
    if ((g_messages != messages) != (c->transport != NULL && c->size > 1)) {
        fprintf(stderr, "rank %d: %s: %ld transport messages\n", c->rank, name,
                g_messages - messages);
        g_bad++;
    }
    if (g_live_buffers != 0) {
        fprintf(stderr, "rank %d: %s: %ld device buffers never freed\n", c->rank, name,
                g_live_buffers);
        g_bad++;
    }
}

/* ---- the bootstrap ----------------------------------------------------------------------------
 */

static void expect(const comm_t *c, int ok, const char *what) {
    if (ok) return;
    fprintf(stderr, "rank %d: comm_device_open: %s\n", c->rank, what);
    g_bad++;
}

/* comm_device_open on the backend in use with the failures set; want_rc on every rank. */
static void open_case(comm_t *c, int want_rc, int want_open, const char *what) {
    char err[256];
    int rc = comm_device_open(c, err, sizeof err);
    expect(c, rc == want_rc, what);
    expect(c, (c->transport != NULL) == want_open && g_open == want_open, what);
    expect(c, rc == 0 || err[0] != '\0', "a failure without a message");
    comm_device_close(c);
    expect(c, c->transport == NULL && g_open == 0, "close left a transport open");
}

static void check_open(comm_t *c, const kern_backend_t *with, const kern_backend_t *without) {
    int many = c->size > 1;
    kern_backend_set(kern_backend_cpu());
    open_case(c, 0, 0, "the CPU backend has no transport to open");
    kern_backend_set(without);
    open_case(c, 0, 0, "a backend without transport opens nothing");
    kern_backend_set(with);
    open_case(c, 0, many, "a plain open");
    g_fail_open_rank = c->size - 1;
    open_case(c, many ? -1 : 0, 0, "the last rank's open fails");
    g_fail_open_rank = 0;
    open_case(c, many ? -1 : 0, 0, "rank 0's open fails");
    g_fail_open_rank = -1;
    g_fail_make_id = 1;
    open_case(c, many ? -1 : 0, 0, "rank 0 makes no id");
    g_fail_make_id = 0;
    open_case(c, 0, many, "an open after failed ones");
    /* a group's transport closes with the group (the pseudo transport only counts here) */
    comm_t all;
    comm_split(c, 0, &all);
    char err[256];
    expect(c, comm_device_open(&all, err, sizeof err) == 0 && g_open == many, "a group's open");
    comm_group_free(&all);
    expect(c, g_open == 0, "comm_group_free left the group's transport open");
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    MPI_Comm_dup(MPI_COMM_WORLD, &g_tcomm);
    if (comm_local_rank(&c) != c.rank) {
        fprintf(stderr, "rank %d: local rank %d on one node\n", c.rank, comm_local_rank(&c));
        g_bad++;
    }
    kern_backend_t with = pseudo_backend(1), without = pseudo_backend(0);
    check_open(&c, &with, &without);

    float *cpu_allreduce = micl_calloc(2 * 12 * 2 * N, sizeof(float));
    kern_backend_set(kern_backend_cpu());
    check_backend(&c, "cpu", 1, 0, cpu_allreduce);
    kern_backend_set(&without);
    check_backend(&c, without.name, 0, 1, cpu_allreduce);
    kern_backend_set(&with);
    char err[256];
    if (comm_device_open(&c, err, sizeof err) != 0) micl_fatal("comm_device_open: %s", err);
    check_backend(&c, with.name, 0, 0, cpu_allreduce);
    comm_device_close(&c);
    kern_backend_set(kern_backend_cpu());
    free(cpu_allreduce);

    int any = comm_any(&c, g_bad != 0);
    if (c.rank == 0) printf("test_comm_device np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    MPI_Comm_free(&g_tcomm);
    comm_finalize();
    return any ? 1 : 0;
}
