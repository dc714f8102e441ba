/* error.h - fatal errors, checked allocation and checked library calls.
 *
 * Every fallible call in micl goes through a wrapper that reports file:line and the MPI rank,
 * prints one clear message and exits non-zero. Files being written are registered as
 * "pending" so that a fatal error removes them: a failed run never leaves half-written output.
 */
#ifndef MICL_ERROR_H
#define MICL_ERROR_H

#include <stddef.h>
#include <stdio.h>

/* Exit codes of the micl binary (documented in README.md). */
enum {
    MICL_EXIT_OK = 0,
    MICL_EXIT_ERROR = 1,    /* bad input, failed I/O, numerical failure */
    MICL_EXIT_USAGE = 2,    /* bad command line */
    MICL_EXIT_PREEMPTED = 3 /* stopped by a signal after a checkpoint */
};

/* Rank shown in messages; set once after MPI_Init (defaults to -1 = not under MPI). */
void micl_set_rank(int rank, int world_size);
int micl_rank(void);

/* Prints "micl: error: <msg>" (with rank and, in debug builds, file:line), removes pending
 * output files and exits (MPI_Abort when more than one rank runs). */
void micl_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define micl_fatal(...) micl_fatal_at(__FILE__, __LINE__, __VA_ARGS__)

/* Non-fatal messages on stderr, prefixed with the rank. */
void micl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress/info on stdout, printed by rank 0 only. */
void micl_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Registers a path that is being written; micl_fatal unlinks it. Unregister once renamed.
 * Output files go through atomic_file.h, which does both; at most 16 at once. */
void micl_pending_add(const char *path);
void micl_pending_remove(const char *path);
/* Unlinks and unregisters every pending path; async-signal-safe (signals.c calls it). */
void micl_pending_unlink_all(void);

/* Registers what micl_fatal runs before it aborts the ranks or exits, after removing pending
 * files: releasing what a process holds that an MPI abort would skip (atexit handlers do not run
 * then; common/dir_lock.c's folder lock). At most 4; each must be safe to run twice. */
void micl_at_fatal(void (*fn)(void));

/* Installed by the MPI layer: called by micl_fatal to abort all ranks. */
void micl_set_abort_hook(void (*hook)(int code));

/* Test and fuzzing hook (NULL = off, the default). When set, micl_fatal calls it after printing
 * the message and removing pending files, instead of aborting or exiting. The hook must not
 * return: it leaves by longjmp (the libFuzzer harnesses in tests/fuzz/ jump back to their
 * entry point) or by exiting itself; if it does return, micl_fatal exits as usual. */
void micl_set_fatal_hook(void (*hook)(void));

/* Installed by a library wrapper (h5util.c) that owns state an exit handler would touch:
 * micl_fatal calls it (after the fatal hook, before exiting) to close what is open. It returns
 * 0 when exit() is safe, 1 when the library's own exit handler would crash (libhdf5 1.10 frees
 * half of a file whose flush failed and then closes it again in H5_term_library): micl_fatal
 * then flushes stdio and leaves with _exit. One hook; a second call replaces it. */
void micl_set_exit_cleanup(int (*cleanup)(void));

/* Checked allocation: never returns NULL. micl_alloc_aligned gives 64-byte alignment. */
void *micl_malloc(size_t n);
void *micl_calloc(size_t count, size_t size);
void *micl_realloc(void *p, size_t n);
void *micl_alloc_aligned(size_t n);
char *micl_strdup(const char *s);

/* Checked stdio. */
FILE *micl_fopen(const char *path, const char *mode);

#endif
