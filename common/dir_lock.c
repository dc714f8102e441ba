/* dir_lock.c - flock(2) on "<dir>/.micl.lock" held until exit (see dir_lock.h). */
#define _DEFAULT_SOURCE
#include "dir_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "paths.h"

#define MAX_LOCKS 2

/* The descriptors this process holds (never closed before exit: closing drops the lock). */
static int g_fds[MAX_LOCKS];
static int g_n_fds;

/* At a normal exit: empty each file whose lock no one else shares, so that an empty file means
 * "ended cleanly" and a non-empty unlocked one "its holder was killed". */
static void release_all(void) {
    for (int i = 0; i < g_n_fds; i++)
        if (flock(g_fds[i], LOCK_EX | LOCK_NB) == 0 && ftruncate(g_fds[i], 0) != 0) {
            /* nothing to do: the lock still dies with the process */
        }
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

static int lock_one(const char *dir, const char *name, int how, const char *command) {
    char path[1200];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        micl_fatal("%s: folder name too long for its lock file", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) micl_fatal("%s: cannot open the lock file '%s': %s", dir, path, strerror(errno));
    char holder[512], who[700];
    if (flock(fd, how | LOCK_NB) != 0) {
        int e = errno;
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

static void keep(int fd) {
    if (fd < 0) return;
    if (g_n_fds == 0) atexit(release_all);
    if (g_n_fds < MAX_LOCKS) g_fds[g_n_fds++] = fd;
}

void dir_lock_take(const char *dir, const char *command, int shard_index, int shard_count) {
    paths_make_dirs(dir, "output directory");
    if (shard_count <= 1) {
        keep(lock_one(dir, ".micl.lock", LOCK_EX, command));
        return;
    }
    char name[64];
    snprintf(name, sizeof name, ".micl.shard-%d-of-%d.lock", shard_index, shard_count);
    keep(lock_one(dir, name, LOCK_EX, command));
    keep(lock_one(dir, ".micl.lock", LOCK_SH, command));
}
