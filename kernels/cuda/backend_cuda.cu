/* backend_cuda.cu - the CUDA backend module's entry point and its memory side (kernels/buffer.h).
 *
 * micl_cuda_backend_open (KERN_CUDA_ENTRY of kernels/backend.h) is what kernels/backend.c finds
 * with dlsym after it opened libmicl_cuda.so: it picks the device (the local rank modulo the
 * devices of this node), makes the backend's one stream, the cuBLASLt handle and its fixed
 * workspace, and returns the table of kern_cuda_* entries. Any failure there is a message, not a
 * fatal error: the host reports it (a machine with no GPU, no driver, a driver too old).
 *
 * Also here: the error reports of CUDA_CHECK / CUBLAS_CHECK, the scratch areas, and every
 * buffer.h entry on device memory. All work runs on cuda_state.stream in issue order; the copies
 * that involve host memory wait for the stream before they return, so the host may reuse or read
 * its memory at once.
 */
#include "kernels/cuda/cuda_internal.cuh"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cuda_state_t cuda_state;

#define LT_WORKSPACE_BYTES                                                                         \
    ((size_t)32 << 20) /* cuBLASLt's workspace (32 MiB: what Hopper's kernels use) */
#define THREADS 256
#define MAX_BLOCKS 8192 /* grid-stride loops cover the rest */

/* The GPU's name, filled by micl_cuda_backend_open (the table points at it). */
static char device_name[256] = "CUDA device";

/* The table: every entry of KERN_BACKEND_API as its kern_cuda_ function, in declaration order.
 * The transport (transport.cu) is copied in by micl_cuda_backend_open, not here: a copy in this
 * initializer would run at load time, in no set order with the initializers of other files. */
static kern_backend_t cuda_backend = {
    .name = "cuda",
    .device = device_name,
    .host_memory = 0,
    .isa = NULL, /* no instruction-set choice on the GPU */
#define KERN_CUDA_SLOT(kind, ret, name, params, args) .name = kern_cuda_##name,
    KERN_BACKEND_API(KERN_CUDA_SLOT)
#undef KERN_CUDA_SLOT
        .transport = {},
};

/* ---- errors ---- */

void cuda_check_fail(const char *what, const char *err, const char *file, int line) {
    const char *base = strrchr(file, '/');
    char msg[1024];
    snprintf(msg, sizeof msg, "[rank %d] %s:%d: %s: %s", cuda_state.host.rank,
             base ? base + 1 : file, line, what, err);
    if (cuda_state.host.fatal) cuda_state.host.fatal("%s", msg);
    fprintf(stderr, "micl: error: %s\n", msg); /* fatal never returns; no host: end here */
    abort();
}

const char *cuda_cublas_error(cublasStatus_t s) {
    return cublasLtGetStatusName(s);
}

/* cudaMalloc of `bytes`; a failure is fatal with the size in the message. */
static void *device_malloc(size_t bytes, const char *file, int line) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e != cudaSuccess) {
        char what[96];
        snprintf(what, sizeof what, "cudaMalloc(%zu bytes)", bytes);
        cuda_check_fail(what, cudaGetErrorString(e), file, line);
    }
    return p;
}

/* ---- scratch ---- */

/* Grows a slot to the request plus 25% headroom, rounded up to 256 bytes, so that a run whose
 * sizes creep up a little does not reallocate every pass. */
void *cuda_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= CUDA_SCRATCH_SLOTS) {
        char what[64];
        snprintf(what, sizeof what, "cuda_scratch(slot %d)", slot);
        cuda_check_fail(what, "no such scratch slot", __FILE__, __LINE__);
    }
    if (cuda_state.scratch[slot] && bytes <= cuda_state.scratch_bytes[slot])
        return cuda_state.scratch[slot];
    size_t want = bytes + bytes / 4;
    if (want < bytes) want = bytes; /* no headroom near SIZE_MAX (cudaMalloc fails there) */
    if (want <= SIZE_MAX - 255) want = (want + 255) / 256 * 256;
    if (want == 0) want = 256;
    if (cuda_state.scratch[slot]) {
        CUDA_CHECK(cudaStreamSynchronize(cuda_state.stream)); /* work still reading the old area */
        CUDA_CHECK(cudaFree(cuda_state.scratch[slot]));
        cuda_state.scratch[slot] = NULL;
        cuda_state.scratch_bytes[slot] = 0;
    }
    cuda_state.scratch[slot] = device_malloc(want, __FILE__, __LINE__);
    cuda_state.scratch_bytes[slot] = want;
    return cuda_state.scratch[slot];
}

