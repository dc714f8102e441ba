/* evaluator.c - batched scoring of evaluation episodes (see evaluator.h).
 *
 * Two engines score the same prompts: score_block runs whole prompts through vlm_forward in
 * padded batches (zero-shot, and binding curves in REPROMPT mode); single_pass_block prefills a
 * batch of nested episodes' demonstrations into a vlm_cache once and scores every query turn at
 * every shot count as a continuation of the cached demos (binding curves in SINGLE_PASS mode).
 * Each rank scores a contiguous block of a cell's prompts into per-prompt outcomes (bits of
 * eval_score_answer); the blocks are summed over the ranks (the others add zeros), so every
 * rank ends with the same outcomes for any rank count, and the row's counts are their sums.
 * With predictions, the answers are gathered the same way; a multi-token answer that greedy
 * decoding does not reproduce is decoded (eval_greedy_decode) by the rank that scored it.
 * On a device backend the logits of a forward pass are copied to a host array once per pass
 * (host_logits_t); the KV-cache scores come back in host memory from model/ already.
 */
#include "evaluator.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/json_out.h"
#include "common/signals.h"
#include "common/rng.h"
#include "model/vlm_cache.h"
#include "data/benchmark.h"
#include "data/reference.h"
#include "kernels/buffer.h"
#include "device.h"

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

int eval_score_answer(const float *logits, int vocab, const int32_t *answer, int len,
                      const int32_t *cand, int nc, int32_t *ranked, int32_t *greedy) {
    int right = EVAL_RIGHT_RANKED | EVAL_RIGHT_EXACT;
    for (int i = 0; i < len; i++) {
        const float *l = logits + (size_t)i * vocab;
        int32_t best = cand[0], arg = 0;
        for (int c = 1; c < nc; c++)
            if (l[cand[c]] > l[best]) best = cand[c];
        for (int c = 1; c < vocab; c++)
            if (l[c] > l[arg]) arg = c;
        if (best != answer[i]) right &= ~EVAL_RIGHT_RANKED;
        if (arg != answer[i]) right &= ~EVAL_RIGHT_EXACT;
        if (ranked) ranked[i] = best;
        if (greedy) greedy[i] = arg;
    }
    return right;
}

/* What a block of prompts gives: per prompt (index e - lo) its outcome (EVAL_RIGHT_* bits of
 * its scored answers, all of which must be right) and, when asked for, the candidate-ranked
 * and teacher-forced argmax tokens of its last scored answer (EPISODE_MAX_ANSWER per prompt,
 * -1 after the answer's length). */
typedef struct {
    uint8_t *outcome;
    int32_t *ranked, *greedy;
} block_out_t;

/* Where a forward pass's logits are read on a device backend: a host array, grown as needed
 * (unused on the CPU, whose logits are read in place). */
typedef struct {
    float *rows;
    size_t cap; /* floats */
} host_logits_t;

/* The logits of the last forward (n rows of V), readable by the host. */
static const float *logits_on_host(const evaluator_t *ev, int64_t n, host_logits_t *h) {
    const float *l = vlm_logits(ev->model);
    if (device_host_memory()) return l;
    size_t count = (size_t)n * (size_t)vlm_config(ev->model)->vocab;
    if (count > h->cap) {
        free(h->rows);
        h->rows = micl_malloc(count * sizeof(float));
        h->cap = count;
    }
    kern_copy_to_host(h->rows, l, count * sizeof(float));
    return h->rows;
}

/* Assembles prompts eps[0..B) into one padded batch (T tokens each) and runs the forward pass;
 * returns the logits (one row per target position, in order) in host memory. */
