/* simd.h - small vector helpers shared by the CPU kernels (internal to kernels/cpu), written
 * in vf8 (vec.h) so that every instruction-set build runs the same operations.
 *
 * simd_exp is a Cephes-style expf (about 1 ulp on [-87, 88]); every transcendental in the
 * kernels goes through it, tails included (padded to 8 lanes), so that an element's value
 * never depends on where a thread's range happens to end. simd_dot reduces in a fixed
 * order (vf8_hsum's lane tree).
 */
#ifndef MICL_KERNELS_CPU_SIMD_H
#define MICL_KERNELS_CPU_SIMD_H

#include <stdint.h>
#include <string.h>

#include "kernels/cpu/vec.h"

static inline vf8 simd_exp(vf8 x) {
    const vf8 hi = vf8_set1(88.3762626647949f);
    const vf8 lo = vf8_set1(-87.3365478515625f);
    x = vf8_min(vf8_max(x, lo), hi);
    vf8 fx = vf8_round(vf8_mul(x, vf8_set1(1.44269504088896341f)));
    x = vf8_fnmadd(fx, vf8_set1(0.693359375f), x);
    x = vf8_fnmadd(fx, vf8_set1(-2.12194440e-4f), x);
    vf8 y = vf8_set1(1.9875691500E-4f);
    y = vf8_fmadd(y, x, vf8_set1(1.3981999507E-3f));
    y = vf8_fmadd(y, x, vf8_set1(8.3334519073E-3f));
    y = vf8_fmadd(y, x, vf8_set1(4.1665795894E-2f));
    y = vf8_fmadd(y, x, vf8_set1(1.6666665459E-1f));
    y = vf8_fmadd(y, x, vf8_set1(5.0000001201E-1f));
    vf8 x2 = vf8_mul(x, x);
    y = vf8_fmadd(y, x2, vf8_add(x, vf8_set1(1.0f)));
    /* fx is in [-126, 127] after the clamp, so 2^fx is a normal float */
    return vf8_mul(y, vf8_pow2(fx));
}

/* Loads n < 8 floats, zero-filling the other lanes. */
static inline vf8 simd_load_partial(const float *p, int n) {
    float t[8] = {0};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return vf8_loadu(t);
}

static inline void simd_store_partial(float *p, vf8 v, int n) {
    float t[8];
    vf8_storeu(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

/* Dot product of n floats: 8-lane FMA accumulation, fixed-order lane sum. */
static inline float simd_dot(const float *a, const float *b, int n) {
    vf8 acc = vf8_zero();
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc = vf8_fmadd(vf8_loadu(a + i), vf8_loadu(b + i), acc);
    if (i < n)
        acc = vf8_fmadd(simd_load_partial(a + i, n - i), simd_load_partial(b + i, n - i), acc);
    return vf8_hsum(acc);
}

/* y[0..n) += s * x[0..n) */
static inline void simd_axpy(float *y, float s, const float *x, int n) {
    vf8 sv = vf8_set1(s);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        vf8_storeu(y + i, vf8_fmadd(sv, vf8_loadu(x + i), vf8_loadu(y + i)));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(s, x[i], y[i]);
}

/* GELU, tanh form (pointwise.c, and fused into matmul.c's epilogues with the same instructions). */
#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f

/* tanh(u) = 1 - 2 / (exp(2u) + 1); exp saturates, giving exactly +-1 far out. */
static inline vf8 simd_tanh(vf8 u) {
    vf8 e = simd_exp(vf8_add(u, u));
    vf8 one = vf8_set1(1.0f);
    return vf8_sub(one, vf8_div(vf8_set1(2.0f), vf8_add(e, one)));
}

static inline vf8 simd_gelu_inner(vf8 x) {
    vf8 x3 = vf8_mul(vf8_mul(x, x), x);
    return vf8_mul(vf8_set1(GELU_K), vf8_fmadd(vf8_set1(GELU_C), x3, x));
}

/* gelu and gelu' from t = tanh(GELU_K (x + GELU_C x^3)). */
static inline vf8 simd_gelu_of(vf8 x, vf8 t) {
    vf8 half = vf8_set1(0.5f);
    return vf8_mul(vf8_mul(half, x), vf8_add(vf8_set1(1.0f), t));
}

/* d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2) */
static inline vf8 simd_gelu_grad_of(vf8 x, vf8 t) {
    vf8 half = vf8_set1(0.5f), one = vf8_set1(1.0f);
    vf8 x2 = vf8_mul(x, x);
    vf8 du = vf8_mul(vf8_set1(GELU_K), vf8_fmadd(vf8_set1(3.0f * GELU_C), x2, one));
    vf8 sech2 = vf8_fnmadd(t, t, one);
    vf8 left = vf8_mul(half, vf8_add(one, t));
    vf8 right = vf8_mul(vf8_mul(half, x), vf8_mul(sech2, du));
    return vf8_add(left, right);
}

static inline vf8 simd_gelu(vf8 x) {
    return simd_gelu_of(x, simd_tanh(simd_gelu_inner(x)));
}

static inline vf8 simd_gelu_grad(vf8 x) {
    return simd_gelu_grad_of(x, simd_tanh(simd_gelu_inner(x)));
}

/* gelu(x), and gelu'(x) in *grad unless grad is NULL, from one tanh: the same bits as
 * simd_gelu and simd_gelu_grad. */
static inline vf8 simd_gelu_with_grad(vf8 x, vf8 *grad) {
    vf8 t = simd_tanh(simd_gelu_inner(x));
    if (grad) *grad = simd_gelu_grad_of(x, t);
    return simd_gelu_of(x, t);
}

#endif
