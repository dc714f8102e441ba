/* test_data_glyphs.c - glyph store rendering on a tiny config (20 train + 5 held-out classes,
 * 4 instances, three Debian CJK font files): instance distinctness, split counts, class names,
 * determinism (twice, and with 1 and 2 OpenMP threads), and data_prepare's caching (a second
 * run keeps the file, a changed parameter rebuilds it). Exits 77 (skipped) when the fonts are
 * not installed. */
#define _XOPEN_SOURCE 700
#include <omp.h>

#include "data/sources.h"
#include "test_data_util.h"

static const char *const k_fonts[] = {"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
                                      "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
                                      "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"};

static void tiny(data_config_t *d) {
    memset(d, 0, sizeof *d);
    d->glyph_size = 28;
    d->glyph_train_classes = 20;
    d->glyph_heldout_classes = 5;
    d->glyph_instances = 4;
    d->glyph_heldout_instances = 1;
    d->n_fonts = 3;
    for (int i = 0; i < 3; i++)
        snprintf(d->fonts[i], sizeof d->fonts[i], "%s", k_fonts[i]);
    d->glyph_rotate_deg = 8;
    d->glyph_scale_jitter = 0.08f;
    d->glyph_shift_px = 1.5f;
    d->glyph_stroke_px = 0.6f;
    d->glyph_seed = 1234;
}

static void same_store(const image_store_t *a, const image_store_t *b) {
    CHECK(a->n == b->n && a->h == b->h && a->w == b->w && a->n_classes == b->n_classes);
    CHECK(memcmp(a->pixels, b->pixels, (size_t)(a->n * a->h * a->w)) == 0);
    CHECK(memcmp(a->labels, b->labels, (size_t)a->n * sizeof *a->labels) == 0);
    CHECK(memcmp(a->split, b->split, (size_t)a->n) == 0);
    CHECK(memcmp(a->class_split, b->class_split, (size_t)a->n_classes) == 0);
    for (int c = 0; c < a->n_classes; c++)
        CHECK(strcmp(a->class_names[c], b->class_names[c]) == 0);
    CHECK(strcmp(a->provenance, b->provenance) == 0);
}

static void check_store(const data_config_t *d, const image_store_t *s) {
    const int inst = d->glyph_instances, nc = d->glyph_train_classes + d->glyph_heldout_classes;
    const size_t npix = (size_t)d->glyph_size * (size_t)d->glyph_size;
    CHECK(s->n == (int64_t)nc * inst && s->h == 28 && s->w == 28 && s->n_classes == nc);
    CHECK(strcmp(s->source, "glyphs") == 0);
    CHECK(strstr(s->provenance, "wqy-zenhei.ttc") && strstr(s->provenance, "seed=1234"));
    CHECK(strstr(s->provenance, "ideographs covered by all fonts: "));
    int64_t counts[3] = {0, 0, 0};
    for (int c = 0; c < nc; c++) {
        const unsigned char *nm = (const unsigned char *)s->class_names[c];
        /* one ideograph U+4E00..U+9FFF in UTF-8: E4..E9 xx xx */
        CHECK(strlen((const char *)nm) == 3 && nm[0] >= 0xE4 && nm[0] <= 0xE9);
        CHECK(s->class_split[c] == (c >= d->glyph_train_classes));
        int test_here = 0;
        for (int i = 0; i < inst; i++) {
            int64_t k = (int64_t)c * inst + i;
            CHECK(s->labels[k] == c);
            counts[s->split[k]]++;
            test_here += s->split[k] == STORE_SPLIT_TEST;
            const uint8_t *img = s->pixels + (size_t)k * npix;
            uint64_t ink = 0;
            for (size_t j = 0; j < npix; j++)
                ink += img[j];
            CHECK(ink > 255 * 10); /* not blank */
            /* the border rows are mostly empty: the glyph is centred and fits */
            uint64_t border = 0;
            for (int j = 0; j < 28; j++)
                border += img[j] + img[27 * 28 + j];
            CHECK(border < ink / 4);
            for (int i2 = 0; i2 < i; i2++)
                CHECK(memcmp(img, s->pixels + (size_t)((int64_t)c * inst + i2) * npix, npix) != 0);
        }
        CHECK(test_here == (c < d->glyph_train_classes ? d->glyph_heldout_instances : 0));
    }
    CHECK(counts[STORE_SPLIT_TRAIN] == 20 * 3);
    CHECK(counts[STORE_SPLIT_TEST] == 20 * 1);
    CHECK(counts[STORE_SPLIT_HELDOUT_CLASS] == 5 * 4);
}

static time_t mtime_of(const char *p, ino_t *ino) {
    struct stat st;
    CHECK(stat(p, &st) == 0);
    *ino = st.st_ino;
    return st.st_mtime;
}

int main(void) {
    for (int i = 0; i < 3; i++) {
        if (!tdu_exists(k_fonts[i])) {
            printf("font %s not installed; skipping\n", k_fonts[i]);
            return 77;
        }
    }
    data_config_t d;
    tiny(&d);
    image_store_t a, b, c;
    omp_set_num_threads(1);
    glyphs_build(&d, &a);
    check_store(&d, &a);
    glyphs_build(&d, &b);
    same_store(&a, &b);
    omp_set_num_threads(2);
    glyphs_build(&d, &c);
    same_store(&a, &c);
    store_free(&b);
    store_free(&c);

    char *prov = glyphs_provenance(&d);
    CHECK(strcmp(prov, a.provenance) == 0);
    free(prov);

    /* A different seed picks other classes. */
    d.glyph_seed = 99;
    glyphs_build(&d, &b);
    int same_names = 0;
    for (int k = 0; k < a.n_classes; k++)
        same_names += strcmp(a.class_names[k], b.class_names[k]) == 0;
    CHECK(same_names < 5);
    store_free(&b);
    d.glyph_seed = 1234;

    /* data_prepare: build, then cached (same file), then rebuilt after a parameter change. */
    char *dir = tdu_tmpdir("data_glyphs");
    char *cache = tdu_path(dir, "cache/sub");
    config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.data = d;
    snprintf(cfg.data.cache_dir, sizeof cfg.data.cache_dir, "%s", cache);
    char path[CONFIG_PATH_LEN + 32];
    data_glyph_store_path(&cfg, path, (int)sizeof path);
    CHECK(strcmp(path + strlen(path) - 10, "/glyphs.h5") == 0);
    data_prepare(&cfg, 0);
    store_read(path, &b);
    same_store(&a, &b);
    store_free(&b);
    ino_t ino1, ino2;
    time_t t1 = mtime_of(path, &ino1);
    data_prepare(&cfg, 0);
    time_t t2 = mtime_of(path, &ino2);
    CHECK(ino1 == ino2 && t1 == t2); /* cached: not rewritten */
    data_prepare(&cfg, 1);           /* force: rewritten (rename gives a new inode) */
    mtime_of(path, &ino2);
    CHECK(ino1 != ino2);
    cfg.data.glyph_rotate_deg = 6; /* stale: rebuilt */
    data_prepare(&cfg, 0);
    store_read(path, &b);
    CHECK(strstr(b.provenance, "rotate_deg=6 "));
    store_free(&b);

    store_free(&a);
    tdu_rm_rf(dir);
    free(cache);
    free(dir);
    printf("test_data_glyphs: ok\n");
    return 0;
}
