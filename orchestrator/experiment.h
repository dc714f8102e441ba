/* experiment.h - rank 0's coordination of `micl train` and `micl eval`.
 *
 * train: prepare stores (rank 0) -> load them (all ranks) -> for each run of the config:
 * build the model, train (all ranks, data parallel), evaluate (episodes split over ranks),
 * and rank 0 rewrites results.h5 after each finished run -> print the summary table.
 */
#ifndef MICL_EXPERIMENT_H
#define MICL_EXPERIMENT_H

#include "comm/comm.h"
#include "common/config.h"
#include "common/results.h"
#include "data/benchmark.h"
#include "data/store.h"
#include "worker/checkpoint.h"

typedef struct {
    const char *results_path; /* NULL: <output_dir>/results.h5 */
    const char *only_run;     /* NULL: every run */
    int resume;               /* continue runs from their checkpoints (finished ones: eval only) */
    int restart; /* train runs from step 0 although they have checkpoints (replaced when the
                  * first new one is written); without resume or restart, a run that has a
                  * checkpoint is refused (MICL_EXIT_USAGE) */
} train_opts_t;

/* The image stores a config uses: the glyph store always; Fashion-MNIST when prepared; the
 * scene and operator stores when the config renders them. */
typedef struct {
    image_store_t glyphs, fmnist, scenes, operators;
    int have_fmnist, have_scenes, have_operators;
} experiment_stores_t;

/* Reads the stores of cfg's cache as `micl train` does after preparing them (a missing store is
 * a fatal error naming its path), checked against the model and the benchmark names. */
void experiment_load_stores(const config_t *cfg, experiment_stores_t *st);
void experiment_free_stores(experiment_stores_t *st);
/* The store benchmark b runs on, or NULL when the config has none. */
const image_store_t *experiment_benchmark_store(const experiment_stores_t *st,
                                                const benchmark_t *b);
/* The cells of b that evaluation scores under cfg (eval.ways, eval.shots). */
void experiment_config_cells(const config_t *cfg, const benchmark_t *b, benchmark_cells_t *c);

/* Selects what computes this process (worker/device.h) for cfg, before any model: the
 * command line's `device` (NULL: the config's model.device) in model.precision. Collective over
 * world. Returns 0, or MICL_EXIT_ERROR on every rank after one message naming where the device
 * was asked for ("--device cuda: ...", "model.device = \"cuda\" (cfg:7): ..."). */
int experiment_start_device(config_t *cfg, const char *device, const comm_t *world);
/* Records what computes now (device and precision) in a run's result. */
void experiment_run_device(run_result_t *out);
/* The checkpoint path of `run`: "<output_dir>/<run>.ckpt.h5" (fatal when it does not fit). */
void experiment_checkpoint_path(const config_t *cfg, const run_config_t *run, char *out,
                                size_t size);

/* Returns 0; MICL_EXIT_PREEMPTED when a signal stopped training (checkpoint written) or a
 * run's evaluation (nothing written for that run); MICL_EXIT_USAGE, before anything is trained,
 * when a run to train has a checkpoint and o has neither resume nor restart; MICL_EXIT_ERROR
 * when o->resume meets a checkpoint of another config. With o->only_run the other runs of the
 * results file are kept. */
int experiment_train(const config_t *cfg, const comm_t *comm, const train_opts_t *o);

/* The hash (16 hex digits, sweep_plan.h's sweep_hash_text) of run's resolved config: of
 * cfg->text itself when `resolved` (a sweep point: the hash is its id), else of cfg->text cut to
 * the run (config_resolve with no axes, so a sweep of the config without axes gives its runs
 * the same ids). Checkpoints carry it (train_state_t.config_hash). */
void experiment_run_hash(const config_t *cfg, const run_config_t *run, int resolved, char out[24]);
/* Whether the checkpoint at `path` (its state st and config text ck_text, which may be NULL)
 * may resume run `run_name` of cfg, whose resolved config hashes to `hash`: 0 when the hashes
 * agree or the checkpoint has none (schema version 1: a warning when the texts differ), else
 * prints the checkpoint, its step, both hashes, the first differing line of the texts and
 * restart_hint on stderr and returns MICL_EXIT_ERROR. */
int experiment_check_checkpoint(const char *path, const train_state_t *st, const char *ck_text,
                                const config_t *cfg, const char *run_name, const char *hash,
                                const char *restart_hint);

/* The sweep's per-step callback (trainer_args_t.on_step). */
typedef struct {
    void (*on_step)(void *ctx, int64_t step);
    void *ctx;
} run_hook_t;

/* Trains the single run of `cfg` (a resolved sweep point) on `comm`, resuming from
 * out->checkpoint when that file exists (unless `restart`: from step 0, the file replaced by the
 * first new checkpoint), then evaluates it. A checkpoint of another config is fatal. The caller
 * sets out->name and out->checkpoint and has prepared the data stores. Returns 1 (and sets
 * out->preempted) when a signal stopped training (checkpoint written) or the evaluation (rows
 * incomplete), else 0. */
int experiment_run_one(const config_t *cfg, const comm_t *comm, const run_hook_t *hook, int restart,
                       run_result_t *out);

typedef struct {
    const char *checkpoint;
    const char *dataset;
    int ways, n_shots, shots[16];
    int episodes;
    int fake_names; /* 1 fake, 0 real */
    uint64_t seed;
    const char *out; /* optional results file */
} eval_opts_t;

int experiment_eval_checkpoint(const comm_t *comm, const eval_opts_t *o);

/* Re-evaluates the checkpoints of every run of cfg with its eval section; writes
 * results_path (NULL: <output_dir>/eval.h5). */
int experiment_eval_config(const config_t *cfg, const comm_t *comm, const char *results_path);

#endif
