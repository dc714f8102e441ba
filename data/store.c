/* store.c - HDF5 image stores: writing, validated reading and per-class indices.
 *
 * Owns the on-disk schema described in store.h and docs/DATA.md. Writers go through
 * common/atomic_file.h ("<path>.tmp", synced and renamed at the end), so a store either exists
 * complete or not at all. Readers check every dataset's presence, type,
 * rank and shape, the label and split ranges and the class names before handing the store on;
 * every message names the file and the dataset. HDF5's own error printing is switched off and
 * each call is checked here instead. Gray stores without metadata keep the schema-1 layout
 * ([n, h, w] images), so older readers and cached stores stay valid; colour images and the
 * per-image metadata datasets make a schema-2 file.
 */
#define _POSIX_C_SOURCE 200809L
#include "store.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/h5check.h"
#include "common/h5util.h"

#define STORE_MAX_IMAGES (INT64_C(1) << 31)
#define STORE_MAX_SIDE 1024
#define STORE_MAX_CLASSES (1 << 24)
#define STORE_MAX_PIXELS (INT64_C(1) << 38)
#define STORE_MAX_NAME 256
#define STORE_CHUNK_IMAGES 1024

static void quiet_hdf5(void) {
    if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0)
        micl_fatal("cannot switch off the HDF5 error printer");
}

/* ---------------------------------------------------------------- validation (both ways) */

int store_valid_utf8(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int extra;
        if (*p < 0x80)
            extra = 0;
        else if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
            extra = 1;
        else if ((*p & 0xF0) == 0xE0)
            extra = 2;
        else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
            extra = 3;
        else
            return 0;
        p++;
        for (int i = 0; i < extra; i++, p++)
            if ((*p & 0xC0) != 0x80) return 0;
    }
    return 1;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One object record: all fields -1 (empty slot) or a shape, colour, size and a centre inside
 * the image. */
static void validate_object(const char *what, const image_store_t *s, int64_t i, int k,
                            const int16_t *o, int present) {
    if (!present) {
        for (int f = 0; f < STORE_OBJECT_FIELDS; f++)
            if (o[f] != -1)
                micl_fatal("%s: dataset /objects: image %lld slot %d is past /n_objects but "
                           "not empty (-1)",
                           what, (long long)i, k);
        return;
    }
    if (o[STORE_OBJ_SHAPE] < 0 || o[STORE_OBJ_COLOUR] < 0 || o[STORE_OBJ_SIZE] < 0 ||
        o[STORE_OBJ_SIZE] > 1 || o[STORE_OBJ_X] < 0 || o[STORE_OBJ_X] >= s->w ||
        o[STORE_OBJ_Y] < 0 || o[STORE_OBJ_Y] >= s->h)
        micl_fatal("%s: dataset /objects: image %lld object %d is (%d, %d, %d, %d, %d), expected "
                   "shape >= 0, colour >= 0, size 0 or 1 and a centre inside the %d x %d image",
                   what, (long long)i, k, o[0], o[1], o[2], o[3], o[4], s->w, s->h);
}

static void validate_objects(const char *what, const image_store_t *s) {
    if (!s->n_objects && !s->objects) return;
    if (!s->n_objects || !s->objects)
        micl_fatal("%s: datasets /n_objects and /objects must be present together", what);
    if (s->max_objects < 1 || s->max_objects > STORE_MAX_OBJECTS)
        micl_fatal("%s: dataset /objects has %d slots per image, expected 1 .. %d", what,
                   s->max_objects, STORE_MAX_OBJECTS);
    for (int64_t i = 0; i < s->n; i++) {
        int no = s->n_objects[i];
        if (no < 0 || no > s->max_objects)
            micl_fatal("%s: dataset /n_objects: image %lld has %d objects, expected 0 .. %d", what,
                       (long long)i, no, s->max_objects);
        for (int k = 0; k < s->max_objects; k++)
            validate_object(what, s, i, k,
                            s->objects + ((size_t)i * s->max_objects + k) * STORE_OBJECT_FIELDS,
                            k < no);
    }
}

static void validate_operands(const char *what, const image_store_t *s) {
    if (!s->operands) return;
    for (int64_t i = 0; i < 2 * s->n; i++)
        if (s->operands[i] < 0)
            micl_fatal("%s: dataset /operands: image %lld has a negative operand %d", what,
                       (long long)(i / 2), s->operands[i]);
}

