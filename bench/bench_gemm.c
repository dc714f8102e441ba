/* bench_gemm.c - `micl bench gemm` (see bench_gemm.h and bench/README.md).
 *
 * Lists every linear layer of a bench preset with its per-micro-batch row count, and for each
 * of its three products (forward out = x W^T, backward dinp = dout W, backward dW += dout^T x)
 * times micl's kernels (kern_matmul_forward / kern_gemm) against OpenBLAS and BLIS loaded with
 * dlopen (blas.h), and against micl's next-best instruction-set build (the avx2 build beside the
 * avx512 one: kernels/cpu/isa.c; its results must be the same bits), at each requested thread
 * count. Each library runs all its shapes
 * before the next one starts, so one library's idle worker threads never compete with another's.
 * Results of every library are checked against micl's before timing. Prints a table and, with
 * -o, stores it in HDF5 (one dataset per column).
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_gemm.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/h5util.h"
#include "blas.h"
#include "kernels/backend.h"
#include "kernels/kernels.h"
#include "bench_out.h"
#include "common/cli_args.h"
#include "bench_preset.h"
#include "openblas_probe.h"

#define OPENBLAS_PATH OPENBLAS_DEFAULT_PATH
#define BLIS_PATH OPENBLAS_LIBDIR "/blis-openmp/libblis.so.4"

#define MAX_CONFIGS 4
#define MAX_THREADS 4
#define MAX_SHAPES 256
#define N_LIBS 4 /* micl, openblas, blis, micl's next-best build */
#define LIB_PEER 3
#define CHECK_TOL 1e-4
#define CLEAR_MARGIN 1.10 /* a winner is "clear" when 10% faster than the runner-up */

enum { PROD_FWD, PROD_DINP, PROD_DW };
static const char *PROD_NAMES[] = {"fwd", "dinp", "dW"};
static const char *LIB_NAMES[N_LIBS] = {"micl", "openblas", "blis", "micl-peer"};
static char peer_name[32]; /* "micl-avx2": LIB_NAMES[LIB_PEER] once known */

typedef struct {
    const char *config;
    char layer[32];
    int prod;
    int64_t M;          /* rows of the layer's input (the model's M) */
    int K, N;           /* layer in -> out features */
    int64_t gm, gn, gk; /* the GEMM C[gm x gn] = A[gm x gk] B[gk x gn] of this product */
    double gflops[N_LIBS][MAX_THREADS]; /* NaN: library absent */
    double rel_diff[N_LIBS];
} shape_t;

typedef struct {
    const char *out, *lib_path[N_LIBS];
    const char *coretype; /* --openblas-coretype: auto, default or a core name */
    const char *configs[MAX_CONFIGS];
    int n_configs, threads[MAX_THREADS], n_threads;
    double min_s;
} opts_t;

typedef struct {
    blas_t *blas[N_LIBS];       /* [0] and [LIB_PEER] unused: micl */
    const kern_backend_t *peer; /* the next-best vector build, or NULL */
    char note[N_LIBS][512];
    float *a, *w, *out, *ref, *scratch;
} libs_t;

const cli_command_t CLI_BENCH_GEMM = {"bench gemm",
                                      "[--config quickstart,large] [--threads 1,2] [--min-ms MS]\n"
                                      "[--openblas PATH] [--openblas-coretype NAME|auto|default]\n"
                                      "[--blis PATH] [-o BENCH.h5]",
                                      "micl's GEMM against OpenBLAS and BLIS at the model's shapes",
                                      NULL,
                                      NULL,
                                      0,
                                      0};

/* ---- the shapes of a preset -------------------------------------------------------------- */

static void add_layer(shape_t *s, int *n, const char *config, const char *layer, int64_t M, int K,
                      int N, int with_dinp) {
    for (int p = PROD_FWD; p <= PROD_DW; p++) {
        if (p == PROD_DINP && !with_dinp) continue;
        if (*n == MAX_SHAPES) micl_fatal("bench gemm: too many shapes");
        shape_t *x = &s[(*n)++];
        memset(x, 0, sizeof *x);
        x->config = config;
        snprintf(x->layer, sizeof x->layer, "%s", layer);
        x->prod = p;
        x->M = M, x->K = K, x->N = N;
        if (p == PROD_FWD) x->gm = M, x->gn = N, x->gk = K;
        if (p == PROD_DINP) x->gm = M, x->gn = K, x->gk = N;
        if (p == PROD_DW) x->gm = N, x->gn = K, x->gk = M;
    }
}

