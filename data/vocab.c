/* vocab.c - building and rebuilding the word-level vocabulary (see vocab.h).
 *
 * The task section is built from one list (task_word_list): number words, then the scene
 * colour, shape and size names of data/scenes.h, then the fixed words below. Building and
 * rebuilding (vocab_from_words) both check it against that list, so a word keeps its id.
 */
#define _POSIX_C_SOURCE 200809L
#include "vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "scenes.h"

static const char *SPECIALS[] = {"<pad>", "<bos>", "<eot>", "<image>", "USER:", "ASSISTANT:"};
enum { N_SPECIALS = 6 };
int vocab_need(int id, const char *word) {
    if (id < 0)
        micl_fatal("the vocabulary has no word '%s' (a model saved before this task family "
                   "existed cannot run it)",
                   word);
    return id;
}

/* Position and relation words, answers, option letters and question words, in id order. New
 * words go at the end only: a saved vocabulary's task section must stay a prefix of this list
 * (vocab_from_words), so older checkpoints keep loading. */
static const char *TASK_FIXED[] = {"left", "middle", "right", "above", "below", "yes",    "no",
                                   "A",    "B",      "C",     "D",     "what",  "colour", "shape",
                                   "size", "where",  "is",    "how",   "many",  "of",     "result",
                                   "same", "plus",   "minus", "times"};
enum {
    N_NUMBER_WORDS = 100,
    N_TASK_FIXED = (int)(sizeof TASK_FIXED / sizeof TASK_FIXED[0]),
    N_TASK = N_NUMBER_WORDS + SCENES_N_COLOURS + SCENES_N_SHAPES + SCENES_N_SIZES + N_TASK_FIXED
};

/* Caches the ids of the task words the glyph families use (-1 without a task section). */
static void resolve_task_words(vocab_t *v) {
    static const char *names[] = {"A", "B", "C", "D", "yes", "no", "same"};
    int *ids[] = {&v->letter[0], &v->letter[1], &v->letter[2], &v->letter[3],
                  &v->yes,       &v->no,        &v->same};
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        *ids[i] = vocab_task_id(v, names[i]);
}

static const char *const *task_word_list(void) {
    static char numbers[N_NUMBER_WORDS][4];
    static const char *list[N_TASK];
    if (list[0]) return list;
    int k = 0;
    for (int i = 0; i < N_NUMBER_WORDS; i++) {
        snprintf(numbers[i], sizeof numbers[i], "%d", i);
        list[k++] = numbers[i];
    }
    for (int i = 0; i < SCENES_N_COLOURS; i++)
        list[k++] = scenes_colour_name(i);
    for (int i = 0; i < SCENES_N_SHAPES; i++)
        list[k++] = scenes_shape_name(i);
    for (int i = 0; i < SCENES_N_SIZES; i++)
        list[k++] = scenes_size_name(i);
    for (int i = 0; i < N_TASK_FIXED; i++)
        list[k++] = TASK_FIXED[i];
    return list;
}

const char *const *vocab_task_words(int *n) {
    *n = N_TASK;
    return task_word_list();
}

int vocab_task_id(const vocab_t *v, const char *word) {
    for (int i = 0; i < v->n_task; i++)
        if (strcmp(v->words[v->first_task + i], word) == 0) return v->first_task + i;
    return -1;
}

int vocab_number_id(const vocab_t *v, int k) {
    return k >= 0 && k < N_NUMBER_WORDS && k < v->n_task ? v->first_task + k : -1;
}

void vocab_fake_name(uint64_t seed, int i, char *buf, int len) {
    static const char *onsets[] = {"b", "d", "f", "g",  "k",  "l",  "m",  "n",  "p",  "r",  "s",
                                   "t", "v", "z", "bl", "dr", "gr", "kr", "pl", "st", "tr", "w"};
    static const char *vowels[] = {"a", "e", "i", "o", "u", "ai", "ee", "oo"};
    static const char *codas[] = {"", "x", "k", "n", "m", "p", "t", "sh", "ck", "r", "l", "g"};
    rng_t r = rng_make(seed, RNG_STREAM_FAKE_NAMES, (uint64_t)i);
    int syllables = 1 + (int)rng_below(&r, 2);
    buf[0] = '\0';
    for (int s = 0; s < syllables; s++) {
        char part[16];
        snprintf(part, sizeof part, "%s%s%s", onsets[rng_below(&r, 22)], vowels[rng_below(&r, 8)],
                 codas[rng_below(&r, 12)]);
        if ((int)(strlen(buf) + strlen(part)) < len) strcat(buf, part);
    }
}

static void push_word(vocab_t *v, int *cap, const char *w) {
    if (v->n == *cap) {
        *cap = *cap ? *cap * 2 : 256;
        v->words = micl_realloc(v->words, (size_t)*cap * sizeof(char *));
    }
    v->words[v->n++] = micl_strdup(w);
}

