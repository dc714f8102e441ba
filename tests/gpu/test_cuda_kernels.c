/* test_cuda_kernels.c - every entry of the CUDA backend's table against the CPU backend's.
 *
 *   test_cuda_kernels              opens the CUDA module in fp32 (kern_backend_use "cuda")
 *   test_cuda_kernels --bf16       the same with bf16 operands in the products
 *   test_cuda_kernels --self-test  the harness alone: the "device" is a copy of the CPU table
 *                                  that says its buffers are not host memory, so every path
 *                                  below runs on a machine without a GPU; then a few broken
 *                                  tables, each of which the harness must catch
 * Exit status: 0 all passed, 1 a failure, 77 (skip) when the module cannot open a device; with
 * MICL_REQUIRE_GPU=1 (a machine known to have a GPU) that is a failure too. The build puts the
 * program beside libmicl_cuda.so, where kern_backend_use finds the module (MICL_CUDA_MODULE
 * names another).
 *
 * Each case runs one entry on random inputs of one shape: first the CPU entry on host buffers
 * (the reference), then twice the device entry on device buffers. Before each device run the
 * inputs are copied in again, every output the entry overwrites is poisoned with 0xFF bytes (a
 * NaN), and every output it adds into gets its initial values. The CPU's outputs are poisoned
 * the same way, so a region that neither writes (the gaps of a strided result) compares equal,
 * and an output one of them leaves unwritten shows as a NaN.
 *
 * Checks of a case:
 *  - each output: max_i |g_i - r_i| <= tol * max(max_i |r_i|, 1e-30), one relative error per
 *    tensor (the products' K-term sums are reordered on the device, so elementwise relative
 *    error would be meaningless where r_i cancels to near zero; the error of a reordered sum
 *    scales with the magnitude of the tensor's terms, which max |r| bounds). tol = 1e-5 in fp32;
 *    1e-2 for the products with bf16 operands, whose other kernels stay fp32 (1e-5).
 *    kern_exp_inplace, whose outputs span many magnitudes and never cancel, is held to 1e-5 per
 *    element: |g_i - r_i| <= 1e-5 |r_i|. Equal bits count as no error (the NaN gaps); a NaN or
 *    inf where the bits differ fails. The entries of buffer.h move bytes and must give the CPU's
 *    bytes exactly (memcmp), as must kern_plus_zero (it exists for the sign of zero);
 *  - an overwritten output must be written everywhere (no NaN left) unless the case allows gaps;
 *  - the second device run gives the identical bits (memcmp), returned doubles included;
 *  - inputs come back unchanged (bit for bit);
 *  - every entry of the table was called at least once (a counting wrapper around the table).
 * One line per case: entry, shapes, max relative error, whether the bits repeat.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "kernels/backend.h"
#include "kernels/kernels.h"

#define TOL_FP32 1e-5
#define TOL_BF16 1e-2

static int g_failures;
static int g_bf16;          /* the device computes the products with bf16 operands */
static int g_expect_broken; /* self-test: this case runs on a broken table (print, not count) */
static const kern_backend_t *g_cpu;
static const kern_backend_t *g_dev; /* the tested table (the counting wrapper) */
static rng_t g_rng;

/* ---- the counting wrapper: which entries the cases reached ---- */

enum {
#define ENTRY_ENUM(kind, ret, name, params, args) E_##name,
    KERN_BACKEND_API(ENTRY_ENUM)
#undef ENTRY_ENUM
        E_COUNT
};
static const char *const g_entry_names[E_COUNT] = {
#define ENTRY_NAME(kind, ret, name, params, args) #name,
    KERN_BACKEND_API(ENTRY_NAME)
#undef ENTRY_NAME
};
static long g_hits[E_COUNT];
static const kern_backend_t *g_inner; /* the table the wrapper forwards to */

#define CALL_V(call) call;
#define CALL_R(call) return call;
#define ENTRY_COUNT(kind, ret, name, params, args)                                                 \
    static ret counted_##name params {                                                             \
        g_hits[E_##name]++;                                                                        \
        CALL_##kind(g_inner->name args)                                                            \
    }
KERN_BACKEND_API(ENTRY_COUNT)
#undef ENTRY_COUNT

static kern_backend_t counting_table(const kern_backend_t *inner) {
    kern_backend_t t = {.name = inner->name,
                        .device = inner->device,
                        .host_memory = inner->host_memory,
#define ENTRY_SLOT(kind, ret, name, params, args) .name = counted_##name,
                        KERN_BACKEND_API(ENTRY_SLOT)
#undef ENTRY_SLOT
                            .transport = inner->transport};
    return t;
}

/* ---- host data ---- */

static void *host_alloc(size_t bytes) { /* 64-byte aligned, like a buffer: CPU entries use it */
    size_t n = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, n ? n : 64);
    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static float *randn(size_t n, float scale) {
    float *p = host_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = scale * rng_normal(&g_rng);
    return p;
}

static float *randu(size_t n, float lo, float hi) {
    float *p = host_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        p[i] = lo + (hi - lo) * rng_uniform(&g_rng);
    return p;
}

static int32_t *rand_ints(size_t n, int32_t below) {
    int32_t *p = host_alloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        p[i] = (int32_t)rng_below(&g_rng, (uint64_t)below);
    return p;
}

/* bytes of random floats (any length: the tail of the last float is cut off). */
static void *rand_bytes(size_t bytes) {
    return randn((bytes + 3) / 4, 1.0f);
}

/* n distinct rows of [0, R), ascending (sorted) or in random order. */
static int32_t *distinct_rows(int64_t R, int64_t n, int ascending) {
    int32_t *all = host_alloc((size_t)R * sizeof(int32_t));
    for (int64_t r = 0; r < R; r++)
        all[r] = (int32_t)r;
    rng_shuffle_i32(&g_rng, all, R);
    int32_t *p = host_alloc((size_t)n * sizeof(int32_t));
    memcpy(p, all, (size_t)n * sizeof(int32_t));
    free(all);
    if (ascending) /* insertion sort: n is small */
        for (int64_t i = 1; i < n; i++)
            for (int64_t j = i; j > 0 && p[j - 1] > p[j]; j--) {
                int32_t t = p[j];
                p[j] = p[j - 1], p[j - 1] = t;
            }
    return p;
}

/* ---- cases ---- */

enum role { IN, OUT, INOUT };
enum tol_kind { EXACT, FP32, PRODUCT, ELEMENTWISE };
#define MAXT 12

typedef struct {
    const char *name;
    int role;
    size_t bytes;
    int is_float;
    int gaps;   /* OUT: regions the entry does not write may keep the poison */
    void *init; /* host: the initial contents (IN, INOUT) */
    void *ref;  /* the CPU run's buffer (host memory) */
    void *dev;  /* the device run's buffer */
    void *got[2];
} tensor_t;

typedef struct kcase kcase_t;
/* Runs the entry of a case on backend b with its tensors' buffers p[slot] (NULL: absent). */
typedef double (*runner_fn)(const kern_backend_t *b, void *const *p, const kcase_t *c);

struct kcase {
    const char *entry;
    char shape[160];
    int tol;
    runner_fn run;
    int has_ret; /* the entry returns a double, compared too */
    tensor_t t[MAXT];
    int64_t i[12];
    float f[8];
    const int32_t *host_rows; /* kern_matmul_backward_rows: host memory */
};

static void case_begin(kcase_t *c, const char *entry, int tol, runner_fn run, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void case_begin(kcase_t *c, const char *entry, int tol, runner_fn run, const char *fmt,
                       ...) {
    memset(c, 0, sizeof *c);
    c->entry = entry, c->tol = tol, c->run = run;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->shape, sizeof c->shape, fmt, ap);
    va_end(ap);
}

/* Tensor `slot` of the case; init: host data (IN, INOUT; taken over), NULL for OUT. */
static void add_t(kcase_t *c, int slot, const char *name, int role, size_t bytes, void *init,
                  int is_float) {
    tensor_t *t = &c->t[slot];
    t->name = name, t->role = role, t->bytes = bytes, t->init = init, t->is_float = is_float;
    if ((role == OUT) != (init == NULL)) {
        fprintf(stderr, "harness: tensor %s of %s: OUT has no initial data, IN/INOUT do\n", name,
                c->entry);
        exit(1);
    }
}
static void add_f(kcase_t *c, int slot, const char *name, int role, size_t n, float *init) {
    add_t(c, slot, name, role, n * sizeof(float), init, 1);
}

