/* vec.h - the 8-lane float vector the CPU kernels are written in (internal to kernels/cpu).
 *
 * kernels/cpu is compiled once per instruction set (kernels/cpu/isa.cmake): KERN_ISA_LEVEL 0 is
 * the portable build (any CPU a C11 compiler targets), 1 is AVX2 + FMA, 2 is AVX-512
 * (F, BW, DQ, VL). Levels 1 and 2 map vf8 onto __m256 and its intrinsics; level 0 holds the 8
 * lanes in a struct and does each operation lane by lane with the C operators and fmaf.
 *
 * Every operation here is exactly rounded lane by lane (IEEE add, sub, mul, div, fused
 * multiply-add, round to nearest even), so the three builds give the same bits for the same
 * operations. Everything that reduces across lanes goes through the fixed trees written here
 * and in simd.h, never through the compiler. Wider vectors (level 2's 16-lane GEMM tile,
 * matmul.c) are used only where each lane's chain of operations stays the same.
 */
#ifndef MICL_KERNELS_CPU_VEC_H
#define MICL_KERNELS_CPU_VEC_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef KERN_ISA_LEVEL
#error "kernels/cpu is compiled with -DKERN_ISA_LEVEL=0|1|2 (kernels/cpu/isa.cmake)"
#endif

#if KERN_ISA_LEVEL >= 1
#include <immintrin.h>

typedef __m256 vf8;

