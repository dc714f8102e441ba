/* sampler.c - a run's training sequences, step by step (see sampler.h). Read top to bottom:
 * drawing families, one sequence by the stage's keys, one step (by items or by tokens, with the
 * cut of its last sequence), the capacity a step needs, the sources. */
#include "sampler.h"

#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "data/family.h"

static int stage_items(const stage_config_t *s) {
    return s->items < 1 ? 1 : s->items;
}

static float exact_copy_share(const stage_config_t *s, int64_t stage_step) {
    if (s->exact_copy_steps <= 0) return s->exact_copy_start;
    double f = (double)stage_step / (double)s->exact_copy_steps;
    if (f > 1) f = 1;
    return (float)(s->exact_copy_start + f * (s->exact_copy_end - s->exact_copy_start));
}

static int has_replay_mix(const stage_config_t *s) {
    for (int f = 0; f < FAMILY_COUNT; f++)
        if (s->replay_mix[f] > 0) return 1;
    return 0;
}

/* ---- one sequence ------------------------------------------------------------------------ */

/* A family drawn by `shares` (no draw when one family has it all, so a single-family stage
 * spends the same random numbers whatever the mix keys). */
static int draw_family(const float *shares, rng_t *r) {
    for (int f = 0; f < FAMILY_COUNT; f++)
        if (shares[f] >= 1.0f) return f;
    double u = rng_uniform(r), acc = 0;
    int last = 0;
    for (int f = 0; f < FAMILY_COUNT; f++) {
        if (shares[f] <= 0) continue;
        acc += shares[f];
        last = f;
        if (u < acc) return f;
    }
    return last;
}

/* One coherent episode of `family` with `items` turns (the family's builder, data/family.h). */
static void family_plan(const sampler_t *sm, const stage_config_t *s, int family, int items,
                        float exact, rng_t *r, episode_plan_t *plan) {
    family_sources_t src = {.fake = &sm->src_bind,
                            .real = &sm->src_cls,
                            .scene = sm->has_scene ? &sm->src_scene : NULL,
                            .op = sm->has_op ? &sm->src_op : NULL};
    family_get(family)->train(&src, s, items, exact, r, plan);
}

/* `items` one-turn episodes, each of a family drawn by `shares`, one after the other (no shared
 * concept, no closed answer set). */
