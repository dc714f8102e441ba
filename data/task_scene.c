/* task_scene.c - builders of the scene and operator task families (see task_scene.h).
 *
 * An episode is built in two steps: draw the episode's concept (pick_concept), then draw
 * turns (draw_turn): an image that fits the concept, its question words and its answer, all
 * computed from the store's metadata. Turns are appended with the same token layout as
 * data/episode.c. Images are drawn by rejection with a bounded number of tries; a store that
 * cannot give a fitting image fails with a message instead of looping.
 */
#include "task_scene.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "scenes.h"

#define TASK_SCENE_TRIES 4096
#define TASK_SCENE_EPISODE_TRIES 64 /* redraws of an induction episode until it is determined */
#define TASK_SCENE_MAX_Q 6
#define TASK_SCENE_MAX_A TASK_SCENE_CAPTION_WORDS

static const char *KIND_NAMES[TASK_SCENE_N_KINDS] = {
    "colour",   "shape",           "position", "size",    "count",
    "relation", "count_induction", "operator", "caption", "arithmetic"};

enum { REL_LEFT = 0, REL_RIGHT, REL_ABOVE, REL_BELOW, N_RELATIONS };
static const char *REL_WORDS[N_RELATIONS] = {"left", "right", "above", "below"};
static const char *POSITION_WORDS[3] = {"left", "middle", "right"};
static const char *OP_WORDS[TASK_SCENE_N_OPS] = {"plus", "minus", "times"};

/* The concept every turn of an episode shares. */
typedef struct {
    task_scene_kind_t kind;
    int shape;     /* COUNT: the counted shape */
    int relation;  /* RELATION: REL_* */
    int by_colour; /* COUNT_INDUCTION: 1 counts a colour, 0 a shape */
    int value;     /* COUNT_INDUCTION: the counted colour or shape */
    int op;        /* OPERATOR: TASK_SCENE_OP_* */
} concept_t;

typedef struct {
    int64_t image;
    int n_q;
    int32_t q[TASK_SCENE_MAX_Q];
    int n_answer;
    int32_t answer[TASK_SCENE_MAX_A];
} turn_t;

/* ----------------------------------------------------------------- names and lookups */

const char *task_scene_kind_name(task_scene_kind_t kind) {
    return kind >= 0 && kind < TASK_SCENE_N_KINDS ? KIND_NAMES[kind] : "?";
}

int task_scene_kind_of(const char *name) {
    for (int k = 0; k < TASK_SCENE_N_KINDS; k++)
        if (strcmp(name, KIND_NAMES[k]) == 0) return k;
    return -1;
}

int task_scene_trained(task_scene_kind_t kind) {
    return kind != TASK_SCENE_SIZE;
}

int task_scene_needs_operands(task_scene_kind_t kind) {
    return kind == TASK_SCENE_OPERATOR || kind == TASK_SCENE_ARITHMETIC;
}

int task_scene_apply_op(int op, int a, int b) {
    return op == TASK_SCENE_OP_ADD ? a + b : op == TASK_SCENE_OP_SUB ? a - b : a * b;
}

static const int16_t *object(const image_store_t *s, int64_t i, int k) {
    return s->objects + ((size_t)i * s->max_objects + k) * STORE_OBJECT_FIELDS;
}

int task_scene_focus(const image_store_t *s, int64_t i) {
    int n = s->n_objects[i], large = 0, which = -1;
    if (n == 1) return 0;
    for (int k = 0; k < n; k++)
        if (object(s, i, k)[STORE_OBJ_SIZE] == 1) {
            large++;
            which = k;
        }
    return large == 1 ? which : -1;
}

/* The id of a task word; the vocabulary was checked to have them all at source init. */
static int32_t word(const task_scene_source_t *src, const char *w) {
    int id = vocab_task_id(src->vocab, w);
    if (id < 0) micl_fatal("the vocabulary has no task word '%s'", w);
    return id;
}

static int32_t number(const task_scene_source_t *src, int k) {
    int id = vocab_number_id(src->vocab, k);
    if (id < 0) micl_fatal("the vocabulary has no number word for %d", k);
    return id;
}

/* ------------------------------------------------------------------------------- source */

