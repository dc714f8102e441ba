/* rope_smear.cu - rotary position embedding and smeared keys on a qkv buffer on the device
 * (kern_cuda_rope_*, kern_cuda_smear_keys_* of kernels.h; the CPU references are
 * kernels/cpu/attention.c's rope_apply and kernels/cpu/smear.c).
 *
 * RoPE is elementwise over the (row, part, head, pair) rotations, the CPU's operations one at a
 * time: the same bits. Smeared keys: the forward copies the raw keys to kraw, then mixes each
 * key with the raw key before it, reading kraw only (so the in-place update has no order); the
 * backward copies the key gradients aside the same way. The mix's gradient sums one head's
 * float dot products (each formed in column order, as the CPU does) in double: fixed chunks of
 * the (sequence, position) terms in order, then the chunks in order, the CPU's order whenever a
 * chunk holds one term. The mix s = 1 / (1 + expf(-alpha)) uses the device's expf (within 2 ulp
 * of the CPU's), the one place these kernels may differ from the CPU's bits.
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/kernels.h"

#define RS_THREADS 256
#define RS_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */
#define SMEAR_PARTS 1024        /* partial sums per head of the mix's gradient */

static unsigned rs_grid(int64_t n) {
    int64_t b = (n + RS_THREADS - 1) / RS_THREADS;
    return (unsigned)(b > RS_MAX_BLOCKS ? RS_MAX_BLOCKS : b);
}

/* One rotation per thread: pair i of head h in part (q or k) of row r, at position t = r % T,
 * by the angle whose cos, sin are tabulated at t * hd/2 + i; sign -1 rotates back. */
static __global__ void rope_kernel(float *qkv, const float *cos_tab, const float *sin_tab,
                                   int64_t rows, int T, int H, int C, float sign) {
    int hd = C / H, half = hd / 2, per_part = H * half;
    int64_t per_row = 2 * (int64_t)per_part, total = rows * per_row;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e / per_row;
        int q = (int)(e - r * per_row);
        int part = q / per_part, pq = q - part * per_part;
        int h = pq / half, i = pq - h * half;
        int t = (int)(r % T);
        float *x = qkv + r * 3 * (int64_t)C + part * (int64_t)C + h * hd + 2 * i;
        float c = cos_tab[(int64_t)t * half + i], s = sign * sin_tab[(int64_t)t * half + i];
        float x0 = x[0], x1 = x[1];
        x[0] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
        x[1] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
    }
}

/* The mix of head h: 1 / (1 + exp(-alpha)). */
static __device__ __forceinline__ float smear_mix(float alpha) {
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, expf(-alpha)));
}

/* dst[r][c] = src[r * 3C + C + c]: the k part of a qkv-shaped buffer, row by row. */
static __global__ void copy_keys_kernel(float *dst, const float *src, int64_t rows, int C) {
    int64_t total = rows * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e / C;
        int c = (int)(e - r * C);
        dst[e] = src[r * 3 * (int64_t)C + C + c];
    }
}

/* k'_t = s k_t + (1 - s) k_{t-1} from the raw keys; row 0 of a sequence mixes with k_before
 * when given (B == 1), else keeps its key. */
static __global__ void smear_forward_kernel(float *qkv, const float *kraw, const float *alpha,
                                            int64_t rows, int T, int C, int hd,
                                            const float *k_before) {
    int64_t total = rows * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e / C;
        int c = (int)(e - r * C);
        int t = (int)(r % T);
        const float *prev = t > 0 ? kraw + (r - 1) * C : k_before;
        if (!prev) continue;
        float s = smear_mix(alpha[c / hd]), rest = __fsub_rn(1.0f, s);
        qkv[r * 3 * (int64_t)C + C + c] =
            __fadd_rn(__fmul_rn(s, kraw[e]), __fmul_rn(rest, prev[c]));
    }
}

/* part[h][p] = sum in order over the terms of chunk p of head h, in double, of the float dot
 * (k_t - k_{t-1}) . dk'_t over the head's columns (formed in column order); the terms are
 * (b, t >= 1) in order, numbered k = b * (T-1) + t - 1. dk: the saved key gradients [rows x C]. */
static __global__ void smear_alpha_partials_kernel(double *part, const float *dk, const float *kraw,
                                                   int B, int T, int H, int C, int64_t chunk) {
    int hd = C / H;
    int64_t n_terms = (int64_t)B * (T - 1);
    int64_t total = (int64_t)H * SMEAR_PARTS;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int h = (int)(e / SMEAR_PARTS);
        int64_t p = e - (int64_t)h * SMEAR_PARTS;
        int64_t k0 = p * chunk < n_terms ? p * chunk : n_terms;
        int64_t k1 = k0 + chunk < n_terms ? k0 + chunk : n_terms;
        double acc = 0.0;
        for (int64_t k = k0; k < k1; k++) {
            int64_t b = k / (T - 1);
            int64_t r = b * T + (k - b * (T - 1)) + 1;
            const float *g = dk + r * C, *kr = kraw + r * C, *kp = kr - C;
            float dot = 0.0f;
            for (int d = h * hd; d < (h + 1) * hd; d++)
                dot = __fadd_rn(dot, __fmul_rn(__fsub_rn(kr[d], kp[d]), g[d]));
            acc = __dadd_rn(acc, (double)dot);
        }
        part[e] = acc;
    }
}

