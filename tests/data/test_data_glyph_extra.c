/* test_data_glyph_extra.c - the glyph store's diverse train classes and augmentation
 * (data.glyphs.script_classes, script_fonts, shape_classes, contrast, fill, invert, noise) on a
 * tiny config: class layout and names, the held-out ideographs unchanged by extra classes and
 * augmentation (their random streams are keyed by ideograph), augmentation only on train
 * classes, determinism with 1 and 2 OpenMP threads, the provenance naming every new parameter
 * (and none of them when they are off), and each augmentation step doing what it says. Exits 77
 * (skipped) when the fonts are not installed. */
#define _XOPEN_SOURCE 700
#include <omp.h>

#include "data/glyph_aug.h"
#include "data/sources.h"
#include "test_data_util.h"

static const char *const k_fonts[] = {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                      "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                                      "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                                      "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"};

enum { T = 10, H = 4, INST = 4, S = 12, P = 6, NPIX = 28 * 28 };

static void tiny(data_config_t *d) {
    memset(d, 0, sizeof *d);
    d->glyph_size = 28;
    d->glyph_train_classes = T;
    d->glyph_heldout_classes = H;
    d->glyph_instances = INST;
    d->glyph_heldout_instances = 1;
    d->n_fonts = 2;
    snprintf(d->fonts[0], sizeof d->fonts[0], "%s", k_fonts[0]);
    snprintf(d->fonts[1], sizeof d->fonts[1], "%s", k_fonts[1]);
    d->n_script_fonts = 2;
    snprintf(d->script_fonts[0], sizeof d->script_fonts[0], "%s", k_fonts[2]);
    snprintf(d->script_fonts[1], sizeof d->script_fonts[1], "%s", k_fonts[3]);
    d->glyph_rotate_deg = 8;
    d->glyph_scale_jitter = 0.08f;
    d->glyph_shift_px = 1.5f;
    d->glyph_stroke_px = 0.6f;
    d->glyph_seed = 77;
}

static void diverse(data_config_t *d) {
    d->glyph_script_classes = S;
    d->glyph_shape_classes = P;
    d->glyph_contrast = 0.5f;
    d->glyph_fill = 0.3f;
    d->glyph_invert = 0.2f;
    d->glyph_noise = 6.0f;
}

static const uint8_t *image(const image_store_t *s, int c, int i) {
    return s->pixels + ((size_t)c * INST + (size_t)i) * NPIX;
}

static int same_class_images(const image_store_t *a, int ca, const image_store_t *b, int cb) {
    return memcmp(image(a, ca, 0), image(b, cb, 0), (size_t)INST * NPIX) == 0;
}

static void same_store(const image_store_t *a, const image_store_t *b) {
    CHECK(a->n == b->n && a->n_classes == b->n_classes);
    CHECK(memcmp(a->pixels, b->pixels, (size_t)a->n * NPIX) == 0);
    CHECK(memcmp(a->split, b->split, (size_t)a->n) == 0);
    for (int c = 0; c < a->n_classes; c++)
        CHECK(strcmp(a->class_names[c], b->class_names[c]) == 0);
    CHECK(strcmp(a->provenance, b->provenance) == 0);
}

/* The augmentation steps alone, each switched on with probability 1. */
static void check_aug_steps(void) {
    data_config_t d;
    tiny(&d);
    uint8_t img[NPIX], orig[NPIX], tmp[NPIX];
    memset(orig, 0, sizeof orig);
    for (int y = 8; y < 20; y++)
        orig[y * 28 + 14] = 200; /* a vertical stroke */
    rng_t r = rng_make(1, RNG_STREAM_TEST, 0);
    CHECK(!glyph_aug_enabled(&d));
    d.glyph_invert = 1;
    memcpy(img, orig, sizeof img);
    glyph_aug_apply(&d, &r, img, tmp);
    CHECK(img[0] == 255 && img[10 * 28 + 14] == 55);
    d.glyph_invert = 0;
    d.glyph_fill = 1;
    memcpy(img, orig, sizeof img);
    glyph_aug_apply(&d, &r, img, tmp);
    int wide = 0;
    for (int x = 0; x < 28; x++)
        wide += img[14 * 28 + x] > 100;
    CHECK(wide >= 4); /* the 1-pixel stroke is now a bar of 4 or more */
    d.glyph_fill = 0;
    d.glyph_contrast = 0.9f;
    int dimmer = 0;
    for (int k = 0; k < 20; k++) {
        memcpy(img, orig, sizeof img);
        glyph_aug_apply(&d, &r, img, tmp);
        CHECK(img[10 * 28 + 14] <= 200 && img[10 * 28 + 14] >= 19 && img[0] == 0);
        dimmer += img[10 * 28 + 14] < 150;
    }
    CHECK(dimmer > 0);
    d.glyph_contrast = 0;
    d.glyph_noise = 20;
    memcpy(img, orig, sizeof img);
    glyph_aug_apply(&d, &r, img, tmp);
    CHECK(memcmp(img, orig, sizeof img) != 0);
    char prov[256] = "";
    glyph_aug_describe(&d, prov, sizeof prov);
    CHECK(strstr(prov, " noise=20") && strstr(prov, " invert=0 "));
}

