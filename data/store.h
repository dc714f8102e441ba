/* store.h - HDF5 image stores: uint8 images with int32 labels, class names and splits.
 *
 * Schema (docs/DATA.md): /images uint8 [n, h, w] (gray, schema 3) or [n, h, w, c] with c = 1
 * or 3 (schema 4; RGB interleaved); /labels int32 [n]; /split uint8 [n] (STORE_SPLIT_*);
 * /class_names variable-length UTF-8 strings [n_classes]; /class_split uint8 [n_classes]
 * (0 = train class, 1 = held-out class); optional per-image metadata (schema 2): /n_objects
 * int16 [n] with /objects int16 [n, max_objects, STORE_OBJECT_FIELDS] (rendered scenes), and
 * /operands int16 [n, 2] (operator images); root attributes schema_version (int), source
 * (string), provenance (string), strings_crc32 (h5util.h). Files are written to "<path>.tmp"
 * and renamed, in the HDF5 1.10 format; every dataset is chunked with a Fletcher32 checksum.
 * A store that is gray and has no metadata is written with schema 3 (the 3-D layout). Schemas
 * 1 and 2 (the same layouts before checksums) are refused: `micl data prepare` rebuilds them.
 * Reading validates everything (shapes, types, label range, sizes) and fails with a message
 * naming the file and the dataset.
 */
#ifndef MICL_STORE_H
#define MICL_STORE_H

#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 4 /* newest schema this micl reads and writes */
#define STORE_SCHEMA_GRAY 3    /* schema of a gray store without metadata (3-D images) */
#define STORE_MAX_OBJECTS 16

/* Fields of one object record in /objects (-1 in every field: no object in that slot). */
enum {
    STORE_OBJ_SHAPE = 0, /* index into the scene shape list (data/scenes.h) */
    STORE_OBJ_COLOUR,    /* index into the scene colour list */
    STORE_OBJ_SIZE,      /* 0 small, 1 large */
    STORE_OBJ_X,         /* centre column in pixels */
    STORE_OBJ_Y,         /* centre row in pixels */
    STORE_OBJECT_FIELDS
};

enum {
    STORE_SPLIT_TRAIN = 0,        /* training image of a training class */
    STORE_SPLIT_TEST = 1,         /* held-out instance of a training class (zero-shot eval) */
    STORE_SPLIT_HELDOUT_CLASS = 2 /* image of a held-out class (ICL eval) */
};

typedef struct {
    int64_t n; /* images */
    int h, w;
    int c;           /* channels: 1 (gray) or 3 (RGB) */
    uint8_t *pixels; /* [n*h*w*c], row-major, channels interleaved */
    int32_t *labels; /* [n], in [0, n_classes) */
    uint8_t *split;  /* [n], STORE_SPLIT_* */
    int n_classes;
    char **class_names;   /* [n_classes], UTF-8, unique, no spaces */
    uint8_t *class_split; /* [n_classes], 0 train, 1 held-out */
    char source[64];      /* "glyphs", "fashion-mnist", ... */
    char *provenance;     /* free text: how it was made (fonts, seed, files) */
    /* Optional metadata (NULL / 0 when absent): */
    int max_objects;    /* object slots per image (1 .. STORE_MAX_OBJECTS) */
    int16_t *n_objects; /* [n], 0 .. max_objects */
    int16_t *objects;   /* [n * max_objects * STORE_OBJECT_FIELDS] */
    int16_t *operands;  /* [n * 2]: the two numbers shown in an operator image */
} image_store_t;

/* Bytes of one image (h * w * c). */
size_t store_image_bytes(const image_store_t *s);
/* Copies image `row` to dst as `channels` channels (h * w * channels bytes): a gray image is
 * repeated into R, G and B for an RGB model; an RGB image for a gray model is a fatal error. */
void store_copy_image(const image_store_t *s, int64_t row, int channels, uint8_t *dst);
/* The object records of image i (n_objects of them, STORE_OBJECT_FIELDS int16 each) copied to
 * out (room for max_objects records); returns their number, or -1 if the store has none. */
int store_objects(const image_store_t *s, int64_t i, int16_t *out);

/* The split an evaluation draws from: held-out classes if the store has them, else its test
 * images, else everything (a store imported without splits). */
int store_eval_split(const image_store_t *s);

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
