/* h5util.c - checked HDF5 helpers (see h5util.h), and the closing of what is open when micl
 * exits on an error.
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

/* ": <strerror>" when a failed libhdf5 call left errno set (its sec2 driver passes on the
 * errno of write, pwrite and open: ENOSPC, EIO, EACCES), else "". Writers clear errno first. */
static void errno_words(int e, char *buf, size_t len) {
    if (e)
        snprintf(buf, len, ": %s", strerror(e));
    else
        buf[0] = '\0';
}

/* ---------------------------------------------------------------- checksums: the reasons */

/* libhdf5 reports a metadata checksum mismatch as "incorrect metadata checksum ..." and a data
 * one as "data error detected by Fletcher32 checksum"; both name the word. */
static herr_t find_checksum(unsigned n, const H5E_error2_t *e, void *hit) {
    (void)n;
    if (!e->desc) return 0;
    for (const char *p = e->desc; *p; p++)
        if (strncasecmp(p, "checksum", 8) == 0) {
            *(int *)hit = 1;
            break;
        }
    return 0;
}

const char *h5_damage_words(void) {
    int hit = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_checksum, &hit);
    return hit ? " (damaged: a checksum does not match what is stored)" : "";
}

/* errno_words into a buffer of its own, for the failure that follows (no second call). */
static const char *errno_suffix(int e) {
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

/* Fails with "<file>:<object>: <message><suffix>", as micl_fatal at the caller's file:line. */
__attribute__((format(printf, 5, 6), noreturn)) static void
fail_at(const char *src, int line, hid_t loc, const char *suffix, const char *fmt, ...) {
    char w[800], m[512];
    where(loc, w, sizeof w);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    micl_fatal_at(src, line, "%s: %s%s", w, m, suffix);
}

/* The suffix is taken before fail_at runs: where()'s calls clear libhdf5's error stack. */
#define H5FAIL(loc, ...) fail_at(__FILE__, __LINE__, loc, h5_damage_words(), __VA_ARGS__)
/* For writers, which clear errno before the call: the system's reason is added. */
#define H5WFAIL(loc, ...) fail_at(__FILE__, __LINE__, loc, errno_suffix(errno), __VA_ARGS__)

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

/* The format micl writes: the HDF5 1.10 file format (superblock version 3, version-2 object
 * headers and the 1.10 chunk indexes), whose metadata carries checksums that libhdf5 verifies on
 * every read. Objects carry no modification times, so the same content gives the same bytes. */
#define H5_FORMAT_SUPERBLOCK 3

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

/* The superblock's version, read from the file itself before libhdf5 parses anything: the
 * signature sits at byte 0 or, after a user block, at 512, 1024, 2048, ...; the version is the
 * byte after it. -1 when no signature is found or the file cannot be read. */
int h5_superblock_version(const char *path) {
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    int version = -1;
    unsigned char buf[9];
    for (long off = 0; version < 0; off = off ? off * 2 : 512) {
        if (fseek(f, off, SEEK_SET) != 0 || fread(buf, 1, sizeof buf, f) != sizeof buf) break;
        if (memcmp(buf, sig, sizeof sig) == 0) version = buf[8];
    }
    fclose(f);
    return version;
}

int h5_format_ok(const char *path) {
    return h5_superblock_version(path) >= H5_FORMAT_SUPERBLOCK;
}

void h5_check_format(const char *path) {
    int v = h5_superblock_version(path);
    if (v >= 0 && v < H5_FORMAT_SUPERBLOCK)
        micl_fatal("%s: an HDF5 file without checksums (superblock version %d): micl reads only "
                   "files in the HDF5 1.10 format it writes (superblock version %d), whose "
                   "damage can be detected; rebuild it with this micl (stores: `micl data "
                   "prepare`), or rewrite a copy you trust with scripts/micl_upgrade.py",
                   path, v, H5_FORMAT_SUPERBLOCK);
}

/* ------------------------------------------------------------------ global heap pre-check */

/* Variable-length strings live in global heap collections ("GCOL", version 1, reserved 0, a
 * 64-bit size, then objects of: 16-bit index, 16-bit count, 4 reserved bytes, 64-bit size, data
 * padded to 8 bytes; index 0 is the free space). libhdf5 1.10 trusts the object sizes when it
 * loads a collection: a size of 0 in the free-space object loops forever, and sizes past the
 * collection make it copy outside its buffer. So before the library reads a file, every
 * collection in it is walked here and a file with an inconsistent one is refused. */
#define GCOL_HDR 16
#define GCOL_OBJ_HDR 16
#define GCOL_MIN_SIZE 4096

static uint64_t le_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* 1 if the objects of the collection in buf[0..size) tile it as libhdf5 will walk them. */
static int gcol_ok(const unsigned char *buf, uint64_t size) {
    for (uint64_t p = GCOL_HDR; p + GCOL_OBJ_HDR <= size;) {
        unsigned idx = (unsigned)buf[p] | (unsigned)buf[p + 1] << 8;
        uint64_t osize = le_u64(buf + p + 8);
        if (osize > size) return 0;
        uint64_t need = idx ? GCOL_OBJ_HDR + ((osize + 7) & ~(uint64_t)7) : osize;
        if (need < GCOL_OBJ_HDR || need > size - p) return 0;
        p += need;
    }
    return 1;
}

/* A collection larger than this is taken as damaged: libhdf5 makes 4 KiB collections and a
 * larger one only for one larger object, and no string micl reads comes near. */
#define GCOL_MAX_SIZE (UINT64_C(1) << 28)

/* Checks the collection at file offset off whose first len bytes are in buf: 1 consistent,
 * 0 damaged, -1 not a collection header; 2 when more than len bytes are needed. */
static int gcol_check(FILE *f, const unsigned char *buf, size_t len, uint64_t off, uint64_t fsize) {
    if (len < GCOL_HDR) return fsize - off < GCOL_HDR ? 0 : 2;
    if (buf[4] != 1 || buf[5] || buf[6] || buf[7]) return -1;
    uint64_t size = le_u64(buf + 8);
    if (size < GCOL_MIN_SIZE || size > fsize - off || size > GCOL_MAX_SIZE) return 0;
    if (size <= len) return gcol_ok(buf, size);
    unsigned char *col = malloc((size_t)size);
    if (!col) return 1; /* no verdict; libhdf5 will need the memory too */
    int ok = fseek(f, (long)off, SEEK_SET) == 0 && fread(col, 1, (size_t)size, f) == size
                 ? gcol_ok(col, size)
                 : 1;
    free(col);
    return ok;
}

int h5_heaps_ok(const char *path, uint64_t *bad_offset) {
    enum { CHUNK = 1 << 20, OVERLAP = GCOL_HDR };
    FILE *f = fopen(path, "rb");
    if (!f) return 1; /* no verdict: the caller reports a missing file */
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    unsigned char *buf = malloc(CHUNK + OVERLAP);
    int ok = 1;
    for (uint64_t base = 0; ok == 1 && end > 0 && buf && base < (uint64_t)end; base += CHUNK) {
        uint64_t left = (uint64_t)end - base;
        size_t want = left < CHUNK + OVERLAP ? (size_t)left : CHUNK + OVERLAP;
        if (fseek(f, (long)base, SEEK_SET) != 0 || fread(buf, 1, want, f) != want) break;
        for (size_t i = 0; ok == 1 && i + 4 <= want && i < CHUNK; i++) {
            if (buf[i] != 'G' || memcmp(buf + i, "GCOL", 4) != 0) continue;
            int r = gcol_check(f, buf + i, want - i, base + i, (uint64_t)end);
            if (r == 0) {
                ok = 0;
                if (bad_offset) *bad_offset = base + i;
            }
        }
    }
    free(buf);
    fclose(f);
    return ok;
}

void h5_check_heaps(const char *path) {
    uint64_t off = 0;
    if (!h5_heaps_ok(path, &off))
        micl_fatal("%s: damaged HDF5 file: the global heap collection at byte %llu (where "
                   "variable-length strings live) is inconsistent",
                   path, (unsigned long long)off);
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

static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

void h5_attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = vlen_str_type();
    write_attr(loc, name, t, &v);
    H5Tclose(t);
    h5_seal_strings(loc);
}

/* ------------------------------------------------------------- checksums: the strings */

/* Variable-length strings live in global heap collections, which carry no checksum in any HDF5
 * format; their heap references sit in object headers, which do (attributes, and texts in
 * compact datasets: h5_write_text). So an object holding such strings carries STRINGS_CRC in
 * its header: the CRC-32 (zlib's) of, for a variable-length string dataset (a text), its strings
 * in order, each with its NUL; then, in the order of their names, each variable-length string
 * attribute but this one, as name NUL value NUL. */
#define STRINGS_CRC "strings_crc32"

static uLong crc_str(uLong crc, const char *s) {
    return crc32_z(crc, (const Bytef *)(s ? s : ""), (s ? strlen(s) : 0) + 1);
}

/* 1 if the type t is a variable-length string; closes t. */
static int take_vlen(hid_t t) {
    int vlen = t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (t >= 0) H5Tclose(t);
    return vlen;
}

/* The number of elements of the dataspace sp (-1 on error); closes sp. */
static hssize_t take_points(hid_t sp) {
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    return n;
}

/* Adds the strings of the string dataset d; -1 when they cannot be read. */
static int crc_dataset(hid_t d, uLong *crc, int64_t *count) {
    if (!take_vlen(H5Dget_type(d))) return 0;
    hssize_t n = take_points(H5Dget_space(d));
    if (n < 0) return -1;
    if (n == 0) return 0;
    hid_t t = vlen_str_type();
    char **v = micl_calloc((size_t)n, sizeof *v);
    int rc = H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0 ? -1 : 0;
    for (hssize_t i = 0; i < n; i++) {
        if (rc == 0) *crc = crc_str(*crc, v[i]);
        if (v[i]) H5free_memory(v[i]);
    }
    free(v);
    H5Tclose(t);
    *count += n;
    return rc;
}

/* Adds the attribute a if it is a variable-length string (the scalars micl writes); -1 when it
 * cannot be read. */
static int crc_attr(hid_t a, uLong *crc, int64_t *count) {
    char name[256];
    ssize_t len = H5Aget_name(a, sizeof name, name);
    if (len < 0 || (size_t)len >= sizeof name) return -1;
    if (strcmp(name, STRINGS_CRC) == 0 || !take_vlen(H5Aget_type(a))) return 0;
    if (take_points(H5Aget_space(a)) != 1) return -1;
    hid_t t = vlen_str_type();
    char *v = NULL;
    int rc = H5Aread(a, t, &v) < 0 ? -1 : 0;
    if (rc == 0) *crc = crc_str(crc_str(*crc, name), v);
    if (v) H5free_memory(v);
    H5Tclose(t);
    (*count)++;
    return rc;
}

/* The CRC of obj's strings (above) and how many there are; -1 when they cannot be read. */
static int strings_crc(hid_t obj, uLong *crc, int64_t *count) {
    *crc = crc32_z(0, NULL, 0);
    *count = 0;
    if (H5Iget_type(obj) == H5I_DATASET && crc_dataset(obj, crc, count) < 0) return -1;
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_NUM_ATTRS) < 0) return -1;
    for (hsize_t i = 0; i < info.num_attrs; i++) {
        hid_t a = H5Aopen_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0) return -1;
        int rc = crc_attr(a, crc, count);
        H5Aclose(a);
        if (rc < 0) return -1;
    }
    return 0;
}

