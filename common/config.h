/* config.h - the resolved configuration of a micl run, loaded from a libconfig file.
 *
 * config_load() reads a .cfg file, checks every key against the schema in config_schema.c (unknown
 * key -> error naming file, line and the nearest valid key; wrong type or out-of-range value ->
 * error naming file, line, key and the expected type/range), fills defaults, and returns a
 * plain struct. Nothing else in micl touches libconfig. docs/CONFIG.md documents every key.
 */
#ifndef MICL_CONFIG_H
#define MICL_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#define CONFIG_MAX_STAGES 8
#define CONFIG_MAX_RUNS 16
#define CONFIG_MAX_LIST 16
#define CONFIG_MAX_FONTS 16
#define CONFIG_NAME_LEN 64
#define CONFIG_PATH_LEN 512
#define CONFIG_MAX_AXES 8
#define CONFIG_MAX_AXIS_VALUES 32
/* The longest attention sequence the kernels take (KERN_ATTN_MAX_T; model/vlm.c asserts they
 * agree): model.max_seq and the patches of one image, (model.image_size / model.patch)^2, are
 * checked against it when a config loads. */
#define CONFIG_MAX_SEQ 1024

/* The task families, one row each: X(ID, name, store, mix_doc).
 *   ID       the enum value FAMILY_<ID>; values are stable (benchmark rng keys depend on them),
 *            so a new family is a new last row
 *   name     the config word (a stage's `family`, the key `mix.<name>`) and, in data/, the
 *            descriptor family_<name> that builds its episodes (data/family.h)
 *   store    the image store its episodes draw from: GLYPHS, SCENES or OPERATORS
 *   mix_doc  the description of `mix.<name>` in docs/CONFIG.md
 * A new family is one row here plus one file in data/ defining family_<name>. */
#define CONFIG_FAMILIES(X)                                                                         \
    X(CLASSIFY, classify, GLYPHS,                                                                  \
      "share of the stage's (non-replay) sequences that are classify episodes; the `mix.*` "       \
      "shares must sum to 1 when any is given, and then replace `family`")                         \
    X(BINDING, binding, GLYPHS, "share of binding episodes (fake names bound inside the episode)") \
    X(MC, mc, GLYPHS, "share of multiple-choice episodes (options A..D, answer a letter)")         \
    X(MATCHING, matching, GLYPHS,                                                                  \
      "share of matching episodes (two images per turn, same class? yes / no)")                    \
    X(ATTRIBUTES, attributes, SCENES,                                                              \
      "share of scene attribute questions (colour, shape or position of the focus object; "        \
      "needs data.scenes) episodes")                                                               \
    X(COUNTING, counting, SCENES,                                                                  \
      "share of scene counting questions (how many <shape>; needs data.scenes) episodes")          \
    X(RELATIONS, relations, SCENES,                                                                \
      "share of scene spatial relation questions (is <shape> left of <shape>: yes / no; "          \
      "needs data.scenes) episodes")                                                               \
    X(COUNT_INDUCTION, count_induction, SCENES,                                                    \
      "share of count induction: the demos show which colour or shape is counted (needs "          \
      "data.scenes) episodes")                                                                     \
    X(OPERATORS, operators, OPERATORS,                                                             \
      "share of operator induction: `a ? b` images with one hidden operator per episode "          \
      "(needs data.operators) episodes")                                                           \
    X(CAPTIONS, captions, SCENES,                                                                  \
      "share of caption episodes: \"what is\" answered by the focus object's size, colour, "       \
      "shape and position, four words (needs data.scenes)")                                        \
    X(NAMED, named, GLYPHS,                                                                        \
      "share of named episodes: single images of the fixed-name classes answered with their "      \
      "fixed fake name (data/episode.h: fake name i labels one training class, a keyed "           \
      "permutation), `items` unrelated images")                                                    \
    X(BURSTY, bursty, GLYPHS,                                                                      \
      "share of bursty episodes (Chan et al. 2022): `items` turns over `ways` repeated classes, "  \
      "each labelled by its fixed label (real name, or a fixed-name class's fake name), every "    \
      "turn scored")                                                                               \
    X(ARITHMETIC, arithmetic, OPERATORS,                                                           \
      "share of arithmetic episodes: `a ? b` images, the operator named in the question (what "    \
      "result plus / minus / times), each turn its own operator (needs data.operators)")

/* Task families of an episode (data/family.h builds them). */
/* clang-format off */
#define CONFIG_FAMILY_ENUM(id, name, store, doc) FAMILY_##id,
typedef enum { CONFIG_FAMILIES(CONFIG_FAMILY_ENUM) FAMILY_COUNT } family_t;
#undef CONFIG_FAMILY_ENUM
/* clang-format on */

/* The image store a family's episodes draw from. */
typedef enum {
    FAMILY_STORE_GLYPHS = 0,
    FAMILY_STORE_SCENES,
    FAMILY_STORE_OPERATORS
} family_store_t;

