/* evaluator.h - scoring a model on evaluation episodes, this rank's share of them.
 *
 * Binding (N-way K-shot with fresh names) is scored as a shot curve over nested episodes
 * (episode_binding_nested, docs/ARCHITECTURE.md "Evaluation"): nested episode i of an N-way
 * curve is drawn from rng_make(seed, RNG_STREAM_EVAL_EPISODE, eval_nested_key(N) + i) and
 * carries EVAL_QUERIES queries; episode e of every (N, K) cell is the K-shot prompt of query
 * e % EVAL_QUERIES of nested episode e / EVAL_QUERIES. A K-shot prompt does not depend on the
 * other shot counts of the curve. The nested episodes are shared over the ranks in contiguous
 * blocks and the integer counts summed, so the set is the same for any rank count.
 * Two scoring rules side by side (eval_score_answer), on every token of an answer with the
 * earlier answer tokens given (teacher forcing): an answer is right under candidate ranking
 * when each of its tokens scores highest among the episode's candidates (the N names of an
 * N-way episode; all real names for zero-shot) at its position, and an exact match when each
 * is the argmax over the whole vocabulary - which is exactly greedy decoding producing it.
 * Every row carries its per-prompt outcomes (results.h), gathered over the ranks (disjoint
 * blocks summed), its chance measured on the episodes drawn (benchmark_cell_chance), and, for
 * binding and matching cells with demonstrations, the model-free references of the same prompts
 * (data/reference.h: pixel 1-NN and nearest class mean, on the model's pixels), read by each
 * rank on its own block and gathered the same way.
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
    /* NULL, or a flag set to 1 when a stop request (signals.h) ends the evaluation between
     * cells: the rows are then incomplete (train and sweep evaluate with one) */
    int *stopped;
    /* 1: rows get no model-free references (`micl bench eval` times the model's engines alone,
     * as before them); 0, the default of a zeroed or positional initialiser: they are scored */
    int skip_references;
} evaluator_t;

/* Queries scored against each nested episode's demonstrations. */
#define EVAL_QUERIES BENCHMARK_QUERIES

/* How a binding curve runs: SINGLE_PASS runs each nested episode's demonstrations once through
 * the decoder (vlm_cache_prefill) and scores every query at every shot count from the KV cache;
 * REPROMPT runs every K-shot prompt in full. Both give the same logits, so the same counts. */
typedef enum { EVAL_SINGLE_PASS = 0, EVAL_REPROMPT = 1 } eval_mode_t;

/* Bits of an answer's outcome. */
#define EVAL_RIGHT_RANKED 1 /* every token highest among the candidates */
#define EVAL_RIGHT_EXACT 2  /* every token the argmax over the vocabulary */

/* Scores one answer of `len` tokens: logits row i (of `vocab` floats) is the prediction at the
 * position whose target is answer[i], the answer's earlier tokens given. Returns the
 * EVAL_RIGHT_* bits; ranked[i] (NULL: not wanted) gets the best of cand[0..nc) at position i
 * (the first of equal scores), greedy[i] (NULL: not wanted) the argmax over the vocabulary
 * (the first of equal scores). */
int eval_score_answer(const float *logits, int vocab, const int32_t *answer, int len,
                      const int32_t *cand, int nc, int32_t *ranked, int32_t *greedy);

/* Greedy decoding of the last scored answer of ep, as long as the answer: token i is the
 * argmax over the vocabulary after tokens 0..i-1 decoded (fed in place of the answer's; an
 * <image> token decoded is fed as <pad>, having no image). greedy[0..EPISODE_MAX_ANSWER) holds
 * on entry the teacher-forced argmax tokens (eval_score_answer's `greedy`: they are greedy
 * decoding's up to and including the first that differs from the answer, so only the tokens
 * after it are decoded, one pass each), or greedy[0] = -1 to decode every token; on return
 * the decoded tokens, -1 after the answer's length. */
void eval_greedy_decode(const evaluator_t *ev, const image_store_t *store, const episode_t *ep,
                        int32_t *greedy);

/* The first rng index of the nested episodes of an N-way curve. */
uint64_t eval_nested_key(int ways);

/* N-way binding benchmark b (FAMILY_BINDING: its name, and fake names or, with b->fake_names
 * = 0, real names of classes the vocab knows) on the held-out classes of `store` (or its test
 * images, or all images, whichever exists first) at every shot count of shots[0..n_shots)
 * (increasing), `episodes` episodes per cell, into rows[0..n_shots). */
void eval_binding_curve(const evaluator_t *ev, const image_store_t *store, const benchmark_t *b,
                        int ways, const int *shots, int n_shots, int episodes, eval_mode_t mode,
                        eval_row_t *rows);
/* Benchmark b (data/benchmark.h) on `store` at every (ways, shots) cell given, `episodes`
 * episodes per cell (order-averaged benchmarks score each episode in both variants), into
 * rows (one per cell); returns the rows written. Binding runs as the single-pass shot curve
 * (its cells are the same prompts). With `collect` set on every rank, every cell is
 * re-prompted, the answers are gathered, and rank 0 writes one JSON line per prompt to
 * `predictions`: {"id" (the ids of `micl data export`), "prediction" (greedy decoding's answer:
 * a multi-token answer is decoded token by token), "ranked" (the candidate-ranked answer, token
 * by token under teacher forcing)}, words separated by single spaces. */
int eval_benchmark(const evaluator_t *ev, const benchmark_t *b, const image_store_t *store,
                   const int *ways, int n_ways, const int *shots, int n_shots, int episodes,
                   int collect, FILE *predictions, eval_row_t *rows);
/* After a cell: whether a stop was requested on any rank (collective over ev->comm), setting
 * *ev->stopped; always 0 without ev->stopped. Test hook: MICL_TEST_SIGTERM_IN_EVAL=N makes
 * rank 0 raise SIGTERM after its N-th such cell. */
int eval_stop_check(const evaluator_t *ev);
/* Zero-shot real-name classification of held-out instances (split TEST) of training classes. */
void eval_zeroshot(const evaluator_t *ev, const image_store_t *store, int max_images,
                   eval_row_t *row);

#endif
