/* glyphs.c - the glyph image store: CJK ideographs rendered with FreeType, one class each.
 *
 * Classes are ideographs of U+4E00..U+9FFF that every configured font covers, picked by a
 * seeded shuffle (RNG_STREAM_SPLIT, index 0); the first glyph_train_classes are train classes,
 * the rest held-out classes. Each class gets glyph_instances distinct renderings: attempts cycle
 * through the fonts, each with its own random rotation, scale, sub-pixel shift and stroke
 * change (RNG_STREAM_GLYPH_RENDER, index = class), and a rendering whose bitmap equals an
 * accepted one (or is blank) is dropped and retried. Classes render in parallel (OpenMP, one
 * FT_Library per thread); every random draw is keyed by class, so the bytes do not depend on
 * the thread count. docs/DATA.md describes the result; prepare.c caches it.
 *
 * Diverse train classes can follow the ideograph train classes (docs/DATA.md): characters of
 * other scripts (data.glyphs.script_classes, rendered like the ideographs from
 * data.glyphs.script_fonts) and procedural filled shapes (data.glyphs.shape_classes,
 * glyph_shapes.c); the held-out classes stay ideographs. Every random draw of a class is keyed
 * by its source and ordinal (an ideograph's key is its place in the shuffled ideograph list), so
 * adding extra classes leaves the ideographs' images as they were. Each instance of a train
 * class can then be augmented (glyph_aug.c, its own stream), after the blank check and before
 * the duplicate check; held-out classes stay clean, so binding is measured on plain glyphs.
 *
 * The font handling (parsing "file#N" entries, opening faces with checked errors, describing
 * them for a provenance) and a plain character renderer are also offered to other renderers
 * (glyphs_fontset_*, glyphs_draw_char; the operator store uses them).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H
#include FT_BITMAP_H

#include "common/error.h"
#include "common/rng.h"
#include "glyph_aug.h"
#include "glyph_shapes.h"
#include "sources.h"

#define CJK_FIRST 0x4E00
#define CJK_LAST 0x9FFF
#define GLYPH_FILL 0.8 /* pixel size of the em square relative to the image side */

/* RNG keys of the extra classes: far above any ideograph ordinal. */
#define SCRIPT_KEY_BASE (1ULL << 32)
#define SHAPE_KEY_BASE (2ULL << 32)

/* Code point ranges the script classes are drawn from (those every script font covers):
 * letters of Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic, Devanagari, Georgian, Hangul
 * and kana, then arrows, mathematical operators, box drawing, blocks, geometric shapes,
 * miscellaneous symbols and dingbats. */
static const int32_t k_script_ranges[][2] = {
    {0x0041, 0x005A}, {0x0061, 0x007A}, {0x00C0, 0x017F}, {0x0391, 0x03A9}, {0x03B1, 0x03C9},
    {0x0400, 0x045F}, {0x0531, 0x0556}, {0x05D0, 0x05EA}, {0x0627, 0x064A}, {0x0905, 0x0939},
    {0x10D0, 0x10FA}, {0x3041, 0x3096}, {0x30A1, 0x30FA}, {0xAC00, 0xD7A3}, {0x2190, 0x21FF},
    {0x2200, 0x22FF}, {0x2500, 0x25FF}, {0x2600, 0x26FF}, {0x2700, 0x27BF}};
#define N_SCRIPT_RANGES ((int)(sizeof k_script_ranges / sizeof k_script_ranges[0]))

/* Where a class's images come from. */
typedef enum { SRC_IDEOGRAPH, SRC_SCRIPT, SRC_SHAPE } class_kind_t;
typedef struct {
    class_kind_t kind;
    int32_t cp;   /* code point (ideographs and script characters) */
    uint64_t key; /* index of its random streams */
    int train;    /* 1 for a train class (only those are augmented) */
} class_src_t;

typedef struct {
    char path[CONFIG_PATH_LEN];
    long face; /* face index inside a collection */
} font_spec_t;

typedef struct {
    FT_Library lib;
    FT_Face faces[CONFIG_MAX_FONTS];
    int n;
} font_set_t;

/* FreeType's error texts (FT_Error_String is empty unless FreeType was built with them). */
#undef FTERRORS_H_
#define FT_ERRORDEF(e, v, s) {e, s},
#define FT_ERROR_START_LIST {
#define FT_ERROR_END_LIST                                                                          \
    { 0, NULL }                                                                                    \
    }
static const struct {
    int code;
    const char *text;
} k_ft_errors[] =
#include FT_ERRORS_H
    ;

const char *glyphs_ft_error_text(int e) {
    for (int i = 0; k_ft_errors[i].text; i++)
        if (k_ft_errors[i].code == e) return k_ft_errors[i].text;
    return NULL;
}

