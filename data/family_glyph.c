/* family_glyph.c - the families of the glyph store: classify, binding, mc, matching, named and
 * bursty (their descriptors for the registry, family.h). The builders themselves live in
 * episode.c (the paper's FS-ICL episodes of the mc benchmarks in fsicl.c); this file says which
 * builder each use (training, evaluation, show, export) calls, with which source and in which
 * order of draws.
 */
#include <stdio.h>

#include "family.h"

#define DOT "\xC2\xB7" /* the separator of a picture's title */

/* Tokens of one plain turn: <image>, question words, one answer word (and chat markers). */
static int plain_turn_tokens(const vocab_t *v, episode_format_t format, int ways_max) {
    (void)ways_max;
    return episode_turn_tokens(v, format);
}

/* ---- classify: single images answered with their real names ----------------------------- */

static void classify_train(const family_sources_t *src, const stage_config_t *s, int items,
                           float exact, rng_t *r, episode_plan_t *plan) {
    (void)s, (void)exact;
    episode_classify_plan(src->real, r, items, plan);
}

/* Zero-shot retention: the e-th of `episodes` held-out instances. */
static void classify_eval(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r,
                          episode_t *ep) {
    (void)r;
    episode_single(&bs->src, benchmark_zeroshot_image(&bs->src, c->e, c->episodes), ep);
}

static void classify_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                            episode_plan_t *plan) {
    (void)ways;
    episode_classify_plan(src, r, items, plan);
}

static void classify_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    (void)eval, (void)ways;
    snprintf(out, len, "classify " DOT " %d turns " DOT " real-name classification, %s", n, split);
}

const family_info_t family_classify = {
    .train = classify_train,
    .turn_tokens = plain_turn_tokens,
    .turn_images = 1,
    .eval = classify_eval,
    .sample = classify_sample,
    .sample_real_names = 1,
    .sample_items = 6,
    .show_what = classify_what,
};

/* ---- binding: fake names bound inside the episode ---------------------------------------- */

static void binding_train(const family_sources_t *src, const stage_config_t *s, int items,
                          float exact, rng_t *r, episode_plan_t *plan) {
    episode_binding_plan(src->fake, r, s->ways_min, s->ways_max, items, exact, plan);
}

/* The K-shot prompt of query e % BENCHMARK_QUERIES of nested episode e / BENCHMARK_QUERIES. */
static void binding_prompt(const episode_source_t *src, uint64_t seed, int ways, int shots,
                           int64_t e, int fake_names, episode_t *ep) {
    episode_nested_t ne; /* the prompt does not depend on the rounds drawn beyond `shots` */
    rng_t r = rng_make(seed, RNG_STREAM_EVAL_EPISODE,
                       benchmark_nested_key(ways) + (uint64_t)(e / BENCHMARK_QUERIES));
    episode_binding_nested(src, &r, ways, shots, BENCHMARK_QUERIES, fake_names, &ne);
    episode_nested_prompt(src, &ne, shots, (int)(e % BENCHMARK_QUERIES), ep);
}

static void binding_eval(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r,
                         episode_t *ep) {
    (void)r; /* nested episodes have keys of their own */
    binding_prompt(&bs->src, c->seed, c->ways, c->shots, c->e, bs->benchmark->fake_names, ep);
}

static void binding_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                           episode_plan_t *plan) {
    episode_binding_plan(src, r, ways, ways, items, 0.0f, plan);
}

static void binding_show_eval(const episode_source_t *src, uint64_t seed, int64_t index, int ways,
                              int shots, episode_t *ep) {
    binding_prompt(src, seed, ways, shots, index, 1, ep);
}

static void binding_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    if (eval)
        snprintf(out, len,
                 "binding-eval " DOT " %d-way %d-shot " DOT " evaluation episode, fresh fake "
                 "names, %s",
                 ways, n, split);
    else
        snprintf(out, len,
                 "binding " DOT " %d-way, %d turns " DOT " training episode, fresh fake names, %s",
                 ways, n, split);
}

const family_info_t family_binding = {
    .train = binding_train,
    .turn_tokens = plain_turn_tokens,
    .turn_images = 1,
    .eval = binding_eval,
    .sample = binding_sample,
    .sample_ways = EPISODE_MAX_WAYS,
    .sample_items = 9,
    .show_eval = binding_show_eval,
    .show_what = binding_what,
};

/* ---- mc: multiple choice, options "A name B name ..", the answer a letter --------------- */

static void mc_train(const family_sources_t *src, const stage_config_t *s, int items, float exact,
                     rng_t *r, episode_plan_t *plan) {
    (void)exact;
    int fake = rng_uniform(r) < s->mc_fake;
    episode_mc_plan(fake ? src->fake : src->real, r, s->ways_min, s->ways_max, items, fake, plan);
}

static int mc_turn_tokens(const vocab_t *v, episode_format_t format, int ways_max) {
    int opts = ways_max < EPISODE_MAX_OPTIONS ? ways_max : EPISODE_MAX_OPTIONS;
    return episode_turn_tokens(v, format) + 2 * (opts < 2 ? 2 : opts); /* "A name B name .." */
}

