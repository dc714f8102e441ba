/* make_hostile.c - writes the binary cases of the hostile-input corpus
 * (tests/hostile/hostile.cmake, tests/hostile/run.sh): broken image stores, checkpoints, results
 * files, IDX files, PNG headers, configs and predictions files that cannot be committed as text.
 * Each case starts from a good file that micl wrote (BASE) or from nothing, and breaks exactly one
 * thing.
 *
 *   make_hostile CASE OUT [BASE]
 *   make_hostile --list          (every case with what it exercises)
 *
 * HDF5 cases copy BASE to OUT and edit OUT in place with the plain HDF5 API, so the reader sees
 * a file that is well-formed HDF5 and wrong only in micl's terms.
 */
#define _POSIX_C_SOURCE 200809L
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/h5check.h"
#include "common/h5util.h"

static void die(const char *msg, const char *arg) {
    fprintf(stderr, "make_hostile: %s%s\n", msg, arg);
    exit(1);
}

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x)) die("failed: ", #x);                                                             \
    } while (0)

/* ------------------------------------------------------------------------------ plain bytes */

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open ", path);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    CHECK(len >= 0 && fseek(f, 0, SEEK_SET) == 0);
    unsigned char *b = malloc((size_t)len + 1);
    CHECK(b && fread(b, 1, (size_t)len, f) == (size_t)len && fclose(f) == 0);
    *n = (size_t)len;
    return b;
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create ", path);
    CHECK(fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

static void copy_file(const char *from, const char *to) {
    size_t n;
    unsigned char *b = slurp(from, &n);
    spit(to, b, n);
    free(b);
}

/* The first `num/den` of BASE. */
static void truncated_copy(const char *from, const char *to, size_t num, size_t den) {
    size_t n;
    unsigned char *b = slurp(from, &n);
    spit(to, b, n * num / den);
    free(b);
}

/* ------------------------------------------------------------------------------ HDF5 edits */

/* The edits keep micl's format (common/h5util.h): the HDF5 1.10 format, datasets chunked with
 * Fletcher32, string lists fixed-length, and each object's strings_crc32 set again by finish()
 * - so that each case reaches the check it is written for, not the checksums. */
static hid_t open_rw(const char *base, const char *out) {
    copy_file(base, out);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    CHECK(fapl >= 0 && H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) >= 0);
    hid_t f = H5Fopen(out, H5F_ACC_RDWR, fapl);
    CHECK(H5Pclose(fapl) >= 0);
    if (f < 0) die("cannot open as HDF5: ", out);
    return f;
}

static herr_t seal_object(hid_t root, const char *name, const H5O_info_t *info, void *unused) {
    (void)info, (void)unused;
    hid_t o = H5Oopen(root, name, H5P_DEFAULT);
    CHECK(o >= 0);
    h5_seal_strings(o);
    CHECK(H5Oclose(o) >= 0);
    return 0;
}

/* Seals the strings of every object of f (they may have changed) and closes it. */
static void finish(hid_t f) {
    CHECK(H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_INC, seal_object, NULL, H5O_INFO_BASIC) >= 0);
    CHECK(H5Fclose(f) >= 0);
}

static void drop_link(hid_t loc, const char *name) {
    if (H5Lexists(loc, name, H5P_DEFAULT) > 0) CHECK(H5Ldelete(loc, name, H5P_DEFAULT) >= 0);
}

/* Replaces dataset `name` by one of the given type and shape; data == NULL leaves it unwritten
 * (no storage allocated: the file stays small whatever the shape claims). */
