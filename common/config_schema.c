/* config_schema.c - the config schema: every key micl accepts, with its type, default, range
 * and one-line description, in three tables (top level, one run, one stage), and the defaults
 * derived from them.
 *
 * Each entry gives the dotted path, the value kind, where the value goes (an offset into
 * config_t, run_config_t or stage_config_t), its default, its range and its description; the
 * loader (config_load.c), the typo suggestions (config_suggest.c) and docs/CONFIG.md
 * (config_docs.c) all read these tables, so a key is added here once.
 */
#include "config_internal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FSIZE(type, member) sizeof(((type *)0)->member)
#define U64_MAX_D 9223372036854775807.0

#define FAMILY_WORD(id, name, store, doc) [FAMILY_##id] = #name,
const char *const config_family_names[FAMILY_COUNT] = {CONFIG_FAMILIES(FAMILY_WORD)};
#undef FAMILY_WORD

#define FAMILY_STORE(id, name, store, doc) [FAMILY_##id] = FAMILY_STORE_##store,
static const family_store_t g_family_store[FAMILY_COUNT] = {CONFIG_FAMILIES(FAMILY_STORE)};
#undef FAMILY_STORE

#define FAMILY_LIST(id, name, store, doc) ", " #name
const char *const config_valid_families = (CONFIG_FAMILIES(FAMILY_LIST)) + 2;
#undef FAMILY_LIST

const char *config_family_word(int f) {
    return f >= 0 && f < FAMILY_COUNT ? config_family_names[f] : NULL;
}

family_store_t config_family_store(int f) {
    return g_family_store[f];
}

static const char *const g_default_fonts[] = {
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/unifont/unifont.otf",
};
static const char *const g_default_script_fonts[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
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
        .path = p, .kind = CONFIG_K_STRING, .off = C_(m), .size = FSIZE(config_t, m), .def_s = d,  \
        .doc = doc_                                                                                \
    }
#define NAME(p, m, d, doc_)                                                                        \
    {                                                                                              \
        .path = p, .kind = CONFIG_K_NAME, .off = C_(m), .size = FSIZE(config_t, m), .def_s = d,    \
        .doc = doc_                                                                                \
    }
#define INT(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = CONFIG_K_INT, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define I64(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = CONFIG_K_INT64, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define U64(p, m, d, doc_)                                                                         \
    {                                                                                              \
        .path = p, .kind = CONFIG_K_UINT64, .off = C_(m), .def = d, .min = 0, .max = U64_MAX_D,    \
        .doc = doc_                                                                                \
    }
#define BOOL(p, m, d, doc_)                                                                        \
    { .path = p, .kind = CONFIG_K_BOOL, .off = C_(m), .def = d, .doc = doc_ }
#define FLT(p, m, d, lo, hi, doc_)                                                                 \
    { .path = p, .kind = CONFIG_K_FLOAT, .off = C_(m), .def = d, .min = lo, .max = hi, .doc = doc_ }
#define ILIST(p, m, n, d, lo, hi, doc_)                                                            \
    {                                                                                              \
        .path = p, .kind = CONFIG_K_INT_LIST, .off = C_(m), .aux = C_(n), .size = CONFIG_MAX_LIST, \
        .def_ints = d, .def_n = (int)(sizeof d / sizeof d[0]), .min = lo, .max = hi, .doc = doc_   \
    }

