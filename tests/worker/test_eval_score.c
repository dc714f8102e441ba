#define _POSIX_C_SOURCE 200809L
/* test_eval_score.c - the scoring rules of multi-token answers and greedy decoding.
 *
 * eval_score_answer on hand-made logits: an answer is right under candidate ranking only when
 * every token is the best candidate at its position, an exact match only when every token is
 * the argmax over the vocabulary, the first of equal scores wins, and a one-token answer is
 * scored as before. eval_greedy_decode on a small random model: an evaluation episode whose
 * query answer is made three tokens long decodes to what a plain loop gives (one full pass per
 * token, the decoded prefix fed back), from scratch and from teacher-forced argmax tokens, and
 * the result does not depend on the answer's own tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/error.h"
#include "common/rng.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"
#include "model/vlm.h"
#include "worker/evaluator.h"
#include "random_store.h"
#include "check.h"

/* ---- eval_score_answer on hand-made logits (vocabulary of 5, candidates 1, 2, 3) ---- */

enum { V = 5 };

/* Logits row with `hi` the largest value (2.0), `mid` next (1.0), the rest 0. */
static void row(float *l, int hi, int mid) {
    for (int c = 0; c < V; c++)
        l[c] = 0;
    if (mid >= 0) l[mid] = 1;
    l[hi] = 2;
}

static void test_rules(void) {
    const int32_t cand[] = {1, 2, 3}, answer[] = {2, 3};
    float l[2 * V];
    int32_t rk[2], gr[2];
    /* both tokens the argmax: ranked and exact */
    row(l, 2, -1), row(l + V, 3, -1);
    int r = eval_score_answer(l, V, answer, 2, cand, 3, rk, gr);
    CHECK(r == (EVAL_RIGHT_RANKED | EVAL_RIGHT_EXACT), "argmax answer: %d", r);
    CHECK(rk[0] == 2 && rk[1] == 3 && gr[0] == 2 && gr[1] == 3, "tokens %d %d %d %d", rk[0], rk[1],
          gr[0], gr[1]);
    /* the second token's argmax is a non-candidate (4): ranked, not exact */
    row(l, 2, -1), row(l + V, 4, 3);
    r = eval_score_answer(l, V, answer, 2, cand, 3, rk, gr);
    CHECK(r == EVAL_RIGHT_RANKED, "non-candidate argmax at token 2: %d", r);
    CHECK(rk[1] == 3 && gr[1] == 4, "ranked %d greedy %d", rk[1], gr[1]);
    /* the first token right, the second wrong among the candidates: neither */
    row(l, 2, -1), row(l + V, 1, 3);
    r = eval_score_answer(l, V, answer, 2, cand, 3, rk, gr);
    CHECK(r == 0, "second token wrong: %d", r);
    CHECK(rk[0] == 2 && rk[1] == 1, "ranked %d %d", rk[0], rk[1]);
    /* the first token wrong, the second right: neither (every token must be right) */
    row(l, 3, 2), row(l + V, 3, -1);
    r = eval_score_answer(l, V, answer, 2, cand, 3, NULL, NULL);
    CHECK(r == 0, "first token wrong: %d", r);
    /* equal scores: the first candidate (1) and the first vocabulary entry win */
    for (int c = 0; c < V; c++)
        l[c] = 1, l[V + c] = 0;
    l[V + 3] = 5;
    r = eval_score_answer(l, V, answer, 2, cand, 3, rk, gr);
    CHECK(r == 0 && rk[0] == 1 && gr[0] == 0, "ties: %d ranked %d greedy %d", r, rk[0], gr[0]);
    /* one-token answers: as before */
    const int32_t one = 3;
    row(l, 3, 1);
    CHECK(eval_score_answer(l, V, &one, 1, cand, 3, NULL, NULL) ==
              (EVAL_RIGHT_RANKED | EVAL_RIGHT_EXACT),
          "one token argmax");
    row(l, 0, 3);
    CHECK(eval_score_answer(l, V, &one, 1, cand, 3, NULL, NULL) == EVAL_RIGHT_RANKED,
          "one token, argmax outside the candidates");
    row(l, 2, 3);
    CHECK(eval_score_answer(l, V, &one, 1, cand, 3, NULL, NULL) == 0, "one token wrong");
}

/* ---- greedy decoding on a small random model ---- */

enum { SIDE = 8, CLASSES = 10, PER_CLASS = 6, ANSWER = 3 };

static void make_store(image_store_t *s) {
    random_store_make(s, CLASSES, PER_CLASS, 0, SIDE, 13);
}

/* Logits of ep's target rows from one full pass (rows in position order). */
static const float *forward_one(vlm_t *m, const vocab_t *v, const image_store_t *s,
                                const episode_t *ep) {
    static uint8_t pix[64 * SIDE * SIDE];
    for (int k = 0; k < ep->n_images; k++)
        store_copy_image(s, ep->images[k], 1, pix + (size_t)k * SIDE * SIDE);
    vlm_batch_t b = {1, ep->n_tokens, ep->tokens, ep->targets, ep->n_images, pix, v->image};
    int64_t nt;
    vlm_forward(m, &b, &nt);
    return vlm_logits(m);
}

