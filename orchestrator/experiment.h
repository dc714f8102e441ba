/* experiment.h - rank 0's coordination of `micl train` and `micl eval`.
 *
 * train: prepare stores (rank 0) -> load them (all ranks) -> for each run of the config:
 * build the model, train (all ranks, data parallel), evaluate (episodes split over ranks),
 * and rank 0 rewrites results.h5 after each finished run -> print the summary table.
 */
#ifndef MICL_EXPERIMENT_H
#define MICL_EXPERIMENT_H

#include "../comm/comm.h"
#include "../common/config.h"

typedef struct {
    const char *results_path; /* NULL: <output_dir>/results.h5 */
    const char *only_run;     /* NULL: every run */
    int resume;               /* continue runs from their checkpoints (finished ones: eval only) */
} train_opts_t;

/* Returns 0, or MICL_EXIT_PREEMPTED when a signal stopped training (checkpoint written). */
int experiment_train(const config_t *cfg, const comm_t *comm, const train_opts_t *o);

typedef struct {
    const char *checkpoint;
    const char *dataset;
    int ways, n_shots, shots[16];
    int episodes;
    int fake_names; /* 1 fake, 0 real */
    uint64_t seed;
    const char *out; /* optional results file */
} eval_opts_t;

int experiment_eval_checkpoint(const comm_t *comm, const eval_opts_t *o);

/* Re-evaluates the checkpoints of every run of cfg with its eval section; writes
 * results_path (NULL: <output_dir>/eval.h5). */
int experiment_eval_config(const config_t *cfg, const comm_t *comm, const char *results_path);

#endif