static void put_dataset(hid_t loc, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                        hid_t mtype, const void *data) {
    drop_link(loc, name);
    hid_t sp = rank > 0 ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    CHECK(sp >= 0);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    CHECK(dcpl >= 0);
    int empty = rank == 0;
    hsize_t chunk[8];
    for (int i = 0; i < rank; i++) {
        empty |= dims[i] == 0;
        chunk[i] = dims[i] < 1024 ? dims[i] : 1024;
    }
    if (!empty && H5Tis_variable_str(ftype) <= 0)
        CHECK(H5Pset_chunk(dcpl, rank, chunk) >= 0 && H5Pset_fletcher32(dcpl) >= 0);
    hid_t d = H5Dcreate2(loc, name, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(d >= 0 && H5Pclose(dcpl) >= 0);
    if (data) CHECK(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    CHECK(H5Dclose(d) >= 0 && H5Sclose(sp) >= 0);
}

static void put_attr(hid_t loc, const char *name, hid_t type, const void *v) {
    if (H5Aexists(loc, name) > 0) CHECK(H5Adelete(loc, name) >= 0);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(sp >= 0 && a >= 0 && H5Awrite(a, type, v) >= 0);
    CHECK(H5Aclose(a) >= 0 && H5Sclose(sp) >= 0);
}

static void put_attr_i64(hid_t loc, const char *name, int64_t v) {
    put_attr(loc, name, H5T_NATIVE_INT64, &v);
}

static void put_attr_f64(hid_t loc, const char *name, double v) {
    put_attr(loc, name, H5T_NATIVE_DOUBLE, &v);
}

static hid_t vlen_str(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    CHECK(t >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0);
    return t;
}

/* The list of fixed-length strings `name` (as micl writes them), NUL-terminated copies. */
static char **grab_strings(hid_t loc, const char *name, hsize_t *n) {
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(d >= 0);
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    size_t w = H5Tget_size(t);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    CHECK(np >= 0 && w > 0);
    char *buf = calloc((size_t)np + 1, w);
    char **out = calloc((size_t)np + 1, sizeof *out);
    CHECK(buf && out && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    for (hssize_t i = 0; i < np; i++) {
        out[i] = calloc(w + 1, 1);
        CHECK(out[i]);
        memcpy(out[i], buf + (size_t)i * w, w);
    }
    free(buf);
    CHECK(H5Tclose(t) >= 0 && H5Sclose(sp) >= 0 && H5Dclose(d) >= 0);
    *n = (hsize_t)np;
    return out;
}

/* Replaces `name` by the n strings v, written as micl writes lists (h5_write_strings). */
static void put_strings(hid_t loc, const char *name, char *const *v, hsize_t n) {
    drop_link(loc, name);
    h5_write_strings(loc, name, v, (int64_t)n);
}

static void put_attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = vlen_str();
    put_attr(loc, name, t, &v);
    CHECK(H5Tclose(t) >= 0);
}

/* Sets element i of the 1-D float dataset `name` to v. */
static void poke_f32(hid_t loc, const char *name, hsize_t i, float v) {
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(d >= 0);
    hid_t fs = H5Dget_space(d);
    hsize_t one = 1;
    hid_t ms = H5Screate_simple(1, &one, NULL);
    CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, &i, NULL, &one, NULL) >= 0);
    CHECK(H5Dwrite(d, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &v) >= 0);
    CHECK(H5Sclose(ms) >= 0 && H5Sclose(fs) >= 0 && H5Dclose(d) >= 0);
}

/* Reads the whole of dataset `name` as mtype into a new buffer; *n gets the element count. */
static void *grab(hid_t loc, const char *name, hid_t mtype, hsize_t *n) {
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    CHECK(d >= 0);
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    CHECK(np >= 0);
    void *b = malloc(((size_t)np + 1) * H5Tget_size(mtype));
    CHECK(b && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0);
    CHECK(H5Sclose(sp) >= 0 && H5Dclose(d) >= 0);
    *n = (hsize_t)np;
    return b;
}

static hid_t group(hid_t f, const char *name) {
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    if (g < 0) die("no group ", name);
    return g;
}

/* ------------------------------------------------------------------------- image stores */

static void store_huge_count(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t dims[3] = {(hsize_t)1 << 40, 16, 16};
    put_dataset(f, "/images", H5T_STD_U8LE, 3, dims, 0, NULL);
    finish(f);
}

static void store_huge_image(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t dims[3] = {1, 100000, 100000};
    put_dataset(f, "/images", H5T_STD_U8LE, 3, dims, 0, NULL);
    finish(f);
}

static void store_zero_images(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t dims[3] = {0, 16, 16};
    put_dataset(f, "/images", H5T_STD_U8LE, 3, dims, 0, NULL);
    finish(f);
}

static void store_unwritten_images(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t dims[3] = {(hsize_t)1 << 26, 16, 16}; /* 16 GiB claimed, none stored */
    put_dataset(f, "/images", H5T_STD_U8LE, 3, dims, 0, NULL);
    finish(f);
}

