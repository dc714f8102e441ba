/* evaluator.h - scoring a model on evaluation episodes, this rank's share of them.
 *
 * Episodes of one (ways, shots) cell are numbered 0..E-1 and built from
 * rng_make(seed, RNG_STREAM_EVAL_EPISODE, cell key + e), so the set is the same for any rank
 * count; each rank scores a contiguous block and the integer counts are summed exactly.
 * An answer counts as correct when the right name scores highest among the episode's
 * candidates (the N names of an N-way episode: chance 1/N; all real names for zero-shot);
 * `exact` counts answers that are also the argmax over the whole vocabulary.
 */
#ifndef MICL_EVALUATOR_H
#define MICL_EVALUATOR_H

#include "../comm/comm.h"
#include "../common/results.h"
#include "../data/episode.h"
#include "../data/store.h"
#include "../data/vocab.h"
#include "../model/vlm.h"

typedef struct {
    vlm_t *model;
    const vocab_t *vocab;
    const comm_t *comm;
    episode_format_t format;
    uint64_t seed;
    int max_tokens, max_images; /* the model's capacity */
} evaluator_t;

/* N-way K-shot binding on the held-out classes of `store` (or its test images, or all images,
 * whichever exists first). fake_names = 0 uses real names (only classes the vocab knows). */
void eval_binding(const evaluator_t *ev, const image_store_t *store, const char *benchmark,
                  int ways, int shots, int episodes, int fake_names, eval_row_t *row);
/* Zero-shot real-name classification of held-out instances (split TEST) of training classes. */
void eval_zeroshot(const evaluator_t *ev, const image_store_t *store, int max_images,
                   eval_row_t *row);
/* The split an ICL evaluation on `store` draws from (see eval_binding). */
int eval_binding_split(const image_store_t *store);

#endif
