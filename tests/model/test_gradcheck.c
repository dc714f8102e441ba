/* test_gradcheck.c - finite-difference checks of every backward kernel and of the whole model.
 *
 * For each input x of a layer (or each parameter tensor of the model) the analytic gradient is
 * compared with central differences (L(x + h) - L(x - h)) / (x+h - x-h), the denominator taken
 * from the floats actually stored, at the element of largest |g| and a spread of others. The
 * error of a tensor is max |fd - g| / max |g|; the layer losses are sum(r * out) for a fixed
 * random r, accumulated in double. A negative control corrupts one analytic gradient element by 5%
 * and requires the check to catch it, so the test can fail.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "kernels/kernels.h"
#include "model/vlm.h"

#define N_PROBES 6

static int g_failures;
static uint64_t g_seed = 100;

typedef double (*objective_fn)(void *ctx);

static float *rand_buf(size_t n, float scale) {
    float *p = micl_malloc(n * sizeof(float) + 4);
    rng_t r = rng_make(g_seed++, RNG_STREAM_TEST, 1);
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_normal(&r);
    return p;
}

static float *zeros(size_t n) {
    return micl_calloc(n + 1, sizeof(float));
}

/* Max over probes of |fd - g| / max|g|. */
static double fd_error(objective_fn f, void *ctx, float *x, const float *g, size_t n, float h) {
    size_t probes[N_PROBES], best = 0;
    double gmax = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(g[i]) > gmax) gmax = fabs(g[i]), best = i;
    probes[0] = best;
    for (int k = 1; k < N_PROBES; k++)
        probes[k] = (size_t)((k * 2654435761u) % n);
    double err = 0.0;
    for (int k = 0; k < N_PROBES; k++) {
        size_t i = probes[k];
        float x0 = x[i], xp = x0 + h, xm = x0 - h;
        x[i] = xp;
        double lp = f(ctx);
        x[i] = xm;
        double lm = f(ctx);
        x[i] = x0;
        double fd = (lp - lm) / ((double)xp - (double)xm);
        double e = fabs(fd - g[i]) / (gmax > 1e-12 ? gmax : 1e-12);
        if (e > err) err = e;
    }
    return err;
}

static void report(const char *what, double err, double tol) {
    int ok = err < tol;
    if (!ok) g_failures++;
    printf("%-40s fd err %.2e %s\n", what, err, ok ? "ok" : "FAIL");
}

static double dot_r(const float *out, const float *r, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * r[i];
    return s;
}

/* ---- per-layer checks ---- */

typedef struct {
    int64_t M;
    int K, N;
    float *x, *w, *b, *y, *r, *scratch;
} matmul_ctx_t;

static double matmul_obj(void *p) {
    matmul_ctx_t *c = p;
    kern_matmul_forward(c->y, c->x, kern_weight_prepare(c->scratch, c->w, c->K, c->N), c->b, c->M,
                        c->K, c->N);
    return dot_r(c->y, c->r, (size_t)(c->M * c->N));
}

static void check_matmul(void) {
    matmul_ctx_t c = {9, 21, 19, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t nx = (size_t)(c.M * c.K), nw = (size_t)c.N * c.K, ny = (size_t)(c.M * c.N);
    c.x = rand_buf(nx, 1.0f), c.w = rand_buf(nw, 1.0f), c.b = rand_buf((size_t)c.N, 1.0f);
    c.y = zeros(ny), c.r = rand_buf(ny, 1.0f);
    c.scratch = zeros(kern_weight_bytes(c.K, c.N) / sizeof(float));
    float *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)c.N);
    kern_matmul_backward(dx, dw, db, c.r, c.x, c.w, c.M, c.K, c.N, 1);
    report("matmul dinp", fd_error(matmul_obj, &c, c.x, dx, nx, 1e-2f), 1e-3);
    report("matmul dweight", fd_error(matmul_obj, &c, c.w, dw, nw, 1e-2f), 1e-3);
    report("matmul dbias", fd_error(matmul_obj, &c, c.b, db, (size_t)c.N, 1e-2f), 1e-3);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(c.scratch), free(dx), free(dw);
    free(db);
}

typedef struct {
    int64_t M;
    int C;
    float *x, *g, *b, *y, *mean, *rstd, *r;
} ln_ctx_t;

static double ln_obj(void *p) {
    ln_ctx_t *c = p;
    kern_layernorm_forward(c->y, c->mean, c->rstd, c->x, c->g, c->b, c->M, c->C);
    return dot_r(c->y, c->r, (size_t)(c->M * c->C));
}

