/* paths.c - mkdir -p with clear messages (see paths.h). */
#define _POSIX_C_SOURCE 200809L
#include "paths.h"

#include <errno.h>
#include <stdio.h>
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
