/* cmd_show.c - `micl data show` (see cmd_show.h): parses the options, loads the store and the
 * vocabulary (from a config or straight from a store file), builds one episode of the task
 * and hands it to show_episode_png. Runs on rank 0 only; other ranks return at once. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_show.h"

#include <errno.h>
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/config.h"
#include "common/error.h"
#include "common/file_kind.h"
#include "common/rng.h"
#include "data/episode.h"
#include "data/family.h"
#include "data/show.h"
#include "data/sources.h"
#include "data/store.h"
#include "data/task_scene.h"
#include "data/vocab.h"
#include "common/cli_args.h"

const cli_command_t CLI_DATA_SHOW = {
    "data show",
    "STORE.h5|CFG --task T -o EPISODE.png [--kind K] [--ways N] [--shots K]\n"
    "[--items L] [--seed S] [--index I] [--format compact|chat]",
    "draw one episode as a picture (docs/EPISODES.md)",
    "  tasks T: binding       training episode: N-way (default 3), L turns (default 9),\n"
    "                         fresh fake names, train split\n"
    "           binding-eval  evaluation episode: N-way (default 3) K-shot (default 2) on\n"
    "                         held-out classes with fresh fake names, one scored query\n"
    "           classify      L (default 6) images answered with their real names\n"
    "           mc, mc-eval   multiple choice with option letters (2 to 4 ways)\n"
    "           matching      same or different, L turns (default 5)\n"
    "           scene         scene or operator training episode of --kind K, L turns\n"
    "                         (default 6), train split\n"
    "           scene-eval    K-shot (default 3) evaluation episode of --kind K, held-out\n"
    "                         split (test split if the store has none), one scored query\n"
    "  kinds K: colour shape position size count relation count_induction operator\n"
    "           (default colour; size is evaluation only; operator needs an operator store)\n"
    "  CFG: the config's glyph store (scene tasks: its scene or operator store), vocabulary\n"
    "  and seed; STORE.h5: 32 fake names, seed 1.\n"
    "  --index I picks the I-th episode of the seed (default 0).\n",
    "STORE.h5 or CFG",
    1,
    1};

/* Tasks: every family whose descriptor (data/family.h) draws a sample episode, by its name,
 * and as <name>-eval when it draws an evaluation one; then the scene and operator kinds. */
#define TASK_SCENE_WORD "scene"
#define TASK_EVAL_SUFFIX "-eval"

/* The valid tasks, comma separated, into out. */
static void valid_tasks(char *out, size_t len) {
    out[0] = '\0';
    for (int f = 0; f < FAMILY_COUNT; f++) {
        const family_info_t *d = family_get(f);
        if (!d->sample) continue;
        snprintf(out + strlen(out), len - strlen(out), "%s%s", f ? ", " : "", family_name(f));
        if (d->show_eval)
            snprintf(out + strlen(out), len - strlen(out), ", %s" TASK_EVAL_SUFFIX, family_name(f));
    }
    snprintf(out + strlen(out), len - strlen(out),
             ", " TASK_SCENE_WORD ", " TASK_SCENE_WORD TASK_EVAL_SUFFIX);
}

/* Parses a task word into family (-1: a scene task) and eval; 0 if it names no task. */
static int parse_task(const char *task, int *family, int *eval) {
    char base[64];
    size_t n = strlen(task), k = strlen(TASK_EVAL_SUFFIX);
    *eval = n > k && strcmp(task + n - k, TASK_EVAL_SUFFIX) == 0;
    snprintf(base, sizeof base, "%.*s", (int)(*eval ? n - k : n), task);
    if (strcmp(base, TASK_SCENE_WORD) == 0) {
        *family = -1;
        return 1;
    }
    *family = family_find(base);
    if (*family < 0 || !family_get(*family)->sample) return 0;
    return !*eval || family_get(*family)->show_eval != NULL;
}

/* Store-only input: the vocabulary's fake-name pool and seed. */
enum { STORE_FAKE_NAMES = 32, STORE_SEED = 1 };

typedef struct {
    const char *input, *out;
    const char *task;       /* the task word */
    int family;             /* the family of a glyph task; -1: a scene task */
    int eval;               /* 1: an evaluation episode */
    int ways, shots, items; /* -1 = the task's default */
    int kind;               /* scene tasks: task_scene_kind_t */
    int64_t seed, index;    /* seed < 0: the input's default */
    episode_format_t format;
} show_opts_t;

