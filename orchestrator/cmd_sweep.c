/* cmd_sweep.c - `micl sweep CFG [-o RESULTS.h5] [--shard I/N]`: options, then sweep_run. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/config.h"
#include "../common/error.h"
#include "../common/signals.h"
#include "sweep.h"

static int sweep_usage(const char *what, const char *arg) {
    if (micl_rank() <= 0) {
        fprintf(stderr, "micl: sweep: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
        fprintf(stderr, "usage: micl sweep CFG [-o RESULTS.h5] [--shard I/N]   (0 <= I < N)\n");
    }
    return MICL_EXIT_USAGE;
}

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
    if (argc < 1 || argv[0][0] == '-') return sweep_usage("missing CFG", NULL);
    sweep_opts_t o = {NULL, 0, 1};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            o.results_path = argv[++i];
        } else if (strcmp(argv[i], "--shard") == 0 && i + 1 < argc) {
            if (parse_shard(argv[++i], &o.shard_index, &o.shard_count) != 0)
                return sweep_usage("--shard expects I/N with 0 <= I < N, got", argv[i]);
        } else {
            return sweep_usage("unknown option", argv[i]);
        }
    }
    config_t cfg;
    config_load(argv[0], &cfg);
    signals_install();
    int rc = sweep_run(&cfg, comm, &o);
    config_free(&cfg);
    return rc;
}
