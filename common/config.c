/* config.c - schema-driven loading and validation of micl's libconfig files.
 *
 * Every key lives in one of three static tables (top level, one run, one stage). Each entry
 * gives the dotted path, the value kind, where the value goes, its default, its range and a
 * one-line description; defaults, type and range checks, unknown-key suggestions and
 * docs/CONFIG.md (config_print_docs) are all derived from them. Checks that relate several keys
 * live in g_rules, each next to the sentence that documents it. Every problem ends in
 * micl_fatal with the file, the line where known, and the key.
 *
 * libconfig.h also defines a type named config_t, so it is included under another name.
 */
#define _POSIX_C_SOURCE 200809L
#define config_t libconfig_config_t
#include <libconfig.h>
#undef config_t

#include "config.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Schema                                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef enum {
    K_INT,        /* int field */
    K_INT64,      /* int64_t field */
    K_UINT64,     /* uint64_t field, written as a non-negative (64-bit) integer */
    K_FLOAT,      /* float field; integers are accepted */
    K_STRING,     /* char[size] field */
    K_NAME,       /* char[size] field restricted to letters, digits, '_', '-', '.' */
    K_FAMILY,     /* family_t field, one of g_family_names */
    K_BOOL,       /* int field, 0 or 1, written true / false */
    K_INT_LIST,   /* int[size] field with its count at aux; sorted, unique, non-empty */
    K_STR_LIST,   /* char[size][CONFIG_PATH_LEN] field with its count at aux */
    K_INT_PAIR,   /* [a, b] into int fields at off and aux; a <= b */
    K_FLOAT_PAIR, /* [a, b] into float fields at off and aux */
    K_RUNS,       /* the list of runs (g_run_keys) */
    K_STAGES,     /* the list of stages of one run (g_stage_keys) */
    K_AXES        /* the list of sweep axes (sweep_axis_t) */
} kind_t;

typedef struct {
    const char *path; /* dotted path; the last component is the key name */
    kind_t kind;
    size_t off;                  /* offset of the value in the owning struct */
    size_t aux;                  /* list count offset, or offset of the second value of a pair */
    size_t size;                 /* string buffer size or list capacity */
    double def, def2;            /* numeric default (def2: second value of a pair) */
    const char *def_s;           /* string default */
    const int *def_ints;         /* int list default */
    const char *const *def_strs; /* string list default */
    int def_n;                   /* length of the list default */
    double min, max;             /* range of numbers, of list elements, of list lengths */
    const char *doc;
} schema_key_t;

#define FSIZE(type, member) sizeof(((type *)0)->member)
#define INT64_BIG 1e15 /* upper bound of step counts */
#define U64_MAX_D 9223372036854775807.0

static const char *const g_family_names[] = {
    "classify",  "binding",         "mc",        "matching", "attributes", "counting",
    "relations", "count_induction", "operators", "captions"};
#define VALID_FAMILIES                                                                             \
    "classify, binding, mc, matching, attributes, counting, relations, count_induction, "          \
    "operators, captions"
#define N_FAMILIES ((int)(sizeof g_family_names / sizeof g_family_names[0]))

static const char *const g_default_fonts[] = {
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/unifont/unifont.otf",
};
static const char *const g_default_op_fonts[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
};
static const int g_default_ways[] = {2, 5};
static const int g_default_shots[] = {0, 1, 2, 4};
static const char *const g_default_benchmarks[] = {"openmi", "zeroshot", "cross_domain"};

#define C_(member) offsetof(config_t, member)
#define STR(p, m, d, doc_)                                                                         \
    {                                                                                              \
        .path = p, .kind = K_STRING, .off = C_(m), .size = FSIZE(config_t, m), .def_s = d,         \
        .doc = doc_                                                                                \
    }
#define NAME(p, m, d, doc_)                                                                        \
    { .path = p, .kind = K_NAME, .off = C_(m), .size = FSIZE(config_t, m), .def_s = d, .doc = doc_ }
#define INT(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = K_INT, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define I64(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = K_INT64, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define U64(p, m, d, doc_)                                                                         \
    { .path = p, .kind = K_UINT64, .off = C_(m), .def = d, .min = 0, .max = U64_MAX_D, .doc = doc_ }
#define FLT(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = K_FLOAT, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define ILIST(p, m, n, d, lo, hi, doc_)                                                            \
    {                                                                                              \
        .path = p, .kind = K_INT_LIST, .off = C_(m), .aux = C_(n), .size = CONFIG_MAX_LIST,        \
        .def_ints = d, .def_n = (int)(sizeof d / sizeof d[0]), .min = lo, .max = hi, .doc = doc_   \
    }