/* The linear layers of one micro-batch of the preset, as model/vlm_pass.c runs them. */
static void preset_shapes(const bench_preset_t *p, shape_t *s, int *n) {
    const vlm_config_t *c = &p->cfg;
    int64_t imgs = (int64_t)p->seqs * p->pairs, tokens = (int64_t)p->seqs * (1 + 2 * p->pairs);
    int g = c->image_size / c->patch, npi = g * g, E = c->enc_dim, D = c->dim;
    int64_t rows_e = imgs * npi;
    int pooled = c->pool == VLM_POOL_FLATTEN ? npi * E : E;
    add_layer(s, n, p->name, "enc.patch", rows_e, c->patch * c->patch, E, 0);
    add_layer(s, n, p->name, "enc.qkv", rows_e, E, 3 * E, 1);
    add_layer(s, n, p->name, "enc.proj", rows_e, E, E, 1);
    add_layer(s, n, p->name, "enc.fc1", rows_e, E, c->mlp_ratio * E, 1);
    add_layer(s, n, p->name, "enc.fc2", rows_e, c->mlp_ratio * E, E, 1);
    add_layer(s, n, p->name, "proj.fc1", imgs, pooled, D, 1);
    add_layer(s, n, p->name, "proj.fc2", imgs, D, D, 1);
    add_layer(s, n, p->name, "dec.qkv", tokens, D, 3 * D, 1);
    add_layer(s, n, p->name, "dec.proj", tokens, D, D, 1);
    add_layer(s, n, p->name, "dec.fc1", tokens, D, c->mlp_ratio * D, 1);
    add_layer(s, n, p->name, "dec.fc2", tokens, c->mlp_ratio * D, D, 1);
    add_layer(s, n, p->name, "head", imgs, D, c->vocab, 1); /* target positions only */
}

/* ---- running one product ----------------------------------------------------------------- */

static void run_once(libs_t *L, int lib, const shape_t *s, float *out) {
    int64_t M = s->M;
    int K = s->K, N = s->N;
    if (lib == LIB_PEER) { /* micl's kernels through the peer build's table */
        const kern_backend_t *chosen = kern_backend();
        kern_backend_set(L->peer);
        run_once(L, 0, s, out);
        kern_backend_set(chosen);
        return;
    }
    if (lib == 0) {
        if (s->prod == PROD_FWD) { /* W^T packed on every call, as the passes did before */
            kern_matmul_forward(out, L->a, kern_weight_prepare(L->scratch, L->w, K, N), NULL, M, K,
                                N);
        }
        if (s->prod == PROD_DINP) kern_gemm(M, K, N, L->a, N, 1, L->w, K, out, K, 0);
        if (s->prod == PROD_DW) kern_gemm(N, K, M, L->a, 1, N, L->w, K, out, K, 1);
        return;
    }
    blas_t *b = L->blas[lib];
    if (s->prod == PROD_FWD) blas_linear_forward(b, out, L->a, L->w, M, K, N);
    if (s->prod == PROD_DINP) blas_linear_dinp(b, out, L->a, L->w, M, K, N);
    if (s->prod == PROD_DW) blas_linear_dw(b, out, L->a, L->w, M, K, N);
}

static size_t out_floats(const shape_t *s) {
    return (size_t)s->gm * (size_t)s->gn;
}

/* max |x - ref| / max |ref| of one product from a zeroed output. */
static double check_against_micl(libs_t *L, int lib, const shape_t *s) {
    size_t n = out_floats(s);
    memset(L->ref, 0, n * sizeof(float));
    memset(L->out, 0, n * sizeof(float));
    run_once(L, 0, s, L->ref);
    run_once(L, lib, s, L->out);
    double dmax = 0.0, rmax = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)L->out[i] - (double)L->ref[i]);
        dmax = d > dmax || isnan(d) ? d : dmax;
        rmax = fabs((double)L->ref[i]) > rmax ? fabs((double)L->ref[i]) : rmax;
    }
    return rmax > 0.0 ? dmax / rmax : dmax;
}

