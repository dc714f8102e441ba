/* test_kernels.c - every CPU kernel against a plain scalar reference (double accumulation),
 * compared by relative error max|a - b| / max|b|; and bit-identical results of a whole-model
 * forward + backward with 1 and 2 OpenMP threads.
 */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "kernels/kernels.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "model/vlm.h"
#include "model/vlm_internal.h" /* last_at_targets: the full pass as a reference */

static int g_failures;
static uint64_t g_seed = 1;

static float *rand_buf(size_t n, float scale) {
    float *p = micl_malloc(n * sizeof(float) + 4);
    rng_t r = rng_make(g_seed++, RNG_STREAM_TEST, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_normal(&r);
    return p;
}

static double rel_err(const float *a, const double *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= num)) num = d; /* NaN propagates as failure */
        if (fabs(b[i]) > den) den = fabs(b[i]);
    }
    return num / (den > 1e-30 ? den : 1e-30);
}

static void expect(const char *what, const float *a, const double *b, size_t n, double tol) {
    double e = rel_err(a, b, n);
    int ok = e < tol;
    if (!ok) g_failures++;
    printf("%-44s rel err %.2e %s\n", what, e, ok ? "ok" : "FAIL");
}

/* ---- matmul ---- */

static void test_matmul(int64_t M, int K, int N) {
    float *x = rand_buf((size_t)M * K, 1.0f), *w = rand_buf((size_t)N * K, 0.5f);
    float *b = rand_buf((size_t)N, 1.0f), *dy = rand_buf((size_t)M * N, 1.0f);
    float *y = micl_malloc(sizeof(float) * (size_t)(M * N) + 4);
    void *scratch = kern_alloc(kern_weight_bytes(K, N));
    float *dx = micl_malloc(sizeof(float) * (size_t)(M * K) + 4);
    float *dw = rand_buf((size_t)N * K, 1.0f), *db = rand_buf((size_t)N, 1.0f);
    double *ry = malloc(sizeof(double) * (size_t)(M * N) + 8);
    double *rdx = malloc(sizeof(double) * (size_t)(M * K) + 8);
    double *rdw = malloc(sizeof(double) * (size_t)N * K + 8);
    double *rdb = malloc(sizeof(double) * (size_t)N + 8);
    for (int64_t i = 0; i < M; i++)
        for (int n = 0; n < N; n++) {
            double s = b[n];
            for (int k = 0; k < K; k++)
                s += (double)x[i * K + k] * w[(int64_t)n * K + k];
            ry[i * N + n] = s;
        }
    for (int64_t i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int n = 0; n < N; n++)
                s += (double)dy[i * N + n] * w[(int64_t)n * K + k];
            rdx[i * K + k] = s;
        }
    for (int n = 0; n < N; n++) {
        double sb = db[n];
        for (int64_t i = 0; i < M; i++)
            sb += dy[i * N + n];
        rdb[n] = sb;
        for (int k = 0; k < K; k++) {
            double s = dw[(int64_t)n * K + k];
            for (int64_t i = 0; i < M; i++)
                s += (double)dy[i * N + n] * x[i * K + k];
            rdw[(int64_t)n * K + k] = s;
        }
    }
    kern_matmul_forward(y, x, kern_weight_prepare(scratch, w, K, N), b, M, K, N);
    float *db2 = micl_malloc(sizeof(float) * (size_t)N + 4); /* the bias sum fused into dW */
    memcpy(db2, db, sizeof(float) * (size_t)N);
    kern_sum_rows(db2, dy, M, N);
    kern_matmul_backward(dx, dw, db, dy, x, w, M, K, N, 1);
    int same_db = !memcmp(db, db2, sizeof(float) * (size_t)N);
    if (!same_db) g_failures++;
    printf("matmul db   M=%lld K=%d N=%d == kern_sum_rows: %s\n", (long long)M, K, N,
           same_db ? "yes" : "NO");
    free(db2);
    char name[96];
    snprintf(name, sizeof name, "matmul fwd  M=%lld K=%d N=%d", (long long)M, K, N);
    expect(name, y, ry, (size_t)(M * N), 1e-5);
    snprintf(name, sizeof name, "matmul dinp M=%lld K=%d N=%d", (long long)M, K, N);
    expect(name, dx, rdx, (size_t)(M * K), 1e-5);
    snprintf(name, sizeof name, "matmul dw   M=%lld K=%d N=%d", (long long)M, K, N);
    expect(name, dw, rdw, (size_t)N * K, 1e-5);
    snprintf(name, sizeof name, "matmul db   M=%lld K=%d N=%d", (long long)M, K, N);
    expect(name, db, rdb, (size_t)N, 1e-5);
    free(x), free(w), free(b), free(dy), free(y), kern_free(scratch), free(dx), free(dw), free(db);
    free(ry), free(rdx), free(rdw), free(rdb);
}

/* kern_gemm gives the same bits whichever layout A has: the column-major path (the weight
 * gradients, which pack A) against the row-major path on a transposed copy, with = and +=. */
static void test_gemm_layouts(int64_t M, int64_t N, int64_t K) {
    float *a = rand_buf((size_t)(M * K), 1.0f), *b = rand_buf((size_t)(K * N), 1.0f);
    float *at = micl_malloc(sizeof(float) * (size_t)(M * K) + 4);
    float *c0 = rand_buf((size_t)(M * N), 1.0f);
    float *c1 = micl_malloc(sizeof(float) * (size_t)(M * N) + 4);
    float *c2 = micl_malloc(sizeof(float) * (size_t)(M * N) + 4);
    for (int64_t i = 0; i < M; i++) /* a column-major [M x K] (ld M), at row-major */
        for (int64_t k = 0; k < K; k++)
            at[i * K + k] = a[i + k * M];
    int same = 1;
    for (int acc = 0; acc <= 1; acc++) {
        memcpy(c1, c0, sizeof(float) * (size_t)(M * N));
        memcpy(c2, c0, sizeof(float) * (size_t)(M * N));
        kern_gemm(M, N, K, a, 1, M, b, N, c1, N, acc);
        kern_gemm(M, N, K, at, K, 1, b, N, c2, N, acc);
        same = same && !memcmp(c1, c2, sizeof(float) * (size_t)(M * N));
    }
    char name[64];
    snprintf(name, sizeof name, "gemm %lldx%lldx%lld A col == A row", (long long)M, (long long)N,
             (long long)K);
    printf("%-44s %s\n", name, same ? "yes" : "NO");
    if (!same) g_failures++;
    free(a), free(b), free(at), free(c0), free(c1), free(c2);
}