static const schema_key_t g_keys[] = {
    NAME("name", name, "quickstart", "experiment name (letters, digits, '_', '-', '.')"),
    U64("seed", seed, 1, "seed of all training randomness (write large values as 64-bit, e.g. 5L)"),
    STR("output_dir", output_dir, "runs/quickstart", "results.h5 and checkpoints go here"),
    INT("fake_names", fake_names, 32, 4, 4096, "size of the pool of generated nonsense names"),
    STR("question", question, "", "question words of a turn, space separated (\"\" = none)"),
    {.path = "runs",
     .kind = K_RUNS,
     .off = C_(runs),
     .aux = C_(n_runs),
     .size = CONFIG_MAX_RUNS,
     .min = 1,
     .max = CONFIG_MAX_RUNS,
     .doc = "list of runs (required), each a group with the keys below"},
    STR("data.fashion_mnist_dir", data.fashion_mnist_dir, "/usr/share/datasets/fashion-mnist",
        "directory with the gzip IDX files of Fashion-MNIST"),
    STR("data.cache_dir", data.cache_dir, "data/cache", "where `micl data prepare` writes stores"),
    INT("data.glyphs.size", data.glyph_size, 28, 8, 256,
        "glyph image side in pixels (must equal model.image_size)"),
    INT("data.glyphs.train_classes", data.glyph_train_classes, 1280, 2, 20992,
        "glyph classes used for training"),
    INT("data.glyphs.heldout_classes", data.glyph_heldout_classes, 320, 2, 20992,
        "glyph classes never trained on (ICL evaluation)"),
    INT("data.glyphs.instances", data.glyph_instances, 10, 1, 1000,
        "distinct instances rendered per class"),
    INT("data.glyphs.heldout_instances", data.glyph_heldout_instances, 2, 0, 999,
        "instances per train class kept for zero-shot evaluation"),
    {.path = "data.glyphs.fonts",
     .kind = K_STR_LIST,
     .off = C_(data.fonts),
     .aux = C_(data.n_fonts),
     .size = CONFIG_MAX_FONTS,
     .def_strs = g_default_fonts,
     .def_n = (int)(sizeof g_default_fonts / sizeof g_default_fonts[0]),
     .min = 1,
     .max = CONFIG_MAX_FONTS,
     .doc = "font files (.ttf/.otf/.ttc) the glyphs are rendered from"},
    FLT("data.glyphs.rotate_deg", data.glyph_rotate_deg, 8.0, 0, 45,
        "maximum absolute rotation in degrees"),
    FLT("data.glyphs.scale_jitter", data.glyph_scale_jitter, 0.1, 0, 0.5,
        "maximum relative scale change"),
    FLT("data.glyphs.shift_px", data.glyph_shift_px, 1.5, 0, 8, "maximum shift in pixels"),
    FLT("data.glyphs.stroke_px", data.glyph_stroke_px, 0.5, -2, 2,
        "maximum emboldening in pixels (negative: thinning)"),
    U64("data.glyphs.seed", data.glyph_seed, 7, "seed of glyph rendering and augmentation"),
    INT("data.scenes.size", data.scene_size, 28, 8, 256,
        "scene image side in pixels (must equal model.image_size when scenes are built)"),
    INT("data.scenes.images", data.scene_images, 0, 0, 10000000,
        "scene images without a held-out shape-colour pair (train + test); 0 = no scene store"),
    INT("data.scenes.test_images", data.scene_test_images, 0, 0, 10000000,
        "of data.scenes.images, the last ones kept for evaluation (split test)"),
    INT("data.scenes.heldout_images", data.scene_heldout_images, 0, 0, 10000000,
        "scene images that each contain a held-out shape-colour pair (held-out split)"),
    INT("data.scenes.max_objects", data.scene_max_objects, 6, 1, 6,
        "objects per scene image: 1 to this many, never overlapping"),
    U64("data.scenes.seed", data.scene_seed, 11, "seed of scene rendering"),
    INT("data.operators.size", data.op_size, 28, 8, 256,
        "operator image side in pixels (must equal model.image_size when operators are built)"),
    INT("data.operators.images", data.op_images, 0, 0, 10000000,
        "operator images in the train fonts (train + test); 0 = no operator store"),
    INT("data.operators.test_images", data.op_test_images, 0, 0, 10000000,
        "of data.operators.images, the last ones kept for evaluation (split test)"),
    INT("data.operators.heldout_images", data.op_heldout_images, 0, 0, 10000000,
        "operator images in the held-out fonts (held-out split)"),
    {.path = "data.operators.fonts",
     .kind = K_STR_LIST,
     .off = C_(data.op_fonts),
     .aux = C_(data.n_op_fonts),
     .size = CONFIG_MAX_FONTS,
     .def_strs = g_default_op_fonts,
     .def_n = (int)(sizeof g_default_op_fonts / sizeof g_default_op_fonts[0]),
     .min = 2,
     .max = CONFIG_MAX_FONTS,
     .doc = "font files the digits and the operator mark are rendered from"},
    INT("data.operators.heldout_fonts", data.op_heldout_fonts, 2, 1, CONFIG_MAX_FONTS - 1,
        "the last this many of data.operators.fonts render only held-out images"),
    U64("data.operators.seed", data.op_seed, 13, "seed of operator image rendering"),
    INT("model.image_size", model.image_size, 28, 8, 256, "input image side in pixels"),
    INT("model.patch", model.patch, 7, 1, 64, "patch side in pixels"),
    INT("model.enc_dim", model.enc_dim, 64, 8, 4096, "image encoder width"),
    INT("model.enc_layers", model.enc_layers, 1, 1, 64, "image encoder (ViT) blocks"),
    INT("model.enc_heads", model.enc_heads, 4, 1, 64, "image encoder attention heads"),
    INT("model.dim", model.dim, 128, 8, 4096, "decoder width"),
    INT("model.layers", model.layers, 3, 1, 64, "decoder blocks"),
    INT("model.heads", model.heads, 4, 1, 64, "decoder attention heads"),
    INT("model.mlp_ratio", model.mlp_ratio, 4, 1, 16, "MLP hidden width = mlp_ratio * width"),
    INT("model.max_seq", model.max_seq, 64, 8, 8192, "longest sequence in tokens"),
    FLT("model.init_std", model.init_std, 0.02, 1e-6, 1, "weight init standard deviation"),
    STR("model.pool", model.pool, "flatten",
        "how patch tokens become the image token: flatten (concatenate, keeps layout) or mean"),
    INT("model.channels", model.channels, 1, 1, 3,
        "image channels: 1 (gray) or 3 (RGB); must match the image stores"),
    {.path = "model.smear_keys",
     .kind = K_BOOL,
     .off = C_(model.smear_keys),
     .def = 1,
     .doc = "true: each decoder key is mixed with the previous position's key by a learned "
            "per-head share (smeared keys), which makes in-context binding emerge early and "
            "reliably; false: plain keys"},
    I64("train.steps", train.steps, 6000, 1, INT64_BIG, "optimizer steps per run"),
    INT("train.items_per_step", train.items_per_step, 288, 1, 1048576,
        "image turns per optimizer step (global batch over all ranks)"),
    INT("train.micro_batches", train.micro_batches, 4, 1, 4096,
        "micro-batches per step; ranks take contiguous shares"),
    FLT("train.lr", train.lr, 2e-3, 0, 10, "peak learning rate"),
    FLT("train.min_lr", train.min_lr, 1e-4, 0, 10, "final learning rate of the decay"),
    I64("train.warmup", train.warmup, 100, 0, INT64_BIG, "linear warmup steps"),
    FLT("train.beta1", train.beta1, 0.9, 0, 0.99999, "AdamW beta1"),
    FLT("train.beta2", train.beta2, 0.98, 0, 0.99999, "AdamW beta2"),
    FLT("train.eps", train.eps, 1e-8, 1e-12, 0.01, "AdamW epsilon"),
    FLT("train.weight_decay", train.weight_decay, 0.01, 0, 1, "AdamW decoupled weight decay"),
    FLT("train.grad_clip", train.grad_clip, 1.0, 0, 1e6, "global gradient norm clip (0 = off)"),
    I64("train.log_every", train.log_every, 100, 1, INT64_BIG,
        "progress line and curve point every N steps"),
    I64("train.checkpoint_every", train.checkpoint_every, 0, 0, INT64_BIG,
        "checkpoint every N steps (0 = only at the end)"),
    INT("train.threads", train.threads, 0, 0, 1024,
        "OpenMP threads per rank (0 = runtime default)"),
    INT("eval.episodes", eval.episodes, 500, 1, 10000000, "episodes per (ways, shots) cell"),
    ILIST("eval.ways", eval.ways, eval.n_ways, g_default_ways, 2, 64,
          "N of the N-way cells of the binding benchmarks (openmi, cross_domain; sorted, unique)"),
    ILIST("eval.shots", eval.shots, eval.n_shots, g_default_shots, 0, 64,
          "K of the K-shot cells of every benchmark but zeroshot (sorted, unique)"),
    INT("eval.zeroshot_images", eval.zeroshot_images, 1000, 0, 1000000000,
        "held-out instances scored zero-shot (0 = all)"),
    {.path = "eval.benchmarks",
     .kind = K_STR_LIST,
     .off = C_(eval.benchmarks),
     .aux = C_(eval.n_benchmarks),
     .size = CONFIG_MAX_LIST,
     .def_strs = g_default_benchmarks,
     .def_n = (int)(sizeof g_default_benchmarks / sizeof g_default_benchmarks[0]),
     .min = 1,
     .max = CONFIG_MAX_LIST,
     .doc = "benchmarks run after training: fsicl, openmi, matching, count_induction, "
            "operator_induction, attributes_heldout, cross_domain (skipped without the "
            "Fashion-MNIST store), zeroshot (docs/BENCHMARKS.md)"},
    INT("sweep.ranks_per_run", sweep.ranks_per_run, 1, 1, 4096,
        "`micl sweep`: ranks of each group that trains one run (the world size must be a "
        "multiple)"),
    FLT("sweep.stall_seconds", sweep.stall_seconds, 600, 1, 1e9,
        "`micl sweep`: a group silent this long is reported as stalled (nothing is killed)"),
    {.path = "sweep.axes",
     .kind = K_AXES,
     .off = C_(sweep),
     .size = CONFIG_MAX_AXES,
     .min = 1,
     .max = CONFIG_MAX_AXES,
     .doc = "`micl sweep`: list of axes `{ key = \"model.dim\"; values = [64, 128]; }`; the "
            "runs are their product (see Sweeps below)"},
};

#define R_(member) offsetof(run_config_t, member)
static const schema_key_t g_run_keys[] = {
    {.path = "name",
     .kind = K_NAME,
     .off = R_(name),
     .size = FSIZE(run_config_t, name),
     .doc = "run name, unique (required; letters, digits, '_', '-', '.')"},
    {.path = "stages",
     .kind = K_STAGES,
     .off = R_(stages),
     .aux = R_(n_stages),
     .size = CONFIG_MAX_STAGES,
     .min = 1,
     .max = CONFIG_MAX_STAGES,
     .doc = "list of curriculum stages (required), each a group with the keys below"},
};

