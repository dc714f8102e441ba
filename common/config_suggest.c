/* config_suggest.c - "did you mean" for unknown config keys.
 *
 * Given a key the schema does not know, finds the closest valid name: at the same level of the
 * table (edit distance scaled by length, the same '_'-separated words in another order, or one
 * a word-prefix of the other: lr_max ~ lr), or, for the top level, a full path elsewhere in
 * the table with the same last component (lr -> train.lr). The loader (config_load.c) turns
 * the answer into its message; nothing here fails or prints.
 */
#define _POSIX_C_SOURCE 200809L
#include "config_internal.h"

#include <stdio.h>
#include <string.h>

static int levenshtein(const char *a, const char *b) {
    enum { MAXL = 128 };
    int la = (int)strnlen(a, MAXL - 1), lb = (int)strnlen(b, MAXL - 1);
    int row[MAXL];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* True if `a` starts with `b` followed by '_' (or the reverse): lr_max ~ lr. */
static int word_prefix(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb) return word_prefix(b, a);
    return lb >= 2 && strncmp(a, b, lb) == 0 && a[lb] == '_';
}

/* True if `w` (length n) is one of the '_'-separated words of `s`. */
static int has_word(const char *s, const char *w, size_t n) {
    /* An empty word (from "a__b") matches nowhere; strstr would find it at every position,
     * including the terminator, and the loop would run past the end of s. */
    if (n == 0) return 0;
    for (const char *p = s; (p = strstr(p, w)) != NULL; p++) {
        int starts = p == s || p[-1] == '_';
        int ends = p[n] == '\0' || p[n] == '_';
        if (starts && ends) return 1;
    }
    return 0;
}

/* True if `a` and `b` are the same '_'-separated words in another order: lr_min ~ min_lr. */
static int same_words(const char *a, const char *b) {
    if (strlen(a) != strlen(b) || !strchr(a, '_')) return 0;
    for (const char *p = a; *p;) {
        size_t n = strcspn(p, "_");
        char w[CONFIG_KEY_LEN];
        snprintf(w, sizeof w, "%.*s", (int)(n < CONFIG_KEY_LEN ? n : CONFIG_KEY_LEN - 1), p);
        if (!has_word(b, w, strlen(w))) return 0;
        p += n + (p[n] == '_');
    }
    return 1;
}

/* Distance used for suggestions, or -1 if the two names are not close. */
static int name_distance(const char *typed, const char *valid) {
    int d = levenshtein(typed, valid);
    int len = (int)strlen(typed);
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (d <= limit) return d;
    if (same_words(typed, valid)) return 1;
    if (word_prefix(typed, valid)) return limit + 1;
    return -1;
}

/* True if `path` lies under the table path prefix `level` ("" or e.g. "data."). */
static int at_level(const char *path, const char *level) {
    size_t n = strlen(level);
    return strncmp(path, level, n) == 0;
}

/* The name that follows `level` in `path`, up to the next dot, copied into out. */
static void child_name(const char *path, const char *level, char *out, size_t size) {
    const char *s = path + strlen(level);
    size_t n = strcspn(s, ".");
    if (n >= size) n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Best valid name at `level` for the unknown `typed`, or "" if nothing is close. */
void config_suggest(const config_table_t *t, const char *level, const char *typed, char *out,
                    size_t size) {
    int best = -1;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        if (!at_level(t->keys[i].path, level)) continue;
        char cand[CONFIG_NAME_LEN];
        child_name(t->keys[i].path, level, cand, sizeof cand);
        int d = name_distance(typed, cand);
        if (d >= 0 && (best < 0 || d < best)) {
            best = d;
            snprintf(out, size, "%s", cand);
        }
    }
}

/* A valid full path elsewhere in the table that ends in `typed` or is close to `full`. */
void config_suggest_anywhere(const config_table_t *t, const char *typed, const char *full,
                             char *out, size_t size) {
    int best = -1;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        const char *p = t->keys[i].path;
        int d = strcmp(config_last_component(p), typed) == 0 ? 0 : name_distance(full, p);
        if (d >= 0 && (best < 0 || d < best)) {
            best = d;
            snprintf(out, size, "%s", p);
        }
    }
}
