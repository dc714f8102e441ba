/* reference.h - model-free readers of an episode's demonstrations: the floor a few-shot score
 * is compared with.
 *
 * Two readers answer the scored query of an evaluation episode from its demonstrations alone,
 * on the pixels the model sees (store_copy_image to the model's channels), with exact integer
 * distances (squared L2 over the bytes):
 *   REFERENCE_PIXEL_NN    the answer of the nearest demonstration;
 *   REFERENCE_CLASS_MEAN  the answer whose demonstrations' mean is nearest.
 * What "nearest" compares depends on the family:
 *   binding   (one image per turn) the query image against each demonstration image; the mean
 *             of an answer is the mean image of its demonstrations;
 *   matching  (a pair per turn: same class? yes / no) the pair's own distance, d(a, b), against
 *             each demonstration pair's; the mean of an answer is the mean of its pairs'
 *             distances (a threshold read from the demonstrations).
 * Ties go to the demonstration shown first (1-NN) or to the answer shown first (class mean).
 * A reader cannot answer an episode without demonstrations (0 shots) nor one of another family
 * (multiple choice, whose option letters change meaning from turn to turn; scenes; zero-shot
 * classification): it is then not scored, never given a made-up score. An answer is right when
 * its tokens are the query's answer tokens (one token for binding names and yes / no: the
 * model's ranked rule and the exact-match rule agree on it).
 */
#ifndef MICL_REFERENCE_H
#define MICL_REFERENCE_H

#include <stdint.h>

#include "episode.h"
#include "store.h"

typedef enum { REFERENCE_PIXEL_NN = 0, REFERENCE_CLASS_MEAN = 1 } reference_reader_t;
#define REFERENCE_READERS 2

/* Bits of reference_score. */
#define REFERENCE_ANSWERED 1   /* the readers could answer (both always can, or neither) */
#define REFERENCE_NN_RIGHT 2   /* pixel 1-NN's answer is right */
#define REFERENCE_MEAN_RIGHT 4 /* nearest class mean's answer is right */

/* 1 if episodes of `family` (family.h) have readers: binding and matching. */
int reference_family(int family);
/* The answer of `reader` to the last scored turn of ep (images: rows of `store`, compared as
 * `channels` channels), its tokens into answer[0..EPISODE_MAX_ANSWER); returns their number,
 * or 0 when the reader cannot answer (no demonstration, a family without readers). */
int reference_answer(const image_store_t *store, int channels, const episode_t *ep,
                     reference_reader_t reader, int32_t *answer);
/* Both readers on ep: REFERENCE_* bits (0 when they cannot answer). */
int reference_score(const image_store_t *store, int channels, const episode_t *ep);

#endif
