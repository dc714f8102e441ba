/* attention.c - multi-head scaled dot-product attention (causal or bidirectional) and rotary
 * position embedding, forward and backward, for short sequences.
 *
 * One task = one (sequence, head): it computes the T x T probabilities, the head's output and,
 * backward, the head's dq, dk, dv columns in dqkv, which no other task touches. Work is
 * O(T^2 hd) per task. Scores come from a transposed copy of the head's keys (values, for dP)
 * so that 8 scores are formed at once without horizontal sums, up to 64 per pass with their sums
 * in registers; heads too large for the 64 KiB local copy use 8-lane dot products. Short heads
 * (8 or 16 wide) form two weighted sums side by side, so that two FMA chains run instead of one.
 * Every sum keeps one order fixed by the shape alone, so these arrangements change no bit.
 * On AVX-512, heads of 16 positions by 16 columns without a mask (the image encoder's) run
 * whole in 16-lane registers, with the same operations in the same orders.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

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
    int d0 = 0;
    for (; d0 + 8 <= hd; d0 += 8) /* 8 x 8 blocks in registers; rows past T are zeros */
        for (int j0 = 0; j0 < tp; j0 += 8)
            simd_copy_transposed8(t + d0 * tp + j0, tp, x0 + j0 * stride + d0, stride, T - j0);
    for (int d = d0; d < hd; d++) {
        for (int j = 0; j < T; j++)
            t[d * tp + j] = x0[j * stride + d];
        for (int j = T; j < tp; j++)
            t[d * tp + j] = 0.0f;
    }
}

/* out[0..hd) = sum over r in [r0, r1) of c[r * cstride] * x0[r * xstride + 0..hd), with the
 * hd/8 accumulators kept in registers (one store per output row). With `cont` the sum
 * continues from the partial sum already in out (a stored float reloads exactly, so a sum split
 * into two ranges gives the same bits as one). */
static inline __attribute__((always_inline)) void wsum_nv(float *out, const float *c,
                                                          int64_t cstride, const float *x0,
                                                          int64_t xstride, int r0, int r1,
                                                          const int nv, int cont) {
    vf8 acc[8];
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
        acc[v] = cont ? vf8_loadu(out + 8 * v) : vf8_zero();
    for (int r = r0; r < r1; r++) {
        vf8 cr = vf8_set1(c[r * cstride]);
        const float *x = x0 + r * xstride;
#pragma GCC unroll 8
        for (int v = 0; v < nv; v++)
            acc[v] = vf8_fmadd(cr, vf8_loadu(x + 8 * v), acc[v]);
    }
#pragma GCC unroll 8
    for (int v = 0; v < nv; v++)
        vf8_storeu(out + 8 * v, acc[v]);
}

/* Scores s[8 v + l] = sum over d of a[d] xt[d * tp + 8 v + l] for nb <= 8 blocks of 8 keys:
 * wsum_nv over the rows of the transposed keys, with the block count a constant so that the
 * accumulators stay in registers (an array indexed by a run-time count would live on the
 * stack, one load and store per FMA). */
#define DOTS_OF(nb)                                                                                \
    static void dots_##nb(float *s, const float *a, const float *xt, int tp, int hd) {             \
        wsum_nv(s, a, 1, xt, tp, 0, hd, nb, 0);                                                    \
    }
DOTS_OF(1)
DOTS_OF(2)
DOTS_OF(3)
DOTS_OF(4)
DOTS_OF(5)
DOTS_OF(6)
DOTS_OF(7)
DOTS_OF(8)
#undef DOTS_OF
static void (*const dots_of_blocks[9])(float *, const float *, const float *, int, int) = {
    NULL, dots_1, dots_2, dots_3, dots_4, dots_5, dots_6, dots_7, dots_8};

/* s[j] = a . x_j for j < n: from the transposed block xt if given, else by dot products. Each
 * s[j] is summed over d in order, whichever group of blocks it falls in. */