#define S_(member) offsetof(stage_config_t, member)
static const schema_key_t g_stage_keys[] = {
    {.path = "name",
     .kind = K_NAME,
     .off = S_(name),
     .size = FSIZE(stage_config_t, name),
     .def_s = "stageN",
     .doc = "stage name; the default stageN counts the run's stages from 1"},
    {.path = "family",
     .kind = K_FAMILY,
     .off = S_(family),
     .def_s = "binding",
     .doc = "task family of the episodes when `mix` is not given: classify (real names), "
            "binding (fake names), mc (multiple choice, option letters), matching (same/different "
            "pairs)"},
    {.path = "mix.classify",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_CLASSIFY]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of the stage's (non-replay) sequences that are classify episodes; the "
            "`mix.*` shares must sum to 1 when any is given, and then replace `family`"},
    {.path = "mix.binding",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_BINDING]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of binding episodes (fake names bound inside the episode)"},
    {.path = "mix.mc",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_MC]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of multiple-choice episodes (options A..D, answer a letter)"},
    {.path = "mix.matching",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_MATCHING]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of matching episodes (two images per turn, same class? yes / no)"},
    {.path = "mix.attributes",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_ATTRIBUTES]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of scene attribute questions (colour, shape or position of the focus object; "
            "needs data.scenes) episodes"},
    {.path = "mix.counting",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_COUNTING]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of scene counting questions (how many <shape>; needs data.scenes) episodes"},
    {.path = "mix.relations",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_RELATIONS]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of scene spatial relation questions (is <shape> left of <shape>: yes / no; "
            "needs data.scenes) episodes"},
    {.path = "mix.count_induction",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_COUNT_INDUCTION]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of count induction: the demos show which colour or shape is counted (needs "
            "data.scenes) episodes"},
    {.path = "mix.operators",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_OPERATORS]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of operator induction: `a ? b` images with one hidden operator per episode "
            "(needs data.operators) episodes"},
    {.path = "mix.captions",
     .kind = K_FLOAT,
     .off = S_(mix[FAMILY_CAPTIONS]),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "share of caption episodes: \"what is\" answered by the focus object's colour, shape "
            "and position, three words (needs data.scenes)"},
    {.path = "mc_fake",
     .kind = K_FLOAT,
     .off = S_(mc_fake),
     .def = 1,
     .min = 0,
     .max = 1,
     .doc = "share of multiple-choice episodes whose options are fresh fake names (the rest use "
            "real names)"},
    {.path = "coherent",
     .kind = K_BOOL,
     .off = S_(coherent),
     .def = 1,
     .doc = "true: all turns of a sequence share one task and concept; false: a sequence "
            "interleaves the turns of 2 or 3 unrelated episodes of the mix (the coherence "
            "ablation)"},
    {.path = "single_turn",
     .kind = K_BOOL,
     .off = S_(single_turn),
     .def = 0,
     .doc = "true: all demonstrations in one user turn and only the last answer carries loss "
            "(VL-ICL style); false: one demonstration per turn, loss on every answer"},
    {.path = "steps",
     .kind = K_INT64,
     .off = S_(steps),
     .def = 0,
     .min = 0,
     .max = INT64_BIG,
     .doc = "maximum steps of the stage (0 = until train.steps)"},
    {.path = "min_steps",
     .kind = K_INT64,
     .off = S_(min_steps),
     .def = 0,
     .min = 0,
     .max = INT64_BIG,
     .doc = "steps before the advance metric is checked"},
    {.path = "advance_acc",
     .kind = K_FLOAT,
     .off = S_(advance_acc),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "advance when train ICL accuracy (EMA) >= this (0 = by steps only)"},
    {.path = "ways",
     .kind = K_INT_PAIR,
     .off = S_(ways_min),
     .aux = S_(ways_max),
     .def = 2,
     .def2 = 3,
     .min = 1,
     .max = 64,
     .doc = "[min, max] N of N-way episodes (ignored by classify)"},
    {.path = "items",
     .kind = K_INT,
     .off = S_(items),
     .def = 9,
     .min = 1,
     .max = 256,
     .doc = "image turns per sequence (default 1 for classify stages)"},
    {.path = "replay",
     .kind = K_FLOAT,
     .off = S_(replay),
     .def = 0.25,
     .min = 0,
     .max = 1,
     .doc = "share of sequences that are single-image classification"},
    {.path = "exact_copy",
     .kind = K_FLOAT_PAIR,
     .off = S_(exact_copy_start),
     .aux = S_(exact_copy_end),
     .def = 0,
     .def2 = 0,
     .min = 0,
     .max = 1,
     .doc = "[start, end] share of queries reusing a demo's exact image"},
    {.path = "exact_copy_steps",
     .kind = K_INT64,
     .off = S_(exact_copy_steps),
     .def = 0,
     .min = 0,
     .max = INT64_BIG,
     .doc = "steps over which exact_copy goes from start to end"},
};

#define KEY_LEN 256 /* longest key shown in a message */
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct {
    const schema_key_t *keys;
    int n;
} table_t;

static const table_t g_top = {g_keys, N_OF(g_keys)};
static const table_t g_run = {g_run_keys, N_OF(g_run_keys)};
static const table_t g_stage = {g_stage_keys, N_OF(g_stage_keys)};

/* ------------------------------------------------------------------------------------------ */
/* Defaults                                                                                    */
/* ------------------------------------------------------------------------------------------ */

