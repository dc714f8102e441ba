#define _POSIX_C_SOURCE 200809L
/* test_sampler.c - the training sequences of a step (worker/sampler.h) on a synthetic glyph
 * store:
 *   - train.tokens_per_step: every step holds exactly that many tokens in at least
 *     micro_batches sequences, drawn with the same keys as the items-sized step (its sequences
 *     are that step's, the last one cut, its images and answers cut with it);
 *   - `unrelated`: every non-replay sequence is `items` one-turn episodes of families drawn from
 *     the mix (here binding and classify: fake and real names, both in one sequence);
 *   - `replay_mix`: a replay sequence is `items` one-turn items of its families (real names and
 *     yes / no), and without it replay stays single-image classification (real names only).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "data/episode.h"
#include "data/store.h"
#include "data/vocab.h"
#include "worker/sampler.h"
#include "random_store.h"
#include "check.h"

enum { SIDE = 8, CLASSES = 14, PER_CLASS = 16, HELDOUT = 4, STEPS = 6 };

/* Image i: pixels from rng(i), label i / PER_CLASS; the last HELDOUT classes are held out. */
static void make_store(image_store_t *s) {
    random_store_make(s, CLASSES, PER_CLASS, HELDOUT, SIDE, 11);
}

/* A config of one run with the given train keys and stage keys. */
static void load(config_t *cfg, const char *train, const char *stage) {
    char text[2048];
    snprintf(text, sizeof text,
             "seed = 3; fake_names = 8;\n"
             "data = { glyphs = { size = 8; train_classes = 10; heldout_classes = 4; }; };\n"
             "model = { image_size = 8; patch = 4; max_seq = 64; };\n"
             "train = { steps = 100; micro_batches = 4; %s };\n"
             "eval = { ways = [2]; };\n"
             "runs = ( { name = \"r\"; stages = ( { %s } ); } );\n",
             train, stage);
    config_load_string(text, "test.cfg", cfg);
}

typedef struct {
    int fake, real, yes_no, other;
} answer_kinds_t;

static void count_kinds(const vocab_t *v, const episode_t *ep, answer_kinds_t *k) {
    for (int t = 0; t < ep->n_turns; t++) {
        int32_t a = ep->answer_id[t];
        if (a >= v->first_fake && a < v->first_fake + v->n_fake)
            k->fake++;
        else if (a >= v->first_real && a < v->first_real + v->n_real)
            k->real++;
        else if (a == v->yes || a == v->no)
            k->yes_no++;
        else
            k->other++;
    }
}

static void test_tokens_per_step(const image_store_t *st, const vocab_t *v) {
    config_t by_items, by_tokens;
    const char *stage = "family = \"binding\"; items = 5; replay = 0.3;";
    load(&by_items, "items_per_step = 400;", stage);
    load(&by_tokens, "tokens_per_step = 333;", stage);
    sampler_t a, b;
    sampler_init(&a, &by_items, &by_items.runs[0], st, NULL, NULL, v, EPISODE_FORMAT_COMPACT);
    sampler_init(&b, &by_tokens, &by_tokens.runs[0], st, NULL, NULL, v, EPISODE_FORMAT_COMPACT);
    episode_t *ea = micl_malloc((size_t)a.max_seqs * sizeof(episode_t));
    episode_t *eb = micl_malloc((size_t)b.max_seqs * sizeof(episode_t));
    int cut_seen = 0;
    for (int64_t step = 0; step < STEPS; step++) {
        int na = sampler_step(&a, 0, step, step, ea);
        int nb = sampler_step(&b, 0, step, step, eb);
        int64_t total = 0;
        for (int j = 0; j < nb; j++)
            total += eb[j].n_tokens;
        CHECK(total == 333, "step %lld holds %lld tokens, not 333", (long long)step,
              (long long)total);
        CHECK(nb >= 4 && nb <= b.max_seqs, "step %lld: %d sequences", (long long)step, nb);
        CHECK(nb <= na, "items step has %d sequences, tokens step %d", na, nb);
        for (int j = 0; j < nb && j < na; j++) {
            const episode_t *x = &ea[j], *y = &eb[j];
            int last = j == nb - 1, n = y->n_tokens;
            CHECK(last ? n <= x->n_tokens : n == x->n_tokens, "step %lld seq %d length",
                  (long long)step, j);
            CHECK(!memcmp(x->tokens, y->tokens, (size_t)n * sizeof(int32_t)) &&
                      !memcmp(x->targets, y->targets, (size_t)n * sizeof(int32_t)),
                  "step %lld seq %d: not the items step's sequence", (long long)step, j);
            int img = 0;
            for (int p = 0; p < n; p++)
                img += y->tokens[p] == v->image;
            CHECK(img == y->n_images, "seq %d: %d image tokens, %d images", j, img, y->n_images);
            for (int t = 0; t < y->n_turns; t++)
                if (y->answer_scored[t])
                    CHECK(y->answer_pos[t] + y->answer_len[t] <= n,
                          "seq %d turn %d: answer past the cut", j, t);
            cut_seen += last && n < x->n_tokens;
        }
    }
    CHECK(cut_seen > 0, "no step cut its last sequence");
    free(ea);
    free(eb);
    sampler_free(&a);
    sampler_free(&b);
    config_free(&by_items);
    config_free(&by_tokens);
}

