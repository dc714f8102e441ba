/* atomic_file.h - every file micl writes appears whole or not at all.
 *
 * A writer names the file it wants; atomic_file_begin registers "<path>.tmp" as pending output
 * (error.h: removed by micl_fatal and, through signals.h, by SIGINT/SIGHUP/SIGTERM). The writer
 * fills the temporary file, with stdio through atomic_file_open or by name through a library
 * (libhdf5, libpng), and atomic_file_commit makes it durable and visible in one step: fsync the
 * file, rename it over `path`, fsync the directory, unregister. atomic_file_abort removes it.
 * Every failure is fatal, with a message naming the file.
 *
 *   atomic_file_t af;
 *   atomic_file_begin(&af, path);
 *   hid_t f = h5_create(af.tmp); ... h5_close_file(f, af.tmp);
 *   atomic_file_commit(&af);
 */
#ifndef MICL_ATOMIC_FILE_H
#define MICL_ATOMIC_FILE_H

#include <stdio.h>

typedef struct {
    char *path; /* the final name (owned copy) */
    char *tmp;  /* "<path>.tmp", pending until commit or abort (owned) */
    FILE *fp;   /* the stream of atomic_file_open, or NULL for writers that write by name */
} atomic_file_t;

/* Starts writing `path`: fills af and registers af->tmp as pending; creates nothing. */
void atomic_file_begin(atomic_file_t *af, const char *path);
/* atomic_file_begin, then af->tmp opened with fopen `mode` ("w", "wb"); returns af->fp. */
FILE *atomic_file_open(atomic_file_t *af, const char *path, const char *mode);
/* Flushes and closes af->fp (if open), fsyncs af->tmp, renames it to af->path, fsyncs the
 * directory, unregisters it and frees af's names. The file must be closed by its library. */
void atomic_file_commit(atomic_file_t *af);
/* Closes af->fp (if open), removes af->tmp, unregisters it and frees af's names. */
void atomic_file_abort(atomic_file_t *af);

#endif
