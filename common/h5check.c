/* h5check.c - the integrity checks of the HDF5 files micl writes (see h5check.h): whether a file
 * is in the checksummed format before libhdf5 parses it, the global heap pre-check, the CRC of
 * variable-length strings (which HDF5 does not checksum), the stored structure (version-2
 * headers, compact links and attributes, hard links only, no cycles), and the whole-file
 * verification. The checked helpers of h5util.c call these on every write and read; the two
 * files share their failure plumbing (h5util_internal.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "h5check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "error.h"
#include "h5util.h"
#include "h5util_internal.h"

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

/* ------------------------------------------------------------------------ the format */

/* The format micl writes (h5_create): the HDF5 1.10 file format (superblock version 3, version-2
 * object headers and the 1.10 chunk indexes), whose metadata carries checksums that libhdf5
 * verifies on every read. Objects carry no modification times, so the same content gives the same
 * bytes. */
#define H5_FORMAT_SUPERBLOCK 3

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
    hid_t t = h5_vlen_str_type();
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
    hid_t t = h5_vlen_str_type();
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

/* ------------------------------------------------------------- the data of datasets */

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

void h5_check_stored(hid_t loc, hid_t d, const char *name, int64_t n, size_t size) {
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
        h5_check_stored(f, d, full, n, size);
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
