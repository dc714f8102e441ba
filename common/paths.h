/* paths.h - creating output directories (mkdir -p) with messages that name the directory.
 * Used by train, sweep and export, which all write into a directory the user names. */
#ifndef MICL_PATHS_H
#define MICL_PATHS_H

/* Creates `path` and its missing parents; fails (micl_fatal) with "cannot create <what> ..."
 * when a component cannot be made, when path exists and is not a directory, or when it is not
 * writable. `what` names the directory in messages ("output directory"). */
void paths_make_dirs(const char *path, const char *what);

#endif