static void ft_message(FT_Error e, char *buf, size_t len) {
    const char *text = glyphs_ft_error_text(e);
    if (text)
        snprintf(buf, len, "%s (FreeType error 0x%02x)", text, (unsigned)e);
    else
        snprintf(buf, len, "FreeType error 0x%02x", (unsigned)e);
}

static int pixel_size(const data_config_t *cfg) {
    int px = (int)lround(GLYPH_FILL * cfg->glyph_size);
    return px < 1 ? 1 : px;
}

static void check_config(const data_config_t *cfg) {
    if (cfg->glyph_size < 4 || cfg->glyph_size > 1024)
        micl_fatal("data.glyphs.size is %d, expected 4 .. 1024", cfg->glyph_size);
    if (cfg->glyph_train_classes < 1)
        micl_fatal("data.glyphs.train_classes is %d, expected at least 1",
                   cfg->glyph_train_classes);
    if (cfg->glyph_heldout_classes < 0)
        micl_fatal("data.glyphs.heldout_classes is %d, expected at least 0",
                   cfg->glyph_heldout_classes);
    if (cfg->glyph_instances < 1)
        micl_fatal("data.glyphs.instances is %d, expected at least 1", cfg->glyph_instances);
    if (cfg->glyph_heldout_instances < 0 || cfg->glyph_heldout_instances >= cfg->glyph_instances)
        micl_fatal(
            "data.glyphs.heldout_instances is %d, expected 0 .. %d (data.glyphs.instances - 1, "
            "so that every train class keeps a training image)",
            cfg->glyph_heldout_instances, cfg->glyph_instances - 1);
    if (cfg->n_fonts < 1 || cfg->n_fonts > CONFIG_MAX_FONTS)
        micl_fatal("data.glyphs.fonts lists %d fonts, expected 1 .. %d", cfg->n_fonts,
                   CONFIG_MAX_FONTS);
    if (!(cfg->glyph_rotate_deg >= 0 && cfg->glyph_rotate_deg <= 45))
        micl_fatal("data.glyphs.rotate_deg is %g, expected 0 .. 45", cfg->glyph_rotate_deg);
    if (!(cfg->glyph_scale_jitter >= 0 && cfg->glyph_scale_jitter <= 0.5))
        micl_fatal("data.glyphs.scale_jitter is %g, expected 0 .. 0.5", cfg->glyph_scale_jitter);
    if (!(cfg->glyph_shift_px >= 0 && cfg->glyph_shift_px <= cfg->glyph_size))
        micl_fatal("data.glyphs.shift_px is %g, expected 0 .. %d (data.glyphs.size)",
                   cfg->glyph_shift_px, cfg->glyph_size);
    if (!(fabsf(cfg->glyph_stroke_px) <= cfg->glyph_size / 4.0))
        micl_fatal("data.glyphs.stroke_px is %g, expected |value| <= %g (a quarter of "
                   "data.glyphs.size)",
                   cfg->glyph_stroke_px, cfg->glyph_size / 4.0);
    if (cfg->glyph_script_classes < 0 || cfg->glyph_shape_classes < 0)
        micl_fatal("data.glyphs.script_classes (%d) and data.glyphs.shape_classes (%d) must be "
                   ">= 0",
                   cfg->glyph_script_classes, cfg->glyph_shape_classes);
    if (cfg->glyph_script_classes > 0 &&
        (cfg->n_script_fonts < 1 || cfg->n_script_fonts > CONFIG_MAX_FONTS))
        micl_fatal("data.glyphs.script_fonts lists %d fonts, expected 1 .. %d", cfg->n_script_fonts,
                   CONFIG_MAX_FONTS);
    if (!(cfg->glyph_contrast >= 0 && cfg->glyph_contrast <= 0.9))
        micl_fatal("data.glyphs.contrast is %g, expected 0 .. 0.9", cfg->glyph_contrast);
    if (!(cfg->glyph_fill >= 0 && cfg->glyph_fill <= 1))
        micl_fatal("data.glyphs.fill is %g, expected 0 .. 1", cfg->glyph_fill);
    if (!(cfg->glyph_invert >= 0 && cfg->glyph_invert <= 1))
        micl_fatal("data.glyphs.invert is %g, expected 0 .. 1", cfg->glyph_invert);
    if (!(cfg->glyph_noise >= 0 && cfg->glyph_noise <= 64))
        micl_fatal("data.glyphs.noise is %g, expected 0 .. 64", cfg->glyph_noise);
}