/* The fused GELU epilogues give exactly the bits of the separate kernels. */
static void test_matmul_gelu(int64_t M, int K, int N) {
    float *x = rand_buf((size_t)M * K, 1.0f), *w = rand_buf((size_t)N * K, 0.5f);
    float *b = rand_buf((size_t)N, 1.0f), *dy = rand_buf((size_t)M * K, 1.0f);
    void *scratch = kern_alloc(kern_weight_bytes(K, N));
    size_t mn = (size_t)(M * N);
    float *pre1 = micl_malloc(sizeof(float) * mn + 4), *act1 = micl_malloc(sizeof(float) * mn + 4);
    float *pre2 = micl_malloc(sizeof(float) * mn + 4), *act2 = micl_malloc(sizeof(float) * mn + 4);
    float *dx1 = micl_malloc(sizeof(float) * mn + 4), *dx2 = micl_malloc(sizeof(float) * mn + 4);
    float *dw1 = calloc((size_t)N * K, sizeof(float)), *dw2 = calloc((size_t)N * K, sizeof(float));
    const kern_weight_t *wt = kern_weight_prepare(scratch, w, K, N);
    kern_matmul_forward(pre1, x, wt, b, M, K, N);
    kern_gelu_forward(act1, pre1, (int64_t)mn);
    /* pre2 receives GELU' of the pre-activation: the separate kernel's, times ones */
    kern_matmul_gelu_forward(act2, pre2, x, wt, b, M, K, N);
    float *ones = micl_malloc(sizeof(float) * mn + 4), *act3 = micl_malloc(sizeof(float) * mn + 4);
    for (size_t i = 0; i < mn; i++)
        ones[i] = 1.0f;
    kern_matmul_gelu_forward(act3, NULL, x, wt, b, M, K, N);
    /* a layer [K x N] fed by act: its dinp [M x N] through GELU' of pre */
    kern_matmul_backward(dx1, dw1, NULL, dy, act1, w, M, N, K, 1);
    kern_gelu_backward(dx1, pre1, dx1, (int64_t)mn);
    kern_matmul_gelu_backward(dx2, dw2, NULL, dy, act2, w, pre2, M, N, K, 1);
    kern_gelu_backward(pre1, pre1, ones, (int64_t)mn);
    /* a layer adding into the residual stream (act1 as the residual) */
    float *out1 = micl_malloc(sizeof(float) * mn + 4), *out2 = micl_malloc(sizeof(float) * mn + 4);
    wt = kern_weight_prepare(scratch, w, K, N);
    kern_matmul_forward(out1, x, wt, b, M, K, N);
    kern_add_inplace(out1, act1, (int64_t)mn);
    kern_matmul_residual_forward(out2, x, wt, b, act1, M, K, N);
    int same = !memcmp(out1, out2, mn * sizeof(float)) && !memcmp(pre1, pre2, mn * sizeof(float)) &&
               !memcmp(act1, act2, mn * sizeof(float)) && !memcmp(act1, act3, mn * sizeof(float)) &&
               !memcmp(dx1, dx2, mn * sizeof(float)) &&
               !memcmp(dw1, dw2, (size_t)N * K * sizeof(float));
    printf("%-44s fused == separate: %s\n", "matmul+gelu, matmul+residual", same ? "yes" : "NO");
    free(out1), free(out2);
    if (!same) g_failures++;
    free(x), free(w), free(b), free(dy), kern_free(scratch), free(pre1), free(act1), free(pre2);
    free(act2), free(dx1), free(dx2), free(dw1), free(dw2), free(ones), free(act3);
}

/* ---- layernorm ---- */

