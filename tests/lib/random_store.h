/* random_store.h - a store of random images for the worker tests (evaluation, scoring,
 * sampling): an in-memory image_store_t, no file, no HDF5.
 */
#ifndef MICL_TEST_RANDOM_STORE_H
#define MICL_TEST_RANDOM_STORE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "data/store.h"

/* A store of random images for the worker tests: n_classes classes "class<c>" of per_class
 * single-channel side x side images, pixels drawn from rng_make(seed, RNG_STREAM_TEST, image);
 * the last `heldout` classes are held out, the others all TRAIN. */
static inline void random_store_make(image_store_t *s, int n_classes, int per_class, int heldout,
                                     int side, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->n = (int64_t)n_classes * per_class;
    s->h = s->w = side;
    s->c = 1;
    s->pixels = micl_malloc((size_t)s->n * (size_t)side * (size_t)side);
    s->labels = micl_malloc((size_t)s->n * sizeof(int32_t));
    s->split = micl_malloc((size_t)s->n);
    s->n_classes = n_classes;
    s->class_names = micl_calloc((size_t)n_classes, sizeof(char *));
    s->class_split = micl_calloc((size_t)n_classes, 1);
    for (int c = 0; c < n_classes; c++) {
        char name[16];
        snprintf(name, sizeof name, "class%d", c);
        s->class_names[c] = strdup(name);
        s->class_split[c] = c >= n_classes - heldout;
    }
    for (int64_t i = 0; i < s->n; i++) {
        rng_t r = rng_make(seed, RNG_STREAM_TEST, (uint64_t)i);
        for (int p = 0; p < side * side; p++)
            s->pixels[i * side * side + p] = (uint8_t)rng_below(&r, 256);
        s->labels[i] = (int32_t)(i / per_class);
        s->split[i] = s->class_split[s->labels[i]] ? STORE_SPLIT_HELDOUT_CLASS : STORE_SPLIT_TRAIN;
    }
    snprintf(s->source, sizeof s->source, "synthetic");
}

#endif