/* "file.ttc" or "file.ttc#N" (face N of a collection); key names the list in messages. */
static void parse_fonts(const char (*fonts)[CONFIG_PATH_LEN], int n, const char *key,
                        font_spec_t *specs) {
    for (int i = 0; i < n; i++) {
        const char *s = fonts[i];
        snprintf(specs[i].path, sizeof specs[i].path, "%s", s);
        specs[i].face = 0;
        char *hash = strrchr(specs[i].path, '#');
        if (hash) {
            char *end = NULL;
            errno = 0;
            long v = strtol(hash + 1, &end, 10);
            if (hash[1] == '\0' || *end != '\0' || errno || v < 0 || v > 65535)
                micl_fatal("%s entry '%s': the face index after '#' must be an integer 0 .. 65535",
                           key, s);
            specs[i].face = v;
            *hash = '\0';
        }
        if (!specs[i].path[0]) micl_fatal("%s entry %d is empty", key, i);
    }
}

/* Opens every font; returns 0 or a FreeType error, with a message in err. */
static int open_fonts(const font_spec_t *specs, int n, int px, font_set_t *fs, char *err,
                      size_t errlen) {
    memset(fs, 0, sizeof *fs);
    FT_Error e = FT_Init_FreeType(&fs->lib);
    if (e) {
        char m[128];
        ft_message(e, m, sizeof m);
        snprintf(err, errlen, "cannot initialise FreeType: %s", m);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        e = FT_New_Face(fs->lib, specs[i].path, specs[i].face, &fs->faces[i]);
        if (e) {
            char m[128];
            ft_message(e, m, sizeof m);
            snprintf(err, errlen, "font '%s' face %ld: cannot open: %s", specs[i].path,
                     specs[i].face, m);
            return 1;
        }
        fs->n = i + 1;
        if (!FT_IS_SCALABLE(fs->faces[i])) {
            snprintf(err, errlen, "font '%s' face %ld has no outlines (bitmap-only font)",
                     specs[i].path, specs[i].face);
            return 1;
        }
        e = FT_Set_Pixel_Sizes(fs->faces[i], 0, (FT_UInt)px);
        if (e) {
            char m[128];
            ft_message(e, m, sizeof m);
            snprintf(err, errlen, "font '%s' face %ld: cannot set pixel size %d: %s", specs[i].path,
                     specs[i].face, px, m);
            return 1;
        }
    }
    return 0;
}

static void close_fonts(font_set_t *fs) {
    for (int i = 0; i < fs->n; i++)
        if (fs->faces[i]) FT_Done_Face(fs->faces[i]);
    if (fs->lib) FT_Done_FreeType(fs->lib);
    memset(fs, 0, sizeof *fs);
}

/* Checks that the font files exist (clear message naming them and the key) and opens them. */
static void open_fonts_checked(const font_spec_t *specs, int n, int px, const char *key,
                               font_set_t *fs) {
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(specs[i].path, &st) != 0)
            micl_fatal("font file '%s' (%s) cannot be read: %s", specs[i].path, key,
                       strerror(errno));
        if (!S_ISREG(st.st_mode))
            micl_fatal("font file '%s' (%s) is not a regular file", specs[i].path, key);
    }
    char err[CONFIG_PATH_LEN + 256];
    if (open_fonts(specs, n, px, fs, err, sizeof err)) {
        close_fonts(fs);
        micl_fatal("%s", err);
    }
}

/* Appends to out (from index n; out may be NULL to count only) the code points of [lo, hi]
 * that every face of fs maps to a glyph, in order; returns the new count. */
static int covered_range(const font_set_t *fs, int32_t lo, int32_t hi, int32_t *out, int n) {
    for (int32_t cp = lo; cp <= hi; cp++) {
        int all = 1;
        for (int f = 0; f < fs->n && all; f++)
            if (FT_Get_Char_Index(fs->faces[f], (FT_ULong)cp) == 0) all = 0;
        if (all) {
            if (out) out[n] = cp;
            n++;
        }
    }
    return n;
}

/* Ideographs of U+4E00..U+9FFF present in every face, ascending; returns the count. */
static int covered_ideographs(const font_set_t *fs, int32_t *out) {
    return covered_range(fs, CJK_FIRST, CJK_LAST, out, 0);
}

/* Characters of k_script_ranges present in every face, in table order; returns the count
 * (out may be NULL to count only). */
static int covered_script_chars(const font_set_t *fs, int32_t *out) {
    int n = 0;
    for (int r = 0; r < N_SCRIPT_RANGES; r++)
        n = covered_range(fs, k_script_ranges[r][0], k_script_ranges[r][1], out, n);
    return n;
}

static int script_range_size(void) {
    int n = 0;
    for (int r = 0; r < N_SCRIPT_RANGES; r++)
        n += k_script_ranges[r][1] - k_script_ranges[r][0] + 1;
    return n;
}

/* Appends " <font> (<bytes> bytes, <family>);" for every font to out (capacity cap, length
 * len); returns the new length. */