/* Checks the in-memory store; `what` is the file name used in messages. */
static void validate_store(const char *what, const image_store_t *s) {
    if (s->n < 1 || s->n > STORE_MAX_IMAGES)
        micl_fatal("%s: dataset /images has %lld images, expected 1 .. %lld", what, (long long)s->n,
                   (long long)STORE_MAX_IMAGES);
    if (s->h < 1 || s->h > STORE_MAX_SIDE || s->w < 1 || s->w > STORE_MAX_SIDE)
        micl_fatal("%s: dataset /images has images of %d x %d pixels, expected sides 1 .. %d", what,
                   s->h, s->w, STORE_MAX_SIDE);
    if (s->c != 1 && s->c != 3)
        micl_fatal("%s: dataset /images has %d channels, expected 1 (gray) or 3 (RGB)", what, s->c);
    if (s->n * s->h * s->w * s->c > STORE_MAX_PIXELS)
        micl_fatal("%s: dataset /images has %lld samples, more than the limit %lld", what,
                   (long long)(s->n * s->h * s->w * s->c), (long long)STORE_MAX_PIXELS);
    if (s->n_classes < 1 || s->n_classes > STORE_MAX_CLASSES)
        micl_fatal("%s: dataset /class_names has %d classes, expected 1 .. %d", what, s->n_classes,
                   STORE_MAX_CLASSES);
    for (int c = 0; c < s->n_classes; c++) {
        const char *nm = s->class_names[c];
        if (!nm || !nm[0])
            micl_fatal("%s: dataset /class_names: class %d has an empty name", what, c);
        if (strlen(nm) > STORE_MAX_NAME)
            micl_fatal("%s: dataset /class_names: class %d has a name longer than %d bytes", what,
                       c, STORE_MAX_NAME);
        if (!store_valid_utf8(nm))
            micl_fatal("%s: dataset /class_names: class %d has a name that is not valid UTF-8",
                       what, c);
        for (const char *p = nm; *p; p++)
            if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                micl_fatal("%s: dataset /class_names: class %d name '%s' contains white space",
                           what, c, nm);
        if (s->class_split[c] > 1)
            micl_fatal("%s: dataset /class_split: class %d has value %u, expected 0 (train) or 1 "
                       "(held-out)",
                       what, c, (unsigned)s->class_split[c]);
    }
    char **sorted = micl_malloc((size_t)s->n_classes * sizeof *sorted);
    memcpy(sorted, s->class_names, (size_t)s->n_classes * sizeof *sorted);
    qsort(sorted, (size_t)s->n_classes, sizeof *sorted, cmp_str_ptr);
    for (int c = 1; c < s->n_classes; c++)
        if (strcmp(sorted[c - 1], sorted[c]) == 0)
            micl_fatal("%s: dataset /class_names: name '%s' occurs more than once", what,
                       sorted[c]);
    free(sorted);
    for (int64_t i = 0; i < s->n; i++) {
        int32_t l = s->labels[i];
        if (l < 0 || l >= s->n_classes)
            micl_fatal("%s: dataset /labels: label %d of image %lld is out of range [0, %d)", what,
                       (int)l, (long long)i, s->n_classes);
        uint8_t sp = s->split[i];
        if (sp > STORE_SPLIT_HELDOUT_CLASS)
            micl_fatal("%s: dataset /split: image %lld has split %u, expected 0 .. 2", what,
                       (long long)i, (unsigned)sp);
        int heldout_class = s->class_split[l] == 1;
        if (heldout_class != (sp == STORE_SPLIT_HELDOUT_CLASS))
            micl_fatal("%s: dataset /split: image %lld has split %u but its class %d is a %s class",
                       what, (long long)i, (unsigned)sp, (int)l,
                       heldout_class ? "held-out" : "train");
    }
    if (strlen(s->source) == 0 || strlen(s->source) >= sizeof s->source)
        micl_fatal("%s: attribute source is empty or longer than %zu bytes", what,
                   sizeof s->source - 1);
    if (!s->provenance) micl_fatal("%s: attribute provenance is missing", what);
    validate_objects(what, s);
    validate_operands(what, s);
}

/* ---------------------------------------------------------------------------- writing */

static hid_t vlen_utf8_type(const char *path) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)
        micl_fatal("%s: cannot create the HDF5 string type", path);
    return t;
}

/* Fails naming the file and dataset, with errno's words when libhdf5 left errno set (a full
 * disk, an I/O error: its sec2 driver passes on the errno of pwrite). */
static void write_failed(const char *path, const char *what, const char *name) {
    int e = errno;
    micl_fatal("%s: cannot %s dataset %s%s%s", path, what, name, e ? ": " : "",
               e ? strerror(e) : "");
}