void h5_seal_strings(hid_t obj) {
    uLong crc;
    int64_t count;
    if (strings_crc(obj, &crc, &count) < 0) H5FAIL(obj, "cannot read back its strings");
    if (count == 0) return;
    errno = 0;
    if (H5Aexists(obj, STRINGS_CRC) > 0 && H5Adelete(obj, STRINGS_CRC) < 0)
        H5WFAIL(obj, "cannot replace attribute '%s'", STRINGS_CRC);
    h5_attr_int(obj, STRINGS_CRC, (int64_t)crc);
}

void h5_check_strings(hid_t obj) {
    uLong crc;
    int64_t count;
    if (strings_crc(obj, &crc, &count) < 0) H5FAIL(obj, "cannot read its strings");
    if (count == 0) return;
    if (H5Aexists(obj, STRINGS_CRC) <= 0)
        H5FAIL(obj, "its strings carry no checksum (attribute '%s'; not written by this micl?)",
               STRINGS_CRC);
    if (h5_read_attr_int(obj, STRINGS_CRC) != (int64_t)crc)
        H5FAIL(obj, "damaged: the checksum of its strings (attribute '%s') does not match them",
               STRINGS_CRC);
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
        hid_t t = vlen_str_type();
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
    hid_t t = vlen_str_type();
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

int h5_has_checksum(hid_t d) {
    hid_t dcpl = H5Dget_create_plist(d);
    if (dcpl < 0) return 0;
    int n = H5Pget_nfilters(dcpl), found = 0;
    for (int i = 0; i < n && !found; i++) {
        unsigned flags, conf;
        size_t nv = 0;
        found = H5Pget_filter2(dcpl, (unsigned)i, &flags, &nv, NULL, 0, NULL, &conf) ==
                H5Z_FILTER_FLETCHER32;
    }
    H5Pclose(dcpl);
    return found;
}

/* Deflate packs at most about 1032:1; a dataset that claims more than this many times its stored
 * bytes was never written or is damaged, and reading it would only allocate what the header
 * claims (up to 2^64 bytes) to fill it with zeros. */
#define H5_MAX_EXPANSION 1100

/* Fails unless dataset d (n elements of size bytes in the file) holds data in proportion. */
static void check_stored(hid_t loc, hid_t d, const char *name, int64_t n, size_t size) {
    if (n == 0) return;
    if ((uint64_t)n > (uint64_t)INT64_MAX / (size ? size : 1) / H5_MAX_EXPANSION)
        H5FAIL(loc, "dataset '%s' claims %lld elements, more than micl can read", name,
               (long long)n);
    hsize_t stored = H5Dget_storage_size(d);
    if ((uint64_t)n * size > (uint64_t)stored * H5_MAX_EXPANSION)
        H5FAIL(loc,
               "dataset '%s' claims %lld elements (%llu bytes) but the file stores %llu bytes "
               "of it (never written, or damaged)",
               name, (long long)n, (unsigned long long)((uint64_t)n * size),
               (unsigned long long)stored);
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
    check_stored(loc, d, name, n, sz);
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
    hid_t t = vlen_str_type();
    char *s = NULL;
    if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) < 0 || !s)
        H5FAIL(loc, "cannot read dataset '%s'", name);
    char *out = micl_strdup(s);
    H5free_memory(s);
    H5Tclose(t);
    H5Dclose(d);
    return out;
}

