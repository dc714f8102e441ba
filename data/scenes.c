/* scenes.c - the scene store: RGB images of simple coloured objects with their metadata.
 *
 * Image i draws everything from rng_make(seed, RNG_STREAM_SCENE_RENDER, i): the object count,
 * then per object a shape, colour and size and a centre, placed by rejection so that object
 * boxes never touch (one pixel of background between them). Objects are drawn with integer
 * inside-tests on a black background (no anti-aliasing), so pixels depend on nothing but the
 * metadata. Images [0, images - test_images) are train, the next test_images test (both class
 * "scene"), and the last heldout_images (class "scene-heldout") each contain a held-out
 * shape-colour pair that no other image has. docs/DATA.md describes the layout.
 */
#define _POSIX_C_SOURCE 200809L
#include "scenes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"

#define SCENES_PLACE_TRIES 200

static const char *SHAPE_NAMES[SCENES_N_SHAPES] = {"square", "circle", "triangle",
                                                   "cross",  "ring",   "diamond"};
static const char *COLOUR_NAMES[SCENES_N_COLOURS] = {"red",    "green",  "blue",
                                                     "yellow", "purple", "white"};
static const uint8_t COLOUR_RGB[SCENES_N_COLOURS][3] = {
    {230, 40, 40}, {40, 200, 60}, {50, 90, 240}, {240, 220, 40}, {160, 60, 200}, {245, 245, 245}};
static const char *SIZE_NAMES[SCENES_N_SIZES] = {"small", "large"};

const char *scenes_shape_name(int shape) {
    return shape >= 0 && shape < SCENES_N_SHAPES ? SHAPE_NAMES[shape] : "?";
}

const char *scenes_colour_name(int colour) {
    return colour >= 0 && colour < SCENES_N_COLOURS ? COLOUR_NAMES[colour] : "?";
}

const char *scenes_size_name(int size) {
    return size >= 0 && size < SCENES_N_SIZES ? SIZE_NAMES[size] : "?";
}

void scenes_colour_rgb(int colour, uint8_t rgb[3]) {
    memcpy(rgb, COLOUR_RGB[colour], 3);
}

int scenes_pair_heldout(int shape, int colour) {
    return colour == (shape + 2) % SCENES_N_COLOURS;
}

/* Half side of an object's box: small and large, scaled with the image. */
static int half_extent(int size_px, int large) {
    int h = large ? size_px / 7 : size_px / 12;
    return h < (large ? 3 : 2) ? (large ? 3 : 2) : h;
}

/* 1 if pixel offset (dx, dy) from the centre is inside a shape of half extent r. */
static int inside(int shape, int dx, int dy, int r) {
    int ax = abs(dx), ay = abs(dy), d2 = dx * dx + dy * dy;
    switch (shape) {
    case SCENES_SHAPE_SQUARE:
        return ax <= r && ay <= r;
    case SCENES_SHAPE_CIRCLE:
        return d2 <= r * r + r;
    case SCENES_SHAPE_TRIANGLE: /* apex up, base on the bottom edge */
        return ay <= r && 2 * ax <= dy + r;
    case SCENES_SHAPE_CROSS:
        return (ax <= r / 3 && ay <= r) || (ay <= r / 3 && ax <= r);
    case SCENES_SHAPE_RING: {
        int ri = (r * 11) / 20;
        return d2 <= r * r + r && d2 > ri * ri + ri;
    }
    default: /* SCENES_SHAPE_DIAMOND */
        return ax + ay <= r;
    }
}

static void draw_object(uint8_t *img, int S, const int16_t *o) {
    int r = half_extent(S, o[STORE_OBJ_SIZE]), cx = o[STORE_OBJ_X], cy = o[STORE_OBJ_Y];
    const uint8_t *rgb = COLOUR_RGB[o[STORE_OBJ_COLOUR]];
    for (int y = cy - r; y <= cy + r; y++)
        for (int x = cx - r; x <= cx + r; x++)
            if (inside(o[STORE_OBJ_SHAPE], x - cx, y - cy, r))
                memcpy(img + ((size_t)y * S + x) * 3, rgb, 3);
}

/* 1 if a box of half extent r at (cx, cy) keeps a pixel of background to every placed box. */
static int box_free(const int16_t *objs, int n, int S, int cx, int cy, int r) {
    for (int k = 0; k < n; k++) {
        const int16_t *o = objs + k * STORE_OBJECT_FIELDS;
        int rk = half_extent(S, o[STORE_OBJ_SIZE]);
        if (abs(cx - o[STORE_OBJ_X]) <= r + rk + 1 && abs(cy - o[STORE_OBJ_Y]) <= r + rk + 1)
            return 0;
    }
    return 1;
}

/* Draws a shape-colour pair: a held-out pair when `heldout`, otherwise a trained one. */
static void draw_pair(rng_t *r, int heldout, int16_t *shape, int16_t *colour) {
    int s = (int)rng_below(r, SCENES_N_SHAPES), c;
    if (heldout) {
        c = (s + 2) % SCENES_N_COLOURS;
    } else {
        do
            c = (int)rng_below(r, SCENES_N_COLOURS);
        while (scenes_pair_heldout(s, c));
    }
    *shape = (int16_t)s;
    *colour = (int16_t)c;
}

