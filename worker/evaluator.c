/* evaluator.c - batched scoring of evaluation episodes (see evaluator.h).
 *
 * Two engines score the same prompts: score_block runs whole prompts through vlm_forward in
 * padded batches (zero-shot, and binding curves in REPROMPT mode); single_pass_block prefills a
 * batch of nested episodes' demonstrations into a vlm_cache once and scores every query turn at
 * every shot count as a continuation of the cached demos (binding curves in SINGLE_PASS mode).
 */
#include "evaluator.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "model/vlm_cache.h"
#include "data/benchmark.h"

typedef void (*build_fn)(int64_t e, episode_t *ep, void *ctx);

/* Channels of the model's images (stores are converted to them, store_copy_image). */
static int model_channels(const evaluator_t *ev) {
    int c = vlm_config(ev->model)->channels;
    return c > 0 ? c : 1;
}

static void check_image_size(const evaluator_t *ev, const image_store_t *store) {
    int side = vlm_config(ev->model)->image_size;
    if (store->h != side || store->w != side)
        micl_fatal("%s: images are %dx%d but the model takes %dx%d", store->source, store->h,
                   store->w, side, side);
}

/* Adds one answer's outcome: correct if `answer` scores highest among the candidates (the
 * first of equal scores wins), exact if it is also the argmax over the whole vocabulary. */
static int32_t score_answer(const float *l, const int32_t *cand, int nc, int vocab, int32_t answer,
                            int64_t *correct, int64_t *exact) {
    int best = cand[0], arg = 0;
    for (int c = 1; c < nc; c++)
        if (l[cand[c]] > l[best]) best = cand[c];
    for (int c = 1; c < vocab; c++)
        if (l[c] > l[arg]) arg = c;
    *correct += best == answer;
    *exact += arg == answer;
    return best;
}

/* Scores episodes [lo, hi) of a cell in batches; adds correct/exact counts. chosen (NULL:
 * unused) gets, for episode e, the best candidate of its last scored answer at chosen[e - lo]. */
static void score_block(const evaluator_t *ev, const image_store_t *store, int64_t lo, int64_t hi,
                        build_fn build, void *ctx, const int32_t *all_candidates, int n_all,
                        int64_t *correct, int64_t *exact, int32_t *chosen) {
    int ch = model_channels(ev);
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)ch;
    int vocab = vlm_config(ev->model)->vocab;
    check_image_size(ev, store);
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
                store_copy_image(store, eps[j].images[q], ch, pix + (size_t)k * npix);
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
                int32_t best =
                    score_answer(l, cand, nc, vocab, eps[j].answer_id[q], correct, exact);
                if (chosen) chosen[e + j - lo] = best;
            }
        }
        e += B;
    }
    free(eps);
    free(tok);
    free(tgt);
    free(pix);
}

/* ---- binding shot curves over nested episodes ---- */

typedef struct {
    const evaluator_t *ev;
    const episode_source_t *src;
    int ways, rounds, fake, shots; /* shots: the cell a REPROMPT block builds */
    uint64_t key;
} nested_ctx_t;

uint64_t eval_nested_key(int ways) {
    return benchmark_nested_key(ways);
}

static void build_nested(const nested_ctx_t *c, int64_t i, episode_nested_t *ne) {
    rng_t r = rng_make(c->ev->seed, RNG_STREAM_EVAL_EPISODE, c->key + (uint64_t)i);
    episode_binding_nested(c->src, &r, c->ways, c->rounds, EVAL_QUERIES, c->fake, ne);
}

/* Cell episode e: the K-shot prompt of query e % EVAL_QUERIES of nested episode
 * e / EVAL_QUERIES. */
static void build_prompt(int64_t e, episode_t *ep, void *ctx) {
    const nested_ctx_t *c = ctx;
    episode_nested_t ne;
    build_nested(c, e / EVAL_QUERIES, &ne);
    episode_nested_prompt(c->src, &ne, c->shots, (int)(e % EVAL_QUERIES), ep);
}

