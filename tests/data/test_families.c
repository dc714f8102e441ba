#define _XOPEN_SOURCE 700
/* test_families.c - the fair-baseline families and the paper's FS-ICL episodes: fixed fake
 * names (a stable mapping, one class per fake name), named and bursty episodes (answers,
 * scoring flags, both kinds of labels), one scored single-image mc turn and one scored matching
 * pair with items = 1, and fsicl / fsicl_random (the same options in every turn, variant 1 =
 * every turn reversed, the negative class = the nearest class mean recomputed here, "copy the
 * first demo's letter" 1.0 / exactly 0.5, a constant letter exactly 0.5, image splits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "data/benchmark.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"
#include "test_data_util.h"

#define N_CLASSES 10 /* 8 training classes, 2 held out */
#define TRAIN_PER 4
static const int BASE[N_CLASSES] = {0, 10, 30, 70, 150, 160, 200, 250, 90, 120};
static const int NEAREST[8] = {1, 0, 1, 2, 5, 4, 5, 6}; /* by BASE, among classes 0..7 */

/* Class c: TRAIN_PER training images of value BASE[c] + (k % 3) - 1 (mean exactly BASE[c]),
 * then 1 + c % 3 held-out instances (test split); held-out classes: 4 images. */
static void make_store(image_store_t *s) {
    memset(s, 0, sizeof *s);
    s->n = 0;
    s->h = s->w = 2;
    s->c = 1;
    int cap = N_CLASSES * 8;
    s->pixels = malloc((size_t)cap * 4);
    s->labels = malloc((size_t)cap * 4);
    s->split = malloc((size_t)cap);
    s->n_classes = N_CLASSES;
    s->class_names = calloc(N_CLASSES, sizeof(char *));
    s->class_split = calloc(N_CLASSES, 1);
    for (int c = 0; c < N_CLASSES; c++) {
        char name[16];
        snprintf(name, sizeof name, "cls%d", c);
        s->class_names[c] = strdup(name);
        s->class_split[c] = c >= 8;
        int n_train = c >= 8 ? 0 : TRAIN_PER - 1, n_test = c >= 8 ? 0 : 1 + c % 3;
        for (int k = 0; k < n_train + n_test + (c >= 8 ? 4 : 0); k++) {
            int64_t i = s->n++;
            int dv = k < n_train ? (k % 3) - 1 : 0; /* -1, 0, +1: mean BASE[c] */
            int val = BASE[c] + dv < 0 ? 0 : BASE[c] + dv > 255 ? 255 : BASE[c] + dv;
            if (c == 0 && k < n_train) val = 0; /* class 0: all zeros */
            if (c == 7 && k < n_train) val = 250;
            memset(s->pixels + i * 4, val, 4);
            s->labels[i] = c;
            s->split[i] = c >= 8        ? STORE_SPLIT_HELDOUT_CLASS
                          : k < n_train ? STORE_SPLIT_TRAIN
                                        : STORE_SPLIT_TEST;
        }
    }
    snprintf(s->source, sizeof s->source, "synthetic");
    s->provenance = strdup("test_families");
}

static int label(const image_store_t *s, int64_t img) {
    return s->labels[img];
}

/* Option k's name token (k = 0: after A, 1: after B) of turn t. */
static int32_t option(const episode_t *ep, const vocab_t *v, int t, int k) {
    int q0 = ep->answer_pos[t] - 4 + 1; /* "A n0 B n1" are the last 4 question tokens */
    CHECK(ep->tokens[q0] == v->letter[0] && ep->tokens[q0 + 2] == v->letter[1]);
    (void)v;
    return ep->tokens[q0 + 1 + 2 * k];
}

/* ---- fixed fake names, named, bursty ------------------------------------------------------ */

