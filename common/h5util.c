/* h5util.c - checked HDF5 helpers (see h5util.h), and the closing of what is open when micl
 * exits on an error. The integrity checks they run (format, structure, string checksums) are in
 * h5check.c.
 *
 * libhdf5 closes the files still open from its own exit handler (H5_term_library). When a
 * write failed (a full disk, an I/O error), that close flushes again, fails, frees half of the
 * file and closes it a second time: a segmentation fault after micl's clean message. So
 * micl_fatal calls h5_exit_cleanup first, which closes every open object and file itself and
 * asks for _exit (no library exit handler) when a file cannot be closed. */
#define _POSIX_C_SOURCE 200809L /* strnlen */
#include "h5util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "error.h"
#include "h5check.h"
#include "h5util_internal.h"

/* ": <strerror>" when a failed libhdf5 call left errno set (its sec2 driver passes on the
 * errno of write, pwrite and open: ENOSPC, EIO, EACCES), else "". Writers clear errno first. */
static void errno_words(int e, char *buf, size_t len) {
    if (e)
        snprintf(buf, len, ": %s", strerror(e));
    else
        buf[0] = '\0';
}

/* errno_words into a buffer of its own, for the failure that follows (no second call). */
const char *h5_errno_suffix(int e) {
    static char buf[128];
    errno_words(e, buf, sizeof buf);
    return buf;
}

static void where(hid_t loc, char *buf, size_t len) {
    char file[512] = "?", obj[256] = "";
    if (H5Fget_name(loc, file, sizeof file) < 0) snprintf(file, sizeof file, "?");
    if (H5Iget_name(loc, obj, sizeof obj) < 0) obj[0] = '\0';
    snprintf(buf, len, "%s:%s", file, obj);
}

void h5_fail_at(const char *src, int line, hid_t loc, const char *suffix, const char *fmt, ...) {
    char w[800], m[512];
    where(loc, w, sizeof w);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    micl_fatal_at(src, line, "%s: %s%s", w, m, suffix);
}

/* Set when a file could not be closed: libhdf5's state is then not safe to touch again. */
static int g_close_failed;

/* Closes the open ids of the given types, wherever they belong; the number that failed. */
static int close_open(unsigned types) {
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, types);
    if (n <= 0) return n < 0;
    hid_t *ids = malloc((size_t)n * sizeof *ids);
    if (!ids) return 1;
    n = H5Fget_obj_ids(H5F_OBJ_ALL, types, (size_t)n, ids);
    int failed = n < 0;
    for (ssize_t i = 0; i < n; i++) {
        herr_t r = 0;
        switch (H5Iget_type(ids[i])) {
        case H5I_FILE:
            r = H5Fclose(ids[i]);
            break;
        case H5I_GROUP:
        case H5I_DATASET:
        case H5I_DATATYPE:
            r = H5Oclose(ids[i]);
            break;
        case H5I_ATTR:
            r = H5Aclose(ids[i]);
            break;
        default:
            break;
        }
        failed += r < 0;
    }
    free(ids);
    return failed;
}

/* micl_fatal's exit cleanup: 1 (leave with _exit) unless everything closed. The files being
 * written are pending (error.h) and already unlinked: their flush here writes to no name. */
static int h5_exit_cleanup(void) {
    if (g_close_failed) return 1;
    close_open(H5F_OBJ_DATASET | H5F_OBJ_GROUP | H5F_OBJ_DATATYPE | H5F_OBJ_ATTR);
    if (close_open(H5F_OBJ_FILE) > 0) return 1;
    return H5close() < 0;
}

void h5_quiet(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    micl_set_exit_cleanup(h5_exit_cleanup);
}

/* ------------------------------------------------------------------------ the format */

/* micl writes the HDF5 1.10 format, whose metadata is checksummed (h5check.h checks that a file
 * is in it), with no modification times, so the same content gives the same bytes. */

/* Links and attributes stay in their object's header (compact storage) however many there are:
 * libhdf5 would move more than 8 into a fractal heap ("dense" storage), whose error paths in
 * 1.10 free memory they never allocated when a damaged heap fails its checks. */
#define H5_MAX_COMPACT 65535

