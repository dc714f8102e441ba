/* json_out.h - every JSON text micl writes, through libjansson.
 *
 * Writers build jansson values with these checked constructors (a failure is fatal, naming the
 * key) and dump them with one set of flags: members in insertion order, ", " and ": " between
 * items, no indentation, reals with 17 significant digits (they read back as the same double;
 * jansson writes an integral real as "1.0"), non-finite reals as null (JSON has no NaN or Inf).
 * Strings are UTF-8: a byte that is not part of valid UTF-8 (a Latin-1 comment in a config, a
 * file name) is written as U+FFFD, so the output always parses.
 *
 * A document that holds a long list is streamed, one item per line, so that it is never all in
 * memory and stays readable with grep:
 *
 *     [                        json_out_list_begin(&l, f, "data.json", NULL, NULL, " ")
 *      {...},                  json_out_list_add(&l, item)   (item dumped, then released)
 *      {...}
 *     ]                        json_out_list_end(&l)
 *
 * or, with a head object and a key, {<head's members>, "runs": [ ...one run per line... ]}.
 * Used by results (micl report --format json), sweep reports, data export and the predictions
 * that `micl eval --write-predictions` writes (orchestrator/predictions_file.c reads them).
 */
#ifndef MICL_JSON_OUT_H
#define MICL_JSON_OUT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* The dump flags of every JSON micl writes (see above). */
#define JSON_OUT_FLAGS (JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

json_t *json_out_object(void);
json_t *json_out_array(void);
json_t *json_out_string(const char *s); /* invalid UTF-8 bytes become U+FFFD */
json_t *json_out_int(int64_t v);
json_t *json_out_real(double v); /* null when not finite */

/* obj[key] = v, taking v's reference. */
void json_out_set(json_t *obj, const char *key, json_t *v);
void json_out_set_string(json_t *obj, const char *key, const char *s);
void json_out_set_int(json_t *obj, const char *key, int64_t v);
void json_out_set_real(json_t *obj, const char *key, double v);
/* Appends v to arr, taking v's reference. */
void json_out_append(json_t *arr, json_t *v);

/* Writes v to f and releases it; `what` names the output in messages. Fatal on a write error. */
void json_out_write(FILE *f, json_t *v, const char *what);
/* The same followed by a newline: one line of a JSON-lines file. */
void json_out_write_line(FILE *f, json_t *v, const char *what);

typedef struct {
    FILE *f;
    const char *what;   /* the output, in messages (not copied) */
    const char *indent; /* written before each item (not copied) */
    int in_object;      /* the list is the last member of an object */
    int64_t n;          /* items written */
} json_out_list_t;

/* Starts a streamed list: a top-level array (key NULL; head must be NULL), or the member `key`
 * of an object whose other members are head's (NULL: none; head is released). */
void json_out_list_begin(json_out_list_t *l, FILE *f, const char *what, json_t *head,
                         const char *key, const char *indent);
/* Writes one item on its own line and releases it. */
void json_out_list_add(json_out_list_t *l, json_t *item);
/* Closes the list (and the object) and ends the line. */
void json_out_list_end(json_out_list_t *l);

#endif
