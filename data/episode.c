/* episode.c - builders for the task families (see episode.h).
 *
 * Each builder appends turns with one helper (add_turn) so that every family shares the exact
 * token layout; the families differ only in which image and which answer each turn gets and in
 * whether the answer is predictable from what came before (the any-shot loss mask).
 */
#include "episode.h"

#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/rng.h"

void episode_source_init(episode_source_t *src, const image_store_t *store,
                         const store_index_t *index, const vocab_t *vocab, int need_real_names,
                         episode_format_t format) {
    memset(src, 0, sizeof *src);
    src->store = store;
    src->index = index;
    src->vocab = vocab;
    src->format = format;
    src->classes = micl_malloc((size_t)index->n_classes * sizeof(int32_t));
    for (int c = 0; c < index->n_classes; c++) {
        if (index->off[c + 1] == index->off[c]) continue;
        if (need_real_names && (c >= vocab->n_store_classes || vocab->real_of_class[c] < 0))
            continue;
        src->classes[src->n_classes++] = c;
    }
}

void episode_source_free(episode_source_t *src) {
    free(src->classes);
    memset(src, 0, sizeof *src);
}

int episode_turn_tokens(const vocab_t *v, episode_format_t format) {
    return 2 + v->n_question + (format == EPISODE_FORMAT_CHAT ? 3 : 0);
}

static void push(episode_t *ep, int32_t tok) {
    if (ep->n_tokens >= (int)(sizeof ep->tokens / sizeof ep->tokens[0]))
        micl_fatal("episode longer than %zu tokens", sizeof ep->tokens / sizeof ep->tokens[0]);
    ep->tokens[ep->n_tokens] = tok;
    ep->targets[ep->n_tokens] = -1;
    ep->n_tokens++;
}

static void begin(episode_t *ep, int family, const vocab_t *v) {
    ep->n_tokens = 0;
    ep->n_images = 0;
    ep->n_candidates = 0;
    ep->family = family;
    push(ep, v->bos);
}

/* Appends one turn: [USER:] <image> question.. [ASSISTANT:] answer [<eot>]. The answer is the
 * target of the token before it when `scored`. */
static void add_turn(episode_t *ep, const episode_source_t *src, int64_t image, int32_t answer,
                     int shots, int scored, int exact) {
    const vocab_t *v = src->vocab;
    int chat = src->format == EPISODE_FORMAT_CHAT;
    if (ep->n_images >= EPISODE_MAX_ITEMS)
        micl_fatal("episode has more than %d images", EPISODE_MAX_ITEMS);
    int turn = ep->n_images;
    if (chat) push(ep, v->user);
    push(ep, v->image);
    ep->images[ep->n_images++] = image;
    for (int i = 0; i < v->n_question; i++)
        push(ep, v->question[i]);
    if (chat) push(ep, v->assistant);
    int pos = ep->n_tokens - 1;
    push(ep, answer);
    if (scored) ep->targets[pos] = answer;
    if (chat) push(ep, v->eot);
    ep->answer_pos[turn] = pos;
    ep->answer_id[turn] = answer;
    ep->answer_shots[turn] = shots;
    ep->answer_scored[turn] = (uint8_t)scored;
    ep->answer_exact[turn] = (uint8_t)exact;
}

static int64_t class_image(const episode_source_t *src, int cls, rng_t *r) {
    int64_t lo = src->index->off[cls], hi = src->index->off[cls + 1];
    return src->index->idx[lo + (int64_t)rng_below(r, (uint64_t)(hi - lo))];
}

/* An image of class cls that is not among used[0..n_used) if the class has another one. */
static int64_t fresh_image(const episode_source_t *src, int cls, rng_t *r, const int64_t *used,
                           int n_used) {
    int64_t lo = src->index->off[cls], hi = src->index->off[cls + 1];
    int64_t avail = hi - lo;
    int64_t img = class_image(src, cls, r);
    for (int attempt = 0; attempt < 16; attempt++) {
        int clash = 0;
        for (int i = 0; i < n_used; i++)
            clash |= used[i] == img;
        if (!clash || avail <= n_used) break;
        img = class_image(src, cls, r);
    }
    return img;
}

