/* bench_step.c - `micl bench step|vs-torch` (see bench_step.h and bench/README.md).
 *
 * A benchmark builds one model preset and one fixed synthetic training step (micro-batches of
 * sequences <bos> then `pairs` x (<img> name), targets at the image positions), runs warm-up
 * plus timed steps exactly as the trainer does (vlm_zero_grads, vlm_forward + vlm_backward per
 * micro-batch, kern_adamw_update over the arena; constant learning rate, no clipping) and reports
 * the figures on stdout and, with -o, in an HDF5 file (kind "micl-bench", written via a
 * temporary file and rename). `vs-torch` dumps the config, the initial parameters and the batch
 * to a temporary HDF5 file, runs tests/reference/bench_torch.py on it and reads its timings back,
 * with the OPENBLAS_CORETYPE its probe chose (openblas_probe.h). `--neighbour N` times both
 * beside N busy processes (neighbours.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_step.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "comm/comm.h"
#include "common/h5util.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "kernels/profile.h"
#include "model/vlm.h"
#include "worker/device.h"
#include "workload.h"
#include "bench_out.h"
#include "common/cli_args.h"
#include "bench_preset.h"
#include "common/wait_policy.h"
#include "neighbours.h"
#include "openblas_probe.h"

#ifndef MICL_SOURCE_DIR
#error "MICL_SOURCE_DIR must name the micl source tree (set by CMakeLists.txt)"
#endif

extern char **environ;

#define BENCH_GEMM_N 1024
#define BENCH_GEMM_REPS 3
#define BENCH_LOSS_TOL 1e-4
#define BENCH_TORCH_SCRIPT "tests/reference/bench_torch.py"

typedef bench_workload_t work_t;

typedef bench_preset_t preset_t;

typedef struct {
    const char *bench, *out;
    const preset_t *p;
    int steps, warmup, threads;
    int adapt;                  /* --adapt-threads: 1 on (the default, as in training), 0 off */
    int device;                 /* index into DEVICES */
    int neighbours;             /* busy processes beside the measurement (neighbours.h) */
    const char *torch_coretype; /* --torch-coretype: auto, default or a core name */
    int profile;                /* --profile: the timed steps' time per kernel (step only) */
} opts_t;

static const char *const DEVICES[] = {"cpu", "cuda", NULL};
static const char *const ON_OFF[] = {"off", "on", NULL};

typedef struct {
    double mean, best, worst, std; /* seconds */
} stats_t;

/* ---- helpers ----------------------------------------------------------------------------- */

const cli_command_t CLI_BENCH_STEP = {
    "bench step",
    "[--config quickstart|large|tiny] [--steps N] [--warmup W] [--threads T]\n"
    "[--adapt-threads on|off] [--device cpu|cuda] [--neighbour N] [--profile]\n"
    "[-o BENCH.h5]",
    "training-step figures (bench/README.md)",
    NULL,
    NULL,
    0,
    0};
const cli_command_t CLI_BENCH_VS_TORCH = {
    "bench vs-torch",
    "[--config quickstart|large|tiny] [--steps N] [--warmup W] [--threads T]\n"
    "[--adapt-threads on|off] [--device cpu|cuda] [--neighbour N]\n"
    "[--torch-coretype NAME|auto|default]\n"
    "[-o BENCH.h5]",
    "the same step beside PyTorch's (bench/README.md)",
    NULL,
    NULL,
    0,
    0};

static long max_rss_kib(int who) {
    struct rusage ru;
    if (getrusage(who, &ru) != 0) micl_fatal("getrusage: %s", strerror(errno));
    return ru.ru_maxrss; /* KiB on Linux */
}

static stats_t step_stats(const double *s, int n) {
    stats_t st = {0, INFINITY, 0, 0};
    for (int i = 0; i < n; i++) {
        st.mean += s[i] / n;
        st.best = s[i] < st.best ? s[i] : st.best;
        st.worst = s[i] > st.worst ? s[i] : st.worst;
    }
    for (int i = 0; i < n; i++)
        st.std += (s[i] - st.mean) * (s[i] - st.mean);
    st.std = n > 1 ? sqrt(st.std / (n - 1)) : 0.0;
    return st;
}

/* ---- activation memory ------------------------------------------------------------------- */

/* Floats of one transformer tower's activations (bench/README.md): L+1 residual streams of
 * R x W, and per layer ln1, att, res_mid, ln2 (W each), qkv (3W), gelu and gelu' (h each), four
 * LayerNorm statistics per row, and P attention probabilities. */
static double tower_floats(double R, double W, double h, double L, double P) {
    return (L + 1) * R * W + L * (R * (7 * W + 2 * h + 4) + P);
}

/* The documented activation-arena formula for a preset (floats; 16-float alignment of each
 * buffer ignored): encoder tower, decoder tower, heads and losses, the GEMM packing scratch,
 * the backward buffers and the RoPE tables. */
