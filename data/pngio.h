/* pngio.h - writing 8-bit gray or RGB pixels as a PNG file (libpng).
 *
 * The file is written to "<path>.tmp" and renamed, and registered as pending while it is
 * written, so a failure (which exits through micl_fatal) never leaves a partial file. Used by
 * `micl data show` (episode pictures) and `micl data export` (the images of exported episodes).
 */
#ifndef MICL_PNGIO_H
#define MICL_PNGIO_H

#include <stdint.h>

/* Writes h x w pixels, row-major, `channels` = 1 (gray) or 3 (RGB, interleaved). `software`
 * is stored in the file's Software text chunk (NULL: none). */
void pngio_write(const char *path, const uint8_t *pixels, int h, int w, int channels,
                 const char *software);

#endif