static void row_dots(float *s, const float *a, const float *xt, int tp, const float *x0,
                     int64_t stride, int n, int hd) {
    if (!xt) {
        for (int j = 0; j < n; j++)
            s[j] = simd_dot(a, x0 + j * stride, hd);
        return;
    }
    int nb = (n + 7) / 8;
    for (int jb = 0; jb < nb; jb += 8)
        dots_of_blocks[nb - jb < 8 ? nb - jb : 8](s + 8 * jb, a, xt + 8 * jb, tp, hd);
}

/* Row of probs: softmax of scale * s[j] over j < n, zero for n <= j < T. The elementwise steps
 * run 8 lanes at a time (the same operations on each element as one at a time); the sum runs
 * in j order. */
static void softmax_row(float *p, const float *s, int n, int T, float scale) {
    vf8 vscale = vf8_set1(scale), vmx = vf8_set1(-INFINITY);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        vf8 x = vf8_mul(vf8_loadu(s + j), vscale);
        vf8_storeu(p + j, x);
        vmx = vf8_max(vmx, x);
    }
    float lanes[8], mx = -INFINITY;
    vf8_storeu(lanes, vmx);
    for (int l = 0; l < 8; l++)
        mx = lanes[l] > mx ? lanes[l] : mx;
    for (; j < n; j++) {
        p[j] = s[j] * scale;
        mx = p[j] > mx ? p[j] : mx;
    }
    vf8 vm = vf8_set1(mx);
    for (j = 0; j + 8 <= n; j += 8)
        vf8_storeu(p + j, simd_exp(vf8_sub(vf8_loadu(p + j), vm)));
    if (j < n)
        simd_store_partial(p + j, simd_exp(vf8_sub(simd_load_partial(p + j, n - j), vm)), n - j);
    float sum = 0.0f;
    for (j = 0; j < n; j++)
        sum += p[j];
    float inv = 1.0f / sum;
    vf8 vinv = vf8_set1(inv);
    for (j = 0; j + 8 <= n; j += 8)
        vf8_storeu(p + j, vf8_mul(vf8_loadu(p + j), vinv));
    for (; j < n; j++)
        p[j] *= inv;
    for (j = n; j < T; j++)
        p[j] = 0.0f;
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

/* One weighted sum of weighted_sum's: out = sum over r in [r0, r1) of c[r * cs] x[r * xs]. */
typedef struct {
    float *out;
    const float *c, *x;
    int64_t cs, xs;
    int r1;
} wsum_t;

/* Two weighted sums from the same r0, with nv <= 2 vectors each (short heads, whose lone sums
 * would wait on one or two FMA chains): their rows are interleaved over the common range, then
 * the longer one finishes alone (wsum_nv continuing from its stored sum). Each sum still runs in
 * r order from zero: the bits of weighted_sum. */
static inline __attribute__((always_inline)) void wsum_pair_nv(const wsum_t *A, const wsum_t *B,
                                                               int r0, const int nv) {
    vf8 a[2], b[2];
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
        a[v] = b[v] = vf8_zero();
    int common = A->r1 < B->r1 ? A->r1 : B->r1;
    for (int r = r0; r < common; r++) {
        vf8 ca = vf8_set1(A->c[r * A->cs]), cb = vf8_set1(B->c[r * B->cs]);
        const float *xa = A->x + r * A->xs, *xb = B->x + r * B->xs;
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            a[v] = vf8_fmadd(ca, vf8_loadu(xa + 8 * v), a[v]);
            b[v] = vf8_fmadd(cb, vf8_loadu(xb + 8 * v), b[v]);
        }
    }
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++) {
        vf8_storeu(A->out + 8 * v, a[v]);
        vf8_storeu(B->out + 8 * v, b[v]);
    }
    /* the longer one's remaining rows continue from its stored partial sum */
    if (A->r1 > common) wsum_nv(A->out, A->c, A->cs, A->x, A->xs, common, A->r1, nv, 1);
    if (B->r1 > common) wsum_nv(B->out, B->c, B->cs, B->x, B->xs, common, B->r1, nv, 1);
}

