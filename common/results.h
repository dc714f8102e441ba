/* results.h - the results file: config text, training curves, evaluation tables, timing.
 *
 * Rank 0 alone writes it, whole, to "<path>.tmp" and renames, after every finished run, so
 * the file on disk is always complete. Schema in docs/RESULTS.md (schema_version attribute).
 */
#ifndef MICL_RESULTS_H
#define MICL_RESULTS_H

#include <stdint.h>
#include <stdio.h>

#include "h5util.h"

#define RESULTS_SCHEMA_VERSION 2 /* 2: the checksummed format (h5util.h) */
#define RESULTS_MAX_RUNS 4096    /* most runs a results file may hold */
#define RESULTS_MAX_ROWS 128
#define RESULTS_MAX_AXES 8

/* One evaluation cell. `episodes` counts its prompts (an order-averaged benchmark scores each
 * episode twice); `correct` those right under candidate ranking, `exact` those whose answer is
 * what greedy decoding produces (every token the argmax over the vocabulary). */
typedef struct {
    char benchmark[32]; /* "binding", "zeroshot", "cross_domain" */
    char dataset[64];   /* store source name */
    int ways, shots;
    int64_t episodes, correct, exact;
    double accuracy, ci_low, ci_high;      /* ranked accuracy, Wilson 95% interval */
    double chance;                         /* max(chance_random, chance_constant) */
    double chance_random, chance_constant; /* benchmark_cell_chance on the episodes drawn */
    char constant_answer[64];              /* the answer chance_constant always gives */
    /* Model-free references on the same prompts (data/reference.h): pixel 1-NN and nearest
     * class mean, right counts and Wilson 95% intervals. ref_scored 0: the cell has none (no
     * demonstration, a family without readers, a file written before them); the values are
     * then NaN (results_row_finish). ref_best is the larger reference accuracy. */
    int ref_scored;
    int64_t ref_nn_correct, ref_mean_correct;
    double ref_nn, ref_nn_low, ref_nn_high, ref_mean, ref_mean_low, ref_mean_high, ref_best;
    /* Per prompt [episodes], in prompt order, owned by the row (NULL in a file written before
     * they existed): the resampling group of its episode, right under ranking, exact match. */
    int64_t *episode_group;
    uint8_t *episode_correct, *episode_exact;
    /* Per prompt [episodes], the references' outcomes: 1 if the pixel 1-NN (the class-mean)
     * reader answers the prompt right; all 0 where ref_scored is 0. Allocated with the outcomes
     * above; NULL in a file written before them (the paired gain is then NaN). */
    uint8_t *episode_ref_nn, *episode_ref_mean;
    /* The paired gain over the pixel 1-NN reader on the same prompts: the mean over the prompts
     * of episode_correct - episode_ref_nn and its 95% interval, cluster-robust over
     * episode_group (docs/RESULTS.md); NaN without references or their per-prompt outcomes
     * (results_row_finish, and results_read as when written). */
    double gain_nn, gain_nn_low, gain_nn_high;
} eval_row_t;

typedef struct {
    int64_t n, cap;
    int64_t *step;
    int32_t *stage;
    double *loss, *lr, *grad_norm, *tokens_per_s, *train_icl_acc;
    /* gradient L2 norm per parameter tensor at each point: tensor_norm[point * n_tensors + i] */
    int n_tensors;
    char **tensor_names;
    double *tensor_norm;
} curve_t;

typedef struct {
    char name[64];
    curve_t curve;
    int n_rows;
    eval_row_t rows[RESULTS_MAX_ROWS];
    int n_stages;
    int64_t stage_start[16];
    double train_seconds, eval_seconds, tokens_per_s;
    int64_t steps, tokens;
    int64_t images, answers, targets; /* trained on: images, scored answers, answer tokens */
    double flops;                     /* training FLOPs estimate (vlm_train_flops) */
    int64_t n_params;
    char checkpoint[512];
    int preempted; /* training stopped by a signal before its last step (not stored) */
    /* what computed it: the backend ("cpu", "cuda") and the products' precision ("fp32",
     * "bf16"); "" is written as cpu / fp32, and a file from before devices reads as those */
    char device[16], precision[16];
    /* the kernels' instruction set ("avx512", "avx2", "scalar" on the CPU; any gives the same
     * bits); "" is not written, and a file from before reads as "" */
    char isa[16];
    /* sweep runs only (config_text NULL otherwise) */
    char id[24];         /* hash of the resolved config, 16 hex digits */
    int64_t sweep_index; /* position in the sweep's expansion */
    char *config_text;   /* the run's resolved config */
    char axis_values[RESULTS_MAX_AXES][64];
} run_result_t;

