/* attention.cu - multi-head scaled dot-product attention on the device, forward (whole
 * sequences and new rows over a key/value cache) and backward (kern_cuda_attention_* of
 * kernels.h; the CPU reference is kernels/cpu/attention.c).
 *
 * The arithmetic is the CPU's, one IEEE operation at a time (__fmaf_rn and friends, never
 * contracted by the compiler), so every entry carries the CPU's bits:
 *   - a score (or dP) is one FMA chain over the head's columns in order, or, where the CPU
 *     takes its dot-product path (hd * round8(T) > 8192), 8 lane chains added in simd_hsum's
 *     tree;
 *   - softmax: scale, max, simd_exp's exponential, the sum in key order (one lane), 1 / sum;
 *   - every weighted sum (out = P V, dq = dS K, dk = dS^T Q, dv = P^T dout) is one FMA chain
 *     per column over the summed rows in order, from zero.
 * Forward: one warp per query row (4 per block), lanes over keys for the scores (the block's
 * keys staged in shared memory 32 at a time), lanes over columns for the weighted sum. Backward,
 * with no atomics and no T^3 work: a row pass (one warp per query row) forms dP, the row's dot
 * = sum_j P dP, dS and dq, and keeps the dots; a key pass (one warp per key row j, 8 per block)
 * forms dS_ij again for its rows i (the same bits: the same operations) and sums dk_j and dv_j
 * over i in order. Heads up to 128 columns, sequences up to KERN_ATTN_MAX_T.
 */
#include <math.h>

#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/cuda/cuda_math.cuh"
#include "kernels/kernels.h"

#define ATT_ROW_WARPS 4       /* query rows per block of the forward and row passes */
#define ATT_KEY_WARPS 8       /* key rows per block of the key pass */
#define ATT_TILE 32           /* rows staged per tile: one per lane */
#define ATT_MAX_HD 128        /* head sizes taken: up to 4 columns per lane */
#define ATT_LOCAL_FLOATS 8192 /* kernels/cpu/attention.c's ATTN_LOCAL_FLOATS: the score order */
#define ATT_FULL 0xffffffffu

/* The rows of one head's keys (or values, queries, output gradients): rows [0, p0) in a cache
 * with row stride cstride, the rest in a buffer with row stride fstride. */
struct att_rows {
    const float *cache;
    int64_t cstride;
    const float *fresh;
    int64_t fstride;
    int p0;
};

static __device__ __forceinline__ const float *att_row(const att_rows &s, int j) {
    return j < s.p0 ? s.cache + (int64_t)j * s.cstride : s.fresh + (int64_t)(j - s.p0) * s.fstride;
}

/* Rows [j0, j0 + ATT_TILE) of x (zero from jend on) into tile[ATT_TILE][hd + 1] (the odd row
 * length keeps a lane per row free of bank conflicts). Called by the whole block. */
static __device__ void att_stage(float *tile, const att_rows &x, int j0, int jend, int hd) {
    for (int e = threadIdx.x; e < ATT_TILE * hd; e += blockDim.x) {
        int r = e / hd, d = e - r * hd, j = j0 + r;
        tile[r * (hd + 1) + d] = j < jend ? att_row(x, j)[d] : 0.0f;
    }
}

/* a . x as the CPU forms it: one FMA chain over d (the transposed-block path, `local`), or 8
 * lane chains over d = l, l+8, ... (tail lanes padded with zeros) added as simd_hsum adds them
 * (simd_dot). */
static __device__ __forceinline__ float att_dot(const float *a, const float *x, int hd,
                                                bool local) {
    if (local) {
        float acc = 0.0f;
        for (int d = 0; d < hd; d++)
            acc = __fmaf_rn(a[d], x[d], acc);
        return acc;
    }
    float l[8];
#pragma unroll
    for (int k = 0; k < 8; k++)
        l[k] = 0.0f;
    int d = 0;
    for (; d + 8 <= hd; d += 8) {
#pragma unroll
        for (int k = 0; k < 8; k++)
            l[k] = __fmaf_rn(a[d + k], x[d + k], l[k]);
    }
    if (d < hd) {
#pragma unroll
        for (int k = 0; k < 8; k++) {
            bool in = d + k < hd;
            l[k] = __fmaf_rn(in ? a[d + k] : 0.0f, in ? x[d + k] : 0.0f, l[k]);
        }
    }
    float t0 = __fadd_rn(l[0], l[4]), t1 = __fadd_rn(l[1], l[5]);
    float t2 = __fadd_rn(l[2], l[6]), t3 = __fadd_rn(l[3], l[7]);
    return __fadd_rn(__fadd_rn(t0, t2), __fadd_rn(t1, t3));
}