/* Returns -1 when parsing succeeded, else the exit code to return (usage error or --help). */
static int parse_opts(int argc, char **argv, show_opts_t *o) {
    static const char *const FORMATS[] = {"compact", "chat", NULL};
    memset(o, 0, sizeof *o);
    o->ways = o->shots = o->items = -1;
    o->seed = -1;
    const char *task = NULL, *kind = "colour";
    int format = 0, rc;
    const cli_opt_t opts[] = {CLI_OPT_STRING("--task", &task),
                              CLI_OPT_STRING("-o", &o->out),
                              CLI_OPT_STRING("--kind", &kind),
                              CLI_OPT_INT("--ways", &o->ways, 2, EPISODE_MAX_WAYS),
                              CLI_OPT_INT("--shots", &o->shots, 0, EPISODE_MAX_ITEMS),
                              CLI_OPT_INT("--items", &o->items, 1, EPISODE_MAX_ITEMS),
                              CLI_OPT_INT64("--seed", &o->seed, 0, INT64_MAX),
                              CLI_OPT_INT64("--index", &o->index, 0, INT64_MAX),
                              CLI_OPT_CHOICE("--format", &format, FORMATS),
                              CLI_OPT_END};
    if (!cli_parse(&CLI_DATA_SHOW, opts, argc, argv, &o->input, NULL, &rc)) return rc;
    o->format = format == 1 ? EPISODE_FORMAT_CHAT : EPISODE_FORMAT_COMPACT;
    char valid[256];
    valid_tasks(valid, sizeof valid);
    if (!task)
        return cli_usage_error(&CLI_DATA_SHOW, "--task is required (valid tasks: %s)", valid);
    if (!parse_task(task, &o->family, &o->eval))
        return cli_usage_error(&CLI_DATA_SHOW, "unknown task '%s' (valid tasks: %s)", task, valid);
    o->task = task;
    if (!o->out) return cli_usage_error(&CLI_DATA_SHOW, "-o EPISODE.png is required");
    int scene = o->family < 0;
    o->kind = task_scene_kind_of(kind);
    if (o->kind < 0)
        return cli_usage_error(&CLI_DATA_SHOW,
                               "unknown --kind '%s' (valid: colour, shape, position, size, count, "
                               "relation, count_induction, operator)",
                               kind);
    if (scene && o->ways >= 0)
        return cli_usage_error(&CLI_DATA_SHOW, "--ways does not apply to task %s", task);
    if (scene) {
        if (!o->eval && o->shots >= 0)
            return cli_usage_error(&CLI_DATA_SHOW, "--shots applies to task scene-eval, not scene");
        if (o->eval && o->items >= 0)
            return cli_usage_error(&CLI_DATA_SHOW,
                                   "--items does not apply to task scene-eval (K shots + 1)");
        if (o->shots < 0) o->shots = 3;
        if (o->items < 0) o->items = 6;
        return -1;
    }
    const family_info_t *f = family_get(o->family);
    if (!f->sample_ways && o->ways >= 0)
        return cli_usage_error(&CLI_DATA_SHOW, "--ways does not apply to task %s", task);
    if (!o->eval && o->shots >= 0)
        return cli_usage_error(&CLI_DATA_SHOW,
                               "--shots applies to evaluation tasks (-eval) only, not %s", task);
    if (o->eval && o->items >= 0)
        return cli_usage_error(&CLI_DATA_SHOW,
                               "--items does not apply to task %s (it has N*K+1 turns)", task);
    if (o->ways < 0) o->ways = 3;
    if (o->shots < 0) o->shots = 2;
    if (o->items < 0) o->items = f->sample_items;
    if (f->sample_ways && o->ways > f->sample_ways)
        return cli_usage_error(&CLI_DATA_SHOW, "%s takes 2 to %d ways", task, f->sample_ways);
    if (o->eval && o->family == FAMILY_BINDING && o->ways * o->shots + 1 > EPISODE_MAX_ITEMS)
        return cli_usage_error(&CLI_DATA_SHOW,
                               "a %d-way %d-shot episode has %d turns; at most %d fit an episode",
                               o->ways, o->shots, o->ways * o->shots + 1, EPISODE_MAX_ITEMS);
    return -1;
}

/* Fails early, before any store is read, when the output's directory is missing or not
 * writable. */
static void check_output_dir(const char *out) {
    size_t n = strlen(out);
    char *dir = micl_malloc(n + 2);
    memcpy(dir, out, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash)
        memcpy(dir, ".", 2);
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) != 0)
        micl_fatal("cannot write '%s': directory '%s' does not exist", out, dir);
    if (!S_ISDIR(st.st_mode)) micl_fatal("cannot write '%s': '%s' is not a directory", out, dir);
    if (access(dir, W_OK) != 0)
        micl_fatal("cannot write '%s': directory '%s' is not writable", out, dir);
    free(dir);
}