static int describe_fonts(const char (*fonts)[CONFIG_PATH_LEN], int n, const font_set_t *fs,
                          char *out, size_t cap, int len) {
    for (int i = 0; i < n; i++) {
        struct stat st;
        long long size = stat(fonts[i], &st) == 0 ? (long long)st.st_size : -1;
        if (size < 0) {
            /* "file#N": stat the file part */
            char p[CONFIG_PATH_LEN];
            snprintf(p, sizeof p, "%s", fonts[i]);
            char *h = strrchr(p, '#');
            if (h) *h = '\0';
            size = stat(p, &st) == 0 ? (long long)st.st_size : -1;
        }
        len += snprintf(out + len, cap - (size_t)len, " %s (%lld bytes, %s);", fonts[i], size,
                        fs->faces[i]->family_name ? fs->faces[i]->family_name : "?");
    }
    return len;
}

/* The provenance; sfs and script_covered describe the script fonts (sfs NULL when
 * data.glyphs.script_classes is 0: then nothing about extra classes is written, nor about an
 * augmentation that is off, so such a store keeps the provenance it had before they existed). */
static char *make_provenance(const data_config_t *cfg, const font_set_t *fs, int covered,
                             const font_set_t *sfs, int script_covered) {
    FT_Int maj = 0, min = 0, pat = 0;
    FT_Library_Version(fs->lib, &maj, &min, &pat);
    size_t cap = 1536 + (size_t)(cfg->n_fonts + cfg->n_script_fonts) * (CONFIG_PATH_LEN + 64);
    char *out = micl_malloc(cap);
    int len = snprintf(
        out, cap,
        "glyphs schema=%d size=%d pixel_size=%d train_classes=%d heldout_classes=%d "
        "instances=%d heldout_instances=%d rotate_deg=%.9g scale_jitter=%.9g shift_px=%.9g "
        "stroke_px=%.9g seed=%llu freetype=%d.%d.%d fonts:",
        STORE_SCHEMA_GRAY, cfg->glyph_size, pixel_size(cfg), cfg->glyph_train_classes,
        cfg->glyph_heldout_classes, cfg->glyph_instances, cfg->glyph_heldout_instances,
        (double)cfg->glyph_rotate_deg, (double)cfg->glyph_scale_jitter, (double)cfg->glyph_shift_px,
        (double)cfg->glyph_stroke_px, (unsigned long long)cfg->glyph_seed, (int)maj, (int)min,
        (int)pat);
    len = describe_fonts(cfg->fonts, cfg->n_fonts, fs, out, cap, len);
    len += snprintf(out + len, cap - (size_t)len,
                    " ideographs covered by all fonts: %d of %d (U+4E00..U+9FFF)", covered,
                    CJK_LAST - CJK_FIRST + 1);
    if (sfs) {
        len += snprintf(out + len, cap - (size_t)len,
                        " script_classes=%d script_fonts:", cfg->glyph_script_classes);
        len = describe_fonts(cfg->script_fonts, cfg->n_script_fonts, sfs, out, cap, len);
        len += snprintf(out + len, cap - (size_t)len,
                        " script characters covered by all script fonts: %d of %d", script_covered,
                        script_range_size());
    }
    if (cfg->glyph_shape_classes > 0)
        len +=
            snprintf(out + len, cap - (size_t)len, " shape_classes=%d", cfg->glyph_shape_classes);
    glyph_aug_describe(cfg, out + len, cap - (size_t)len);
    return out;
}

static void check_script_coverage(const data_config_t *cfg, int covered) {
    if (covered < cfg->glyph_script_classes)
        micl_fatal("glyphs: the fonts in data.glyphs.script_fonts have %d script characters in "
                   "common, but data.glyphs.script_classes = %d",
                   covered, cfg->glyph_script_classes);
}

/* Opens the script fonts when script classes are wanted (fs->n = 0 otherwise) and returns the
 * number of script characters they all cover, listed in out when out is not NULL. */
static int open_script_fonts(const data_config_t *cfg, font_spec_t *specs, font_set_t *fs,
                             int32_t *out) {
    memset(fs, 0, sizeof *fs);
    if (cfg->glyph_script_classes == 0) return 0;
    parse_fonts(cfg->script_fonts, cfg->n_script_fonts, "data.glyphs.script_fonts", specs);
    open_fonts_checked(specs, cfg->n_script_fonts, pixel_size(cfg), "data.glyphs.script_fonts", fs);
    return covered_script_chars(fs, out);
}