static void write_dataset(hid_t file, const char *path, const char *name, hid_t ftype, hid_t mtype,
                          int rank, const hsize_t *dims, const void *data, int compress) {
    hid_t space = H5Screate_simple(rank, dims, NULL);
    if (space < 0) micl_fatal("%s: cannot create the dataspace of dataset %s", path, name);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (dcpl < 0) micl_fatal("%s: cannot create properties of dataset %s", path, name);
    /* No modification times: the same store content gives the same file bytes. */
    if (H5Pset_obj_track_times(dcpl, 0) < 0)
        micl_fatal("%s: cannot set properties of dataset %s", path, name);
    /* Chunked, so that each chunk carries a Fletcher32 checksum of its stored bytes (after
     * compression: damaged bytes never reach zlib), which libhdf5 verifies on every read. */
    hsize_t chunk[4];
    for (int i = 0; i < rank; i++)
        chunk[i] = dims[i];
    if (chunk[0] > STORE_CHUNK_IMAGES) chunk[0] = STORE_CHUNK_IMAGES;
    if (H5Pset_chunk(dcpl, rank, chunk) < 0)
        micl_fatal("%s: cannot set the chunks of dataset %s", path, name);
    if (compress && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 && H5Pset_deflate(dcpl, 1) < 0)
        micl_fatal("%s: cannot set the compression of dataset %s", path, name);
    if (H5Pset_fletcher32(dcpl) < 0)
        micl_fatal("%s: cannot set the checksum of dataset %s", path, name);
    errno = 0;
    hid_t d = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) write_failed(path, "create", name);
    if (H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        write_failed(path, "write", name);
    if (H5Dclose(d) < 0 || H5Pclose(dcpl) < 0 || H5Sclose(space) < 0)
        write_failed(path, "close", name);
}

static void write_string_attr(hid_t file, const char *path, const char *name, const char *value) {
    hid_t t = vlen_utf8_type(path);
    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) micl_fatal("%s: cannot create the dataspace of attribute %s", path, name);
    hid_t a = H5Acreate2(file, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) micl_fatal("%s: cannot create attribute %s", path, name);
    if (H5Awrite(a, t, &value) < 0) micl_fatal("%s: cannot write attribute %s", path, name);
    if (H5Aclose(a) < 0 || H5Sclose(space) < 0 || H5Tclose(t) < 0)
        micl_fatal("%s: cannot close attribute %s", path, name);
}

/* Colour or metadata need the 4-D layout (STORE_SCHEMA_VERSION); a plain gray store keeps the
 * 3-D one (STORE_SCHEMA_GRAY). */
static int store_needs_v2(const image_store_t *s) {
    return s->c != 1 || s->n_objects || s->operands;
}

static void write_metadata(hid_t file, const char *tmp, const image_store_t *s) {
    hsize_t ndim = (hsize_t)s->n;
    if (s->n_objects) {
        hsize_t od[3] = {ndim, (hsize_t)s->max_objects, STORE_OBJECT_FIELDS};
        write_dataset(file, tmp, "/n_objects", H5T_STD_I16LE, H5T_NATIVE_INT16, 1, &ndim,
                      s->n_objects, 1);
        write_dataset(file, tmp, "/objects", H5T_STD_I16LE, H5T_NATIVE_INT16, 3, od, s->objects, 1);
    }
    if (s->operands) {
        hsize_t pd[2] = {ndim, 2};
        write_dataset(file, tmp, "/operands", H5T_STD_I16LE, H5T_NATIVE_INT16, 2, pd, s->operands,
                      1);
    }
}

void store_write(const char *path, const image_store_t *s) {
    quiet_hdf5();
    validate_store(path, s);
    atomic_file_t af;
    atomic_file_begin(&af, path);
    const char *tmp = af.tmp;
    hid_t file = h5_create(tmp);

    int version = store_needs_v2(s) ? STORE_SCHEMA_VERSION : STORE_SCHEMA_GRAY;
    hsize_t idims[4] = {(hsize_t)s->n, (hsize_t)s->h, (hsize_t)s->w, (hsize_t)s->c};
    write_dataset(file, tmp, "/images", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                  version == STORE_SCHEMA_GRAY ? 3 : 4, idims, s->pixels, 1);
    hsize_t ndim = (hsize_t)s->n;
    write_dataset(file, tmp, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &ndim, s->labels, 1);
    write_dataset(file, tmp, "/split", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &ndim, s->split, 1);
    hsize_t cdim = (hsize_t)s->n_classes;
    h5_write_strings(file, "class_names", s->class_names, s->n_classes);
    write_dataset(file, tmp, "/class_split", H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, &cdim,
                  s->class_split, 0);

    hid_t space = H5Screate(H5S_SCALAR);
    if (space < 0) micl_fatal("%s: cannot create a scalar dataspace", tmp);
    hid_t a = H5Acreate2(file, "schema_version", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &version) < 0 || H5Aclose(a) < 0)
        micl_fatal("%s: cannot write attribute schema_version", tmp);
    if (H5Sclose(space) < 0) micl_fatal("%s: cannot close a dataspace", tmp);
    write_string_attr(file, tmp, "source", s->source);
    write_string_attr(file, tmp, "provenance", s->provenance);
    h5_seal_strings(file);
    write_metadata(file, tmp, s);

    h5_close_file(file, tmp);
    atomic_file_commit(&af);
}

