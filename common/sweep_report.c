/* sweep_report.c - per-run and grouped tables of a sweep results file (see sweep_report.h).
 *
 * The evaluation cells (benchmark, ways, shots) are those of the first run; a run lacking a
 * cell contributes nothing to it. Spread is the sample standard deviation (0 for one run).
 * Every cell is reported under both scoring rules: ranking among the episode's candidates
 * (`correct`) and open-ended exact match (`exact_match`, greedy decoding), beside the better
 * of the model-free references of the same episodes (`reference_best`, data/reference.h; NaN,
 * shown as "-", where a cell has none).
 */
#define _POSIX_C_SOURCE 200809L
#include "sweep_report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json_out.h"

typedef struct {
    int n_keys;
    int keys[RESULTS_MAX_AXES]; /* axis indices grouped by */
    int n_groups;
    int *group_of; /* per run */
    int *first;    /* per group: its first run (for the axis values) */
} grouping_t;

static void cell_label(const eval_row_t *e, char *out, size_t size) {
    if (strcmp(e->benchmark, "zeroshot") == 0)
        snprintf(out, size, "zeroshot %d-way", e->ways);
    else
        snprintf(out, size, "%s %d-way %d-shot", e->benchmark, e->ways, e->shots);
}

/* The two scoring rules, and the best model-free reference of the cell's episodes. */
typedef enum { RULE_RANKED = 0, RULE_EXACT = 1, RULE_REFERENCE = 2 } rule_t;

/* The accuracy of run's cell matching `ref` under a scoring rule, or NAN. */
static double cell_accuracy(const run_result_t *run, const eval_row_t *ref, rule_t rule) {
    for (int i = 0; i < run->n_rows; i++) {
        const eval_row_t *e = &run->rows[i];
        if (e->ways == ref->ways && e->shots == ref->shots &&
            !strcmp(e->benchmark, ref->benchmark) && !strcmp(e->dataset, ref->dataset)) {
            if (rule == RULE_RANKED) return e->accuracy;
            if (rule == RULE_REFERENCE) return e->ref_scored ? e->ref_best : NAN;
            return e->episodes > 0 ? (double)e->exact / (double)e->episodes : NAN;
        }
    }
    return NAN;
}

static int axis_index(const results_sweep_t *sw, const char *key) {
    for (int a = 0; a < sw->n_axes; a++)
        if (strcmp(sw->axis_keys[a], key) == 0) return a;
    return -1;
}

static void parse_keys(const results_t *r, const char *path, const char *group_by, grouping_t *g) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", group_by);
    g->n_keys = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int a = axis_index(&r->sweep, t);
        if (a < 0) {
            char axes[512] = "";
            for (int k = 0; k < r->sweep.n_axes; k++)
                snprintf(axes + strlen(axes), sizeof axes - strlen(axes), "%s%s", k ? ", " : "",
                         r->sweep.axis_keys[k]);
            micl_fatal("--group-by: %s has no axis '%s' (its axes: %s)", path, t, axes);
        }
        if (g->n_keys == RESULTS_MAX_AXES) micl_fatal("--group-by: too many axes");
        g->keys[g->n_keys++] = a;
    }
    if (g->n_keys == 0) micl_fatal("--group-by: no axis given");
}

static int same_group(const grouping_t *g, const run_result_t *a, const run_result_t *b) {
    for (int k = 0; k < g->n_keys; k++)
        if (strcmp(a->axis_values[g->keys[k]], b->axis_values[g->keys[k]]) != 0) return 0;
    return 1;
}

static void group_runs(const results_t *r, grouping_t *g) {
    g->group_of = micl_malloc((size_t)(r->n_runs ? r->n_runs : 1) * sizeof(int));
    g->first = micl_malloc((size_t)(r->n_runs ? r->n_runs : 1) * sizeof(int));
    g->n_groups = 0;
    for (int i = 0; i < r->n_runs; i++) {
        int found = -1;
        for (int j = 0; j < g->n_groups && found < 0; j++)
            if (same_group(g, &r->runs[g->first[j]], &r->runs[i])) found = j;
        if (found < 0) {
            found = g->n_groups++;
            g->first[found] = i;
        }
        g->group_of[i] = found;
    }
}