static hid_t create_props(hid_t cls) {
    hid_t p = H5Pcreate(cls);
    if (p < 0 || H5Pset_obj_track_times(p, 0) < 0 ||
        H5Pset_attr_phase_change(p, H5_MAX_COMPACT, H5_MAX_COMPACT) < 0)
        micl_fatal("cannot create HDF5 properties");
    if (cls != H5P_DATASET_CREATE &&
        H5Pset_link_phase_change(p, H5_MAX_COMPACT, H5_MAX_COMPACT) < 0)
        micl_fatal("cannot create HDF5 properties");
    return p;
}

hid_t h5_create(const char *path) {
    h5_quiet();
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0)
        micl_fatal("cannot set the HDF5 file format for '%s'", path);
    hid_t fcpl = create_props(H5P_FILE_CREATE);
    errno = 0;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, fcpl, fapl);
    H5Pclose(fcpl);
    H5Pclose(fapl);
    if (f < 0) {
        char e[128];
        errno_words(errno, e, sizeof e);
        micl_fatal("cannot create HDF5 file '%s'%s", path,
                   e[0] ? e : " (directory missing or not writable?)");
    }
    return f;
}

hid_t h5_open_ro(const char *path) {
    h5_quiet();
    FILE *probe = fopen(path, "rb");
    if (!probe) micl_fatal("cannot open '%s': no such file or not readable", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) micl_fatal("'%s' is not an HDF5 file", path);
    h5_check_format(path);
    h5_check_heaps(path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) micl_fatal("cannot open HDF5 file '%s'%s", path, h5_damage_words());
    h5_check_structure(f);
    return f;
}

void h5_close_file(hid_t f, const char *path) {
    errno = 0;
    if (H5Fclose(f) < 0) {
        g_close_failed = 1;
        char e[128];
        errno_words(errno, e, sizeof e);
        micl_fatal("cannot write '%s': closing (flushing) the HDF5 file failed%s", path, e);
    }
}

hid_t h5_group(hid_t loc, const char *name) {
    errno = 0;
    hid_t gcpl = create_props(H5P_GROUP_CREATE);
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    if (g < 0) H5WFAIL(loc, "cannot create group '%s'", name);
    return g;
}

void h5_close_group(hid_t g) {
    H5Gclose(g);
}

static void write_attr(hid_t loc, const char *name, hid_t type, const void *v) {
    hid_t sp = H5Screate(H5S_SCALAR);
    errno = 0;
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, type, v) < 0) H5WFAIL(loc, "cannot write attribute '%s'", name);
    H5Aclose(a);
    H5Sclose(sp);
}

void h5_attr_int(hid_t loc, const char *name, int64_t v) {
    write_attr(loc, name, H5T_NATIVE_INT64, &v);
}

void h5_attr_double(hid_t loc, const char *name, double v) {
    write_attr(loc, name, H5T_NATIVE_DOUBLE, &v);
}

hid_t h5_vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

void h5_attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = h5_vlen_str_type();
    write_attr(loc, name, t, &v);
    H5Tclose(t);
    h5_seal_strings(loc);
}

int h5_has_attr(hid_t loc, const char *name) {
    htri_t e = H5Aexists(loc, name);
    if (e < 0) H5FAIL(loc, "cannot look up attribute '%s'", name);
    return e > 0;
}

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "float";
    case H5T_STRING:
        return "string";
    default:
        return "other";
    }
}

static hid_t open_attr(hid_t loc, const char *name, H5T_class_t want) {
    if (H5Aexists(loc, name) <= 0) H5FAIL(loc, "missing attribute '%s'", name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) H5FAIL(loc, "cannot open attribute '%s'", name);
    hid_t t = H5Aget_type(a);
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    H5Tclose(t);
    if (cls != want)
        H5FAIL(loc, "attribute '%s' is of type %s, expected %s", name, class_name(cls),
               class_name(want));
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    if (n != 1) H5FAIL(loc, "attribute '%s' is not a scalar", name);
    /* libhdf5 1.10 copies the type's size out of a stored value that may be shorter */
    if (H5Aget_storage_size(a) < size)
        H5FAIL(loc, "attribute '%s' is damaged (stores %llu of %zu bytes)", name,
               (unsigned long long)H5Aget_storage_size(a), size);
    return a;
}