static double tolerance(const kcase_t *c) {
    if (c->tol == EXACT) return 0.0;
    return c->tol == PRODUCT && g_bf16 ? TOL_BF16 : TOL_FP32;
}

/* max |g - r| / max |r| over n floats (equal bits: no error; a NaN or inf that differs: inf). */
static double rel_err(const float *g, const float *r, size_t n) {
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(r[i]) && fabs((double)r[i]) > scale) scale = fabs((double)r[i]);
        if (memcmp(&g[i], &r[i], sizeof(float)) == 0) continue;
        if (!isfinite(g[i]) || !isfinite(r[i])) return INFINITY;
        double d = fabs((double)g[i] - (double)r[i]);
        if (d > diff) diff = d;
    }
    return diff / (scale > 1e-30 ? scale : 1e-30);
}

static size_t count_nonfinite(const float *x, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !isfinite(x[i]);
    return k;
}

/* max |g - r| / |r| over n floats, element by element (the same conventions). */
static double rel_err_elementwise(const float *g, const float *r, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&g[i], &r[i], sizeof(float)) == 0) continue;
        if (!isfinite(g[i]) || !isfinite(r[i]) || r[i] == 0.0f) return INFINITY;
        double e = fabs((double)g[i] - (double)r[i]) / fabs((double)r[i]);
        if (e > worst) worst = e;
    }
    return worst;
}

/* Sets up the buffers of one run on backend b (device: copies from the host). */
static void load(const kern_backend_t *b, kcase_t *c, void **p, int device) {
    for (int s = 0; s < MAXT; s++) {
        tensor_t *t = &c->t[s];
        p[s] = NULL;
        if (!t->name) continue;
        void *poison = NULL;
        const void *src = t->init;
        if (t->role == OUT) {
            poison = host_alloc(t->bytes);
            memset(poison, 0xFF, t->bytes);
            src = poison;
        }
        if (device) {
            if (!t->dev) t->dev = b->alloc(t->bytes);
            b->copy_from_host(t->dev, src, t->bytes);
            p[s] = t->dev;
        } else {
            t->ref = b->alloc(t->bytes);
            memcpy(t->ref, src, t->bytes); /* the CPU backend's buffers are host memory */
            p[s] = t->ref;
        }
        free(poison);
    }
}

static void report(const kcase_t *c, double err, int repeat, const char *problem) {
    int ok = problem == NULL && repeat && err <= tolerance(c);
    char e[32];
    if (c->tol == EXACT)
        snprintf(e, sizeof e, "%s", err == 0.0 ? "exact" : "NOT exact");
    else
        snprintf(e, sizeof e, "%.2e", err);
    printf("%-24s %-46s max rel err %-9s bits repeat %-3s %s%s%s\n", c->entry, c->shape, e,
           repeat ? "yes" : "NO", ok ? "ok" : "FAIL", problem ? ": " : "", problem ? problem : "");
    if (g_expect_broken) {
        if (!ok) g_expect_broken = 2; /* the broken table was caught */
        return;
    }
    if (!ok) g_failures++;
}

static void case_run(kcase_t *c) {
    void *p[MAXT];
    load(g_cpu, c, p, 0);
    double ret_ref = c->run(g_cpu, p, c), ret[2];
    for (int rep = 0; rep < 2; rep++) {
        load(g_dev, c, p, 1);
        ret[rep] = c->run(g_dev, p, c);
        for (int s = 0; s < MAXT; s++) {
            tensor_t *t = &c->t[s];
            if (!t->name) continue;
            t->got[rep] = host_alloc(t->bytes);
            g_dev->copy_to_host(t->got[rep], t->dev, t->bytes);
        }
    }
    double err = 0.0;
    int repeat = 1;
    char problem[160] = "";
    for (int s = 0; s < MAXT; s++) {
        tensor_t *t = &c->t[s];
        if (!t->name) continue;
        repeat = repeat && memcmp(t->got[0], t->got[1], t->bytes) == 0;
        if (t->role == IN) {
            if (memcmp(t->got[0], t->init, t->bytes) != 0 && !problem[0])
                snprintf(problem, sizeof problem, "input %s changed", t->name);
            continue;
        }
        double e;
        if (c->tol == EXACT || !t->is_float)
            e = memcmp(t->got[0], t->ref, t->bytes) == 0 ? 0.0 : INFINITY;
        else if (c->tol == ELEMENTWISE)
            e = rel_err_elementwise(t->got[0], t->ref, t->bytes / sizeof(float));
        else
            e = rel_err(t->got[0], t->ref, t->bytes / sizeof(float));
        if (e > err) err = e;
        if (e > tolerance(c) && !problem[0])
            snprintf(problem, sizeof problem, "%s differs", t->name);
        if (t->role == OUT && t->is_float && !t->gaps && !problem[0]) {
            size_t n = t->bytes / sizeof(float);
            size_t bad_ref = count_nonfinite(t->ref, n), bad_got = count_nonfinite(t->got[0], n);
            if (bad_ref || bad_got)
                snprintf(problem, sizeof problem,
                         "%s not finite everywhere (reference %zu, device %zu of %zu)", t->name,
                         bad_ref, bad_got, n);
        }
    }
    if (c->has_ret) {
        double d = fabs(ret[0] - ret_ref), s = fabs(ret_ref) > 1e-30 ? fabs(ret_ref) : 1e-30;
        if (!isfinite(ret[0]) || !isfinite(ret_ref)) d = INFINITY;
        if (d / s > err) err = d / s;
        if (d / s > tolerance(c) && !problem[0])
            snprintf(problem, sizeof problem, "returned %.17g, the CPU %.17g", ret[0], ret_ref);
        repeat = repeat && memcmp(&ret[0], &ret[1], sizeof(double)) == 0;
    }
    report(c, err, repeat, problem[0] ? problem : NULL);
    for (int s = 0; s < MAXT; s++) {
        tensor_t *t = &c->t[s];
        if (!t->name) continue;
        g_cpu->free(t->ref);
        g_dev->free(t->dev);
        free(t->init), free(t->got[0]), free(t->got[1]);
    }
}

/* A check outside the cases (an allocation, a size). */
static void check(const char *entry, const char *what, int ok) {
    printf("%-24s %-46s %s\n", entry, what, ok ? "ok" : "FAIL");
    if (!ok) g_failures++;
}

#define PF(s) ((float *)p[s])
#define PI(s) ((int32_t *)p[s])
#define PB(s) ((char *)p[s])

/* ==== buffer.h ==== */

static void test_alloc(void) {
    void *a = g_dev->alloc(1000), *b = g_dev->alloc(3), *z = g_dev->alloc(0);
    check("alloc", "1000, 3 and 0 bytes: 64-byte aligned, not NULL",
          a && b && z && (uintptr_t)a % 64 == 0 && (uintptr_t)b % 64 == 0 &&
              (uintptr_t)z % 64 == 0);
    g_dev->free(a), g_dev->free(b), g_dev->free(z);
    g_dev->free(NULL);
    check("free", "NULL", 1);
}

static double run_zero(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->zero(PB(0) + c->i[0], (size_t)c->i[1]);
    return 0;
}
static void test_zero(size_t bytes, size_t off, size_t len) {
    kcase_t c;
    case_begin(&c, "zero", EXACT, run_zero, "%zu bytes at %zu of %zu", len, off, bytes);
    add_t(&c, 0, "buf", INOUT, bytes, rand_bytes(bytes), 0);
    c.i[0] = (int64_t)off, c.i[1] = (int64_t)len;
    case_run(&c);
}

static double run_copy(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->copy(PB(1) + c->i[1], PB(0) + c->i[0], (size_t)c->i[2]);
    return 0;
}
static void test_copy(size_t bytes, size_t soff, size_t doff, size_t len) {
    kcase_t c;
    case_begin(&c, "copy", EXACT, run_copy, "%zu bytes, %zu -> %zu", len, soff, doff);
    add_t(&c, 0, "src", IN, bytes, rand_bytes(bytes), 0);
    add_t(&c, 1, "dst", INOUT, bytes, rand_bytes(bytes), 0);
    c.i[0] = (int64_t)soff, c.i[1] = (int64_t)doff, c.i[2] = (int64_t)len;
    case_run(&c);
}

