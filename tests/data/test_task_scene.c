/* test_task_scene.c - scene and operator task families (data/task_scene.c) and the vocabulary's
 * task-word section: every answer is recomputed here from the store's metadata by an
 * independent reading of the question words; coherence (one concept per episode), the any-shot
 * mask, candidates, distinct query images, determinism, held-out kinds and splits, and the
 * rebuild of a vocabulary from its saved words (with and without a task section). */
#define _XOPEN_SOURCE 700
#include "test_data_util.h"

#include "common/config.h"
#include "common/rng.h"
#include "data/operators.h"
#include "data/scenes.h"
#include "data/task_scene.h"
#include "data/vocab.h"

static const int16_t *obj(const image_store_t *s, int64_t i, int k) {
    return s->objects + ((size_t)i * s->max_objects + k) * STORE_OBJECT_FIELDS;
}

/* ---------------------------------------------------------------- stores and vocabulary */

static void scene_store(image_store_t *s, int images, int test, int heldout) {
    config_t cfg;
    config_defaults(&cfg);
    cfg.data.scene_size = 28;
    cfg.data.scene_images = images;
    cfg.data.scene_test_images = test;
    cfg.data.scene_heldout_images = heldout;
    cfg.data.scene_max_objects = 6;
    cfg.data.scene_seed = 5;
    scenes_build(&cfg.data, s);
}

/* The operator store of the default fonts: 300 train-font images (60 test), 100 held out. */
static void operator_store(image_store_t *s) {
    config_t cfg;
    config_defaults(&cfg);
    cfg.data.op_size = 28;
    cfg.data.op_images = 300;
    cfg.data.op_test_images = 60;
    cfg.data.op_heldout_images = 100;
    operators_build(&cfg.data, s);
}

static int same_store(const image_store_t *a, const image_store_t *b) {
    size_t nb = (size_t)a->n * store_image_bytes(a);
    return a->n == b->n && a->c == b->c && !memcmp(a->pixels, b->pixels, nb) &&
           !memcmp(a->split, b->split, (size_t)a->n) && !strcmp(a->provenance, b->provenance) &&
           (!a->objects || !memcmp(a->objects, b->objects,
                                   (size_t)a->n * a->max_objects * STORE_OBJECT_FIELDS * 2)) &&
           (!a->operands || !memcmp(a->operands, b->operands, (size_t)a->n * 4));
}

/* Renderers: deterministic, operands a >= b in 0..9 with ink in every image, RGB gray ink. */
static void check_renderers(const image_store_t *scenes, const image_store_t *ops) {
    image_store_t again;
    scene_store(&again, 1500, 300, 300);
    CHECK(same_store(scenes, &again));
    store_free(&again);
    operator_store(&again);
    CHECK(same_store(ops, &again));
    store_free(&again);
    size_t ib = store_image_bytes(ops);
    for (int64_t i = 0; i < ops->n; i++) {
        int a = ops->operands[2 * i], b = ops->operands[2 * i + 1];
        CHECK(a >= b && b >= 0 && a <= 9);
        long ink = 0;
        for (size_t p = 0; p < ib; p += 3) {
            const uint8_t *px = ops->pixels + i * ib + p;
            CHECK(px[0] == px[1] && px[1] == px[2]);
            ink += px[0];
        }
        CHECK(ink > 255 * 10);
        CHECK(ops->split[i] == (i < 240   ? STORE_SPLIT_TRAIN
                                : i < 300 ? STORE_SPLIT_TEST
                                          : STORE_SPLIT_HELDOUT_CLASS));
    }
    /* scene pixels: each object's centre has its colour */
    for (int64_t i = 0; i < scenes->n; i++)
        for (int k = 0; k < scenes->n_objects[i]; k++) {
            const int16_t *o = obj(scenes, i, k);
            uint8_t rgb[3];
            scenes_colour_rgb(o[STORE_OBJ_COLOUR], rgb);
            const uint8_t *px = scenes->pixels + i * store_image_bytes(scenes) +
                                ((size_t)o[STORE_OBJ_Y] * scenes->w + o[STORE_OBJ_X]) * 3;
            if (o[STORE_OBJ_SHAPE] != SCENES_SHAPE_RING) CHECK(!memcmp(px, rgb, 3));
        }
    printf("renderers        ok\n");
}