/* The plain loop: token i is the argmax after feeding tokens 0..i-1 decoded, one pass each. */
static void naive_greedy(vlm_t *m, const vocab_t *v, const image_store_t *s, const episode_t *ep0,
                         int32_t *out) {
    episode_t *ep = micl_malloc(sizeof *ep);
    memcpy(ep, ep0, sizeof *ep);
    int q = ep->n_turns - 1, pos = ep->answer_pos[q], V_ = vlm_config(m)->vocab;
    for (int i = 0; i < ANSWER; i++) {
        for (int j = 0; j < i; j++)
            ep->tokens[pos + 1 + j] = out[j] == v->image ? v->pad : out[j];
        int row = 0; /* target rows before position pos + i */
        for (int p = 0; p < pos + i; p++)
            row += ep->targets[p] >= 0;
        const float *l = forward_one(m, v, s, ep) + (size_t)row * V_;
        int arg = 0;
        for (int c = 1; c < V_; c++)
            if (l[c] > l[arg]) arg = c;
        out[i] = arg;
    }
    free(ep);
}

/* Makes the query answer of ep ANSWER tokens long: `words` after its first token. */
static void lengthen_answer(episode_t *ep, const int32_t *words) {
    int q = ep->n_turns - 1, pos = ep->answer_pos[q];
    if (pos + 2 != ep->n_tokens || ep->answer_len[q] != 1)
        micl_fatal("test: the query answer is not the episode's last token");
    for (int i = 1; i < ANSWER; i++) {
        ep->tokens[pos + 1 + i] = words[i - 1];
        ep->targets[pos + i] = words[i - 1];
    }
    ep->targets[pos + ANSWER] = -1;
    ep->n_tokens = pos + 1 + ANSWER;
    ep->answer_len[q] = ANSWER;
}

static void test_greedy(const comm_t *comm) {
    image_store_t s;
    make_store(&s);
    vocab_t v;
    vocab_build(&v, &s, 16, 5, "what ?");
    vlm_config_t cfg = {SIDE, 4, 16, 1, 2, 32, 2, 2, 4, v.n, 128, 0.5f, VLM_POOL_FLATTEN, 1, 1};
    char err[256];
    vlm_t *m = vlm_create(&cfg, 512, 64, err, sizeof err);
    if (!m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(m, 9);
    store_index_t ix;
    store_index_build(&s, STORE_SPLIT_TRAIN, &ix);
    episode_source_t src;
    episode_source_init(&src, &s, &ix, &v, 0, EPISODE_FORMAT_COMPACT);
    evaluator_t ev = {m, &v, comm, EPISODE_FORMAT_COMPACT, 1, 512, 64, NULL, 0};
    episode_t *ep = micl_malloc(sizeof *ep);
    int decoded_tokens_differ = 0;
    for (int k = 0; k < 6; k++) {
        rng_t r = rng_make(21, RNG_STREAM_TEST, (uint64_t)k);
        episode_binding_eval(&src, &r, 3, 2, 1, ep);
        const int32_t words[ANSWER - 1] = {v.first_real + k % v.n_real, v.first_real};
        lengthen_answer(ep, words);
        int32_t want[ANSWER], got[EPISODE_MAX_ANSWER];
        naive_greedy(m, &v, &s, ep, want);
        for (int i = 1; i < ANSWER; i++)
            decoded_tokens_differ |= want[i] != want[0];
        got[0] = -1; /* from scratch */
        eval_greedy_decode(&ev, &s, ep, got);
        CHECK(memcmp(got, want, sizeof want) == 0 && got[ANSWER] == -1,
              "episode %d from scratch: %d %d %d, plain loop %d %d %d", k, got[0], got[1], got[2],
              want[0], want[1], want[2]);
        /* from teacher-forced argmax tokens, with the answer's first token made greedy's so
         * that the decoding starts after a matching token */
        int q = ep->n_turns - 1, pos = ep->answer_pos[q];
        ep->tokens[pos + 1] = ep->targets[pos] = want[0];
        int row = 0;
        for (int p = 0; p < pos; p++)
            row += ep->targets[p] >= 0;
        const float *l = forward_one(m, &v, &s, ep) + (size_t)row * v.n;
        int32_t ans[ANSWER];
        for (int i = 0; i < ANSWER; i++)
            ans[i] = ep->targets[pos + i];
        int32_t cand[1] = {ans[0]};
        eval_score_answer(l, v.n, ans, ANSWER, cand, 1, NULL, got);
        for (int i = ANSWER; i < EPISODE_MAX_ANSWER; i++)
            got[i] = -1;
        eval_greedy_decode(&ev, &s, ep, got);
        CHECK(memcmp(got, want, sizeof want) == 0,
              "episode %d from teacher forcing: %d %d %d, plain loop %d %d %d", k, got[0], got[1],
              got[2], want[0], want[1], want[2]);
    }
    if (!decoded_tokens_differ) printf("note: every decoded token was the same word\n");
    free(ep);
    episode_source_free(&src);
    store_index_free(&ix);
    vlm_free(m);
    vocab_free(&v);
    store_free(&s);
}

int main(int argc, char **argv) {
    comm_t comm;
    comm_init(&argc, &argv, &comm);
    test_rules();
    test_greedy(&comm);
    printf(failures ? "%d FAILED\n" : "ok\n", failures);
    comm_finalize();
    return failures ? 1 : 0;
}
