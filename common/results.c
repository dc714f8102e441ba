/* results.c - writing, reading and printing the results file (see results.h). */
#define _POSIX_C_SOURCE 200809L
#include "results.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "error.h"
#include "h5check.h"
#include "h5util.h"
#include "json_out.h"

#define REFERENCE_ROWS 2 /* the summary's reference lines under a run: pixel 1-NN, class mean */

void curve_push(curve_t *c, int64_t step, int stage, double loss, double lr, double gnorm,
                double tps, double acc) {
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->step = micl_realloc(c->step, (size_t)c->cap * sizeof(int64_t));
        c->stage = micl_realloc(c->stage, (size_t)c->cap * sizeof(int32_t));
        c->loss = micl_realloc(c->loss, (size_t)c->cap * sizeof(double));
        c->lr = micl_realloc(c->lr, (size_t)c->cap * sizeof(double));
        c->grad_norm = micl_realloc(c->grad_norm, (size_t)c->cap * sizeof(double));
        c->tokens_per_s = micl_realloc(c->tokens_per_s, (size_t)c->cap * sizeof(double));
        c->train_icl_acc = micl_realloc(c->train_icl_acc, (size_t)c->cap * sizeof(double));
    }
    c->step[c->n] = step;
    c->stage[c->n] = stage;
    c->loss[c->n] = loss;
    c->lr[c->n] = lr;
    c->grad_norm[c->n] = gnorm;
    c->tokens_per_s[c->n] = tps;
    c->train_icl_acc[c->n] = acc;
    c->n++;
}

void curve_set_tensors(curve_t *c, int n_tensors, const char *const *names) {
    for (int i = 0; i < c->n_tensors; i++)
        free(c->tensor_names[i]);
    free(c->tensor_names);
    c->n_tensors = n_tensors;
    c->tensor_names = micl_calloc((size_t)n_tensors + 1, sizeof(char *));
    for (int i = 0; i < n_tensors; i++)
        c->tensor_names[i] = micl_strdup(names[i]);
}

void curve_push_tensor_norms(curve_t *c, const double *norms) {
    size_t k = (size_t)c->n_tensors;
    if (k == 0) return;
    c->tensor_norm = micl_realloc(c->tensor_norm, (size_t)c->n * k * sizeof(double));
    memcpy(c->tensor_norm + (size_t)(c->n - 1) * k, norms, k * sizeof(double));
}

static void *dup_bytes(const void *p, size_t n) {
    if (!p || n == 0) return NULL;
    void *q = micl_malloc(n);
    memcpy(q, p, n);
    return q;
}

void curve_copy(curve_t *dst, const curve_t *src) {
    size_t n = (size_t)src->n;
    memset(dst, 0, sizeof *dst);
    dst->n = dst->cap = src->n;
    dst->step = dup_bytes(src->step, n * sizeof(int64_t));
    dst->stage = dup_bytes(src->stage, n * sizeof(int32_t));
    dst->loss = dup_bytes(src->loss, n * sizeof(double));
    dst->lr = dup_bytes(src->lr, n * sizeof(double));
    dst->grad_norm = dup_bytes(src->grad_norm, n * sizeof(double));
    dst->tokens_per_s = dup_bytes(src->tokens_per_s, n * sizeof(double));
    dst->train_icl_acc = dup_bytes(src->train_icl_acc, n * sizeof(double));
    if (src->n_tensors > 0) {
        curve_set_tensors(dst, src->n_tensors, (const char *const *)src->tensor_names);
        dst->tensor_norm = dup_bytes(src->tensor_norm, n * (size_t)src->n_tensors * sizeof(double));
    }
}

void curve_free(curve_t *c) {
    for (int i = 0; i < c->n_tensors; i++)
        free(c->tensor_names[i]);
    free(c->tensor_names);
    free(c->tensor_norm);
    free(c->step);
    free(c->stage);
    free(c->loss);
    free(c->lr);
    free(c->grad_norm);
    free(c->tokens_per_s);
    free(c->train_icl_acc);
    memset(c, 0, sizeof *c);
}

void curve_write(hid_t g, const curve_t *c) {
    h5_write_i64(g, "step", c->step, c->n);
    h5_write_i32(g, "stage", c->stage, c->n);
    h5_write_f64(g, "loss", c->loss, c->n);
    h5_write_f64(g, "lr", c->lr, c->n);
    h5_write_f64(g, "grad_norm", c->grad_norm, c->n);
    h5_write_f64(g, "tokens_per_s", c->tokens_per_s, c->n);
    h5_write_f64(g, "train_icl_acc", c->train_icl_acc, c->n);
    if (c->n_tensors > 0) {
        h5_write_strings(g, "tensor_names", c->tensor_names, c->n_tensors);
        h5_write_f64(g, "grad_norm_tensor", c->tensor_norm, c->n * c->n_tensors);
    }
}

void curve_read(hid_t g, curve_t *c) {
    int64_t n;
    curve_free(c);
    c->step = h5_read_i64(g, "step", -1, &n);
    c->n = c->cap = n;
    c->stage = h5_read_i32(g, "stage", n, NULL);
    c->loss = h5_read_f64(g, "loss", n, NULL);
    c->lr = h5_read_f64(g, "lr", n, NULL);
    c->grad_norm = h5_read_f64(g, "grad_norm", n, NULL);
    c->tokens_per_s = h5_read_f64(g, "tokens_per_s", n, NULL);
    c->train_icl_acc = h5_read_f64(g, "train_icl_acc", n, NULL);
    if (h5_exists(g, "tensor_names")) {
        int64_t k;
        char **names = h5_read_strings(g, "tensor_names", &k);
        if (k < 1 || k > 100000) micl_fatal("results: tensor_names has %lld entries", (long long)k);
        c->n_tensors = (int)k;
        c->tensor_names = names;
        c->tensor_norm = h5_read_f64(g, "grad_norm_tensor", n * k, NULL);
    }
}

run_result_t *results_add_run(results_t *r) {
    if (r->n_runs == RESULTS_MAX_RUNS) micl_fatal("results: more than %d runs", RESULTS_MAX_RUNS);
    if (r->n_runs == r->cap_runs) {
        r->cap_runs = r->cap_runs ? 2 * r->cap_runs : 8;
        r->runs = micl_realloc(r->runs, (size_t)r->cap_runs * sizeof(run_result_t));
    }
    run_result_t *run = &r->runs[r->n_runs++];
    memset(run, 0, sizeof *run);
    return run;
}

void results_row_alloc_outcomes(eval_row_t *row) {
    results_row_free(row);
    size_t n = (size_t)(row->episodes > 0 ? row->episodes : 0) + 1;
    row->episode_group = micl_calloc(n, sizeof(int64_t));
    row->episode_correct = micl_calloc(n, 1);
    row->episode_exact = micl_calloc(n, 1);
    row->episode_ref_nn = micl_calloc(n, 1);
    row->episode_ref_mean = micl_calloc(n, 1);
}

void results_row_free_reference_outcomes(eval_row_t *row) {
    free(row->episode_ref_nn);
    free(row->episode_ref_mean);
    row->episode_ref_nn = row->episode_ref_mean = NULL;
}

void results_row_free(eval_row_t *row) {
    free(row->episode_group);
    free(row->episode_correct);
    free(row->episode_exact);
    row->episode_group = NULL;
    row->episode_correct = row->episode_exact = NULL;
    results_row_free_reference_outcomes(row);
}