static void set_specials(vocab_t *v) {
    v->pad = 0;
    v->bos = 1;
    v->eot = 2;
    v->image = 3;
    v->user = 4;
    v->assistant = 5;
}

void vocab_build(vocab_t *v, const image_store_t *store, int n_fake, uint64_t seed,
                 const char *question) {
    memset(v, 0, sizeof *v);
    int cap = 0;
    for (int i = 0; i < N_SPECIALS; i++)
        push_word(v, &cap, SPECIALS[i]);
    set_specials(v);
    const char *const *task = task_word_list();
    v->first_task = v->n;
    for (int i = 0; i < N_TASK; i++)
        push_word(v, &cap, task[i]);
    v->n_task = N_TASK;
    char q[1024];
    snprintf(q, sizeof q, "%s", question ? question : "");
    for (char *save = NULL, *w = strtok_r(q, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
        if (v->n_question == VOCAB_MAX_QUESTION)
            micl_fatal("question has more than %d words", VOCAB_MAX_QUESTION);
        int id = vocab_find(v, w);
        if (id < 0) {
            id = v->n;
            push_word(v, &cap, w);
        }
        v->question[v->n_question++] = id;
    }
    v->first_real = v->n;
    for (int c = 0; c < store->n_classes; c++) {
        if (store->class_split[c] != 0) continue;
        /* A class named like a task word ("0", "red") keeps that word's meaning: it gets no
         * real name, and binding episodes still use its images with fake names. */
        if (vocab_task_id(v, store->class_names[c]) >= 0) continue;
        if (vocab_find(v, store->class_names[c]) >= 0)
            micl_fatal("store class name '%s' is not unique or clashes with a template word",
                       store->class_names[c]);
        push_word(v, &cap, store->class_names[c]);
    }
    v->n_real = v->n - v->first_real;
    v->first_fake = v->n;
    for (int i = 0; v->n - v->first_fake < n_fake; i++) {
        char name[32];
        vocab_fake_name(seed, i, name, sizeof name);
        if (vocab_find(v, name) < 0) push_word(v, &cap, name);
        if (i > 100000) micl_fatal("cannot generate %d distinct fake names", n_fake);
    }
    v->n_fake = n_fake;
    resolve_task_words(v);
    vocab_map_store(v, store);
}

void vocab_from_words(vocab_t *v, char **words, int n, int first_task, int n_task, int n_question,
                      const int32_t *question, int first_real, int n_real, int first_fake,
                      int n_fake) {
    memset(v, 0, sizeof *v);
    if (n < N_SPECIALS || first_real < 0 || n_real < 0 || first_real + n_real > n ||
        first_fake < 0 || n_fake < 0 || first_fake + n_fake > n ||
        n_question > VOCAB_MAX_QUESTION || n_question < 0 || n_task < 0 || n_task > N_TASK ||
        (n_task > 0 && (first_task < N_SPECIALS || first_task + n_task > n)))
        micl_fatal("saved vocabulary is inconsistent (%d words)", n);
    const char *const *task = task_word_list();
    for (int i = 0; i < n_task; i++)
        if (strcmp(words[first_task + i], task[i]) != 0)
            micl_fatal("saved vocabulary: task word %d is '%s', expected '%s'", i,
                       words[first_task + i], task[i]);
    v->n = n;
    v->words = words;
    for (int i = 0; i < N_SPECIALS; i++)
        if (strcmp(words[i], SPECIALS[i]) != 0)
            micl_fatal("saved vocabulary does not start with the special tokens");
    set_specials(v);
    v->first_task = n_task > 0 ? first_task : N_SPECIALS;
    v->n_task = n_task;
    v->n_question = n_question;
    for (int i = 0; i < n_question; i++) {
        int id = question ? question[i] : N_SPECIALS + i;
        if (id < 0 || id >= n) micl_fatal("saved vocabulary: question word id %d out of range", id);
        v->question[i] = id;
    }
    v->first_real = first_real;
    v->n_real = n_real;
    v->first_fake = first_fake;
    v->n_fake = n_fake;
    resolve_task_words(v);
}

void vocab_map_store(vocab_t *v, const image_store_t *store) {
    free(v->real_of_class);
    v->n_store_classes = store->n_classes;
    v->real_of_class = micl_malloc((size_t)store->n_classes * sizeof(int32_t));
    for (int c = 0; c < store->n_classes; c++) {
        int id = vocab_find(v, store->class_names[c]);
        v->real_of_class[c] = (id >= v->first_real && id < v->first_real + v->n_real) ? id : -1;
    }
}

int vocab_find(const vocab_t *v, const char *word) {
    for (int i = 0; i < v->n; i++)
        if (strcmp(v->words[i], word) == 0) return i;
    return -1;
}

void vocab_free(vocab_t *v) {
    for (int i = 0; i < v->n; i++)
        free(v->words[i]);
    free(v->words);
    free(v->real_of_class);
    memset(v, 0, sizeof *v);
}