/* Reads the whole of dataset d (the file f's object `name`) in its file type: libhdf5 verifies
 * its Fletcher32 checksums as it reads. */
static void verify_dataset(hid_t f, hid_t d, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "/%s", name);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t n = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    if (n < 0 || size == 0) H5FAIL(f, "cannot inspect dataset '%s'", full);
    if (n > 0 && H5Tis_variable_str(t) <= 0) {
        check_stored(f, d, full, n, size);
        void *buf = micl_malloc((size_t)n * size);
        if (H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
            H5FAIL(f, "cannot read dataset '%s'", full);
        free(buf);
    }
    H5Tclose(t);
    H5Sclose(sp);
}

/* ------------------------------------------------------- the structure micl writes */

/* The attribute info message: present with dense attribute storage (and with phase-change
 * limits other than libhdf5's defaults, as micl sets them). */
#define H5_MSG_AINFO 0x15
/* Deeper than any file micl writes (results: /runs/<run>/eval). */
#define H5_MAX_DEPTH 16

typedef struct {
    char **names; /* the objects below the root, full paths without the leading '/' */
    int *is_dataset;
    haddr_t *addrs; /* every object seen, the root first: a hard link back is a cycle */
    size_t n, cap, n_addrs;
} object_list_t;

/* Fails unless object obj (`name`) is stored as micl stores objects: a version-2 header (which
 * carries a checksum), its attributes and links in that header (compact), only hard links.
 * Reads only the header. Returns the object's type; records its address. */