/* mc_bound: names bound in the episode; fsicl, fsicl_random: the paper's FS-ICL (fsicl.h). */
static void mc_eval(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r, episode_t *ep) {
    if (bs->is_fsicl)
        fsicl_episode(&bs->fsicl, r,
                      bs->benchmark->mc == BENCHMARK_MC_RANDOM ? FSICL_RANDOM : FSICL_PAPER,
                      c->shots, c->e, c->variant, ep);
    else
        episode_mc_eval(&bs->src, r, c->ways, c->shots, bs->benchmark->fake_names, c->variant, ep);
}

static void mc_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                      episode_plan_t *plan) {
    episode_mc_plan(src, r, ways, ways, items, 1, plan);
}

/* Variant 0 of episode `index`: the options as drawn. */
static void mc_show_eval(const episode_source_t *src, uint64_t seed, int64_t index, int ways,
                         int shots, episode_t *ep) {
    rng_t r = rng_make(seed, RNG_STREAM_EVAL_EPISODE, (uint64_t)index);
    episode_mc_eval(src, &r, ways, shots, 1, 0, ep);
}

static void mc_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    if (eval)
        snprintf(out, len,
                 "mc-eval " DOT " %d-way %d-shot multiple choice " DOT " options are names "
                 "bound in the episode, the answer a letter, %s",
                 ways, n, split);
    else
        snprintf(out, len,
                 "mc " DOT " %d-way, %d turns " DOT " multiple choice over fresh fake names, %s",
                 ways, n, split);
}

const family_info_t family_mc = {
    .train = mc_train,
    .turn_tokens = mc_turn_tokens,
    .turn_images = 1,
    .eval = mc_eval,
    .sample = mc_sample,
    .sample_ways = EPISODE_MAX_OPTIONS,
    .sample_items = 9,
    .show_eval = mc_show_eval,
    .show_what = mc_what,
};

/* ---- matching: two images per turn, same class? yes / no --------------------------------- */

static void matching_train(const family_sources_t *src, const stage_config_t *s, int items,
                           float exact, rng_t *r, episode_plan_t *plan) {
    (void)s, (void)exact;
    episode_match_plan(src->fake, r, items, plan);
}

static int matching_turn_tokens(const vocab_t *v, episode_format_t format, int ways_max) {
    (void)ways_max;
    return episode_turn_tokens(v, format) + 2; /* a second <image> and "same" */
}

static void matching_eval(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r,
                          episode_t *ep) {
    episode_match_eval(&bs->src, r, c->shots, ep);
}

static void matching_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                            episode_plan_t *plan) {
    (void)ways;
    episode_match_plan(src, r, items, plan);
}

static void matching_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    (void)eval, (void)ways;
    snprintf(out, len, "matching " DOT " %d pairs " DOT " same class? yes / no, %s", n, split);
}

const family_info_t family_matching = {
    .train = matching_train,
    .turn_tokens = matching_turn_tokens,
    .turn_images = 2,
    .eval = matching_eval,
    .sample = matching_sample,
    .sample_items = 5,
    .show_what = matching_what,
};

/* ---- named: single images of the fixed-name classes, answered with their fake name -------- */

static void named_train(const family_sources_t *src, const stage_config_t *s, int items,
                        float exact, rng_t *r, episode_plan_t *plan) {
    (void)s, (void)exact;
    episode_named_plan(src->fake, r, items, plan);
}

static void named_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                         episode_plan_t *plan) {
    (void)ways;
    episode_named_plan(src, r, items, plan);
}

static void named_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    (void)eval, (void)ways;
    snprintf(out, len,
             "named " DOT " %d turns " DOT " fixed-name classes answered with their fixed fake "
             "name, %s",
             n, split);
}

const family_info_t family_named = {
    .train = named_train,
    .turn_tokens = plain_turn_tokens,
    .turn_images = 1,
    .sample = named_sample,
    .sample_items = 6,
    .show_what = named_what,
};

/* ---- bursty: repeated classes with fixed labels (Chan et al. 2022) ----------------------- */

static void bursty_train(const family_sources_t *src, const stage_config_t *s, int items,
                         float exact, rng_t *r, episode_plan_t *plan) {
    (void)exact;
    episode_bursty_plan(src->real, r, s->ways_min, s->ways_max, items, plan);
}

static void bursty_sample(const episode_source_t *src, rng_t *r, int ways, int items,
                          episode_plan_t *plan) {
    episode_bursty_plan(src, r, ways, ways, items, plan);
}

static void bursty_what(char *out, size_t len, int eval, int ways, int n, const char *split) {
    (void)eval;
    snprintf(out, len,
             "bursty " DOT " %d-way, %d turns " DOT " repeated classes with fixed labels (real "
             "names or fixed fake names), %s",
             ways, n, split);
}

const family_info_t family_bursty = {
    .train = bursty_train,
    .turn_tokens = plain_turn_tokens,
    .turn_images = 1,
    .sample = bursty_sample,
    .sample_real_names = 1,
    .sample_ways = EPISODE_MAX_WAYS,
    .sample_items = 9,
    .show_what = bursty_what,
};