void task_scene_source_init(task_scene_source_t *src, const image_store_t *store, int split,
                            const vocab_t *vocab, episode_format_t format) {
    memset(src, 0, sizeof *src);
    int n_task;
    vocab_task_words(&n_task);
    /* A vocabulary saved before the operator words ("plus" ..., appended last) still runs
     * every kind but arithmetic, whose words then fail by name (word()). */
    if (vocab->n_task != n_task && vocab_task_id(vocab, "same") < 0)
        micl_fatal("the vocabulary has %d of the %d task words (made before the task section?); "
                   "scene and operator episodes need all of them",
                   vocab->n_task, n_task);
    if (!store->objects && !store->operands)
        micl_fatal("store '%s' has neither object nor operand metadata: scene and operator "
                   "episodes need a scene or operator store",
                   store->source);
    src->store = store;
    src->vocab = vocab;
    src->format = format;
    src->split = split;
    src->max_objects = store->objects ? store->max_objects : 0;
    src->images = micl_malloc((size_t)store->n * sizeof *src->images);
    src->focus = micl_malloc((size_t)store->n * sizeof *src->focus);
    for (int64_t i = 0; i < store->n; i++) {
        if (store->split[i] != split) continue;
        src->images[src->n_images++] = i;
        if (store->objects && task_scene_focus(store, i) >= 0) src->focus[src->n_focus++] = i;
    }
    if (src->n_images == 0)
        micl_fatal("store '%s' has no images of split %d", store->source, split);
}

void task_scene_source_free(task_scene_source_t *src) {
    free(src->images);
    free(src->focus);
    memset(src, 0, sizeof *src);
}

/* Images whose focus object the question is about (attribute questions and captions). */
static int uses_focus(task_scene_kind_t kind) {
    return kind <= TASK_SCENE_SIZE || kind == TASK_SCENE_CAPTION;
}

static void check_kind(const task_scene_source_t *src, task_scene_kind_t kind) {
    if (kind < 0 || kind >= TASK_SCENE_N_KINDS) micl_fatal("unknown scene task kind %d", kind);
    if (task_scene_needs_operands(kind) && !src->store->operands)
        micl_fatal("%s episodes need an operator store (/operands); store '%s' has none",
                   task_scene_kind_name(kind), src->store->source);
    if (!task_scene_needs_operands(kind) && !src->store->objects)
        micl_fatal("%s episodes need a scene store (/objects); store '%s' has none",
                   task_scene_kind_name(kind), src->store->source);
    if (uses_focus(kind) && src->n_focus == 0)
        micl_fatal("%s episodes need images with a focus object; split %d of store '%s' has "
                   "none",
                   task_scene_kind_name(kind), src->split, src->store->source);
}

/* ------------------------------------------------------------------------------ concept */

static void pick_concept(rng_t *r, task_scene_kind_t kind, concept_t *c) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    if (kind == TASK_SCENE_COUNT) c->shape = (int)rng_below(r, SCENES_N_SHAPES);
    if (kind == TASK_SCENE_RELATION) c->relation = (int)rng_below(r, N_RELATIONS);
    if (kind == TASK_SCENE_COUNT_INDUCTION) {
        c->by_colour = (int)rng_below(r, 2);
        c->value = (int)rng_below(r, c->by_colour ? SCENES_N_COLOURS : SCENES_N_SHAPES);
    }
    if (kind == TASK_SCENE_OPERATOR) c->op = (int)rng_below(r, TASK_SCENE_N_OPS);
}

/* ------------------------------------------------------------------------------- turns */

static void set_answer(turn_t *t, int32_t id) {
    t->n_answer = 1;
    t->answer[0] = id;
}

/* "what is" -> "<size> <colour> <shape> <position>" of the focus object. Captions are where
 * the size words are trained: the "what size" question itself stays held out. */
static void caption_turn(const task_scene_source_t *src, turn_t *t) {
    const image_store_t *s = src->store;
    const int16_t *o = object(s, t->image, task_scene_focus(s, t->image));
    t->q[t->n_q++] = word(src, "what");
    t->q[t->n_q++] = word(src, "is");
    t->n_answer = TASK_SCENE_CAPTION_WORDS;
    t->answer[0] = word(src, scenes_size_name(o[STORE_OBJ_SIZE]));
    t->answer[1] = word(src, scenes_colour_name(o[STORE_OBJ_COLOUR]));
    t->answer[2] = word(src, scenes_shape_name(o[STORE_OBJ_SHAPE]));
    t->answer[3] = word(src, POSITION_WORDS[o[STORE_OBJ_X] * 3 / s->w]);
}

