/* layernorm.cu - LayerNorm forward and backward over the last dimension on the device
 * (kern_cuda_layernorm_* of kernels.h; the CPU reference is kernels/cpu/layernorm.c).
 *
 * Forward: 8 lanes per row play the CPU's 8 AVX lanes (lane j sums the columns j, j+8, ... in
 * order, then the lanes are added in simd_hsum's tree), so mean, rstd and the output carry the
 * CPU's bits. Backward: one lane per row walks its row in column order for the two row sums
 * (tiles of 32 x 32 staged through shared memory, so the loads stay coalesced), then the warp
 * applies dinp += ... row by row: the CPU's bits again. dgamma and dbeta are column sums: fixed
 * chunks of rows per column, then the chunks in order (the CPU's order when M fits one chunk).
 * Every operation is one IEEE operation (__fadd_rn and friends), never fused by the compiler.
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/kernels.h"

#define LN_FWD_THREADS 256      /* 32 rows per block, 8 lanes each */
#define LN_BWD_WARPS 4          /* 32 rows per warp in the row pass */
#define LN_CHUNK_ROWS 64        /* rows per partial sum of dgamma / dbeta */
#define LN_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */

static unsigned ln_grid(int64_t n, int per_block) {
    int64_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b > LN_MAX_BLOCKS ? LN_MAX_BLOCKS : b);
}

/* simd_hsum over the 8 lanes of a group (lanes 8g..8g+7 of the warp): ((s0+s4) + (s2+s6)) +
 * ((s1+s5) + (s3+s7)); every lane of the group gets the sum. */
static __device__ __forceinline__ float ln_hsum8(float s) {
    s = __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 4));
    s = __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 2));
    return __fadd_rn(s, __shfl_xor_sync(0xffffffffu, s, 1));
}

/* One row per group of 8 lanes: mean and variance as ln_row_stats (8 lane sums, FMA for the
 * squares, tail lanes contributing nothing), then out = ((x - mean) * rstd) * gamma + beta. */
static __global__ void ln_forward_kernel(float *out, float *mean, float *rstd, const float *inp,
                                         const float *gamma, const float *beta, int64_t M, int C) {
    int j = threadIdx.x & 7;
    int64_t groups_per_grid = (int64_t)gridDim.x * (blockDim.x / 8);
    int64_t first = blockIdx.x * (int64_t)(blockDim.x / 8) + threadIdx.x / 8;
    int64_t n_iter = (M + groups_per_grid - 1) / groups_per_grid; /* same for the whole warp */
    for (int64_t it = 0; it < n_iter; it++) {
        int64_t r = first + it * groups_per_grid;
        bool live = r < M;
        const float *x = inp + (live ? r : 0) * C;
        float s = 0.0f;
        if (live)
            for (int i = j; i < C; i += 8)
                s = __fadd_rn(s, x[i]);
        float mu = __fdiv_rn(ln_hsum8(s), (float)C);
        float v = 0.0f;
        if (live)
            for (int i = j; i < C; i += 8) {
                float d = __fsub_rn(x[i], mu);
                v = __fmaf_rn(d, d, v);
            }
        float var = __fdiv_rn(ln_hsum8(v), (float)C);
        float rs = __fdiv_rn(1.0f, __fsqrt_rn(__fadd_rn(var, KERN_LN_EPS)));
        if (!live) continue;
        if (j == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
        float *y = out + r * C;
        for (int i = j; i < C; i += 8) {
            float xh = __fmul_rn(__fsub_rn(x[i], mu), rs);
            y[i] = __fadd_rn(__fmul_rn(xh, gamma[i]), beta[i]);
        }
    }
}

/* The row pass of the backward: lane l of a warp owns row r0 + l and forms s1 = sum dy*gamma
 * and s2 = sum (dy*gamma) * xhat in column order (as ln_row_sums); then the warp adds
 * rstd * ((dy*gamma - s1/C) - xhat * s2/C) into dinp, one row at a time across the lanes. */
static __global__ void ln_backward_rows_kernel(float *dinp, const float *dout, const float *inp,
                                               const float *mean, const float *rstd,
                                               const float *gamma, int64_t M, int C) {
    __shared__ float tx[LN_BWD_WARPS][32][33], tdy[LN_BWD_WARPS][32][33], tg[LN_BWD_WARPS][32];
    int w = threadIdx.x / 32, lane = threadIdx.x & 31;
    int64_t warps_per_grid = (int64_t)gridDim.x * LN_BWD_WARPS;
    for (int64_t r0 = (blockIdx.x * (int64_t)LN_BWD_WARPS + w) * 32; r0 < M;
         r0 += warps_per_grid * 32) {
        int64_t my = r0 + lane;
        int rows = M - r0 < 32 ? (int)(M - r0) : 32;
        float mu = my < M ? mean[my] : 0.0f, rs = my < M ? rstd[my] : 0.0f;
        float s1 = 0.0f, s2 = 0.0f;
        for (int c0 = 0; c0 < C; c0 += 32) {
            int c = c0 + lane, width = C - c0 < 32 ? C - c0 : 32;
            __syncwarp();
            for (int k = 0; k < rows; k++)
                if (c < C) {
                    tx[w][k][lane] = inp[(r0 + k) * C + c];
                    tdy[w][k][lane] = dout[(r0 + k) * C + c];
                }
            if (c < C) tg[w][lane] = gamma[c];
            __syncwarp();
            if (lane < rows)
                for (int k = 0; k < width; k++) {
                    float dxh = __fmul_rn(tdy[w][lane][k], tg[w][k]);
                    s1 = __fadd_rn(s1, dxh);
                    s2 =
                        __fadd_rn(s2, __fmul_rn(dxh, __fmul_rn(__fsub_rn(tx[w][lane][k], mu), rs)));
                }
        }
        float m1 = __fdiv_rn(s1, (float)C), m2 = __fdiv_rn(s2, (float)C);
        for (int k = 0; k < rows; k++) {
            float kmu = __shfl_sync(0xffffffffu, mu, k), krs = __shfl_sync(0xffffffffu, rs, k);
            float k1 = __shfl_sync(0xffffffffu, m1, k), k2 = __shfl_sync(0xffffffffu, m2, k);
            int64_t base = (r0 + k) * C;
            for (int c = lane; c < C; c += 32) {
                float xh = __fmul_rn(__fsub_rn(inp[base + c], kmu), krs);
                float g = __fmul_rn(dout[base + c], gamma[c]);
                float t = __fsub_rn(__fsub_rn(g, k1), __fmul_rn(xh, k2));
                dinp[base + c] = __fadd_rn(dinp[base + c], __fmul_rn(krs, t));
            }
        }
    }
}

/* part_g[k][c] = sum over the rows of chunk k of dout * xhat, part_b[k][c] = sum of dout, each
 * in row order from zero (the terms as ln_backward_params forms them). */
static __global__ void ln_param_partials_kernel(float *part_g, float *part_b, const float *dout,
                                                const float *inp, const float *mean,
                                                const float *rstd, int64_t M, int C,
                                                int64_t n_chunks) {
    int64_t total = n_chunks * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t k = e / C;
        int c = (int)(e - k * C);
        int64_t r0 = k * LN_CHUNK_ROWS, r1 = r0 + LN_CHUNK_ROWS < M ? r0 + LN_CHUNK_ROWS : M;
        float g = 0.0f, b = 0.0f;
        for (int64_t r = r0; r < r1; r++) {
            float dv = dout[r * C + c];
            float xh = __fmul_rn(__fsub_rn(inp[r * C + c], mean[r]), rstd[r]);
            g = __fadd_rn(g, __fmul_rn(dv, xh));
            b = __fadd_rn(b, dv);
        }
        part_g[e] = g;
        part_b[e] = b;
    }
}