static const float *forward_batch(const evaluator_t *ev, const image_store_t *store,
                                  const episode_t *eps, int B, int T, int32_t *tok, int32_t *tgt,
                                  uint8_t *pix, host_logits_t *h) {
    int ch = model_channels(ev);
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)ch;
    int k = 0;
    for (int j = 0; j < B; j++) {
        for (int p = 0; p < T; p++) {
            tok[(size_t)j * T + p] = p < eps[j].n_tokens ? eps[j].tokens[p] : ev->vocab->pad;
            tgt[(size_t)j * T + p] = p < eps[j].n_tokens ? eps[j].targets[p] : -1;
        }
        for (int q = 0; q < eps[j].n_images; q++, k++)
            store_copy_image(store, eps[j].images[q], ch, pix + (size_t)k * npix);
    }
    vlm_batch_t b = {B, T, tok, tgt, k, pix, ev->vocab->image};
    int64_t n_targets;
    vlm_forward(ev->model, &b, &n_targets);
    return logits_on_host(ev, n_targets, h);
}

/* The answer tokens of turn q of ep (its targets), into ans; returns their number. */
static int answer_tokens(const episode_t *ep, int q, int32_t *ans) {
    int len = ep->answer_len[q];
    if (len < 1 || len > EPISODE_MAX_ANSWER)
        micl_fatal("an evaluation answer has %d tokens (1 to %d)", len, EPISODE_MAX_ANSWER);
    for (int i = 0; i < len; i++)
        ans[i] = ep->targets[ep->answer_pos[q] + i];
    return len;
}

/* Scores the scored answers of prompt ep from its logits rows (advanced past them) into slot
 * `at` of out. */
static void score_prompt(const evaluator_t *ev, const episode_t *ep, const float **logits,
                         const int32_t *all_candidates, int n_all, block_out_t *out, int64_t at) {
    int vocab = vlm_config(ev->model)->vocab;
    const int32_t *cand = all_candidates ? all_candidates : ep->candidates;
    int nc = all_candidates ? n_all : ep->n_candidates;
    int right = 0, any = 0;
    for (int q = 0; q < ep->n_turns; q++) {
        if (!ep->answer_scored[q]) continue;
        int32_t ans[EPISODE_MAX_ANSWER], rk[EPISODE_MAX_ANSWER], gr[EPISODE_MAX_ANSWER];
        int len = answer_tokens(ep, q, ans);
        int r = eval_score_answer(*logits, vocab, ans, len, cand, nc, rk, gr);
        *logits += (size_t)len * vocab;
        right = any ? right & r : r;
        any = 1;
        for (int i = 0; out->ranked && i < EPISODE_MAX_ANSWER; i++) {
            out->ranked[at * EPISODE_MAX_ANSWER + i] = i < len ? rk[i] : -1;
            out->greedy[at * EPISODE_MAX_ANSWER + i] = i < len ? gr[i] : -1;
        }
    }
    out->outcome[at] = (uint8_t)right;
}

/* Scores prompts [lo, hi) of a cell in batches into out (slot e - lo). */
static void score_block(const evaluator_t *ev, const image_store_t *store, int64_t lo, int64_t hi,
                        build_fn build, void *ctx, const int32_t *all_candidates, int n_all,
                        block_out_t *out) {
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)model_channels(ev);
    check_image_size(ev, store);
    episode_t *eps = micl_malloc(64 * sizeof(episode_t));
    int32_t *tok = micl_malloc((size_t)ev->max_tokens * sizeof(int32_t));
    int32_t *tgt = micl_malloc((size_t)ev->max_tokens * sizeof(int32_t));
    uint8_t *pix = micl_malloc((size_t)ev->max_images * npix);
    host_logits_t hl = {NULL, 0};
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
        const float *logits = forward_batch(ev, store, eps, B, T, tok, tgt, pix, &hl);
        for (int j = 0; j < B; j++)
            score_prompt(ev, &eps[j], &logits, all_candidates, n_all, out, e + j - lo);
        e += B;
    }
    free(hl.rows);
    free(eps);
    free(tok);
    free(tgt);
    free(pix);
}

