/* test_kernels_seam.c - the backend seam's kernels against plain scalar references: buffers and
 * their copies (kernels/buffer.h), the model-input kernels (patches, token embeddings), the
 * row accumulation and +0 kernels, and the compact-row backward of a linear layer against the
 * full product whose other rows are zero. Each of these moves or adds floats in one stated
 * order, so every comparison is bit for bit (memcmp), not by relative error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

static int g_failures;
static uint64_t g_seed = 1;

static void check(const char *what, int ok) {
    if (!ok) g_failures++;
    printf("%-52s %s\n", what, ok ? "ok" : "FAIL");
}

static float *rand_buf(size_t n, float scale) {
    float *p = kern_alloc(n * sizeof(float));
    rng_t r = rng_make(g_seed++, RNG_STREAM_TEST, 0);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_normal(&r);
    return p;
}

static int same(const void *a, const void *b, size_t bytes) {
    return memcmp(a, b, bytes) == 0;
}

/* ---- buffers ---- */

static void test_buffers(void) {
    size_t n = 1000;
    float *host = rand_buf(n, 1.0f), *back = kern_alloc(n * sizeof(float));
    float *a = kern_alloc(n * sizeof(float)), *b = kern_alloc(n * sizeof(float));
    check("kern_alloc: 64-byte aligned", ((uintptr_t)a % 64) == 0 && ((uintptr_t)b % 64) == 0);
    kern_copy_from_host(a, host, n * sizeof(float));
    kern_copy(b, a, n * sizeof(float));
    kern_copy_to_host(back, b, n * sizeof(float));
    check("kern_copy_from_host, kern_copy, kern_copy_to_host", same(back, host, n * sizeof(float)));
    kern_zero(b + 10, 20 * sizeof(float));
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
        float want = i >= 10 && i < 30 ? 0.0f : host[i];
        ok = ok && same(&b[i], &want, sizeof(float)); /* +0, not -0 */
    }
    check("kern_zero: +0 in range, the rest unchanged", ok);
    void *empty = kern_alloc(0);
    check("kern_alloc(0): a buffer", empty != NULL);
    kern_free(empty);
    kern_free(NULL);
    kern_free(host), kern_free(back), kern_free(a), kern_free(b);
}

static void test_rows(void) {
    int R = 11, C = 13;
    float *src = rand_buf((size_t)R * 3 * C, 1.0f);
    /* strided: the middle third of each row of src [R x 3C] into a [R x C] block */
    float *dst = kern_alloc(sizeof(float) * (size_t)R * C);
    float *ref = kern_alloc(sizeof(float) * (size_t)R * C);
    kern_copy_strided(dst, C, src + C, 3 * C, R, C);
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            ref[r * C + c] = src[r * 3 * C + C + c];
    check("kern_copy_strided", same(dst, ref, sizeof(float) * (size_t)R * C));

    /* gather ascending rows, out of place and in place */
    int32_t rows[5] = {0, 3, 4, 8, 10};
    int n = 5;
    float *x = rand_buf((size_t)R * C, 1.0f), *g = kern_alloc(sizeof(float) * (size_t)R * C);
    float *gref = kern_alloc(sizeof(float) * (size_t)n * C);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            gref[i * C + c] = x[rows[i] * C + c];
    kern_gather_rows(g, x, rows, n, C);
    check("kern_gather_rows", same(g, gref, sizeof(float) * (size_t)n * C));
    kern_gather_rows(x, x, rows, n, C);
    check("kern_gather_rows in place (ascending rows)",
          same(x, gref, sizeof(float) * (size_t)n * C));

    /* scatter: copy into zeros, then add */
    float *y = rand_buf((size_t)R * C, 1.0f), *yref = kern_alloc(sizeof(float) * (size_t)R * C);
    float *s = rand_buf((size_t)n * C, 1.0f);
    int32_t srows[5] = {9, 1, 6, 2, 4}; /* any order: the rows are distinct */
    memcpy(yref, y, sizeof(float) * (size_t)R * C);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            yref[srows[i] * C + c] = s[i * C + c];
    kern_scatter_rows(y, s, srows, n, C, 0);
    check("kern_scatter_rows (copy)", same(y, yref, sizeof(float) * (size_t)R * C));
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            yref[srows[i] * C + c] += s[i * C + c];
    kern_scatter_rows(y, s, srows, n, C, 1);
    check("kern_scatter_rows (accumulate)", same(y, yref, sizeof(float) * (size_t)R * C));
    kern_free(src), kern_free(dst), kern_free(ref), kern_free(x), kern_free(g), kern_free(gref);
    kern_free(y), kern_free(yref), kern_free(s);
}

/* ---- row sums and +0 ---- */

