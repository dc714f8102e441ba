/* error.c - fatal error reporting, pending-output cleanup and checked allocation.
 *
 * The pending list is the one piece of process-wide state here: it lets any fatal error (and the
 * clean-up signal handler of signals.c), wherever it happens, remove the files that were being
 * written at that moment.
 */
#define _POSIX_C_SOURCE 200809L
#include "error.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PENDING_MAX 16
#define PENDING_PATH_MAX 4096

/* The pending list is read by micl_pending_unlink_all from signal handlers: fixed buffers, and
 * a slot's flag is set only once its path is complete (and cleared before it is reused). */
static int g_rank = -1;
static int g_world = 1;
static char g_pending[PENDING_MAX][PENDING_PATH_MAX];
static volatile sig_atomic_t g_pending_used[PENDING_MAX];
static void (*g_abort_hook)(int code);
static void (*g_fatal_hook)(void);
static void (*g_at_fatal[4])(void);
static int g_n_at_fatal;
static int (*g_exit_cleanup)(void);

void micl_set_rank(int rank, int world_size) {
    g_rank = rank;
    g_world = world_size;
}

int micl_rank(void) {
    return g_rank < 0 ? 0 : g_rank;
}

void micl_set_abort_hook(void (*hook)(int code)) {
    g_abort_hook = hook;
}

void micl_set_fatal_hook(void (*hook)(void)) {
    g_fatal_hook = hook;
}

void micl_set_exit_cleanup(int (*cleanup)(void)) {
    g_exit_cleanup = cleanup;
}

void micl_pending_add(const char *path) {
    size_t n = strlen(path);
    if (n >= PENDING_PATH_MAX) micl_fatal("output path too long (%zu bytes): %.64s...", n, path);
    for (int i = 0; i < PENDING_MAX; i++) {
        if (!g_pending_used[i]) {
            memcpy(g_pending[i], path, n + 1);
            g_pending_used[i] = 1;
            return;
        }
    }
    micl_fatal("more than %d files are being written at once ('%s')", PENDING_MAX, path);
}

void micl_pending_remove(const char *path) {
    for (int i = 0; i < PENDING_MAX; i++)
        if (g_pending_used[i] && strcmp(g_pending[i], path) == 0) g_pending_used[i] = 0;
}

void micl_pending_unlink_all(void) {
    for (int i = 0; i < PENDING_MAX; i++) {
        if (g_pending_used[i]) {
            unlink(g_pending[i]);
            g_pending_used[i] = 0;
        }
    }
}

static void print_prefix(FILE *f, const char *kind) {
    if (g_world > 1)
        fprintf(f, "micl[rank %d]: %s: ", g_rank, kind);
    else
        fprintf(f, "micl: %s: ", kind);
}

void micl_at_fatal(void (*fn)(void)) {
    if (g_n_at_fatal < (int)(sizeof g_at_fatal / sizeof g_at_fatal[0]))
        g_at_fatal[g_n_at_fatal++] = fn;
}

void micl_fatal_at(const char *file, int line, const char *fmt, ...) {
    fflush(stdout);
    print_prefix(stderr, "error");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
#ifndef NDEBUG
    fprintf(stderr, " [%s:%d]", file, line);
#else
    (void)file;
    (void)line;
#endif
    fputc('\n', stderr);
    fflush(stderr);
    micl_pending_unlink_all();
    for (int i = 0; i < g_n_at_fatal; i++)
        g_at_fatal[i]();
    if (g_fatal_hook) g_fatal_hook();
    if (g_abort_hook && g_world > 1) g_abort_hook(MICL_EXIT_ERROR);
    /* A cleanup that fails can itself call micl_fatal: the second call skips it. */
    int (*cleanup)(void) = g_exit_cleanup;
    g_exit_cleanup = NULL;
    if (cleanup && cleanup()) {
        fflush(NULL);
        _exit(MICL_EXIT_ERROR);
    }
    exit(MICL_EXIT_ERROR);
}

void micl_warn(const char *fmt, ...) {
    print_prefix(stderr, "warning");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void micl_info(const char *fmt, ...) {
    if (g_rank > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void *micl_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) micl_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *micl_calloc(size_t count, size_t size) {
    if (size && count > SIZE_MAX / size)
        micl_fatal("allocation size overflow (%zu x %zu)", count, size);
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) micl_fatal("out of memory allocating %zu x %zu bytes", count, size);
    return p;
}

void *micl_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) micl_fatal("out of memory reallocating %zu bytes", n);
    return q;
}

void *micl_alloc_aligned(size_t n) {
    size_t rounded = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) micl_fatal("out of memory allocating %zu aligned bytes", n);
    return p;
}

char *micl_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = micl_malloc(n);
    memcpy(d, s, n);
    return d;
}

FILE *micl_fopen(const char *path, const char *mode) {
    FILE *f = fopen(path, mode);
    if (!f) micl_fatal("cannot open '%s': %s", path, strerror(errno));
    return f;
}