int64_t h5_read_attr_int(hid_t loc, const char *name) {
    hid_t a = open_attr(loc, name, H5T_INTEGER);
    int64_t v = 0;
    if (H5Aread(a, H5T_NATIVE_INT64, &v) < 0) H5FAIL(loc, "cannot read attribute '%s'", name);
    H5Aclose(a);
    return v;
}

double h5_read_attr_double(hid_t loc, const char *name) {
    hid_t a = open_attr(loc, name, H5T_FLOAT);
    double v = 0;
    if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) H5FAIL(loc, "cannot read attribute '%s'", name);
    H5Aclose(a);
    return v;
}

/* A string attribute, its object's strings checked first when `verify` is set. */
static char *read_attr_str(hid_t loc, const char *name, int verify) {
    hid_t a = open_attr(loc, name, H5T_STRING);
    if (verify) h5_check_strings(loc);
    hid_t ft = H5Aget_type(a);
    char *out;
    if (H5Tis_variable_str(ft) > 0) {
        hid_t t = h5_vlen_str_type();
        char *s = NULL;
        if (H5Aread(a, t, &s) < 0 || !s) H5FAIL(loc, "cannot read attribute '%s'", name);
        out = micl_strdup(s);
        H5free_memory(s);
        H5Tclose(t);
    } else {
        size_t n = H5Tget_size(ft);
        out = micl_calloc(n + 1, 1);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, n + 1);
        if (H5Aread(a, t, out) < 0) H5FAIL(loc, "cannot read attribute '%s'", name);
        H5Tclose(t);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

char *h5_read_attr_str(hid_t loc, const char *name) {
    return read_attr_str(loc, name, 1);
}

/* Chunks of at most this many bytes: each carries its own Fletcher32 checksum. */
#define H5_CHUNK_BYTES ((int64_t)1 << 20)

/* Creates and writes a 1-D dataset and returns it open. A non-empty one of numbers is chunked
 * with the Fletcher32 filter, so that libhdf5 verifies its data on every read (h5py and h5dump
 * too); libhdf5 allows no filter on variable-length strings, whose check is h5_seal_strings. */
static hid_t create_1d(hid_t loc, const char *name, hid_t type, const void *v, int64_t n) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = H5Screate_simple(1, dims, NULL);
    hid_t dcpl = create_props(H5P_DATASET_CREATE);
    if (n > 0 && H5Tis_variable_str(type) <= 0) {
        int64_t per = H5_CHUNK_BYTES / (int64_t)H5Tget_size(type);
        hsize_t chunk[1] = {(hsize_t)(n < per ? n : per)};
        if (H5Pset_chunk(dcpl, 1, chunk) < 0 || H5Pset_fletcher32(dcpl) < 0)
            H5FAIL(loc, "cannot set the checksum of dataset '%s'", name);
    }
    errno = 0;
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0) H5WFAIL(loc, "cannot create dataset '%s'", name);
    errno = 0;
    if (n > 0 && H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        H5WFAIL(loc, "cannot write dataset '%s'", name);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

static void write_1d(hid_t loc, const char *name, hid_t type, const void *v, int64_t n) {
    H5Dclose(create_1d(loc, name, type, v, n));
}

void h5_write_f32(hid_t loc, const char *name, const float *v, int64_t n) {
    write_1d(loc, name, H5T_NATIVE_FLOAT, v, n);
}
void h5_write_f64(hid_t loc, const char *name, const double *v, int64_t n) {
    write_1d(loc, name, H5T_NATIVE_DOUBLE, v, n);
}
void h5_write_i64(hid_t loc, const char *name, const int64_t *v, int64_t n) {
    write_1d(loc, name, H5T_NATIVE_INT64, v, n);
}
void h5_write_i32(hid_t loc, const char *name, const int32_t *v, int64_t n) {
    write_1d(loc, name, H5T_NATIVE_INT32, v, n);
}

void h5_write_u8(hid_t loc, const char *name, const uint8_t *v, int64_t n) {
    write_1d(loc, name, H5T_NATIVE_UINT8, v, n);
}

/* A fixed-length UTF-8 string type of `size` bytes, padded with NULs. */
static hid_t fixed_str_type(size_t size, H5T_cset_t cset) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0 || H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, cset) < 0)
        micl_fatal("cannot create an HDF5 string type of %zu bytes", size);
    return t;
}

