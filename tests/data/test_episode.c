#define _POSIX_C_SOURCE 200809L
/* test_episode.c - episode builders: answers right by construction, any-shot loss mask,
 * coherence, exact-copy share, nested evaluation episodes (one draw for a whole shot curve), and
 * determinism (an episode is a pure function of its key). */
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

/* The option name that follows letter `letter` in turn k's question (-1 if absent). */
static int32_t option_of(const episode_t *ep, int k, int32_t letter) {
    int start = k == 0 ? 1 : ep->answer_pos[k - 1] + 1 + ep->answer_len[k - 1];
    for (int p = start; p < ep->answer_pos[k]; p++)
        if (ep->tokens[p] == letter && p + 1 <= ep->answer_pos[k]) return ep->tokens[p + 1];
    return -1;
}

/* Multiple choice: the answer letter names the option of the image's class; names <-> classes
 * a bijection; letters are the candidates; the any-shot rule for fake names. */
static void check_mc(const image_store_t *s, const vocab_t *v, const episode_t *ep, int fake) {
    int32_t name_of_class[64];
    for (int c = 0; c < 64; c++)
        name_of_class[c] = -1;
    for (int k = 0; k < ep->n_turns; k++) {
        CHECK(ep->turn_n_images[k] == 1 && ep->answer_len[k] == 1);
        int32_t letter = ep->answer_id[k];
        int li = -1;
        for (int o = 0; o < 4; o++)
            if (v->letter[o] == letter) li = o;
        CHECK(li >= 0 && li < ep->n_candidates);
        CHECK(ep->candidates[li] == letter);
        int32_t name = option_of(ep, k, letter);
        CHECK(name >= 0);
        int cls = label_of(s, ep->images[ep->turn_image[k]]);
        if (name_of_class[cls] < 0) name_of_class[cls] = name;
        CHECK(name_of_class[cls] == name); /* one name per class */
        if (fake)
            CHECK(name >= v->first_fake && name < v->first_fake + v->n_fake);
        else
            CHECK(name == v->real_of_class[cls]);
        for (int j = 0; j < 64; j++) /* and one class per name */
            if (j != cls && name_of_class[j] >= 0) CHECK(name_of_class[j] != name);
    }
}

/* Matching: two images per turn, yes iff same class, every answer scored. */
static void check_match(const image_store_t *s, const vocab_t *v, const episode_t *ep) {
    CHECK(ep->n_images == 2 * ep->n_turns);
    CHECK(ep->n_candidates == 2);
    for (int k = 0; k < ep->n_turns; k++) {
        int64_t a = ep->images[ep->turn_image[k]], b = ep->images[ep->turn_image[k] + 1];
        CHECK(ep->turn_n_images[k] == 2);
        int same = label_of(s, a) == label_of(s, b);
        CHECK(ep->answer_id[k] == (same ? v->yes : v->no));
        if (same) CHECK(a != b);
        int chat = ep->tokens[ep->answer_pos[k]] == v->assistant;
        CHECK(ep->tokens[ep->answer_pos[k] - chat] == v->same);
    }
}

/* Nested evaluation episodes: round j holds one demo of each class; the k-shot prompt is the
 * prefix's first rounds plus a scored query whose image is none of its class's demos; the
 * prompt does not depend on the number of rounds drawn; the same key gives the same bytes. */