static __device__ __forceinline__ float att_warp_max(float m) {
    for (int off = 16; off > 0; off >>= 1)
        m = fmaxf(m, __shfl_xor_sync(ATT_FULL, m, off));
    return m;
}

/* acc[k] (column lane + 32k) += c[r] * tile[r][column] for r in [r0, r1), in order. */
static __device__ __forceinline__ void att_wsum(float acc[4], const float *c, const float *tile,
                                                int r0, int r1, int hd, int lane) {
    for (int r = r0; r < r1; r++) {
        float cr = c[r];
        const float *x = tile + r * (hd + 1);
#pragma unroll
        for (int k = 0; k < 4; k++)
            if (lane + 32 * k < hd) acc[k] = __fmaf_rn(cr, x[lane + 32 * k], acc[k]);
    }
}

/* Forward of `nrows` query rows of sequence b = blockIdx.z, head h = blockIdx.y, rows
 * blockIdx.x * ATT_ROW_WARPS + warp, which sit at positions p0 + i after p0 cached keys and
 * values (p0 = 0: whole sequences). probs (NULL: not kept) is [B x H x nrows x (p0 + nrows)]. */
static __global__ void att_forward_kernel(float *out, float *probs, const float *qkv,
                                          const float *k_cache, const float *v_cache,
                                          int64_t cache_stride, int p0, int nrows, int H, int C,
                                          int causal, int local, float scale) {
    extern __shared__ float sm[];
    int hd = C / H, total = p0 + nrows;
    int w = threadIdx.x / 32, lane = threadIdx.x & 31, h = blockIdx.y;
    int64_t b = blockIdx.z, stride = 3 * (int64_t)C;
    float *tile = sm, *a = sm + ATT_TILE * (hd + 1) + w * hd;
    float *s = sm + ATT_TILE * (hd + 1) + ATT_ROW_WARPS * hd + (int64_t)w * total;
    const float *seq = qkv + b * nrows * stride + h * hd;
    att_rows keys = {k_cache ? k_cache + h * hd : NULL, cache_stride, seq + C, stride, p0};
    att_rows vals = {v_cache ? v_cache + h * hd : NULL, cache_stride, seq + 2 * C, stride, p0};
    int i0 = blockIdx.x * ATT_ROW_WARPS, i = i0 + w;
    bool live = i < nrows;
    int n = causal ? p0 + i + 1 : total; /* keys of this row */
    int last = i0 + ATT_ROW_WARPS < nrows ? i0 + ATT_ROW_WARPS : nrows;
    int kend = causal ? p0 + last : total; /* keys of the block's rows */
    for (int d = lane; d < hd; d += 32)
        a[d] = live ? seq[(int64_t)i * stride + d] : 0.0f;
    for (int j0 = 0; j0 < kend; j0 += ATT_TILE) { /* scores */
        __syncthreads();
        att_stage(tile, keys, j0, kend, hd);
        __syncthreads();
        int j = j0 + lane;
        if (live && j < n) s[j] = att_dot(a, tile + lane * (hd + 1), hd, local);
    }
    if (live) { /* softmax_row */
        float mx = -INFINITY;
        for (int j = lane; j < n; j += 32) {
            float x = __fmul_rn(s[j], scale);
            s[j] = x;
            mx = fmaxf(mx, x);
        }
        mx = att_warp_max(mx);
        for (int j = lane; j < n; j += 32)
            s[j] = cuda_exp(__fsub_rn(s[j], mx));
        __syncwarp();
        float sum = 0.0f;
        if (lane == 0)
            for (int j = 0; j < n; j++)
                sum = __fadd_rn(sum, s[j]);
        float inv = __fdiv_rn(1.0f, __shfl_sync(ATT_FULL, sum, 0));
        float *prow = probs ? probs + (((int64_t)b * H + h) * nrows + i) * total : NULL;
        for (int j = lane; j < total; j += 32) {
            float p = 0.0f;
            if (j < n) {
                p = __fmul_rn(s[j], inv);
                s[j] = p;
            }
            if (prow) prow[j] = p;
        }
    }
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j0 = 0; j0 < kend; j0 += ATT_TILE) { /* out = P V */
        __syncthreads();
        att_stage(tile, vals, j0, kend, hd);
        __syncthreads();
        int m = n - j0 < ATT_TILE ? n - j0 : ATT_TILE;
        if (live && m > 0) att_wsum(acc, s + j0, tile, 0, m, hd, lane);
    }
    if (!live) return;
    float *o = out + (b * nrows + i) * C + h * hd;