static void copy_str(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

static family_t family_of_name(const char *name) {
    for (int i = 0; i < N_FAMILIES; i++)
        if (strcmp(name, g_family_names[i]) == 0) return (family_t)i;
    return FAMILY_BINDING;
}

static void set_default(const schema_key_t *k, char *base) {
    char *p = base + k->off;
    switch (k->kind) {
    case K_INT:
        *(int *)p = (int)k->def;
        break;
    case K_INT64:
        *(int64_t *)p = (int64_t)k->def;
        break;
    case K_UINT64:
        *(uint64_t *)p = (uint64_t)k->def;
        break;
    case K_FLOAT:
        *(float *)p = (float)k->def;
        break;
    case K_STRING:
    case K_NAME:
        copy_str(p, k->size, k->def_s);
        break;
    case K_FAMILY:
        *(family_t *)p = family_of_name(k->def_s);
        break;
    case K_BOOL:
        *(int *)p = k->def != 0;
        break;
    case K_INT_LIST:
        memcpy(p, k->def_ints, (size_t)k->def_n * sizeof(int));
        *(int *)(base + k->aux) = k->def_n;
        break;
    case K_STR_LIST:
        for (int i = 0; i < k->def_n; i++)
            copy_str(p + (size_t)i * CONFIG_PATH_LEN, CONFIG_PATH_LEN, k->def_strs[i]);
        *(int *)(base + k->aux) = k->def_n;
        break;
    case K_INT_PAIR:
        *(int *)p = (int)k->def;
        *(int *)(base + k->aux) = (int)k->def2;
        break;
    case K_FLOAT_PAIR:
        *(float *)p = (float)k->def;
        *(float *)(base + k->aux) = (float)k->def2;
        break;
    case K_RUNS:
    case K_STAGES:
        *(int *)(base + k->aux) = 0;
        break;
    case K_AXES:
        ((sweep_config_t *)p)->n_axes = 0;
        break;
    }
}

static void table_defaults(const table_t *t, void *base) {
    for (int i = 0; i < t->n; i++)
        set_default(&t->keys[i], base);
}

void config_defaults(config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    table_defaults(&g_top, cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Errors and suggestions                                                                      */
/* ------------------------------------------------------------------------------------------ */

typedef struct {
    const char *file; /* name used in messages */
} loader_t;

static void fail_at(const loader_t *L, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fail_at(const loader_t *L, const config_setting_t *s, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : L->file;
    if (s && config_setting_source_line(s) > 0)
        micl_fatal("%s:%u: %s", file, (unsigned)config_setting_source_line(s), msg);
    micl_fatal("%s: %s", file, msg);
}

static int levenshtein(const char *a, const char *b) {
    enum { MAXL = 128 };
    int la = (int)strnlen(a, MAXL - 1), lb = (int)strnlen(b, MAXL - 1);
    int row[MAXL];
    for (int j = 0; j <= lb; j++)
        row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* True if `a` starts with `b` followed by '_' (or the reverse): lr_max ~ lr. */
static int word_prefix(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb) return word_prefix(b, a);
    return lb >= 2 && strncmp(a, b, lb) == 0 && a[lb] == '_';
}

/* True if `w` (length n) is one of the '_'-separated words of `s`. */
static int has_word(const char *s, const char *w, size_t n) {
    /* An empty word (from "a__b") matches nowhere; strstr would find it at every position,
     * including the terminator, and the loop would run past the end of s. */
    if (n == 0) return 0;
    for (const char *p = s; (p = strstr(p, w)) != NULL; p++) {
        int starts = p == s || p[-1] == '_';
        int ends = p[n] == '\0' || p[n] == '_';
        if (starts && ends) return 1;
    }
    return 0;
}

/* True if `a` and `b` are the same '_'-separated words in another order: lr_min ~ min_lr. */
static int same_words(const char *a, const char *b) {
    if (strlen(a) != strlen(b) || !strchr(a, '_')) return 0;
    for (const char *p = a; *p;) {
        size_t n = strcspn(p, "_");
        char w[KEY_LEN];
        snprintf(w, sizeof w, "%.*s", (int)(n < KEY_LEN ? n : KEY_LEN - 1), p);
        if (!has_word(b, w, strlen(w))) return 0;
        p += n + (p[n] == '_');
    }
    return 1;
}

/* Distance used for suggestions, or -1 if the two names are not close. */
static int name_distance(const char *typed, const char *valid) {
    int d = levenshtein(typed, valid);
    int len = (int)strlen(typed);
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (d <= limit) return d;
    if (same_words(typed, valid)) return 1;
    if (word_prefix(typed, valid)) return limit + 1;
    return -1;
}

static const char *last_component(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* True if `path` lies under the table path prefix `level` ("" or e.g. "data."). */
static int at_level(const char *path, const char *level) {
    size_t n = strlen(level);
    return strncmp(path, level, n) == 0;
}

/* The name that follows `level` in `path`, up to the next dot, copied into out. */
static void child_name(const char *path, const char *level, char *out, size_t size) {
    const char *s = path + strlen(level);
    size_t n = strcspn(s, ".");
    if (n >= size) n = size - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

/* Best valid name at `level` for the unknown `typed`, or "" if nothing is close. */
static void suggest(const table_t *t, const char *level, const char *typed, char *out,
                    size_t size) {
    int best = -1;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        if (!at_level(t->keys[i].path, level)) continue;
        char cand[CONFIG_NAME_LEN];
        child_name(t->keys[i].path, level, cand, sizeof cand);
        int d = name_distance(typed, cand);
        if (d >= 0 && (best < 0 || d < best)) {
            best = d;
            snprintf(out, size, "%s", cand);
        }
    }
}

/* A valid full path elsewhere in the table that ends in `typed` or is close to `full`. */
static void suggest_anywhere(const table_t *t, const char *typed, const char *full, char *out,
                             size_t size) {
    int best = -1;
    out[0] = '\0';
    for (int i = 0; i < t->n; i++) {
        const char *p = t->keys[i].path;
        int d = strcmp(last_component(p), typed) == 0 ? 0 : name_distance(full, p);
        if (d >= 0 && (best < 0 || d < best)) {
            best = d;
            snprintf(out, size, "%s", p);
        }
    }
}

static void fail_unknown(const loader_t *L, const table_t *t, const char *level,
                         const char *disp_prefix, const config_setting_t *s) {
    const char *typed = config_setting_name(s);
    char full[KEY_LEN], near[KEY_LEN], shown[KEY_LEN];
    snprintf(full, sizeof full, "%.120s%.120s", level, typed);
    suggest(t, level, typed, near, sizeof near);
    if (near[0]) {
        snprintf(shown, sizeof shown, "%.100s%.60s%.60s", disp_prefix, level, near);
    } else if (t == &g_top) {
        suggest_anywhere(t, typed, full, shown, sizeof shown);
    } else {
        shown[0] = '\0';
    }
    if (shown[0])
        fail_at(L, s, "unknown key '%s%s' (did you mean '%s'?)", disp_prefix, full, shown);
    fail_at(L, s, "unknown key '%s%s'", disp_prefix, full);
}

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const char *type_phrase(int type) {
    switch (type) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    case CONFIG_TYPE_GROUP:
        return "a group";
    default:
        return "nothing";
    }
}

static int is_int(const config_setting_t *s) {
    return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

static int is_number(const config_setting_t *s) {
    return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
}

static void need_type(const loader_t *L, const config_setting_t *s, const char *key, int ok,
                      const char *want) {
    if (!ok)
        fail_at(L, s, "key '%s' must be %s, got %s", key, want,
                type_phrase(config_setting_type(s)));
}

static long long get_int(const loader_t *L, const config_setting_t *s, const char *key, double lo,
                         double hi) {
    need_type(L, s, key, is_int(s), "an integer");
    long long v = config_setting_get_int64(s);
    if ((double)v < lo || (double)v > hi)
        fail_at(L, s, "key '%s' = %lld is out of range [%.0f, %.0f]", key, v, lo, hi);
    return v;
}

static uint64_t get_uint64(const loader_t *L, const config_setting_t *s, const char *key) {
    need_type(L, s, key, is_int(s), "an integer");
    long long v = config_setting_get_int64(s);
    if (v < 0) fail_at(L, s, "key '%s' = %lld must be >= 0", key, v);
    return (uint64_t)v;
}

static double get_float(const loader_t *L, const config_setting_t *s, const char *key, double lo,
                        double hi) {
    need_type(L, s, key, is_number(s), "a number");
    double v = config_setting_type(s) == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                           : (double)config_setting_get_int64(s);
    if (!(v >= lo && v <= hi))
        fail_at(L, s, "key '%s' = %g is out of range [%g, %g]", key, v, lo, hi);
    return v;
}

static void get_string(const loader_t *L, const config_setting_t *s, const char *key, char *dst,
                       size_t size) {
    need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_STRING, "a string");
    const char *v = config_setting_get_string(s);
    if (strlen(v) >= size)
        fail_at(L, s, "key '%s' is too long (%zu characters, at most %zu)", key, strlen(v),
                size - 1);
    memcpy(dst, v, strlen(v) + 1);
}

static void get_name(const loader_t *L, const config_setting_t *s, const char *key, char *dst,
                     size_t size) {
    get_string(L, s, key, dst, size);
    if (!dst[0]) fail_at(L, s, "key '%s' must not be empty", key);
    for (const char *c = dst; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
        if (!ok)
            fail_at(L, s, "key '%s' = \"%s\" may only contain letters, digits, '_', '-', '.'", key,
                    dst);
    }
}

static family_t get_family(const loader_t *L, const config_setting_t *s, const char *key) {
    need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_STRING, "a string");
    const char *v = config_setting_get_string(s);
    for (int i = 0; i < N_FAMILIES; i++)
        if (strcmp(v, g_family_names[i]) == 0) return (family_t)i;
    fail_at(L, s, "key '%s' = \"%s\" is not a valid family (valid: " VALID_FAMILIES ")", key, v);
}

/* Checks that `s` is an array/list of n elements with n in [lo, hi]; returns n. */
static int get_sequence(const loader_t *L, const config_setting_t *s, const char *key, int lo,
                        int hi, const char *want) {
    int t = config_setting_type(s);
    need_type(L, s, key, t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST, want);
    int n = config_setting_length(s);
    if (n < lo || n > hi) {
        if (lo == hi) fail_at(L, s, "key '%s' must have %d elements, got %d", key, lo, n);
        fail_at(L, s, "key '%s' must have %d to %d elements, got %d", key, lo, hi, n);
    }
    return n;
}

static void get_int_list(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                         const char *key, char *base) {
    int n = get_sequence(L, s, key, 1, (int)k->size, "an array of integers");
    int *dst = (int *)(base + k->off);
    for (int i = 0; i < n; i++) {
        char ek[KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        dst[i] = (int)get_int(L, config_setting_get_elem(s, (unsigned)i), ek, k->min, k->max);
        if (i > 0 && dst[i] <= dst[i - 1])
            fail_at(L, s, "key '%s' must be sorted and unique, but %d follows %d", key, dst[i],
                    dst[i - 1]);
    }
    *(int *)(base + k->aux) = n;
}

static void get_str_list(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                         const char *key, char *base) {
    int n = get_sequence(L, s, key, (int)k->min, (int)k->max, "an array of strings");
    for (int i = 0; i < n; i++) {
        char ek[KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        get_string(L, config_setting_get_elem(s, (unsigned)i), ek,
                   base + k->off + (size_t)i * CONFIG_PATH_LEN, CONFIG_PATH_LEN);
    }
    *(int *)(base + k->aux) = n;
}

static void get_pair(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                     const char *key, char *base) {
    int is_f = k->kind == K_FLOAT_PAIR;
    get_sequence(L, s, key, 2, 2, is_f ? "an array of 2 numbers" : "an array of 2 integers");
    for (int i = 0; i < 2; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char ek[KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        char *dst = base + (i ? k->aux : k->off);
        if (is_f)
            *(float *)dst = (float)get_float(L, e, ek, k->min, k->max);
        else
            *(int *)dst = (int)get_int(L, e, ek, k->min, k->max);
    }
    if (!is_f && *(int *)(base + k->off) > *(int *)(base + k->aux))
        fail_at(L, s, "key '%s' = [%d, %d] must be [min, max] with min <= max", key,
                *(int *)(base + k->off), *(int *)(base + k->aux));
}

/* ------------------------------------------------------------------------------------------ */
/* Groups, runs and stages                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void load_group(const loader_t *L, const config_setting_t *grp, const table_t *t,
                       const char *level, const char *disp, void *base);
static void load_runs(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                      char *base);
static void load_stages(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                        const char *disp, char *base);
static void load_axes(const loader_t *L, const config_setting_t *s, sweep_config_t *sw);

static void load_value(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                       const char *key, const char *disp, char *base) {
    char *p = base + k->off;
    switch (k->kind) {
    case K_INT:
        *(int *)p = (int)get_int(L, s, key, k->min, k->max);
        break;
    case K_INT64:
        *(int64_t *)p = (int64_t)get_int(L, s, key, k->min, k->max);
        break;
    case K_UINT64:
        *(uint64_t *)p = get_uint64(L, s, key);
        break;
    case K_FLOAT:
        *(float *)p = (float)get_float(L, s, key, k->min, k->max);
        break;
    case K_STRING:
        get_string(L, s, key, p, k->size);
        break;
    case K_NAME:
        get_name(L, s, key, p, k->size);
        break;
    case K_FAMILY:
        *(family_t *)p = get_family(L, s, key);
        break;
    case K_BOOL:
        need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_BOOL, "true or false");
        *(int *)p = config_setting_get_bool(s) != 0;
        break;
    case K_INT_LIST:
        get_int_list(L, s, k, key, base);
        break;
    case K_STR_LIST:
        get_str_list(L, s, k, key, base);
        break;
    case K_INT_PAIR:
    case K_FLOAT_PAIR:
        get_pair(L, s, k, key, base);
        break;
    case K_RUNS:
        load_runs(L, s, k, base);
        break;
    case K_STAGES:
        load_stages(L, s, k, disp, base);
        break;
    case K_AXES:
        load_axes(L, s, (sweep_config_t *)p);
        break;
    }
}

static const schema_key_t *find_key(const table_t *t, const char *path) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->keys[i].path, path) == 0) return &t->keys[i];
    return NULL;
}

static int is_subgroup(const table_t *t, const char *path) {
    size_t n = strlen(path);
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->keys[i].path, path, n) == 0 && t->keys[i].path[n] == '.') return 1;
    return 0;
}

/* Loads every member of `grp`. level: table path prefix ("", "data."); disp: prefix shown in
 * messages ("", "runs[1].stages[0]."); base: the struct the table's offsets refer to. */
static void load_group(const loader_t *L, const config_setting_t *grp, const table_t *t,
                       const char *level, const char *disp, void *base) {
    int n = config_setting_length(grp);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
        char path[KEY_LEN], key[KEY_LEN];
        snprintf(path, sizeof path, "%.120s%.120s", level, config_setting_name(m));
        snprintf(key, sizeof key, "%.120s%.120s", disp, path);
        const schema_key_t *k = find_key(t, path);
        if (k) {
            load_value(L, m, k, key, disp, base);
        } else if (is_subgroup(t, path)) {
            need_type(L, m, key, config_setting_is_group(m), "a group");
            char sub[KEY_LEN];
            snprintf(sub, sizeof sub, "%.200s.", path);
            load_group(L, m, t, sub, disp, base);
        } else {
            fail_unknown(L, t, level, disp, m);
        }
    }
}

static void need_group_elem(const loader_t *L, const config_setting_t *e, const char *key) {
    if (!config_setting_is_group(e))
        fail_at(L, e, "key '%s' must be a group { ... }, got %s", key,
                type_phrase(config_setting_type(e)));
}

static void load_stage(const loader_t *L, const config_setting_t *s, const char *disp, int index,
                       stage_config_t *st) {
    table_defaults(&g_stage, st);
    snprintf(st->name, sizeof st->name, "stage%d", index + 1);
    load_group(L, s, &g_stage, "", disp, st);
    double sum = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        sum += st->mix[f];
    if (sum == 0) {
        st->mix[st->family] = 1; /* no mix: the stage's family alone */
    } else {
        if (sum < 0.999 || sum > 1.001)
            fail_at(L, config_setting_get_member(s, "mix"),
                    "key '%smix' shares sum to %.4g; they must sum to 1", disp, sum);
        if (config_setting_get_member(s, "family"))
            fail_at(L, config_setting_get_member(s, "family"),
                    "key '%sfamily' and '%smix' both given; a stage takes one of them", disp, disp);
        int main_f = 0; /* the largest share names the stage's family */
        for (int f = 1; f < FAMILY_COUNT; f++)
            if (st->mix[f] > st->mix[main_f]) main_f = f;
        st->family = (family_t)main_f;
    }
    if (st->mix[FAMILY_CLASSIFY] == 1 && !config_setting_get_member(s, "items")) st->items = 1;
}

static void load_stages(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                        const char *disp, char *base) {
    char key[KEY_LEN];
    snprintf(key, sizeof key, "%.200sstages", disp);
    int n = get_sequence(L, s, key, (int)k->min, (int)k->max, "a list ( ... ) of stage groups");
    stage_config_t *stages = (stage_config_t *)(base + k->off);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char sd[KEY_LEN];
        snprintf(sd, sizeof sd, "%.200s[%d]", key, i);
        need_group_elem(L, e, sd);
        snprintf(sd, sizeof sd, "%.200s[%d].", key, i);
        load_stage(L, e, sd, i, &stages[i]);
    }
    *(int *)(base + k->aux) = n;
}

static void load_run(const loader_t *L, const config_setting_t *s, int index, run_config_t *run) {
    char disp[64];
    snprintf(disp, sizeof disp, "runs[%d].", index);
    table_defaults(&g_run, run);
    load_group(L, s, &g_run, "", disp, run);
    if (!config_setting_get_member(s, "name"))
        fail_at(L, s, "run runs[%d] has no 'name' (required)", index);
    if (!config_setting_get_member(s, "stages"))
        fail_at(L, s, "run runs[%d] has no 'stages' (at least one stage is required)", index);
}

static void load_runs(const loader_t *L, const config_setting_t *s, const schema_key_t *k,
                      char *base) {
    int n = get_sequence(L, s, "runs", (int)k->min, (int)k->max, "a list ( ... ) of run groups");
    run_config_t *runs = (run_config_t *)(base + k->off);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char key[32];
        snprintf(key, sizeof key, "runs[%d]", i);
        need_group_elem(L, e, key);
        load_run(L, e, i, &runs[i]);
    }
    *(int *)(base + k->aux) = n;
}

/* ------------------------------------------------------------------------------------------ */
/* Sweep axes                                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define SWEEP_MAX_POINTS 4096 /* most runs one sweep may expand to */

/* The schema key an axis may set, or NULL for "run"/"replay"; fails on keys no axis can set. */
static const schema_key_t *axis_schema_key(const loader_t *L, const config_setting_t *s,
                                           const char *key, const char *disp) {
    if (strcmp(key, "run") == 0 || strcmp(key, "replay") == 0) return NULL;
    const schema_key_t *k = find_key(&g_top, key);
    if (!k) {
        char near[KEY_LEN];
        suggest_anywhere(&g_top, last_component(key), key, near, sizeof near);
        if (near[0])
            fail_at(L, s, "key '%skey' = \"%s\" is not a config key (did you mean '%s'?)", disp,
                    key, near);
        fail_at(L, s,
                "key '%skey' = \"%s\" is not a config key (an axis sets \"run\", "
                "\"replay\" or a key such as \"seed\", \"train.steps\", \"model.dim\")",
                disp, key);
    }
    int scalar = k->kind == K_INT || k->kind == K_INT64 || k->kind == K_UINT64 ||
                 k->kind == K_FLOAT || k->kind == K_STRING || k->kind == K_NAME;
    if (!scalar || strncmp(key, "sweep.", 6) == 0)
        fail_at(L, s, "key '%skey' = \"%s\": an axis can only set a single number or string", disp,
                key);
    return k;
}

/* One value of an axis, type- and range-checked, as text into out. */
static void axis_value(const loader_t *L, const config_setting_t *e, const schema_key_t *k,
                       sweep_axis_t *ax, const char *ek, char *out) {
    if (ax->type == AXIS_INT) {
        long long v = k->kind == K_UINT64 ? (long long)get_uint64(L, e, ek)
                                          : get_int(L, e, ek, k->min, k->max);
        snprintf(out, CONFIG_NAME_LEN, "%lld", v);
    } else if (ax->type == AXIS_FLOAT) {
        double v = k ? get_float(L, e, ek, k->min, k->max) : get_float(L, e, ek, 0, 1);
        snprintf(out, CONFIG_NAME_LEN, "%.9g", v);
    } else if (!k || k->kind == K_NAME) {
        get_name(L, e, ek, out, CONFIG_NAME_LEN);
    } else {
        get_string(L, e, ek, out, CONFIG_NAME_LEN);
    }
}

static void load_axis(const loader_t *L, const config_setting_t *g, const char *disp,
                      sweep_axis_t *ax) {
    const config_setting_t *ks = config_setting_get_member(g, "key");
    const config_setting_t *vs = config_setting_get_member(g, "values");
    for (int i = 0; i < config_setting_length(g); i++) {
        const char *m = config_setting_name(config_setting_get_elem(g, (unsigned)i));
        if (strcmp(m, "key") && strcmp(m, "values"))
            fail_at(L, config_setting_get_elem(g, (unsigned)i),
                    "unknown key '%s%s' (an axis has 'key' and 'values')", disp, m);
    }
    if (!ks || !vs)
        fail_at(L, g, "keys '%.120skey' and '%.120svalues' are both required", disp, disp);
    char key[KEY_LEN];
    snprintf(key, sizeof key, "%.200skey", disp);
    get_string(L, ks, key, ax->key, sizeof ax->key);
    const schema_key_t *k = axis_schema_key(L, ks, ax->key, disp);
    ax->type = strcmp(ax->key, "run") == 0                ? AXIS_STRING
               : !k || k->kind == K_FLOAT                 ? AXIS_FLOAT
               : k->kind == K_STRING || k->kind == K_NAME ? AXIS_STRING
                                                          : AXIS_INT;
    snprintf(key, sizeof key, "%.200svalues", disp);
    ax->n_values =
        get_sequence(L, vs, key, 1, CONFIG_MAX_AXIS_VALUES, "an array [ ... ] of values");
    for (int i = 0; i < ax->n_values; i++) {
        char ek[KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        axis_value(L, config_setting_get_elem(vs, (unsigned)i), k, ax, ek, ax->values[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(ax->values[i], ax->values[j]) == 0)
                fail_at(L, vs, "key '%s' repeats the value %s", key, ax->values[i]);
    }
}

static void load_axes(const loader_t *L, const config_setting_t *s, sweep_config_t *sw) {
    int n = get_sequence(L, s, "sweep.axes", 1, CONFIG_MAX_AXES, "a list ( ... ) of axis groups");
    int64_t points = 1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char disp[KEY_LEN];
        snprintf(disp, sizeof disp, "sweep.axes[%d]", i);
        need_group_elem(L, e, disp);
        snprintf(disp, sizeof disp, "sweep.axes[%d].", i);
        load_axis(L, e, disp, &sw->axes[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(sw->axes[i].key, sw->axes[j].key) == 0)
                fail_at(L, e, "key 'sweep.axes[%d].key' = \"%s\" repeats the key of axis %d", i,
                        sw->axes[i].key, j);
        points *= sw->axes[i].n_values;
        if (points > SWEEP_MAX_POINTS)
            fail_at(L, e, "key 'sweep.axes' expands to more than %d runs", SWEEP_MAX_POINTS);
    }
    sw->n_axes = n;
}

/* ------------------------------------------------------------------------------------------ */
/* Cross-field rules                                                                           */
/* ------------------------------------------------------------------------------------------ */

typedef void (*rule_fn)(const loader_t *L, const config_t *c);

#define RULE_FAIL(...) fail_at(L, NULL, __VA_ARGS__)

static void rule_pool(const loader_t *L, const config_t *c) {
    if (strcmp(c->model.pool, "flatten") && strcmp(c->model.pool, "mean"))
        RULE_FAIL("key 'model.pool' = \"%s\" is not valid (valid: flatten, mean)", c->model.pool);
}

static void rule_channels(const loader_t *L, const config_t *c) {
    if (c->model.channels != 1 && c->model.channels != 3)
        RULE_FAIL("key 'model.channels' = %d is not valid (valid: 1 gray, 3 RGB)",
                  c->model.channels);
}

static void rule_patch(const loader_t *L, const config_t *c) {
    if (c->model.image_size % c->model.patch)
        RULE_FAIL("key 'model.patch' = %d must divide model.image_size = %d", c->model.patch,
                  c->model.image_size);
}

static void rule_heads(const loader_t *L, const config_t *c) {
    const model_config_t *m = &c->model;
    if (m->dim % m->heads)
        RULE_FAIL("key 'model.heads' = %d must divide model.dim = %d", m->heads, m->dim);
    if ((m->dim / m->heads) % 2)
        RULE_FAIL("key 'model.heads' = %d gives an odd head size model.dim / model.heads = %d",
                  m->heads, m->dim / m->heads);
}

static void rule_enc_heads(const loader_t *L, const config_t *c) {
    if (c->model.enc_dim % c->model.enc_heads)
        RULE_FAIL("key 'model.enc_heads' = %d must divide model.enc_dim = %d", c->model.enc_heads,
                  c->model.enc_dim);
}

static void rule_glyph_size(const loader_t *L, const config_t *c) {
    if (c->data.glyph_size != c->model.image_size)
        RULE_FAIL("key 'data.glyphs.size' = %d must equal model.image_size = %d",
                  c->data.glyph_size, c->model.image_size);
}

static void rule_glyph_instances(const loader_t *L, const config_t *c) {
    if (c->data.glyph_heldout_instances >= c->data.glyph_instances)
        RULE_FAIL("key 'data.glyphs.heldout_instances' = %d must be less than "
                  "data.glyphs.instances = %d",
                  c->data.glyph_heldout_instances, c->data.glyph_instances);
}

static void rule_scenes(const loader_t *L, const config_t *c) {
    const data_config_t *d = &c->data;
    if (d->scene_images == 0) return;
    if (d->scene_size != c->model.image_size)
        RULE_FAIL("key 'data.scenes.size' = %d must equal model.image_size = %d", d->scene_size,
                  c->model.image_size);
    if (d->scene_test_images >= d->scene_images)
        RULE_FAIL("key 'data.scenes.test_images' = %d must be less than data.scenes.images = %d",
                  d->scene_test_images, d->scene_images);
}

static void rule_operators(const loader_t *L, const config_t *c) {
    const data_config_t *d = &c->data;
    if (d->op_images == 0) return;
    if (d->op_size != c->model.image_size)
        RULE_FAIL("key 'data.operators.size' = %d must equal model.image_size = %d", d->op_size,
                  c->model.image_size);
    if (d->op_test_images >= d->op_images)
        RULE_FAIL("key 'data.operators.test_images' = %d must be less than "
                  "data.operators.images = %d",
                  d->op_test_images, d->op_images);
    if (d->op_heldout_fonts >= d->n_op_fonts)
        RULE_FAIL("key 'data.operators.heldout_fonts' = %d must be less than the %d fonts of "
                  "data.operators.fonts",
                  d->op_heldout_fonts, d->n_op_fonts);
}

static void rule_lr(const loader_t *L, const config_t *c) {
    if (c->train.lr < c->train.min_lr)
        RULE_FAIL("key 'train.min_lr' = %g must not exceed train.lr = %g", c->train.min_lr,
                  c->train.lr);
}

static void rule_warmup(const loader_t *L, const config_t *c) {
    if (c->train.warmup > c->train.steps)
        RULE_FAIL("key 'train.warmup' = %lld must not exceed train.steps = %lld",
                  (long long)c->train.warmup, (long long)c->train.steps);
}

static void rule_micro_batches(const loader_t *L, const config_t *c) {
    if (c->train.micro_batches > c->train.items_per_step)
        RULE_FAIL("key 'train.micro_batches' = %d must not exceed train.items_per_step = %d",
                  c->train.micro_batches, c->train.items_per_step);
}

static void rule_eval_ways(const loader_t *L, const config_t *c) {
    int top = c->eval.ways[c->eval.n_ways - 1];
    if (top > c->fake_names)
        RULE_FAIL("key 'eval.ways' has %d ways, more than fake_names = %d", top, c->fake_names);
    if (top > c->data.glyph_heldout_classes)
        RULE_FAIL("key 'eval.ways' has %d ways, more than data.glyphs.heldout_classes = %d", top,
                  c->data.glyph_heldout_classes);
}

static void rule_run_names(const loader_t *L, const config_t *c) {
    for (int i = 0; i < c->n_runs; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(c->runs[i].name, c->runs[j].name) == 0)
                RULE_FAIL("key 'runs[%d].name' = \"%s\" repeats the name of runs[%d]", i,
                          c->runs[i].name, j);
}

static void rule_stage_names(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++) {
        const run_config_t *run = &c->runs[r];
        for (int i = 0; i < run->n_stages; i++)
            for (int j = 0; j < i; j++)
                if (strcmp(run->stages[i].name, run->stages[j].name) == 0)
                    RULE_FAIL("key 'runs[%d].stages[%d].name' = \"%s\" repeats the name of "
                              "stage %d of run '%s'",
                              r, i, run->stages[i].name, j, run->name);
    }
}

static void rule_stage_steps(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            if (s->steps > 0 && s->min_steps > s->steps)
                RULE_FAIL("key 'runs[%d].stages[%d].min_steps' = %lld must not exceed its "
                          "steps = %lld",
                          r, i, (long long)s->min_steps, (long long)s->steps);
        }
}

static void rule_stage_stores(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            for (int f = FAMILY_ATTRIBUTES; f < FAMILY_COUNT; f++)
                if (f != FAMILY_OPERATORS && s->mix[f] > 0 && c->data.scene_images == 0)
                    RULE_FAIL("run '%s' stage '%s' has %s episodes but data.scenes.images = 0 "
                              "(no scene store)",
                              c->runs[r].name, s->name, g_family_names[f]);
            if (s->mix[FAMILY_OPERATORS] > 0 && c->data.op_images == 0)
                RULE_FAIL("run '%s' stage '%s' has operators episodes but data.operators.images = "
                          "0 (no operator store)",
                          c->runs[r].name, s->name);
        }
}

static void rule_stage_ways(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            int fake = s->mix[FAMILY_BINDING] > 0 || (s->mix[FAMILY_MC] > 0 && s->mc_fake > 0);
            if (fake && s->ways_max > c->fake_names)
                RULE_FAIL("key 'runs[%d].stages[%d].ways' max %d exceeds fake_names = %d", r, i,
                          s->ways_max, c->fake_names);
        }
}

static void rule_sweep_runs(const loader_t *L, const config_t *c) {
    for (int a = 0; a < c->sweep.n_axes; a++) {
        const sweep_axis_t *ax = &c->sweep.axes[a];
        if (strcmp(ax->key, "run")) continue;
        for (int v = 0; v < ax->n_values; v++) {
            int found = 0;
            for (int r = 0; r < c->n_runs; r++)
                found |= strcmp(c->runs[r].name, ax->values[v]) == 0;
            if (!found)
                RULE_FAIL("key 'sweep.axes[%d].values[%d]' = \"%s\" is not the name of a run", a, v,
                          ax->values[v]);
        }
    }
}

typedef struct {
    const char *doc;
    rule_fn check;
} rule_t;

static const rule_t g_rules[] = {
    {"`model.image_size` is a multiple of `model.patch`.", rule_patch},
    {"`model.pool` is `flatten` or `mean`.", rule_pool},
    {"`model.channels` is 1 (gray) or 3 (RGB).", rule_channels},
    {"`model.dim` is a multiple of `model.heads`, and the head size `model.dim / model.heads` is "
     "even.",
     rule_heads},
    {"`model.enc_dim` is a multiple of `model.enc_heads`.", rule_enc_heads},
    {"`data.glyphs.size` equals `model.image_size`.", rule_glyph_size},
    {"`data.glyphs.heldout_instances` < `data.glyphs.instances`.", rule_glyph_instances},
    {"When `data.scenes.images` > 0: `data.scenes.size` equals `model.image_size` and "
     "`data.scenes.test_images` < `data.scenes.images`.",
     rule_scenes},
    {"When `data.operators.images` > 0: `data.operators.size` equals `model.image_size`, "
     "`data.operators.test_images` < `data.operators.images` and `data.operators.heldout_fonts` "
     "< the number of `data.operators.fonts`.",
     rule_operators},
    {"`train.min_lr` <= `train.lr`.", rule_lr},
    {"`train.warmup` <= `train.steps`.", rule_warmup},
    {"`train.micro_batches` <= `train.items_per_step`.", rule_micro_batches},
    {"The largest `eval.ways` is at most `fake_names` and at most "
     "`data.glyphs.heldout_classes`.",
     rule_eval_ways},
    {"Run names are unique.", rule_run_names},
    {"Stage names are unique within a run.", rule_stage_names},
    {"A stage's `min_steps` does not exceed its `steps` when `steps` > 0.", rule_stage_steps},
    {"A stage with binding or fake-name multiple-choice episodes has a `ways` maximum of at "
     "most `fake_names`.",
     rule_stage_ways},
    {"A stage with attributes, counting, relations or count_induction episodes needs "
     "`data.scenes.images` > 0; one with operators episodes needs `data.operators.images` > 0.",
     rule_stage_stores},
    {"The values of a `run` axis name runs of the file.", rule_sweep_runs},
};

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Skips a float literal's digits, point and exponent from q; returns the first byte after it. */
static const char *skip_float(const char *q) {
    while (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' ||
           ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
        q++;
    return q;
}

/* libconfig wraps integer literals that do not fit in 64 bits without an error (2^64 + 12 reads
 * as 12, 99999999999999999999 as -1), so they are rejected here first, outside strings and
 * comments. */
static void check_int_literals(const char *text, const char *name) {
    int line = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            line++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (*p == '\n') line++;
            }
            if (!*p) return;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                line += *p == '\n';
            if (!*p) return;
            p++;
        } else if (isdigit((unsigned char)*p) &&
                   !(p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))) {
            int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            const char *q = p + (hex ? 2 : 0);
            while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))
                q++;
            if (!hex && (*q == '.' || *q == 'e' || *q == 'E')) {
                p = skip_float(q) - 1;
                continue;
            }
            errno = 0;
            unsigned long long v = strtoull(p, NULL, hex ? 16 : 10);
            if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
                micl_fatal("%s:%d: integer %.*s does not fit in 64 bits", name, line, (int)(q - p),
                           p);
            p = q - 1;
        }
    }
}