static void attribute_turn(const task_scene_source_t *src, const concept_t *c, turn_t *t) {
    const image_store_t *s = src->store;
    const int16_t *o = object(s, t->image, task_scene_focus(s, t->image));
    static const char *ask[4] = {"colour", "shape", NULL, "size"};
    if (c->kind == TASK_SCENE_POSITION) {
        t->q[t->n_q++] = word(src, "where");
    } else {
        t->q[t->n_q++] = word(src, "what");
        t->q[t->n_q++] = word(src, ask[c->kind]);
    }
    switch (c->kind) {
    case TASK_SCENE_COLOUR:
        set_answer(t, word(src, scenes_colour_name(o[STORE_OBJ_COLOUR])));
        break;
    case TASK_SCENE_SHAPE:
        set_answer(t, word(src, scenes_shape_name(o[STORE_OBJ_SHAPE])));
        break;
    case TASK_SCENE_POSITION:
        set_answer(t, word(src, POSITION_WORDS[o[STORE_OBJ_X] * 3 / s->w]));
        break;
    default: /* TASK_SCENE_SIZE */
        set_answer(t, word(src, scenes_size_name(o[STORE_OBJ_SIZE])));
        break;
    }
}

/* Objects of image i whose field f equals v. */
static int count_matching(const image_store_t *s, int64_t i, int f, int v) {
    int n = 0;
    for (int k = 0; k < s->n_objects[i]; k++)
        n += object(s, i, k)[f] == v;
    return n;
}

static void count_turn(const task_scene_source_t *src, const concept_t *c, turn_t *t) {
    int f = STORE_OBJ_SHAPE, v = c->shape;
    t->q[t->n_q++] = word(src, "how");
    t->q[t->n_q++] = word(src, "many");
    if (c->kind == TASK_SCENE_COUNT) {
        t->q[t->n_q++] = word(src, scenes_shape_name(c->shape));
    } else {
        f = c->by_colour ? STORE_OBJ_COLOUR : STORE_OBJ_SHAPE;
        v = c->value;
    }
    set_answer(t, number(src, count_matching(src->store, t->image, f, v)));
}

/* 1 if object a stands in relation rel to object b (centres >= 2 px apart on the axis),
 * 0 if the opposite holds, -1 if they are too close to tell. */
static int relation_holds(const int16_t *a, const int16_t *b, int rel) {
    int horizontal = rel == REL_LEFT || rel == REL_RIGHT;
    int d = horizontal ? b[STORE_OBJ_X] - a[STORE_OBJ_X] : b[STORE_OBJ_Y] - a[STORE_OBJ_Y];
    if (abs(d) < 2) return -1;
    int before = d > 0; /* a left of / above b */
    return (rel == REL_LEFT || rel == REL_ABOVE) ? before : !before;
}

/* Picks two objects of shapes unique in the image whose relation answer is `want`; returns 0 if
 * the image has no such pair. */
static int relation_pair(const image_store_t *s, int64_t i, int rel, int want, rng_t *r, int *pa,
                         int *pb) {
    int n = s->n_objects[i], pairs[STORE_MAX_OBJECTS * STORE_MAX_OBJECTS][2], np = 0;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++) {
            const int16_t *oa = object(s, i, a), *ob = object(s, i, b);
            if (a == b || count_matching(s, i, STORE_OBJ_SHAPE, oa[STORE_OBJ_SHAPE]) != 1 ||
                count_matching(s, i, STORE_OBJ_SHAPE, ob[STORE_OBJ_SHAPE]) != 1)
                continue;
            if (relation_holds(oa, ob, rel) != want) continue;
            pairs[np][0] = a;
            pairs[np][1] = b;
            np++;
        }
    if (np == 0) return 0;
    int k = (int)rng_below(r, (uint64_t)np);
    *pa = pairs[k][0];
    *pb = pairs[k][1];
    return 1;
}

/* Returns 0 when the image cannot carry a relation question with the wanted answer. */
static int relation_turn(const task_scene_source_t *src, const concept_t *c, int want, rng_t *r,
                         turn_t *t) {
    int a, b;
    if (!relation_pair(src->store, t->image, c->relation, want, r, &a, &b)) return 0;
    const int16_t *oa = object(src->store, t->image, a), *ob = object(src->store, t->image, b);
    t->q[t->n_q++] = word(src, "is");
    t->q[t->n_q++] = word(src, scenes_shape_name(oa[STORE_OBJ_SHAPE]));
    t->q[t->n_q++] = word(src, REL_WORDS[c->relation]);
    if (c->relation == REL_LEFT || c->relation == REL_RIGHT) t->q[t->n_q++] = word(src, "of");
    t->q[t->n_q++] = word(src, scenes_shape_name(ob[STORE_OBJ_SHAPE]));
    set_answer(t, word(src, want ? "yes" : "no"));
    return 1;
}