char *glyphs_provenance(const data_config_t *cfg) {
    check_config(cfg);
    font_spec_t specs[CONFIG_MAX_FONTS];
    parse_fonts(cfg->fonts, cfg->n_fonts, "data.glyphs.fonts", specs);
    font_set_t fs;
    open_fonts_checked(specs, cfg->n_fonts, pixel_size(cfg), "data.glyphs.fonts", &fs);
    int32_t *cps = micl_malloc((CJK_LAST - CJK_FIRST + 1) * sizeof *cps);
    int covered = covered_ideographs(&fs, cps);
    font_spec_t sspecs[CONFIG_MAX_FONTS];
    font_set_t sfs;
    int scovered = open_script_fonts(cfg, sspecs, &sfs, NULL);
    check_script_coverage(cfg, scovered);
    char *p = make_provenance(cfg, &fs, covered, sfs.n ? &sfs : NULL, scovered);
    free(cps);
    close_fonts(&sfs);
    close_fonts(&fs);
    return p;
}

/* --------------------------------------------------------------------------- rendering */

static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Renders one jittered instance of glyph `gi` into img (size x size, cleared first). Returns 0,
 * or a FreeType error code (message in err). */
static int render_instance(FT_Library lib, FT_Face face, FT_UInt gi, const data_config_t *cfg,
                           rng_t *r, uint8_t *img, char *err, size_t errlen) {
    const int size = cfg->glyph_size;
    /* Always draw the same five values in the same order. */
    double rot =
        (2.0 * rng_uniform(r) - 1.0) * cfg->glyph_rotate_deg * (3.14159265358979323846 / 180.0);
    double scale = 1.0 + (2.0 * rng_uniform(r) - 1.0) * cfg->glyph_scale_jitter;
    double dx = (2.0 * rng_uniform(r) - 1.0) * cfg->glyph_shift_px;
    double dy = (2.0 * rng_uniform(r) - 1.0) * cfg->glyph_shift_px;
    double stroke = (2.0 * rng_uniform(r) - 1.0) * fabs((double)cfg->glyph_stroke_px);

    FT_Matrix m;
    m.xx = (FT_Fixed)lround(cos(rot) * scale * 65536.0);
    m.xy = (FT_Fixed)lround(-sin(rot) * scale * 65536.0);
    m.yx = (FT_Fixed)lround(sin(rot) * scale * 65536.0);
    m.yy = (FT_Fixed)lround(cos(rot) * scale * 65536.0);
    FT_Set_Transform(face, &m, NULL);
    FT_Error e = FT_Load_Glyph(face, gi, FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING);
    const char *step = "load glyph";
    FT_Outline *ol = &face->glyph->outline;
    if (!e && face->glyph->format != FT_GLYPH_FORMAT_OUTLINE) {
        snprintf(err, errlen, "glyph %u is not an outline", gi);
        return 1;
    }
    FT_Pos strength = (FT_Pos)lround(stroke * 64.0);
    if (!e && strength != 0) {
        step = "embolden outline";
        e = FT_Outline_Embolden(ol, strength);
    }
    if (!e) {
        FT_BBox cb;
        FT_Outline_Get_CBox(ol, &cb);
        FT_Pos cx = (cb.xMin + cb.xMax) / 2, cy = (cb.yMin + cb.yMax) / 2;
        FT_Pos tx = (FT_Pos)size * 32 - cx + (FT_Pos)lround(dx * 64.0);
        FT_Pos ty = (FT_Pos)size * 32 - cy + (FT_Pos)lround(dy * 64.0);
        FT_Outline_Translate(ol, tx, ty);
        memset(img, 0, (size_t)size * (size_t)size);
        FT_Bitmap bm;
        FT_Bitmap_Init(&bm);
        bm.rows = (unsigned)size;
        bm.width = (unsigned)size;
        bm.pitch = size;
        bm.buffer = img;
        bm.num_grays = 256;
        bm.pixel_mode = FT_PIXEL_MODE_GRAY;
        step = "render outline";
        e = FT_Outline_Get_Bitmap(lib, ol, &bm); /* clips to the bitmap */
    }
    if (e) {
        char msg[128];
        ft_message(e, msg, sizeof msg);
        snprintf(err, errlen, "cannot %s %u: %s", step, gi, msg);
        return 1;
    }
    return 0;
}

typedef struct {
    int failed; /* 0 ok, 1 FreeType error, 2 too few distinct instances */
    int attempts;
    int distinct;
    char err[192];
} class_status_t;

/* Renders the instances of class src into out[instances * size * size]: characters with the
 * font set fs (cycling through its fonts), shapes with glyph_shapes.c. */
