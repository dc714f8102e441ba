/* cmd_import.c - parses `micl data import DIR -o OUT.h5 [--size N] [--gray]` and runs
 * data_import (data/import.c) on rank 0; other ranks of an mpirun have nothing to do.
 *
 * Command-line mistakes (missing DIR or -o, unknown option, a --size that is not an integer in
 * [1, 1024]) are usage errors of cli_args.h (exit MICL_EXIT_USAGE); everything after parsing is
 * data_import's and fails through micl_fatal.
 */
#include "cmd_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/file_kind.h"
#include "data/import.h"
#include "common/cli_args.h"

#define CMD_IMPORT_DEFAULT_SIZE 28
#define CMD_IMPORT_MAX_SIZE 1024

const cli_command_t CLI_DATA_IMPORT = {
    "data import",
    "DIR -o OUT.h5 [--size N] [--gray]",
    "image store from class sub-folders of PNG/JPEG files\n"
    "(RGB; --gray: 8-bit luma, for gray models)",
    "  DIR         a folder with one sub-folder of .png/.jpg/.jpeg images per class\n"
    "  -o OUT.h5   the image store to write\n"
    "  --size N    side of the stored square images, 1 .. 1024 (default 28)\n"
    "  --gray      store 8-bit grayscale (BT.601 luma); without it images are stored in RGB\n",
    "DIR",
    1,
    1};

int cmd_data_import(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    int size = CMD_IMPORT_DEFAULT_SIZE, gray = 0, rc;
    const cli_opt_t opts[] = {CLI_OPT_STRING("-o", &out),
                              CLI_OPT_INT("--size", &size, 1, CMD_IMPORT_MAX_SIZE),
                              CLI_OPT_FLAG("--gray", &gray), CLI_OPT_END};
    if (!cli_parse(&CLI_DATA_IMPORT, opts, argc, argv, &dir, NULL, &rc)) return rc;
    if (!out) return cli_usage_error(&CLI_DATA_IMPORT, "missing -o OUT.h5");
    atomic_file_input(dir, "the image folder being imported");
    char why[8400];
    if (atomic_file_check(out, FILE_KIND_STORE, why, sizeof why))
        return cli_usage_error(&CLI_DATA_IMPORT, "%s", why);
    if (micl_rank() <= 0) data_import(dir, out, size, gray);
    return 0;
}
