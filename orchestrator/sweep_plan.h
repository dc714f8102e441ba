/* sweep_plan.h - a sweep config expanded into its runs.
 *
 * The runs are the product of the config's sweep axes (a "run" axis over every run of the file
 * is added first when the config has none), numbered with the first axis varying slowest. Each
 * run gets its resolved config text (config_resolve), a stable id (a hash of that text) and a
 * readable name such as "icl-seed2-dim64". Every rank builds the same plan from the same file,
 * so runs are named by their index alone in messages. A shard i/n keeps the runs whose index
 * is i modulo n. The sweep's hash covers the ids of all its runs, so it changes with what is
 * trained, not with how (sweep.ranks_per_run, stall_seconds, comments).
 */
#ifndef MICL_SWEEP_PLAN_H
#define MICL_SWEEP_PLAN_H

#include <stdint.h>

#include "common/config.h"

typedef struct {
    int64_t index; /* in the whole sweep's expansion */
    char name[64];
    char id[24];
    char values[CONFIG_MAX_AXES + 1][CONFIG_NAME_LEN]; /* one per plan axis */
    char *text;                                        /* resolved config */
} sweep_point_t;

typedef struct {
    const config_t *base;
    int n_axes; /* the config's axes, plus the implicit run axis */
    sweep_axis_t axes[CONFIG_MAX_AXES + 1];
    int64_t n_expanded;   /* runs of the whole sweep */
    char config_hash[24]; /* hash of every run's id, in order: the identity of the sweep */
    int shard_index, shard_count;
    int n_points; /* runs of this shard */
    sweep_point_t *points;
} sweep_plan_t;

/* Expands base's sweep, keeps shard `shard_index` of `shard_count` (0 of 1: all) and checks every
 * run's resolved config; a bad point is fatal with the sweep file and the run's name. */
void sweep_plan_build(const config_t *base, int shard_index, int shard_count, sweep_plan_t *p);
void sweep_plan_free(sweep_plan_t *p);
/* Loads point i's resolved config (free with config_free). */
void sweep_plan_config(const sweep_plan_t *p, int i, config_t *cfg);
/* FNV-1a 64-bit hash of a text as 16 hex digits. */
void sweep_hash_text(const char *text, char out[24]);

#endif