static void check_fixed_names(const image_store_t *s, const vocab_t *v) {
    store_index_t train;
    store_index_build(s, STORE_SPLIT_TRAIN, &train);
    episode_source_t a, b;
    episode_source_init(&a, s, &train, v, 0, EPISODE_FORMAT_COMPACT);
    episode_source_init(&b, s, &train, v, 1, EPISODE_FORMAT_CHAT);
    CHECK(a.n_fixed == (v->n_fake < 8 ? v->n_fake : 8));
    int hits[N_CLASSES] = {0};
    for (int i = 0; i < a.n_fixed; i++) {
        int c = episode_fixed_name_class(&a, i);
        CHECK(c >= 0 && c < 8);                      /* a training class */
        CHECK(c == episode_fixed_name_class(&b, i)); /* any source of the config: the same */
        CHECK(episode_class_fixed_name(&a, c) == i); /* the inverse */
        hits[c]++;
    }
    for (int c = 0; c < N_CLASSES; c++)
        CHECK(hits[c] <= 1); /* one fake name per class */
    CHECK(episode_fixed_name_class(&a, a.n_fixed) == -1);
    /* named: fixed-name class images, answered with their fake name, every turn scored */
    episode_t *ep = calloc(1, sizeof *ep);
    episode_plan_t *plan = calloc(1, sizeof *plan);
    for (int i = 0; i < 100; i++) {
        rng_t r = rng_make(4, RNG_STREAM_TEST, (uint64_t)i);
        episode_named_plan(&a, &r, 5, plan);
        episode_layout(&a, plan, ep);
        CHECK(ep->n_turns == 5 && ep->family == FAMILY_NAMED);
        for (int t = 0; t < 5; t++) {
            int c = label(s, ep->images[t]), f = episode_class_fixed_name(&a, c);
            CHECK(f >= 0 && s->split[ep->images[t]] == STORE_SPLIT_TRAIN);
            CHECK(ep->answer_id[t] == v->first_fake + f);
            CHECK(ep->answer_scored[t] && ep->targets[ep->answer_pos[t]] == ep->answer_id[t]);
            CHECK(ep->answer_shots[t] == -1);
        }
    }
    /* bursty: fixed labels, repeated classes, every turn scored, both kinds of labels */
    int fixed_eps = 0, real_eps = 0;
    for (int i = 0; i < 200; i++) {
        rng_t r = rng_make(5, RNG_STREAM_TEST, (uint64_t)i);
        episode_bursty_plan(&b, &r, 2, 3, 8, plan);
        episode_layout(&b, plan, ep);
        CHECK(ep->n_turns == 8 && ep->family == FAMILY_BURSTY);
        int n_fixed = 0, per[N_CLASSES] = {0}, ways = 0;
        for (int t = 0; t < 8; t++) {
            int c = label(s, ep->images[t]), f = episode_class_fixed_name(&b, c);
            int32_t want = f >= 0 ? v->first_fake + f : v->real_of_class[c];
            CHECK(ep->answer_id[t] == want);
            CHECK(ep->answer_scored[t] && ep->targets[ep->answer_pos[t]] == want);
            CHECK(ep->answer_shots[t] == per[c]);
            ways += per[c] == 0;
            per[c]++;
            n_fixed += f >= 0;
        }
        CHECK(n_fixed == 0 || n_fixed == 8); /* one kind of label per episode */
        CHECK(ways >= 2 && ways <= 3 && ep->n_candidates == ways);
        for (int c = 0; c < N_CLASSES; c++)
            CHECK(per[c] == 0 || per[c] >= 2); /* every class repeats */
        fixed_eps += n_fixed == 8;
        real_eps += n_fixed == 0;
    }
    if (a.n_fixed < 8) CHECK(fixed_eps > 60 && real_eps > 60);
    if (a.n_fixed == 8) CHECK(fixed_eps == 200); /* every class has a fake name */
    /* mc with items = 1 and real names; matching with items = 1: one scored turn */
    for (int i = 0; i < 50; i++) {
        rng_t r = rng_make(6, RNG_STREAM_TEST, (uint64_t)i);
        episode_mc_plan(&b, &r, 2, 3, 1, 0, plan);
        episode_layout(&b, plan, ep);
        CHECK(ep->n_turns == 1 && ep->n_images == 1 && ep->answer_scored[0]);
        CHECK(ep->targets[ep->answer_pos[0]] == ep->answer_id[0]);
        episode_match_plan(&a, &r, 1, plan);
        episode_layout(&a, plan, ep);
        CHECK(ep->n_turns == 1 && ep->n_images == 2 && ep->answer_scored[0]);
        CHECK(ep->answer_id[0] == v->yes || ep->answer_id[0] == v->no);
    }
    free(plan);
    free(ep);
    episode_source_free(&a);
    episode_source_free(&b);
    store_index_free(&train);
    printf("fixed names, named, bursty, items = 1 ok (%d fixed-name classes)\n", v->n_fake);
}

