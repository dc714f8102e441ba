/* h5util.h - small checked helpers over the HDF5 C API for results and checkpoint files.
 *
 * Every helper checks its calls and fails with a message naming the file and the object
 * (dataset or attribute) - the file name is taken from the file id. The writers write micl's
 * checksummed format and the readers verify it, with the checks of h5check.h.
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