/* ---------------------------------------------------------------------------- reading */

/* A human name of an HDF5 type, e.g. "int32", "float", "uint8", "string". */
static void type_name(hid_t t, char *buf, size_t len) {
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    switch (cls) {
    case H5T_INTEGER: {
        H5T_sign_t sign = H5Tget_sign(t);
        snprintf(buf, len, "%sint%zu", sign == H5T_SGN_NONE ? "u" : "", size * 8);
        return;
    }
    case H5T_FLOAT:
        snprintf(buf, len, "%s", size == 4 ? "float" : size == 8 ? "double" : "float16");
        if (size != 2 && size != 4 && size != 8) snprintf(buf, len, "float%zu", size * 8);
        return;
    case H5T_STRING:
        snprintf(buf, len, "%s",
                 H5Tis_variable_str(t) > 0 ? "variable-length string" : "fixed-length string");
        return;
    case H5T_COMPOUND:
        snprintf(buf, len, "compound");
        return;
    case H5T_ENUM:
        snprintf(buf, len, "enum");
        return;
    case H5T_ARRAY:
        snprintf(buf, len, "array");
        return;
    case H5T_VLEN:
        snprintf(buf, len, "variable-length sequence");
        return;
    case H5T_OPAQUE:
        snprintf(buf, len, "opaque");
        return;
    case H5T_BITFIELD:
        snprintf(buf, len, "bitfield");
        return;
    case H5T_REFERENCE:
        snprintf(buf, len, "reference");
        return;
    default:
        snprintf(buf, len, "unknown");
        return;
    }
}

typedef struct {
    const char *path;
    hid_t file;
} reader_t;

#define STORE_RANK_IMAGES (-1) /* open_dataset: rank 3 or 4 */

/* Opens dataset `name`, checks its type (integer of `size` bytes and signedness, or a string
 * when size == 0) and rank; returns the dataset and fills dims. */
static hid_t open_dataset(const reader_t *r, const char *name, int want_rank, size_t size,
                          int is_signed, const char *expected, hsize_t *dims) {
    int alt_rank = want_rank;
    if (want_rank == STORE_RANK_IMAGES) { /* [n, h, w] (schema 1) or [n, h, w, c] */
        want_rank = 3;
        alt_rank = 4;
    }
    htri_t ex = H5Lexists(r->file, name, H5P_DEFAULT);
    if (ex < 0) micl_fatal("%s: cannot look up dataset %s", r->path, name);
    if (ex == 0) micl_fatal("%s: missing dataset %s", r->path, name);
    hid_t d = H5Dopen2(r->file, name, H5P_DEFAULT);
    if (d < 0) micl_fatal("%s: cannot open dataset %s (not a dataset, or damaged)", r->path, name);
    hid_t t = H5Dget_type(d);
    if (t < 0) micl_fatal("%s: cannot get the type of dataset %s", r->path, name);
    int ok;
    if (size == 0)
        ok = H5Tget_class(t) == H5T_STRING;
    else
        ok = H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == size &&
             (H5Tget_sign(t) == H5T_SGN_2) == (is_signed != 0);
    if (!ok) {
        char tn[64];
        type_name(t, tn, sizeof tn);
        micl_fatal("%s: dataset %s has type %s, expected %s", r->path, name, tn, expected);
    }
    if (H5Tclose(t) < 0) micl_fatal("%s: cannot close the type of dataset %s", r->path, name);
    hid_t space = H5Dget_space(d);
    if (space < 0) micl_fatal("%s: cannot get the dataspace of dataset %s", r->path, name);
    if (H5Sget_simple_extent_type(space) != H5S_SIMPLE)
        micl_fatal("%s: dataset %s is %s, expected an array of rank %d", r->path, name,
                   H5Sget_simple_extent_type(space) == H5S_SCALAR ? "a scalar" : "empty",
                   want_rank);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0) micl_fatal("%s: cannot get the rank of dataset %s", r->path, name);
    if (rank != want_rank && rank != alt_rank)
        micl_fatal("%s: dataset %s has rank %d, expected rank %d%s", r->path, name, rank, want_rank,
                   alt_rank != want_rank ? " or 4" : "");
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
        micl_fatal("%s: cannot get the shape of dataset %s", r->path, name);
    if (H5Sclose(space) < 0) micl_fatal("%s: cannot close the dataspace of %s", r->path, name);
    int empty = 0;
    for (int i = 0; i < rank; i++)
        empty |= dims[i] == 0;
    if (size != 0 && !empty && !h5_has_checksum(d))
        micl_fatal("%s: dataset %s carries no checksum (the Fletcher32 filter micl writes)",
                   r->path, name);
    return d;
}

