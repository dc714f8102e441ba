/* transport.cu - the CUDA backend's device transport on NCCL (kern_cuda_transport, the
 * kern_transport_t of kernels/backend.h): comm/ opens it for a communicator (comm_device_open)
 * and moves the gradient reduction's device buffers with it (comm/comm_tree_transport.c,
 * comm/comm_tree_allreduce.c).
 *
 * Bootstrap: rank 0 makes an ncclUniqueId (make_id), comm/ broadcasts it over MPI, and every
 * rank joins with ncclCommInitRank on the device the backend chose (cuda_state.device). NCCL
 * refuses two ranks on one GPU, so a group of N ranks needs N devices.
 *
 * Ordering: each transport has its own non-blocking stream. Before each operation an event
 * recorded on the compute stream (cuda_state.stream) makes the NCCL stream wait for the work
 * issued so far (the buffer's producers); after it, an event recorded on the NCCL stream makes
 * the compute stream wait for the operation. So a send, receive or all-reduce is "blocking" for
 * whatever the caller issues next, as kern_transport_t promises, without the host waiting: the
 * call returns once NCCL has enqueued it. A send completes on the device when its peer's
 * receive runs (calls are not grouped), so peers must issue matching calls in the same order.
 *
 * Errors: open and make_id report a failure in their message and return NULL / -1 (comm/
 * makes every rank agree); every later NCCL or CUDA call is checked and fatal, with the NCCL
 * rank, ncclGetErrorString and ncclGetLastError's words.
 */
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_internal.cuh"

typedef struct cuda_transport {
    ncclComm_t comm;
    cudaStream_t stream;     /* NCCL's operations run here */
    cudaEvent_t issued;      /* on the compute stream: the work before an operation */
    cudaEvent_t transferred; /* on the NCCL stream: the operation itself */
    int rank, size;
} cuda_transport_t;