/* The config word of family f ("binding"), or NULL if f is not a family. */
const char *config_family_word(int f);
/* The store family f draws from. */
family_store_t config_family_store(int f);

typedef struct {
    char fashion_mnist_dir[CONFIG_PATH_LEN]; /* gzip IDX files of dataset-fashion-mnist */
    char cache_dir[CONFIG_PATH_LEN];         /* where `micl data prepare` writes stores */
    /* glyph store */
    int glyph_size;              /* image side in pixels (= model.image_size) */
    int glyph_train_classes;     /* classes used for training */
    int glyph_heldout_classes;   /* classes never trained on (ICL evaluation) */
    int glyph_instances;         /* distinct instances rendered per class */
    int glyph_heldout_instances; /* per train class, kept for zero-shot eval */
    int n_fonts;
    char fonts[CONFIG_MAX_FONTS][CONFIG_PATH_LEN]; /* font files (.ttf/.otf/.ttc) */
    float glyph_rotate_deg;                        /* max |rotation| */
    float glyph_scale_jitter;                      /* max relative scale change */
    float glyph_shift_px;                          /* max shift in pixels */
    float glyph_stroke_px; /* max emboldening in pixels (can be negative: thinning) */
    uint64_t glyph_seed;
    /* diverse train classes (data/glyph_extra.h), after the ideograph train classes */
    int glyph_script_classes; /* characters of other scripts (glyph_script_fonts) */
    int n_script_fonts;
    char script_fonts[CONFIG_MAX_FONTS][CONFIG_PATH_LEN];
    int glyph_shape_classes; /* procedural filled shapes */
    /* image augmentation of train-class instances (data/glyph_aug.h); 0 = off */
    float glyph_contrast; /* ink scaled to a random level in [1 - contrast, 1] */
    float glyph_fill;     /* probability of a filled (dilated, blurred) instance */
    float glyph_invert;   /* probability of an inverted instance */
    float glyph_noise;    /* maximum standard deviation of pixel noise, in grey levels */
    /* scene store (data/scenes.h); built when scene_images > 0 */
    int scene_size;           /* image side in pixels (= model.image_size) */
    int scene_images;         /* train + test images (no held-out pair) */
    int scene_test_images;    /* of those, kept for evaluation */
    int scene_heldout_images; /* images with a held-out shape-colour pair */
    int scene_max_objects;    /* objects per image: 1 .. this */
    uint64_t scene_seed;
    /* operator store (data/operators.h); built when op_images > 0 */
    int op_size;           /* image side in pixels (= model.image_size) */
    int op_images;         /* images in the train fonts (train + test) */
    int op_test_images;    /* of those, kept for evaluation */
    int op_heldout_images; /* images in the held-out fonts */
    int n_op_fonts;
    char op_fonts[CONFIG_MAX_FONTS][CONFIG_PATH_LEN]; /* font files; the last op_heldout_fonts
                                                         are held out */
    int op_heldout_fonts;
    uint64_t op_seed;
} data_config_t;

typedef struct {
    int image_size; /* 28 */
    int patch;      /* patch side; image_size % patch == 0 */
    int enc_dim;    /* image encoder width */
    int enc_layers; /* ViT blocks */
    int enc_heads;
    int dim;    /* decoder width */
    int layers; /* decoder blocks */
    int heads;
    int mlp_ratio;      /* MLP hidden = mlp_ratio * width */
    int max_seq;        /* longest sequence in tokens */
    float init_std;     /* weight init standard deviation */
    char pool[16];      /* "flatten" (patch tokens concatenated) or "mean" */
    int channels;       /* image channels: 1 (gray) or 3 (RGB); must match the stores */
    int smear_keys;     /* 1: decoder keys mixed with the previous position's (model/vlm.h) */
    char device[16];    /* what computes: "cpu" or "cuda" (kernels/backend.h) */
    char precision[16]; /* products' operands: "fp32" or "bf16" (bf16 needs cuda) */
    int device_line;    /* line of model.device in the file (0: not given there) */
    int device_flag;    /* 1: device set by a command line's --device (config_set_device) */
} model_config_t;

typedef struct {
    char name[CONFIG_NAME_LEN];
    family_t family;         /* main family of the stage's episodes */
    int64_t steps;           /* maximum steps of the stage (0 = until train.steps) */
    int64_t min_steps;       /* steps before the advance metric is checked */
    float advance_acc;       /* advance when train ICL accuracy (EMA) >= this; 0 = by steps only */
    int ways_min, ways_max;  /* N of N-way episodes */
    int items;               /* image turns per sequence */
    float replay;            /* share of sequences that are single-image classification */
    float mix[FAMILY_COUNT]; /* shares of the families (all 0: `family` alone) */
    float mc_fake;           /* share of multiple-choice episodes with fake-name options */
    int coherent;            /* 1: one task per sequence; 0: unrelated episodes interleaved */
    int single_turn;         /* 1: demos in one user turn, loss on the last answer only */
    float exact_copy_start;  /* share of queries reusing a demo's exact image at stage start */
    float exact_copy_end;    /* ... at the end of exact_copy_steps */
    int64_t exact_copy_steps;
    /* 1: a non-replay sequence is `items` one-turn episodes of families drawn from the mix */
    int unrelated;
    /* replay sequences as `items` one-turn items of these families (all 0: as without it) */
    float replay_mix[FAMILY_COUNT];
} stage_config_t;

