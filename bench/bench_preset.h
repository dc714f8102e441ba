/* bench_preset.h - the model presets and synthetic step shapes shared by the `micl bench`
 * commands (bench_step.c, bench_gemm.c, bench_scaling.c).
 *
 * A preset is a model config plus the shape of one optimizer step: `micro_batches` micro-batches
 * of `seqs` sequences, each <bos> then `pairs` x (<img>, name), the targets at the image
 * positions. See bench/README.md for the table of presets.
 */
#ifndef MICL_BENCH_PRESET_H
#define MICL_BENCH_PRESET_H

#include "model/vlm.h"

typedef struct {
    const char *name;
    vlm_config_t cfg;
    int micro_batches, seqs, pairs; /* a sequence is <bos> + pairs x (<img> name) */
} bench_preset_t;

/* The preset called `name`, or NULL. */
const bench_preset_t *bench_preset_find(const char *name);
/* The i-th preset (0 = quickstart), NULL past the end. */
const bench_preset_t *bench_preset_at(int i);
/* "quickstart, large or tiny": the names for messages. */
const char *bench_preset_names(void);

#endif