static void render_class(const font_set_t *fs, const data_config_t *cfg, const class_src_t *src,
                         uint8_t *out, class_status_t *st) {
    const size_t npix = (size_t)cfg->glyph_size * (size_t)cfg->glyph_size;
    const int want = cfg->glyph_instances;
    const int max_attempts = 50 * want + 100;
    uint64_t *hashes = micl_malloc((size_t)want * sizeof *hashes);
    uint8_t *tmp = micl_malloc(npix);
    FT_UInt gids[CONFIG_MAX_FONTS];
    rng_t r = rng_make(cfg->glyph_seed, RNG_STREAM_GLYPH_RENDER, src->key);
    rng_t ra = rng_make(cfg->glyph_seed, RNG_STREAM_GLYPH_AUG, src->key);
    glyph_shape_t shape;
    if (src->kind == SRC_SHAPE)
        glyph_shape_make(&r, &shape);
    else
        for (int f = 0; f < fs->n; f++)
            gids[f] = FT_Get_Char_Index(fs->faces[f], (FT_ULong)src->cp);
    const int augment = glyph_aug_enabled(cfg);
    int have = 0, a = 0;
    for (; a < max_attempts && have < want; a++) {
        uint8_t *img = out + (size_t)have * npix;
        if (src->kind == SRC_SHAPE) {
            glyph_shape_render(&shape, &r, cfg->glyph_size, img);
        } else {
            int f = a % fs->n;
            if (render_instance(fs->lib, fs->faces[f], gids[f], cfg, &r, img, st->err,
                                sizeof st->err)) {
                st->failed = 1;
                break;
            }
        }
        int blank = 1;
        for (size_t i = 0; i < npix && blank; i++)
            if (img[i]) blank = 0;
        if (blank) continue;
        if (augment && src->train) glyph_aug_apply(cfg, &ra, img, tmp);
        uint64_t h = hash_bytes(img, npix);
        int dup = 0;
        for (int k = 0; k < have && !dup; k++)
            if (hashes[k] == h && memcmp(out + (size_t)k * npix, img, npix) == 0) dup = 1;
        if (dup) continue;
        hashes[have++] = h;
    }
    st->attempts = a;
    st->distinct = have;
    if (!st->failed && have < want) st->failed = 2;
    free(tmp);
    free(hashes);
}

static int utf8_encode(int32_t cp, char *buf);

/* The class list: ideograph train classes, script classes, shape classes, then the held-out
 * ideographs. cps are the shuffled ideographs, scps the shuffled script characters. */
static class_src_t *class_sources(const data_config_t *cfg, const int32_t *cps,
                                  const int32_t *scps) {
    const int T = cfg->glyph_train_classes, S = cfg->glyph_script_classes,
              P = cfg->glyph_shape_classes, H = cfg->glyph_heldout_classes;
    class_src_t *src = micl_malloc((size_t)(T + S + P + H) * sizeof *src);
    int c = 0;
    for (int k = 0; k < T; k++)
        src[c++] = (class_src_t){SRC_IDEOGRAPH, cps[k], (uint64_t)k, 1};
    for (int j = 0; j < S; j++)
        src[c++] = (class_src_t){SRC_SCRIPT, scps[j], SCRIPT_KEY_BASE + (uint64_t)j, 1};
    for (int j = 0; j < P; j++)
        src[c++] = (class_src_t){SRC_SHAPE, 0, SHAPE_KEY_BASE + (uint64_t)j, 1};
    for (int k = T; k < T + H; k++)
        src[c++] = (class_src_t){SRC_IDEOGRAPH, cps[k], (uint64_t)k, 0};
    return src;
}

/* The class name: the character for ideographs, U+XXXX for script characters (a Latin letter
 * must not become a task word such as "A"), shape-N for shapes. */
static void class_name(const class_src_t *src, char *buf, size_t len) {
    if (src->kind == SRC_SCRIPT)
        snprintf(buf, len, "U+%04X", (unsigned)src->cp);
    else if (src->kind == SRC_SHAPE)
        snprintf(buf, len, "shape-%llu", (unsigned long long)(src->key - SHAPE_KEY_BASE));
    else
        utf8_encode(src->cp, buf);
}

static int utf8_encode(int32_t cp, char *buf) {
    if (cp < 0x80) {
        buf[0] = (char)cp;
        buf[1] = 0;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        buf[2] = 0;
        return 2;
    }
    buf[0] = (char)(0xE0 | (cp >> 12));
    buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = (char)(0x80 | (cp & 0x3F));
    buf[3] = 0;
    return 3;
}