void eval_greedy_decode(const evaluator_t *ev, const image_store_t *store, const episode_t *ep_in,
                        int32_t *greedy) {
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)model_channels(ev);
    int vocab = vlm_config(ev->model)->vocab;
    episode_t *ep = micl_malloc(sizeof *ep);
    memcpy(ep, ep_in, sizeof *ep);
    int q = -1, row0 = 0; /* the last scored turn and its first logits row */
    for (int t = 0; t < ep->n_turns; t++)
        if (ep->answer_scored[t]) {
            if (q >= 0) row0 += ep->answer_len[q];
            q = t;
        }
    int len = q >= 0 ? ep->answer_len[q] : 0, pos = q >= 0 ? ep->answer_pos[q] : 0;
    int fixed = 0;                   /* greedy[0..fixed) are final */
    if (len > 0 && greedy[0] >= 0) { /* teacher-forced argmax tokens given */
        while (fixed < len && greedy[fixed] == ep->tokens[pos + 1 + fixed])
            fixed++;
        fixed = fixed < len ? fixed + 1 : len; /* the first differing token is still greedy's */
    }
    check_image_size(ev, store);
    int32_t *tok = micl_malloc((size_t)ep->n_tokens * sizeof(int32_t));
    int32_t *tgt = micl_malloc((size_t)ep->n_tokens * sizeof(int32_t));
    uint8_t *pix = micl_malloc((size_t)(ep->n_images ? ep->n_images : 1) * npix);
    host_logits_t hl = {NULL, 0};
    while (fixed < len) {
        for (int i = 0; i < fixed; i++)
            ep->tokens[pos + 1 + i] = greedy[i] == ev->vocab->image ? ev->vocab->pad : greedy[i];
        const float *l = forward_batch(ev, store, ep, 1, ep->n_tokens, tok, tgt, pix, &hl);
        l += (size_t)(row0 + fixed) * vocab;
        int32_t arg = 0;
        for (int c = 1; c < vocab; c++)
            if (l[c] > l[arg]) arg = c;
        greedy[fixed++] = arg;
    }
    for (int i = len; i < EPISODE_MAX_ANSWER; i++)
        greedy[i] = -1;
    free(hl.rows);
    free(tok);
    free(tgt);
    free(pix);
    free(ep);
}

/* Sums per-prompt values of [lo, hi) over the ranks into all[0..n) (disjoint blocks: every
 * other rank adds zeros), so every rank holds every prompt's value. */
static void gather_prompts(const evaluator_t *ev, const int64_t *mine, int64_t lo, int64_t hi,
                           int64_t *all, int64_t n, int width) {
    memset(all, 0, (size_t)(n > 0 ? n : 1) * (size_t)width * sizeof(int64_t));
    if (hi > lo)
        memcpy(all + lo * width, mine, (size_t)(hi - lo) * (size_t)width * sizeof(int64_t));
    for (int64_t at = 0; at < n * width; at += 1 << 24) { /* comm counts are int */
        int64_t k = n * width - at < (1 << 24) ? n * width - at : (1 << 24);
        comm_sum_i64(ev->comm, all + at, (int)k);
    }
}

/* Row's per-prompt outcomes from this rank's block [lo, hi) of `outcome`, gathered over the
 * ranks; episode_group[p] = benchmark_episode_group(b, p / variants). Keeps the references'
 * per-prompt outcomes row_reference set (zeros without). Sets the counts. */
static void finish_outcomes(const evaluator_t *ev, const benchmark_t *b, const uint8_t *outcome,
                            int64_t lo, int64_t hi, eval_row_t *row) {
    int64_t n = row->episodes;
    int64_t *mine = micl_malloc((size_t)(hi > lo ? hi - lo : 1) * sizeof(int64_t));
    int64_t *all = micl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    for (int64_t e = lo; e < hi; e++)
        mine[e - lo] = outcome[e - lo];
    gather_prompts(ev, mine, lo, hi, all, n, 1);
    if (!row->episode_group) results_row_alloc_outcomes(row);
    int nv = b->variants > 0 ? b->variants : 1;
    for (int64_t p = 0; p < n; p++) {
        row->episode_group[p] = benchmark_episode_group(b, p / nv);
        row->episode_correct[p] = (all[p] & EVAL_RIGHT_RANKED) != 0;
        row->episode_exact[p] = (all[p] & EVAL_RIGHT_EXACT) != 0;
    }
    free(mine);
    free(all);
    results_row_finish(row);
}

