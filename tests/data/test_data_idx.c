/* test_data_idx.c - idx_read_u8 on small generated IDX files, plain and gzip-compressed, whose
 * bytes encode their own position. */
#define _XOPEN_SOURCE 700
#include <zlib.h>

#include "data/sources.h"
#include "test_data_util.h"

/* Header 00 00 08 ndim + big-endian dims, then payload[k] = (k * 13 + k / 251) & 255. */
static size_t make_idx(uint8_t *buf, int ndim, const uint32_t *dims) {
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 8;
    buf[n++] = (uint8_t)ndim;
    size_t total = 1;
    for (int i = 0; i < ndim; i++) {
        buf[n++] = (uint8_t)(dims[i] >> 24);
        buf[n++] = (uint8_t)(dims[i] >> 16);
        buf[n++] = (uint8_t)(dims[i] >> 8);
        buf[n++] = (uint8_t)dims[i];
        total *= dims[i];
    }
    for (size_t k = 0; k < total; k++)
        buf[n++] = (uint8_t)((k * 13 + k / 251) & 255);
    return n;
}

static void write_gz(const char *path, const uint8_t *buf, size_t n) {
    gzFile f = gzopen(path, "wb");
    CHECK(f);
    CHECK(gzwrite(f, buf, (unsigned)n) == (int)n);
    CHECK(gzclose(f) == Z_OK);
}

static void check_read(const char *path, int ndim, const uint32_t *dims) {
    int64_t d[3];
    uint8_t *data = NULL;
    idx_read_u8(path, ndim, d, &data);
    size_t total = 1;
    for (int i = 0; i < 3; i++) {
        CHECK(d[i] == (i < ndim ? (int64_t)dims[i] : 1));
        total *= (size_t)d[i];
    }
    for (size_t k = 0; k < total; k++)
        CHECK(data[k] == (uint8_t)((k * 13 + k / 251) & 255));
    free(data);
}

int main(void) {
    char *dir = tdu_tmpdir("data_idx");
    static uint8_t buf[1 << 16];
    const uint32_t d3[3] = {11, 7, 5}, d1[1] = {300};
    const uint32_t d3big[3] = {40, 28, 28};

    size_t n = make_idx(buf, 3, d3);
    char *p = tdu_path(dir, "a-images-idx3-ubyte");
    tdu_write_file(p, buf, n);
    check_read(p, 3, d3);
    free(p);
    p = tdu_path(dir, "a-images-idx3-ubyte.gz");
    write_gz(p, buf, n);
    check_read(p, 3, d3);
    free(p);

    n = make_idx(buf, 1, d1);
    p = tdu_path(dir, "a-labels-idx1-ubyte.gz");
    write_gz(p, buf, n);
    check_read(p, 1, d1);
    free(p);
    p = tdu_path(dir, "a-labels-idx1-ubyte");
    tdu_write_file(p, buf, n);
    check_read(p, 1, d1);
    free(p);

    n = make_idx(buf, 3, d3big); /* several zlib buffers' worth */
    p = tdu_path(dir, "b-images-idx3-ubyte.gz");
    write_gz(p, buf, n);
    check_read(p, 3, d3big);
    free(p);

    tdu_rm_rf(dir);
    free(dir);
    printf("test_data_idx: ok\n");
    return 0;
}
