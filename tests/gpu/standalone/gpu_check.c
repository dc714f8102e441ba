/* gpu_check.c - the CUDA backend on the model's training step: agreement with the CPU backend,
 * run-to-run bit identity, bit-exact resume, and the speed of a step. Built by the standalone
 * project beside it (no HDF5, libconfig or MPI) and run by tests/gpu/device_checks.sh.
 *
 * A training step is worker/step.c's for one rank, on the model's own gradient block:
 * vlm_pack_weights, vlm_zero_grads, vlm_forward + vlm_backward (scaled by 1 / the step's
 * targets) of each micro-batch, kern_grad_norm, clipping at 1.0 (kern_scale_inplace),
 * kern_adamw_update. The batches are `micl bench step`'s (bench/workload.c): sequences <bos>
 * then `pairs` x (<img> name), the targets at the image positions, names and pixels from a hash
 * of their index.
 *
 * Checks, on the quickstart bench preset (4 micro-batches x 8 sequences of 19 tokens), over
 * --check-steps steps (20 unless given):
 *   parity  20 steps on the CPU table, then 20 on the GPU from the same initial parameters: the
 *           loss of every step within a relative tolerance (fp32: 1e-4; bf16 operands: 1e-2 at
 *           step 1, 5e-2 over the run); the largest parameter difference is reported
 *   repeat  the GPU run twice: the same bits (parameters, AdamW moments, losses)
 *   resume  10 GPU steps, parameters and moments copied to host memory, the model freed and made
 *           again, the state copied back, 10 more steps: the bits of the straight 20-step run
 * Speed, on a 768-wide decoder of 12 layers and 12 heads with the quickstart's encoder:
 *   preset  the quickstart preset's step (4 x 8 x 19 tokens), as `micl bench step` runs it
 *   batched one micro-batch of 64 sequences of 63 tokens (the preset's max_seq filled)
 *   per shape: ms per step (host clock around the step, which ends by copying a parameter to
 *   the host, so the stream is drained), model FLOP per step as `micl bench step` counts it
 *   (vlm_flops_per_step_targets), TFLOP/s, and MFU against the card's dense peaks.
 *
 * The CPU run happens first and leaves only host arrays behind: buffers belong to the backend
 * that allocated them, so the table switches (kern_backend_set) only between whole runs.
 *
 * Usage: gpu_check [--precision fp32|bf16] [--no-checks] [--no-speed] [--steps N] [--warmup W]
 *                  [--check-steps N] [--json FILE] [--backend cuda|cpu]
 * --backend cpu puts the CPU table where the device's would be: a self-test of this program on a
 * machine without a GPU (every check must then hold bit for bit; fp32 only).
 * Exit status: 0 every check passed, 1 a check failed, 2 bad usage, 77 skipped (no CUDA module
 * or no device).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/error.h"
#include "kernels/backend.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "bench/synthetic.h"
#include "model/vlm.h"

#define SKIP_EXIT 77

/* The optimizer of `micl bench step` (bench/workload.h), with the trainer's default clipping. */
#define LR 2e-3f
#define BETA1 0.9f
#define BETA2 0.98f
#define EPS 1e-8f
#define WEIGHT_DECAY 0.01f
#define GRAD_CLIP 1.0
#define SEED 1

#define MAX_CHECK_STEPS 1000

/* ---- options and results ---------------------------------------------------------------- */

typedef struct {
    kern_precision_t precision;
    int checks, speed, steps, warmup;
    int check_steps; /* the resume check stops half-way */
    const char *json, *backend;
} opts_t;

typedef struct {
    char name[32];
    int ok;
    char detail[160];
} check_t;

typedef struct {
    const char *name;
    int micro_batches, seqs, pairs, T;
    int64_t tokens, images, targets;
    double flops, ms_median, ms_mean, ms_best, loss_first, loss_last;
} speed_t;

static check_t g_checks[8];
static int g_n_checks;