static void store_images_float(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    uint8_t *px = grab(f, "/images", H5T_NATIVE_UINT8, &n);
    float *fl = malloc(n * sizeof *fl);
    CHECK(fl);
    for (hsize_t i = 0; i < n; i++)
        fl[i] = px[i] / 255.0f;
    hsize_t dims[3] = {n / 256, 16, 16};
    put_dataset(f, "/images", H5T_IEEE_F32LE, 3, dims, H5T_NATIVE_FLOAT, fl);
    finish(f);
    free(px);
    free(fl);
}

static void store_images_scalar(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    uint8_t v = 7;
    put_dataset(f, "/images", H5T_STD_U8LE, 0, NULL, H5T_NATIVE_UINT8, &v);
    finish(f);
}

static void store_schema_string(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_str(f, "schema_version", "1");
    finish(f);
}

static void store_source_int(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "source", 42);
    finish(f);
}

static void store_class_name_not_utf8(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    char **names = grab_strings(f, "class_names", &n);
    names[0] = "\xff\xfe-latin1-\xe9";
    put_strings(f, "class_names", names, n);
    finish(f);
}

static void store_split_out_of_range(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    uint8_t *sp = grab(f, "/split", H5T_NATIVE_UINT8, &n);
    sp[n / 2] = 7;
    put_dataset(f, "/split", H5T_STD_U8LE, 1, &n, H5T_NATIVE_UINT8, sp);
    finish(f);
    free(sp);
}

static void store_labels_negative(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    int32_t *lab = grab(f, "/labels", H5T_NATIVE_INT32, &n);
    lab[3] = -1;
    put_dataset(f, "/labels", H5T_STD_I32LE, 1, &n, H5T_NATIVE_INT32, lab);
    finish(f);
    free(lab);
}

/* Offset of the first global heap collection ("GCOL") in b[0..n), where variable-length
 * strings live. */
/* Offset of the first global heap collection at or after `from`, or n if there is none. */
static size_t find_gcol_from(const unsigned char *b, size_t n, size_t from) {
    for (size_t i = from; i + 16 <= n; i++)
        if (memcmp(b + i, "GCOL", 4) == 0 && b[i + 4] == 1) return i;
    return n;
}

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* BASE with one object of its first global heap collection resized: the free-space object
 * (index 0) when free_space, else the first string; libhdf5 1.10 loops forever on a free space
 * of size 0 and copies past the collection for a string longer than it. */
static void heap_resize(const char *out, const char *base, int free_space, uint64_t size) {
    size_t n;
    unsigned char *b = slurp(base, &n);
    /* the first collection that has such an object (a full collection has no free space) */
    for (size_t c = find_gcol_from(b, n, 0); c < n; c = find_gcol_from(b, n, c + 4)) {
        size_t end = c + (size_t)get_le64(b + c + 8);
        if (end > n) continue;
        for (size_t p = c + 16; p + 16 <= end;) {
            unsigned idx = b[p] | (unsigned)b[p + 1] << 8;
            uint64_t osz = get_le64(b + p + 8);
            if ((idx == 0) == (free_space != 0)) {
                put_le64(b + p + 8, size);
                spit(out, b, n);
                free(b);
                return;
            }
            if (idx == 0) break; /* the free space ends the collection's objects */
            p += 16 + (size_t)((osz + 7) & ~(uint64_t)7);
        }
    }
    die("no such heap object in ", base);
}

static void heap_zero_free(const char *out, const char *base) {
    heap_resize(out, base, 1, 0);
}

static void heap_overrun(const char *out, const char *base) {
    heap_resize(out, base, 0, 1u << 20);
}

/* --------------------------------------------------------------------------- checkpoints */

static void ckpt_inf_adam(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    poke_f32(f, "adam_v", 7, INFINITY);
    finish(f);
}

static void ckpt_model_attr(const char *out, const char *base, const char *name, int64_t v) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "model");
    put_attr_i64(g, name, v);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void ckpt_dim_mismatch(const char *out, const char *base) {
    ckpt_model_attr(out, base, "dim", 64); /* the tensors are those of dim = 32 */
}

static void ckpt_huge_dim(const char *out, const char *base) {
    ckpt_model_attr(out, base, "dim", INT64_C(1) << 40);
}

static void ckpt_huge_layers(const char *out, const char *base) {
    ckpt_model_attr(out, base, "layers", 100000);
}

static void ckpt_params_double(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    double *p = grab(f, "params", H5T_NATIVE_DOUBLE, &n);
    put_dataset(f, "params", H5T_IEEE_F64LE, 1, &n, H5T_NATIVE_DOUBLE, p);
    finish(f);
    free(p);
}

