/* dir_lock.c - flock(2) on "<dir>/.micl.lock" held until exit (see dir_lock.h). */
#define _DEFAULT_SOURCE
#include "dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "paths.h"

#define MAX_LOCKS 2

/* The locks this process holds (the descriptors are never closed before exit: closing drops the
 * lock), and the folder it created to hold them, if any. */
static int g_fds[MAX_LOCKS];
static char *g_paths[MAX_LOCKS];
static int g_n_fds;
static char *g_made_dir;  /* the locked folder, when this process made it */
static size_t g_made_top; /* length of its first prefix that did not exist */

/* At a normal exit (a refusal included): remove each lock file no one else shares, so that no
 * file means "ended cleanly" and an unlocked file left behind "its holder was killed"; then the
 * folder, if this process made it and it stayed empty (a command refused before it wrote
 * anything leaves nothing behind). A process that takes the lock checks that the file it locked
 * is still the one at the path (lock_one), so removing it here never lets two owners in. */
static void release_all(void) {
    for (int i = 0; i < g_n_fds; i++)
        if (flock(g_fds[i], LOCK_EX | LOCK_NB) == 0) unlink(g_paths[i]);
    /* the folders made, deepest first; stops at the first that is not empty */
    for (char *slash; g_made_dir && rmdir(g_made_dir) == 0 && g_made_top;) {
        if (strlen(g_made_dir) <= g_made_top || !(slash = strrchr(g_made_dir, '/'))) break;
        *slash = '\0';
        if (strlen(g_made_dir) < g_made_top) break;
    }
}

/* Notes which folders of dir's path do not exist yet (paths_make_dirs makes them): g_made_dir is
 * dir, g_made_top the length of its first missing prefix. */
static void note_missing(const char *dir) {
    struct stat st;
    if (g_made_dir || stat(dir, &st) == 0) return;
    char *p = micl_strdup(dir);
    size_t top = strlen(p);
    for (char *slash = strrchr(p, '/'); slash && slash > p; slash = strrchr(p, '/')) {
        *slash = '\0';
        if (stat(p, &st) == 0) break;
        top = strlen(p);
    }
    free(p);
    g_made_dir = micl_strdup(dir);
    g_made_top = top;
}

/* 1 if fd is still the file at path (not removed or replaced since it was opened). */
static int still_at(int fd, const char *path) {
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* What the holder wrote, without its trailing newline, in buf ("" when empty). */
static void read_holder(int fd, char *buf, size_t n) {
    ssize_t got = pread(fd, buf, n - 1, 0);
    buf[got > 0 ? got : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

/* Formats "micl train (pid P on host H) since T" from "P H T command..." (as written below). */
static void describe(const char *holder, char *out, size_t n) {
    long pid = 0;
    char host[256] = "?", since[64] = "?";
    int used = 0;
    if (sscanf(holder, "%ld %255s %63s %n", &pid, host, since, &used) >= 3 && used > 0)
        snprintf(out, n, "%s (pid %ld on host %s) since %s", holder + used, pid, host, since);
    else
        snprintf(out, n, "another micl process");
}

/* Opens and locks path; retries while the file it locked was removed by its ending holder in
 * between (release_all), so that the lock held is always that of the file at the path. */
static int open_locked(const char *dir, const char *path, int how, int *err) {
    for (;;) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0)
            micl_fatal("%s: cannot open the lock file '%s': %s", dir, path, strerror(errno));
        if (flock(fd, how | LOCK_NB) != 0) {
            *err = errno;
            return fd;
        }
        if (still_at(fd, path)) {
            *err = 0;
            return fd;
        }
        close(fd);
    }
}

static int lock_one(const char *dir, const char *name, int how, const char *command) {
    char path[1200];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        micl_fatal("%s: folder name too long for its lock file", dir);
    int e, fd = open_locked(dir, path, how, &e);
    char holder[512], who[700];
    if (e != 0) {
        if (e == ENOLCK || e == EOPNOTSUPP || e == ENOSYS) {
            micl_warn("%s: cannot lock '%s' (%s); running without the lock, so nothing stops "
                      "a second micl from writing this folder",
                      dir, path, strerror(e));
            close(fd);
            return -1;
        }
        read_holder(fd, holder, sizeof holder);
        close(fd);
        describe(holder, who, sizeof who);
        if (e == EWOULDBLOCK) micl_fatal("%s: in use by %s", dir, who);
        micl_fatal("%s: cannot lock '%s': %s", dir, path, strerror(e));
    }
    read_holder(fd, holder, sizeof holder);
    if (holder[0] && how == LOCK_EX) {
        describe(holder, who, sizeof who);
        micl_info("%s: taken over a stale lock file left by %s", dir, who);
    }
    char host[256] = "?", since[64] = "?";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == ' ') *p = '_';
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[700];
    int len = snprintf(line, sizeof line, "%ld %s %s %s\n", (long)getpid(), host, since, command);
    if (len >= (int)sizeof line) len = (int)sizeof line - 1;
    /* One write from offset 0 after truncating: a reader sees the old line, none, or this one. */
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len)
        micl_warn("%s: cannot write the lock file '%s': %s", dir, path, strerror(errno));
    return fd;
}

static void keep(int fd, const char *dir, const char *name) {
    if (fd < 0) return;
    if (g_n_fds == 0) { /* at exit, and before an MPI abort (which skips atexit) */
        atexit(release_all);
        micl_at_fatal(release_all);
    }
    if (g_n_fds < MAX_LOCKS) {
        size_t n = strlen(dir) + strlen(name) + 2;
        g_paths[g_n_fds] = micl_malloc(n);
        snprintf(g_paths[g_n_fds], n, "%s/%s", dir, name);
        g_fds[g_n_fds++] = fd;
    }
}

void dir_lock_take(const char *dir, const char *command, int shard_index, int shard_count) {
    note_missing(dir);
    paths_make_dirs(dir, "output directory");
    if (shard_count <= 1) {
        keep(lock_one(dir, ".micl.lock", LOCK_EX, command), dir, ".micl.lock");
        return;
    }
    char name[64];
    snprintf(name, sizeof name, ".micl.shard-%d-of-%d.lock", shard_index, shard_count);
    keep(lock_one(dir, name, LOCK_EX, command), dir, name);
    keep(lock_one(dir, ".micl.lock", LOCK_SH, command), dir, ".micl.lock");
}