/* copy_to_host into unaligned host memory, then copy_from_host from there into another buffer. */
static double run_host_copies(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    size_t len = (size_t)c->i[2];
    unsigned char *tmp = malloc(len + 3);
    if (!tmp) exit(1);
    b->copy_to_host(tmp + 3, PB(0) + c->i[0], len);
    b->copy_from_host(PB(1) + c->i[1], tmp + 3, len);
    free(tmp);
    return 0;
}
static void test_host_copies(size_t bytes, size_t soff, size_t doff, size_t len) {
    kcase_t c;
    case_begin(&c, "copy_to/from_host", EXACT, run_host_copies, "%zu bytes, %zu -> %zu", len, soff,
               doff);
    add_t(&c, 0, "src", IN, bytes, rand_bytes(bytes), 0);
    add_t(&c, 1, "dst", INOUT, bytes, rand_bytes(bytes), 0);
    c.i[0] = (int64_t)soff, c.i[1] = (int64_t)doff, c.i[2] = (int64_t)len;
    case_run(&c);
}

static double run_copy_strided(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->copy_strided(PF(1) + c->i[5], c->i[3], PF(0) + c->i[4], c->i[2], c->i[0], c->i[1]);
    return 0;
}
/* rows x cols from column `soff` of src [rows x ld_src] to column `doff` of dst [rows x ld_dst]. */
static void test_copy_strided(int64_t rows, int64_t cols, int64_t ld_src, int64_t soff,
                              int64_t ld_dst, int64_t doff) {
    kcase_t c;
    case_begin(&c, "copy_strided", EXACT, run_copy_strided,
               "%lldx%lld, ld %lld(+%lld) -> %lld(+%lld)", (long long)rows, (long long)cols,
               (long long)ld_src, (long long)soff, (long long)ld_dst, (long long)doff);
    add_f(&c, 0, "src", IN, (size_t)(rows * ld_src), randn((size_t)(rows * ld_src), 1.0f));
    add_f(&c, 1, "dst", INOUT, (size_t)(rows * ld_dst), randn((size_t)(rows * ld_dst), 1.0f));
    c.i[0] = rows, c.i[1] = cols, c.i[2] = ld_src, c.i[3] = ld_dst, c.i[4] = soff, c.i[5] = doff;
    case_run(&c);
}

static double run_gather(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    float *dst = c->i[2] ? PF(0) : PF(2); /* in place: dst is src */
    b->gather_rows(dst, PF(0), PI(1), c->i[0], (int)c->i[1]);
    return 0;
}
static void test_gather(int64_t R, int64_t n, int C, int in_place) {
    kcase_t c;
    case_begin(&c, "gather_rows", EXACT, run_gather, "%lld of %lld rows, C=%d%s", (long long)n,
               (long long)R, C, in_place ? ", in place" : "");
    add_f(&c, 0, "src", in_place ? INOUT : IN, (size_t)(R * C), randn((size_t)(R * C), 1.0f));
    add_t(&c, 1, "rows", IN, (size_t)n * sizeof(int32_t), distinct_rows(R, n, in_place), 0);
    if (!in_place) add_f(&c, 2, "dst", OUT, (size_t)(n * C), NULL);
    c.i[0] = n, c.i[1] = C, c.i[2] = in_place;
    case_run(&c);
}

static double run_scatter(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->scatter_rows(PF(2), PF(0), PI(1), c->i[0], (int)c->i[1], (int)c->i[2]);
    return 0;
}
static void test_scatter(int64_t R, int64_t n, int C, int accumulate) {
    kcase_t c;
    case_begin(&c, "scatter_rows", EXACT, run_scatter, "%lld of %lld rows, C=%d, accumulate=%d",
               (long long)n, (long long)R, C, accumulate);
    add_f(&c, 0, "src", IN, (size_t)(n * C), randn((size_t)(n * C), 1.0f));
    add_t(&c, 1, "rows", IN, (size_t)n * sizeof(int32_t), distinct_rows(R, n, 0), 0);
    add_f(&c, 2, "dst", INOUT, (size_t)(R * C), randn((size_t)(R * C), 1.0f));
    c.i[0] = n, c.i[1] = C, c.i[2] = accumulate;
    case_run(&c);
}

/* ==== products ==== */

enum { M_INP, M_W, M_BIAS, M_RES, M_OUT, M_DGELU, M_DOUT, M_DINP, M_DW, M_DBIAS };

static void test_weight_bytes(int K, int N) {
    char what[64];
    size_t wb = g_dev->weight_bytes(K, N);
    snprintf(what, sizeof what, "K=%d N=%d: %zu bytes", K, N, wb);
    /* a multiple of 64; in bf16 room for W's values at least (the layout is the backend's) */
    check("weight_bytes", what, wb % 64 == 0 && (!g_bf16 || wb >= (size_t)K * (size_t)N * 2));
    float *w = randn((size_t)K * N, 1.0f), *dw = g_dev->alloc((size_t)K * N * sizeof(float));
    void *buf = g_dev->alloc(wb);
    g_dev->copy_from_host(dw, w, (size_t)K * N * sizeof(float));
    const void *wt = g_dev->weight_prepare(buf, dw, K, N);
    check("weight_prepare", what, wt == buf || wt == dw); /* buf, or W as it is */
    g_dev->free(buf), g_dev->free(dw), free(w);
}

/* The weight prepared into a buffer of its own (freed by the caller). */
static const kern_weight_t *prepare(const kern_backend_t *b, const float *w, int K, int N,
                                    void **buf) {
    *buf = b->alloc(b->weight_bytes(K, N));
    return b->weight_prepare(*buf, w, K, N);
}

static double run_matmul_forward(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t M = c->i[0];
    int K = (int)c->i[1], N = (int)c->i[2];
    void *buf;
    const kern_weight_t *wt = prepare(b, PF(M_W), K, N, &buf);
    if (c->i[3] == 0)
        b->matmul_forward(PF(M_OUT), PF(M_INP), wt, PF(M_BIAS), M, K, N);
    else if (c->i[3] == 1)
        b->matmul_residual_forward(PF(M_OUT), PF(M_INP), wt, PF(M_BIAS), PF(M_RES), M, K, N);
    else
        b->matmul_gelu_forward(PF(M_OUT), PF(M_DGELU), PF(M_INP), wt, PF(M_BIAS), M, K, N);
    b->free(buf);
    return 0;
}
/* variant 0: matmul_forward, 1: matmul_residual_forward, 2: matmul_gelu_forward (with_dgelu). */
static void test_forward(int variant, int64_t M, int K, int N, int bias, int with_dgelu) {
    static const char *const names[] = {"matmul_forward", "matmul_residual_forward",
                                        "matmul_gelu_forward"};
    kcase_t c;
    case_begin(&c, names[variant], PRODUCT, run_matmul_forward, "M=%lld K=%d N=%d bias=%d%s",
               (long long)M, K, N, bias, variant == 2 && !with_dgelu ? " dgelu=NULL" : "");
    add_f(&c, M_INP, "inp", IN, (size_t)(M * K), randn((size_t)(M * K), 1.0f));
    /* weights of a trained-size scale: pre-activations of order 1, where GELU bends */
    add_f(&c, M_W, "w", IN, (size_t)N * K, randn((size_t)N * K, 1.0f / sqrtf((float)K)));
    if (bias) add_f(&c, M_BIAS, "bias", IN, (size_t)N, randn((size_t)N, 0.1f));
    if (variant == 1) add_f(&c, M_RES, "res", IN, (size_t)(M * N), randn((size_t)(M * N), 1.0f));
    add_f(&c, M_OUT, "out", OUT, (size_t)(M * N), NULL);
    if (variant == 2 && with_dgelu) add_f(&c, M_DGELU, "dgelu", OUT, (size_t)(M * N), NULL);
    c.i[0] = M, c.i[1] = K, c.i[2] = N, c.i[3] = variant;
    case_run(&c);
}

