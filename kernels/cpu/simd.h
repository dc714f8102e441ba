/* simd.h - small vector helpers shared by the CPU kernels (internal to kernels/cpu), written
 * in vf8 (vec.h) so that every instruction-set build runs the same operations. The AVX-512
 * build also gets 16-lane twins of the transcendentals (simd16_*), generated from the same text.
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

/* The transcendental sequences, written once for any vector type so that every width runs
 * the very same operations lane by lane: V(op) names the type's operation (vf8_add, or vf16_add
 * in the AVX-512 build, vec.h), S(name) the function defined. */
#define SIMD_DEFINE_MATH(T, V, S)                                                                  \
    static inline T S(exp)(T x) {                                                                  \
        x = V(min)(V(max)(x, V(set1)(-87.3365478515625f)), V(set1)(88.3762626647949f));            \
        T fx = V(round)(V(mul)(x, V(set1)(1.44269504088896341f)));                                 \
        x = V(fnmadd)(fx, V(set1)(0.693359375f), x);                                               \
        x = V(fnmadd)(fx, V(set1)(-2.12194440e-4f), x);                                            \
        T y = V(set1)(1.9875691500E-4f);                                                           \
        y = V(fmadd)(y, x, V(set1)(1.3981999507E-3f));                                             \
        y = V(fmadd)(y, x, V(set1)(8.3334519073E-3f));                                             \
        y = V(fmadd)(y, x, V(set1)(4.1665795894E-2f));                                             \
        y = V(fmadd)(y, x, V(set1)(1.6666665459E-1f));                                             \
        y = V(fmadd)(y, x, V(set1)(5.0000001201E-1f));                                             \
        T x2 = V(mul)(x, x);                                                                       \
        y = V(fmadd)(y, x2, V(add)(x, V(set1)(1.0f)));                                             \
        /* fx is in [-126, 127] after the clamp, so 2^fx is a normal float */                      \
        return V(mul)(y, V(pow2)(fx));                                                             \
    }                                                                                              \
    /* tanh(u) = 1 - 2 / (exp(2u) + 1); exp saturates, giving exactly +-1 far out. */              \
    static inline T S(tanh)(T u) {                                                                 \
        T e = S(exp)(V(add)(u, u));                                                                \
        T one = V(set1)(1.0f);                                                                     \
        return V(sub)(one, V(div)(V(set1)(2.0f), V(add)(e, one)));                                 \
    }                                                                                              \
    static inline T S(gelu_inner)(T x) {                                                           \
        T x3 = V(mul)(V(mul)(x, x), x);                                                            \
        return V(mul)(V(set1)(GELU_K), V(fmadd)(V(set1)(GELU_C), x3, x));                          \
    }                                                                                              \
    /* gelu from t = tanh(GELU_K (x + GELU_C x^3)) */                                              \
    static inline T S(gelu_of)(T x, T t) {                                                         \
        return V(mul)(V(mul)(V(set1)(0.5f), x), V(add)(V(set1)(1.0f), t));                         \
    }                                                                                              \
    /* d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2) */                              \
    static inline T S(gelu_grad_of)(T x, T t) {                                                    \
        T half = V(set1)(0.5f), one = V(set1)(1.0f);                                               \
        T x2 = V(mul)(x, x);                                                                       \
        T du = V(mul)(V(set1)(GELU_K), V(fmadd)(V(set1)(3.0f * GELU_C), x2, one));                 \
        T sech2 = V(fnmadd)(t, t, one);                                                            \
        T left = V(mul)(half, V(add)(one, t));                                                     \
        T right = V(mul)(V(mul)(half, x), V(mul)(sech2, du));                                      \
        return V(add)(left, right);                                                                \
    }                                                                                              \
    static inline T S(gelu)(T x) {                                                                 \
        return S(gelu_of)(x, S(tanh)(S(gelu_inner)(x)));                                           \
    }                                                                                              \
    static inline T S(gelu_grad)(T x) {                                                            \
        return S(gelu_grad_of)(x, S(tanh)(S(gelu_inner)(x)));                                      \
    }                                                                                              \
    /* gelu(x), and gelu'(x) in *grad unless grad is NULL, from one tanh: the same bits as         \
     * gelu and gelu_grad. */                                                                      \
    static inline T S(gelu_with_grad)(T x, T * grad) {                                             \
        T t = S(tanh)(S(gelu_inner)(x));                                                           \
        if (grad) *grad = S(gelu_grad_of)(x, t);                                                   \
        return S(gelu_of)(x, t);                                                                   \
    }

/* GELU, tanh form (pointwise.c, and fused into matmul.c's epilogues with the same instructions). */
#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f

#define SIMD_VF8(op) vf8_##op
#define SIMD_NAME8(name) simd_##name
SIMD_DEFINE_MATH(vf8, SIMD_VF8, SIMD_NAME8)
#if KERN_ISA_LEVEL == 2
/* The same functions on 16 lanes (simd16_exp, simd16_gelu_with_grad, ...). */
#define SIMD_VF16(op) vf16_##op
#define SIMD_NAME16(name) simd16_##name
SIMD_DEFINE_MATH(vf16, SIMD_VF16, SIMD_NAME16)
#endif

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

/* Copies an 8 x 8 block transposed: row i of src (8 floats at src + i * ld_src; rows from
 * `rows` on read as zeros) becomes column i of dst (row j at dst + j * ld_dst), through
 * registers. A pure copy. */
static inline void simd_copy_transposed8(float *dst, int64_t ld_dst, const float *src,
                                         int64_t ld_src, int rows) {
    vf8 r[8];
    for (int i = 0; i < 8; i++)
        r[i] = i < rows ? vf8_loadu(src + i * ld_src) : vf8_zero();
    vf8_transpose8(r);
    for (int i = 0; i < 8; i++)
        vf8_storeu(dst + i * ld_dst, r[i]);
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

#endif