/* Buffers of one single-pass batch of up to `cap` nested episodes. */
typedef struct {
    int cap, T, n_demo, cont_len, n_conts_per_ep;
    episode_nested_t *ne;
    episode_t *ep;
    int32_t *tokens, *cont_tokens;
    uint8_t *pixels, *qpixels;
    float *emb, *logits;
    vlm_continuation_t *conts;
    int32_t *cont_query, *cont_shot; /* per continuation: query index, index into shots */
    vlm_cache_t *cache;
} pass_buf_t;

/* Sizes a batch to the model's capacity and allocates its buffers and KV cache. */
static void pass_buf_init(pass_buf_t *pb, const nested_ctx_t *c, const image_store_t *store,
                          int n_shots) {
    const evaluator_t *ev = c->ev;
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)model_channels(ev);
    int D = vlm_config(ev->model)->dim, V = vlm_config(ev->model)->vocab;
    memset(pb, 0, sizeof *pb);
    pb->ep = micl_malloc(sizeof(episode_t));
    episode_nested_t probe;
    build_nested(c, 0, &probe);
    episode_nested_prompt(c->src, &probe, 0, 0, pb->ep);
    pb->cont_len = pb->ep->answer_pos[0]; /* the query turn up to its scored position */
    pb->T = episode_nested_prefix_len(c->src, &probe, c->rounds);
    pb->n_demo = c->rounds * c->ways;
    pb->n_conts_per_ep = EVAL_QUERIES * n_shots;
    int cap = 64, rows = pb->n_conts_per_ep * pb->cont_len;
    if (ev->max_tokens / pb->T < cap) cap = ev->max_tokens / pb->T;
    if (ev->max_tokens / rows < cap) cap = ev->max_tokens / rows;
    if (pb->n_demo > 0 && ev->max_images / pb->n_demo < cap) cap = ev->max_images / pb->n_demo;
    if (cap < 1)
        micl_fatal("a %d-way %d-shot nested episode (%d tokens, %d images) exceeds the model's "
                   "capacity (%d tokens, %d images)",
                   c->ways, c->rounds, pb->T, pb->n_demo, ev->max_tokens, ev->max_images);
    size_t nc = (size_t)cap * pb->n_conts_per_ep;
    pb->cap = cap;
    pb->ne = micl_malloc((size_t)cap * sizeof(episode_nested_t));
    pb->tokens = micl_malloc((size_t)cap * pb->T * sizeof(int32_t));
    pb->cont_tokens = micl_malloc((size_t)cap * EVAL_QUERIES * pb->cont_len * sizeof(int32_t));
    pb->pixels = micl_malloc((size_t)cap * pb->n_demo * npix + 1);
    pb->qpixels = micl_malloc((size_t)cap * EVAL_QUERIES * npix);
    pb->emb = micl_malloc((size_t)cap * EVAL_QUERIES * D * sizeof(float));
    pb->conts = micl_malloc(nc * sizeof(vlm_continuation_t));
    pb->cont_query = micl_malloc(nc * sizeof(int32_t));
    pb->cont_shot = micl_malloc(nc * sizeof(int32_t));
    pb->logits = micl_malloc(nc * V * sizeof(float));
    pb->cache = vlm_cache_create(ev->model, cap);
}

static void pass_buf_free(pass_buf_t *pb) {
    vlm_cache_free(pb->cache);
    free(pb->ne), free(pb->ep), free(pb->tokens), free(pb->cont_tokens), free(pb->pixels);
    free(pb->qpixels), free(pb->emb), free(pb->conts), free(pb->cont_query), free(pb->cont_shot);
    free(pb->logits);
}

/* Builds nested episodes [i0, i0 + B): their demo prefixes (tokens, pixels) and query turns. */
static void pass_fill(pass_buf_t *pb, const nested_ctx_t *c, const image_store_t *store, int64_t i0,
                      int B) {
    int ch = model_channels(c->ev);
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)ch;
    for (int b = 0; b < B; b++) {
        episode_nested_t *ne = &pb->ne[b];
        build_nested(c, i0 + b, ne);
        episode_nested_prefix(c->src, ne, pb->ep);
        memcpy(pb->tokens + (size_t)b * pb->T, pb->ep->tokens, (size_t)pb->T * sizeof(int32_t));
        for (int d = 0; d < pb->n_demo; d++)
            store_copy_image(store, ne->demo_image[d], ch,
                             pb->pixels + ((size_t)b * pb->n_demo + d) * npix);
        for (int q = 0; q < EVAL_QUERIES; q++) {
            size_t k = (size_t)b * EVAL_QUERIES + q;
            episode_nested_prompt(c->src, ne, 0, q, pb->ep);
            memcpy(pb->cont_tokens + k * pb->cont_len, pb->ep->tokens + 1,
                   (size_t)pb->cont_len * sizeof(int32_t));
            store_copy_image(store, ne->query_image[q], ch, pb->qpixels + k * npix);
        }
    }
}

