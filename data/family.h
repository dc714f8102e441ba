/* family.h - the registry of task families: how each family of CONFIG_FAMILIES builds its
 * episodes.
 *
 * common/config.h lists the families (id, config word, store, docs of the mix key); every row
 * there has a descriptor family_<name> (family_info_t) here in data/, defined in the file that
 * owns the family's builders (family_glyph.c: classify, binding, mc, matching, named,
 * bursty; family_scene.c: the scene and operator families). family.c gathers them in family_t
 * order, so a new family is one row in CONFIG_FAMILIES plus one file that defines its descriptor.
 * The trainer, the benchmarks, `micl data show` and `micl data export` ask this table rather than
 * switching on family_t. Every builder draws from the rng passed in, in a fixed order, so an
 * episode stays a pure function of its key.
 */
#ifndef MICL_FAMILY_H
#define MICL_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/rng.h"
#include "benchmark.h"
#include "episode.h"
#include "task_scene.h"

/* What training episodes are drawn from: the glyph store's train split with fake names and
 * with real names, and the train splits of the scene and operator stores (NULL: no store). */
typedef struct {
    const episode_source_t *fake, *real;
    const task_scene_source_t *scene, *op;
} family_sources_t;

/* Episode e of `episodes` of a benchmark cell (ways, shots), variant (option order). */
typedef struct {
    uint64_t seed;
    int ways, shots, variant;
    int64_t e, episodes;
} family_cell_t;

typedef struct {
    /* Training: one coherent plan of `items` turns for stage s (ways, mc_fake), where a
     * repeated class reuses an exact earlier image with probability `exact`. */
    void (*train)(const family_sources_t *src, const stage_config_t *s, int items, float exact,
                  rng_t *r, episode_plan_t *plan);
    /* The most tokens one turn takes (ways_max: the largest N of an episode). */
    int (*turn_tokens)(const vocab_t *v, episode_format_t format, int ways_max);
    int turn_images; /* images one turn shows */
    /* Evaluation: episode c of a cell of benchmark bs->benchmark, r keyed by the cell (NULL: the
     * family has no evaluation episodes). */
    void (*eval)(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r, episode_t *ep);
    /* `micl data show --task <name>` and `micl data export --task <name>`: a training episode of
     * exactly `ways` classes and `items` turns from the glyph store (src: real names when
     * sample_real_names). NULL: not offered (scene families are shown by kind, --task scene). */
    void (*sample)(const episode_source_t *src, rng_t *r, int ways, int items,
                   episode_plan_t *plan);
    int sample_real_names;
    int sample_ways;  /* maximum N of --ways (0: the family takes no ways) */
    int sample_items; /* turns `micl data show` draws by default */
    /* `micl data show --task <name>-eval`: episode `index` of the (ways, shots) cell of the
     * seed, as evaluation draws it (NULL: none). */
    void (*show_eval)(const episode_source_t *src, uint64_t seed, int64_t index, int ways,
                      int shots, episode_t *ep);
    /* The line that names a shown episode: `n` is items (training) or shots (eval), `split`
     * the images it came from. */
    void (*show_what)(char *out, size_t len, int eval, int ways, int n, const char *split);
} family_info_t;

/* The descriptor of family f (fatal if f is not a family). */
const family_info_t *family_get(int f);
/* The config word of family f ("binding"). */
const char *family_name(int f);
/* The family called `name`, or -1. */
int family_find(const char *name);

/* The descriptors, one per row of CONFIG_FAMILIES. */
#define FAMILY_DECLARE(id, name, store, doc) extern const family_info_t family_##name;
CONFIG_FAMILIES(FAMILY_DECLARE)
#undef FAMILY_DECLARE

#endif
