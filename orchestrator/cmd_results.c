/* cmd_results.c - merging sweep shard results files (see cmd_results.h). */
#define _POSIX_C_SOURCE 200809L
#include "cmd_results.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/file_kind.h"
#include "common/results.h"
#include "common/cli_args.h"

const cli_command_t CLI_RESULTS_MERGE = {"results merge",
                                         "OUT.h5 IN1.h5 IN2.h5 ...",
                                         "merge the shard results files of one sweep",
                                         NULL,
                                         "OUT.h5 and at least one IN.h5",
                                         2,
                                         -1};

/* Fails unless `in` comes from the same sweep as `first`. */
static void check_same_sweep(const results_t *first, const char *first_path, const results_t *in,
                             const char *path) {
    const results_sweep_t *a = &first->sweep, *b = &in->sweep;
    if (!b->present) micl_fatal("%s is not a sweep results file (it has no /sweep group)", path);
    if (strcmp(a->config_hash, b->config_hash) != 0)
        micl_fatal("%s comes from another sweep config than %s (config hash %s, not %s)", path,
                   first_path, b->config_hash, a->config_hash);
    int same = a->n_expanded == b->n_expanded && a->n_axes == b->n_axes;
    for (int k = 0; same && k < a->n_axes; k++)
        same = strcmp(a->axis_keys[k], b->axis_keys[k]) == 0;
    if (!same)
        micl_fatal("%s and %s describe different sweeps (axes or size differ)", path, first_path);
}

/* Adds the runs of `in` to `out`, refusing a run that is already there. */
static void add_runs(results_t *out, char **origin, const results_t *in, const char *path) {
    for (int i = 0; i < in->n_runs; i++) {
        const run_result_t *run = &in->runs[i];
        for (int j = 0; j < out->n_runs; j++)
            if (strcmp(out->runs[j].name, run->name) == 0 ||
                out->runs[j].sweep_index == run->sweep_index)
                micl_fatal("run '%s' (sweep index %lld) is in both %s and %s: merge each shard "
                           "once",
                           run->name, (long long)run->sweep_index, origin[j], path);
        origin[out->n_runs] = (char *)path;
        results_run_copy(results_add_run(out), run);
    }
    for (int i = 0; i < in->sweep.n_stalls; i++) {
        results_sweep_t *sw = &out->sweep;
        sw->stalls = micl_realloc(sw->stalls, (size_t)(sw->n_stalls + 1) * sizeof(char *));
        sw->stalls[sw->n_stalls++] = micl_strdup(in->sweep.stalls[i]);
    }
}

static int by_index(const void *a, const void *b) {
    int64_t x = ((const run_result_t *)a)->sweep_index, y = ((const run_result_t *)b)->sweep_index;
    return (x > y) - (x < y);
}

static int merge(const char *out_path, int n_in, char **in_paths) {
    results_t out, in;
    results_read(in_paths[0], &in);
    if (!in.sweep.present)
        micl_fatal("%s is not a sweep results file (it has no /sweep group)", in_paths[0]);
    out = in; /* the header and sweep description of the first input */
    out.runs = NULL;
    out.n_runs = out.cap_runs = 0;
    out.sweep.stalls = NULL;
    out.sweep.n_stalls = 0;
    out.sweep.shard_index = 0;
    out.sweep.shard_count = 1;
    in.config_text = NULL; /* now out's */
    char **origin = micl_calloc(RESULTS_MAX_RUNS, sizeof(char *));
    add_runs(&out, origin, &in, in_paths[0]);
    results_free(&in);
    for (int f = 1; f < n_in; f++) {
        results_read(in_paths[f], &in);
        check_same_sweep(&out, in_paths[0], &in, in_paths[f]);
        add_runs(&out, origin, &in, in_paths[f]);
        results_free(&in);
    }
    if (out.n_runs > 1) qsort(out.runs, (size_t)out.n_runs, sizeof(run_result_t), by_index);
    results_write(out_path, &out);
    printf("%s: %d of %lld run(s) of the sweep from %d file(s)\n", out_path, out.n_runs,
           (long long)out.sweep.n_expanded, n_in);
    if (out.n_runs < out.sweep.n_expanded)
        micl_warn("%s: %lld run(s) of the sweep are missing", out_path,
                  (long long)(out.sweep.n_expanded - out.n_runs));
    free(origin);
    results_free(&out);
    return 0;
}

int cmd_results(int argc, char **argv) {
    if (argc < 1 || strcmp(argv[0], "merge") != 0) {
        if (micl_rank() <= 0)
            fprintf(stderr, "micl results: %s (valid: merge)\nRun 'micl help' for every command.\n",
                    argc < 1 ? "missing command" : "unknown command");
        return MICL_EXIT_USAGE;
    }
    const char **paths = micl_calloc((size_t)argc, sizeof *paths);
    int n, rc;
    if (!cli_parse(&CLI_RESULTS_MERGE, NULL, argc - 1, argv + 1, paths, &n, &rc)) {
        free(paths);
        return rc;
    }
    for (int i = 1; i < n; i++)
        if (strcmp(paths[i], paths[0]) == 0)
            micl_fatal("results merge: the output %s is also an input", paths[0]);
    for (int i = 1; i < n; i++) /* also through ./, links: atomic_file.h */
        atomic_file_input(paths[i], "a results file being merged");
    char why[8400];
    if (atomic_file_check(paths[0], FILE_KIND_RESULTS, why, sizeof why)) {
        free(paths);
        return cli_usage_error(&CLI_RESULTS_MERGE, "%s", why);
    }
    rc = merge(paths[0], n - 1, (char **)(paths + 1));
    free(paths);
    return rc;
}
