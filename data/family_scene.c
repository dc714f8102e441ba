/* family_scene.c - the families of the scene and operator stores: attributes, counting,
 * relations, count_induction, operators, captions and arithmetic (their descriptors for the
 * registry, family.h). Each is one or more task_scene kinds (task_scene.h builds the episodes);
 * their evaluation episodes are drawn by the benchmark's kind, and `micl data show` draws them by
 * kind (--task scene --kind K), so they have no sample of their own.
 */
#include "family.h"

/* Up to 6 question words of their own: <image>, the words, one answer word (chat: markers). */
static int scene_turn_tokens(const vocab_t *v, episode_format_t format, int ways_max) {
    (void)ways_max;
    int base = episode_turn_tokens(v, format);
    int own = 2 + 6 + (format == EPISODE_FORMAT_CHAT ? 3 : 0);
    return own > base ? own : base;
}

static void scene_eval(const benchmark_source_t *bs, const family_cell_t *c, rng_t *r,
                       episode_t *ep) {
    task_scene_eval(&bs->scene, r, (task_scene_kind_t)bs->benchmark->kind, c->shots, ep);
}

/* One attribute per episode: colour, shape or position. */
static void attributes_train(const family_sources_t *src, const stage_config_t *s, int items,
                             float exact, rng_t *r, episode_plan_t *plan) {
    (void)s, (void)exact;
    static const task_scene_kind_t kinds[3] = {TASK_SCENE_COLOUR, TASK_SCENE_SHAPE,
                                               TASK_SCENE_POSITION};
    task_scene_train_plan(src->scene, r, kinds[rng_below(r, 3)], items, plan);
}

#define SCENE_TRAIN(fn, store, kind)                                                               \
    static void fn(const family_sources_t *src, const stage_config_t *s, int items, float exact,   \
                   rng_t *r, episode_plan_t *plan) {                                               \
        (void)s, (void)exact;                                                                      \
        task_scene_train_plan(src->store, r, kind, items, plan);                                   \
    }
SCENE_TRAIN(counting_train, scene, TASK_SCENE_COUNT)
SCENE_TRAIN(relations_train, scene, TASK_SCENE_RELATION)
SCENE_TRAIN(count_induction_train, scene, TASK_SCENE_COUNT_INDUCTION)
SCENE_TRAIN(operators_train, op, TASK_SCENE_OPERATOR)
SCENE_TRAIN(captions_train, scene, TASK_SCENE_CAPTION)
SCENE_TRAIN(arithmetic_train, op, TASK_SCENE_ARITHMETIC)
#undef SCENE_TRAIN

#define SCENE_FAMILY(name)                                                                         \
    const family_info_t family_##name = {                                                          \
        .train = name##_train,                                                                     \
        .turn_tokens = scene_turn_tokens,                                                          \
        .turn_images = 1,                                                                          \
        .eval = scene_eval,                                                                        \
    };
SCENE_FAMILY(attributes)
SCENE_FAMILY(counting)
SCENE_FAMILY(relations)
SCENE_FAMILY(count_induction)
SCENE_FAMILY(operators)
SCENE_FAMILY(captions)
SCENE_FAMILY(arithmetic)
#undef SCENE_FAMILY
