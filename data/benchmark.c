/* benchmark.c - the benchmark registry and the episodes of its cells (see benchmark.h).
 *
 * Stand-ins for the paper's evaluation (PAPER.md): fsicl is FS-ICL as the authors' code builds
 * it (2-way multiple choice over the real names of two training classes on held-out
 * instances, the same options in every turn, order-averaged; fsicl.h), fsicl_random the same
 * without its "copy the first answer" shortcut, mc_bound the harder multiple choice over names
 * bound in the episode (held-out classes, options reshuffled every turn); openmi is
 * Open-MiniImageNet fast binding (fake names, 2 and 5 ways, up to 8 shots); matching is
 * VL-ICL's same/different pairs; captioning is in-context captioning of held-out scenes;
 * cross_domain is binding on Fashion-MNIST; zeroshot is single-image classification of
 * held-out instances of the training classes (retention, not ICL).
 */
#include "benchmark.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "family.h"
#include "scenes.h"

/* clang-format off */
static const benchmark_t BENCHMARKS[] = {
    {.name = "fsicl", .family = FAMILY_MC, .store = BENCHMARK_STORE_GLYPHS, .fake_names = 0,
     .doc = "the paper's FS-ICL: 2-way, real names of two training classes on held-out "
            "instances, the same options every turn, query of the first demo's class",
     .n_ways = 1, .ways = {2}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 2, .icl = 1,
     .kind = -1, .mc = BENCHMARK_MC_PAPER},
    {.name = "openmi", .family = FAMILY_BINDING, .store = BENCHMARK_STORE_GLYPHS, .fake_names = 1,
     .doc = "fake-name binding on held-out classes (Open-MiniImageNet style)",
     .n_ways = 2, .ways = {2, 5}, .n_shots = 5, .shots = {0, 1, 2, 4, 8}, .variants = 1,
     .icl = 1, .kind = -1},
    {.name = "fsicl_random", .family = FAMILY_MC, .store = BENCHMARK_STORE_GLYPHS,
     .fake_names = 0,
     .doc = "fsicl with the demos in a random order and the query's class balanced against the "
            "first demo's",
     .n_ways = 1, .ways = {2}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 2, .icl = 1,
     .kind = -1, .mc = BENCHMARK_MC_RANDOM},
    {.name = "mc_bound", .family = FAMILY_MC, .store = BENCHMARK_STORE_GLYPHS, .fake_names = 1,
     .doc = "2-way multiple choice, options A/B are names bound in the episode (held-out "
            "classes), reshuffled every turn, query options reversed in variant 1",
     .n_ways = 1, .ways = {2}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 2, .icl = 1,
     .kind = -1, .mc = BENCHMARK_MC_BOUND},
    {.name = "matching", .family = FAMILY_MATCHING, .store = BENCHMARK_STORE_GLYPHS,
     .doc = "two images per turn: same class? yes/no, on held-out classes",
     .n_ways = 1, .ways = {2}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 1, .icl = 1,
     .kind = -1},
    {.name = "count_induction", .family = FAMILY_COUNT_INDUCTION, .store = BENCHMARK_STORE_SCENES,
     .doc = "scenes with held-out shape-colour pairs: the demos show which colour or shape is "
            "counted",
     .n_ways = 1, .ways = {0}, .n_shots = 5, .shots = {0, 1, 2, 4, 8}, .variants = 1, .icl = 1,
     .kind = TASK_SCENE_COUNT_INDUCTION},
    {.name = "operator_induction", .family = FAMILY_OPERATORS, .store = BENCHMARK_STORE_OPERATORS,
     .doc = "a ? b images in held-out fonts, one hidden operator per episode",
     .n_ways = 1, .ways = {0}, .n_shots = 5, .shots = {0, 1, 2, 4, 8}, .variants = 1, .icl = 1,
     .kind = TASK_SCENE_OPERATOR},
    {.name = "attributes_heldout", .family = FAMILY_ATTRIBUTES, .store = BENCHMARK_STORE_SCENES,
     .doc = "scenes: size questions, a question type never trained on (answers balanced; the "
            "words small / large are trained in captions)",
     .n_ways = 1, .ways = {0}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 1, .icl = 1,
     .kind = TASK_SCENE_SIZE},
    {.name = "captioning", .family = FAMILY_CAPTIONS, .store = BENCHMARK_STORE_SCENES,
     .doc = "in-context captioning of held-out scenes: size colour shape position",
     .n_ways = 1, .ways = {0}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 1, .icl = 1,
     .kind = TASK_SCENE_CAPTION},
    {.name = "cross_domain", .family = FAMILY_BINDING, .store = BENCHMARK_STORE_FMNIST,
     .fake_names = 1, .doc = "fake-name binding on Fashion-MNIST, a domain never trained on",
     .n_ways = 2, .ways = {2, 5}, .n_shots = 4, .shots = {0, 1, 2, 4}, .variants = 1, .icl = 1,
     .kind = -1},
    {.name = "zeroshot", .family = FAMILY_CLASSIFY, .store = BENCHMARK_STORE_GLYPHS,
     .doc = "single-image real-name classification of held-out instances (retention)",
     .n_ways = 1, .ways = {0}, .n_shots = 1, .shots = {0}, .variants = 1, .icl = 0, .kind = -1},
};
/* clang-format on */
#define N_BENCHMARKS ((int)(sizeof BENCHMARKS / sizeof BENCHMARKS[0]))