static void test_layernorm(int64_t M, int C) {
    float *x = rand_buf((size_t)(M * C), 2.0f), *g = rand_buf((size_t)C, 1.0f);
    float *be = rand_buf((size_t)C, 1.0f), *dy = rand_buf((size_t)(M * C), 1.0f);
    float *y = micl_malloc(sizeof(float) * (size_t)(M * C)),
          *mean = micl_malloc(sizeof(float) * (size_t)M);
    float *rstd = micl_malloc(sizeof(float) * (size_t)M);
    float *dx = rand_buf((size_t)(M * C), 1.0f), *dg = rand_buf((size_t)C, 1.0f);
    float *db = rand_buf((size_t)C, 1.0f);
    double *ry = malloc(sizeof(double) * (size_t)(M * C)),
           *rdx = malloc(sizeof(double) * (size_t)(M * C));
    double *rdg = malloc(sizeof(double) * (size_t)C), *rdb = malloc(sizeof(double) * (size_t)C);
    for (int c = 0; c < C; c++)
        rdg[c] = dg[c], rdb[c] = db[c];
    for (int64_t r = 0; r < M; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        double mu = 0, var = 0;
        for (int c = 0; c < C; c++)
            mu += xr[c];
        mu /= C;
        for (int c = 0; c < C; c++)
            var += (xr[c] - mu) * (xr[c] - mu);
        var /= C;
        double rs = 1.0 / sqrt(var + KERN_LN_EPS), s1 = 0, s2 = 0;
        for (int c = 0; c < C; c++) {
            double xh = (xr[c] - mu) * rs;
            ry[r * C + c] = xh * g[c] + be[c];
            s1 += dyr[c] * g[c];
            s2 += dyr[c] * g[c] * xh;
            rdg[c] += dyr[c] * xh;
            rdb[c] += dyr[c];
        }
        for (int c = 0; c < C; c++) {
            double xh = (xr[c] - mu) * rs;
            rdx[r * C + c] = dx[r * C + c] + rs * (dyr[c] * g[c] - s1 / C - xh * s2 / C);
        }
    }
    /* the plain float reference: the kernels' arithmetic, one element at a time in order */
    size_t mc = (size_t)(M * C);
    float *py = micl_malloc(sizeof(float) * mc), *pdx = micl_malloc(sizeof(float) * mc);
    float *pdg = micl_malloc(sizeof(float) * (size_t)C),
          *pdb = micl_malloc(sizeof(float) * (size_t)C);
    memcpy(pdx, dx, sizeof(float) * mc), memcpy(pdg, dg, sizeof(float) * (size_t)C);
    memcpy(pdb, db, sizeof(float) * (size_t)C);
    kern_layernorm_forward(y, mean, rstd, x, g, be, M, C); /* mean and rstd for the reference */
    for (int64_t r = 0; r < M; r++) {
        const float *xr = x + r * C, *dyr = dy + r * C;
        float mu = mean[r], rs = rstd[r], s1 = 0.0f, s2 = 0.0f;
        for (int c = 0; c < C; c++) {
            py[r * C + c] = (xr[c] - mu) * rs * g[c] + be[c];
            float dxh = dyr[c] * g[c];
            s1 += dxh;
            s2 += dxh * ((xr[c] - mu) * rs);
        }
        s1 /= (float)C;
        s2 /= (float)C;
        for (int c = 0; c < C; c++)
            pdx[r * C + c] += rs * (dyr[c] * g[c] - s1 - (xr[c] - mu) * rs * s2);
    }
    for (int c = 0; c < C; c++) {
        float sg = 0.0f, sb = 0.0f;
        for (int64_t r = 0; r < M; r++) {
            sg += dy[r * C + c] * ((x[r * C + c] - mean[r]) * rstd[r]);
            sb += dy[r * C + c];
        }
        pdg[c] += sg, pdb[c] += sb;
    }
    kern_layernorm_backward(dx, dg, db, dy, x, mean, rstd, g, M, C);
    int same = !memcmp(py, y, sizeof(float) * mc) && !memcmp(pdx, dx, sizeof(float) * mc) &&
               !memcmp(pdg, dg, sizeof(float) * (size_t)C) &&
               !memcmp(pdb, db, sizeof(float) * (size_t)C);
    if (!same) g_failures++;
    printf("layernorm M=%lld C=%-4d == plain float reference: %s\n", (long long)M, C,
           same ? "yes" : "NO");
    free(py), free(pdx), free(pdg), free(pdb);
    char name[96];
    snprintf(name, sizeof name, "layernorm fwd M=%lld C=%d", (long long)M, C);
    expect(name, y, ry, (size_t)(M * C), 1e-5);
    snprintf(name, sizeof name, "layernorm dinp M=%lld C=%d", (long long)M, C);
    expect(name, dx, rdx, (size_t)(M * C), 1e-5);
    snprintf(name, sizeof name, "layernorm dgamma M=%lld C=%d", (long long)M, C);
    expect(name, dg, rdg, (size_t)C, 1e-5);
    snprintf(name, sizeof name, "layernorm dbeta M=%lld C=%d", (long long)M, C);
    expect(name, db, rdb, (size_t)C, 1e-5);
    free(x), free(g), free(be), free(dy), free(y), free(mean), free(rstd), free(dx), free(dg);
    free(db), free(ry), free(rdx), free(rdg), free(rdb);
}

/* ---- GELU, exp, elementwise ---- */

static void test_gelu(int64_t n) {
    float *x = rand_buf((size_t)n, 3.0f), *dy = rand_buf((size_t)n, 1.0f);
    x[0] = 0.0f;
    if (n > 2) x[1] = 30.0f, x[2] = -30.0f;
    float *y = micl_malloc(sizeof(float) * (size_t)n), *dx = micl_malloc(sizeof(float) * (size_t)n);
    double *ry = malloc(sizeof(double) * (size_t)n), *rdx = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        double v = x[i], k = sqrt(2.0 / 3.14159265358979323846), u = k * (v + 0.044715 * v * v * v);
        double t = tanh(u);
        ry[i] = 0.5 * v * (1 + t);
        rdx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v));
    }
    kern_gelu_forward(y, x, n);
    kern_gelu_backward(dx, x, dy, n);
    char name[96];
    snprintf(name, sizeof name, "gelu fwd n=%lld", (long long)n);
    expect(name, y, ry, (size_t)n, 1e-6);
    /* gelu' in float: 1 - t^2 cancels where |t| is near 1 (|x| of 3 and more, where the
     * factor 0.5 x K (1 + 3 C x^2) is large): about 1e-6 to 2e-6 of the largest value */
    snprintf(name, sizeof name, "gelu bwd n=%lld", (long long)n);
    expect(name, dx, rdx, (size_t)n, 4e-6);
    free(x), free(dy), free(y), free(dx), free(ry), free(rdx);
}

static void test_exp(void) {
    int n = 1003;
    float *x = rand_buf((size_t)n, 20.0f);
    double *r = malloc(sizeof(double) * (size_t)n);
    int ok = 1;
    for (int i = 0; i < n; i++)
        r[i] = exp((double)x[i]);
    kern_exp_inplace(x, n);
    for (int i = 0; i < n; i++)
        if (fabs(x[i] - r[i]) > 3e-7 * r[i]) ok = 0;
    if (!ok) g_failures++;
    printf("%-44s %s\n", "exp elementwise rel err < 3e-7", ok ? "ok" : "FAIL");
    free(x), free(r);
}