static double run_matmul_backward(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t M = c->i[0];
    int K = (int)c->i[1], N = (int)c->i[2], acc = (int)c->i[3];
    if (c->i[4] == 0)
        b->matmul_backward(PF(M_DINP), PF(M_DW), PF(M_DBIAS), PF(M_DOUT), PF(M_INP), PF(M_W), M, K,
                           N, acc);
    else if (c->i[4] == 1)
        b->matmul_gelu_backward(PF(M_DINP), PF(M_DW), PF(M_DBIAS), PF(M_DOUT), PF(M_INP), PF(M_W),
                                PF(M_DGELU), M, K, N, acc);
    else
        b->matmul_backward_rows(PF(M_DINP), PF(M_DW), PF(M_DBIAS), PF(M_DOUT), PF(M_INP), PF(M_W),
                                PF(M_DGELU), c->host_rows, M, K, N, acc);
    return 0;
}
/* variant 0: matmul_backward, 1: matmul_gelu_backward, 2: matmul_backward_rows (M = nt compact
 * rows out of `total`). has: which of dinp, dw, dbias, dgelu are given (bits 1, 2, 4, 8). */
static void test_backward(int variant, int64_t M, int K, int N, int acc, int has, int64_t total) {
    static const char *const names[] = {"matmul_backward", "matmul_gelu_backward",
                                        "matmul_backward_rows"};
    kcase_t c;
    char rows[48] = "";
    if (variant == 2) snprintf(rows, sizeof rows, " of %lld rows", (long long)total);
    case_begin(&c, names[variant], PRODUCT, run_matmul_backward,
               "M=%lld%s K=%d N=%d acc=%d%s%s%s%s", (long long)M, rows, K, N, acc,
               has & 1 ? "" : " dinp=NULL", has & 2 ? "" : " dw=NULL", has & 4 ? "" : " db=NULL",
               variant == 0 || has & 8 ? "" : " dgelu=NULL");
    add_f(&c, M_DOUT, "dout", IN, (size_t)(M * N), randn((size_t)(M * N), 1.0f));
    add_f(&c, M_INP, "inp", IN, (size_t)(M * K), randn((size_t)(M * K), 1.0f));
    add_f(&c, M_W, "w", IN, (size_t)N * K, randn((size_t)N * K, 1.0f / sqrtf((float)K)));
    if (variant > 0 && (has & 8))
        add_f(&c, M_DGELU, "dgelu", IN, (size_t)(M * K), randu((size_t)(M * K), -0.17f, 1.13f));
    if (has & 1) add_f(&c, M_DINP, "dinp", OUT, (size_t)(M * K), NULL);
    if (has & 2)
        add_f(&c, M_DW, "dw", acc ? INOUT : OUT, (size_t)N * K,
              acc ? randn((size_t)N * K, 1.0f) : NULL);
    if (has & 4) add_f(&c, M_DBIAS, "dbias", INOUT, (size_t)N, randn((size_t)N, 1.0f));
    int32_t *host_rows = NULL;
    if (variant == 2) c.host_rows = host_rows = distinct_rows(total, M, 1);
    c.i[0] = M, c.i[1] = K, c.i[2] = N, c.i[3] = acc, c.i[4] = variant;
    case_run(&c);
    free(host_rows);
}

static double run_gemm(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->gemm(c->i[0], c->i[1], c->i[2], PF(0), c->i[3], c->i[4], PF(1), c->i[5], PF(2), c->i[6],
            (int)c->i[7]);
    return 0;
}
/* C[M x N] (ldc) (+)= A B; A by rows (csa == 1, rsa = lda) or by columns (rsa == 1). */
static void test_gemm(int64_t M, int64_t N, int64_t K, int a_by_rows, int64_t lda, int64_t ldb,
                      int64_t ldc, int acc) {
    int64_t rsa = a_by_rows ? lda : 1, csa = a_by_rows ? 1 : lda;
    size_t na = (size_t)(a_by_rows ? (M - 1) * lda + K : (K - 1) * lda + M);
    size_t nb = (size_t)((K - 1) * ldb + N), nc = (size_t)((M - 1) * ldc + N);
    kcase_t c;
    case_begin(&c, "gemm", PRODUCT, run_gemm,
               "M=%lld N=%lld K=%lld rsa=%lld csa=%lld ldc=%lld acc=%d", (long long)M, (long long)N,
               (long long)K, (long long)rsa, (long long)csa, (long long)ldc, acc);
    add_f(&c, 0, "a", IN, na, randn(na, 1.0f));
    add_f(&c, 1, "b", IN, nb, randn(nb, 1.0f / sqrtf((float)K)));
    add_f(&c, 2, "c", acc ? INOUT : OUT, nc, acc ? randn(nc, 1.0f) : NULL);
    c.t[2].gaps = ldc > N; /* the columns between rows are not the product's */
    c.i[0] = M, c.i[1] = N, c.i[2] = K, c.i[3] = rsa, c.i[4] = csa, c.i[5] = ldb, c.i[6] = ldc;
    c.i[7] = acc;
    case_run(&c);
}

/* ==== LayerNorm, GELU, elementwise ==== */

enum { L_INP, L_GAMMA, L_BETA, L_OUT, L_MEAN, L_RSTD, L_DOUT, L_DINP, L_DGAMMA, L_DBETA };

static double run_layernorm(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    if (c->i[2] == 0)
        b->layernorm_forward(PF(L_OUT), PF(L_MEAN), PF(L_RSTD), PF(L_INP), PF(L_GAMMA), PF(L_BETA),
                             c->i[0], (int)c->i[1]);
    else
        b->layernorm_backward(PF(L_DINP), PF(L_DGAMMA), PF(L_DBETA), PF(L_DOUT), PF(L_INP),
                              PF(L_MEAN), PF(L_RSTD), PF(L_GAMMA), c->i[0], (int)c->i[1]);
    return 0;
}
static void test_layernorm(int64_t M, int C, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "layernorm_backward" : "layernorm_forward", FP32, run_layernorm,
               "M=%lld C=%d", (long long)M, C);
    float *inp = randn((size_t)(M * C), 2.0f);
    for (int64_t i = 0; i < M * C; i++)
        inp[i] += 0.5f; /* rows with a mean away from zero */
    float *gamma = randu((size_t)C, 0.5f, 1.5f);
    if (!backward) {
        add_f(&c, L_BETA, "beta", IN, (size_t)C, randn((size_t)C, 0.1f));
        add_f(&c, L_OUT, "out", OUT, (size_t)(M * C), NULL);
        add_f(&c, L_MEAN, "mean", OUT, (size_t)M, NULL);
        add_f(&c, L_RSTD, "rstd", OUT, (size_t)M, NULL);
    } else { /* the forward's statistics, from the CPU */
        float *out = host_alloc(sizeof(float) * (size_t)(M * C)), *beta = randn((size_t)C, 0.1f);
        float *mean = host_alloc(sizeof(float) * (size_t)M);
        float *rstd = host_alloc(sizeof(float) * (size_t)M);
        g_cpu->layernorm_forward(out, mean, rstd, inp, gamma, beta, M, C);
        free(out), free(beta);
        add_f(&c, L_MEAN, "mean", IN, (size_t)M, mean);
        add_f(&c, L_RSTD, "rstd", IN, (size_t)M, rstd);
        add_f(&c, L_DOUT, "dout", IN, (size_t)(M * C), randn((size_t)(M * C), 1.0f));
        add_f(&c, L_DINP, "dinp", INOUT, (size_t)(M * C), randn((size_t)(M * C), 1.0f));
        add_f(&c, L_DGAMMA, "dgamma", INOUT, (size_t)C, randn((size_t)C, 1.0f));
        add_f(&c, L_DBETA, "dbeta", INOUT, (size_t)C, randn((size_t)C, 1.0f));
    }
    add_f(&c, L_INP, "inp", IN, (size_t)(M * C), inp);
    add_f(&c, L_GAMMA, "gamma", IN, (size_t)C, gamma);
    c.i[0] = M, c.i[1] = C, c.i[2] = backward;
    case_run(&c);
}

