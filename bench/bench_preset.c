/* bench_preset.c - the table of `micl bench` model presets (see bench_preset.h). */
#include "bench_preset.h"

#include <string.h>

static const bench_preset_t PRESETS[] = {
    {"quickstart",
     {28, 7, 64, 1, 4, 128, 3, 4, 4, 1454, 64, 0.02f, VLM_POOL_FLATTEN, 1, 1},
     4,
     8,
     9},
    {"large", {28, 7, 128, 2, 4, 256, 4, 8, 4, 1454, 64, 0.02f, VLM_POOL_FLATTEN, 1, 1}, 4, 8, 9},
    {"tiny", {12, 4, 16, 1, 2, 32, 1, 2, 4, 64, 32, 0.02f, VLM_POOL_FLATTEN, 1, 1}, 2, 2, 9},
};
#define N_PRESETS ((int)(sizeof PRESETS / sizeof PRESETS[0]))

const bench_preset_t *bench_preset_find(const char *name) {
    for (int k = 0; k < N_PRESETS; k++)
        if (strcmp(name, PRESETS[k].name) == 0) return &PRESETS[k];
    return NULL;
}

const bench_preset_t *bench_preset_at(int i) {
    return i >= 0 && i < N_PRESETS ? &PRESETS[i] : NULL;
}

const char *bench_preset_names(void) {
    return "quickstart, large or tiny";
}