/* ---- opening the module ---- */

/* Undoes a partial open and leaves a message "what: why" in err. */
static const kern_backend_t *open_fail(char *err, size_t errlen, const char *what,
                                       const char *why) {
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, why);
    if (cuda_state.lt_workspace) cudaFree(cuda_state.lt_workspace);
    if (cuda_state.lt) cublasLtDestroy(cuda_state.lt);
    if (cuda_state.stream) cudaStreamDestroy(cuda_state.stream);
    (void)cudaGetLastError(); /* clear a non-sticky error for whoever tries next */
    memset(&cuda_state, 0, sizeof cuda_state);
    return NULL;
}

/* A CUDA error in words for open_fail: "cudaErrorX: what it means". */
static const char *cuda_words(cudaError_t e, char *buf, size_t len) {
    snprintf(buf, len, "%s: %s", cudaGetErrorName(e), cudaGetErrorString(e));
    return buf;
}

extern "C" __attribute__((visibility("default"))) const kern_backend_t *
micl_cuda_backend_open(const kern_backend_host_t *host, char *err, size_t errlen) {
    static int opened;
    if (opened) return &cuda_backend;
    char words[512], what[64];
    memset(&cuda_state, 0, sizeof cuda_state);
    cuda_state.host = *host;
    /* Test the return code: with no driver the count is left untouched. */
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess)
        return open_fail(err, errlen, "no CUDA device", cuda_words(e, words, sizeof words));
    if (count <= 0) return open_fail(err, errlen, "no CUDA device", "the driver sees no GPU");
    cuda_state.device = (host->local_rank > 0 ? host->local_rank : 0) % count;
    snprintf(what, sizeof what, "cudaSetDevice(%d)", cuda_state.device);
    e = cudaSetDevice(cuda_state.device);
    if (e != cudaSuccess) return open_fail(err, errlen, what, cuda_words(e, words, sizeof words));
    e = cudaGetDeviceProperties(&cuda_state.prop, cuda_state.device);
    if (e != cudaSuccess)
        return open_fail(err, errlen, "cudaGetDeviceProperties",
                         cuda_words(e, words, sizeof words));
    e = cudaStreamCreateWithFlags(&cuda_state.stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        cuda_state.stream = NULL;
        return open_fail(err, errlen, "cudaStreamCreateWithFlags",
                         cuda_words(e, words, sizeof words));
    }
    cublasStatus_t s = cublasLtCreate(&cuda_state.lt);
    if (s != CUBLAS_STATUS_SUCCESS) {
        cuda_state.lt = NULL;
        snprintf(words, sizeof words, "%s: %s", cublasLtGetStatusName(s),
                 cublasLtGetStatusString(s));
        return open_fail(err, errlen, "cublasLtCreate", words);
    }
    e = cudaMalloc(&cuda_state.lt_workspace, LT_WORKSPACE_BYTES);
    if (e != cudaSuccess) {
        cuda_state.lt_workspace = NULL;
        return open_fail(err, errlen, "cudaMalloc(cuBLASLt workspace, 32 MiB)",
                         cuda_words(e, words, sizeof words));
    }
    cuda_state.lt_workspace_bytes = LT_WORKSPACE_BYTES;
    snprintf(device_name, sizeof device_name, "%s", cuda_state.prop.name);
    cuda_backend.transport = kern_cuda_transport;
    opened = 1;
    return &cuda_backend;
}