void glyphs_build(const data_config_t *cfg, image_store_t *out) {
    memset(out, 0, sizeof *out);
    check_config(cfg);
    font_spec_t specs[CONFIG_MAX_FONTS];
    parse_fonts(cfg->fonts, cfg->n_fonts, "data.glyphs.fonts", specs);
    font_set_t fs;
    open_fonts_checked(specs, cfg->n_fonts, pixel_size(cfg), "data.glyphs.fonts", &fs);

    int32_t *cps = micl_malloc((CJK_LAST - CJK_FIRST + 1) * sizeof *cps);
    int covered = covered_ideographs(&fs, cps);
    const int n_cjk = cfg->glyph_train_classes + cfg->glyph_heldout_classes;
    if (covered < n_cjk)
        micl_fatal("glyphs: the fonts in data.glyphs.fonts have %d ideographs in common, but "
                   "data.glyphs.train_classes + heldout_classes = %d",
                   covered, n_cjk);
    rng_t rs = rng_make(cfg->glyph_seed, RNG_STREAM_SPLIT, 0);
    rng_shuffle_i32(&rs, cps, covered);

    /* Script characters: those every script font covers, in a seeded order. */
    font_spec_t sspecs[CONFIG_MAX_FONTS];
    font_set_t sfs;
    int32_t *scps = micl_malloc((size_t)script_range_size() * sizeof *scps);
    int scovered = open_script_fonts(cfg, sspecs, &sfs, scps);
    check_script_coverage(cfg, scovered);
    rng_t rss = rng_make(cfg->glyph_seed, RNG_STREAM_SPLIT, SCRIPT_KEY_BASE);
    if (scovered) rng_shuffle_i32(&rss, scps, scovered);
    out->provenance = make_provenance(cfg, &fs, covered, sfs.n ? &sfs : NULL, scovered);
    close_fonts(&sfs);
    close_fonts(&fs);

    const int n_classes = n_cjk + cfg->glyph_script_classes + cfg->glyph_shape_classes;
    const int n_train = n_classes - cfg->glyph_heldout_classes;
    class_src_t *src = class_sources(cfg, cps, scps);
    free(scps);
    free(cps);

    const int size = cfg->glyph_size;
    const int inst = cfg->glyph_instances;
    const size_t npix = (size_t)size * (size_t)size;
    out->n = (int64_t)n_classes * inst;
    out->h = out->w = size;
    out->c = 1;
    out->n_classes = n_classes;
    out->pixels = micl_malloc((size_t)out->n * npix);
    out->labels = micl_malloc((size_t)out->n * sizeof *out->labels);
    out->split = micl_malloc((size_t)out->n);
    out->class_names = micl_malloc((size_t)n_classes * sizeof *out->class_names);
    out->class_split = micl_malloc((size_t)n_classes);
    class_status_t *status = micl_calloc((size_t)n_classes, sizeof *status);
    int open_failed = 0;
    char open_err[CONFIG_PATH_LEN + 256] = "";

#pragma omp parallel
    {
        font_set_t tfs, tsfs;
        memset(&tsfs, 0, sizeof tsfs);
        char terr[CONFIG_PATH_LEN + 256];
        int ok = open_fonts(specs, cfg->n_fonts, pixel_size(cfg), &tfs, terr, sizeof terr) == 0;
        if (ok && cfg->glyph_script_classes > 0)
            ok = open_fonts(sspecs, cfg->n_script_fonts, pixel_size(cfg), &tsfs, terr,
                            sizeof terr) == 0;
        if (!ok) {
#pragma omp critical(glyphs_open_error)
            {
                if (!open_failed) snprintf(open_err, sizeof open_err, "%s", terr);
                open_failed = 1;
            }
        }
#pragma omp for schedule(dynamic, 4)
        for (int c = 0; c < n_classes; c++) {
            if (!ok) continue;
            render_class(src[c].kind == SRC_SCRIPT ? &tsfs : &tfs, cfg, &src[c],
                         out->pixels + (size_t)c * inst * npix, &status[c]);
        }
        close_fonts(&tsfs);
        close_fonts(&tfs);
    }
    if (open_failed) micl_fatal("glyphs: %s", open_err);

    int32_t *sel = micl_malloc((size_t)(cfg->glyph_heldout_instances + 1) * sizeof *sel);

    for (int c = 0; c < n_classes; c++) {
        char name[32];
        class_name(&src[c], name, sizeof name);
        if (status[c].failed == 1)
            micl_fatal("glyphs: class %d (U+%04X %s): %s", c, (unsigned)src[c].cp, name,
                       status[c].err);
        if (status[c].failed == 2)
            micl_fatal("glyphs: class %d (U+%04X %s): only %d distinct renderings of %d wanted "
                       "after %d attempts; raise the jitter (data.glyphs.rotate_deg, "
                       "scale_jitter, shift_px, stroke_px), add fonts or "
                       "lower data.glyphs.instances",
                       c, (unsigned)src[c].cp, name, status[c].distinct, inst, status[c].attempts);
        out->class_names[c] = micl_strdup(name);
        int heldout = c >= n_train;
        out->class_split[c] = (uint8_t)heldout;
        for (int i = 0; i < inst; i++) {
            int64_t k = (int64_t)c * inst + i;
            out->labels[k] = c;
            out->split[k] = heldout ? STORE_SPLIT_HELDOUT_CLASS : STORE_SPLIT_TRAIN;
        }
        if (!heldout && cfg->glyph_heldout_instances > 0) {
            rng_t ri = rng_make(cfg->glyph_seed, RNG_STREAM_SPLIT, 1 + src[c].key);
            rng_choose_distinct(&ri, inst, cfg->glyph_heldout_instances, sel);
            for (int j = 0; j < cfg->glyph_heldout_instances; j++)
                out->split[(int64_t)c * inst + sel[j]] = STORE_SPLIT_TEST;
        }
    }
    free(sel);
    free(status);
    free(src);
    snprintf(out->source, sizeof out->source, "glyphs");
}

