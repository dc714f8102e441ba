/* show.c - drawing one episode as a PNG picture (see show.h).
 *
 * A small RGB canvas with rectangle fills, nearest-neighbour blits of gray or RGB images and
 * FreeType text (UTF-8 decoded here; per character DejaVu Sans, else Noto Sans CJK). The layout
 * runs twice through the same code: once without a canvas to measure the height, once to draw, so
 * measuring and drawing can never disagree. pngio_write puts the picture in place atomically
 * (common/atomic_file.h).
 */
#define _POSIX_C_SOURCE 200809L
#include "show.h"

#include "pngio.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H

#include "common/config.h"
#include "common/error.h"
#include "sources.h"
#include "task_scene.h"

/* ---- canvas ---------------------------------------------------------------------------- */

typedef struct {
    uint8_t r, g, b;
} rgb_t;

typedef struct {
    int w, h;
    uint8_t *px; /* [h][w][3] */
} canvas_t;

static const rgb_t C_BG = {255, 255, 255};
static const rgb_t C_TEXT = {33, 37, 41};
static const rgb_t C_MUTED = {108, 117, 125};
static const rgb_t C_RULE = {206, 212, 218};
static const rgb_t C_CELL = {248, 249, 250};
static const rgb_t C_LOSS = {25, 135, 84};
static const rgb_t C_LOSS_BG = {209, 231, 221};
static const rgb_t C_NOLOSS = {95, 103, 110};
static const rgb_t C_NOLOSS_BG = {226, 230, 234};
static const rgb_t C_QUERY = {232, 119, 14};
static const rgb_t C_QUERY_BG = {255, 243, 214};
static const rgb_t C_NAME_BG = {231, 241, 255};
static const rgb_t C_NAME = {13, 71, 161};

static void fill_rect(canvas_t *c, int x, int y, int w, int h, rgb_t col) {
    if (!c) return;
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++) {
            uint8_t *p = c->px + ((size_t)j * (size_t)c->w + (size_t)i) * 3;
            p[0] = col.r;
            p[1] = col.g;
            p[2] = col.b;
        }
}

static void stroke_rect(canvas_t *c, int x, int y, int w, int h, int t, rgb_t col) {
    fill_rect(c, x, y, w, t, col);
    fill_rect(c, x, y + h - t, w, t, col);
    fill_rect(c, x, y, t, h, col);
    fill_rect(c, x + w - t, y, t, h, col);
}

/* Blends col into pixel (x, y) with coverage a in [0, 255]. */
static void blend(canvas_t *c, int x, int y, rgb_t col, int a) {
    if (x < 0 || y < 0 || x >= c->w || y >= c->h || a <= 0) return;
    uint8_t *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3;
    p[0] = (uint8_t)((p[0] * (255 - a) + col.r * a + 127) / 255);
    p[1] = (uint8_t)((p[1] * (255 - a) + col.g * a + 127) / 255);
    p[2] = (uint8_t)((p[2] * (255 - a) + col.b * a + 127) / 255);
}

/* Draws an ih x iw image of ch channels (1 gray, 3 RGB) enlarged `scale` times (nearest
 * neighbour) at (x, y). */
static void blit_image(canvas_t *c, int x, int y, const uint8_t *img, int ih, int iw, int ch,
                       int scale) {
    if (!c) return;
    for (int j = 0; j < ih * scale; j++) {
        int yy = y + j;
        if (yy < 0 || yy >= c->h) continue;
        const uint8_t *row = img + (size_t)(j / scale) * (size_t)iw * (size_t)ch;
        for (int i = 0; i < iw * scale; i++) {
            int xx = x + i;
            if (xx < 0 || xx >= c->w) continue;
            const uint8_t *src = row + (size_t)(i / scale) * (size_t)ch;
            uint8_t *p = c->px + ((size_t)yy * (size_t)c->w + (size_t)xx) * 3;
            for (int k = 0; k < 3; k++)
                p[k] = src[ch == 3 ? k : 0];
        }
    }
}