#pragma unroll
    for (int k = 0; k < 4; k++)
        if (lane + 32 * k < hd) o[lane + 32 * k] = acc[k];
}

/* Backward, row pass, one warp per query row i of (b, h) = (blockIdx.z, blockIdx.y): dP_ij =
 * dout_i . v_j, dot_i = sum_j P_ij dP_ij in j order (kept in dots), dS_ij = P_ij (dP_ij - dot_i)
 * scale, dq_i = sum_j dS_ij k_j (overwrites the q part of dqkv). */
static __global__ void att_backward_rows_kernel(float *dqkv, float *dots, const float *dout,
                                                const float *qkv, const float *probs, int T, int H,
                                                int C, int causal, int local, float scale) {
    extern __shared__ float sm[];
    int hd = C / H;
    int w = threadIdx.x / 32, lane = threadIdx.x & 31, h = blockIdx.y;
    int64_t b = blockIdx.z, stride = 3 * (int64_t)C, bh = b * H + h;
    float *tile = sm, *a = sm + ATT_TILE * (hd + 1) + w * hd;
    float *s = sm + ATT_TILE * (hd + 1) + ATT_ROW_WARPS * hd + (int64_t)w * T;
    float *p = sm + ATT_TILE * (hd + 1) + ATT_ROW_WARPS * hd + (int64_t)(ATT_ROW_WARPS + w) * T;
    const float *seq = qkv + b * T * stride + h * hd;
    att_rows keys = {NULL, 0, seq + C, stride, 0}, vals = {NULL, 0, seq + 2 * C, stride, 0};
    int i0 = blockIdx.x * ATT_ROW_WARPS, i = i0 + w;
    bool live = i < T;
    int n = causal ? i + 1 : T;
    int kend = causal ? (i0 + ATT_ROW_WARPS < T ? i0 + ATT_ROW_WARPS : T) : T;
    const float *prow = probs + (bh * T + (live ? i : 0)) * T;
    for (int d = lane; d < hd; d += 32)
        a[d] = live ? dout[(b * T + i) * C + h * hd + d] : 0.0f;
    for (int j0 = 0; j0 < kend; j0 += ATT_TILE) { /* dP */
        __syncthreads();
        att_stage(tile, vals, j0, kend, hd);
        __syncthreads();
        int j = j0 + lane;
        if (live && j < n) {
            s[j] = att_dot(a, tile + lane * (hd + 1), hd, local);
            p[j] = prow[j];
        }
    }
    if (live) { /* dot_i, then dS in place of dP */
        __syncwarp();
        float dot = 0.0f;
        if (lane == 0)
            for (int j = 0; j < n; j++)
                dot = __fadd_rn(dot, __fmul_rn(p[j], s[j]));
        dot = __shfl_sync(ATT_FULL, dot, 0);
        if (lane == 0) dots[bh * T + i] = dot;
        for (int j = lane; j < n; j += 32)
            s[j] = __fmul_rn(__fmul_rn(p[j], __fsub_rn(s[j], dot)), scale);
    }
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int j0 = 0; j0 < kend; j0 += ATT_TILE) { /* dq = dS K */
        __syncthreads();
        att_stage(tile, keys, j0, kend, hd);
        __syncthreads();
        int m = n - j0 < ATT_TILE ? n - j0 : ATT_TILE;
        if (live && m > 0) att_wsum(acc, s + j0, tile, 0, m, hd, lane);
    }
    if (!live) return;
    float *dq = dqkv + (b * T + i) * stride + h * hd;