static void ckpt_params_rank2(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hsize_t n;
    float *p = grab(f, "params", H5T_NATIVE_FLOAT, &n);
    hsize_t dims[2] = {n % 2 == 0 ? n / 2 : n, n % 2 == 0 ? 2 : 1}; /* a rank-2 matrix */
    put_dataset(f, "params", H5T_IEEE_F32LE, 2, dims, H5T_NATIVE_FLOAT, p);
    finish(f);
    free(p);
}

static void ckpt_kind_int(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "kind", 1);
    finish(f);
}

static void ckpt_schema_v9(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "schema_version", 9);
    finish(f);
}

static void ckpt_config_array(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t t = vlen_str();
    const char *text[3] = {"name = \"a\";", "seed = 1;", "runs = ();"};
    hsize_t n = 3;
    put_dataset(f, "config", t, 1, &n, t, text);
    CHECK(H5Tclose(t) >= 0);
    finish(f);
}

static void ckpt_vocab_negative(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "vocab");
    put_attr_i64(g, "first_real", -4);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void ckpt_vocab_words_short(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "vocab");
    hsize_t n;
    char **w = grab_strings(g, "words", &n);
    put_strings(g, "words", w, n - 1);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void ckpt_stage_out_of_range(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "stage", 99);
    finish(f);
}

static void ckpt_stage_beyond_run(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "stage", 3); /* a valid stage index, but run base has one stage */
    finish(f);
}

static void ckpt_step_negative(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "step", -5);
    finish(f);
}

static void ckpt_stage_acc_nan(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_f64(f, "stage_acc", NAN);
    finish(f);
}

static void ckpt_progress_short(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "progress");
    hsize_t n;
    double *loss = grab(g, "loss", H5T_NATIVE_DOUBLE, &n);
    CHECK(n >= 1);
    n -= 1;
    put_dataset(g, "loss", H5T_IEEE_F64LE, 1, &n, H5T_NATIVE_DOUBLE, loss);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
    free(loss);
}

/* ---------------------------------------------------------------------------- results */

static void results_schema_string(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_str(f, "schema_version", "1");
    finish(f);
}

static void results_schema_v0(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    put_attr_i64(f, "schema_version", 0);
    finish(f);
}

static void results_rows_mismatch(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "runs/base/eval");
    hsize_t n;
    char **b = grab_strings(g, "benchmark", &n);
    CHECK(n > 1);
    put_strings(g, "benchmark", b, 1); /* every other column keeps its length */
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void results_episode_start_off(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "runs/base/eval");
    hsize_t n;
    int64_t *start = grab(g, "episode_start", H5T_NATIVE_INT64, &n);
    CHECK(n > 1);
    start[1] += 1; /* row 1 would overlap row 0's prompts by one */
    put_dataset(g, "episode_start", H5T_STD_I64LE, 1, &n, H5T_NATIVE_INT64, start);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
    free(start);
}

static void results_too_many_rows(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "runs/base/eval");
    enum { N = 200 };
    static char *s[N];
    for (int i = 0; i < N; i++)
        s[i] = "glyphs";
    put_strings(g, "benchmark", s, N);
    put_strings(g, "dataset", s, N);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void results_curve_huge(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "runs/base/train");
    hsize_t n = (hsize_t)1 << 40;
    put_dataset(g, "step", H5T_STD_I64LE, 1, &n, 0, NULL);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

static void results_run_missing(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    char *names[2] = {"base", "ghost"};
    put_strings(f, "run_names", names, 2);
    finish(f);
}

static void results_run_names_int(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    int32_t v[2] = {1, 2};
    hsize_t n = 2;
    put_dataset(f, "run_names", H5T_STD_I32LE, 1, &n, H5T_NATIVE_INT32, v);
    finish(f);
}

static void results_run_is_dataset(const char *out, const char *base) {
    hid_t f = open_rw(base, out);
    hid_t g = group(f, "runs");
    int32_t v = 1;
    hsize_t n = 1;
    CHECK(H5Ldelete(g, "base", H5P_DEFAULT) >= 0);
    put_dataset(g, "base", H5T_STD_I32LE, 1, &n, H5T_NATIVE_INT32, &v);
    CHECK(H5Gclose(g) >= 0);
    finish(f);
}

/* --------------------------------------------------------------------------- IDX files */

