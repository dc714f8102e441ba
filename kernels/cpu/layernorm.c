/* layernorm.c - LayerNorm forward and backward over the last dimension.
 *
 * Rows are independent and split across threads; the parameter gradients (sums over rows) are
 * computed in a second pass split over columns, each column summed over all rows in order, so
 * no reduction is ever split between threads.
 */
#include "kernels/kernels.h"

#include <math.h>

#include "kernels/cpu/simd.h"

/* Loads n < 8 floats, filling the other lanes with fill. */
static __m256 load_tail(const float *p, int n, float fill) {
    float t[8];
    for (int i = 0; i < 8; i++)
        t[i] = i < n ? p[i] : fill;
    return _mm256_loadu_ps(t);
}

static void ln_row_stats(const float *x, int C, float *mean_out, float *rstd_out) {
    __m256 s = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= C; i += 8)
        s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    if (i < C) s = _mm256_add_ps(s, load_tail(x + i, C - i, 0.0f));
    float mean = simd_hsum(s) / (float)C;
    __m256 mv = _mm256_set1_ps(mean), v = _mm256_setzero_ps();
    for (i = 0; i + 8 <= C; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), mv);
        v = _mm256_fmadd_ps(d, d, v);
    }
    if (i < C) {
        __m256 d = _mm256_sub_ps(load_tail(x + i, C - i, mean), mv);
        v = _mm256_fmadd_ps(d, d, v);
    }
    float var = simd_hsum(v) / (float)C;
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(var + KERN_LN_EPS);
}

void kern_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                            const float *gamma, const float *beta, int64_t M, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < M; r++) {
        const float *x = inp + r * C;
        float *y = out + r * C;
        float mu, rs;
        ln_row_stats(x, C, &mu, &rs);
        mean[r] = mu;
        rstd[r] = rs;
        for (int i = 0; i < C; i++)
            y[i] = (x[i] - mu) * rs * gamma[i] + beta[i];
    }
}

/* dinp += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * gamma. */
static void ln_backward_rows(float *dinp, const float *dout, const float *inp, const float *mean,
                             const float *rstd, const float *gamma, int64_t M, int C) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < M; r++) {
        const float *x = inp + r * C, *dy = dout + r * C;
        float *dx = dinp + r * C;
        float mu = mean[r], rs = rstd[r];
        float s1 = 0.0f, s2 = 0.0f;
        for (int i = 0; i < C; i++) {
            float dxh = dy[i] * gamma[i];
            s1 += dxh;
            s2 += dxh * ((x[i] - mu) * rs);
        }
        s1 /= (float)C;
        s2 /= (float)C;
        for (int i = 0; i < C; i++) {
            float xh = (x[i] - mu) * rs;
            dx[i] += rs * (dy[i] * gamma[i] - s1 - xh * s2);
        }
    }
}

/* dgamma[c] += sum_r dout*xhat, dbeta[c] += sum_r dout; threads split the columns. */
static void ln_backward_params(float *dgamma, float *dbeta, const float *dout, const float *inp,
                               const float *mean, const float *rstd, int64_t M, int C) {
    int n_chunks = (C + 7) / 8;
#pragma omp parallel for schedule(static)
    for (int ch = 0; ch < n_chunks; ch++) {
        int c0 = ch * 8, w = C - c0 < 8 ? C - c0 : 8;
        float g[8] = {0}, b[8] = {0};
        for (int64_t r = 0; r < M; r++) {
            const float *x = inp + r * C + c0, *dy = dout + r * C + c0;
            for (int j = 0; j < w; j++) {
                g[j] += dy[j] * ((x[j] - mean[r]) * rstd[r]);
                b[j] += dy[j];
            }
        }
        for (int j = 0; j < w; j++) {
            dgamma[c0 + j] += g[j];
            dbeta[c0 + j] += b[j];
        }
    }
}

void kern_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                             const float *inp, const float *mean, const float *rstd,
                             const float *gamma, int64_t M, int C) {
    ln_backward_rows(dinp, dout, inp, mean, rstd, gamma, M, C);
    ln_backward_params(dgamma, dbeta, dout, inp, mean, rstd, M, C);
}
