/* task_scene.h - scene and operator task families: multi-turn episodes over rendered images.
 *
 * The families ask questions whose answers come from a store's per-image metadata (the
 * /objects records of the scene store, the /operands of the operator store; docs/DATA.md),
 * never from the pixels, so an answer is right by construction. Each episode is coherent: all
 * its turns share one kind and one concept (the counted shape, the relation, the hidden
 * operator or counted attribute), and every random choice comes from the rng passed in, so an
 * episode is a pure function of its key (seed, stream, index).
 *
 * Turn layout (as in episode.h): [USER:] <image> question-words [ASSISTANT:] answer [<eot>]; the
 * question words are task words of the vocabulary (vocab.h) chosen per kind, the answer is one
 * task word (a caption: four). Targets follow the any-shot rule: a turn is scored when its answer
 * is predictable from what came before - always for the direct questions (attributes, counting,
 * relations, arithmetic, captions), and from the second turn on for the induction kinds, whose
 * concept is only shown by the demos. answer_shots is -1 for direct questions and the number of
 * earlier turns otherwise.
 *
 * Kinds, their question words, answers and evaluation candidates:
 *
 *   kind                       question              answer            candidates
 *   TASK_SCENE_COLOUR          what colour           colour name       the 6 colours
 *   TASK_SCENE_SHAPE           what shape            shape name        the 6 shapes
 *   TASK_SCENE_POSITION        where                 left middle right the 3 positions
 *   TASK_SCENE_SIZE (held out) what size             small large       the 2 sizes
 *   TASK_SCENE_COUNT           how many <shape>      "0".."max"        "0".."max_objects"
 *   TASK_SCENE_RELATION        is <s1> <rel> [of] <s2>  yes no         yes, no
 *   TASK_SCENE_COUNT_INDUCTION how many              "0".."max"        "0".."max_objects"
 *   TASK_SCENE_OPERATOR        what result           number word       the distinct results of
 *                                                                      + - x on the query
 *   TASK_SCENE_CAPTION         what is               size colour       every caption word (2
 *                                                    shape position    sizes, 6 colours, 6
 *                                                                      shapes, 3 positions);
 *                                                                      each token ranked
 *   TASK_SCENE_ARITHMETIC      what result plus|     number word       as OPERATOR
 *                              minus|times
 *
 * The attribute kinds ask about the focus object of an image: its only object, or its only
 * large object when all the others are small; images without one are never used. Position is
 * the third of the image width that holds the object's centre. CAPTION describes the focus
 * object in four answer words (size, colour, shape, position): captions are where the words
 * small and large are trained, while the "what size" question stays a type never trained. COUNT
 * counts objects of one shape per episode (0 included). RELATION takes one relation per episode
 * (left of, right of, above, below; centres at least 2 pixels apart on that axis) and two objects
 * of shapes that occur once in the image; yes and no are equally likely. COUNT_INDUCTION hides one
 * colour or shape per episode and answers how many objects have it. OPERATOR (operator store) hides
 * one operator among + - x per episode; an image shows `a ? b` with a >= b, the answer is the
 * result. ARITHMETIC (operator store) is its single-image instruction form, not induction: each
 * turn draws its own operator and names it in the question, so every turn is answerable alone. SIZE
 * is the held-out question type: the train builder refuses it (task_scene_trained), and evaluation
 * draws each turn's size evenly (most focus objects are large) before drawing an image with it.
 *
 * Episodes set episode_t.family = TASK_SCENE_FAMILY_BASE + kind, which lies outside family_t.
 */
#ifndef MICL_TASK_SCENE_H
#define MICL_TASK_SCENE_H

#include <stdint.h>

#include "episode.h"
#include "store.h"
#include "vocab.h"

typedef enum {
    TASK_SCENE_COLOUR = 0,
    TASK_SCENE_SHAPE,
    TASK_SCENE_POSITION,
    TASK_SCENE_SIZE,
    TASK_SCENE_COUNT,
    TASK_SCENE_RELATION,
    TASK_SCENE_COUNT_INDUCTION,
    TASK_SCENE_OPERATOR,
    TASK_SCENE_CAPTION,
    TASK_SCENE_ARITHMETIC,
    TASK_SCENE_N_KINDS
} task_scene_kind_t;

#define TASK_SCENE_FAMILY_BASE 100
#define TASK_SCENE_CAPTION_WORDS 4 /* size colour shape position */

enum { TASK_SCENE_OP_ADD = 0, TASK_SCENE_OP_SUB, TASK_SCENE_OP_MUL, TASK_SCENE_N_OPS };

/* Images of one split of a scene or operator store, with what the builders need. */
typedef struct {
    const image_store_t *store;
    const vocab_t *vocab;
    episode_format_t format;
    int split;
    int64_t *images; /* store rows of the split */
    int64_t n_images;
    int64_t *focus; /* rows of the split that have a focus object */
    int64_t n_focus;
    int max_objects;       /* largest count answer */
    episode_turns_t turns; /* multi-turn (default) or single-turn layout */
    int64_t image_base;    /* added to every image id of a plan (several stores in one batch) */
} task_scene_source_t;

/* Collects the images of `split`. Fails with a message when the store lacks the metadata the
 * kinds need (objects or operands), when the split is empty, or when the vocabulary has no
 * task words (a checkpoint written before the task section). */
void task_scene_source_init(task_scene_source_t *src, const image_store_t *store, int split,
                            const vocab_t *vocab, episode_format_t format);
void task_scene_source_free(task_scene_source_t *src);

/* Name of a kind ("colour", "count_induction", ...), and the kind of a name or -1. */
const char *task_scene_kind_name(task_scene_kind_t kind);
int task_scene_kind_of(const char *name);
/* 1 if the kind may be trained on (every kind but the held-out TASK_SCENE_SIZE). */
int task_scene_trained(task_scene_kind_t kind);
/* 1 if the kind needs an operator store (operands: OPERATOR, ARITHMETIC), 0 if a scene store
 * (objects). */
int task_scene_needs_operands(task_scene_kind_t kind);

/* Training episode: `items` turns of one kind and concept. Fails for a held-out kind. The _plan
 * variants stop before the layout (episode_layout), so that turns can be interleaved. */
void task_scene_train(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind, int items,
                      episode_t *ep);
void task_scene_train_plan(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind,
                           int items, episode_plan_t *plan);
/* Evaluation episode: `shots` demos, then one query, the only scored turn, on an image that is
 * not a demo's; ep->candidates holds the closed answer set of the kind (table above). For the
 * induction kinds with shots > 0 the whole episode is redrawn (up to 64 times, from the same
 * rng) until the demos determine the query: every concept that explains all demo answers
 * gives the query the same answer (after 64 draws the last one is kept). */
void task_scene_eval(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind, int shots,
                     episode_t *ep);
void task_scene_eval_plan(const task_scene_source_t *src, rng_t *r, task_scene_kind_t kind,
                          int shots, episode_plan_t *plan);

/* The result of operator op on (a, b). */
int task_scene_apply_op(int op, int a, int b);
/* The focus object of store row i (index into its object records), or -1. */
int task_scene_focus(const image_store_t *s, int64_t i);

#endif
