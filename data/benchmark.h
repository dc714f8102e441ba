/* benchmark.h - the named evaluation benchmarks and the episodes of each of their cells.
 *
 * A benchmark is a task family on a store (held-out glyph classes, Fashion-MNIST, or any store
 * given with --dataset), a set of ways and of shot counts (its cells), and a scoring rule:
 * the right answer must score highest among the episode's candidates (names, option letters,
 * yes/no, caption words token by token), and multiple-choice cells are averaged over both
 * option orders (each episode is scored twice: variant 1 reverses the options of the query,
 * for mc_bound, or of every turn, for fsicl and fsicl_random). Episode e of cell
 * (ways, shots), variant v, is built from rng_make(seed, RNG_STREAM_EVAL_EPISODE, key), so
 * internal evaluation, `micl data export` and the scoring of external predictions all see the
 * same episodes.
 */
#ifndef MICL_BENCHMARK_H
#define MICL_BENCHMARK_H

#include <stddef.h>
#include <stdint.h>

#include "episode.h"
#include "fsicl.h"
#include "task_scene.h"

typedef enum {
    BENCHMARK_STORE_GLYPHS = 0,   /* the glyph store (held-out classes; zero-shot: test images) */
    BENCHMARK_STORE_FMNIST = 1,   /* Fashion-MNIST, never trained on */
    BENCHMARK_STORE_SCENES = 2,   /* the scene store (held-out shape-colour pairs) */
    BENCHMARK_STORE_OPERATORS = 3 /* the operator store (held-out fonts) */
} benchmark_store_t;

#define BENCHMARK_MAX_CELLS 8

/* How a multiple-choice benchmark builds its episodes. */
typedef enum {
    BENCHMARK_MC_BOUND = 0, /* episode_mc_eval: names bound in the episode (mc_bound) */
    BENCHMARK_MC_PAPER,     /* fsicl.h FSICL_PAPER: the authors' FS-ICL (fsicl) */
    BENCHMARK_MC_RANDOM     /* fsicl.h FSICL_RANDOM: random demo order, balanced query */
} benchmark_mc_t;

typedef struct {
    const char *name;
    const char *doc;
    int family;              /* FAMILY_BINDING, FAMILY_MC, FAMILY_MATCHING, FAMILY_CLASSIFY */
    benchmark_store_t store; /* the store it runs on unless --dataset names another */
    int fake_names;          /* names bound in the episode (1) or the classes' real names (0) */
    int n_ways, ways[BENCHMARK_MAX_CELLS];
    int n_shots, shots[BENCHMARK_MAX_CELLS];
    int variants; /* 2: scored over both option orders; else 1 */
    int icl;      /* 1: an ICL benchmark (counted in the ICL average); 0: zero-shot retention */
    int kind;     /* the task_scene kind of a scene or operator benchmark (-1: none) */
    benchmark_mc_t mc; /* multiple choice: how its episodes are built */
} benchmark_t;

/* What a benchmark's episodes are drawn from: a glyph-family source or a scene-family one. */
typedef struct {
    const benchmark_t *benchmark;
    store_index_t index;
    episode_source_t src;      /* glyph families (binding, mc, matching, classify) */
    task_scene_source_t scene; /* scene and operator families */
    int is_scene;
    /* FS-ICL (mc PAPER, RANDOM): training images by class and the class means */
    store_index_t train_index;
    fsicl_source_t fsicl;
    int is_fsicl;
} benchmark_source_t;

/* Opens the source of b's episodes on `store` (benchmark_split's images). */
void benchmark_source_init(benchmark_source_t *bs, const benchmark_t *b, const image_store_t *store,
                           const vocab_t *v, episode_format_t format);
void benchmark_source_free(benchmark_source_t *bs);
/* Refuses (micl_fatal, exit 1), before anything is evaluated, a cell (ways[i], shots[j]) whose
 * episodes could not be drawn from bs without showing an image twice: binding and multiple
 * choice (mc_bound) need K + 1 images in every class, matching 2 (episode_check_source). */
void benchmark_check_cells(const benchmark_source_t *bs, const int *ways, int n_ways,
                           const int *shots, int n_shots);
/* Classes (glyph families) or images (scene families) the source offers. */
int64_t benchmark_source_size(const benchmark_source_t *bs);

/* Binding cells are prompts of nested episodes (episode_binding_nested): episode e of cell
 * (N, K) is the K-shot prompt of query e % BENCHMARK_QUERIES of nested episode
 * e / BENCHMARK_QUERIES, drawn from rng index benchmark_nested_key(N) + e / BENCHMARK_QUERIES,
 * so a single pass over the demonstrations scores every shot count of a curve. */
