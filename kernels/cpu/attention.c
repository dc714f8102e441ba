/* attention.c - multi-head scaled dot-product attention (causal or bidirectional) and rotary
 * position embedding, forward and backward, for short sequences.
 *
 * One task = one (sequence, head): it computes the T x T probabilities, the head's output and,
 * backward, the head's dq, dk, dv columns in dqkv, which no other task touches. Work is
 * O(T^2 hd) per task. Scores come from a transposed copy of the head's keys (values, for dP)
 * so that 8 scores are formed at once without horizontal sums; heads too large for the 64 KiB
 * local copy use 8-lane dot products. Both orders are fixed by the shape alone.
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

/* Keys (or values) of one head, transposed into t[d * tp + j] (zero-padded to tp columns),
 * so that a row of scores is a sum over d of broadcast(q[d]) * t[d][j..j+8). */
#define ATTN_LOCAL_FLOATS 8192 /* 32 KiB: larger heads use the dot-product path */
#define ATTN_SMALL_T 64        /* longest T whose dS matrix is kept locally */

static void transpose_head(float *t, const float *x0, int64_t stride, int T, int tp, int hd) {
    for (int d = 0; d < hd; d++) {
        for (int j = 0; j < T; j++)
            t[d * tp + j] = x0[j * stride + d];
        for (int j = T; j < tp; j++)
            t[d * tp + j] = 0.0f;
    }
}

/* s[j] = a . x_j for j < n: from the transposed block xt if given, else by dot products. */
static void row_dots(float *s, const float *a, const float *xt, int tp, const float *x0,
                     int64_t stride, int n, int hd) {
    if (!xt) {
        for (int j = 0; j < n; j++)
            s[j] = simd_dot(a, x0 + j * stride, hd);
        return;
    }
    int nb = (n + 7) / 8;
    __m256 acc[KERN_ATTN_MAX_T / 8];
    for (int jb = 0; jb < nb; jb++)
        acc[jb] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d++) {
        __m256 ad = _mm256_set1_ps(a[d]);
        const float *row = xt + d * tp;
        for (int jb = 0; jb < nb; jb++)
            acc[jb] = _mm256_fmadd_ps(ad, _mm256_loadu_ps(row + 8 * jb), acc[jb]);
    }
    for (int jb = 0; jb < nb; jb++)
        _mm256_storeu_ps(s + 8 * jb, acc[jb]);
}

/* Row of probs: softmax of scale * s[j] over j < n, zero for n <= j < T. */
static void softmax_row(float *p, const float *s, int n, int T, float scale) {
    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        p[j] = s[j] * scale;
        mx = p[j] > mx ? p[j] : mx;
    }
    for (int j = 0; j < n; j++)
        p[j] -= mx;
    kern_exp_inplace(p, n);
    float sum = 0.0f;
    for (int j = 0; j < n; j++)
        sum += p[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < n; j++)
        p[j] *= inv;
    for (int j = n; j < T; j++)
        p[j] = 0.0f;
}

/* out[0..hd) = sum over r in [r0, r1) of c[r * cstride] * x0[r * xstride + 0..hd), with the
 * hd/8 accumulators kept in registers (one store per output row). With `cont` the sum
 * continues from the partial sum already in out (a stored float reloads exactly, so a sum split
 * into two ranges gives the same bits as one). */