static void check_nested(const image_store_t *s, const episode_source_t *src, episode_format_t fmt,
                         episode_t *a, episode_t *b) {
    episode_nested_t *ne = calloc(1, sizeof *ne), *ne2 = calloc(1, sizeof *ne2);
    for (int i = 0; i < 60; i++) {
        int ways = 2 + i % 3, rounds = i % 5; /* 6 images per class: 2 queries + 4 rounds */
        rng_t r1 = rng_make(5, RNG_STREAM_TEST, (uint64_t)i), r2 = r1, r3 = r1;
        episode_binding_nested(src, &r1, ways, rounds, 2, 1, ne);
        episode_binding_nested(src, &r2, ways, rounds, 2, 1, ne2);
        CHECK(memcmp(ne, ne2, sizeof *ne) == 0);
        episode_binding_nested(src, &r3, ways, rounds + 2, 2, 1, ne2); /* more rounds */
        for (int j = 0; j < rounds; j++) {
            int per[EPISODE_MAX_WAYS] = {0};
            for (int d = j * ways; d < (j + 1) * ways; d++)
                per[ne->demo_class[d]]++;
            for (int c = 0; c < ways; c++)
                CHECK(per[c] == 1);
        }
        episode_nested_prefix(src, ne, b);
        CHECK(b->n_tokens == episode_nested_prefix_len(src, ne, rounds));
        for (int t = 0; t < b->n_tokens; t++)
            CHECK(b->targets[t] == -1);
        for (int q = 0; q < ne->n_queries; q++)
            for (int k = 0; k <= rounds; k++) {
                episode_nested_prompt(src, ne, k, q, a);
                int len = episode_nested_prefix_len(src, ne, k), qi = a->n_images - 1;
                CHECK(a->n_images == ways * k + 1);
                CHECK(memcmp(a->tokens, b->tokens, (size_t)len * sizeof(int32_t)) == 0);
                CHECK(a->n_tokens == len + episode_turn_tokens(src->vocab, fmt));
                CHECK(a->answer_scored[qi] && a->answer_pos[qi] >= len);
                CHECK(a->answer_id[qi] == ne->names[ne->query_class[q]]);
                CHECK(label_of(s, a->images[qi]) == label_of(s, ne->query_image[q]));
                for (int c = 0; c < ways; c++) {
                    int n = 0;
                    for (int d = 0; d < qi; d++)
                        n += a->answer_id[d] == a->candidates[c];
                    CHECK(n == k);
                }
                for (int d = 0; d < qi; d++) {
                    CHECK(!a->answer_scored[d] && a->images[d] != a->images[qi]);
                    CHECK(label_of(s, a->images[d]) == label_of(s, ne->demo_image[d]));
                }
                for (int d = 0; d <= qi; d++)
                    CHECK(s->split[a->images[d]] == STORE_SPLIT_HELDOUT_CLASS);
                /* the same prompt from a draw with more rounds */
                episode_t *c = calloc(1, sizeof *c);
                episode_nested_prompt(src, ne2, k, q, c);
                CHECK(c->n_tokens == a->n_tokens && c->n_images == a->n_images);
                CHECK(memcmp(c->tokens, a->tokens, (size_t)a->n_tokens * sizeof(int32_t)) == 0);
                CHECK(memcmp(c->images, a->images, (size_t)a->n_images * sizeof(int64_t)) == 0);
                free(c);
            }
    }
    free(ne);
    free(ne2);
}

/* 1 if images[0..n) holds an image twice. */
static int repeats(const int64_t *images, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (images[i] == images[j]) return 1;
    return 0;
}

/* Evaluation never shows an image twice in a prompt once every class has K + 1 images (what
 * episode_check_source requires), even with classes that small: nested episodes with 4 queries
 * of 2 or 3 ways (so a class often gets several queries), N-way K-shot binding and multiple
 * choice, matching pairs of one class. */
