/* attention.c - multi-head scaled dot-product attention (causal or bidirectional) and rotary
 * position embedding, forward and backward, for short sequences.
 *
 * One task = one (sequence, head): it computes the T x T probabilities, the head's output and,
 * backward, the head's dq, dk, dv columns in dqkv, which no other task touches. Work is
 * O(T^2 hd) per task; dot products and axpys use 8-lane FMA in a fixed order.
 */
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

#include "common/error.h"
#include "kernels/cpu/simd.h"

static void check_shape(int T, int H, int C) {
    if (T <= 0 || T > KERN_ATTN_MAX_T || H <= 0 || C % H != 0)
        micl_fatal("attention: bad shape T=%d H=%d C=%d", T, H, C);
}

/* Row i of probs: softmax of scaled scores q_i . k_j over j < n (n = i+1 if causal). */
static void attn_row_probs(float *p, const float *qi, const float *k0, int64_t stride, int n,
                           int T, int hd, float scale) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        float s = simd_dot(qi, k0 + j * stride, hd) * scale;
        p[j] = s;
        mx = s > mx ? s : mx;
    }
    for (int j = 0; j < n; j++) p[j] -= mx;
    kern_exp_inplace(p, n);
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += p[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < n; j++) p[j] *= inv;
    for (int j = n; j < T; j++) p[j] = 0.0f;
}

void kern_attention_forward(float *out, float *probs, const float *qkv, int B, int T, int H,
                            int C, int causal) {
    check_shape(T, H, C);
    int hd = C / H;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < (int64_t)B * H; bh++) {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        const float *k0 = base + C, *v0 = base + 2 * C;
        float *P = probs + bh * T * T;
        for (int i = 0; i < T; i++) {
            int n = causal ? i + 1 : T;
            float *p = P + (int64_t)i * T;
            attn_row_probs(p, base + i * stride, k0, stride, n, T, hd, scale);
            float *o = out + (b * T + i) * C + h * hd;
            memset(o, 0, sizeof(float) * (size_t)hd);
            for (int j = 0; j < n; j++) simd_axpy(o, p[j], v0 + j * stride, hd);
        }
    }
}

void kern_attention_backward(float *dqkv, const float *dout, const float *qkv,
                             const float *probs, int B, int T, int H, int C, int causal) {
    check_shape(T, H, C);
    int hd = C / H;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < (int64_t)B * H; bh++) {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        float *dbase = dqkv + b * T * stride + h * hd;
        const float *P = probs + bh * T * T;
        float ds[KERN_ATTN_MAX_T];
        for (int j = 0; j < T; j++) {
            memset(dbase + j * stride + C, 0, sizeof(float) * (size_t)hd);
            memset(dbase + j * stride + 2 * C, 0, sizeof(float) * (size_t)hd);
        }
        for (int i = 0; i < T; i++) {
            int n = causal ? i + 1 : T;
            const float *p = P + (int64_t)i * T;
            const float *doi = dout + (b * T + i) * C + h * hd;
            const float *qi = base + i * stride;
            float dot = 0.0f;
            for (int j = 0; j < n; j++) {
                ds[j] = simd_dot(doi, base + j * stride + 2 * C, hd); /* dP_ij */
                dot += p[j] * ds[j];
            }
            float *dqi = dbase + i * stride;
            memset(dqi, 0, sizeof(float) * (size_t)hd);
            for (int j = 0; j < n; j++) {
                float d = p[j] * (ds[j] - dot) * scale;
                simd_axpy(dqi, d, base + j * stride + C, hd);
                simd_axpy(dbase + j * stride + C, d, qi, hd);
                simd_axpy(dbase + j * stride + 2 * C, p[j], doi, hd);
            }
        }
    }
}

/* Rotates (x[2i], x[2i+1]) of every head in the first `parts` blocks of C columns (q, k) by
 * the angle at position t; sign = +1 forward, -1 for the inverse (backward) rotation. */
static void rope_apply(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T,
                       int H, int C, float sign) {
    int hd = C / H, half = hd / 2;
    int64_t rows = (int64_t)B * T, stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        int t = (int)(r % T);
        const float *cs = cos_tab + (int64_t)t * half, *sn = sin_tab + (int64_t)t * half;
        for (int part = 0; part < 2; part++)
            for (int h = 0; h < H; h++) {
                float *x = qkv + r * stride + part * C + h * hd;
                for (int i = 0; i < half; i++) {
                    float x0 = x[2 * i], x1 = x[2 * i + 1];
                    float c = cs[i], s = sign * sn[i];
                    x[2 * i] = x0 * c - x1 * s;
                    x[2 * i + 1] = x0 * s + x1 * c;
                }
            }
    }
}

void kern_rope_forward(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T,
                       int H, int C) {
    rope_apply(qkv, cos_tab, sin_tab, B, T, H, C, 1.0f);
}

void kern_rope_backward(float *dqkv, const float *cos_tab, const float *sin_tab, int B, int T,
                        int H, int C) {
    rope_apply(dqkv, cos_tab, sin_tab, B, T, H, C, -1.0f);
}
