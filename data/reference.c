/* reference.c - the pixel nearest-neighbour and nearest-class-mean readers (see reference.h).
 *
 * Every distance is an exact integer (squared L2 over the image bytes), so a reader's answer
 * does not depend on the machine, the thread count or the order prompts are visited in. The
 * class mean compares sum / count as doubles: both are exact integers well below 2^53, and one
 * IEEE division of them is the same on every machine.
 */
#include "reference.h"

#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"

int reference_family(int family) {
    return family == FAMILY_BINDING || family == FAMILY_MATCHING;
}

/* The last scored turn of ep, or -1. */
static int query_turn(const episode_t *ep) {
    for (int t = ep->n_turns - 1; t >= 0; t--)
        if (ep->answer_scored[t]) return t;
    return -1;
}

/* Turn t's answer tokens (tokens after its answer position). */
static const int32_t *turn_answer(const episode_t *ep, int t) {
    return ep->tokens + ep->answer_pos[t] + 1;
}

static int same_answer(const episode_t *ep, int s, int t) {
    return ep->answer_len[s] == ep->answer_len[t] &&
           memcmp(turn_answer(ep, s), turn_answer(ep, t), ep->answer_len[s] * sizeof(int32_t)) == 0;
}

/* Squared L2 distance of two images of the same size. */
static int64_t sq_dist(const uint8_t *a, const uint8_t *b, size_t n) {
    int64_t d = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t x = (int64_t)a[i] - (int64_t)b[i];
        d += x * x;
    }
    return d;
}

/* The pixels of image k of ep (an index into ep->images) into dst. */
static void episode_pixels(const image_store_t *store, int channels, const episode_t *ep, int k,
                           uint8_t *dst) {
    int64_t row = ep->images[k];
    if (row < 0 || row >= store->n)
        micl_fatal("reference: image %lld is not a row of %s", (long long)row, store->source);
    store_copy_image(store, row, channels, dst);
}

/* What the readers compare, per turn t <= q: binding, feat[t] = the squared distance of demo t's
 * image to the query image (t < q); matching, feat[t] = the squared distance between turn t's
 * two images (feat[q]: the query pair's). Returns 0 if a turn has the wrong number of images
 * for the family. */
static int turn_features(const image_store_t *store, int channels, const episode_t *ep, int q,
                         int64_t *feat) {
    size_t n = (size_t)store->h * (size_t)store->w * (size_t)channels;
    uint8_t *a = micl_malloc(n), *b = micl_malloc(n);
    int ok = 1, matching = ep->family == FAMILY_MATCHING, want = matching ? 2 : 1;
    if (!matching) episode_pixels(store, channels, ep, ep->turn_image[q], b); /* the query */
    for (int t = 0; t <= q && ok; t++) {
        if (ep->turn_n_images[t] != want) {
            ok = 0;
            break;
        }
        if (matching) { /* the pair's own distance */
            episode_pixels(store, channels, ep, ep->turn_image[t], a);
            episode_pixels(store, channels, ep, ep->turn_image[t] + 1, b);
            feat[t] = sq_dist(a, b, n);
        } else if (t < q) { /* the distance to the query image */
            episode_pixels(store, channels, ep, ep->turn_image[t], a);
            feat[t] = sq_dist(a, b, n);
        }
    }
    free(a);
    free(b);
    return ok;
}

/* Pixel 1-NN: the demo turn nearest the query (the first of equal distances). */
static int nearest_demo(const episode_t *ep, int q, const int64_t *feat) {
    int best = 0, matching = ep->family == FAMILY_MATCHING;
    int64_t best_d = 0;
    for (int t = 0; t < q; t++) {
        int64_t d = matching ? llabs(feat[t] - feat[q]) : feat[t];
        if (t == 0 || d < best_d) best = t, best_d = d;
    }
    return best;
}

/* Binding's class mean: the answer whose demos' mean image is nearest the query image, as the
 * first demo turn of that answer. ||x - S/n||^2 is compared as ||n x - S||^2 / n^2 (exact
 * integers, one division). */