/* Lists of strings are stored as fixed-length strings (as wide as the longest), so that they are
 * chunked with a Fletcher32 checksum like numbers: libhdf5 allows no filter on variable-length
 * strings, and their heap references would be read unchecked. */
void h5_write_strings(hid_t loc, const char *name, char *const *v, int64_t n) {
    size_t width = 1;
    for (int64_t i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        if (len > width) width = len;
    }
    char *buf = micl_calloc((size_t)(n ? n : 1), width);
    for (int64_t i = 0; i < n; i++)
        memcpy(buf + (size_t)i * width, v[i], strlen(v[i]));
    hid_t t = fixed_str_type(width, H5T_CSET_UTF8);
    write_1d(loc, name, t, buf, n);
    H5Tclose(t);
    free(buf);
}

/* A text is one variable-length string in a compact dataset: its heap reference lives in the
 * object header, which the format checksums, and its characters are covered by the object's
 * strings_crc32. */
void h5_write_text(hid_t loc, const char *name, const char *text) {
    hid_t t = h5_vlen_str_type();
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t dcpl = create_props(H5P_DATASET_CREATE);
    if (H5Pset_layout(dcpl, H5D_COMPACT) < 0) H5FAIL(loc, "cannot set the layout of '%s'", name);
    errno = 0;
    hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0)
        H5WFAIL(loc, "cannot write dataset '%s'", name);
    h5_seal_strings(d);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
}

/* An error is not an absence: a damaged object header fails here instead of reading as a file
 * without the link (and, say, a results file without its training curve). */
int h5_exists(hid_t loc, const char *name) {
    htri_t e = H5Lexists(loc, name, H5P_DEFAULT);
    if (e < 0) H5FAIL(loc, "cannot look up '%s'", name);
    return e > 0;
}

static hid_t open_1d(hid_t loc, const char *name, H5T_class_t cls, size_t size, int64_t want,
                     int64_t *n_out) {
    if (!h5_exists(loc, name)) H5FAIL(loc, "missing dataset '%s'", name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) H5FAIL(loc, "cannot open dataset '%s'", name);
    hid_t t = H5Dget_type(d);
    H5T_class_t c = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    int vlen = H5Tis_variable_str(t) > 0; /* their readers check them (texts: compact) */
    H5Tclose(t);
    if (c != cls || (size && sz != size))
        H5FAIL(loc, "dataset '%s' has type %s of %zu bytes, expected %s%s", name, class_name(c), sz,
               class_name(cls),
               size == 4   ? " of 4 bytes"
               : size == 8 ? " of 8 bytes"
                           : "");
    hid_t sp = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[8] = {0};
    if (nd != 1 && !(nd == 0 && cls == H5T_STRING))
        H5FAIL(loc, "dataset '%s' has %d dimensions, expected 1", name, nd);
    if (nd == 1) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    int64_t n = nd == 1 ? (int64_t)dims[0] : 1;
    if (want >= 0 && n != want)
        H5FAIL(loc, "dataset '%s' has %lld elements, expected %lld", name, (long long)n,
               (long long)want);
    h5_check_stored(loc, d, name, n, sz);
    if (nd == 1 && n > 0 && !vlen && !h5_has_checksum(d))
        H5FAIL(loc, "dataset '%s' carries no checksum (the Fletcher32 filter micl writes)", name);
    if (n_out) *n_out = n;
    return d;
}

