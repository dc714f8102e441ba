/* checkpoint.h - a run's complete training state in one HDF5 file.
 *
 * Holds the model config, the vocabulary (word list), parameters, AdamW moments, the step,
 * the curriculum state, the config text and the hash of the run's resolved config, and (attributes
 * device and precision) what trained it when that was not the CPU in fp32. On a device backend the
 * parameters and moments are staged through host memory. Written to "<path>.tmp" then renamed, so a
 * crash never leaves a torn checkpoint. Reading validates every dataset and rejects non-finite
 * values.
 */
#ifndef MICL_CHECKPOINT_H
#define MICL_CHECKPOINT_H

#include <stdint.h>

#include "common/results.h"
#include "data/vocab.h"
#include "model/vlm.h"

/* Version 2 added the config_hash attribute; version 3 is the checksummed format (h5util.h:
 * the HDF5 1.10 format, Fletcher32 on every dataset, a CRC of the strings). Only version 3 is
 * read: earlier files are refused before libhdf5 parses them. */
#define CHECKPOINT_SCHEMA_VERSION 3

typedef struct {
    char run[64];
    int64_t step;       /* optimizer steps completed */
    int stage;          /* curriculum stage index */
    int64_t stage_step; /* steps completed in that stage */
    double stage_acc;   /* running train ICL accuracy (EMA) */
    double log_loss;    /* loss summed over the steps since the last curve point */
    int64_t log_steps;  /* ... and their number (a resumed run continues the interval) */
    int episode_format;
    /* what trained it: device_backend() and device_precision() when written; a checkpoint
     * without them ("cpu", "fp32" when read) comes from the CPU */
    char device[16], precision[16];
    /* the hash of the resolved config of the run that trained it (16 hex digits, as a sweep
     * run's id); "" for a checkpoint from before the hash (schema version 1) */
    char config_hash[24];
} train_state_t;

/* progress (optional): the run's training curve, stage starts and counters so far, so that a
 * resumed run reports one continuous curve. */
void checkpoint_write(const char *path, vlm_t *m, const vocab_t *v, const train_state_t *st,
                      const char *config_text, const run_result_t *progress);
/* st's device and precision as the device now computing (device.h). */
void checkpoint_state_device(train_state_t *st);
/* Restores the curve, stage starts, steps, tokens and train_seconds saved by checkpoint_write
 * into *out (name and checkpoint fields are left alone). */
void checkpoint_read_progress(const char *path, run_result_t *out);
/* Loads a checkpoint: creates the model (sized for max_tokens/max_images) and the vocabulary.
 * config_text (optional) receives a malloc'd copy of the config it was trained with. */
vlm_t *checkpoint_read(const char *path, int max_tokens, int max_images, vocab_t *v,
                       train_state_t *st, char **config_text);
/* The training state of a checkpoint (step, stage, config hash, ...) without its model: the
 * quick look that decides whether a run may resume. config_text as in checkpoint_read. */
void checkpoint_read_state(const char *path, train_state_t *st, char **config_text);

#endif
