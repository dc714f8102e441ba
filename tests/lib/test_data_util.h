/* test_data_util.h - helpers shared by the data tests (tests/data/test_data_*.c): checks, scratch
 * directories under the test's working directory, small synthetic stores, and expect_fail(),
 * which runs a failing call in a forked child and checks its exit status, its message on
 * stderr and that it left no output files behind.
 */
#ifndef MICL_TEST_DATA_UTIL_H
#define MICL_TEST_DATA_UTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "data/store.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static inline char *tdu_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    CHECK(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static inline int tdu_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh directory "<prefix>_XXXXXX" in the working directory. */
static inline char *tdu_tmpdir(const char *prefix) {
    char *t = malloc(strlen(prefix) + 8);
    CHECK(t);
    sprintf(t, "%s_XXXXXX", prefix);
    CHECK(mkdtemp(t) != NULL);
    return t;
}

static inline int tdu_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static inline void tdu_rm_rf(const char *dir) {
    nftw(dir, tdu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void tdu_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(data, 1, n, f) == n);
    CHECK(fclose(f) == 0);
}

/* A valid store: n_classes classes of per_class images of h x w; the last class is held out.
 * Pixel j of image i is (i * 7 + j) & 255; the first per_class/2 images of train classes
 * are split TRAIN, the rest TEST. */
static inline void tdu_make_store(image_store_t *s, int n_classes, int per_class, int h, int w) {
    static const char *names[] = {"t-shirt",      "\xe6\xb0\xb8", "bag", "ankle-boot",
                                  "\xe9\xaa\xa8", "c5",           "c6",  "c7"};
    CHECK(n_classes <= 8);
    memset(s, 0, sizeof *s);
    s->n = (int64_t)n_classes * per_class;
    s->h = h;
    s->w = w;
    s->c = 1;
    s->pixels = malloc((size_t)(s->n * h * w));
    s->labels = malloc((size_t)s->n * sizeof *s->labels);
    s->split = malloc((size_t)s->n);
    s->n_classes = n_classes;
    s->class_names = malloc((size_t)n_classes * sizeof *s->class_names);
    s->class_split = malloc((size_t)n_classes);
    CHECK(s->pixels && s->labels && s->split && s->class_names && s->class_split);
    for (int64_t i = 0; i < s->n * h * w; i++) {
        int64_t img = i / (h * w), j = i % (h * w);
        s->pixels[i] = (uint8_t)((img * 7 + j) & 255);
    }
    for (int c = 0; c < n_classes; c++) {
        s->class_names[c] = strdup(names[c]);
        s->class_split[c] = c == n_classes - 1;
        for (int k = 0; k < per_class; k++) {
            int64_t i = (int64_t)c * per_class + k;
            s->labels[i] = c;
            s->split[i] = s->class_split[c]   ? STORE_SPLIT_HELDOUT_CLASS
                          : k < per_class / 2 ? STORE_SPLIT_TRAIN
                                              : STORE_SPLIT_TEST;
        }
    }
    snprintf(s->source, sizeof s->source, "test");
    s->provenance = strdup("test store: made by tdu_make_store");
}

typedef void (*tdu_fail_fn)(const char *dir, void *arg);

/* Runs fn(dir, arg) in a child with stderr captured; checks that it exits non-zero, that its
 * stderr contains `expect`, and that none of the NULL-terminated `absent` paths exist after. */
static inline void tdu_expect_fail(const char *name, const char *dir, tdu_fail_fn fn, void *arg,
                                   const char *expect, const char *const *absent) {
    char *errpath = tdu_path(dir, "stderr.txt");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        FILE *f = freopen(errpath, "w", stderr);
        if (!f) _exit(99);
        fn(dir, arg);
        fprintf(stderr, "call returned normally\n");
        fflush(stderr);
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    FILE *f = fopen(errpath, "r");
    CHECK(f);
    char msg[4096];
    size_t n = fread(msg, 1, sizeof msg - 1, f);
    msg[n] = '\0';
    fclose(f);
    unlink(errpath);
    int ok = WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 99 &&
             strstr(msg, expect) != NULL;
    for (int i = 0; absent && absent[i]; i++) {
        if (tdu_exists(absent[i])) {
            fprintf(stderr, "%s: file '%s' was left behind\n", name, absent[i]);
            ok = 0;
        }
    }
    printf("%-28s %s | %s", name, ok ? "ok  " : "FAIL", msg[0] ? msg : "(no message)\n");
    if (!ok) {
        fprintf(stderr,
                "%s: expected a non-zero exit and a message containing '%s'; got status "
                "0x%x, message: %s\n",
                name, expect, (unsigned)status, msg);
        exit(1);
    }
    free(errpath);
}

#endif
