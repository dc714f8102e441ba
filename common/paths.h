/* paths.h - output directories (mkdir -p) and the identity of a path.
 *
 * Used by train, sweep and export, which all write into a directory the user names, and by the
 * atomic writer (atomic_file.h), which must know when two spellings name the same file
 * ("./x.h5", "x.h5", a symbolic link to it) before it replaces one of them. */
#ifndef MICL_PATHS_H
#define MICL_PATHS_H

#include <stddef.h>

/* Creates `path` and its missing parents; fails (micl_fatal) with "cannot create <what> ..."
 * when a component cannot be made, when path exists and is not a directory, or when it is not
 * writable. `what` names the directory in messages ("output directory"). */
void paths_make_dirs(const char *path, const char *what);

/* The absolute name of `path` with "." / ".." and symbolic links resolved: realpath(path) when
 * it exists, else realpath of its folder + "/" + its last component, else path made absolute
 * against the working directory. Fails (micl_fatal) only when out[n] is too small. */
void paths_resolve(const char *path, char *out, size_t n);

/* 1 if a and b name the same file: the same device and inode when both exist (links followed),
 * else the same paths_resolve name. */
int paths_same(const char *a, const char *b);

/* 1 if `path` (resolved) lies inside the folder `dir` (resolved), at any depth. */
int paths_inside(const char *path, const char *dir);

#endif
