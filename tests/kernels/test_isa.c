/* test_isa.c - every instruction-set build of the CPU kernels (kernels/cpu/isa.cmake: "scalar",
 * "avx2", "avx512") gives the scalar build's bits, kernel by kernel and shape by shape.
 *
 * Each case below builds its inputs from a fixed seed, runs kernels of kernels.h and buffer.h
 * through the current backend table and keeps a copy of every output (a log). The scalar
 * build's log is the reference; every other build this processor runs (kern_backend_cpu_isas)
 * runs the same case on the same inputs and its log must be byte for byte the same (memcmp). A
 * mismatch names the kernel, the shape, the build, the thread count and the first differing
 * element with both values. The shapes hit the builds' edges: products with M, K, N off and on
 * the tile sizes (6 x 16 and 12 x 16) and K over several blocks of 256, both layouts of A,
 * lengths that are not multiples of 8 or 16, every attention path. Everything runs on 2 OpenMP
 * threads, the products also on 1 (against the 2-thread reference). Also: the builds' tables
 * carry their own names, and an unknown name has no table.
 */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

/* ---- a log of outputs, and the buffers of one run ---- */

enum { MAX_RECORDS = 32, MAX_BUFFERS = 48 };

typedef struct {
    char what[40];
    char type; /* 'f' float, 'd' double, 'b' byte */
    size_t n;  /* elements */
    void *data;
} record_t;

typedef struct {
    record_t rec[MAX_RECORDS];
    int n;
} log_t;

static void log_keep(log_t *log, const char *what, const void *p, size_t n, char type) {
    if (log->n == MAX_RECORDS)
        micl_fatal("test_isa: more than %d outputs in one case", MAX_RECORDS);
    size_t size = type == 'd' ? sizeof(double) : type == 'f' ? sizeof(float) : 1;
    record_t *r = &log->rec[log->n++];
    snprintf(r->what, sizeof r->what, "%s", what);
    r->type = type, r->n = n;
    r->data = micl_malloc(n * size + 1);
    memcpy(r->data, p, n * size);
}

static void keep_f(log_t *log, const char *what, const float *p, size_t n) {
    log_keep(log, what, p, n, 'f');
}

static void keep_d(log_t *log, const char *what, double v) {
    log_keep(log, what, &v, 1, 'd');
}

static void log_free(log_t *log) {
    for (int i = 0; i < log->n; i++)
        free(log->rec[i].data);
    log->n = 0;
}

/* Buffers of one run of a case, freed together after it. */
static void *g_buffers[MAX_BUFFERS];
static int g_n_buffers;
static uint64_t g_seed; /* the next input's seed: reset before each run of a case */

static void *buffer(size_t bytes) {
    if (g_n_buffers == MAX_BUFFERS) micl_fatal("test_isa: more than %d buffers", MAX_BUFFERS);
    void *p = micl_alloc_aligned(bytes + 64);
    memset(p, 0, bytes + 64);
    return g_buffers[g_n_buffers++] = p;
}

static void free_buffers(void) {
    while (g_n_buffers > 0)
        free(g_buffers[--g_n_buffers]);
}

static float *zeros(size_t n) {
    return buffer(n * sizeof(float));
}