/* The count of non-zero flags among v[0..n). */
static int64_t count_flags(const uint8_t *v, int64_t n) {
    int64_t k = 0;
    for (int64_t e = 0; e < n; e++)
        k += v[e] != 0;
    return k;
}

/* The reference counts from their per-prompt outcomes where the row has them, and the
 * accuracies and intervals from the counts (NaN, counts and per-prompt outcomes 0, without
 * references). */
static void finish_reference(eval_row_t *row) {
    int64_t n = row->episodes;
    if (!row->ref_scored || n <= 0) {
        row->ref_scored = 0;
        row->ref_nn_correct = row->ref_mean_correct = 0;
        if (row->episode_ref_nn && n > 0) {
            memset(row->episode_ref_nn, 0, (size_t)n);
            memset(row->episode_ref_mean, 0, (size_t)n);
        }
        row->ref_nn = row->ref_nn_low = row->ref_nn_high = NAN;
        row->ref_mean = row->ref_mean_low = row->ref_mean_high = row->ref_best = NAN;
        return;
    }
    if (row->episode_ref_nn) {
        row->ref_nn_correct = count_flags(row->episode_ref_nn, n);
        row->ref_mean_correct = count_flags(row->episode_ref_mean, n);
    }
    row->ref_nn = (double)row->ref_nn_correct / (double)n;
    row->ref_mean = (double)row->ref_mean_correct / (double)n;
    results_wilson(row->ref_nn_correct, n, &row->ref_nn_low, &row->ref_nn_high);
    results_wilson(row->ref_mean_correct, n, &row->ref_mean_low, &row->ref_mean_high);
    row->ref_best = fmax(row->ref_nn, row->ref_mean);
}

/* One prompt of the paired comparison: its resampling group and d = model right - pixel 1-NN
 * right (-1, 0 or 1). */
typedef struct {
    int64_t group, d;
} paired_prompt_t;

static int paired_by_group(const void *a, const void *b) {
    int64_t x = ((const paired_prompt_t *)a)->group, y = ((const paired_prompt_t *)b)->group;
    return (x > y) - (x < y);
}

/* The sum over the groups of (D_g - n_g * dbar)^2 (D_g: the group's sum of d, n_g its prompts)
 * of p[0..n), sorted by group; *groups gets the number of groups G. */
static double paired_group_squares(const paired_prompt_t *p, int64_t n, double dbar,
                                   int64_t *groups) {
    double ss = 0;
    *groups = 0;
    for (int64_t a = 0, b; a < n; a = b) {
        int64_t dg = 0;
        for (b = a; b < n && p[b].group == p[a].group; b++)
            dg += p[b].d;
        double r = (double)dg - (double)(b - a) * dbar;
        ss += r * r;
        (*groups)++;
    }
    return ss;
}

/* The paired gain over the pixel 1-NN reader (docs/RESULTS.md): dbar, the mean over the row's n
 * prompts of d = episode_correct - episode_ref_nn, and dbar -+ 1.96 SE with the cluster-robust
 * SE^2 = G / (G - 1) * sum_g (D_g - n_g * dbar)^2 / n^2 over the G resampling groups. NaN
 * without references or their per-prompt outcomes; the interval NaN with fewer than 2 groups. */
static void finish_paired(eval_row_t *row) {
    int64_t n = row->episodes;
    row->gain_nn = row->gain_nn_low = row->gain_nn_high = NAN;
    if (!row->ref_scored || n <= 0 || !row->episode_correct || !row->episode_ref_nn) return;
    paired_prompt_t *p = micl_malloc((size_t)n * sizeof *p);
    int64_t sum = 0, groups;
    for (int64_t e = 0; e < n; e++) {
        p[e].group = row->episode_group[e];
        p[e].d = (int64_t)(row->episode_correct[e] != 0) - (int64_t)(row->episode_ref_nn[e] != 0);
        sum += p[e].d;
    }
    qsort(p, (size_t)n, sizeof *p, paired_by_group);
    double dbar = (double)sum / (double)n;
    double ss = paired_group_squares(p, n, dbar, &groups);
    free(p);
    row->gain_nn = dbar;
    if (groups < 2) return;
    double se = sqrt((double)groups / (double)(groups - 1) * ss) / (double)n;
    row->gain_nn_low = dbar - 1.96 * se;
    row->gain_nn_high = dbar + 1.96 * se;
}

void results_row_finish(eval_row_t *row) {
    int64_t n = row->episodes;
    if (row->episode_correct) {
        row->correct = count_flags(row->episode_correct, n);
        row->exact = count_flags(row->episode_exact, n);
    }
    row->accuracy = n > 0 ? (double)row->correct / (double)n : 0;
    results_wilson(row->correct, n, &row->ci_low, &row->ci_high);
    row->chance = fmax(row->chance_random, row->chance_constant);
    finish_reference(row);
    finish_paired(row);
}

double results_row_gain_chance(const eval_row_t *row) {
    return row->accuracy - row->chance;
}

double results_row_gain_reference(const eval_row_t *row) {
    return row->ref_scored ? row->accuracy - row->ref_best : NAN;
}

double results_row_exact(const eval_row_t *row, double *lo, double *hi) {
    results_wilson(row->exact, row->episodes, lo, hi);
    return row->episodes > 0 ? (double)row->exact / (double)row->episodes : 0;
}

void results_run_free(run_result_t *run) {
    curve_free(&run->curve);
    free(run->config_text);
    run->config_text = NULL;
    for (int i = 0; i < run->n_rows; i++)
        results_row_free(&run->rows[i]);
}

/* Deep copy of a row's per-prompt outcomes (the rest was copied with the struct). */
static void copy_outcomes(eval_row_t *dst, const eval_row_t *src) {
    dst->episode_group = NULL;
    dst->episode_correct = dst->episode_exact = NULL;
    dst->episode_ref_nn = dst->episode_ref_mean = NULL;
    if (!src->episode_group) return;
    results_row_alloc_outcomes(dst);
    size_t n = (size_t)(src->episodes > 0 ? src->episodes : 0);
    memcpy(dst->episode_group, src->episode_group, n * sizeof(int64_t));
    memcpy(dst->episode_correct, src->episode_correct, n);
    memcpy(dst->episode_exact, src->episode_exact, n);
    if (!src->episode_ref_nn) {
        results_row_free_reference_outcomes(dst);
        return;
    }
    memcpy(dst->episode_ref_nn, src->episode_ref_nn, n);
    memcpy(dst->episode_ref_mean, src->episode_ref_mean, n);
}

void results_run_copy(run_result_t *dst, const run_result_t *src) {
    *dst = *src;
    curve_copy(&dst->curve, &src->curve);
    dst->config_text = src->config_text ? micl_strdup(src->config_text) : NULL;
    for (int i = 0; i < src->n_rows; i++)
        copy_outcomes(&dst->rows[i], &src->rows[i]);
}