static void operator_turn(const task_scene_source_t *src, const concept_t *c, turn_t *t) {
    int a = src->store->operands[2 * t->image], b = src->store->operands[2 * t->image + 1];
    t->q[t->n_q++] = word(src, "what");
    t->q[t->n_q++] = word(src, "result");
    int v = task_scene_apply_op(c->op, a, b);
    if (v < 0)
        micl_fatal("operator image %lld shows %d ? %d with a < b; operator stores keep a >= b",
                   (long long)t->image, a, b);
    set_answer(t, number(src, v));
}

/* "what result <op>" -> the result: the operator is named, so the image alone answers it. */
static void arithmetic_turn(const task_scene_source_t *src, int op, turn_t *t) {
    concept_t c = {.kind = TASK_SCENE_OPERATOR, .op = op};
    operator_turn(src, &c, t);
    t->q[t->n_q++] = word(src, OP_WORDS[op]);
}

static int is_used(int64_t img, const int64_t *used, int n_used) {
    for (int i = 0; i < n_used; i++)
        if (used[i] == img) return 1;
    return 0;
}

/* Draws one turn that fits the concept on an image not in used[0..n_used). */
static void draw_turn(const task_scene_source_t *src, rng_t *r, const concept_t *c,
                      const int64_t *used, int n_used, turn_t *t) {
    int attribute = c->kind <= TASK_SCENE_SIZE;
    const int64_t *pool = uses_focus(c->kind) ? src->focus : src->images;
    int64_t n_pool = uses_focus(c->kind) ? src->n_focus : src->n_images;
    /* relations: whether the relation holds; size: which size the focus object has, drawn
     * evenly (most focus objects are large, so without this a model that always answers
     * "large" would look right on the held-out question type) */
    int want =
        c->kind == TASK_SCENE_RELATION || c->kind == TASK_SCENE_SIZE ? (int)rng_below(r, 2) : 0;
    /* arithmetic: each turn draws its own operator, then its image */
    if (c->kind == TASK_SCENE_ARITHMETIC) want = (int)rng_below(r, TASK_SCENE_N_OPS);
    for (int tries = 0; tries < TASK_SCENE_TRIES; tries++) {
        memset(t, 0, sizeof *t);
        t->image = pool[rng_below(r, (uint64_t)n_pool)];
        if (is_used(t->image, used, n_used) && n_pool > n_used) continue;
        if (c->kind == TASK_SCENE_SIZE &&
            object(src->store, t->image, task_scene_focus(src->store, t->image))[STORE_OBJ_SIZE] !=
                want)
            continue;
        if (attribute)
            attribute_turn(src, c, t);
        else if (c->kind == TASK_SCENE_CAPTION)
            caption_turn(src, t);
        else if (c->kind == TASK_SCENE_COUNT || c->kind == TASK_SCENE_COUNT_INDUCTION)
            count_turn(src, c, t);
        else if (c->kind == TASK_SCENE_OPERATOR)
            operator_turn(src, c, t);
        else if (c->kind == TASK_SCENE_ARITHMETIC)
            arithmetic_turn(src, want, t);
        else if (!relation_turn(src, c, want, r, t))
            continue;
        return;
    }
    micl_fatal("no image of split %d of store '%s' fits a %s question after %d tries", src->split,
               src->store->source, task_scene_kind_name(c->kind), TASK_SCENE_TRIES);
}

/* ------------------------------------------------------------------------- the episode */

/* The store rows of a plan's turns so far (plan image ids minus the source's image_base). */
static int plan_rows(const task_scene_source_t *src, const episode_plan_t *plan, int64_t *rows) {
    for (int t = 0; t < plan->n_turns; t++)
        rows[t] = plan->turns[t].images[0] - src->image_base;
    return plan->n_turns;
}

/* Appends [USER:] <image> question.. [ASSISTANT:] answer [<eot>] to the plan; the answer carries
 * loss when `scored`. */