/* A failed NCCL call: "call: error (NCCL's last error; rank r of n)", through the host's fatal. */
static void nccl_fail(const cuda_transport_t *tr, const char *what, ncclResult_t r,
                      const char *file, int line) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s (%s; NCCL rank %d of %d)", ncclGetErrorString(r),
             ncclGetLastError(tr->comm), tr->rank, tr->size);
    cuda_check_fail(what, msg, file, line);
}
#define NCCL_CHECK(tr, call)                                                                       \
    do {                                                                                           \
        ncclResult_t r_ = (call);                                                                  \
        if (r_ != ncclSuccess) nccl_fail((tr), #call, r_, __FILE__, __LINE__);                     \
    } while (0)

/* ---- the bootstrap ------------------------------------------------------------------------ */

static int transport_make_id(void *id, char *err, size_t errlen) {
    ncclUniqueId uid;
    ncclResult_t r = ncclGetUniqueId(&uid);
    if (r != ncclSuccess) {
        snprintf(err, errlen, "ncclGetUniqueId: %s (%s)", ncclGetErrorString(r),
                 ncclGetLastError(NULL));
        return -1;
    }
    memcpy(id, &uid, sizeof uid);
    return 0;
}

/* Frees what an open made before it failed, and NULL. */
static void *open_failed(cuda_transport_t *tr) {
    if (tr->transferred) cudaEventDestroy(tr->transferred);
    if (tr->issued) cudaEventDestroy(tr->issued);
    if (tr->stream) cudaStreamDestroy(tr->stream);
    free(tr);
    return NULL;
}

/* The CUDA resources first: a rank that fails here fails before it joins the group. */
static int open_cuda(cuda_transport_t *tr, char *err, size_t errlen) {
    cudaError_t e = cudaSetDevice(cuda_state.device);
    const char *what = "cudaSetDevice";
    if (e == cudaSuccess) {
        what = "cudaStreamCreateWithFlags";
        e = cudaStreamCreateWithFlags(&tr->stream, cudaStreamNonBlocking);
    }
    if (e == cudaSuccess) {
        what = "cudaEventCreateWithFlags";
        e = cudaEventCreateWithFlags(&tr->issued, cudaEventDisableTiming);
    }
    if (e == cudaSuccess) e = cudaEventCreateWithFlags(&tr->transferred, cudaEventDisableTiming);
    if (e == cudaSuccess) return 0;
    snprintf(err, errlen, "%s (device %d): %s", what, cuda_state.device, cudaGetErrorString(e));
    return -1;
}

static void *transport_open(const void *id, int rank, int size, char *err, size_t errlen) {
    cuda_transport_t *tr = (cuda_transport_t *)calloc(1, sizeof *tr);
    if (!tr) {
        snprintf(err, errlen, "out of host memory");
        return NULL;
    }
    tr->rank = rank, tr->size = size;
    if (open_cuda(tr, err, errlen) != 0) return open_failed(tr);
    ncclUniqueId uid;
    memcpy(&uid, id, sizeof uid);
    ncclResult_t r = ncclCommInitRank(&tr->comm, size, uid, rank);
    if (r != ncclSuccess) {
        snprintf(err, errlen, "ncclCommInitRank (rank %d of %d, device %d): %s (%s)", rank, size,
                 cuda_state.device, ncclGetErrorString(r), ncclGetLastError(NULL));
        return open_failed(tr);
    }
    return tr;
}

static void transport_close(void *t) {
    cuda_transport_t *tr = (cuda_transport_t *)t;
    CUDA_CHECK(cudaStreamSynchronize(tr->stream)); /* every operation issued has ended */
    NCCL_CHECK(tr, ncclCommDestroy(tr->comm));
    CUDA_CHECK(cudaEventDestroy(tr->transferred));
    CUDA_CHECK(cudaEventDestroy(tr->issued));
    CUDA_CHECK(cudaStreamDestroy(tr->stream));
    free(tr);
}

/* ---- the operations ----------------------------------------------------------------------- */

/* The NCCL stream waits for the work issued on the compute stream so far. */
static void after_compute(cuda_transport_t *tr) {
    CUDA_CHECK(cudaEventRecord(tr->issued, cuda_state.stream));
    CUDA_CHECK(cudaStreamWaitEvent(tr->stream, tr->issued, 0));
}

/* The compute stream waits for the operation just issued on the NCCL stream. */
static void before_compute(cuda_transport_t *tr) {
    CUDA_CHECK(cudaEventRecord(tr->transferred, tr->stream));
    CUDA_CHECK(cudaStreamWaitEvent(cuda_state.stream, tr->transferred, 0));
}

static void transport_send(void *t, const float *buf, size_t n, int peer) {
    cuda_transport_t *tr = (cuda_transport_t *)t;
    if (n == 0) return;
    after_compute(tr);
    NCCL_CHECK(tr, ncclSend(buf, n, ncclFloat, peer, tr->comm, tr->stream));
    before_compute(tr);
}

static void transport_recv(void *t, float *buf, size_t n, int peer) {
    cuda_transport_t *tr = (cuda_transport_t *)t;
    if (n == 0) return;
    after_compute(tr);
    NCCL_CHECK(tr, ncclRecv(buf, n, ncclFloat, peer, tr->comm, tr->stream));
    before_compute(tr);
}

static void transport_allreduce_sum(void *t, float *buf, size_t n) {
    cuda_transport_t *tr = (cuda_transport_t *)t;
    if (n == 0) return;
    after_compute(tr);
    NCCL_CHECK(tr, ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, tr->comm, tr->stream));
    before_compute(tr);
}

/* In kern_transport_t's order: id_bytes, make_id, open, close, send, recv, allreduce_sum. */
extern "C" const kern_transport_t kern_cuda_transport = {
    sizeof(ncclUniqueId), transport_make_id, transport_open,          transport_close,
    transport_send,       transport_recv,    transport_allreduce_sum,
};
