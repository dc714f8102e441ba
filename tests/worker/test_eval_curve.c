#define _POSIX_C_SOURCE 200809L
/* test_eval_curve.c - binding shot curves: the single-pass evaluation (demos prefilled once into
 * the KV cache, every query at every shot count scored from it) gives the same correct and
 * exact counts as re-prompting every nested K-shot prompt in full, for every (ways, shots) cell,
 * in both episode formats. Run under mpirun: rank 0 prints every cell's counts, and the
 * ctest compares the lines of np=1 and np=2 (the nested episodes are shared over the ranks).
 * Every row's per-prompt outcomes sum to its counts, with episode e in group e / 4 (its nested
 * episode), and carry the chance measured on the episodes (1/N for a uniform guess); each
 * line prints the outcomes, so np=1 and np=2 must also agree prompt by prompt. The references'
 * per-prompt outcomes sum to their counts (all 0 at 0 shots, which has no references), are the
 * same for single pass and re-prompting, and are printed with the paired gain over the pixel
 * reader and its interval (17 digits), so np=1 and np=2 must agree on them too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/results.h"
#include "data/benchmark.h"
#include "common/error.h"
#include "common/rng.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"
#include "model/vlm.h"
#include "worker/evaluator.h"
#include "random_store.h"

enum { SIDE = 8, CLASSES = 14, PER_CLASS = 16, HELDOUT = 6, EPISODES = 30 };

/* Image i: pixels from rng(i), label i / PER_CLASS; the last HELDOUT classes are held out. */
static void make_store(image_store_t *s) {
    random_store_make(s, CLASSES, PER_CLASS, HELDOUT, SIDE, 11);
}

/* The references' per-prompt outcomes: they sum to the reference counts (0 without references),
 * the paired gain is their mean difference to the model's (NaN without references); prints
 * them (b: both readers right, n: pixel 1-NN alone, m: class mean alone, -: neither) and the
 * gain with its interval. */
static int check_reference_outcomes(const evaluator_t *ev, const eval_row_t *row) {
    int64_t nn = 0, mean = 0, d = 0, bad = 0;
    if (!row->episode_ref_nn || !row->episode_ref_mean) return 1;
    for (int64_t e = 0; e < row->episodes; e++) {
        nn += row->episode_ref_nn[e];
        mean += row->episode_ref_mean[e];
        d += (int64_t)row->episode_correct[e] - (int64_t)row->episode_ref_nn[e];
    }
    bad += nn != row->ref_nn_correct || mean != row->ref_mean_correct;
    bad += !row->ref_scored && (nn != 0 || mean != 0 || !isnan(row->gain_nn));
    bad += row->ref_scored &&
           (row->shots == 0 || row->gain_nn != (double)d / (double)row->episodes ||
            !(row->gain_nn_low <= row->gain_nn && row->gain_nn <= row->gain_nn_high));
    if (ev->comm->rank == 0) {
        printf("  references ");
        for (int64_t e = 0; e < row->episodes; e++) {
            int n = row->episode_ref_nn[e], m = row->episode_ref_mean[e];
            putchar(n && m ? 'b' : n ? 'n' : m ? 'm' : '-');
        }
        printf(" gain/nn %.17g [%.17g, %.17g] %s\n", row->gain_nn, row->gain_nn_low,
               row->gain_nn_high, bad ? "FAIL" : "ok");
    }
    return bad != 0;
}

/* The row's per-prompt outcomes: they sum to its counts, the groups are the nested episodes,
 * the chance fields are set; prints them (c: ranked, x: exact, -: neither). */
static int check_outcomes(const evaluator_t *ev, const eval_row_t *row, int ways) {
    int64_t c = 0, x = 0, bad = 0;
    if (!row->episode_group) return 1;
    for (int64_t e = 0; e < row->episodes; e++) {
        c += row->episode_correct[e];
        x += row->episode_exact[e];
        bad += row->episode_group[e] != e / BENCHMARK_QUERIES;
        bad += row->episode_exact[e] && !row->episode_correct[e]; /* exact implies ranked */
    }
    bad += c != row->correct || x != row->exact;
    bad += fabs(row->chance_random - 1.0 / ways) > 1e-12 || row->chance_constant <= 0 ||
           row->chance != (row->chance_random > row->chance_constant ? row->chance_random
                                                                     : row->chance_constant);
    if (ev->comm->rank == 0) {
        printf("  outcomes ");
        for (int64_t e = 0; e < row->episodes; e++)
            putchar(row->episode_exact[e] ? 'x' : row->episode_correct[e] ? 'c' : '-');
        printf(" chance %.4f %.4f (%s) %s\n", row->chance_random, row->chance_constant,
               row->constant_answer, bad ? "FAIL" : "ok");
    }
    return bad != 0;
}

