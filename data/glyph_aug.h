/* glyph_aug.h - image augmentation of the glyph store's instances (data.glyphs.contrast, fill,
 * invert, noise): every rendered instance can be filled, dimmed, inverted and noised, so that
 * the encoder sees grey levels, solid areas and dark-on-light images as well as white strokes.
 */
#ifndef MICL_GLYPH_AUG_H
#define MICL_GLYPH_AUG_H

#include <stdint.h>

#include "common/config.h"
#include "common/rng.h"

/* 1 if any augmentation is switched on (otherwise glyph_aug_apply leaves images alone). */
int glyph_aug_enabled(const data_config_t *cfg);

/* Augments one size x size gray image in place, drawing from r (always the same draws for a
 * given config, so the result depends only on r's state); tmp holds size*size bytes. */
void glyph_aug_apply(const data_config_t *cfg, rng_t *r, uint8_t *img, uint8_t *tmp);

/* Appends " contrast=.. fill=.. invert=.. noise=.." to a provenance (nothing when off). */
int glyph_aug_describe(const data_config_t *cfg, char *out, size_t cap);

#endif