/* ---- attention ---- */

static void ref_attention(double *out, double *dqkv, const float *qkv, const float *dout, int B,
                          int T, int H, int C, int causal) {
    int hd = C / H;
    int64_t st = 3 * (int64_t)C;
    double scale = 1.0 / sqrt((double)hd);
    double *p = malloc(sizeof(double) * (size_t)T), *dp = malloc(sizeof(double) * (size_t)T);
    memset(dqkv, 0, sizeof(double) * (size_t)B * T * st);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const float *q = qkv + ((int64_t)b * T + i) * st + h * hd;
                int n = causal ? i + 1 : T;
                double mx = -1e300, sum = 0;
                for (int j = 0; j < n; j++) {
                    const float *k = qkv + ((int64_t)b * T + j) * st + C + h * hd;
                    double s = 0;
                    for (int d = 0; d < hd; d++)
                        s += (double)q[d] * k[d];
                    p[j] = s * scale;
                    if (p[j] > mx) mx = p[j];
                }
                for (int j = 0; j < n; j++)
                    sum += (p[j] = exp(p[j] - mx));
                for (int j = 0; j < n; j++)
                    p[j] /= sum;
                const float *go = dout + ((int64_t)b * T + i) * C + h * hd;
                double dot = 0;
                for (int d = 0; d < hd; d++) {
                    double o = 0;
                    for (int j = 0; j < n; j++)
                        o += p[j] * qkv[((int64_t)b * T + j) * st + 2 * C + h * hd + d];
                    out[((int64_t)b * T + i) * C + h * hd + d] = o;
                }
                for (int j = 0; j < n; j++) {
                    const float *v = qkv + ((int64_t)b * T + j) * st + 2 * C + h * hd;
                    double s = 0;
                    for (int d = 0; d < hd; d++)
                        s += (double)go[d] * v[d];
                    dp[j] = s;
                    dot += p[j] * s;
                }
                for (int j = 0; j < n; j++) {
                    double ds = p[j] * (dp[j] - dot) * scale;
                    double *dq = dqkv + ((int64_t)b * T + i) * st + h * hd;
                    double *dk = dqkv + ((int64_t)b * T + j) * st + C + h * hd;
                    double *dv = dqkv + ((int64_t)b * T + j) * st + 2 * C + h * hd;
                    const float *k = qkv + ((int64_t)b * T + j) * st + C + h * hd;
                    for (int d = 0; d < hd; d++) {
                        dq[d] += ds * k[d];
                        dk[d] += ds * q[d];
                        dv[d] += p[j] * go[d];
                    }
                }
            }
    free(p), free(dp);
}

static void test_attention(int B, int T, int H, int C, int causal) {
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C;
    float *qkv = rand_buf(nq, 1.0f), *dout = rand_buf(no, 1.0f);
    float *out = micl_malloc(sizeof(float) * no), *dqkv = micl_malloc(sizeof(float) * nq);
    float *probs = micl_malloc(sizeof(float) * (size_t)B * H * T * T);
    double *rout = malloc(sizeof(double) * no), *rdqkv = malloc(sizeof(double) * nq);
    ref_attention(rout, rdqkv, qkv, dout, B, T, H, C, causal);
    kern_attention_forward(out, probs, qkv, B, T, H, C, causal);
    kern_attention_backward(dqkv, dout, qkv, probs, B, T, H, C, causal);
    char name[96];
    snprintf(name, sizeof name, "attention fwd B=%d T=%d H=%d C=%d %s", B, T, H, C,
             causal ? "causal" : "bidir");
    expect(name, out, rout, no, 1e-5);
    snprintf(name, sizeof name, "attention bwd B=%d T=%d H=%d C=%d %s", B, T, H, C,
             causal ? "causal" : "bidir");
    expect(name, dqkv, rdqkv, nq, 1e-5);
    free(qkv), free(dout), free(out), free(dqkv), free(probs), free(rout), free(rdqkv);
}

/* New rows p0..T-1 over a cache of rows 0..p0-1 (in a separate buffer with its own stride):
 * the same bits as the whole-sequence kernel, and close to the reference. */
static void test_attention_cached(int T, int H, int C, int p0) {
    size_t nq = (size_t)T * 3 * C, no = (size_t)T * C;
    int64_t cs = C + 5;
    float *qkv = rand_buf(nq, 1.0f), *dout = rand_buf(no, 1.0f);
    float *out = micl_malloc(sizeof(float) * no),
          *probs = micl_malloc(sizeof(float) * (size_t)H * T * T);
    float *kc = micl_malloc(sizeof(float) * (size_t)(T * cs) + 4);
    float *vc = micl_malloc(sizeof(float) * (size_t)(T * cs) + 4);
    float *cout = micl_malloc(sizeof(float) * no);
    double *rout = malloc(sizeof(double) * no), *rdqkv = malloc(sizeof(double) * nq);
    for (int j = 0; j < p0; j++) {
        memcpy(kc + j * cs, qkv + (size_t)j * 3 * C + C, sizeof(float) * (size_t)C);
        memcpy(vc + j * cs, qkv + (size_t)j * 3 * C + 2 * C, sizeof(float) * (size_t)C);
    }
    ref_attention(rout, rdqkv, qkv, dout, 1, T, H, C, 1);
    kern_attention_forward(out, probs, qkv, 1, T, H, C, 1);
    kern_attention_cached_forward(cout, qkv + (size_t)p0 * 3 * C, T - p0, kc, vc, cs, p0, H, C);
    size_t off = (size_t)p0 * C, n = no - off;
    char name[96];
    snprintf(name, sizeof name, "attention cached T=%d H=%d C=%d p0=%d", T, H, C, p0);
    expect(name, cout, rout + off, n, 1e-5);
    int same = memcmp(cout, out + off, n * sizeof(float)) == 0;
    if (!same) g_failures++;
    printf("%-44s bit-identical to full: %s\n", name, same ? "ok" : "FAIL");
    free(qkv), free(dout), free(out), free(probs), free(kc), free(vc), free(cout);
    free(rout), free(rdqkv);
}