static H5O_type_t check_object(hid_t f, hid_t obj, const char *name, object_list_t *l) {
    H5O_info_t info;
    if (H5Oget_info2(obj, &info, H5O_INFO_BASIC | H5O_INFO_HDR) < 0)
        H5FAIL(f, "cannot read the object header of '%s'", name);
    if (info.hdr.version != 2)
        H5FAIL(f, "'%s' has a version-%u object header, without a checksum (micl writes version 2)",
               name, info.hdr.version);
    if (info.type == H5O_TYPE_GROUP) {
        H5G_info_t gi;
        if (H5Gget_info(obj, &gi) < 0) H5FAIL(f, "cannot read the links of '%s'", name);
        if (gi.storage_type == H5G_STORAGE_TYPE_DENSE)
            H5FAIL(f, "'%s' keeps its links in dense storage, which micl never writes", name);
    }
    /* dense attributes: the attribute info message points at a heap and its index */
    if ((info.hdr.mesg.present & ((uint64_t)1 << H5_MSG_AINFO)) &&
        (H5Oget_info2(obj, &info, H5O_INFO_BASIC | H5O_INFO_META_SIZE) < 0 ||
         info.meta_size.attr.heap_size > 0 || info.meta_size.attr.index_size > 0))
        H5FAIL(f, "'%s' keeps its attributes in dense storage, which micl never writes", name);
    for (size_t i = 0; i < l->n_addrs; i++)
        if (l->addrs[i] == info.addr) H5FAIL(f, "'%s' links back to an object already seen", name);
    l->addrs = micl_realloc(l->addrs, (l->n_addrs + 1) * sizeof *l->addrs);
    l->addrs[l->n_addrs++] = info.addr;
    return info.type;
}

