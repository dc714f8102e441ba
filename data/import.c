/* import.c - `micl data import`: builds an image store from a folder of class sub-folders of
 * PNG and JPEG files (import.h; docs/DATA.md, "Importing an image folder").
 *
 * Owns the folder walk (classes and files sorted by name, so a folder always gives the same
 * store), the decoders (libpng and libjpeg reading from memory, each with setjmp/longjmp error
 * handling so that a corrupt or truncated file is reported with the decoder's words instead of
 * aborting), the conversion to 8-bit BT.601 luma, the centre crop and the exact area-average
 * resize. The store goes through store_write (store.c), which writes "<out>.tmp" and renames
 * it; every check that can fail runs before anything is written.
 */
#define _POSIX_C_SOURCE 200809L
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/file_kind.h"
#include "store.h"

#define IMPORT_MAX_SIZE 1024 /* store.c: STORE_MAX_SIDE */
#define IMPORT_MAX_NAME 256  /* store.c: STORE_MAX_NAME */
#define IMPORT_MAX_IMAGES (INT64_C(1) << 31)
#define IMPORT_MSG 512

#define IMPORT_STR2(x) #x
#define IMPORT_STR(x) IMPORT_STR2(x)

/* ------------------------------------------------------------------------- small helpers */

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = micl_malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

typedef struct {
    char **v;
    size_t n, cap;
} names_t;

static void names_push(names_t *l, const char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = micl_realloc(l->v, l->cap * sizeof *l->v);
    }
    l->v[l->n++] = micl_strdup(s);
}

static void names_free(names_t *l) {
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Growing string for the provenance attribute. */
typedef struct {
    char *s;
    size_t len, cap;
} strbuf_t;

static void sb_printf(strbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) micl_fatal("cannot format the provenance string");
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = 2 * (b->len + (size_t)n + 1);
        b->s = micl_realloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int has_image_ext(const char *name) {
    static const char *const exts[] = {".png", ".jpg", ".jpeg"};
    size_t n = strlen(name);
    for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
        size_t m = strlen(exts[e]);
        if (n <= m) continue;
        int same = 1;
        for (size_t i = 0; i < m && same; i++) {
            char c = name[n - m + i];
            if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
            same = c == exts[e][i];
        }
        if (same) return 1;
    }
    return 0;
}

/* The entries of dir, sorted by name, skipping "." and ".." and hidden entries (leading '.').
 * want_dirs: keep sub-directories; otherwise keep regular files with an image extension.
 * *skipped counts the other entries. */
static void list_dir(const char *dir, int want_dirs, names_t *out, int64_t *skipped) {
    DIR *d = opendir(dir);
    if (!d) micl_fatal("%s: cannot open directory: %s", dir, strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno) micl_fatal("%s: cannot read directory: %s", dir, strerror(errno));
            break;
        }
        if (e->d_name[0] == '.') continue;
        char *p = join(dir, e->d_name);
        struct stat st;
        if (stat(p, &st) != 0) micl_fatal("%s: cannot stat: %s", p, strerror(errno));
        int keep = want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode) && has_image_ext(p);
        if (keep)
            names_push(out, e->d_name);
        else
            (*skipped)++;
        free(p);
    }
    if (closedir(d) != 0) micl_fatal("%s: cannot close directory: %s", dir, strerror(errno));
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_str_ptr);
}

/* Reads a whole file; fatal with the file name on any error. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) micl_fatal("%s: cannot open image: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) micl_fatal("%s: cannot stat: %s", path, strerror(errno));
    if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX / 2)
        micl_fatal("%s: file size %lld is out of range", path, (long long)st.st_size);
    size_t n = (size_t)st.st_size;
    uint8_t *buf = micl_malloc(n ? n : 1);
    if (n && fread(buf, 1, n, f) != n)
        micl_fatal("%s: cannot read image: %s", path, ferror(f) ? strerror(errno) : "short read");
    if (fclose(f) != 0) micl_fatal("%s: cannot close: %s", path, strerror(errno));
    *len = n;
    return buf;
}

/* ------------------------------------------------------------------------ pixel conversion */

/* One pixel of 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) 8-bit channels to 8-bit luma
 * Y = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601) in 16.16 fixed point; the three weights sum
 * to 65536, so a gray pixel keeps its value. Alpha composites over black: Y * A / 255. All
 * divisions round half up. */
