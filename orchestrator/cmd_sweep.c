/* cmd_sweep.c - `micl sweep CFG [-o RESULTS.h5] [--shard I/N] [--restart]`: options, then
 * sweep_run. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/error.h"
#include "common/file_kind.h"
#include "common/signals.h"
#include "common/cli_args.h"
#include "experiment.h"
#include "sweep.h"

const cli_command_t CLI_SWEEP = {
    "sweep",
    "CFG [-o RESULTS.h5] [--shard I/N] [--restart] [--device cpu|cuda]",
    "every run of CFG's sweep over groups of ranks",
    "  --shard I/N   only the runs of shard I of N (0 <= I < N); merge "
    "the shards' files\n"
    "                with 'micl results merge'\n"
    "  --restart     train every run from step 0: no finished run of RESULTS.h5 is kept and no\n"
    "                checkpoint resumed (each is replaced when its run writes its first new\n"
    "                one); without it the sweep resumes, and refuses a checkpoint of another\n"
    "                config\n"
    "  --device D    compute on D (cpu, or cuda: a GPU per rank), overriding model.device;\n"
    "                a device other than the config's is part of every run's config and id\n",
    "CFG",
    1,
    1};

/* "I/N" with 0 <= I < N; returns 0 on success. */
static int parse_shard(const char *s, int *index, int *count) {
    char *end;
    long i = strtol(s, &end, 10);
    if (end == s || *end != '/') return -1;
    const char *ns = end + 1;
    long n = strtol(ns, &end, 10);
    if (end == ns || *end != '\0' || n < 1 || n > 1000000 || i < 0 || i >= n) return -1;
    *index = (int)i;
    *count = (int)n;
    return 0;
}

int cmd_sweep(int argc, char **argv, const comm_t *comm) {
    sweep_opts_t o = {NULL, 0, 1, 0};
    static const char *const DEVICES[] = {"cpu", "cuda", NULL};
    const char *cfg_path, *shard = NULL;
    int rc, device = -1;
    const cli_opt_t opts[] = {CLI_OPT_STRING("-o", &o.results_path),
                              CLI_OPT_STRING("--shard", &shard),
                              CLI_OPT_FLAG("--restart", &o.restart),
                              CLI_OPT_CHOICE("--device", &device, DEVICES), CLI_OPT_END};
    if (!cli_parse(&CLI_SWEEP, opts, argc, argv, &cfg_path, NULL, &rc)) return rc;
    if (shard && parse_shard(shard, &o.shard_index, &o.shard_count) != 0)
        return cli_usage_error(&CLI_SWEEP, "--shard expects I/N with 0 <= I < N, got '%s'", shard);
    config_t cfg;
    config_load(cfg_path, &cfg);
    char why[8400];
    if (o.results_path && atomic_file_check(o.results_path, FILE_KIND_RESULTS, why, sizeof why)) {
        config_free(&cfg);
        return cli_usage_error(&CLI_SWEEP, "%s", why);
    }
    rc = experiment_start_device(&cfg, device >= 0 ? DEVICES[device] : NULL, comm);
    if (rc == 0) {
        signals_install();
        rc = sweep_run(&cfg, comm, &o);
    }
    config_free(&cfg);
    return rc;
}