const benchmark_t *benchmark_find(const char *name) {
    for (int i = 0; i < N_BENCHMARKS; i++)
        if (strcmp(BENCHMARKS[i].name, name) == 0) return &BENCHMARKS[i];
    return NULL;
}

const benchmark_t *benchmark_all(int *n_out) {
    *n_out = N_BENCHMARKS;
    return BENCHMARKS;
}

const char *benchmark_names(void) {
    return "fsicl, openmi, fsicl_random, mc_bound, matching, count_induction, "
           "operator_induction, attributes_heldout, captioning, cross_domain, zeroshot";
}

/* The turns of an episode of cell (ways, shots) of b: demos and the query. */
static int64_t cell_turns(const benchmark_t *b, int ways, int shots) {
    if (b->family == FAMILY_BINDING || (b->family == FAMILY_MC && b->mc == BENCHMARK_MC_BOUND))
        return (int64_t)ways * shots + 1;
    if (b->family == FAMILY_MC) return 2 * (int64_t)shots + 1;         /* FS-ICL: 2-way */
    if (b->family == FAMILY_MATCHING) return 2 * ((int64_t)shots + 1); /* two images a turn */
    return (int64_t)shots + 1;
}

int benchmark_cells_check(const benchmark_t *b, const int *ways, int n_ways, const int *shots,
                          int n_shots, char *err, size_t len) {
#define BAD(...) return snprintf(err, len, __VA_ARGS__), 0
    if (n_ways > BENCHMARK_MAX_CELLS || n_shots > BENCHMARK_MAX_CELLS)
        BAD("benchmark '%s': at most %d ways and %d shot counts", b->name, BENCHMARK_MAX_CELLS,
            BENCHMARK_MAX_CELLS);
    if (n_ways > 0 &&
        (b->family == FAMILY_MATCHING || b->family == FAMILY_CLASSIFY || b->kind >= 0))
        BAD("benchmark '%s' has no ways to choose", b->name);
    if (n_shots > 0 && b->family == FAMILY_CLASSIFY)
        BAD("benchmark '%s' has no shots to choose", b->name);
    for (int i = 0; i < n_ways; i++)
        if (b->family == FAMILY_MC && b->mc != BENCHMARK_MC_BOUND && ways[i] != 2)
            BAD("benchmark '%s' is 2-way, not %d", b->name, ways[i]);
    for (int i = 0; i < n_ways; i++)
        if (b->family == FAMILY_MC && (ways[i] < 2 || ways[i] > EPISODE_MAX_OPTIONS))
            BAD("benchmark '%s' takes 2 to %d ways, not %d", b->name, EPISODE_MAX_OPTIONS, ways[i]);
    const int *w = n_ways ? ways : b->ways, *k = n_shots ? shots : b->shots;
    for (int i = 0; i < (n_ways ? n_ways : b->n_ways); i++)
        for (int j = 0; j < (n_shots ? n_shots : b->n_shots); j++)
            if (cell_turns(b, w[i], k[j]) > EPISODE_MAX_ITEMS)
                BAD("benchmark '%s': a %d-way %d-shot episode shows %lld images; at most %d fit "
                    "an episode",
                    b->name, w[i], k[j], (long long)cell_turns(b, w[i], k[j]), EPISODE_MAX_ITEMS);
#undef BAD
    return 1;
}