static const char *w(const vocab_t *v, int id) {
    return v->words[id];
}

/* ------------------------------------------------------- the answers, recomputed here */

static int shape_of(const char *name) {
    for (int c = 0; c < SCENES_N_SHAPES; c++)
        if (strcmp(scenes_shape_name(c), name) == 0) return c;
    return -1;
}

/* The only object, or the only large one. */
static int focus(const image_store_t *s, int64_t i) {
    int n = s->n_objects[i];
    if (n == 1) return 0;
    int found = -1, large = 0;
    for (int k = 0; k < n; k++)
        if (obj(s, i, k)[STORE_OBJ_SIZE] == 1) large++, found = k;
    return large == 1 ? found : -1;
}

static int count_of(const image_store_t *s, int64_t i, int field, int value) {
    int n = 0;
    for (int k = 0; k < s->n_objects[i]; k++)
        n += obj(s, i, k)[field] == value;
    return n;
}

/* The one object of shape `shape` (it must be unique). */
static int unique_shape(const image_store_t *s, int64_t i, int shape) {
    CHECK(count_of(s, i, STORE_OBJ_SHAPE, shape) == 1);
    for (int k = 0; k < s->n_objects[i]; k++)
        if (obj(s, i, k)[STORE_OBJ_SHAPE] == shape) return k;
    return -1;
}

/* The answer word a direct question asks for, or NULL for the induction questions. */
static const char *direct_answer(const image_store_t *s, const vocab_t *v, int64_t img,
                                 const int32_t *q, int nq) {
    static char buf[16];
    if (nq == 2 && !strcmp(w(v, q[0]), "what") && !strcmp(w(v, q[1]), "is")) {
        int f = focus(s, img); /* a caption: its first word (check_caption checks all four) */
        CHECK(f >= 0);
        return obj(s, img, f)[STORE_OBJ_SIZE] ? "large" : "small";
    }
    if (nq == 3 && !strcmp(w(v, q[0]), "what") && !strcmp(w(v, q[1]), "result")) {
        int a = s->operands[2 * img], b = s->operands[2 * img + 1]; /* arithmetic: op named */
        const char *op = w(v, q[2]);
        CHECK(!strcmp(op, "plus") || !strcmp(op, "minus") || !strcmp(op, "times"));
        snprintf(buf, sizeof buf, "%d",
                 !strcmp(op, "plus")    ? a + b
                 : !strcmp(op, "minus") ? a - b
                                        : a * b);
        return buf;
    }
    if (nq == 2 && !strcmp(w(v, q[0]), "what") && strcmp(w(v, q[1]), "result")) {
        int f = focus(s, img);
        CHECK(f >= 0);
        const int16_t *o = obj(s, img, f);
        if (!strcmp(w(v, q[1]), "colour")) return scenes_colour_name(o[STORE_OBJ_COLOUR]);
        if (!strcmp(w(v, q[1]), "shape")) return scenes_shape_name(o[STORE_OBJ_SHAPE]);
        CHECK(!strcmp(w(v, q[1]), "size"));
        return o[STORE_OBJ_SIZE] ? "large" : "small";
    }
    if (nq == 1 && !strcmp(w(v, q[0]), "where")) {
        int f = focus(s, img);
        CHECK(f >= 0);
        int x = obj(s, img, f)[STORE_OBJ_X];
        return 3 * x < s->w ? "left" : 3 * x < 2 * s->w ? "middle" : "right";
    }
    if (nq == 3 && !strcmp(w(v, q[0]), "how") && !strcmp(w(v, q[1]), "many")) {
        snprintf(buf, sizeof buf, "%d", count_of(s, img, STORE_OBJ_SHAPE, shape_of(w(v, q[2]))));
        return buf;
    }
    if (nq >= 4 && !strcmp(w(v, q[0]), "is")) {
        const int16_t *a = obj(s, img, unique_shape(s, img, shape_of(w(v, q[1]))));
        const int16_t *b = obj(s, img, unique_shape(s, img, shape_of(w(v, q[nq - 1]))));
        const char *rel = w(v, q[2]);
        int dx = b[STORE_OBJ_X] - a[STORE_OBJ_X], dy = b[STORE_OBJ_Y] - a[STORE_OBJ_Y];
        int horizontal = !strcmp(rel, "left") || !strcmp(rel, "right");
        CHECK(nq == (horizontal ? 5 : 4));
        CHECK(abs(horizontal ? dx : dy) >= 2);
        int yes = !strcmp(rel, "left")    ? dx > 0
                  : !strcmp(rel, "right") ? dx < 0
                  : !strcmp(rel, "above") ? dy > 0
                                          : dy < 0;
        return yes ? "yes" : "no";
    }
    return NULL;
}