static inline vf8 vf8_loadu(const float *p) {
    return _mm256_loadu_ps(p);
}
static inline void vf8_storeu(float *p, vf8 v) {
    _mm256_storeu_ps(p, v);
}
static inline vf8 vf8_set1(float x) {
    return _mm256_set1_ps(x);
}
static inline vf8 vf8_broadcast(const float *p) {
    return _mm256_broadcast_ss(p);
}
static inline vf8 vf8_zero(void) {
    return _mm256_setzero_ps();
}
static inline vf8 vf8_add(vf8 a, vf8 b) {
    return _mm256_add_ps(a, b);
}
static inline vf8 vf8_sub(vf8 a, vf8 b) {
    return _mm256_sub_ps(a, b);
}
static inline vf8 vf8_mul(vf8 a, vf8 b) {
    return _mm256_mul_ps(a, b);
}
static inline vf8 vf8_div(vf8 a, vf8 b) {
    return _mm256_div_ps(a, b);
}
/* a * b + c, one rounding */
static inline vf8 vf8_fmadd(vf8 a, vf8 b, vf8 c) {
    return _mm256_fmadd_ps(a, b, c);
}
/* c - a * b, one rounding */
static inline vf8 vf8_fnmadd(vf8 a, vf8 b, vf8 c) {
    return _mm256_fnmadd_ps(a, b, c);
}
/* a > b ? a : b, lane by lane (b where either is NaN) */
static inline vf8 vf8_max(vf8 a, vf8 b) {
    return _mm256_max_ps(a, b);
}
/* a < b ? a : b, lane by lane (b where either is NaN) */
static inline vf8 vf8_min(vf8 a, vf8 b) {
    return _mm256_min_ps(a, b);
}
/* to the nearest integer, ties to even */
static inline vf8 vf8_round(vf8 a) {
    return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
/* 2^n for lanes holding integers n in [-126, 127] */
static inline vf8 vf8_pow2(vf8 n) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}
/* ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)) */
static inline float vf8_hsum(vf8 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
/* 8 x 8 transpose: rows r[0..8) of 8 floats -> columns. */
static inline void vf8_transpose8(vf8 r[8]) {
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

#if KERN_ISA_LEVEL == 2
/* 16 lanes (AVX-512), for code whose every lane runs the operations its vf8 twin runs:
 * each operation below rounds exactly as the vf8 one of the same name. */
typedef __m512 vf16;

static inline vf16 vf16_loadu(const float *p) {
    return _mm512_loadu_ps(p);
}
static inline void vf16_storeu(float *p, vf16 v) {
    _mm512_storeu_ps(p, v);
}
static inline vf16 vf16_set1(float x) {
    return _mm512_set1_ps(x);
}
static inline vf16 vf16_add(vf16 a, vf16 b) {
    return _mm512_add_ps(a, b);
}
static inline vf16 vf16_sub(vf16 a, vf16 b) {
    return _mm512_sub_ps(a, b);
}
static inline vf16 vf16_mul(vf16 a, vf16 b) {
    return _mm512_mul_ps(a, b);
}
static inline vf16 vf16_div(vf16 a, vf16 b) {
    return _mm512_div_ps(a, b);
}
static inline vf16 vf16_fmadd(vf16 a, vf16 b, vf16 c) {
    return _mm512_fmadd_ps(a, b, c);
}
static inline vf16 vf16_fnmadd(vf16 a, vf16 b, vf16 c) {
    return _mm512_fnmadd_ps(a, b, c);
}
static inline vf16 vf16_max(vf16 a, vf16 b) {
    return _mm512_max_ps(a, b);
}
static inline vf16 vf16_min(vf16 a, vf16 b) {
    return _mm512_min_ps(a, b);
}
static inline vf16 vf16_round(vf16 a) {
    return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
static inline vf16 vf16_pow2(vf16 n) {
    __m512i e = _mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(e, 23));
}
#endif

#else /* the portable build */

typedef struct {
    float f[8];
} vf8;

#define VF8_LANES(expr)                                                                            \
    vf8 r;                                                                                         \
    for (int l = 0; l < 8; l++)                                                                    \
        r.f[l] = (expr);                                                                           \
    return r

static inline vf8 vf8_loadu(const float *p) {
    vf8 r;
    memcpy(r.f, p, sizeof r.f);
    return r;
}
static inline void vf8_storeu(float *p, vf8 v) {
    memcpy(p, v.f, sizeof v.f);
}
static inline vf8 vf8_set1(float x) {
    VF8_LANES(x);
}
static inline vf8 vf8_broadcast(const float *p) {
    VF8_LANES(*p);
}
static inline vf8 vf8_zero(void) {
    VF8_LANES(0.0f);
}
static inline vf8 vf8_add(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] + b.f[l]);
}
static inline vf8 vf8_sub(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] - b.f[l]);
}
static inline vf8 vf8_mul(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] * b.f[l]);
}
static inline vf8 vf8_div(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] / b.f[l]);
}
static inline vf8 vf8_fmadd(vf8 a, vf8 b, vf8 c) {
    VF8_LANES(fmaf(a.f[l], b.f[l], c.f[l]));
}
static inline vf8 vf8_fnmadd(vf8 a, vf8 b, vf8 c) {
    VF8_LANES(fmaf(-a.f[l], b.f[l], c.f[l]));
}
static inline vf8 vf8_max(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] > b.f[l] ? a.f[l] : b.f[l]);
}
static inline vf8 vf8_min(vf8 a, vf8 b) {
    VF8_LANES(a.f[l] < b.f[l] ? a.f[l] : b.f[l]);
}
static inline vf8 vf8_round(vf8 a) {
    VF8_LANES(rintf(a.f[l])); /* the default rounding mode: to nearest, ties to even */
}
static inline vf8 vf8_pow2(vf8 n) {
    vf8 r;
    for (int l = 0; l < 8; l++) {
        uint32_t bits = (uint32_t)((int32_t)n.f[l] + 127) << 23;
        memcpy(&r.f[l], &bits, sizeof bits);
    }
    return r;
}
static inline float vf8_hsum(vf8 v) {
    const float *x = v.f;
    return ((x[0] + x[4]) + (x[2] + x[6])) + ((x[1] + x[5]) + (x[3] + x[7]));
}
static inline void vf8_transpose8(vf8 r[8]) {
    vf8 t[8];
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++)
            t[j].f[i] = r[i].f[j];
    memcpy(r, t, sizeof t);
}
#undef VF8_LANES

#endif

#endif