/* The model-free references of a cell (data/reference.h) on the prompts the model is scored
 * on: this rank's block [lo, hi) (build(e) gives prompt e, on the model's pixels), gathered over
 * the ranks like the outcomes, so the per-prompt outcomes (episode_ref_nn/mean, allocated here
 * with the row's others) are the same bytes for any rank count. The row has references only
 * when every prompt could be answered (not at 0 shots). Call before finish_outcomes, whose
 * results_row_finish derives the counts, accuracies and the paired gain from them. */
static void row_reference(const evaluator_t *ev, const image_store_t *store, int family,
                          build_fn build, void *ctx, int64_t lo, int64_t hi, eval_row_t *row) {
    if (ev->skip_references || !reference_family(family)) return;
    int64_t n = row->episodes;
    int64_t *mine = micl_malloc((size_t)(hi > lo ? hi - lo : 1) * sizeof(int64_t));
    int64_t *all = micl_malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    episode_t *ep = micl_malloc(sizeof *ep);
    for (int64_t e = lo; e < hi; e++) {
        build(e, ep, ctx);
        mine[e - lo] = reference_score(store, model_channels(ev), ep);
    }
    gather_prompts(ev, mine, lo, hi, all, n, 1);
    results_row_alloc_outcomes(row);
    row->ref_scored = n > 0;
    for (int64_t p = 0; p < n; p++) {
        row->ref_scored &= (all[p] & REFERENCE_ANSWERED) != 0;
        row->episode_ref_nn[p] = (all[p] & REFERENCE_NN_RIGHT) != 0;
        row->episode_ref_mean[p] = (all[p] & REFERENCE_MEAN_RIGHT) != 0;
    }
    free(ep);
    free(mine);
    free(all);
}

/* The chance of a cell from its episodes as drawn (benchmark_cell_chance). */
static void row_chance(const evaluator_t *ev, const benchmark_source_t *bs, int ways, int shots,
                       int64_t episodes, eval_row_t *row) {
    benchmark_chance_t ch;
    benchmark_cell_chance(bs, ev->seed, ways, shots, episodes, ev->vocab->n_real, &ch);
    row->chance_random = ch.random;
    row->chance_constant = ch.constant;
    snprintf(row->constant_answer, sizeof row->constant_answer, "%s", ch.constant_answer);
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
    /* The query image of query k = b * EVAL_QUERIES + q at shot count j is image
     * q_slot[k * n_shots + j] of qpixels / emb: slot k itself, or, where a demo of a small class
     * shows the query's image (episode_nested_query_image), a slot after the batch's
     * B * EVAL_QUERIES queries; n_qimg slots are filled. */
    int32_t *q_slot;
    int n_shots, n_qimg;
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
    size_t nq = (size_t)cap * EVAL_QUERIES + nc; /* every query, and a substitute per cell */
    pb->n_shots = n_shots;
    pb->qpixels = micl_malloc(nq * npix);
    pb->emb = micl_malloc(nq * D * sizeof(float));
    pb->q_slot = micl_malloc(nc * sizeof(int32_t));
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
    free(pb->q_slot);
    free(pb->logits);
}