void results_wilson(int64_t k, int64_t n, double *lo, double *hi) {
    if (n <= 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    const double z = 1.959963984540054;
    double p = (double)k / (double)n, z2n = z * z / (double)n;
    double centre = (p + z2n / 2) / (1 + z2n);
    double half = z * sqrt(p * (1 - p) / (double)n + z2n / (4.0 * (double)n)) / (1 + z2n);
    *lo = fmax(0.0, centre - half);
    *hi = fmin(1.0, centre + half);
}

/* chance_random, chance_constant and constant_answer of every row. */
static void write_chance(hid_t e, const run_result_t *run) {
    int n = run->n_rows;
    double *rnd = micl_calloc((size_t)n + 1, 8), *con = micl_calloc((size_t)n + 1, 8);
    char **ans = micl_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        rnd[i] = run->rows[i].chance_random;
        con[i] = run->rows[i].chance_constant;
        ans[i] = (char *)run->rows[i].constant_answer;
    }
    h5_write_f64(e, "chance_random", rnd, n);
    h5_write_f64(e, "chance_constant", con, n);
    h5_write_strings(e, "constant_answer", ans, n);
    free(rnd), free(con), free(ans);
}

/* The model-free references of every row (NaN and 0 counts where a row has none), the gains
 * over chance and over the best reference, and the paired gain over the pixel 1-NN reader with
 * its interval (NaN without per-prompt reference outcomes). */
static void write_reference(hid_t e, const run_result_t *run) {
    enum { N_F64 = 12 };
    static const char *const names[N_F64] = {"reference_nn_accuracy", "reference_nn_ci_low",
                                             "reference_nn_ci_high",  "reference_mean_accuracy",
                                             "reference_mean_ci_low", "reference_mean_ci_high",
                                             "reference_best",        "gain_over_chance",
                                             "gain_over_reference",   "gain_over_nn",
                                             "gain_over_nn_ci_low",   "gain_over_nn_ci_high"};
    int n = run->n_rows;
    int32_t *scored = micl_calloc((size_t)n + 1, sizeof(int32_t));
    int64_t *nn = micl_calloc((size_t)n + 1, 8), *mean = micl_calloc((size_t)n + 1, 8);
    double *col = micl_calloc((size_t)n * N_F64 + 1, 8);
    for (int i = 0; i < n; i++) {
        const eval_row_t *r = &run->rows[i];
        scored[i] = r->ref_scored;
        nn[i] = r->ref_nn_correct;
        mean[i] = r->ref_mean_correct;
        const double v[N_F64] = {r->ref_nn,
                                 r->ref_nn_low,
                                 r->ref_nn_high,
                                 r->ref_mean,
                                 r->ref_mean_low,
                                 r->ref_mean_high,
                                 r->ref_best,
                                 results_row_gain_chance(r),
                                 results_row_gain_reference(r),
                                 r->gain_nn,
                                 r->gain_nn_low,
                                 r->gain_nn_high};
        for (int k = 0; k < N_F64; k++)
            col[(size_t)k * n + i] = v[k];
    }
    h5_write_i32(e, "reference_scored", scored, n);
    h5_write_i64(e, "reference_nn_correct", nn, n);
    h5_write_i64(e, "reference_mean_correct", mean, n);
    for (int k = 0; k < N_F64; k++)
        h5_write_f64(e, names[k], col + (size_t)k * n, n);
    free(scored), free(nn), free(mean), free(col);
}

/* The references' per-prompt outcomes, row after row as the model's (total prompts), when every
 * row has them (a run kept from a file written before them has none). */
static void write_reference_outcomes(hid_t e, const run_result_t *run, int64_t total) {
    int n = run->n_rows;
    for (int i = 0; i < n; i++)
        if (!run->rows[i].episode_ref_nn && run->rows[i].episodes > 0) return;
    uint8_t *nn = micl_calloc((size_t)total + 1, 1), *mean = micl_calloc((size_t)total + 1, 1);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        const eval_row_t *r = &run->rows[i];
        if (r->episodes > 0) {
            memcpy(nn + at, r->episode_ref_nn, (size_t)r->episodes);
            memcpy(mean + at, r->episode_ref_mean, (size_t)r->episodes);
        }
        at += r->episodes;
    }
    h5_write_u8(e, "episode_reference_nn", nn, total);
    h5_write_u8(e, "episode_reference_mean", mean, total);
    free(nn), free(mean);
}

/* The per-prompt outcomes, row after row (episode_start: each row's first prompt), when every
 * row has them (a file merged from older ones may not). */
static void write_outcomes(hid_t e, const run_result_t *run) {
    int n = run->n_rows;
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!run->rows[i].episode_group && run->rows[i].episodes > 0) return;
        total += run->rows[i].episodes;
    }
    int64_t *start = micl_calloc((size_t)n + 1, sizeof(int64_t));
    int64_t *group = micl_calloc((size_t)total + 1, sizeof(int64_t));
    uint8_t *cor = micl_calloc((size_t)total + 1, 1), *ex = micl_calloc((size_t)total + 1, 1);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        const eval_row_t *r = &run->rows[i];
        size_t k = (size_t)r->episodes;
        start[i] = at;
        if (k > 0) {
            memcpy(group + at, r->episode_group, k * sizeof(int64_t));
            memcpy(cor + at, r->episode_correct, k);
            memcpy(ex + at, r->episode_exact, k);
        }
        at += r->episodes;
    }
    h5_write_i64(e, "episode_start", start, n);
    h5_write_i64(e, "episode_group", group, total);
    h5_write_u8(e, "episode_correct", cor, total);
    h5_write_u8(e, "episode_exact", ex, total);
    free(start), free(group), free(cor), free(ex);
    write_reference_outcomes(e, run, total);
}

static void write_run(hid_t f, const run_result_t *run) {
    hid_t g = h5_group(f, run->name);
    h5_attr_double(g, "train_seconds", run->train_seconds);
    h5_attr_double(g, "eval_seconds", run->eval_seconds);
    h5_attr_double(g, "tokens_per_s", run->tokens_per_s);
    h5_attr_int(g, "steps", run->steps);
    h5_attr_int(g, "tokens", run->tokens);
    h5_attr_int(g, "images", run->images);
    h5_attr_int(g, "answers", run->answers);
    h5_attr_int(g, "targets", run->targets);
    h5_attr_double(g, "flops", run->flops);
    h5_attr_int(g, "n_params", run->n_params);
    h5_attr_str(g, "checkpoint", run->checkpoint);
    h5_attr_str(g, "device", run->device[0] ? run->device : "cpu");
    h5_attr_str(g, "precision", run->precision[0] ? run->precision : "fp32");
    if (run->isa[0]) h5_attr_str(g, "isa", run->isa);
    h5_write_i64(g, "stage_start", run->stage_start, run->n_stages);
    if (run->config_text) {
        h5_attr_str(g, "id", run->id);
        h5_attr_int(g, "sweep_index", run->sweep_index);
        h5_write_text(g, "config", run->config_text);
    }

    hid_t t = h5_group(g, "train");
    curve_write(t, &run->curve);
    h5_close_group(t);

    hid_t e = h5_group(g, "eval");
    int n = run->n_rows;
    char **bench = micl_calloc((size_t)n + 1, sizeof(char *));
    char **data = micl_calloc((size_t)n + 1, sizeof(char *));
    int32_t *ways = micl_calloc((size_t)n + 1, 4), *shots = micl_calloc((size_t)n + 1, 4);
    int64_t *eps = micl_calloc((size_t)n + 1, 8), *cor = micl_calloc((size_t)n + 1, 8),
            *ex = micl_calloc((size_t)n + 1, 8);
    double *acc = micl_calloc((size_t)n + 1, 8), *lo = micl_calloc((size_t)n + 1, 8),
           *hi = micl_calloc((size_t)n + 1, 8), *ch = micl_calloc((size_t)n + 1, 8);
    for (int i = 0; i < n; i++) {
        const eval_row_t *r = &run->rows[i];
        bench[i] = (char *)r->benchmark;
        data[i] = (char *)r->dataset;
        ways[i] = r->ways;
        shots[i] = r->shots;
        eps[i] = r->episodes;
        cor[i] = r->correct;
        ex[i] = r->exact;
        acc[i] = r->accuracy;
        lo[i] = r->ci_low;
        hi[i] = r->ci_high;
        ch[i] = r->chance;
    }
    h5_write_strings(e, "benchmark", bench, n);
    h5_write_strings(e, "dataset", data, n);
    h5_write_i32(e, "ways", ways, n);
    h5_write_i32(e, "shots", shots, n);
    h5_write_i64(e, "episodes", eps, n);
    h5_write_i64(e, "correct", cor, n);
    h5_write_i64(e, "exact_match", ex, n);
    h5_write_f64(e, "accuracy", acc, n);
    h5_write_f64(e, "ci_low", lo, n);
    h5_write_f64(e, "ci_high", hi, n);
    h5_write_f64(e, "chance", ch, n);
    free(bench), free(data), free(ways), free(shots), free(eps), free(cor), free(ex);
    free(acc), free(lo), free(hi), free(ch);
    write_chance(e, run);
    write_reference(e, run);
    write_outcomes(e, run);
    h5_close_group(e);
    h5_close_group(g);
}

