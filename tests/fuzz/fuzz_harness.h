/* fuzz_harness.h - shared plumbing of the libFuzzer targets in tests/fuzz/ (tests/fuzz/fuzz.cmake).
 *
 * micl's readers report bad input with micl_fatal, which exits. A harness installs a fatal
 * hook (micl_set_fatal_hook) that longjmps back into LLVMFuzzerTestOneInput, so a rejected
 * input is an ordinary, fast return and libFuzzer keeps its in-process coverage. Memory the
 * reader allocated before the error is abandoned by the jump: run the targets with
 * -detect_leaks=0. Files for the HDF5 readers go to one temporary path per process; after a
 * rejected input fuzz_hdf5_reset() calls H5close, which closes every identifier the reader
 * left open (files, groups, datasets, attributes, dataspaces, types), so the next input starts
 * from a clean library.
 */
#ifndef MICL_FUZZ_HARNESS_H
#define MICL_FUZZ_HARNESS_H

#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf g_fuzz_jump;
static int g_fuzz_armed;
static char g_fuzz_path[512];

/* Optional: called by the hook before the jump, while the frames of the failing reader still
 * exist (fuzz_config.c frees libconfig's parse tree here). */
static void (*g_fuzz_before_jump)(void);

/* Jumps back only while an input is being processed; otherwise micl_fatal exits as usual. */
static inline void fuzz_on_fatal(void) {
    if (!g_fuzz_armed) return;
    if (g_fuzz_before_jump) g_fuzz_before_jump();
    longjmp(g_fuzz_jump, 1);
}

static inline void fuzz_remove_file(void) {
    if (g_fuzz_path[0]) unlink(g_fuzz_path);
}

/* Installs the hook; with suffix != NULL also picks the per-process input file
 * ($TMPDIR or /tmp)/micl-fuzz-<pid><suffix>, removed at exit. */
static inline void fuzz_setup(const char *suffix) {
    micl_set_fatal_hook(fuzz_on_fatal);
    if (!suffix) return;
    const char *dir = getenv("TMPDIR");
    if (!dir || !dir[0]) dir = "/tmp";
    snprintf(g_fuzz_path, sizeof g_fuzz_path, "%s/micl-fuzz-%ld%s", dir, (long)getpid(), suffix);
    atexit(fuzz_remove_file);
}

/* Writes the input to the per-process file; aborts on I/O errors (a harness fault). */
static inline void fuzz_write_file(const uint8_t *data, size_t size) {
    FILE *f = fopen(g_fuzz_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(g_fuzz_path);
        abort();
    }
}

/* The entry point of every target follows this pattern (setjmp must be called in the function
 * that the jump returns to, as the whole controlling expression of an if):
 *
 *     g_fuzz_armed = 1;
 *     if (setjmp(g_fuzz_jump)) { g_fuzz_armed = 0; ...reset...; return 0; }
 *     ...read the input...
 *     g_fuzz_armed = 0;
 *
 * Locals changed between setjmp and the jump are not used after it. */

#ifdef H5_VERS_MAJOR
/* After a rejected input: closes everything the reader left open and restarts the library. */
static inline void fuzz_hdf5_reset(void) {
    H5close();
    H5open();
}

/* After an accepted input: the reader must have closed every file and object it opened. */
static inline void fuzz_hdf5_check_closed(const char *what) {
    ssize_t n = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
    if (n != 0) {
        fprintf(stderr, "fuzz: %s left %zd HDF5 objects open after a successful read\n", what, n);
        abort();
    }
}
#endif

#endif
