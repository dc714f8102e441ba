/* test_data_bad.c - bad inputs to the data layer. Each case builds its broken input at run time
 * (under a scratch directory), runs the failing call in a forked child, and checks the non-zero
 * exit, the message text on stderr and that no output or "<path>.tmp" file is left behind. */
#define _XOPEN_SOURCE 700
#include <hdf5.h>
#include <zlib.h>

#include "data/sources.h"
#include "test_data_util.h"

static const char *const k_font = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";

/* ------------------------------------------------------------------------- IDX files */

static size_t idx_bytes(uint8_t *buf, uint8_t magic3, uint8_t ndim, uint32_t d0, size_t payload) {
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = magic3;
    buf[n++] = ndim;
    for (int i = 0; i < ndim; i++) {
        uint32_t d = i == 0 ? d0 : 4;
        buf[n++] = (uint8_t)(d >> 24);
        buf[n++] = (uint8_t)(d >> 16);
        buf[n++] = (uint8_t)(d >> 8);
        buf[n++] = (uint8_t)d;
    }
    for (size_t k = 0; k < payload; k++)
        buf[n++] = (uint8_t)(k * 29 + 3);
    return n;
}

static void read_idx3(const char *dir, void *arg) {
    char *p = tdu_path(dir, (const char *)arg);
    int64_t dims[3];
    uint8_t *data;
    idx_read_u8(p, 3, dims, &data);
}