static int check_curve(const evaluator_t *ev, const image_store_t *s, int ways) {
    static const int shots[] = {0, 1, 2, 4, 8};
    enum { N_SHOTS = sizeof shots / sizeof shots[0] };
    eval_row_t single[N_SHOTS], full[N_SHOTS];
    const benchmark_t *b = benchmark_find("openmi");
    eval_binding_curve(ev, s, b, ways, shots, N_SHOTS, EPISODES, EVAL_SINGLE_PASS, single);
    eval_binding_curve(ev, s, b, ways, shots, N_SHOTS, EPISODES, EVAL_REPROMPT, full);
    int bad = 0;
    for (int j = 0; j < N_SHOTS; j++) {
        int same = single[j].correct == full[j].correct && single[j].exact == full[j].exact &&
                   single[j].episodes == EPISODES && full[j].episodes == EPISODES;
        for (int e = 0; same && e < EPISODES; e++)
            same = single[j].episode_correct[e] == full[j].episode_correct[e] &&
                   single[j].episode_exact[e] == full[j].episode_exact[e] &&
                   single[j].episode_ref_nn[e] == full[j].episode_ref_nn[e] &&
                   single[j].episode_ref_mean[e] == full[j].episode_ref_mean[e];
        bad += !same;
        if (ev->comm->rank == 0)
            printf(
                "format %d %d-way %d-shot: correct %lld exact %lld (re-prompting %lld %lld) %s\n",
                (int)ev->format, ways, shots[j], (long long)single[j].correct,
                (long long)single[j].exact, (long long)full[j].correct, (long long)full[j].exact,
                same ? "ok" : "FAIL");
        bad += check_outcomes(ev, &single[j], ways);
        bad += check_reference_outcomes(ev, &single[j]);
    }
    /* a curve of one shot count scores the same prompts as that cell of the longer curve */
    eval_row_t one;
    eval_binding_curve(ev, s, b, ways, &shots[2], 1, EPISODES, EVAL_SINGLE_PASS, &one);
    if (one.correct != single[2].correct || one.exact != single[2].exact) {
        bad++;
        if (ev->comm->rank == 0)
            printf("%d-way: the 2-shot cell depends on the curve: FAIL\n", ways);
    }
    results_row_free(&one);
    for (int j = 0; j < N_SHOTS; j++) {
        results_row_free(&single[j]);
        results_row_free(&full[j]);
    }
    return bad;
}

int main(int argc, char **argv) {
    comm_t comm;
    comm_init(&argc, &argv, &comm);
    image_store_t s;
    make_store(&s);
    vocab_t v;
    vocab_build(&v, &s, 16, 5, "what ?");
    /* 5-way 8-shot in the chat format: 1 + 41 turns of 7 tokens */
    vlm_config_t cfg = {SIDE, 4, 16, 1, 2, 32, 2, 2, 4, v.n, 320, 0.3f, VLM_POOL_FLATTEN, 1, 1};
    char err[256];
    int max_tokens = 2048, max_images = 256;
    vlm_t *m = vlm_create(&cfg, max_tokens, max_images, err, sizeof err);
    if (!m) micl_fatal("vlm_create: %s", err);
    vlm_init_params(m, 4);
    int bad = 0;
    for (int fmt = 0; fmt < 2; fmt++) {
        evaluator_t ev = {m, &v, &comm, (episode_format_t)fmt, 77, max_tokens, max_images, NULL, 0};
        bad += check_curve(&ev, &s, 2);
        bad += check_curve(&ev, &s, 5);
    }
    vlm_free(m);
    vocab_free(&v);
    store_free(&s);
    if (comm.rank == 0) printf(bad ? "%d FAILED\n" : "ok\n", bad);
    comm_finalize();
    return bad ? 1 : 0;
}