/* ---- rope ---- */

static void test_rope(int B, int T, int H, int C) {
    int hd = C / H, half = hd / 2;
    size_t nq = (size_t)B * T * 3 * C;
    float *cs = micl_malloc(sizeof(float) * (size_t)T * half),
          *sn = micl_malloc(sizeof(float) * (size_t)T * half);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -2.0 * i / hd);
            cs[t * half + i] = (float)cos(a), sn[t * half + i] = (float)sin(a);
        }
    float *x = rand_buf(nq, 1.0f), *g = rand_buf(nq, 1.0f);
    double *rx = malloc(sizeof(double) * nq), *rg = malloc(sizeof(double) * nq);
    for (size_t i = 0; i < nq; i++)
        rx[i] = x[i], rg[i] = g[i];
    for (int64_t r = 0; r < (int64_t)B * T; r++)
        for (int part = 0; part < 2; part++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < half; i++) {
                    size_t o = (size_t)r * 3 * C + part * C + h * hd + 2 * i;
                    double c = cs[(r % T) * half + i], s = sn[(r % T) * half + i];
                    rx[o] = (double)x[o] * c - (double)x[o + 1] * s;
                    rx[o + 1] = (double)x[o] * s + (double)x[o + 1] * c;
                    rg[o] = (double)g[o] * c + (double)g[o + 1] * s;
                    rg[o + 1] = -(double)g[o] * s + (double)g[o + 1] * c;
                }
    kern_rope_forward(x, cs, sn, B, T, H, C);
    kern_rope_backward(g, cs, sn, B, T, H, C);
    expect("rope fwd", x, rx, nq, 1e-6);
    expect("rope bwd", g, rg, nq, 1e-6);
    free(cs), free(sn), free(x), free(g), free(rx), free(rg);
}

/* ---- pool, cross-entropy ---- */

static void test_pool(void) {
    int G = 5, P = 16, C = 24;
    float *x = rand_buf((size_t)G * P * C, 1.0f), *dy = rand_buf((size_t)G * C, 1.0f);
    float *y = micl_malloc(sizeof(float) * G * C), *dx = micl_malloc(sizeof(float) * G * P * C);
    double *ry = calloc((size_t)G * C, sizeof(double)), *rdx = malloc(sizeof(double) * G * P * C);
    for (int g = 0; g < G; g++)
        for (int p = 0; p < P; p++)
            for (int c = 0; c < C; c++) {
                ry[g * C + c] += x[(g * P + p) * C + c] / (double)P;
                rdx[(g * P + p) * C + c] = dy[g * C + c] / (double)P;
            }
    kern_mean_pool_forward(y, x, G, P, C);
    kern_mean_pool_backward(dx, dy, G, P, C);
    expect("mean pool fwd", y, ry, (size_t)G * C, 1e-6);
    expect("mean pool bwd", dx, rdx, (size_t)G * P * C, 1e-6);
    free(x), free(dy), free(y), free(dx), free(ry), free(rdx);
}

static void test_crossentropy(int n, int V) {
    float *x = rand_buf((size_t)n * V, 3.0f), *lse = micl_malloc(sizeof(float) * (size_t)n);
    float *d = micl_malloc(sizeof(float) * (size_t)n * V);
    int32_t *t = micl_malloc(sizeof(int32_t) * (size_t)n);
    double *rd = malloc(sizeof(double) * (size_t)n * V), rloss = 0;
    float scale = 0.37f;
    for (int r = 0; r < n; r++)
        t[r] = (int32_t)((r * 7919) % V);
    for (int r = 0; r < n; r++) {
        double mx = -1e300, s = 0;
        for (int i = 0; i < V; i++)
            mx = x[r * V + i] > mx ? x[r * V + i] : mx;
        for (int i = 0; i < V; i++)
            s += exp(x[r * V + i] - mx);
        double l = mx + log(s);
        rloss += l - x[r * V + t[r]];
        for (int i = 0; i < V; i++)
            rd[r * V + i] = scale * (exp(x[r * V + i] - l) - (i == t[r]));
    }
    double loss = kern_crossentropy_forward(lse, x, t, n, V);
    kern_crossentropy_backward(d, x, lse, t, n, V, scale);
    float lf = (float)loss;
    char name[96];
    snprintf(name, sizeof name, "crossentropy loss n=%d V=%d", n, V);
    expect(name, &lf, &rloss, 1, 1e-6);
    snprintf(name, sizeof name, "crossentropy grad n=%d V=%d", n, V);
    expect(name, d, rd, (size_t)n * V, 1e-5);
    free(x), free(lse), free(d), free(t), free(rd);
}

/* ---- AdamW ---- */