/* Mean and sample standard deviation of cell c under `rule` over group j; returns the number
 * of runs. */
static int group_stats(const results_t *r, const grouping_t *g, int j, const eval_row_t *c,
                       rule_t rule, double *mean, double *sd) {
    double sum = 0, ss = 0;
    int n = 0;
    for (int i = 0; i < r->n_runs; i++) {
        double a = g->group_of[i] == j ? cell_accuracy(&r->runs[i], c, rule) : NAN;
        if (isnan(a)) continue;
        sum += a;
        n++;
    }
    *mean = n ? sum / n : NAN;
    for (int i = 0; i < r->n_runs; i++) {
        double a = g->group_of[i] == j ? cell_accuracy(&r->runs[i], c, rule) : NAN;
        if (!isnan(a)) ss += (a - *mean) * (a - *mean);
    }
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    return n;
}

/* ---- one row per run ------------------------------------------------------------------- */

/* The |---|---| line under a Markdown table header of n columns. */
static void rule_line(int n, FILE *out) {
    for (int i = 0; i < n; i++)
        fputs("|---", out);
    fputs("|\n", out);
}

/* One run as JSON: name, id, sweep index, steps, its axis values and the accuracy of every cell
 * under both rules. */
static json_t *json_run(const results_t *r, const run_result_t *run) {
    const results_sweep_t *sw = &r->sweep;
    const run_result_t *first = &r->runs[0];
    char label[96];
    json_t *o = json_out_object(), *axes = json_out_object();
    json_out_set_string(o, "name", run->name);
    json_out_set_string(o, "id", run->id);
    json_out_set_int(o, "sweep_index", run->sweep_index);
    json_out_set_int(o, "steps", run->steps);
    for (int a = 0; a < sw->n_axes; a++)
        json_out_set_string(axes, sw->axis_keys[a], run->axis_values[a]);
    json_out_set(o, "axes", axes);
    static const char *const keys[] = {"accuracy", "exact", "reference"};
    for (int rule = RULE_RANKED; rule <= RULE_REFERENCE; rule++) {
        json_t *cells = json_out_object();
        for (int c = 0; c < first->n_rows; c++) {
            cell_label(&first->rows[c], label, sizeof label);
            json_out_set_real(cells, label, cell_accuracy(run, &first->rows[c], (rule_t)rule));
        }
        json_out_set(o, keys[rule], cells);
    }
    return o;
}