/* The question words of turn t. */
static int question_of(const episode_t *ep, const vocab_t *v, int t, const int32_t **q) {
    int start = ep->answer_pos[t], end = ep->answer_pos[t];
    while (ep->tokens[start] != v->image)
        start--;
    if (ep->tokens[end] == v->assistant) end--;
    *q = ep->tokens + start + 1;
    return end - start;
}

/* Count induction: some colour or shape explains every answer. */
static int induction_count_consistent(const image_store_t *s, const vocab_t *v,
                                      const episode_t *ep) {
    for (int by_colour = 0; by_colour < 2; by_colour++)
        for (int val = 0; val < (by_colour ? SCENES_N_COLOURS : SCENES_N_SHAPES); val++) {
            int ok = 1;
            for (int t = 0; t < ep->n_images && ok; t++) {
                char want[16];
                snprintf(want, sizeof want, "%d",
                         count_of(s, ep->images[t], by_colour ? STORE_OBJ_COLOUR : STORE_OBJ_SHAPE,
                                  val));
                ok = !strcmp(w(v, ep->answer_id[t]), want);
            }
            if (ok) return 1;
        }
    return 0;
}

/* Operator induction: one of + - x explains every answer. */
static int operator_consistent(const image_store_t *s, const vocab_t *v, const episode_t *ep) {
    for (int op = 0; op < 3; op++) {
        int ok = 1;
        for (int t = 0; t < ep->n_images && ok; t++) {
            int a = s->operands[2 * ep->images[t]], b = s->operands[2 * ep->images[t] + 1];
            char want[16];
            snprintf(want, sizeof want, "%d", op == 0 ? a + b : op == 1 ? a - b : a * b);
            ok = !strcmp(w(v, ep->answer_id[t]), want);
        }
        if (ok) return 1;
    }
    return 0;
}

/* The query's answer is the same under every concept (colour/shape count, or operator) that
 * explains all demonstration answers. */
static int query_determined_here(const image_store_t *s, const vocab_t *v, const episode_t *ep,
                                 task_scene_kind_t kind) {
    int q = ep->n_images - 1, answer = -1;
    int n = kind == TASK_SCENE_OPERATOR ? 3 : SCENES_N_COLOURS + SCENES_N_SHAPES;
    for (int k = 0; k < n; k++) {
        int fits = 1, a = 0;
        for (int t = 0; t <= q && fits; t++) {
            int64_t i = ep->images[t];
            int val;
            if (kind == TASK_SCENE_OPERATOR) {
                int x = s->operands[2 * i], y = s->operands[2 * i + 1];
                val = k == 0 ? x + y : k == 1 ? x - y : x * y;
            } else {
                val = k < SCENES_N_COLOURS ? count_of(s, i, STORE_OBJ_COLOUR, k)
                                           : count_of(s, i, STORE_OBJ_SHAPE, k - SCENES_N_COLOURS);
            }
            char buf[16];
            snprintf(buf, sizeof buf, "%d", val);
            if (t < q) fits = !strcmp(w(v, ep->answer_id[t]), buf);
            a = val;
        }
        if (!fits) continue;
        if (answer >= 0 && a != answer) return 0;
        answer = a;
    }
    return answer >= 0;
}

/* ------------------------------------------------------------------- episode checks */

/* A caption turn: size, colour, shape and position of the focus object, four answer tokens,
 * each the target of the token before it when the turn is scored. */
