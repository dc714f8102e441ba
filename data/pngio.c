/* pngio.c - PNG writing with libpng (see pngio.h). */
#include "pngio.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"

/* libpng's "Write Error" comes from a failed fwrite: errno says why (a full disk, EIO). */
static void on_png_error(png_structp png, png_const_charp msg) {
    int e = errno;
    const char *path = png_get_error_ptr(png);
    micl_fatal("%s: cannot write PNG: %s%s%s", path ? path : "?", msg, e ? ": " : "",
               e ? strerror(e) : "");
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    const char *path = png_get_error_ptr(png);
    micl_warn("%s: libpng: %s", path ? path : "?", msg);
}

void pngio_write(const char *path, const uint8_t *pixels, int h, int w, int channels,
                 const char *software) {
    if (h < 1 || w < 1 || (channels != 1 && channels != 3))
        micl_fatal("%s: cannot write a %dx%dx%d image as PNG", path, h, w, channels);
    atomic_file_t af;
    FILE *fp = atomic_file_open(&af, path, "wb");
    char *tmp = af.tmp;
    /* libpng errors end in on_png_error, which exits through micl_fatal (removing tmp) */
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, (png_voidp)tmp, on_png_error,
                                              on_png_warning);
    if (!png) micl_fatal("%s: cannot create a libpng writer (out of memory?)", tmp);
    png_infop info = png_create_info_struct(png);
    if (!info) micl_fatal("%s: cannot create libpng info (out of memory?)", tmp);
    png_init_io(png, fp);
    errno = 0;
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 9);
    if (software) {
        png_text txt;
        memset(&txt, 0, sizeof txt);
        txt.compression = PNG_TEXT_COMPRESSION_NONE;
        txt.key = "Software";
        txt.text = (png_charp)software;
        png_set_text(png, info, &txt, 1);
    }
    png_write_info(png, info);
    for (int j = 0; j < h; j++)
        png_write_row(png, (png_const_bytep)(pixels + (size_t)j * (size_t)w * (size_t)channels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    atomic_file_commit(&af);
}
