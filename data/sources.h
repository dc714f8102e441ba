/* sources.h - where images come from: Fashion-MNIST IDX files and FreeType-rendered glyphs,
 * and `micl data prepare`, which builds and caches the stores a config needs. */
#ifndef MICL_SOURCES_H
#define MICL_SOURCES_H

#include <stdint.h>

#include "common/config.h"
#include "store.h"

/* Reads a (gzip or plain) IDX file of ndim dims. Fails with a message naming the file on a
 * bad magic, truncation, trailing bytes or absurd dimensions. */
void idx_read_u8(const char *path, int want_ndim, int64_t dims[3], uint8_t **data);

/* Builds the Fashion-MNIST store (train = split 0, t10k = split 1). */
void fashion_mnist_build(const char *dir, image_store_t *out);

/* FreeType's text for an error code (NULL if unknown); FT_Error_String is empty unless
 * FreeType was built with error strings. */
const char *glyphs_ft_error_text(int code);

/* Opened font faces for renderers other than the glyph store (the operator store). `fonts` are
 * "file" or "file#face" entries; key names the config list in messages (a missing file, a bad
 * face index or a bitmap-only font is fatal). Faces are set to pixel_size. Not thread-safe:
 * one set per thread. */
typedef struct glyphs_fontset glyphs_fontset_t;
glyphs_fontset_t *glyphs_fontset_open(const char (*fonts)[CONFIG_PATH_LEN], int n, int pixel_size,
                                      const char *key);
void glyphs_fontset_close(glyphs_fontset_t *fs);
/* "freetype=X.Y.Z fonts: <file> (<bytes> bytes, <family>); ..." for a provenance (free it). */
char *glyphs_fontset_describe(const glyphs_fontset_t *fs);
/* 1 if font `font` of the set maps code point cp to a glyph. */
int glyphs_fontset_has(const glyphs_fontset_t *fs, int font, uint32_t cp);
/* Renders code point cp of font `font` unhinted, its outline box centred on pixel (cx, cy)
 * (y down), into a w x h gray canvas, keeping the brighter value per pixel. Returns 0, or 1
 * with a message in err. */
int glyphs_draw_char(glyphs_fontset_t *fs, int font, uint32_t cp, double cx, double cy,
                     uint8_t *canvas, int w, int h, char *err, size_t errlen);

/* Renders the glyph store from the fonts in cfg (see docs/DATA.md). */
void glyphs_build(const data_config_t *cfg, image_store_t *out);

/* The provenance strings the builders above would record now (allocated; free them). They
 * describe every input (files and sizes, parameters, FreeType version, font coverage) and are
 * what data_prepare compares with a cached store's provenance attribute. */
char *fashion_mnist_provenance(const char *dir);
char *glyphs_provenance(const data_config_t *cfg);

/* Store paths inside cfg->data.cache_dir. */
void data_glyph_store_path(const config_t *cfg, char *buf, int len);
void data_fmnist_store_path(const config_t *cfg, char *buf, int len);
void data_scene_store_path(const config_t *cfg, char *buf, int len);
void data_operator_store_path(const config_t *cfg, char *buf, int len);
/* The store a benchmark runs on (store: BENCHMARK_STORE_*, data/benchmark.h). */
void data_benchmark_store_path(const config_t *cfg, int store, char *buf, int len);

/* Builds missing (or stale: provenance differs) stores; prints what it did. */
void data_prepare(const config_t *cfg, int force);

#endif