/* n normal floats times scale, from the next seed. */
static float *rnd(size_t n, float scale) {
    float *p = zeros(n);
    rng_t r = rng_make(g_seed++, RNG_STREAM_TEST, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_normal(&r);
    return p;
}

static int32_t *ints(size_t n) {
    return buffer(n * sizeof(int32_t));
}

/* ---- the comparison ---- */

static const kern_backend_t *g_scalar;
static const kern_backend_t *g_builds[4]; /* the builds other than scalar this processor runs */
static int g_n_builds;
static int g_failures, g_compared;

typedef void (*case_fn)(const int *s, log_t *log);

/* One run of case fn on shape s through backend b on `threads` threads. */
static void run(const kern_backend_t *b, int threads, case_fn fn, const int *s, uint64_t seed,
                log_t *log) {
    kern_backend_set(b);
    omp_set_num_threads(threads);
    g_seed = seed;
    fn(s, log);
    free_buffers();
}

static void print_value(const record_t *r, size_t i) {
    if (r->type == 'f') {
        float v;
        uint32_t u;
        memcpy(&v, (const float *)r->data + i, sizeof v), memcpy(&u, &v, sizeof u);
        printf("%.9g (0x%08x)", v, u);
    } else if (r->type == 'd') {
        double v;
        uint64_t u;
        memcpy(&v, (const double *)r->data + i, sizeof v), memcpy(&u, &v, sizeof u);
        printf("%.17g (0x%016llx)", v, (unsigned long long)u);
    } else {
        printf("%u", ((const uint8_t *)r->data)[i]);
    }
}

/* 1 if got has ref's bytes; else prints where they first differ. */
static int same_log(const log_t *ref, const log_t *got, const char *kernel, const char *shape,
                    const char *isa, int threads) {
    if (ref->n != got->n) {
        printf("FAIL %s %s [%s, %d threads]: %d outputs, scalar %d\n", kernel, shape, isa, threads,
               got->n, ref->n);
        return 0;
    }
    for (int k = 0; k < ref->n; k++) {
        const record_t *a = &ref->rec[k], *b = &got->rec[k];
        size_t size = a->type == 'd' ? sizeof(double) : a->type == 'f' ? sizeof(float) : 1;
        if (memcmp(a->data, b->data, a->n * size) == 0) continue;
        size_t i = 0;
        while (memcmp((const char *)a->data + i * size, (const char *)b->data + i * size, size) ==
               0)
            i++;
        printf("FAIL %s %s [%s, %d threads]: %s[%zu] = ", kernel, shape, isa, threads, a->what, i);
        print_value(b, i);
        printf(", scalar ");
        print_value(a, i);
        printf("\n");
        return 0;
    }
    return 1;
}

static int g_case; /* each case draws its inputs from seeds of its own */

/* Runs case fn on shape s (described by the format) through the scalar build on 2 threads,
 * then through every other build on each of `threads`, and compares the outputs. */
static void check(const char *kernel, case_fn fn, const int *s, const int *threads, int n_threads,
                  const char *fmt, ...) {
    char shape[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(shape, sizeof shape, fmt, ap);
    va_end(ap);
    uint64_t seed = (uint64_t)++g_case * 1000;
    log_t ref = {0}, got = {0};
    run(g_scalar, 2, fn, s, seed, &ref);
    for (int b = 0; b < g_n_builds; b++)
        for (int t = 0; t < n_threads; t++) {
            run(g_builds[b], threads[t], fn, s, seed, &got);
            g_compared++;
            if (!same_log(&ref, &got, kernel, shape, g_builds[b]->isa, threads[t])) g_failures++;
            log_free(&got);
        }
    log_free(&ref);
}

static const int TWO[] = {2}, BOTH[] = {2, 1};
#define CHECK(kernel, fn, s, ...) check(kernel, fn, s, TWO, 1, __VA_ARGS__)
#define CHECK_THREADS(kernel, fn, s, ...) check(kernel, fn, s, BOTH, 2, __VA_ARGS__)

/* ---- products: s = {M, K, N} ---- */

/* The forward products of one layer [K -> N] on M rows: the prepared weight itself, with and
 * without bias, the residual and GELU epilogues (GELU' kept or not). */
static void case_matmul_forward(const int *s, log_t *log) {
    int64_t M = s[0];
    int K = s[1], N = s[2];
    size_t mn = (size_t)M * N;
    float *x = rnd((size_t)M * K, 1.0f), *w = rnd((size_t)N * K, 0.5f), *b = rnd((size_t)N, 1.0f);
    float *res = rnd(mn, 1.0f), *out = zeros(mn), *dgelu = zeros(mn);
    size_t wbytes = kern_weight_bytes(K, N);
    void *scratch = buffer(wbytes);
    const kern_weight_t *wt = kern_weight_prepare(scratch, w, K, N);
    log_keep(log, "prepared weight", scratch, wbytes, 'b');
    kern_matmul_forward(out, x, wt, b, M, K, N);
    keep_f(log, "forward out", out, mn);
    kern_matmul_forward(out, x, wt, NULL, M, K, N);
    keep_f(log, "forward out (no bias)", out, mn);
    kern_matmul_residual_forward(out, x, wt, b, res, M, K, N);
    keep_f(log, "residual out", out, mn);
    kern_matmul_gelu_forward(out, dgelu, x, wt, b, M, K, N);
    keep_f(log, "gelu act", out, mn);
    keep_f(log, "gelu dgelu", dgelu, mn);
    kern_matmul_gelu_forward(out, NULL, x, wt, b, M, K, N);
    keep_f(log, "gelu act (no dgelu)", out, mn);
}

/* The backward of one layer [K -> N]: dw = dout^T inp through the column-major path of the
 * GEMM, with the bias sums packed on the way or without, = and +=, and the fused GELU'. */
static void case_matmul_backward(const int *s, log_t *log) {
    int64_t M = s[0];
    int K = s[1], N = s[2];
    size_t mk = (size_t)M * K, nk = (size_t)N * K;
    float *dout = rnd((size_t)M * N, 1.0f), *x = rnd(mk, 1.0f), *w = rnd(nk, 0.5f);
    float *dgelu = rnd(mk, 1.0f), *dx = zeros(mk), *dw = rnd(nk, 1.0f), *db = rnd((size_t)N, 1.0f);
    kern_matmul_backward(dx, dw, db, dout, x, w, M, K, N, 1);
    keep_f(log, "dinp", dx, mk);
    keep_f(log, "dw (+=)", dw, nk);
    keep_f(log, "dbias (+=)", db, (size_t)N);
    kern_matmul_backward(NULL, dw, NULL, dout, x, w, M, K, N, 0);
    keep_f(log, "dw (=, no dbias)", dw, nk);
    kern_matmul_backward(NULL, dw, db, dout, x, w, M, K, N, 0);
    keep_f(log, "dw (=, dbias)", dw, nk);
    keep_f(log, "dbias (dw =)", db, (size_t)N);
    kern_matmul_gelu_backward(dx, dw, db, dout, x, w, dgelu, M, K, N, 1);
    keep_f(log, "gelu dinp", dx, mk);
    keep_f(log, "gelu dw", dw, nk);
    keep_f(log, "gelu dbias", db, (size_t)N);
}

/* kern_gemm with both layouts of A, padded strides, = and +=. */
static void case_gemm(const int *s, log_t *log) {
    int64_t M = s[0], K = s[1], N = s[2];
    int64_t lda_col = M + 3, lda_row = K + 1, ldb = N + 2, ldc = N + 5;
    float *acol = rnd((size_t)(lda_col * K), 1.0f), *arow = rnd((size_t)(lda_row * M), 1.0f);
    float *b = rnd((size_t)(K * ldb), 1.0f), *c0 = rnd((size_t)(M * ldc), 1.0f);
    float *c = zeros((size_t)(M * ldc));
    for (int acc = 0; acc <= 1; acc++) {
        memcpy(c, c0, sizeof(float) * (size_t)(M * ldc));
        kern_gemm(M, N, K, acol, 1, lda_col, b, ldb, c, ldc, acc);
        keep_f(log, acc ? "C += A(col) B" : "C = A(col) B", c, (size_t)(M * ldc));
        memcpy(c, c0, sizeof(float) * (size_t)(M * ldc));
        kern_gemm(M, N, K, acol, 1, M, b, N, c, N, acc); /* A's columns contiguous */
        keep_f(log, acc ? "C += A(col, ld M) B" : "C = A(col, ld M) B", c, (size_t)(M * N));
        memcpy(c, c0, sizeof(float) * (size_t)(M * ldc));
        kern_gemm(M, N, K, arow, lda_row, 1, b, ldb, c, ldc, acc);
        keep_f(log, acc ? "C += A(row) B" : "C = A(row) B", c, (size_t)(M * ldc));
    }
}

/* s = {nt, K, N}: nt compact rows spread over a product of 3 k blocks and more. */
static void case_backward_rows(const int *s, log_t *log) {
    int64_t nt = s[0];
    int K = s[1], N = s[2];
    int64_t M = 3 * 256 + 11;
    int32_t *rows = ints((size_t)nt);
    for (int64_t i = 0; i < nt; i++) /* ascending, distinct, some gaps of one row */
        rows[i] = (int32_t)(i * M / nt + (M / nt > 1 ? i % 2 : 0));
    size_t tk = (size_t)nt * K, nk = (size_t)N * K;
    float *dout = rnd((size_t)nt * N, 1.0f), *x = rnd(tk, 1.0f), *w = rnd(nk, 0.5f);
    float *dgelu = rnd(tk, 1.0f), *dx = zeros(tk), *dw = rnd(nk, 1.0f), *db = rnd((size_t)N, 1.0f);
    kern_matmul_backward_rows(dx, dw, db, dout, x, w, dgelu, rows, nt, K, N, 1);
    keep_f(log, "dinp (dgelu)", dx, tk);
    keep_f(log, "dw (+=)", dw, nk);
    keep_f(log, "dbias", db, (size_t)N);
    kern_matmul_backward_rows(dx, dw, NULL, dout, x, w, NULL, rows, nt, K, N, 0);
    keep_f(log, "dinp", dx, tk);
    keep_f(log, "dw (=)", dw, nk);
}

static const int SIZES[] = {1, 5, 6, 7, 12, 13, 17, 31, 96, 97, 150};
static const int KS[] = {1, 5, 6, 7, 12, 13, 17, 31, 96, 97, 150, 300, 515};
enum { N_SIZES = sizeof SIZES / sizeof SIZES[0], N_KS = sizeof KS / sizeof KS[0] };

static void check_products(int M, int K, int N) {
    int s[3] = {M, K, N};
    CHECK_THREADS("matmul forward", case_matmul_forward, s, "M=%d K=%d N=%d", M, K, N);
    CHECK_THREADS("matmul backward", case_matmul_backward, s, "M=%d K=%d N=%d", M, K, N);
    CHECK_THREADS("gemm", case_gemm, s, "M=%d K=%d N=%d", M, K, N);
    CHECK_THREADS("matmul_backward_rows", case_backward_rows, s, "nt=%d K=%d N=%d", M, K, N);
}

/* Every pair M, N of SIZES with four K of KS, in turn, so that every pair (M, K) and (K, N)
 * occurs too (for a fixed M, im + in + j runs through 14 consecutive values), then the largest
 * products over several k blocks. Each on 2 threads and on 1. */
static void test_products(void) {
    for (int im = 0; im < N_SIZES; im++)
        for (int in = 0; in < N_SIZES; in++)
            for (int j = 0; j < 4; j++)
                check_products(SIZES[im], KS[(im + in + j) % N_KS], SIZES[in]);
    static const int big[][3] = {{150, 515, 150}, {97, 515, 97}, {96, 300, 96}, {13, 515, 17}};
    for (int i = 0; i < 4; i++)
        check_products(big[i][0], big[i][1], big[i][2]);
}

/* ---- norms, activations, elementwise ---- */

/* s = {M, C} */
static void case_layernorm(const int *s, log_t *log) {
    int64_t M = s[0];
    int C = s[1];
    size_t mc = (size_t)M * C;
    float *x = rnd(mc, 2.0f), *g = rnd((size_t)C, 1.0f), *be = rnd((size_t)C, 1.0f);
    float *dy = rnd(mc, 1.0f), *y = zeros(mc), *mean = zeros((size_t)M), *rstd = zeros((size_t)M);
    float *dx = rnd(mc, 1.0f), *dg = rnd((size_t)C, 1.0f), *db = rnd((size_t)C, 1.0f);
    kern_layernorm_forward(y, mean, rstd, x, g, be, M, C);
    keep_f(log, "out", y, mc);
    keep_f(log, "mean", mean, (size_t)M);
    keep_f(log, "rstd", rstd, (size_t)M);
    kern_layernorm_backward(dx, dg, db, dy, x, mean, rstd, g, M, C);
    keep_f(log, "dinp", dx, mc);
    keep_f(log, "dgamma", dg, (size_t)C);
    keep_f(log, "dbeta", db, (size_t)C);
}

/* Special values at the front of x (as many as fit). */
static void put_specials(float *x, size_t n, const float *v, size_t nv) {
    for (size_t i = 0; i < n && i < nv; i++)
        x[i] = v[i];
}

/* s = {n}: GELU forward and backward (also in place), exp. */
static void case_pointwise(const int *s, log_t *log) {
    size_t n = (size_t)s[0];
    float *x = rnd(n, 3.0f), *dy = rnd(n, 1.0f), *y = zeros(n), *e = rnd(n, 20.0f);
    static const float gel[] = {0.0f, -0.0f, 30.0f, -30.0f, 9.5f, -9.5f, 1e-20f};
    static const float ex[] = {0.0f, -0.0f, -100.0f, 88.0f, -87.5f, 1e-30f, 80.0f, -20.0f};
    put_specials(x + n / 2, n - n / 2, gel, sizeof gel / sizeof gel[0]);
    put_specials(e + n / 3, n - n / 3, ex, sizeof ex / sizeof ex[0]);
    kern_gelu_forward(y, x, (int64_t)n);
    keep_f(log, "gelu", y, n);
    kern_gelu_backward(y, x, dy, (int64_t)n);
    keep_f(log, "gelu backward", y, n);
    kern_gelu_backward(dy, x, dy, (int64_t)n);
    keep_f(log, "gelu backward in place", dy, n);
    kern_exp_inplace(e, (int64_t)n);
    keep_f(log, "exp", e, n);
}

/* s = {M, C}: add, add_rows, sum_rows, accumulate_rows, plus_zero, scale. */
static void case_rows(const int *s, log_t *log) {
    int64_t M = s[0];
    int C = s[1];
    size_t mc = (size_t)M * C;
    float *y = rnd(mc, 1.0f), *x = rnd(mc, 1.0f), *v = rnd((size_t)C, 1.0f);
    float *dv = rnd((size_t)C, 1.0f), *z = rnd(mc, 1.0f);
    for (size_t i = 0; i < mc; i += 3)
        z[i] = i % 2 ? -0.0f : 0.0f;
    kern_add_inplace(y, x, (int64_t)mc);
    keep_f(log, "add_inplace", y, mc);
    kern_add_rows(y, v, M, C);
    keep_f(log, "add_rows", y, mc);
    kern_sum_rows(dv, y, M, C);
    keep_f(log, "sum_rows", dv, (size_t)C);
    kern_accumulate_rows(dv, x, M, C);
    keep_f(log, "accumulate_rows", dv, (size_t)C);
    kern_plus_zero(z, (int64_t)mc);
    keep_f(log, "plus_zero", z, mc);
    kern_scale_inplace(x, mc, 0.3f);
    keep_f(log, "scale_inplace", x, mc);
}

static void test_elementwise(void) {
    static const int lns[][2] = {{1, 5}, {7, 5}, {13, 8}, {7, 64}, {33, 100}, {5, 64}, {1, 100}};
    for (size_t i = 0; i < sizeof lns / sizeof lns[0]; i++)
        CHECK("layernorm", case_layernorm, lns[i], "M=%d C=%d", lns[i][0], lns[i][1]);
    static const int ns[] = {1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1003, 4099};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        CHECK("gelu, exp", case_pointwise, &ns[i], "n=%d", ns[i]);
    static const int rows[][2] = {{1, 1}, {1, 5}, {7, 5}, {13, 8}, {3, 17}, {9, 64}, {33, 100}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK("add/sum/accumulate rows", case_rows, rows[i], "M=%d C=%d", rows[i][0], rows[i][1]);
}

/* ---- attention, rotary embedding, smeared keys ---- */

/* s = {B, T, H, hd, causal} */
static void case_attention(const int *s, log_t *log) {
    int B = s[0], T = s[1], H = s[2], C = H * s[3], causal = s[4];
    size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, np = (size_t)B * H * T * T;
    float *qkv = rnd(nq, 1.0f), *dout = rnd(no, 1.0f), *out = zeros(no), *probs = zeros(np);
    float *dqkv = rnd(nq, 1.0f);
    kern_attention_forward(out, probs, qkv, B, T, H, C, causal);
    keep_f(log, "out", out, no);
    keep_f(log, "probs", probs, np);
    kern_attention_backward(dqkv, dout, qkv, probs, B, T, H, C, causal);
    keep_f(log, "dqkv", dqkv, nq);
}

/* s = {T, H, hd, p0}: rows p0..T-1 over a cache of rows 0..p0-1 (row stride C + 5). */
static void case_attention_cached(const int *s, log_t *log) {
    int T = s[0], H = s[1], C = H * s[2], p0 = s[3];
    int64_t cs = C + 5;
    float *qkv = rnd((size_t)T * 3 * C, 1.0f), *out = zeros((size_t)(T - p0) * C);
    float *kc = zeros((size_t)(T * cs)), *vc = zeros((size_t)(T * cs));
    for (int j = 0; j < p0; j++) {
        memcpy(kc + j * cs, qkv + (size_t)j * 3 * C + C, sizeof(float) * (size_t)C);
        memcpy(vc + j * cs, qkv + (size_t)j * 3 * C + 2 * C, sizeof(float) * (size_t)C);
    }
    kern_attention_cached_forward(out, qkv + (size_t)p0 * 3 * C, T - p0, kc, vc, cs, p0, H, C);
    keep_f(log, "out", out, (size_t)(T - p0) * C);
}

/* s = {B, T, H, hd} */
static void case_rope(const int *s, log_t *log) {
    int B = s[0], T = s[1], H = s[2], hd = s[3], C = H * hd, half = hd / 2;
    size_t nq = (size_t)B * T * 3 * C;
    float *cs = zeros((size_t)T * half), *sn = zeros((size_t)T * half);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -2.0 * i / hd);
            cs[t * half + i] = (float)cos(a), sn[t * half + i] = (float)sin(a);
        }
    float *x = rnd(nq, 1.0f), *g = rnd(nq, 1.0f);
    kern_rope_forward(x, cs, sn, B, T, H, C);
    keep_f(log, "rope forward", x, nq);
    kern_rope_backward(g, cs, sn, B, T, H, C);
    keep_f(log, "rope backward", g, nq);
}

/* s = {B, T, H, hd, with k_before} */
static void case_smear(const int *s, log_t *log) {
    int B = s[0], T = s[1], H = s[2], C = H * s[3], before = s[4];
    size_t R = (size_t)B * T;
    float *qkv = rnd(R * 3 * C, 1.0f), *dqkv = rnd(R * 3 * C, 1.0f), *alpha = rnd((size_t)H, 1.0f);
    float *kb = before ? rnd((size_t)C, 1.0f) : NULL, *kraw = zeros(R * C);
    float *dalpha = rnd((size_t)H, 1.0f);
    kern_smear_keys_forward(qkv, kraw, alpha, B, T, H, C, kb);
    keep_f(log, "qkv", qkv, R * 3 * C);
    keep_f(log, "kraw", kraw, R * C);
    if (!before) { /* the backward is for whole sequences (training) */
        kern_smear_keys_backward(dqkv, dalpha, kraw, alpha, B, T, H, C);
        keep_f(log, "dqkv", dqkv, R * 3 * C);
        keep_f(log, "dalpha", dalpha, (size_t)H);
    }
}

static void test_attention(void) {
    static const int hds[] = {8, 12, 16, 32, 64}, Ts[] = {1, 7, 19, 33, 16};
    for (int c = 0; c <= 1; c++)
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 5; j++) {
                int s[5] = {2, Ts[j], 2, hds[i], c};
                CHECK("attention", case_attention, s, "B=2 T=%d H=2 hd=%d %s", Ts[j], hds[i],
                      c ? "causal" : "bidirectional");
            }
    static const int big[][5] = {{1, 150, 1, 64, 1}, {1, 200, 2, 64, 0}, {1, 300, 1, 64, 1}};
    for (int i = 0; i < 3; i++) /* heads too large for the local transposed copy */
        CHECK("attention", case_attention, big[i], "B=%d T=%d H=%d hd=%d causal=%d", big[i][0],
              big[i][1], big[i][2], big[i][3], big[i][4]);
    static const int cached[][4] = {{43, 4, 32, 41}, {43, 4, 32, 0},   {17, 2, 6, 9},
                                    {9, 1, 8, 8},    {19, 2, 12, 7},   {33, 2, 16, 20},
                                    {7, 2, 64, 3},   {300, 1, 64, 250}};
    for (size_t i = 0; i < sizeof cached / sizeof cached[0]; i++)
        CHECK("attention_cached_forward", case_attention_cached, cached[i], "T=%d H=%d hd=%d p0=%d",
              cached[i][0], cached[i][1], cached[i][2], cached[i][3]);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 3; j++) {
            int s[4] = {2, Ts[j], 2, hds[i]};
            CHECK("rope", case_rope, s, "B=2 T=%d H=2 hd=%d", Ts[j], hds[i]);
        }
    static const int smear[][5] = {{3, 11, 4, 8, 0},  {1, 1, 1, 8, 0},   {1, 7, 2, 6, 1},
                                   {2, 19, 2, 12, 0}, {1, 33, 2, 64, 1}, {2, 33, 3, 16, 0}};
    for (size_t i = 0; i < sizeof smear / sizeof smear[0]; i++)
        CHECK("smear_keys", case_smear, smear[i], "B=%d T=%d H=%d hd=%d%s", smear[i][0],
              smear[i][1], smear[i][2], smear[i][3], smear[i][4] ? " k_before" : "");
}