static double activation_floats(const work_t *w) {
    const vlm_config_t *c = &w->p->cfg;
    double I = w->imgs_per_mb, N = w->tokens_per_mb, g = c->image_size / c->patch, np = g * g;
    double E = c->enc_dim, D = c->dim, V = c->vocab, he = c->mlp_ratio * E, hd = c->mlp_ratio * D;
    double NP = I * np, px = (double)c->patch * c->patch, S = c->max_seq;
    double enc = tower_floats(NP, E, he, c->enc_layers, I * c->enc_heads * np * np);
    double dec = tower_floats(N, D, hd, c->layers, N * c->heads * S);
    double img = NP * px + NP * (E + 2) + I * E + 3 * I * D;
    double head = N * D + N * (D + 2) + 2 * N * V + N + 3 * N; /* gather, LN, logits, dlogits */
    double rw = fmax(NP * E, N * D);
    double back = 6 * rw + fmax(NP * he, N * hd) + N * D + 2 * I * D + I * E;
    double pooled = c->pool == VLM_POOL_FLATTEN ? np * E : E;
    double pad = 15, scratch = 0; /* the largest kern_matmul_scratch_floats over the matrices */
    double mats[][2] = {{E, px}, {3 * E, E}, {E, E},  {he, E}, {E, he}, {D, pooled},
                        {D, D},  {3 * D, D}, {hd, D}, {D, hd}, {V, D}};
    for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
        scratch = fmax(scratch, floor((mats[i][0] + pad) / 16) * 16 * mats[i][1]);
    double smear = c->smear_keys ? c->layers * N * D : 0; /* the keys before smearing */
    return enc + dec + img + head + back + scratch + S * (D / c->heads) + smear;
}

/* A kernel buffer holding the n floats of host array x: x itself where buffers are host
 * memory, else a device copy. */
static float *to_buffer(float *x, size_t n) {
    if (device_host_memory()) return x;
    float *d = kern_alloc(n * sizeof(float));
    kern_copy_from_host(d, x, n * sizeof(float));
    return d;
}

/* Single-thread GFLOP/s of kern_matmul_forward on an n x n x n product (best of a few). On a
 * device backend the operands are device copies, and each product ends with a 4-byte copy to
 * the host, which waits for it. */
static double gemm_peak_gflops(int n) {
    size_t nn = (size_t)n * (size_t)n;
    int dev = !device_host_memory();
    float *a = micl_alloc_aligned(nn * sizeof(float)), *b = micl_alloc_aligned(nn * sizeof(float));
    float *c = micl_alloc_aligned(nn * sizeof(float));
    void *scratch =
        dev ? kern_alloc(kern_weight_bytes(n, n)) : micl_alloc_aligned(kern_weight_bytes(n, n));
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(bench_mix32((uint32_t)i) >> 8) * 0x1p-24f - 0.5f;
        b[i] = (float)(bench_mix32((uint32_t)i + 7u) >> 8) * 0x1p-24f - 0.5f;
    }
    float *da = to_buffer(a, nn), *db = to_buffer(b, nn), *dc = to_buffer(c, nn);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    double best = INFINITY;
    for (int r = 0; r <= BENCH_GEMM_REPS; r++) { /* the first run warms up */
        double t0 = clock_now_s();
        kern_matmul_forward(dc, da, kern_weight_prepare(scratch, db, n, n), NULL, n, n, n);
        if (dev) kern_copy_to_host(c + nn / 2, dc + nn / 2, sizeof(float));
        double dt = clock_now_s() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    omp_set_num_threads(saved);
    if (!isfinite(c[nn / 2])) micl_fatal("bench: GEMM peak: non-finite result");
    if (dev) {
        kern_free(da), kern_free(db), kern_free(dc), kern_free(scratch);
        free(a), free(b), free(c);
    } else {
        free(a), free(b), free(c), free(scratch);
    }
    return 2.0 * (double)n * (double)n * (double)n / best * 1e-9;
}

/* ---- the torch side ---------------------------------------------------------------------- */

static void write_nd(hid_t loc, const char *name, hid_t ftype, hid_t mtype, const void *data,
                     int ndim, const hsize_t *dims) {
    hid_t sp = H5Screate_simple(ndim, dims, NULL);
    if (sp < 0) micl_fatal("HDF5: cannot create the dataspace of '%s'", name);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0) micl_fatal("HDF5: cannot create dataset '%s'", name);
    if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        micl_fatal("HDF5: cannot write dataset '%s'", name);
    if (H5Dclose(d) < 0 || H5Sclose(sp) < 0) micl_fatal("HDF5: cannot close dataset '%s'", name);
}

