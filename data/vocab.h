/* vocab.h - the word-level vocabulary: template words, task words, real class names, fake names.
 *
 * Layout (ids in this order): special tokens (<pad> <bos> <eot> <image> USER: ASSISTANT:),
 * the task words (a fixed list, the same for every config: number words "0".."99", the scene
 * colour, shape and size names, position and relation words, yes, no, option letters A B C D
 * and the question words of the families, matching's "same" included, then the operator words
 * "plus" "minus" "times" of arithmetic questions, appended last so that the task section of a
 * checkpoint saved before them is still a prefix), the configured question words
 * that are not task words, the real names of the training classes of a store, then a pool of
 * generated nonsense names ("fake names") that mean nothing outside one episode.
 * The word list is saved in every checkpoint, so a model always travels with its vocabulary;
 * checkpoints written before the task section existed load with an empty one.
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
    int first_task, n_task;           /* task words: ids [first_task, first_task + n_task) */
    int first_real, n_real;           /* real names: ids [first_real, first_real + n_real) */
    int first_fake, n_fake;           /* fake names: ids [first_fake, first_fake + n_fake) */
    int32_t *real_of_class;           /* [store classes] -> vocab id, or -1 (not a train class) */
    int n_store_classes;
} vocab_t;

/* Builds the vocabulary from the training classes of `store`, `n_fake` generated names and
 * the space-separated `question` words. A training class whose name is a task word ("7",
 * "red") gets no real name (real_of_class -1); a name equal to a question word is an error. */
void vocab_build(vocab_t *v, const image_store_t *store, int n_fake, uint64_t seed,
                 const char *question);
/* Rebuilds a vocabulary from a saved word list plus its section boundaries (v takes words).
 * question: the n_question ids of the question words, or NULL for the layout without a task
 * section (question words at ids 6 ..). The task section must be a prefix of vocab_task_words. */
void vocab_from_words(vocab_t *v, char **words, int n, int first_task, int n_task, int n_question,
                      const int32_t *question, int first_real, int n_real, int first_fake,
                      int n_fake);
/* The task words in section order; *n receives their number. */
const char *const *vocab_task_words(int *n);
/* The id of task word `word` ("red", "7", "yes"), or -1 if v has no such task word (a
 * vocabulary from a checkpoint older than the task section). */
int vocab_task_id(const vocab_t *v, const char *word);
/* The id of the number word of k (0 <= k <= 99), or -1. */
int vocab_number_id(const vocab_t *v, int k);
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