/* ---- buffer.h: allocation and whole ranges ---- */

void *kern_cuda_alloc(size_t bytes) {
    return device_malloc(bytes ? bytes : 64, __FILE__, __LINE__); /* 256-byte aligned */
}

void kern_cuda_free(void *buf) {
    if (buf) CUDA_CHECK(cudaFree(buf));
}

void kern_cuda_zero(void *buf, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemsetAsync(buf, 0, bytes, cuda_state.stream));
}

void kern_cuda_copy(void *dst, const void *src, size_t bytes) {
    if (bytes)
        CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cuda_state.stream));
}

/* The caller may reuse host_src as soon as this returns: wait for the copy. */
void kern_cuda_copy_from_host(void *dst, const void *host_src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, cuda_state.stream));
    CUDA_CHECK(cudaStreamSynchronize(cuda_state.stream));
}

/* Everything issued before, then the copy, done before the host reads host_dst. */
void kern_cuda_copy_to_host(void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, cuda_state.stream));
    CUDA_CHECK(cudaStreamSynchronize(cuda_state.stream));
}

/* ---- buffer.h: rows of float matrices ---- */

/* rows x cols floats with row strides in bytes as pitches (a single row needs no stride). */
void kern_cuda_copy_strided(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                            int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) return;
    size_t width = sizeof(float) * (size_t)cols;
    size_t dpitch = rows == 1 ? width : sizeof(float) * (size_t)ld_dst;
    size_t spitch = rows == 1 ? width : sizeof(float) * (size_t)ld_src;
    CUDA_CHECK(cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, (size_t)rows,
                                 cudaMemcpyDeviceToDevice, cuda_state.stream));
}

static unsigned grid_for(int64_t n) {
    unsigned b = cuda_blocks(n, THREADS);
    return b < MAX_BLOCKS ? b : MAX_BLOCKS;
}

/* dst[i][c] = src[rows[i]][c], one thread per element (i = e / C, c = e % C). */
static __global__ void gather_rows_kernel(float *__restrict__ dst, const float *__restrict__ src,
                                          const int32_t *__restrict__ rows, int64_t n, int C) {
    int64_t total = n * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        int64_t i = e / C, c = e - i * C;
        dst[e] = src[(int64_t)rows[i] * C + c];
    }
}

/* dst[rows[i]][c] = (or +=) src[i][c]; rows are distinct, so no two threads write one element. */
static __global__ void scatter_rows_kernel(float *__restrict__ dst, const float *__restrict__ src,
                                           const int32_t *__restrict__ rows, int64_t n, int C,
                                           int accumulate) {
    int64_t total = n * C, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        int64_t i = e / C, c = e - i * C;
        float *d = dst + (int64_t)rows[i] * C + c;
        *d = accumulate ? *d + src[e] : src[e];
    }
}

/* In place (dst == src, rows ascending), the threads of one pass would overwrite rows that
 * others still have to read; so the rows are gathered into a scratch area first, then copied
 * back, and every source row is read before any is written. */
void kern_cuda_gather_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C) {
    if (n <= 0 || C <= 0) return;
    int64_t total = n * C;
    float *out = dst;
    if (dst == src) out = (float *)cuda_scratch(CUDA_SCRATCH_C, sizeof(float) * (size_t)total);
    gather_rows_kernel<<<grid_for(total), THREADS, 0, cuda_state.stream>>>(out, src, rows, n, C);
    CUDA_LAUNCH_CHECK();
    if (out != dst)
        CUDA_CHECK(cudaMemcpyAsync(dst, out, sizeof(float) * (size_t)total,
                                   cudaMemcpyDeviceToDevice, cuda_state.stream));
}

void kern_cuda_scatter_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C,
                            int accumulate) {
    if (n <= 0 || C <= 0) return;
    int64_t total = n * C;
    scatter_rows_kernel<<<grid_for(total), THREADS, 0, cuda_state.stream>>>(dst, src, rows, n, C,
                                                                            accumulate);
    CUDA_LAUNCH_CHECK();
}
