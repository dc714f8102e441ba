/* atomic_file.h - every file micl writes appears whole or not at all.
 *
 * A writer names the file it wants; atomic_file_begin registers "<path>.tmp" as pending output
 * (error.h: removed by micl_fatal and, through signals.h, by SIGINT/SIGHUP/SIGTERM). The writer
 * fills the temporary file, with stdio through atomic_file_open or by name through a library
 * (libhdf5, libpng), and atomic_file_commit makes it durable and visible in one step: fsync the
 * file, rename it over `path`, fsync the directory, unregister. atomic_file_abort removes it.
 * Every failure is fatal, with a message naming the file.
 *
 * It is also the one place that refuses to destroy a user's file. A command registers the files
 * and folders it reads (atomic_file_input: its config, checkpoints, stores, predictions, the
 * results files it merges, the folder it imports); atomic_file_begin then refuses, before
 * anything is written, an output that is one of them (by device and inode, so "./x.h5" and a
 * symbolic link count), a file inside an input folder, or an existing path that is not a regular
 * file (/dev/null, /dev/full, a FIFO, a directory, a socket: a rename would replace the node).
 * atomic_file_commit refuses to replace an existing file of another kind (file_kind.h: a results
 * file over a checkpoint, a PNG over an image store, text over HDF5); a file of the same kind is
 * replaced, which is how results, checkpoints, bench files and plots are rewritten. Commands call
 * atomic_file_check on the paths of their flags first, so that a bad -o exits 2 before any work.
 *
 *   atomic_file_t af;
 *   atomic_file_begin(&af, path);
 *   hid_t f = h5_create(af.tmp); ... h5_close_file(f, af.tmp);
 *   atomic_file_commit(&af);
 */
#ifndef MICL_ATOMIC_FILE_H
#define MICL_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char *path; /* the final name (owned copy) */
    char *tmp;  /* "<path>.tmp", pending until commit or abort (owned) */
    FILE *fp;   /* the stream of atomic_file_open, or NULL for writers that write by name */
} atomic_file_t;

/* Registers a file or folder this process reads; `what` says what it is in messages ("the
 * config", "the image folder being imported"; a string literal, not copied). Paths that do not
 * exist are registered by name (paths_resolve). Registering a path twice is harmless. */
void atomic_file_input(const char *path, const char *what);

/* 0 if `path` may be written: not a registered input nor inside an input folder, not an existing
 * non-regular file, and (when kind is not NULL) not an existing file whose file_kind differs from
 * `kind` (file_kind_replaceable). Else 1, with the reason, naming the paths, in why[n]. */
int atomic_file_check(const char *path, const char *kind, char *why, size_t n);

/* The temporary path of a stream that atomic_file_open returned and that is not yet committed
 * or aborted (for the messages of writers handed only the FILE *), else NULL. */
const char *atomic_file_name(FILE *fp);

/* Starts writing `path`: fills af and registers af->tmp as pending; creates nothing. Fatal when
 * atomic_file_check(path, NULL) refuses it (or its "<path>.tmp"). */
void atomic_file_begin(atomic_file_t *af, const char *path);
/* atomic_file_begin, then af->tmp opened with fopen `mode` ("w", "wb"); returns af->fp. */
FILE *atomic_file_open(atomic_file_t *af, const char *path, const char *mode);
/* Flushes and closes af->fp (if open), fsyncs af->tmp, renames it to af->path, fsyncs the
 * directory, unregisters it and frees af's names. The file must be closed by its library.
 * Fatal (af->tmp removed, af->path untouched) when af->path now holds a file of another kind
 * than af->tmp. */
void atomic_file_commit(atomic_file_t *af);
/* Closes af->fp (if open), removes af->tmp, unregisters it and frees af's names. */
void atomic_file_abort(atomic_file_t *af);

#endif