static void add_turn(episode_plan_t *plan, const task_scene_source_t *src, const turn_t *t,
                     int shots, int scored) {
    if (plan->n_turns >= EPISODE_MAX_ITEMS)
        micl_fatal("episode has more than %d turns", EPISODE_MAX_ITEMS);
    episode_turn_t *e = &plan->turns[plan->n_turns++];
    memset(e, 0, sizeof *e);
    e->n_images = 1;
    e->images[0] = t->image + src->image_base;
    e->n_question = t->n_q;
    memcpy(e->question, t->q, (size_t)t->n_q * sizeof(int32_t));
    e->n_answer = t->n_answer;
    memcpy(e->answer, t->answer, (size_t)t->n_answer * sizeof(int32_t));
    e->shots = (int16_t)shots;
    e->scored = (uint8_t)scored;
}

static void begin(task_scene_kind_t kind, episode_plan_t *plan) {
    plan->n_turns = 0;
    plan->n_candidates = 0;
    plan->family = TASK_SCENE_FAMILY_BASE + (int)kind;
}

/* Lays a plan out in the source's format and turn layout. */
static void layout(const task_scene_source_t *src, const episode_plan_t *plan, episode_t *ep) {
    episode_source_t es;
    memset(&es, 0, sizeof es);
    es.vocab = src->vocab;
    es.format = src->format;
    es.turns = src->turns;
    episode_layout(&es, plan, ep);
}

static int is_induction(task_scene_kind_t kind) {
    return kind == TASK_SCENE_COUNT_INDUCTION || kind == TASK_SCENE_OPERATOR;
}

/* Appends the plan's next turn (its image differs from the earlier turns'). */
static void next_turn(episode_plan_t *plan, const task_scene_source_t *src, rng_t *r,
                      const concept_t *c, int scored) {
    turn_t t;
    int64_t rows[EPISODE_MAX_ITEMS];
    int n = plan_rows(src, plan, rows);
    draw_turn(src, r, c, rows, n, &t);
    int shots = is_induction(c->kind) ? n : -1;
    add_turn(plan, src, &t, shots, scored);
}

void task_scene_train_plan(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind,
                           int items, episode_plan_t *plan) {
    check_kind(src, kind);
    if (!task_scene_trained(kind))
        micl_fatal("%s questions are held out for evaluation and never trained on",
                   task_scene_kind_name(kind));
    if (items < 1 || items > EPISODE_MAX_ITEMS)
        micl_fatal("scene episodes take 1 .. %d turns, got %d", EPISODE_MAX_ITEMS, items);
    concept_t c;
    pick_concept(r, kind, &c);
    begin(kind, plan);
    for (int i = 0; i < items; i++)
        next_turn(plan, src, r, &c, is_induction(kind) ? i > 0 : 1);
}

void task_scene_train(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind, int items,
                      episode_t *ep) {
    episode_plan_t plan;
    task_scene_train_plan(src, r, kind, items, &plan);
    layout(src, &plan, ep);
}

static void add_words(const task_scene_source_t *src, episode_plan_t *ep, const char *const *w,
                      int n) {
    for (int i = 0; i < n; i++)
        ep->candidates[ep->n_candidates++] = word(src, w[i]);
}

/* The closed answer set of the episode's query (task_scene.h). */
static void set_candidates(const task_scene_source_t *src, const concept_t *c, episode_plan_t *ep) {
    static const char *sizes[2] = {"small", "large"}, *yesno[2] = {"yes", "no"};
    ep->n_candidates = 0;
    switch (c->kind) {
    case TASK_SCENE_COLOUR:
        for (int i = 0; i < SCENES_N_COLOURS; i++)
            ep->candidates[ep->n_candidates++] = word(src, scenes_colour_name(i));
        break;
    case TASK_SCENE_SHAPE:
        for (int i = 0; i < SCENES_N_SHAPES; i++)
            ep->candidates[ep->n_candidates++] = word(src, scenes_shape_name(i));
        break;
    case TASK_SCENE_POSITION:
        add_words(src, ep, POSITION_WORDS, 3);
        break;
    case TASK_SCENE_SIZE:
        add_words(src, ep, sizes, 2);
        break;
    case TASK_SCENE_RELATION:
        add_words(src, ep, yesno, 2);
        break;
    case TASK_SCENE_CAPTION: /* every caption word: each answer token is ranked among them */
        add_words(src, ep, sizes, 2);
        for (int i = 0; i < SCENES_N_COLOURS; i++)
            ep->candidates[ep->n_candidates++] = word(src, scenes_colour_name(i));
        for (int i = 0; i < SCENES_N_SHAPES; i++)
            ep->candidates[ep->n_candidates++] = word(src, scenes_shape_name(i));
        add_words(src, ep, POSITION_WORDS, 3);
        break;
    case TASK_SCENE_OPERATOR:
    case TASK_SCENE_ARITHMETIC: {
        int64_t q = ep->turns[ep->n_turns - 1].images[0] - src->image_base;
        int a = src->store->operands[2 * q], b = src->store->operands[2 * q + 1];
        for (int op = 0; op < TASK_SCENE_N_OPS; op++) {
            int32_t id = number(src, task_scene_apply_op(op, a, b));
            int dup = 0;
            for (int k = 0; k < ep->n_candidates; k++)
                dup |= ep->candidates[k] == id;
            if (!dup) ep->candidates[ep->n_candidates++] = id;
        }
        break;
    }
    default: /* the counts */
        for (int k = 0; k <= src->max_objects; k++)
            ep->candidates[ep->n_candidates++] = number(src, k);
        break;
    }
}

