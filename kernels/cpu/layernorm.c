/* layernorm.c - LayerNorm forward and backward over the last dimension.
 *
 * Rows are independent and split across threads; the parameter gradients (sums over rows) are
 * computed in a second pass split over columns, each column summed over all rows in order, so
 * no reduction is ever split between threads.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

#include <math.h>

#include "kernels/cpu/simd.h"

/* Loads n < 8 floats, filling the other lanes with fill. */
static vf8 load_tail(const float *p, int n, float fill) {
    float t[8];
    for (int i = 0; i < 8; i++)
        t[i] = i < n ? p[i] : fill;
    return vf8_loadu(t);
}

static void ln_row_stats(const float *x, int C, float *mean_out, float *rstd_out) {
    vf8 s = vf8_zero();
    int i = 0;
    for (; i + 8 <= C; i += 8)
        s = vf8_add(s, vf8_loadu(x + i));
    if (i < C) s = vf8_add(s, load_tail(x + i, C - i, 0.0f));
    float mean = vf8_hsum(s) / (float)C;
    vf8 mv = vf8_set1(mean), v = vf8_zero();
    for (i = 0; i + 8 <= C; i += 8) {
        vf8 d = vf8_sub(vf8_loadu(x + i), mv);
        v = vf8_fmadd(d, d, v);
    }
    if (i < C) {
        vf8 d = vf8_sub(load_tail(x + i, C - i, mean), mv);
        v = vf8_fmadd(d, d, v);
    }
    float var = vf8_hsum(v) / (float)C;
    *mean_out = mean;
    *rstd_out = 1.0f / sqrtf(var + KERN_LN_EPS);
}

void kern_cpu_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                                const float *gamma, const float *beta, int64_t M, int C) {
    KERN_PARALLEL_FOR(schedule(static), 1, r, M, {
        const float *x = inp + r * C;
        float *y = out + r * C;
        float mu, rs;
        ln_row_stats(x, C, &mu, &rs);
        mean[r] = mu;
        rstd[r] = rs;
        vf8 muv = vf8_set1(mu), rsv = vf8_set1(rs);
        int i = 0;
        for (; i + 8 <= C; i += 8) {
            vf8 xh = vf8_mul(vf8_sub(vf8_loadu(x + i), muv), rsv);
            vf8_storeu(y + i, vf8_add(vf8_mul(xh, vf8_loadu(gamma + i)), vf8_loadu(beta + i)));
        }
        for (; i < C; i++)
            y[i] = (x[i] - mu) * rs * gamma[i] + beta[i];
    });
}

/* The two row sums of the backward, s1 = sum dxhat and s2 = sum dxhat * xhat, each in column
 * order, for one row (scalar) or for 8 rows at once (lane = row: 8 x 8 blocks of dout and inp
 * are transposed, so every lane adds its row's terms in the very order of the scalar loop). */
static void ln_row_sums(const float *x, const float *dy, const float *gamma, float mu, float rs,
                        int C, float *s1_out, float *s2_out) {
    float s1 = 0.0f, s2 = 0.0f;
    for (int i = 0; i < C; i++) {
        float dxh = dy[i] * gamma[i];
        s1 += dxh;
        s2 += dxh * ((x[i] - mu) * rs);
    }
    *s1_out = s1;
    *s2_out = s2;
}

/* ln_row_sums8 for 8 * nset rows (nset <= 2): the sets' chains interleave, so that two
 * additions are in flight where one would wait out the other's latency; each lane's chain is
 * the one ln_row_sums8 gives it. */
static inline __attribute__((always_inline)) void
ln_row_sums8x(const float *x, const float *dy, const float *gamma, const float *mean,
              const float *rstd, int C, float *s1_out, float *s2_out, const int nset) {
    vf8 s1[2] = {vf8_zero(), vf8_zero()}, s2[2] = {vf8_zero(), vf8_zero()}, mu[2], rs[2];
    for (int q = 0; q < nset; q++)
        mu[q] = vf8_loadu(mean + 8 * q), rs[q] = vf8_loadu(rstd + 8 * q);
    for (int i0 = 0; i0 < C; i0 += 8) {
        vf8 xt[2][8], dt[2][8];
        for (int q = 0; q < nset; q++) {
            for (int r = 0; r < 8; r++) {
                xt[q][r] = vf8_loadu(x + (int64_t)(8 * q + r) * C + i0);
                dt[q][r] = vf8_loadu(dy + (int64_t)(8 * q + r) * C + i0);
            }
            vf8_transpose8(xt[q]);
            vf8_transpose8(dt[q]);
        }
        for (int j = 0; j < 8; j++) {
            vf8 gj = vf8_set1(gamma[i0 + j]);
            for (int q = 0; q < nset; q++) {
                vf8 dxh = vf8_mul(dt[q][j], gj);
                s1[q] = vf8_add(s1[q], dxh);
                s2[q] = vf8_add(s2[q], vf8_mul(dxh, vf8_mul(vf8_sub(xt[q][j], mu[q]), rs[q])));
            }
        }
    }
    for (int q = 0; q < nset; q++) {
        vf8_storeu(s1_out + 8 * q, s1[q]);
        vf8_storeu(s2_out + 8 * q, s2[q]);
    }
}

