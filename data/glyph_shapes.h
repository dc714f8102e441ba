/* glyph_shapes.h - procedural filled-shape classes of the glyph store (data.glyphs.shape_classes):
 * solid silhouettes with grey levels and textures, unlike the ideographs' thin strokes. */
#ifndef MICL_GLYPH_SHAPES_H
#define MICL_GLYPH_SHAPES_H

#include <stdint.h>

#include "common/rng.h"

#define GLYPH_SHAPE_MAX_PARTS 4

typedef struct {
    int n_parts;
    struct {
        int box;       /* 0 ellipse, 1 rectangle */
        double cx, cy; /* centre, in image sides from the middle */
        double rx, ry; /* half axes, in image sides */
        double angle;  /* radians */
        double grey;   /* fill level, 0 .. 1 */
    } part[GLYPH_SHAPE_MAX_PARTS];
    double tex_amp, tex_freq, tex_angle; /* stripe texture: depth, cycles per side, direction */
} glyph_shape_t;

/* Draws the parameters of one shape class from r. */
void glyph_shape_make(rng_t *r, glyph_shape_t *s);

/* Renders one instance of shape s (parts jittered from r) into a size x size gray image. */
void glyph_shape_render(const glyph_shape_t *s, rng_t *r, int size, uint8_t *img);

#endif