/* A config when the name ends in .cfg or the file exists and is not HDF5; otherwise a store
 * (so a missing STORE.h5 gets the store reader's message). */
static int input_is_config(const char *path) {
    size_t n = strlen(path);
    if (n >= 4 && strcmp(path + n - 4, ".cfg") == 0) return 1;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return H5Fis_hdf5(path) == 0;
}

static const char *split_name(int split) {
    switch (split) {
    case STORE_SPLIT_HELDOUT_CLASS:
        return "held-out classes";
    case STORE_SPLIT_TEST:
        return "held-out instances";
    default:
        return "training classes";
    }
}

/* Checks that an N-way episode can be drawn from src with v's fake names. */
static void check_ways(const show_opts_t *o, const episode_source_t *src, const vocab_t *v,
                       const char *store_path, int split) {
    if (src->n_classes < o->ways)
        micl_fatal("a %d-way %s episode needs %d classes, but %s has only %d (%s)", o->ways,
                   o->task, o->ways, store_path, src->n_classes, split_name(split));
    if (o->ways > v->n_fake)
        micl_fatal("a %d-way episode needs %d fake names; the vocabulary has %d", o->ways, o->ways,
                   v->n_fake);
}

/* A scene or operator episode of o->kind from store, drawn to o->out. */
static int show_scene(const show_opts_t *o, const image_store_t *store, const vocab_t *v,
                      const char *store_path, const char *origin, uint64_t seed) {
    task_scene_kind_t kind = (task_scene_kind_t)o->kind;
    int eval = o->eval, split = STORE_SPLIT_TRAIN;
    if (eval) {
        split = STORE_SPLIT_TEST;
        for (int64_t i = 0; i < store->n; i++)
            if (store->split[i] == STORE_SPLIT_HELDOUT_CLASS) split = STORE_SPLIT_HELDOUT_CLASS;
    }
    task_scene_source_t src;
    task_scene_source_init(&src, store, split, v, o->format);
    episode_t *ep = micl_calloc(1, sizeof *ep);
    char what[256];
    if (eval) {
        if (o->shots + 1 > EPISODE_MAX_ITEMS)
            micl_fatal("a %d-shot episode has %d turns; at most %d fit an episode", o->shots,
                       o->shots + 1, EPISODE_MAX_ITEMS);
        rng_t r = rng_make(seed, RNG_STREAM_EVAL_EPISODE, (uint64_t)o->index);
        task_scene_eval(&src, &r, kind, o->shots, ep);
        snprintf(what, sizeof what,
                 "scene-eval \xC2\xB7 %s, %d-shot \xC2\xB7 evaluation episode, %s",
                 task_scene_kind_name(kind), o->shots,
                 split == STORE_SPLIT_HELDOUT_CLASS ? "held-out split" : "test split");
    } else {
        rng_t r = rng_make(seed, RNG_STREAM_TRAIN_EPISODE, (uint64_t)o->index);
        task_scene_train(&src, &r, kind, o->items, ep);
        snprintf(what, sizeof what,
                 "scene \xC2\xB7 %s, %d turns \xC2\xB7 training episode, train split",
                 task_scene_kind_name(kind), o->items);
    }
    char title[2048];
    snprintf(title, sizeof title,
             "%s\nstore %s (%s, %lld images of %dx%dx%d) \xC2\xB7 %s\n"
             "seed %llu, episode %lld \xC2\xB7 %s format, %d tokens",
             what, store_path, store->source, (long long)store->n, store->h, store->w, store->c,
             origin, (unsigned long long)seed, (long long)o->index,
             o->format == EPISODE_FORMAT_CHAT ? "chat" : "compact", ep->n_tokens);
    show_episode_png(ep, store, v, title, o->out);
    micl_info("%s: %s %s episode, %d turns, %d tokens", o->out, o->task, task_scene_kind_name(kind),
              ep->n_images, ep->n_tokens);
    free(ep);
    task_scene_source_free(&src);
    return 0;
}

