/* glyph_aug.c - image augmentation of glyph store instances (see glyph_aug.h).
 *
 * Four steps, in this order, each with its own draws from the class's augmentation stream:
 *   fill:     with probability `fill`, a 3x3 maximum twice (strokes thicken into solid areas),
 *             then a 3x3 box blur (soft edges, like photographed objects);
 *   contrast: every pixel times a factor uniform in [1 - contrast, 1] (grey ink levels);
 *   invert:   with probability `invert`, 255 - pixel (dark on light);
 *   noise:    a standard deviation uniform in [0, noise], then Gaussian noise per pixel.
 * A step whose parameter is 0 draws nothing, so a config that leaves them at 0 renders the
 * same bytes as before the augmentation existed.
 */
#include "glyph_aug.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int glyph_aug_enabled(const data_config_t *cfg) {
    return cfg->glyph_contrast > 0 || cfg->glyph_fill > 0 || cfg->glyph_invert > 0 ||
           cfg->glyph_noise > 0;
}

/* dst = 3x3 maximum (radius 1, clipped at the border) of src. */
static void max3(const uint8_t *src, uint8_t *dst, int n) {
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            uint8_t m = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= n || xx < 0 || xx >= n) continue;
                    uint8_t v = src[yy * n + xx];
                    if (v > m) m = v;
                }
            dst[y * n + x] = m;
        }
}

/* dst = 3x3 mean (over the pixels inside the image) of src, rounded. */
static void blur3(const uint8_t *src, uint8_t *dst, int n) {
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            int sum = 0, cnt = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    if (yy < 0 || yy >= n || xx < 0 || xx >= n) continue;
                    sum += src[yy * n + xx];
                    cnt++;
                }
            dst[y * n + x] = (uint8_t)((sum + cnt / 2) / cnt);
        }
}

static uint8_t clamp_u8(double v) {
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)lround(v);
}

void glyph_aug_apply(const data_config_t *cfg, rng_t *r, uint8_t *img, uint8_t *tmp) {
    const int n = cfg->glyph_size;
    const size_t npix = (size_t)n * (size_t)n;
    if (cfg->glyph_fill > 0 && rng_uniform(r) < cfg->glyph_fill) {
        max3(img, tmp, n);
        max3(tmp, img, n);
        blur3(img, tmp, n);
        memcpy(img, tmp, npix);
    }
    if (cfg->glyph_contrast > 0) {
        double f = 1.0 - (double)cfg->glyph_contrast * rng_uniform_double(r);
        for (size_t i = 0; i < npix; i++)
            img[i] = clamp_u8(img[i] * f);
    }
    if (cfg->glyph_invert > 0 && rng_uniform(r) < cfg->glyph_invert)
        for (size_t i = 0; i < npix; i++)
            img[i] = (uint8_t)(255 - img[i]);
    if (cfg->glyph_noise > 0) {
        double sd = (double)cfg->glyph_noise * rng_uniform_double(r);
        for (size_t i = 0; i < npix; i++)
            img[i] = clamp_u8(img[i] + sd * rng_normal(r));
    }
}

int glyph_aug_describe(const data_config_t *cfg, char *out, size_t cap) {
    if (!glyph_aug_enabled(cfg)) return 0;
    return snprintf(out, cap, " contrast=%.9g fill=%.9g invert=%.9g noise=%.9g",
                    (double)cfg->glyph_contrast, (double)cfg->glyph_fill, (double)cfg->glyph_invert,
                    (double)cfg->glyph_noise);
}
