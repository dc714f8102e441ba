/* cmd_sweep.h - the `micl sweep` command line (the work is done by sweep_run in sweep.c).
 *
 *   micl sweep CFG [-o RESULTS.h5] [--shard I/N]
 */
#ifndef MICL_CMD_SWEEP_H
#define MICL_CMD_SWEEP_H

#include "comm/comm.h"
#include "common/cli_args.h"

extern const cli_command_t CLI_SWEEP;

/* argv[0] is CFG (after "sweep"). Returns 0, MICL_EXIT_USAGE on a bad command line, or
 * MICL_EXIT_PREEMPTED when a signal stopped the sweep. */
int cmd_sweep(int argc, char **argv, const comm_t *comm);

#endif
