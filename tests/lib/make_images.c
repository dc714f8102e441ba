/* make_images.c - writes one PNG or JPEG test image for tests/data/import_test.sh, so that
 * the `micl data import` tests need only libpng and libjpeg (already linked into micl).
 *
 *   make_images FILE KIND W H FILL R G B A
 *
 * KIND: gray1 gray4 gray8 gray16 graya8 graya16 palette palette-trns rgb8 rgb16 rgba8 rgba16
 *       rgb8-interlaced jpeg-gray jpeg-rgb
 * FILL: c (every pixel is the colour), v (left half black, right half the colour),
 *       h (top half black, bottom half the colour), k (1-pixel checkerboard of black and the
 *       colour, black at (0, 0)).
 * The colour is (R, G, B) with alpha A; black pixels are (0, 0, 0) and opaque. Gray kinds use
 * R as the gray level (gray1: 1 when R >= 128; gray4: R >> 4). 16-bit kinds store v * 257.
 * palette is a 2-entry palette at bit depth 4; palette-trns gives the colour entry alpha A.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static void die(const char *msg, const char *arg) {
    fprintf(stderr, "make_images: %s%s\n", msg, arg);
    exit(1);
}

static int on(char fill, long x, long y, long w, long h) {
    switch (fill) {
    case 'c':
        return 1;
    case 'v':
        return x >= w / 2;
    case 'h':
        return y >= h / 2;
    case 'k':
        return (x + y) % 2 == 1;
    default:
        die("unknown FILL ", "");
        return 0;
    }
}

static void write_jpeg(const char *path, int gray, long w, long h, char fill, const int rgba[4]) {
    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create ", path);
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = gray ? 1 : 3;
    ci.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 95, TRUE);
    jpeg_start_compress(&ci, TRUE);
    int ch = gray ? 1 : 3;
    JSAMPLE *row = malloc((size_t)w * (size_t)ch);
    if (!row) die("out of memory", "");
    for (long y = 0; y < h; y++) {
        for (long x = 0; x < w; x++)
            for (int c = 0; c < ch; c++)
                row[x * ch + c] = (JSAMPLE)(on(fill, x, y, w, h) ? rgba[c] : 0);
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    if (fclose(f) != 0) die("cannot write ", path);
}

static void write_png(const char *path, const char *kind, long w, long h, char fill,
                      const int rgba[4]) {
    int color, ch;
    volatile int depth = 8, interlace = PNG_INTERLACE_NONE; /* read after setjmp */
    if (strcmp(kind, "gray1") == 0)
        color = PNG_COLOR_TYPE_GRAY, depth = 1, ch = 1;
    else if (strcmp(kind, "gray4") == 0)
        color = PNG_COLOR_TYPE_GRAY, depth = 4, ch = 1;
    else if (strcmp(kind, "gray8") == 0)
        color = PNG_COLOR_TYPE_GRAY, ch = 1;
    else if (strcmp(kind, "gray16") == 0)
        color = PNG_COLOR_TYPE_GRAY, depth = 16, ch = 1;
    else if (strcmp(kind, "graya8") == 0)
        color = PNG_COLOR_TYPE_GRAY_ALPHA, ch = 2;
    else if (strcmp(kind, "graya16") == 0)
        color = PNG_COLOR_TYPE_GRAY_ALPHA, depth = 16, ch = 2;
    else if (strcmp(kind, "palette") == 0 || strcmp(kind, "palette-trns") == 0)
        color = PNG_COLOR_TYPE_PALETTE, depth = 4, ch = 1;
    else if (strcmp(kind, "rgb8") == 0)
        color = PNG_COLOR_TYPE_RGB, ch = 3;
    else if (strcmp(kind, "rgb8-interlaced") == 0)
        color = PNG_COLOR_TYPE_RGB, ch = 3, interlace = PNG_INTERLACE_ADAM7;
    else if (strcmp(kind, "rgb16") == 0)
        color = PNG_COLOR_TYPE_RGB, depth = 16, ch = 3;
    else if (strcmp(kind, "rgba8") == 0)
        color = PNG_COLOR_TYPE_RGB_ALPHA, ch = 4;
    else if (strcmp(kind, "rgba16") == 0)
        color = PNG_COLOR_TYPE_RGB_ALPHA, depth = 16, ch = 4;
    else
        die("unknown KIND ", kind);

    FILE *f = fopen(path, "wb");
    if (!f) die("cannot create ", path);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) die("cannot create libpng structures", "");
    if (setjmp(png_jmpbuf(png))) die("libpng failed writing ", path);
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[2] = {{0, 0, 0}, {(png_byte)rgba[0], (png_byte)rgba[1], (png_byte)rgba[2]}};
        png_set_PLTE(png, info, pal, 2);
        if (strcmp(kind, "palette-trns") == 0) {
            png_byte trans[2] = {255, (png_byte)rgba[3]};
            png_set_tRNS(png, info, trans, 2, NULL);
        }
    }
    png_write_info(png, info);
    if (depth < 8) png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    size_t bps = depth == 16 ? 2 : 1;
    unsigned char *row = malloc((size_t)w * (size_t)ch * bps);
    if (!row) die("out of memory", "");
    for (int pass = 0; pass < passes; pass++) {
        for (long y = 0; y < h; y++) {
            for (long x = 0; x < w; x++) {
                int lit = on(fill, x, y, w, h);
                for (int c = 0; c < ch; c++) {
                    int v;
                    if (color == PNG_COLOR_TYPE_PALETTE)
                        v = lit;
                    else if (ch <= 2)
                        v = c == 0 ? (lit ? rgba[0] : 0) : (lit ? rgba[3] : 255);
                    else
                        v = c < 3 ? (lit ? rgba[c] : 0) : (lit ? rgba[3] : 255);
                    if (depth == 1) v = v >= 128 ? 1 : 0;
                    if (depth == 4 && color != PNG_COLOR_TYPE_PALETTE) v >>= 4;
                    size_t at = ((size_t)x * (size_t)ch + (size_t)c);
                    if (depth == 16) {
                        unsigned v16 = (unsigned)v * 257u; /* PNG samples are big-endian */
                        row[2 * at] = (unsigned char)(v16 >> 8);
                        row[2 * at + 1] = (unsigned char)(v16 & 255u);
                    } else {
                        row[at] = (unsigned char)v;
                    }
                }
            }
            png_write_row(png, row);
        }
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (fclose(f) != 0) die("cannot write ", path);
}

int main(int argc, char **argv) {
    if (argc != 10) die("usage: make_images FILE KIND W H FILL R G B A", "");
    const char *path = argv[1], *kind = argv[2];
    long w = strtol(argv[3], NULL, 10), h = strtol(argv[4], NULL, 10);
    char fill = argv[5][0];
    int rgba[4];
    for (int i = 0; i < 4; i++)
        rgba[i] = (int)strtol(argv[6 + i], NULL, 10);
    if (w < 1 || h < 1) die("bad size", "");
    if (strcmp(kind, "jpeg-gray") == 0 || strcmp(kind, "jpeg-rgb") == 0)
        write_jpeg(path, strcmp(kind, "jpeg-gray") == 0, w, h, fill, rgba);
    else
        write_png(path, kind, w, h, fill, rgba);
    return 0;
}