static void unrelated_plan(const sampler_t *sm, const stage_config_t *s, const float *shares,
                           int items, float exact, rng_t *r, episode_plan_t *plan) {
    episode_plan_t one;
    plan->n_turns = 0;
    plan->n_candidates = 0;
    for (int i = 0; i < items; i++) {
        int f = draw_family(shares, r);
        family_plan(sm, s, f, 1, exact, r, &one);
        if (i == 0) plan->family = f;
        if (plan->n_turns + one.n_turns > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
        memcpy(&plan->turns[plan->n_turns], one.turns, (size_t)one.n_turns * sizeof one.turns[0]);
        plan->n_turns += one.n_turns;
    }
}

/* A training sequence: replay (single-image instruction data, or unrelated items of
 * replay_mix), or an episode of the stage's mix - unrelated one-turn items, coherent (one
 * family), or incoherent (2-3 episodes of drawn families, turns interleaved). */
static void build_sequence(const sampler_t *sm, const stage_config_t *s, float exact, rng_t *r,
                           episode_t *ep) {
    episode_plan_t plans[3], mixed;
    int replay = rng_uniform(r) < s->replay;
    int items = stage_items(s);
    if (replay && has_replay_mix(s)) {
        unrelated_plan(sm, s, s->replay_mix, items, exact, r, &mixed);
    } else if (replay) { /* classification, and with a scene store also attribute, counting and
                            relation questions */
        int family = FAMILY_CLASSIFY;
        if (sm->has_scene) {
            static const int instr[4] = {FAMILY_CLASSIFY, FAMILY_ATTRIBUTES, FAMILY_COUNTING,
                                         FAMILY_RELATIONS};
            family = instr[rng_below(r, 4)];
        }
        family_plan(sm, s, family, family == FAMILY_CLASSIFY ? items : 1, exact, r, &mixed);
    } else if (s->unrelated) {
        unrelated_plan(sm, s, s->mix, items, exact, r, &mixed);
    } else if (s->coherent || items < 2) {
        family_plan(sm, s, draw_family(s->mix, r), items, exact, r, &mixed);
    } else {
        int n = items < 3 ? 2 : 2 + (int)rng_below(r, 2);
        for (int i = 0; i < n; i++)
            family_plan(sm, s, draw_family(s->mix, r), items / n + (i < items % n), exact, r,
                        &plans[i]);
        episode_interleave(plans, n, r, &mixed);
    }
    episode_source_t layout = sm->src_bind; /* the layout only reads format, turns, vocab */
    layout.turns = s->single_turn ? EPISODE_TURNS_SINGLE : EPISODE_TURNS_MULTI;
    episode_layout(&layout, &mixed, ep);
}

/* ---- one step ---------------------------------------------------------------------------- */

static int seqs_per_step(const config_t *cfg, const stage_config_t *s) {
    int n = cfg->train.items_per_step / stage_items(s);
    return n < cfg->train.micro_batches ? cfg->train.micro_batches : n;
}

/* Keeps the first n tokens of ep: its images are those of the kept <image> tokens, its
 * targets those of positions < n (the last kept position still predicts the first dropped
 * token), an answer keeps its targets before the cut, and the turns whose image was cut go. */
static void cut_sequence(episode_t *ep, int n, int32_t image_token) {
    int n_img = 0;
    for (int p = 0; p < n; p++)
        n_img += ep->tokens[p] == image_token;
    for (int p = n; p < ep->n_tokens; p++)
        ep->targets[p] = -1;
    ep->n_tokens = n;
    ep->n_images = n_img;
    int turns = 0;
    while (turns < ep->n_turns && ep->turn_image[turns] < n_img)
        turns++;
    ep->n_turns = turns;
    for (int k = 0; k < turns; k++) {
        if (!ep->answer_scored[k]) continue;
        if (ep->answer_pos[k] >= n)
            ep->answer_scored[k] = 0;
        else if (ep->answer_pos[k] + ep->answer_len[k] > n)
            ep->answer_len[k] = (uint8_t)(n - ep->answer_pos[k]);
    }
}

int sampler_step(const sampler_t *sm, int stage, int64_t step, int64_t stage_step, episode_t *eps) {
    const config_t *cfg = sm->cfg;
    const stage_config_t *s = &sm->run->stages[stage];
    float exact = exact_copy_share(s, stage_step);
    int64_t budget = cfg->train.tokens_per_step, total = 0;
    int n = budget > 0 ? sm->max_seqs : seqs_per_step(cfg, s);
    int j = 0;
    for (; j < n && (budget == 0 || total < budget); j++) {
        rng_t r =
            rng_make(cfg->seed, RNG_STREAM_TRAIN_EPISODE, (uint64_t)step * 65536u + (uint64_t)j);
        build_sequence(sm, s, exact, &r, &eps[j]);
        if (budget > 0 && total + eps[j].n_tokens > budget)
            cut_sequence(&eps[j], (int)(budget - total), sm->vocab->image);
        total += eps[j].n_tokens;
    }
    if (budget > 0 && (total < budget || j < cfg->train.micro_batches))
        micl_fatal("run '%s' step %lld: %d sequences of %lld tokens do not make "
                   "train.tokens_per_step = %lld in %d micro-batches",
                   sm->run->name, (long long)step, j, (long long)total, (long long)budget,
                   cfg->train.micro_batches);
    return j;
}

const image_store_t *sampler_image(const sampler_t *sm, int64_t id, int64_t *row) {
    int k = sm->n_img_stores - 1;
    while (k > 0 && id < sm->img_base[k])
        k--;
    *row = id - sm->img_base[k];
    return sm->img_store[k];
}

/* ---- capacity ---------------------------------------------------------------------------- */

/* The fewest tokens a whole sequence of stage s takes: <bos> and its turns, each at least an
 * image and an answer token (replay without replay_mix may be one scene question). */
static int min_sequence_tokens(const config_t *cfg, const stage_config_t *s) {
    int turns = stage_items(s);
    if (s->replay > 0 && !has_replay_mix(s) && cfg->data.scene_images > 0) turns = 1;
    return 1 + 2 * turns;
}

void sampler_capacity(const config_t *cfg, const run_config_t *run, const vocab_t *v,
                      episode_format_t format, int *max_seqs, int *max_tokens, int *max_images) {
    int tok = 0, img = 0, seqs = 0, M = cfg->train.micro_batches;
    int64_t budget = cfg->train.tokens_per_step;
    for (int i = 0; i < run->n_stages; i++) {
        const stage_config_t *s = &run->stages[i];
        int items = stage_items(s);
        int turn = episode_turn_tokens(v, format), turn_img = 1; /* replay: classify */
        for (int f = 0; f < FAMILY_COUNT; f++) {
            if (s->mix[f] <= 0 && s->replay_mix[f] <= 0) continue;
            int tt = episode_family_turn_tokens(v, format, f, s->ways_max);
            int ti = episode_family_turn_images(f);
            turn = tt > turn ? tt : turn;
            turn_img = ti > turn_img ? ti : turn_img;
        }
        int T = 1 + items * turn;
        if (T > cfg->model.max_seq)
            micl_fatal("%s: run '%s' stage '%s' needs %d tokens per sequence (%d items x %d + 1) "
                       "but model.max_seq = %d",
                       cfg->path, run->name, s->name, T, items, turn, cfg->model.max_seq);
        int n = seqs_per_step(cfg, s);
        if (budget > 0) {
            if (budget < (int64_t)M * T)
                micl_fatal("%s: train.tokens_per_step = %lld holds fewer than train.micro_batches "
                           "= %d sequences of run '%s' stage '%s' (up to %d tokens each); raise "
                           "it to at least %lld",
                           cfg->path, (long long)budget, M, run->name, s->name, T,
                           (long long)M * T);
            /* all but the last sequence are whole and hold fewer than `budget` tokens */
            n = (int)((budget - 1) / min_sequence_tokens(cfg, s) + 1);
        }
        seqs = n > seqs ? n : seqs;
        int per = (n + M - 1) / M;
        if (per * T > tok) tok = per * T;
        if (per * items * turn_img > img) img = per * items * turn_img;
    }
    *max_seqs = seqs;
    *max_tokens = tok;
    *max_images = img;
}

/* ---- sources ----------------------------------------------------------------------------- */

/* The image id table (glyphs from 0, then the scene and operator stores) and the training
 * sources of the scene and operator families, when the run has those stores. */
static void image_sources(sampler_t *sm, const image_store_t *glyphs,
                          const image_store_t *const extra[2], episode_format_t format) {
    sm->img_store[0] = glyphs;
    sm->img_base[0] = 0;
    sm->n_img_stores = 1;
    int64_t next = glyphs->n;
    task_scene_source_t *src[2] = {&sm->src_scene, &sm->src_op};
    int *has[2] = {&sm->has_scene, &sm->has_op};
    for (int i = 0; i < 2; i++) {
        if (!extra[i]) continue;
        if (extra[i]->h != glyphs->h || extra[i]->w != glyphs->w)
            micl_fatal("%s: images are %dx%d but the glyph store's are %dx%d", extra[i]->source,
                       extra[i]->h, extra[i]->w, glyphs->h, glyphs->w);
        task_scene_source_init(src[i], extra[i], STORE_SPLIT_TRAIN, sm->vocab, format);
        src[i]->image_base = next;
        sm->img_store[sm->n_img_stores] = extra[i];
        sm->img_base[sm->n_img_stores++] = next;
        next += extra[i]->n;
        *has[i] = 1;
    }
}

void sampler_init(sampler_t *sm, const config_t *cfg, const run_config_t *run,
                  const image_store_t *glyphs, const image_store_t *scenes,
                  const image_store_t *operators, const vocab_t *v, episode_format_t format) {
    memset(sm, 0, sizeof *sm);
    sm->cfg = cfg;
    sm->run = run;
    sm->vocab = v;
    store_index_build(glyphs, STORE_SPLIT_TRAIN, &sm->train_ix);
    episode_source_init(&sm->src_bind, glyphs, &sm->train_ix, v, 0, format);
    episode_source_init(&sm->src_cls, glyphs, &sm->train_ix, v, 1, format);
    if (sm->src_cls.n_classes == 0) micl_fatal("the training store has no training images");
    const image_store_t *const extra[2] = {scenes, operators};
    image_sources(sm, glyphs, extra, format);
    int tok, img;
    sampler_capacity(cfg, run, v, format, &sm->max_seqs, &tok, &img);
}

void sampler_free(sampler_t *sm) {
    episode_source_free(&sm->src_bind);
    episode_source_free(&sm->src_cls);
    if (sm->has_scene) task_scene_source_free(&sm->src_scene);
    if (sm->has_op) task_scene_source_free(&sm->src_op);
    store_index_free(&sm->train_ix);
}
