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

#define RESULTS_SCHEMA_VERSION 1
#define RESULTS_MAX_RUNS 8
#define RESULTS_MAX_ROWS 128

typedef struct {
    char benchmark[32]; /* "binding", "zeroshot", "cross_domain" */
    char dataset[64];   /* store source name */
    int ways, shots;
    int64_t episodes, correct, exact;
    double accuracy, ci_low, ci_high; /* Wilson 95% interval */
    double chance;
} eval_row_t;

typedef struct {
    int64_t n, cap;
    int64_t *step;
    int32_t *stage;
    double *loss, *lr, *grad_norm, *tokens_per_s, *train_icl_acc;
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
    int64_t n_params;
    char checkpoint[512];
    int preempted; /* training stopped by a signal before its last step (not stored) */
} run_result_t;

typedef struct {
    char *config_text;
    char config_path[512];
    int world_size, threads;
    char hostname[128];
    char created[64];
    int n_runs;
    run_result_t runs[RESULTS_MAX_RUNS];
} results_t;

void curve_push(curve_t *c, int64_t step, int stage, double loss, double lr, double gnorm,
                double tps, double acc);
void curve_free(curve_t *c);
/* The curve's datasets (step, stage, loss, lr, grad_norm, tokens_per_s, train_icl_acc) in
 * group g; curve_read replaces *c with what g holds. Used by results and checkpoint files. */
void curve_write(hid_t g, const curve_t *c);
void curve_read(hid_t g, curve_t *c);

/* Wilson score interval for k successes out of n at 95%. */
void results_wilson(int64_t k, int64_t n, double *lo, double *hi);

void results_write(const char *path, const results_t *r);
void results_read(const char *path, results_t *r);
void results_free(results_t *r);
/* The summary table: one row per run, one column per (benchmark, ways, shots). */
void results_print_table(const results_t *r, FILE *out);
void results_print_csv(const results_t *r, FILE *out);
/* The whole file as one JSON object: header, and per run its counters, stage starts, curve and
 * evaluation rows. */
void results_print_json(const results_t *r, FILE *out);

#endif