/* Builds nested episodes [i0, i0 + B): their demo prefixes (tokens, pixels) and query turns. */
static void pass_fill(pass_buf_t *pb, const nested_ctx_t *c, const image_store_t *store, int64_t i0,
                      int B, const int *shots) {
    int ch = model_channels(c->ev);
    size_t npix = (size_t)store->h * (size_t)store->w * (size_t)ch;
    pb->n_qimg = B * EVAL_QUERIES;
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
            for (int j = 0; j < pb->n_shots; j++) {
                int64_t img = episode_nested_query_image(c->src, ne, shots[j], q);
                int32_t *slot = &pb->q_slot[k * (size_t)pb->n_shots + (size_t)j];
                *slot = (int32_t)k;
                if (img == ne->query_image[q]) continue;
                *slot = pb->n_qimg++;
                store_copy_image(store, img, ch, pb->qpixels + (size_t)*slot * npix);
            }
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
                size_t slot = (size_t)pb->q_slot[k * (size_t)n_shots + (size_t)j];
                pb->conts[n] = (vlm_continuation_t){
                    b, episode_nested_prefix_len(c->src, &pb->ne[b], shots[j]), pb->cont_len,
                    pb->cont_tokens + k * pb->cont_len, pb->emb + slot * dim};
                pb->cont_query[n] = q;
                pb->cont_shot[n] = j;
            }
    return n;
}

/* Single pass over nested episodes [lo, hi): per batch one prefill of the demos, then every
 * query at every shot count as a continuation. outcome[j * span + e - lo * EVAL_QUERIES] gets
 * the outcome of cell episode e at shot count j (span: the prompts of the block). */
static void single_pass_block(const nested_ctx_t *c, const image_store_t *store, int64_t lo,
                              int64_t hi, int64_t episodes, const int *shots, int n_shots,
                              uint8_t *outcome, int64_t span) {
    const evaluator_t *ev = c->ev;
    int D = vlm_config(ev->model)->dim, V = vlm_config(ev->model)->vocab;
    int image = ev->vocab->image;
    pass_buf_t pb;
    pass_buf_init(&pb, c, store, n_shots);
    for (int64_t i0 = lo; i0 < hi; i0 += pb.cap) {
        int B = hi - i0 < pb.cap ? (int)(hi - i0) : pb.cap;
        pass_fill(&pb, c, store, i0, B, shots);
        vlm_cache_prefill(ev->model, pb.cache, B, pb.T, pb.tokens, B * pb.n_demo, pb.pixels, image);
        vlm_encode_images(ev->model, pb.qpixels, pb.n_qimg, pb.emb);
        int n = pass_continuations(&pb, c, i0, B, episodes, shots, n_shots, D);
        vlm_cache_score(ev->model, pb.cache, pb.conts, n, image, pb.logits);
        for (int k = 0; k < n; k++) {
            int b = pb.conts[k].slot, q = pb.cont_query[k];
            const episode_nested_t *ne = &pb.ne[b];
            int32_t answer = ne->names[ne->query_class[q]];
            int64_t e = (i0 + b) * EVAL_QUERIES + q - lo * EVAL_QUERIES;
            outcome[pb.cont_shot[k] * span + e] = (uint8_t)eval_score_answer(
                pb.logits + (size_t)k * V, V, &answer, 1, ne->names, ne->ways, NULL, NULL);
        }
    }
    pass_buf_free(&pb);
}

/* A row's name, store, ways and shots. */
static void row_begin(eval_row_t *row, const char *benchmark, const image_store_t *store, int ways,
                      int shots, int64_t prompts) {
    memset(row, 0, sizeof *row);
    snprintf(row->benchmark, sizeof row->benchmark, "%s", benchmark);
    snprintf(row->dataset, sizeof row->dataset, "%s", store->source);
    row->ways = ways;
    row->shots = shots;
    row->episodes = prompts;
}

