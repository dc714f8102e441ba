/* predictions_file.h - reading a predictions file: JSON lines from another party's model.
 *
 * One JSON object per line (parsed by libjansson) with the string members "id" and
 * "prediction"; other members are ignored (such as "ranked", which `micl eval
 * --write-predictions` adds); blank lines are skipped, and a UTF-8 byte order mark at the start
 * of the file is skipped. The file comes from elsewhere, so everything is refused with a
 * message naming the file and line: a line that is not one JSON object, invalid UTF-8, a NUL
 * byte (raw or as \u0000), a member that appears twice (at any depth), nesting deeper than
 * PREDICTIONS_FILE_MAX_DEPTH, a line longer than PREDICTIONS_FILE_MAX_LINE bytes, a file larger
 * than PREDICTIONS_FILE_MAX_BYTES, more predictions than the caller can use, and a repeated id.
 * The limits bound what a hostile file can make micl allocate: one line's buffer and jansson
 * tree, and the kept ids and texts of at most max_predictions lines.
 */
#ifndef MICL_PREDICTIONS_FILE_H
#define MICL_PREDICTIONS_FILE_H

#include <stdint.h>
#include <stdio.h>

#define PREDICTIONS_FILE_MAX_LINE ((int64_t)1 << 20)  /* bytes per line, newline excluded */
#define PREDICTIONS_FILE_MAX_BYTES ((int64_t)1 << 30) /* bytes per file */
#define PREDICTIONS_FILE_MAX_DEPTH 64                 /* nested arrays and objects per line */

typedef struct {
    char *id, *text; /* "id" and "prediction": UTF-8 without NUL */
    int64_t line;    /* where it was read (from 1) */
    int used;        /* free for the caller (the scorer marks matched ids) */
} predictions_file_entry_t;

typedef struct {
    predictions_file_entry_t *items; /* sorted by id (strcmp); ids are unique */
    int64_t n, cap;
    char *line;    /* the line buffer while reading */
    void *current; /* the jansson tree of the line being read */
} predictions_file_t;

/* Reads `path` into out (sorted by id). At most max_predictions lines may hold one; a file
 * with none is an error as well. Fatal, with file:line, on anything described above. */
void predictions_file_read(const char *path, int64_t max_predictions, predictions_file_t *out);
/* The same from an open stream (not closed); `path` names it in messages. */
void predictions_file_read_stream(FILE *f, const char *path, int64_t max_predictions,
                                  predictions_file_t *out);
/* The entry with this id, or NULL. */
predictions_file_entry_t *predictions_file_find(const predictions_file_t *p, const char *id);
/* Frees everything, also what a read left behind when micl_fatal's hook jumped out of it (the
 * fuzz target's case): out must have been zeroed or filled by a read. */
void predictions_file_free(predictions_file_t *p);

#endif