/* Deflate packs at most about 1032:1: a dataset whose shape claims more than this many times
 * the bytes it stores was never written or is damaged, and reading it would allocate what the
 * shape claims only to fill it with zeros. Checked before allocating. */
#define STORE_MAX_EXPANSION 1100

static void check_stored(const reader_t *r, hid_t d, const char *name, int64_t bytes) {
    hsize_t stored = H5Dget_storage_size(d);
    if ((uint64_t)bytes > (uint64_t)stored * STORE_MAX_EXPANSION)
        micl_fatal("%s: dataset %s claims %lld bytes but the file stores %llu bytes of it (never "
                   "written, or damaged)",
                   r->path, name, (long long)bytes, (unsigned long long)stored);
}

static void read_close(const reader_t *r, hid_t d, const char *name, hid_t mtype, void *buf) {
    if (H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        const char *why = h5_damage_words();
        micl_fatal("%s: cannot read dataset %s%s", r->path, name,
                   why[0] ? why : " (file damaged?)");
    }
    if (H5Dclose(d) < 0) micl_fatal("%s: cannot close dataset %s", r->path, name);
}

static void reclaim_strings(const reader_t *r, const char *name, hid_t mtype, hid_t space,
                            void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    herr_t e = H5Treclaim(mtype, space, H5P_DEFAULT, buf);
#else
    herr_t e = H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, buf);
#endif
    if (e < 0) micl_fatal("%s: cannot release the strings of %s", r->path, name);
}

/* libhdf5 1.10 copies the type's size out of an attribute's stored value, which a damaged file
 * can make shorter: checked before reading a scalar attribute of type t. */
static void check_attr_stored(const reader_t *r, hid_t a, hid_t t, const char *name) {
    hsize_t stored = H5Aget_storage_size(a);
    if (stored < H5Tget_size(t))
        micl_fatal("%s: attribute %s is damaged (stores %llu of %zu bytes)", r->path, name,
                   (unsigned long long)stored, H5Tget_size(t));
}

/* Reads a scalar string attribute (variable or fixed length) into a new string; returns NULL
 * when it is absent and `optional` is set. */
static char *read_string_attr(const reader_t *r, const char *name, int optional) {
    htri_t ex = H5Aexists(r->file, name);
    if (ex < 0) micl_fatal("%s: cannot look up attribute %s", r->path, name);
    if (ex == 0) {
        if (optional) return NULL;
        micl_fatal("%s: missing attribute %s", r->path, name);
    }
    hid_t a = H5Aopen(r->file, name, H5P_DEFAULT);
    if (a < 0) micl_fatal("%s: cannot open attribute %s", r->path, name);
    hid_t t = H5Aget_type(a);
    if (t < 0) micl_fatal("%s: cannot get the type of attribute %s", r->path, name);
    hid_t space = H5Aget_space(a);
    if (space < 0) micl_fatal("%s: cannot get the dataspace of attribute %s", r->path, name);
    if (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
        char tn[64];
        type_name(t, tn, sizeof tn);
        micl_fatal("%s: attribute %s has type %s, expected a scalar string", r->path, name, tn);
    }
    check_attr_stored(r, a, t, name);
    char *out;
    htri_t var = H5Tis_variable_str(t);
    if (var < 0) micl_fatal("%s: cannot inspect the type of attribute %s", r->path, name);
    if (var) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5T_cset_t cset = H5Tget_cset(t); /* HDF5 does not convert between character sets */
        if (mt < 0 || cset < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, cset) < 0)
            micl_fatal("%s: cannot create the HDF5 string type", r->path);
        char *v = NULL;
        if (H5Aread(a, mt, &v) < 0) micl_fatal("%s: cannot read attribute %s", r->path, name);
        out = micl_strdup(v ? v : "");
        reclaim_strings(r, name, mt, space, &v);
        if (H5Tclose(mt) < 0) micl_fatal("%s: cannot close a type", r->path);
    } else {
        size_t n = H5Tget_size(t);
        if (n == 0 || n > (1u << 26))
            micl_fatal("%s: attribute %s has an unreasonable size %zu", r->path, name, n);
        out = micl_calloc(n + 1, 1);
        if (H5Aread(a, t, out) < 0) micl_fatal("%s: cannot read attribute %s", r->path, name);
    }
    if (H5Sclose(space) < 0 || H5Tclose(t) < 0 || H5Aclose(a) < 0)
        micl_fatal("%s: cannot close attribute %s", r->path, name);
    return out;
}