static void pick_names(const episode_source_t *src, rng_t *r, int ways, int fake,
                       const int32_t *cls, int32_t *names) {
    const vocab_t *v = src->vocab;
    if (fake) {
        if (ways > v->n_fake) micl_fatal("%d ways need at least %d fake names", ways, ways);
        int32_t pick[EPISODE_MAX_WAYS];
        rng_choose_distinct(r, v->n_fake, ways, pick);
        for (int i = 0; i < ways; i++)
            names[i] = v->first_fake + pick[i];
    } else {
        for (int i = 0; i < ways; i++)
            names[i] = v->real_of_class[cls[i]];
    }
}

static void pick_classes(const episode_source_t *src, rng_t *r, int ways, int32_t *cls) {
    if (ways > src->n_classes)
        micl_fatal("%d-way episodes need %d classes; the store has %d usable", ways, ways,
                   src->n_classes);
    int32_t pick[EPISODE_MAX_WAYS];
    rng_choose_distinct(r, src->n_classes, ways, pick);
    for (int i = 0; i < ways; i++)
        cls[i] = src->classes[pick[i]];
}

void episode_binding_train(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                           int items, float exact_copy, episode_t *ep) {
    int ways = ways_min + (int)rng_below(r, (uint64_t)(ways_max - ways_min + 1));
    if (ways > EPISODE_MAX_WAYS || items > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
    int32_t cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, 1, cls, names);
    begin(ep, FAMILY_BINDING, src->vocab);
    int seen[EPISODE_MAX_WAYS] = {0};
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    for (int t = 0; t < items; t++) {
        int k = (int)rng_below(r, (uint64_t)ways);
        if (t == items - 1 && !seen[k]) { /* the last turn is always answerable from context */
            int any = 0;
            for (int j = 0; j < ways; j++)
                any |= seen[j] > 0;
            if (any)
                while (!seen[k])
                    k = (int)rng_below(r, (uint64_t)ways);
        }
        int64_t img;
        int exact = 0;
        if (seen[k] && rng_uniform(r) < exact_copy) {
            img = used[k][rng_below(r, (uint64_t)seen[k])];
            exact = 1;
        } else {
            img = fresh_image(src, cls[k], r, used[k], seen[k]);
        }
        add_turn(ep, src, img, names[k], seen[k], seen[k] > 0, exact);
        used[k][seen[k]++] = img;
    }
    ep->n_candidates = ways;
    memcpy(ep->candidates, names, (size_t)ways * sizeof(int32_t));
}

void episode_binding_eval(const episode_source_t *src, rng_t *r, int ways, int shots,
                          int fake_names, episode_t *ep) {
    if (ways > EPISODE_MAX_WAYS || ways * shots + 1 > EPISODE_MAX_ITEMS)
        micl_fatal("episode too large");
    int32_t cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, fake_names, cls, names);
    int n_demo = ways * shots;
    int32_t order[EPISODE_MAX_ITEMS];
    for (int i = 0; i < n_demo; i++)
        order[i] = i % ways;
    rng_shuffle_i32(r, order, n_demo);
    int query = (int)rng_below(r, (uint64_t)ways);
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    int seen[EPISODE_MAX_WAYS] = {0};
    begin(ep, FAMILY_BINDING, src->vocab);
    for (int i = 0; i < n_demo; i++) {
        int k = order[i];
        int64_t img = fresh_image(src, cls[k], r, used[k], seen[k]);
        add_turn(ep, src, img, names[k], seen[k], 0, 0);
        used[k][seen[k]++] = img;
    }
    int64_t qimg = fresh_image(src, cls[query], r, used[query], seen[query]);
    add_turn(ep, src, qimg, names[query], seen[query], 1, 0);
    ep->n_candidates = ways;
    memcpy(ep->candidates, names, (size_t)ways * sizeof(int32_t));
}