int main(void) {
    for (int i = 0; i < 4; i++) {
        if (!tdu_exists(k_fonts[i])) {
            printf("font %s not installed; skipping\n", k_fonts[i]);
            return 77;
        }
    }
    check_aug_steps();

    data_config_t d;
    tiny(&d);
    image_store_t plain, a, b;
    omp_set_num_threads(2);
    glyphs_build(&d, &plain);
    CHECK(!strstr(plain.provenance, "script") && !strstr(plain.provenance, "shape") &&
          !strstr(plain.provenance, "contrast"));

    diverse(&d);
    glyphs_build(&d, &a);
    omp_set_num_threads(1);
    glyphs_build(&d, &b);
    same_store(&a, &b);
    store_free(&b);

    /* Layout: ideograph train classes, script classes, shapes, held-out ideographs. */
    CHECK(a.n_classes == T + S + P + H && a.n == (int64_t)a.n_classes * INST);
    for (int c = 0; c < a.n_classes; c++) {
        const char *nm = a.class_names[c];
        CHECK(a.class_split[c] == (c >= T + S + P));
        if (c < T || c >= T + S + P) {
            int k = c < T ? c : c - S - P;
            CHECK(strcmp(nm, plain.class_names[k]) == 0);
        } else if (c < T + S) {
            CHECK(strncmp(nm, "U+", 2) == 0 && strlen(nm) == 6);
        } else {
            char want[32];
            snprintf(want, sizeof want, "shape-%d", c - T - S);
            CHECK(strcmp(nm, want) == 0);
        }
        int test_here = 0;
        for (int i = 0; i < INST; i++)
            test_here += a.split[(int64_t)c * INST + i] == STORE_SPLIT_TEST;
        CHECK(test_here == (c < T + S + P ? 1 : 0));
    }
    /* Held-out ideographs are not augmented and keep their images; train ones are augmented. */
    for (int k = 0; k < H; k++)
        CHECK(same_class_images(&a, T + S + P + k, &plain, T + k));
    int changed = 0;
    for (int c = 0; c < T; c++)
        changed += !same_class_images(&a, c, &plain, c);
    CHECK(changed == T);
    /* Without augmentation the extra classes leave every ideograph image as it was. */
    d.glyph_contrast = d.glyph_fill = d.glyph_invert = d.glyph_noise = 0;
    glyphs_build(&d, &b);
    for (int c = 0; c < T; c++)
        CHECK(same_class_images(&b, c, &plain, c));
    /* Shapes are solid: more ink than the thin script strokes on average. */
    uint64_t ink_script = 0, ink_shape = 0;
    for (int c = T; c < T + S; c++)
        for (int j = 0; j < INST * NPIX; j++)
            ink_script += image(&b, c, 0)[j];
    for (int c = T + S; c < T + S + P; c++)
        for (int j = 0; j < INST * NPIX; j++)
            ink_shape += image(&b, c, 0)[j];
    CHECK(ink_shape / P > ink_script / S);
    store_free(&b);

    CHECK(strstr(a.provenance, " script_classes=12 script_fonts: ") &&
          strstr(a.provenance, "DejaVuSerif.ttf") && strstr(a.provenance, " shape_classes=6") &&
          strstr(a.provenance, " contrast=0.5 fill=0.") &&
          strstr(a.provenance, "script characters covered by all script fonts: "));
    char *prov = glyphs_provenance(&d);
    CHECK(!strstr(prov, "contrast") && strstr(prov, "shape_classes=6"));
    free(prov);
    diverse(&d);
    prov = glyphs_provenance(&d);
    CHECK(strcmp(prov, a.provenance) == 0);
    free(prov);

    store_free(&a);
    store_free(&plain);
    printf("test_data_glyph_extra: ok\n");
    return 0;
}