static void check_layernorm(void) {
    ln_ctx_t c = {5, 12, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    size_t n = (size_t)(c.M * c.C);
    c.x = rand_buf(n, 1.0f), c.g = rand_buf((size_t)c.C, 1.0f), c.b = rand_buf((size_t)c.C, 1.0f);
    c.y = zeros(n), c.mean = zeros((size_t)c.M), c.rstd = zeros((size_t)c.M),
    c.r = rand_buf(n, 1.0f);
    float *dx = zeros(n), *dg = zeros((size_t)c.C), *db = zeros((size_t)c.C);
    ln_obj(&c);
    kern_layernorm_backward(dx, dg, db, c.r, c.x, c.mean, c.rstd, c.g, c.M, c.C);
    report("layernorm dinp", fd_error(ln_obj, &c, c.x, dx, n, 1e-2f), 1e-3);
    report("layernorm dgamma", fd_error(ln_obj, &c, c.g, dg, (size_t)c.C, 1e-2f), 1e-3);
    report("layernorm dbeta", fd_error(ln_obj, &c, c.b, db, (size_t)c.C, 1e-2f), 1e-3);
    free(c.x), free(c.g), free(c.b), free(c.y), free(c.mean), free(c.rstd), free(c.r), free(dx);
    free(dg), free(db);
}

typedef struct {
    int64_t n;
    float *x, *y, *r;
} gelu_ctx_t;

static double gelu_obj(void *p) {
    gelu_ctx_t *c = p;
    kern_gelu_forward(c->y, c->x, c->n);
    return dot_r(c->y, c->r, (size_t)c->n);
}

static void check_gelu(void) {
    gelu_ctx_t c = {37, NULL, NULL, NULL};
    c.x = rand_buf(37, 2.0f), c.y = zeros(37), c.r = rand_buf(37, 1.0f);
    float *dx = zeros(37);
    kern_gelu_backward(dx, c.x, c.r, c.n);
    report("gelu", fd_error(gelu_obj, &c, c.x, dx, 37, 1e-2f), 1e-3);
    free(c.x), free(c.y), free(c.r), free(dx);
}

typedef struct {
    int B, T, H, C, causal, rope;
    float *qkv, *work, *out, *probs, *r, *cs, *sn;
} attn_ctx_t;

/* out = attention(rope(qkv)) when rope is set: checks both kernels' backward together. */
static double attn_obj(void *p) {
    attn_ctx_t *c = p;
    size_t nq = (size_t)c->B * c->T * 3 * c->C;
    memcpy(c->work, c->qkv, nq * sizeof(float));
    if (c->rope) kern_rope_forward(c->work, c->cs, c->sn, c->B, c->T, c->H, c->C);
    kern_attention_forward(c->out, c->probs, c->work, c->B, c->T, c->H, c->C, c->causal);
    return dot_r(c->out, c->r, (size_t)c->B * c->T * c->C);
}

static void check_attention(int causal, int rope) {
    attn_ctx_t c = {2, 7, 2, 12, causal, rope, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    int half = c.C / c.H / 2;
    size_t nq = (size_t)c.B * c.T * 3 * c.C, no = (size_t)c.B * c.T * c.C;
    c.qkv = rand_buf(nq, 1.0f), c.work = zeros(nq), c.out = zeros(no), c.r = rand_buf(no, 1.0f);
    c.probs = zeros((size_t)c.B * c.H * c.T * c.T);
    c.cs = zeros((size_t)c.T * half), c.sn = zeros((size_t)c.T * half);
    for (int t = 0; t < c.T; t++)
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -2.0 * i / (2 * half));
            c.cs[t * half + i] = (float)cos(a), c.sn[t * half + i] = (float)sin(a);
        }
    float *dq = zeros(nq);
    attn_obj(&c);
    kern_attention_backward(dq, c.r, c.work, c.probs, c.B, c.T, c.H, c.C, c.causal);
    if (rope) kern_rope_backward(dq, c.cs, c.sn, c.B, c.T, c.H, c.C);
    char name[64];
    snprintf(name, sizeof name, "attention %s%s", causal ? "causal" : "bidirectional",
             rope ? " + rope" : "");
    report(name, fd_error(attn_obj, &c, c.qkv, dq, nq, 1e-2f), 1e-3);
    free(c.qkv), free(c.work), free(c.out), free(c.r), free(c.probs), free(c.cs), free(c.sn);
    free(dq);
}

typedef struct {
    int G, P, C;
    float *x, *y, *r;
} pool_ctx_t;

static double pool_obj(void *p) {
    pool_ctx_t *c = p;
    kern_mean_pool_forward(c->y, c->x, c->G, c->P, c->C);
    return dot_r(c->y, c->r, (size_t)c->G * c->C);
}

static void check_pool(void) {
    pool_ctx_t c = {3, 4, 5, NULL, NULL, NULL};
    c.x = rand_buf(60, 1.0f), c.y = zeros(15), c.r = rand_buf(15, 1.0f);
    float *dx = zeros(60);
    kern_mean_pool_backward(dx, c.r, c.G, c.P, c.C);
    report("mean pool", fd_error(pool_obj, &c, c.x, dx, 60, 1e-2f), 1e-3);
    free(c.x), free(c.y), free(c.r), free(dx);
}

