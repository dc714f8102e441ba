/* cuda_internal.cuh - what the files of the CUDA backend share (the .cu files of kernels/cuda/).
 *
 * The backend is one module, libmicl_cuda.so, opened by kernels/backend.c when a run asks for
 * device "cuda". Each kern_cuda_<name> implements kern_<name> of kernels.h / buffer.h on device
 * memory (documented there); backend_cuda.cu gathers them into the table that
 * micl_cuda_backend_open returns.
 *
 * Every call runs on one stream (cuda_state.stream), in issue order; host copies wait for the
 * stream before the host reads. Every reduction runs in an order fixed by the shape (no atomics
 * on floats), so a product or kernel gives the same bits each time it runs on the same GPU
 * model. Every CUDA, cuBLASLt and NCCL call is checked: a failure reports
 * "[rank r] file:line: call: error" through the host's fatal function.
 */
#ifndef MICL_KERN_CUDA_INTERNAL_CUH
#define MICL_KERN_CUDA_INTERNAL_CUH

#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

extern "C" {
#define KERN_CUDA_PROTO(kind, ret, name, params, args) ret kern_cuda_##name params;
KERN_BACKEND_API(KERN_CUDA_PROTO)
#undef KERN_CUDA_PROTO
/* The device transport (NCCL; transport.cu). */
extern const kern_transport_t kern_cuda_transport;
}

/* Scratch areas the backend keeps for itself (operands rounded to bf16, partial sums of fixed
 * order reductions). Each grows on demand and is then reused: the first passes of a run size
 * them, later ones allocate nothing. */
enum cuda_scratch_slot {
    CUDA_SCRATCH_A = 0,   /* a product's first operand in bf16 */
    CUDA_SCRATCH_B,       /* its second operand in bf16 */
    CUDA_SCRATCH_C,       /* a product's result before an epilogue the library lacks */
    CUDA_SCRATCH_PARTIAL, /* per-block partial sums (LayerNorm, bias and norm reductions) */
    CUDA_SCRATCH_SLOTS
};

typedef struct cuda_state {
    kern_backend_host_t host; /* rank, local rank, precision, fatal */
    int device;               /* the CUDA device index this process uses */
    cudaDeviceProp prop;
    cudaStream_t stream;
    cublasLtHandle_t lt;
    void *lt_workspace; /* cuBLASLt's workspace, fixed for the run (part of reproducibility) */
    size_t lt_workspace_bytes;
    void *scratch[CUDA_SCRATCH_SLOTS];
    size_t scratch_bytes[CUDA_SCRATCH_SLOTS];
} cuda_state_t;

/* The backend's one state (backend_cuda.cu), set up by micl_cuda_backend_open. */
extern cuda_state_t cuda_state;

/* Reports a failed call and ends the process (host->fatal). */
void cuda_check_fail(const char *what, const char *err, const char *file, int line);
#define CUDA_CHECK(call)                                                                           \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) cuda_check_fail(#call, cudaGetErrorString(e_), __FILE__, __LINE__); \
    } while (0)
/* After a kernel launch: a bad configuration shows here, with the launch's place. */
#define CUDA_LAUNCH_CHECK() CUDA_CHECK(cudaGetLastError())
const char *cuda_cublas_error(cublasStatus_t s);
#define CUBLAS_CHECK(call)                                                                         \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
            cuda_check_fail(#call, cuda_cublas_error(s_), __FILE__, __LINE__);                     \
    } while (0)

/* A scratch area of at least `bytes` bytes (slot: cuda_scratch_slot), 256-byte aligned. Growing
 * it waits for the stream first, so work still reading the old area is done. */
void *cuda_scratch(int slot, size_t bytes);

/* Blocks of `threads` threads covering n items. */
static inline unsigned cuda_blocks(int64_t n, int threads) {
    return (unsigned)((n + threads - 1) / threads);
}

#endif
