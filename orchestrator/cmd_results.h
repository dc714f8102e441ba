/* cmd_results.h - `micl results merge OUT.h5 IN1.h5 IN2.h5 ...`: the shard results files of one
 * sweep (`micl sweep --shard I/N`) into one file.
 *
 * Every input must be a sweep results file of the same sweep config (same config hash, axes
 * and size); a run found in two inputs is refused, naming the run and both files. The output
 * holds every run once, in sweep order, as shard 0/1, written to OUT.h5.tmp and renamed.
 */
#ifndef MICL_CMD_RESULTS_H
#define MICL_CMD_RESULTS_H

#include "common/cli_args.h"

extern const cli_command_t CLI_RESULTS_MERGE;

/* argv[0] is the word after "results". Returns the process exit code. */
int cmd_results(int argc, char **argv);

#endif
