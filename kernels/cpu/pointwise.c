/* pointwise.c - elementwise kernels: GELU (tanh form), exp, adds, row broadcasts and sums.
 *
 * Transcendentals are vectorised (simd_exp) with tails padded to 8 lanes, so every element is
 * computed by the same instructions wherever a thread's range ends.
 */
#include "kernels/kernels.h"

#include "kernels/cpu/simd.h"

#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f
#define BLOCK 4096 /* elements per parallel task (a multiple of 8) */

/* tanh(u) = 1 - 2 / (exp(2u) + 1); exp saturates, giving exactly +-1 far out. */
static inline __m256 simd_tanh(__m256 u) {
    __m256 e = simd_exp(_mm256_add_ps(u, u));
    __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
}

static inline __m256 gelu_inner(__m256 x) {
    __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return _mm256_mul_ps(_mm256_set1_ps(GELU_K), _mm256_fmadd_ps(_mm256_set1_ps(GELU_C), x3, x));
}

static inline __m256 gelu8(__m256 x) {
    __m256 t = simd_tanh(gelu_inner(x));
    __m256 half = _mm256_set1_ps(0.5f);
    return _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(_mm256_set1_ps(1.0f), t));
}

/* d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) K (1 + 3 C x^2) */
static inline __m256 gelu_grad8(__m256 x) {
    __m256 t = simd_tanh(gelu_inner(x));
    __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 du = _mm256_mul_ps(_mm256_set1_ps(GELU_K),
                              _mm256_fmadd_ps(_mm256_set1_ps(3.0f * GELU_C), x2, one));
    __m256 sech2 = _mm256_fnmadd_ps(t, t, one);
    __m256 left = _mm256_mul_ps(half, _mm256_add_ps(one, t));
    __m256 right = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_mul_ps(sech2, du));
    return _mm256_add_ps(left, right);
}

void kern_gelu_forward(float *out, const float *inp, int64_t n) {
    int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        int64_t i = blk * BLOCK, end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + 8 <= end; i += 8)
            _mm256_storeu_ps(out + i, gelu8(_mm256_loadu_ps(inp + i)));
        if (i < end)
            simd_store_partial(out + i, gelu8(simd_load_partial(inp + i, (int)(end - i))),
                               (int)(end - i));
    }
}

void kern_gelu_backward(float *dinp, const float *inp, const float *dout, int64_t n) {
    int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static)
    for (int64_t blk = 0; blk < n_blocks; blk++) {
        int64_t i = blk * BLOCK, end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + 8 <= end; i += 8) {
            __m256 g = gelu_grad8(_mm256_loadu_ps(inp + i));
            _mm256_storeu_ps(dinp + i, _mm256_mul_ps(g, _mm256_loadu_ps(dout + i)));
        }
        if (i < end) {
            int r = (int)(end - i);
            __m256 g = gelu_grad8(simd_load_partial(inp + i, r));
            simd_store_partial(dinp + i, _mm256_mul_ps(g, simd_load_partial(dout + i, r)), r);
        }
    }
}

void kern_exp_inplace(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, simd_exp(_mm256_loadu_ps(x + i)));
    if (i < n)
        simd_store_partial(x + i, simd_exp(simd_load_partial(x + i, (int)(n - i))), (int)(n - i));
}

void kern_add_inplace(float *y, const float *x, int64_t n) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}

void kern_add_rows(float *y, const float *v, int64_t M, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < M; r++)
        for (int c = 0; c < C; c++)
            y[r * C + c] += v[c];
}

void kern_sum_rows(float *dv, const float *dy, int64_t M, int C) {
    int n_chunks = (C + 15) / 16;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < n_chunks; ch++) {
        int c0 = ch * 16, w = C - c0 < 16 ? C - c0 : 16;
        float s[16] = {0};
        for (int64_t r = 0; r < M; r++)
            for (int j = 0; j < w; j++)
                s[j] += dy[r * C + c0 + j];
        for (int j = 0; j < w; j++)
            dv[c0 + j] += s[j];
    }
}
