/* episode.c - builders for the task families (see episode.h).
 *
 * A builder draws a plan (episode_plan_t): per turn its images, question words, answer words,
 * and whether the answer carries loss. episode_layout turns any plan into tokens with one
 * helper (lay_turn), so all families share the exact token layout; families differ only in
 * which images and words each turn gets and in whether the answer is predictable from what
 * came before (the any-shot loss mask).
 */
#include "episode.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "family.h"

static void fixed_names_init(episode_source_t *src);

void episode_source_init(episode_source_t *src, const image_store_t *store,
                         const store_index_t *index, const vocab_t *vocab, int need_real_names,
                         episode_format_t format) {
    memset(src, 0, sizeof *src);
    src->store = store;
    src->index = index;
    src->vocab = vocab;
    src->format = format;
    src->turns = EPISODE_TURNS_MULTI;
    src->classes = micl_malloc((size_t)index->n_classes * sizeof(int32_t));
    for (int c = 0; c < index->n_classes; c++) {
        if (index->off[c + 1] == index->off[c]) continue;
        if (need_real_names && (c >= vocab->n_store_classes || vocab->real_of_class[c] < 0))
            continue;
        src->classes[src->n_classes++] = c;
    }
    fixed_names_init(src);
}

void episode_source_free(episode_source_t *src) {
    free(src->classes);
    free(src->fixed_class);
    free(src->fixed_name);
    memset(src, 0, sizeof *src);
}

uint64_t episode_fixed_name_key(const vocab_t *v) {
    uint64_t h = 14695981039346656037u; /* FNV-1a, 64 bits */
    for (int i = 0; i < v->n_fake; i++) {
        for (const unsigned char *c = (const unsigned char *)v->words[v->first_fake + i]; *c; c++)
            h = (h ^ *c) * 1099511628211u;
        h = (h ^ 0xffu) * 1099511628211u; /* a word boundary */
    }
    return h;
}

/* The keyed shuffle of the store's training classes; fake name i labels its i-th class. */
static void fixed_names_init(episode_source_t *src) {
    const image_store_t *s = src->store;
    int32_t *train = micl_malloc((size_t)(s->n_classes + 1) * sizeof(int32_t));
    int n_train = 0;
    for (int c = 0; c < s->n_classes; c++)
        if (s->class_split[c] == 0) train[n_train++] = c;
    rng_t r = rng_make(episode_fixed_name_key(src->vocab), RNG_STREAM_FAKE_NAMES, 0);
    rng_shuffle_i32(&r, train, n_train);
    src->n_fixed = src->vocab->n_fake < n_train ? src->vocab->n_fake : n_train;
    src->fixed_class = train;
    src->fixed_name = micl_malloc((size_t)(s->n_classes + 1) * sizeof(int32_t));
    for (int c = 0; c < s->n_classes; c++)
        src->fixed_name[c] = -1;
    for (int i = 0; i < src->n_fixed; i++)
        src->fixed_name[train[i]] = i;
}

int episode_fixed_name_class(const episode_source_t *src, int i) {
    return i >= 0 && i < src->n_fixed ? src->fixed_class[i] : -1;
}

int episode_class_fixed_name(const episode_source_t *src, int c) {
    return c >= 0 && c < src->store->n_classes ? src->fixed_name[c] : -1;
}

int episode_turn_tokens(const vocab_t *v, episode_format_t format) {
    return 2 + v->n_question + (format == EPISODE_FORMAT_CHAT ? 3 : 0);
}

int episode_family_turn_tokens(const vocab_t *v, episode_format_t format, int family,
                               int ways_max) {
    return family_get(family)->turn_tokens(v, format, ways_max);
}

int episode_family_turn_images(int family) {
    return family_get(family)->turn_images;
}

/* ------------------------------------------------------------------------------------------ */
/* Layout                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void push(episode_t *ep, int32_t tok) {
    if (ep->n_tokens >= (int)(sizeof ep->tokens / sizeof ep->tokens[0]))
        micl_fatal("episode longer than %zu tokens", sizeof ep->tokens / sizeof ep->tokens[0]);
    ep->tokens[ep->n_tokens] = tok;
    ep->targets[ep->n_tokens] = -1;
    ep->n_tokens++;
}

/* Appends turn t: [USER:] <image>.. question.. [ASSISTANT:] answer.. [<eot>]. In the single-turn
 * layout USER: opens only the first turn, ASSISTANT: and <eot> surround only the last answer,
 * and only the last answer carries loss. */
