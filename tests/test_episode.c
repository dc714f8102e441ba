#define _POSIX_C_SOURCE 200809L
/* test_episode.c - episode builders: answers right by construction, any-shot loss mask,
 * coherence, exact-copy share, and determinism (an episode is a pure function of its key). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A store whose image i has every pixel = i % 251 and label i / per_class. */
static void make_store(image_store_t *s, int classes, int per_class, int heldout_classes) {
    memset(s, 0, sizeof *s);
    s->n = (int64_t)classes * per_class;
    s->h = s->w = 4;
    s->c = 1;
    s->pixels = malloc((size_t)s->n * 16);
    s->labels = malloc((size_t)s->n * 4);
    s->split = malloc((size_t)s->n);
    s->n_classes = classes;
    s->class_names = calloc((size_t)classes, sizeof(char *));
    s->class_split = calloc((size_t)classes, 1);
    for (int c = 0; c < classes; c++) {
        char name[16];
        snprintf(name, sizeof name, "class%d", c);
        s->class_names[c] = strdup(name);
        s->class_split[c] = c >= classes - heldout_classes;
    }
    for (int64_t i = 0; i < s->n; i++) {
        memset(s->pixels + i * 16, (int)(i % 251), 16);
        s->labels[i] = (int32_t)(i / per_class);
        s->split[i] = s->class_split[s->labels[i]] ? STORE_SPLIT_HELDOUT_CLASS : STORE_SPLIT_TRAIN;
    }
    snprintf(s->source, sizeof s->source, "synthetic");
}

static int label_of(const image_store_t *s, int64_t img) {
    return s->labels[img];
}

static void check_binding(const image_store_t *s, const vocab_t *v, const episode_t *ep,
                          int items) {
    CHECK(ep->n_images == items);
    /* coherence: names <-> classes is a bijection inside the episode */
    for (int a = 0; a < ep->n_images; a++)
        for (int b = 0; b < ep->n_images; b++) {
            int same_class = label_of(s, ep->images[a]) == label_of(s, ep->images[b]);
            int same_name = ep->answer_id[a] == ep->answer_id[b];
            CHECK(same_class == same_name);
        }
    for (int k = 0; k < ep->n_images; k++) {
        int id = ep->answer_id[k];
        CHECK(id >= v->first_fake && id < v->first_fake + v->n_fake);
        /* the answer follows its image token and is the target of the token before it */
        CHECK(ep->tokens[ep->answer_pos[k] + 1] == id);
        int seen = 0;
        for (int j = 0; j < k; j++)
            seen += ep->answer_id[j] == id;
        CHECK(ep->answer_shots[k] == seen);
        CHECK(ep->answer_scored[k] == (seen > 0));
        CHECK(ep->targets[ep->answer_pos[k]] == (seen > 0 ? id : -1));
        int in_cand = 0;
        for (int c = 0; c < ep->n_candidates; c++)
            in_cand |= ep->candidates[c] == id;
        CHECK(in_cand);
    }
    int scored = 0;
    for (int t = 0; t < ep->n_tokens; t++)
        scored += ep->targets[t] >= 0;
    int expect = 0;
    for (int k = 0; k < ep->n_images; k++)
        expect += ep->answer_scored[k];
    CHECK(scored == expect);
    CHECK(ep->answer_scored[ep->n_images - 1]); /* the query is answerable */
}

int main(void) {
    image_store_t s;
    make_store(&s, 12, 6, 4);
    vocab_t v;
    vocab_build(&v, &s, 16, 7, "what is this ?");
    CHECK(v.n_real == 8);
    CHECK(v.n_fake == 16);
    CHECK(v.n_question == 4);
    store_index_t train, held;
    store_index_build(&s, STORE_SPLIT_TRAIN, &train);
    store_index_build(&s, STORE_SPLIT_HELDOUT_CLASS, &held);
    for (int fmt = 0; fmt < 2; fmt++) {
        episode_source_t src, hsrc;
        episode_source_init(&src, &s, &train, &v, 0, (episode_format_t)fmt);
        episode_source_init(&hsrc, &s, &held, &v, 0, (episode_format_t)fmt);
        CHECK(src.n_classes == 8 && hsrc.n_classes == 4);
        episode_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
        for (int i = 0; i < 200; i++) {
            rng_t r1 = rng_make(1, RNG_STREAM_TEST, (uint64_t)i), r2 = r1;
            episode_binding_train(&src, &r1, 2, 3, 9, 0.5f, a);
            episode_binding_train(&src, &r2, 2, 3, 9, 0.5f, b);
            CHECK(memcmp(a, b, sizeof *a) == 0); /* determinism */
            check_binding(&s, &v, a, 9);
            CHECK(a->n_tokens == 1 + 9 * episode_turn_tokens(&v, (episode_format_t)fmt));
            for (int k = 0; k < a->n_images; k++)
                CHECK(s.split[a->images[k]] == STORE_SPLIT_TRAIN);
        }
        /* exact copies: share near the requested one among repeated classes */
        int exact = 0, repeats = 0;
        for (int i = 0; i < 400; i++) {
            rng_t r = rng_make(2, RNG_STREAM_TEST, (uint64_t)i);
            episode_binding_train(&src, &r, 2, 2, 9, 0.3f, a);
            for (int k = 0; k < a->n_images; k++) {
                if (!a->answer_scored[k]) continue;
                repeats++;
                exact += a->answer_exact[k];
                if (a->answer_exact[k]) { /* the image really repeats an earlier one */
                    int found = 0;
                    for (int j = 0; j < k; j++)
                        found |= a->images[j] == a->images[k];
                    CHECK(found);
                }
            }
        }
        double share = (double)exact / repeats;
        CHECK(share > 0.25 && share < 0.35);
        /* evaluation episodes: K demos per class, query scored only, query image unseen */
        for (int i = 0; i < 100; i++) {
            rng_t r = rng_make(3, RNG_STREAM_TEST, (uint64_t)i);
            int ways = 2 + i % 3, shots = i % 4;
            episode_binding_eval(&hsrc, &r, ways, shots, 1, a);
            CHECK(a->n_images == ways * shots + 1);
            int q = a->n_images - 1;
            for (int k = 0; k < q; k++)
                CHECK(!a->answer_scored[k] && a->images[k] != a->images[q]);
            CHECK(a->answer_scored[q] && a->answer_shots[q] == shots);
            for (int c = 0; c < ways; c++) {
                int n = 0;
                for (int k = 0; k < q; k++)
                    n += a->answer_id[k] == a->candidates[c];
                CHECK(n == shots);
            }
            for (int k = 0; k <= q; k++)
                CHECK(s.split[a->images[k]] == STORE_SPLIT_HELDOUT_CLASS);
        }
        /* classification: every answer is the image's real name and scored */
        episode_source_t csrc;
        episode_source_init(&csrc, &s, &train, &v, 1, (episode_format_t)fmt);
        for (int i = 0; i < 50; i++) {
            rng_t r = rng_make(4, RNG_STREAM_TEST, (uint64_t)i);
            episode_classify(&csrc, &r, 5, a);
            for (int k = 0; k < a->n_images; k++) {
                CHECK(a->answer_id[k] == v.real_of_class[label_of(&s, a->images[k])]);
                CHECK(a->answer_scored[k]);
            }
        }
        episode_source_free(&csrc);
        episode_source_free(&src);
        episode_source_free(&hsrc);
        free(a);
        free(b);
    }
    store_index_free(&train);
    store_index_free(&held);
    vocab_free(&v);
    if (failures) {
        fprintf(stderr, "test_episode: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_episode: ok\n");
    return 0;
}
