/* episode.h - multi-turn ICL episodes: token sequences, loss targets and their images.
 *
 * An episode is a conversation of image turns. Multi-turn layout, format "chat":
 *     <bos> USER: <image> q.. ASSISTANT: answer.. <eot> USER: <image> q.. ASSISTANT: answer.. <eot>
 * Format "compact" drops the role markers and <eot>:  <bos> <image> q.. answer.. <image> q..
 * Single-turn layout (VL-ICL style) puts every demonstration inside one user turn and gives the
 * assistant only the last answer:  <bos> USER: <image> q.. a.. <image> q.. a.. <image> q..
 * ASSISTANT: a.. <eot>; only that last answer carries loss.
 *
 * Builders first draw a plan - a list of turns (images, question words, answer words, whether
 * the answer carries loss) - and then lay it out as tokens (episode_layout), so every family
 * shares one token layout and plans of different families can be interleaved (incoherent
 * episodes). The target of the position just before each answer token is that token
 * ("any-shot" loss): it is set only where the answer is predictable - a real name always, a
 * fake name or an option letter only when its class already appeared earlier in the episode.
 * Every random choice comes from the rng passed in (rng_make(seed, stream, index)), so an
 * episode is a pure function of its key.
 */
#ifndef MICL_EPISODE_H
#define MICL_EPISODE_H

#include <stdint.h>

#include "common/config.h"
#include "common/rng.h"
#include "store.h"
#include "vocab.h"

#define EPISODE_MAX_ITEMS 256   /* turns (and images) of one episode */
#define EPISODE_MAX_WAYS 64     /* classes of one episode */
#define EPISODE_MAX_QUESTION 12 /* question tokens of one turn */
#define EPISODE_MAX_ANSWER 6    /* answer tokens of one turn */
#define EPISODE_TURN_IMAGES 2   /* images of one turn (matching shows a pair) */
#define EPISODE_MAX_OPTIONS 4   /* options of a multiple-choice turn: A B C D */

typedef enum { EPISODE_FORMAT_COMPACT = 0, EPISODE_FORMAT_CHAT = 1 } episode_format_t;
typedef enum { EPISODE_TURNS_MULTI = 0, EPISODE_TURNS_SINGLE = 1 } episode_turns_t;

/* What an episode is drawn from: a store, its per-class image lists, a vocabulary. */
typedef struct {
    const image_store_t *store;
    const store_index_t *index; /* images of the split in use, by class */
    const vocab_t *vocab;
    int32_t *classes; /* classes with >= 1 image in index (and, for real names, a name) */
    int n_classes;
    episode_format_t format;
    episode_turns_t turns; /* multi-turn (default) or single-turn layout */
    int64_t image_base;    /* added to every image id (several stores in one batch) */
    /* Fixed fake names (episode_fixed_name_class): fake name i is the fixed label of training
     * class fixed_class[i] (i < n_fixed); fixed_name[c] is class c's fake-name index or -1. */
    int32_t *fixed_class, *fixed_name;
    int n_fixed;
} episode_source_t;

void episode_source_init(episode_source_t *src, const image_store_t *store,
                         const store_index_t *index, const vocab_t *vocab, int need_real_names,
                         episode_format_t format);
void episode_source_free(episode_source_t *src);
/* Images of class cls in the source's index. */
int64_t episode_class_images(const episode_source_t *src, int cls);
/* Refuses (micl_fatal, exit 1) an evaluation cell that src cannot draw without showing an image
 * twice in one episode: it needs `ways` classes and every class `images` images (a K-shot
 * binding or multiple-choice cell: K + 1, the query's class shows K demos and the query). The
 * message names `cell` ("5-way 4-shot"), the images needed and the smallest class, or, where
 * classes lack a real name, one of those names. The evaluation builders draw distinct images in
 * every class that passes (episode_binding_eval, _nested, episode_mc_eval, episode_match_eval's
 * pairs). */
void episode_check_source(const episode_source_t *src, int ways, int images, const char *cell);

