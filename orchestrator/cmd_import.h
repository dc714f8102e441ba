/* cmd_import.h - the `micl data import` command line (orchestrator/main.c dispatches to it from
 * its `data` subcommand; the work is done by data_import in data/import.c). */
#ifndef MICL_CMD_IMPORT_H
#define MICL_CMD_IMPORT_H

#include "common/cli_args.h"

extern const cli_command_t CLI_DATA_IMPORT;

/* micl data import DIR -o OUT.h5 [--size N] [--gray]; argv[0] is the word after "import".
 * Returns the process exit code: 0 on success, MICL_EXIT_USAGE (2) on a bad command line;
 * any other failure is fatal (exit 1, message naming the file or folder, no output left). */
int cmd_data_import(int argc, char **argv);

#endif