static uint8_t pixel_luma(const uint8_t *p, int channels) {
    switch (channels) {
    case 1:
        return p[0];
    case 2:
        return (uint8_t)((2u * p[0] * p[1] + 255u) / 510u);
    case 3:
        return (uint8_t)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] + 32768u) >> 16);
    default: {
        uint64_t y = (uint64_t)(19595u * p[0] + 38470u * p[1] + 7471u * p[2]) * p[3];
        return (uint8_t)((y + 65536u * 255u / 2u) / (65536u * 255u));
    }
    }
}

/* Converts h*w pixels of `channels` bytes in place to one luma byte each. */
static void to_luma(uint8_t *pix, int64_t n, int channels) {
    for (int64_t i = 0; i < n; i++)
        pix[i] = pixel_luma(pix + i * channels, channels);
}

/* One channel value v with alpha a composited over black, rounded half up. */
static uint8_t over_black(unsigned v, unsigned a) {
    return (uint8_t)((2u * v * a + 255u) / 510u);
}

/* Converts n pixels of `channels` bytes to RGB (gray is replicated, alpha composites over
 * black); returns a new buffer of 3 * n bytes, or NULL when out of memory. */
static uint8_t *to_rgb(const uint8_t *pix, int64_t n, int channels) {
    uint8_t *out = malloc((size_t)n * 3);
    if (!out) return NULL;
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *p = pix + i * channels;
        uint8_t *o = out + i * 3;
        unsigned a = channels == 2 ? p[1] : channels == 4 ? p[3] : 255u;
        for (int k = 0; k < 3; k++)
            o[k] = over_black(channels <= 2 ? p[0] : p[k], a);
    }
    return out;
}

/* Centre-crops the w x h image to its largest square (side s = min(w, h), offset
 * floor((w - s) / 2), floor((h - s) / 2)) and area-averages it to n x n: output pixel (oy, ox)
 * is the mean of the crop over the square [ox*s/n, (ox+1)*s/n) x [oy*s/n, (oy+1)*s/n), each
 * source pixel weighted by its exact overlap. Coordinates are scaled by n so that all weights
 * are integers and the mean is exact before one final round-half-up; a constant image keeps
 * its value. acc is n*n, rowacc is n. */
static void box_resize(const uint8_t *img, int64_t w, int64_t h, int n, uint8_t *dst, uint64_t *acc,
                       uint64_t *rowacc) {
    int64_t s = w < h ? w : h;
    int64_t x0 = (w - s) / 2, y0 = (h - s) / 2;
    memset(acc, 0, (size_t)n * (size_t)n * sizeof *acc);
    for (int64_t y = 0; y < s; y++) {
        const uint8_t *row = img + (y0 + y) * w + x0;
        for (int o = 0; o < n; o++) {
            int64_t lo = (int64_t)o * s, hi = (int64_t)(o + 1) * s;
            uint64_t sum = 0;
            for (int64_t k = lo / n; k * n < hi; k++) {
                int64_t a = k * n > lo ? k * n : lo, b = (k + 1) * n < hi ? (k + 1) * n : hi;
                sum += (uint64_t)(b - a) * row[k];
            }
            rowacc[o] = sum;
        }
        for (int64_t oy = y * n / s; oy < n && oy * s < (y + 1) * n; oy++) {
            int64_t a = y * n > oy * s ? y * n : oy * s;
            int64_t b = (y + 1) * n < (oy + 1) * s ? (y + 1) * n : (oy + 1) * s;
            if (b <= a) continue;
            uint64_t *out = acc + oy * n;
            for (int ox = 0; ox < n; ox++)
                out[ox] += (uint64_t)(b - a) * rowacc[ox];
        }
    }
    uint64_t total = (uint64_t)s * (uint64_t)s;
    for (int64_t i = 0; i < (int64_t)n * n; i++)
        dst[i] = (uint8_t)((acc[i] + total / 2) / total);
}

/* box_resize for images of c interleaved channels: each channel is resized on its own (plane
 * is w*h bytes of scratch, out_plane n*n). */