static void parse_and_fill(const char *text, const char *name, config_t *cfg) {
    check_int_literals(text, name);
    libconfig_config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        const char *file = config_error_file(&lc) ? config_error_file(&lc) : name;
        micl_fatal("%s:%d: syntax error: %s", file, config_error_line(&lc), config_error_text(&lc));
    }
    loader_t L = {name};
    load_group(&L, config_root_setting(&lc), &g_top, "", "", cfg);
    cfg->sweep.present = config_lookup(&lc, "sweep") != NULL;
    if (cfg->n_runs == 0)
        micl_fatal("%s: key 'runs' is missing: at least one run is required, e.g. "
                   "runs = ( { name = \"baseline\"; stages = ( { family = \"classify\"; } ); } );",
                   name);
    for (int i = 0; i < N_OF(g_rules); i++)
        g_rules[i].check(&L, cfg);
    config_destroy(&lc);
}

void config_load_string(const char *text, const char *name, config_t *cfg) {
    config_defaults(cfg);
    copy_str(cfg->path, sizeof cfg->path, name);
    cfg->text = micl_strdup(text);
    parse_and_fill(cfg->text, cfg->path, cfg);
}

static char *read_text(const char *path) {
    FILE *f = micl_fopen(path, "rb");
    size_t cap = 4096, len = 0;
    char *buf = micl_malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) buf = micl_realloc(buf, cap *= 2);
    }
    if (ferror(f)) micl_fatal("%s: read error", path);
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != len) micl_fatal("%s: contains a NUL byte (not a text file)", path);
    return buf;
}

