/* episode.h - multi-turn ICL episodes: token sequences, loss targets and their images.
 *
 * An episode is a conversation of image turns. Format "chat":
 *     <bos> USER: <image> q1 q2 .. ASSISTANT: answer <eot> USER: <image> ... ASSISTANT: answer
 * <eot> Format "compact" drops the role markers and <eot>:  <bos> <image> q.. answer <image> q..
 * answer The target of the position just before an answer is the answer ("any-shot" loss): it is
 * set only where the answer is predictable - a real name always, a fake name only when its class
 * already appeared earlier in the episode. Every random choice comes from
 * rng_make(seed, stream, index), so an episode is a pure function of its key.
 */
#ifndef MICL_EPISODE_H
#define MICL_EPISODE_H

#include <stdint.h>

#include "../common/config.h"
#include "../common/rng.h"
#include "store.h"
#include "vocab.h"

#define EPISODE_MAX_ITEMS 256
#define EPISODE_MAX_WAYS 64

typedef enum { EPISODE_FORMAT_COMPACT = 0, EPISODE_FORMAT_CHAT = 1 } episode_format_t;

/* What an episode is drawn from: a store, its per-class image lists, a vocabulary. */
typedef struct {
    const image_store_t *store;
    const store_index_t *index; /* images of the split in use, by class */
    const vocab_t *vocab;
    int32_t *classes; /* classes with >= 1 image in index (and, for real names, a name) */
    int n_classes;
    episode_format_t format;
} episode_source_t;

void episode_source_init(episode_source_t *src, const image_store_t *store,
                         const store_index_t *index, const vocab_t *vocab, int need_real_names,
                         episode_format_t format);
void episode_source_free(episode_source_t *src);

typedef struct {
    int n_tokens;
    int32_t tokens[EPISODE_MAX_ITEMS * 24];
    int32_t targets[EPISODE_MAX_ITEMS * 24];
    int n_images;
    int64_t images[EPISODE_MAX_ITEMS]; /* store rows, in order of <image> tokens */
    /* One entry per image turn: */
    int32_t answer_pos[EPISODE_MAX_ITEMS];    /* position whose target is the answer */
    int32_t answer_id[EPISODE_MAX_ITEMS];     /* the answer's vocab id */
    int32_t answer_shots[EPISODE_MAX_ITEMS];  /* earlier turns of the same class (-1: real name) */
    uint8_t answer_scored[EPISODE_MAX_ITEMS]; /* 1 if the target is set (loss / scoring) */
    uint8_t answer_exact[EPISODE_MAX_ITEMS];  /* 1 if the image repeats an earlier turn's image */
    int n_candidates;                         /* the names an answer is chosen among */
    int32_t candidates[EPISODE_MAX_WAYS];     /* (binding: the episode's N fake names) */
    int family;
} episode_t;

/* Training binding episode: `items` turns over N in [ways_min, ways_max] classes with fresh fake
 * names; each repeated class reuses an exact earlier image with probability exact_copy. */
void episode_binding_train(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                           int items, float exact_copy, episode_t *ep);
/* Evaluation binding episode: N-way K-shot, shuffled demos, then one query (scored only there)
 * whose image is never one of the demos'. names: fake names (1) or real names (0). */
void episode_binding_eval(const episode_source_t *src, rng_t *r, int ways, int shots,
                          int fake_names, episode_t *ep);
/* A nested evaluation episode: one draw that serves every shot count of a curve and several
 * queries. N classes get names; `n_queries` queries (class uniform among the N, each image new
 * among the queries of its class) are drawn first; then `rounds` rounds of demonstrations,
 * round j holding one demo of every class in a freshly shuffled order, each demo image new
 * among its class's queries and earlier demos. The k-shot prompt of query q
 * (episode_nested_prompt) is <bos>, rounds 0..k-1, then the query turn: its first N*k demos
 * hold exactly k of each class, and it does not depend on `rounds` (>= k), since round j only
 * draws after the queries and rounds < j. */
#define EPISODE_MAX_QUERIES 16
typedef struct {
    int ways, rounds, n_queries, fake_names;
    int32_t names[EPISODE_MAX_WAYS];       /* the name of class i of the episode */
    int32_t demo_class[EPISODE_MAX_ITEMS]; /* demo d of round d / ways: class in [0, ways) */
    int64_t demo_image[EPISODE_MAX_ITEMS]; /* store rows */
    int32_t query_class[EPISODE_MAX_QUERIES];
    int64_t query_image[EPISODE_MAX_QUERIES];
} episode_nested_t;

void episode_binding_nested(const episode_source_t *src, rng_t *r, int ways, int rounds,
                            int n_queries, int fake_names, episode_nested_t *ne);
/* <bos> and all rounds of demos (no targets): the prefix every k-shot prompt starts with. */
void episode_nested_prefix(const episode_source_t *src, const episode_nested_t *ne, episode_t *ep);
/* The k-shot prompt of query q: <bos>, rounds 0..shots-1, the query turn (scored there). */
void episode_nested_prompt(const episode_source_t *src, const episode_nested_t *ne, int shots,
                           int q, episode_t *ep);
/* Tokens of the first `shots` rounds with <bos>: where the query turn of a k-shot prompt starts. */
int episode_nested_prefix_len(const episode_source_t *src, const episode_nested_t *ne, int shots);

/* Real-name classification: `items` unrelated images each answered with its real name. */
void episode_classify(const episode_source_t *src, rng_t *r, int items, episode_t *ep);
/* A single given image answered with its real name (zero-shot evaluation). */
void episode_single(const episode_source_t *src, int64_t image, episode_t *ep);

/* Tokens one turn takes in a format (for sizing sequences). */
int episode_turn_tokens(const vocab_t *v, episode_format_t format);

#endif
