/* adamw.cu - the optimizer over the flat parameter arena on the device: AdamW, the gradient
 * norm, scaling (kern_cuda_adamw_update, kern_cuda_grad_norm, kern_cuda_scale_inplace of
 * kernels.h; the CPU reference is kernels/cpu/adamw.c).
 *
 * AdamW is elementwise with the CPU's operations one at a time (bias corrections from the host's
 * powf, as the CPU computes them), so parameters and moments carry the CPU's bits. The gradient
 * norm keeps the CPU's order exactly: one thread per block of 8192 elements sums its squares in
 * index order in double, then one thread adds the block sums in block order; the host takes
 * the square root. Every operation is one IEEE operation (__fadd_rn and friends).
 */
#include <math.h>

#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/kernels.h"

#define ADAMW_THREADS 256
#define ADAMW_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */
#define NORM_BLOCK 8192            /* elements per partial sum: kernels/cpu/adamw.c's */

static unsigned adamw_grid(int64_t n) {
    int64_t b = (n + ADAMW_THREADS - 1) / ADAMW_THREADS;
    return (unsigned)(b > ADAMW_MAX_BLOCKS ? ADAMW_MAX_BLOCKS : b);
}

/* m = b1 m + (1 - b1) g; v = b2 v + ((1 - b2) g) g; p -= lr (mhat / (sqrt(vhat) + eps) + wd p),
 * wd = weight_decay where the mask is NULL or set, else 0. */
static __global__ void adamw_kernel(float *params, const float *grads, float *m, float *v,
                                    const uint8_t *decay_mask, int64_t n, float lr, float beta1,
                                    float beta2, float omb1, float omb2, float eps,
                                    float weight_decay, float bc1, float bc2) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float g = grads[i];
        float mi = __fadd_rn(__fmul_rn(beta1, m[i]), __fmul_rn(omb1, g));
        float vi = __fadd_rn(__fmul_rn(beta2, v[i]), __fmul_rn(__fmul_rn(omb2, g), g));
        m[i] = mi;
        v[i] = vi;
        float mhat = __fdiv_rn(mi, bc1), vhat = __fdiv_rn(vi, bc2);
        float wd = (decay_mask == NULL || decay_mask[i]) ? weight_decay : 0.0f;
        float p = params[i];
        float step = __fdiv_rn(mhat, __fadd_rn(__fsqrt_rn(vhat), eps));
        params[i] = __fsub_rn(p, __fmul_rn(lr, __fadd_rn(step, __fmul_rn(wd, p))));
    }
}

/* part[k] = sum over block k's elements in index order of (double)g * (double)g, from zero. */
static __global__ void norm_blocks_kernel(double *part, const float *g, int64_t n,
                                          int64_t n_blocks) {
    for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < n_blocks;
         k += (int64_t)gridDim.x * blockDim.x) {
        int64_t i0 = k * NORM_BLOCK, i1 = i0 + NORM_BLOCK < n ? i0 + NORM_BLOCK : n;
        double s = 0.0;
        for (int64_t i = i0; i < i1; i++) {
            double x = (double)g[i];
            s = __dadd_rn(s, __dmul_rn(x, x));
        }
        part[k] = s;
    }
}

/* *out = sum of part[0..n_blocks) in block order, from zero. */
static __global__ void norm_total_kernel(double *out, const double *part, int64_t n_blocks) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double t = 0.0;
    for (int64_t k = 0; k < n_blocks; k++)
        t = __dadd_rn(t, part[k]);
    *out = t;
}

static __global__ void scale_kernel(float *x, int64_t n, float s) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        x[i] = __fmul_rn(x[i], s);
}

extern "C" void kern_cuda_adamw_update(float *params, const float *grads, float *m, float *v,
                                       const uint8_t *decay_mask, size_t n, float lr, float beta1,
                                       float beta2, float eps, float weight_decay, int64_t step) {
    if (n == 0) return;
    float bc1 = 1.0f - powf(beta1, (float)step);
    float bc2 = 1.0f - powf(beta2, (float)step);
    adamw_kernel<<<adamw_grid((int64_t)n), ADAMW_THREADS, 0, cuda_state.stream>>>(
        params, grads, m, v, decay_mask, (int64_t)n, lr, beta1, beta2, 1.0f - beta1, 1.0f - beta2,
        eps, weight_decay, bc1, bc2);
    CUDA_LAUNCH_CHECK();
}

extern "C" double kern_cuda_grad_norm(const float *g, size_t n) {
    if (n == 0) return 0.0;
    int64_t n_blocks = ((int64_t)n + NORM_BLOCK - 1) / NORM_BLOCK;
    /* the block sums, then their total in the last slot */
    double *part =
        (double *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(double) * (size_t)(n_blocks + 1));
    norm_blocks_kernel<<<adamw_grid(n_blocks), ADAMW_THREADS, 0, cuda_state.stream>>>(
        part, g, (int64_t)n, n_blocks);
    CUDA_LAUNCH_CHECK();
    norm_total_kernel<<<1, 1, 0, cuda_state.stream>>>(part + n_blocks, part, n_blocks);
    CUDA_LAUNCH_CHECK();
    double total = 0.0;
    CUDA_CHECK(cudaMemcpyAsync(&total, part + n_blocks, sizeof(double), cudaMemcpyDeviceToHost,
                               cuda_state.stream));
    CUDA_CHECK(cudaStreamSynchronize(cuda_state.stream));
    return sqrt(total);
}

extern "C" void kern_cuda_scale_inplace(float *x, size_t n, float s) {
    if (n == 0) return;
    scale_kernel<<<adamw_grid((int64_t)n), ADAMW_THREADS, 0, cuda_state.stream>>>(x, (int64_t)n, s);
    CUDA_LAUNCH_CHECK();
}