/* The answer value of an induction concept on store row i (a count or an operator result). */
static int induction_value(const task_scene_source_t *src, const concept_t *c, int64_t i) {
    if (c->kind == TASK_SCENE_OPERATOR)
        return task_scene_apply_op(c->op, src->store->operands[2 * i],
                                   src->store->operands[2 * i + 1]);
    return count_matching(src->store, i, c->by_colour ? STORE_OBJ_COLOUR : STORE_OBJ_SHAPE,
                          c->value);
}

/* 1 if every concept of the kind that explains all demonstrations of ep gives the query the
 * same answer: the demonstrations determine the query. */
static int query_determined(const task_scene_source_t *src, task_scene_kind_t kind,
                            const episode_plan_t *ep) {
    concept_t all[SCENES_N_COLOURS + SCENES_N_SHAPES];
    int n = 0;
    if (kind == TASK_SCENE_OPERATOR) {
        for (int op = 0; op < TASK_SCENE_N_OPS; op++)
            all[n++] = (concept_t){.kind = kind, .op = op};
    } else {
        for (int v = 0; v < SCENES_N_COLOURS; v++)
            all[n++] = (concept_t){.kind = kind, .by_colour = 1, .value = v};
        for (int v = 0; v < SCENES_N_SHAPES; v++)
            all[n++] = (concept_t){.kind = kind, .by_colour = 0, .value = v};
    }
    int64_t rows[EPISODE_MAX_ITEMS];
    int q = plan_rows(src, ep, rows) - 1, answer = -1;
    for (int k = 0; k < n; k++) {
        int fits = 1;
        for (int t = 0; t < q && fits; t++)
            fits = number(src, induction_value(src, &all[k], rows[t])) == ep->turns[t].answer[0];
        if (!fits) continue;
        int a = induction_value(src, &all[k], rows[q]);
        if (answer >= 0 && a != answer) return 0;
        answer = a;
    }
    return 1;
}

/* Count induction: at least one demonstration counts more than zero (a run of zero counts
 * shows nothing of the counted attribute, and its query would be answered by copying 0). */
static int demos_informative(const task_scene_source_t *src, task_scene_kind_t kind,
                             const episode_plan_t *ep) {
    if (kind != TASK_SCENE_COUNT_INDUCTION) return 1;
    int32_t zero = number(src, 0);
    for (int t = 0; t + 1 < ep->n_turns; t++)
        if (ep->turns[t].answer[0] != zero) return 1;
    return 0;
}

void task_scene_eval_plan(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind,
                          int shots, episode_plan_t *ep) {
    check_kind(src, kind);
    if (shots < 0 || shots + 1 > EPISODE_MAX_ITEMS)
        micl_fatal("scene episodes take 0 .. %d shots, got %d", EPISODE_MAX_ITEMS - 1, shots);
    concept_t c;
    for (int attempt = 0; attempt < TASK_SCENE_EPISODE_TRIES; attempt++) {
        pick_concept(r, kind, &c);
        begin(kind, ep);
        for (int i = 0; i < shots; i++)
            next_turn(ep, src, r, &c, 0);
        next_turn(ep, src, r, &c, 1);
        if (!is_induction(kind) || shots == 0 ||
            (query_determined(src, kind, ep) && demos_informative(src, kind, ep)))
            break;
    }
    set_candidates(src, &c, ep);
}

void task_scene_eval(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind, int shots,
                     episode_t *ep) {
    episode_plan_t plan;
    task_scene_eval_plan(src, r, kind, shots, &plan);
    layout(src, &plan, ep);
}