/* dx += rs * (dy * gamma - s1 - xhat * s2) over one row, 8 lanes at a time (elementwise). */
static void ln_row_apply(float *dx, const float *x, const float *dy, const float *gamma, float mu,
                         float rs, float s1, float s2, int C) {
    vf8 muv = vf8_set1(mu), rsv = vf8_set1(rs);
    vf8 s1v = vf8_set1(s1), s2v = vf8_set1(s2);
    int i = 0;
    for (; i + 8 <= C; i += 8) {
        vf8 xh = vf8_mul(vf8_sub(vf8_loadu(x + i), muv), rsv);
        vf8 g = vf8_mul(vf8_loadu(dy + i), vf8_loadu(gamma + i));
        vf8 t = vf8_sub(vf8_sub(g, s1v), vf8_mul(xh, s2v));
        vf8_storeu(dx + i, vf8_add(vf8_loadu(dx + i), vf8_mul(rsv, t)));
    }
    for (; i < C; i++) {
        float xh = (x[i] - mu) * rs;
        dx[i] += rs * (dy[i] * gamma[i] - s1 - xh * s2);
    }
}

/* dinp += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * gamma.
 * Rows go in groups of 16 or 8 where C is a multiple of 8 (the sums of 8 rows at once, two such
 * sets interleaved), the rest one by one; all give the same bits. */
static void ln_backward_rows(float *dinp, const float *dout, const float *inp, const float *mean,
                             const float *rstd, const float *gamma, int64_t M, int C) {
    /* tasks: groups of 16 rows, then one of 8 if left, then single rows */
    int64_t n16 = C % 8 == 0 ? M / 16 : 0, n8 = C % 8 == 0 ? (M - 16 * n16) / 8 : 0;
    int64_t rows_grouped = 16 * n16 + 8 * n8, n_tasks = n16 + n8 + (M - rows_grouped);
    KERN_PARALLEL_FOR(schedule(static), 1, t, n_tasks, {
        int64_t r0 = t < n16        ? 16 * t
                     : t < n16 + n8 ? 16 * n16 + 8 * (t - n16)
                                    : rows_grouped + (t - n16 - n8);
        int rows = t < n16 ? 16 : t < n16 + n8 ? 8 : 1;
        float s1[16], s2[16];
        const float *x = inp + r0 * C, *dy = dout + r0 * C;
        if (rows == 16)
            ln_row_sums8x(x, dy, gamma, mean + r0, rstd + r0, C, s1, s2, 2);
        else if (rows == 8)
            ln_row_sums8x(x, dy, gamma, mean + r0, rstd + r0, C, s1, s2, 1);
        else
            ln_row_sums(x, dy, gamma, mean[r0], rstd[r0], C, s1, s2);
        for (int k = 0; k < rows; k++) {
            int64_t r = r0 + k;
            ln_row_apply(dinp + r * C, inp + r * C, dout + r * C, gamma, mean[r], rstd[r],
                         s1[k] / (float)C, s2[k] / (float)C, C);
        }
    });
}

/* dgamma[c] += sum_r dout*xhat, dbeta[c] += sum_r dout; threads split the columns, 8 lanes =
 * 8 columns, each summed over the rows in order. */
static void ln_backward_params(float *dgamma, float *dbeta, const float *dout, const float *inp,
                               const float *mean, const float *rstd, int64_t M, int C) {
    int n_chunks = (C + 7) / 8;
    KERN_PARALLEL_FOR(schedule(static), 1, ch, n_chunks, {
        int c0 = ch * 8, w = C - c0 < 8 ? C - c0 : 8;
        vf8 g = vf8_zero(), b = vf8_zero();
        for (int64_t r = 0; r < M; r++) {
            const float *x = inp + r * C + c0, *dy = dout + r * C + c0;
            vf8 xv = w == 8 ? vf8_loadu(x) : load_tail(x, w, 0.0f);
            vf8 dv = w == 8 ? vf8_loadu(dy) : load_tail(dy, w, 0.0f);
            vf8 xh = vf8_mul(vf8_sub(xv, vf8_set1(mean[r])), vf8_set1(rstd[r]));
            g = vf8_add(g, vf8_mul(dv, xh));
            b = vf8_add(b, dv);
        }
        float gs[8], bs[8];
        vf8_storeu(gs, g);
        vf8_storeu(bs, b);
        for (int j = 0; j < w; j++) {
            dgamma[c0 + j] += gs[j];
            dbeta[c0 + j] += bs[j];
        }
    });
}

void kern_cpu_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                                 const float *inp, const float *mean, const float *rstd,
                                 const float *gamma, int64_t M, int C) {
    ln_backward_rows(dinp, dout, inp, mean, rstd, gamma, M, C);
    ln_backward_params(dgamma, dbeta, dout, inp, mean, rstd, M, C);
}