/* ------------------------------------------------------------ fonts for other renderers */

struct glyphs_fontset {
    font_set_t fs;
    int n;
    char fonts[CONFIG_MAX_FONTS][CONFIG_PATH_LEN];
};

glyphs_fontset_t *glyphs_fontset_open(const char (*fonts)[CONFIG_PATH_LEN], int n, int pixel_size,
                                      const char *key) {
    if (n < 1 || n > CONFIG_MAX_FONTS)
        micl_fatal("%s lists %d fonts, expected 1 .. %d", key, n, CONFIG_MAX_FONTS);
    glyphs_fontset_t *g = micl_calloc(1, sizeof *g);
    font_spec_t specs[CONFIG_MAX_FONTS];
    parse_fonts(fonts, n, key, specs);
    open_fonts_checked(specs, n, pixel_size, key, &g->fs);
    g->n = n;
    memcpy(g->fonts, fonts, (size_t)n * CONFIG_PATH_LEN);
    return g;
}

void glyphs_fontset_close(glyphs_fontset_t *g) {
    if (!g) return;
    close_fonts(&g->fs);
    free(g);
}

char *glyphs_fontset_describe(const glyphs_fontset_t *g) {
    FT_Int maj = 0, min = 0, pat = 0;
    FT_Library_Version(g->fs.lib, &maj, &min, &pat);
    size_t cap = 64 + (size_t)g->n * (CONFIG_PATH_LEN + 64);
    char *out = micl_malloc(cap);
    int len = snprintf(out, cap, "freetype=%d.%d.%d fonts:", (int)maj, (int)min, (int)pat);
    describe_fonts(g->fonts, g->n, &g->fs, out, cap, len);
    return out;
}

int glyphs_fontset_has(const glyphs_fontset_t *g, int font, uint32_t cp) {
    return FT_Get_Char_Index(g->fs.faces[font], (FT_ULong)cp) != 0;
}

int glyphs_draw_char(glyphs_fontset_t *g, int font, uint32_t cp, double cx, double cy,
                     uint8_t *canvas, int w, int h, char *err, size_t errlen) {
    FT_Face face = g->fs.faces[font];
    FT_UInt gi = FT_Get_Char_Index(face, (FT_ULong)cp);
    if (gi == 0) {
        snprintf(err, errlen, "font '%s' has no glyph for U+%04X", g->fonts[font], (unsigned)cp);
        return 1;
    }
    FT_Set_Transform(face, NULL, NULL);
    FT_Error e = FT_Load_Glyph(face, gi, FT_LOAD_NO_BITMAP | FT_LOAD_NO_HINTING);
    if (!e && face->glyph->format != FT_GLYPH_FORMAT_OUTLINE) {
        snprintf(err, errlen, "font '%s': glyph U+%04X is not an outline", g->fonts[font],
                 (unsigned)cp);
        return 1;
    }
    uint8_t *tmp = micl_calloc((size_t)w * (size_t)h, 1);
    if (!e) {
        FT_Outline *ol = &face->glyph->outline;
        FT_BBox cb;
        FT_Outline_Get_CBox(ol, &cb);
        /* FreeType's y axis points up: the canvas row y is at height h - y. */
        FT_Outline_Translate(ol, (FT_Pos)lround(cx * 64.0) - (cb.xMin + cb.xMax) / 2,
                             (FT_Pos)lround((h - cy) * 64.0) - (cb.yMin + cb.yMax) / 2);
        FT_Bitmap bm;
        FT_Bitmap_Init(&bm);
        bm.rows = (unsigned)h;
        bm.width = (unsigned)w;
        bm.pitch = w;
        bm.buffer = tmp;
        bm.num_grays = 256;
        bm.pixel_mode = FT_PIXEL_MODE_GRAY;
        e = FT_Outline_Get_Bitmap(g->fs.lib, ol, &bm);
    }
    if (e) {
        char msg[128];
        ft_message(e, msg, sizeof msg);
        snprintf(err, errlen, "font '%s': cannot render U+%04X: %s", g->fonts[font], (unsigned)cp,
                 msg);
        free(tmp);
        return 1;
    }
    for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
        if (tmp[i] > canvas[i]) canvas[i] = tmp[i];
    free(tmp);
    return 0;
}