/* ---- text ------------------------------------------------------------------------------ */

static const char *ft_text(FT_Error e) {
    const char *text = glyphs_ft_error_text(e);
    return text ? text : "unknown FreeType error";
}

enum { FONT_REGULAR = 0, FONT_BOLD = 1, FONT_CJK = 2, N_FONTS = 3 };

typedef struct {
    FT_Library lib;
    FT_Face face[N_FONTS]; /* NULL where the file is missing */
    int px[N_FONTS];       /* pixel size currently set on each face */
} fonts_t;

static FT_Face open_face(FT_Library lib, const char *path, long index) {
    FT_Face f = NULL;
    if (FT_New_Face(lib, path, index, &f) != 0) return NULL;
    if (!FT_IS_SCALABLE(f)) {
        FT_Done_Face(f);
        return NULL;
    }
    return f;
}

static void fonts_open(fonts_t *f) {
    memset(f, 0, sizeof *f);
    FT_Error e = FT_Init_FreeType(&f->lib);
    if (e) micl_fatal("cannot initialise FreeType: %s (0x%02x)", ft_text(e), (unsigned)e);
    f->face[FONT_REGULAR] = open_face(f->lib, SHOW_FONT_LATIN, 0);
    f->face[FONT_BOLD] = open_face(f->lib, SHOW_FONT_LATIN_BOLD, 0);
    /* face 2 of the collection is Noto Sans CJK SC (simplified Chinese forms) */
    f->face[FONT_CJK] = open_face(f->lib, SHOW_FONT_CJK, 2);
    if (!f->face[FONT_CJK]) f->face[FONT_CJK] = open_face(f->lib, SHOW_FONT_CJK, 0);
    if (!f->face[FONT_REGULAR] && !f->face[FONT_CJK])
        micl_fatal("cannot open a font for the picture: neither %s (fonts-dejavu-core) nor %s "
                   "(fonts-noto-cjk) is a readable scalable font",
                   SHOW_FONT_LATIN, SHOW_FONT_CJK);
    if (!f->face[FONT_REGULAR])
        micl_warn("%s is missing (fonts-dejavu-core); drawing all text with %s", SHOW_FONT_LATIN,
                  SHOW_FONT_CJK);
    if (!f->face[FONT_CJK])
        micl_warn("%s is missing (fonts-noto-cjk); CJK class names are drawn as boxes",
                  SHOW_FONT_CJK);
}

static void fonts_close(fonts_t *f) {
    for (int i = 0; i < N_FONTS; i++) {
        if (!f->face[i]) continue;
        FT_Error e = FT_Done_Face(f->face[i]);
        if (e) micl_warn("FreeType: cannot release a font face: %s", ft_text(e));
    }
    FT_Error e = FT_Done_FreeType(f->lib);
    if (e) micl_warn("FreeType: cannot release the library: %s", ft_text(e));
    memset(f, 0, sizeof *f);
}

/* The face (index into f->face) and glyph index that draw code point cp in `style`. */
static int pick_glyph(const fonts_t *f, int style, uint32_t cp, FT_UInt *gi) {
    int prim = f->face[style] ? style : f->face[FONT_REGULAR] ? FONT_REGULAR : FONT_CJK;
    *gi = FT_Get_Char_Index(f->face[prim], cp);
    if (*gi != 0 || prim == FONT_CJK || !f->face[FONT_CJK]) return prim;
    FT_UInt g = FT_Get_Char_Index(f->face[FONT_CJK], cp);
    if (g == 0) return prim; /* neither has it: the primary face's missing-glyph box */
    *gi = g;
    return FONT_CJK;
}

static void set_size(fonts_t *f, int i, int px) {
    if (f->px[i] == px) return;
    FT_Error e = FT_Set_Pixel_Sizes(f->face[i], 0, (FT_UInt)px);
    if (e)
        micl_fatal("FreeType: cannot set pixel size %d on font '%s': %s (0x%02x)", px,
                   f->face[i]->family_name ? f->face[i]->family_name : "?", ft_text(e),
                   (unsigned)e);
    f->px[i] = px;
}

