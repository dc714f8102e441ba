/* prepare.c - `micl data prepare`: builds the image stores a config needs into data.cache_dir.
 *
 * A store is rebuilt when it is missing, when `force` is set, or when its provenance attribute
 * differs from the provenance the builder would record now (parameters, input files and
 * their sizes, FreeType version, font coverage); otherwise it is reported as cached. The glyph
 * store is always needed; the Fashion-MNIST store is built when data.fashion_mnist_dir is set,
 * the scene store when data.scenes.images > 0 and the operator store when
 * data.operators.images > 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "benchmark.h"
#include "operators.h"
#include "scenes.h"
#include "sources.h"

static void store_path(const config_t *cfg, const char *file, char *buf, int len) {
    if (!cfg->data.cache_dir[0]) micl_fatal("data.cache_dir is empty");
    int n = snprintf(buf, (size_t)len, "%s/%s", cfg->data.cache_dir, file);
    if (n < 0 || n >= len)
        micl_fatal("store path '%s/%s' is longer than %d bytes", cfg->data.cache_dir, file,
                   len - 1);
}

void data_glyph_store_path(const config_t *cfg, char *buf, int len) {
    store_path(cfg, "glyphs.h5", buf, len);
}

void data_fmnist_store_path(const config_t *cfg, char *buf, int len) {
    store_path(cfg, "fashion_mnist.h5", buf, len);
}

void data_scene_store_path(const config_t *cfg, char *buf, int len) {
    store_path(cfg, "scenes.h5", buf, len);
}

void data_operator_store_path(const config_t *cfg, char *buf, int len) {
    store_path(cfg, "operators.h5", buf, len);
}

void data_benchmark_store_path(const config_t *cfg, int store, char *buf, int len) {
    switch (store) {
    case BENCHMARK_STORE_FMNIST:
        data_fmnist_store_path(cfg, buf, len);
        return;
    case BENCHMARK_STORE_SCENES:
        data_scene_store_path(cfg, buf, len);
        return;
    case BENCHMARK_STORE_OPERATORS:
        data_operator_store_path(cfg, buf, len);
        return;
    default:
        data_glyph_store_path(cfg, buf, len);
    }
}

/* mkdir -p */
static void make_dirs(const char *dir) {
    size_t n = strlen(dir);
    char *p = micl_malloc(n + 1);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            micl_fatal("cannot create directory '%s': %s", p, strerror(errno));
        p[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        micl_fatal("'%s' (data.cache_dir) is not a directory", dir);
    free(p);
}

static void report_built(const char *what, const char *path, const image_store_t *s,
                         double seconds) {
    int64_t counts[3] = {0, 0, 0};
    for (int64_t i = 0; i < s->n; i++)
        counts[s->split[i]]++;
    int heldout = 0;
    for (int c = 0; c < s->n_classes; c++)
        heldout += s->class_split[c];
    micl_info("%s: built %s: %lld images of %dx%d (%lld train, %lld test, %lld held-out-class), "
              "%d classes (%d train, %d held-out) in %.2f s",
              what, path, (long long)s->n, s->h, s->w, (long long)counts[0], (long long)counts[1],
              (long long)counts[2], s->n_classes, s->n_classes - heldout, heldout, seconds);
}

/* Returns 1 when the store at path is current (same provenance) and need not be rebuilt. */
static int is_current(const char *what, const char *path, const char *want, int force) {
    if (force) return 0;
    char *have = store_read_provenance(path);
    if (!have) return 0;
    int same = strcmp(have, want) == 0;
    free(have);
    if (same) {
        micl_info("%s: cached %s", what, path);
        return 1;
    }
    micl_info("%s: %s was built from other inputs; rebuilding", what, path);
    return 0;
}

typedef void (*build_fn)(const data_config_t *cfg, image_store_t *out);

/* Builds one store unless the cached one has the provenance `want` (takes want). */
static void prepare_store(const config_t *cfg, const char *what, const char *path, char *want,
                          build_fn build, int force) {
    if (!is_current(what, path, want, force)) {
        double t0 = clock_now_s();
        image_store_t s;
        build(&cfg->data, &s);
        if (strcmp(s.provenance, want) != 0)
            micl_fatal("%s: provenance changed while building (font files modified?)", what);
        store_write(path, &s);
        report_built(what, path, &s, clock_now_s() - t0);
        store_free(&s);
    }
    free(want);
}

void data_prepare(const config_t *cfg, int force) {
    make_dirs(cfg->data.cache_dir);
    char path[CONFIG_PATH_LEN + 32];

    /* All provenances first: a missing input fails before anything is built. */
    char *want = glyphs_provenance(&cfg->data);
    char *want_fm = cfg->data.fashion_mnist_dir[0]
                        ? fashion_mnist_provenance(cfg->data.fashion_mnist_dir)
                        : NULL;
    char *want_sc = cfg->data.scene_images > 0 ? scenes_provenance(&cfg->data) : NULL;
    char *want_op = cfg->data.op_images > 0 ? operators_provenance(&cfg->data) : NULL;

    data_glyph_store_path(cfg, path, (int)sizeof path);
    if (!is_current("glyphs", path, want, force)) {
        double t0 = clock_now_s();
        image_store_t s;
        glyphs_build(&cfg->data, &s);
        if (strcmp(s.provenance, want) != 0)
            micl_fatal("glyphs: provenance changed while building (font files modified?)");
        store_write(path, &s);
        report_built("glyphs", path, &s, clock_now_s() - t0);
        store_free(&s);
    }
    free(want);

    if (want_fm) {
        data_fmnist_store_path(cfg, path, (int)sizeof path);
        if (!is_current("fashion-mnist", path, want_fm, force)) {
            double t0 = clock_now_s();
            image_store_t s;
            fashion_mnist_build(cfg->data.fashion_mnist_dir, &s);
            if (strcmp(s.provenance, want_fm) != 0)
                micl_fatal("fashion-mnist: provenance changed while building (files modified?)");
            store_write(path, &s);
            report_built("fashion-mnist", path, &s, clock_now_s() - t0);
            store_free(&s);
        }
        free(want_fm);
    }
    if (want_sc) {
        data_scene_store_path(cfg, path, (int)sizeof path);
        prepare_store(cfg, "scenes", path, want_sc, scenes_build, force);
    }
    if (want_op) {
        data_operator_store_path(cfg, path, (int)sizeof path);
        prepare_store(cfg, "operators", path, want_op, operators_build, force);
    }
}