static void resize_channels(const uint8_t *img, int64_t w, int64_t h, int c, int n, uint8_t *dst,
                            uint64_t *acc, uint64_t *rowacc, uint8_t *plane, uint8_t *out_plane) {
    if (c == 1) {
        box_resize(img, w, h, n, dst, acc, rowacc);
        return;
    }
    for (int k = 0; k < c; k++) {
        for (int64_t i = 0; i < w * h; i++)
            plane[i] = img[i * c + k];
        box_resize(plane, w, h, n, out_plane, acc, rowacc);
        for (int64_t i = 0; i < (int64_t)n * n; i++)
            dst[i * c + k] = out_plane[i];
    }
}

/* ------------------------------------------------------------------------------- decoders */

/* A decoded image: w x h pixels of c bytes (1 luma, or 3 RGB when colour was asked for). */
typedef struct {
    int64_t w, h;
    int c;
    uint8_t *pix;
} luma_image_t;

static void too_large_msg(char *msg, int64_t w, int64_t h) {
    snprintf(msg, IMPORT_MSG,
             "image is %lld x %lld pixels, larger than the limit of %d pixels on a side",
             (long long)w, (long long)h, DATA_IMPORT_MAX_SIDE);
}

/* PNG: the caller owns this state, so nothing the decoder changes after setjmp is a local of
 * the function that called setjmp. */
typedef struct {
    const uint8_t *data;
    size_t len, pos;
    char msg[IMPORT_MSG];
} png_state_t;

static void png_on_read(png_structp png, png_bytep out, size_t n) {
    png_state_t *s = png_get_io_ptr(png);
    if (n > s->len - s->pos) png_error(png, "unexpected end of file (the file is truncated)");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_state_t *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "libpng: %s", msg);
    png_longjmp(png, 1);
}

/* Warnings (unknown or damaged ancillary chunks, colour profiles) do not change the pixels. */
static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Returns 0 and fills out, or -1 with s->msg set. */
static int decode_png(png_state_t *s, int colour, luma_image_t *out) {
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, s, png_on_error, png_on_warning);
    if (!png) {
        snprintf(s->msg, sizeof s->msg, "libpng: cannot create a read structure");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(s->msg, sizeof s->msg, "libpng: cannot create an info structure");
        return -1;
    }
    uint8_t *volatile pix = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pix);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, s, png_on_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (w > DATA_IMPORT_MAX_SIDE || h > DATA_IMPORT_MAX_SIDE) {
        too_large_msg(s->msg, w, h);
        png_longjmp(png, 1);
    }
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 4 ||
        rowbytes != (size_t)w * (size_t)channels) {
        snprintf(s->msg, sizeof s->msg,
                 "libpng: unexpected layout after conversion (%d channels of %d bits)", channels,
                 (int)png_get_bit_depth(png, info));
        png_longjmp(png, 1);
    }
    pix = malloc(rowbytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pix || !rows) {
        snprintf(s->msg, sizeof s->msg, "out of memory for a %u x %u image", (unsigned)w,
                 (unsigned)h);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = pix + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    out->c = colour ? 3 : 1;
    if (colour) {
        uint8_t *rgb = to_rgb(pix, (int64_t)w * h, channels);
        free(pix);
        if (!rgb) {
            snprintf(s->msg, sizeof s->msg, "out of memory for a %u x %u image", (unsigned)w,
                     (unsigned)h);
            return -1;
        }
        pix = rgb;
    } else {
        to_luma(pix, (int64_t)w * h, channels);
    }
    out->w = w;
    out->h = h;
    out->pix = pix;
    return 0;
}

/* JPEG: libjpeg's error manager extended with the jump buffer and the message. */
typedef struct {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[IMPORT_MSG];
} jpeg_err_t;

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jpeg_err_t err;
} jpeg_state_t;

static void jpeg_on_error(j_common_ptr ci) {
    jpeg_err_t *e = (jpeg_err_t *)ci->err;
    char buf[JMSG_LENGTH_MAX];
    (*ci->err->format_message)(ci, buf);
    snprintf(e->msg, sizeof e->msg, "libjpeg: %s", buf);
    longjmp(e->jump, 1);
}

/* Trace messages (level > 0) are dropped. Warnings (level -1) mean corrupt data that libjpeg
 * would otherwise paper over (a truncated file decodes as grey), so they are errors, except
 * three that do not touch the pixels. */
static void jpeg_on_message(j_common_ptr ci, int level) {
    if (level >= 0) return;
    int code = ci->err->msg_code;
    if (code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC) return;
    jpeg_on_error(ci);
}