/* ---- pooling, loss, optimizer ---- */

/* s = {G, P, C} */
static void case_mean_pool(const int *s, log_t *log) {
    int64_t G = s[0];
    int P = s[1], C = s[2];
    size_t in = (size_t)G * P * C, out = (size_t)G * C;
    float *x = rnd(in, 1.0f), *dy = rnd(out, 1.0f), *y = zeros(out), *dx = zeros(in);
    kern_mean_pool_forward(y, x, G, P, C);
    keep_f(log, "forward", y, out);
    kern_mean_pool_backward(dx, dy, G, P, C);
    keep_f(log, "backward", dx, in);
}

/* s = {n, V}: row 1 has -inf logits (every third one, never its target), row 2 one large one. */
static void case_crossentropy(const int *s, log_t *log) {
    int n = s[0], V = s[1];
    float *x = rnd((size_t)n * V, 3.0f), *lse = zeros((size_t)n), *d = zeros((size_t)n * V);
    int32_t *t = ints((size_t)n);
    for (int r = 0; r < n; r++)
        t[r] = (int32_t)((r * 7919 + 3) % V);
    for (int i = 0; i < V; i += 3)
        if (i != t[1]) x[V + i] = -INFINITY;
    x[2 * V + V / 2] = 60.0f;
    keep_d(log, "loss", kern_crossentropy_forward(lse, x, t, n, V));
    keep_f(log, "lse", lse, (size_t)n);
    kern_crossentropy_backward(d, x, lse, t, n, V, 0.37f);
    keep_f(log, "dlogits", d, (size_t)n * V);
}