void eval_binding_curve(const evaluator_t *ev, const image_store_t *store, const benchmark_t *b,
                        int ways, const int *shots, int n_shots, int episodes, eval_mode_t mode,
                        eval_row_t *rows) {
    check_image_size(ev, store);
    vlm_pack_weights(ev->model);
    if (b->family != FAMILY_BINDING)
        micl_fatal("eval_binding_curve: benchmark '%s' is not a binding benchmark", b->name);
    for (int j = 0; j < n_shots; j++)
        if (shots[j] < 0 || (j > 0 && shots[j] <= shots[j - 1]))
            micl_fatal("eval_binding_curve: shot counts must be non-negative and increasing");
    int fake_names = b->fake_names;
    store_index_t ix;
    store_index_build(store, store_eval_split(store), &ix);
    episode_source_t src;
    episode_source_init(&src, store, &ix, ev->vocab, !fake_names, ev->format);
    for (int j = 0; j < n_shots; j++) { /* no image shown twice in a prompt */
        char cell[64];
        snprintf(cell, sizeof cell, "the %d-way %d-shot cell", ways, shots[j]);
        episode_check_source(&src, ways, shots[j] + 1, cell);
    }
    nested_ctx_t c = {ev, &src, ways, shots[n_shots - 1], fake_names, 0, eval_nested_key(ways)};
    int64_t n_nested = ((int64_t)episodes + EVAL_QUERIES - 1) / EVAL_QUERIES;
    int64_t lo = n_nested * ev->comm->rank / ev->comm->size;
    int64_t hi = n_nested * (ev->comm->rank + 1) / ev->comm->size;
    /* this rank's prompts of every cell: [e_lo, e_hi) */
    int64_t e_lo = lo * EVAL_QUERIES < episodes ? lo * EVAL_QUERIES : episodes;
    int64_t e_hi = hi * EVAL_QUERIES < episodes ? hi * EVAL_QUERIES : episodes;
    int64_t span = e_hi - e_lo;
    uint8_t *outcome = micl_calloc((size_t)n_shots * (size_t)(span > 0 ? span : 1), 1);
    if (mode == EVAL_SINGLE_PASS && hi > lo) {
        single_pass_block(&c, store, lo, hi, episodes, shots, n_shots, outcome, span);
    } else if (mode == EVAL_REPROMPT) {
        for (int j = 0; j < n_shots; j++) {
            c.shots = shots[j];
            block_out_t out = {outcome + (size_t)j * (size_t)span, NULL, NULL};
            score_block(ev, store, e_lo, e_hi, build_prompt, &c, NULL, 0, &out);
        }
    }
    benchmark_source_t bs;
    benchmark_source_init(&bs, b, store, ev->vocab, ev->format);
    for (int j = 0; j < n_shots; j++) {
        eval_row_t *row = &rows[j];
        row_begin(row, b->name, store, ways, shots[j], episodes);
        row_chance(ev, &bs, ways, shots[j], episodes, row);
        c.shots = shots[j];
        row_reference(ev, store, b->family, build_prompt, &c, e_lo, e_hi, row);
        finish_outcomes(ev, b, outcome + (size_t)j * (size_t)span, e_lo, e_hi, row);
    }
    benchmark_source_free(&bs);
    free(outcome);
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
    const benchmark_t *b = benchmark_find("zeroshot");
    if (!b) micl_fatal("eval_zeroshot: no benchmark 'zeroshot'");
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
    row_begin(row, "zeroshot", store, v->n_real, 0, n);
    benchmark_source_t bs; /* the same images: benchmark_zeroshot_image spreads them alike */
    benchmark_source_init(&bs, b, store, v, ev->format);
    row_chance(ev, &bs, 0, 0, max_images > 0 ? max_images : 0, row);
    benchmark_source_free(&bs);
    store_index_t ix;
    store_index_build(store, STORE_SPLIT_TEST, &ix);
    episode_source_t src;
    episode_source_init(&src, store, &ix, v, 1, ev->format);
    single_ctx_t ctx = {&src, images};
    int64_t lo = n * ev->comm->rank / ev->comm->size,
            hi = n * (ev->comm->rank + 1) / ev->comm->size;
    block_out_t out = {micl_calloc((size_t)(hi > lo ? hi - lo : 1), 1), NULL, NULL};
    score_block(ev, store, lo, hi, build_single, &ctx, cand, v->n_real, &out);
    finish_outcomes(ev, b, out.outcome, lo, hi, row);
    free(out.outcome);
    episode_source_free(&src);
    store_index_free(&ix);
    free(cand);
    free(images);
}

/* ---- named benchmarks ---- */