static void check_schema_version(const reader_t *r) {
    htri_t ex = H5Aexists(r->file, "schema_version");
    if (ex < 0) micl_fatal("%s: cannot look up attribute schema_version", r->path);
    if (ex == 0)
        micl_fatal("%s: missing attribute schema_version (not a micl image store?)", r->path);
    hid_t a = H5Aopen(r->file, "schema_version", H5P_DEFAULT);
    if (a < 0) micl_fatal("%s: cannot open attribute schema_version", r->path);
    hid_t t = H5Aget_type(a);
    hid_t space = H5Aget_space(a);
    if (t < 0 || space < 0) micl_fatal("%s: cannot inspect attribute schema_version", r->path);
    if (H5Tget_class(t) != H5T_INTEGER || H5Sget_simple_extent_npoints(space) != 1) {
        char tn[64];
        type_name(t, tn, sizeof tn);
        micl_fatal("%s: attribute schema_version has type %s, expected a scalar integer", r->path,
                   tn);
    }
    check_attr_stored(r, a, t, "schema_version");
    long long v = 0;
    if (H5Aread(a, H5T_NATIVE_LLONG, &v) < 0)
        micl_fatal("%s: cannot read attribute schema_version", r->path);
    if (H5Sclose(space) < 0 || H5Tclose(t) < 0 || H5Aclose(a) < 0)
        micl_fatal("%s: cannot close attribute schema_version", r->path);
    if (v > STORE_SCHEMA_VERSION)
        micl_fatal("%s: attribute schema_version is %lld, newer than this micl reads (%d); "
                   "rebuild the store with `micl data prepare --force` or update micl",
                   r->path, v, STORE_SCHEMA_VERSION);
    if (v < STORE_SCHEMA_GRAY)
        micl_fatal("%s: attribute schema_version is %lld, from before stores carried checksums; "
                   "this micl reads %d .. %d: rebuild the store with `micl data prepare --force`",
                   r->path, v, STORE_SCHEMA_GRAY, STORE_SCHEMA_VERSION);
}

static hid_t open_store_file(const char *path) {
    quiet_hdf5();
    struct stat st;
    if (stat(path, &st) != 0)
        micl_fatal("%s: cannot open image store: %s (run `micl data prepare`)", path,
                   strerror(errno));
    if (!S_ISREG(st.st_mode)) micl_fatal("%s: image store is not a regular file", path);
    htri_t is = H5Fis_hdf5(path);
    if (is < 0) micl_fatal("%s: cannot open image store (unreadable)", path);
    if (is == 0) micl_fatal("%s: not an HDF5 file", path);
    h5_check_format(path);
    h5_check_heaps(path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        const char *why = h5_damage_words();
        micl_fatal("%s: cannot open HDF5 file%s", path, why[0] ? why : " (damaged?)");
    }
    h5_check_structure(f);
    return f;
}

char *store_read_provenance(const char *path) {
    quiet_hdf5();
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
    if (H5Fis_hdf5(path) <= 0 || !h5_format_ok(path) || !h5_heaps_ok(path, NULL)) return NULL;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return NULL;
    char *out = NULL;
    if (H5Aexists(f, "provenance") > 0) {
        hid_t a = H5Aopen(f, "provenance", H5P_DEFAULT);
        hid_t t = a >= 0 ? H5Aget_type(a) : -1;
        hid_t space = a >= 0 ? H5Aget_space(a) : -1;
        if (t >= 0 && space >= 0 && H5Tget_class(t) == H5T_STRING &&
            H5Sget_simple_extent_npoints(space) == 1 && H5Tis_variable_str(t) > 0 &&
            H5Aget_storage_size(a) >= H5Tget_size(t)) {
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5T_cset_t cset = H5Tget_cset(t);
            char *v = NULL;
            if (mt >= 0 && cset >= 0 && H5Tset_size(mt, H5T_VARIABLE) >= 0 &&
                H5Tset_cset(mt, cset) >= 0 && H5Aread(a, mt, &v) >= 0 && v) {
                out = micl_strdup(v);
                reader_t r = {path, f};
                reclaim_strings(&r, "provenance", mt, space, &v);
            }
            if (mt >= 0) H5Tclose(mt);
        }
        if (space >= 0) H5Sclose(space);
        if (t >= 0) H5Tclose(t);
        if (a >= 0) H5Aclose(a);
    }
    H5Fclose(f); /* read-only: a failed close loses nothing; the answer stands */
    return out;
}