void config_load(const char *path, config_t *cfg) {
    char *text = read_text(path);
    config_load_string(text, path, cfg);
    free(text);
}

void config_free(config_t *cfg) {
    free(cfg->text);
    cfg->text = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Resolving one point of a sweep                                                              */
/* ------------------------------------------------------------------------------------------ */

static config_setting_t *member_group(config_setting_t *parent, const char *name) {
    config_setting_t *g = config_setting_get_member(parent, name);
    if (g && config_setting_is_group(g)) return g;
    if (g) config_setting_remove(parent, name);
    g = config_setting_add(parent, name, CONFIG_TYPE_GROUP);
    if (!g) micl_fatal("cannot create the config group '%s'", name);
    return g;
}

/* Replaces (or adds) parent.name with the axis value `text`. */
static void set_scalar(config_setting_t *parent, const char *name, axis_type_t type,
                       const char *text) {
    if (config_setting_get_member(parent, name)) config_setting_remove(parent, name);
    long long iv = type == AXIS_INT ? strtoll(text, NULL, 10) : 0;
    int big = iv > 2147483647LL || iv < -2147483647LL;
    int t = type == AXIS_STRING  ? CONFIG_TYPE_STRING
            : type == AXIS_FLOAT ? CONFIG_TYPE_FLOAT
            : big                ? CONFIG_TYPE_INT64
                                 : CONFIG_TYPE_INT;
    config_setting_t *s = config_setting_add(parent, name, t);
    int ok = s != NULL;
    if (ok && type == AXIS_STRING) ok = config_setting_set_string(s, text);
    if (ok && type == AXIS_FLOAT) ok = config_setting_set_float(s, strtod(text, NULL));
    if (ok && type == AXIS_INT)
        ok = big ? config_setting_set_int64(s, iv) : config_setting_set_int(s, (int)iv);
    if (!ok) micl_fatal("cannot set the config key '%s' to %s", name, text);
}

/* Sets the dotted key `path` under root, creating groups on the way. */
static void set_path(config_setting_t *root, const char *path, axis_type_t type, const char *text) {
    char buf[KEY_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    config_setting_t *g = root;
    char *name = buf;
    for (char *dot; (dot = strchr(name, '.')) != NULL; name = dot + 1) {
        *dot = '\0';
        g = member_group(g, name);
    }
    set_scalar(g, name, type, text);
}

/* Keeps only the run named `run` in the runs list. */
static void keep_run(config_setting_t *root, const char *run) {
    config_setting_t *runs = config_setting_get_member(root, "runs");
    if (!runs) micl_fatal("the config has no runs");
    for (int i = config_setting_length(runs) - 1; i >= 0; i--) {
        config_setting_t *e = config_setting_get_elem(runs, (unsigned)i);
        const char *name = NULL;
        if (!config_setting_lookup_string(e, "name", &name) || strcmp(name, run) != 0)
            config_setting_remove_elem(runs, (unsigned)i);
    }
}

static void set_replay(config_setting_t *root, const char *text) {
    config_setting_t *runs = config_setting_get_member(root, "runs");
    for (int i = 0; runs && i < config_setting_length(runs); i++) {
        config_setting_t *st =
            config_setting_get_member(config_setting_get_elem(runs, i), "stages");
        for (int j = 0; st && j < config_setting_length(st); j++)
            set_scalar(config_setting_get_elem(st, (unsigned)j), "replay", AXIS_FLOAT, text);
    }
}

char *config_resolve(const config_t *cfg, const char *run, int n, const sweep_axis_t *const *axes,
                     const char *const *values) {
    libconfig_config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, cfg->text) != CONFIG_TRUE)
        micl_fatal("%s:%d: syntax error: %s", cfg->path, config_error_line(&lc),
                   config_error_text(&lc));
    config_setting_t *root = config_root_setting(&lc);
    if (config_setting_get_member(root, "sweep")) config_setting_remove(root, "sweep");
    keep_run(root, run);
    for (int i = 0; i < n; i++) {
        if (strcmp(axes[i]->key, "run") == 0) continue;
        if (strcmp(axes[i]->key, "replay") == 0)
            set_replay(root, values[i]);
        else
            set_path(root, axes[i]->key, axes[i]->type, values[i]);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) micl_fatal("out of memory resolving a sweep point of %s", cfg->path);
    config_write(&lc, mem);
    if (fclose(mem) != 0) micl_fatal("out of memory resolving a sweep point of %s", cfg->path);
    config_destroy(&lc);
    return text;
}

