/* loss.cu - mean pooling over groups of rows and softmax cross-entropy over rows of logits on
 * the device (kern_cuda_mean_pool_*, kern_cuda_crossentropy_* of kernels.h; the CPU reference is
 * kernels/cpu/loss.c).
 *
 * Pooling: one thread per output column sums its group's rows in order. Cross-entropy: 8 lanes
 * per row play the CPU's 8 AVX lanes (lane j sums exp(x - max) over the columns j, j+8, ... in
 * order, simd_hsum's tree adds the lanes, the exponential is simd_exp's), so the row's sum has
 * the CPU's bits; lse = max + logf(sum) may differ from the CPU's logf in the last place. The
 * total loss is summed in double over rows in order by one thread, as the CPU does, and copied
 * to the host. Every operation is one IEEE operation (__fadd_rn and friends).
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/cuda/cuda_math.cuh"
#include "kernels/kernels.h"

#define LOSS_THREADS 256
#define LOSS_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */

static unsigned loss_grid(int64_t n, int per_block) {
    int64_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b > LOSS_MAX_BLOCKS ? LOSS_MAX_BLOCKS : b);
}

/* out[g][c] = (sum over p in order of inp[g*P + p][c], from zero) / P. */
static __global__ void mean_pool_forward_kernel(float *out, const float *inp, int64_t G, int P,
                                                int C) {
    int64_t total = G * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t g = e / C;
        int c = (int)(e - g * C);
        float s = 0.0f;
        for (int p = 0; p < P; p++)
            s = __fadd_rn(s, inp[(g * P + p) * C + c]);
        out[e] = __fdiv_rn(s, (float)P);
    }
}

static __global__ void mean_pool_backward_kernel(float *dinp, const float *dout, int64_t G, int P,
                                                 int C) {
    int64_t total = G * P * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t row = e / C, g = row / P;
        int c = (int)(e - row * C);
        dinp[e] = __fdiv_rn(dout[g * C + c], (float)P);
    }
}

/* Max over the 8 lanes of a group (exact in any order). */
static __device__ __forceinline__ float loss_max8(float m) {
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 4));
    m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));
    return fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));
}

/* simd_hsum over the 8 lanes of a group: ((s0+s4) + (s2+s6)) + ((s1+s5) + (s3+s7)). */
static __device__ __forceinline__ float loss_hsum8(float s) {
    s = __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 4));
    s = __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 2));
    return __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 1));
}

/* One row per group of 8 lanes: lse[r] as row_lse (full blocks of 8 columns, then the tail with
 * its padding lanes at exp = 0), and term[r] = (double)lse - (double)logits[target]. */
static __global__ void ce_rows_kernel(float *lse, double *term, const float *logits,
                                      const int32_t *targets, int64_t n, int V) {
    int j = threadIdx.x & 7;
    int64_t groups_per_grid = (int64_t)gridDim.x * (blockDim.x / 8);
    int64_t first = blockIdx.x * (int64_t)(blockDim.x / 8) + threadIdx.x / 8;
    int64_t n_iter = (n + groups_per_grid - 1) / groups_per_grid; /* same for the whole warp */
    int full = V / 8 * 8;
    for (int64_t it = 0; it < n_iter; it++) {
        int64_t r = first + it * groups_per_grid;
        bool live = r < n;
        const float *x = logits + (live ? r : 0) * V;
        float m = -INFINITY;
        if (live)
            for (int i = j; i < V; i += 8)
                m = fmaxf(m, x[i]);
        m = loss_max8(m);
        float s = 0.0f;
        if (live) {
            for (int i = j; i < full; i += 8)
                s = __fadd_rn(s, cuda_exp(__fsub_rn(x[i], m)));
            if (full < V) {
                float t = full + j < V ? __fsub_rn(x[full + j], m) : -INFINITY;
                float e = cuda_exp(t);
                s = __fadd_rn(s, t > -INFINITY ? e : 0.0f); /* _CMP_NEQ_OQ against -inf */
            }
        }
        float total = loss_hsum8(s);
        if (live && j == 0) {
            float l = __fadd_rn(m, logf(total));
            lse[r] = l;
            term[r] = __dsub_rn((double)l, (double)x[targets[r]]);
        }
    }
}

/* *out = sum of term[0..n) in order, from zero (one thread: the CPU's additions). */
static __global__ void ce_total_kernel(double *out, const double *term, int64_t n) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double t = 0.0;
    for (int64_t r = 0; r < n; r++)
        t = __dadd_rn(t, term[r]);
    *out = t;
}

/* dlogits = exp(x - lse) * scale, minus scale at the target. dlogits may alias logits. */
static __global__ void ce_backward_kernel(float *dlogits, const float *logits, const float *lse,
                                          const int32_t *targets, int64_t n, int V, float scale) {
    int64_t total = n * V;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e / V;
        int i = (int)(e - r * V);
        float d = __fmul_rn(cuda_exp(__fsub_rn(logits[e], lse[r])), scale);
        if (i == targets[r]) d = __fsub_rn(d, scale);
        dlogits[e] = d;
    }
}

extern "C" void kern_cuda_mean_pool_forward(float *out, const float *inp, int64_t G, int P, int C) {
    if (G <= 0 || C <= 0) return;
    mean_pool_forward_kernel<<<loss_grid(G * C, LOSS_THREADS), LOSS_THREADS, 0,
                               cuda_state.stream>>>(out, inp, G, P, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_mean_pool_backward(float *dinp, const float *dout, int64_t G, int P,
                                             int C) {
    if (G <= 0 || P <= 0 || C <= 0) return;
    mean_pool_backward_kernel<<<loss_grid(G * P * C, LOSS_THREADS), LOSS_THREADS, 0,
                                cuda_state.stream>>>(dinp, dout, G, P, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" double kern_cuda_crossentropy_forward(float *lse, const float *logits,
                                                 const int32_t *targets, int64_t n, int V) {
    if (n <= 0) return 0.0;
    /* the row terms, then their total in the last slot */
    double *term = (double *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(double) * (size_t)(n + 1));
    ce_rows_kernel<<<loss_grid(n, LOSS_THREADS / 8), LOSS_THREADS, 0, cuda_state.stream>>>(
        lse, term, logits, targets, n, V);
    CUDA_LAUNCH_CHECK();
    ce_total_kernel<<<1, 1, 0, cuda_state.stream>>>(term + n, term, n);
    CUDA_LAUNCH_CHECK();
    double total = 0.0;
    CUDA_CHECK(cudaMemcpyAsync(&total, term + n, sizeof(double), cudaMemcpyDeviceToHost,
                               cuda_state.stream));
    CUDA_CHECK(cudaStreamSynchronize(cuda_state.stream));
    return total;
}

extern "C" void kern_cuda_crossentropy_backward(float *dlogits, const float *logits,
                                                const float *lse, const int32_t *targets, int64_t n,
                                                int V, float scale) {
    if (n <= 0 || V <= 0) return;
    ce_backward_kernel<<<loss_grid(n * V, LOSS_THREADS), LOSS_THREADS, 0, cuda_state.stream>>>(
        dlogits, logits, lse, targets, n, V, scale);
    CUDA_LAUNCH_CHECK();
}
