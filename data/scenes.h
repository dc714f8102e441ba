/* scenes.h - rendered scenes: small RGB images of 1 to max_objects non-overlapping objects.
 *
 * Each object has a shape (SCENES_SHAPE_*), a colour (SCENES_COLOUR_*), a size (0 small,
 * 1 large) and a centre; the store keeps them per image in /n_objects and /objects
 * (STORE_OBJ_* fields, docs/DATA.md), so every question about a scene (attribute, count,
 * relation) is answered from the metadata, never from the pixels. Rendering is a pure
 * function of (seed, image index): the same config gives the same bytes for any thread count.
 * The shape and colour names are also the scene words of the vocabulary (data/vocab.c).
 */
#ifndef MICL_SCENES_H
#define MICL_SCENES_H

#include <stdint.h>

#include "common/config.h"
#include "store.h"

enum {
    SCENES_SHAPE_SQUARE = 0,
    SCENES_SHAPE_CIRCLE,
    SCENES_SHAPE_TRIANGLE,
    SCENES_SHAPE_CROSS,
    SCENES_SHAPE_RING,
    SCENES_SHAPE_DIAMOND,
    SCENES_N_SHAPES
};

enum {
    SCENES_COLOUR_RED = 0,
    SCENES_COLOUR_GREEN,
    SCENES_COLOUR_BLUE,
    SCENES_COLOUR_YELLOW,
    SCENES_COLOUR_PURPLE,
    SCENES_COLOUR_WHITE,
    SCENES_N_COLOURS
};

#define SCENES_N_SIZES 2

/* Word of a shape, colour or size index ("square", "red", "small"). */
const char *scenes_shape_name(int shape);
const char *scenes_colour_name(int colour);
const char *scenes_size_name(int size);
/* RGB of a colour index. */
void scenes_colour_rgb(int colour, uint8_t rgb[3]);

/* 1 if the (shape, colour) pair is held out: it appears only in STORE_SPLIT_HELDOUT_CLASS
 * images, never in train or test images. The held-out pairs are (s, (s + 2) % N_COLOURS) for
 * every shape s: each shape and each colour is still trained, only the combination is new. */
int scenes_pair_heldout(int shape, int colour);

/* Renders the scene store of cfg->scenes (see docs/DATA.md). Classes: "scene-train",
 * "scene-test" (both train classes) and "scene-heldout" (held-out class, images that contain
 * a held-out shape-colour pair). */
void scenes_build(const data_config_t *cfg, image_store_t *out);
/* The provenance string scenes_build records (allocated; free it). */
char *scenes_provenance(const data_config_t *cfg);

#endif
