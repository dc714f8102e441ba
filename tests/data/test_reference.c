/* test_reference.c - the model-free readers (data/reference.h) on hand-made episodes whose
 * answers are known: pixel 1-NN and the nearest class mean disagreeing, ties going to the first
 * demonstration or answer shown, the same answers on a gray store read as RGB, matching's pair
 * distances, and no answer without demonstrations or for a family without readers.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "data/episode.h"
#include "data/reference.h"
#include "data/store.h"
#include "test_data_util.h"

/* A store of one-pixel gray images with the given values. */
static void make_store(image_store_t *s, const uint8_t *values, int n) {
    memset(s, 0, sizeof *s);
    s->n = n;
    s->h = s->w = s->c = 1;
    s->pixels = malloc((size_t)n);
    CHECK(s->pixels);
    memcpy(s->pixels, values, (size_t)n);
    snprintf(s->source, sizeof s->source, "hand-made");
}

/* An episode of `turns` turns of `per_turn` images each (images[t * per_turn + i] the rows),
 * answer[t] one token; only the last turn is scored. */
static void make_episode(episode_t *ep, int family, int turns, int per_turn, const int64_t *images,
                         const int32_t *answer) {
    memset(ep, 0, sizeof *ep);
    ep->family = family;
    ep->n_turns = turns;
    for (int t = 0; t < turns; t++) {
        ep->turn_image[t] = (int16_t)(t * per_turn);
        ep->turn_n_images[t] = (uint8_t)per_turn;
        for (int i = 0; i < per_turn; i++)
            ep->images[ep->n_images++] = images[t * per_turn + i];
        ep->answer_pos[t] = 2 * t; /* the answer token follows its position */
        ep->answer_len[t] = 1;
        ep->tokens[2 * t + 1] = answer[t];
        ep->answer_scored[t] = t == turns - 1;
    }
    ep->n_tokens = 2 * turns;
}

static int32_t answer_of(const image_store_t *s, int channels, const episode_t *ep,
                         reference_reader_t k) {
    int32_t a[EPISODE_MAX_ANSWER];
    int len = reference_answer(s, channels, ep, k, a);
    return len == 1 ? a[0] : -len;
}

int main(void) {
    /* rows: 0:40 1:90 2:160 3:100 4:110 5:0 6:60 7:30 */
    const uint8_t px[] = {40, 90, 160, 100, 110, 0, 60, 30};
    image_store_t s;
    make_store(&s, px, 8);
    episode_t *ep = malloc(sizeof *ep);
    CHECK(ep);

    /* binding: demos 40 (name 10), 90 (11), 160 (10); query 100 (11). The nearest image is 90
     * (11, right); class 10's mean is 100, at distance 0 (10, wrong). */
    {
        const int64_t img[] = {0, 1, 2, 3};
        const int32_t ans[] = {10, 11, 10, 11};
        make_episode(ep, FAMILY_BINDING, 4, 1, img, ans);
        for (int ch = 1; ch <= 3; ch += 2) { /* gray as RGB: distances x3, the same answers */
            CHECK(answer_of(&s, ch, ep, REFERENCE_PIXEL_NN) == 11);
            CHECK(answer_of(&s, ch, ep, REFERENCE_CLASS_MEAN) == 10);
            CHECK(reference_score(&s, ch, ep) == (REFERENCE_ANSWERED | REFERENCE_NN_RIGHT));
        }
    }
    /* ties: demos 90 (10) and 110 (11) are both 10 from the query 100: the first shown wins,
     * for 1-NN and for the class means (one demo each) */
    {
        const int64_t img[] = {1, 4, 3}, img2[] = {4, 1, 3};
        const int32_t ans[] = {10, 11, 11}, ans2[] = {11, 10, 11};
        make_episode(ep, FAMILY_BINDING, 3, 1, img, ans);
        CHECK(answer_of(&s, 1, ep, REFERENCE_PIXEL_NN) == 10);
        CHECK(answer_of(&s, 1, ep, REFERENCE_CLASS_MEAN) == 10);
        CHECK(reference_score(&s, 1, ep) == REFERENCE_ANSWERED);
        make_episode(ep, FAMILY_BINDING, 3, 1, img2, ans2);
        CHECK(answer_of(&s, 1, ep, REFERENCE_PIXEL_NN) == 11);
        CHECK(answer_of(&s, 1, ep, REFERENCE_CLASS_MEAN) == 11);
        CHECK(reference_score(&s, 1, ep) ==
              (REFERENCE_ANSWERED | REFERENCE_NN_RIGHT | REFERENCE_MEAN_RIGHT));
    }
    /* matching: pair distances 400 (rows 1, 4: yes 20), 25600 (rows 5, 2: yes), 1600 (rows 5, 0:
     * no 21); the query pair (rows 5, 7) is at 900. The nearest pair is the first (500 away:
     * yes); the class means are yes 13000 (12100 away) and no 1600 (700 away: no, right) */
    {
        const int64_t img[] = {1, 4, 5, 2, 5, 0, 5, 7};
        const int32_t ans[] = {20, 20, 21, 21};
        make_episode(ep, FAMILY_MATCHING, 4, 2, img, ans);
        CHECK(answer_of(&s, 1, ep, REFERENCE_PIXEL_NN) == 20);
        CHECK(answer_of(&s, 1, ep, REFERENCE_CLASS_MEAN) == 21);
        CHECK(reference_score(&s, 1, ep) == (REFERENCE_ANSWERED | REFERENCE_MEAN_RIGHT));
    }
    /* no demonstration (0 shots), a family without readers: no answer, not scored */
    {
        const int64_t img[] = {3, 1, 2, 3};
        const int32_t ans[] = {11, 10, 11, 11};
        make_episode(ep, FAMILY_BINDING, 1, 1, img, ans);
        CHECK(answer_of(&s, 1, ep, REFERENCE_PIXEL_NN) == 0);
        CHECK(reference_score(&s, 1, ep) == 0);
        make_episode(ep, FAMILY_MC, 4, 1, img, ans);
        CHECK(answer_of(&s, 1, ep, REFERENCE_CLASS_MEAN) == 0);
        CHECK(reference_score(&s, 1, ep) == 0);
        CHECK(reference_family(FAMILY_BINDING) && reference_family(FAMILY_MATCHING));
        CHECK(!reference_family(FAMILY_MC) && !reference_family(FAMILY_CLASSIFY));
    }
    free(ep);
    free(s.pixels);
    printf("test_reference: ok\n");
    return 0;
}