/* GFLOP/s: the best of 5 batches, each of enough calls to last min_s. */
static double time_shape(libs_t *L, int lib, const shape_t *s, double min_s) {
    memset(L->out, 0, out_floats(s) * sizeof(float));
    run_once(L, lib, s, L->out); /* warm-up */
    int reps = 1;
    double best = INFINITY;
    for (int batch = 0; batch < 5; batch++) {
        double t0 = clock_now_s();
        for (int r = 0; r < reps; r++)
            run_once(L, lib, s, L->out);
        double dt = (clock_now_s() - t0) / reps;
        best = dt < best ? dt : best;
        if (batch == 0 && dt * reps < min_s) reps = (int)(min_s / (dt > 1e-9 ? dt : 1e-9)) + 1;
    }
    return 2.0 * (double)s->gm * (double)s->gn * (double)s->gk / best * 1e-9;
}

static void set_threads(libs_t *L, int lib, int threads) {
    if (lib == 0 || lib == LIB_PEER)
        omp_set_num_threads(threads);
    else if (!blas_set_threads(L->blas[lib], threads))
        micl_warn("bench gemm: %s has no thread-count call; it runs with its default",
                  LIB_NAMES[lib]);
}

/* Lets a library's spinning worker threads go to sleep before the next library runs. */
static void settle(void) {
    struct timespec ts = {0, 200 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static int measure(libs_t *L, shape_t *s, int n, const opts_t *o) {
    int bad = 0;
    for (int lib = 0; lib < N_LIBS; lib++) {
        int present = lib == 0 || L->blas[lib] || (lib == LIB_PEER && L->peer);
        for (int i = 0; i < n; i++) {
            s[i].rel_diff[lib] = NAN;
            for (int t = 0; t < o->n_threads; t++)
                s[i].gflops[lib][t] = NAN;
        }
        if (!present) continue;
        set_threads(L, lib, 1);
        for (int i = 0; lib > 0 && i < n; i++) {
            s[i].rel_diff[lib] = check_against_micl(L, lib, &s[i]);
            if (lib == LIB_PEER && s[i].rel_diff[lib] != 0.0) {
                micl_warn("bench gemm: micl's %s build and its %s build differ on %s %s (%.2e "
                          "relative): they must give the same bits",
                          kern_backend()->isa, L->peer->isa, s[i].layer, PROD_NAMES[s[i].prod],
                          s[i].rel_diff[lib]);
                bad = 1;
            } else if (!(s[i].rel_diff[lib] <= CHECK_TOL)) {
                micl_warn("bench gemm: %s %s %s differs from micl by %.2e relative (tolerance "
                          "%.0e)",
                          LIB_NAMES[lib], s[i].layer, PROD_NAMES[s[i].prod], s[i].rel_diff[lib],
                          CHECK_TOL);
                bad = 1;
            }
        }
        for (int t = 0; t < o->n_threads; t++) {
            set_threads(L, lib, o->threads[t]);
            for (int i = 0; i < n; i++)
                s[i].gflops[lib][t] = time_shape(L, lib, &s[i], o->min_s);
        }
        set_threads(L, lib, 1);
        settle();
    }
    return bad;
}

/* ---- libraries --------------------------------------------------------------------------- */

/* The peer: the best vector build below the chosen one (avx2 beside avx512; none beside avx2,
 * whose only lower build is the portable one, too slow to time at these shapes). */
static void peer_open(libs_t *L) {
    const char *isa = kern_backend()->isa;
    L->peer = isa && strcmp(isa, "avx512") == 0 ? kern_backend_cpu_isa("avx2") : NULL;
    snprintf(peer_name, sizeof peer_name, "micl-%s", L->peer ? L->peer->isa : "peer");
    LIB_NAMES[LIB_PEER] = peer_name;
    if (L->peer)
        snprintf(L->note[LIB_PEER], sizeof L->note[LIB_PEER],
                 "the same kernels, the %s build (the same bits)", L->peer->isa);
    else
        snprintf(L->note[LIB_PEER], sizeof L->note[LIB_PEER],
                 "skipped: no vector build below the %s one", isa ? isa : "chosen");
}

static void libs_open(libs_t *L, const opts_t *o, const shape_t *s, int n) {
    memset(L, 0, sizeof *L);
    int max_t = 1;
    for (int t = 0; t < o->n_threads; t++)
        max_t = o->threads[t] > max_t ? o->threads[t] : max_t;
    /* OpenBLAS sizes its thread pool when it is loaded; BLIS reads its variable per call */
    char v[16];
    snprintf(v, sizeof v, "%d", max_t);
    if (setenv("OPENBLAS_NUM_THREADS", v, 1) != 0 || setenv("BLIS_NUM_THREADS", "1", 1) != 0)
        micl_fatal("setenv: %s", strerror(errno));
    snprintf(L->note[0], sizeof L->note[0], "kern_matmul_forward / kern_gemm, the %s build",
             kern_backend()->isa);
    peer_open(L);
    for (int lib = 1; lib < LIB_PEER; lib++) {
        L->blas[lib] =
            blas_open(LIB_NAMES[lib], o->lib_path[lib], L->note[lib], sizeof L->note[lib]);
        if (!L->blas[lib]) {
            printf("  note: %s skipped: %s\n", LIB_NAMES[lib], L->note[lib]);
            continue;
        }
        const char *d = blas_detail(L->blas[lib]);
        snprintf(L->note[lib], sizeof L->note[lib], "%s%s%s", o->lib_path[lib], *d ? ", core " : "",
                 d);
    }
    size_t na = 0, nw = 0, nout = 0, nscr = 0;
    for (int i = 0; i < n; i++) {
        size_t a = (size_t)s[i].M * (size_t)(s[i].K > s[i].N ? s[i].K : s[i].N);
        size_t w = (size_t)s[i].N * (size_t)s[i].K + (size_t)s[i].M * (size_t)s[i].K;
        na = a > na ? a : na;
        nw = w > nw ? w : nw;
        nout = out_floats(&s[i]) > nout ? out_floats(&s[i]) : nout;
        size_t sc = kern_weight_bytes(s[i].K, s[i].N) / sizeof(float);
        nscr = sc > nscr ? sc : nscr;
    }
    L->a = micl_alloc_aligned(na * sizeof(float));
    L->w = micl_alloc_aligned(nw * sizeof(float));
    L->out = micl_alloc_aligned(nout * sizeof(float));
    L->ref = micl_alloc_aligned(nout * sizeof(float));
    L->scratch = micl_alloc_aligned(nscr * sizeof(float));
    uint32_t x = 12345u;
    for (size_t i = 0; i < na; i++)
        x = x * 1664525u + 1013904223u, L->a[i] = (float)(x >> 8) * 0x1p-24f - 0.5f;
    for (size_t i = 0; i < nw; i++)
        x = x * 1664525u + 1013904223u, L->w[i] = (float)(x >> 8) * 0x1p-24f - 0.5f;
}

static void libs_close(libs_t *L) {
    for (int lib = 1; lib < LIB_PEER; lib++)
        blas_close(L->blas[lib]);
    free(L->a), free(L->w), free(L->out), free(L->ref), free(L->scratch);
}

/* ---- report ------------------------------------------------------------------------------ */

/* The fastest library at thread index t, and its margin over the runner-up. */
static int winner(const shape_t *s, int t, double *margin) {
    int best = -1, second = -1;
    for (int lib = 0; lib < N_LIBS; lib++) {
        double g = s->gflops[lib][t];
        if (isnan(g)) continue;
        if (best < 0 || g > s->gflops[best][t])
            second = best, best = lib;
        else if (second < 0 || g > s->gflops[second][t])
            second = lib;
    }
    *margin = second >= 0 ? s->gflops[best][t] / s->gflops[second][t] : INFINITY;
    return best;
}

static void print_table(const shape_t *s, int n, const opts_t *o) {
    for (int t = 0; t < o->n_threads; t++) {
        printf("\n  %d thread(s): GFLOP/s per library (C[M x N] = A[M x K] B[K x N])\n",
               o->threads[t]);
        printf("  %-10s %-10s %-5s %6s %6s %6s", "config", "layer", "prod", "M", "N", "K");
        for (int lib = 0; lib < N_LIBS; lib++)
            printf(" %11s", LIB_NAMES[lib]);
        printf("  %s\n", "winner");
        int wins[N_LIBS] = {0};
        for (int i = 0; i < n; i++) {
            const shape_t *x = &s[i];
            double margin;
            int w = winner(x, t, &margin);
            wins[w] += margin >= CLEAR_MARGIN;
            printf("  %-10s %-10s %-5s %6lld %6lld %6lld", x->config, x->layer, PROD_NAMES[x->prod],
                   (long long)x->gm, (long long)x->gn, (long long)x->gk);
            for (int lib = 0; lib < N_LIBS; lib++) {
                if (isnan(x->gflops[lib][t]))
                    printf(" %11s", "-");
                else
                    printf(" %11.1f", x->gflops[lib][t]);
            }
            printf("  %s (x%.2f)%s\n", LIB_NAMES[w], margin, margin >= CLEAR_MARGIN ? "" : " ~");
        }
        printf("  clear wins (>= %.0f%% over the runner-up):", 100.0 * (CLEAR_MARGIN - 1.0));
        for (int lib = 0; lib < N_LIBS; lib++)
            printf(" %s %d%s", LIB_NAMES[lib], wins[lib], lib + 1 < N_LIBS ? "," : "");
        printf(" of %d\n", n);
    }
}

static void write_h5(const shape_t *s, int n, const opts_t *o, const libs_t *L,
                     const openblas_probe_t *probe) {
    atomic_file_t af;
    hid_t f = bench_out_begin(o->out, "gemm", &af);
    openblas_probe_write(f, "openblas_", probe);
    char cfgs[256] = "";
    for (int i = 0; i < o->n_configs; i++)
        snprintf(cfgs + strlen(cfgs), sizeof cfgs - strlen(cfgs), "%s%s", i ? "," : "",
                 o->configs[i]);
    h5_attr_str(f, "config", cfgs);
    h5_attr_double(f, "min_ms", 1e3 * o->min_s);
    int64_t thr[MAX_THREADS];
    for (int t = 0; t < o->n_threads; t++)
        thr[t] = o->threads[t];
    h5_write_i64(f, "threads", thr, o->n_threads);
    char *libs[N_LIBS], *notes[N_LIBS];
    for (int lib = 0; lib < N_LIBS; lib++)
        libs[lib] = (char *)LIB_NAMES[lib], notes[lib] = (char *)L->note[lib];
    h5_write_strings(f, "libraries", libs, N_LIBS);
    h5_write_strings(f, "library_notes", notes, N_LIBS);
    int64_t *iv = micl_malloc((size_t)n * sizeof(int64_t));
    double *dv = micl_malloc((size_t)n * sizeof(double));
    char **sv = micl_malloc((size_t)n * sizeof(char *));
    for (int i = 0; i < n; i++)
        sv[i] = (char *)s[i].config;
    h5_write_strings(f, "shape_config", sv, n);
    for (int i = 0; i < n; i++)
        sv[i] = (char *)s[i].layer;
    h5_write_strings(f, "shape_layer", sv, n);
    for (int i = 0; i < n; i++)
        sv[i] = (char *)PROD_NAMES[s[i].prod];
    h5_write_strings(f, "shape_product", sv, n);
    const char *dims[3] = {"M", "N", "K"};
    for (int d = 0; d < 3; d++) {
        for (int i = 0; i < n; i++)
            iv[i] = d == 0 ? s[i].gm : d == 1 ? s[i].gn : s[i].gk;
        h5_write_i64(f, dims[d], iv, n);
    }
    for (int lib = 0; lib < N_LIBS; lib++) {
        char name[64];
        for (int t = 0; t < o->n_threads; t++) {
            snprintf(name, sizeof name, "gflops_%s_t%d", LIB_NAMES[lib], o->threads[t]);
            for (int i = 0; i < n; i++)
                dv[i] = s[i].gflops[lib][t];
            h5_write_f64(f, name, dv, n);
        }
        if (lib == 0) continue;
        snprintf(name, sizeof name, "rel_diff_%s", LIB_NAMES[lib]);
        for (int i = 0; i < n; i++)
            dv[i] = s[i].rel_diff[lib];
        h5_write_f64(f, name, dv, n);
    }
    for (int t = 0; t < o->n_threads; t++) {
        char name[64];
        snprintf(name, sizeof name, "winner_t%d", o->threads[t]);
        for (int i = 0; i < n; i++) {
            double margin;
            sv[i] = (char *)LIB_NAMES[winner(&s[i], t, &margin)];
        }
        h5_write_strings(f, name, sv, n);
    }
    free(iv), free(dv), free(sv);
    bench_out_finish(f, &af);
}

/* ---- entry ------------------------------------------------------------------------------- */

/* Returns MICL_EXIT_OK to go on, else the exit code to return (usage error or --help). */
static int parse(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof *o);
    o->configs[0] = "quickstart", o->configs[1] = "large", o->n_configs = 2;
    o->threads[0] = 1, o->threads[1] = 2, o->n_threads = 2;
    o->lib_path[1] = OPENBLAS_PATH, o->lib_path[2] = BLIS_PATH;
    o->min_s = 0.02;
    o->coretype = "auto";
    const char *configs = NULL;
    int min_ms = -1, rc;
    const cli_opt_t opts[] = {
        CLI_OPT_STRING("--config", &configs),
        CLI_OPT_LIST("--threads", o->threads, 1, 256, &o->n_threads, MAX_THREADS, 0),
        CLI_OPT_INT("--min-ms", &min_ms, 0, 60000),
        CLI_OPT_STRING("--openblas", &o->lib_path[1]),
        CLI_OPT_STRING("--openblas-coretype", &o->coretype),
        CLI_OPT_STRING("--blis", &o->lib_path[2]),
        CLI_OPT_STRING("-o", &o->out),
        CLI_OPT_END};
    if (!cli_parse(&CLI_BENCH_GEMM, opts, argc - 1, argv + 1, NULL, NULL, &rc))
        return rc == MICL_EXIT_OK ? -1 : rc;
    if (min_ms >= 0) o->min_s = 1e-3 * min_ms;
    if (!*o->coretype || strlen(o->coretype) >= sizeof(((openblas_probe_t *)0)->request))
        return cli_usage_error(&CLI_BENCH_GEMM, "bad --openblas-coretype '%s'", o->coretype);
    if (configs) {
        static char cfg_buf[256];
        snprintf(cfg_buf, sizeof cfg_buf, "%s", configs);
        o->n_configs = 0;
        for (char *sv = NULL, *tok = strtok_r(cfg_buf, ",", &sv); tok;
             tok = strtok_r(NULL, ",", &sv)) {
            if (!bench_preset_find(tok))
                return cli_usage_error(&CLI_BENCH_GEMM, "unknown --config '%s' (%s)", tok,
                                       bench_preset_names());
            if (o->n_configs == MAX_CONFIGS)
                return cli_usage_error(&CLI_BENCH_GEMM, "too many configs in '%s'", configs);
            o->configs[o->n_configs++] = bench_preset_find(tok)->name;
        }
        if (o->n_configs == 0)
            return cli_usage_error(&CLI_BENCH_GEMM, "empty --config '%s'", configs);
    }
    return MICL_EXIT_OK;
}

int bench_gemm_main(int argc, char **argv) {
    opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != MICL_EXIT_OK) return rc < 0 ? MICL_EXIT_OK : rc;
    if (micl_rank() != 0) return MICL_EXIT_OK;
    static shape_t shapes[MAX_SHAPES];
    int n = 0;
    for (int c = 0; c < o.n_configs; c++)
        preset_shapes(bench_preset_find(o.configs[c]), shapes, &n);
    printf("micl bench gemm: %d products of %d config(s), threads", n, o.n_configs);
    for (int t = 0; t < o.n_threads; t++)
        printf(" %d", o.threads[t]);
    printf(", best of 5 batches of >= %.0f ms\n", 1e3 * o.min_s);
    /* OpenBLAS at its best: the probe's core type, set before the library is loaded */
    openblas_probe_t probe;
    char err[512];
    if (openblas_probe_run(o.lib_path[1], o.coretype, &probe, err, sizeof err) != 0) {
        if (strcmp(probe.request, "auto") != 0)
            micl_fatal("bench gemm: --openblas-coretype %s: %s", probe.request, err);
        snprintf(probe.reason, sizeof probe.reason, "probe failed: %.170s", err);
    }
    openblas_probe_print(&probe, "  ");
    openblas_probe_apply(&probe);
    libs_t L;
    libs_open(&L, &o, shapes, n);
    for (int lib = 0; lib < N_LIBS; lib++)
        printf("  %-9s %s\n", LIB_NAMES[lib], L.note[lib]);
    int saved = omp_get_max_threads();
    int bad = measure(&L, shapes, n, &o);
    omp_set_num_threads(saved);
    print_table(shapes, n, &o);
    if (o.out) write_h5(shapes, n, &o, &L, &probe);
    libs_close(&L);
    return bad ? MICL_EXIT_ERROR : MICL_EXIT_OK;
}
