/* fsicl.c - the paper's FS-ICL episodes (see fsicl.h): class means and the nearest negative
 * class, the order of demos and query, and the option letters of every turn.
 *
 * Order of draws from the cell's rng (changing it changes every episode): the positive class;
 * the option order; FSICL_RANDOM: the demo order (a shuffle), and at 0 shots the query class;
 * the query image; then each demo's image, in turn order.
 */
#include "fsicl.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"

void fsicl_source_init(fsicl_source_t *fs, const episode_source_t *test,
                       const store_index_t *train) {
    memset(fs, 0, sizeof *fs);
    fs->test = test;
    fs->train = train;
    const image_store_t *s = test->store;
    fs->dim = store_image_bytes(s);
    fs->classes = micl_malloc((size_t)(test->n_classes + 1) * sizeof(int32_t));
    fs->mean = micl_malloc(((size_t)test->n_classes * fs->dim + 1) * sizeof(float));
    double *acc = micl_malloc((fs->dim + 1) * sizeof(double));
    for (int k = 0; k < test->n_classes; k++) {
        int c = test->classes[k];
        int64_t lo = c < train->n_classes ? train->off[c] : 0;
        int64_t hi = c < train->n_classes ? train->off[c + 1] : 0;
        if (hi == lo) continue; /* no training image: no mean */
        memset(acc, 0, fs->dim * sizeof(double));
        for (int64_t j = lo; j < hi; j++) {
            const uint8_t *px = s->pixels + (size_t)train->idx[j] * fs->dim;
            for (size_t p = 0; p < fs->dim; p++)
                acc[p] += px[p];
        }
        float *m = fs->mean + (size_t)fs->n_classes * fs->dim;
        for (size_t p = 0; p < fs->dim; p++)
            m[p] = (float)(acc[p] / (double)(hi - lo));
        fs->classes[fs->n_classes++] = c;
    }
    free(acc);
    if (fs->n_classes < 2)
        micl_fatal("%s: FS-ICL needs 2 training classes with real names, held-out instances and "
                   "training images; the store has %d",
                   s->source, fs->n_classes);
}

void fsicl_source_free(fsicl_source_t *fs) {
    free(fs->classes);
    free(fs->mean);
    memset(fs, 0, sizeof *fs);
}

int fsicl_negative(const fsicl_source_t *fs, int i) {
    const float *a = fs->mean + (size_t)i * fs->dim;
    int best = -1;
    double best_d = 0;
    for (int k = 0; k < fs->n_classes; k++) {
        if (k == i) continue;
        const float *b = fs->mean + (size_t)k * fs->dim;
        double d = 0;
        for (size_t p = 0; p < fs->dim; p++) {
            double x = (double)a[p] - b[p];
            d += x * x;
        }
        if (best < 0 || d < best_d) best = k, best_d = d;
    }
    return best;
}

/* Class c's images of one split (idx[lo..hi)). */
static int64_t n_images(const store_index_t *ix, int c) {
    return c < ix->n_classes ? ix->off[c + 1] - ix->off[c] : 0;
}

/* An image of class c in ix that is not among used[0..n_used) where the class has another. */
static int64_t draw_image(const store_index_t *ix, int c, rng_t *r, const int64_t *used,
                          int n_used) {
    int64_t lo = ix->off[c], n = ix->off[c + 1] - lo;
    int64_t img = ix->idx[lo + (int64_t)rng_below(r, (uint64_t)n)];
    for (int attempt = 0; attempt < 16 && n > n_used; attempt++) {
        int clash = 0;
        for (int i = 0; i < n_used; i++)
            clash |= used[i] == img;
        if (!clash) break;
        img = ix->idx[lo + (int64_t)rng_below(r, (uint64_t)n)];
    }
    return img;
}