static void weighted_sum_pair(const wsum_t *A, const wsum_t *B, int r0, int hd) {
    switch (hd) {
    case 8:
        wsum_pair_nv(A, B, r0, 1);
        return;
    case 16:
        wsum_pair_nv(A, B, r0, 2);
        return;
    default: /* 4 or more vectors: one sum alone already runs enough chains */
        weighted_sum(A->out, A->c, A->cs, A->x, A->xs, r0, A->r1, hd);
        weighted_sum(B->out, B->c, B->cs, B->x, B->xs, r0, B->r1, hd);
    }
}

#if KERN_ISA_LEVEL == 2
/* ---- heads of 16 positions and 16 columns, bidirectional (the image encoder's), on AVX-512 ----
 *
 * The whole head lives in 16-lane registers: a row of scores, probabilities, an output row or a
 * column of keys is one vector. Every value is formed by the operations the general path gives
 * it, in its order: scores and weighted sums are FMA chains from zero in d or j order (lane
 * = j or d), the softmax's maximum is taken over the two 8-lane halves as softmax_row takes it,
 * and the row sums (the softmax's, and the backward's p . dP) run in j order, one scalar chain
 * per row, sixteen rows interleaved. So the bits are the general path's. */
#define H16 16

/* t[d] = column d of the head's 16 rows at x0 (lane j = x0[j * stride + d]): four 8 x 8
 * transposes in registers, whose halves are joined. */
static void load_columns16(vf16 t[H16], const float *x0, int64_t stride) {
    vf8 q[2][2][8]; /* [rows j / 8][columns d / 8]: after the transpose, q[.][.][d % 8] */
    for (int jb = 0; jb < 2; jb++)
        for (int db = 0; db < 2; db++) {
            for (int i = 0; i < 8; i++)
                q[jb][db][i] = vf8_loadu(x0 + (8 * jb + i) * stride + 8 * db);
            vf8_transpose8(q[jb][db]);
        }
    for (int d = 0; d < H16; d++)
        t[d] =
            _mm512_insertf32x8(_mm512_castps256_ps512(q[0][d / 8][d % 8]), q[1][d / 8][d % 8], 1);
}

/* sum_r fma(c[r], x[r], .) from zero in r order: c a row of 16 coefficients (broadcast), x 16
 * vectors. */
static inline vf16 wsum16(const float *c, int64_t cstride, const vf16 x[H16]) {
    vf16 acc = vf16_set1(0.0f);
    for (int r = 0; r < H16; r++)
        acc = vf16_fmadd(vf16_set1(c[r * cstride]), x[r], acc);
    return acc;
}

/* softmax_row's maximum of a row of 16: the two 8-lane halves' lane maxima, then the lanes in
 * order. */
static float row_max16(vf16 x) {
    vf8 vmx = vf8_max(vf8_max(vf8_set1(-INFINITY), _mm512_castps512_ps256(x)),
                      _mm512_extractf32x8_ps(x, 1));
    float lanes[8], mx = -INFINITY;
    vf8_storeu(lanes, vmx);
    for (int l = 0; l < 8; l++)
        mx = lanes[l] > mx ? lanes[l] : mx;
    return mx;
}

static void head16_forward(float *out, int64_t C, float *P, const float *base, int64_t stride,
                           float scale) {
    vf16 t[H16], x[H16];
    load_columns16(t, base + C, stride); /* keys, lane = key */
    for (int i = 0; i < H16; i++)
        x[i] = vf16_mul(wsum16(base + i * stride, 1, t), vf16_set1(scale));
    float sum[H16] = {0};
    for (int i = 0; i < H16; i++) {
        x[i] = simd16_exp(vf16_sub(x[i], vf16_set1(row_max16(x[i]))));
        vf16_storeu(P + i * H16, x[i]);
    }
    for (int j = 0; j < H16; j++)
        for (int i = 0; i < H16; i++)
            sum[i] += P[i * H16 + j];
    for (int i = 0; i < H16; i++)
        vf16_storeu(P + i * H16, vf16_mul(x[i], vf16_set1(1.0f / sum[i])));
    for (int j = 0; j < H16; j++) /* values, lane = column */
        t[j] = vf16_loadu(base + 2 * C + j * stride);
    for (int i = 0; i < H16; i++)
        vf16_storeu(out + i * C, wsum16(P + i * H16, 1, t));
}