/* Renders image i into img (S*S*3) and objs (max_objects records); returns the object count.
 * Objects that find no free place after SCENES_PLACE_TRIES centres are dropped (the first one
 * always fits). */
static int render_scene(const data_config_t *cfg, int64_t i, int heldout, uint8_t *img,
                        int16_t *objs) {
    int S = cfg->scene_size, M = cfg->scene_max_objects;
    rng_t r = rng_make(cfg->scene_seed, RNG_STREAM_SCENE_RENDER, (uint64_t)i);
    int want = 1 + (int)rng_below(&r, (uint64_t)M), n = 0;
    memset(img, 0, (size_t)S * S * 3);
    for (int k = 0; k < M * STORE_OBJECT_FIELDS; k++)
        objs[k] = -1;
    for (int k = 0; k < want; k++) {
        int16_t *o = objs + n * STORE_OBJECT_FIELDS;
        draw_pair(&r, heldout && k == 0, &o[STORE_OBJ_SHAPE], &o[STORE_OBJ_COLOUR]);
        int large = (int)rng_below(&r, 2), rad = half_extent(S, large), placed = 0;
        for (int t = 0; t < SCENES_PLACE_TRIES && !placed; t++) {
            int cx = rad + (int)rng_below(&r, (uint64_t)(S - 2 * rad));
            int cy = rad + (int)rng_below(&r, (uint64_t)(S - 2 * rad));
            if (!box_free(objs, n, S, cx, cy, rad)) continue;
            o[STORE_OBJ_SIZE] = (int16_t)large;
            o[STORE_OBJ_X] = (int16_t)cx;
            o[STORE_OBJ_Y] = (int16_t)cy;
            placed = 1;
        }
        if (!placed) {
            for (int f = 0; f < STORE_OBJECT_FIELDS; f++)
                o[f] = -1;
            continue;
        }
        draw_object(img, S, o);
        n++;
    }
    return n;
}

char *scenes_provenance(const data_config_t *cfg) {
    char *out = micl_malloc(1024);
    snprintf(out, 1024,
             "scenes schema=%d renderer=1 size=%d images=%d test_images=%d heldout_images=%d "
             "max_objects=%d seed=%llu shapes=square,circle,triangle,cross,ring,diamond "
             "colours=red,green,blue,yellow,purple,white sizes=small,large "
             "heldout_pairs=shape+2 place_tries=%d",
             STORE_SCHEMA_VERSION, cfg->scene_size, cfg->scene_images, cfg->scene_test_images,
             cfg->scene_heldout_images, cfg->scene_max_objects, (unsigned long long)cfg->scene_seed,
             SCENES_PLACE_TRIES);
    return out;
}

static void alloc_store(const data_config_t *cfg, image_store_t *s) {
    memset(s, 0, sizeof *s);
    s->n = (int64_t)cfg->scene_images + cfg->scene_heldout_images;
    s->h = s->w = cfg->scene_size;
    s->c = 3;
    s->max_objects = cfg->scene_max_objects;
    s->pixels = micl_malloc((size_t)s->n * store_image_bytes(s));
    s->labels = micl_malloc((size_t)s->n * sizeof *s->labels);
    s->split = micl_malloc((size_t)s->n);
    s->n_objects = micl_malloc((size_t)s->n * sizeof *s->n_objects);
    s->objects =
        micl_malloc((size_t)s->n * (size_t)s->max_objects * STORE_OBJECT_FIELDS * sizeof(int16_t));
    s->n_classes = 2;
    s->class_names = micl_malloc(2 * sizeof *s->class_names);
    s->class_names[0] = micl_strdup("scene");
    s->class_names[1] = micl_strdup("scene-heldout");
    s->class_split = micl_malloc(2);
    s->class_split[0] = 0;
    s->class_split[1] = 1;
    snprintf(s->source, sizeof s->source, "scenes");
}

void scenes_build(const data_config_t *cfg, image_store_t *out) {
    if (cfg->scene_test_images >= cfg->scene_images)
        micl_fatal("data.scenes.test_images = %d must be less than data.scenes.images = %d",
                   cfg->scene_test_images, cfg->scene_images);
    alloc_store(cfg, out);
    int64_t n_train = cfg->scene_images - cfg->scene_test_images;
    size_t ib = store_image_bytes(out), ob = (size_t)out->max_objects * STORE_OBJECT_FIELDS;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < out->n; i++) {
        int heldout = i >= cfg->scene_images;
        out->n_objects[i] = (int16_t)render_scene(cfg, i, heldout, out->pixels + (size_t)i * ib,
                                                  out->objects + (size_t)i * ob);
        out->labels[i] = heldout;
        out->split[i] = heldout       ? STORE_SPLIT_HELDOUT_CLASS
                        : i < n_train ? STORE_SPLIT_TRAIN
                                      : STORE_SPLIT_TEST;
    }
    out->provenance = scenes_provenance(cfg);
}
