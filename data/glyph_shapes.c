/* glyph_shapes.c - procedural filled-shape classes (see glyph_shapes.h).
 *
 * A class is the union of 1 .. 4 parts, each a filled ellipse or rectangle with its own centre,
 * half axes, angle and grey level (a later part paints over an earlier one), multiplied by a
 * stripe texture 1 - amp * (1 + sin(2 pi freq t)) / 2 along a direction. An instance moves every
 * part a little (centre, axes, angle), so instances of a class are alike and classes differ in
 * silhouette, grey levels and texture - the cues of photographed objects that strokes lack.
 * Pixels are the mean of 2 x 2 sub-samples, so edges are soft.
 */
#include "glyph_shapes.h"

#include <math.h>

#define PI 3.14159265358979323846

static double uniform(rng_t *r, double lo, double hi) {
    return lo + (hi - lo) * rng_uniform_double(r);
}

void glyph_shape_make(rng_t *r, glyph_shape_t *s) {
    s->n_parts = 1 + (int)rng_below(r, GLYPH_SHAPE_MAX_PARTS);
    for (int k = 0; k < s->n_parts; k++) {
        s->part[k].box = (int)rng_below(r, 2);
        s->part[k].cx = uniform(r, -0.2, 0.2);
        s->part[k].cy = uniform(r, -0.2, 0.2);
        s->part[k].rx = uniform(r, 0.08, 0.35);
        s->part[k].ry = uniform(r, 0.08, 0.35);
        s->part[k].angle = uniform(r, 0, PI);
        s->part[k].grey = uniform(r, 0.3, 1.0);
    }
    s->tex_amp = uniform(r, 0, 0.5);
    s->tex_freq = uniform(r, 4, 14);
    s->tex_angle = uniform(r, 0, PI);
}

/* Grey level of the jittered shape j at (u, v) (image sides from the middle). */
static double shade(const glyph_shape_t *j, double u, double v) {
    double g = 0;
    for (int k = 0; k < j->n_parts; k++) {
        double c = cos(j->part[k].angle), s = sin(j->part[k].angle);
        double du = u - j->part[k].cx, dv = v - j->part[k].cy;
        double a = (du * c + dv * s) / j->part[k].rx, b = (-du * s + dv * c) / j->part[k].ry;
        int in = j->part[k].box ? fabs(a) <= 1 && fabs(b) <= 1 : a * a + b * b <= 1;
        if (in) g = j->part[k].grey;
    }
    double t = u * cos(j->tex_angle) + v * sin(j->tex_angle);
    return g * (1.0 - j->tex_amp * 0.5 * (1.0 + sin(2.0 * PI * j->tex_freq * t)));
}

void glyph_shape_render(const glyph_shape_t *s, rng_t *r, int size, uint8_t *img) {
    glyph_shape_t j = *s;
    for (int k = 0; k < j.n_parts; k++) {
        j.part[k].cx += 0.02 * rng_normal(r);
        j.part[k].cy += 0.02 * rng_normal(r);
        j.part[k].rx *= uniform(r, 0.9, 1.1);
        j.part[k].ry *= uniform(r, 0.9, 1.1);
        j.part[k].angle += 0.1 * rng_normal(r);
    }
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            double sum = 0;
            for (int sy = 0; sy < 2; sy++)
                for (int sx = 0; sx < 2; sx++)
                    sum += shade(&j, (x + 0.25 + 0.5 * sx) / size - 0.5,
                                 (y + 0.25 + 0.5 * sy) / size - 0.5);
            img[y * size + x] = (uint8_t)lround(255.0 * sum / 4.0);
        }
}
