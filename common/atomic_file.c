/* atomic_file.c - write to "<path>.tmp", fsync, rename (see atomic_file.h).
 *
 * The temporary name sits beside the final one, so the rename never crosses a file system. The
 * directory is synced after the rename so that the new name itself survives a crash. */
#define _POSIX_C_SOURCE 200809L
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

void atomic_file_begin(atomic_file_t *af, const char *path) {
    size_t n = strlen(path);
    af->path = micl_strdup(path);
    af->tmp = micl_malloc(n + 5);
    memcpy(af->tmp, path, n);
    memcpy(af->tmp + n, ".tmp", 5);
    af->fp = NULL;
    micl_pending_add(af->tmp);
}

FILE *atomic_file_open(atomic_file_t *af, const char *path, const char *mode) {
    atomic_file_begin(af, path);
    af->fp = fopen(af->tmp, mode);
    if (!af->fp) micl_fatal("cannot write '%s': %s", af->tmp, strerror(errno));
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

static void free_names(atomic_file_t *af) {
    free(af->path);
    free(af->tmp);
    af->path = af->tmp = NULL;
}

void atomic_file_commit(atomic_file_t *af) {
    if (af->fp) {
        FILE *fp = af->fp;
        af->fp = NULL;
        if (fflush(fp) != 0 || ferror(fp) || fsync(fileno(fp)) != 0) {
            int e = errno;
            fclose(fp);
            micl_fatal("cannot write '%s': %s", af->tmp, strerror(e));
        }
        if (fclose(fp) != 0) micl_fatal("cannot write '%s': %s", af->tmp, strerror(errno));
    } else {
        sync_path(af->tmp, 0);
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
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (unlink(af->tmp) != 0 && errno != ENOENT)
        micl_warn("cannot remove '%s': %s", af->tmp, strerror(errno));
    micl_pending_remove(af->tmp);
    free_names(af);
}