static int decode_jpeg(jpeg_state_t *s, const uint8_t *data, size_t len, int colour,
                       luma_image_t *out) {
    struct jpeg_decompress_struct *ci = &s->cinfo;
    memset(ci, 0, sizeof *ci);
    ci->err = jpeg_std_error(&s->err.mgr);
    s->err.mgr.error_exit = jpeg_on_error;
    s->err.mgr.emit_message = jpeg_on_message;
    uint8_t *volatile pix = NULL;
    if (setjmp(s->err.jump)) {
        jpeg_destroy_decompress(ci);
        free(pix);
        return -1;
    }
    jpeg_create_decompress(ci);
    jpeg_mem_src(ci, data, (unsigned long)len);
    jpeg_read_header(ci, TRUE);
    if (ci->image_width > DATA_IMPORT_MAX_SIDE || ci->image_height > DATA_IMPORT_MAX_SIDE) {
        too_large_msg(s->err.msg, ci->image_width, ci->image_height);
        longjmp(s->err.jump, 1);
    }
    /* Gray: libjpeg gives the luma channel directly (JFIF YCbCr uses the BT.601 weights, and
     * RGB JPEGs are converted with them). Colour: libjpeg's RGB (a gray JPEG is replicated).
     * CMYK JPEGs are refused by libjpeg with a message. */
    int c = colour ? 3 : 1;
    ci->out_color_space = colour ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_start_decompress(ci);
    if (ci->output_components != c) {
        snprintf(s->err.msg, sizeof s->err.msg, "libjpeg: %d output components, expected %d",
                 ci->output_components, c);
        longjmp(s->err.jump, 1);
    }
    size_t w = ci->output_width, h = ci->output_height;
    pix = malloc(w * h * (size_t)c);
    if (!pix) {
        snprintf(s->err.msg, sizeof s->err.msg, "out of memory for a %zu x %zu image", w, h);
        longjmp(s->err.jump, 1);
    }
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW row = pix + (size_t)ci->output_scanline * w * (size_t)c;
        if (jpeg_read_scanlines(ci, &row, 1) != 1) {
            snprintf(s->err.msg, sizeof s->err.msg, "libjpeg: no scanline returned at row %u",
                     (unsigned)ci->output_scanline);
            longjmp(s->err.jump, 1);
        }
    }
    jpeg_finish_decompress(ci);
    jpeg_destroy_decompress(ci);
    out->c = c;
    out->w = (int64_t)w;
    out->h = (int64_t)h;
    out->pix = pix;
    return 0;
}

/* Decodes len bytes by their signature (not the file name's extension); fatal on any error,
 * with messages that start with name. */
static void decode_memory(const uint8_t *data, size_t len, const char *name, int colour,
                          luma_image_t *out) {
    static const uint8_t jpeg_sig[3] = {0xFF, 0xD8, 0xFF};
    if (len == 0) micl_fatal("%s: cannot decode image: the file is empty", name);
    if (len >= 8 && png_sig_cmp(data, 0, 8) == 0) {
        /* The states are freed before a fatal error so that nothing is left behind when the
         * fatal hook returns control to a caller (tests/fuzz/fuzz_image.c). */
        char msg[IMPORT_MSG];
        png_state_t *s = micl_calloc(1, sizeof *s);
        s->data = data;
        s->len = len;
        int rc = decode_png(s, colour, out);
        memcpy(msg, s->msg, sizeof msg);
        free(s);
        if (rc != 0) micl_fatal("%s: cannot decode PNG image: %s", name, msg);
    } else if (len >= 3 && memcmp(data, jpeg_sig, 3) == 0) {
        char msg[IMPORT_MSG];
        jpeg_state_t *s = micl_calloc(1, sizeof *s);
        int rc = decode_jpeg(s, data, len, colour, out);
        memcpy(msg, s->err.msg, sizeof msg);
        free(s);
        if (rc != 0) micl_fatal("%s: cannot decode JPEG image: %s", name, msg);
    } else {
        micl_fatal("%s: cannot decode image: not a PNG or JPEG file (unknown signature)", name);
    }
    if (out->w < 1 || out->h < 1)
        micl_fatal("%s: cannot decode image: it has %lld x %lld pixels", name, (long long)out->w,
                   (long long)out->h);
}

