/* trainer.h - one run's training on this rank: curriculum, episodes, steps, checkpoints.
 *
 * A step: pick the curriculum stage -> build the step's sequences (every rank builds the same
 * token streams; each rank gathers pixels only for its own micro-batches) -> per micro-batch
 * forward + backward (loss scaled by 1 / targets of the whole step) -> fixed-order tree sum of
 * micro-batch gradients across ranks -> clip -> AdamW, identical on every rank: one call of
 * step_run (step.h), the function `micl bench step` times as well. The curriculum advances by steps
 * or when the running train ICL accuracy passes a threshold; all of its state lives in
 * train_state_t and is checkpointed.
 */
#ifndef MICL_TRAINER_H
#define MICL_TRAINER_H

#include "comm/comm.h"
#include "common/config.h"
#include "common/results.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/task_scene.h"
#include "data/vocab.h"
#include "model/vlm.h"
#include "checkpoint.h"
#include "step.h"

typedef struct {
    const config_t *cfg;
    const run_config_t *run;
    const comm_t *comm;
    const image_store_t *store;     /* the glyph store: binding, mc, matching, classify */
    const image_store_t *scenes;    /* NULL, or the scene store: attributes, counting, ... */
    const image_store_t *operators; /* NULL, or the operator store: operator induction */
    const vocab_t *vocab;
    episode_format_t format;
    const char *checkpoint_path; /* written by rank 0 every checkpoint_every steps and at the end */
    /* Called on every rank after every step, before the stop flag is agreed (NULL: none); the
     * sweep's groups talk to their coordinator here. */
    void (*on_step)(void *ctx, int64_t step);
    void *on_step_ctx;
} trainer_args_t;

/* Token and image capacity a model needs to train every stage of `run` and to evaluate. */
void trainer_capacity(const config_t *cfg, const run_config_t *run, const vocab_t *v,
                      episode_format_t format, int *max_tokens, int *max_images);

/* The optimizer arguments of update `step` (from 0) under train section tc: the learning rate
 * of its schedule (linear warm-up, then cosine to min_lr), its AdamW and clipping settings, the
 * gradient scale 1 / step_targets (the targets of the whole step), and tensor_norms (NULL: none)
 * to receive each tensor's gradient norm. */
step_args_t trainer_step_args(const train_config_t *tc, int64_t step, int64_t step_targets,
                              double *tensor_norms);

/* Trains `m` (already initialised or restored, state in *st) up to cfg->train.steps. Fills the
 * curve (with the gradient L2 norm of every parameter tensor at each curve point, before
 * clipping) and timing fields of *out. */
void trainer_run(const trainer_args_t *a, vlm_t *m, train_state_t *st, run_result_t *out);

#endif