static void test_accumulate_rows(int64_t M, int C) {
    float *dy = rand_buf((size_t)M * C, 1.0f), *dv = rand_buf((size_t)C, 1.0f);
    float *ref = kern_alloc(sizeof(float) * (size_t)C);
    memcpy(ref, dv, sizeof(float) * (size_t)C);
    for (int64_t r = 0; r < M; r++) /* straight into dv, row by row */
        for (int c = 0; c < C; c++)
            ref[c] += dy[r * C + c];
    kern_accumulate_rows(dv, dy, M, C);
    char name[64];
    snprintf(name, sizeof name, "kern_accumulate_rows M=%lld C=%d", (long long)M, C);
    check(name, same(dv, ref, sizeof(float) * (size_t)C));
    kern_free(dy), kern_free(dv), kern_free(ref);
}

static void test_plus_zero(void) {
    float x[6] = {-0.0f, 0.0f, 1.5f, -2.25f, 1e-40f, -1e-40f};
    float want[6] = {0.0f, 0.0f, 1.5f, -2.25f, 1e-40f, -1e-40f};
    float *b = kern_alloc(sizeof x);
    kern_copy_from_host(b, x, sizeof x);
    kern_plus_zero(b, 6);
    kern_copy_to_host(x, b, sizeof x);
    check("kern_plus_zero: -0 -> +0, the rest unchanged", same(x, want, sizeof x));
    kern_free(b);
}

/* ---- model inputs ---- */

static void test_patchify(int n, int S, int P, int C) {
    size_t px = (size_t)n * S * S * C;
    uint8_t *pixels = kern_alloc(px);
    for (size_t i = 0; i < px; i++)
        pixels[i] = (uint8_t)(i * 37u + 11u);
    int G = S / P, PP = P * P * C;
    size_t np = (size_t)n * G * G * PP;
    float *out = kern_alloc(np * sizeof(float)), *ref = kern_alloc(np * sizeof(float));
    for (int img = 0; img < n; img++)
        for (int gy = 0; gy < G; gy++)
            for (int gx = 0; gx < G; gx++)
                for (int py = 0; py < P; py++)
                    for (int pxi = 0; pxi < P; pxi++)
                        for (int ch = 0; ch < C; ch++) {
                            size_t row = (size_t)img * G * G + (size_t)gy * G + gx;
                            size_t at =
                                (((size_t)img * S + gy * P + py) * S + gx * P + pxi) * C + ch;
                            ref[row * PP + (py * P + pxi) * C + ch] = (float)pixels[at] / 255.0f;
                        }
    kern_patchify(out, pixels, n, S, P, C);
    char name[64];
    snprintf(name, sizeof name, "kern_patchify n=%d S=%d P=%d C=%d", n, S, P, C);
    check(name, same(out, ref, np * sizeof(float)));
    kern_free(pixels), kern_free(out), kern_free(ref);
}

static void test_embed(void) {
    int V = 7, D = 12, N = 10, IMG = 6; /* token 6 marks an image */
    int32_t tok[10] = {1, 6, 3, 3, 0, 6, 6, 2, 3, 5};
    int n_img = 3;
    float *wte = rand_buf((size_t)V * D, 1.0f), *img = rand_buf((size_t)n_img * D, 1.0f);
    float *x = kern_alloc(sizeof(float) * (size_t)N * D);
    float *ref = kern_alloc(sizeof(float) * (size_t)N * D);
    int32_t *tb = kern_alloc(sizeof tok);
    kern_copy_from_host(tb, tok, sizeof tok);
    for (int r = 0, k = 0; r < N; r++) { /* image rows take the images in order */
        const float *src = tok[r] == IMG ? img + (size_t)(k++) * D : wte + (size_t)tok[r] * D;
        for (int c = 0; c < D; c++)
            ref[r * D + c] = src[c];
    }
    kern_embed_forward(x, wte, img, tb, N, D, IMG);
    check("kern_embed_forward", same(x, ref, sizeof(float) * (size_t)N * D));

    float *dx = rand_buf((size_t)N * D, 1.0f), *dwte = rand_buf((size_t)V * D, 1.0f);
    float *dimg = kern_alloc(sizeof(float) * (size_t)n_img * D);
    float *rwte = kern_alloc(sizeof(float) * (size_t)V * D);
    float *rimg = kern_alloc(sizeof(float) * (size_t)n_img * D);
    memcpy(rwte, dwte, sizeof(float) * (size_t)V * D);
    for (int r = 0, k = 0; r < N; r++) {
        if (tok[r] == IMG) {
            for (int c = 0; c < D; c++)
                rimg[k * D + c] = dx[r * D + c];
            k++;
            continue;
        }
        for (int c = 0; c < D; c++) /* token 3 three times: added in row order */
            rwte[tok[r] * D + c] += dx[r * D + c];
    }
    kern_embed_backward(dwte, dimg, dx, tb, N, D, IMG);
    check("kern_embed_backward", same(dwte, rwte, sizeof(float) * (size_t)V * D) &&
                                     same(dimg, rimg, sizeof(float) * (size_t)n_img * D));
    kern_free(wte), kern_free(img), kern_free(x), kern_free(ref), kern_free(tb), kern_free(dx);
    kern_free(dwte), kern_free(dimg), kern_free(rwte), kern_free(rimg);
}

