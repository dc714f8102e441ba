/* cmd_export.c - `micl data export` (see cmd_export.h). Runs on rank 0 only. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_export.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "data/export.h"
#include "data/family.h"
#include "benchmark_input.h"
#include "common/cli_args.h"

const cli_command_t CLI_DATA_EXPORT = {
    "data export",
    "CFG (--benchmark B | --task T) -o DIR [--episodes N]\n"
    "[--dataset STORE.h5] [--ways N,..] [--shots K,..] [--items L] [--format llava]",
    "episodes as LLaVA-style multi-image conversations with\n"
    "PNG files, for training or testing a real VLM elsewhere",
    "  benchmarks B: fsicl, openmi, matching, cross_domain, zeroshot (every cell, N episodes\n"
    "                each, default 100)\n"
    "  tasks T:      binding, mc, matching, classify (N training episodes, default 100;\n"
    "                --ways N classes (default 3), --items L turns (default 9))\n",
    "CFG",
    1,
    1};

typedef struct {
    const char *cfg, *out, *benchmark, *task, *dataset;
    int64_t episodes;
    int ways, items;
    int bench_ways[BENCHMARK_MAX_CELLS], n_bench_ways; /* --ways with --benchmark */
    int bench_shots[BENCHMARK_MAX_CELLS], n_bench_shots;
} export_opts_t;

/* Returns -1 when parsing succeeded, else the exit code to return (usage error or --help). */
static int parse_opts(int argc, char **argv, export_opts_t *o) {
    static const char *const FORMATS[] = {"llava", NULL};
    memset(o, 0, sizeof *o);
    o->episodes = 100;
    o->ways = 3;
    o->items = 9;
    int format = 0, rc;
    const cli_opt_t opts[] = {
        CLI_OPT_STRING("--benchmark", &o->benchmark),
        CLI_OPT_STRING("--task", &o->task),
        CLI_OPT_STRING("-o", &o->out),
        CLI_OPT_STRING("--dataset", &o->dataset),
        CLI_OPT_INT64("--episodes", &o->episodes, 1, 10000000),
        CLI_OPT_LIST("--ways", o->bench_ways, 2, EPISODE_MAX_WAYS, &o->n_bench_ways,
                     BENCHMARK_MAX_CELLS, 1),
        CLI_OPT_LIST("--shots", o->bench_shots, 0, 64, &o->n_bench_shots, BENCHMARK_MAX_CELLS, 1),
        CLI_OPT_INT("--items", &o->items, 1, EPISODE_MAX_ITEMS / 2),
        CLI_OPT_CHOICE("--format", &format, FORMATS),
        CLI_OPT_END};
    if (!cli_parse(&CLI_DATA_EXPORT, opts, argc, argv, &o->cfg, NULL, &rc)) return rc;
    if (o->n_bench_ways) o->ways = o->bench_ways[0];
    if (!o->out) return cli_usage_error(&CLI_DATA_EXPORT, "-o DIR is required");
    if (!o->benchmark == !o->task)
        return cli_usage_error(&CLI_DATA_EXPORT, "give one of --benchmark and --task");
    const benchmark_t *b = o->benchmark ? benchmark_find(o->benchmark) : NULL;
    char err[256];
    if (b && !benchmark_cells_check(b, o->bench_ways, o->n_bench_ways, o->bench_shots,
                                    o->n_bench_shots, err, sizeof err))
        return cli_usage_error(&CLI_DATA_EXPORT, "%s", err); /* out-of-range lists: exit 2 */
    return -1;
}