void benchmark_cells(const benchmark_t *b, const int *ways, int n_ways, const int *shots,
                     int n_shots, benchmark_cells_t *out) {
    memset(out, 0, sizeof *out);
    char err[256];
    if (!benchmark_cells_check(b, ways, n_ways, shots, n_shots, err, sizeof err))
        micl_fatal("%s", err);
    out->n_ways = n_ways ? n_ways : b->n_ways;
    memcpy(out->ways, n_ways ? ways : b->ways, (size_t)out->n_ways * sizeof(int));
    out->n_shots = n_shots ? n_shots : b->n_shots;
    memcpy(out->shots, n_shots ? shots : b->shots, (size_t)out->n_shots * sizeof(int));
}

void benchmark_prompt_size(const benchmark_t *b, const benchmark_cells_t *c, const vocab_t *v,
                           episode_format_t format, int *tokens, int *images) {
    int ways = 1, shots = 0;
    for (int i = 0; i < c->n_ways; i++)
        ways = c->ways[i] > ways ? c->ways[i] : ways;
    for (int j = 0; j < c->n_shots; j++)
        shots = c->shots[j] > shots ? c->shots[j] : shots;
    int per_turn_ways = b->family == FAMILY_BINDING || b->family == FAMILY_MC;
    int turns = per_turn_ways ? ways * shots + 1 : shots + 1;
    *tokens = 1 + turns * episode_family_turn_tokens(v, format, b->family, ways);
    *images = turns * episode_family_turn_images(b->family);
}

int benchmark_split(const benchmark_t *b, const image_store_t *s) {
    if (b->family == FAMILY_CLASSIFY) return STORE_SPLIT_TEST;
    if (b->family == FAMILY_MC && b->mc != BENCHMARK_MC_BOUND) return STORE_SPLIT_TEST;
    return store_eval_split(s);
}

double benchmark_chance(const benchmark_t *b, int ways, int n_real_names) {
    if (b->family == FAMILY_CLASSIFY) return n_real_names > 0 ? 1.0 / n_real_names : 0;
    if (b->family == FAMILY_MATCHING) return 0.5;
    if (b->kind == TASK_SCENE_SIZE) return 0.5;
    if (b->kind == TASK_SCENE_OPERATOR) return 1.0 / TASK_SCENE_N_OPS;
    if (b->kind == TASK_SCENE_COUNT_INDUCTION) return 1.0 / 7; /* counts 0..6 */
    if (b->kind == TASK_SCENE_CAPTION) { /* each of the 4 words guessed among all caption words */
        double p = 1, n = SCENES_N_SIZES + SCENES_N_COLOURS + SCENES_N_SHAPES + 3;
        for (int i = 0; i < TASK_SCENE_CAPTION_WORDS; i++)
            p /= n;
        return p;
    }
    return ways > 0 ? 1.0 / ways : 0;
}

/* The words of answer q of ep, space-separated, into buf. */
static void answer_words(const episode_t *ep, int q, const vocab_t *v, char *buf, size_t len) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < ep->answer_len[q]; i++) {
        int32_t id = ep->targets[ep->answer_pos[q] + i];
        const char *w = id >= 0 && id < v->n ? v->words[id] : "?";
        int m = snprintf(buf + k, len - k, "%s%s", i ? " " : "", w);
        if (m < 0 || (size_t)m >= len - k) break;
        k += (size_t)m;
    }
}

