/* vocab.c - building and rebuilding the word-level vocabulary (see vocab.h). */
#define _POSIX_C_SOURCE 200809L
#include "vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../common/rng.h"

static const char *SPECIALS[] = {"<pad>", "<bos>", "<eot>", "<image>", "USER:", "ASSISTANT:"};
enum { N_SPECIALS = 6 };
/* Words the task families answer or ask with (option letters, yes/no, matching's question). */
static const char *TASK_WORDS[] = {"A", "B", "C", "D", "yes", "no", "same"};
enum { N_TASK_WORDS = 7 };

/* Looks the task words up by name (saved vocabularies may lack them: -1). */
static void resolve_task_words(vocab_t *v) {
    int *ids[N_TASK_WORDS] = {&v->letter[0], &v->letter[1], &v->letter[2], &v->letter[3],
                              &v->yes,       &v->no,        &v->same};
    for (int i = 0; i < N_TASK_WORDS; i++)
        *ids[i] = vocab_find(v, TASK_WORDS[i]);
}

int vocab_need(int id, const char *word) {

    if (id < 0)
        micl_fatal("the vocabulary has no word '%s' (a model saved before this task family "
                   "existed cannot run it)",
                   word);
    return id;
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
    for (int i = 0; i < N_TASK_WORDS; i++)
        if (vocab_find(v, TASK_WORDS[i]) < 0) push_word(v, &cap, TASK_WORDS[i]);
    v->first_real = v->n;
    for (int c = 0; c < store->n_classes; c++) {
        if (store->class_split[c] != 0) continue;
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

void vocab_from_words(vocab_t *v, char **words, int n, int n_question, int first_real, int n_real,
                      int first_fake, int n_fake) {
    memset(v, 0, sizeof *v);
    if (n < N_SPECIALS || first_real + n_real > n || first_fake + n_fake > n ||
        n_question > VOCAB_MAX_QUESTION || n_question < 0)
        micl_fatal("saved vocabulary is inconsistent (%d words)", n);
    v->n = n;
    v->words = words;
    for (int i = 0; i < N_SPECIALS; i++)
        if (strcmp(words[i], SPECIALS[i]) != 0)
            micl_fatal("saved vocabulary does not start with the special tokens");
    set_specials(v);
    v->n_question = n_question;
    for (int i = 0; i < n_question; i++)
        v->question[i] = N_SPECIALS + i;
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