static int nearest_image_mean(const image_store_t *store, int channels, const episode_t *ep,
                              int q) {
    size_t n = (size_t)store->h * (size_t)store->w * (size_t)channels;
    uint8_t *x = micl_malloc(n), *d = micl_malloc(n);
    int64_t *sum = micl_malloc(n * sizeof(int64_t));
    episode_pixels(store, channels, ep, ep->turn_image[q], x);
    int best = -1;
    double best_d = 0;
    for (int t = 0; t < q; t++) {
        int first = 1; /* only the first demo of each answer opens its class */
        for (int s = 0; s < t && first; s++)
            first = !same_answer(ep, s, t);
        if (!first) continue;
        memset(sum, 0, n * sizeof(int64_t));
        int64_t count = 0;
        for (int s = t; s < q; s++) {
            if (!same_answer(ep, s, t)) continue;
            episode_pixels(store, channels, ep, ep->turn_image[s], d);
            for (size_t i = 0; i < n; i++)
                sum[i] += d[i];
            count++;
        }
        int64_t acc = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t v = count * (int64_t)x[i] - sum[i];
            acc += v * v;
        }
        double dist = (double)acc / ((double)count * (double)count);
        if (best < 0 || dist < best_d) best = t, best_d = dist;
    }
    free(x), free(d), free(sum);
    return best;
}

/* Matching's class mean: the answer whose demo pairs' mean distance is nearest the query
 * pair's, as the first demo turn of that answer. */
static int nearest_pair_mean(const episode_t *ep, int q, const int64_t *feat) {
    int best = -1;
    double best_d = 0;
    for (int t = 0; t < q; t++) {
        int first = 1;
        for (int s = 0; s < t && first; s++)
            first = !same_answer(ep, s, t);
        if (!first) continue;
        int64_t sum = 0, count = 0;
        for (int s = t; s < q; s++)
            if (same_answer(ep, s, t)) sum += feat[s], count++;
        double dist = (double)sum / (double)count - (double)feat[q];
        dist = dist < 0 ? -dist : dist;
        if (best < 0 || dist < best_d) best = t, best_d = dist;
    }
    return best;
}

int reference_answer(const image_store_t *store, int channels, const episode_t *ep,
                     reference_reader_t reader, int32_t *answer) {
    int q = query_turn(ep);
    if (!reference_family(ep->family) || q < 1) return 0; /* no reader, or no demonstration */
    int64_t *feat = micl_malloc((size_t)(q + 1) * sizeof(int64_t));
    int t = -1;
    if (turn_features(store, channels, ep, q, feat)) {
        if (reader == REFERENCE_PIXEL_NN)
            t = nearest_demo(ep, q, feat);
        else if (ep->family == FAMILY_MATCHING)
            t = nearest_pair_mean(ep, q, feat);
        else
            t = nearest_image_mean(store, channels, ep, q);
    }
    free(feat);
    if (t < 0) return 0;
    int len = ep->answer_len[t];
    if (len < 1 || len > EPISODE_MAX_ANSWER)
        micl_fatal("reference: a demonstration answer has %d tokens (1 to %d)", len,
                   EPISODE_MAX_ANSWER);
    memcpy(answer, turn_answer(ep, t), (size_t)len * sizeof(int32_t));
    return len;
}

int reference_score(const image_store_t *store, int channels, const episode_t *ep) {
    int q = query_turn(ep), bits = 0;
    const int right[REFERENCE_READERS] = {REFERENCE_NN_RIGHT, REFERENCE_MEAN_RIGHT};
    for (int k = 0; k < REFERENCE_READERS; k++) {
        int32_t ans[EPISODE_MAX_ANSWER];
        int len = reference_answer(store, channels, ep, (reference_reader_t)k, ans);
        if (len == 0) return 0;
        bits |= REFERENCE_ANSWERED;
        if (len == ep->answer_len[q] &&
            memcmp(ans, turn_answer(ep, q), (size_t)len * sizeof(int32_t)) == 0)
            bits |= right[k];
    }
    return bits;
}