/* s = {n}: AdamW with a decay mask and without one, the gradient norm. */
static void case_optimizer(const int *s, log_t *log) {
    size_t n = (size_t)s[0];
    float *p = rnd(n, 1.0f), *g = rnd(n, 1.0f), *m = rnd(n, 0.1f), *v = rnd(n, 0.1f);
    uint8_t *mask = buffer(n);
    for (size_t i = 0; i < n; i++)
        v[i] = fabsf(v[i]), mask[i] = (uint8_t)(i % 3 != 0);
    keep_d(log, "grad_norm", kern_grad_norm(g, n));
    kern_adamw_update(p, g, m, v, mask, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7);
    keep_f(log, "params (mask)", p, n);
    keep_f(log, "m", m, n);
    keep_f(log, "v", v, n);
    kern_adamw_update(p, g, m, v, NULL, n, 3e-4f, 0.8f, 0.99f, 1e-6f, 0.01f, 1);
    keep_f(log, "params (no mask)", p, n);
    keep_f(log, "m (no mask)", m, n);
    keep_f(log, "v (no mask)", v, n);
}

static void test_loss_optimizer(void) {
    static const int pools[][3] = {{5, 16, 24}, {3, 7, 13}, {1, 1, 5}, {2, 9, 100}};
    for (int i = 0; i < 4; i++)
        CHECK("mean_pool", case_mean_pool, pools[i], "G=%d P=%d C=%d", pools[i][0], pools[i][1],
              pools[i][2]);
    static const int ces[][2] = {{7, 13}, {7, 1318}, {3, 17}};
    for (int i = 0; i < 3; i++)
        CHECK("crossentropy", case_crossentropy, ces[i], "n=%d V=%d", ces[i][0], ces[i][1]);
    static const int ns[] = {1, 7, 17, 1001, 8192 * 3 + 17};
    for (int i = 0; i < 5; i++)
        CHECK("adamw, grad_norm", case_optimizer, &ns[i], "n=%d", ns[i]);
}