/* An IDX file of unsigned bytes: dims[0..ndim), payload filled with `fill` (labels cycle 0..9
 * when fill < 0), gzip-compressed when the name ends in .gz. */
static void write_idx(const char *path, int ndim, const uint32_t *dims, int fill,
                      int64_t payload_override) {
    size_t head = 4 + 4 * (size_t)ndim;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    if (payload_override >= 0) n = payload_override;
    unsigned char *b = malloc(head + (size_t)n + 1);
    CHECK(b);
    b[0] = b[1] = 0, b[2] = 8, b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        for (int k = 0; k < 4; k++)
            b[4 + 4 * i + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
    for (int64_t i = 0; i < n; i++)
        b[head + (size_t)i] = (unsigned char)(fill < 0 ? i % 10 : fill);
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0) {
        gzFile g = gzopen(path, "wb");
        if (!g) die("cannot create ", path);
        CHECK(gzwrite(g, b, (unsigned)(head + (size_t)n)) == (int)(head + (size_t)n));
        CHECK(gzclose(g) == Z_OK);
    } else {
        spit(path, b, head + (size_t)n);
    }
    free(b);
}

/* OUT is a directory: the four Fashion-MNIST files, small and well-formed (20 train and 10 test
 * images of 16x16). The idx_* cases replace one of them. */
static void idx_good_set(const char *out, const char *base) {
    (void)base;
    char p[1024];
    /* 4 test images per class: the tiny config's evaluation (up to 2 shots) shows none twice */
    uint32_t tr[3] = {20, 16, 16}, te[3] = {40, 16, 16}, trl = 20, tel = 40;
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", out);
    write_idx(p, 3, tr, 128, -1);
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte.gz", out);
    write_idx(p, 1, &trl, -1, -1);
    snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte.gz", out);
    write_idx(p, 3, te, 64, -1);
    snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte.gz", out);
    write_idx(p, 1, &tel, -1, -1);
}

static void idx_short_header(const char *out, const char *base) {
    (void)base;
    spit(out, "\0\0\x08\x03\0\0", 6);
}

static void idx_labels_short(const char *out, const char *base) {
    (void)base;
    uint32_t n = 19;
    write_idx(out, 1, &n, -1, -1);
}

static void idx_label_out_of_range(const char *out, const char *base) {
    (void)base;
    uint32_t n = 20;
    write_idx(out, 1, &n, 10, -1);
}

static void idx_dims_overflow(const char *out, const char *base) {
    (void)base;
    uint32_t d[3] = {65536, 65536, 65536}; /* 2^48 bytes claimed, none present */
    write_idx(out, 3, d, 0, 0);
}

static void idx_test_size_differs(const char *out, const char *base) {
    (void)base;
    uint32_t d[3] = {40, 14, 14}; /* as many as idx_good_set's t10k labels */
    write_idx(out, 3, d, 64, -1);
}

static void idx_labels_rank3(const char *out, const char *base) {
    (void)base;
    uint32_t d[3] = {20, 1, 1};
    write_idx(out, 3, d, -1, -1);
}

static void idx_plain_truncated(const char *out, const char *base) {
    (void)base;
    uint32_t d[3] = {20, 16, 16};
    write_idx(out, 3, d, 9, 20 * 256 - 100);
}

/* ------------------------------------------------------------------------- images, configs */

static void put_be32(unsigned char *p, uint32_t v) {
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (24 - 8 * k));
}

/* A PNG whose IHDR says width 0 (CRC correct, so only the value is wrong). */
static void png_zero_width(const char *out, const char *base) {
    (void)base;
    unsigned char b[8 + 25 + 12];
    memcpy(b, "\x89PNG\r\n\x1a\n", 8);
    put_be32(b + 8, 13);
    memcpy(b + 12, "IHDR", 4);
    put_be32(b + 16, 0);
    put_be32(b + 20, 16);
    memcpy(b + 24, "\x08\x00\x00\x00\x00", 5);
    put_be32(b + 29, (uint32_t)crc32(0, b + 12, 17));
    put_be32(b + 33, 0);
    memcpy(b + 37, "IEND", 4);
    put_be32(b + 41, (uint32_t)crc32(0, b + 37, 4));
    spit(out, b, sizeof b);
}