/* The model config, optimizer, batch and the CURRENT parameters (call before training). */
static void dump_torch_input(const char *path, work_t *w) {
    const preset_t *p = w->p;
    const vlm_config_t *c = &p->cfg;
    hid_t f = h5_create(path);
    h5_attr_str(f, "kind", "micl-bench-input");
    h5_attr_int(f, "schema_version", BENCH_TORCH_SCHEMA_VERSION);
    h5_attr_int(f, "image_size", c->image_size);
    h5_attr_int(f, "patch", c->patch);
    h5_attr_int(f, "enc_dim", c->enc_dim);
    h5_attr_int(f, "enc_layers", c->enc_layers);
    h5_attr_int(f, "enc_heads", c->enc_heads);
    h5_attr_int(f, "dim", c->dim);
    h5_attr_int(f, "layers", c->layers);
    h5_attr_int(f, "heads", c->heads);
    h5_attr_int(f, "mlp_ratio", c->mlp_ratio);
    h5_attr_int(f, "vocab", c->vocab);
    h5_attr_int(f, "max_seq", c->max_seq);
    h5_attr_int(f, "pool", c->pool);
    h5_attr_int(f, "image_token", BENCH_IMAGE_TOKEN);
    h5_attr_int(f, "micro_batches", p->micro_batches);
    h5_attr_int(f, "seqs", p->seqs);
    h5_attr_int(f, "T", w->T);
    h5_attr_int(f, "images_per_micro_batch", w->imgs_per_mb);
    h5_attr_int(f, "targets_per_step", w->targets_per_step);
    h5_attr_double(f, "lr", BENCH_LR);
    h5_attr_double(f, "beta1", BENCH_BETA1);
    h5_attr_double(f, "beta2", BENCH_BETA2);
    h5_attr_double(f, "eps", BENCH_EPS);
    h5_attr_double(f, "weight_decay", BENCH_WEIGHT_DECAY);
    int64_t n_tok = (int64_t)p->micro_batches * w->tokens_per_mb;
    h5_write_i32(f, "tokens", w->tokens, n_tok);
    h5_write_i32(f, "targets", w->targets, n_tok);
    hsize_t pd[4] = {(hsize_t)p->micro_batches, (hsize_t)w->imgs_per_mb, (hsize_t)c->image_size,
                     (hsize_t)c->image_size};
    write_nd(f, "pixels", H5T_STD_U8LE, H5T_NATIVE_UINT8, w->pixels, 4, pd);
    hid_t g = h5_group(f, "params");
    int nt = vlm_num_tensors(w->m);
    char **names = micl_calloc((size_t)nt, sizeof(char *));
    int32_t *decay = micl_calloc((size_t)nt, sizeof(int32_t));
    const float *params = vlm_params(w->m);
    float *host = NULL; /* the parameters staged to the host on a device backend */
    if (!device_host_memory()) {
        size_t np = vlm_num_params(w->m);
        host = micl_malloc(np * sizeof(float) + 1);
        kern_copy_to_host(host, params, np * sizeof(float));
        params = host;
    }
    for (int i = 0; i < nt; i++) {
        const vlm_tensor_t *t = vlm_tensor(w->m, i);
        hsize_t dims[4];
        for (int k = 0; k < t->ndim; k++)
            dims[k] = (hsize_t)t->shape[k];
        write_nd(g, t->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, params + t->offset, t->ndim, dims);
        names[i] = (char *)t->name;
        decay[i] = t->decay;
    }
    h5_close_group(g);
    h5_write_strings(f, "param_names", names, nt);
    h5_write_i32(f, "param_decay", decay, nt);
    free(names), free(decay), free(host);
    h5_close_file(f, path);
}

/* An empty temporary file named after `what`, registered as pending. */
static char *temp_file(const char *what) {
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t len = strlen(dir) + strlen(what) + 32;
    char *path = micl_malloc(len);
    snprintf(path, len, "%s/micl-bench-%s-XXXXXX", dir, what);
    int fd = mkstemp(path);
    if (fd < 0) micl_fatal("cannot create a temporary file in '%s': %s", dir, strerror(errno));
    micl_pending_add(path);
    if (close(fd) != 0) micl_fatal("close '%s': %s", path, strerror(errno));
    return path;
}

static void temp_remove(char *path) {
    if (unlink(path) != 0 && errno != ENOENT)
        micl_warn("cannot remove '%s': %s", path, strerror(errno));
    micl_pending_remove(path);
    free(path);
}

static const char *python_path(void) {
    const char *py = getenv("MICL_PYTHON");
    return py && *py ? py : "/usr/bin/python3";
}

/* PyTorch's environment: this one, with OPENBLAS_CORETYPE as the probe chose, and without
 * micl's own default GOMP_SPINCOUNT (common/wait_policy.h; bench_torch.py sets torch's waiting
 * policy itself). A user's setting of either stays. Free the array, not its strings. */
static char **torch_env(const openblas_probe_t *probe, char *coretype_var, size_t len) {
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = micl_calloc(n + 2, sizeof(char *));
    int drop_spin = wait_policy_is_micl_default();
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = environ[i];
        if (strncmp(v, "OPENBLAS_CORETYPE=", 18) == 0) continue;
        if (drop_spin && (strncmp(v, "GOMP_SPINCOUNT=", 15) == 0 ||
                          strncmp(v, WAIT_POLICY_MARKER "=", strlen(WAIT_POLICY_MARKER) + 1) == 0))
            continue;
        env[k++] = environ[i];
    }
    const char *c = openblas_probe_choice(probe);
    if (strcmp(c, OPENBLAS_PROBE_DEFAULT) != 0) {
        snprintf(coretype_var, len, "OPENBLAS_CORETYPE=%s", c);
        env[k++] = coretype_var;
    }
    return env;
}