static void record(const char *name, int ok, const char *fmt, ...) {
    check_t *c = &g_checks[g_n_checks++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    printf("check %-8s %-4s  %s\n", c->name, ok ? "ok" : "FAIL", c->detail);
    fflush(stdout);
}

/* ---- the workload: `micl bench step`'s batches ---------------------------------------------- */

typedef struct {
    int micro_batches, seqs, pairs, T;
    int32_t *tokens, *targets;
    uint8_t *pixels;
    vlm_batch_t *mb;
    int64_t targets_per_step;
} workload_t;

/* micro_batches x seqs sequences of the bench's batch (bench/synthetic.h), one vlm_batch_t each. */
static void workload_init(workload_t *w, const vlm_config_t *c, int micro_batches, int seqs,
                          int pairs) {
    memset(w, 0, sizeof *w);
    w->micro_batches = micro_batches;
    w->seqs = seqs;
    w->pairs = pairs;
    w->T = 1 + 2 * pairs;
    size_t n_seq = (size_t)micro_batches * (size_t)seqs, n_tok = n_seq * (size_t)w->T;
    size_t imgs_per_mb = (size_t)seqs * (size_t)pairs;
    size_t px =
        (size_t)c->image_size * (size_t)c->image_size * (size_t)(c->channels ? c->channels : 1);
    size_t n_px = (size_t)micro_batches * imgs_per_mb * px;
    w->tokens = micl_malloc(n_tok * sizeof(int32_t));
    w->targets = micl_malloc(n_tok * sizeof(int32_t));
    w->pixels = micl_malloc(n_px);
    bench_synthetic_batch(w->tokens, w->targets, n_seq, pairs, c->vocab, w->pixels, n_px);
    w->mb = micl_calloc((size_t)micro_batches, sizeof(vlm_batch_t));
    for (int b = 0; b < micro_batches; b++) {
        size_t t0 = (size_t)b * (size_t)seqs * (size_t)w->T;
        w->mb[b] = (vlm_batch_t){seqs,
                                 w->T,
                                 w->tokens + t0,
                                 w->targets + t0,
                                 (int)imgs_per_mb,
                                 w->pixels + (size_t)b * imgs_per_mb * px,
                                 BENCH_IMAGE_TOKEN};
    }
    w->targets_per_step = (int64_t)micro_batches * (int64_t)imgs_per_mb;
}

static void workload_free(workload_t *w) {
    free(w->tokens), free(w->targets), free(w->pixels), free(w->mb);
}

/* ---- a model in training: worker/step.c for one rank ------------------------------------------
 */

typedef struct {
    vlm_t *m;
    uint8_t *decay; /* a buffer of the backend: 1 where AdamW decays (as step_init builds it) */
    size_t n;
} trainee_t;

static void trainee_init(trainee_t *t, const vlm_config_t *c, int max_tokens, int max_images) {
    char err[256];
    t->m = vlm_create(c, max_tokens, max_images, err, sizeof err);
    if (!t->m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(t->m, SEED);
    t->n = vlm_num_params(t->m);
    uint8_t *host = micl_malloc(t->n);
    for (int i = 0; i < vlm_num_tensors(t->m); i++) {
        const vlm_tensor_t *tt = vlm_tensor(t->m, i);
        memset(host + tt->offset, tt->decay ? 1 : 0, tt->size);
    }
    t->decay = kern_alloc(t->n);
    kern_copy_from_host(t->decay, host, t->n);
    free(host);
}

static void trainee_free(trainee_t *t) {
    vlm_free(t->m);
    kern_free(t->decay);
}

/* Optimizer step number `step` (from 0) over the workload; the step's mean loss. */
static double train_step(trainee_t *t, const workload_t *w, int64_t step) {
    vlm_t *m = t->m;
    vlm_pack_weights(m);
    vlm_zero_grads(m);
    double loss = 0;
    float scale = 1.0f / (float)w->targets_per_step;
    for (int b = 0; b < w->micro_batches; b++) {
        int64_t nt;
        loss += vlm_forward(m, &w->mb[b], &nt);
        vlm_backward(m, scale); /* adds into the gradient block */
    }
    float *g = vlm_grads(m);
    double norm = kern_grad_norm(g, t->n);
    if (!isfinite(loss) || !isfinite(norm)) return NAN; /* step.c skips the update */
    if (norm > GRAD_CLIP) kern_scale_inplace(g, t->n, (float)(GRAD_CLIP / norm));
    kern_adamw_update(vlm_params(m), g, vlm_adam_m(m), vlm_adam_v(m), t->decay, t->n, LR, BETA1,
                      BETA2, EPS, WEIGHT_DECAY, step + 1);
    return loss / (double)w->targets_per_step;
}

/* ---- host copies of a run ------------------------------------------------------------------ */

typedef struct {
    size_t n;
    float *params, *m, *v;
    double loss[MAX_CHECK_STEPS]; /* zero past the steps run */
} state_t;

static void state_save(state_t *s, trainee_t *t) {
    s->n = t->n;
    if (!s->params) {
        s->params = micl_malloc(3 * t->n * sizeof(float));
        s->m = s->params + t->n;
        s->v = s->m + t->n;
    }
    kern_copy_to_host(s->params, vlm_params(t->m), t->n * sizeof(float));
    kern_copy_to_host(s->m, vlm_adam_m(t->m), t->n * sizeof(float));
    kern_copy_to_host(s->v, vlm_adam_v(t->m), t->n * sizeof(float));
}

static void state_load(trainee_t *t, const state_t *s) {
    kern_copy_from_host(vlm_params(t->m), s->params, t->n * sizeof(float));
    kern_copy_from_host(vlm_adam_m(t->m), s->m, t->n * sizeof(float));
    kern_copy_from_host(vlm_adam_v(t->m), s->v, t->n * sizeof(float));
}

static void state_free(state_t *s) {
    free(s->params);
}

/* Steps [from, to) on a fresh model (or on `resume_from`'s state); the state after them. */
static void run(const vlm_config_t *c, const workload_t *w, int from, int to,
                const state_t *resume_from, state_t *out) {
    trainee_t t;
    trainee_init(&t, c, w->seqs * w->T, w->seqs * w->pairs);
    if (resume_from) {
        state_load(&t, resume_from);
        memcpy(out->loss, resume_from->loss, sizeof out->loss);
    }
    for (int s = from; s < to; s++)
        out->loss[s] = train_step(&t, w, s);
    state_save(out, &t);
    trainee_free(&t);
}

static int same_state(const state_t *a, const state_t *b) {
    return memcmp(a->params, b->params, 3 * a->n * sizeof(float)) == 0 &&
           memcmp(a->loss, b->loss, sizeof a->loss) == 0;
}

/* ---- the checks ---------------------------------------------------------------------------- */

/* The quickstart bench preset's model (bench/bench_preset.c). */
static const vlm_config_t QUICKSTART = {
    28, 7, 64, 1, 4, 128, 3, 4, 4, 1454, 64, 0.02f, VLM_POOL_FLATTEN, 1, 1};

static void check_parity(const state_t *cpu, const state_t *gpu, int steps, const vlm_t *shape,
                         kern_precision_t prec) {
    double tol1 = prec == KERN_PRECISION_FP32 ? 1e-4 : 1e-2;
    double tol = prec == KERN_PRECISION_FP32 ? 1e-4 : 5e-2;
    double worst = 0, first = 0;
    int finite = 1, worst_step = 1;
    for (int s = 0; s < steps; s++) {
        finite = finite && isfinite(cpu->loss[s]) && isfinite(gpu->loss[s]);
        double rel = fabs(gpu->loss[s] - cpu->loss[s]) / fmax(fabs(cpu->loss[s]), 1e-30);
        if (s == 0) first = rel;
        if (!(rel <= worst)) worst = rel, worst_step = s + 1;
    }
    double dmax = 0;
    size_t at = 0;
    for (size_t i = 0; i < cpu->n; i++) {
        double d = fabs((double)gpu->params[i] - (double)cpu->params[i]);
        if (!(d <= dmax)) dmax = d, at = i;
    }
    const char *tensor = "?";
    for (int i = 0; i < vlm_num_tensors(shape); i++) {
        const vlm_tensor_t *t = vlm_tensor(shape, i);
        if (at >= t->offset && at < t->offset + t->size) tensor = t->name;
    }
    record("parity", finite && first <= tol1 && worst <= tol,
           "loss rel diff step 1 %.1e, max %.1e (step %d; tol %.0e/%.0e); max |dparam| %.1e (%s)",
           first, worst, worst_step, tol1, tol, dmax, tensor);
}

static int run_checks(const kern_backend_t *gpu, kern_precision_t prec, int steps) {
    int half = steps / 2;
    workload_t w;
    workload_init(&w, &QUICKSTART, 4, 8, 9);
    state_t cpu = {0}, g1 = {0}, g2 = {0}, mid = {0}, g3 = {0};
    char err[256];
    vlm_t *shape = vlm_create(&QUICKSTART, 1, 0, err, sizeof err); /* names of tensors only */
    if (!shape) micl_fatal("vlm_create: %s", err);

    double t0 = clock_now_s();
    kern_backend_set(kern_backend_cpu());
    run(&QUICKSTART, &w, 0, steps, NULL, &cpu);
    double t1 = clock_now_s();
    kern_backend_set(gpu);
    run(&QUICKSTART, &w, 0, steps, NULL, &g1);
    double t2 = clock_now_s();
    printf("checks: %zu parameters, %d steps of %lld targets; CPU run %.1f s, GPU run %.1f s "
           "(first, with start-up)\n",
           g1.n, steps, (long long)w.targets_per_step, t1 - t0, t2 - t1);
    check_parity(&cpu, &g1, steps, shape, prec);

    run(&QUICKSTART, &w, 0, steps, NULL, &g2);
    record("repeat", same_state(&g1, &g2), "two GPU runs of %d steps: %s", steps,
           same_state(&g1, &g2) ? "the same bits (parameters, moments, losses)" : "DIFFERENT bits");

    run(&QUICKSTART, &w, 0, half, NULL, &mid);
    run(&QUICKSTART, &w, half, steps, &mid, &g3);
    record("resume", same_state(&g1, &g3), "%d steps, new model, %d more: %s", half, steps - half,
           same_state(&g1, &g3) ? "the bits of the straight run" : "DIFFERENT bits");

    vlm_free(shape); /* allocated on the GPU table */
    state_free(&cpu), state_free(&g1), state_free(&g2), state_free(&mid), state_free(&g3);
    workload_free(&w);
    int ok = 1;
    for (int i = 0; i < g_n_checks; i++)
        ok = ok && g_checks[i].ok;
    return ok;
}

/* ---- speed ----------------------------------------------------------------------------------- */

/* The speed model: GPT-2-small's decoder width, depth and heads, the quickstart's encoder. */
static const vlm_config_t WIDE = {
    28, 7, 64, 1, 4, 768, 12, 12, 4, 1454, 64, 0.02f, VLM_POOL_FLATTEN, 1, 1};

/* Dense peaks of the card in TFLOP/s (vendor datasheets; 0: unknown). The first match wins. */
static void card_peaks(const char *device, double *bf16, double *fp32) {
    static const struct {
        const char *match;
        double bf16, fp32;
    } PEAKS[] = {{"H100 PCIe", 756, 51},
                 {"H100 NVL", 835, 60},
                 {"H200 NVL", 835, 60},
                 {"H100", 989, 67},
                 {"H200", 989, 67}};
    *bf16 = *fp32 = 0;
    for (size_t i = 0; i < sizeof PEAKS / sizeof PEAKS[0]; i++)
        if (device && strstr(device, PEAKS[i].match)) {
            *bf16 = PEAKS[i].bf16, *fp32 = PEAKS[i].fp32;
            return;
        }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Warm-up plus timed steps of one shape on t; 0 if a loss was not finite. */
static int time_shape(trainee_t *t, speed_t *sp, const opts_t *o, int64_t *step) {
    workload_t w;
    workload_init(&w, &WIDE, sp->micro_batches, sp->seqs, sp->pairs);
    sp->T = w.T;
    sp->tokens = (int64_t)w.micro_batches * w.seqs * w.T;
    sp->images = sp->targets = w.targets_per_step;
    sp->flops = vlm_flops_per_step_targets(&WIDE, sp->tokens, sp->images, w.T, sp->targets);
    double *ms = micl_malloc((size_t)o->steps * sizeof(double));
    int finite = 1;
    for (int s = 0; s < o->warmup + o->steps; s++) {
        float probe;
        double t0 = clock_now_s();
        double loss = train_step(t, &w, (*step)++);
        kern_copy_to_host(&probe, vlm_params(t->m), sizeof probe); /* waits for the stream */
        double dt = clock_now_s() - t0;
        finite = finite && isfinite(loss) && isfinite(probe);
        if (s == 0) sp->loss_first = loss;
        sp->loss_last = loss;
        if (s >= o->warmup) ms[s - o->warmup] = 1e3 * dt;
    }
    sp->ms_mean = 0;
    for (int i = 0; i < o->steps; i++)
        sp->ms_mean += ms[i] / o->steps;
    qsort(ms, (size_t)o->steps, sizeof(double), cmp_double);
    sp->ms_best = ms[0];
    sp->ms_median =
        o->steps % 2 ? ms[o->steps / 2] : 0.5 * (ms[o->steps / 2 - 1] + ms[o->steps / 2]);
    free(ms);
    workload_free(&w);
    return finite;
}

static int run_speed(const opts_t *o, speed_t *sp, int n_shapes, const char *device) {
    int max_tokens = 0, max_images = 0;
    for (int i = 0; i < n_shapes; i++) {
        int T = 1 + 2 * sp[i].pairs;
        if (sp[i].seqs * T > max_tokens) max_tokens = sp[i].seqs * T;
        if (sp[i].seqs * sp[i].pairs > max_images) max_images = sp[i].seqs * sp[i].pairs;
    }
    trainee_t t;
    double t0 = clock_now_s();
    trainee_init(&t, &WIDE, max_tokens, max_images);
    printf("speed: %zu parameters (dim %d, %d layers, %d heads, vocab %d), made in %.1f s; %d "
           "warm-up + %d timed steps per shape\n",
           t.n, WIDE.dim, WIDE.layers, WIDE.heads, WIDE.vocab, clock_now_s() - t0, o->warmup,
           o->steps);
    double pk_bf16, pk_fp32;
    card_peaks(device, &pk_bf16, &pk_fp32);
    int64_t step = 0;
    int ok = 1;
    for (int i = 0; i < n_shapes; i++) {
        int finite = time_shape(&t, &sp[i], o, &step);
        ok = ok && finite;
        double tflops = sp[i].flops / (sp[i].ms_median * 1e-3) * 1e-12;
        printf("speed %-8s %d x %d x %d tokens: %.2f ms/step median (best %.2f, mean %.2f), "
               "%.3f TFLOP/step, %.1f TFLOP/s",
               sp[i].name, sp[i].micro_batches, sp[i].seqs, sp[i].T, sp[i].ms_median, sp[i].ms_best,
               sp[i].ms_mean, sp[i].flops * 1e-12, tflops);
        if (pk_bf16 > 0)
            printf(", MFU %.1f%% of %.0f (bf16 dense), %.1f%% of %.0f (fp32)",
                   100 * tflops / pk_bf16, pk_bf16, 100 * tflops / pk_fp32, pk_fp32);
        printf("; loss %.4f -> %.4f%s\n", sp[i].loss_first, sp[i].loss_last,
               finite ? "" : " NOT FINITE");
    }
    trainee_free(&t);
    return ok;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

static void write_json(const char *path, const opts_t *o, const char *device, const speed_t *sp,
                       int n_shapes, int speed_ok) {
    FILE *f = micl_fopen(path, "w");
    double pk_bf16, pk_fp32;
    card_peaks(device, &pk_bf16, &pk_fp32);
    fprintf(f, "{\n  \"program\": \"gpu_check\",\n  \"precision\": \"%s\",\n  \"device\": ",
            o->precision == KERN_PRECISION_BF16 ? "bf16" : "fp32");
    json_string(f, device);
    fprintf(f, ",\n  \"peak_bf16_tflops\": %g,\n  \"peak_fp32_tflops\": %g,\n  \"checks\": [",
            pk_bf16, pk_fp32);
    for (int i = 0; i < g_n_checks; i++) {
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        json_string(f, g_checks[i].name);
        fprintf(f, ", \"ok\": %s, \"detail\": ", g_checks[i].ok ? "true" : "false");
        json_string(f, g_checks[i].detail);
        fputc('}', f);
    }
    fprintf(f, "\n  ],\n  \"speed_ok\": %s,\n  \"speed\": [", speed_ok ? "true" : "false");
    for (int i = 0; i < n_shapes; i++) {
        const speed_t *s = &sp[i];
        fprintf(f,
                "%s\n    {\"shape\": \"%s\", \"dim\": %d, \"layers\": %d, \"heads\": %d, "
                "\"vocab\": %d, \"micro_batches\": %d, \"seqs\": %d, \"pairs\": %d, \"T\": %d, "
                "\"tokens\": %lld, \"images\": %lld, \"targets\": %lld, \"flops_per_step\": %.6e, "
                "\"ms_median\": %.4f, \"ms_mean\": %.4f, \"ms_best\": %.4f, \"loss_first\": %.6f, "
                "\"loss_last\": %.6f}",
                i ? "," : "", s->name, WIDE.dim, WIDE.layers, WIDE.heads, WIDE.vocab,
                s->micro_batches, s->seqs, s->pairs, s->T, (long long)s->tokens,
                (long long)s->images, (long long)s->targets, s->flops, s->ms_median, s->ms_mean,
                s->ms_best, s->loss_first, s->loss_last);
    }
    fprintf(f, "\n  ]\n}\n");
    if (fclose(f) != 0) micl_fatal("cannot write '%s'", path);
}

/* ---- entry ----------------------------------------------------------------------------------- */

static void host_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gpu_check: CUDA backend: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static int usage(const char *msg) {
    fprintf(stderr,
            "gpu_check: %s\nusage: gpu_check [--precision fp32|bf16] [--no-checks] [--no-speed] "
            "[--steps N] [--warmup W] [--check-steps N] [--json FILE] [--backend cuda|cpu]\n",
            msg);
    return 2;
}

static int parse(int argc, char **argv, opts_t *o) {
    *o = (opts_t){KERN_PRECISION_FP32, 1, 1, 10, 3, 20, NULL, "cuda"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-checks") == 0)
            o->checks = 0;
        else if (strcmp(a, "--no-speed") == 0)
            o->speed = 0;
        else if (strcmp(a, "--precision") == 0 && v && ++i) {
            if (strcmp(v, "fp32") == 0)
                o->precision = KERN_PRECISION_FP32;
            else if (strcmp(v, "bf16") == 0)
                o->precision = KERN_PRECISION_BF16;
            else
                return usage("--precision takes fp32 or bf16");
        } else if (strcmp(a, "--steps") == 0 && v && ++i) {
            o->steps = atoi(v);
            if (o->steps < 1 || o->steps > 10000) return usage("--steps takes 1..10000");
        } else if (strcmp(a, "--warmup") == 0 && v && ++i) {
            o->warmup = atoi(v);
            if (o->warmup < 0 || o->warmup > 10000) return usage("--warmup takes 0..10000");
        } else if (strcmp(a, "--check-steps") == 0 && v && ++i) {
            o->check_steps = atoi(v);
            if (o->check_steps < 2 || o->check_steps > MAX_CHECK_STEPS)
                return usage("--check-steps takes 2..1000");
        } else if (strcmp(a, "--backend") == 0 && v && ++i) {
            if (strcmp(v, "cuda") != 0 && strcmp(v, "cpu") != 0)
                return usage("--backend takes cuda or cpu");
            o->backend = v;
        } else if (strcmp(a, "--json") == 0 && v && ++i)
            o->json = v;
        else
            return usage("unknown or incomplete option");
    }
    return 0;
}

int main(int argc, char **argv) {
    opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc) return rc;
    if (strcmp(o.backend, "cpu") == 0 && o.precision != KERN_PRECISION_FP32)
        return usage("--backend cpu computes in fp32 only");
    setvbuf(stdout, NULL, _IOLBF, 0);
    kern_backend_host_t host = {0, 0, o.precision, host_fatal};
    char err[1024];
    if (kern_backend_use(o.backend, &host, err, sizeof err) != 0) {
        printf("SKIP: %s\n", err);
        return SKIP_EXIT;
    }
    const kern_backend_t *gpu = kern_backend();
    const char *device = gpu->device ? gpu->device : "?";
    const char *prec = o.precision == KERN_PRECISION_BF16 ? "bf16" : "fp32";
    printf("gpu_check: backend %s on %s, products in %s\n", gpu->name, device, prec);

    int checks_ok = o.checks ? run_checks(gpu, o.precision, o.check_steps) : 1;
    speed_t sp[2] = {{.name = "preset", .micro_batches = 4, .seqs = 8, .pairs = 9},
                     {.name = "batched", .micro_batches = 1, .seqs = 64, .pairs = 31}};
    int n_shapes = o.speed ? 2 : 0;
    int speed_ok = o.speed ? run_speed(&o, sp, n_shapes, device) : 1;
    if (!speed_ok) printf("speed: a loss or parameter was not finite\n");
    if (o.json) write_json(o.json, &o, device, sp, n_shapes, speed_ok);
    return checks_ok && speed_ok ? 0 : 1;
}