static void export_benchmark(const config_t *cfg, const export_opts_t *o, benchmark_input_t *bs,
                             exporter_t *x) {
    const benchmark_t *b = bs->benchmark;
    benchmark_cells_t cells;
    benchmark_cells(b, o->bench_ways, o->n_bench_ways, o->bench_shots, o->n_bench_shots, &cells);
    benchmark_check_cells(&bs->src, cells.ways, cells.n_ways, cells.shots, cells.n_shots);
    episode_t *ep = micl_malloc(sizeof *ep);
    for (int i = 0; i < cells.n_ways; i++)
        for (int j = 0; j < cells.n_shots; j++) {
            int ways = cells.ways[i], shots = cells.shots[j];
            int64_t n = benchmark_cell_episodes(&bs->src, o->episodes);
            for (int64_t e = 0; e < n; e++)
                for (int var = 0; var < b->variants; var++) {
                    benchmark_episode(&bs->src, cfg->seed, ways, shots, e, n, var, ep);
                    char id[128];
                    snprintf(id, sizeof id, "%s-w%d-s%d-e%06lld-v%d", b->name, ways, shots,
                             (long long)e, var);
                    export_meta_t meta = {b->name, ways, shots, var, e};
                    export_episode(x, id, ep, &bs->store, &bs->vocab, &meta);
                }
        }
    free(ep);
}

/* The family of `micl data export --task T`: one whose descriptor draws a sample episode
 * (data/family.h), or a clear failure. */
static int task_family(const char *task) {
    int f = family_find(task);
    if (f >= 0 && family_get(f)->sample) return f;
    char valid[256] = "";
    for (int g = 0; g < FAMILY_COUNT; g++)
        if (family_get(g)->sample)
            snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s",
                     valid[0] ? ", " : "", family_name(g));
    micl_fatal("unknown task '%s' (valid: %s)", task, valid);
}

/* bs: the glyph store's training images, through the openmi benchmark's store and vocabulary */
static void export_task(const config_t *cfg, const export_opts_t *o, benchmark_input_t *bs,
                        exporter_t *x) {
    const family_info_t *f = family_get(task_family(o->task));
    store_index_t train;
    store_index_build(&bs->store, STORE_SPLIT_TRAIN, &train);
    episode_source_t fake, real;
    episode_source_init(&fake, &bs->store, &train, &bs->vocab, 0, EPISODE_FORMAT_COMPACT);
    episode_source_init(&real, &bs->store, &train, &bs->vocab, 1, EPISODE_FORMAT_COMPACT);
    if (real.n_classes == 0) micl_fatal("%s: no training classes with names", bs->store.source);
    episode_t *ep = micl_malloc(sizeof *ep);
    episode_plan_t *plan = micl_malloc(sizeof *plan);
    for (int64_t e = 0; e < o->episodes; e++) {
        rng_t r = rng_make(cfg->seed, RNG_STREAM_TRAIN_EPISODE, (uint64_t)e);
        f->sample(f->sample_real_names ? &real : &fake, &r, o->ways, o->items, plan);
        episode_layout(&fake, plan, ep);
        char id[128];
        snprintf(id, sizeof id, "%s-%06lld", o->task, (long long)e);
        export_episode(x, id, ep, &bs->store, &bs->vocab, NULL);
    }
    free(plan);
    free(ep);
    episode_source_free(&fake);
    episode_source_free(&real);
    store_index_free(&train);
}

int cmd_data_export(int argc, char **argv) {
    export_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    if (micl_rank() > 0) return 0;
    config_t cfg;
    config_load(o.cfg, &cfg);
    /* everything that can reject the input comes before the output directory exists */
    if (o.task) task_family(o.task);
    benchmark_input_t bs;
    benchmark_input_open(&bs, &cfg, o.benchmark ? o.benchmark : "openmi", o.dataset);
    exporter_t x;
    export_open(&x, o.out);
    if (o.benchmark)
        export_benchmark(&cfg, &o, &bs, &x);
    else
        export_task(&cfg, &o, &bs, &x);
    export_close(&x);
    benchmark_input_close(&bs);
    micl_info("%s/data.json: %lld samples (LLaVA conversations), images in %s/images", o.out,
              (long long)x.n_samples, o.out);
    config_free(&cfg);
    return 0;
}