/* Pointwise entries on n floats; slots 0 and 1 are inputs, 2 the output (variant below). */
enum { PW_GELU_F, PW_GELU_B, PW_GELU_B_ALIAS, PW_ADD, PW_PLUS_ZERO, PW_EXP, PW_SCALE };
static double run_pointwise(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t n = c->i[0];
    switch (c->i[1]) {
    case PW_GELU_F:
        b->gelu_forward(PF(2), PF(0), n);
        break;
    case PW_GELU_B:
        b->gelu_backward(PF(2), PF(0), PF(1), n);
        break;
    case PW_GELU_B_ALIAS:
        b->gelu_backward(PF(1), PF(0), PF(1), n);
        break;
    case PW_ADD:
        b->add_inplace(PF(1), PF(0), n);
        break;
    case PW_PLUS_ZERO:
        b->plus_zero(PF(1), n);
        break;
    case PW_EXP:
        b->exp_inplace(PF(1), n);
        break;
    case PW_SCALE:
        b->scale_inplace(PF(1), (size_t)n, c->f[0]);
        break;
    }
    return 0;
}
static void test_pointwise(int variant, int64_t n) {
    static const char *const names[] = {"gelu_forward", "gelu_backward", "gelu_backward",
                                        "add_inplace",  "plus_zero",     "exp_inplace",
                                        "scale_inplace"};
    kcase_t c;
    int tol = variant == PW_PLUS_ZERO ? EXACT : variant == PW_EXP ? ELEMENTWISE : FP32;
    case_begin(&c, names[variant], tol, run_pointwise, "n=%lld%s", (long long)n,
               variant == PW_GELU_B_ALIAS ? ", dinp = dout" : "");
    switch (variant) {
    case PW_GELU_F:
        add_f(&c, 0, "inp", IN, (size_t)n, randn((size_t)n, 2.0f));
        add_f(&c, 2, "out", OUT, (size_t)n, NULL);
        break;
    case PW_GELU_B:
    case PW_GELU_B_ALIAS:
        add_f(&c, 0, "inp", IN, (size_t)n, randn((size_t)n, 2.0f));
        add_f(&c, 1, "dout", variant == PW_GELU_B ? IN : INOUT, (size_t)n, randn((size_t)n, 1.0f));
        if (variant == PW_GELU_B) add_f(&c, 2, "dinp", OUT, (size_t)n, NULL);
        break;
    case PW_ADD:
        add_f(&c, 0, "x", IN, (size_t)n, randn((size_t)n, 1.0f));
        add_f(&c, 1, "y", INOUT, (size_t)n, randn((size_t)n, 1.0f));
        break;
    case PW_PLUS_ZERO: {
        float *x = randn((size_t)n, 1.0f);
        for (int64_t i = 0; i < n; i += 3) /* every third a zero, of alternating sign */
            x[i] = (i / 3) % 2 ? -0.0f : 0.0f;
        add_f(&c, 1, "x", INOUT, (size_t)n, x);
        break;
    }
    case PW_EXP:
        add_f(&c, 1, "x", INOUT, (size_t)n, randu((size_t)n, -20.0f, 10.0f));
        break;
    case PW_SCALE:
        add_f(&c, 1, "x", INOUT, (size_t)n, randn((size_t)n, 1.0f));
        c.f[0] = 0.37f;
        break;
    }
    c.i[0] = n, c.i[1] = variant;
    case_run(&c);
}

/* add_rows, sum_rows, accumulate_rows: v [C] and y [M x C]. */
static double run_rows(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t M = c->i[0];
    int C = (int)c->i[1];
    if (c->i[2] == 0)
        b->add_rows(PF(1), PF(0), M, C);
    else if (c->i[2] == 1)
        b->sum_rows(PF(0), PF(1), M, C);
    else
        b->accumulate_rows(PF(0), PF(1), M, C);
    return 0;
}
static void test_rows(int variant, int64_t M, int C) {
    static const char *const names[] = {"add_rows", "sum_rows", "accumulate_rows"};
    kcase_t c;
    case_begin(&c, names[variant], FP32, run_rows, "M=%lld C=%d", (long long)M, C);
    add_f(&c, 0, "v", variant == 0 ? IN : INOUT, (size_t)C, randn((size_t)C, 1.0f));
    add_f(&c, 1, "y", variant == 0 ? INOUT : IN, (size_t)(M * C), randn((size_t)(M * C), 1.0f));
    c.i[0] = M, c.i[1] = C, c.i[2] = variant;
    case_run(&c);
}

/* ==== model inputs ==== */

static double run_patchify(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->patchify(PF(1), (const uint8_t *)p[0], c->i[0], (int)c->i[1], (int)c->i[2], (int)c->i[3]);
    return 0;
}
static void test_patchify(int64_t n, int S, int P, int C) {
    kcase_t c;
    case_begin(&c, "patchify", FP32, run_patchify, "n=%lld S=%d P=%d C=%d", (long long)n, S, P, C);
    size_t px = (size_t)n * S * S * C, np = px; /* as many floats as bytes */
    uint8_t *pixels = host_alloc(px);
    for (size_t i = 0; i < px; i++)
        pixels[i] = (uint8_t)rng_below(&g_rng, 256);
    add_t(&c, 0, "pixels", IN, px, pixels, 0);
    add_f(&c, 1, "patches", OUT, np, NULL);
    c.i[0] = n, c.i[1] = S, c.i[2] = P, c.i[3] = C;
    case_run(&c);
}

enum { EM_WTE, EM_IMG, EM_TOK, EM_X, EM_DX, EM_DWTE, EM_DIMG };
static double run_embed(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t N = c->i[0];
    int D = (int)c->i[1];
    int32_t image = (int32_t)c->i[2];
    if (c->i[3] == 0)
        b->embed_forward(PF(EM_X), PF(EM_WTE), PF(EM_IMG), PI(EM_TOK), N, D, image);
    else
        b->embed_backward(PF(EM_DWTE), PF(EM_DIMG), PF(EM_DX), PI(EM_TOK), N, D, image);
    return 0;
}
/* N tokens of a vocabulary of V (few: rows repeat), token V-1 marks an image row. */
static void test_embed(int64_t N, int D, int V, int backward) {
    int32_t *tok = rand_ints((size_t)N, V);
    tok[0] = V - 1; /* at least one image row */
    int64_t n_img = 0;
    for (int64_t r = 0; r < N; r++)
        n_img += tok[r] == V - 1;
    kcase_t c;
    case_begin(&c, backward ? "embed_backward" : "embed_forward", FP32, run_embed,
               "N=%lld D=%d V=%d images=%lld", (long long)N, D, V, (long long)n_img);
    add_t(&c, EM_TOK, "tokens", IN, (size_t)N * sizeof(int32_t), tok, 0);
    if (!backward) {
        add_f(&c, EM_WTE, "wte", IN, (size_t)V * D, randn((size_t)V * D, 1.0f));
        add_f(&c, EM_IMG, "img", IN, (size_t)(n_img * D), randn((size_t)(n_img * D), 1.0f));
        add_f(&c, EM_X, "x", OUT, (size_t)(N * D), NULL);
    } else {
        add_f(&c, EM_DX, "dx", IN, (size_t)(N * D), randn((size_t)(N * D), 1.0f));
        add_f(&c, EM_DWTE, "dwte", INOUT, (size_t)V * D, randn((size_t)V * D, 1.0f));
        add_f(&c, EM_DIMG, "dimg", OUT, (size_t)(n_img * D), NULL);
    }
    c.i[0] = N, c.i[1] = D, c.i[2] = V - 1, c.i[3] = backward;
    case_run(&c);
}

/* ==== attention, RoPE, smeared keys, pooling ==== */

enum { A_QKV, A_OUT, A_PROBS, A_DOUT, A_DQKV, A_KC, A_VC, A_COS, A_SIN, A_KRAW, A_ALPHA, A_KB };
#define A_DALPHA A_OUT