static const config_key_t g_keys[] = {
    NAME("name", name, "quickstart", "experiment name (letters, digits, '_', '-', '.')"),
    U64("seed", seed, 1, "seed of all training randomness (write large values as 64-bit, e.g. 5L)"),
    STR("output_dir", output_dir, "runs/quickstart", "results.h5 and checkpoints go here"),
    INT("fake_names", fake_names, 32, 4, 4096, "size of the pool of generated nonsense names"),
    STR("question", question, "", "question words of a turn, space separated (\"\" = none)"),
    {.path = "runs",
     .kind = CONFIG_K_RUNS,
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
     .kind = CONFIG_K_STR_LIST,
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
    INT("data.glyphs.script_classes", data.glyph_script_classes, 0, 0, 20000,
        "extra train classes: characters of other scripts (Latin, Greek, Cyrillic, Arabic, "
        "Hangul, symbols, ...) covered by every data.glyphs.script_fonts font"),
    {.path = "data.glyphs.script_fonts",
     .kind = CONFIG_K_STR_LIST,
     .off = C_(data.script_fonts),
     .aux = C_(data.n_script_fonts),
     .size = CONFIG_MAX_FONTS,
     .def_strs = g_default_script_fonts,
     .def_n = (int)(sizeof g_default_script_fonts / sizeof g_default_script_fonts[0]),
     .min = 1,
     .max = CONFIG_MAX_FONTS,
     .doc = "font files the script classes are rendered from (read only when "
            "data.glyphs.script_classes > 0)"},
    INT("data.glyphs.shape_classes", data.glyph_shape_classes, 0, 0, 20000,
        "extra train classes: procedural filled shapes with a grey level and a stripe texture"),
    FLT("data.glyphs.contrast", data.glyph_contrast, 0, 0, 0.9,
        "augmentation: the ink of an instance is scaled by a random factor in [1 - contrast, 1]"),
    FLT("data.glyphs.fill", data.glyph_fill, 0, 0, 1,
        "augmentation: probability that an instance is filled (dilated and blurred)"),
    FLT("data.glyphs.invert", data.glyph_invert, 0, 0, 1,
        "augmentation: probability that an instance is inverted (255 - pixel)"),
    FLT("data.glyphs.noise", data.glyph_noise, 0, 0, 64,
        "augmentation: maximum standard deviation of Gaussian pixel noise, in grey levels"),
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
     .kind = CONFIG_K_STR_LIST,
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
    INT("model.max_seq", model.max_seq, 64, 8, CONFIG_MAX_SEQ, "longest sequence in tokens"),
    FLT("model.init_std", model.init_std, 0.02, 1e-6, 1, "weight init standard deviation"),
    STR("model.pool", model.pool, "flatten",
        "how patch tokens become the image token: flatten (concatenate, keeps layout) or mean"),
    INT("model.channels", model.channels, 1, 1, 3,
        "image channels: 1 (gray) or 3 (RGB); must match the image stores"),
    BOOL("model.smear_keys", model.smear_keys, 1,
         "true: each decoder key is mixed with the previous position's key by a learned "
         "per-head share (smeared keys), which makes in-context binding emerge early and "
         "reliably; false: plain keys"),
    STR("model.device", model.device, "cpu",
        "what computes the model: cpu (the host's processor) or cuda (a GPU, through the CUDA "
        "backend module libmicl_cuda.so of a build with MICL_ENABLE_CUDA; each rank takes the "
        "GPU of its local rank); the command line's --device overrides it, and a --device other "
        "than the file's is written into a sweep's resolved configs, so it changes their run ids"),
    STR("model.precision", model.precision, "fp32",
        "operands of the products: fp32, or bf16 (rounded to bfloat16, accumulated in fp32; "
        "parameters, gradients and every other kernel stay fp32; needs model.device = cuda)"),
    I64("train.steps", train.steps, 6000, 1, CONFIG_INT64_BIG, "optimizer steps per run"),
    INT("train.items_per_step", train.items_per_step, 288, 1, 1048576,
        "image turns per optimizer step (global batch over all ranks)"),
    INT("train.tokens_per_step", train.tokens_per_step, 0, 0, 1 << 30,
        "tokens per optimizer step (global batch over all ranks): a step draws sequences until "
        "their tokens reach it and cuts the last one there, so every run trains on the same "
        "tokens; replaces train.items_per_step (0 = off: items_per_step sets the batch)"),
    INT("train.micro_batches", train.micro_batches, 4, 1, 4096,
        "micro-batches per step; ranks take contiguous shares"),
    FLT("train.lr", train.lr, 2e-3, 0, 10, "peak learning rate"),
    FLT("train.min_lr", train.min_lr, 1e-4, 0, 10, "final learning rate of the decay"),
    I64("train.warmup", train.warmup, 100, 0, CONFIG_INT64_BIG, "linear warmup steps"),
    FLT("train.beta1", train.beta1, 0.9, 0, 0.99999, "AdamW beta1"),
    FLT("train.beta2", train.beta2, 0.98, 0, 0.99999, "AdamW beta2"),
    FLT("train.eps", train.eps, 1e-8, 1e-12, 0.01, "AdamW epsilon"),
    FLT("train.weight_decay", train.weight_decay, 0.01, 0, 1, "AdamW decoupled weight decay"),
    FLT("train.grad_clip", train.grad_clip, 1.0, 0, 1e6, "global gradient norm clip (0 = off)"),
    I64("train.log_every", train.log_every, 100, 1, CONFIG_INT64_BIG,
        "progress line and curve point every N steps"),
    I64("train.checkpoint_every", train.checkpoint_every, 0, 0, CONFIG_INT64_BIG,
        "checkpoint every N steps (0 = only at the end)"),
    INT("train.threads", train.threads, 0, 0, 1024,
        "OpenMP threads per rank (0 = runtime default)"),
    BOOL("train.adapt_threads", train.adapt_threads, 1,
         "true: each step runs on the full team of train.threads or a smaller one (halves down "
         "to 1), whichever measured fastest; probed at the start, again every 10 s or more, "
         "and at once when steps slow down (a busy neighbour): the same bits whatever the "
         "team; false: always the full team"),
    STR("train.reduce", train.reduce, "tree",
        "how the ranks' gradients are summed: tree (the fixed binary tree over micro-batches: the "
        "same bits for any rank count) or allreduce (the device library's all-reduce where the "
        "backend has one, e.g. NCCL's: faster, but its order depends on the rank count, so "
        "runs are not bit-reproducible across rank counts)"),
    INT("eval.episodes", eval.episodes, 500, 1, 10000000, "episodes per (ways, shots) cell"),
    ILIST("eval.ways", eval.ways, eval.n_ways, g_default_ways, 2, 64,
          "N of the N-way cells of the binding benchmarks (openmi, cross_domain; sorted, unique)"),
    ILIST("eval.shots", eval.shots, eval.n_shots, g_default_shots, 0, 64,
          "K of the K-shot cells of every benchmark but zeroshot (sorted, unique)"),
    INT("eval.zeroshot_images", eval.zeroshot_images, 1000, 0, 1000000000,
        "held-out instances scored zero-shot (0 = all)"),
    {.path = "eval.benchmarks",
     .kind = CONFIG_K_STR_LIST,
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
     .kind = CONFIG_K_AXES,
     .off = C_(sweep),
     .size = CONFIG_MAX_AXES,
     .min = 1,
     .max = CONFIG_MAX_AXES,
     .doc = "`micl sweep`: list of axes `{ key = \"model.dim\"; values = [64, 128]; }`; the "
            "runs are their product (see Sweeps below)"},
};

#define R_(member) offsetof(run_config_t, member)
static const config_key_t g_run_keys[] = {
    {.path = "name",
     .kind = CONFIG_K_NAME,
     .off = R_(name),
     .size = FSIZE(run_config_t, name),
     .doc = "run name, unique (required; letters, digits, '_', '-', '.')"},
    {.path = "stages",
     .kind = CONFIG_K_STAGES,
     .off = R_(stages),
     .aux = R_(n_stages),
     .size = CONFIG_MAX_STAGES,
     .min = 1,
     .max = CONFIG_MAX_STAGES,
     .doc = "list of curriculum stages (required), each a group with the keys below"},
};

#define S_(member) offsetof(stage_config_t, member)
static const config_key_t g_stage_keys[] = {
    {.path = "name",
     .kind = CONFIG_K_NAME,
     .off = S_(name),
     .size = FSIZE(stage_config_t, name),
     .def_s = "stageN",
     .doc = "stage name; the default stageN counts the run's stages from 1"},
    {.path = "family",
     .kind = CONFIG_K_FAMILY,
     .off = S_(family),
     .def_s = "binding",
     .doc = "task family of the episodes when `mix` is not given: classify (real names), "
            "binding (fake names), mc (multiple choice, option letters), matching (same/different "
            "pairs)"},
#define MIX_KEY(id, name, store, doc_)                                                             \
    {.path = "mix." #name,                                                                         \
     .kind = CONFIG_K_FLOAT,                                                                       \
     .off = S_(mix[FAMILY_##id]),                                                                  \
     .def = 0,                                                                                     \
     .min = 0,                                                                                     \
     .max = 1,                                                                                     \
     .doc = doc_},
    CONFIG_FAMILIES(MIX_KEY)
#undef MIX_KEY
        {.path = "mc_fake",
         .kind = CONFIG_K_FLOAT,
         .off = S_(mc_fake),
         .def = 1,
         .min = 0,
         .max = 1,
         .doc =
             "share of multiple-choice episodes whose options are fresh fake names (the rest use "
             "real names)"},
    {.path = "coherent",
     .kind = CONFIG_K_BOOL,
     .off = S_(coherent),
     .def = 1,
     .doc = "true: all turns of a sequence share one task and concept; false: a sequence "
            "interleaves the turns of 2 or 3 unrelated episodes of the mix (the coherence "
            "ablation)"},
    {.path = "unrelated",
     .kind = CONFIG_K_BOOL,
     .off = S_(unrelated),
     .def = 0,
     .doc = "true: every non-replay sequence is `items` one-turn episodes, each of a family "
            "drawn from the mix, one after the other (interleaved image-text data with no shared "
            "concept; replaces `coherent`); false: as `coherent` says"},
    {.path = "single_turn",
     .kind = CONFIG_K_BOOL,
     .off = S_(single_turn),
     .def = 0,
     .doc = "true: all demonstrations in one user turn and only the last answer carries loss "
            "(VL-ICL style); false: one demonstration per turn, loss on every answer"},
    {.path = "steps",
     .kind = CONFIG_K_INT64,
     .off = S_(steps),
     .def = 0,
     .min = 0,
     .max = CONFIG_INT64_BIG,
     .doc = "maximum steps of the stage (0 = until train.steps)"},
    {.path = "min_steps",
     .kind = CONFIG_K_INT64,
     .off = S_(min_steps),
     .def = 0,
     .min = 0,
     .max = CONFIG_INT64_BIG,
     .doc = "steps before the advance metric is checked"},
    {.path = "advance_acc",
     .kind = CONFIG_K_FLOAT,
     .off = S_(advance_acc),
     .def = 0,
     .min = 0,
     .max = 1,
     .doc = "advance when train ICL accuracy (EMA) >= this (0 = by steps only)"},
    {.path = "ways",
     .kind = CONFIG_K_INT_PAIR,
     .off = S_(ways_min),
     .aux = S_(ways_max),
     .def = 2,
     .def2 = 3,
     .min = 1,
     .max = 64,
     .doc = "[min, max] N of N-way episodes (ignored by classify)"},
    {.path = "items",
     .kind = CONFIG_K_INT,
     .off = S_(items),
     .def = 9,
     .min = 1,
     .max = 256,
     .doc = "image turns per sequence (default 1 for classify stages)"},
    {.path = "replay",
     .kind = CONFIG_K_FLOAT,
     .off = S_(replay),
     .def = 0.25,
     .min = 0,
     .max = 1,
     .doc = "share of sequences that are single-image classification"},
    {.path = "exact_copy",
     .kind = CONFIG_K_FLOAT_PAIR,
     .off = S_(exact_copy_start),
     .aux = S_(exact_copy_end),
     .def = 0,
     .def2 = 0,
     .min = 0,
     .max = 1,
     .doc = "[start, end] share of queries reusing a demo's exact image"},
    {.path = "exact_copy_steps",
     .kind = CONFIG_K_INT64,
     .off = S_(exact_copy_steps),
     .def = 0,
     .min = 0,
     .max = CONFIG_INT64_BIG,
     .doc = "steps over which exact_copy goes from start to end"},
#define REPLAY_MIX_KEY(id, name, store, doc_)                                                      \
    {.path = "replay_mix." #name,                                                                  \
     .kind = CONFIG_K_FLOAT,                                                                       \
     .off = S_(replay_mix[FAMILY_##id]),                                                           \
     .def = 0,                                                                                     \
     .min = 0,                                                                                     \
     .max = 1,                                                                                     \
     .doc = "share of replay items that are " #name " (one turn each; see the rules below)"},
    CONFIG_FAMILIES(REPLAY_MIX_KEY)
#undef REPLAY_MIX_KEY
};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

const config_table_t config_table_top = {g_keys, N_OF(g_keys)};
const config_table_t config_table_run = {g_run_keys, N_OF(g_run_keys)};
const config_table_t config_table_stage = {g_stage_keys, N_OF(g_stage_keys)};

const char *config_last_component(const char *path) {
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* ------------------------------------------------------------------------------------------ */
/* Defaults                                                                                    */
/* ------------------------------------------------------------------------------------------ */

void config_copy_str(char *dst, size_t size, const char *src) {
    snprintf(dst, size, "%s", src ? src : "");
}

static family_t family_of_name(const char *name) {
    for (int i = 0; i < CONFIG_N_FAMILIES; i++)
        if (strcmp(name, config_family_names[i]) == 0) return (family_t)i;
    return FAMILY_BINDING;
}

static void set_default(const config_key_t *k, char *base) {
    char *p = base + k->off;
    switch (k->kind) {
    case CONFIG_K_INT:
        *(int *)p = (int)k->def;
        break;
    case CONFIG_K_INT64:
        *(int64_t *)p = (int64_t)k->def;
        break;
    case CONFIG_K_UINT64:
        *(uint64_t *)p = (uint64_t)k->def;
        break;
    case CONFIG_K_FLOAT:
        *(float *)p = (float)k->def;
        break;
    case CONFIG_K_STRING:
    case CONFIG_K_NAME:
        config_copy_str(p, k->size, k->def_s);
        break;
    case CONFIG_K_FAMILY:
        *(family_t *)p = family_of_name(k->def_s);
        break;
    case CONFIG_K_BOOL:
        *(int *)p = k->def != 0;
        break;
    case CONFIG_K_INT_LIST:
        memcpy(p, k->def_ints, (size_t)k->def_n * sizeof(int));
        *(int *)(base + k->aux) = k->def_n;
        break;
    case CONFIG_K_STR_LIST:
        for (int i = 0; i < k->def_n; i++)
            config_copy_str(p + (size_t)i * CONFIG_PATH_LEN, CONFIG_PATH_LEN, k->def_strs[i]);
        *(int *)(base + k->aux) = k->def_n;
        break;
    case CONFIG_K_INT_PAIR:
        *(int *)p = (int)k->def;
        *(int *)(base + k->aux) = (int)k->def2;
        break;
    case CONFIG_K_FLOAT_PAIR:
        *(float *)p = (float)k->def;
        *(float *)(base + k->aux) = (float)k->def2;
        break;
    case CONFIG_K_RUNS:
    case CONFIG_K_STAGES:
        *(int *)(base + k->aux) = 0;
        break;
    case CONFIG_K_AXES:
        ((sweep_config_t *)p)->n_axes = 0;
        break;
    }
}

void config_table_defaults(const config_table_t *t, void *base) {
    for (int i = 0; i < t->n; i++)
        set_default(&t->keys[i], base);
}

void config_defaults(config_t *cfg) {
    memset(cfg, 0, sizeof *cfg);
    config_table_defaults(&config_table_top, cfg);
}
