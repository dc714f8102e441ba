/* store.h - HDF5 image stores: uint8 images with int32 labels, class names and splits.
 *
 * Schema (docs/DATA.md): /images uint8 [n, h, w]; /labels int32 [n]; /split uint8 [n]
 * (STORE_SPLIT_*); /class_names variable-length UTF-8 strings [n_classes]; /class_split uint8
 * [n_classes] (0 = train class, 1 = held-out class); root attributes schema_version (int),
 * source (string), provenance (string). Files are written to "<path>.tmp" and renamed.
 * Reading validates everything (shapes, types, label range, sizes) and fails with a message
 * naming the file and the dataset.
 */
#ifndef MICL_STORE_H
#define MICL_STORE_H

#include <stdint.h>

#define STORE_SCHEMA_VERSION 1

enum {
    STORE_SPLIT_TRAIN = 0,        /* training image of a training class */
    STORE_SPLIT_TEST = 1,         /* held-out instance of a training class (zero-shot eval) */
    STORE_SPLIT_HELDOUT_CLASS = 2 /* image of a held-out class (ICL eval) */
};

typedef struct {
    int64_t n; /* images */
    int h, w;
    uint8_t *pixels; /* [n*h*w], row-major */
    int32_t *labels; /* [n], in [0, n_classes) */
    uint8_t *split;  /* [n], STORE_SPLIT_* */
    int n_classes;
    char **class_names;   /* [n_classes], UTF-8, unique, no spaces */
    uint8_t *class_split; /* [n_classes], 0 train, 1 held-out */
    char source[64];      /* "glyphs", "fashion-mnist", ... */
    char *provenance;     /* free text: how it was made (fonts, seed, files) */
} image_store_t;

void store_write(const char *path, const image_store_t *s);
void store_read(const char *path, image_store_t *s);
void store_free(image_store_t *s);
/* 1 if s is well-formed UTF-8 (class names must be). */
int store_valid_utf8(const char *s);
/* The provenance attribute of the store at path as a new string (free it), or NULL when the
 * file is missing, not HDF5 or has no readable provenance. Used to decide whether a cached
 * store is current; never fails. */
char *store_read_provenance(const char *path);

/* Indices of images with the given split, grouped by class: for class c, the images are
 * idx[off[c] .. off[c+1]). Arrays are allocated; free with store_index_free. */
typedef struct {
    int n_classes;
    int64_t *off; /* [n_classes+1] */
    int64_t *idx;
} store_index_t;
void store_index_build(const image_store_t *s, int split, store_index_t *ix);
void store_index_free(store_index_t *ix);

#endif
