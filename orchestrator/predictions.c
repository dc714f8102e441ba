/* predictions.c - scoring predictions (see predictions.h); predictions_file.c reads them. */
#define _POSIX_C_SOURCE 200809L
#include "predictions.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/results.h"
#include "data/reference.h"
#include "benchmark_input.h"
#include "predictions_file.h"

void predictions_normalise(char *s) {
    static const char *punct = ".,;:!?()[]\"'";
    char *b = s;
    while (*b && (isspace((unsigned char)*b) || strchr(punct, *b)))
        b++;
    size_t n = strlen(b);
    while (n > 0 && (isspace((unsigned char)b[n - 1]) || strchr(punct, b[n - 1])))
        n--;
    /* words separated by single spaces: every run of white space inside becomes one space */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (isspace((unsigned char)b[i])) {
            if (k > 0 && s[k - 1] != ' ') s[k++] = ' ';
            continue;
        }
        s[k++] = (unsigned char)b[i] < 0x80 ? (char)tolower((unsigned char)b[i]) : b[i];
    }
    s[k] = '\0';
}

/* The answer text of the query (last turn) of ep. */
static void query_answer(const episode_t *ep, const vocab_t *v, char *buf, size_t len) {
    int q = ep->n_turns - 1;
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < ep->answer_len[q]; i++) {
        int k = snprintf(buf + n, len - n, "%s%s", i ? " " : "",
                         v->words[ep->tokens[ep->answer_pos[q] + 1 + i]]);
        if (k < 0 || (size_t)k >= len - n) break;
        n += (size_t)k;
    }
}

int predictions_score(const config_t *cfg, const char *benchmark, const char *path,
                      int64_t episodes, const char *dataset, const benchmark_cells_t *cells,
                      const char *results_path) {
    if (!benchmark_find(benchmark))
        micl_fatal("unknown benchmark '%s' (valid: %s)", benchmark, benchmark_names());
    FILE *f = fopen(path, "r"); /* a wrong path fails before the benchmark's data is opened */
    if (!f) micl_fatal("cannot read '%s': %s", path, strerror(errno));
    benchmark_input_t bs;
    benchmark_input_open(&bs, cfg, benchmark, dataset);
    const benchmark_t *b = bs.benchmark;
    benchmark_cells_t own;
    if (!cells) {
        benchmark_cells(b, NULL, 0, NULL, 0, &own);
        cells = &own;
    }
    benchmark_check_cells(&bs.src, cells->ways, cells->n_ways, cells->shots, cells->n_shots);
    /* at most one prediction per prompt of the cells: bounds what the file may make us keep */
    int64_t prompts = 0;
    for (int i = 0; i < cells->n_ways * cells->n_shots; i++)
        prompts += benchmark_cell_episodes(&bs.src, episodes) * b->variants;
    predictions_file_t pf;
    predictions_file_read_stream(f, path, prompts, &pf);
    fclose(f);
    results_t res;
    memset(&res, 0, sizeof res);
    res.config_text = cfg->text;
    snprintf(res.config_path, sizeof res.config_path, "%s", cfg->path);
    res.world_size = 1;
    run_result_t *out = results_add_run(&res);
    snprintf(out->name, sizeof out->name, "predictions");
    snprintf(out->checkpoint, sizeof out->checkpoint, "%s", path);
    episode_t *ep = micl_malloc(sizeof *ep);
    int64_t missing = 0;
    for (int i = 0; i < cells->n_ways; i++)
        for (int j = 0; j < cells->n_shots; j++) {
            int ways = cells->ways[i], shots = cells->shots[j];
            if (out->n_rows >= RESULTS_MAX_ROWS) micl_fatal("too many cells");
            eval_row_t *row = &out->rows[out->n_rows++];
            memset(row, 0, sizeof *row);
            snprintf(row->benchmark, sizeof row->benchmark, "%s", b->name);
            snprintf(row->dataset, sizeof row->dataset, "%s", bs.store.source);
            row->ways = b->family == FAMILY_CLASSIFY ? bs.vocab.n_real : ways;
            row->shots = shots;
            benchmark_chance_t ch;
            benchmark_cell_chance(&bs.src, cfg->seed, ways, shots, episodes, bs.vocab.n_real, &ch);
            row->chance_random = ch.random;
            row->chance_constant = ch.constant;
            snprintf(row->constant_answer, sizeof row->constant_answer, "%s", ch.constant_answer);
            int64_t n = benchmark_cell_episodes(&bs.src, episodes);
            row->episodes = n * b->variants;
            results_row_alloc_outcomes(row);
            row->episodes = 0;
            int refs = reference_family(b->family), answered = refs;
            for (int64_t e = 0; e < n; e++)
                for (int var = 0; var < b->variants; var++) {
                    benchmark_episode(&bs.src, cfg->seed, ways, shots, e, n, var, ep);
                    char id[128], truth[256];
                    snprintf(id, sizeof id, "%s-w%d-s%d-e%06lld-v%d", b->name, ways, shots,
                             (long long)e, var);
                    query_answer(ep, &bs.vocab, truth, sizeof truth);
                    predictions_file_entry_t *p = predictions_file_find(&pf, id);
                    int64_t at = row->episodes++;
                    row->episode_group[at] = benchmark_episode_group(b, e);
                    if (refs) { /* the model-free references of the same episode, per prompt */
                        int bits = reference_score(&bs.store, bs.store.c, ep);
                        answered &= (bits & REFERENCE_ANSWERED) != 0;
                        row->episode_ref_nn[at] = (bits & REFERENCE_NN_RIGHT) != 0;
                        row->episode_ref_mean[at] = (bits & REFERENCE_MEAN_RIGHT) != 0;
                    }
                    if (!p) {
                        missing++;
                        continue;
                    }
                    p->used = 1;
                    char got[1024];
                    snprintf(got, sizeof got, "%s", p->text);
                    predictions_normalise(got);
                    predictions_normalise(truth);
                    int ok = strcmp(got, truth) == 0;
                    row->episode_correct[at] = row->episode_exact[at] = (uint8_t)ok;
                }
            row->ref_scored = answered && row->episodes > 0;
            results_row_finish(row); /* the reference counts and paired gain from the prompts */
        }
    for (int64_t i = 0; i < pf.n; i++)
        if (!pf.items[i].used)
            micl_fatal("%s:%lld: id \"%s\" is not an episode of benchmark '%s' with %lld "
                       "episodes per cell (and the cells chosen)",
                       path, (long long)pf.items[i].line, pf.items[i].id, b->name,
                       (long long)episodes);
    if (missing)
        micl_warn("%s: %lld episodes have no prediction (counted as wrong)", path,
                  (long long)missing);
    printf("%s: benchmark %s, %lld predictions scored\n", path, b->name, (long long)pf.n);
    results_print_table(&res, stdout);
    if (results_path) results_write(results_path, &res);
    predictions_file_free(&pf);
    free(ep);
    results_run_free(out);
    free(res.runs);
    benchmark_input_close(&bs);
    return 0;
}
