/* operators.c - the operator store (see operators.h), rendered with the glyph store's font code.
 *
 * Image i draws from rng_make(seed, RNG_STREAM_OPERATOR_RENDER, i), in this order: two digits
 * (sorted so that a >= b), a font among its split's fonts, and for each of the three characters
 * a vertical offset in [-jitter, +jitter] pixels. The characters sit centred in the left,
 * middle and right thirds of the image at a pixel size of OP_FILL * size. Rendering is
 * sequential (FreeType faces are not shared between threads) and depends on nothing but the
 * config, the font files and the FreeType version, which the provenance records.
 */
#define _POSIX_C_SOURCE 200809L
#include "operators.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "sources.h"

#define OP_FILL 0.42   /* pixel size of the em square relative to the image side */
#define OP_JITTER 0.08 /* largest vertical offset of a character, relative to the side */
#define OP_MARK '?'

static int op_pixel_size(const data_config_t *cfg) {
    int px = (int)lround(OP_FILL * cfg->op_size);
    return px < 1 ? 1 : px;
}

static glyphs_fontset_t *open_op_fonts(const data_config_t *cfg) {
    glyphs_fontset_t *fs = glyphs_fontset_open(cfg->op_fonts, cfg->n_op_fonts, op_pixel_size(cfg),
                                               "data.operators.fonts");
    const char *need = "0123456789?";
    for (int f = 0; f < cfg->n_op_fonts; f++)
        for (const char *c = need; *c; c++)
            if (!glyphs_fontset_has(fs, f, (uint32_t)*c))
                micl_fatal("font '%s' (data.operators.fonts) has no glyph for '%c'",
                           cfg->op_fonts[f], *c);
    return fs;
}

static char *make_provenance(const data_config_t *cfg, const glyphs_fontset_t *fs) {
    char *fonts = glyphs_fontset_describe(fs);
    size_t cap = strlen(fonts) + 512;
    char *out = micl_malloc(cap);
    snprintf(out, cap,
             "operators schema=%d renderer=1 size=%d pixel_size=%d images=%d test_images=%d "
             "heldout_images=%d heldout_fonts=%d seed=%llu jitter=%.9g mark=%c %s",
             STORE_SCHEMA_VERSION, cfg->op_size, op_pixel_size(cfg), cfg->op_images,
             cfg->op_test_images, cfg->op_heldout_images, cfg->op_heldout_fonts,
             (unsigned long long)cfg->op_seed, OP_JITTER, OP_MARK, fonts);
    free(fonts);
    return out;
}

char *operators_provenance(const data_config_t *cfg) {
    glyphs_fontset_t *fs = open_op_fonts(cfg);
    char *p = make_provenance(cfg, fs);
    glyphs_fontset_close(fs);
    return p;
}

/* Renders image i (gray, size x size) and its operands. */
static void render_operator(const data_config_t *cfg, glyphs_fontset_t *fs, int64_t i, int heldout,
                            uint8_t *gray, int16_t *operands) {
    int S = cfg->op_size, n_train = cfg->n_op_fonts - cfg->op_heldout_fonts;
    rng_t r = rng_make(cfg->op_seed, RNG_STREAM_OPERATOR_RENDER, (uint64_t)i);
    int a = (int)rng_below(&r, 10), b = (int)rng_below(&r, 10);
    if (a < b) {
        int t = a;
        a = b;
        b = t;
    }
    int font = heldout ? n_train + (int)rng_below(&r, (uint64_t)cfg->op_heldout_fonts)
                       : (int)rng_below(&r, (uint64_t)n_train);
    uint32_t chars[3] = {(uint32_t)('0' + a), OP_MARK, (uint32_t)('0' + b)};
    memset(gray, 0, (size_t)S * S);
    for (int k = 0; k < 3; k++) {
        double dy = (2.0 * rng_uniform(&r) - 1.0) * OP_JITTER * S;
        char err[CONFIG_PATH_LEN + 128];
        if (glyphs_draw_char(fs, font, chars[k], (k + 0.5) * S / 3.0, S / 2.0 + dy, gray, S, S, err,
                             sizeof err))
            micl_fatal("operators: image %lld: %s", (long long)i, err);
    }
    operands[0] = (int16_t)a;
    operands[1] = (int16_t)b;
}

static void alloc_store(const data_config_t *cfg, image_store_t *s) {
    memset(s, 0, sizeof *s);
    s->n = (int64_t)cfg->op_images + cfg->op_heldout_images;
    s->h = s->w = cfg->op_size;
    s->c = 3;
    s->pixels = micl_malloc((size_t)s->n * store_image_bytes(s));
    s->labels = micl_malloc((size_t)s->n * sizeof *s->labels);
    s->split = micl_malloc((size_t)s->n);
    s->operands = micl_malloc((size_t)s->n * 2 * sizeof(int16_t));
    s->n_classes = 2;
    s->class_names = micl_malloc(2 * sizeof *s->class_names);
    s->class_names[0] = micl_strdup("operator");
    s->class_names[1] = micl_strdup("operator-heldout-font");
    s->class_split = micl_malloc(2);
    s->class_split[0] = 0;
    s->class_split[1] = 1;
    snprintf(s->source, sizeof s->source, "operators");
}

void operators_build(const data_config_t *cfg, image_store_t *out) {
    if (cfg->op_test_images >= cfg->op_images)
        micl_fatal("data.operators.test_images = %d must be less than data.operators.images = %d",
                   cfg->op_test_images, cfg->op_images);
    if (cfg->op_heldout_fonts < 1 || cfg->op_heldout_fonts >= cfg->n_op_fonts)
        micl_fatal("data.operators.heldout_fonts = %d must be 1 .. %d (fewer than the fonts)",
                   cfg->op_heldout_fonts, cfg->n_op_fonts - 1);
    glyphs_fontset_t *fs = open_op_fonts(cfg);
    alloc_store(cfg, out);
    int S = cfg->op_size;
    int64_t n_train = cfg->op_images - cfg->op_test_images;
    uint8_t *gray = micl_malloc((size_t)S * S);
    for (int64_t i = 0; i < out->n; i++) {
        int heldout = i >= cfg->op_images;
        render_operator(cfg, fs, i, heldout, gray, out->operands + 2 * i);
        uint8_t *px = out->pixels + (size_t)i * store_image_bytes(out);
        for (size_t p = 0; p < (size_t)S * S; p++)
            px[3 * p] = px[3 * p + 1] = px[3 * p + 2] = gray[p];
        out->labels[i] = heldout;
        out->split[i] = heldout       ? STORE_SPLIT_HELDOUT_CLASS
                        : i < n_train ? STORE_SPLIT_TRAIN
                                      : STORE_SPLIT_TEST;
    }
    free(gray);
    out->provenance = make_provenance(cfg, fs);
    glyphs_fontset_close(fs);
}