static void lay_turn(episode_t *ep, const episode_source_t *src, const episode_turn_t *turn, int t,
                     int last) {
    const vocab_t *v = src->vocab;
    int chat = src->format == EPISODE_FORMAT_CHAT;
    int single = src->turns == EPISODE_TURNS_SINGLE;
    if (ep->n_images + turn->n_images > EPISODE_MAX_ITEMS)
        micl_fatal("episode has more than %d images", EPISODE_MAX_ITEMS);
    if (chat && (!single || t == 0)) push(ep, v->user);
    ep->turn_image[t] = (int16_t)ep->n_images;
    ep->turn_n_images[t] = (uint8_t)turn->n_images;
    for (int i = 0; i < turn->n_images; i++) {
        push(ep, v->image);
        ep->images[ep->n_images++] = turn->images[i];
    }
    for (int i = 0; i < turn->n_question; i++)
        push(ep, turn->question[i]);
    if (chat && (!single || last)) push(ep, v->assistant);
    int scored = turn->scored && (!single || last);
    int pos = ep->n_tokens - 1;
    for (int i = 0; i < turn->n_answer; i++) {
        if (scored) ep->targets[ep->n_tokens - 1] = turn->answer[i];
        push(ep, turn->answer[i]);
    }
    if (chat && (!single || last)) push(ep, v->eot);
    ep->answer_pos[t] = pos;
    ep->answer_len[t] = (uint8_t)turn->n_answer;
    ep->answer_id[t] = turn->answer[0];
    ep->answer_shots[t] = turn->shots;
    ep->answer_scored[t] = (uint8_t)scored;
    ep->answer_exact[t] = turn->exact;
}

void episode_layout(const episode_source_t *src, const episode_plan_t *plan, episode_t *ep) {
    ep->n_tokens = 0;
    ep->n_images = 0;
    ep->n_turns = plan->n_turns;
    ep->family = plan->family;
    ep->n_candidates = plan->n_candidates;
    memcpy(ep->candidates, plan->candidates, (size_t)plan->n_candidates * sizeof(int32_t));
    push(ep, src->vocab->bos);
    for (int t = 0; t < plan->n_turns; t++)
        lay_turn(ep, src, &plan->turns[t], t, t == plan->n_turns - 1);
}