static inline __attribute__((always_inline)) void wsum_nv(float *out, const float *c,
                                                          int64_t cstride, const float *x0,
                                                          int64_t xstride, int r0, int r1,
                                                          const int nv, int cont) {
    __m256 acc[8];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
        acc[v] = cont ? _mm256_loadu_ps(out + 8 * v) : _mm256_setzero_ps();
    for (int r = r0; r < r1; r++) {
        __m256 cr = _mm256_set1_ps(c[r * cstride]);
        const float *x = x0 + r * xstride;
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            acc[v] = _mm256_fmadd_ps(cr, _mm256_loadu_ps(x + 8 * v), acc[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
        _mm256_storeu_ps(out + 8 * v, acc[v]);
}

static void weighted_sum_cont(float *out, const float *c, int64_t cstride, const float *x0,
                              int64_t xstride, int r0, int r1, int hd, int cont) {
    switch (hd) {
    case 8:
        wsum_nv(out, c, cstride, x0, xstride, r0, r1, 1, cont);
        return;
    case 16:
        wsum_nv(out, c, cstride, x0, xstride, r0, r1, 2, cont);
        return;
    case 32:
        wsum_nv(out, c, cstride, x0, xstride, r0, r1, 4, cont);
        return;
    case 64:
        wsum_nv(out, c, cstride, x0, xstride, r0, r1, 8, cont);
        return;
    default:
        if (!cont) memset(out, 0, sizeof(float) * (size_t)hd);
        for (int r = r0; r < r1; r++)
            simd_axpy(out, c[r * cstride], x0 + r * xstride, hd);
    }
}

static void weighted_sum(float *out, const float *c, int64_t cstride, const float *x0,
                         int64_t xstride, int r0, int r1, int hd) {
    weighted_sum_cont(out, c, cstride, x0, xstride, r0, r1, hd, 0);
}

void kern_attention_forward(float *out, float *probs, const float *qkv, int B, int T, int H, int C,
                            int causal) {
    check_shape(T, H, C);
    int hd = C / H, tp = (T + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < (int64_t)B * H; bh++) {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        const float *k0 = base + C, *v0 = base + 2 * C;
        float *P = probs + bh * T * T;
        float kt[ATTN_LOCAL_FLOATS], s[KERN_ATTN_MAX_T];
        if (local) transpose_head(kt, k0, stride, T, tp, hd);
        for (int i = 0; i < T; i++) {
            int n = causal ? i + 1 : T;
            float *p = P + (int64_t)i * T;
            row_dots(s, base + i * stride, local ? kt : NULL, tp, k0, stride, n, hd);
            softmax_row(p, s, n, T, scale);
            weighted_sum(out + (b * T + i) * C + h * hd, p, 1, v0, stride, 0, n, hd);
        }
    }
}

/* ---- attention of new rows over a cache of earlier keys and values ---- */

/* The keys of one head over both segments (cached rows, then new rows), as one sequence. */
typedef struct {
    const float *cache, *fresh; /* head's first column in the cached and in the new rows */
    int64_t cstride, fstride;
    int p0; /* cached rows */
} kv_segments_t;

static const float *seg_row(const kv_segments_t *s, int j) {
    return j < s->p0 ? s->cache + j * s->cstride : s->fresh + (j - s->p0) * s->fstride;
}

static void transpose_segments(float *t, const kv_segments_t *s, int T, int tp, int hd) {
    for (int d = 0; d < hd; d++) {
        for (int j = 0; j < T; j++)
            t[d * tp + j] = seg_row(s, j)[d];
        for (int j = T; j < tp; j++)
            t[d * tp + j] = 0.0f;
    }
}

/* One head: scores, softmax and weighted sum of values for the new rows, in the order and with
 * the arithmetic of kern_attention_forward (same row_dots path for the same key count). */
static void cached_head(float *out_h, int64_t C, const float *q0, int64_t qstride,
                        const kv_segments_t *ks, const kv_segments_t *vs, int n, int hd,
                        float scale, int local) {
    int T = ks->p0 + n, tp = (T + 7) / 8 * 8;
    float kt[ATTN_LOCAL_FLOATS], s[KERN_ATTN_MAX_T], p[KERN_ATTN_MAX_T];
    if (local) transpose_segments(kt, ks, T, tp, hd);
    for (int i = 0; i < n; i++) {
        int cnt = ks->p0 + i + 1;
        const float *q = q0 + i * qstride;
        if (local) {
            row_dots(s, q, kt, tp, NULL, 0, cnt, hd);
        } else {
            for (int j = 0; j < cnt; j++)
                s[j] = simd_dot(q, seg_row(ks, j), hd);
        }
        softmax_row(p, s, cnt, cnt, scale);
        float *o = out_h + i * C;
        int split = vs->p0 < cnt ? vs->p0 : cnt;
        weighted_sum_cont(o, p, 1, vs->cache, vs->cstride, 0, split, hd, 0);
        weighted_sum_cont(o, p + vs->p0, 1, vs->fresh, vs->fstride, 0, cnt - split, hd, split > 0);
    }
}

void kern_attention_cached_forward(float *out, const float *qkv, int n, const float *k_cache,
                                   const float *v_cache, int64_t cache_stride, int p0, int H,
                                   int C) {
    if (n <= 0 || p0 < 0) micl_fatal("attention (cached): bad shape n=%d p0=%d", n, p0);
    check_shape(p0 + n, H, C);
    int hd = C / H, tp = (p0 + n + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(dynamic, 1)
    for (int h = 0; h < H; h++) {
        kv_segments_t ks = {k_cache + h * hd, qkv + C + h * hd, cache_stride, stride, p0};
        kv_segments_t vs = {v_cache + h * hd, qkv + 2 * C + h * hd, cache_stride, stride, p0};
        cached_head(out + h * hd, C, qkv + h * hd, stride, &ks, &vs, n, hd, scale, local);
    }
}

/* Backward of one (sequence, head) for T <= ATTN_SMALL_T: the T x T matrix dS is kept
 * locally, then dq = dS k, dk = dS^T q and dv = P^T dout are formed row by row in registers. */
static void attn_backward_small(float *dbase, const float *dout_h, int64_t C, const float *base,
                                const float *P, int T, int hd, int causal, float scale,
                                const float *vt, int tp) {
    int64_t stride = 3 * C;
    const float *k0 = base + C, *v0 = base + 2 * C;
    float dS[ATTN_SMALL_T * ATTN_SMALL_T];
    for (int i = 0; i < T; i++) {
        int n = causal ? i + 1 : T;
        const float *p = P + (int64_t)i * T;
        float *ds = dS + i * T;
        row_dots(ds, dout_h + i * C, vt, tp, v0, stride, n, hd); /* dP_ij */
        float dot = 0.0f;
        for (int j = 0; j < n; j++)
            dot += p[j] * ds[j];
        for (int j = 0; j < n; j++)
            ds[j] = p[j] * (ds[j] - dot) * scale;
        for (int j = n; j < T; j++)
            ds[j] = 0.0f;
    }
    for (int i = 0; i < T; i++) {
        int n = causal ? i + 1 : T;
        weighted_sum(dbase + i * stride, dS + i * T, 1, k0, stride, 0, n, hd); /* dq */
    }
    for (int j = 0; j < T; j++) {
        int i0 = causal ? j : 0;
        weighted_sum(dbase + j * stride + C, dS + j, T, base, stride, i0, T, hd); /* dk */
        weighted_sum(dbase + j * stride + 2 * C, P + j, T, dout_h, C, i0, T, hd); /* dv */
    }
}

/* Backward of one (sequence, head) for any T: row by row, dk and dv accumulated in place. */
static void attn_backward_rows(float *dbase, const float *dout_h, int64_t C, const float *base,
                               const float *P, int T, int hd, int causal, float scale,
                               const float *vt, int tp) {
    int64_t stride = 3 * C;
    const float *v0 = base + 2 * C;
    float ds[KERN_ATTN_MAX_T];
    for (int j = 0; j < T; j++) {
        memset(dbase + j * stride + C, 0, sizeof(float) * (size_t)hd);
        memset(dbase + j * stride + 2 * C, 0, sizeof(float) * (size_t)hd);
    }
    for (int i = 0; i < T; i++) {
        int n = causal ? i + 1 : T;
        const float *p = P + (int64_t)i * T;
        const float *doi = dout_h + i * C;
        const float *qi = base + i * stride;
        row_dots(ds, doi, vt, tp, v0, stride, n, hd); /* dP_ij */
        float dot = 0.0f;
        for (int j = 0; j < n; j++)
            dot += p[j] * ds[j];
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

void kern_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs,
                             int B, int T, int H, int C, int causal) {
    check_shape(T, H, C);
    int hd = C / H, tp = (T + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t bh = 0; bh < (int64_t)B * H; bh++) {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        float *dbase = dqkv + b * T * stride + h * hd;
        const float *dout_h = dout + b * T * C + h * hd;
        const float *P = probs + bh * T * T;
        float vt[ATTN_LOCAL_FLOATS];
        if (local) transpose_head(vt, base + 2 * C, stride, T, tp, hd);
        if (T <= ATTN_SMALL_T)
            attn_backward_small(dbase, dout_h, C, base, P, T, hd, causal, scale, local ? vt : NULL,
                                tp);
        else
            attn_backward_rows(dbase, dout_h, C, base, P, T, hd, causal, scale, local ? vt : NULL,
                               tp);
    }
}

/* Rotates (x[2i], x[2i+1]) of every head in the first `parts` blocks of C columns (q, k) by
 * the angle at position t; sign = +1 forward, -1 for the inverse (backward) rotation. */
static void rope_apply(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H,
                       int C, float sign) {
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

void kern_rope_forward(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H,
                       int C) {
    rope_apply(qkv, cos_tab, sin_tab, B, T, H, C, 1.0f);
}

void kern_rope_backward(float *dqkv, const float *cos_tab, const float *sin_tab, int B, int T,
                        int H, int C) {
    rope_apply(dqkv, cos_tab, sin_tab, B, T, H, C, -1.0f);
}
