/* atomic_file.c - write to "<path>.tmp", fsync, rename (see atomic_file.h); the registry of
 * the process's inputs and the check that no output replaces one of them, a non-file, or a file
 * of another kind.
 *
 * The temporary name sits beside the final one, so the rename never crosses a file system. The
 * directory is synced after the rename so that the new name itself survives a crash. */
#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file_kind.h"
#include "paths.h"

/* ---- the inputs of this process ---------------------------------------------------------- */

typedef struct {
    char *given;        /* as the command named it, for messages */
    char *resolved;     /* paths_resolve */
    const char *what;   /* "the config", ... */
    int exists, is_dir; /* when registered */
    dev_t dev;
    ino_t ino;
} input_t;

static input_t *g_inputs;
static int g_n_inputs, g_cap_inputs;

void atomic_file_input(const char *path, const char *what) {
    char resolved[PATH_MAX];
    paths_resolve(path, resolved, sizeof resolved);
    for (int i = 0; i < g_n_inputs; i++)
        if (strcmp(g_inputs[i].resolved, resolved) == 0) return;
    if (g_n_inputs == g_cap_inputs) {
        g_cap_inputs = g_cap_inputs ? 2 * g_cap_inputs : 16;
        g_inputs = micl_realloc(g_inputs, (size_t)g_cap_inputs * sizeof *g_inputs);
    }
    input_t *in = &g_inputs[g_n_inputs++];
    memset(in, 0, sizeof *in);
    in->given = micl_strdup(path);
    in->resolved = micl_strdup(resolved);
    in->what = what;
    struct stat st;
    if (stat(path, &st) == 0) {
        in->exists = 1;
        in->is_dir = S_ISDIR(st.st_mode);
        in->dev = st.st_dev;
        in->ino = st.st_ino;
    }
}

/* The kind of a node that is not a regular file, in words. */
static const char *node_words(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

/* 1 (why filled) if `path`, which exists as st when have_st, is or lies inside an input. */
static int is_input(const char *path, const struct stat *st, int have_st, char *why, size_t n) {
    char resolved[PATH_MAX];
    paths_resolve(path, resolved, sizeof resolved);
    for (int i = 0; i < g_n_inputs; i++) {
        const input_t *in = &g_inputs[i];
        int same = have_st && in->exists ? st->st_dev == in->dev && st->st_ino == in->ino
                                         : strcmp(resolved, in->resolved) == 0;
        if (same) {
            snprintf(why, n, "refusing to write '%s': it is %s this command reads ('%s')", path,
                     in->what, in->given);
            return 1;
        }
        if (in->is_dir && paths_inside(path, in->given)) {
            snprintf(why, n, "refusing to write '%s': it is inside %s ('%s')", path, in->what,
                     in->given);
            return 1;
        }
    }
    return 0;
}

int atomic_file_check(const char *path, const char *kind, char *why, size_t n) {
    struct stat st;
    int have_st = stat(path, &st) == 0;
    if (have_st && !S_ISREG(st.st_mode)) {
        snprintf(why, n, "refusing to write '%s': it is %s, not a regular file", path,
                 node_words(st.st_mode));
        return 1;
    }
    if (is_input(path, &st, have_st, why, n)) return 1;
    if (kind && have_st) {
        const char *old = file_kind(path);
        if (!file_kind_replaceable(old, kind)) {
            snprintf(why, n, "refusing to write '%s': it is %s, and this would replace it with %s",
                     path, file_kind_words(old), file_kind_words(kind));
            return 1;
        }
    }
    return 0;
}

/* ---- the writer --------------------------------------------------------------------------- */

static void free_names(atomic_file_t *af) {
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
}

void atomic_file_begin(atomic_file_t *af, const char *path) {
    char why[2 * PATH_MAX + 200];
    if (atomic_file_check(path, NULL, why, sizeof why)) micl_fatal("%s", why);
    size_t n = strlen(path);
    af->path = micl_strdup(path);
    af->tmp = micl_malloc(n + 5);
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp", 5);
    af->fp = NULL;
    if (atomic_file_check(af->tmp, NULL, why, sizeof why)) {
        free_names(af);
        micl_fatal("%s", why);
    }
    micl_pending_add(af->tmp);
}

/* The streams of atomic_file_open not yet committed or aborted, for atomic_file_name: writers
 * that are handed only a FILE * can still name the file in their messages. */
#define OPEN_MAX 16
static struct {
    FILE *fp;
    const char *tmp;
} g_open[OPEN_MAX];

static void open_forget(FILE *fp) {
    for (int i = 0; i < OPEN_MAX; i++)
        if (g_open[i].fp == fp) g_open[i].fp = NULL;
}

const char *atomic_file_name(FILE *fp) {
    for (int i = 0; fp && i < OPEN_MAX; i++)
        if (g_open[i].fp == fp) return g_open[i].tmp;
    return NULL;
}

FILE *atomic_file_open(atomic_file_t *af, const char *path, const char *mode) {
    atomic_file_begin(af, path);
    af->fp = fopen(af->tmp, mode);
    if (!af->fp) micl_fatal("cannot write '%s': %s", af->tmp, strerror(errno));
    for (int i = 0; i < OPEN_MAX; i++)
        if (!g_open[i].fp) {
            g_open[i].fp = af->fp;
            g_open[i].tmp = af->tmp;
            break;
        }
    return af->fp;
}

/* fsync of a path opened read-only: enough on Linux for files and directories. File systems
 * that cannot sync a directory say EINVAL; that is not an error of the file. */
static void sync_path(const char *path, int is_dir) {
    int fd = open(path, O_RDONLY | (is_dir ? O_DIRECTORY : 0));
    if (fd < 0) micl_fatal("cannot open '%s' to sync it: %s", path, strerror(errno));
    if (fsync(fd) != 0 && !(is_dir && (errno == EINVAL || errno == ENOTSUP))) {
        int e = errno;
        close(fd);
        micl_fatal("cannot sync '%s' to disk: %s", path, strerror(e));
    }
    close(fd);
}

void atomic_file_commit(atomic_file_t *af) {
    if (af->fp) {
        FILE *fp = af->fp;
        af->fp = NULL;
        open_forget(fp);
        if (fflush(fp) != 0 || ferror(fp)) {
            int e = errno;
            fclose(fp);
            micl_fatal("cannot write '%s': %s", af->tmp, strerror(e));
        }
        if (fsync(fileno(fp)) != 0) {
            int e = errno;
            fclose(fp);
            micl_fatal("cannot sync '%s' to disk: %s", af->tmp, strerror(e));
        }
        if (fclose(fp) != 0) micl_fatal("cannot write '%s': %s", af->tmp, strerror(errno));
    } else {
        sync_path(af->tmp, 0);
    }
    /* Only now is the new file's kind known; the old file stays as it is when they differ. */
    char why[2 * PATH_MAX + 200];
    if (atomic_file_check(af->path, file_kind(af->tmp), why, sizeof why)) {
        atomic_file_abort(af);
        micl_fatal("%s", why);
    }
    if (rename(af->tmp, af->path) != 0)
        micl_fatal("cannot rename '%s' to '%s': %s", af->tmp, af->path, strerror(errno));
    micl_pending_remove(af->tmp);
    char *dir = micl_strdup(af->path);
    sync_path(dirname(dir), 1);
    free(dir);
    free_names(af);
}

void atomic_file_abort(atomic_file_t *af) {
    open_forget(af->fp);
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (unlink(af->tmp) != 0 && errno != ENOENT)
        micl_warn("cannot remove '%s': %s", af->tmp, strerror(errno));
    micl_pending_remove(af->tmp);
    free_names(af);
}