#pragma unroll
    for (int k = 0; k < 4; k++)
        if (lane + 32 * k < hd) dq[lane + 32 * k] = acc[k];
}

/* Backward, key pass, one warp per key row j of (b, h): for the rows i that see key j (i >= j
 * when causal), in order, dS_ij formed again as the row pass formed it (dP_ij = v_j . dout_i,
 * the same products), then dk_j = sum_i dS_ij q_i and dv_j = sum_i P_ij dout_i (overwriting the
 * k and v parts of dqkv). The block's rows i are staged 32 at a time. */
static __global__ void att_backward_keys_kernel(float *dqkv, const float *dots, const float *dout,
                                                const float *qkv, const float *probs, int T, int H,
                                                int C, int causal, int local, float scale) {
    extern __shared__ float sm[];
    int hd = C / H;
    int w = threadIdx.x / 32, lane = threadIdx.x & 31, h = blockIdx.y;
    int64_t b = blockIdx.z, stride = 3 * (int64_t)C, bh = b * H + h;
    float *td = sm, *tq = td + ATT_TILE * (hd + 1);
    float *a = tq + ATT_TILE * (hd + 1) + w * hd;
    float *sd = tq + ATT_TILE * (hd + 1) + ATT_KEY_WARPS * hd + w * ATT_TILE;
    float *sp = sd + ATT_KEY_WARPS * ATT_TILE;
    const float *seq = qkv + b * T * stride + h * hd;
    att_rows douts = {NULL, 0, dout + b * T * C + h * hd, C, 0}, qs = {NULL, 0, seq, stride, 0};
    int j0 = blockIdx.x * ATT_KEY_WARPS, j = j0 + w;
    bool live = j < T;
    int lo = causal ? j : 0, lo_block = causal ? j0 : 0;
    const float *P = probs + bh * T * T, *dot = dots + bh * T;
    for (int d = lane; d < hd; d += 32)
        a[d] = live ? seq[(int64_t)j * stride + 2 * C + d] : 0.0f;
    float dk[4] = {0.0f, 0.0f, 0.0f, 0.0f}, dv[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int r0 = lo_block; r0 < T; r0 += ATT_TILE) {
        __syncthreads();
        att_stage(td, douts, r0, T, hd);
        att_stage(tq, qs, r0, T, hd);
        __syncthreads();
        int i = r0 + lane;
        if (live && i < T && i >= lo) {
            float dp = att_dot(a, td + lane * (hd + 1), hd, local);
            float pij = P[(int64_t)i * T + j];
            sd[lane] = __fmul_rn(__fmul_rn(pij, __fsub_rn(dp, dot[i])), scale);
            sp[lane] = pij;
        }
        __syncwarp();
        if (!live) continue;
        int rb = lo - r0 > 0 ? lo - r0 : 0, re = T - r0 < ATT_TILE ? T - r0 : ATT_TILE;
        att_wsum(dk, sd, tq, rb, re, hd, lane);
        att_wsum(dv, sp, td, rb, re, hd, lane);
    }
    if (!live) return;
    float *g = dqkv + (b * T + j) * stride + h * hd;
#pragma unroll
    for (int k = 0; k < 4; k++)
        if (lane + 32 * k < hd) {
            g[C + lane + 32 * k] = dk[k];
            g[2 * C + lane + 32 * k] = dv[k];
        }
}

/* Rejects what the kernels do not take: the CPU's limits, plus heads over ATT_MAX_HD columns
 * and more than 65535 sequences or heads (grid dimensions). */
static void att_check(int B, int T, int H, int C) {
    if (T <= 0 || T > KERN_ATTN_MAX_T || H <= 0 || C % H != 0 || C / H > ATT_MAX_HD || B > 65535 ||
        H > 65535)
        cuda_check_fail("attention", "unsupported shape (T <= 1024, C % H == 0, C / H <= 128)",
                        __FILE__, __LINE__);
}

