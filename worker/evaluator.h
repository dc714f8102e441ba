/* evaluator.h - scoring a model on evaluation episodes, this rank's share of them.
 *
 * Binding (N-way K-shot with fresh names) is scored as a shot curve over nested episodes
 * (episode_binding_nested, docs/ARCHITECTURE.md "Evaluation"): nested episode i of an N-way
 * curve is drawn from rng_make(seed, RNG_STREAM_EVAL_EPISODE, eval_nested_key(N) + i) and
 * carries EVAL_QUERIES queries; episode e of every (N, K) cell is the K-shot prompt of query
 * e % EVAL_QUERIES of nested episode e / EVAL_QUERIES. A K-shot prompt does not depend on the
 * other shot counts of the curve. The nested episodes are shared over the ranks in contiguous
 * blocks and the integer counts summed, so the set is the same for any rank count.
 * An answer counts as correct when the right name scores highest among the episode's
 * candidates (the N names of an N-way episode: chance 1/N; all real names for zero-shot);
 * `exact` counts answers that are also the argmax over the whole vocabulary.
 */
#ifndef MICL_EVALUATOR_H
#define MICL_EVALUATOR_H

#include "comm/comm.h"
#include "common/results.h"
#include "data/benchmark.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"
#include "model/vlm.h"

typedef struct {
    vlm_t *model;
    const vocab_t *vocab;
    const comm_t *comm;
    episode_format_t format;
    uint64_t seed;
    int max_tokens, max_images; /* the model's capacity */
} evaluator_t;

/* Queries scored against each nested episode's demonstrations. */
#define EVAL_QUERIES BENCHMARK_QUERIES

/* How a binding curve runs: SINGLE_PASS runs each nested episode's demonstrations once through
 * the decoder (vlm_cache_prefill) and scores every query at every shot count from the KV cache;
 * REPROMPT runs every K-shot prompt in full. Both give the same logits, so the same counts. */
typedef enum { EVAL_SINGLE_PASS = 0, EVAL_REPROMPT = 1 } eval_mode_t;

/* The first rng index of the nested episodes of an N-way curve. */
uint64_t eval_nested_key(int ways);

/* N-way binding on the held-out classes of `store` (or its test images, or all images,
 * whichever exists first) at every shot count of shots[0..n_shots) (increasing), `episodes`
 * episodes per cell, into rows[0..n_shots). fake_names = 0 uses real names (only classes the
 * vocab knows). */
void eval_binding_curve(const evaluator_t *ev, const image_store_t *store, const char *benchmark,
                        int ways, const int *shots, int n_shots, int episodes, int fake_names,
                        eval_mode_t mode, eval_row_t *rows);
/* Benchmark b (data/benchmark.h) on `store` at every (ways, shots) cell given, `episodes`
 * episodes per cell (order-averaged benchmarks score each episode in both variants), into
 * rows (one per cell); returns the rows written. Binding runs as the single-pass shot curve
 * (its cells are the same prompts). With `collect` set on every rank, every cell is
 * re-prompted, the chosen answers are gathered, and rank 0 writes one JSON line per prompt to
 * `predictions` ({"id", "prediction"}, the ids of `micl data export`). */
int eval_benchmark(const evaluator_t *ev, const benchmark_t *b, const image_store_t *store,
                   const int *ways, int n_ways, const int *shots, int n_shots, int episodes,
                   int collect, FILE *predictions, eval_row_t *rows);
/* Zero-shot real-name classification of held-out instances (split TEST) of training classes. */
void eval_zeroshot(const evaluator_t *ev, const image_store_t *store, int max_images,
                   eval_row_t *row);

#endif