void episode_interleave(const episode_plan_t *plans, int n, rng_t *r, episode_plan_t *out) {
    int total = 0, next[EPISODE_MAX_WAYS] = {0};
    for (int i = 0; i < n; i++)
        total += plans[i].n_turns;
    if (total > EPISODE_MAX_ITEMS || n > EPISODE_MAX_WAYS) micl_fatal("episode too large");
    int32_t owner[EPISODE_MAX_ITEMS];
    for (int i = 0, k = 0; i < n; i++)
        for (int t = 0; t < plans[i].n_turns; t++)
            owner[k++] = i;
    rng_shuffle_i32(r, owner, total);
    out->n_turns = total;
    out->n_candidates = 0; /* no closed answer set across unrelated turns */
    out->family = plans[0].family;
    for (int k = 0; k < total; k++) {
        int i = owner[k];
        out->turns[k] = plans[i].turns[next[i]++];
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Drawing classes, names and images                                                           */
/* ------------------------------------------------------------------------------------------ */

static void plan_begin(episode_plan_t *plan, int family) {
    plan->n_turns = 0;
    plan->n_candidates = 0;
    plan->family = family;
}

static episode_turn_t *plan_turn(episode_plan_t *plan) {
    if (plan->n_turns >= EPISODE_MAX_ITEMS)
        micl_fatal("episode has more than %d turns", EPISODE_MAX_ITEMS);
    episode_turn_t *t = &plan->turns[plan->n_turns++];
    memset(t, 0, sizeof *t);
    return t;
}

/* A turn with one image, the source's question words and a one-word answer. */
static void add_simple(episode_plan_t *plan, const episode_source_t *src, int64_t image,
                       int32_t answer, int shots, int scored, int exact) {
    episode_turn_t *t = plan_turn(plan);
    t->n_images = 1;
    t->images[0] = image + src->image_base;
    t->n_question = src->vocab->n_question;
    memcpy(t->question, src->vocab->question, (size_t)t->n_question * sizeof(int32_t));
    t->n_answer = 1;
    t->answer[0] = answer;
    t->shots = (int16_t)shots;
    t->scored = (uint8_t)scored;
    t->exact = (uint8_t)exact;
}

static void set_candidates(episode_plan_t *plan, const int32_t *ids, int n) {
    plan->n_candidates = n;
    memcpy(plan->candidates, ids, (size_t)n * sizeof(int32_t));
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

static int contains(const int64_t *a, int n, int64_t x) {
    for (int i = 0; i < n; i++)
        if (a[i] == x) return 1;
    return 0;
}

/* Evaluation's draw: fresh_image, and where that still clashes although the class has an image
 * not in used (its tries ran out), the first such image in index order instead. It consumes
 * exactly the random numbers fresh_image does, so every episode fresh_image drew without a
 * repeat is unchanged; only draws that showed an image twice change. (Training keeps
 * fresh_image: its episodes may repeat images and must keep their bits.) */
static int64_t distinct_image(const episode_source_t *src, int cls, rng_t *r, const int64_t *used,
                              int n_used) {
    int64_t img = fresh_image(src, cls, r, used, n_used);
    if (!contains(used, n_used, img)) return img;
    for (int64_t j = src->index->off[cls]; j < src->index->off[cls + 1]; j++)
        if (!contains(used, n_used, src->index->idx[j])) return src->index->idx[j];
    return img; /* every image used: episode_check_source refuses such a class first */
}

int64_t episode_class_images(const episode_source_t *src, int cls) {
    return src->index->off[cls + 1] - src->index->off[cls];
}

/* The first class of src's index that has images but is not among src's classes (a real-name
 * source leaves out the classes the vocabulary does not name), or -1. */
static int first_unnamed_class(const episode_source_t *src) {
    for (int c = 0, k = 0; c < src->index->n_classes; c++) {
        if (episode_class_images(src, c) == 0) continue;
        if (k < src->n_classes && src->classes[k] == c)
            k++;
        else
            return c;
    }
    return -1;
}

void episode_check_source(const episode_source_t *src, int ways, int images, const char *cell) {
    const image_store_t *s = src->store;
    if (src->n_classes < ways) {
        int unnamed = first_unnamed_class(src);
        if (unnamed >= 0)
            micl_fatal("%s: %s with real names needs %d classes whose names are in the model's "
                       "vocabulary; the store has %d (its class names, e.g. '%s', are not in "
                       "it: evaluate with fake names)",
                       s->source, cell, ways, src->n_classes, s->class_names[unnamed]);
        micl_fatal("%s: %s needs %d classes with images; the store has %d", s->source, cell, ways,
                   src->n_classes);
    }
    int small = -1;
    for (int k = 0; k < src->n_classes; k++) {
        int c = src->classes[k];
        if (small < 0 || episode_class_images(src, c) < episode_class_images(src, small)) small = c;
    }
    if (small >= 0 && episode_class_images(src, small) < images)
        micl_fatal("%s: %s needs %d images per class so that no image is shown twice in an "
                   "episode; the smallest class, '%s', has %lld in the split evaluated",
                   s->source, cell, images, s->class_names[small],
                   (long long)episode_class_images(src, small));
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

static int draw_ways(rng_t *r, int ways_min, int ways_max, int items) {
    int ways = ways_min + (int)rng_below(r, (uint64_t)(ways_max - ways_min + 1));
    if (ways > EPISODE_MAX_WAYS || items > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
    return ways;
}

/* The class index (0..ways) of the next training turn given the turns per class so far
 * (seen): uniform, except that the last turn is always a class seen before (when any was), so
 * the query is answerable from context. */
static int next_turn_class(rng_t *r, int ways, const int *seen, int last) {
    int k = (int)rng_below(r, (uint64_t)ways);
    if (last && !seen[k]) {
        int any = 0;
        for (int j = 0; j < ways; j++)
            any |= seen[j] > 0;
        if (any)
            while (!seen[k])
                k = (int)rng_below(r, (uint64_t)ways);
    }
    return k;
}

/* The class index of each of `items` training turns, all drawn first (next_turn_class). */
static void draw_turn_classes(rng_t *r, int ways, int items, int *k_of) {
    int seen[EPISODE_MAX_WAYS] = {0};
    for (int t = 0; t < items; t++) {
        k_of[t] = next_turn_class(r, ways, seen, t == items - 1);
        seen[k_of[t]]++;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Binding and classification                                                                  */
/* ------------------------------------------------------------------------------------------ */

void episode_binding_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                          int items, float exact_copy, episode_plan_t *plan) {
    int ways = draw_ways(r, ways_min, ways_max, items);
    int32_t cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, 1, cls, names);
    plan_begin(plan, FAMILY_BINDING);
    int seen[EPISODE_MAX_WAYS] = {0};
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    for (int t = 0; t < items; t++) { /* each turn draws its class, then its image */
        int k = next_turn_class(r, ways, seen, t == items - 1);
        int64_t img;
        int exact = 0;
        if (seen[k] && rng_uniform(r) < exact_copy) {
            img = used[k][rng_below(r, (uint64_t)seen[k])];
            exact = 1;
        } else {
            img = fresh_image(src, cls[k], r, used[k], seen[k]);
        }
        add_simple(plan, src, img, names[k], seen[k], seen[k] > 0, exact);
        used[k][seen[k]++] = img;
    }
    set_candidates(plan, names, ways);
}

void episode_binding_train(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                           int items, float exact_copy, episode_t *ep) {
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    episode_binding_plan(src, r, ways_min, ways_max, items, exact_copy, plan);
    episode_layout(src, plan, ep);
}

/* Demo order of an N-way K-shot evaluation episode: K demos per class, shuffled. */
static void demo_order(rng_t *r, int ways, int shots, int32_t *order) {
    for (int i = 0; i < ways * shots; i++)
        order[i] = i % ways;
    rng_shuffle_i32(r, order, ways * shots);
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
    demo_order(r, ways, shots, order);
    int query = (int)rng_below(r, (uint64_t)ways);
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    int seen[EPISODE_MAX_WAYS] = {0};
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    plan_begin(plan, FAMILY_BINDING);
    for (int i = 0; i < n_demo; i++) {
        int k = order[i];
        int64_t img = distinct_image(src, cls[k], r, used[k], seen[k]);
        add_simple(plan, src, img, names[k], seen[k], 0, 0);
        used[k][seen[k]++] = img;
    }
    int64_t qimg = distinct_image(src, cls[query], r, used[query], seen[query]);
    add_simple(plan, src, qimg, names[query], seen[query], 1, 0);
    set_candidates(plan, names, ways);
    episode_layout(src, plan, ep);
}

/* A demo of a nested episode: fresh_image among used[0..n_used) (the class's n_query queries,
 * then its earlier demos). Where that repeats an earlier demo (the class ran out of images, or
 * fresh_image's tries did), the first image of the class not in used, else the first that is no
 * earlier demo, instead. A demo that repeats only a query is kept as drawn: it touches just that
 * query's prompts, and episode_nested_query_image gives those another query image. The draw
 * consumes the random numbers fresh_image does, so round j still depends only on the queries
 * and rounds < j, and every nested episode whose prompts showed no image twice is unchanged. */
static int64_t nested_demo_image(const episode_source_t *src, int cls, rng_t *r,
                                 const int64_t *used, int n_query, int n_used) {
    int64_t img = fresh_image(src, cls, r, used, n_used);
    if (!contains(used + n_query, n_used - n_query, img)) return img;
    int64_t lo = src->index->off[cls], hi = src->index->off[cls + 1];
    for (int64_t j = lo; j < hi; j++)
        if (!contains(used, n_used, src->index->idx[j])) return src->index->idx[j];
    for (int64_t j = lo; j < hi; j++)
        if (!contains(used + n_query, n_used - n_query, src->index->idx[j]))
            return src->index->idx[j];
    return img; /* fewer images than demos: episode_check_source refuses such a class first */
}

int64_t episode_nested_query_image(const episode_source_t *src, const episode_nested_t *ne,
                                   int shots, int q) {
    int k = ne->query_class[q];
    int64_t img = ne->query_image[q];
    int64_t demos[EPISODE_MAX_ITEMS];
    int n = 0;
    for (int d = 0; d < shots * ne->ways; d++)
        if (ne->demo_class[d] == k) demos[n++] = ne->demo_image[d];
    if (!contains(demos, n, img)) return img;
    int cls = src->store->labels[img];
    for (int64_t j = src->index->off[cls]; j < src->index->off[cls + 1]; j++)
        if (!contains(demos, n, src->index->idx[j])) return src->index->idx[j];
    return img; /* the class has no image besides its demos: episode_check_source refuses it */
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
    int n_query[EPISODE_MAX_WAYS]; /* used[k][0..n_query[k]) are class k's queries */
    memcpy(n_query, seen, sizeof n_query);
    for (int j = 0; j < rounds; j++) {
        int32_t *order = ne->demo_class + (size_t)j * ways;
        for (int i = 0; i < ways; i++)
            order[i] = i;
        rng_shuffle_i32(r, order, ways);
        for (int i = 0; i < ways; i++) {
            int k = order[i];
            int64_t img = nested_demo_image(src, cls[k], r, used[k], n_query[k], seen[k]);
            ne->demo_image[j * ways + i] = img;
            used[k][seen[k]++] = img;
        }
    }
}

/* The plan of <bos> and the demos of rounds [0, shots), unscored. */
static void nested_demos(const episode_source_t *src, const episode_nested_t *ne, int shots,
                         episode_plan_t *plan) {
    if (shots < 0 || shots > ne->rounds)
        micl_fatal("%d-shot prompt of a nested episode of %d rounds", shots, ne->rounds);
    plan_begin(plan, FAMILY_BINDING);
    int seen[EPISODE_MAX_WAYS] = {0};
    for (int d = 0; d < shots * ne->ways; d++) {
        int k = ne->demo_class[d];
        add_simple(plan, src, ne->demo_image[d], ne->names[k], seen[k]++, 0, 0);
    }
    set_candidates(plan, ne->names, ne->ways);
}

void episode_nested_prefix(const episode_source_t *src, const episode_nested_t *ne, episode_t *ep) {
    episode_plan_t plan;
    nested_demos(src, ne, ne->rounds, &plan);
    episode_layout(src, &plan, ep);
}

void episode_nested_prompt(const episode_source_t *src, const episode_nested_t *ne, int shots,
                           int q, episode_t *ep) {
    if (q < 0 || q >= ne->n_queries)
        micl_fatal("query %d of a nested episode of %d queries", q, ne->n_queries);
    episode_plan_t plan;
    nested_demos(src, ne, shots, &plan);
    int k = ne->query_class[q];
    add_simple(&plan, src, episode_nested_query_image(src, ne, shots, q), ne->names[k], shots, 1,
               0);
    episode_layout(src, &plan, ep);
}

int episode_nested_prefix_len(const episode_source_t *src, const episode_nested_t *ne, int shots) {
    return 1 + shots * ne->ways * episode_turn_tokens(src->vocab, src->format);
}

void episode_classify_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan) {
    if (items > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
    plan_begin(plan, FAMILY_CLASSIFY);
    for (int t = 0; t < items; t++) {
        int cls = src->classes[rng_below(r, (uint64_t)src->n_classes)];
        add_simple(plan, src, class_image(src, cls, r), src->vocab->real_of_class[cls], -1, 1, 0);
    }
}

void episode_classify(const episode_source_t *src, rng_t *r, int items, episode_t *ep) {
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    episode_classify_plan(src, r, items, plan);
    episode_layout(src, plan, ep);
}

void episode_single(const episode_source_t *src, int64_t image, episode_t *ep) {
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    plan_begin(plan, FAMILY_CLASSIFY);
    int cls = src->store->labels[image];
    add_simple(plan, src, image, src->vocab->real_of_class[cls], -1, 1, 0);
    episode_layout(src, plan, ep);
}

/* ------------------------------------------------------------------------------------------ */
/* Fixed fake names: named and bursty                                                          */
/* ------------------------------------------------------------------------------------------ */

static int has_images(const episode_source_t *src, int cls) {
    return src->index->off[cls + 1] > src->index->off[cls];
}

/* Fake-name indices whose class has images in src (in fake-name order); returns their number. */
static int usable_fixed_names(const episode_source_t *src, int32_t *out) {
    int n = 0;
    for (int i = 0; i < src->n_fixed; i++)
        if (has_images(src, src->fixed_class[i])) out[n++] = i;
    return n;
}

void episode_named_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan) {
    if (items > EPISODE_MAX_ITEMS) micl_fatal("episode too large");
    int32_t *names = micl_malloc((size_t)(src->n_fixed + 1) * sizeof(int32_t));
    int n = usable_fixed_names(src, names);
    if (n == 0)
        micl_fatal("%s: named episodes need fixed-name classes with images (fake_names > 0 and "
                   "training classes)",
                   src->store->source);
    plan_begin(plan, FAMILY_NAMED);
    for (int t = 0; t < items; t++) {
        int i = names[rng_below(r, (uint64_t)n)];
        int64_t img = class_image(src, src->fixed_class[i], r);
        add_simple(plan, src, img, src->vocab->first_fake + i, -1, 1, 0);
    }
    free(names);
}

/* The bursty pools: fixed-name classes with images (labels: their fake names), and classes of
 * src with a real name and no fixed name (labels: real names). */
static int bursty_pool(const episode_source_t *src, int fixed, int32_t *cls, int32_t *label) {
    int n = 0;
    if (fixed) {
        for (int i = 0; i < src->n_fixed; i++)
            if (has_images(src, src->fixed_class[i])) {
                cls[n] = src->fixed_class[i];
                label[n++] = src->vocab->first_fake + i;
            }
    } else {
        for (int k = 0; k < src->n_classes; k++) {
            int c = src->classes[k];
            int real = c < src->vocab->n_store_classes ? src->vocab->real_of_class[c] : -1;
            if (real >= 0 && src->fixed_name[c] < 0) {
                cls[n] = c;
                label[n++] = real;
            }
        }
    }
    return n;
}

void episode_bursty_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max,
                         int items, episode_plan_t *plan) {
    int ways = draw_ways(r, ways_min < 1 ? 1 : ways_min, ways_max < 1 ? 1 : ways_max, items);
    int fixed = (int)rng_below(r, 2);
    size_t cap = (size_t)src->store->n_classes + 1;
    int32_t *pool = micl_malloc(cap * sizeof(int32_t)), *label = micl_malloc(cap * sizeof(int32_t));
    int n = bursty_pool(src, fixed, pool, label);
    if (n == 0) n = bursty_pool(src, fixed = !fixed, pool, label); /* one kind only */
    if (n == 0) micl_fatal("%s: bursty episodes need training classes", src->store->source);
    if (ways > n) ways = n;
    int32_t pick[EPISODE_MAX_WAYS], cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    rng_choose_distinct(r, n, ways, pick);
    for (int k = 0; k < ways; k++) {
        cls[k] = pool[pick[k]];
        names[k] = label[pick[k]];
    }
    free(pool);
    free(label);
    int32_t order[EPISODE_MAX_ITEMS];
    for (int t = 0; t < items; t++)
        order[t] = t % ways;
    rng_shuffle_i32(r, order, items);
    plan_begin(plan, FAMILY_BURSTY);
    int seen[EPISODE_MAX_WAYS] = {0};
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    for (int t = 0; t < items; t++) {
        int k = order[t];
        int64_t img = fresh_image(src, cls[k], r, used[k], seen[k]);
        add_simple(plan, src, img, names[k], seen[k], 1, 0);
        used[k][seen[k]++] = img;
    }
    set_candidates(plan, names, ways);
}

/* ------------------------------------------------------------------------------------------ */
/* Multiple choice                                                                             */
/* ------------------------------------------------------------------------------------------ */

/* A multiple-choice turn: image, the source's question words, then "A n0 B n1 ..." for the
 * option names in `opts` order; the answer is the letter of option `right`. */
static void add_mc(episode_plan_t *plan, const episode_source_t *src, int64_t image,
                   const int32_t *opts, int n_opts, int right, int shots, int scored) {
    const vocab_t *v = src->vocab;
    episode_turn_t *t = plan_turn(plan);
    t->n_images = 1;
    t->images[0] = image + src->image_base;
    if (v->n_question + 2 * n_opts > EPISODE_MAX_QUESTION)
        micl_fatal("a multiple-choice turn needs %d question tokens; at most %d fit",
                   v->n_question + 2 * n_opts, EPISODE_MAX_QUESTION);
    for (int i = 0; i < v->n_question; i++)
        t->question[t->n_question++] = v->question[i];
    for (int o = 0; o < n_opts; o++) {
        t->question[t->n_question++] = vocab_need(v->letter[o], "A..D");
        t->question[t->n_question++] = opts[o];
    }
    t->n_answer = 1;
    t->answer[0] = v->letter[right];
    t->shots = (int16_t)shots;
    t->scored = (uint8_t)scored;
}

static void mc_candidates(episode_plan_t *plan, const vocab_t *v, int n_opts) {
    plan->n_candidates = n_opts;
    for (int o = 0; o < n_opts; o++)
        plan->candidates[o] = vocab_need(v->letter[o], "A..D");
}

/* Options of a turn whose class is k among `ways`: k and up to 3 others, in a random order. */
static int draw_options(rng_t *r, int ways, int k, const int32_t *names, int32_t *opts,
                        int *right) {
    int n = ways < EPISODE_MAX_OPTIONS ? ways : EPISODE_MAX_OPTIONS;
    int32_t pick[EPISODE_MAX_WAYS], pos = 1;
    int32_t kk[EPISODE_MAX_OPTIONS];
    kk[0] = k;
    rng_choose_distinct(r, ways, ways, pick); /* a random permutation of the ways */
    for (int i = 0; i < ways && pos < n; i++)
        if (pick[i] != k) kk[pos++] = pick[i];
    rng_shuffle_i32(r, kk, n);
    for (int o = 0; o < n; o++) {
        opts[o] = names[kk[o]];
        if (kk[o] == k) *right = o;
    }
    return n;
}

void episode_mc_plan(const episode_source_t *src, rng_t *r, int ways_min, int ways_max, int items,
                     int fake_names, episode_plan_t *plan) {
    int ways = draw_ways(r, ways_min < 2 ? 2 : ways_min, ways_max < 2 ? 2 : ways_max, items);
    int32_t cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, fake_names, cls, names);
    plan_begin(plan, FAMILY_MC);
    int seen[EPISODE_MAX_WAYS] = {0};
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    int k_of[EPISODE_MAX_ITEMS];
    draw_turn_classes(r, ways, items, k_of);
    for (int t = 0; t < items; t++) {
        int k = k_of[t], right = 0;
        int32_t opts[EPISODE_MAX_OPTIONS];
        int n = draw_options(r, ways, k, names, opts, &right);
        int64_t img = fresh_image(src, cls[k], r, used[k], seen[k]);
        add_mc(plan, src, img, opts, n, right, seen[k], !fake_names || seen[k] > 0);
        used[k][seen[k]++] = img;
    }
    mc_candidates(plan, src->vocab, ways < EPISODE_MAX_OPTIONS ? ways : EPISODE_MAX_OPTIONS);
}

void episode_mc_eval(const episode_source_t *src, rng_t *r, int ways, int shots, int fake_names,
                     int flip, episode_t *ep) {
    if (ways < 2 || ways > EPISODE_MAX_OPTIONS || ways * shots + 1 > EPISODE_MAX_ITEMS)
        micl_fatal("multiple-choice evaluation takes 2 to %d ways and at most %d turns",
                   EPISODE_MAX_OPTIONS, EPISODE_MAX_ITEMS);
    int32_t cls[EPISODE_MAX_WAYS], names[EPISODE_MAX_WAYS];
    pick_classes(src, r, ways, cls);
    pick_names(src, r, ways, fake_names, cls, names);
    int32_t order[EPISODE_MAX_ITEMS];
    demo_order(r, ways, shots, order);
    int query = (int)rng_below(r, (uint64_t)ways);
    int64_t used[EPISODE_MAX_WAYS][EPISODE_MAX_ITEMS];
    int seen[EPISODE_MAX_WAYS] = {0};
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    plan_begin(plan, FAMILY_MC);
    for (int i = 0; i < ways * shots; i++) {
        int k = order[i], right = 0;
        int32_t opts[EPISODE_MAX_OPTIONS];
        int n = draw_options(r, ways, k, names, opts, &right);
        int64_t img = distinct_image(src, cls[k], r, used[k], seen[k]);
        add_mc(plan, src, img, opts, n, right, seen[k], 0);
        used[k][seen[k]++] = img;
    }
    int right = 0;
    int32_t opts[EPISODE_MAX_OPTIONS];
    int n = draw_options(r, ways, query, names, opts, &right);
    if (flip) { /* the same options, in reverse order */
        for (int o = 0; o < n / 2; o++) {
            int32_t tmp = opts[o];
            opts[o] = opts[n - 1 - o];
            opts[n - 1 - o] = tmp;
        }
        right = n - 1 - right;
    }
    int64_t qimg = distinct_image(src, cls[query], r, used[query], seen[query]);
    add_mc(plan, src, qimg, opts, n, right, seen[query], 1);
    mc_candidates(plan, src->vocab, n);
    episode_layout(src, plan, ep);
}

/* ------------------------------------------------------------------------------------------ */
/* Matching                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* A pair turn: two images, "same" (after the source's question words), answer yes / no. */
static void add_pair(episode_plan_t *plan, const episode_source_t *src, int64_t a, int64_t b,
                     int same, int shots, int scored) {
    const vocab_t *v = src->vocab;
    episode_turn_t *t = plan_turn(plan);
    t->n_images = 2;
    t->images[0] = a + src->image_base;
    t->images[1] = b + src->image_base;
    if (v->n_question + 1 > EPISODE_MAX_QUESTION) micl_fatal("question too long for a pair");
    for (int i = 0; i < v->n_question; i++)
        t->question[t->n_question++] = v->question[i];
    t->question[t->n_question++] = vocab_need(v->same, "same");
    t->n_answer = 1;
    t->answer[0] = same ? vocab_need(v->yes, "yes") : vocab_need(v->no, "no");
    t->shots = (int16_t)shots;
    t->scored = (uint8_t)scored;
}

/* Draws one pair: same class with probability 1/2 (two different images where the class has
 * them), otherwise two classes. */
static void draw_pair(const episode_source_t *src, rng_t *r, int eval, int64_t *a, int64_t *b,
                      int *same) {
    if (src->n_classes < 2) micl_fatal("matching needs at least 2 classes with images");
    int32_t two[2];
    rng_choose_distinct(r, src->n_classes, 2, two);
    *same = rng_below(r, 2) == 0;
    int ca = src->classes[two[0]], cb = *same ? ca : src->classes[two[1]];
    *a = class_image(src, ca, r);
    *b = eval ? distinct_image(src, cb, r, a, 1) : fresh_image(src, cb, r, a, 1);
}

static void pair_candidates(episode_plan_t *plan, const vocab_t *v) {
    int32_t yn[2] = {vocab_need(v->yes, "yes"), vocab_need(v->no, "no")};
    set_candidates(plan, yn, 2);
}

void episode_match_plan(const episode_source_t *src, rng_t *r, int items, episode_plan_t *plan) {
    if (items > EPISODE_MAX_ITEMS / 2) micl_fatal("episode too large");
    plan_begin(plan, FAMILY_MATCHING);
    for (int t = 0; t < items; t++) {
        int64_t a, b;
        int same;
        draw_pair(src, r, 0, &a, &b, &same);
        add_pair(plan, src, a, b, same, t, 1);
    }
    pair_candidates(plan, src->vocab);
}

void episode_match_eval(const episode_source_t *src, rng_t *r, int shots, episode_t *ep) {
    if (shots + 1 > EPISODE_MAX_ITEMS / 2) micl_fatal("episode too large");
    episode_plan_t plan_buf, *plan = &plan_buf; /* on the stack: no allocation per episode */
    plan_begin(plan, FAMILY_MATCHING);
    for (int t = 0; t <= shots; t++) {
        int64_t a, b;
        int same;
        draw_pair(src, r, 1, &a, &b, &same);
        add_pair(plan, src, a, b, same, t, t == shots);
    }
    pair_candidates(plan, src->vocab);
    episode_layout(src, plan, ep);
}