static void test_unrelated(const image_store_t *st, const vocab_t *v) {
    config_t cfg;
    load(&cfg, "items_per_step = 120;",
         "items = 6; replay = 0; unrelated = true; mix = { binding = 0.5; classify = 0.5; };");
    sampler_t sm;
    sampler_init(&sm, &cfg, &cfg.runs[0], st, NULL, NULL, v, EPISODE_FORMAT_COMPACT);
    episode_t *eps = micl_malloc((size_t)sm.max_seqs * sizeof(episode_t));
    answer_kinds_t all = {0};
    int both = 0;
    for (int64_t step = 0; step < STEPS; step++) {
        int n = sampler_step(&sm, 0, step, 0, eps);
        for (int j = 0; j < n; j++) {
            CHECK(eps[j].n_turns == 6, "unrelated sequence of %d turns", eps[j].n_turns);
            CHECK(eps[j].n_candidates == 0, "unrelated sequence with a closed answer set");
            answer_kinds_t k = {0};
            count_kinds(v, &eps[j], &k);
            both += k.fake > 0 && k.real > 0;
            all.fake += k.fake;
            all.real += k.real;
            all.other += k.other + k.yes_no;
            /* one-turn binding episodes: a fake name never seen before carries no target */
            for (int t = 0; t < eps[j].n_turns; t++) {
                int32_t a = eps[j].answer_id[t];
                if (a >= v->first_fake && a < v->first_fake + v->n_fake)
                    CHECK(!eps[j].answer_scored[t], "a one-turn fake name carries loss");
            }
        }
    }
    CHECK(all.fake > 0 && all.real > 0 && all.other == 0, "answers: %d fake, %d real, %d other",
          all.fake, all.real, all.other);
    CHECK(both > 0, "no sequence mixes the two families");
    free(eps);
    sampler_free(&sm);
    config_free(&cfg);
}

static void test_replay_mix(const image_store_t *st, const vocab_t *v) {
    for (int with = 0; with < 2; with++) {
        config_t cfg;
        load(&cfg, "items_per_step = 120;",
             with ? "family = \"binding\"; items = 4; replay = 1; "
                    "replay_mix = { classify = 0.5; matching = 0.5; };"
                  : "family = \"binding\"; items = 4; replay = 1;");
        sampler_t sm;
        sampler_init(&sm, &cfg, &cfg.runs[0], st, NULL, NULL, v, EPISODE_FORMAT_COMPACT);
        episode_t *eps = micl_malloc((size_t)sm.max_seqs * sizeof(episode_t));
        answer_kinds_t all = {0};
        int both = 0;
        for (int64_t step = 0; step < STEPS; step++) {
            int n = sampler_step(&sm, 0, step, 0, eps);
            for (int j = 0; j < n; j++) {
                CHECK(eps[j].n_turns == 4, "replay sequence of %d turns", eps[j].n_turns);
                answer_kinds_t k = {0};
                count_kinds(v, &eps[j], &k);
                both += k.real > 0 && k.yes_no > 0;
                all.real += k.real;
                all.yes_no += k.yes_no;
                all.fake += k.fake;
                all.other += k.other;
            }
        }
        if (with) {
            CHECK(all.real > 0 && all.yes_no > 0 && all.fake + all.other == 0,
                  "replay_mix answers: %d real, %d yes/no, %d fake, %d other", all.real, all.yes_no,
                  all.fake, all.other);
            CHECK(both > 0, "no replay sequence mixes classify and matching items");
        } else {
            CHECK(all.real > 0 && all.yes_no + all.fake + all.other == 0,
                  "replay without replay_mix is not classification only");
        }
        free(eps);
        sampler_free(&sm);
        config_free(&cfg);
    }
}

int main(void) {
    image_store_t st;
    make_store(&st);
    vocab_t v;
    vocab_build(&v, &st, 8, 3, "");
    test_tokens_per_step(&st, &v);
    test_unrelated(&st, &v);
    test_replay_mix(&st, &v);
    vocab_free(&v);
    store_free(&st);
    printf("%s\n", failures ? "FAILED" : "sampler: ok");
    return failures ? 1 : 0;
}