static void head16_backward(float *dbase, const float *dout_h, int64_t C, const float *base,
                            const float *P, int64_t stride, float scale) {
    vf16 t[H16];
    float dS[H16 * H16] __attribute__((aligned(64))), dot[H16] = {0};
    load_columns16(t, base + 2 * C, stride); /* values, lane = key */
    for (int i = 0; i < H16; i++)
        vf16_storeu(dS + i * H16, wsum16(dout_h + i * C, 1, t)); /* dP */
    for (int j = 0; j < H16; j++)
        for (int i = 0; i < H16; i++) {
            float pd = P[i * H16 + j] * dS[i * H16 + j];
            dot[i] += pd;
        }
    for (int i = 0; i < H16; i++) {
        vf16 d = vf16_sub(vf16_loadu(dS + i * H16), vf16_set1(dot[i]));
        d = vf16_mul(vf16_mul(vf16_loadu(P + i * H16), d), vf16_set1(scale));
        vf16_storeu(dS + i * H16, d);
    }
    for (int j = 0; j < H16; j++) /* keys, lane = column */
        t[j] = vf16_loadu(base + C + j * stride);
    for (int i = 0; i < H16; i++)
        vf16_storeu(dbase + i * stride, wsum16(dS + i * H16, 1, t)); /* dq */
    for (int j = 0; j < H16; j++)                                    /* queries */
        t[j] = vf16_loadu(base + j * stride);
    for (int j = 0; j < H16; j++)
        vf16_storeu(dbase + j * stride + C, wsum16(dS + j, H16, t)); /* dk: column j of dS */
    for (int j = 0; j < H16; j++)                                    /* output gradients */
        t[j] = vf16_loadu(dout_h + j * C);
    for (int j = 0; j < H16; j++)
        vf16_storeu(dbase + j * stride + 2 * C, wsum16(P + j, H16, t)); /* dv: column j of P */
}
#endif