static void check_caption(const image_store_t *s, const vocab_t *v, const episode_t *ep, int t,
                          int scored) {
    int64_t img = ep->images[t];
    int f = focus(s, img);
    CHECK(f >= 0);
    const int16_t *o = obj(s, img, f);
    int x = o[STORE_OBJ_X];
    const char *want[4] = {o[STORE_OBJ_SIZE] ? "large" : "small",
                           scenes_colour_name(o[STORE_OBJ_COLOUR]),
                           scenes_shape_name(o[STORE_OBJ_SHAPE]),
                           3 * x < s->w       ? "left"
                           : 3 * x < 2 * s->w ? "middle"
                                              : "right"};
    CHECK(ep->answer_len[t] == 4);
    for (int i = 0; i < 4; i++) {
        int32_t tok = ep->tokens[ep->answer_pos[t] + 1 + i];
        CHECK(!strcmp(w(v, tok), want[i]));
        CHECK(ep->targets[ep->answer_pos[t] + i] == (scored ? tok : -1));
    }
}

static void check_episode(const task_scene_source_t *src, task_scene_kind_t kind,
                          const episode_t *ep, int eval) {
    const image_store_t *s = src->store;
    const vocab_t *v = src->vocab;
    int induction = kind == TASK_SCENE_COUNT_INDUCTION || kind == TASK_SCENE_OPERATOR;
    CHECK(ep->family == TASK_SCENE_FAMILY_BASE + (int)kind);
    CHECK(ep->tokens[0] == v->bos);
    const int32_t *q0;
    int nq0 = question_of(ep, v, 0, &q0);
    for (int t = 0; t < ep->n_images; t++) {
        int64_t img = ep->images[t];
        CHECK(s->split[img] == src->split);
        CHECK(ep->tokens[ep->answer_pos[t] + 1] == ep->answer_id[t]);
        const int32_t *q;
        int nq = question_of(ep, v, t, &q);
        const char *want = direct_answer(s, v, img, q, nq);
        CHECK((want != NULL) == !induction);
        if (want) CHECK(!strcmp(w(v, ep->answer_id[t]), want));
        /* coherence: one question form per episode (same words but for relation shapes) */
        CHECK(nq == nq0);
        if (kind == TASK_SCENE_ARITHMETIC)
            CHECK(q[0] == q0[0] && q[1] == q0[1]); /* own op */
        else if (kind != TASK_SCENE_RELATION)
            CHECK(!memcmp(q, q0, (size_t)nq * sizeof *q));
        if (kind == TASK_SCENE_RELATION) CHECK(q[2] == q0[2]);
        /* any-shot mask */
        int scored = eval ? t == ep->n_images - 1 : (induction ? t > 0 : 1);
        CHECK(ep->answer_scored[t] == scored);
        CHECK(ep->targets[ep->answer_pos[t]] == (scored ? ep->answer_id[t] : -1));
        CHECK(ep->answer_shots[t] == (induction ? t : -1));
        if (kind == TASK_SCENE_CAPTION) check_caption(s, v, ep, t, scored);
        /* no image twice */
        for (int u = 0; u < t; u++)
            CHECK(ep->images[u] != img);
    }
    if (kind == TASK_SCENE_COUNT_INDUCTION) CHECK(induction_count_consistent(s, v, ep));
    if (eval && induction && ep->n_images > 1) CHECK(query_determined_here(s, v, ep, kind));
    if (kind == TASK_SCENE_OPERATOR) CHECK(operator_consistent(s, v, ep));
    int n_scored = 0;
    for (int i = 0; i < ep->n_tokens; i++)
        n_scored += ep->targets[i] >= 0;
    int expect = 0;
    for (int t = 0; t < ep->n_images; t++)
        expect += ep->answer_scored[t] * (kind == TASK_SCENE_CAPTION ? 4 : 1);
    CHECK(n_scored == expect);
    if (eval && kind == TASK_SCENE_CAPTION) { /* every caption word, each token among them */
        CHECK(ep->n_candidates == 2 + SCENES_N_COLOURS + SCENES_N_SHAPES + 3);
        for (int i = 0; i < ep->answer_len[ep->n_images - 1]; i++) {
            int in = 0;
            for (int c = 0; c < ep->n_candidates; c++)
                in |= ep->candidates[c] == ep->tokens[ep->answer_pos[ep->n_images - 1] + 1 + i];
            CHECK(in);
        }
    } else if (eval) {
        int in = 0;
        for (int c = 0; c < ep->n_candidates; c++)
            in |= ep->candidates[c] == ep->answer_id[ep->n_images - 1];
        CHECK(in);
        static const int n_cand[] = {6, 6, 3, 2, 7, 2, 7, 0, 0, 0};
        int ops = kind == TASK_SCENE_OPERATOR || kind == TASK_SCENE_ARITHMETIC;
        if (!ops) CHECK(ep->n_candidates == n_cand[kind]);
        if (ops) CHECK(ep->n_candidates >= 1 && ep->n_candidates <= 3);
    }
}

