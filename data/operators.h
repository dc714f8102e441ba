/* operators.h - the operator store: `a ? b` images of two digits around an operator mark.
 *
 * Each image shows a digit a, a '?' and a digit b (a >= b, both 0..9) rendered from the fonts
 * of data.operators.fonts; the store keeps (a, b) per image in /operands (docs/DATA.md), and
 * the operator-induction episodes (data/task_scene.h) hide which of + - x the '?' stands for.
 * Train and test images use the train fonts (all but the last heldout_fonts), held-out images
 * only the held-out fonts, so evaluation can ask for fonts never seen in training. Images are
 * RGB with white ink (R = G = B), so one model reads scene and operator stores alike.
 */
#ifndef MICL_OPERATORS_H
#define MICL_OPERATORS_H

#include "common/config.h"
#include "store.h"

/* Renders the operator store of cfg (see docs/DATA.md). Classes: "operator" (train class:
 * train and test images) and "operator-heldout-font" (held-out class). */
void operators_build(const data_config_t *cfg, image_store_t *out);
/* The provenance string operators_build records (allocated; free it). Opens the fonts, so a
 * missing font fails here. */
char *operators_provenance(const data_config_t *cfg);

#endif
