/* file_kind.c - a file's kind from its first bytes and, for HDF5, its root `kind` attribute
 * (see file_kind.h). Every libhdf5 call here is checked and quiet: a damaged file is "hdf5". */
#include "file_kind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5check.h"
#include "h5util.h"

/* The micl HDF5 kinds this build knows; any other kind attribute reads as FILE_KIND_HDF5. */
static const char *const MICL_KINDS[] = {FILE_KIND_RESULTS,  FILE_KIND_CHECKPOINT, "micl-bench",
                                         "micl-bench-input", "micl-bench-torch",   NULL};

/* The root string attribute `kind` of f into buf ("" when absent or not a string). */
static void read_kind_attr(hid_t f, char *buf, size_t n) {
    buf[0] = '\0';
    if (H5Aexists(f, "kind") <= 0) return;
    hid_t a = H5Aopen(f, "kind", H5P_DEFAULT);
    if (a < 0) return;
    hid_t t = H5Aget_type(a);
    if (t >= 0 && H5Tget_class(t) == H5T_STRING) {
        if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            if (H5Aread(a, t, &s) >= 0 && s) snprintf(buf, n, "%s", s);
            if (s) H5free_memory(s);
        } else {
            size_t sz = H5Tget_size(t);
            char *s = sz > 0 && sz < 256 ? calloc(1, sz + 1) : NULL;
            if (s && H5Aread(a, t, s) >= 0) snprintf(buf, n, "%s", s);
            free(s);
        }
    }
    if (t >= 0) H5Tclose(t);
    H5Aclose(a);
}

static const char *hdf5_kind(const char *path) {
    h5_quiet();
    if (!h5_heaps_ok(path, NULL)) return FILE_KIND_HDF5; /* libhdf5 could hang on it */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return FILE_KIND_HDF5;
    char kind[64];
    read_kind_attr(f, kind, sizeof kind);
    const char *out = FILE_KIND_HDF5;
    for (int i = 0; MICL_KINDS[i]; i++)
        if (strcmp(kind, MICL_KINDS[i]) == 0) out = MICL_KINDS[i];
    if (!kind[0] && H5Aexists(f, "schema_version") > 0 && H5Lexists(f, "images", H5P_DEFAULT) > 0)
        out = FILE_KIND_STORE;
    H5Fclose(f);
    return out;
}

const char *file_kind(const char *path) {
    static const unsigned char HDF5_SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    static const unsigned char PNG_SIG[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return FILE_KIND_MISSING;
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n == 0) return FILE_KIND_EMPTY;
    if (n >= 8 && memcmp(head, HDF5_SIG, 8) == 0) return hdf5_kind(path);
    if (n >= 8 && memcmp(head, PNG_SIG, 8) == 0) return FILE_KIND_PNG;
    return memchr(head, 0, n) ? FILE_KIND_BINARY : FILE_KIND_TEXT;
}

const char *file_kind_words(const char *kind) {
    static const char *const WORDS[][2] = {{FILE_KIND_MISSING, "a missing file"},
                                           {FILE_KIND_EMPTY, "an empty file"},
                                           {FILE_KIND_RESULTS, "a micl results file"},
                                           {FILE_KIND_CHECKPOINT, "a micl checkpoint"},
                                           {FILE_KIND_STORE, "a micl image store"},
                                           {"micl-bench", "a micl bench file"},
                                           {"micl-bench-input", "a micl bench input file"},
                                           {"micl-bench-torch", "a torch bench file"},
                                           {FILE_KIND_HDF5, "an HDF5 file micl did not write"},
                                           {FILE_KIND_PNG, "a PNG image"},
                                           {FILE_KIND_TEXT, "a text file"},
                                           {FILE_KIND_BINARY, "a binary file"}};
    for (size_t i = 0; i < sizeof WORDS / sizeof WORDS[0]; i++)
        if (strcmp(kind, WORDS[i][0]) == 0) return WORDS[i][1];
    return kind;
}

int file_kind_replaceable(const char *old, const char *new_kind) {
    return strcmp(old, FILE_KIND_MISSING) == 0 || strcmp(old, FILE_KIND_EMPTY) == 0 ||
           strcmp(old, new_kind) == 0;
}