static void print_runs(const results_t *r, sweep_report_format_t f, FILE *out) {
    const results_sweep_t *sw = &r->sweep;
    const run_result_t *first = &r->runs[0];
    char label[96];
    if (f == SWEEP_REPORT_JSON) {
        json_out_list_t l;
        json_out_list_begin(&l, out, "the JSON report", NULL, "runs", "  ");
        for (int i = 0; i < r->n_runs; i++)
            json_out_list_add(&l, json_run(r, &r->runs[i]));
        json_out_list_end(&l);
        return;
    }
    /* the table shows "ranked / exact" per cell; CSV has the exact-match columns after the
     * ranked ones, named "<cell> exact", then the best references, "<cell> reference" */
    int csv = f == SWEEP_REPORT_CSV;
    const char *sep = csv ? "," : " | ";
    if (!csv) fputs("accuracy per cell: ranked among the candidates / exact match\n\n", out);
    fputs(csv ? "run,id" : "| run | id", out);
    for (int a = 0; a < sw->n_axes; a++)
        fprintf(out, "%s%s", sep, sw->axis_keys[a]);
    static const char *const suffix[] = {"", " exact", " reference"};
    for (int rule = RULE_RANKED; rule <= (csv ? RULE_REFERENCE : RULE_RANKED); rule++)
        for (int c = 0; c < first->n_rows; c++) {
            cell_label(&first->rows[c], label, sizeof label);
            fprintf(out, "%s%s%s", sep, label, suffix[rule]);
        }
    fputs(csv ? "\n" : " |\n", out);
    if (!csv) rule_line(2 + sw->n_axes + first->n_rows, out);
    for (int i = 0; i < r->n_runs; i++) {
        const run_result_t *run = &r->runs[i];
        fprintf(out, "%s%s%s%s", csv ? "" : "| ", run->name, sep, run->id);
        for (int a = 0; a < sw->n_axes; a++)
            fprintf(out, "%s%s", sep, run->axis_values[a]);
        for (int rule = RULE_RANKED; rule <= (csv ? RULE_REFERENCE : RULE_RANKED); rule++)
            for (int c = 0; c < first->n_rows; c++) {
                const eval_row_t *cell = &first->rows[c];
                if (csv)
                    fprintf(out, "%s%.6f", sep, cell_accuracy(run, cell, (rule_t)rule));
                else
                    fprintf(out, "%s%.3f / %.3f", sep, cell_accuracy(run, cell, RULE_RANKED),
                            cell_accuracy(run, cell, RULE_EXACT));
            }
        fputs(csv ? "\n" : " |\n", out);
    }
}

/* ---- grouped ----------------------------------------------------------------------------- */

static void group_name(const results_t *r, const grouping_t *g, int j, const char *sep, char *out,
                       size_t size) {
    out[0] = '\0';
    for (int k = 0; k < g->n_keys; k++) {
        int a = g->keys[k];
        snprintf(out + strlen(out), size - strlen(out), "%s%s=%s", k ? sep : "",
                 r->sweep.axis_keys[a], r->runs[g->first[j]].axis_values[a]);
    }
}

/* Group j as JSON: its axis values and per cell the runs, mean and sd under both rules. */
static json_t *json_group(const results_t *r, const grouping_t *g, int j) {
    const run_result_t *first = &r->runs[0];
    char label[96];
    double mean, sd;
    json_t *o = json_out_object(), *axes = json_out_object(), *cells = json_out_array();
    for (int k = 0; k < g->n_keys; k++)
        json_out_set_string(axes, r->sweep.axis_keys[g->keys[k]],
                            r->runs[g->first[j]].axis_values[g->keys[k]]);
    json_out_set(o, "axes", axes);
    for (int c = 0; c < first->n_rows; c++) {
        json_t *cell = json_out_object();
        int n = group_stats(r, g, j, &first->rows[c], RULE_RANKED, &mean, &sd);
        cell_label(&first->rows[c], label, sizeof label);
        json_out_set_string(cell, "cell", label);
        json_out_set_int(cell, "runs", n);
        json_out_set_real(cell, "mean", mean);
        json_out_set_real(cell, "sd", sd);
        group_stats(r, g, j, &first->rows[c], RULE_EXACT, &mean, &sd);
        json_out_set_real(cell, "exact_mean", mean);
        json_out_set_real(cell, "exact_sd", sd);
        group_stats(r, g, j, &first->rows[c], RULE_REFERENCE, &mean, &sd);
        json_out_set_real(cell, "reference_mean", mean);
        json_out_set_real(cell, "reference_sd", sd);
        json_out_append(cells, cell);
    }
    json_out_set(o, "cells", cells);
    return o;
}

/* Under group j's line of the grouped table, where its runs have references: the best
 * model-free reference per cell, mean ±sd over the runs ("-" where a cell has none). */