/* The continuations of a batch: query q of nested episode b (those that are cell episodes,
 * e < episodes) after the first shots[j] rounds of slot b, for every j. Returns their number. */
static int pass_continuations(pass_buf_t *pb, const nested_ctx_t *c, int64_t i0, int B,
                              int64_t episodes, const int *shots, int n_shots, int dim) {
    int n = 0;
    for (int b = 0; b < B; b++)
        for (int q = 0; q < EVAL_QUERIES && (i0 + b) * EVAL_QUERIES + q < episodes; q++)
            for (int j = 0; j < n_shots; j++, n++) {
                size_t k = (size_t)b * EVAL_QUERIES + q;
                pb->conts[n] = (vlm_continuation_t){
                    b, episode_nested_prefix_len(c->src, &pb->ne[b], shots[j]), pb->cont_len,
                    pb->cont_tokens + k * pb->cont_len, pb->emb + k * dim};
                pb->cont_query[n] = q;
                pb->cont_shot[n] = j;
            }
    return n;
}

/* Single pass over nested episodes [lo, hi): per batch one prefill of the demos, then every
 * query at every shot count as a continuation; adds counts per shot count. */
static void single_pass_block(const nested_ctx_t *c, const image_store_t *store, int64_t lo,
                              int64_t hi, int64_t episodes, const int *shots, int n_shots,
                              int64_t *correct, int64_t *exact) {
    const evaluator_t *ev = c->ev;
    int D = vlm_config(ev->model)->dim, V = vlm_config(ev->model)->vocab;
    int image = ev->vocab->image;
    pass_buf_t pb;
    pass_buf_init(&pb, c, store, n_shots);
    for (int64_t i0 = lo; i0 < hi; i0 += pb.cap) {
        int B = hi - i0 < pb.cap ? (int)(hi - i0) : pb.cap;
        pass_fill(&pb, c, store, i0, B);
        vlm_cache_prefill(ev->model, pb.cache, B, pb.T, pb.tokens, B * pb.n_demo, pb.pixels, image);
        vlm_encode_images(ev->model, pb.qpixels, B * EVAL_QUERIES, pb.emb);
        int n = pass_continuations(&pb, c, i0, B, episodes, shots, n_shots, D);
        vlm_cache_score(ev->model, pb.cache, pb.conts, n, image, pb.logits);
        for (int k = 0; k < n; k++) {
            const episode_nested_t *ne = &pb.ne[pb.conts[k].slot];
            int j = pb.cont_shot[k];
            score_answer(pb.logits + (size_t)k * V, ne->names, ne->ways, V,
                         ne->names[ne->query_class[pb.cont_query[k]]], &correct[j], &exact[j]);
        }
    }
    pass_buf_free(&pb);
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

void eval_binding_curve(const evaluator_t *ev, const image_store_t *store, const char *benchmark,
                        int ways, const int *shots, int n_shots, int episodes, int fake_names,
                        eval_mode_t mode, eval_row_t *rows) {
    check_image_size(ev, store);
    vlm_pack_weights(ev->model);
    for (int j = 0; j < n_shots; j++)
        if (shots[j] < 0 || (j > 0 && shots[j] <= shots[j - 1]))
            micl_fatal("eval_binding_curve: shot counts must be non-negative and increasing");
    store_index_t ix;
    store_index_build(store, store_eval_split(store), &ix);
    episode_source_t src;
    episode_source_init(&src, store, &ix, ev->vocab, !fake_names, ev->format);
    if (src.n_classes < ways)
        micl_fatal("%s: %d-way evaluation needs %d classes with images; the store has %d",
                   store->source, ways, ways, src.n_classes);
    nested_ctx_t c = {ev, &src, ways, shots[n_shots - 1], fake_names, 0, eval_nested_key(ways)};
    int64_t n_nested = ((int64_t)episodes + EVAL_QUERIES - 1) / EVAL_QUERIES;
    int64_t lo = n_nested * ev->comm->rank / ev->comm->size;
    int64_t hi = n_nested * (ev->comm->rank + 1) / ev->comm->size;
    int64_t *counts = micl_calloc(2 * (size_t)n_shots, sizeof(int64_t));
    int64_t *correct = counts, *exact = counts + n_shots;
    if (mode == EVAL_SINGLE_PASS && hi > lo) {
        single_pass_block(&c, store, lo, hi, episodes, shots, n_shots, correct, exact);
    } else if (mode == EVAL_REPROMPT) {
        int64_t e_hi = hi * EVAL_QUERIES < episodes ? hi * EVAL_QUERIES : episodes;
        for (int j = 0; j < n_shots; j++) {
            c.shots = shots[j];
            score_block(ev, store, lo * EVAL_QUERIES, e_hi, build_prompt, &c, NULL, 0, &correct[j],
                        &exact[j], NULL);
        }
    }
    for (int j = 0; j < n_shots; j++) {
        eval_row_t *row = &rows[j];
        memset(row, 0, sizeof *row);
        snprintf(row->benchmark, sizeof row->benchmark, "%s", benchmark);
        snprintf(row->dataset, sizeof row->dataset, "%s", store->source);
        row->ways = ways;
        row->shots = shots[j];
        row->chance = 1.0 / ways;
        finish_row(ev, row, correct[j], exact[j], episodes);
    }
    free(counts);
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
    vlm_pack_weights(ev->model);
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
    score_block(ev, store, lo, hi, build_single, &ctx, cand, v->n_real, &correct, &exact, NULL);
    finish_row(ev, row, correct, exact, n);
    episode_source_free(&src);
    store_index_free(&ix);
    free(cand);
    free(images);
}

/* ---- named benchmarks ---- */

typedef struct {
    const benchmark_t *b;
    const benchmark_source_t *src;
    uint64_t seed;
    int ways, shots;
    int64_t episodes;
} benchmark_ctx_t;

/* Prompt e of a cell: episode e / variants, variant e % variants. */
static void build_bench(int64_t e, episode_t *ep, void *ctx) {
    const benchmark_ctx_t *c = ctx;
    int nv = c->b->variants;
    benchmark_episode(c->src, c->seed, c->ways, c->shots, e / nv, c->episodes, e % nv, ep);
}

/* Writes one JSON line per prompt of a cell: {"id": ..., "prediction": <chosen word>}. */
static void write_predictions(FILE *f, const benchmark_ctx_t *c, const vocab_t *v,
                              const int32_t *chosen, int64_t n) {
    for (int64_t e = 0; e < n; e++) {
        int nv = c->b->variants;
        const char *w = chosen[e] >= 0 && chosen[e] < v->n ? v->words[chosen[e]] : "";
        char id[160];
        snprintf(id, sizeof id, "%s-w%d-s%d-e%06lld-v%d", c->b->name, c->ways, c->shots,
                 (long long)(e / nv), (int)(e % nv));
        fputs("{\"id\": ", f);
        results_json_string(f, id);
        fputs(", \"prediction\": ", f);
        results_json_string(f, w);
        fputs("}\n", f);
    }
}

/* The share of a cell's prompts whose answer is the cell's most common answer: what always
 * giving that answer scores. */
static double majority_rate(const benchmark_ctx_t *c, int64_t n) {
    if (n <= 0) return 0;
    episode_t *ep = micl_malloc(sizeof *ep);
    int32_t *ans = micl_malloc((size_t)n * sizeof(int32_t));
    for (int64_t e = 0; e < n; e++) {
        build_bench(e, ep, (void *)c);
        ans[e] = ep->answer_id[ep->n_turns - 1];
    }
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) { /* n is a few hundred: quadratic is fine */
        int64_t k = 0;
        for (int64_t j = 0; j < n; j++)
            k += ans[j] == ans[i];
        best = k > best ? k : best;
    }
    free(ans);
    free(ep);
    return (double)best / (double)n;
}