/* Fixed fake names. Some training classes carry a fake name as a fixed label, so that the
 * fake-name words are also trained as ordinary answers (families named and bursty). The
 * mapping needs no model: the store's training classes (class_split 0), in class order, are
 * shuffled by rng_make(episode_fixed_name_key(vocab), RNG_STREAM_FAKE_NAMES, 0), and fake name
 * i (0 <= i < min(n_fake, training classes)) labels the i-th class of the shuffle. The key
 * hashes the vocabulary's fake names (FNV-1a over the words, in order), which come from the
 * config's seed and travel in every checkpoint, so every run of one config, and every
 * evaluation of its checkpoints, shares the mapping; each fake name has one class and each
 * class at most one fake name. episode_source_init computes it. */
uint64_t episode_fixed_name_key(const vocab_t *v);
/* The store class whose fixed label is fake name i (0-based within the fake names), or -1. */
int episode_fixed_name_class(const episode_source_t *src, int i);
/* The fake-name index that is class c's fixed label, or -1 (the inverse). */
int episode_class_fixed_name(const episode_source_t *src, int c);

/* One turn of a plan, before layout. */
typedef struct {
    int n_images;
    int64_t images[EPISODE_TURN_IMAGES]; /* ids already offset by the source's image_base */
    int n_question;
    int32_t question[EPISODE_MAX_QUESTION];
    int n_answer;
    int32_t answer[EPISODE_MAX_ANSWER];
    int16_t shots;  /* earlier turns of the same class (-1: not an ICL turn) */
    uint8_t scored; /* 1 if the answer carries loss / is scored */
    uint8_t exact;  /* 1 if the image repeats an earlier turn's image */
} episode_turn_t;

typedef struct {
    int n_turns;
    episode_turn_t turns[EPISODE_MAX_ITEMS];
    int n_candidates; /* the closed answer set of a coherent episode (0: open) */
    int32_t candidates[EPISODE_MAX_WAYS];
    int family;
} episode_plan_t;

typedef struct {
    int n_tokens;
    int32_t tokens[EPISODE_MAX_ITEMS * 24];
    int32_t targets[EPISODE_MAX_ITEMS * 24];
    int n_images;
    int64_t images[EPISODE_MAX_ITEMS]; /* image ids, in order of <image> tokens */
    int n_turns;
    /* One entry per turn: */
    int16_t turn_image[EPISODE_MAX_ITEMS];    /* index in images[] of the turn's first image */
    uint8_t turn_n_images[EPISODE_MAX_ITEMS]; /* its image count */
    int32_t answer_pos[EPISODE_MAX_ITEMS];    /* position whose target is the first answer token */
    uint8_t answer_len[EPISODE_MAX_ITEMS];    /* answer tokens (targets at answer_pos + i) */
    int32_t answer_id[EPISODE_MAX_ITEMS];     /* the first answer token's vocab id */
    int32_t answer_shots[EPISODE_MAX_ITEMS];  /* earlier turns of the same class (-1: none) */
    uint8_t answer_scored[EPISODE_MAX_ITEMS]; /* 1 if the targets are set (loss / scoring) */
    uint8_t answer_exact[EPISODE_MAX_ITEMS];  /* 1 if the image repeats an earlier turn's image */
    int n_candidates;                         /* the answers a query is chosen among */
    int32_t candidates[EPISODE_MAX_WAYS];     /* (binding: the episode's N fake names) */
    int family;
} episode_t;

/* Lays a plan out as tokens in the source's format and turn layout. */
void episode_layout(const episode_source_t *src, const episode_plan_t *plan, episode_t *ep);
/* Interleaves the turns of plans[0..n) into one incoherent plan: turn order is drawn from r,
 * each plan keeps its own turn order (so its any-shot targets stay valid). */
void episode_interleave(const episode_plan_t *plans, int n, rng_t *r, episode_plan_t *out);

/* Training binding episode: `items` turns over N in [ways_min, ways_max] classes with fresh fake
 * names; each repeated class reuses an exact earlier image with probability exact_copy. */