/* A scored answer's chance under a uniform guess among nc distinct candidates, token by token. */
static double guess_chance(const episode_t *ep, int q, int nc) {
    if (nc <= 0) return 0;
    double p = 1;
    for (int i = 0; i < ep->answer_len[q]; i++)
        p /= nc;
    return p;
}

void benchmark_cell_chance(const benchmark_source_t *bs, uint64_t seed, int ways, int shots,
                           int64_t episodes, int n_real_names, benchmark_chance_t *out) {
    const benchmark_t *b = bs->benchmark;
    const vocab_t *v = bs->is_scene ? bs->scene.vocab : bs->src.vocab;
    int64_t n_ep = benchmark_cell_episodes(bs, episodes), cap = n_ep * b->variants + 1;
    char(*keys)[64] = micl_malloc((size_t)cap * sizeof *keys);
    episode_t *ep = micl_malloc(sizeof *ep);
    memset(out, 0, sizeof *out);
    double random = 0;
    int64_t n = 0;
    for (int64_t e = 0; e < n_ep; e++)
        for (int var = 0; var < b->variants; var++) {
            benchmark_episode(bs, seed, ways, shots, e, n_ep, var, ep);
            for (int q = 0; q < ep->n_turns; q++) {
                if (!ep->answer_scored[q]) continue;
                if (n >= cap)
                    micl_fatal("benchmark '%s': more scored answers than prompts", b->name);
                int nc = b->family == FAMILY_CLASSIFY ? n_real_names : ep->n_candidates;
                random += guess_chance(ep, q, nc);
                answer_words(ep, q, v, keys[n], sizeof keys[n]);
                n++;
            }
        }
    int64_t best = 0, best_i = -1;
    for (int64_t i = 0; i < n; i++) { /* a few thousand answers: quadratic is fine */
        int64_t k = 0;
        for (int64_t j = 0; j < n; j++)
            k += strcmp(keys[i], keys[j]) == 0;
        if (k > best) best = k, best_i = i;
    }
    out->answers = n;
    out->random = n > 0 ? random / (double)n : 0;
    out->constant = n > 0 ? (double)best / (double)n : 0;
    if (best_i >= 0)
        snprintf(out->constant_answer, sizeof out->constant_answer, "%s", keys[best_i]);
    free(ep);
    free(keys);
}

int64_t benchmark_episode_group(const benchmark_t *b, int64_t e) {
    return b->family == FAMILY_BINDING ? e / BENCHMARK_QUERIES : e;
}

uint64_t benchmark_nested_key(int ways) {
    return (uint64_t)ways * 100000000000u;
}

/* The rng key of episode e of a (non-binding) cell, set apart by family, ways and shots. */
static uint64_t cell_key(const benchmark_t *b, int ways, int shots, int64_t e) {
    uint64_t base = ((uint64_t)ways * 1000u + (uint64_t)shots) * 100000000u;
    return base + ((uint64_t)b->family << 48) + (uint64_t)e;
}

void benchmark_source_init(benchmark_source_t *bs, const benchmark_t *b, const image_store_t *store,
                           const vocab_t *v, episode_format_t format) {
    memset(bs, 0, sizeof *bs);
    bs->benchmark = b;
    int split = benchmark_split(b, store);
    if (b->kind >= 0) {
        bs->is_scene = 1;
        task_scene_source_init(&bs->scene, store, split, v, format);
        return;
    }
    store_index_build(store, split, &bs->index);
    int real = !b->fake_names && b->family != FAMILY_MATCHING;
    episode_source_init(&bs->src, store, &bs->index, v, real, format);
    if (b->family == FAMILY_MC && b->mc != BENCHMARK_MC_BOUND) { /* class means, once */
        bs->is_fsicl = 1;
        store_index_build(store, STORE_SPLIT_TRAIN, &bs->train_index);
        fsicl_source_init(&bs->fsicl, &bs->src, &bs->train_index);
    }
}