static double run_attention(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int B = (int)c->i[0], T = (int)c->i[1], H = (int)c->i[2], C = (int)c->i[3];
    int causal = (int)c->i[4];
    if (c->i[5] == 0)
        b->attention_forward(PF(A_OUT), PF(A_PROBS), PF(A_QKV), B, T, H, C, causal);
    else
        b->attention_backward(PF(A_DQKV), PF(A_DOUT), PF(A_QKV), PF(A_PROBS), B, T, H, C, causal);
    return 0;
}
static void test_attention(int B, int T, int H, int C, int causal, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "attention_backward" : "attention_forward", FP32, run_attention,
               "B=%d T=%d H=%d C=%d causal=%d", B, T, H, C, causal);
    size_t rows = (size_t)B * T, nprobs = (size_t)B * H * T * T;
    float *qkv = randn(rows * 3 * C, 1.0f);
    if (!backward) {
        add_f(&c, A_OUT, "out", OUT, rows * C, NULL);
        add_f(&c, A_PROBS, "probs", OUT, nprobs, NULL);
    } else { /* the forward's probabilities, from the CPU */
        float *out = host_alloc(rows * C * sizeof(float)), *probs = host_alloc(nprobs * 4);
        g_cpu->attention_forward(out, probs, qkv, B, T, H, C, causal);
        free(out);
        add_f(&c, A_PROBS, "probs", IN, nprobs, probs);
        add_f(&c, A_DOUT, "dout", IN, rows * C, randn(rows * C, 1.0f));
        add_f(&c, A_DQKV, "dqkv", OUT, rows * 3 * C, NULL);
    }
    add_f(&c, A_QKV, "qkv", IN, rows * 3 * C, qkv);
    c.i[0] = B, c.i[1] = T, c.i[2] = H, c.i[3] = C, c.i[4] = causal, c.i[5] = backward;
    case_run(&c);
}

static double run_attention_cached(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->attention_cached_forward(PF(A_OUT), PF(A_QKV), (int)c->i[0], PF(A_KC), PF(A_VC), c->i[1],
                                (int)c->i[2], (int)c->i[3], (int)c->i[4]);
    return 0;
}
static void test_attention_cached(int n, int p0, int H, int C, int64_t stride) {
    kcase_t c;
    case_begin(&c, "attention_cached_forward", FP32, run_attention_cached,
               "n=%d p0=%d H=%d C=%d cache_stride=%lld", n, p0, H, C, (long long)stride);
    size_t cache = (size_t)((p0 > 0 ? p0 : 1) * stride);
    add_f(&c, A_QKV, "qkv", IN, (size_t)n * 3 * C, randn((size_t)n * 3 * C, 1.0f));
    add_f(&c, A_KC, "k_cache", IN, cache, randn(cache, 1.0f));
    add_f(&c, A_VC, "v_cache", IN, cache, randn(cache, 1.0f));
    add_f(&c, A_OUT, "out", OUT, (size_t)n * C, NULL);
    c.i[0] = n, c.i[1] = stride, c.i[2] = p0, c.i[3] = H, c.i[4] = C;
    case_run(&c);
}

static double run_rope(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int B = (int)c->i[0], T = (int)c->i[1], H = (int)c->i[2], C = (int)c->i[3];
    if (c->i[4] == 0)
        b->rope_forward(PF(A_QKV), PF(A_COS), PF(A_SIN), B, T, H, C);
    else
        b->rope_backward(PF(A_QKV), PF(A_COS), PF(A_SIN), B, T, H, C);
    return 0;
}
static void test_rope(int B, int T, int H, int C, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "rope_backward" : "rope_forward", FP32, run_rope,
               "B=%d T=%d H=%d C=%d", B, T, H, C);
    int half = C / H / 2;
    float *cs = host_alloc(sizeof(float) * (size_t)T * half);
    float *sn = host_alloc(sizeof(float) * (size_t)T * half);
    for (int t = 0; t < T; t++) /* the usual table: theta_i = 10000^(-i/half) */
        for (int i = 0; i < half; i++) {
            double a = t * pow(10000.0, -(double)i / half);
            cs[t * half + i] = (float)cos(a), sn[t * half + i] = (float)sin(a);
        }
    size_t n = (size_t)B * T * 3 * C;
    add_f(&c, A_QKV, backward ? "dqkv" : "qkv", INOUT, n, randn(n, 1.0f));
    add_f(&c, A_COS, "cos", IN, (size_t)T * half, cs);
    add_f(&c, A_SIN, "sin", IN, (size_t)T * half, sn);
    c.i[0] = B, c.i[1] = T, c.i[2] = H, c.i[3] = C, c.i[4] = backward;
    case_run(&c);
}

static double run_smear(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int B = (int)c->i[0], T = (int)c->i[1], H = (int)c->i[2], C = (int)c->i[3];
    if (c->i[4] == 0)
        b->smear_keys_forward(PF(A_QKV), PF(A_KRAW), PF(A_ALPHA), B, T, H, C, PF(A_KB));
    else
        b->smear_keys_backward(PF(A_QKV), PF(A_DALPHA), PF(A_KRAW), PF(A_ALPHA), B, T, H, C);
    return 0;
}
static void test_smear(int B, int T, int H, int C, int k_before, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "smear_keys_backward" : "smear_keys_forward", FP32, run_smear,
               "B=%d T=%d H=%d C=%d%s", B, T, H, C,
               backward   ? ""
               : k_before ? " k_before"
                          : " k_before=NULL");
    size_t n = (size_t)B * T * 3 * C, nk = (size_t)B * T * C;
    add_f(&c, A_QKV, backward ? "dqkv" : "qkv", INOUT, n, randn(n, 1.0f));
    add_f(&c, A_ALPHA, "alpha", IN, (size_t)H, randn((size_t)H, 1.5f));
    if (!backward) {
        add_f(&c, A_KRAW, "kraw", OUT, nk, NULL);
        if (k_before) add_f(&c, A_KB, "k_before", IN, (size_t)C, randn((size_t)C, 1.0f));
    } else {
        add_f(&c, A_KRAW, "kraw", IN, nk, randn(nk, 1.0f));
        add_f(&c, A_DALPHA, "dalpha", INOUT, (size_t)H, randn((size_t)H, 1.0f));
    }
    c.i[0] = B, c.i[1] = T, c.i[2] = H, c.i[3] = C, c.i[4] = backward;
    case_run(&c);
}

static double run_pool(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    if (c->i[3] == 0)
        b->mean_pool_forward(PF(1), PF(0), c->i[0], (int)c->i[1], (int)c->i[2]);
    else
        b->mean_pool_backward(PF(1), PF(0), c->i[0], (int)c->i[1], (int)c->i[2]);
    return 0;
}
static void test_pool(int64_t G, int P, int C, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "mean_pool_backward" : "mean_pool_forward", FP32, run_pool,
               "G=%lld P=%d C=%d", (long long)G, P, C);
    size_t big = (size_t)(G * P * C), small = (size_t)(G * C);
    add_f(&c, 0, backward ? "dout" : "inp", IN, backward ? small : big,
          randn(backward ? small : big, 1.0f));
    add_f(&c, 1, backward ? "dinp" : "out", OUT, backward ? big : small, NULL);
    c.i[0] = G, c.i[1] = P, c.i[2] = C, c.i[3] = backward;
    case_run(&c);
}

/* ==== loss ==== */

enum { X_LOGITS, X_TARGETS, X_LSE, X_DLOGITS };
static double run_xent(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    int64_t n = c->i[0];
    int V = (int)c->i[1];
    if (c->i[2] == 0) return b->crossentropy_forward(PF(X_LSE), PF(X_LOGITS), PI(X_TARGETS), n, V);
    b->crossentropy_backward(PF(X_DLOGITS), PF(X_LOGITS), PF(X_LSE), PI(X_TARGETS), n, V, c->f[0]);
    return 0;
}
static void test_xent(int64_t n, int V, int backward) {
    kcase_t c;
    case_begin(&c, backward ? "crossentropy_backward" : "crossentropy_forward", FP32, run_xent,
               "n=%lld V=%d", (long long)n, V);
    float *logits = randn((size_t)(n * V), 3.0f);
    int32_t *targets = rand_ints((size_t)n, V);
    if (!backward) {
        add_f(&c, X_LSE, "lse", OUT, (size_t)n, NULL);
        c.has_ret = 1;
    } else { /* the forward's log-sum-exp, from the CPU */
        float *lse = host_alloc(sizeof(float) * (size_t)n);
        g_cpu->crossentropy_forward(lse, logits, targets, n, V);
        add_f(&c, X_LSE, "lse", IN, (size_t)n, lse);
        add_f(&c, X_DLOGITS, "dlogits", OUT, (size_t)(n * V), NULL);
        c.f[0] = 1.0f / (float)n;
    }
    add_f(&c, X_LOGITS, "logits", IN, (size_t)(n * V), logits);
    add_t(&c, X_TARGETS, "targets", IN, (size_t)n * sizeof(int32_t), targets, 0);
    c.i[0] = n, c.i[1] = V, c.i[2] = backward;
    case_run(&c);
}

