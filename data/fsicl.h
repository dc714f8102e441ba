/* fsicl.h - the paper's FS-ICL episodes (benchmarks fsicl and fsicl_random, docs/BENCHMARKS.md).
 *
 * As the authors' evaluation code builds it (PAPER.md, "Their evaluation"): 2-way multiple
 * choice over two training classes, named by their REAL names; every turn lists the same two
 * options `A name B name` in the same order and is answered by a letter; the images are
 * held-out instances (the glyph store's test split, as in zero-shot retention). The positive
 * class is drawn uniformly; the negative is the class whose class-mean image (the mean of its
 * training images) is nearest in L2 to the positive's - model-free, a hard distractor, as the
 * paper's fine-grained pairs are. Shots K = demos per class.
 *
 *   FSICL_PAPER   demos positive, negative, positive, negative, ...; the query is of the
 *                 positive class, so "copy the first answer" scores 1.0 (the paper's shortcut).
 *   FSICL_RANDOM  the 2K demos in a random order; the query's class is balanced against the
 *                 first demo's: episode e even -> the first demo's class, e odd -> the other
 *                 (0 shots: drawn), so copying the first demo's letter scores exactly 0.5 over
 *                 an even number of episodes.
 *
 * Variant 1 is variant 0 with the options of every turn reversed (the letters swap in every
 * turn, answers included), so a constant letter scores exactly 0.5 over both variants.
 * Images: the query is always a held-out instance; a class with fewer than K + 1 held-out
 * instances takes its K demos from its training images (distinct where it has enough), one
 * with enough takes them from its held-out instances other than the query.
 */
#ifndef MICL_FSICL_H
#define MICL_FSICL_H

#include <stddef.h>
#include <stdint.h>

#include "episode.h"

typedef enum { FSICL_PAPER = 0, FSICL_RANDOM = 1 } fsicl_order_t;

/* The classes an FS-ICL episode may use and their means, computed once per source. */
typedef struct {
    const episode_source_t *test; /* held-out instances, real names */
    const store_index_t *train;   /* training images by class */
    int32_t *classes;             /* classes of `test` with a training image too */
    int n_classes;
    float *mean; /* [n_classes x image bytes]: mean training image of classes[i] */
    size_t dim;
} fsicl_source_t;

/* Caches the class means of test's classes over their images in train. */
void fsicl_source_init(fsicl_source_t *fs, const episode_source_t *test,
                       const store_index_t *train);
void fsicl_source_free(fsicl_source_t *fs);
/* The index (into fs->classes) of the class whose mean is nearest in L2 to class i's, other
 * than i (ties: the lowest index). */
int fsicl_negative(const fsicl_source_t *fs, int i);
/* Episode e of a `shots`-shot cell, its option variant (0 or 1), from the cell's rng. */
void fsicl_episode(const fsicl_source_t *fs, rng_t *r, fsicl_order_t order, int shots, int64_t e,
                   int variant, episode_t *ep);

#endif