static void print_group_reference(const results_t *r, const grouping_t *g, int j, const char *name,
                                  FILE *out) {
    const run_result_t *first = &r->runs[0];
    double mean, sd;
    int any = 0;
    for (int c = 0; c < first->n_rows; c++)
        any |= group_stats(r, g, j, &first->rows[c], RULE_REFERENCE, &mean, &sd) > 0;
    if (!any) return;
    fprintf(out, "| %s best model-free reference | ", name);
    int runs = 0;
    for (int i = 0; i < r->n_runs; i++)
        runs += g->group_of[i] == j;
    fprintf(out, "%d", runs);
    for (int c = 0; c < first->n_rows; c++) {
        if (group_stats(r, g, j, &first->rows[c], RULE_REFERENCE, &mean, &sd) > 0)
            fprintf(out, " | %.3f ±%.3f", mean, sd);
        else
            fputs(" | -", out);
    }
    fputs(" |\n", out);
}

static void print_groups(const results_t *r, const grouping_t *g, sweep_report_format_t f,
                         FILE *out) {
    const run_result_t *first = &r->runs[0];
    char label[96], name[512];
    double mean, sd;
    if (f == SWEEP_REPORT_JSON) {
        json_out_list_t l;
        json_out_list_begin(&l, out, "the JSON report", NULL, "groups", "  ");
        for (int j = 0; j < g->n_groups; j++)
            json_out_list_add(&l, json_group(r, g, j));
        json_out_list_end(&l);
        return;
    }
    if (f == SWEEP_REPORT_CSV) {
        fputs("group,cell,runs,mean,sd,exact_mean,exact_sd,reference_mean,reference_sd\n", out);
        for (int j = 0; j < g->n_groups; j++)
            for (int c = 0; c < first->n_rows; c++) {
                double xmean, xsd, rmean, rsd;
                int n = group_stats(r, g, j, &first->rows[c], RULE_RANKED, &mean, &sd);
                group_stats(r, g, j, &first->rows[c], RULE_EXACT, &xmean, &xsd);
                group_stats(r, g, j, &first->rows[c], RULE_REFERENCE, &rmean, &rsd);
                group_name(r, g, j, ";", name, sizeof name);
                cell_label(&first->rows[c], label, sizeof label);
                fprintf(out, "%s,%s,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", name, label, n, mean, sd,
                        xmean, xsd, rmean, rsd);
            }
        return;
    }
    fputs("accuracy per cell, mean ±sd over runs: ranked among the candidates / exact match\n\n",
          out);
    fputs("| group | runs", out);
    for (int c = 0; c < first->n_rows; c++) {
        cell_label(&first->rows[c], label, sizeof label);
        fprintf(out, " | %s", label);
    }
    fputs(" |\n", out);
    rule_line(2 + first->n_rows, out);
    for (int j = 0; j < g->n_groups; j++) {
        group_name(r, g, j, " ", name, sizeof name);
        int runs = 0;
        for (int i = 0; i < r->n_runs; i++)
            runs += g->group_of[i] == j;
        fprintf(out, "| %s | %d", name, runs);
        for (int c = 0; c < first->n_rows; c++) {
            double xmean, xsd;
            group_stats(r, g, j, &first->rows[c], RULE_RANKED, &mean, &sd);
            group_stats(r, g, j, &first->rows[c], RULE_EXACT, &xmean, &xsd);
            fprintf(out, " | %.3f ±%.3f / %.3f ±%.3f", mean, sd, xmean, xsd);
        }
        fputs(" |\n", out);
        print_group_reference(r, g, j, name, out);
    }
}

void sweep_report_print(const results_t *r, const char *path, const char *group_by,
                        sweep_report_format_t format, FILE *out) {
    if (!r->sweep.present) micl_fatal("%s is not a sweep results file (no /sweep group)", path);
    if (r->n_runs == 0) {
        fprintf(out, "%s: no finished runs yet\n", path);
        return;
    }
    if (!group_by) {
        print_runs(r, format, out);
        return;
    }
    grouping_t g;
    parse_keys(r, path, group_by, &g);
    group_runs(r, &g);
    print_groups(r, &g, format, out);
    free(g.group_of);
    free(g.first);
}
