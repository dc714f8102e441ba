/* vocab.h - the word-level vocabulary: template words, real class names, fake names.
 *
 * Layout (ids in this order): special tokens (<pad> <bos> <eot> <image> USER: ASSISTANT:),
 * question words, task words (option letters, yes/no, ...), the real names of the training classes
 * of a store, then a pool of generated nonsense names ("fake names") that mean nothing outside one
 * episode. The word list is saved in every checkpoint, so a model always travels with its
 * vocabulary.
 */
#ifndef MICL_VOCAB_H
#define MICL_VOCAB_H

#include <stdint.h>

#include "store.h"

#define VOCAB_MAX_QUESTION 16

typedef struct {
    int n;
    char **words;
    int pad, bos, eot, image, user, assistant;
    /* Task words (-1 when a saved vocabulary predates them): option letters A B C D, yes, no,
     * and the question word of matching turns. */
    int letter[4], yes, no, same;
    int n_question;
    int question[VOCAB_MAX_QUESTION]; /* ids of the question words of a turn */
    int first_real, n_real;           /* real names: ids [first_real, first_real + n_real) */
    int first_fake, n_fake;           /* fake names: ids [first_fake, first_fake + n_fake) */
    int32_t *real_of_class;           /* [store classes] -> vocab id, or -1 (not a train class) */
    int n_store_classes;
} vocab_t;

/* Builds the vocabulary from the training classes of `store`, `n_fake` generated names and
 * the space-separated `question` words. */
void vocab_build(vocab_t *v, const image_store_t *store, int n_fake, uint64_t seed,
                 const char *question);
/* Rebuilds a vocabulary from a saved word list plus its section boundaries. */
void vocab_from_words(vocab_t *v, char **words, int n, int n_question, int first_real, int n_real,
                      int first_fake, int n_fake);
/* Maps the classes of `store` to real-name ids by name (classes absent from v map to -1). */
void vocab_map_store(vocab_t *v, const image_store_t *store);
int vocab_find(const vocab_t *v, const char *word);
/* The id of a task word the caller needs (id >= 0), or a fatal error saying the vocabulary
 * (e.g. of an old checkpoint) lacks it. */
int vocab_need(int id, const char *word);
void vocab_free(vocab_t *v);

/* Writes the i-th generated fake name (pronounceable, 3-8 letters) for a seed into buf. */
void vocab_fake_name(uint64_t seed, int i, char *buf, int len);

#endif
