/* cmd_eval_benchmark.c - a checkpoint on a named benchmark (see cmd_eval_benchmark.h). */
#define _POSIX_C_SOURCE 200809L
#include "cmd_eval_benchmark.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/results.h"
#include "data/benchmark.h"
#include "benchmark_input.h"
#include "worker/checkpoint.h"
#include "worker/evaluator.h"
#include "experiment.h"

int eval_benchmark_checkpoint(const config_t *cfg, const comm_t *comm, const char *benchmark,
                              const char *checkpoint, int64_t episodes, const char *dataset,
                              const benchmark_cells_t *cells, const char *predictions_path,
                              const char *results_path) {
    const benchmark_t *b = benchmark_find(benchmark);
    if (!b) micl_fatal("unknown benchmark '%s' (valid: %s)", benchmark, benchmark_names());
    benchmark_cells_t own;
    if (!cells) {
        benchmark_cells(b, NULL, 0, NULL, 0, &own);
        cells = &own;
    }
    char path[1024];
    benchmark_input_store_path(cfg, b, dataset, path, sizeof path);
    image_store_t store;
    atomic_file_input(path, "the image store"); /* no output of this command replaces it */
    store_read(path, &store);
    /* a first read for the vocabulary and format, then the model sized for the benchmark */
    vocab_t v;
    train_state_t st;
    vlm_t *m = checkpoint_read(checkpoint, 1, 1, &v, &st, NULL);
    int tok, img;
    benchmark_prompt_size(b, cells, &v, (episode_format_t)st.episode_format, &tok, &img);
    if (tok > vlm_config(m)->max_seq)
        micl_fatal("benchmark '%s' needs prompts of %d tokens but the model in %s has max_seq %d "
                   "(choose smaller cells with --ways / --shots)",
                   b->name, tok, checkpoint, vlm_config(m)->max_seq);
    vlm_free(m);
    vocab_free(&v);
    m = checkpoint_read(checkpoint, 16 * tok, 16 * img, &v, &st, NULL);
    vocab_map_store(&v, &store);
    evaluator_t ev = {
        m, &v, comm, (episode_format_t)st.episode_format, cfg->seed, 16 * tok, 16 * img, NULL, 0};
    FILE *pf = NULL;
    atomic_file_t pred_file;
    if (predictions_path && comm->rank == 0)
        pf = atomic_file_open(&pred_file, predictions_path, "w");
    results_t res;
    memset(&res, 0, sizeof res);
    res.config_text = cfg->text;
    snprintf(res.config_path, sizeof res.config_path, "%s", cfg->path);
    res.world_size = comm->size;
    run_result_t *out = results_add_run(&res);
    snprintf(out->name, sizeof out->name, "%s", st.run);
    experiment_run_device(out);
    snprintf(out->checkpoint, sizeof out->checkpoint, "%s", checkpoint);
    out->steps = st.step;
    out->n_params = (int64_t)vlm_num_params(m);
    out->n_rows =
        eval_benchmark(&ev, b, &store, cells->ways, cells->n_ways, cells->shots, cells->n_shots,
                       (int)episodes, predictions_path != NULL, pf, out->rows);
    if (comm->rank == 0) {
        if (pf) atomic_file_commit(&pred_file);
        printf("%s on benchmark %s (%s), %lld episodes per cell\n", checkpoint, b->name,
               store.source, (long long)episodes);
        results_print_table(&res, stdout);
        if (results_path) results_write(results_path, &res);
    }
    results_run_free(out);
    free(res.runs);
    vocab_free(&v);
    vlm_free(m);
    store_free(&store);
    return 0;
}