/* Decodes the file at path; fatal on any error. */
static void decode_file(const char *path, int colour, luma_image_t *out, int64_t *bytes) {
    size_t len;
    uint8_t *data = read_file(path, &len);
    *bytes += (int64_t)len;
    decode_memory(data, len, path, colour, out);
    free(data);
}

void data_import_decode(const uint8_t *data, size_t len, const char *name, int size, uint8_t *out) {
    if (size < 1 || size > IMPORT_MAX_SIZE)
        micl_fatal("image size %d is out of range [1, %d]", size, IMPORT_MAX_SIZE);
    luma_image_t img;
    decode_memory(data, len, name, 0, &img);
    uint64_t *acc = micl_malloc((size_t)size * (size_t)size * sizeof *acc);
    uint64_t *rowacc = micl_malloc((size_t)size * sizeof *rowacc);
    box_resize(img.pix, img.w, img.h, size, out, acc, rowacc);
    free(acc);
    free(rowacc);
    free(img.pix);
}

/* ------------------------------------------------------------------------------- the import */

/* Fails early, before any decoding, when the store cannot be written: the atomic writer's
 * check (not an input, not inside the folder, not a non-file, not a file of another kind), then
 * its temporary file created and removed. */
static void check_output(const char *out_path) {
    char why[8400];
    if (atomic_file_check(out_path, FILE_KIND_STORE, why, sizeof why)) micl_fatal("%s", why);
    atomic_file_t af;
    atomic_file_begin(&af, out_path);
    FILE *f = fopen(af.tmp, "wb");
    if (!f)
        micl_fatal("%s: cannot write the output store: cannot create '%s': %s", out_path, af.tmp,
                   strerror(errno));
    if (fclose(f) != 0)
        micl_fatal("%s: cannot write the output store: '%s': %s", out_path, af.tmp,
                   strerror(errno));
    atomic_file_abort(&af);
}

/* Class name of a folder: white space becomes '-'; checked for length and UTF-8. */
static char *class_name_of(const char *dir, const char *folder) {
    char *name = micl_strdup(folder);
    for (char *p = name; *p; p++)
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') *p = '-';
    if (strlen(name) > IMPORT_MAX_NAME)
        micl_fatal("%s/%s: class folder name is longer than %d bytes", dir, folder,
                   IMPORT_MAX_NAME);
    if (!store_valid_utf8(name))
        micl_fatal("%s/%s: class folder name is not valid UTF-8", dir, folder);
    return name;
}