static int same_episode(const episode_t *a, const episode_t *b) {
    return a->n_tokens == b->n_tokens && a->n_images == b->n_images &&
           !memcmp(a->tokens, b->tokens, (size_t)a->n_tokens * sizeof(int32_t)) &&
           !memcmp(a->targets, b->targets, (size_t)a->n_tokens * sizeof(int32_t)) &&
           !memcmp(a->images, b->images, (size_t)a->n_images * sizeof(int64_t)) &&
           a->n_candidates == b->n_candidates &&
           !memcmp(a->candidates, b->candidates, (size_t)a->n_candidates * sizeof(int32_t));
}

static void check_kind(const task_scene_source_t *src, task_scene_kind_t kind, int *seen_yes,
                       int *seen_no) {
    static episode_t ep, again;
    int large = 0, small = 0;
    for (int e = 0; e < 200; e++) {
        rng_t r = rng_make(3, RNG_STREAM_TEST, (uint64_t)e);
        if (task_scene_trained(kind)) {
            task_scene_train(src, &r, kind, 1 + e % 9, &ep);
            CHECK(ep.n_images == 1 + e % 9);
            check_episode(src, kind, &ep, 0);
            rng_t r2 = rng_make(3, RNG_STREAM_TEST, (uint64_t)e);
            task_scene_train(src, &r2, kind, 1 + e % 9, &again);
            CHECK(same_episode(&ep, &again));
        }
        r = rng_make(4, RNG_STREAM_TEST, (uint64_t)e);
        task_scene_eval(src, &r, kind, e % 5, &ep);
        CHECK(ep.n_images == e % 5 + 1);
        check_episode(src, kind, &ep, 1);
        rng_t r2 = rng_make(4, RNG_STREAM_TEST, (uint64_t)e);
        task_scene_eval(src, &r2, kind, e % 5, &again);
        CHECK(same_episode(&ep, &again));
        if (kind == TASK_SCENE_RELATION) {
            const char *a = w(src->vocab, ep.answer_id[ep.n_images - 1]);
            *seen_yes += !strcmp(a, "yes");
            *seen_no += !strcmp(a, "no");
        }
        if (kind == TASK_SCENE_SIZE)
            for (int t = 0; t < ep.n_turns; t++) {
                large += !strcmp(w(src->vocab, ep.answer_id[t]), "large");
                small += !strcmp(w(src->vocab, ep.answer_id[t]), "small");
            }
    }
    /* the held-out size question draws its answers evenly, although most focus objects are
     * large: 600 answers, so a share outside 40-60% would be a 5-sigma event */
    if (kind == TASK_SCENE_SIZE) {
        printf("size answers: %d large, %d small\n", large, small);
        CHECK(large + small == 600 && large >= 240 && large <= 360);
    }
    printf("%-16s ok\n", task_scene_kind_name(kind));
}

/* Arithmetic is single-image instruction data: every turn names its own operator, so one
 * episode mixes operators, and every turn is scored. */
static void check_arithmetic_ops(const task_scene_source_t *src) {
    static episode_t ep;
    int mixed = 0, seen[3] = {0};
    for (int e = 0; e < 50; e++) {
        rng_t r = rng_make(8, RNG_STREAM_TEST, (uint64_t)e);
        task_scene_train(src, &r, TASK_SCENE_ARITHMETIC, 6, &ep);
        int here[3] = {0};
        for (int t = 0; t < ep.n_turns; t++) {
            const int32_t *q;
            CHECK(question_of(&ep, src->vocab, t, &q) == 3);
            const char *op = w(src->vocab, q[2]);
            int k = !strcmp(op, "plus") ? 0 : !strcmp(op, "minus") ? 1 : 2;
            here[k] = 1;
            seen[k]++;
            CHECK(ep.answer_scored[t] && ep.answer_shots[t] == -1);
        }
        mixed += here[0] + here[1] + here[2] > 1;
    }
    CHECK(mixed > 40 && seen[0] > 50 && seen[1] > 50 && seen[2] > 50);
    printf("arithmetic ops   ok\n");
}

