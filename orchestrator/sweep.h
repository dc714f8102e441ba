/* sweep.h - `micl sweep`: many runs over groups of ranks, one coordinator, one results file.
 *
 * The world splits into groups of sweep.ranks_per_run ranks (comm_split). World rank 0 is the
 * coordinator and also the leader of group 0: between its own training steps (the trainer's
 * per-step callback) and after its group runs out of work, it answers the other leaders. A
 * leader asks for a run when its group is free, gets the next unfinished one (dynamic handout:
 * runs differ in cost), trains it with its group and sends back the result (curves, per-tensor
 * gradient norms, evaluation table); during training it sends a heartbeat every log_every
 * steps. The coordinator alone writes the results file (temp + rename after every finished
 * run), reports groups silent for sweep.stall_seconds (stderr and the file; nothing is
 * killed), and on SIGTERM/SIGUSR1 (or a group that was stopped) hands out nothing more and
 * tells the busy groups to stop: each finishes its step and checkpoints, and micl exits 3.
 * Running the same sweep again on the same results file skips finished runs and resumes the
 * others from their checkpoints (<results dir>/<run name>.ckpt.h5); a checkpoint whose config
 * hash is not its run's id (another config trained it) is refused before anything runs, and
 * --restart trains every run from step 0 instead.
 */
#ifndef MICL_SWEEP_H
#define MICL_SWEEP_H

#include "comm/comm.h"
#include "common/config.h"

typedef struct {
    const char *results_path;     /* NULL: <output_dir>/sweep.h5 */
    int shard_index, shard_count; /* 0 and 1: the whole sweep */
    int restart; /* every run from step 0: finished runs and checkpoints are not taken */
} sweep_opts_t;

/* Runs the sweep of `base` on every rank of `world`. Returns 0 when every run of the shard is
 * finished, MICL_EXIT_PREEMPTED when a signal stopped it (checkpoints and results written). */
int sweep_run(const config_t *base, const comm_t *world, const sweep_opts_t *o);

#endif