/* Decodes the UTF-8 code point at *p and advances *p; malformed bytes give U+FFFD. */
static uint32_t utf8_next(const char **p) {
    const unsigned char *s = (const unsigned char *)*p;
    uint32_t c = s[0], min;
    int n;
    if (c < 0x80) {
        *p += 1;
        return c;
    } else if ((c & 0xE0) == 0xC0) {
        n = 1, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3, c &= 0x07, min = 0x10000;
    } else {
        *p += 1;
        return 0xFFFD;
    }
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* also stops at the terminating NUL */
            *p += i;
            return 0xFFFD;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *p += n + 1;
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0xFFFD;
    return c;
}

/* Draws s with its left end at x and its baseline at y (or only measures it when c is NULL);
 * returns the advance width in pixels. */
static int text(canvas_t *c, fonts_t *f, int style, int px, int x, int y, rgb_t col,
                const char *s) {
    int64_t pen = (int64_t)x * 64; /* 26.6 fixed point */
    while (*s) {
        uint32_t cp = utf8_next(&s);
        if (cp < 0x20) continue;
        FT_UInt gi;
        int fi = pick_glyph(f, style, cp, &gi);
        set_size(f, fi, px);
        FT_Face face = f->face[fi];
        FT_Error e = FT_Load_Glyph(face, gi, c ? FT_LOAD_RENDER : FT_LOAD_DEFAULT);
        if (e)
            micl_fatal("FreeType: cannot load glyph of U+%04X from '%s': %s (0x%02x)", (unsigned)cp,
                       face->family_name ? face->family_name : "?", ft_text(e), (unsigned)e);
        FT_GlyphSlot g = face->glyph;
        if (c) {
            const FT_Bitmap *bm = &g->bitmap;
            int gx = (int)(pen >> 6) + g->bitmap_left, gy = y - g->bitmap_top;
            for (unsigned j = 0; j < bm->rows; j++) {
                const unsigned char *row = bm->buffer + (ptrdiff_t)j * bm->pitch;
                for (unsigned i = 0; i < bm->width; i++) {
                    int a;
                    if (bm->pixel_mode == FT_PIXEL_MODE_MONO)
                        a = (row[i >> 3] >> (7 - (i & 7))) & 1 ? 255 : 0;
                    else if (bm->pixel_mode == FT_PIXEL_MODE_GRAY)
                        a = row[i] * 255 / (bm->num_grays > 1 ? bm->num_grays - 1 : 255);
                    else
                        micl_fatal("FreeType: unexpected bitmap pixel mode %d for U+%04X",
                                   (int)bm->pixel_mode, (unsigned)cp);
                    blend(c, gx + (int)i, gy + (int)j, col, a);
                }
            }
        }
        pen += g->advance.x;
    }
    return (int)((pen + 63) / 64) - x;
}

static int text_width(fonts_t *f, int style, int px, const char *s) {
    return text(NULL, f, style, px, 0, 0, C_TEXT, s);
}

/* Copies s into buf, cut at a code point boundary and ended with an ellipsis when it is wider
 * than maxw pixels. */
static void fit(fonts_t *f, int style, int px, const char *s, int maxw, char *buf, size_t len) {
    snprintf(buf, len, "%s", s);
    if (text_width(f, style, px, buf) <= maxw) return;
    size_t keep = 0;
    for (const char *p = s; *p;) {
        const char *q = p;
        utf8_next(&q);
        size_t n = (size_t)(q - s);
        if (n + 4 > len) break;
        memcpy(buf, s, n);
        memcpy(buf + n, "\xE2\x80\xA6", 4); /* U+2026 and the NUL */
        if (text_width(f, style, px, buf) > maxw) break;
        keep = n;
        p = q;
    }
    memcpy(buf, s, keep);
    memcpy(buf + keep, "\xE2\x80\xA6", 4);
}