/* ------------------------------------------------------------------------------------------ */
/* Documentation                                                                               */
/* ------------------------------------------------------------------------------------------ */

static const char *kind_doc(kind_t k) {
    switch (k) {
    case K_INT:
    case K_INT64:
        return "int";
    case K_UINT64:
        return "int (64-bit)";
    case K_FLOAT:
        return "float";
    case K_STRING:
        return "string";
    case K_NAME:
        return "name";
    case K_FAMILY:
        return "string";
    case K_BOOL:
        return "bool";
    case K_INT_LIST:
        return "int array";
    case K_STR_LIST:
        return "string array";
    case K_INT_PAIR:
        return "[int, int]";
    case K_FLOAT_PAIR:
        return "[float, float]";
    case K_RUNS:
    case K_STAGES:
    case K_AXES:
        return "list of groups";
    }
    return "";
}

static void doc_default(FILE *out, const schema_key_t *k) {
    switch (k->kind) {
    case K_INT:
    case K_INT64:
    case K_UINT64:
        fprintf(out, "`%.0f`", k->def);
        break;
    case K_FLOAT:
        fprintf(out, "`%g`", k->def);
        break;
    case K_BOOL:
        fprintf(out, "`%s`", k->def != 0 ? "true" : "false");
        break;
    case K_STRING:
    case K_NAME:
    case K_FAMILY:
        if (k->def_s)
            fprintf(out, "`\"%s\"`", k->def_s);
        else
            fprintf(out, "(required)");
        break;
    case K_INT_LIST:
        for (int i = 0; i < k->def_n; i++)
            fprintf(out, "%s%d%s", i ? ", " : "`[", k->def_ints[i], i + 1 < k->def_n ? "" : "]`");
        break;
    case K_STR_LIST:
        for (int i = 0; i < k->def_n; i++)
            fprintf(out, "%s`%s`", i ? "<br>" : "", k->def_strs[i]);
        break;
    case K_INT_PAIR:
        fprintf(out, "`[%.0f, %.0f]`", k->def, k->def2);
        break;
    case K_FLOAT_PAIR:
        fprintf(out, "`[%g, %g]`", k->def, k->def2);
        break;
    case K_RUNS:
    case K_STAGES:
        fprintf(out, "(required)");
        break;
    case K_AXES:
        fprintf(out, "(none)");
        break;
    }
}