int cmd_data_show(int argc, char **argv) {
    show_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0) return rc;
    if (micl_rank() > 0) return 0; /* one picture, written by rank 0 */
    atomic_file_input(o.input, input_is_config(o.input) ? "the config" : "the image store");
    char why[8400];
    if (atomic_file_check(o.out, FILE_KIND_PNG, why, sizeof why))
        return cli_usage_error(&CLI_DATA_SHOW, "%s", why);
    check_output_dir(o.out);

    /* the store and the vocabulary */
    config_t cfg;
    image_store_t store;
    vocab_t v;
    char store_path[CONFIG_PATH_LEN + 64], origin[CONFIG_PATH_LEN + 160];
    int from_config = input_is_config(o.input);
    uint64_t seed;
    int scene = o.family < 0;
    if (from_config) {
        config_load(o.input, &cfg);
        if (!scene)
            data_glyph_store_path(&cfg, store_path, (int)sizeof store_path);
        else if (task_scene_needs_operands((task_scene_kind_t)o.kind))
            data_operator_store_path(&cfg, store_path, (int)sizeof store_path);
        else
            data_scene_store_path(&cfg, store_path, (int)sizeof store_path);
        atomic_file_input(store_path, "the image store");
        store_read(store_path, &store);
        vocab_build(&v, &store, cfg.fake_names, cfg.seed, cfg.question);
        seed = o.seed >= 0 ? (uint64_t)o.seed : cfg.seed;
        snprintf(origin, sizeof origin, "config %s (fake_names %d, seed %llu)", cfg.path,
                 cfg.fake_names, (unsigned long long)cfg.seed);
    } else {
        snprintf(store_path, sizeof store_path, "%s", o.input);
        store_read(store_path, &store);
        vocab_build(&v, &store, STORE_FAKE_NAMES, STORE_SEED, "");
        seed = o.seed >= 0 ? (uint64_t)o.seed : STORE_SEED;
        snprintf(origin, sizeof origin, "vocabulary of the store (%d fake names, seed %d)",
                 STORE_FAKE_NAMES, STORE_SEED);
    }

    if (scene) {
        rc = show_scene(&o, &store, &v, store_path, origin, seed);
        vocab_free(&v);
        store_free(&store);
        if (from_config) config_free(&cfg);
        return rc;
    }

    /* the episode: the family's sample (training) or show_eval (evaluation) */
    const family_info_t *f = family_get(o.family);
    int split = o.eval ? store_eval_split(&store) : STORE_SPLIT_TRAIN;
    store_index_t ix;
    store_index_build(&store, split, &ix);
    episode_source_t src;
    episode_source_init(&src, &store, &ix, &v, f->sample_real_names, o.format);
    episode_t *ep = micl_calloc(1, sizeof *ep);
    char what[256];
    if (f->sample_ways) check_ways(&o, &src, &v, store_path, split);
    if (o.eval) {
        if (o.family == FAMILY_BINDING && o.ways * o.shots + 1 > EPISODE_MAX_ITEMS)
            micl_fatal("a %d-way %d-shot episode has %d turns; at most %d fit an episode", o.ways,
                       o.shots, o.ways * o.shots + 1, EPISODE_MAX_ITEMS);
        f->show_eval(&src, seed, o.index, o.ways, o.shots, ep);
        f->show_what(what, sizeof what, 1, o.ways, o.shots, split_name(split));
    } else {
        if (o.family == FAMILY_MATCHING && src.n_classes < 2)
            micl_fatal("%s: matching needs 2 classes with images", store_path);
        if (o.family == FAMILY_CLASSIFY && src.n_classes < 1)
            micl_fatal("%s: classify needs training classes with images and real names; the "
                       "store has none",
                       store_path);
        episode_plan_t *plan = micl_malloc(sizeof *plan);
        rng_t r = rng_make(seed, RNG_STREAM_TRAIN_EPISODE, (uint64_t)o.index);
        f->sample(&src, &r, o.ways, o.items, plan);
        episode_layout(&src, plan, ep);
        free(plan);
        f->show_what(what, sizeof what, 0, o.ways, o.items, split_name(split));
    }

    char title[2048];
    snprintf(title, sizeof title,
             "%s\nstore %s (%s, %lld images of %dx%d, %d classes) \xC2\xB7 %s\n"
             "seed %llu, episode %lld \xC2\xB7 %s format, %d tokens",
             what, store_path, store.source, (long long)store.n, store.h, store.w, store.n_classes,
             origin, (unsigned long long)seed, (long long)o.index,
             o.format == EPISODE_FORMAT_CHAT ? "chat" : "compact", ep->n_tokens);
    show_episode_png(ep, &store, &v, title, o.out);
    micl_info("%s: %s episode, %d turns, %d tokens", o.out, o.task, ep->n_turns, ep->n_tokens);

    free(ep);
    episode_source_free(&src);
    store_index_free(&ix);
    vocab_free(&v);
    store_free(&store);
    if (from_config) config_free(&cfg);
    return 0;
}
