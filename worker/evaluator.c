/* evaluator.c - batched scoring of evaluation episodes (see evaluator.h). */
#include "evaluator.h"

#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/rng.h"

int eval_binding_split(const image_store_t *s) {
    int has[3] = {0, 0, 0};
    for (int64_t i = 0; i < s->n; i++)
        has[s->split[i] < 3 ? s->split[i] : 0] = 1;
    if (has[STORE_SPLIT_HELDOUT_CLASS]) return STORE_SPLIT_HELDOUT_CLASS;
    if (has[STORE_SPLIT_TEST]) return STORE_SPLIT_TEST;
    return STORE_SPLIT_TRAIN;
}

typedef void (*build_fn)(int64_t e, episode_t *ep, void *ctx);

/* Scores episodes [lo, hi) of a cell in batches; adds correct/exact counts. */
static void score_block(const evaluator_t *ev, const image_store_t *store, int64_t lo, int64_t hi,
                        build_fn build, void *ctx, const int32_t *all_candidates, int n_all,
                        int64_t *correct, int64_t *exact) {
    size_t npix = (size_t)store->h * (size_t)store->w;
    int vocab = vlm_config(ev->model)->vocab;
    int side = vlm_config(ev->model)->image_size;
    if (store->h != side || store->w != side)
        micl_fatal("%s: images are %dx%d but the model takes %dx%d", store->source, store->h,
                   store->w, side, side);
    episode_t *eps = micl_malloc(64 * sizeof(episode_t));
    int32_t *tok = micl_malloc((size_t)ev->max_tokens * sizeof(int32_t));
    int32_t *tgt = micl_malloc((size_t)ev->max_tokens * sizeof(int32_t));
    uint8_t *pix = micl_malloc((size_t)ev->max_images * npix);
    for (int64_t e = lo; e < hi;) {
        int B = 0, T = 1, n_img = 0;
        while (e + B < hi && B < 64) {
            build(e + B, &eps[B], ctx);
            int T2 = eps[B].n_tokens > T ? eps[B].n_tokens : T;
            if ((int64_t)(B + 1) * T2 > ev->max_tokens || n_img + eps[B].n_images > ev->max_images)
                break;
            T = T2;
            n_img += eps[B].n_images;
            B++;
        }
        if (B == 0)
            micl_fatal("an evaluation episode (%d tokens) exceeds the model's capacity (%d)",
                       eps[0].n_tokens, ev->max_tokens);
        int k = 0;
        for (int j = 0; j < B; j++) {
            for (int p = 0; p < T; p++) {
                tok[(size_t)j * T + p] = p < eps[j].n_tokens ? eps[j].tokens[p] : ev->vocab->pad;
                tgt[(size_t)j * T + p] = p < eps[j].n_tokens ? eps[j].targets[p] : -1;
            }
            for (int q = 0; q < eps[j].n_images; q++, k++)
                memcpy(pix + (size_t)k * npix, store->pixels + (size_t)eps[j].images[q] * npix,
                       npix);
        }
        vlm_batch_t b = {B, T, tok, tgt, n_img, pix, ev->vocab->image};
        int64_t n_targets;
        vlm_forward(ev->model, &b, &n_targets);
        const float *logits = vlm_logits(ev->model);
        int64_t row = 0;
        for (int j = 0; j < B; j++) {
            for (int q = 0; q < eps[j].n_turns; q++) {
                if (!eps[j].answer_scored[q]) continue;
                const float *l = logits + (size_t)row * vocab;
                row += eps[j].answer_len[q];
                const int32_t *cand = all_candidates ? all_candidates : eps[j].candidates;
                int nc = all_candidates ? n_all : eps[j].n_candidates;
                int best = cand[0], arg = 0;
                for (int c = 1; c < nc; c++)
                    if (l[cand[c]] > l[best]) best = cand[c];
                for (int c = 1; c < vocab; c++)
                    if (l[c] > l[arg]) arg = c;
                *correct += best == eps[j].answer_id[q];
                *exact += arg == eps[j].answer_id[q];
            }
        }
        e += B;
    }
    free(eps);
    free(tok);
    free(tgt);
    free(pix);
}

typedef struct {
    const evaluator_t *ev;
    episode_source_t *src;
    int ways, shots, fake;
    uint64_t key;
} binding_ctx_t;