void data_import(const char *dir, const char *out_path, int size, int gray) {
    double t0 = clock_now_s();
    if (size < 1 || size > IMPORT_MAX_SIZE)
        micl_fatal("image size %d is out of range [1, %d]", size, IMPORT_MAX_SIZE);
    struct stat st;
    if (stat(dir, &st) != 0)
        micl_fatal("%s: cannot open the image folder: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        micl_fatal("%s: is not a directory (expected a folder with one sub-folder of images per "
                   "class)",
                   dir);
    atomic_file_input(dir, "the image folder being imported");
    check_output(out_path);
    int channels = gray ? 1 : 3;

    /* Classes: the sub-folders, by name. */
    names_t folders = {0};
    int64_t skipped_top = 0;
    list_dir(dir, 1, &folders, &skipped_top);
    if (folders.n == 0)
        micl_fatal("%s: no class sub-folders (expected one sub-folder of PNG/JPEG images per "
                   "class)",
                   dir);
    if (folders.n < 2)
        micl_fatal("%s: only one class sub-folder ('%s'); at least 2 classes are needed", dir,
                   folders.v[0]);
    if (folders.n > (size_t)(1 << 24))
        micl_fatal("%s: %zu class sub-folders, more than %d", dir, folders.n, 1 << 24);
    int n_classes = (int)folders.n;
    char **class_names = micl_malloc((size_t)n_classes * sizeof *class_names);
    for (int c = 0; c < n_classes; c++) {
        class_names[c] = class_name_of(dir, folders.v[c]);
        if (strcmp(class_names[c], folders.v[c]) != 0)
            micl_info("note: class folder '%s' becomes class name '%s' (white space -> '-')",
                      folders.v[c], class_names[c]);
    }
    for (int c = 0; c < n_classes; c++)
        for (int d = c + 1; d < n_classes; d++)
            if (strcmp(class_names[c], class_names[d]) == 0)
                micl_fatal("%s: class folders '%s' and '%s' both give the class name '%s'", dir,
                           folders.v[c], folders.v[d], class_names[c]);

    /* Files of every class, all listed before anything is decoded. */
    names_t *files = micl_calloc((size_t)n_classes, sizeof *files);
    int64_t n = 0, skipped = 0;
    for (int c = 0; c < n_classes; c++) {
        char *cdir = join(dir, folders.v[c]);
        list_dir(cdir, 0, &files[c], &skipped);
        if (files[c].n == 0)
            micl_fatal("%s: class folder '%s' has no images (.png, .jpg or .jpeg files)", cdir,
                       folders.v[c]);
        n += (int64_t)files[c].n;
        free(cdir);
    }
    if (n > IMPORT_MAX_IMAGES)
        micl_fatal("%s: %lld images, more than the store limit %lld", dir, (long long)n,
                   (long long)IMPORT_MAX_IMAGES);
    if (skipped_top + skipped > 0)
        micl_info("note: ignored %lld entries that are not class folders or .png/.jpg/.jpeg "
                  "files (hidden entries are always skipped)",
                  (long long)(skipped_top + skipped));

    image_store_t s;
    memset(&s, 0, sizeof s);
    size_t npix = (size_t)size * (size_t)size * (size_t)channels;
    s.n = n;
    s.h = s.w = size;
    s.c = channels;
    s.pixels = micl_malloc((size_t)n * npix);
    s.labels = micl_malloc((size_t)n * sizeof *s.labels);
    s.split = micl_malloc((size_t)n);
    s.n_classes = n_classes;
    s.class_names = class_names;
    s.class_split = micl_calloc((size_t)n_classes, 1);
    snprintf(s.source, sizeof s.source, "import");
    uint64_t *acc = micl_malloc((size_t)size * (size_t)size * sizeof *acc);
    uint8_t *out_plane = micl_malloc((size_t)size * (size_t)size);
    uint64_t *rowacc = micl_malloc((size_t)size * sizeof *rowacc);

    int64_t i = 0, bytes = 0;
    for (int c = 0; c < n_classes; c++) {
        char *cdir = join(dir, folders.v[c]);
        for (size_t f = 0; f < files[c].n; f++, i++) {
            char *path = join(cdir, files[c].v[f]);
            luma_image_t img;
            decode_file(path, !gray, &img, &bytes);
            uint8_t *plane = channels > 1 ? micl_malloc((size_t)(img.w * img.h)) : NULL;
            resize_channels(img.pix, img.w, img.h, channels, size, s.pixels + (size_t)i * npix, acc,
                            rowacc, plane, out_plane);
            free(plane);
            free(img.pix);
            s.labels[i] = c;
            s.split[i] = STORE_SPLIT_TEST;
            free(path);
        }
        free(cdir);
    }
    free(acc);
    free(rowacc);
    free(out_plane);

    strbuf_t prov = {0};
    sb_printf(&prov,
              "import schema=%d dir=%s size=%d classes=%d images=%lld bytes=%lld "
              "%s alpha=over-black crop=centre-square resize=area-average "
              "split=all-test libpng=%s libjpeg=%d",
              gray ? STORE_SCHEMA_GRAY : STORE_SCHEMA_VERSION, dir, size, n_classes, (long long)n,
              (long long)bytes, gray ? "gray=bt601-luma" : "colour=rgb", png_get_libpng_ver(NULL),
              JPEG_LIB_VERSION);
#ifdef LIBJPEG_TURBO_VERSION
    sb_printf(&prov, " libjpeg-turbo=%s", IMPORT_STR(LIBJPEG_TURBO_VERSION));
#endif
    sb_printf(&prov, "; classes (name: images):");
    for (int c = 0; c < n_classes; c++)
        sb_printf(&prov, " %s: %zu%s", class_names[c], files[c].n, c + 1 < n_classes ? "," : "");
    s.provenance = prov.s;

    store_write(out_path, &s);
    micl_info("import: %lld images of %d classes (%dx%d %s, split test) from %s -> %s in %.1f s",
              (long long)n, n_classes, size, size, gray ? "gray" : "RGB", dir, out_path,
              clock_now_s() - t0);

    for (int c = 0; c < n_classes; c++)
        names_free(&files[c]);
    free(files);
    names_free(&folders);
    store_free(&s);
}