static void run_torch(const char *input, const char *output, const opts_t *o,
                      const openblas_probe_t *probe) {
    const char *py = python_path();
    char script[4096], a_thr[16], a_steps[16], a_warm[16];
    snprintf(script, sizeof script, "%s/%s", MICL_SOURCE_DIR, BENCH_TORCH_SCRIPT);
    if (access(script, R_OK) != 0)
        micl_fatal("cannot read the torch driver '%s': %s", script, strerror(errno));
    snprintf(a_thr, sizeof a_thr, "%d", o->threads);
    snprintf(a_steps, sizeof a_steps, "%d", o->steps);
    snprintf(a_warm, sizeof a_warm, "%d", o->warmup);
    char *argv[] = {(char *)py, script,  (char *)input, (char *)output, "--threads", a_thr,
                    "--steps",  a_steps, "--warmup",    a_warm,         NULL};
    fflush(stdout);
    fflush(stderr);
    char coretype_var[64];
    char **env = torch_env(probe, coretype_var, sizeof coretype_var);
    pid_t pid;
    int rc = posix_spawnp(&pid, py, NULL, NULL, argv, env);
    free(env);
    if (rc != 0) micl_fatal("cannot start the python '%s' (MICL_PYTHON): %s", py, strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) micl_fatal("waitpid: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    if (WIFEXITED(status))
        micl_fatal("%s %s exited with status %d (its messages are above)", py, script,
                   WEXITSTATUS(status));
    micl_fatal("%s %s was killed by signal %d", py, script,
               WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

typedef struct {
    double *step_s, *loss;
    char *version;
    char *corename, *wait_policy; /* torch's OpenBLAS core and OMP_WAIT_POLICY ("" if unknown) */
    long max_rss_kib;
    int threads;
} torch_result_t;

static void read_torch_output(const char *path, const opts_t *o, torch_result_t *r) {
    hid_t f = h5_open_ro(path);
    h5_check_kind(f, path, "micl-bench-torch", "torch bench output", BENCH_TORCH_SCHEMA_VERSION);
    r->step_s = h5_read_f64(f, "step_s", o->steps, NULL);
    r->loss = h5_read_f64(f, "loss", o->steps + o->warmup, NULL);
    r->version = h5_read_attr_str(f, "torch_version");
    r->max_rss_kib = (long)h5_read_attr_int(f, "max_rss_kib");
    r->threads = (int)h5_read_attr_int(f, "threads");
    r->corename = h5_has_attr(f, "openblas_corename") ? h5_read_attr_str(f, "openblas_corename")
                                                      : micl_strdup("");
    r->wait_policy = h5_has_attr(f, "omp_wait_policy") ? h5_read_attr_str(f, "omp_wait_policy")
                                                       : micl_strdup("");
    h5_close_file(f, path);
    if (r->threads != o->threads)
        micl_fatal("%s: torch ran with %d threads, expected %d", path, r->threads, o->threads);
}

/* ---- report ------------------------------------------------------------------------------ */

typedef struct {
    stats_t st;
    double flops, tok_s, img_s, gflops;
} figures_t;

static figures_t figures(const work_t *w, const double *timed, int steps) {
    const preset_t *p = w->p;
    figures_t f;
    f.st = step_stats(timed, steps);
    int64_t n_tok = (int64_t)p->micro_batches * w->tokens_per_mb;
    f.flops =
        vlm_flops_per_step_targets(&p->cfg, n_tok, w->targets_per_step, w->T, w->targets_per_step);
    f.tok_s = (double)n_tok / f.st.mean;
    f.img_s = (double)w->targets_per_step / f.st.mean;
    f.gflops = f.flops / f.st.mean * 1e-9;
    return f;
}

/* "20 x 1 thread" or "3 x 2, 17 x 1 threads": the teams the timed steps ran on (rank 0). */
static void team_used(const opts_t *o, const work_t *w, char *buf, int len) {
    const team_t *t = &w->step.team;
    int o_ = 0;
    buf[0] = 0;
    for (int k = 0; k < t->n_sizes && o_ >= 0 && o_ < len; k++) {
        int n = 0;
        for (int i = o->warmup; i < w->n_total; i++)
            n += w->threads[i] == t->size[k];
        if (n > 0)
            o_ +=
                snprintf(buf + o_, (size_t)(len - o_), "%s%d x %d", o_ ? ", " : "", n, t->size[k]);
    }
    if (o_ >= 0 && o_ < len) snprintf(buf + o_, (size_t)(len - o_), " thread(s)");
}

static void print_header(const opts_t *o, const work_t *w) {
    const preset_t *p = w->p;
    printf("micl bench %s: preset %s, %zu parameters, %d rank(s) x %d thread(s), %d warm-up + %d "
           "timed steps\n",
           o->bench, p->name, vlm_num_params(w->m), w->c.size, o->threads, o->warmup, o->steps);
    printf("  step                %d micro-batches x %d sequences x %d tokens: %d tokens, %lld "
           "images, %lld targets\n",
           p->micro_batches, p->seqs, w->T, p->micro_batches * w->tokens_per_mb,
           (long long)w->targets_per_step, (long long)w->targets_per_step);
    printf("  OpenMP waiting      %s\n", wait_policy_describe());
    printf("  neighbours          %d busy process(es) beside the timed steps\n", o->neighbours);
    char team[160], used[160];
    team_describe(&w->step.team, team, sizeof team);
    team_used(o, w, used, sizeof used);
    printf("  thread team         %s; timed steps at %s\n", team, used);
}

/* Mean ms of rank 0's compute, reduction and optimizer over the timed steps. */
static void step_split(const work_t *w, const opts_t *o, double split[3]) {
    split[0] = split[1] = split[2] = 0.0;
    for (int i = o->warmup; i < w->n_total; i++) {
        split[0] += 1e3 * w->compute_s[i] / o->steps;
        split[1] += 1e3 * w->reduce_s[i] / o->steps;
        split[2] += 1e3 * w->optim_s[i] / o->steps;
    }
}

static void write_common(hid_t f, const opts_t *o, const work_t *w, const figures_t *fg,
                         long rss_kib) {
    h5_attr_str(f, "config", o->p->name);
    h5_attr_int(f, "threads", o->threads);
    h5_attr_int(f, "ranks", w->c.size);
    h5_attr_int(f, "steps", o->steps);
    h5_attr_int(f, "warmup", o->warmup);
    h5_attr_str(f, "omp_wait_policy", wait_policy_describe());
    h5_attr_int(f, "neighbours", o->neighbours);
    char team[160];
    team_describe(&w->step.team, team, sizeof team);
    h5_attr_str(f, "thread_team", team);
    h5_attr_int(f, "n_params", (int64_t)vlm_num_params(w->m));
    h5_attr_int(f, "tokens_per_step", (int64_t)o->p->micro_batches * w->tokens_per_mb);
    h5_attr_int(f, "images_per_step", w->targets_per_step);
    h5_attr_int(f, "targets_per_step", w->targets_per_step);
    h5_attr_double(f, "flops_per_step", fg->flops);
    h5_attr_double(f, "ms_mean", 1e3 * fg->st.mean);
    h5_attr_double(f, "ms_best", 1e3 * fg->st.best);
    h5_attr_double(f, "ms_worst", 1e3 * fg->st.worst);
    h5_attr_double(f, "ms_std", 1e3 * fg->st.std);
    h5_attr_double(f, "tokens_per_s", fg->tok_s);
    h5_attr_double(f, "images_per_s", fg->img_s);
    h5_attr_double(f, "gflops", fg->gflops);
    h5_attr_int(f, "max_rss_kib", rss_kib);
    h5_attr_int(f, "params_arena_bytes", (int64_t)(4 * vlm_num_params(w->m) * sizeof(float)));
    h5_attr_int(f, "packed_weights_bytes", (int64_t)w->packed_bytes);
    h5_attr_int(f, "activations_bytes", (int64_t)w->act_bytes);
    double *ms = micl_malloc((size_t)o->steps * sizeof(double));
    for (int i = 0; i < o->steps; i++)
        ms[i] = 1e3 * w->step_s[o->warmup + i];
    h5_write_f64(f, "step_ms", ms, o->steps);
    int64_t *thr = micl_malloc((size_t)o->steps * sizeof(int64_t));
    for (int i = 0; i < o->steps; i++)
        thr[i] = w->threads[o->warmup + i];
    h5_write_i64(f, "step_threads", thr, o->steps);
    free(thr);
    double split[3];
    step_split(w, o, split);
    h5_attr_double(f, "ms_compute", split[0]);
    h5_attr_double(f, "ms_reduce", split[1]);
    h5_attr_double(f, "ms_optimizer", split[2]);
    h5_write_f64(f, "loss", w->loss, w->n_total);
    free(ms);
}

/* ---- the kernel profile (--profile) ------------------------------------------------------- */

static double profile_total_s(const kern_profile_entry_t *e, int n) {
    double s = 0;
    for (int i = 0; i < n; i++)
        s += e[i].seconds;
    return s;
}

/* Per timed step: each kernel's time, calls and share of the time inside kernels, rank 0. */
static void print_profile(const kern_profile_entry_t *e, int n, int steps, double step_s) {
    double total = profile_total_s(e, n);
    printf("  kernel profile      rank 0, timed steps: %.2f of %.2f ms/step inside kernels "
           "(%.1f%%)\n",
           1e3 * total / steps, 1e3 * step_s, 100.0 * total / steps / step_s);
    printf("    %-28s %10s %10s %7s\n", "kernel", "ms/step", "calls/step", "share");
    for (int i = 0; i < n; i++)
        printf("    %-28s %10.3f %10.1f %6.1f%%\n", e[i].name, 1e3 * e[i].seconds / steps,
               (double)e[i].calls / steps, total > 0 ? 100.0 * e[i].seconds / total : 0.0);
}

/* /profile: kernel (strings), ms_per_step and calls_per_step (float64), most time first. */
static void write_profile(hid_t f, const kern_profile_entry_t *e, int n, int steps) {
    hid_t g = h5_group(f, "profile");
    size_t cap = (size_t)(n > 0 ? n : 1);
    char **names = micl_malloc(sizeof(char *) * cap);
    double *ms = micl_malloc(sizeof(double) * cap), *calls = micl_malloc(sizeof(double) * cap);
    for (int i = 0; i < n; i++) {
        names[i] = (char *)e[i].name;
        ms[i] = 1e3 * e[i].seconds / steps;
        calls[i] = (double)e[i].calls / steps;
    }
    h5_write_strings(g, "kernel", names, n);
    h5_write_f64(g, "ms_per_step", ms, n);
    h5_write_f64(g, "calls_per_step", calls, n);
    h5_attr_double(g, "ms_in_kernels", 1e3 * profile_total_s(e, n) / steps);
    h5_close_group(g);
    free(names);
    free(ms);
    free(calls);
}

static double mib(double bytes) {
    return bytes / (1024.0 * 1024.0);
}

static int bench_step(const opts_t *o, const comm_t *comm) {
    work_t w;
    comm_t c = *comm;
    char err[1024];
    if (comm_device_open(&c, err, sizeof err) != 0) /* the device transport, if any */
        micl_fatal("--device %s: %s", DEVICES[o->device], err);
    bench_workload_init(&w, o->p, o->warmup + o->steps, &c, o->adapt);
    if (o->profile) w.profile_from = o->warmup;
    if (c.rank == 0) bench_neighbours_start(o->neighbours); /* one set beside the whole job */
    bench_workload_run(&w);
    bench_neighbours_stop();             /* the single-core GEMM peak below runs alone */
    long rss = max_rss_kib(RUSAGE_SELF); /* before the GEMM buffers */
    if (c.rank != 0) {
        bench_workload_free(&w);
        comm_device_close(&c);
        return MICL_EXIT_OK;
    }
    double peak = gemm_peak_gflops(BENCH_GEMM_N);
    figures_t fg = figures(&w, w.step_s + o->warmup, o->steps);
    int cores = o->threads * c.size;
    double share1 = fg.gflops / peak, shareT = fg.gflops / (peak * cores);
    print_header(o, &w);
    printf("  ms/step             mean %.2f  best %.2f  worst %.2f  stddev %.2f (%.1f%%)\n",
           1e3 * fg.st.mean, 1e3 * fg.st.best, 1e3 * fg.st.worst, 1e3 * fg.st.std,
           100.0 * fg.st.std / fg.st.mean);
    double split[3];
    step_split(&w, o, split);
    printf("  split (rank 0)      forward + backward %.2f ms, gradient reduction %.2f ms (sums, "
           "messages, waits), AdamW %.2f ms\n",
           split[0], split[1], split[2]);
    printf("  tokens/s            %.0f\n", fg.tok_s);
    printf("  images/s            %.0f\n", fg.img_s);
    printf("  GFLOP/s             %.2f (%.3f GFLOP per step)\n", fg.gflops, fg.flops * 1e-9);
    printf("  GEMM peak           %.2f GFLOP/s (kern_matmul_forward %dx%dx%d, 1 thread, best of "
           "%d)\n",
           peak, BENCH_GEMM_N, BENCH_GEMM_N, BENCH_GEMM_N, BENCH_GEMM_REPS);
    printf("  share of peak       %.1f%% of one core's peak, %.1f%% of %d x that peak (ranks x "
           "threads)\n",
           100.0 * share1, 100.0 * shareT, cores);
    double act_formula = 4.0 * activation_floats(&w);
    printf("  memory              peak RSS %.1f MiB; parameter arena %.2f MiB (params, grads, "
           "AdamW m, v), packed weights %.2f MiB, activation arena %.2f MiB (formula %.2f MiB)\n",
           rss / 1024.0, mib(4.0 * (double)vlm_num_params(w.m) * sizeof(float)),
           mib((double)w.packed_bytes), mib((double)w.act_bytes), mib(act_formula));
    printf("  loss                first step %.6f, last step %.6f\n", w.loss[0],
           w.loss[w.n_total - 1]);
    kern_profile_entry_t prof[KERN_PROFILE_N];
    int n_prof = o->profile ? kern_profile_read(prof, KERN_PROFILE_N) : 0;
    if (o->profile) print_profile(prof, n_prof, o->steps, fg.st.mean);
    if (o->out) {
        atomic_file_t af;
        hid_t f = bench_out_begin(o->out, o->bench, &af);
        write_common(f, o, &w, &fg, rss);
        h5_attr_double(f, "gemm_peak_gflops", peak);
        h5_attr_int(f, "gemm_n", BENCH_GEMM_N);
        h5_attr_double(f, "peak_share_one_core", share1);
        h5_attr_double(f, "peak_share_threads", shareT);
        h5_attr_double(f, "activations_formula_bytes", act_formula);
        if (o->profile) write_profile(f, prof, n_prof, o->steps);
        bench_out_finish(f, &af);
    }
    bench_workload_free(&w);
    comm_device_close(&c);
    return MICL_EXIT_OK;
}

/* The OpenBLAS core type for PyTorch (openblas_probe.h), probed before any neighbour starts. An
 * explicit name that does not run correctly is an error; a failed automatic probe only a
 * warning (PyTorch then runs with OpenBLAS's own choice). */
static void torch_probe(const opts_t *o, openblas_probe_t *probe) {
    char err[512];
    if (openblas_probe_run(OPENBLAS_DEFAULT_PATH, o->torch_coretype, probe, err, sizeof err) == 0)
        return;
    if (strcmp(probe->request, "auto") != 0)
        micl_fatal("bench vs-torch: --torch-coretype %s: %s", probe->request, err);
    micl_warn("bench vs-torch: the OpenBLAS probe failed (%s); PyTorch runs with its default", err);
    snprintf(probe->reason, sizeof probe->reason, "probe failed: %.170s", err);
}

static int bench_vs_torch(const opts_t *o) {
    work_t w;
    comm_t one = {.rank = 0, .size = 1}; /* torch runs one process: so does micl */
    openblas_probe_t probe;
    torch_probe(o, &probe);
    bench_workload_init(&w, o->p, o->warmup + o->steps, &one, o->adapt);
    char *in = temp_file("in"), *res = temp_file("torch");
    dump_torch_input(in, &w);
    bench_neighbours_start(o->neighbours); /* the same neighbours beside both sides */
    bench_workload_run(&w);
    long rss = max_rss_kib(RUSAGE_SELF);
    run_torch(in, res, o, &probe);
    bench_neighbours_stop();
    torch_result_t tr;
    read_torch_output(res, o, &tr);
    temp_remove(in);
    temp_remove(res);

    figures_t fm = figures(&w, w.step_s + o->warmup, o->steps);
    figures_t ft = figures(&w, tr.step_s, o->steps);
    double l0m = w.loss[0], l0t = tr.loss[0];
    double rel = fabs(l0m - l0t) / fmax(fabs(l0t), 1e-30);
    int ok = rel <= BENCH_LOSS_TOL && isfinite(l0t);
    int last = w.n_total - 1;
    double rel_last = fabs(w.loss[last] - tr.loss[last]) / fmax(fabs(tr.loss[last]), 1e-30);
    double ratio = fm.tok_s / ft.tok_s;
    print_header(o, &w);
    printf("  torch               %s, float32, torch.set_num_threads(%d), torch.optim.AdamW, "
           "python %s\n",
           tr.version, tr.threads, python_path());
    printf("  torch OpenBLAS      OPENBLAS_CORETYPE %s: torch's OpenBLAS ran %s; torch's "
           "OMP_WAIT_POLICY %s\n",
           openblas_probe_choice(&probe), *tr.corename ? tr.corename : "(unknown)",
           *tr.wait_policy ? tr.wait_policy : "(unset)");
    openblas_probe_print(&probe, "    ");
    printf("  loss check (step 1) micl %.6f  torch %.6f  rel diff %.2e  %s (tolerance %.0e)\n", l0m,
           l0t, rel, ok ? "ok" : "MISMATCH", BENCH_LOSS_TOL);
    printf("  %-19s %12s %12s %12s\n", "", "micl", "torch", "speed ratio");
    printf("  %-19s %12.2f %12.2f %12.2f\n", "ms/step mean", 1e3 * fm.st.mean, 1e3 * ft.st.mean,
           ft.st.mean / fm.st.mean);
    printf("  %-19s %12.2f %12.2f %12.2f\n", "ms/step best", 1e3 * fm.st.best, 1e3 * ft.st.best,
           ft.st.best / fm.st.best);
    printf("  %-19s %12.2f %12.2f\n", "ms/step stddev", 1e3 * fm.st.std, 1e3 * ft.st.std);
    printf("  %-19s %12.0f %12.0f %12.2f\n", "tokens/s", fm.tok_s, ft.tok_s, ratio);
    printf("  %-19s %12.0f %12.0f %12.2f\n", "images/s", fm.img_s, ft.img_s, ratio);
    printf("  %-19s %12.2f %12.2f %12.2f\n", "GFLOP/s", fm.gflops, ft.gflops, ratio);
    printf("  %-19s %12.1f %12.1f\n", "peak RSS MiB", rss / 1024.0, tr.max_rss_kib / 1024.0);
    printf("  %-19s %12.6f %12.6f   (rel diff %.1e, informational)\n", "loss, last step",
           w.loss[last], tr.loss[last], rel_last);
    printf("  ratio               micl tokens/s / torch tokens/s = %.2f\n", ratio);
    if (o->out) {
        atomic_file_t af;
        hid_t f = bench_out_begin(o->out, o->bench, &af);
        write_common(f, o, &w, &fm, rss);
        h5_attr_str(f, "torch_version", tr.version);
        h5_attr_str(f, "python", python_path());
        openblas_probe_write(f, "torch_openblas_", &probe);
        h5_attr_str(f, "torch_openblas_corename", tr.corename);
        h5_attr_str(f, "torch_omp_wait_policy", tr.wait_policy);
        h5_attr_double(f, "torch_ms_mean", 1e3 * ft.st.mean);
        h5_attr_double(f, "torch_ms_best", 1e3 * ft.st.best);
        h5_attr_double(f, "torch_ms_worst", 1e3 * ft.st.worst);
        h5_attr_double(f, "torch_ms_std", 1e3 * ft.st.std);
        h5_attr_double(f, "torch_tokens_per_s", ft.tok_s);
        h5_attr_double(f, "torch_images_per_s", ft.img_s);
        h5_attr_double(f, "torch_gflops", ft.gflops);
        h5_attr_int(f, "torch_max_rss_kib", tr.max_rss_kib);
        h5_attr_double(f, "ratio_tokens_per_s", ratio);
        h5_attr_double(f, "loss_first_micl", l0m);
        h5_attr_double(f, "loss_first_torch", l0t);
        h5_attr_double(f, "loss_rel_diff", rel);
        h5_attr_double(f, "loss_tolerance", BENCH_LOSS_TOL);
        h5_attr_int(f, "loss_check_ok", ok);
        double *ms = micl_malloc((size_t)o->steps * sizeof(double));
        for (int i = 0; i < o->steps; i++)
            ms[i] = 1e3 * tr.step_s[i];
        h5_write_f64(f, "torch_step_ms", ms, o->steps);
        h5_write_f64(f, "torch_loss", tr.loss, w.n_total);
        free(ms);
        bench_out_finish(f, &af);
    }
    free(tr.step_s), free(tr.loss), free(tr.version), free(tr.corename), free(tr.wait_policy);
    bench_workload_free(&w);
    if (!ok) {
        micl_warn("bench vs-torch: the first-step losses differ by %.2e relative (tolerance "
                  "%.0e): the two runs do not compute the same model",
                  rel, BENCH_LOSS_TOL);
        return MICL_EXIT_ERROR;
    }
    return MICL_EXIT_OK;
}

/* ---- entry ------------------------------------------------------------------------------- */

/* 3 steps, or an adaptive team's initial probe if longer: the timed steps are its steady state
 * (the probe's cost over a long run is bounded in worker/team.h). */
static int default_warmup(const opts_t *o) {
    team_t t;
    team_init(&t, o->threads, o->adapt);
    int probe = team_probe_steps(&t);
    return probe > 3 ? probe : 3;
}

int bench_step_main(int argc, char **argv, const comm_t *comm) {
    opts_t o = {argv[0], NULL, bench_preset_at(0), 20, -1, omp_get_max_threads(), 1, 0, 0, NULL, 0};
    const cli_command_t *cmd = strcmp(o.bench, "step") == 0 ? &CLI_BENCH_STEP : &CLI_BENCH_VS_TORCH;
    const char *config = NULL;
    int rc;
    const cli_opt_t opts[] = {CLI_OPT_STRING("--config", &config),
                              CLI_OPT_INT("--steps", &o.steps, 1, 100000),
                              CLI_OPT_INT("--warmup", &o.warmup, 0, 10000),
                              CLI_OPT_INT("--threads", &o.threads, 1, 1024),
                              CLI_OPT_CHOICE("--adapt-threads", &o.adapt, ON_OFF),
                              CLI_OPT_CHOICE("--device", &o.device, DEVICES),
                              CLI_OPT_INT("--neighbour", &o.neighbours, 0, BENCH_NEIGHBOURS_MAX),
                              CLI_OPT_STRING("--torch-coretype", &o.torch_coretype),
                              CLI_OPT_FLAG("--profile", &o.profile),
                              CLI_OPT_STRING("-o", &o.out),
                              CLI_OPT_END};
    if (!cli_parse(cmd, opts, argc - 1, argv + 1, NULL, NULL, &rc)) return rc;
    if (o.torch_coretype && cmd != &CLI_BENCH_VS_TORCH)
        return cli_usage_error(cmd, "--torch-coretype is an option of bench vs-torch");
    if (o.profile && cmd != &CLI_BENCH_STEP)
        return cli_usage_error(cmd, "--profile is an option of bench step");
    if (o.profile && strcmp(DEVICES[o.device], "cpu") != 0)
        return cli_usage_error(cmd,
                               "--profile times kernel calls on the host, and --device %s "
                               "returns from them before their work is done",
                               DEVICES[o.device]);
    if (!o.torch_coretype || !*o.torch_coretype) o.torch_coretype = "auto";
    if (strlen(o.torch_coretype) >= sizeof(((openblas_probe_t *)0)->request))
        return cli_usage_error(cmd, "--torch-coretype '%s' is too long", o.torch_coretype);
    if (config && !(o.p = bench_preset_find(config)))
        return cli_usage_error(cmd, "unknown --config '%s' (%s)", config, bench_preset_names());
    omp_set_num_threads(o.threads);
    if (o.warmup < 0) o.warmup = default_warmup(&o);
    char origin[32];
    snprintf(origin, sizeof origin, "--device %s", DEVICES[o.device]);
    rc = device_start(DEVICES[o.device], "fp32", origin, comm); /* every rank, before a model */
    if (rc != 0) return rc;
    if (strcmp(o.bench, "step") == 0) return bench_step(&o, comm); /* every rank takes part */
    if (micl_rank() != 0) return MICL_EXIT_OK; /* one process measures; other ranks idle */
    return bench_vs_torch(&o);
}