static void write_sweep(hid_t f, const results_t *r) {
    const results_sweep_t *sw = &r->sweep;
    hid_t g = h5_group(f, "sweep");
    h5_attr_str(g, "config_hash", sw->config_hash);
    h5_attr_int(g, "n_expanded", sw->n_expanded);
    h5_attr_int(g, "shard_index", sw->shard_index);
    h5_attr_int(g, "shard_count", sw->shard_count);
    h5_attr_int(g, "ranks_per_run", sw->ranks_per_run);
    char *keys[RESULTS_MAX_AXES + 1];
    for (int a = 0; a < sw->n_axes; a++)
        keys[a] = (char *)sw->axis_keys[a];
    h5_write_strings(g, "axis_keys", keys, sw->n_axes);
    size_t nv = (size_t)r->n_runs * (size_t)sw->n_axes;
    char **vals = micl_calloc(nv + 1, sizeof(char *));
    char **ids = micl_calloc((size_t)r->n_runs + 1, sizeof(char *));
    for (int i = 0; i < r->n_runs; i++) {
        ids[i] = (char *)r->runs[i].id;
        for (int a = 0; a < sw->n_axes; a++)
            vals[(size_t)i * sw->n_axes + a] = (char *)r->runs[i].axis_values[a];
    }
    h5_write_strings(g, "axis_values", vals, (int64_t)nv);
    h5_write_strings(g, "run_ids", ids, r->n_runs);
    h5_write_strings(g, "stalls", sw->stalls, sw->n_stalls);
    free(vals);
    free(ids);
    h5_close_group(g);
}

static void read_sweep(hid_t f, const char *path, results_t *r) {
    results_sweep_t *sw = &r->sweep;
    hid_t g = H5Gopen2(f, "sweep", H5P_DEFAULT);
    if (g < 0) micl_fatal("%s: cannot open /sweep", path);
    sw->present = 1;
    char *s = h5_read_attr_str(g, "config_hash");
    snprintf(sw->config_hash, sizeof sw->config_hash, "%s", s);
    free(s);
    sw->n_expanded = h5_read_attr_int(g, "n_expanded");
    sw->shard_index = (int)h5_read_attr_int(g, "shard_index");
    sw->shard_count = (int)h5_read_attr_int(g, "shard_count");
    sw->ranks_per_run = (int)h5_read_attr_int(g, "ranks_per_run");
    int64_t na, nv, ni;
    char **keys = h5_read_strings(g, "axis_keys", &na);
    if (na > RESULTS_MAX_AXES)
        micl_fatal("%s: /sweep/axis_keys has %lld axes", path, (long long)na);
    sw->n_axes = (int)na;
    for (int a = 0; a < sw->n_axes; a++)
        snprintf(sw->axis_keys[a], sizeof sw->axis_keys[a], "%s", keys[a]);
    char **vals = h5_read_strings(g, "axis_values", &nv);
    char **ids = h5_read_strings(g, "run_ids", &ni);
    if (nv != (int64_t)r->n_runs * na || ni != r->n_runs)
        micl_fatal("%s: /sweep/axis_values or /sweep/run_ids do not match /run_names", path);
    for (int i = 0; i < r->n_runs; i++)
        for (int a = 0; a < sw->n_axes; a++)
            snprintf(r->runs[i].axis_values[a], sizeof r->runs[i].axis_values[a], "%s",
                     vals[(size_t)i * na + a]);
    int64_t ns;
    sw->stalls = h5_read_strings(g, "stalls", &ns);
    sw->n_stalls = (int)ns;
    for (int64_t i = 0; i < nv; i++)
        free(vals[i]);
    for (int64_t i = 0; i < na; i++)
        free(keys[i]);
    for (int64_t i = 0; i < ni; i++)
        free(ids[i]);
    free(vals), free(keys), free(ids);
    H5Gclose(g);
}

