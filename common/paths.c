/* paths.c - mkdir -p with clear messages, and path identity (see paths.h). */
#define _DEFAULT_SOURCE
#include "paths.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

static void make_one(const char *dir, const char *what) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        micl_fatal("cannot create %s '%s': %s", what, dir, strerror(errno));
}

void paths_make_dirs(const char *path, const char *what) {
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        micl_fatal("%s name too long: %s", what, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        make_one(buf, what);
        *p = '/';
    }
    make_one(buf, what);
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        micl_fatal("'%s' exists and is not a directory", buf);
    if (access(buf, W_OK) != 0) micl_fatal("%s '%s' is not writable", what, buf);
}

static void put(char *out, size_t n, const char *what, const char *a, const char *b) {
    if ((size_t)snprintf(out, n, "%s%s%s", a, *b ? "/" : "", b) >= n)
        micl_fatal("%s: path too long", what);
}

void paths_resolve(const char *path, char *out, size_t n) {
    char real[PATH_MAX];
    if (realpath(path, real)) {
        put(out, n, path, real, "");
        return;
    }
    /* The file does not exist (yet): resolve its folder, keep its name. */
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        micl_fatal("%s: path too long", path);
    size_t len = strlen(dir);
    while (len > 1 && dir[len - 1] == '/')
        dir[--len] = '\0';
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : dir;
    const char *folder = slash ? (slash == dir ? "/" : dir) : ".";
    if (slash && slash != dir) *slash = '\0';
    if (realpath(folder, real)) {
        put(out, n, path, strcmp(real, "/") == 0 ? "" : real, base);
        return;
    }
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
        put(out, n, path, path, "");
    else
        put(out, n, path, cwd, path);
}

int paths_same(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ra[PATH_MAX], rb[PATH_MAX];
    paths_resolve(a, ra, sizeof ra);
    paths_resolve(b, rb, sizeof rb);
    return strcmp(ra, rb) == 0;
}

int paths_inside(const char *path, const char *dir) {
    char rp[PATH_MAX], rd[PATH_MAX];
    paths_resolve(path, rp, sizeof rp);
    paths_resolve(dir, rd, sizeof rd);
    size_t n = strlen(rd);
    if (n == 1) return 1; /* "/" holds everything */
    return strncmp(rp, rd, n) == 0 && rp[n] == '/';
}