/* ---- layout ---------------------------------------------------------------------------- */

enum {
    MARGIN = 24,
    PAD = 10, /* inside a cell */
    GAP = 12, /* between cells */
    PX_TITLE = 20,
    PX_SUB = 13,
    PX_BODY = 13,
    PX_ANSWER = 16,
    PX_SMALL = 12,
    IMAGE_TARGET = 112, /* enlarged image side aimed at */
    MIN_CELL_INNER = 156,
    MIN_CONTENT = 760,
    MAX_GRID = 1400,
    PROMPT_LINES = 3 /* at most; more are cut with an ellipsis */
};

static int line_h(int px) {
    return px * 3 / 2;
}
static int ascent(int px) {
    return px;
}

typedef struct {
    const episode_t *ep;
    const image_store_t *store;
    const vocab_t *v;
    const char *title;
    fonts_t *fonts;
    int scale, img_w, img_h; /* enlarged image size */
    int cell_w, cell_h, cols, rows;
    int content_w;
    int prompt_lines; /* lines of prompt words, the most any turn needs */
} layout_t;

/* The token range [*lo, *hi) of turn t: from just after the previous turn's answer (and its
 * <eot>) up to and including this turn's answer and its <eot>. */
static void turn_tokens(const episode_t *ep, const vocab_t *v, int t, int *lo, int *hi) {
    int start = 1; /* after <bos> */
    if (t > 0) {
        start = ep->answer_pos[t - 1] + 1 + ep->answer_len[t - 1];
        if (start < ep->n_tokens && ep->tokens[start] == v->eot) start++;
    }
    int end = ep->answer_pos[t] + 1 + ep->answer_len[t];
    if (end < ep->n_tokens && ep->tokens[end] == v->eot) end++;
    *lo = start;
    *hi = end > ep->n_tokens ? ep->n_tokens : end;
}

static const char *word(const vocab_t *v, int32_t id) {
    return id >= 0 && id < v->n ? v->words[id] : "<?>";
}

/* Wraps the prompt words of turn t (everything before the answer) into lines of at most maxw
 * pixels; draws them when c is set; returns the number of lines. */
static int prompt_lines(canvas_t *c, const layout_t *L, int t, int x, int y, int maxw) {
    const episode_t *ep = L->ep;
    int lo, hi;
    turn_tokens(ep, L->v, t, &lo, &hi);
    char line[512] = "", cut[512];
    int n = 0;
    for (int k = lo; k <= ep->answer_pos[t] && k < hi; k++) {
        const char *w = word(L->v, ep->tokens[k]);
        char next[512];
        snprintf(next, sizeof next, "%s%s%s", line, line[0] ? " " : "", w);
        if (line[0] && text_width(L->fonts, FONT_REGULAR, PX_BODY, next) > maxw) {
            if (n == PROMPT_LINES - 1) { /* last allowed line: cut it */
                snprintf(line, sizeof line, "%s", next);
                break;
            }
            fit(L->fonts, FONT_REGULAR, PX_BODY, line, maxw, cut, sizeof cut);
            text(c, L->fonts, FONT_REGULAR, PX_BODY, x, y + n * line_h(PX_BODY) + ascent(PX_BODY),
                 C_MUTED, cut);
            n++;
            snprintf(line, sizeof line, "%s", w);
        } else {
            snprintf(line, sizeof line, "%s", next);
        }
    }
    if (line[0]) {
        fit(L->fonts, FONT_REGULAR, PX_BODY, line, maxw, cut, sizeof cut);
        text(c, L->fonts, FONT_REGULAR, PX_BODY, x, y + n * line_h(PX_BODY) + ascent(PX_BODY),
             C_MUTED, cut);
        n++;
    }
    return n;
}

/* The query turn: the last turn of a binding episode (the one evaluation scores); none for
 * classification. */