/* dgamma[c] += the chunks' sums in chunk order; dbeta likewise. */
static __global__ void ln_param_finish_kernel(float *dgamma, float *dbeta, const float *part_g,
                                              const float *part_b, int C, int64_t n_chunks) {
    for (int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; c < C;
         c += (int64_t)gridDim.x * blockDim.x) {
        float g = 0.0f, b = 0.0f;
        for (int64_t k = 0; k < n_chunks; k++) {
            g = __fadd_rn(g, part_g[k * C + c]);
            b = __fadd_rn(b, part_b[k * C + c]);
        }
        dgamma[c] = __fadd_rn(dgamma[c], g);
        dbeta[c] = __fadd_rn(dbeta[c], b);
    }
}

extern "C" void kern_cuda_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                            const float *gamma, const float *beta, int64_t M,
                                            int C) {
    if (M <= 0 || C <= 0) return;
    ln_forward_kernel<<<ln_grid(M, LN_FWD_THREADS / 8), LN_FWD_THREADS, 0, cuda_state.stream>>>(
        out, mean, rstd, inp, gamma, beta, M, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_layernorm_backward(float *dinp, float *dgamma, float *dbeta,
                                             const float *dout, const float *inp, const float *mean,
                                             const float *rstd, const float *gamma, int64_t M,
                                             int C) {
    if (M <= 0 || C <= 0) return;
    ln_backward_rows_kernel<<<ln_grid(M, LN_BWD_WARPS * 32), LN_BWD_WARPS * 32, 0,
                              cuda_state.stream>>>(dinp, dout, inp, mean, rstd, gamma, M, C);
    CUDA_LAUNCH_CHECK();
    int64_t n_chunks = (M + LN_CHUNK_ROWS - 1) / LN_CHUNK_ROWS;
    float *part =
        (float *)cuda_scratch(CUDA_SCRATCH_PARTIAL, 2 * sizeof(float) * (size_t)(n_chunks * C));
    float *part_g = part, *part_b = part + n_chunks * C;
    ln_param_partials_kernel<<<ln_grid(n_chunks * C, 256), 256, 0, cuda_state.stream>>>(
        part_g, part_b, dout, inp, mean, rstd, M, C, n_chunks);
    CUDA_LAUNCH_CHECK();
    ln_param_finish_kernel<<<ln_grid(C, 256), 256, 0, cuda_state.stream>>>(dgamma, dbeta, part_g,
                                                                           part_b, C, n_chunks);
    CUDA_LAUNCH_CHECK();
}
