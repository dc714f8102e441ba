/* h5util.h - small checked helpers over the HDF5 C API for results and checkpoint files.
 *
 * Every helper checks its calls and fails with a message naming the file and the object
 * (dataset or attribute) - the file name is taken from the file id.
 */
#ifndef MICL_H5UTIL_H
#define MICL_H5UTIL_H

#include <hdf5.h>
#include <stdint.h>

/* Turns off HDF5's own error printing (we report errors ourselves). */
void h5_quiet(void);
/* Creates `path` truncating, in the HDF5 1.10 format, or fails clearly. Every non-empty dataset
 * the writers below make is chunked with the Fletcher32 checksum filter. */
hid_t h5_create(const char *path);
/* Fails clearly when a global heap collection (where variable-length strings live) in the file
 * at path is inconsistent: libhdf5 1.10 hangs or reads out of bounds on such files, so readers
 * check before the library parses. Called by h5_open_ro. */
void h5_check_heaps(const char *path);
/* The same check without failing: 0 (and *bad_offset, if given) when a collection is damaged,
 * 1 otherwise or when the file cannot be read (the caller's open reports that). */
int h5_heaps_ok(const char *path, uint64_t *bad_offset);
/* The version of the file's HDF5 superblock, read before libhdf5 parses the file (-1: no HDF5
 * signature or unreadable). micl writes the HDF5 1.10 format (superblock version 3), whose
 * metadata carries checksums; h5_format_ok says whether a file is in it, h5_check_format fails
 * clearly for an HDF5 file in an older format. */
int h5_superblock_version(const char *path);
int h5_format_ok(const char *path);
void h5_check_format(const char *path);
/* " (damaged: a checksum does not match ...)" when the last failed libhdf5 call found a
 * checksum mismatch (metadata or a dataset's Fletcher32), else "": for failure messages. */
const char *h5_damage_words(void);
/* Variable-length strings carry no checksum in HDF5: h5_seal_strings stores the CRC-32 of the
 * object's (a text dataset's string and its string attributes) in its attribute strings_crc32;
 * h5_check_strings fails clearly unless they match. The writers and readers below call them. */
void h5_seal_strings(hid_t obj);
/* 1 if dataset d carries the Fletcher32 checksum filter (every non-empty dataset of numbers
 * micl writes does; readers refuse one that does not). */
int h5_has_checksum(hid_t d);
/* Fails unless every object of the open file is stored as micl stores them: version-2 object
 * headers (checksummed), attributes and links inside them (no fractal heaps, whose damaged forms
 * libhdf5 1.10 handles badly), hard links only, no cycle. Reads headers only; h5_open_ro calls
 * it before a reader touches anything. */
void h5_check_structure(hid_t f);
/* h5_check_structure, then every object's strings (h5_check_strings) and every dataset's data
 * (libhdf5 verifies the checksums as it reads): for readers that load only part of a file but
 * must not take a damaged one. */
void h5_verify_all(hid_t f);
void h5_check_strings(hid_t obj);
/* Opens an existing file read-only; fails clearly when missing, not HDF5 or in an older HDF5
 * format (h5_check_format). */
hid_t h5_open_ro(const char *path);
void h5_close_file(hid_t f, const char *path);
hid_t h5_group(hid_t loc, const char *name); /* creates */
void h5_close_group(hid_t g);

void h5_attr_int(hid_t loc, const char *name, int64_t v);
void h5_attr_double(hid_t loc, const char *name, double v);
void h5_attr_str(hid_t loc, const char *name, const char *v);
int h5_has_attr(hid_t loc, const char *name);
int64_t h5_read_attr_int(hid_t loc, const char *name);
double h5_read_attr_double(hid_t loc, const char *name);
char *h5_read_attr_str(hid_t loc, const char *name); /* malloc'd */

void h5_write_f32(hid_t loc, const char *name, const float *v, int64_t n);
void h5_write_f64(hid_t loc, const char *name, const double *v, int64_t n);
void h5_write_i64(hid_t loc, const char *name, const int64_t *v, int64_t n);
void h5_write_i32(hid_t loc, const char *name, const int32_t *v, int64_t n);
void h5_write_u8(hid_t loc, const char *name, const uint8_t *v, int64_t n);
/* fixed-length UTF-8 strings as wide as the longest, chunked with Fletcher32 like numbers */
void h5_write_strings(hid_t loc, const char *name, char *const *v, int64_t n);
/* a scalar variable-length string in a compact dataset, sealed (h5_seal_strings) */
void h5_write_text(hid_t loc, const char *name, const char *text);

int h5_exists(hid_t loc, const char *name);
/* Fails unless the file's root attributes say kind == `kind` and schema_version == `version`;
 * `what` names the file type in messages ("results file", "checkpoint"). */
void h5_check_kind(hid_t f, const char *path, const char *kind, const char *what, int64_t version);
/* Reads a 1-D dataset of the given type and exact length (n < 0: any length, returned in *n_out).
 */
float *h5_read_f32(hid_t loc, const char *name, int64_t n, int64_t *n_out);
double *h5_read_f64(hid_t loc, const char *name, int64_t n, int64_t *n_out);
int64_t *h5_read_i64(hid_t loc, const char *name, int64_t n, int64_t *n_out);
int32_t *h5_read_i32(hid_t loc, const char *name, int64_t n, int64_t *n_out);
uint8_t *h5_read_u8(hid_t loc, const char *name, int64_t n, int64_t *n_out);
char **h5_read_strings(hid_t loc, const char *name, int64_t *n_out);
char *h5_read_text(hid_t loc, const char *name);

#endif
