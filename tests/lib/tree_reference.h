/* tree_reference.h - the reference of the gradient-tree tests (tests/comm): leaf i's vector,
 * drawn from its own random key with magnitudes over seven decades (so that the order of the
 * additions shows in the bits), and the tree's definition summed recursively on one rank: node
 * [lo, hi) = [lo, mid) + [mid, hi), mid = lo + (hi - lo) / 2. */
#ifndef MICL_TEST_TREE_REFERENCE_H
#define MICL_TEST_TREE_REFERENCE_H

#include <math.h>
#include <stdlib.h>

#include "common/error.h"
#include "common/rng.h"

static void tree_ref_leaf(int i, float *out, int n) {
    rng_t r = rng_make(11, RNG_STREAM_TEST, (uint64_t)i);
    for (int k = 0; k < n; k++)
        out[k] = rng_normal(&r) * powf(10.0f, (float)(k % 7) - 3.0f);
}

static void tree_ref_sum(int lo, int hi, int n, float *out) {
    if (hi - lo == 1) {
        tree_ref_leaf(lo, out, n);
        return;
    }
    int mid = lo + (hi - lo) / 2;
    float *tmp = micl_malloc((size_t)n * sizeof(float));
    tree_ref_sum(lo, mid, n, out);
    tree_ref_sum(mid, hi, n, tmp);
    for (int k = 0; k < n; k++)
        out[k] += tmp[k];
    free(tmp);
}

#endif