/* ==== the optimizer ==== */

enum { O_PARAMS, O_GRADS, O_M, O_V, O_MASK };
static double run_adamw(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    b->adamw_update(PF(O_PARAMS), PF(O_GRADS), PF(O_M), PF(O_V), (const uint8_t *)p[O_MASK],
                    (size_t)c->i[0], c->f[0], c->f[1], c->f[2], c->f[3], c->f[4], c->i[1]);
    return 0;
}
static void test_adamw(size_t n, int64_t step, int mask) {
    kcase_t c;
    case_begin(&c, "adamw_update", FP32, run_adamw, "n=%zu step=%lld%s", n, (long long)step,
               mask ? " decay_mask" : " decay_mask=NULL");
    add_f(&c, O_PARAMS, "params", INOUT, n, randn(n, 0.02f));
    add_f(&c, O_GRADS, "grads", IN, n, randn(n, 0.01f));
    add_f(&c, O_M, "m", INOUT, n, randn(n, 0.001f));
    add_f(&c, O_V, "v", INOUT, n, randu(n, 0.0f, 1e-5f));
    if (mask) {
        uint8_t *m = host_alloc(n);
        for (size_t i = 0; i < n; i++)
            m[i] = (uint8_t)rng_below(&g_rng, 2);
        add_t(&c, O_MASK, "decay_mask", IN, n, m, 0);
    }
    c.f[0] = 3e-4f, c.f[1] = 0.9f, c.f[2] = 0.95f, c.f[3] = 1e-8f, c.f[4] = 0.1f;
    c.i[0] = (int64_t)n, c.i[1] = step;
    case_run(&c);
}

static double run_grad_norm(const kern_backend_t *b, void *const *p, const kcase_t *c) {
    return b->grad_norm(PF(0), (size_t)c->i[0]);
}
static void test_grad_norm(size_t n) {
    kcase_t c;
    case_begin(&c, "grad_norm", FP32, run_grad_norm, "n=%zu", n);
    add_f(&c, 0, "g", IN, n, randn(n, 0.01f));
    c.has_ret = 1;
    c.i[0] = (int64_t)n;
    case_run(&c);
}

/* ==== all cases ==== */

static void run_all(void) {
    /* buffer.h */
    test_alloc();
    test_zero(4000, 0, 4000);
    test_zero(1001, 5, 77);
    test_copy(4096, 0, 0, 4096);
    test_copy(3001, 7, 130, 2001);
    test_host_copies(4096, 0, 0, 4096);
    test_host_copies(3001, 9, 3, 1999);
    test_copy_strided(11, 13, 39, 13, 17, 2);
    test_copy_strided(300, 768, 768, 0, 768, 0);
    test_copy_strided(64, 64, 3 * 64, 128, 64, 0);
    test_gather(64, 13, 13, 0);
    test_gather(300, 37, 768, 0);
    test_gather(64, 20, 256, 1);
    test_scatter(64, 13, 13, 0);
    test_scatter(300, 37, 768, 1);
    test_scatter(64, 64, 64, 1);

    /* products: the model's shapes (C = 64/256/768, 3C, 4C, T up to 300) and odd ones */
    test_weight_bytes(64, 192);
    test_weight_bytes(33, 77);
    test_forward(0, 64, 64, 192, 1, 0);
    test_forward(0, 300, 256, 768, 0, 0);
    test_forward(0, 45, 33, 77, 1, 0);
    test_forward(0, 1, 768, 768, 1, 0);
    test_forward(0, 64, 768, 2304, 1, 0);
    test_forward(1, 64, 256, 256, 1, 0);
    test_forward(1, 45, 33, 77, 0, 0);
    test_forward(1, 64, 3072, 768, 1, 0);
    test_forward(2, 64, 64, 256, 1, 1);
    test_forward(2, 45, 33, 77, 0, 1);
    test_forward(2, 37, 256, 1024, 1, 0);
    test_forward(2, 64, 768, 3072, 1, 1);
    test_backward(0, 64, 64, 192, 0, 7, 0);
    test_backward(0, 300, 256, 768, 1, 7, 0);
    test_backward(0, 45, 33, 77, 0, 6, 0);
    test_backward(0, 45, 33, 77, 1, 1, 0);
    test_backward(0, 17, 768, 64, 1, 3, 0);
    test_backward(0, 37, 3072, 768, 0, 7, 0);
    test_backward(1, 64, 256, 1024, 0, 15, 0);
    test_backward(1, 45, 33, 77, 1, 15, 0);
    test_backward(1, 45, 33, 77, 1, 7, 0);
    test_backward(1, 37, 768, 3072, 1, 14, 0);
    test_backward(2, 5, 64, 192, 0, 7, 64);
    test_backward(2, 13, 33, 77, 1, 15, 45);
    test_backward(2, 40, 256, 1024, 1, 15, 300);
    test_backward(2, 7, 768, 50, 0, 3, 64);
    test_backward(2, 1, 64, 64, 1, 5, 10);
    test_gemm(33, 65, 17, 1, 20, 70, 67, 0);
    test_gemm(33, 65, 17, 0, 34, 65, 65, 1);
    test_gemm(64, 64, 300, 1, 300, 64, 64, 0);
    test_gemm(300, 64, 300, 0, 300, 3 * 768, 2304, 0);
    test_gemm(1, 77, 45, 1, 45, 77, 77, 1);
    test_gemm(300, 300, 64, 1, 2304, 300, 300, 1);

    /* LayerNorm, GELU, elementwise */
    test_layernorm(64, 64, 0);
    test_layernorm(300, 768, 0);
    test_layernorm(37, 256, 0);
    test_layernorm(64, 64, 1);
    test_layernorm(300, 768, 1);
    test_layernorm(37, 256, 1);
    test_pointwise(PW_GELU_F, 1000);
    test_pointwise(PW_GELU_F, 64 * 3072 + 3);
    test_pointwise(PW_GELU_B, 1000);
    test_pointwise(PW_GELU_B, 64 * 3072 + 3);
    test_pointwise(PW_GELU_B_ALIAS, 64 * 1024 + 1);
    test_pointwise(PW_ADD, 1);
    test_pointwise(PW_ADD, 300 * 768 + 5);
    test_pointwise(PW_PLUS_ZERO, 10001);
    test_pointwise(PW_EXP, 10001);
    test_pointwise(PW_SCALE, 100003);
    test_rows(0, 64, 64);
    test_rows(0, 300, 768);
    test_rows(1, 64, 64);
    test_rows(1, 300, 768);
    test_rows(1, 1, 13);
    test_rows(1, 45, 77);
    test_rows(2, 64, 64);
    test_rows(2, 300, 768);
    test_rows(2, 45, 77);

    /* model inputs */
    test_patchify(3, 28, 7, 3);
    test_patchify(2, 16, 4, 1);
    test_embed(64, 64, 50, 0);
    test_embed(300, 768, 7, 0);
    test_embed(64, 64, 50, 1);
    test_embed(300, 256, 7, 1);

    /* attention, RoPE, smeared keys, pooling */
    test_attention(2, 64, 4, 64, 1, 0);
    test_attention(2, 64, 4, 64, 0, 0);
    test_attention(1, 300, 12, 768, 1, 0);
    test_attention(3, 17, 4, 256, 0, 0);
    test_attention(2, 64, 12, 768, 1, 0);
    test_attention(2, 64, 4, 64, 1, 1);
    test_attention(2, 64, 4, 64, 0, 1);
    test_attention(1, 300, 12, 768, 1, 1);
    test_attention(3, 17, 4, 256, 0, 1);
    test_attention_cached(1, 63, 4, 64, 64);
    test_attention_cached(5, 20, 12, 768, 3 * 768);
    test_attention_cached(8, 0, 4, 256, 256);
    test_attention_cached(3, 297, 12, 768, 768);
    test_rope(2, 64, 4, 64, 0);
    test_rope(1, 300, 12, 768, 0);
    test_rope(3, 17, 4, 256, 0);
    test_rope(2, 64, 4, 64, 1);
    test_rope(1, 300, 12, 768, 1);
    test_smear(2, 64, 4, 64, 0, 0);
    test_smear(1, 300, 12, 768, 1, 0);
    test_smear(1, 17, 4, 256, 0, 0);
    test_smear(2, 64, 4, 64, 0, 1);
    test_smear(1, 300, 12, 768, 0, 1);
    test_pool(6, 16, 64, 0);
    test_pool(3, 49, 256, 0);
    test_pool(6, 16, 64, 1);
    test_pool(3, 49, 256, 1);

    /* loss */
    test_xent(64, 50, 0);
    test_xent(300, 1000, 0);
    test_xent(7, 50257, 0);
    test_xent(64, 50, 1);
    test_xent(300, 1000, 1);

    /* the optimizer */
    test_adamw(100003, 1, 1);
    test_adamw(8192 + 7, 7, 0);
    test_grad_norm(1000);
    test_grad_norm(3 * 8192 + 5);
}