#define BENCHMARK_QUERIES 4
uint64_t benchmark_nested_key(int ways);

/* The cells a run of a benchmark scores: its own, or lists given by the user. */
typedef struct {
    int n_ways, ways[BENCHMARK_MAX_CELLS];
    int n_shots, shots[BENCHMARK_MAX_CELLS];
} benchmark_cells_t;

/* 1 if b's cells with ways and/or shots replaced by the given lists (n = 0: b's own) fit the
 * family (multiple choice: 2 to 4 ways; matching and zero-shot have no ways to choose;
 * zero-shot has no shots) and every episode fits EPISODE_MAX_ITEMS images; else 0 with the
 * reason in err. For a command's usage check (exit 2) before it loads anything. */
int benchmark_cells_check(const benchmark_t *b, const int *ways, int n_ways, const int *shots,
                          int n_shots, char *err, size_t len);
/* b's cells with ways and/or shots replaced by the given lists; a fatal error where
 * benchmark_cells_check fails. */
void benchmark_cells(const benchmark_t *b, const int *ways, int n_ways, const int *shots,
                     int n_shots, benchmark_cells_t *out);

/* Tokens and images of the longest prompt of b's cells c (for sizing a model's buffers). */
void benchmark_prompt_size(const benchmark_t *b, const benchmark_cells_t *c, const vocab_t *v,
                           episode_format_t format, int *tokens, int *images);

/* The benchmark called `name`, or NULL. */
const benchmark_t *benchmark_find(const char *name);
/* All benchmarks, in report order: n_out gets their number. */
const benchmark_t *benchmark_all(int *n_out);
/* Comma-separated names (for messages). */
const char *benchmark_names(void);

/* The store split a benchmark's episodes draw from: held-out classes if the store has them
 * (else test images, else everything); zero-shot retention and FS-ICL (fsicl, fsicl_random)
 * draw test images (held-out instances of training classes). */
int benchmark_split(const benchmark_t *b, const image_store_t *store);
/* Chance accuracy of a cell by its design (1/N, 1/3, 0.5): a prior, for messages and sizing.
 * Reports use benchmark_cell_chance, which reads the episodes actually drawn. */
double benchmark_chance(const benchmark_t *b, int ways, int n_real_names);

/* The chance of a cell, measured on its episodes as drawn (every variant counted):
 *   random    the mean, over the scored answers, of the probability that a uniform guess among
 *             the answer's candidates is right (each token of a multi-token answer guessed
 *             among the candidates: the product); 0 for an answer with no closed set;
 *   constant  the share of the commonest right answer: the best score of always giving one
 *             answer (whatever the scoring rule), with that answer's words in constant_answer.
 * The headline chance of a cell is the larger of the two. n_real_names: the closed set of
 * zero-shot classification (all real names). */
typedef struct {
    double random, constant;
    int64_t answers; /* scored answers counted */
    char constant_answer[64];
} benchmark_chance_t;
void benchmark_cell_chance(const benchmark_source_t *bs, uint64_t seed, int ways, int shots,
                           int64_t episodes, int n_real_names, benchmark_chance_t *out);
/* The resampling group of episode e of a cell of b: episodes of one group share their
 * demonstrations (a binding curve's queries of one nested episode, and every shot count of it)
 * and a bootstrap draws them together. Every variant of an episode is in the episode's group. */
int64_t benchmark_episode_group(const benchmark_t *b, int64_t e);

/* Episode e of `episodes` of cell (ways, shots), variant v, from `src` (built on
 * benchmark_split's images; with real names for real-name benchmarks). Zero-shot retention:
 * episode e is the e-th of `episodes` test images of named classes spread evenly over the
 * store (all of them when episodes is 0 or more than there are). */
void benchmark_episode(const benchmark_source_t *bs, uint64_t seed, int ways, int shots, int64_t e,
                       int64_t episodes, int variant, episode_t *ep);
/* Zero-shot retention's episode e of `episodes`: a test image of a named class of src's store,
 * spread evenly over them (fatal when there is none). */
int64_t benchmark_zeroshot_image(const episode_source_t *src, int64_t e, int64_t episodes);
/* The episodes a cell really has: `episodes`, or fewer for zero-shot (its images). */
int64_t benchmark_cell_episodes(const benchmark_source_t *bs, int64_t episodes);

#endif