typedef struct {
    const evaluator_t *ev;
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

/* The words of an answer's tokens (-1 ends it), space-separated, as a JSON string. */
static json_t *json_answer(const vocab_t *v, const int64_t *tokens) {
    char buf[EPISODE_MAX_ANSWER * 64 + 1];
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < EPISODE_MAX_ANSWER && tokens[i] >= 0; i++) {
        const char *w = tokens[i] < v->n ? v->words[tokens[i]] : "";
        int m = snprintf(buf + k, sizeof buf - k, "%s%s", i ? " " : "", w);
        if (m < 0 || (size_t)m >= sizeof buf - k) break;
        k += (size_t)m;
    }
    return json_out_string(buf);
}

/* Writes one JSON line per prompt of a cell: {"id": ..., "prediction": <greedy answer>,
 * "ranked": <candidate-ranked answer>}; answers[e] holds prompt e's greedy then ranked tokens
 * (EPISODE_MAX_ANSWER each, -1 after the answer). */
static void write_predictions(FILE *f, const benchmark_ctx_t *c, const vocab_t *v,
                              const int64_t *answers, int64_t n) {
    for (int64_t e = 0; e < n; e++) {
        int nv = c->b->variants;
        char id[160];
        snprintf(id, sizeof id, "%s-w%d-s%d-e%06lld-v%d", c->b->name, c->ways, c->shots,
                 (long long)(e / nv), (int)(e % nv));
        const int64_t *a = answers + (size_t)e * 2 * EPISODE_MAX_ANSWER;
        json_t *line = json_out_object();
        json_out_set_string(line, "id", id);
        json_out_set(line, "prediction", json_answer(v, a));
        json_out_set(line, "ranked", json_answer(v, a + EPISODE_MAX_ANSWER));
        const char *name = atomic_file_name(f);
        json_out_write_line(f, line, name ? name : "the predictions file");
    }
}

/* The answers of prompts [lo, hi) for predictions: greedy decoding's (decoded where teacher
 * forcing could not give them) and the candidate-ranked ones, gathered over the ranks; rank 0
 * writes them. */
static void cell_predictions(const evaluator_t *ev, const benchmark_ctx_t *c,
                             const image_store_t *store, const block_out_t *out, int64_t lo,
                             int64_t hi, int64_t n, FILE *predictions) {
    const int W = 2 * EPISODE_MAX_ANSWER;
    int64_t *mine = micl_malloc((size_t)(hi > lo ? hi - lo : 1) * W * sizeof(int64_t));
    int64_t *all = micl_malloc((size_t)(n > 0 ? n : 1) * W * sizeof(int64_t));
    episode_t *ep = micl_malloc(sizeof *ep);
    for (int64_t e = lo; e < hi; e++) {
        int32_t *gr = out->greedy + (size_t)(e - lo) * EPISODE_MAX_ANSWER;
        if (!(out->outcome[e - lo] & EVAL_RIGHT_EXACT) && gr[1] >= 0) {
            build_bench(e, ep, (void *)c);
            eval_greedy_decode(ev, store, ep, gr);
        }
        for (int i = 0; i < EPISODE_MAX_ANSWER; i++) {
            mine[(size_t)(e - lo) * W + i] = gr[i] + 1; /* 0: another rank's prompt */
            mine[(size_t)(e - lo) * W + EPISODE_MAX_ANSWER + i] =
                out->ranked[(size_t)(e - lo) * EPISODE_MAX_ANSWER + i] + 1;
        }
    }
    gather_prompts(ev, mine, lo, hi, all, n, W);
    for (int64_t k = 0; k < n * W; k++)
        all[k] -= 1;
    if (predictions && ev->comm->rank == 0) write_predictions(predictions, c, ev->vocab, all, n);
    free(ep);
    free(mine);
    free(all);
}

/* One cell scored by re-prompting, prompts shared over ranks, outcomes (and, with predictions,
 * the answers) gathered exactly. */