/* One cell scored by re-prompting, prompts shared over ranks, counts (and, with predictions,
 * the chosen answers) summed exactly. */
static void benchmark_cell(const evaluator_t *ev, const benchmark_ctx_t *c,
                           const image_store_t *store, int collect, FILE *predictions,
                           eval_row_t *row) {
    int nv = c->b->variants;
    int64_t n = c->episodes * nv;
    int64_t lo = n * ev->comm->rank / ev->comm->size,
            hi = n * (ev->comm->rank + 1) / ev->comm->size;
    int64_t correct = 0, exact = 0;
    const vocab_t *v = ev->vocab;
    int32_t *all = NULL;
    int n_all = 0;
    if (c->b->family == FAMILY_CLASSIFY) { /* zero-shot: among all real names */
        n_all = v->n_real;
        all = micl_malloc((size_t)n_all * sizeof(int32_t));
        for (int i = 0; i < n_all; i++)
            all[i] = v->first_real + i;
    }
    int64_t *picked = collect ? micl_calloc((size_t)(n ? n : 1), sizeof(int64_t)) : NULL;
    int32_t *chosen = micl_malloc((size_t)(hi > lo ? hi - lo : 1) * sizeof(int32_t));
    score_block(ev, store, lo, hi, build_bench, (void *)c, all, n_all, &correct, &exact, chosen);
    if (picked) {
        for (int64_t e = lo; e < hi; e++)
            picked[e] = (int64_t)chosen[e - lo] + 1; /* 0: another rank's prompt */
        comm_sum_i64(ev->comm, picked, (int)n);
    }
    if (predictions && ev->comm->rank == 0) {
        int32_t *all_chosen = micl_malloc((size_t)(n ? n : 1) * sizeof(int32_t));
        for (int64_t e = 0; e < n; e++)
            all_chosen[e] = (int32_t)(picked[e] - 1);
        write_predictions(predictions, c, v, all_chosen, n);
        free(all_chosen);
    }
    memset(row, 0, sizeof *row);
    snprintf(row->benchmark, sizeof row->benchmark, "%s", c->b->name);
    snprintf(row->dataset, sizeof row->dataset, "%s", store->source);
    row->ways = c->b->family == FAMILY_CLASSIFY ? v->n_real : c->ways;
    row->shots = c->shots;
    row->chance = benchmark_chance(c->b, c->ways, v->n_real);
    if (c->src
            ->is_scene) { /* skewed answers (small counts): chance is the majority answer's rate */
        double major = majority_rate(c, n);
        if (major > row->chance) row->chance = major;
    }
    finish_row(ev, row, correct, exact, n);
    free(chosen);
    free(picked);
    free(all);
}