typedef struct {
    char name[CONFIG_NAME_LEN];
    int n_stages;
    stage_config_t stages[CONFIG_MAX_STAGES];
} run_config_t;

typedef struct {
    int64_t steps;      /* optimizer steps per run */
    int items_per_step; /* image turns per optimizer step (global batch, all ranks) */
    int micro_batches;  /* micro-batches per step; ranks take contiguous shares */
    float lr, min_lr;   /* peak and final learning rate */
    int64_t warmup;     /* linear warmup steps */
    float beta1, beta2, eps, weight_decay, grad_clip;
    int64_t log_every;        /* progress line and curve point every N steps */
    int64_t checkpoint_every; /* 0 = only at the end */
    int threads;              /* OpenMP threads per rank (0 = runtime default) */
    int adapt_threads;        /* 1: the step's team shrinks when that is faster (team.h) */
    /* > 0: tokens per optimizer step (global), which then sizes the step instead of items */
    int tokens_per_step;
    char reduce[16]; /* gradient sum over ranks: "tree" (fixed, bit-reproducible) or "allreduce" */
} train_config_t;

typedef struct {
    int episodes; /* episodes per (ways, shots) cell */
    int n_ways, ways[CONFIG_MAX_LIST];
    int n_shots, shots[CONFIG_MAX_LIST];
    int zeroshot_images; /* held-out instances scored zero-shot (0 = all) */
    int n_benchmarks;    /* named benchmarks run after training (data/benchmark.h) */
    char benchmarks[CONFIG_MAX_LIST][CONFIG_PATH_LEN];
} eval_config_t;

/* One axis of a sweep: a key and the values it takes. */
typedef enum { AXIS_INT = 0, AXIS_FLOAT = 1, AXIS_STRING = 2 } axis_type_t;

typedef struct {
    char key[CONFIG_NAME_LEN]; /* "run", "replay" or a dotted key of the schema ("model.dim") */
    axis_type_t type;
    int n_values;
    char values[CONFIG_MAX_AXIS_VALUES][CONFIG_NAME_LEN]; /* each value as text: 64, 0.5, icl */
} sweep_axis_t;

typedef struct {
    int present;       /* 1 if the file has a sweep section */
    int ranks_per_run; /* ranks of each group that trains one run */
    float stall_seconds;
    int n_axes;
    sweep_axis_t axes[CONFIG_MAX_AXES];
} sweep_config_t;

typedef struct {
    char path[CONFIG_PATH_LEN];       /* the file it was loaded from */
    char *text;                       /* the file's full text (stored in results) */
    char name[CONFIG_NAME_LEN];       /* experiment name */
    char output_dir[CONFIG_PATH_LEN]; /* results.h5 and checkpoints go here */
    uint64_t seed;
    int fake_names;                     /* size of the fake-name pool */
    char question[CONFIG_NAME_LEN * 4]; /* question words of a turn ("" = none) */
    data_config_t data;
    model_config_t model;
    train_config_t train;
    eval_config_t eval;
    int n_runs;
    run_config_t runs[CONFIG_MAX_RUNS];
    sweep_config_t sweep;
} config_t;

/* Loads and validates `path`. On any problem prints a message naming the file, line and key
 * and exits non-zero (via micl_fatal). The result owns `text`; free with config_free. */
void config_load(const char *path, config_t *cfg);
/* Same, from a string (name is used in messages). */
void config_load_string(const char *text, const char *name, config_t *cfg);
void config_free(config_t *cfg);
/* Sets model.device to `device` ("cpu" or "cuda") for a command line's --device, over the
 * file's. A value equal to the config's changes nothing (so a config run with its own device
 * keeps its identity); another is recorded (device_flag), and a sweep's resolved configs then
 * carry it as the key model.device. Returns 0, or -1 with a message in err when the config's
 * model.precision needs another device. */
int config_set_device(config_t *cfg, const char *device, char *err, size_t errlen);
/* Fills every field with its documented default. */
void config_defaults(config_t *cfg);
/* Writes the Markdown reference of every key, its type, default and range, and the rules
 * between keys (docs/CONFIG.md is this output; a test keeps the two identical). */
void config_print_docs(FILE *out);

/* The config text of one point of cfg's sweep: cfg->text with the sweep section removed, the
 * `runs` list cut down to the run named `run`, and each keys[i] set to values[i] (axis text as
 * in sweep_axis_t; "replay" sets the replay share of every stage of the run). Returns a malloc'd
 * libconfig text that config_load_string validates like any config file. */
char *config_resolve(const config_t *cfg, const char *run, int n, const sweep_axis_t *const *axes,
                     const char *const *values);

#endif