static void benchmark_cell(const evaluator_t *ev, const benchmark_ctx_t *c,
                           const image_store_t *store, int collect, FILE *predictions,
                           eval_row_t *row) {
    int nv = c->b->variants;
    int64_t n = c->episodes * nv;
    int64_t lo = n * ev->comm->rank / ev->comm->size,
            hi = n * (ev->comm->rank + 1) / ev->comm->size;
    const vocab_t *v = ev->vocab;
    int32_t *all = NULL;
    int n_all = 0;
    if (c->b->family == FAMILY_CLASSIFY) { /* zero-shot: among all real names */
        n_all = v->n_real;
        all = micl_malloc((size_t)n_all * sizeof(int32_t));
        for (int i = 0; i < n_all; i++)
            all[i] = v->first_real + i;
    }
    size_t mine = (size_t)(hi > lo ? hi - lo : 1);
    block_out_t out = {micl_calloc(mine, 1), NULL, NULL};
    if (collect) {
        out.ranked = micl_malloc(mine * EPISODE_MAX_ANSWER * sizeof(int32_t));
        out.greedy = micl_malloc(mine * EPISODE_MAX_ANSWER * sizeof(int32_t));
    }
    score_block(ev, store, lo, hi, build_bench, (void *)c, all, n_all, &out);
    if (collect) cell_predictions(ev, c, store, &out, lo, hi, n, predictions);
    row_begin(row, c->b->name, store, c->b->family == FAMILY_CLASSIFY ? v->n_real : c->ways,
              c->shots, n);
    row_chance(ev, c->src, c->ways, c->shots, c->episodes, row);
    row_reference(ev, store, c->b->family, build_bench, (void *)c, lo, hi, row);
    finish_outcomes(ev, c->b, out.outcome, lo, hi, row);
    free(out.outcome);
    free(out.ranked);
    free(out.greedy);
    free(all);
}

int eval_stop_check(const evaluator_t *ev) {
    if (!ev->stopped) return 0;
    static int64_t cells; /* the test hook's count */
    const char *hook = getenv("MICL_TEST_SIGTERM_IN_EVAL");
    if (hook && ev->comm->rank == 0 && ++cells == atoll(hook)) raise(SIGTERM);
    if (comm_any(ev->comm, signals_stop_requested())) *ev->stopped = 1;
    return *ev->stopped;
}

int eval_benchmark(const evaluator_t *ev, const benchmark_t *b, const image_store_t *store,
                   const int *ways, int n_ways, const int *shots, int n_shots, int episodes,
                   int collect, FILE *predictions, eval_row_t *rows) {
    check_image_size(ev, store);
    vlm_pack_weights(ev->model);
    int n_rows = 0;
    benchmark_source_t src;
    benchmark_source_init(&src, b, store, ev->vocab, ev->format);
    benchmark_check_cells(&src, ways, n_ways, shots, n_shots); /* every cell, before any runs */
    if (b->family == FAMILY_BINDING && !collect) {             /* the single-pass shot curve */
        benchmark_source_free(&src);
        for (int i = 0; i < n_ways; i++) {
            eval_binding_curve(ev, store, b, ways[i], shots, n_shots, episodes, EVAL_SINGLE_PASS,
                               rows + n_rows);
            n_rows += n_shots;
            if (eval_stop_check(ev)) break;
        }
        return n_rows;
    }
    for (int i = 0; i < n_ways; i++) {
        if (!src.is_scene && b->family != FAMILY_CLASSIFY && src.src.n_classes < ways[i])
            micl_fatal("%s: benchmark '%s' needs %d classes with images; the store has %d",
                       store->source, b->name, ways[i], src.src.n_classes);
        for (int j = 0; j < n_shots; j++) {
            benchmark_ctx_t c = {ev, b, &src, ev->seed, ways[i], shots[j], 0};
            c.episodes = benchmark_cell_episodes(&src, episodes);
            benchmark_cell(ev, &c, store, collect, predictions, &rows[n_rows++]);
            if (eval_stop_check(ev)) break;
        }
        if (ev->stopped && *ev->stopped) break;
    }
    benchmark_source_free(&src);
    return n_rows;
}