/* ---- model inputs and buffer copies ---- */

/* s = {n, S, P, C} */
static void case_patchify(const int *s, log_t *log) {
    int n = s[0], S = s[1], P = s[2], C = s[3], g = S / P;
    size_t npx = (size_t)n * S * S * C, out = (size_t)n * g * g * P * P * C;
    uint8_t *px = buffer(npx);
    rng_t r = rng_make(g_seed++, RNG_STREAM_TEST, 0);
    for (size_t i = 0; i < npx; i++)
        px[i] = (uint8_t)rng_below(&r, 256);
    float *patches = zeros(out);
    kern_patchify(patches, px, n, S, P, C);
    keep_f(log, "patches", patches, out);
}

/* s = {N, D}: tokens of a vocabulary of 11 and image rows (token 0). */
static void case_embed(const int *s, log_t *log) {
    int N = s[0], D = s[1], V = 11, n_img = 0;
    int32_t *tok = ints((size_t)N);
    for (int i = 0; i < N; i++) {
        tok[i] = (int32_t)((i * 5 + 2) % V);
        n_img += tok[i] == 0;
    }
    float *wte = rnd((size_t)V * D, 1.0f), *img = rnd((size_t)(n_img + 1) * D, 1.0f);
    float *x = zeros((size_t)N * D), *dx = rnd((size_t)N * D, 1.0f);
    float *dwte = rnd((size_t)V * D, 1.0f), *dimg = zeros((size_t)(n_img + 1) * D);
    kern_embed_forward(x, wte, img, tok, N, D, 0);
    keep_f(log, "x", x, (size_t)N * D);
    kern_embed_backward(dwte, dimg, dx, tok, N, D, 0);
    keep_f(log, "dwte", dwte, (size_t)V * D);
    keep_f(log, "dimg", dimg, (size_t)n_img * D);
}