/* ---- FS-ICL ------------------------------------------------------------------------------ */

/* The class whose mean training image is nearest to class c's, recomputed from the store. */
static int nearest_mean(const image_store_t *s, int c) {
    double mean[N_CLASSES] = {0};
    int n[N_CLASSES] = {0};
    for (int64_t i = 0; i < s->n; i++)
        if (s->split[i] == STORE_SPLIT_TRAIN)
            mean[s->labels[i]] += s->pixels[i * 4], n[s->labels[i]]++;
    int best = -1;
    for (int k = 0; k < 8; k++) {
        if (k == c || !n[k]) continue;
        double d = mean[k] / n[k] - mean[c] / n[c],
               db = best < 0 ? 0 : mean[best] / n[best] - mean[c] / n[c];
        if (best < 0 || d * d < db * db) best = k;
    }
    return best;
}

static void check_fsicl(const image_store_t *s, const vocab_t *v, const char *name, int random) {
    const benchmark_t *b = benchmark_find(name);
    CHECK(b && b->variants == 2 && b->ways[0] == 2);
    benchmark_source_t bs;
    benchmark_source_init(&bs, b, s, v, EPISODE_FORMAT_COMPACT);
    CHECK(bs.is_fsicl && bs.fsicl.n_classes == 8);
    for (int i = 0; i < 8; i++) {
        int c = bs.fsicl.classes[i];
        CHECK(bs.fsicl.classes[fsicl_negative(&bs.fsicl, i)] == nearest_mean(s, c));
        CHECK(nearest_mean(s, c) == NEAREST[c]);
    }
    episode_t *e0 = calloc(1, sizeof *e0), *e1 = calloc(1, sizeof *e1),
              *again = calloc(1, sizeof *again);
    const int shots_list[4] = {0, 1, 2, 4};
    const int64_t n_ep = 40;
    for (int si = 0; si < 4; si++) {
        int K = shots_list[si];
        int64_t copy_first = 0, const_a = 0, answers = 0, query_first = 0;
        for (int64_t e = 0; e < n_ep; e++) {
            benchmark_episode(&bs, 9, 2, K, e, n_ep, 0, e0);
            benchmark_episode(&bs, 9, 2, K, e, n_ep, 1, e1);
            benchmark_episode(&bs, 9, 2, K, e, n_ep, 0, again);
            CHECK(!memcmp(e0->tokens, again->tokens, (size_t)e0->n_tokens * 4)); /* determinism */
            CHECK(e0->n_turns == 2 * K + 1 && e1->n_turns == e0->n_turns);
            CHECK(e0->n_candidates == 2 && e0->candidates[0] == v->letter[0] &&
                  e0->candidates[1] == v->letter[1]);
            int q = e0->n_turns - 1;
            int qc = label(s, e0->images[q]);
            CHECK(s->split[e0->images[q]] == STORE_SPLIT_TEST); /* a held-out instance */
            int32_t o0 = option(e0, v, 0, 0), o1 = option(e0, v, 0, 1);
            int per[N_CLASSES] = {0};
            for (int t = 0; t <= q; t++) {
                int c = label(s, e0->images[t]);
                /* the same two options in every turn; the answer is the letter of its class */
                CHECK(option(e0, v, t, 0) == o0 && option(e0, v, t, 1) == o1);
                CHECK(e0->answer_id[t] == v->letter[v->real_of_class[c] == o0 ? 0 : 1]);
                CHECK(v->real_of_class[c] == o0 || v->real_of_class[c] == o1);
                CHECK(e0->answer_scored[t] == (t == q));
                /* variant 1: the same images, every turn's options reversed, answers swapped */
                CHECK(e1->images[t] == e0->images[t]);
                CHECK(option(e1, v, t, 0) == o1 && option(e1, v, t, 1) == o0);
                CHECK(e1->answer_id[t] ==
                      (e0->answer_id[t] == v->letter[0] ? v->letter[1] : v->letter[0]));
                if (t < q) {
                    per[c]++;
                    /* demos: held out when the class has K + 1 held-out instances */
                    int n_test = 1 + c % 3;
                    CHECK(s->split[e0->images[t]] ==
                          (n_test >= K + 1 ? STORE_SPLIT_TEST : STORE_SPLIT_TRAIN));
                    if (!random) CHECK((c == qc) == (t % 2 == 0)); /* pos, neg, pos, ... */
                }
            }
            /* the negative is the query class's nearest mean (paper order: query positive) */
            int other = v->real_of_class[qc] == o0 ? o1 : o0, oc = -1;
            for (int c = 0; c < 8; c++)
                if (v->real_of_class[c] == other) oc = c;
            if (!random) CHECK(oc == NEAREST[qc]);
            CHECK(oc == NEAREST[qc] || qc == NEAREST[oc]);
            if (K > 0) {
                CHECK(per[qc] == K && per[oc] == K);
                copy_first += e0->answer_id[q] == e0->answer_id[0];
                copy_first += e1->answer_id[q] == e1->answer_id[0];
                query_first += label(s, e0->images[0]) == qc;
            }
            const_a += (e0->answer_id[q] == v->letter[0]) + (e1->answer_id[q] == v->letter[0]);
            answers += 2;
        }
        CHECK(2 * const_a == answers);                      /* a constant letter: exactly 0.5 */
        if (K > 0 && !random) CHECK(copy_first == answers); /* the paper's shortcut: 1.0 */
        if (K > 0 && random) CHECK(2 * copy_first == answers && 2 * query_first == n_ep);
        benchmark_chance_t ch;
        benchmark_cell_chance(&bs, 9, 2, K, n_ep, v->n_real, &ch);
        CHECK(ch.answers == 2 * n_ep && ch.random == 0.5 && ch.constant == 0.5);
    }
    free(e0);
    free(e1);
    free(again);
    benchmark_source_free(&bs);
    printf("%-13s ok\n", name);
}