void benchmark_source_free(benchmark_source_t *bs) {
    if (bs->is_scene) {
        task_scene_source_free(&bs->scene);
    } else {
        if (bs->is_fsicl) {
            fsicl_source_free(&bs->fsicl);
            store_index_free(&bs->train_index);
        }
        episode_source_free(&bs->src);
        store_index_free(&bs->index);
    }
    memset(bs, 0, sizeof *bs);
}

void benchmark_check_cells(const benchmark_source_t *bs, const int *ways, int n_ways,
                           const int *shots, int n_shots) {
    const benchmark_t *b = bs->benchmark;
    /* scene families draw whole images, zero-shot one image, FS-ICL's demos fall back to
     * training images by design (fsicl.h): none of them has a per-class count to meet */
    if (bs->is_scene || bs->is_fsicl || b->family == FAMILY_CLASSIFY) return;
    for (int i = 0; i < n_ways; i++)
        for (int j = 0; j < n_shots; j++) {
            char cell[128];
            if (b->family == FAMILY_MATCHING) { /* a same-class pair shows two images */
                snprintf(cell, sizeof cell, "the %d-shot cell of benchmark '%s'", shots[j],
                         b->name);
                episode_check_source(&bs->src, 2, 2, cell);
            } else { /* binding, mc: the query's class shows K demos and the query */
                snprintf(cell, sizeof cell, "the %d-way %d-shot cell of benchmark '%s'", ways[i],
                         shots[j], b->name);
                episode_check_source(&bs->src, ways[i], shots[j] + 1, cell);
            }
        }
}

int64_t benchmark_source_size(const benchmark_source_t *bs) {
    return bs->is_scene ? bs->scene.n_images : bs->src.n_classes;
}

/* Test images of classes the vocabulary names, in store order (the zero-shot pool). */
static int64_t zeroshot_pool(const episode_source_t *src, int64_t *out) {
    const image_store_t *s = src->store;
    const vocab_t *v = src->vocab;
    int64_t n = 0;
    for (int64_t i = 0; i < s->n; i++) {
        int c = s->labels[i];
        if (s->split[i] == STORE_SPLIT_TEST && c >= 0 && c < v->n_store_classes &&
            v->real_of_class[c] >= 0) {
            if (out) out[n] = i;
            n++;
        }
    }
    return n;
}

int64_t benchmark_cell_episodes(const benchmark_source_t *bs, int64_t episodes) {
    if (bs->benchmark->family != FAMILY_CLASSIFY) return episodes;
    int64_t n = zeroshot_pool(&bs->src, NULL);
    return episodes > 0 && episodes < n ? episodes : n;
}

int64_t benchmark_zeroshot_image(const episode_source_t *src, int64_t e, int64_t episodes) {
    int64_t n = zeroshot_pool(src, NULL);
    if (n == 0)
        micl_fatal("%s: no held-out instances of named classes for zero-shot evaluation",
                   src->store->source);
    int64_t *pool = micl_malloc((size_t)n * sizeof(int64_t));
    zeroshot_pool(src, pool);
    int64_t k = episodes > 0 && episodes < n ? e * n / episodes : e; /* evenly spread */
    if (k < 0 || k >= n) micl_fatal("zero-shot episode %lld out of range", (long long)e);
    int64_t img = pool[k];
    free(pool);
    return img;
}

void benchmark_episode(const benchmark_source_t *bs, uint64_t seed, int ways, int shots, int64_t e,
                       int64_t episodes, int variant, episode_t *ep) {
    const benchmark_t *b = bs->benchmark;
    const family_info_t *f = family_get(b->family);
    if (!f->eval)
        micl_fatal("benchmark '%s': family %s has no evaluation episodes", b->name,
                   family_name(b->family));
    rng_t r = rng_make(seed, RNG_STREAM_EVAL_EPISODE, cell_key(b, ways, shots, e));
    family_cell_t cell = {.seed = seed,
                          .ways = ways,
                          .shots = shots,
                          .variant = variant,
                          .e = e,
                          .episodes = episodes};
    f->eval(bs, &cell, &r, ep);
}