/* s = {rows, cols}: every copy of buffer.h. */
static void case_buffers(const int *s, log_t *log) {
    int R = s[0], C = s[1], n = R / 2 + 1, ld = C + 3;
    float *src = rnd((size_t)R * ld, 1.0f), *dst = rnd((size_t)R * ld, 1.0f);
    float *host = zeros((size_t)R * ld), *g = zeros((size_t)n * C), *y = rnd((size_t)R * C, 1.0f);
    int32_t *rows = ints((size_t)n), *scat = ints((size_t)n);
    for (int i = 0; i < n; i++)
        rows[i] = (int32_t)(i + (R - n) * i / n), scat[i] = (int32_t)(R - 1 - i);
    kern_copy_strided(dst, ld, src, ld, R, C);
    keep_f(log, "copy_strided", dst, (size_t)R * ld);
    kern_copy_strided(g, C, src + 1, ld, n, C);
    keep_f(log, "copy_strided (ld C)", g, (size_t)n * C);
    kern_gather_rows(g, src, rows, n, C);
    keep_f(log, "gather_rows", g, (size_t)n * C);
    kern_copy(dst, src, sizeof(float) * (size_t)R * C);
    kern_gather_rows(dst, dst, rows, n, C); /* in place: rows ascend, rows[i] >= i */
    keep_f(log, "gather_rows in place", dst, (size_t)R * ld);
    kern_scatter_rows(y, g, scat, n, C, 0);
    keep_f(log, "scatter_rows", y, (size_t)R * C);
    kern_scatter_rows(y, src, scat, n, C, 1);
    keep_f(log, "scatter_rows (+=)", y, (size_t)R * C);
    kern_copy_to_host(host, y, sizeof(float) * (size_t)R * C);
    kern_copy_from_host(dst, host, sizeof(float) * (size_t)R * C);
    keep_f(log, "copy to and from host", dst, (size_t)R * ld);
    kern_zero(dst, sizeof(float) * (size_t)C + 4);
    keep_f(log, "zero", dst, (size_t)R * ld);
}

