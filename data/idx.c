/* idx.c - reader of IDX files (the Fashion-MNIST / MNIST format), gzip-compressed or plain.
 *
 * Format: bytes 00 00 08 <ndim> (0x08 = unsigned byte), ndim big-endian uint32 dimensions, then
 * the raw payload. zlib's gzread reads both compressed and uncompressed files, so one path
 * serves both. Everything that can be wrong with such a file (bad magic, absurd dimensions, a
 * short payload, bytes after the payload, a damaged gzip stream) ends in a message naming the
 * file. Used by fmnist.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/error.h"
#include "sources.h"

#define IDX_MAX_DIM INT64_C(100000000)
#define IDX_MAX_BYTES (INT64_C(1) << 34)
#define IDX_CHUNK (1u << 30)
#define IDX_FIRST_ALLOC (INT64_C(1) << 20)

/* zlib's message for the last error on f, without the file name that gzerror puts first. */
static const char *zlib_message(const char *path, gzFile f, int *err) {
    const char *msg = gzerror(f, err);
    if (!msg) return "zlib error";
    size_t n = strlen(path);
    if (strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ') msg += n + 2;
    return msg;
}

/* After a short or failed read: a gzip error if zlib reports one, truncation otherwise. */
static void short_read(const char *path, gzFile f, const char *what, int64_t want, int64_t got) {
    int err = Z_OK;
    const char *msg = zlib_message(path, f, &err);
    if (err != Z_OK && err != Z_STREAM_END) {
        if (err == Z_ERRNO) micl_fatal("%s: read error: %s", path, strerror(errno));
        if (err == Z_BUF_ERROR) micl_fatal("%s: truncated gzip stream (%s)", path, msg);
        micl_fatal("%s: corrupt gzip data (%s)", path, msg);
    }
    micl_fatal("%s: truncated IDX file: %s has %lld of %lld bytes", path, what, (long long)got,
               (long long)want);
}

/* Reads up to n bytes; returns how many were read before the end of the data or an error. */
static int64_t read_all_or_short(gzFile f, uint8_t *buf, int64_t n) {
    int64_t done = 0;
    while (done < n) {
        unsigned want = (unsigned)(n - done > IDX_CHUNK ? IDX_CHUNK : n - done);
        int got = gzread(f, buf + done, want);
        if (got <= 0) break;
        done += got;
    }
    return done;
}

static int64_t read_all(const char *path, gzFile f, uint8_t *buf, int64_t n, const char *what) {
    int64_t done = read_all_or_short(f, buf, n);
    if (done < n) short_read(path, f, what, n, done);
    return done;
}

void idx_read_u8(const char *path, int want_ndim, int64_t dims[3], uint8_t **data) {
    if (want_ndim < 1 || want_ndim > 3)
        micl_fatal("%s: idx_read_u8 supports 1 to 3 dimensions, asked for %d", path, want_ndim);
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        micl_fatal("%s: cannot open IDX file: %s", path, errno ? strerror(errno) : "out of memory");
    if (gzbuffer(f, 1u << 20) != 0) micl_fatal("%s: cannot set the zlib buffer size", path);

    uint8_t magic[4];
    read_all(path, f, magic, 4, "header");
    if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08)
        micl_fatal("%s: bad IDX magic %02x %02x %02x %02x, expected 00 00 08 %02x (unsigned byte "
                   "data)",
                   path, magic[0], magic[1], magic[2], magic[3], want_ndim);
    if (magic[3] != want_ndim)
        micl_fatal("%s: IDX file has %d dimensions, expected %d", path, magic[3], want_ndim);

    uint8_t raw[12];
    read_all(path, f, raw, 4 * want_ndim, "header");
    int64_t total = 1;
    for (int i = 0; i < 3; i++)
        dims[i] = 1;
    for (int i = 0; i < want_ndim; i++) {
        int64_t d = ((int64_t)raw[4 * i] << 24) | ((int64_t)raw[4 * i + 1] << 16) |
                    ((int64_t)raw[4 * i + 2] << 8) | (int64_t)raw[4 * i + 3];
        if (d < 1 || d > IDX_MAX_DIM)
            micl_fatal("%s: IDX dimension %d is %lld, expected 1 .. %lld", path, i, (long long)d,
                       (long long)IDX_MAX_DIM);
        total *= d;
        if (total > IDX_MAX_BYTES)
            micl_fatal("%s: IDX payload is larger than %lld bytes", path, (long long)IDX_MAX_BYTES);
        dims[i] = d;
    }

    /* The buffer grows with the data actually read (doubling from 1 MiB), so a short file that
     * claims huge dimensions is reported as truncated without allocating the claimed size. */
    int64_t cap = total < IDX_FIRST_ALLOC ? total : IDX_FIRST_ALLOC, done = 0;
    uint8_t *buf = micl_malloc((size_t)cap);
    for (;;) {
        done += read_all_or_short(f, buf + done, cap - done);
        if (done < cap) short_read(path, f, "payload", total, done);
        if (cap == total) break;
        cap = 2 * cap < total ? 2 * cap : total;
        buf = micl_realloc(buf, (size_t)cap);
    }
    int c = gzgetc(f);
    if (c != -1)
        micl_fatal("%s: trailing bytes after the IDX payload of %lld bytes", path,
                   (long long)total);
    int err = Z_OK;
    const char *msg = zlib_message(path, f, &err);
    if (err == Z_BUF_ERROR) micl_fatal("%s: truncated gzip stream (%s)", path, msg);
    if (err != Z_OK && err != Z_STREAM_END)
        micl_fatal("%s: corrupt gzip data at the end of the file (%s)", path, msg);
    int rc = gzclose(f);
    if (rc != Z_OK)
        micl_fatal("%s: error closing the IDX file (zlib code %d%s)", path, rc,
                   rc == Z_BUF_ERROR ? ": truncated gzip stream" : "");
    *data = buf;
}