static int scene_family(const episode_t *ep) {
    return ep->family >= TASK_SCENE_FAMILY_BASE &&
           ep->family < TASK_SCENE_FAMILY_BASE + TASK_SCENE_N_KINDS;
}

/* Scene and operator episodes have a query when only their last turn is scored. */
static int query_turn(const episode_t *ep) {
    if (ep->family == FAMILY_BINDING) return ep->n_turns - 1;
    if (ep->family == FAMILY_CLASSIFY) return -1;
    for (int t = 0; t + 1 < ep->n_turns; t++)
        if (ep->answer_scored[t]) return -1;
    return ep->n_turns - 1;
}

static const char *class_name(const image_store_t *s, int64_t row) {
    int32_t c = s->labels[row];
    return c >= 0 && c < s->n_classes ? s->class_names[c] : "?";
}

static void draw_cell(canvas_t *c, const layout_t *L, int t, int x, int y) {
    const episode_t *ep = L->ep;
    fonts_t *f = L->fonts;
    int query = t == query_turn(ep);
    int inner = L->cell_w - 2 * PAD;
    fill_rect(c, x, y, L->cell_w, L->cell_h, query ? C_QUERY_BG : C_CELL);
    if (query)
        stroke_rect(c, x, y, L->cell_w, L->cell_h, 3, C_QUERY);
    else
        stroke_rect(c, x, y, L->cell_w, L->cell_h, 1, C_RULE);

    /* header: turn number, and QUERY on the query turn */
    int yy = y + PAD;
    char buf[256], cut[256];
    snprintf(buf, sizeof buf, "turn %d", t + 1);
    text(c, f, FONT_BOLD, PX_SMALL, x + PAD, yy + ascent(PX_SMALL), C_MUTED, buf);
    if (query) {
        int w = text_width(f, FONT_BOLD, PX_SMALL, "QUERY");
        text(c, f, FONT_BOLD, PX_SMALL, x + L->cell_w - PAD - w, yy + ascent(PX_SMALL), C_QUERY,
             "QUERY");
    }
    yy += line_h(PX_SMALL) + 2;

    /* the turn's images (two for a matching pair), centred, each with a thin frame */
    const image_store_t *s = L->store;
    int n_img = ep->turn_n_images[t], span = n_img * L->img_w + (n_img - 1) * PAD;
    for (int i = 0; i < n_img; i++) {
        int ix = x + (L->cell_w - span) / 2 + i * (L->img_w + PAD);
        stroke_rect(c, ix - 1, yy - 1, L->img_w + 2, L->img_h + 2, 1, C_RULE);
        blit_image(c, ix, yy,
                   s->pixels + (size_t)ep->images[ep->turn_image[t] + i] * store_image_bytes(s),
                   s->h, s->w, s->c, L->scale);
    }
    yy += L->img_h + 8;

    /* prompt words, then the answer chip (green: carries loss; grey: no loss) */
    prompt_lines(c, L, t, x + PAD, yy, inner);
    yy += L->prompt_lines * line_h(PX_BODY) + 2;
    int scored = ep->answer_scored[t];
    rgb_t fg = scored ? C_LOSS : C_NOLOSS, bg = scored ? C_LOSS_BG : C_NOLOSS_BG;
    char answer[256] = ""; /* the answer's words (a caption has several) */
    for (int k = 0; k < ep->answer_len[t]; k++)
        snprintf(answer + strlen(answer), sizeof answer - strlen(answer), "%s%s", k ? " " : "",
                 word(L->v, ep->tokens[ep->answer_pos[t] + 1 + k]));
    int px = ep->answer_len[t] > 1 ? PX_BODY : PX_ANSWER; /* captions: smaller */
    fit(f, FONT_BOLD, px, answer, inner - 12, cut, sizeof cut);
    int aw = text_width(f, FONT_BOLD, px, cut);
    int chip_h = line_h(PX_ANSWER) + 4;
    fill_rect(c, x + PAD, yy, aw + 12, chip_h, bg);
    text(c, f, FONT_BOLD, px, x + PAD + 6, yy + (chip_h - px) / 2 + ascent(px) - 2, fg, cut);
    int lo, hi;
    turn_tokens(ep, L->v, t, &lo, &hi);
    int tx = x + PAD + aw + 12 + 6;
    for (int k = ep->answer_pos[t] + 1 + ep->answer_len[t]; k < hi; k++) /* then <eot> */
        tx +=
            text(c, f, FONT_REGULAR, PX_BODY, tx, yy + (chip_h - PX_BODY) / 2 + ascent(PX_BODY) - 1,
                 C_MUTED, word(L->v, ep->tokens[k])) +
            4;
    yy += chip_h + 4;

    /* why it does or does not carry loss */
    const char *why;
    if (scored)
        why = "\xE2\x9C\x93 carries loss";
    else if (ep->answer_shots[t] == 0)
        why = scene_family(ep) ? "no loss: not shown yet" : "no loss: new name";
    else
        why = "no loss: demonstration";
    fit(f, FONT_REGULAR, PX_SMALL, why, inner, cut, sizeof cut);
    text(c, f, FONT_REGULAR, PX_SMALL, x + PAD, yy + ascent(PX_SMALL), fg, cut);
    yy += line_h(PX_SMALL);

    /* the true class (or the image's metadata) and how often it appeared before */
    int64_t row = ep->images[ep->turn_image[t]];
    int n;
    if (s->operands)
        n = snprintf(buf, sizeof buf, "shows %d ? %d", s->operands[2 * row],
                     s->operands[2 * row + 1]);
    else if (s->objects)
        n = snprintf(buf, sizeof buf, "%d object%s \xC2\xB7 %s", s->n_objects[row],
                     s->n_objects[row] == 1 ? "" : "s", class_name(s, row));
    else
        n = snprintf(buf, sizeof buf, "class %s #%d", class_name(s, row), (int)s->labels[row]);
    if (ep->answer_shots[t] > 0)
        n += snprintf(buf + n, sizeof buf - (size_t)n, " \xC2\xB7 seen %d\xC3\x97",
                      (int)ep->answer_shots[t]);
    if (ep->answer_exact[t]) snprintf(buf + n, sizeof buf - (size_t)n, " \xC2\xB7 exact copy");
    fit(f, FONT_REGULAR, PX_SMALL, buf, inner, cut, sizeof cut);
    text(c, f, FONT_REGULAR, PX_SMALL, x + PAD, yy + ascent(PX_SMALL), C_MUTED, cut);
}

