/* predictions.h - scoring answers of an external model on exported benchmark episodes.
 *
 *   micl eval CFG --benchmark B --predictions FILE.jsonl [--episodes N] [--dataset STORE.h5]
 *             [-o RESULTS.h5]
 *
 * FILE.jsonl holds one JSON object per line with the string members "id" (a sample id of
 * `micl data export --benchmark B`) and "prediction" (the model's answer text); other members
 * are ignored (such as "ranked", which `micl eval --write-predictions` adds); predictions_file.h
 * reads it, with its limits. The ground truth
 * is rebuilt from CFG (not read from the export), and scored by exact match, the open-ended
 * rule of internal evaluation: the normalised prediction (surrounding white space and
 * punctuation . , ; : ! ? ( ) [ ] " ' removed, every run of white space inside one space, ASCII
 * letters compared case-insensitively) must equal the answer (the words of a multi-word answer
 * separated by single spaces); order-averaged benchmarks count both option orders of an
 * episode. The results carry per-prompt outcomes and the cells' chance as internal
 * evaluation's do (`correct` and `exact_match` are the same count here), and the model-free
 * references of the same episodes (data/reference.h, on the store's pixels: the images
 * `micl data export` writes), so an external model is compared with them as micl's are.
 * A missing prediction counts as wrong and is reported; an id that is not an episode of the
 * benchmark, a repeated id, more lines than prompts, or a malformed line is an error naming the
 * file and line.
 */
#ifndef MICL_PREDICTIONS_H
#define MICL_PREDICTIONS_H

#include <stdint.h>

#include "common/config.h"

#include "data/benchmark.h"

/* Scores the predictions in `path` on the cells of benchmark `benchmark` (NULL cells: its
 * own), `episodes` per cell; prints the table and writes results_path (NULL: none). */
int predictions_score(const config_t *cfg, const char *benchmark, const char *path,
                      int64_t episodes, const char *dataset, const benchmark_cells_t *cells,
                      const char *results_path);

/* Normalises answer text in place as described above (exported for tests). */
void predictions_normalise(char *s);

#endif