static void doc_range(FILE *out, const schema_key_t *k) {
    switch (k->kind) {
    case K_INT:
    case K_INT64:
    case K_INT_LIST:
    case K_INT_PAIR:
        if (k->max >= INT64_BIG)
            fprintf(out, ">= %.0f", k->min);
        else
            fprintf(out, "[%.0f, %.0f]", k->min, k->max);
        break;
    case K_UINT64:
        fprintf(out, ">= 0");
        break;
    case K_FLOAT:
    case K_FLOAT_PAIR:
        fprintf(out, "[%g, %g]", k->min, k->max);
        break;
    case K_STRING:
        fprintf(out, "< %zu chars", k->size);
        break;
    case K_NAME:
        fprintf(out, "1 to %zu chars", k->size - 1);
        break;
    case K_FAMILY:
        fprintf(out, VALID_FAMILIES);
        break;
    case K_BOOL:
        fprintf(out, "true, false");
        break;
    case K_STR_LIST:
    case K_RUNS:
    case K_STAGES:
    case K_AXES:
        fprintf(out, "%.0f to %.0f elements", k->min, k->max);
        break;
    }
}

static void doc_table(FILE *out, const table_t *t, const char *prefix) {
    char section[128] = "\x01";
    for (int i = 0; i < t->n; i++) {
        const schema_key_t *k = &t->keys[i];
        const char *last = last_component(k->path);
        char sec[128];
        snprintf(sec, sizeof sec, "%s%.*s", prefix, (int)(last - k->path), k->path);
        if (strcmp(sec, section) != 0) {
            snprintf(section, sizeof section, "%s", sec);
            size_t n = strlen(sec);
            if (n && sec[n - 1] == '.') sec[n - 1] = '\0';
            fprintf(out, "\n## %s\n\n", sec[0] ? sec : "Top level");
            fprintf(out, "| key | type | default | range | meaning |\n");
            fprintf(out, "|---|---|---|---|---|\n");
        }
        fprintf(out, "| `%s%s` | %s | ", prefix, k->path, kind_doc(k->kind));
        doc_default(out, k);
        fprintf(out, " | ");
        doc_range(out, k);
        fprintf(out, " | %s |\n", k->doc);
    }
}

static const char g_doc_example[] =
    "name = \"quickstart\";\n"
    "seed = 1;\n"
    "output_dir = \"runs/quickstart\";\n"
    "model = { dim = 128; layers = 3; heads = 4; };\n"
    "train = { steps = 6000; lr = 2e-3; min_lr = 1e-4; };\n"
    "eval = { ways = [2, 5]; shots = [0, 1, 2, 4]; };\n"
    "runs = (\n"
    "  { name = \"baseline\"; stages = ( { name = \"single\"; family = \"classify\"; } ); },\n"
    "  { name = \"icl\"; stages = (\n"
    "      { name = \"align\"; family = \"classify\"; steps = 600; },\n"
    "      { name = \"bind\"; family = \"binding\"; ways = [2, 3]; items = 9; replay = 0.25;\n"
    "        exact_copy = [1.0, 0.0]; exact_copy_steps = 3000; advance_acc = 0.9;\n"
    "        min_steps = 1000; },\n"
    "      { name = \"bind5\"; family = \"binding\"; ways = [2, 5]; items = 21; }\n"
    "  ); }\n"
    ");\n";

static const char g_doc_sweep_example[] =
    "sweep = {\n"
    "  ranks_per_run = 1;\n"
    "  axes = ( { key = \"run\";       values = [\"baseline\", \"icl\"]; },\n"
    "           { key = \"seed\";      values = [1, 2, 3]; },\n"
    "           { key = \"model.dim\"; values = [64, 128]; } );\n"
    "};\n";

void config_print_docs(FILE *out) {
    fprintf(out, "# micl configuration reference\n\n"
                 "<!-- Generated by `config_check --docs` from the schema in common/config.c; "
                 "do not edit by hand. -->\n\n"
                 "A micl experiment is one libconfig file (`micl train CONFIG.cfg`). Every key "
                 "except `runs` has a default, so a section or key left out takes the value "
                 "below. An unknown key, a value of the wrong type or a value out of range is an "
                 "error naming the file, line and key; a misspelt key gets a suggestion. Integer "
                 "keys reject floats; float keys accept integers. Ranges are inclusive. "
                 "Integers beyond 32 bits need the 64-bit suffix L (`seed = 5000000000L;`). "
                 "libconfig arrays hold one type only: write `[1.0, 0.0]`, not `[1.0, 0]`.\n");
    doc_table(out, &g_top, "");
    fprintf(out, "\nEach element of `runs` is a group:\n");
    doc_table(out, &g_run, "runs[].");
    fprintf(out, "\nEach element of `stages` is a group. A stage runs until its `steps` are "
                 "done, or, once `min_steps` have passed, until the train ICL accuracy reaches "
                 "`advance_acc`. The last stage runs to `train.steps`.\n");
    doc_table(out, &g_stage, "runs[].stages[].");
    fprintf(out, "\n## Rules between keys\n\n");
    for (int i = 0; i < N_OF(g_rules); i++)
        fprintf(out, "- %s\n", g_rules[i].doc);
    fprintf(out, "- `runs` has 1 to %d runs; each run has 1 to %d stages.\n", CONFIG_MAX_RUNS,
            CONFIG_MAX_STAGES);
    fprintf(out, "- `eval.ways` and `eval.shots` are non-empty, sorted and without repeats.\n");
    fprintf(out, "- A stage's `ways` is `[min, max]` with min <= max.\n");
    fprintf(out, "\n## Sweeps\n\n"
                 "`micl sweep CONFIG.cfg` trains the product of the `sweep.axes`: every "
                 "combination of one value per axis is a run, numbered in order with the first "
                 "axis varying slowest. An axis `key` is `run` (values: names of `runs`; without "
                 "a `run` axis every run of the file is swept), `replay` (the replay share of "
                 "every stage of the run, in [0, 1]) or any number or string key above "
                 "(`seed`, `train.steps`, `model.dim`, `model.layers`, `train.lr`, ...), with "
                 "that key's type and range. Each run's resolved config (this file with the "
                 "axis values set, the one run kept and the sweep section removed) is checked "
                 "like a config file of its own. The example below ends with a sweep of 2 runs x "
                 "3 seeds x 2 widths (12 runs).\n");
    fprintf(out, "\n## Example\n\n```\n%s%s```\n", g_doc_example, g_doc_sweep_example);
}