/* What a sweep results file says about its sweep (present = 0 for `micl train` files). */
typedef struct {
    int present;
    char config_hash[24]; /* hash of the sweep config text: shards of one sweep share it */
    int64_t n_expanded;   /* runs of the whole sweep */
    int shard_index, shard_count;
    int ranks_per_run;
    int n_axes;
    char axis_keys[RESULTS_MAX_AXES][64];
    int n_stalls;
    char **stalls; /* stall reports of the coordinator, in order */
} results_sweep_t;

typedef struct {
    char *config_text;
    char config_path[512];
    int world_size, threads;
    char hostname[128];
    char created[64];
    int n_runs, cap_runs;
    run_result_t *runs; /* [n_runs], owned */
    results_sweep_t sweep;
} results_t;

/* Allocates row->episodes zeroed per-prompt outcomes (episode_group/correct/exact, and the
 * references' episode_ref_nn/mean). */
void results_row_alloc_outcomes(eval_row_t *row);
/* Frees a row's per-prompt reference outcomes alone (a row read from, or merged out of, a file
 * written before them). */
void results_row_free_reference_outcomes(eval_row_t *row);
/* Frees a row's per-prompt outcomes. */
void results_row_free(eval_row_t *row);
/* Sets the row's counts, accuracy and Wilson interval from its per-prompt outcomes, chance
 * from chance_random and chance_constant, the reference counts from their per-prompt outcomes
 * (where the row has them), the reference accuracies, intervals and best from their counts (NaN
 * where ref_scored is 0), and the paired gain over the pixel reader with its interval. */
void results_row_finish(eval_row_t *row);
/* The ICL gain of a row: its ranked accuracy minus its chance, and minus the best model-free
 * reference (NaN where the cell has none). */
double results_row_gain_chance(const eval_row_t *row);
double results_row_gain_reference(const eval_row_t *row);
/* Exact-match accuracy of a row and its Wilson 95% interval. */
double results_row_exact(const eval_row_t *row, double *lo, double *hi);

/* A new zeroed run record at the end of r->runs (the array may move). */
run_result_t *results_add_run(results_t *r);
/* Frees the curve, config text and rows' outcomes of one run record. */
void results_run_free(run_result_t *run);
/* Deep copy of a run record. */
void results_run_copy(run_result_t *dst, const run_result_t *src);

void curve_push(curve_t *c, int64_t step, int stage, double loss, double lr, double gnorm,
                double tps, double acc);
void curve_free(curve_t *c);
/* Names the parameter tensors of the per-tensor gradient norms; then every curve_push is followed
 * by one curve_push_tensor_norms with n_tensors values. */
void curve_set_tensors(curve_t *c, int n_tensors, const char *const *names);
void curve_push_tensor_norms(curve_t *c, const double *norms);
void curve_copy(curve_t *dst, const curve_t *src);
/* The curve's datasets (step, stage, loss, lr, grad_norm, tokens_per_s, train_icl_acc) in
 * group g; curve_read replaces *c with what g holds. Used by results and checkpoint files. */
void curve_write(hid_t g, const curve_t *c);
void curve_read(hid_t g, curve_t *c);

/* Wilson score interval for k successes out of n at 95%. */
void results_wilson(int64_t k, int64_t n, double *lo, double *hi);

/* The header of a results file about to be written: the config's text and path, the world
 * size, this process's OpenMP thread count, the host name and the UTC time now. */
void results_header(results_t *r, char *config_text, const char *config_path, int world_size);
void results_write(const char *path, const results_t *r);
void results_read(const char *path, results_t *r);
void results_free(results_t *r);
/* The summary table: one row per run, one column per (benchmark, ways, shots). */
void results_print_table(const results_t *r, FILE *out);
void results_print_csv(const results_t *r, FILE *out);
/* The whole file as one JSON object (json_out.h): header, and per run, on a line of its own, its
 * counters, curve and evaluation rows. */
void results_print_json(const results_t *r, FILE *out);

#endif