/* ---- a linear layer's backward over compact rows ---- */

/* nt compact rows of dout stand for rows `rows` of a full [M x N] dout that is zero elsewhere:
 * dinp at those rows, dw and dbias must be the bits of the full product's. */
static void test_backward_rows(int64_t M, const int32_t *rows, int64_t nt, int K, int N,
                               int with_dgelu, int accumulate) {
    float *inp = rand_buf((size_t)M * K, 1.0f), *w = rand_buf((size_t)N * K, 0.5f);
    float *dgelu = with_dgelu ? rand_buf((size_t)M * K, 1.0f) : NULL;
    float *dfull = kern_alloc(sizeof(float) * (size_t)(M > 0 ? M : 1) * N);
    kern_zero(dfull, sizeof(float) * (size_t)M * N);
    float *dc = rand_buf((size_t)(nt > 0 ? nt : 1) * N, 1.0f);
    float *ic = kern_alloc(sizeof(float) * (size_t)(nt > 0 ? nt : 1) * K);
    float *gc = with_dgelu ? kern_alloc(sizeof(float) * (size_t)(nt > 0 ? nt : 1) * K) : NULL;
    for (int64_t i = 0; i < nt; i++) {
        memcpy(dfull + rows[i] * N, dc + i * N, sizeof(float) * (size_t)N);
        memcpy(ic + i * K, inp + rows[i] * K, sizeof(float) * (size_t)K);
        if (gc) memcpy(gc + i * K, dgelu + rows[i] * K, sizeof(float) * (size_t)K);
    }
    float *dw1 = rand_buf((size_t)N * K, 1.0f), *db1 = rand_buf((size_t)N, 1.0f);
    float *dw2 = kern_alloc(sizeof(float) * (size_t)N * K), *db2 = kern_alloc(sizeof(float) * N);
    memcpy(dw2, dw1, sizeof(float) * (size_t)N * K);
    memcpy(db2, db1, sizeof(float) * (size_t)N);
    float *dinp1 = kern_alloc(sizeof(float) * (size_t)(M > 0 ? M : 1) * K);
    float *dinp2 = kern_alloc(sizeof(float) * (size_t)(nt > 0 ? nt : 1) * K);
    kern_matmul_gelu_backward(dinp1, dw1, db1, dfull, inp, w, dgelu, M, K, N, accumulate);
    kern_matmul_backward_rows(dinp2, dw2, db2, dc, ic, w, gc, rows, nt, K, N, accumulate);
    int ok = same(dw1, dw2, sizeof(float) * (size_t)N * K) && same(db1, db2, sizeof(float) * N);
    for (int64_t i = 0; i < nt; i++)
        ok = ok && same(dinp1 + rows[i] * K, dinp2 + i * K, sizeof(float) * (size_t)K);
    char name[96];
    snprintf(name, sizeof name, "kern_matmul_backward_rows M=%lld nt=%lld K=%d N=%d%s%s",
             (long long)M, (long long)nt, K, N, with_dgelu ? " gelu" : "", accumulate ? " +=" : "");
    check(name, ok);
    kern_free(inp), kern_free(w), kern_free(dgelu), kern_free(dfull), kern_free(dc), kern_free(ic);
    kern_free(gc), kern_free(dw1), kern_free(db1), kern_free(dw2), kern_free(db2);
    kern_free(dinp1), kern_free(dinp2);
}

static void test_backward_rows_cases(void) {
    /* rows in three reduction blocks of the CPU backend, with a gap block */
    int32_t spread[9] = {3, 17, 100, 255, 256, 300, 700, 701, 767};
    test_backward_rows(768, spread, 9, 40, 24, 0, 0);
    test_backward_rows(768, spread, 9, 40, 24, 1, 1);
    test_backward_rows(768, spread, 9, 33, 1, 0, 1); /* a one-column dout */
    int32_t few[3] = {0, 1, 5};
    test_backward_rows(6, few, 3, 16, 48, 1, 0);
    test_backward_rows(6, few, 0, 16, 48, 0, 0); /* no rows: dw written as zeros */
    test_backward_rows(6, few, 0, 16, 48, 0, 1);
}

int main(void) {
    test_buffers();
    test_rows();
    test_accumulate_rows(3, 5);
    test_accumulate_rows(7, 4096 + 100); /* two blocks of columns */
    test_plus_zero();
    test_patchify(3, 8, 4, 1);
    test_patchify(2, 16, 4, 3);
    test_embed();
    test_backward_rows_cases();
    if (g_failures) printf("%d FAILED\n", g_failures);
    return g_failures ? 1 : 0;
}