static void *read_1d(hid_t loc, const char *name, H5T_class_t cls, hid_t mem, size_t esize,
                     int64_t want, int64_t *n_out) {
    int64_t n;
    hid_t d = open_1d(loc, name, cls, esize, want, &n);
    void *buf = micl_malloc((size_t)(n ? n : 1) * esize);
    if (n > 0 && H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        H5FAIL(loc, "cannot read dataset '%s'", name);
    H5Dclose(d);
    if (n_out) *n_out = n;
    return buf;
}

float *h5_read_f32(hid_t loc, const char *name, int64_t n, int64_t *n_out) {
    return read_1d(loc, name, H5T_FLOAT, H5T_NATIVE_FLOAT, 4, n, n_out);
}
double *h5_read_f64(hid_t loc, const char *name, int64_t n, int64_t *n_out) {
    return read_1d(loc, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 8, n, n_out);
}
int64_t *h5_read_i64(hid_t loc, const char *name, int64_t n, int64_t *n_out) {
    return read_1d(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, 8, n, n_out);
}
int32_t *h5_read_i32(hid_t loc, const char *name, int64_t n, int64_t *n_out) {
    return read_1d(loc, name, H5T_INTEGER, H5T_NATIVE_INT32, 4, n, n_out);
}

uint8_t *h5_read_u8(hid_t loc, const char *name, int64_t n, int64_t *n_out) {
    return read_1d(loc, name, H5T_INTEGER, H5T_NATIVE_UINT8, 1, n, n_out);
}

/* The longest string micl reads from a list (class names, words, benchmark names). */
#define H5_MAX_STRING 4096

char **h5_read_strings(hid_t loc, const char *name, int64_t *n_out) {
    int64_t n;
    hid_t d = open_1d(loc, name, H5T_STRING, 0, -1, &n);
    hid_t ft = H5Dget_type(d);
    size_t width = H5Tget_size(ft);
    H5T_cset_t cset = H5Tget_cset(ft); /* libhdf5 converts no character set */
    int vlen = H5Tis_variable_str(ft) != 0;
    H5Tclose(ft);
    if (vlen)
        H5FAIL(loc,
               "dataset '%s' holds variable-length strings; micl writes fixed-length ones, "
               "with a checksum",
               name);
    if (width < 1 || width > H5_MAX_STRING || cset < 0)
        H5FAIL(loc, "dataset '%s' has strings of %zu bytes, expected 1 .. %d", name, width,
               H5_MAX_STRING);
    hid_t t = fixed_str_type(width, cset);
    char *buf = micl_malloc((size_t)(n ? n : 1) * width);
    if (n > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        H5FAIL(loc, "cannot read dataset '%s'", name);
    char **out = micl_calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int64_t i = 0; i < n; i++) {
        const char *p = buf + (size_t)i * width;
        size_t len = strnlen(p, width);
        out[i] = micl_malloc(len + 1);
        memcpy(out[i], p, len);
        out[i][len] = '\0';
    }
    free(buf);
    H5Tclose(t);
    H5Dclose(d);
    *n_out = n;
    return out;
}

char *h5_read_text(hid_t loc, const char *name) {
    int64_t n;
    hid_t d = open_1d(loc, name, H5T_STRING, 0, -1, &n);
    if (n != 1)
        H5FAIL(loc, "dataset '%s' holds %lld strings, expected one text", name, (long long)n);
    hid_t dcpl = H5Dget_create_plist(d);
    H5D_layout_t layout = dcpl < 0 ? H5D_LAYOUT_ERROR : H5Pget_layout(dcpl);
    if (dcpl >= 0) H5Pclose(dcpl);
    hid_t ft = H5Dget_type(d);
    int vlen = H5Tis_variable_str(ft) > 0;
    H5Tclose(ft);
    if (!vlen || layout != H5D_COMPACT) /* else its heap reference would be read unchecked */
        H5FAIL(loc,
               "dataset '%s' is not a text as micl writes one (a compact variable-length "
               "string)",
               name);
    h5_check_strings(d);
    hid_t t = h5_vlen_str_type();
    char *s = NULL;
    if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s)
        H5FAIL(loc, "cannot read dataset '%s'", name);
    char *out = micl_strdup(s);
    H5free_memory(s);
    H5Tclose(t);
    H5Dclose(d);
    return out;
}

void h5_check_kind(hid_t f, const char *path, const char *kind, const char *what, int64_t version) {
    if (!h5_has_attr(f, "kind")) micl_fatal("%s: not a micl %s (no 'kind' attribute)", path, what);
    /* The kind and version before the strings' checksum, which another version of the file
     * may not carry; a kind that differs is reported as such only if the strings are whole. */
    char *k = read_attr_str(f, "kind", 0);
    if (strcmp(k, kind) != 0) {
        h5_check_strings(f);
        micl_fatal("%s: not a micl %s (kind '%s')", path, what, k);
    }
    free(k);
    int64_t ver = h5_read_attr_int(f, "schema_version");
    if (ver != version)
        micl_fatal("%s: %s schema version %lld, this micl reads version %lld", path, what,
                   (long long)ver, (long long)version);
    h5_check_strings(f);
}