void episode_binding_nested(const episode_source_t *src, rng_t *r, int ways, int rounds,
                            int n_queries, int fake_names, episode_nested_t *ne) {
    if (ways < 1 || ways > EPISODE_MAX_WAYS || rounds < 0 ||
        ways * rounds + 1 > EPISODE_MAX_ITEMS || n_queries < 1 || n_queries > EPISODE_MAX_QUERIES)
        micl_fatal("nested episode of %d ways, %d rounds, %d queries is too large", ways, rounds,
                   n_queries);
    memset(ne, 0, sizeof *ne);
    ne->ways = ways;
    ne->rounds = rounds;
    ne->n_queries = n_queries;
    ne->fake_names = fake_names;
    int32_t cls[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, fake_names, cls, ne->names);
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS + EPISODE_MAX_QUERIES];
    int seen[EPISODE_MAX_WAYS] = {0};
    for (int q = 0; q < n_queries; q++) {
        int k = (int)rng_below(r, (uint64_t)ways);
        ne->query_class[q] = k;
        ne->query_image[q] = fresh_image(src, cls[k], r, used[k], seen[k]);
        used[k][seen[k]++] = ne->query_image[q];
    }
    for (int j = 0; j < rounds; j++) {
        int32_t *order = ne->demo_class + (size_t)j * ways;
        for (int i = 0; i < ways; i++)
            order[i] = i;
        rng_shuffle_i32(r, order, ways);
        for (int i = 0; i < ways; i++) {
            int k = order[i];
            int64_t img = fresh_image(src, cls[k], r, used[k], seen[k]);
            ne->demo_image[j * ways + i] = img;
            used[k][seen[k]++] = img;
        }
    }
}

/* <bos> and the demos of rounds [0, shots), unscored. */
static void nested_demos(const episode_source_t *src, const episode_nested_t *ne, int shots,
                         episode_t *ep) {
    if (shots < 0 || shots > ne->rounds)
        micl_fatal("%d-shot prompt of a nested episode of %d rounds", shots, ne->rounds);
    begin(ep, FAMILY_BINDING, src->vocab);
    int seen[EPISODE_MAX_WAYS] = {0};
    for (int d = 0; d < shots * ne->ways; d++) {
        int k = ne->demo_class[d];
        add_turn(ep, src, ne->demo_image[d], ne->names[k], seen[k]++, 0, 0);
    }
    ep->n_candidates = ne->ways;
    memcpy(ep->candidates, ne->names, (size_t)ne->ways * sizeof(int32_t));
}

void episode_nested_prefix(const episode_source_t *src, const episode_nested_t *ne, episode_t *ep) {
    nested_demos(src, ne, ne->rounds, ep);
}

void episode_nested_prompt(const episode_source_t *src, const episode_nested_t *ne, int shots,
                           int q, episode_t *ep) {
    if (q < 0 || q >= ne->n_queries)
        micl_fatal("query %d of a nested episode of %d queries", q, ne->n_queries);
    nested_demos(src, ne, shots, ep);
    int k = ne->query_class[q];
    add_turn(ep, src, ne->query_image[q], ne->names[k], shots, 1, 0);
}

int episode_nested_prefix_len(const episode_source_t *src, const episode_nested_t *ne, int shots) {
    return 1 + shots * ne->ways * episode_turn_tokens(src->vocab, src->format);
}

void episode_classify(const episode_source_t *src, rng_t *r, int items, episode_t *ep) {
    if (items > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
    begin(ep, FAMILY_CLASSIFY, src->vocab);
    for (int t = 0; t < items; t++) {
        int cls = src->classes[rng_below(r, (uint64_t)src->n_classes)];
        add_turn(ep, src, class_image(src, cls, r), src->vocab->real_of_class[cls], -1, 1, 0);
    }
}

void episode_single(const episode_source_t *src, int64_t image, episode_t *ep) {
    begin(ep, FAMILY_CLASSIFY, src->vocab);
    int cls = src->store->labels[image];
    add_turn(ep, src, image, src->vocab->real_of_class[cls], -1, 1, 0);
}