/* The score path the CPU takes for sequences of T keys (local: the transposed block). */
static int att_local(int hd, int T) {
    return hd * ((T + 7) / 8 * 8) <= ATT_LOCAL_FLOATS;
}

/* Allows a kernel the dynamic shared memory it needs beyond the default 48 KiB. */
static void att_smem(const void *kernel, size_t bytes) {
    if (bytes > 48 * 1024)
        CUDA_CHECK(
            cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
}

static size_t att_row_smem(int hd, int total, int rows_arrays) {
    return sizeof(float) * ((size_t)ATT_TILE * (hd + 1) + (size_t)ATT_ROW_WARPS * hd +
                            (size_t)rows_arrays * ATT_ROW_WARPS * total);
}

extern "C" void kern_cuda_attention_forward(float *out, float *probs, const float *qkv, int B,
                                            int T, int H, int C, int causal) {
    att_check(B, T, H, C);
    if (B <= 0) return;
    int hd = C / H;
    float scale = 1.0f / sqrtf((float)hd);
    size_t smem = att_row_smem(hd, T, 1);
    att_smem((const void *)att_forward_kernel, smem);
    dim3 grid((unsigned)((T + ATT_ROW_WARPS - 1) / ATT_ROW_WARPS), (unsigned)H, (unsigned)B);
    att_forward_kernel<<<grid, ATT_ROW_WARPS * 32, smem, cuda_state.stream>>>(
        out, probs, qkv, NULL, NULL, 0, 0, T, H, C, causal, att_local(hd, T), scale);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_attention_cached_forward(float *out, const float *qkv, int n,
                                                   const float *k_cache, const float *v_cache,
                                                   int64_t cache_stride, int p0, int H, int C) {
    if (n <= 0 || p0 < 0)
        cuda_check_fail("attention (cached)", "bad shape (n > 0, p0 >= 0)", __FILE__, __LINE__);
    att_check(1, p0 + n, H, C);
    int hd = C / H, total = p0 + n;
    float scale = 1.0f / sqrtf((float)hd);
    size_t smem = att_row_smem(hd, total, 1);
    att_smem((const void *)att_forward_kernel, smem);
    dim3 grid((unsigned)((n + ATT_ROW_WARPS - 1) / ATT_ROW_WARPS), (unsigned)H, 1);
    att_forward_kernel<<<grid, ATT_ROW_WARPS * 32, smem, cuda_state.stream>>>(
        out, NULL, qkv, k_cache, v_cache, cache_stride, p0, n, H, C, 1, att_local(hd, total),
        scale);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                             const float *probs, int B, int T, int H, int C,
                                             int causal) {
    att_check(B, T, H, C);
    if (B <= 0) return;
    int hd = C / H, local = att_local(hd, T);
    float scale = 1.0f / sqrtf((float)hd);
    float *dots =
        (float *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(float) * (size_t)B * H * (size_t)T);
    size_t smem_rows = att_row_smem(hd, T, 2);
    att_smem((const void *)att_backward_rows_kernel, smem_rows);
    dim3 grid_rows((unsigned)((T + ATT_ROW_WARPS - 1) / ATT_ROW_WARPS), (unsigned)H, (unsigned)B);
    att_backward_rows_kernel<<<grid_rows, ATT_ROW_WARPS * 32, smem_rows, cuda_state.stream>>>(
        dqkv, dots, dout, qkv, probs, T, H, C, causal, local, scale);
    CUDA_LAUNCH_CHECK();
    size_t smem_keys = sizeof(float) * (2 * (size_t)ATT_TILE * (hd + 1) +
                                        (size_t)ATT_KEY_WARPS * hd + 2 * ATT_KEY_WARPS * ATT_TILE);
    att_smem((const void *)att_backward_keys_kernel, smem_keys);
    dim3 grid_keys((unsigned)((T + ATT_KEY_WARPS - 1) / ATT_KEY_WARPS), (unsigned)H, (unsigned)B);
    att_backward_keys_kernel<<<grid_keys, ATT_KEY_WARPS * 32, smem_keys, cuda_state.stream>>>(
        dqkv, dots, dout, qkv, probs, T, H, C, causal, local, scale);
    CUDA_LAUNCH_CHECK();
}