static void test_adamw(void) {
    size_t n = 1001;
    float *p = rand_buf(n, 1.0f), *g = rand_buf(n, 1.0f), *m = rand_buf(n, 0.1f);
    float *v = rand_buf(n, 0.1f);
    for (size_t i = 0; i < n; i++)
        v[i] = fabsf(v[i]);
    uint8_t *mask = micl_malloc(n);
    for (size_t i = 0; i < n; i++)
        mask[i] = (uint8_t)(i % 3 != 0);
    double *rp = malloc(sizeof(double) * n), rn = 0;
    float lr = 1e-3f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
    int64_t step = 7;
    for (size_t i = 0; i < n; i++) {
        double mi = b1 * (double)m[i] + (1 - b1) * (double)g[i];
        double vi = b2 * (double)v[i] + (1 - b2) * (double)g[i] * g[i];
        double mh = mi / (1 - pow(b1, step)), vh = vi / (1 - pow(b2, step));
        rp[i] = p[i] - lr * (mh / (sqrt(vh) + eps) + (mask[i] ? wd : 0.0) * p[i]);
        rn += (double)g[i] * g[i];
    }
    float gn = (float)kern_grad_norm(g, n);
    double rnorm = sqrt(rn);
    kern_adamw_update(p, g, m, v, mask, n, lr, b1, b2, eps, wd, step);
    expect("adamw update", p, rp, n, 1e-6);
    expect("grad norm", &gn, &rnorm, 1, 1e-6);
    kern_scale_inplace(g, n, 0.5f);
    free(p), free(g), free(m), free(v), free(mask), free(rp);
}

/* grad_norm's documented order, bit for bit: blocks of 8192 squares summed from zero in double,
 * the block sums added in block order; on more blocks than one parallel group (256), and on 1
 * and 2 threads. */
static void test_grad_norm_order(void) {
    size_t n = (size_t)8192 * 300 + 17;
    float *g = malloc(n * sizeof(float));
    rng_t r = rng_make(9, RNG_STREAM_TEST, 3);
    for (size_t i = 0; i < n; i++)
        g[i] = rng_normal(&r) * (float)(1 + i % 5);
    double total = 0.0;
    for (size_t b = 0; b < n; b += 8192) {
        double s = 0.0;
        for (size_t i = b; i < n && i < b + 8192; i++)
            s += (double)g[i] * (double)g[i];
        total += s;
    }
    double want = sqrt(total);
    int threads = omp_get_max_threads();
    for (int t = 1; t <= 2; t++) {
        omp_set_num_threads(t);
        double got = kern_grad_norm(g, n);
        int ok = memcmp(&got, &want, sizeof got) == 0;
        if (!ok) g_failures++;
        printf("grad norm order, %d thread(s)                 %s\n", t, ok ? "ok" : "FAIL");
    }
    omp_set_num_threads(threads);
    free(g);
}

/* ---- smeared keys ---- */

/* Plain reference in double: K'[t] = s K[t] + (1 - s) K[t-1] per head (K[-1] = k_before, or
 * K'[0] = K[0] without it); dK = A^T dK' for that bidiagonal A; dalpha = s(1-s) sum over t >= 1
 * of (K[t] - K[t-1]) . dK'[t]. With k_before (B = 1) position 0 mixes in k_before too. */