/* A turn: image, the question words, "A <opt 0> B <opt 1>", the letter of option `right`. */
static void add_turn(episode_plan_t *plan, const episode_source_t *src, int64_t image,
                     const int32_t *opts, int right, int shots, int scored) {
    const vocab_t *v = src->vocab;
    if (plan->n_turns >= EPISODE_MAX_ITEMS) micl_fatal("FS-ICL episode too large");
    if (v->n_question + 4 > EPISODE_MAX_QUESTION)
        micl_fatal("an FS-ICL turn needs %d question tokens; at most %d fit", v->n_question + 4,
                   EPISODE_MAX_QUESTION);
    episode_turn_t *t = &plan->turns[plan->n_turns++];
    memset(t, 0, sizeof *t);
    t->n_images = 1;
    t->images[0] = image + src->image_base;
    for (int i = 0; i < v->n_question; i++)
        t->question[t->n_question++] = v->question[i];
    for (int o = 0; o < 2; o++) {
        t->question[t->n_question++] = vocab_need(v->letter[o], "A, B");
        t->question[t->n_question++] = opts[o];
    }
    t->n_answer = 1;
    t->answer[0] = v->letter[right];
    t->shots = (int16_t)shots;
    t->scored = (uint8_t)scored;
}

void fsicl_episode(const fsicl_source_t *fs, rng_t *r, fsicl_order_t order, int shots, int64_t e,
                   int variant, episode_t *ep) {
    const episode_source_t *src = fs->test;
    if (shots < 0 || 2 * shots + 1 > EPISODE_MAX_ITEMS)
        micl_fatal("FS-ICL takes 0 to %d shots, not %d", (EPISODE_MAX_ITEMS - 1) / 2, shots);
    /* the two classes: cls[0] positive, cls[1] its nearest class */
    int pos = (int)rng_below(r, (uint64_t)fs->n_classes);
    int cls[2] = {fs->classes[pos], fs->classes[fsicl_negative(fs, pos)]};
    int32_t names[2] = {src->vocab->real_of_class[cls[0]], src->vocab->real_of_class[cls[1]]};
    /* option order: letter A names class a_class, B the other; variant 1 swaps them */
    int a_class = (int)rng_below(r, 2) ^ (variant & 1);
    int32_t opts[2] = {names[a_class], names[!a_class]};
    /* the demos' classes (0 positive, 1 negative) and the query's */
    int n_demo = 2 * shots, query = 0;
    int32_t demo[EPISODE_MAX_ITEMS];
    for (int i = 0; i < n_demo; i++)
        demo[i] = i % 2;
    if (order == FSICL_RANDOM) {
        rng_shuffle_i32(r, demo, n_demo);
        query = n_demo == 0 ? (int)rng_below(r, 2) : (e % 2 == 0 ? demo[0] : !demo[0]);
    }
    /* images: the query a held-out instance; demos held out where the class has K + 1 */
    int64_t used[2][EPISODE_MAX_ITEMS];
    int n_used[2] = {0, 0};
    const store_index_t *test_ix = src->index;
    int64_t qimg = draw_image(test_ix, cls[query], r, used[query], 0);
    used[query][n_used[query]++] = qimg;
    int from_test[2];
    for (int k = 0; k < 2; k++)
        from_test[k] = n_images(test_ix, cls[k]) >= shots + 1;
    if (!from_test[query]) n_used[query] = 0; /* training images: the query is not among them */
    episode_plan_t *plan = micl_malloc(sizeof *plan);
    plan->n_turns = 0;
    plan->family = FAMILY_MC;
    int seen[2] = {0, 0};
    for (int i = 0; i < n_demo; i++) {
        int k = demo[i];
        const store_index_t *ix = from_test[k] ? test_ix : fs->train;
        int64_t img = draw_image(ix, cls[k], r, used[k], n_used[k]);
        used[k][n_used[k]++] = img;
        add_turn(plan, src, img, opts, k == a_class ? 0 : 1, seen[k]++, 0);
    }
    add_turn(plan, src, qimg, opts, query == a_class ? 0 : 1, seen[query], 1);
    plan->n_candidates = 2;
    plan->candidates[0] = src->vocab->letter[0];
    plan->candidates[1] = src->vocab->letter[1];
    episode_layout(src, plan, ep);
    free(plan);
}