void episode_binding_train(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                           int items, float exact_copy, episode_t *ep);
void episode_binding_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                          int items, float exact_copy, episode_plan_t *plan);
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
/* The query image of the k-shot prompt of query q: ne->query_image[q], unless a demo of its class
 * in rounds 0..k-1 shows that image (a class with few images), then the first image of the
 * class (in index order) that no such demo shows. Every prompt thus shows each image once when
 * every class has k + 1 images (episode_check_source), and a prompt still depends only on the
 * queries and rounds < k. */
int64_t episode_nested_query_image(const episode_source_t *src, const episode_nested_t *ne,
                                   int shots, int q);
/* <bos> and all rounds of demos (no targets): the prefix every k-shot prompt starts with. */
void episode_nested_prefix(const episode_source_t *src, const episode_nested_t *ne, episode_t *ep);
/* The k-shot prompt of query q: <bos>, rounds 0..shots-1, the query turn (scored there). */
void episode_nested_prompt(const episode_source_t *src, const episode_nested_t *ne, int shots,
                           int q, episode_t *ep);
/* Tokens of the first `shots` rounds with <bos>: where the query turn of a k-shot prompt starts. */
int episode_nested_prefix_len(const episode_source_t *src, const episode_nested_t *ne, int shots);

/* Real-name classification: `items` unrelated images each answered with its real name (one
 * item: single-image instruction data; several: interleaved image-text, not ICL-shaped). */
void episode_classify(const episode_source_t *src, rng_t *r, int items, episode_t *ep);
void episode_classify_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan);
/* A single given image answered with its real name (zero-shot evaluation). */
void episode_single(const episode_source_t *src, int64_t image, episode_t *ep);

/* named: `items` unrelated single images of fixed-name classes (classes uniform among those
 * with images in src), each answered with its fixed fake name; every turn scored (a fixed
 * label is predictable without context; answer_shots -1). */
void episode_named_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan);
/* bursty (Chan et al. 2022, fixed labels): N in [ways_min, ways_max] classes, all of them
 * fixed-name classes (labelled by their fake names) or, with the same probability 1/2, all
 * classes with a real name and no fixed fake name (labelled by their real names); N shrinks to
 * the classes available. The `items` turns cycle through the N classes (turn t: class t mod N)
 * in a shuffled order, so each class repeats when items >= 2N; images are distinct within a
 * class where it has enough. Every turn is scored; answer_shots counts the earlier turns of
 * its class. src: a real-name source (the fixed-name classes are drawn from its index). */
void episode_bursty_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                         int items, episode_plan_t *plan);

/* Multiple choice (FS-ICL style): each turn lists the options "A name B name ..." after its
 * image and the answer is the letter of the image's class. Training: like binding, with
 * min(N, 4) options per turn (the right one and N-1 others of the episode); fake_names = 0 uses
 * real names (always answerable), 1 fresh fake names (answerable once the class was seen). */
void episode_mc_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max, int items,
                     int fake_names, episode_plan_t *plan);
/* Evaluation: N-way (N <= 4) K-shot; demos list the options in a random order, the query in
 * a drawn order, reversed when `flip` is set: the two flips of one episode key are the same
 * episode with the query's option order reversed (scoring averages them). */
void episode_mc_eval(const episode_source_t *src, rng_t *r, int ways, int shots, int fake_names,
                     int flip, episode_t *ep);

/* Matching (instances): each turn shows two images and asks whether they are the same class;
 * answer yes / no, half of each. Training: `items` turns over a few classes; evaluation: K
 * demos then one scored query pair (shots = demo turns). */
void episode_match_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan);
void episode_match_eval(const episode_source_t *src, rng_t *r, int shots, episode_t *ep);

/* Tokens one single-image, single-answer turn takes in a format (for sizing sequences). */
int episode_turn_tokens(const vocab_t *v, episode_format_t format);
/* The most tokens / images one turn of `family` takes (for sizing sequences). */
int episode_family_turn_tokens(const vocab_t *v, episode_format_t format, int family, int ways_max);
int episode_family_turn_images(int family);

#endif
