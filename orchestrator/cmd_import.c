/* cmd_import.c - parses `micl data import DIR -o OUT.h5 [--size N] [--gray]` and runs
 * data_import (data/import.c) on rank 0; other ranks of an mpirun have nothing to do.
 *
 * Command-line mistakes (missing DIR or -o, unknown option, a --size that is not an integer in
 * [1, 1024]) print the import usage and return MICL_EXIT_USAGE; everything after parsing is
 * data_import's and fails through micl_fatal.
 */
#include "cmd_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/error.h"
#include "../data/import.h"

#define CMD_IMPORT_DEFAULT_SIZE 28
#define CMD_IMPORT_MAX_SIZE 1024

static const char *IMPORT_USAGE =
    "usage: micl data import DIR -o OUT.h5 [--size N] [--gray]\n"
    "  DIR         a folder with one sub-folder of .png/.jpg/.jpeg images per class\n"
    "  -o OUT.h5   the image store to write\n"
    "  --size N    side of the stored square images, 1 .. 1024 (default 28)\n"
    "  --gray      store 8-bit grayscale (BT.601 luma); without it images are stored in RGB\n";

static int import_usage(const char *fmt, const char *arg) {
    if (micl_rank() <= 0) {
        fprintf(stderr, "micl: data import: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n%s", IMPORT_USAGE);
    }
    return MICL_EXIT_USAGE;
}

int cmd_data_import(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    int size = CMD_IMPORT_DEFAULT_SIZE, gray = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            if (micl_rank() <= 0) fputs(IMPORT_USAGE, stdout);
            return 0;
        } else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc) return import_usage("option '%s' needs a value", a);
            out = argv[++i];
        } else if (strcmp(a, "--size") == 0) {
            if (i + 1 >= argc) return import_usage("option '%s' needs a value", a);
            const char *v = argv[++i];
            char *end;
            long n = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || n < 1 || n > CMD_IMPORT_MAX_SIZE)
                return import_usage("--size expects an integer in [1, 1024], got '%s'", v);
            size = (int)n;
        } else if (strcmp(a, "--gray") == 0) {
            gray = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return import_usage("unknown option '%s'", a);
        } else if (dir) {
            return import_usage("more than one folder given ('%s')", a);
        } else {
            dir = a;
        }
    }
    if (!dir) return import_usage("%s", "missing DIR");
    if (!out) return import_usage("%s", "missing -o OUT.h5");
    if (micl_rank() <= 0) data_import(dir, out, size, gray);
    return 0;
}
