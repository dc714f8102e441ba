/* fmnist.c - the Fashion-MNIST image store, built from the four gzip IDX files of a directory.
 *
 * train-* images become split STORE_SPLIT_TRAIN (0) and t10k-* images STORE_SPLIT_TEST (1);
 * all ten classes are train classes. The provenance string names the files and their sizes so
 * that data_prepare (prepare.c) can tell whether a cached store still matches its sources.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"
#include "sources.h"

#define FMNIST_CLASSES 10

static const char *const k_class_names[FMNIST_CLASSES] = {
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal",  "shirt",   "sneaker",  "bag",   "ankle-boot"};

static const char *const k_files[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                       "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = micl_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *fashion_mnist_provenance(const char *dir) {
    size_t cap = 256 + strlen(dir);
    for (int i = 0; i < 4; i++)
        cap += strlen(k_files[i]) + 48;
    char *out = micl_malloc(cap);
    int len = snprintf(out, cap, "fashion-mnist schema=%d dir=%s files:", STORE_SCHEMA_GRAY, dir);
    for (int i = 0; i < 4; i++) {
        char *p = join(dir, k_files[i]);
        struct stat st;
        if (stat(p, &st) != 0)
            micl_fatal("%s: cannot read Fashion-MNIST file: %s (data.fashion_mnist_dir; Debian "
                       "package dataset-fashion-mnist)",
                       p, strerror(errno));
        len += snprintf(out + len, cap - (size_t)len, " %s (%lld bytes)%s", k_files[i],
                        (long long)st.st_size, i < 3 ? ";" : "");
        free(p);
    }
    snprintf(out + len, cap - (size_t)len, "; split 0 = train, 1 = t10k");
    return out;
}

/* Reads one images+labels pair; checks that they agree. */
static void read_pair(const char *dir, int which, int64_t idims[3], uint8_t **images,
                      uint8_t **labels) {
    char *ip = join(dir, k_files[2 * which]);
    char *lp = join(dir, k_files[2 * which + 1]);
    int64_t ldims[3];
    idx_read_u8(ip, 3, idims, images);
    idx_read_u8(lp, 1, ldims, labels);
    if (ldims[0] != idims[0])
        micl_fatal("%s: %lld labels, but %s has %lld images", lp, (long long)ldims[0], ip,
                   (long long)idims[0]);
    for (int64_t i = 0; i < ldims[0]; i++)
        if ((*labels)[i] >= FMNIST_CLASSES)
            micl_fatal("%s: label %d of item %lld is out of range [0, %d)", lp, (*labels)[i],
                       (long long)i, FMNIST_CLASSES);
    free(ip);
    free(lp);
}

void fashion_mnist_build(const char *dir, image_store_t *out) {
    memset(out, 0, sizeof *out);
    char *prov = fashion_mnist_provenance(dir);
    int64_t d0[3], d1[3];
    uint8_t *im0, *lb0, *im1, *lb1;
    read_pair(dir, 0, d0, &im0, &lb0);
    read_pair(dir, 1, d1, &im1, &lb1);
    if (d0[1] != d1[1] || d0[2] != d1[2])
        micl_fatal("%s: train images are %lld x %lld but t10k images are %lld x %lld", dir,
                   (long long)d0[1], (long long)d0[2], (long long)d1[1], (long long)d1[2]);
    if (d0[1] > 1024 || d0[2] > 1024)
        micl_fatal("%s: images of %lld x %lld pixels are larger than a store allows (1024)", dir,
                   (long long)d0[1], (long long)d0[2]);
    int64_t per = d0[1] * d0[2];
    out->n = d0[0] + d1[0];
    out->h = (int)d0[1];
    out->w = (int)d0[2];
    out->c = 1;
    out->pixels = micl_malloc((size_t)(out->n * per));
    memcpy(out->pixels, im0, (size_t)(d0[0] * per));
    memcpy(out->pixels + d0[0] * per, im1, (size_t)(d1[0] * per));
    out->labels = micl_malloc((size_t)out->n * sizeof *out->labels);
    out->split = micl_malloc((size_t)out->n);
    for (int64_t i = 0; i < out->n; i++) {
        int first = i < d0[0];
        out->labels[i] = first ? lb0[i] : lb1[i - d0[0]];
        out->split[i] = first ? STORE_SPLIT_TRAIN : STORE_SPLIT_TEST;
    }
    free(im0);
    free(lb0);
    free(im1);
    free(lb1);
    out->n_classes = FMNIST_CLASSES;
    out->class_names = micl_malloc(FMNIST_CLASSES * sizeof *out->class_names);
    out->class_split = micl_calloc(FMNIST_CLASSES, 1);
    for (int c = 0; c < FMNIST_CLASSES; c++)
        out->class_names[c] = micl_strdup(k_class_names[c]);
    snprintf(out->source, sizeof out->source, "fashion-mnist");
    out->provenance = prov;
}