static int cell_height(const layout_t *L) {
    return PAD + line_h(PX_SMALL) + 2 + L->img_h + 8 + L->prompt_lines * line_h(PX_BODY) + 2 +
           line_h(PX_ANSWER) + 4 + 4 + 2 * line_h(PX_SMALL) + PAD;
}

/* A chip "name = class" per candidate, flowing over lines of content_w; returns the height. */
static int draw_candidates(canvas_t *c, const layout_t *L, int x0, int y0) {
    const episode_t *ep = L->ep;
    fonts_t *f = L->fonts;
    char buf[256];
    if (ep->n_candidates == 0 && scene_family(ep)) {
        snprintf(buf, sizeof buf, "answers: %s per turn (%s questions)",
                 ep->answer_len[0] > 1 ? "several task words" : "one task word",
                 task_scene_kind_name((task_scene_kind_t)(ep->family - TASK_SCENE_FAMILY_BASE)));
        text(c, f, FONT_REGULAR, PX_BODY, x0, y0 + ascent(PX_BODY), C_TEXT, buf);
        return line_h(PX_BODY);
    }
    if (ep->n_candidates == 0) {
        snprintf(buf, sizeof buf,
                 "answers: the real class names (%d in the vocabulary); every answer carries loss",
                 L->v->n_real);
        text(c, f, FONT_REGULAR, PX_BODY, x0, y0 + ascent(PX_BODY), C_TEXT, buf);
        return line_h(PX_BODY);
    }
    snprintf(buf, sizeof buf, "candidates (%d):", ep->n_candidates);
    int x = x0 + text(c, f, FONT_BOLD, PX_BODY, x0, y0 + 4 + ascent(PX_BODY), C_TEXT, buf) + 10;
    int y = y0, chip_h = line_h(PX_BODY) + 8;
    for (int i = 0; i < ep->n_candidates; i++) {
        const char *name = word(L->v, ep->candidates[i]);
        const char *cls = NULL;
        for (int t = 0; t < ep->n_turns && !cls; t++)
            if (ep->answer_id[t] == ep->candidates[i])
                cls = class_name(L->store, ep->images[ep->turn_image[t]]);
        char rest[128];
        snprintf(rest, sizeof rest, cls ? " = %s" : " (no turn)", cls ? cls : "");
        if (scene_family(ep) || ep->family == FAMILY_MC || ep->family == FAMILY_MATCHING)
            rest[0] = '\0'; /* answers are words or letters, not classes */
        int w = text_width(f, FONT_BOLD, PX_BODY, name) +
                text_width(f, FONT_REGULAR, PX_BODY, rest) + 16;
        if (x + w > x0 + L->content_w && x > x0 + 140) {
            x = x0 + 140;
            y += chip_h + 6;
        }
        fill_rect(c, x, y, w, chip_h, C_NAME_BG);
        int bx =
            x + 8 + text(c, f, FONT_BOLD, PX_BODY, x + 8, y + 4 + ascent(PX_BODY), C_NAME, name);
        text(c, f, FONT_REGULAR, PX_BODY, bx, y + 4 + ascent(PX_BODY), C_MUTED, rest);
        x += w + 8;
    }
    return y - y0 + chip_h;
}

