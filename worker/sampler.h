/* sampler.h - the training sequences of a run's steps: what the trainer packs into
 * micro-batches and what `micl data coverage` counts, without a model.
 *
 * Sequence j of update `step` is drawn from rng_make(seed, RNG_STREAM_TRAIN_EPISODE,
 * step * 65536 + j), so every rank (and the coverage count) builds the same sequences. A
 * sequence is, by the stage: replay (single-image instruction data, or `items` one-turn items of
 * `replay_mix` families), `items` one-turn episodes of drawn families (`unrelated`), one coherent
 * episode of a family of the mix, or 2-3 episodes of the mix with their turns interleaved
 * (`coherent = false`). A step holds train.items_per_step / items sequences (at least
 * micro_batches), or, with train.tokens_per_step > 0, sequences j = 0, 1, ... until their tokens
 * reach tokens_per_step, the last one cut there.
 */
#ifndef MICL_SAMPLER_H
#define MICL_SAMPLER_H

#include <stdint.h>

#include "common/config.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/task_scene.h"
#include "data/vocab.h"

/* What one run's training sequences are drawn from. */
typedef struct {
    const config_t *cfg;
    const run_config_t *run;
    const vocab_t *vocab;
    store_index_t train_ix;
    episode_source_t src_bind, src_cls;
    task_scene_source_t src_scene, src_op; /* train splits; image ids offset past the glyphs */
    int has_scene, has_op;
    const image_store_t *img_store[3]; /* image id ranges: glyphs, then scenes, then operators */
    int64_t img_base[3];
    int n_img_stores;
    int max_seqs; /* the most sequences one step of the run can hold */
} sampler_t;

/* Opens the train splits of the stores (scenes, operators: NULL when the config has none). */
void sampler_init(sampler_t *sm, const config_t *cfg, const run_config_t *run,
                  const image_store_t *glyphs, const image_store_t *scenes,
                  const image_store_t *operators, const vocab_t *v, episode_format_t format);
void sampler_free(sampler_t *sm);

/* Builds the sequences of update `step` under stage `stage` of the run, `stage_step` steps into
 * that stage, into eps (room for sm->max_seqs); returns their number. */
int sampler_step(const sampler_t *sm, int stage, int64_t step, int64_t stage_step, episode_t *eps);

/* The store and row of image id `id` of a sequence. */
const image_store_t *sampler_image(const sampler_t *sm, int64_t id, int64_t *row);

/* The most sequences one step of `run` holds, and the token and image capacity of one
 * micro-batch (its sequences padded to the longest). Fatal when a stage's sequences exceed
 * model.max_seq, or when train.tokens_per_step cannot hold one longest sequence per
 * micro-batch. */
void sampler_capacity(const config_t *cfg, const run_config_t *run, const vocab_t *v,
                      episode_format_t format, int *max_seqs, int *max_tokens, int *max_images);

#endif
