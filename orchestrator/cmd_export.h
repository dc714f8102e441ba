/* cmd_export.h - `micl data export`: episodes as LLaVA-style conversations (data/export.h).
 *
 *   micl data export CFG (--benchmark B | --task T) [--episodes N] [--dataset STORE.h5]
 *                    [--ways N] [--items L] [--format llava] -o DIR
 *
 * --benchmark B writes every cell of benchmark B (N episodes each, default 100; both option
 * orders for order-averaged benchmarks) exactly as `micl eval` scores them; --task T writes N
 * training episodes of family T (binding, mc, matching, classify) from the training images.
 */
#ifndef MICL_CMD_EXPORT_H
#define MICL_CMD_EXPORT_H

#include "common/cli_args.h"

extern const cli_command_t CLI_DATA_EXPORT;

/* argv[0] is CFG (after "data export"); returns the process exit code. */
int cmd_data_export(int argc, char **argv);

#endif