/* A colour swatch and its meaning, per item; returns the height. */
static int draw_legend(canvas_t *c, const layout_t *L, int x0, int y0) {
    fonts_t *f = L->fonts;
    int x = x0, sw = 14, h = line_h(PX_SMALL);
    struct {
        rgb_t fill, edge;
        const char *what;
        int shown;
    } items[] = {
        {C_LOSS_BG, C_LOSS, "answer carries loss (its target is set; scored in evaluation)", 0},
        {C_NOLOSS_BG, C_NOLOSS, "answer without loss (not predictable, or a demonstration)", 0},
        {C_QUERY_BG, C_QUERY, "query turn", query_turn(L->ep) >= 0}};
    for (int t = 0; t < L->ep->n_turns; t++)
        items[L->ep->answer_scored[t] ? 0 : 1].shown = 1;
    for (int i = 0; i < (int)(sizeof items / sizeof items[0]); i++) {
        if (!items[i].shown) continue;
        fill_rect(c, x, y0 + (h - sw) / 2, sw, sw, items[i].fill);
        stroke_rect(c, x, y0 + (h - sw) / 2, sw, sw, 2, items[i].edge);
        x += sw + 6;
        x += text(c, f, FONT_REGULAR, PX_SMALL, x, y0 + ascent(PX_SMALL) + 1, C_MUTED,
                  items[i].what);
        x += 22;
    }
    return h;
}

/* Title lines (the first bold); returns the height. */
static int draw_title(canvas_t *c, const layout_t *L, int x0, int y0, int *width) {
    int y = y0, first = 1;
    *width = 0;
    for (const char *p = L->title; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[1024];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        int px = first ? PX_TITLE : PX_SUB;
        int w = text(c, L->fonts, first ? FONT_BOLD : FONT_REGULAR, px, x0, y + ascent(px),
                     first ? C_TEXT : C_MUTED, line);
        if (w > *width) *width = w;
        y += line_h(px);
        first = 0;
        p += n;
        if (*p == '\n') p++;
    }
    return y - y0;
}

