/* predictions.h - scoring answers of an external model on exported benchmark episodes.
 *
 *   micl eval CFG --benchmark B --predictions FILE.jsonl [--episodes N] [--dataset STORE.h5]
 *             [-o RESULTS.h5]
 *
 * FILE.jsonl holds one JSON object per line with the string members "id" (a sample id of
 * `micl data export --benchmark B`) and "prediction" (the model's answer text); other members
 * are ignored. The ground truth is rebuilt from CFG (not read from the export), and scored
 * with the rules of internal evaluation: the normalised prediction (surrounding white space
 * and punctuation . , ; : ! ? ( ) [ ] " ' removed, ASCII letters compared case-insensitively)
 * must equal the answer; order-averaged benchmarks count both option orders of an episode.
 * A missing prediction counts as wrong and is reported; an id that is not an episode of the
 * benchmark, a repeated id, or a malformed line is an error naming the file and line.
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