static void gz_file(const char *path, const uint8_t *buf, size_t n) {
    gzFile f = gzopen(path, "wb");
    CHECK(f && gzwrite(f, buf, (unsigned)n) == (int)n && gzclose(f) == Z_OK);
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    CHECK(f);
    static uint8_t buf[1 << 17];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void idx_cases(const char *dir) {
    static uint8_t buf[1 << 17];
    char *p;
    size_t n;

    n = idx_bytes(buf, 8, 3, 10, 10 * 16 - 7); /* 7 bytes short */
    p = tdu_path(dir, "truncated.idx");
    tdu_write_file(p, buf, n);
    tdu_expect_fail("idx truncated", dir, read_idx3, "truncated.idx",
                    "truncated.idx: truncated IDX file: payload has 153 of 160 bytes", NULL);
    free(p);

    n = idx_bytes(buf, 8, 3, 1000, 1000 * 16);
    p = tdu_path(dir, "truncated.idx.gz");
    gz_file(p, buf, n);
    size_t gn;
    uint8_t *gz = slurp(p, &gn);
    tdu_write_file(p, gz, gn / 2);
    tdu_expect_fail("idx truncated gzip", dir, read_idx3, "truncated.idx.gz",
                    "truncated.idx.gz: truncated gzip stream (unexpected end of file)", NULL);
    free(p);

    p = tdu_path(dir, "corrupt.idx.gz");
    gz_file(p, buf, n);
    gz = slurp(p, &gn);
    gz[gn - 6] ^= 0x5a; /* CRC-32 in the gzip trailer */
    tdu_write_file(p, gz, gn);
    tdu_expect_fail("idx corrupt gzip (crc)", dir, read_idx3, "corrupt.idx.gz",
                    "corrupt.idx.gz: corrupt gzip data (incorrect data check)", NULL);
    free(p);

    p = tdu_path(dir, "corrupt2.idx.gz");
    memcpy(gz, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff", 14); /* bad block */
    tdu_write_file(p, gz, 14);
    tdu_expect_fail("idx corrupt gzip (block)", dir, read_idx3, "corrupt2.idx.gz",
                    "corrupt2.idx.gz: corrupt gzip data (invalid block type)", NULL);
    free(p);

    n = idx_bytes(buf, 0x0d, 3, 2, 32); /* 0x0d = float IDX */
    p = tdu_path(dir, "magic.idx");
    tdu_write_file(p, buf, n);
    tdu_expect_fail("idx wrong magic", dir, read_idx3, "magic.idx",
                    "magic.idx: bad IDX magic 00 00 0d 03", NULL);
    free(p);

    n = idx_bytes(buf, 8, 1, 16, 16);
    p = tdu_path(dir, "ndim.idx");
    tdu_write_file(p, buf, n);
    tdu_expect_fail("idx wrong ndim", dir, read_idx3, "ndim.idx",
                    "ndim.idx: IDX file has 1 dimensions, expected 3", NULL);
    free(p);

    n = idx_bytes(buf, 8, 3, 2, 33);
    p = tdu_path(dir, "trailing.idx.gz");
    gz_file(p, buf, n);
    tdu_expect_fail("idx trailing bytes", dir, read_idx3, "trailing.idx.gz",
                    "trailing.idx.gz: trailing bytes after the IDX payload of 32 bytes", NULL);
    free(p);

    n = idx_bytes(buf, 8, 3, 2000000000u, 0);
    p = tdu_path(dir, "huge.idx");
    tdu_write_file(p, buf, n);
    tdu_expect_fail("idx absurd dimension", dir, read_idx3, "huge.idx",
                    "huge.idx: IDX dimension 0 is 2000000000", NULL);
    free(p);

    tdu_expect_fail("idx missing file", dir, read_idx3, "missing.idx",
                    "missing.idx: cannot open IDX file: No such file or directory", NULL);
}

/* ------------------------------------------------------------------------- stores */

typedef enum {
    MOD_LABELS_FLOAT,
    MOD_IMAGES_RANK2,
    MOD_LABELS_SHORT,
    MOD_DROP_SPLIT,
    MOD_LABEL_RANGE,
    MOD_CLASS_SPLIT_COUNT,
    MOD_SCHEMA_NEWER,
    MOD_SCHEMA_MISSING,
    MOD_IMAGES_INT16,
    MOD_IMAGES_2CH,
    MOD_OBJECTS_NO_COUNT,
    MOD_OBJECTS_OUTSIDE,
    MOD_N_OBJECTS_RANGE
} store_mod_t;

static void replace_dataset(hid_t f, const char *name, hid_t type, int rank, const hsize_t *dims,
                            const void *data, hid_t mtype) {
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) CHECK(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE); /* checksummed, as micl writes datasets */
    CHECK(dcpl >= 0 && H5Pset_chunk(dcpl, rank, dims) >= 0 && H5Pset_fletcher32(dcpl) >= 0);
    hid_t d = H5Dcreate2(f, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    CHECK(sp >= 0 && d >= 0 && H5Pclose(dcpl) >= 0);
    CHECK(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    CHECK(H5Dclose(d) >= 0 && H5Sclose(sp) >= 0);
}

/* Writes a good store (5 classes x 4 images of 3x3) to path and breaks it as told. */
static void make_broken_store(const char *path, store_mod_t mod) {
    image_store_t s;
    tdu_make_store(&s, 5, 4, 3, 3);
    store_write(path, &s);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    CHECK(f >= 0);
    float fl[20] = {0};
    int32_t lab[20];
    int16_t i16[180] = {0};
    memcpy(lab, s.labels, sizeof lab);
    hsize_t d1 = 20, d19 = 19, d4 = 4, d2[2] = {20, 9}, d3[3] = {20, 3, 3};
    switch (mod) {
    case MOD_LABELS_FLOAT:
        replace_dataset(f, "/labels", H5T_IEEE_F32LE, 1, &d1, fl, H5T_NATIVE_FLOAT);
        break;
    case MOD_IMAGES_RANK2:
        replace_dataset(f, "/images", H5T_STD_U8LE, 2, d2, s.pixels, H5T_NATIVE_UINT8);
        break;
    case MOD_IMAGES_INT16:
        replace_dataset(f, "/images", H5T_STD_I16LE, 3, d3, i16, H5T_NATIVE_INT16);
        break;
    case MOD_LABELS_SHORT:
        replace_dataset(f, "/labels", H5T_STD_I32LE, 1, &d19, lab, H5T_NATIVE_INT32);
        break;
    case MOD_DROP_SPLIT:
        CHECK(H5Ldelete(f, "/split", H5P_DEFAULT) >= 0);
        break;
    case MOD_LABEL_RANGE:
        lab[13] = 5;
        replace_dataset(f, "/labels", H5T_STD_I32LE, 1, &d1, lab, H5T_NATIVE_INT32);
        break;
    case MOD_CLASS_SPLIT_COUNT:
        replace_dataset(f, "/class_split", H5T_STD_U8LE, 1, &d4, s.class_split, H5T_NATIVE_UINT8);
        break;
    case MOD_SCHEMA_NEWER: {
        int v = STORE_SCHEMA_VERSION + 1;
        hid_t a = H5Aopen(f, "schema_version", H5P_DEFAULT);
        CHECK(a >= 0 && H5Awrite(a, H5T_NATIVE_INT, &v) >= 0 && H5Aclose(a) >= 0);
        break;
    }
    case MOD_IMAGES_2CH: {
        uint8_t px[360] = {0};
        hsize_t d4c[4] = {20, 3, 3, 2};
        replace_dataset(f, "/images", H5T_STD_U8LE, 4, d4c, px, H5T_NATIVE_UINT8);
        break;
    }
    case MOD_OBJECTS_NO_COUNT:
    case MOD_OBJECTS_OUTSIDE:
    case MOD_N_OBJECTS_RANGE: {
        int16_t obj[20 * 2 * STORE_OBJECT_FIELDS], cnt[20];
        for (int i = 0; i < 20; i++) {
            cnt[i] = mod == MOD_N_OBJECTS_RANGE && i == 6 ? 3 : 1;
            int16_t rec[2 * STORE_OBJECT_FIELDS] = {0, 1, 1, 2, 2, -1, -1, -1, -1, -1};
            if (mod == MOD_OBJECTS_OUTSIDE && i == 4) rec[STORE_OBJ_X] = 3;
            memcpy(obj + i * 2 * STORE_OBJECT_FIELDS, rec, sizeof rec);
        }
        hsize_t od[3] = {20, 2, STORE_OBJECT_FIELDS};
        replace_dataset(f, "/objects", H5T_STD_I16LE, 3, od, obj, H5T_NATIVE_INT16);
        if (mod != MOD_OBJECTS_NO_COUNT)
            replace_dataset(f, "/n_objects", H5T_STD_I16LE, 1, &d1, cnt, H5T_NATIVE_INT16);
        break;
    }
    case MOD_SCHEMA_MISSING:
        CHECK(H5Adelete(f, "schema_version") >= 0);
        break;
    }
    CHECK(H5Fclose(f) >= 0);
    store_free(&s);
}

static void read_store(const char *dir, void *arg) {
    char *p = tdu_path(dir, (const char *)arg);
    image_store_t s;
    store_read(p, &s);
}

static void store_case(const char *dir, const char *name, store_mod_t mod, const char *expect) {
    char *p = tdu_path(dir, "bad.h5");
    make_broken_store(p, mod);
    char full[512];
    snprintf(full, sizeof full, "bad.h5: %s", expect);
    tdu_expect_fail(name, dir, read_store, "bad.h5", full, NULL);
    unlink(p);
    free(p);
}

static void write_invalid(const char *dir, void *arg) {
    (void)arg;
    char *p = tdu_path(dir, "invalid.h5");
    image_store_t s;
    tdu_make_store(&s, 3, 2, 4, 4);
    s.labels[5] = 7;
    store_write(p, &s);
}

static void write_rename_fails(const char *dir, void *arg) {
    (void)arg;
    char *p = tdu_path(dir, "isdir.h5"); /* an existing non-empty directory */
    image_store_t s;
    tdu_make_store(&s, 3, 2, 4, 4);
    store_write(p, &s);
}

static void store_cases(const char *dir) {
    store_case(dir, "store labels float", MOD_LABELS_FLOAT,
               "dataset /labels has type float, expected int32");
    store_case(dir, "store images int16", MOD_IMAGES_INT16,
               "dataset /images has type int16, expected uint8");
    store_case(dir, "store images rank 2", MOD_IMAGES_RANK2,
               "dataset /images has rank 2, expected rank 3 or 4");
    store_case(dir, "store images 2 channels", MOD_IMAGES_2CH,
               "dataset /images has 2 channels, expected 1 (gray) or 3 (RGB)");
    store_case(dir, "store objects without count", MOD_OBJECTS_NO_COUNT,
               "datasets /n_objects and /objects must be present together");
    store_case(dir, "store object outside", MOD_OBJECTS_OUTSIDE,
               "dataset /objects: image 4 object 0 is (0, 1, 1, 3, 2)");
    store_case(dir, "store n_objects range", MOD_N_OBJECTS_RANGE,
               "dataset /n_objects: image 6 has 3 objects, expected 0 .. 2");
    store_case(dir, "store labels short", MOD_LABELS_SHORT,
               "dataset /labels has shape [19], expected [20]");
    store_case(dir, "store missing /split", MOD_DROP_SPLIT, "missing dataset /split");
    store_case(dir, "store label out of range", MOD_LABEL_RANGE,
               "dataset /labels: label 5 of image 13 is out of range [0, 5)");
    store_case(dir, "store class count mismatch", MOD_CLASS_SPLIT_COUNT,
               "dataset /class_split has shape [4], expected [5]");
    store_case(dir, "store schema newer", MOD_SCHEMA_NEWER,
               "attribute schema_version is 5, newer than this micl reads (4)");
    store_case(dir, "store schema missing", MOD_SCHEMA_MISSING, "missing attribute schema_version");

    tdu_expect_fail("store missing file", dir, read_store, "nothere.h5",
                    "nothere.h5: cannot open image store: No such file or directory", NULL);
    char *txt = tdu_path(dir, "text.h5");
    tdu_write_file(txt, "hello, not hdf5\n", 16);
    tdu_expect_fail("store not HDF5", dir, read_store, "text.h5", "text.h5: not an HDF5 file",
                    NULL);
    free(txt);

    char *inv = tdu_path(dir, "invalid.h5"), *invtmp = tdu_path(dir, "invalid.h5.tmp");
    const char *absent1[] = {inv, invtmp, NULL};
    tdu_expect_fail("store write invalid", dir, write_invalid, NULL,
                    "invalid.h5: dataset /labels: label 7 of image 5 is out of range [0, 3)",
                    absent1);
    free(inv);
    free(invtmp);

    char *isdir = tdu_path(dir, "isdir.h5"), *isdirtmp = tdu_path(dir, "isdir.h5.tmp");
    char *inner = tdu_path(isdir, "x");
    CHECK(mkdir(isdir, 0777) == 0);
    tdu_write_file(inner, "x", 1);
    const char *absent2[] = {isdirtmp, NULL};
    /* refused before anything is written (atomic_file_begin), not at the rename */
    tdu_expect_fail("store write over a folder", dir, write_rename_fails, NULL,
                    "isdir.h5': it is a directory, not a regular file", absent2);
    free(inner);
    free(isdir);
    free(isdirtmp);
}

/* ------------------------------------------------------------------------- prepare / glyphs */

static void tiny_config(config_t *cfg, const char *cache_dir) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->data.cache_dir, sizeof cfg->data.cache_dir, "%s", cache_dir);
    cfg->data.glyph_size = 16;
    cfg->data.glyph_train_classes = 3;
    cfg->data.glyph_heldout_classes = 1;
    cfg->data.glyph_instances = 3;
    cfg->data.glyph_heldout_instances = 1;
    cfg->data.n_fonts = 1;
    snprintf(cfg->data.fonts[0], sizeof cfg->data.fonts[0], "%s", k_font);
    cfg->data.glyph_rotate_deg = 5;
    cfg->data.glyph_scale_jitter = 0.05f;
    cfg->data.glyph_shift_px = 1;
    cfg->data.glyph_stroke_px = 0.5f;
    cfg->data.glyph_seed = 1;
}

static void prepare_missing_font(const char *dir, void *arg) {
    (void)arg;
    char *cache = tdu_path(dir, "cache");
    config_t cfg;
    tiny_config(&cfg, cache);
    snprintf(cfg.data.fonts[0], sizeof cfg.data.fonts[0], "%s/no-such-font.ttc", dir);
    data_prepare(&cfg, 0);
}

static void prepare_missing_fmnist(const char *dir, void *arg) {
    (void)arg;
    char *cache = tdu_path(dir, "cache");
    config_t cfg;
    tiny_config(&cfg, cache);
    snprintf(cfg.data.fashion_mnist_dir, sizeof cfg.data.fashion_mnist_dir, "%s/no-fmnist", dir);
    data_prepare(&cfg, 0);
}

static void glyphs_bad_face(const char *dir, void *arg) {
    (void)arg;
    config_t cfg;
    tiny_config(&cfg, dir);
    snprintf(cfg.data.fonts[0], sizeof cfg.data.fonts[0], "%s#99", k_font);
    image_store_t s;
    glyphs_build(&cfg.data, &s);
}

static void glyphs_no_jitter(const char *dir, void *arg) {
    (void)arg;
    config_t cfg;
    tiny_config(&cfg, dir);
    cfg.data.glyph_rotate_deg = cfg.data.glyph_scale_jitter = 0;
    cfg.data.glyph_shift_px = cfg.data.glyph_stroke_px = 0;
    image_store_t s;
    glyphs_build(&cfg.data, &s);
}

static void glyphs_too_many_classes(const char *dir, void *arg) {
    (void)arg;
    config_t cfg;
    tiny_config(&cfg, dir);
    cfg.data.glyph_train_classes = 30000;
    image_store_t s;
    glyphs_build(&cfg.data, &s);
}

static void prepare_cases(const char *dir) {
    char *g = tdu_path(dir, "cache/glyphs.h5"), *gt = tdu_path(dir, "cache/glyphs.h5.tmp");
    char *fm = tdu_path(dir, "cache/fashion_mnist.h5");
    char *fmt = tdu_path(dir, "cache/fashion_mnist.h5.tmp");
    const char *absent[] = {g, gt, fm, fmt, NULL};
    tdu_expect_fail(
        "prepare missing font", dir, prepare_missing_font, NULL,
        "no-such-font.ttc' (data.glyphs.fonts) cannot be read: No such file or directory", absent);
    if (!tdu_exists(k_font)) {
        printf("font %s not installed: glyph bad-input cases skipped\n", k_font);
    } else {
        const char *absent_fm[] = {fm, fmt, NULL};
        tdu_expect_fail("prepare missing fmnist", dir, prepare_missing_fmnist, NULL,
                        "no-fmnist/train-images-idx3-ubyte.gz: cannot read Fashion-MNIST file",
                        absent_fm);
        tdu_expect_fail("glyphs bad face index", dir, glyphs_bad_face, NULL,
                        "NotoSansCJK-Regular.ttc' face 99: cannot open", NULL);
        tdu_expect_fail("glyphs no jitter", dir, glyphs_no_jitter, NULL,
                        "only 1 distinct renderings of 3 wanted", NULL);
        tdu_expect_fail("glyphs too many classes", dir, glyphs_too_many_classes, NULL,
                        "ideographs in common, but data.glyphs.train_classes + heldout_classes",
                        NULL);
    }
    free(g);
    free(gt);
    free(fm);
    free(fmt);
}

int main(void) {
    char *dir = tdu_tmpdir("data_bad");
    idx_cases(dir);
    store_cases(dir);
    prepare_cases(dir);
    tdu_rm_rf(dir);
    free(dir);
    printf("test_data_bad: ok\n");
    return 0;
}