static void build_binding(int64_t e, episode_t *ep, void *ctx) {
    binding_ctx_t *b = ctx;
    rng_t r = rng_make(b->ev->seed, RNG_STREAM_EVAL_EPISODE, b->key + (uint64_t)e);
    episode_binding_eval(b->src, &r, b->ways, b->shots, b->fake, ep);
}

static void finish_row(const evaluator_t *ev, eval_row_t *row, int64_t correct, int64_t exact,
                       int64_t n) {
    int64_t v[2] = {correct, exact};
    comm_sum_i64(ev->comm, v, 2);
    row->episodes = n;
    row->correct = v[0];
    row->exact = v[1];
    row->accuracy = n > 0 ? (double)v[0] / (double)n : 0;
    results_wilson(v[0], n, &row->ci_low, &row->ci_high);
}

void eval_binding(const evaluator_t *ev, const image_store_t *store, const char *benchmark,
                  int ways, int shots, int episodes, int fake_names, eval_row_t *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->benchmark, sizeof row->benchmark, "%s", benchmark);
    snprintf(row->dataset, sizeof row->dataset, "%s", store->source);
    row->ways = ways;
    row->shots = shots;
    row->chance = 1.0 / ways;
    store_index_t ix;
    store_index_build(store, eval_binding_split(store), &ix);
    episode_source_t src;
    episode_source_init(&src, store, &ix, ev->vocab, !fake_names, ev->format);
    if (src.n_classes < ways)
        micl_fatal("%s: %d-way evaluation needs %d classes with images; the store has %d",
                   store->source, ways, ways, src.n_classes);
    binding_ctx_t ctx = {
        ev, &src, ways, shots, fake_names, ((uint64_t)ways * 1000u + (uint64_t)shots) * 100000000u};
    int64_t lo = (int64_t)episodes * ev->comm->rank / ev->comm->size;
    int64_t hi = (int64_t)episodes * (ev->comm->rank + 1) / ev->comm->size;
    int64_t correct = 0, exact = 0;
    score_block(ev, store, lo, hi, build_binding, &ctx, NULL, 0, &correct, &exact);
    finish_row(ev, row, correct, exact, episodes);
    episode_source_free(&src);
    store_index_free(&ix);
}

typedef struct {
    episode_source_t *src;
    const int64_t *images;
} single_ctx_t;

static void build_single(int64_t e, episode_t *ep, void *ctx) {
    single_ctx_t *s = ctx;
    episode_single(s->src, s->images[e], ep);
}

void eval_zeroshot(const evaluator_t *ev, const image_store_t *store, int max_images,
                   eval_row_t *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->benchmark, sizeof row->benchmark, "zeroshot");
    snprintf(row->dataset, sizeof row->dataset, "%s", store->source);
    const vocab_t *v = ev->vocab;
    /* held-out instances of classes the vocabulary names */
    int64_t n = 0;
    int64_t *images = micl_malloc((size_t)(store->n ? store->n : 1) * sizeof(int64_t));
    for (int64_t i = 0; i < store->n; i++) {
        int c = store->labels[i];
        if (store->split[i] == STORE_SPLIT_TEST && c < v->n_store_classes &&
            v->real_of_class[c] >= 0)
            images[n++] = i;
    }
    if (n == 0)
        micl_fatal("%s: no held-out instances of named classes for zero-shot evaluation",
                   store->source);
    if (max_images > 0 && n > max_images) { /* a fixed, evenly spread subset */
        for (int64_t i = 0; i < max_images; i++)
            images[i] = images[i * n / max_images];
        n = max_images;
    }
    int32_t *cand = micl_malloc((size_t)v->n_real * sizeof(int32_t));
    for (int i = 0; i < v->n_real; i++)
        cand[i] = v->first_real + i;
    row->ways = v->n_real;
    row->shots = 0;
    row->chance = 1.0 / v->n_real;
    store_index_t ix;
    store_index_build(store, STORE_SPLIT_TEST, &ix);
    episode_source_t src;
    episode_source_init(&src, store, &ix, v, 1, ev->format);
    single_ctx_t ctx = {&src, images};
    int64_t lo = n * ev->comm->rank / ev->comm->size,
            hi = n * (ev->comm->rank + 1) / ev->comm->size;
    int64_t correct = 0, exact = 0;
    score_block(ev, store, lo, hi, build_single, &ctx, cand, v->n_real, &correct, &exact);
    finish_row(ev, row, correct, exact, n);
    episode_source_free(&src);
    store_index_free(&ix);
    free(cand);
    free(images);
}