int main(void) {
    image_store_t s;
    make_store(&s);
    for (int n_fake = 4; n_fake <= 16; n_fake += 12) {
        vocab_t v;
        vocab_build(&v, &s, n_fake, 7, "what is this ?");
        check_fixed_names(&s, &v);
        /* the mapping is a function of the vocabulary: rebuilt, the same */
        vocab_t w;
        vocab_build(&w, &s, n_fake, 7, "what is this ?");
        CHECK(episode_fixed_name_key(&v) == episode_fixed_name_key(&w));
        vocab_t other;
        vocab_build(&other, &s, n_fake, 8, "what is this ?");
        CHECK(episode_fixed_name_key(&v) != episode_fixed_name_key(&other));
        vocab_free(&other);
        vocab_free(&w);
        vocab_free(&v);
    }
    vocab_t v;
    vocab_build(&v, &s, 8, 7, "what is this ?");
    check_fsicl(&s, &v, "fsicl", 0);
    check_fsicl(&s, &v, "fsicl_random", 1);
    /* mc_bound keeps the old behaviour: held-out classes, fake names */
    const benchmark_t *mb = benchmark_find("mc_bound");
    CHECK(mb && mb->fake_names == 1 && mb->mc == BENCHMARK_MC_BOUND);
    CHECK(benchmark_split(mb, &s) == STORE_SPLIT_HELDOUT_CLASS);
    CHECK(benchmark_split(benchmark_find("fsicl"), &s) == STORE_SPLIT_TEST);
    vocab_free(&v);
    store_free(&s);
    printf("test_families ok\n");
    return 0;
}