typedef struct {
    int n, V;
    float *x, *lse;
    int32_t *t;
} ce_ctx_t;

static double ce_obj(void *p) {
    ce_ctx_t *c = p;
    return kern_crossentropy_forward(c->lse, c->x, c->t, c->n, c->V);
}

static void check_crossentropy(void) {
    ce_ctx_t c = {4, 19, NULL, NULL, NULL};
    int32_t t[4] = {0, 18, 7, 7};
    c.x = rand_buf(76, 2.0f), c.lse = zeros(4), c.t = t;
    float *dx = zeros(76);
    ce_obj(&c);
    kern_crossentropy_backward(dx, c.x, c.lse, c.t, c.n, c.V, 1.0f);
    report("cross-entropy", fd_error(ce_obj, &c, c.x, dx, 76, 1e-2f), 1e-3);
    free(c.x), free(c.lse), free(dx);
}

/* ---- the whole model ---- */

enum { MB = 2, MT = 7, IMG = 1 };

typedef struct {
    vlm_t *m;
    vlm_batch_t batch;
} model_ctx_t;

static double model_obj(void *p) {
    model_ctx_t *c = p;
    int64_t nt;
    return vlm_forward(c->m, &c->batch, &nt);
}

static void check_model(int pool, int channels, int smear) {
    vlm_config_t cfg = {8, 4, 16, 2, 2, 16, 2, 2, 2, 13, 8, 0.3f, pool, channels, smear};
    printf("model with %s pooling, %d channel(s), %s keys\n",
           pool == VLM_POOL_MEAN ? "mean" : "flatten", channels, smear ? "smeared" : "plain");
    char err[256];
    vlm_t *m = vlm_create(&cfg, MB * MT, 8, err, sizeof err);
    if (!m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(m, 3);
    for (int i = 0; i < vlm_num_tensors(m); i++) { /* key mixes away from 1/2, unequal per head */
        const vlm_tensor_t *t = vlm_tensor(m, i);
        if (strstr(t->name, "smear"))
            for (size_t j = 0; j < t->size; j++)
                vlm_params(m)[t->offset + j] = 0.7f * (float)j - 0.4f;
    }
    static const int32_t tok[MB * MT] = {2, IMG, 5, IMG, 6, 7, 3, 2, 4, IMG, 9, IMG, IMG, 8};
    static const int32_t tgt[MB * MT] = {-1, 5, -1, 6, 7, 3, -1, 4, 11, 9, -1, 12, 8, 0};
    uint8_t px[5 * 64 * 3];
    for (int i = 0; i < 5 * 64 * channels; i++)
        px[i] = (uint8_t)((i * 97 + (i / (64 * channels)) * 31) & 255);
    model_ctx_t c = {m, {MB, MT, tok, tgt, 5, px, IMG}};
    int64_t nt;
    vlm_zero_grads(m);
    vlm_forward(m, &c.batch, &nt);
    vlm_backward(m, 1.0f);
    float *p = vlm_params(m), *g = vlm_grads(m);
    double worst = 0.0;
    for (int i = 0; i < vlm_num_tensors(m); i++) {
        const vlm_tensor_t *t = vlm_tensor(m, i);
        double e = fd_error(model_obj, &c, p + t->offset, g + t->offset, t->size, 1e-2f);
        char name[64];
        snprintf(name, sizeof name, "model %s", t->name);
        report(name, e, 5e-3);
        worst = e > worst ? e : worst;
    }
    printf("model worst fd err %.2e over %d tensors\n", worst, vlm_num_tensors(m));
    /* negative control: a 5% error in one gradient element must be caught */
    const vlm_tensor_t *t = vlm_tensor(m, vlm_num_tensors(m) / 2);
    float *gt = g + t->offset;
    size_t imax = 0;
    for (size_t j = 0; j < t->size; j++)
        if (fabsf(gt[j]) > fabsf(gt[imax])) imax = j;
    gt[imax] *= 1.05f;
    double e = fd_error(model_obj, &c, p + t->offset, gt, t->size, 1e-2f);
    int caught = e >= 5e-3;
    if (!caught) g_failures++;
    printf("%-40s fd err %.2e %s\n", "negative control (corrupted gradient)", e,
           caught ? "caught ok" : "NOT CAUGHT: FAIL");
    vlm_free(m);
}

int main(void) {
    check_matmul();
    check_layernorm();
    check_gelu();
    check_attention(0, 0);
    check_attention(1, 0);
    check_attention(1, 1);
    check_pool();
    check_crossentropy();
    check_model(VLM_POOL_FLATTEN, 1, 0);
    check_model(VLM_POOL_MEAN, 1, 0);
    check_model(VLM_POOL_FLATTEN, 3, 0);
    check_model(VLM_POOL_FLATTEN, 1, 1);
    if (g_failures) printf("%d FAILED\n", g_failures);
    return g_failures ? 1 : 0;
}
