/* file_kind.h - what kind of file is at a path, judged by its content.
 *
 * The atomic writer (atomic_file.h) replaces an existing file only with one of the same kind: a
 * results file with a results file, a PNG with a PNG, never a checkpoint, an image store or a
 * config with something else. The kind of an HDF5 file is its root attribute `kind`
 * ("micl-results", "micl-checkpoint", "micl-bench", ...); micl's image stores carry none, and are
 * recognised by their /images dataset and `schema_version` attribute. */
#ifndef MICL_FILE_KIND_H
#define MICL_FILE_KIND_H

#define FILE_KIND_MISSING "missing"
#define FILE_KIND_EMPTY "empty"
#define FILE_KIND_RESULTS "micl-results"
#define FILE_KIND_CHECKPOINT "micl-checkpoint"
#define FILE_KIND_STORE "micl-store"
#define FILE_KIND_HDF5 "hdf5" /* an HDF5 file micl did not write, or of a kind it does not know */
#define FILE_KIND_PNG "png"
#define FILE_KIND_TEXT "text" /* no NUL byte in its first 4 KiB: configs, JSON, CSV */
#define FILE_KIND_BINARY "binary"

/* The kind of the regular file at `path` (a static string; FILE_KIND_* or a micl HDF5 kind such
 * as "micl-bench"); FILE_KIND_MISSING when it cannot be opened. Never fatal. */
const char *file_kind(const char *path);

/* The kind in words for messages ("a micl checkpoint", "a text file", ...). */
const char *file_kind_words(const char *kind);

/* 1 if a file of kind `old` may be replaced by one of kind `new_kind`: the same kind, or an
 * old file that is missing or empty. */
int file_kind_replaceable(const char *old, const char *new_kind);

#endif