/* Lays out (c == NULL) or draws the whole picture; returns its height. */
static int draw_all(canvas_t *c, layout_t *L) {
    int y = MARGIN, tw;
    y += draw_title(c, L, MARGIN, y, &tw) + 6;
    fill_rect(c, MARGIN, y, L->content_w, 1, C_RULE);
    y += 10;
    y += draw_candidates(c, L, MARGIN, y) + 14;
    for (int t = 0; t < L->ep->n_turns; t++) {
        int r = t / L->cols, k = t % L->cols;
        draw_cell(c, L, t, MARGIN + k * (L->cell_w + GAP), y + r * (L->cell_h + GAP));
    }
    y += L->rows * (L->cell_h + GAP) + 4;
    y += draw_legend(c, L, MARGIN, y);
    return y + MARGIN;
}

/* ---- PNG ------------------------------------------------------------------------------- */

static void write_png(const canvas_t *c, const char *path) {
    pngio_write(path, c->px, c->h, c->w, 3, "micl " MICL_VERSION " (micl data show)");
}

/* ---- entry ----------------------------------------------------------------------------- */

void show_episode_png(const episode_t *ep, const image_store_t *store, const vocab_t *v,
                      const char *title, const char *out_path) {
    if (ep->n_images < 1) micl_fatal("%s: the episode has no image turn to draw", out_path);
    for (int t = 0; t < ep->n_images; t++)
        if (ep->images[t] < 0 || ep->images[t] >= store->n)
            micl_fatal("%s: turn %d refers to image %lld; the store has %lld", out_path, t + 1,
                       (long long)ep->images[t], (long long)store->n);
    fonts_t fonts;
    fonts_open(&fonts);
    layout_t L;
    memset(&L, 0, sizeof L);
    L.ep = ep;
    L.store = store;
    L.v = v;
    L.title = title ? title : "";
    L.fonts = &fonts;
    int side = store->h > store->w ? store->h : store->w;
    L.scale = side >= IMAGE_TARGET ? 1 : IMAGE_TARGET / side;
    L.img_w = store->w * L.scale;
    L.img_h = store->h * L.scale;
    int per_turn = 1; /* the most images one turn shows */
    for (int t = 0; t < ep->n_turns; t++)
        per_turn = ep->turn_n_images[t] > per_turn ? ep->turn_n_images[t] : per_turn;
    int span = per_turn * L.img_w + (per_turn - 1) * PAD;
    L.cell_w = (span > MIN_CELL_INNER ? span : MIN_CELL_INNER) + 2 * PAD;
    int max_cols = (MAX_GRID + GAP) / (L.cell_w + GAP);
    if (max_cols < 1) max_cols = 1;
    L.rows = (ep->n_turns + max_cols - 1) / max_cols;
    L.cols = (ep->n_turns + L.rows - 1) / L.rows;
    for (int t = 0; t < ep->n_turns; t++) {
        int n = prompt_lines(NULL, &L, t, 0, 0, L.cell_w - 2 * PAD);
        if (n > L.prompt_lines) L.prompt_lines = n;
    }
    L.cell_h = cell_height(&L);
    int grid_w = L.cols * L.cell_w + (L.cols - 1) * GAP, title_w;
    draw_title(NULL, &L, 0, 0, &title_w);
    L.content_w = grid_w;
    if (L.content_w < MIN_CONTENT) L.content_w = MIN_CONTENT;
    if (L.content_w < title_w) L.content_w = title_w;

    canvas_t c;
    c.w = L.content_w + 2 * MARGIN;
    c.h = draw_all(NULL, &L);
    c.px = micl_malloc((size_t)c.w * (size_t)c.h * 3);
    fill_rect(&c, 0, 0, c.w, c.h, C_BG);
    draw_all(&c, &L);
    write_png(&c, out_path);
    free(c.px);
    fonts_close(&fonts);
}