/* Every entry of the table was reached. */
static void check_coverage(void) {
    int missing = 0;
    for (int e = 0; e < E_COUNT; e++)
        if (g_hits[e] == 0) {
            printf("entry %s: never tested\n", g_entry_names[e]);
            missing++;
        }
    char what[64];
    snprintf(what, sizeof what, "%d entries of KERN_BACKEND_API", E_COUNT);
    check("coverage", what, missing == 0);
}

/* ==== self-test: a fake device, and broken ones the harness must catch ==== */

static kern_backend_t g_fake; /* the CPU table, marked as device memory */

static void broken_gelu_forward(float *out, const float *inp, int64_t n) { /* 1e-4 off */
    g_cpu->gelu_forward(out, inp, n);
    out[n / 2] = out[n / 2] * (1.0f + 1e-4f) + 1e-4f;
}
static void broken_mean_pool_backward(float *dinp, const float *dout, int64_t G, int P, int C) {
    g_cpu->mean_pool_backward(dinp, dout, G - 1, P, C); /* the last group left unwritten */
}
static void broken_scale_inplace(float *x, size_t n, float s) { /* bits differ run to run */
    static int calls;
    g_cpu->scale_inplace(x, n, s);
    if (calls++ % 2) x[0] = nextafterf(x[0], INFINITY);
}
static void broken_add_inplace(float *y, const float *x, int64_t n) { /* writes its input */
    g_cpu->add_inplace(y, x, n);
    ((float *)x)[0] += 1.0f;
}
static void broken_plus_zero(float *x, int64_t n) { /* leaves -0 */
    (void)x, (void)n;
}
static void broken_copy_strided(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                                int64_t rows, int64_t cols) { /* writes one float too many */
    g_cpu->copy_strided(dst, ld_dst, src, ld_src, rows, cols + 1);
}
static double broken_grad_norm(const float *g, size_t n) { /* 1e-3 off */
    return g_cpu->grad_norm(g, n) * (1.0 + 1e-3);
}

static void pw_gelu(void) {
    test_pointwise(PW_GELU_F, 1000);
}
static void pool_back(void) {
    test_pool(6, 16, 64, 1);
}
static void pw_scale(void) {
    test_pointwise(PW_SCALE, 1000);
}
static void pw_add(void) {
    test_pointwise(PW_ADD, 1000);
}
static void pw_plus_zero(void) {
    test_pointwise(PW_PLUS_ZERO, 1000);
}
static void strided(void) {
    test_copy_strided(11, 13, 39, 13, 17, 2);
}
static void norm(void) {
    test_grad_norm(1000);
}

/* Runs `cases` on the fake table with one entry replaced by a broken one: a case must fail. */
static void expect_caught(const char *what, kern_backend_t broken, void (*cases)(void)) {
    g_inner = &broken;
    g_expect_broken = 1;
    cases();
    int caught = g_expect_broken == 2;
    g_expect_broken = 0;
    g_inner = &g_fake;
    check("self-test", what, caught);
}

static void self_test_broken(void) {
    printf("-- broken tables: each case below must FAIL, and the check after it say so\n");
    kern_backend_t b = g_fake;
    b.gelu_forward = broken_gelu_forward;
    expect_caught("caught: an output 1e-4 off", b, pw_gelu);
    b = g_fake, b.mean_pool_backward = broken_mean_pool_backward;
    expect_caught("caught: an output left unwritten", b, pool_back);
    b = g_fake, b.scale_inplace = broken_scale_inplace;
    expect_caught("caught: bits that differ run to run", b, pw_scale);
    b = g_fake, b.add_inplace = broken_add_inplace;
    expect_caught("caught: an input written", b, pw_add);
    b = g_fake, b.plus_zero = broken_plus_zero;
    expect_caught("caught: -0 kept by plus_zero", b, pw_plus_zero);
    b = g_fake, b.copy_strided = broken_copy_strided;
    expect_caught("caught: a float written past a row", b, strided);
    b = g_fake, b.grad_norm = broken_grad_norm;
    expect_caught("caught: a returned value 1e-3 off", b, norm);
}

/* ==== main ==== */

static void host_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "test_cuda_kernels: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* No device: a skip (77), or a failure where MICL_REQUIRE_GPU=1 says there is one. */
static int skip(const char *why) {
    const char *require = getenv("MICL_REQUIRE_GPU");
    if (require && strcmp(require, "1") == 0) {
        printf("FAIL (MICL_REQUIRE_GPU=1): %s\n", why);
        return 1;
    }
    printf("SKIP: %s\n", why);
    return 77;
}

int main(int argc, char **argv) {
    int self_test = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--bf16") == 0)
            g_bf16 = 1;
        else if (strcmp(argv[a], "--self-test") == 0)
            self_test = 1;
        else {
            fprintf(stderr, "usage: test_cuda_kernels [--bf16] [--self-test]\n");
            return 2;
        }
    }
    if (self_test && g_bf16) {
        fprintf(stderr, "test_cuda_kernels: --self-test runs in fp32 only\n");
        return 2;
    }
    g_rng = rng_make(20261206, RNG_STREAM_TEST, (uint64_t)g_bf16);
    g_cpu = kern_backend_cpu();
    const kern_backend_t *dev;
    if (self_test) {
        g_fake = *g_cpu;
        g_fake.name = "fake";
        g_fake.device = "the CPU table, its buffers taken as device memory";
        g_fake.host_memory = 0;
        dev = &g_fake;
    } else {
        kern_backend_host_t host = {.rank = 0,
                                    .local_rank = 0,
                                    .precision = g_bf16 ? KERN_PRECISION_BF16 : KERN_PRECISION_FP32,
                                    .fatal = host_fatal};
        char err[1024];
        if (kern_backend_use("cuda", &host, err, sizeof err) != 0) {
            if (!g_bf16) return skip(err);
            /* bf16 refused: a skip only if fp32 is refused as well (no device) */
            char err32[1024];
            host.precision = KERN_PRECISION_FP32;
            if (kern_backend_use("cuda", &host, err32, sizeof err32) != 0) return skip(err32);
            printf("FAIL: the module opens in fp32 but not with bf16 products: %s\n", err);
            return 1;
        }
        dev = kern_backend();
    }
    printf("device: %s (%s), host memory %d, products in %s, tolerance %.0e (products %.0e)\n",
           dev->name, dev->device, dev->host_memory, g_bf16 ? "bf16" : "fp32", TOL_FP32,
           g_bf16 ? TOL_BF16 : TOL_FP32);
    if (dev->host_memory) {
        printf("FAIL: the device table says its buffers are host memory\n");
        return 1;
    }
    g_inner = dev;
    kern_backend_t counted = counting_table(dev);
    g_dev = &counted;
    run_all();
    check_coverage();
    if (self_test) self_test_broken();
    printf("%s: %d failure(s)\n", g_failures ? "FAIL" : "ok", g_failures);
    return g_failures ? 1 : 0;
}