/* dalpha[h] += (float)(s (1 - s) * sum of the head's partials in order). */
static __global__ void smear_alpha_finish_kernel(float *dalpha, const double *part,
                                                 const float *alpha, int H) {
    for (int h = blockIdx.x * blockDim.x + threadIdx.x; h < H; h += gridDim.x * blockDim.x) {
        double acc = 0.0;
        for (int p = 0; p < SMEAR_PARTS; p++)
            acc = __dadd_rn(acc, part[(int64_t)h * SMEAR_PARTS + p]);
        float s = smear_mix(alpha[h]);
        double f = __dmul_rn(__dmul_rn((double)s, (double)__fsub_rn(1.0f, s)), acc);
        dalpha[h] = __fadd_rn(dalpha[h], __double2float_rn(f));
    }
}

/* dk_t = own dk'_t + ((1 - s) dk'_{t+1}, or 0 at the sequence's end), own = s (1 at t = 0),
 * from the saved dk'. */
static __global__ void smear_backward_kernel(float *dqkv, const float *dk, const float *alpha,
                                             int64_t rows, int T, int C, int hd) {
    int64_t total = rows * C;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = e / C;
        int c = (int)(e - r * C);
        int t = (int)(r % T);
        float s = smear_mix(alpha[c / hd]), rest = __fsub_rn(1.0f, s), own = t > 0 ? s : 1.0f;
        float nxt = t + 1 < T ? __fmul_rn(rest, dk[e + C]) : 0.0f;
        dqkv[r * 3 * (int64_t)C + C + c] = __fadd_rn(__fmul_rn(own, dk[e]), nxt);
    }
}

static void rope_apply(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H,
                       int C, float sign) {
    int64_t rows = (int64_t)B * T, pairs = rows * 2 * H * (C / H / 2);
    if (pairs <= 0) return;
    rope_kernel<<<rs_grid(pairs), RS_THREADS, 0, cuda_state.stream>>>(qkv, cos_tab, sin_tab, rows,
                                                                      T, H, C, sign);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_rope_forward(float *qkv, const float *cos_tab, const float *sin_tab,
                                       int B, int T, int H, int C) {
    rope_apply(qkv, cos_tab, sin_tab, B, T, H, C, 1.0f);
}

extern "C" void kern_cuda_rope_backward(float *dqkv, const float *cos_tab, const float *sin_tab,
                                        int B, int T, int H, int C) {
    rope_apply(dqkv, cos_tab, sin_tab, B, T, H, C, -1.0f);
}

extern "C" void kern_cuda_smear_keys_forward(float *qkv, float *kraw, const float *alpha, int B,
                                             int T, int H, int C, const float *k_before) {
    int64_t rows = (int64_t)B * T;
    if (rows <= 0 || C <= 0) return;
    copy_keys_kernel<<<rs_grid(rows * C), RS_THREADS, 0, cuda_state.stream>>>(kraw, qkv, rows, C);
    CUDA_LAUNCH_CHECK();
    smear_forward_kernel<<<rs_grid(rows * C), RS_THREADS, 0, cuda_state.stream>>>(
        qkv, kraw, alpha, rows, T, C, C / H, k_before);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_smear_keys_backward(float *dqkv, float *dalpha, const float *kraw,
                                              const float *alpha, int B, int T, int H, int C) {
    int64_t rows = (int64_t)B * T;
    if (rows <= 0 || C <= 0) return;
    /* the saved key gradients [rows x C], then the partial sums [H x SMEAR_PARTS] */
    size_t dk_bytes = (sizeof(float) * (size_t)(rows * C) + 255) / 256 * 256;
    char *s = (char *)cuda_scratch(CUDA_SCRATCH_PARTIAL,
                                   dk_bytes + sizeof(double) * (size_t)H * SMEAR_PARTS);
    float *dk = (float *)s;
    double *part = (double *)(s + dk_bytes);
    copy_keys_kernel<<<rs_grid(rows * C), RS_THREADS, 0, cuda_state.stream>>>(dk, dqkv, rows, C);
    CUDA_LAUNCH_CHECK();
    int64_t n_terms = (int64_t)B * (T - 1);
    int64_t chunk = (n_terms + SMEAR_PARTS - 1) / SMEAR_PARTS;
    smear_alpha_partials_kernel<<<rs_grid((int64_t)H * SMEAR_PARTS), RS_THREADS, 0,
                                  cuda_state.stream>>>(part, dk, kraw, B, T, H, C, chunk);
    CUDA_LAUNCH_CHECK();
    smear_alpha_finish_kernel<<<rs_grid(H), RS_THREADS, 0, cuda_state.stream>>>(dalpha, part, alpha,
                                                                                H);
    CUDA_LAUNCH_CHECK();
    smear_backward_kernel<<<rs_grid(rows * C), RS_THREADS, 0, cuda_state.stream>>>(
        dqkv, dk, alpha, rows, T, C, C / H);
    CUDA_LAUNCH_CHECK();
}
