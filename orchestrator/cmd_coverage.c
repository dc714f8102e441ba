/* cmd_coverage.c - `micl data coverage` (see cmd_coverage.h). Runs on rank 0 only. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_coverage.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "data/benchmark.h"
#include "data/vocab.h"
#include "worker/sampler.h"
#include "experiment.h"

const cli_command_t CLI_DATA_COVERAGE = {
    "data coverage",
    "CFG [--steps N]",
    "list the benchmark answer words a run never trains on\n"
    "(first N steps of each stage, default 200; exit 1 if any)",
    "  Counts the loss targets of every run's training sequences and the answer tokens of\n"
    "  every scored answer of eval.benchmarks (the config's ways, shots and episodes).\n",
    "CFG",
    1,
    1};

#define COVERAGE_LIST 10 /* missing words named per row */

/* Marks in seen[] every token that is a target of the first `steps` steps of each stage of
 * `run` (stages in order, each starting where the previous one stopped). */
static void count_training(const config_t *cfg, const run_config_t *run,
                           const experiment_stores_t *st, const vocab_t *v, int64_t steps,
                           uint8_t *seen) {
    sampler_t sm;
    sampler_init(&sm, cfg, run, &st->glyphs, st->have_scenes ? &st->scenes : NULL,
                 st->have_operators ? &st->operators : NULL, v, EPISODE_FORMAT_COMPACT);
    episode_t *eps = micl_malloc((size_t)sm.max_seqs * sizeof(episode_t));
    int64_t step = 0;
    for (int k = 0; k < run->n_stages && step < cfg->train.steps; k++) {
        const stage_config_t *s = &run->stages[k];
        int64_t n = steps;
        if (k + 1 < run->n_stages && s->steps > 0 && s->steps < n) n = s->steps;
        if (n > cfg->train.steps - step) n = cfg->train.steps - step;
        for (int64_t i = 0; i < n; i++) {
            int n_seqs = sampler_step(&sm, k, step + i, i, eps);
            for (int j = 0; j < n_seqs; j++)
                for (int p = 0; p < eps[j].n_tokens; p++)
                    if (eps[j].targets[p] >= 0 && eps[j].targets[p] < v->n)
                        seen[eps[j].targets[p]] = 1;
        }
        step += n;
    }
    free(eps);
    sampler_free(&sm);
}

/* Marks in words[] the answer tokens of every scored answer of benchmark b's episodes as
 * evaluation draws them. Returns 0 when the config cannot run b (its store is not prepared,
 * or has another image size), as evaluation skips it. */
static int count_benchmark(const config_t *cfg, const benchmark_t *b, const experiment_stores_t *st,
                           const vocab_t *v, uint8_t *words) {
    const image_store_t *store = experiment_benchmark_store(st, b);
    if (!store || store->h != cfg->model.image_size) return 0;
    benchmark_source_t src;
    benchmark_source_init(&src, b, store, v, EPISODE_FORMAT_COMPACT);
    benchmark_cells_t c;
    experiment_config_cells(cfg, b, &c);
    int zeroshot = b->family == FAMILY_CLASSIFY;
    int64_t n =
        benchmark_cell_episodes(&src, zeroshot ? cfg->eval.zeroshot_images : cfg->eval.episodes);
    episode_t *ep = micl_malloc(sizeof *ep);
    for (int i = 0; i < c.n_ways; i++) {
        if (!zeroshot && b->kind < 0 && c.ways[i] > store->n_classes) continue;
        for (int j = 0; j < c.n_shots; j++)
            for (int64_t e = 0; e < n; e++)
                for (int var = 0; var < b->variants; var++) {
                    benchmark_episode(&src, cfg->seed, c.ways[i], c.shots[j], e, n, var, ep);
                    for (int k = 0; k < ep->n_turns; k++) {
                        if (!ep->answer_scored[k]) continue;
                        for (int a = 0; a < ep->answer_len[k]; a++) {
                            int p = ep->answer_pos[k] + a;
                            int32_t w = ep->targets[p] >= 0 ? ep->targets[p] : ep->tokens[p + 1];
                            if (w >= 0 && w < v->n) words[w] = 1;
                        }
                    }
                }
    }
    free(ep);
    benchmark_source_free(&src);
    return 1;
}

/* Prints one table row; returns the number of b's answer words the run never trained on. */
static int print_row(const char *run, const char *bench, const vocab_t *v, const uint8_t *words,
                     const uint8_t *seen) {
    int n_words = 0, n_missing = 0;
    char list[512] = "";
    for (int w = 0; w < v->n; w++) {
        if (!words[w]) continue;
        n_words++;
        if (seen[w]) continue;
        if (n_missing++ < COVERAGE_LIST)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? " " : "",
                     v->words[w]);
    }
    if (n_missing > COVERAGE_LIST)
        snprintf(list + strlen(list), sizeof list - strlen(list), " (+%d more)",
                 n_missing - COVERAGE_LIST);
    printf("%-16s %-20s %12d %14d  %s\n", run, bench, n_words, n_missing, list);
    return n_missing;
}

int cmd_data_coverage(int argc, char **argv) {
    int64_t steps = 200;
    const char *path = NULL;
    int rc;
    const cli_opt_t opts[] = {CLI_OPT_INT64("--steps", &steps, 1, 100000000), CLI_OPT_END};
    if (!cli_parse(&CLI_DATA_COVERAGE, opts, argc, argv, &path, NULL, &rc)) return rc;
    if (micl_rank() > 0) return 0;
    config_t cfg;
    config_load(path, &cfg);
    experiment_stores_t st;
    experiment_load_stores(&cfg, &st);
    vocab_t v;
    vocab_build(&v, &st.glyphs, cfg.fake_names, cfg.seed, cfg.question);

    int nb = cfg.eval.n_benchmarks;
    uint8_t *words = micl_calloc((size_t)nb * (size_t)v.n, 1), *seen = micl_malloc((size_t)v.n);
    int *ran = micl_calloc((size_t)(nb > 0 ? nb : 1), sizeof(int));
    for (int k = 0; k < nb; k++)
        ran[k] = count_benchmark(&cfg, benchmark_find(cfg.eval.benchmarks[k]), &st, &v,
                                 words + (size_t)k * (size_t)v.n);
    printf("%-16s %-20s %12s %14s  %s\n", "run", "benchmark", "answer words", "never trained",
           "words never trained");
    int bad_runs = 0;
    for (int r = 0; r < cfg.n_runs; r++) {
        memset(seen, 0, (size_t)v.n);
        count_training(&cfg, &cfg.runs[r], &st, &v, steps, seen);
        int missing = 0;
        for (int k = 0; k < nb; k++) {
            if (!ran[k]) {
                printf("%-16s %-20s %12s %14s  (skipped: its store is not prepared)\n",
                       cfg.runs[r].name, cfg.eval.benchmarks[k], "-", "-");
                continue;
            }
            missing += print_row(cfg.runs[r].name, cfg.eval.benchmarks[k], &v,
                                 words + (size_t)k * (size_t)v.n, seen);
        }
        bad_runs += missing > 0;
    }
    fflush(stdout);
    if (bad_runs > 0)
        fprintf(stderr,
                "micl data coverage: %d run(s) of %s never train on some benchmark answer words "
                "in their first %lld steps per stage (listed above)\n",
                bad_runs, path, (long long)steps);
    free(ran);
    free(seen);
    free(words);
    vocab_free(&v);
    experiment_free_stores(&st);
    config_free(&cfg);
    return bad_runs > 0 ? 1 : 0;
}