void kern_cpu_attention_forward(float *out, float *probs, const float *qkv, int B, int T, int H,
                                int C, int causal) {
    check_shape(T, H, C);
    int hd = C / H, tp = (T + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
    KERN_PARALLEL_FOR(schedule(dynamic, 1), 1, bh, (int64_t)B * H, {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        const float *k0 = base + C, *v0 = base + 2 * C;
        float *P = probs + bh * T * T;
#if KERN_ISA_LEVEL == 2
        if (T == H16 && hd == H16 && !causal) {
            head16_forward(out + b * T * C + h * hd, C, P, base, stride, scale);
            continue;
        }
#endif
        float kt[ATTN_LOCAL_FLOATS], s[KERN_ATTN_MAX_T];
        if (local) transpose_head(kt, k0, stride, T, tp, hd);
        for (int i0 = 0; i0 < T; i0 += 2) { /* rows in pairs: their value sums interleave */
            wsum_t w[2];
            int rows = T - i0 < 2 ? T - i0 : 2;
            for (int k = 0; k < rows; k++) {
                int i = i0 + k, n = causal ? i + 1 : T;
                float *p = P + (int64_t)i * T;
                row_dots(s, base + i * stride, local ? kt : NULL, tp, k0, stride, n, hd);
                softmax_row(p, s, n, T, scale);
                w[k] = (wsum_t){out + (b * T + i) * C + h * hd, p, v0, 1, stride, n};
            }
            if (rows == 2)
                weighted_sum_pair(&w[0], &w[1], 0, hd);
            else
                weighted_sum(w[0].out, w[0].c, 1, v0, stride, 0, w[0].r1, hd);
        }
    });
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

void kern_cpu_attention_cached_forward(float *out, const float *qkv, int n, const float *k_cache,
                                       const float *v_cache, int64_t cache_stride, int p0, int H,
                                       int C) {
    if (n <= 0 || p0 < 0) micl_fatal("attention (cached): bad shape n=%d p0=%d", n, p0);
    check_shape(p0 + n, H, C);
    int hd = C / H, tp = (p0 + n + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
    KERN_PARALLEL_FOR(schedule(dynamic, 1), 1, h, H, {
        kv_segments_t ks = {k_cache + h * hd, qkv + C + h * hd, cache_stride, stride, p0};
        kv_segments_t vs = {v_cache + h * hd, qkv + 2 * C + h * hd, cache_stride, stride, p0};
        cached_head(out + h * hd, C, qkv + h * hd, stride, &ks, &vs, n, hd, scale, local);
    });
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
    for (int i = 0; i < T; i += 2) { /* dq, two rows at a time */
        wsum_t a = {dbase + i * stride, dS + i * T, k0, 1, stride, causal ? i + 1 : T};
        if (i + 1 == T) {
            weighted_sum(a.out, a.c, 1, k0, stride, 0, a.r1, hd);
            break;
        }
        wsum_t b = {dbase + (i + 1) * stride, dS + (i + 1) * T, k0, 1, stride, causal ? i + 2 : T};
        weighted_sum_pair(&a, &b, 0, hd);
    }
    for (int j = 0; j < T; j++) { /* dk and dv of key j, side by side */
        wsum_t dk = {dbase + j * stride + C, dS + j, base, T, stride, T};
        wsum_t dv = {dbase + j * stride + 2 * C, P + j, dout_h, T, C, T};
        weighted_sum_pair(&dk, &dv, causal ? j : 0, hd);
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

void kern_cpu_attention_backward(float *dqkv, const float *dout, const float *qkv,
                                 const float *probs, int B, int T, int H, int C, int causal) {
    check_shape(T, H, C);
    int hd = C / H, tp = (T + 7) / 8 * 8;
    int local = hd * tp <= ATTN_LOCAL_FLOATS;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t stride = 3 * (int64_t)C;
    KERN_PARALLEL_FOR(schedule(dynamic, 1), 1, bh, (int64_t)B * H, {
        int64_t b = bh / H;
        int h = (int)(bh % H);
        const float *base = qkv + b * T * stride + h * hd;
        float *dbase = dqkv + b * T * stride + h * hd;
        const float *dout_h = dout + b * T * C + h * hd;
        const float *P = probs + bh * T * T;
#if KERN_ISA_LEVEL == 2
        if (T == H16 && hd == H16 && !causal) {
            head16_backward(dbase, dout_h, C, base, P, stride, scale);
            continue;
        }
#endif
        float vt[ATTN_LOCAL_FLOATS];
        if (local) transpose_head(vt, base + 2 * C, stride, T, tp, hd);
        if (T <= ATTN_SMALL_T)
            attn_backward_small(dbase, dout_h, C, base, P, T, hd, causal, scale, local ? vt : NULL,
                                tp);
        else
            attn_backward_rows(dbase, dout_h, C, base, P, T, hd, causal, scale, local ? vt : NULL,
                               tp);
    });
}

/* Rotates (x[2i], x[2i+1]) of every head in the first `parts` blocks of C columns (q, k) by
 * the angle at position t; sign = +1 forward, -1 for the inverse (backward) rotation. */
static void rope_apply(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H,
                       int C, float sign) {
    int hd = C / H, half = hd / 2;
    int64_t rows = (int64_t)B * T, stride = 3 * (int64_t)C;
    KERN_PARALLEL_FOR(schedule(static), 1, r, rows, {
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
    });
}

void kern_cpu_rope_forward(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T,
                           int H, int C) {
    rope_apply(qkv, cos_tab, sin_tab, B, T, H, C, 1.0f);
}

void kern_cpu_rope_backward(float *dqkv, const float *cos_tab, const float *sin_tab, int B, int T,
                            int H, int C) {
    rope_apply(dqkv, cos_tab, sin_tab, B, T, H, C, -1.0f);
}