void results_header(results_t *r, char *config_text, const char *config_path, int world_size) {
    r->config_text = config_text;
    snprintf(r->config_path, sizeof r->config_path, "%s", config_path);
    r->world_size = world_size;
    r->threads = omp_get_max_threads();
    if (gethostname(r->hostname, sizeof r->hostname) != 0)
        snprintf(r->hostname, sizeof r->hostname, "?");
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(r->created, sizeof r->created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
}

void results_write(const char *path, const results_t *r) {
    atomic_file_t af;
    atomic_file_begin(&af, path);
    hid_t f = h5_create(af.tmp);
    h5_attr_int(f, "schema_version", RESULTS_SCHEMA_VERSION);
    h5_attr_str(f, "kind", "micl-results");
    h5_attr_str(f, "micl_version", MICL_VERSION);
    h5_attr_str(f, "config_path", r->config_path);
    h5_attr_str(f, "created", r->created);
    h5_attr_str(f, "hostname", r->hostname);
    h5_attr_int(f, "world_size", r->world_size);
    h5_attr_int(f, "threads", r->threads);
    h5_write_text(f, "config", r->config_text ? r->config_text : "");
    hid_t runs = h5_group(f, "runs");
    char **names = micl_calloc((size_t)r->n_runs + 1, sizeof(char *));
    for (int i = 0; i < r->n_runs; i++) {
        write_run(runs, &r->runs[i]);
        names[i] = (char *)r->runs[i].name;
    }
    h5_close_group(runs);
    h5_write_strings(f, "run_names", names, r->n_runs);
    free(names);
    if (r->sweep.present) write_sweep(f, r);
    h5_close_file(f, af.tmp);
    atomic_file_commit(&af);
}

/* The chance components of every row (NAN and "" in a file written before they existed). */
static void read_chance(hid_t e, run_result_t *run) {
    int n = run->n_rows;
    for (int i = 0; i < n; i++)
        run->rows[i].chance_random = run->rows[i].chance_constant = NAN;
    if (!h5_exists(e, "chance_random")) return;
    double *rnd = h5_read_f64(e, "chance_random", n, NULL);
    double *con = h5_read_f64(e, "chance_constant", n, NULL);
    int64_t na;
    char **ans = h5_read_strings(e, "constant_answer", &na);
    if (na != n)
        micl_fatal("results: %s/constant_answer has %lld rows, not %d", run->name, (long long)na,
                   n);
    for (int i = 0; i < n; i++) {
        run->rows[i].chance_random = rnd[i];
        run->rows[i].chance_constant = con[i];
        snprintf(run->rows[i].constant_answer, sizeof run->rows[i].constant_answer, "%s", ans[i]);
        free(ans[i]);
    }
    free(rnd), free(con), free(ans);
}

/* The references' counts (a file from before them has none: every row unscored); the
 * accuracies, intervals and best follow from them (results_row_finish, as when written). */
static void read_reference(const char *path, hid_t e, run_result_t *run) {
    int n = run->n_rows;
    for (int i = 0; i < n; i++)
        run->rows[i].ref_scored = 0;
    if (h5_exists(e, "reference_scored")) {
        int32_t *scored = h5_read_i32(e, "reference_scored", n, NULL);
        int64_t *nn = h5_read_i64(e, "reference_nn_correct", n, NULL);
        int64_t *mean = h5_read_i64(e, "reference_mean_correct", n, NULL);
        for (int i = 0; i < n; i++) {
            eval_row_t *r = &run->rows[i];
            if (scored[i] != 0 && scored[i] != 1)
                micl_fatal("%s: %s/eval/reference_scored[%d] is %d (0 or 1)", path, run->name, i,
                           (int)scored[i]);
            if (scored[i] &&
                (nn[i] < 0 || nn[i] > r->episodes || mean[i] < 0 || mean[i] > r->episodes))
                micl_fatal("%s: %s/eval row %d: reference counts outside 0..%lld", path, run->name,
                           i, (long long)r->episodes);
            r->ref_scored = scored[i];
            r->ref_nn_correct = nn[i];
            r->ref_mean_correct = mean[i];
        }
        free(scored), free(nn), free(mean);
    }
    for (int i = 0; i < n; i++)
        finish_reference(&run->rows[i]);
}

/* Checks that the per-prompt flags v of row i are 0 or 1 and sum to its count `want`. */
static void check_flags(const char *path, const char *name, const char *what, int i,
                        const uint8_t *v, int64_t n, int64_t want) {
    for (int64_t e = 0; e < n; e++)
        if (v[e] > 1)
            micl_fatal("%s: /runs/%s/eval/%s: row %d, prompt %lld is %d (0 or 1)", path, name, what,
                       i, (long long)e, (int)v[e]);
    if (count_flags(v, n) != want)
        micl_fatal("%s: /runs/%s/eval/%s: row %d sums to %lld, but its count is %lld", path, name,
                   what, i, (long long)count_flags(v, n), (long long)want);
}

/* The references' per-prompt outcomes (after the model's: total prompts), checked against the
 * rows' reference counts; a file written before them has none (the rows' paired gains are then
 * NaN). */
static void read_reference_outcomes(const char *path, const char *name, hid_t e, run_result_t *run,
                                    int64_t total) {
    int n = run->n_rows;
    if (!h5_exists(e, "episode_reference_nn")) {
        for (int i = 0; i < n; i++)
            results_row_free_reference_outcomes(&run->rows[i]);
        return;
    }
    uint8_t *nn = h5_read_u8(e, "episode_reference_nn", total, NULL);
    uint8_t *mean = h5_read_u8(e, "episode_reference_mean", total, NULL);
    int64_t at = 0;
    for (int i = 0; i < n; i++) {
        eval_row_t *r = &run->rows[i];
        size_t k = (size_t)r->episodes;
        if (k > 0) {
            memcpy(r->episode_ref_nn, nn + at, k);
            memcpy(r->episode_ref_mean, mean + at, k);
        }
        check_flags(path, name, "episode_reference_nn", i, r->episode_ref_nn, r->episodes,
                    r->ref_nn_correct);
        check_flags(path, name, "episode_reference_mean", i, r->episode_ref_mean, r->episodes,
                    r->ref_mean_correct);
        at += r->episodes;
    }
    free(nn), free(mean);
}

/* The per-prompt outcomes, checked against the rows' episode counts. */
static void read_outcomes(const char *path, const char *name, hid_t e, run_result_t *run) {
    int n = run->n_rows;
    int64_t total = 0;
    int64_t *start = h5_read_i64(e, "episode_start", n, NULL);
    for (int i = 0; i < n; i++) {
        if (run->rows[i].episodes < 0 || run->rows[i].episodes > INT64_C(1) << 40 ||
            start[i] != total)
            micl_fatal("%s: /runs/%s/eval/episode_start[%d] = %lld, expected %lld", path, name, i,
                       (long long)start[i], (long long)total);
        total += run->rows[i].episodes;
    }
    int64_t *group = h5_read_i64(e, "episode_group", total, NULL);
    uint8_t *cor = h5_read_u8(e, "episode_correct", total, NULL);
    uint8_t *ex = h5_read_u8(e, "episode_exact", total, NULL);
    for (int i = 0; i < n; i++) {
        eval_row_t *r = &run->rows[i];
        size_t k = (size_t)r->episodes;
        results_row_alloc_outcomes(r);
        if (k == 0) continue;
        memcpy(r->episode_group, group + start[i], k * sizeof(int64_t));
        memcpy(r->episode_correct, cor + start[i], k);
        memcpy(r->episode_exact, ex + start[i], k);
    }
    free(start), free(group), free(cor), free(ex);
    read_reference_outcomes(path, name, e, run, total);
}

static void read_run(const char *path, hid_t runs, const char *name, run_result_t *run) {
    memset(run, 0, sizeof *run);
    snprintf(run->name, sizeof run->name, "%s", name);
    if (!h5_exists(runs, name)) micl_fatal("%s: missing group /runs/%s", path, name);
    hid_t g = H5Gopen2(runs, name, H5P_DEFAULT);
    if (g < 0) micl_fatal("%s: /runs/%s is not a group", path, name);
    run->train_seconds = h5_read_attr_double(g, "train_seconds");
    run->eval_seconds = h5_read_attr_double(g, "eval_seconds");
    run->tokens_per_s = h5_read_attr_double(g, "tokens_per_s");
    run->steps = h5_read_attr_int(g, "steps");
    run->tokens = h5_read_attr_int(g, "tokens");
    if (h5_has_attr(g, "images")) { /* files from before the run statistics: 0 */
        run->images = h5_read_attr_int(g, "images");
        run->answers = h5_read_attr_int(g, "answers");
        run->targets = h5_read_attr_int(g, "targets");
        run->flops = h5_read_attr_double(g, "flops");
    }
    run->n_params = h5_read_attr_int(g, "n_params");
    char *ck = h5_read_attr_str(g, "checkpoint");
    snprintf(run->checkpoint, sizeof run->checkpoint, "%s", ck);
    free(ck);
    snprintf(run->device, sizeof run->device, "cpu"); /* files from before devices */
    snprintf(run->precision, sizeof run->precision, "fp32");
    if (h5_has_attr(g, "device")) {
        char *dev = h5_read_attr_str(g, "device"), *prec = h5_read_attr_str(g, "precision");
        snprintf(run->device, sizeof run->device, "%s", dev);
        snprintf(run->precision, sizeof run->precision, "%s", prec);
        free(dev);
        free(prec);
    }
    run->isa[0] = '\0';
    if (h5_has_attr(g, "isa")) {
        char *isa = h5_read_attr_str(g, "isa");
        snprintf(run->isa, sizeof run->isa, "%s", isa);
        free(isa);
    }
    if (h5_has_attr(g, "id")) {
        char *id = h5_read_attr_str(g, "id");
        snprintf(run->id, sizeof run->id, "%s", id);
        free(id);
        run->sweep_index = h5_read_attr_int(g, "sweep_index");
        run->config_text = h5_read_text(g, "config");
    }
    if (h5_exists(g, "stage_start")) {
        int64_t ns;
        int64_t *ss = h5_read_i64(g, "stage_start", -1, &ns);
        if (ns > 16)
            micl_fatal("results: /runs/%s/stage_start has %lld entries (at most 16)", name,
                       (long long)ns);
        if (ns > 0) memcpy(run->stage_start, ss, (size_t)ns * sizeof(int64_t));
        run->n_stages = (int)ns;
        free(ss);
    }
    hid_t e = H5Gopen2(g, "eval", H5P_DEFAULT);
    if (e < 0) micl_fatal("%s: missing group /runs/%s/eval", path, name);
    int64_t n, nd;
    char **bench = h5_read_strings(e, "benchmark", &n);
    if (n > RESULTS_MAX_ROWS)
        micl_fatal("%s: /runs/%s/eval has %lld rows, at most %d", path, name, (long long)n,
                   RESULTS_MAX_ROWS);
    char **data = h5_read_strings(e, "dataset", &nd);
    if (nd != n)
        micl_fatal("%s: /runs/%s/eval/dataset has %lld rows but benchmark has %lld", path, name,
                   (long long)nd, (long long)n);
    int32_t *ways = h5_read_i32(e, "ways", n, NULL), *shots = h5_read_i32(e, "shots", n, NULL);
    int64_t *eps = h5_read_i64(e, "episodes", n, NULL), *cor = h5_read_i64(e, "correct", n, NULL),
            *ex = h5_read_i64(e, "exact_match", n, NULL);
    double *acc = h5_read_f64(e, "accuracy", n, NULL), *lo = h5_read_f64(e, "ci_low", n, NULL),
           *hi = h5_read_f64(e, "ci_high", n, NULL), *ch = h5_read_f64(e, "chance", n, NULL);
    run->n_rows = (int)n;
    for (int64_t i = 0; i < n; i++) {
        eval_row_t *r = &run->rows[i];
        snprintf(r->benchmark, sizeof r->benchmark, "%s", bench[i]);
        snprintf(r->dataset, sizeof r->dataset, "%s", data[i]);
        r->ways = ways[i], r->shots = shots[i], r->episodes = eps[i], r->correct = cor[i];
        r->exact = ex[i], r->accuracy = acc[i], r->ci_low = lo[i], r->ci_high = hi[i];
        r->chance = ch[i];
        free(bench[i]);
        free(data[i]);
    }
    free(bench), free(data), free(ways), free(shots), free(eps), free(cor), free(ex);
    free(acc), free(lo), free(hi), free(ch);
    read_chance(e, run);
    read_reference(path, e, run);
    if (h5_exists(e, "episode_start")) read_outcomes(path, name, e, run);
    for (int i = 0; i < run->n_rows; i++) /* derived from the per-prompt outcomes, as written */
        finish_paired(&run->rows[i]);
    H5Gclose(e);
    if (h5_exists(g, "train")) {
        hid_t t = H5Gopen2(g, "train", H5P_DEFAULT);
        if (t < 0)
            micl_fatal("%s: cannot open group /runs/%s/train%s", path, name, h5_damage_words());
        curve_read(t, &run->curve);
        H5Gclose(t);
    }
    H5Gclose(g);
}

void results_read(const char *path, results_t *r) {
    memset(r, 0, sizeof *r);
    hid_t f = h5_open_ro(path);
    h5_check_kind(f, path, "micl-results", "results file", RESULTS_SCHEMA_VERSION);
    h5_verify_all(f); /* some datasets are rebuilt from others, not read */
    r->world_size = (int)h5_read_attr_int(f, "world_size");
    r->threads = (int)h5_read_attr_int(f, "threads");
    char *s = h5_read_attr_str(f, "hostname");
    snprintf(r->hostname, sizeof r->hostname, "%s", s);
    free(s);
    s = h5_read_attr_str(f, "created");
    snprintf(r->created, sizeof r->created, "%s", s);
    free(s);
    s = h5_read_attr_str(f, "config_path");
    snprintf(r->config_path, sizeof r->config_path, "%s", s);
    free(s);
    r->config_text = h5_read_text(f, "config");
    int64_t n;
    char **names = h5_read_strings(f, "run_names", &n);
    if (n > RESULTS_MAX_RUNS) micl_fatal("%s: too many runs (%lld)", path, (long long)n);
    hid_t runs = H5Gopen2(f, "runs", H5P_DEFAULT);
    if (runs < 0) micl_fatal("%s: missing group /runs", path);
    for (int64_t i = 0; i < n; i++) {
        read_run(path, runs, names[i], results_add_run(r));
        free(names[i]);
    }
    free(names);
    H5Gclose(runs);
    if (h5_exists(f, "sweep")) read_sweep(f, path, r);
    h5_close_file(f, path);
}

void results_free(results_t *r) {
    for (int i = 0; i < r->n_runs; i++)
        results_run_free(&r->runs[i]);
    free(r->runs);
    for (int i = 0; i < r->sweep.n_stalls; i++)
        free(r->sweep.stalls[i]);
    free(r->sweep.stalls);
    free(r->config_text);
    memset(r, 0, sizeof *r);
}

static int run_has_references(const run_result_t *run) {
    for (int i = 0; i < run->n_rows; i++)
        if (run->rows[i].ref_scored) return 1;
    return 0;
}

/* The paired gain over the pixel reader with its interval, "+0.043 [+0.020, +0.066]" (24
 * characters), "-" for a NaN part (no per-prompt reference outcomes, or one group). */
static void print_paired_gain(const eval_row_t *r, FILE *out) {
    if (isnan(r->gain_nn)) {
        fprintf(out, " %24s", "-");
    } else if (isnan(r->gain_nn_low) || isnan(r->gain_nn_high)) {
        fprintf(out, " %+6.3f %17s", r->gain_nn, "[-]");
    } else {
        fprintf(out, " %+6.3f [%+.3f, %+.3f]", r->gain_nn, r->gain_nn_low, r->gain_nn_high);
    }
}

/* The model-free references of the rows that have them (data/reference.h), the ranked
 * accuracy's gain over chance and over the better of the two, and the paired gain over the
 * pixel reader on the same prompts with its cluster-robust interval. */
static void print_references(const run_result_t *run, FILE *out) {
    if (!run_has_references(run)) return;
    fprintf(out, "  %-18s %-14s %4s %5s %22s %22s %8s %8s %24s\n", "model-free reference",
            "dataset", "ways", "shots", "pixel 1-NN [95%]", "class mean [95%]", "gain/ch",
            "gain/ref", "gain/nn [95%]");
    for (int i = 0; i < run->n_rows; i++) {
        const eval_row_t *r = &run->rows[i];
        if (!r->ref_scored) continue;
        fprintf(out, "  %-18s %-14s %4d %5d %7.3f [%.3f, %.3f] %7.3f [%.3f, %.3f] %+8.3f %+8.3f",
                r->benchmark, r->dataset, r->ways, r->shots, r->ref_nn, r->ref_nn_low,
                r->ref_nn_high, r->ref_mean, r->ref_mean_low, r->ref_mean_high,
                results_row_gain_chance(r), results_row_gain_reference(r));
        print_paired_gain(r, out);
        fputc('\n', out);
    }
}

/* One line per row: both scoring rules with their Wilson intervals, and the chance of the
 * cell (uniform guess among the candidates, best constant answer; '*' marks the larger, the
 * headline chance). A file without the two parts shows the headline chance alone. */
static void print_rows(const run_result_t *run, FILE *out) {
    fprintf(out, "  %-18s %-14s %4s %5s %8s %22s %22s %17s\n", "benchmark", "dataset", "ways",
            "shots", "episodes", "ranked [95% interval]", "exact [95% interval]",
            "chance rnd/const");
    for (int i = 0; i < run->n_rows; i++) {
        const eval_row_t *r = &run->rows[i];
        double xlo, xhi, x = results_row_exact(r, &xlo, &xhi);
        fprintf(out, "  %-18s %-14s %4d %5d %8lld %7.3f [%.3f, %.3f] %7.3f [%.3f, %.3f]",
                r->benchmark, r->dataset, r->ways, r->shots, (long long)r->episodes, r->accuracy,
                r->ci_low, r->ci_high, x, xlo, xhi);
        if (isnan(r->chance_random) || isnan(r->chance_constant)) {
            fprintf(out, " %7.3f\n", r->chance);
        } else {
            int rnd = r->chance_random >= r->chance_constant;
            fprintf(out, " %7.3f%s %7.3f%s", r->chance_random, rnd ? "*" : " ", r->chance_constant,
                    rnd ? " " : "*");
            if (r->constant_answer[0]) fprintf(out, " (%s)", r->constant_answer);
            fputc('\n', out);
        }
    }
    print_references(run, out);
}

/* Runs that trained carry their speed; a run only evaluated here (micl eval) has none, and
 * the table shows no training fields for it. */
static int run_trained(const run_result_t *run) {
    return run->tokens_per_s > 0 || run->train_seconds > 0;
}

/* 1 if two runs have the same rows' references (the same counts, cell for cell). */
static int same_references(const run_result_t *a, const run_result_t *b) {
    if (a->n_rows != b->n_rows) return 0;
    for (int i = 0; i < a->n_rows; i++) {
        const eval_row_t *x = &a->rows[i], *y = &b->rows[i];
        if (x->ref_scored != y->ref_scored || x->episodes != y->episodes || x->ways != y->ways ||
            x->shots != y->shots || strcmp(x->benchmark, y->benchmark) != 0 ||
            strcmp(x->dataset, y->dataset) != 0 || x->ref_nn_correct != y->ref_nn_correct ||
            x->ref_mean_correct != y->ref_mean_correct)
            return 0;
    }
    return 1;
}

/* Under a run's line of the summary, where it has references: the pixel 1-NN and class-mean
 * accuracies of the same episodes, per column ("-" where a cell has none). */
static void summary_references(const run_result_t *run, const run_result_t *first, int any_trained,
                               FILE *out) {
    if (!run_has_references(run)) return;
    for (int k = 0; k < REFERENCE_ROWS; k++) {
        fprintf(out, "| %-10s |", k == 0 ? "pixel 1-NN" : "class mean");
        for (int i = 0; i < first->n_rows; i++) {
            const eval_row_t *e = i < run->n_rows ? &run->rows[i] : NULL;
            if (e && e->ref_scored) {
                double a = k == 0 ? e->ref_nn : e->ref_mean;
                double hw = k == 0 ? (e->ref_nn_high - e->ref_nn_low) / 2
                                   : (e->ref_mean_high - e->ref_mean_low) / 2;
                fprintf(out, " %.3f ±%.3f |", a, hw);
            } else {
                fprintf(out, " - |");
            }
        }
        fprintf(out, any_trained ? " - |\n" : "\n");
    }
}

void results_print_table(const results_t *r, FILE *out) {
    if (r->n_runs == 0) return;
    int any_trained = 0;
    for (int k = 0; k < r->n_runs; k++)
        any_trained |= run_trained(&r->runs[k]);
    /* Summary: columns are the first run's rows. */
    const run_result_t *first = &r->runs[0];
    fprintf(out, "\n| %-10s |", "run");
    for (int i = 0; i < first->n_rows; i++) {
        const eval_row_t *e = &first->rows[i];
        char col[48];
        if (strcmp(e->benchmark, "zeroshot") == 0)
            snprintf(col, sizeof col, "zero-shot %d-way", e->ways);
        else
            snprintf(col, sizeof col, "%s%s%d-way %d-shot",
                     strcmp(e->benchmark, "binding") ? e->benchmark : "",
                     strcmp(e->benchmark, "binding") ? " " : "", e->ways, e->shots);
        fprintf(out, " %s |", col);
    }
    fprintf(out, any_trained ? " tokens/s |\n|------------|" : "\n|------------|");
    for (int i = 0; i < first->n_rows; i++)
        fprintf(out, "---|");
    fprintf(out, any_trained ? "---|\n" : "\n");
    for (int k = 0; k < r->n_runs; k++) {
        const run_result_t *run = &r->runs[k];
        fprintf(out, "| %-10s |", run->name);
        for (int i = 0; i < first->n_rows; i++) {
            const eval_row_t *e = i < run->n_rows ? &run->rows[i] : NULL;
            if (e)
                fprintf(out, " %.3f ±%.3f |", e->accuracy, (e->ci_high - e->ci_low) / 2);
            else
                fprintf(out, " - |");
        }
        if (!any_trained)
            fprintf(out, "\n");
        else if (run->tokens_per_s > 0)
            fprintf(out, " %.0f |\n", run->tokens_per_s);
        else
            fprintf(out, " - |\n");
        /* a run's references, unless the next run's are the same (same episodes): once under
         * the last run of each such group */
        if (k + 1 == r->n_runs || !same_references(run, &r->runs[k + 1]))
            summary_references(run, first, any_trained, out);
    }
    fprintf(out, "\n");
    for (int k = 0; k < r->n_runs; k++) {
        const run_result_t *run = &r->runs[k];
        if (run_trained(run))
            fprintf(out,
                    "run %s: %lld steps, %lld params, train %.1f s, eval %.1f s, %.0f tokens/s\n",
                    run->name, (long long)run->steps, (long long)run->n_params, run->train_seconds,
                    run->eval_seconds, run->tokens_per_s);
        else
            fprintf(out, "run %s: checkpoint of %lld steps, %lld params, eval %.1f s\n", run->name,
                    (long long)run->steps, (long long)run->n_params, run->eval_seconds);
        print_rows(run, out);
    }
}

void results_print_csv(const results_t *r, FILE *out) {
    fprintf(out, "run,benchmark,dataset,ways,shots,episodes,correct,accuracy,ci_low,ci_high,chance,"
                 "exact_match,exact_accuracy,exact_ci_low,exact_ci_high,chance_random,"
                 "chance_constant,reference_nn_accuracy,reference_nn_ci_low,reference_nn_ci_high,"
                 "reference_mean_accuracy,reference_mean_ci_low,reference_mean_ci_high,"
                 "reference_best,gain_over_chance,gain_over_reference,gain_over_nn,"
                 "gain_over_nn_ci_low,gain_over_nn_ci_high\n");
    for (int k = 0; k < r->n_runs; k++) {
        const run_result_t *run = &r->runs[k];
        for (int i = 0; i < run->n_rows; i++) {
            const eval_row_t *e = &run->rows[i];
            double xlo, xhi, x = results_row_exact(e, &xlo, &xhi);
            fprintf(out,
                    "%s,%s,%s,%d,%d,%lld,%lld,%.6f,%.6f,%.6f,%.6f,%lld,%.6f,%.6f,%.6f,%.6f,%.6f",
                    run->name, e->benchmark, e->dataset, e->ways, e->shots, (long long)e->episodes,
                    (long long)e->correct, e->accuracy, e->ci_low, e->ci_high, e->chance,
                    (long long)e->exact, x, xlo, xhi, e->chance_random, e->chance_constant);
            fprintf(out, ",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f", e->ref_nn, e->ref_nn_low,
                    e->ref_nn_high, e->ref_mean, e->ref_mean_low, e->ref_mean_high, e->ref_best,
                    results_row_gain_chance(e), results_row_gain_reference(e));
            fprintf(out, ",%.6f,%.6f,%.6f\n", e->gain_nn, e->gain_nn_low, e->gain_nn_high);
        }
    }
}

/* ---- JSON (json_out.h) ------------------------------------------------------------------ */

static json_t *json_int64s(const int64_t *v, int64_t n) {
    json_t *a = json_out_array();
    for (int64_t i = 0; i < n; i++)
        json_out_append(a, json_out_int(v[i]));
    return a;
}

static json_t *json_curve(const curve_t *c) {
    const char *names[] = {"loss", "lr", "grad_norm", "tokens_per_s", "train_icl_acc"};
    const double *cols[] = {c->loss, c->lr, c->grad_norm, c->tokens_per_s, c->train_icl_acc};
    json_t *o = json_out_object(), *stage = json_out_array();
    json_out_set(o, "step", json_int64s(c->step, c->n));
    for (int64_t i = 0; i < c->n; i++)
        json_out_append(stage, json_out_int(c->stage[i]));
    json_out_set(o, "stage", stage);
    for (int k = 0; k < 5; k++) {
        json_t *col = json_out_array();
        for (int64_t i = 0; i < c->n; i++)
            json_out_append(col, json_out_real(cols[k][i]));
        json_out_set(o, names[k], col);
    }
    return o;
}

/* The per-prompt outcomes of a row as a JSON list of 0/1. */
static json_t *json_flags(const uint8_t *v, int64_t n) {
    json_t *a = json_out_array();
    for (int64_t i = 0; i < n; i++)
        json_out_append(a, json_out_int(v[i]));
    return a;
}

static json_t *json_row(const eval_row_t *e) {
    json_t *o = json_out_object();
    json_out_set_string(o, "benchmark", e->benchmark);
    json_out_set_string(o, "dataset", e->dataset);
    json_out_set_int(o, "ways", e->ways);
    json_out_set_int(o, "shots", e->shots);
    json_out_set_int(o, "episodes", e->episodes);
    json_out_set_int(o, "correct", e->correct);
    json_out_set_int(o, "exact_match", e->exact);
    double xlo, xhi, x = results_row_exact(e, &xlo, &xhi);
    const char *names[] = {"accuracy",      "ci_low",         "ci_high",
                           "chance",        "exact_accuracy", "exact_ci_low",
                           "exact_ci_high", "chance_random",  "chance_constant"};
    const double vals[] = {e->accuracy, e->ci_low, e->ci_high,       e->chance,         x,
                           xlo,         xhi,       e->chance_random, e->chance_constant};
    for (int k = 0; k < 9; k++)
        json_out_set_real(o, names[k], vals[k]);
    json_out_set_string(o, "constant_answer", e->constant_answer);
    /* the model-free references (null where the cell has none) and the gains */
    json_out_set_int(o, "reference_scored", e->ref_scored);
    json_out_set_int(o, "reference_nn_correct", e->ref_nn_correct);
    json_out_set_int(o, "reference_mean_correct", e->ref_mean_correct);
    const char *rnames[] = {"reference_nn_accuracy", "reference_nn_ci_low",
                            "reference_nn_ci_high",  "reference_mean_accuracy",
                            "reference_mean_ci_low", "reference_mean_ci_high",
                            "reference_best",        "gain_over_chance",
                            "gain_over_reference",   "gain_over_nn",
                            "gain_over_nn_ci_low",   "gain_over_nn_ci_high"};
    const double rvals[] = {e->ref_nn,
                            e->ref_nn_low,
                            e->ref_nn_high,
                            e->ref_mean,
                            e->ref_mean_low,
                            e->ref_mean_high,
                            e->ref_best,
                            results_row_gain_chance(e),
                            results_row_gain_reference(e),
                            e->gain_nn,
                            e->gain_nn_low,
                            e->gain_nn_high};
    for (int k = 0; k < 12; k++)
        json_out_set_real(o, rnames[k], rvals[k]);
    if (e->episode_group) {
        json_out_set(o, "episode_group", json_int64s(e->episode_group, e->episodes));
        json_out_set(o, "episode_correct", json_flags(e->episode_correct, e->episodes));
        json_out_set(o, "episode_exact", json_flags(e->episode_exact, e->episodes));
    }
    if (e->episode_group && e->episode_ref_nn) { /* absent in a file written before them */
        json_out_set(o, "episode_reference_nn", json_flags(e->episode_ref_nn, e->episodes));
        json_out_set(o, "episode_reference_mean", json_flags(e->episode_ref_mean, e->episodes));
    }
    return o;
}

static json_t *json_run(const run_result_t *run) {
    json_t *o = json_out_object(), *rows = json_out_array();
    json_out_set_string(o, "name", run->name);
    json_out_set_int(o, "steps", run->steps);
    json_out_set_int(o, "tokens", run->tokens);
    json_out_set_int(o, "n_params", run->n_params);
    json_out_set_real(o, "train_seconds", run->train_seconds);
    json_out_set_real(o, "eval_seconds", run->eval_seconds);
    json_out_set_real(o, "tokens_per_s", run->tokens_per_s);
    json_out_set_string(o, "checkpoint", run->checkpoint);
    json_out_set(o, "curve", json_curve(&run->curve));
    for (int i = 0; i < run->n_rows; i++)
        json_out_append(rows, json_row(&run->rows[i]));
    json_out_set(o, "eval", rows);
    return o;
}

void results_print_json(const results_t *r, FILE *out) {
    json_t *head = json_out_object();
    json_out_set_int(head, "schema_version", RESULTS_SCHEMA_VERSION);
    json_out_set_string(head, "config_path", r->config_path);
    json_out_set_string(head, "created", r->created);
    json_out_set_string(head, "hostname", r->hostname);
    json_out_set_int(head, "world_size", r->world_size);
    json_out_set_int(head, "threads", r->threads);
    json_out_set_string(head, "config", r->config_text ? r->config_text : "");
    json_out_list_t runs;
    json_out_list_begin(&runs, out, "the JSON report", head, "runs", "  ");
    for (int k = 0; k < r->n_runs; k++)
        json_out_list_add(&runs, json_run(&r->runs[k]));
    json_out_list_end(&runs);
}