static void check_no_repeats(const vocab_t *v) {
    image_store_t s;
    make_store(&s, 10, 3, 10); /* 3 images per class: K = 2 */
    store_index_t ix;
    store_index_build(&s, STORE_SPLIT_HELDOUT_CLASS, &ix);
    episode_source_t src;
    episode_source_init(&src, &s, &ix, v, 0, EPISODE_FORMAT_COMPACT);
    episode_check_source(&src, 3, 3, "the 3-way 2-shot cell"); /* passes: 3 images each */
    episode_nested_t *ne = calloc(1, sizeof *ne);
    episode_t *ep = calloc(1, sizeof *ep);
    for (int i = 0; i < 300; i++) {
        int ways = 2 + i % 2;
        rng_t r = rng_make(9, RNG_STREAM_TEST, (uint64_t)i);
        episode_binding_nested(&src, &r, ways, 2, 4, 1, ne);
        for (int q = 0; q < ne->n_queries; q++)
            for (int k = 0; k <= 2; k++) {
                episode_nested_prompt(&src, ne, k, q, ep);
                CHECK(!repeats(ep->images, ep->n_images));
            }
        rng_t r2 = rng_make(10, RNG_STREAM_TEST, (uint64_t)i), r3 = r2, r4 = r2;
        episode_binding_eval(&src, &r2, ways, 2, 1, ep);
        CHECK(!repeats(ep->images, ep->n_images));
        episode_mc_eval(&src, &r3, ways, 2, 1, i % 2, ep);
        CHECK(!repeats(ep->images, ep->n_images));
        episode_match_eval(&src, &r4, 0, ep); /* one pair: two different images */
        CHECK(ep->images[0] != ep->images[1]);
    }
    free(ep);
    free(ne);
    episode_source_free(&src);
    store_index_free(&ix);
    store_free(&s);
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

        /* multiple choice, training: real and fake names */
        for (int i = 0; i < 100; i++) {
            rng_t r1 = rng_make(5, RNG_STREAM_TEST, (uint64_t)i), r2 = r1;
            episode_plan_t *p1 = malloc(sizeof *p1), *p2 = malloc(sizeof *p2);
            int fake = i % 2;
            episode_source_t csrc2;
            episode_source_init(&csrc2, &s, &train, &v, 1, (episode_format_t)fmt);
            const episode_source_t *ms = fake ? &src : &csrc2;
            episode_mc_plan(ms, &r1, 2, 4, 7, fake, p1);
            episode_mc_plan(ms, &r2, 2, 4, 7, fake, p2);
            CHECK(p1->n_turns == p2->n_turns &&
                  memcmp(p1->turns, p2->turns, sizeof p1->turns[0] * (size_t)p1->n_turns) == 0);
            episode_layout(ms, p1, a);
            check_mc(&s, &v, a, fake);
            for (int k = 0; k < a->n_turns; k++) {
                int seen = 0;
                for (int j = 0; j < k; j++)
                    seen += label_of(&s, a->images[j]) == label_of(&s, a->images[k]);
                CHECK(a->answer_scored[k] == (!fake || seen > 0));
                CHECK(a->targets[a->answer_pos[k]] == (a->answer_scored[k] ? a->answer_id[k] : -1));
            }
            episode_source_free(&csrc2);
            free(p1);
            free(p2);
        }
        /* multiple choice, evaluation: the two flips are one episode with the query's options
         * reversed; demos unscored, query scored */
        for (int i = 0; i < 100; i++) {
            int ways = 2 + i % 3, shots = i % 3;
            rng_t r1 = rng_make(6, RNG_STREAM_TEST, (uint64_t)i), r2 = r1;
            episode_mc_eval(&hsrc, &r1, ways, shots, 1, 0, a);
            episode_mc_eval(&hsrc, &r2, ways, shots, 1, 1, b);
            check_mc(&s, &v, a, 1);
            check_mc(&s, &v, b, 1);
            CHECK(a->n_turns == ways * shots + 1 && b->n_turns == a->n_turns);
            CHECK(a->n_tokens == b->n_tokens);
            int q = a->n_turns - 1;
            CHECK(memcmp(a->tokens, b->tokens,
                         sizeof(int32_t) * (size_t)(a->answer_pos[q] - 2 * ways + 1)) == 0);
            CHECK(a->images[q] == b->images[q]);
            int32_t la = a->answer_id[q], lb = b->answer_id[q];
            CHECK(option_of(a, q, la) == option_of(b, q, lb)); /* same right name */
            int ia = 0, ib = 0;
            for (int o = 0; o < 4; o++) {
                if (v.letter[o] == la) ia = o;
                if (v.letter[o] == lb) ib = o;
            }
            CHECK(ia == ways - 1 - ib);
            for (int k = 0; k < q; k++)
                CHECK(!a->answer_scored[k]);
            CHECK(a->answer_scored[q] && a->answer_shots[q] == shots);
        }
        /* matching */
        for (int i = 0; i < 100; i++) {
            rng_t r1 = rng_make(7, RNG_STREAM_TEST, (uint64_t)i);
            episode_plan_t *p = malloc(sizeof *p);
            episode_match_plan(&src, &r1, 5, p);
            episode_layout(&src, p, a);
            check_match(&s, &v, a);
            free(p);
            rng_t r2 = rng_make(8, RNG_STREAM_TEST, (uint64_t)i);
            episode_match_eval(&hsrc, &r2, i % 4, a);
            check_match(&s, &v, a);
            CHECK(a->n_turns == i % 4 + 1);
            for (int k = 0; k < a->n_turns; k++)
                CHECK(a->answer_scored[k] == (k == a->n_turns - 1));
        }
        {
            int yes = 0;
            for (int i = 0; i < 400; i++) {
                rng_t r = rng_make(9, RNG_STREAM_TEST, (uint64_t)i);
                episode_match_eval(&hsrc, &r, 0, a);
                yes += a->answer_id[0] == v.yes;
            }
            CHECK(yes > 160 && yes < 240); /* about half the pairs match */
        }
        /* single-turn layout: demos inside one user turn, only the last answer has loss */
        {
            episode_source_t one = src;
            one.turns = EPISODE_TURNS_SINGLE;
            rng_t r1 = rng_make(10, RNG_STREAM_TEST, 0), r2 = r1;
            episode_plan_t *p = malloc(sizeof *p);
            episode_binding_plan(&src, &r1, 2, 2, 9, 0.0f, p);
            episode_layout(&one, p, a);
            episode_binding_train(&src, &r2, 2, 2, 9, 0.0f, b);
            CHECK(a->n_turns == 9);
            int targets = 0, users = 0, assistants = 0;
            for (int t = 0; t < a->n_tokens; t++) {
                targets += a->targets[t] >= 0;
                users += a->tokens[t] == v.user;
                assistants += a->tokens[t] == v.assistant;
            }
            CHECK(targets == 1 && a->targets[a->answer_pos[8]] == a->answer_id[8]);
            CHECK(users == (fmt == EPISODE_FORMAT_CHAT) && assistants == users);
            for (int k = 0; k < 9; k++) /* same turns as the multi-turn layout */
                CHECK(a->answer_id[k] == b->answer_id[k] && a->images[k] == b->images[k]);
            free(p);
        }
        /* interleaving: every turn of every plan once, each plan's order kept */
        {
            episode_plan_t *p = malloc(3 * sizeof *p), *m = malloc(sizeof *m);
            rng_t r = rng_make(11, RNG_STREAM_TEST, 0);
            episode_binding_plan(&src, &r, 2, 2, 4, 0.0f, &p[0]);
            episode_match_plan(&src, &r, 3, &p[1]);
            episode_binding_plan(&src, &r, 3, 3, 5, 0.0f, &p[2]);
            episode_interleave(p, 3, &r, m);
            CHECK(m->n_turns == 12 && m->n_candidates == 0);
            int next[3] = {0, 0, 0};
            for (int k = 0; k < m->n_turns; k++) {
                int found = 0;
                for (int i = 0; i < 3 && !found; i++)
                    if (next[i] < p[i].n_turns &&
                        memcmp(&m->turns[k], &p[i].turns[next[i]], sizeof m->turns[k]) == 0) {
                        next[i]++;
                        found = 1;
                    }
                CHECK(found);
            }
            CHECK(next[0] == 4 && next[1] == 3 && next[2] == 5);
            episode_layout(&src, m, a);
            CHECK(a->n_turns == 12 && a->n_images == 15);
            free(p);
            free(m);
        }
        check_nested(&s, &hsrc, (episode_format_t)fmt, a, b);
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
    check_no_repeats(&v);
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