/* Reads an optional int16 dataset of shape [n, d1, d2] (rank 1 + n_inner); NULL if absent. */
static int16_t *read_i16_meta(const reader_t *r, const char *name, int64_t n, int n_inner,
                              hsize_t *inner) {
    htri_t ex = H5Lexists(r->file, name, H5P_DEFAULT);
    if (ex < 0) micl_fatal("%s: cannot look up dataset %s", r->path, name);
    if (ex == 0) return NULL;
    hsize_t dims[3] = {0, 1, 1};
    hid_t d = open_dataset(r, name, 1 + n_inner, 2, 1, "int16", dims);
    if (dims[0] != (hsize_t)n)
        micl_fatal("%s: dataset %s has %llu rows, expected %lld (one per image)", r->path, name,
                   (unsigned long long)dims[0], (long long)n);
    size_t count = (size_t)n;
    for (int k = 0; k < n_inner; k++) {
        if (inner[k] && dims[1 + k] != inner[k])
            micl_fatal("%s: dataset %s has dimension %d of size %llu, expected %llu", r->path, name,
                       1 + k, (unsigned long long)dims[1 + k], (unsigned long long)inner[k]);
        if (dims[1 + k] < 1 || dims[1 + k] > STORE_MAX_OBJECTS * STORE_OBJECT_FIELDS)
            micl_fatal("%s: dataset %s has dimension %d of size %llu, out of range", r->path, name,
                       1 + k, (unsigned long long)dims[1 + k]);
        inner[k] = dims[1 + k];
        count *= (size_t)dims[1 + k];
    }
    int16_t *buf = micl_malloc(count * sizeof *buf);
    read_close(r, d, name, H5T_NATIVE_INT16, buf);
    return buf;
}

static void read_metadata(const reader_t *r, image_store_t *s) {
    hsize_t none = 0;
    s->n_objects = read_i16_meta(r, "/n_objects", s->n, 0, &none);
    hsize_t od[2] = {0, STORE_OBJECT_FIELDS};
    s->objects = read_i16_meta(r, "/objects", s->n, 2, od);
    if (s->objects) {
        if (od[0] > STORE_MAX_OBJECTS)
            micl_fatal("%s: dataset /objects has %llu slots per image, at most %d", r->path,
                       (unsigned long long)od[0], STORE_MAX_OBJECTS);
        s->max_objects = (int)od[0];
    }
    hsize_t pd[1] = {2};
    s->operands = read_i16_meta(r, "/operands", s->n, 1, pd);
}

void store_read(const char *path, image_store_t *s) {
    memset(s, 0, sizeof *s);
    reader_t r = {path, open_store_file(path)};
    check_schema_version(&r);
    h5_check_strings(r.file);

    char *source = read_string_attr(&r, "source", 0);
    if (strlen(source) == 0 || strlen(source) >= sizeof s->source)
        micl_fatal("%s: attribute source '%s' is empty or longer than %zu bytes", path, source,
                   sizeof s->source - 1);
    snprintf(s->source, sizeof s->source, "%s", source);
    free(source);
    s->provenance = read_string_attr(&r, "provenance", 0);

    hsize_t dims[4] = {0, 0, 0, 1};
    hid_t d = open_dataset(&r, "/images", STORE_RANK_IMAGES, 1, 0, "uint8", dims);
    if (dims[3] != 1 && dims[3] != 3)
        micl_fatal("%s: dataset /images has %llu channels, expected 1 (gray) or 3 (RGB)", path,
                   (unsigned long long)dims[3]);
    if (dims[0] < 1 || dims[0] > (hsize_t)STORE_MAX_IMAGES)
        micl_fatal("%s: dataset /images has %llu images, expected 1 .. %lld", path,
                   (unsigned long long)dims[0], (long long)STORE_MAX_IMAGES);
    if (dims[1] < 1 || dims[1] > STORE_MAX_SIDE || dims[2] < 1 || dims[2] > STORE_MAX_SIDE)
        micl_fatal("%s: dataset /images has images of %llu x %llu pixels, expected sides 1 .. %d",
                   path, (unsigned long long)dims[1], (unsigned long long)dims[2], STORE_MAX_SIDE);
    s->n = (int64_t)dims[0];
    s->h = (int)dims[1];
    s->w = (int)dims[2];
    s->c = (int)dims[3];
    int64_t npix = s->n * s->h * s->w * s->c;
    if (npix > STORE_MAX_PIXELS)
        micl_fatal("%s: dataset /images has %lld pixels, more than the limit %lld", path,
                   (long long)npix, (long long)STORE_MAX_PIXELS);
    check_stored(&r, d, "/images", npix);
    s->pixels = micl_malloc((size_t)npix);
    read_close(&r, d, "/images", H5T_NATIVE_UINT8, s->pixels);

    d = open_dataset(&r, "/labels", 1, 4, 1, "int32", dims);
    if (dims[0] != (hsize_t)s->n)
        micl_fatal("%s: dataset /labels has shape [%llu], expected [%lld] (one per image)", path,
                   (unsigned long long)dims[0], (long long)s->n);
    check_stored(&r, d, "/labels", s->n * 4);
    s->labels = micl_malloc((size_t)s->n * sizeof *s->labels);
    read_close(&r, d, "/labels", H5T_NATIVE_INT32, s->labels);

    d = open_dataset(&r, "/split", 1, 1, 0, "uint8", dims);
    if (dims[0] != (hsize_t)s->n)
        micl_fatal("%s: dataset /split has shape [%llu], expected [%lld] (one per image)", path,
                   (unsigned long long)dims[0], (long long)s->n);
    check_stored(&r, d, "/split", s->n);
    s->split = micl_malloc((size_t)s->n);
    read_close(&r, d, "/split", H5T_NATIVE_UINT8, s->split);

    {
        int64_t nc = 0;
        s->class_names = h5_read_strings(r.file, "class_names", &nc);
        if (nc < 1 || nc > STORE_MAX_CLASSES)
            micl_fatal("%s: dataset /class_names has %lld names, expected 1 .. %d", path,
                       (long long)nc, STORE_MAX_CLASSES);
        s->n_classes = (int)nc;
    }

    d = open_dataset(&r, "/class_split", 1, 1, 0, "uint8", dims);
    if (dims[0] != (hsize_t)s->n_classes)
        micl_fatal("%s: dataset /class_split has shape [%llu], expected [%d] (one per class in "
                   "/class_names)",
                   path, (unsigned long long)dims[0], s->n_classes);
    check_stored(&r, d, "/class_split", s->n_classes);
    s->class_split = micl_malloc((size_t)s->n_classes);
    read_close(&r, d, "/class_split", H5T_NATIVE_UINT8, s->class_split);

    read_metadata(&r, s);
    if (H5Fclose(r.file) < 0) micl_fatal("%s: cannot close HDF5 file", path);
    validate_store(path, s);
}

