/* import.h - `micl data import`: an image store from a folder of class sub-folders of PNG and
 * JPEG files, so that users can evaluate a model on their own images (docs/DATA.md,
 * "Importing an image folder").
 *
 * Each immediate sub-folder of the directory is one class (folders sorted by name; spaces and
 * other white space in a folder name become '-'); its .png/.jpg/.jpeg files (any letter case,
 * sorted by name) are its images. Every image is decoded (libpng, libjpeg), converted to RGB
 * (gray replicated) or, with gray, to 8-bit ITU-R BT.601 luma (alpha composited over black
 * either way), centre-cropped to a square and area-averaged to size x size, each channel on
 * its own. All classes are train classes and all images have split
 * STORE_SPLIT_TEST, so `micl eval --dataset` uses every imported image.
 */
#ifndef MICL_IMPORT_H
#define MICL_IMPORT_H

#include <stddef.h>
#include <stdint.h>

/* Largest accepted image side, in pixels, before cropping and resizing. */
#define DATA_IMPORT_MAX_SIDE 16384

/* Imports dir into the store out_path (written through "<out_path>.tmp" and renamed). size is
 * the side of the stored images (1 .. 1024). gray: store 1-channel luma (schema 1) instead of
 * 3-channel RGB (schema 2). Any problem (missing or empty folders, a corrupt, truncated or
 * oversized image, an unwritable output) is fatal, names the file or folder and leaves no output
 * behind. */
void data_import(const char *dir, const char *out_path, int size, int gray);

/* Decodes one PNG or JPEG image held in memory (len bytes; the format is taken from the
 * signature) exactly as data_import does: grayscale, centre crop, area-average resize to
 * size x size bytes written to out. name is used in messages. Any problem is fatal. */
void data_import_decode(const uint8_t *data, size_t len, const char *name, int size, uint8_t *out);

#endif