/* `depth` times `open`, then as many times `close`: nesting as deep as a reader may meet. */
static void nest(FILE *f, const char *open, const char *close, int depth) {
    for (int i = 0; i < depth; i++)
        fputs(open, f);
    for (int i = 0; i < depth; i++)
        fputs(close, f);
}

static void config_deep_nesting(const char *out, const char *base) {
    (void)base;
    enum { DEPTH = 20000 };
    FILE *f = fopen(out, "w");
    if (!f) die("cannot create ", out);
    fputs("# 20000 nested groups\nname = \"deep\";\n", f);
    nest(f, "g = {", "};", DEPTH);
    fputs("\n", f);
    CHECK(fclose(f) == 0);
}

static void config_nul_byte(const char *out, const char *base) {
    (void)base;
    static const char text[] = "# a NUL byte inside a string on line 2\nname = \"ti\0ny\";\n";
    spit(out, text, sizeof text - 1);
}

static void config_binary(const char *out, const char *base) {
    (void)base;
    unsigned char b[512];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof b; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (unsigned char)(x >> 16);
    }
    spit(out, b, sizeof b);
}

/* ------------------------------------------------------------------------ predictions files */

/* The start of a good line: an id that is an episode of the tiny config's fsicl cells. */
#define PRED_ID "{\"id\": \"fsicl-w2-s1-e000000-v0\", "
#define PRED_GOOD PRED_ID "\"prediction\": \"A\"}\n"

static void pred_text(const char *out, const char *text, size_t n) {
    spit(out, text, n);
}
#define PRED_CASE(name, text)                                                                      \
    static void name(const char *out, const char *base) {                                          \
        (void)base;                                                                                \
        static const char t[] = text;                                                              \
        pred_text(out, t, sizeof t - 1);                                                           \
    }

PRED_CASE(pred_nul_byte,
          PRED_GOOD "{\"id\": \"fsicl-w2-s1-e000001-v0\", \"predic\0tion\": \"A\"}\n")
PRED_CASE(pred_not_utf8, PRED_ID "\"prediction\": \"caf\xe9\"}\n")
PRED_CASE(pred_duplicate_key, PRED_ID "\"prediction\": \"A\", \"prediction\": \"B\"}\n")
PRED_CASE(pred_nested_duplicate, PRED_ID "\"prediction\": \"A\", \"x\": [{\"k\": 1, \"k\": 2}]}\n")
PRED_CASE(pred_escaped_nul, PRED_ID "\"prediction\": \"A\\u0000B\"}\n")
PRED_CASE(pred_lone_surrogate, PRED_ID "\"prediction\": \"\\ud800\"}\n")
PRED_CASE(pred_not_object, PRED_GOOD "\n[\"fsicl-w2-s1-e000001-v0\", \"A\"]\n")
PRED_CASE(pred_bom_second_line, PRED_GOOD "\xef\xbb\xbf" PRED_GOOD)
PRED_CASE(pred_truncated, PRED_GOOD "{\"id\": \"fsicl-w2-s1-e000001-v0\", \"predic")

/* One line of 200 MiB: a prediction that never ends. */
static void pred_long_line(const char *out, const char *base) {
    (void)base;
    enum { CHUNK = 1 << 20, CHUNKS = 200 };
    char *b = malloc(CHUNK);
    CHECK(b);
    memset(b, 'A', CHUNK);
    FILE *f = fopen(out, "wb");
    if (!f) die("cannot create ", out);
    fputs(PRED_ID "\"prediction\": \"", f);
    for (int i = 0; i < CHUNKS; i++)
        CHECK(fwrite(b, 1, CHUNK, f) == CHUNK);
    fputs("\"}\n", f);
    CHECK(fclose(f) == 0);
    free(b);
}

/* 100000 nested arrays in a member micl ignores. */
static void pred_deep_nesting(const char *out, const char *base) {
    (void)base;
    enum { DEPTH = 100000 };
    FILE *f = fopen(out, "wb");
    if (!f) die("cannot create ", out);
    fputs(PRED_ID "\"prediction\": \"A\", \"x\": ", f);
    nest(f, "[", "]", DEPTH);
    fputs("}\n", f);
    CHECK(fclose(f) == 0);
}

/* A sparse file one byte larger than 1 GiB (takes no disk space). */
static void pred_huge_file(const char *out, const char *base) {
    (void)base;
    FILE *f = fopen(out, "wb");
    if (!f) die("cannot create ", out);
    fputs(PRED_GOOD, f);
    CHECK(fflush(f) == 0 && ftruncate(fileno(f), ((off_t)1 << 30) + 1) == 0 && fclose(f) == 0);
}