void store_free(image_store_t *s) {
    if (s->class_names)
        for (int c = 0; c < s->n_classes; c++)
            free(s->class_names[c]);
    free(s->class_names);
    free(s->pixels);
    free(s->labels);
    free(s->split);
    free(s->class_split);
    free(s->provenance);
    free(s->n_objects);
    free(s->objects);
    free(s->operands);
    memset(s, 0, sizeof *s);
}

size_t store_image_bytes(const image_store_t *s) {
    return (size_t)s->h * (size_t)s->w * (size_t)s->c;
}

int store_objects(const image_store_t *s, int64_t i, int16_t *out) {
    if (!s->objects || i < 0 || i >= s->n) return -1;
    int n = s->n_objects[i];
    memcpy(out, s->objects + (size_t)i * s->max_objects * STORE_OBJECT_FIELDS,
           (size_t)n * STORE_OBJECT_FIELDS * sizeof *out);
    return n;
}

/* ---------------------------------------------------------------------------- indices */

void store_index_build(const image_store_t *s, int split, store_index_t *ix) {
    ix->n_classes = s->n_classes;
    ix->off = micl_calloc((size_t)s->n_classes + 1, sizeof *ix->off);
    for (int64_t i = 0; i < s->n; i++)
        if (s->split[i] == split) ix->off[s->labels[i] + 1]++;
    for (int c = 0; c < s->n_classes; c++)
        ix->off[c + 1] += ix->off[c];
    int64_t total = ix->off[s->n_classes];
    ix->idx = micl_malloc((size_t)(total > 0 ? total : 1) * sizeof *ix->idx);
    int64_t *fill = micl_malloc((size_t)s->n_classes * sizeof *fill);
    memcpy(fill, ix->off, (size_t)s->n_classes * sizeof *fill);
    for (int64_t i = 0; i < s->n; i++)
        if (s->split[i] == split) ix->idx[fill[s->labels[i]]++] = i;
    free(fill);
}

void store_index_free(store_index_t *ix) {
    free(ix->off);
    free(ix->idx);
    ix->off = NULL;
    ix->idx = NULL;
    ix->n_classes = 0;
}

void store_copy_image(const image_store_t *s, int64_t row, int channels, uint8_t *dst) {
    size_t hw = (size_t)s->h * (size_t)s->w;
    int sc = s->c > 0 ? s->c : 1; /* stores built in memory may leave c unset: gray */
    const uint8_t *src = s->pixels + (size_t)row * hw * (size_t)sc;
    if (sc == channels) {
        memcpy(dst, src, hw * (size_t)channels);
    } else if (sc == 1 && channels == 3) {
        for (size_t i = 0; i < hw; i++)
            dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = src[i];
    } else {
        micl_fatal("%s: images have %d channels but the model takes %d", s->source, s->c, channels);
    }
}

int store_eval_split(const image_store_t *s) {
    int has[3] = {0, 0, 0};
    for (int64_t i = 0; i < s->n; i++)
        has[s->split[i] < 3 ? s->split[i] : 0] = 1;
    if (has[STORE_SPLIT_HELDOUT_CLASS]) return STORE_SPLIT_HELDOUT_CLASS;
    if (has[STORE_SPLIT_TEST]) return STORE_SPLIT_TEST;
    return STORE_SPLIT_TRAIN;
}