typedef struct {
    char **names;
    size_t n;
    int soft; /* a link that is not a hard link */
} link_names_t;

static herr_t collect_link(hid_t g, const char *name, const H5L_info_t *info, void *data) {
    (void)g;
    link_names_t *ln = data;
    if (info->type != H5L_TYPE_HARD) ln->soft = 1;
    ln->names = micl_realloc(ln->names, (ln->n + 1) * sizeof *ln->names);
    ln->names[ln->n++] = micl_strdup(name);
    return 0;
}

static void list_add(object_list_t *l, const char *name, int is_dataset) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->names = micl_realloc(l->names, l->cap * sizeof *l->names);
        l->is_dataset = micl_realloc(l->is_dataset, l->cap * sizeof *l->is_dataset);
    }
    l->names[l->n] = micl_strdup(name);
    l->is_dataset[l->n++] = is_dataset;
}

/* Walks group g (checked already; `prefix` is its path, "" for the root): checks and lists what
 * it holds. The links are listed first, then followed, so that a failed check never leaves
 * libhdf5 in the middle of an iteration (the fuzz harness jumps out of micl_fatal). */
static void walk(hid_t f, hid_t g, const char *prefix, int depth, object_list_t *l) {
    if (depth > H5_MAX_DEPTH) H5FAIL(f, "'%s' lies deeper than %d groups", prefix, H5_MAX_DEPTH);
    link_names_t ln = {0};
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_link, &ln) < 0)
        H5FAIL(f, "cannot list the links of '/%s'", prefix);
    if (ln.soft) H5FAIL(f, "'/%s' holds a soft or external link, which micl never writes", prefix);
    for (size_t i = 0; i < ln.n; i++) {
        char full[256];
        int len = snprintf(full, sizeof full, "%s%s%s", prefix, prefix[0] ? "/" : "", ln.names[i]);
        if (len < 0 || (size_t)len >= sizeof full)
            H5FAIL(f, "a path under '/%s' is longer than %zu bytes", prefix, sizeof full - 1);
        hid_t o = H5Oopen(g, ln.names[i], H5P_DEFAULT);
        if (o < 0) H5FAIL(f, "cannot open '/%s'", full);
        H5O_type_t type = check_object(f, o, full, l);
        list_add(l, full, type == H5O_TYPE_DATASET);
        if (type == H5O_TYPE_GROUP) walk(f, o, full, depth + 1, l);
        H5Oclose(o);
        free(ln.names[i]);
    }
    free(ln.names);
}

static void list_free(object_list_t *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->is_dataset);
    free(l->addrs);
}

void h5_check_structure(hid_t f) {
    object_list_t l = {0};
    check_object(f, f, "/", &l);
    walk(f, f, "", 0, &l);
    list_free(&l);
}

void h5_verify_all(hid_t f) {
    object_list_t l = {0};
    check_object(f, f, "/", &l);
    walk(f, f, "", 0, &l);
    h5_check_strings(f);
    for (size_t i = 0; i < l.n; i++) {
        hid_t o = H5Oopen(f, l.names[i], H5P_DEFAULT);
        if (o < 0) H5FAIL(f, "cannot open '/%s'", l.names[i]);
        h5_check_strings(o);
        if (l.is_dataset[i]) verify_dataset(f, o, l.names[i]);
        H5Oclose(o);
    }
    list_free(&l);
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
