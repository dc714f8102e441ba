/* pointwise.cu - elementwise kernels on the device: GELU (tanh form), exp, adds, row broadcasts
 * and row sums (kern_cuda_* of kernels.h; the CPU reference is kernels/cpu/pointwise.c).
 *
 * Every element is computed with the CPU's own operations, one IEEE operation at a time
 * (__fadd_rn and friends, never fused into an FMA by the compiler): the exponential is the CPU's
 * Cephes-style simd_exp evaluated per element, so GELU and exp give the CPU's bits. Column sums
 * are deterministic: kern_cuda_accumulate_rows walks each column's rows in order (the CPU's
 * order exactly); kern_cuda_sum_rows sums fixed chunks of rows per column, then the chunks in
 * order (the CPU's order whenever the rows fit in one chunk).
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/cuda/cuda_math.cuh"
#include "kernels/kernels.h"

#define PW_THREADS 256
#define PW_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */
#define PW_CHUNK_ROWS 64        /* rows per partial column sum (kern_cuda_sum_rows) */

static unsigned pw_grid(int64_t n) {
    int64_t b = (n + PW_THREADS - 1) / PW_THREADS;
    return (unsigned)(b > PW_MAX_BLOCKS ? PW_MAX_BLOCKS : b);
}

static __device__ __forceinline__ float pw_gelu(float x) {
    return cuda_gelu_of(x, cuda_gelu_tanh(x));
}

static __device__ __forceinline__ float pw_gelu_grad(float x) {
    return cuda_gelu_grad_of(x, cuda_gelu_tanh(x));
}

static __global__ void gelu_forward_kernel(float *out, const float *inp, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        out[i] = pw_gelu(inp[i]);
}

/* dinp may alias dout: each element is read before its own store. */
static __global__ void gelu_backward_kernel(float *dinp, const float *inp, const float *dout,
                                            int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        dinp[i] = __fmul_rn(pw_gelu_grad(inp[i]), dout[i]);
}

static __global__ void exp_kernel(float *x, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] = cuda_exp(x[i]);
}

static __global__ void add_kernel(float *y, const float *x, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __fadd_rn(y[i], x[i]);
}

static __global__ void add_rows_kernel(float *y, const float *v, int64_t n, int C) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __fadd_rn(y[i], v[i % C]);
}

static __global__ void plus_zero_kernel(float *x, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] = __fadd_rn(0.0f, x[i]);
}

/* part[k][c] = sum of dy[r][c] over the rows r of chunk k, in row order from zero. */
static __global__ void col_partials_kernel(float *part, const float *dy, int64_t M, int C,
                                           int64_t n_chunks) {
    int64_t total = n_chunks * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t k = e / C;
        int c = (int)(e - k * C);
        int64_t r0 = k * PW_CHUNK_ROWS, r1 = r0 + PW_CHUNK_ROWS < M ? r0 + PW_CHUNK_ROWS : M;
        float s = 0.0f;
        for (int64_t r = r0; r < r1; r++)
            s = __fadd_rn(s, dy[r * C + c]);
        part[e] = s;
    }
}

/* dv[c] += the chunks' sums of column c, added in chunk order. */
static __global__ void col_finish_kernel(float *dv, const float *part, int C, int64_t n_chunks) {
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
         c += (int64_t)gridDim.x * blockDim.x) {
        float s = 0.0f;
        for (int64_t k = 0; k < n_chunks; k++)
            s = __fadd_rn(s, part[k * C + c]);
        dv[c] = __fadd_rn(dv[c], s);
    }
}

/* dv[c] += dy[r][c] for r in order, one thread per column: the CPU's additions exactly. */
static __global__ void accumulate_rows_kernel(float *dv, const float *dy, int64_t M, int C) {
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
         c += (int64_t)gridDim.x * blockDim.x) {
        float s = dv[c];
        for (int64_t r = 0; r < M; r++)
            s = __fadd_rn(s, dy[r * C + c]);
        dv[c] = s;
    }
}

extern "C" void kern_cuda_gelu_forward(float *out, const float *inp, int64_t n) {
    if (n <= 0) return;
    gelu_forward_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(out, inp, n);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_gelu_backward(float *dinp, const float *inp, const float *dout,
                                        int64_t n) {
    if (n <= 0) return;
    gelu_backward_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(dinp, inp, dout, n);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_exp_inplace(float *x, int64_t n) {
    if (n <= 0) return;
    exp_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(x, n);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_add_inplace(float *y, const float *x, int64_t n) {
    if (n <= 0) return;
    add_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(y, x, n);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_add_rows(float *y, const float *v, int64_t M, int C) {
    if (M <= 0 || C <= 0) return;
    int64_t n = M * C;
    add_rows_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(y, v, n, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_sum_rows(float *dv, const float *dy, int64_t M, int C) {
    if (M <= 0 || C <= 0) return;
    int64_t n_chunks = (M + PW_CHUNK_ROWS - 1) / PW_CHUNK_ROWS;
    float *part = (float *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(float) * n_chunks * C);
    col_partials_kernel<<<pw_grid(n_chunks * C), PW_THREADS, 0, cuda_state.stream>>>(part, dy, M, C,
                                                                                     n_chunks);
    CUDA_LAUNCH_CHECK();
    col_finish_kernel<<<pw_grid(C), PW_THREADS, 0, cuda_state.stream>>>(dv, part, C, n_chunks);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_accumulate_rows(float *dv, const float *dy, int64_t M, int C) {
    if (M <= 0 || C <= 0) return;
    accumulate_rows_kernel<<<pw_grid(C), PW_THREADS, 0, cuda_state.stream>>>(dv, dy, M, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_plus_zero(float *x, int64_t n) {
    if (n <= 0) return;
    plus_zero_kernel<<<pw_grid(n), PW_THREADS, 0, cuda_state.stream>>>(x, n);
    CUDA_LAUNCH_CHECK();
}