/* ---------------------------------------------------------------------- bad input */

typedef struct {
    const task_scene_source_t *src;
    task_scene_kind_t kind;
} fail_arg_t;

static void train_fails(const char *dir, void *arg) {
    (void)dir;
    fail_arg_t *a = arg;
    static episode_t ep;
    rng_t r = rng_make(1, RNG_STREAM_TEST, 0);
    task_scene_train(a->src, &r, a->kind, 4, &ep);
}

static void missing_font(const char *dir, void *arg) {
    (void)dir;
    (void)arg;
    config_t cfg;
    config_defaults(&cfg);
    cfg.data.op_images = 10;
    snprintf(cfg.data.op_fonts[1], CONFIG_PATH_LEN, "no-such.ttf");
    free(operators_provenance(&cfg.data));
}

static void old_vocab_fails(const char *dir, void *arg) {
    (void)dir;
    const image_store_t *s = arg;
    vocab_t v;
    char **words = malloc(7 * sizeof *words);
    const char *list[7] = {"<pad>", "<bos>", "<eot>", "<image>", "USER:", "ASSISTANT:", "x"};
    for (int i = 0; i < 7; i++)
        words[i] = strdup(list[i]);
    vocab_from_words(&v, words, 7, 0, 0, 0, NULL, 6, 1, 7, 0);
    task_scene_source_t src;
    task_scene_source_init(&src, s, STORE_SPLIT_TRAIN, &v, EPISODE_FORMAT_COMPACT);
}

/* ---------------------------------------------------------------------- vocabulary */

static void check_vocab(const image_store_t *s) {
    vocab_t v, r;
    vocab_build(&v, s, 16, 9, "what is this ?");
    int n_task;
    const char *const *task = vocab_task_words(&n_task);
    CHECK(v.first_task == 6 && v.n_task == n_task);
    CHECK(!strcmp(v.words[v.first_task], "0") && !strcmp(v.words[v.first_task + 99], "99"));
    CHECK(vocab_number_id(&v, 42) == vocab_find(&v, "42") && vocab_number_id(&v, 100) == -1);
    CHECK(vocab_task_id(&v, "red") == vocab_find(&v, "red") && vocab_task_id(&v, "bla") == -1);
    /* question words that are task words reuse their ids; the others follow the section */
    CHECK(v.question[0] == vocab_task_id(&v, "what") && v.question[1] == vocab_task_id(&v, "is"));
    CHECK(v.question[2] == v.first_task + n_task && !strcmp(v.words[v.question[3]], "?"));
    /* every word appears once */
    for (int i = 0; i < v.n; i++)
        CHECK(vocab_find(&v, v.words[i]) == i);
    for (int i = 0; i < n_task; i++)
        CHECK(!strcmp(v.words[v.first_task + i], task[i]));
    /* rebuild from the saved words: the same vocabulary */
    char **words = malloc((size_t)v.n * sizeof *words);
    int32_t q[VOCAB_MAX_QUESTION];
    for (int i = 0; i < v.n; i++)
        words[i] = strdup(v.words[i]);
    for (int i = 0; i < v.n_question; i++)
        q[i] = v.question[i];
    vocab_from_words(&r, words, v.n, v.first_task, v.n_task, v.n_question, q, v.first_real,
                     v.n_real, v.first_fake, v.n_fake);
    CHECK(r.n == v.n && r.first_task == v.first_task && r.n_task == v.n_task);
    CHECK(r.n_question == v.n_question &&
          !memcmp(r.question, v.question, (size_t)v.n_question * sizeof(int)));
    CHECK(r.first_real == v.first_real && r.first_fake == v.first_fake && r.n_fake == v.n_fake);
    CHECK(vocab_task_id(&r, "yes") == vocab_task_id(&v, "yes"));
    vocab_free(&r);
    vocab_free(&v);
    /* classes named like task words (an imported folder "0", "red") get no real name */
    image_store_t named;
    tdu_make_store(&named, 4, 2, 2, 2);
    free(named.class_names[0]);
    free(named.class_names[1]);
    named.class_names[0] = strdup("0");
    named.class_names[1] = strdup("red");
    vocab_build(&v, &named, 4, 1, "");
    CHECK(v.real_of_class[0] == -1 && v.real_of_class[1] == -1 && v.real_of_class[2] >= 0);
    CHECK(v.n_real == 1 && vocab_find(&v, "0") == vocab_number_id(&v, 0));
    vocab_free(&v);
    store_free(&named);
    printf("vocabulary       ok (%d task words)\n", n_task);
}

