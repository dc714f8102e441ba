/* comm.h - MPI for micl: init, checked calls, rank groups, messages, exact sums, the
 * collectives the speed benchmarks compare, and the device transport of a communicator (NCCL on
 * the CUDA backend, opened over MPI). The deterministic gradient reduction over a fixed tree is
 * comm_tree.h. A comm_t carries no MPI type, so that only comm/ includes mpi.h.
 */
#ifndef MICL_COMM_H
#define MICL_COMM_H

#include <stddef.h>
#include <stdint.h>

/* A communicator: the world, or a group of it (comm_split). Every collective below runs on
 * the communicator it is given; rank 0 of a group is its leader. */
typedef struct {
    int rank, size;
    int world_rank;  /* this process's rank in the world */
    int is_group;    /* 0: MPI_COMM_WORLD; 1: a communicator made by comm_split */
    int handle;      /* the group's communicator (MPI_Comm_c2f) */
    int local_rank;  /* this process's rank among the world's processes on its node */
    void *transport; /* the backend's device transport for this communicator, or NULL */
} comm_t;

void comm_init(int *argc, char ***argv, comm_t *c);
void comm_finalize(void);
/* This process's rank among the processes of the world on the same node (MPI_COMM_TYPE_SHARED,
 * ordered by world rank; computed once by comm_init, inherited by groups). A device backend
 * uses device local_rank modulo the node's devices. */
int comm_local_rank(const comm_t *c);

/* The device transport of c (kernels/backend.h: kern_transport_t), for reductions that move
 * device buffers without the host. Where the backend's buffers are device memory, its transport
 * has every entry and c has more than one rank: rank 0 makes the id, MPI broadcasts it over c
 * and every rank opens the transport (c->transport); otherwise nothing happens and comm_tree
 * stages its messages through host memory. Collective over c. Returns 0, or -1 with a message
 * in err on every rank when the id or the open failed on any rank (the ranks agree before they
 * return; then no rank holds a transport). */
int comm_device_open(comm_t *c, char *err, size_t errlen);
/* Closes c's transport (collective where the transport's close is); nothing if none is open. */
void comm_device_close(comm_t *c);
void comm_abort(int code);

/* Checked MPI call: reports file:line and rank on failure. */
#define MPI_CHECK(call) comm_check((call), #call, __FILE__, __LINE__)
void comm_check(int rc, const char *what, const char *file, int line);

/* Micro-batches [*lo, *hi) owned by `rank` of `size` when a step has m of them. */
void comm_block(int m, int rank, int size, int *lo, int *hi);

/* Exact integer and double sums (doubles gathered and summed in rank order). */
void comm_sum_i64(const comm_t *c, int64_t *v, int n);
/* Gathers one double per micro-batch (rank blocks) and returns them on every rank in index order.
 */
void comm_allgather_blocks_f64(const comm_t *c, int m, const double *mine, double *all, int per);
void comm_bcast_f32(const comm_t *c, float *v, size_t n);
/* The largest of every rank's v, on every rank. */
double comm_max_f64(const comm_t *c, double v);
/* Seconds on a clock shared by the ranks' timings (MPI_Wtime). */
double comm_wtime(void);

/* Collectives that the speed benchmarks compare with the fixed tree. Their summation order
 * depends on the rank count and MPI's algorithm: training never uses them. */
/* v[n] = the sum over the ranks of v[n], in place. */
void comm_allreduce_sum_f32(const comm_t *c, float *v, size_t n);
/* Block r (of `per` floats) of the sum over the ranks of v[per x size] lands in v[0, per) on
 * rank r, in place. */
void comm_reduce_scatter_sum_f32(const comm_t *c, float *v, size_t per);
void comm_barrier(const comm_t *c);
int comm_any(const comm_t *c, int flag); /* 1 if any rank's flag is set */

/* Splits `parent` into groups of equal color, ranked as in the parent (MPI_Comm_split);
 * collective over the parent. Free with comm_group_free (which closes a transport the group
 * opened). A group starts with no device transport: comm_device_open opens one for it. */
void comm_split(const comm_t *parent, int color, comm_t *group);
void comm_group_free(comm_t *group);

/* Point-to-point messages of bytes; comm_poll never blocks: it returns 1 and describes the
 * next message from src (-1: any) with tag (-1: any), which comm_recv then receives. */
typedef struct {
    int src, tag;
    size_t size;
} comm_msg_t;
void comm_send(const comm_t *c, int dest, int tag, const void *buf, size_t n);
int comm_poll(const comm_t *c, int src, int tag, comm_msg_t *msg);
void comm_recv(const comm_t *c, const comm_msg_t *msg, void *buf);
void comm_bcast_i64(const comm_t *c, int64_t *v, int n);

#endif