static void test_smear(int B, int T, int H, int C, int with_before) {
    int hd = C / H;
    size_t R = (size_t)B * T;
    float *qkv = rand_buf(R * 3 * C, 1.0f), *dqkv = rand_buf(R * 3 * C, 1.0f);
    float *alpha = rand_buf((size_t)H, 1.0f),
          *before = with_before ? rand_buf((size_t)C, 1.0f) : NULL;
    float *kraw = micl_malloc(R * C * sizeof(float)),
          *dalpha = micl_calloc((size_t)H, sizeof(float));
    double *rk = malloc(R * C * sizeof(double)), *rdk = malloc(R * C * sizeof(double));
    double *rda = calloc((size_t)H, sizeof(double));
    float *kgot = micl_malloc(R * C * sizeof(float)), *dkgot = micl_malloc(R * C * sizeof(float));
    for (size_t r = 0; r < R; r++) {
        int t = (int)(r % (size_t)T);
        for (int c = 0; c < C; c++) {
            double s = 1.0 / (1.0 + exp(-(double)alpha[c / hd]));
            double k = qkv[r * 3 * C + C + c];
            const float *prev = t > 0 ? &qkv[(r - 1) * 3 * C + C + c] : before ? &before[c] : NULL;
            rk[r * C + c] = prev ? s * k + (1 - s) * (double)*prev : k;
            double own = prev ? s : 1.0,
                   next = t + 1 < T ? (1 - s) * dqkv[(r + 1) * 3 * C + C + c] : 0;
            rdk[r * C + c] = own * dqkv[r * 3 * C + C + c] + next;
            if (prev) rda[c / hd] += s * (1 - s) * (k - (double)*prev) * dqkv[r * 3 * C + C + c];
        }
    }
    double *rraw = malloc(R * C * sizeof(double));
    for (size_t r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            rraw[r * C + c] = qkv[r * 3 * C + C + c];
    kern_smear_keys_forward(qkv, kraw, alpha, B, T, H, C, before);
    for (size_t r = 0; r < R; r++)
        memcpy(kgot + r * C, qkv + r * 3 * C + C, sizeof(float) * (size_t)C);
    char what[80];
    snprintf(what, sizeof what, "smear keys fwd B%d T%d H%d C%d%s", B, T, H, C,
             with_before ? " +before" : "");
    expect(what, kgot, rk, R * C, 1e-6);
    expect("smear keys raw copy", kraw, rraw, R * C, 1e-7);
    if (!with_before) { /* the backward is defined for whole sequences (training) */
        kern_smear_keys_backward(dqkv, dalpha, kraw, alpha, B, T, H, C);
        for (size_t r = 0; r < R; r++)
            memcpy(dkgot + r * C, dqkv + r * 3 * C + C, sizeof(float) * (size_t)C);
        snprintf(what, sizeof what, "smear keys bwd dk B%d T%d H%d C%d", B, T, H, C);
        expect(what, dkgot, rdk, R * C, 1e-6);
        expect("smear keys bwd dalpha", dalpha, rda, (size_t)H, 1e-5);
    }
    free(qkv), free(dqkv), free(alpha), free(before), free(kraw), free(dalpha), free(rk);
    free(rdk), free(rda), free(kgot), free(dkgot), free(rraw);
}

/* ---- thread-count independence of a whole forward + backward ---- */

/* The model tests' small VLM (decoder 128 x 2 layers, vocabulary 97), initialised from seed. */
static vlm_t *test_model(int max_seq, int max_tokens, int max_images, uint64_t seed) {
    vlm_config_t c = {28, 7, 64, 1, 4, 128, 2, 4, 4, 97, max_seq, 0.02f, VLM_POOL_FLATTEN, 1, 1};
    char err[256];
    vlm_t *m = vlm_create(&c, max_tokens, max_images, err, sizeof err);
    if (!m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(m, seed);
    return m;
}

static void run_model(vlm_t *m, int threads, float *grads_out, double *loss) {
    omp_set_num_threads(threads);
    const vlm_config_t *c = vlm_config(m);
    enum { B = 3, T = 11 };
    int32_t tok[B * T], tgt[B * T];
    int n_img = 0;
    for (int i = 0; i < B * T; i++) {
        tok[i] = (i % T) % 3 == 1 ? 0 : 1 + (i * 13) % (c->vocab - 1);
        n_img += tok[i] == 0;
        tgt[i] = (i % 4 == 3) ? -1 : (i * 7) % c->vocab;
    }
    size_t S = (size_t)c->image_size * c->image_size;
    uint8_t *px = micl_malloc(S * (size_t)n_img);
    for (size_t i = 0; i < S * (size_t)n_img; i++)
        px[i] = (uint8_t)((i * 2654435761u) >> 24);
    vlm_batch_t b = {B, T, tok, tgt, n_img, px, 0};
    int64_t nt;
    vlm_zero_grads(m);
    *loss = vlm_forward(m, &b, &nt);
    vlm_backward(m, 1.0f / (float)nt);
    memcpy(grads_out, vlm_grads(m), sizeof(float) * vlm_num_params(m));
    free(px);
}

static void test_thread_determinism(void) {
    vlm_t *m = test_model(16, 64, 32, 5);
    size_t n = vlm_num_params(m);
    float *g1 = micl_malloc(n * sizeof(float)), *g2 = micl_malloc(n * sizeof(float));
    double l1, l2;
    run_model(m, 1, g1, &l1);
    run_model(m, 2, g2, &l2);
    int ok = memcmp(g1, g2, n * sizeof(float)) == 0 && l1 == l2;
    if (!ok) g_failures++;
    printf("%-44s %s (loss %.6f)\n", "grads bit-identical with 1 and 2 threads", ok ? "ok" : "FAIL",
           l1);
    free(g1), free(g2);
    vlm_free(m);
}

/* Weights packed once per update give the bits of packing per product, and a parameter written
 * through vlm_params after packing is seen by the next pass (the packed copy was dropped). */
static void test_packed_weights(void) {
    vlm_t *m = test_model(16, 64, 32, 7);
    size_t n = vlm_num_params(m);
    float *g1 = micl_malloc(n * sizeof(float)), *g2 = micl_malloc(n * sizeof(float));
    double l1, l2, l3, l4;
    run_model(m, 1, g1, &l1); /* packing per product */
    vlm_pack_weights(m);
    run_model(m, 1, g2, &l2);
    int same = memcmp(g1, g2, n * sizeof(float)) == 0 && l1 == l2;
    const vlm_tensor_t *head = NULL;
    for (int i = 0; i < vlm_num_tensors(m); i++)
        if (!strcmp(vlm_tensor(m, i)->name, "dec.head.w")) head = vlm_tensor(m, i);
    vlm_pack_weights(m);
    float *p = vlm_params(m);
    for (size_t j = 0; j < head->size; j++)
        p[head->offset + j] *= 2.0f;
    run_model(m, 1, g2, &l3); /* must see the doubled head */
    vlm_pack_weights(m);
    run_model(m, 1, g1, &l4);
    int fresh = l3 != l2 && l3 == l4 && memcmp(g1, g2, n * sizeof(float)) == 0;
    if (!same || !fresh) g_failures++;
    printf("%-44s %s\n", "packed weights: same bits, dropped on write",
           same && fresh ? "ok" : "FAIL");
    free(g1), free(g2);
    vlm_free(m);
}

/* One backward after vlm_zero_grads (the dW products write the linear weights' gradients)
 * against one into gradients zeroed by hand (they add into zeros), from a buffer full of NaN:
 * the same bits, with and without images (the encoder's gradients must then be zeros). */
static void zero_grads_case(vlm_t *m, int with_images, int *ok) {
    const vlm_config_t *c = vlm_config(m);
    enum { B = 2, T = 9 };
    int32_t tok[B * T], tgt[B * T];
    int n_img = 0;
    for (int i = 0; i < B * T; i++) {
        tok[i] = with_images && (i % T) % 4 == 1 ? 0 : 1 + (i * 11) % (c->vocab - 1);
        n_img += tok[i] == 0;
        tgt[i] = i % 3 == 2 ? -1 : (i * 5) % c->vocab;
    }
    size_t S = (size_t)c->image_size * c->image_size, n = vlm_num_params(m);
    uint8_t *px = micl_malloc(S * (size_t)(n_img + 1));
    for (size_t i = 0; i < S * (size_t)n_img; i++)
        px[i] = (uint8_t)((i * 2246822519u) >> 24);
    vlm_batch_t b = {B, T, tok, tgt, n_img, px, 0};
    float *g[2];
    for (int pass = 0; pass < 2; pass++) {
        memset(vlm_grads(m), 0xff, n * sizeof(float)); /* NaN everywhere */
        if (pass == 0)
            vlm_zero_grads(m);
        else
            memset(vlm_grads(m), 0, n * sizeof(float));
        int64_t nt;
        vlm_forward(m, &b, &nt);
        vlm_backward(m, 0.5f);
        g[pass] = micl_malloc(n * sizeof(float));
        memcpy(g[pass], vlm_grads(m), n * sizeof(float));
    }
    *ok = *ok && !memcmp(g[0], g[1], n * sizeof(float));
    memset(vlm_grads(m), 0xff, n * sizeof(float));
    vlm_zero_grads(m); /* read back without a backward: zeros */
    const float *z = vlm_grads(m);
    for (size_t i = 0; i < n; i++)
        *ok = *ok && z[i] == 0.0f;
    free(g[0]), free(g[1]), free(px);
}

static void test_zero_grads(void) {
    vlm_t *m = test_model(16, 64, 32, 9);
    int ok = 1;
    zero_grads_case(m, 1, &ok);
    zero_grads_case(m, 0, &ok);
    if (!ok) g_failures++;
    printf("%-44s %s\n", "dW written after vlm_zero_grads == added", ok ? "ok" : "FAIL");
    vlm_free(m);
}

/* The last decoder block at the target rows gives the loss and every gradient bit of the
 * full pass: 6 x 60 = 360 rows (two reduction blocks of 256), targets sparse, none in the
 * first block's rows, or none at all. */
static void test_last_block_at_targets(void) {
    enum { B = 6, T = 60 };
    vlm_t *m = test_model(64, B * T, B * T, 11);
    const vlm_config_t c = *vlm_config(m);
    size_t n = vlm_num_params(m), S = (size_t)c.image_size * c.image_size;
    int32_t tok[B * T], tgt[B * T];
    uint8_t *px = micl_malloc(S * B * T);
    for (size_t i = 0; i < S * B * T; i++)
        px[i] = (uint8_t)((i * 2654435761u) >> 24);
    int ok = 1;
    for (int pattern = 0; pattern < 3; pattern++) {
        int n_img = 0;
        for (int i = 0; i < B * T; i++) {
            tok[i] = (i % T) % 5 == 2 ? 0 : 1 + (i * 13) % (c.vocab - 1);
            n_img += tok[i] == 0;
            int hit = pattern == 0 ? i % 3 == 1 : pattern == 1 ? i >= 256 && i % 7 == 3 : 0;
            tgt[i] = hit ? (i * 7) % c.vocab : -1;
        }
        vlm_batch_t b = {B, T, tok, tgt, n_img, px, 0};
        float *g[2];
        double loss[2];
        for (int full = 0; full < 2; full++) {
            m->last_at_targets = !full;
            int64_t nt;
            vlm_zero_grads(m);
            loss[full] = vlm_forward(m, &b, &nt);
            vlm_backward(m, 0.25f);
            g[full] = micl_malloc(n * sizeof(float));
            memcpy(g[full], vlm_grads(m), n * sizeof(float));
        }
        ok = ok && loss[0] == loss[1] && !memcmp(g[0], g[1], n * sizeof(float));
        free(g[0]), free(g[1]);
    }
    m->last_at_targets = 1;
    if (!ok) g_failures++;
    printf("%-44s %s\n", "last block at the targets == every row", ok ? "ok" : "FAIL");
    free(px);
    vlm_free(m);
}

int main(void) {
    int64_t mm[][3] = {{1, 1, 1},     {7, 49, 64},    {150, 128, 384}, {13, 300, 17},
                       {97, 513, 33}, {200, 64, 256}, {6, 16, 16}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++)
        test_matmul(mm[i][0], (int)mm[i][1], (int)mm[i][2]);
    int64_t gl[][3] = {{64, 49, 1152}, {1454, 128, 72}, {97, 300, 37}, {5, 3, 7}, {200, 130, 513}};
    for (size_t i = 0; i < sizeof gl / sizeof gl[0]; i++)
        test_gemm_layouts(gl[i][0], gl[i][1], gl[i][2]);
    test_matmul_gelu(150, 128, 512); /* full tiles, several row blocks */
    test_matmul_gelu(97, 300, 37);   /* edge rows and columns, two k blocks */
    test_matmul_gelu(5, 7, 3);
    test_layernorm(37, 64); /* 2 groups of 16 rows and 5 single rows */
    test_layernorm(29, 64); /* a group of 16, one of 8 and 5 single rows */
    test_layernorm(5, 13);
    test_layernorm(24, 128);
    test_layernorm(9, 20); /* C not a multiple of 8: every row alone */
    test_gelu(1000);
    test_gelu(5);
    test_exp();
    test_attention(2, 16, 4, 64, 0);
    test_attention(3, 43, 4, 128, 1);
    test_attention(2, 5, 2, 12, 1);
    test_attention(1, 1, 1, 8, 1);
    test_attention(1, 300, 1, 64, 1);  /* too large for the local transposed path */
    test_attention(3, 19, 4, 64, 1);   /* head width 16: rows in pairs, an odd last row */
    test_attention(2, 17, 2, 16, 0);   /* head width 8, bidirectional, odd T */
    test_attention(1, 200, 2, 128, 1); /* 25 blocks of keys: score groups of 8, 8, 8, 1 */
    test_attention_cached(43, 4, 128, 41);
    test_attention_cached(43, 4, 128, 0);
    test_attention_cached(17, 2, 12, 9); /* head width 6: the generic weighted sum */
    test_attention_cached(9, 1, 8, 8);
    test_attention_cached(300, 1, 64, 250); /* the dot-product path */
    test_rope(2, 9, 2, 16);
    test_smear(3, 11, 4, 32, 0);
    test_smear(1, 1, 1, 8, 0);
    test_smear(1, 7, 2, 12, 1);
    test_pool();
    test_crossentropy(7, 50);
    test_crossentropy(5, 1403);
    test_adamw();
    test_grad_norm_order();
    test_thread_determinism();
    test_packed_weights();
    test_zero_grads();
    test_last_block_at_targets();
    if (g_failures) printf("%d FAILED\n", g_failures);
    return g_failures ? 1 : 0;
}