int eval_benchmark(const evaluator_t *ev, const benchmark_t *b, const image_store_t *store,
                   const int *ways, int n_ways, const int *shots, int n_shots, int episodes,
                   int collect, FILE *predictions, eval_row_t *rows) {
    check_image_size(ev, store);
    vlm_pack_weights(ev->model);
    int n_rows = 0;
    if (b->family == FAMILY_BINDING && !collect) { /* the single-pass shot curve */
        for (int i = 0; i < n_ways; i++) {
            eval_binding_curve(ev, store, b->name, ways[i], shots, n_shots, episodes, b->fake_names,
                               EVAL_SINGLE_PASS, rows + n_rows);
            n_rows += n_shots;
        }
        return n_rows;
    }
    benchmark_source_t src;
    benchmark_source_init(&src, b, store, ev->vocab, ev->format);
    for (int i = 0; i < n_ways; i++) {
        if (!src.is_scene && b->family != FAMILY_CLASSIFY && src.src.n_classes < ways[i])
            micl_fatal("%s: benchmark '%s' needs %d classes with images; the store has %d",
                       store->source, b->name, ways[i], src.src.n_classes);
        for (int j = 0; j < n_shots; j++) {
            benchmark_ctx_t c = {b, &src, ev->seed, ways[i], shots[j], 0};
            c.episodes = benchmark_cell_episodes(&src, episodes);
            benchmark_cell(ev, &c, store, collect, predictions, &rows[n_rows++]);
        }
    }
    benchmark_source_free(&src);
    return n_rows;
}