static void test_inputs_buffers(void) {
    static const int pats[][4] = {{2, 12, 4, 3}, {1, 32, 8, 3}, {3, 14, 7, 1}, {1, 28, 14, 3}};
    for (int i = 0; i < 4; i++)
        CHECK("patchify", case_patchify, pats[i], "n=%d S=%d P=%d C=%d", pats[i][0], pats[i][1],
              pats[i][2], pats[i][3]);
    static const int embs[][2] = {{1, 5}, {17, 5}, {17, 16}, {40, 33}};
    for (int i = 0; i < 4; i++)
        CHECK("embed", case_embed, embs[i], "N=%d D=%d", embs[i][0], embs[i][1]);
    static const int bufs[][2] = {{1, 1}, {2, 7}, {9, 13}, {33, 64}, {17, 100}};
    for (int i = 0; i < 5; i++)
        CHECK("buffer copies", case_buffers, bufs[i], "rows=%d cols=%d", bufs[i][0], bufs[i][1]);
}

/* ---- the builds' tables ---- */

/* Each build this processor runs has a table named as it is; the others and an unknown name
 * have none; scalar always runs. */
static void test_names(void) {
    static const char *names[] = {"scalar", "avx2", "avx512"};
    const char *list = kern_backend_cpu_isas();
    for (int i = 0; i < 3; i++) {
        const kern_backend_t *t = kern_backend_cpu_isa(names[i]);
        char padded[80], name[16];
        snprintf(padded, sizeof padded, " %s ", list);
        snprintf(name, sizeof name, " %s ", names[i]);
        int listed = strstr(padded, name) != NULL;
        int ok = listed ? t && t->isa && strcmp(t->isa, names[i]) == 0 : t == NULL;
        if (i == 0) ok = ok && listed;
        printf("table %-8s %s: %s\n", names[i], listed ? "runs here" : "does not run here",
               ok ? "ok" : "FAIL");
        if (!ok) g_failures++;
    }
    int ok = kern_backend_cpu_isa("nonsense") == NULL && kern_backend_cpu_isa("") == NULL;
    printf("table nonsense: %s\n", ok ? "none, ok" : "FAIL");
    if (!ok) g_failures++;
}

int main(void) {
    test_names();
    g_scalar = kern_backend_cpu_isa("scalar");
    if (!g_scalar) micl_fatal("test_isa: no scalar build");
    char list[64];
    snprintf(list, sizeof list, "%s", kern_backend_cpu_isas());
    for (char *save = NULL, *name = strtok_r(list, " ", &save); name;
         name = strtok_r(NULL, " ", &save))
        if (strcmp(name, "scalar") != 0 && g_n_builds < 4)
            g_builds[g_n_builds++] = kern_backend_cpu_isa(name);
    printf("builds compared with scalar:");
    for (int b = 0; b < g_n_builds; b++)
        printf(" %s", g_builds[b]->isa);
    printf("%s\n", g_n_builds ? "" : " none (this processor runs only the scalar build)");
    test_products();
    test_elementwise();
    test_attention();
    test_loss_optimizer();
    test_inputs_buffers();
    printf("%d comparisons (case x build x threads), %d failed\n", g_compared, g_failures);
    return g_failures ? 1 : 0;
}
