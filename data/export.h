/* export.h - episodes written as LLaVA-style multi-image conversations.
 *
 * `micl data export` writes DIR/data.json: a JSON list of samples, each
 *   {"id": "...", "image": ["images/<id>-0.png", ...],
 *    "conversations": [{"from": "human", "value": "<image>\nq.."}, {"from": "gpt", "value": "a"},
 *                      ...],
 *    ...metadata}
 * with one human/gpt pair per turn, "<image>" lines at the start of each human turn (one per
 * image of the turn), the question words after them and the answer words as the gpt value -
 * the layout of the multi-image instruction data VLM stacks train on. Benchmark samples end
 * with the query's gpt turn holding the ground truth, and carry "benchmark", "ways", "shots",
 * "episode", "variant", "answer" and "candidates" (the closed answer set; empty for zero-shot
 * classification, whose answer is any real class name); to run a model, drop the last gpt turn and
 * let it answer. The images are PNG files under DIR/images. data.json is written through
 * libjansson (common/json_out.h), one sample per line, to a temporary file renamed when complete.
 */
#ifndef MICL_EXPORT_H
#define MICL_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "common/atomic_file.h"
#include "common/json_out.h"
#include "episode.h"
#include "store.h"
#include "vocab.h"

typedef struct {
    char dir[512];
    atomic_file_t json_file; /* DIR/data.json */
    FILE *json;              /* json_file's stream while open */
    json_out_list_t samples; /* the list streamed into it */
    int64_t n_samples;
} exporter_t;

/* Metadata of a benchmark sample (NULL for a training sample). */
typedef struct {
    const char *benchmark;
    int ways, shots, variant;
    int64_t episode;
} export_meta_t;

/* Creates DIR and DIR/images (fine if they exist) and opens the sample list. */
void export_open(exporter_t *x, const char *dir);
/* Writes one episode: its images (rows of `store`) as PNG files and its sample. */
void export_episode(exporter_t *x, const char *id, const episode_t *ep, const image_store_t *store,
                    const vocab_t *v, const export_meta_t *meta);
/* Closes the list and renames data.json into place. */
void export_close(exporter_t *x);

#endif