int main(void) {
    char *dir = tdu_tmpdir("task_scene");
    image_store_t scenes, ops;
    scene_store(&scenes, 1500, 300, 300);
    operator_store(&ops);
    check_renderers(&scenes, &ops);
    check_vocab(&scenes);
    vocab_t v;
    vocab_build(&v, &scenes, 16, 9, "");

    int yes = 0, no = 0;
    for (int split = STORE_SPLIT_TRAIN; split <= STORE_SPLIT_HELDOUT_CLASS; split++) {
        for (int fmt = 0; fmt < 2; fmt++) {
            task_scene_source_t src;
            task_scene_source_init(&src, &scenes, split, &v, (episode_format_t)fmt);
            CHECK(src.n_focus > 0 && src.n_focus < src.n_images);
            for (int k = 0; k < TASK_SCENE_N_KINDS; k++)
                if (!task_scene_needs_operands((task_scene_kind_t)k))
                    check_kind(&src, (task_scene_kind_t)k, &yes, &no);
            task_scene_source_free(&src);
        }
    }
    CHECK(yes > 100 && no > 100); /* relation answers are balanced */
    task_scene_source_t osrc;
    task_scene_source_init(&osrc, &ops, STORE_SPLIT_HELDOUT_CLASS, &v, EPISODE_FORMAT_CHAT);
    check_kind(&osrc, TASK_SCENE_OPERATOR, &yes, &no);
    check_kind(&osrc, TASK_SCENE_ARITHMETIC, &yes, &no);
    task_scene_source_free(&osrc);
    task_scene_source_init(&osrc, &ops, STORE_SPLIT_TRAIN, &v, EPISODE_FORMAT_COMPACT);
    check_kind(&osrc, TASK_SCENE_OPERATOR, &yes, &no);
    check_kind(&osrc, TASK_SCENE_ARITHMETIC, &yes, &no);
    check_arithmetic_ops(&osrc);

    /* held-out pairs only in held-out images; every image of that split has one */
    for (int64_t i = 0; i < scenes.n; i++) {
        int has = 0;
        for (int k = 0; k < scenes.n_objects[i]; k++)
            has |= scenes_pair_heldout(obj(&scenes, i, k)[0], obj(&scenes, i, k)[1]);
        CHECK(has == (scenes.split[i] == STORE_SPLIT_HELDOUT_CLASS));
    }

    /* bad input */
    task_scene_source_t src;
    task_scene_source_init(&src, &scenes, STORE_SPLIT_TRAIN, &v, EPISODE_FORMAT_COMPACT);
    fail_arg_t size = {&src, TASK_SCENE_SIZE}, op = {&src, TASK_SCENE_OPERATOR};
    fail_arg_t colour = {&osrc, TASK_SCENE_COLOUR};
    tdu_expect_fail("missing operator font", dir, missing_font, NULL,
                    "no-such.ttf' (data.operators.fonts) cannot be read", NULL);
    tdu_expect_fail("held-out size question", dir, train_fails, &size,
                    "size questions are held out for evaluation", NULL);
    tdu_expect_fail("operator on scenes", dir, train_fails, &op,
                    "operator episodes need an operator store", NULL);
    tdu_expect_fail("colour on operators", dir, train_fails, &colour,
                    "colour episodes need a scene store", NULL);
    tdu_expect_fail("vocabulary without task words", dir, old_vocab_fails, &scenes,
                    "the vocabulary has 0 of the", NULL);
    task_scene_source_free(&src);
    task_scene_source_free(&osrc);
    vocab_free(&v);
    store_free(&scenes);
    store_free(&ops);
    tdu_rm_rf(dir);
    free(dir);
    printf("test_task_scene: ok\n");
    return 0;
}
