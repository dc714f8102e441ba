/* simd.h - small AVX2 helpers shared by the CPU kernels (internal to kernels/cpu).
 *
 * simd_exp is a Cephes-style expf (about 1 ulp on [-87, 88]); every transcendental in the
 * kernels goes through it, tails included (padded to 8 lanes), so that an element's value
 * never depends on where a thread's range happens to end. simd_dot and simd_hsum reduce in a
 * fixed order.
 */
#ifndef MICL_KERNELS_CPU_SIMD_H
#define MICL_KERNELS_CPU_SIMD_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

static inline __m256 simd_exp(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f);
    const __m256 lo = _mm256_set1_ps(-87.3365478515625f);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    __m256 x2 = _mm256_mul_ps(x, x);
    y = _mm256_fmadd_ps(y, x2, _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
    /* fx is in [-126, 127] after the clamp, so 2^fx is a normal float */
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127));
    __m256 pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
    return _mm256_mul_ps(y, pow2);
}

/* Sum of the 8 lanes in a fixed order. */
static inline float simd_hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Loads n < 8 floats, zero-filling the other lanes. */
static inline __m256 simd_load_partial(const float *p, int n) {
    float t[8] = {0};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return _mm256_loadu_ps(t);
}

static inline void simd_store_partial(float *p, __m256 v, int n) {
    float t[8];
    _mm256_storeu_ps(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

/* Dot product of n floats: 8-lane FMA accumulation, fixed-order lane sum. */
static inline float simd_dot(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    if (i < n)
        acc =
            _mm256_fmadd_ps(simd_load_partial(a + i, n - i), simd_load_partial(b + i, n - i), acc);
    return simd_hsum(acc);
}

/* y[0..n) += s * x[0..n) */
static inline void simd_axpy(float *y, float s, const float *x, int n) {
    __m256 sv = _mm256_set1_ps(s);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(sv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(s, x[i], y[i]);
}

/* 8 x 8 transpose: rows r[0..8) of 8 floats -> columns. */
static inline void simd_transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* GELU, tanh form (pointwise.c, and fused into matmul.c's epilogues with the same instructions). */
#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f

/* tanh(u) = 1 - 2 / (exp(2u) + 1); exp saturates, giving exactly +-1 far out. */
static inline __m256 simd_tanh(__m256 u) {
    __m256 e = simd_exp(_mm256_add_ps(u, u));
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

static inline __m256 simd_gelu_inner(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return _mm256_mul_ps(_mm256_set1_ps(GELU_K), _mm256_fmadd_ps(_mm256_set1_ps(GELU_C), x3, x));
}

/* gelu and gelu' from t = tanh(GELU_K (x + GELU_C x^3)). */
static inline __m256 simd_gelu_of(__m256 x, __m256 t) {
    __m256 half = _mm256_set1_ps(0.5f);
    return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
}

/* d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2) */
static inline __m256 simd_gelu_grad_of(__m256 x, __m256 t) {
    __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 du = _mm256_mul_ps(_mm256_set1_ps(GELU_K),
                              _mm256_fmadd_ps(_mm256_set1_ps(3.0f * GELU_C), x2, one));
    __m256 sech2 = _mm256_fnmadd_ps(t, t, one);
    __m256 left = _mm256_mul_ps(half, _mm256_add_ps(one, t));
    __m256 right = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_mul_ps(sech2, du));
    return _mm256_add_ps(left, right);
}

static inline __m256 simd_gelu(__m256 x) {
    return simd_gelu_of(x, simd_tanh(simd_gelu_inner(x)));
}

static inline __m256 simd_gelu_grad(__m256 x) {
    return simd_gelu_grad_of(x, simd_tanh(simd_gelu_inner(x)));
}

/* gelu(x), and gelu'(x) in *grad unless grad is NULL, from one tanh: the same bits as
 * simd_gelu and simd_gelu_grad. */
static inline __m256 simd_gelu_with_grad(__m256 x, __m256 *grad) {
    __m256 t = simd_tanh(simd_gelu_inner(x));
    if (grad) *grad = simd_gelu_grad_of(x, t);
    return simd_gelu_of(x, t);
}

#endif