/* 100000 well-formed lines with distinct ids: more than the episodes to score. */
static void pred_too_many(const char *out, const char *base) {
    (void)base;
    FILE *f = fopen(out, "wb");
    if (!f) die("cannot create ", out);
    for (int i = 0; i < 100000; i++)
        fprintf(f, "{\"id\": \"fsicl-w2-s1-e%06d-v0\", \"prediction\": \"A\"}\n", i);
    CHECK(fclose(f) == 0);
}

/* ------------------------------------------------------------------------------ table */

static void empty(const char *out, const char *base) {
    (void)base;
    spit(out, "", 0);
}

static void half(const char *out, const char *base) {
    truncated_copy(base, out, 1, 2);
}

static void text(const char *out, const char *base) {
    (void)base;
    spit(out, "this is not HDF5\n", 17);
}

typedef struct {
    const char *name;
    void (*make)(const char *out, const char *base);
    int needs_base;
    const char *what;
} gen_case_t;

static const gen_case_t k_cases[] = {
    {"empty", empty, 0, "an empty file"},
    {"half", half, 1, "the first half of BASE (truncated file)"},
    {"text", text, 0, "a text file (not HDF5)"},
    {"store_huge_count", store_huge_count, 1, "/images claims 2^40 images (no data stored)"},
    {"store_huge_image", store_huge_image, 1, "/images claims one image of 100000x100000"},
    {"store_zero_images", store_zero_images, 1, "/images has shape [0, 16, 16]"},
    {"store_unwritten_images", store_unwritten_images, 1,
     "/images claims 2^26 images of 16x16 (16 GiB) that were never written"},
    {"store_images_float", store_images_float, 1, "/images is float32 in [0, 1], not uint8"},
    {"store_images_scalar", store_images_scalar, 1, "/images is a scalar"},
    {"store_schema_string", store_schema_string, 1, "schema_version is the string \"1\""},
    {"store_source_int", store_source_int, 1, "the source attribute is an integer"},
    {"store_class_name_not_utf8", store_class_name_not_utf8, 1,
     "class name 0 holds Latin-1 bytes (not UTF-8)"},
    {"store_split_out_of_range", store_split_out_of_range, 1, "one image has split 7"},
    {"store_labels_negative", store_labels_negative, 1, "image 3 has label -1"},
    {"heap_zero_free", heap_zero_free, 1,
     "BASE whose first global heap collection has a free-space object of size 0"},
    {"heap_overrun", heap_overrun, 1,
     "BASE whose first variable-length string claims 1 MiB, past its heap collection"},
    {"ckpt_inf_adam", ckpt_inf_adam, 1, "adam_v[7] = +Inf"},
    {"ckpt_dim_mismatch", ckpt_dim_mismatch, 1, "/model dim = 64 but the tensors are for 32"},
    {"ckpt_huge_dim", ckpt_huge_dim, 1, "/model dim = 2^40 (does not fit an int)"},
    {"ckpt_huge_layers", ckpt_huge_layers, 1, "/model layers = 100000 (a huge model)"},
    {"ckpt_params_double", ckpt_params_double, 1, "params stored as float64"},
    {"ckpt_params_rank2", ckpt_params_rank2, 1, "params stored as a [n/2, 2] (or [n, 1]) matrix"},
    {"ckpt_kind_int", ckpt_kind_int, 1, "the kind attribute is an integer"},
    {"ckpt_schema_v9", ckpt_schema_v9, 1, "schema_version = 9 (a newer checkpoint)"},
    {"ckpt_config_array", ckpt_config_array, 1, "/config is an array of 3 strings, not one"},
    {"ckpt_vocab_negative", ckpt_vocab_negative, 1, "/vocab first_real = -4"},
    {"ckpt_vocab_words_short", ckpt_vocab_words_short, 1, "/vocab/words lacks its last word"},
    {"ckpt_stage_out_of_range", ckpt_stage_out_of_range, 1, "stage = 99 (the run has 1 stage)"},
    {"ckpt_stage_beyond_run", ckpt_stage_beyond_run, 1, "stage = 3 (the run has 1 stage)"},
    {"ckpt_step_negative", ckpt_step_negative, 1, "step = -5"},
    {"ckpt_stage_acc_nan", ckpt_stage_acc_nan, 1, "stage_acc = NaN"},
    {"ckpt_progress_short", ckpt_progress_short, 1, "/progress/loss one shorter than step"},
    {"results_schema_string", results_schema_string, 1, "schema_version is a string"},
    {"results_schema_v0", results_schema_v0, 1, "schema_version = 0 (another version)"},
    {"results_rows_mismatch", results_rows_mismatch, 1,
     "/runs/base/eval/benchmark has 1 row, the other columns more"},
    {"results_too_many_rows", results_too_many_rows, 1, "200 evaluation rows (limit 128)"},
    {"results_episode_start_off", results_episode_start_off, 1,
     "/runs/base/eval/episode_start[1] one past the end of row 0"},
    {"results_curve_huge", results_curve_huge, 1, "/runs/base/train/step claims 2^40 entries"},
    {"results_run_missing", results_run_missing, 1, "run_names lists a run with no group"},
    {"results_run_names_int", results_run_names_int, 1, "run_names is an int32 dataset"},
    {"results_run_is_dataset", results_run_is_dataset, 1, "/runs/base is a dataset, not a group"},
    {"idx_good_set", idx_good_set, 0, "OUT/: four small well-formed Fashion-MNIST IDX files"},
    {"idx_short_header", idx_short_header, 0, "6 bytes: the header stops inside dimension 0"},
    {"idx_labels_short", idx_labels_short, 0, "19 labels for 20 images"},
    {"idx_label_out_of_range", idx_label_out_of_range, 0, "every label is 10 (10 classes)"},
    {"idx_dims_overflow", idx_dims_overflow, 0, "65536^3 images bytes claimed, none present"},
    {"idx_test_size_differs", idx_test_size_differs, 0, "t10k images 14x14, train 16x16"},
    {"idx_labels_rank3", idx_labels_rank3, 0, "a labels file with 3 dimensions"},
    {"idx_plain_truncated", idx_plain_truncated, 0, "plain (not gzip) IDX, 100 bytes short"},
    {"png_zero_width", png_zero_width, 0, "a PNG whose IHDR has width 0"},
    {"config_deep_nesting", config_deep_nesting, 0, "20000 nested groups"},
    {"config_nul_byte", config_nul_byte, 0, "a NUL byte inside a string"},
    {"config_binary", config_binary, 0, "512 pseudo-random bytes"},
    {"pred_nul_byte", pred_nul_byte, 0, "predictions: a NUL byte in line 2"},
    {"pred_not_utf8", pred_not_utf8, 0, "predictions: a Latin-1 byte in a string"},
    {"pred_duplicate_key", pred_duplicate_key, 0, "predictions: \"prediction\" twice"},
    {"pred_nested_duplicate", pred_nested_duplicate, 0,
     "predictions: a repeated key in an ignored member"},
    {"pred_escaped_nul", pred_escaped_nul, 0, "predictions: \\u0000 in a string"},
    {"pred_lone_surrogate", pred_lone_surrogate, 0, "predictions: \\ud800 alone"},
    {"pred_not_object", pred_not_object, 0, "predictions: a JSON array on line 3"},
    {"pred_bom_second_line", pred_bom_second_line, 0, "predictions: a byte order mark on line 2"},
    {"pred_truncated", pred_truncated, 0, "predictions: the last line cut in a key"},
    {"pred_long_line", pred_long_line, 0, "predictions: one line of 200 MiB"},
    {"pred_deep_nesting", pred_deep_nesting, 0, "predictions: 100000 nested arrays"},
    {"pred_huge_file", pred_huge_file, 0, "predictions: a sparse file of 1 GiB + 1 byte"},
    {"pred_too_many", pred_too_many, 0, "predictions: 100000 lines with distinct ids"},
};

int main(int argc, char **argv) {
    size_t n = sizeof k_cases / sizeof k_cases[0];
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < n; i++)
            printf("%-28s %s\n", k_cases[i].name, k_cases[i].what);
        return 0;
    }
    if (argc < 3 || argc > 4) die("usage: make_hostile CASE OUT [BASE] | --list", "");
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], k_cases[i].name) != 0) continue;
        if (k_cases[i].needs_base && argc != 4) die("this case needs BASE: ", argv[1]);
        k_cases[i].make(argv[2], argc == 4 ? argv[3] : NULL);
        return 0;
    }
    die("unknown case ", argv[1]);
    return 1;
}
