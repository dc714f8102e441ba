/* predictions_file.c - the predictions reader (see predictions_file.h): a bounded line reader
 * in front of libjansson, which parses and validates each line (UTF-8, escapes, duplicate
 * members); micl adds the limits jansson does not have and the checks of its own format. */
#define _POSIX_C_SOURCE 200809L
#include "predictions_file.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/error.h"

/* Reads the next line (without its newline) into p->line, growing it up to the line limit.
 * Returns its length, or -1 at the end of the file. `total` counts the file's bytes. */
static int64_t read_line(FILE *f, const char *path, int64_t line_no, predictions_file_t *p,
                         size_t *cap, int64_t *total) {
    int64_t n = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) {
        if (++*total > PREDICTIONS_FILE_MAX_BYTES)
            micl_fatal("%s: larger than %lld bytes, the limit of a predictions file", path,
                       (long long)PREDICTIONS_FILE_MAX_BYTES);
        if (c == '\n') break;
        if (c == '\0') micl_fatal("%s:%lld: NUL byte in the line", path, (long long)line_no);
        if (n == PREDICTIONS_FILE_MAX_LINE)
            micl_fatal("%s:%lld: line longer than %lld bytes", path, (long long)line_no,
                       (long long)PREDICTIONS_FILE_MAX_LINE);
        if ((size_t)n + 1 >= *cap) {
            *cap = *cap ? 2 * *cap : 4096;
            p->line = micl_realloc(p->line, *cap);
        }
        p->line[n++] = (char)c;
    }
    if (ferror(f)) micl_fatal("cannot read '%s': %s", path, strerror(errno));
    if (c == EOF && n == 0) return -1;
    if (!p->line) p->line = micl_malloc(*cap = 1);
    p->line[n] = '\0';
    return n;
}

/* Refuses nesting deeper than the limit before jansson's recursive parser sees the line
 * (brackets inside strings do not count; the syntax itself is jansson's to check). */
static void check_depth(const char *s, size_t n, const char *path, int64_t line_no) {
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > PREDICTIONS_FILE_MAX_DEPTH)
                micl_fatal("%s:%lld: nesting deeper than %d levels", path, (long long)line_no,
                           PREDICTIONS_FILE_MAX_DEPTH);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
}

/* The string member `key` of obj, copied; fatal when missing or not a string. */
static char *string_member(json_t *obj, const char *key, const char *path, int64_t line_no) {
    json_t *v = json_object_get(obj, key);
    if (!v) micl_fatal("%s:%lld: missing string member \"%s\"", path, (long long)line_no, key);
    if (!json_is_string(v))
        micl_fatal("%s:%lld: member \"%s\" must be a string", path, (long long)line_no, key);
    return micl_strdup(json_string_value(v));
}

/* Parses one non-blank line s (n bytes) into a new entry. */
static void parse_line(const char *s, size_t n, const char *path, int64_t line_no,
                       predictions_file_t *p) {
    check_depth(s, n, path, line_no);
    json_error_t err;
    /* duplicate members are refused at every depth; "\u0000" is refused (no JSON_ALLOW_NUL) */
    json_t *obj = json_loadb(s, n, JSON_REJECT_DUPLICATES, &err);
    if (!obj)
        micl_fatal("%s:%lld: invalid JSON at byte %d: %s", path, (long long)line_no, err.position,
                   err.text);
    p->current = obj;
    if (!json_is_object(obj))
        micl_fatal("%s:%lld: expected a JSON object per line", path, (long long)line_no);
    if (json_object_size(obj) == 0)
        micl_fatal("%s:%lld: empty object: 'id' and 'prediction' are required", path,
                   (long long)line_no);
    predictions_file_entry_t *e = &p->items[p->n];
    memset(e, 0, sizeof *e);
    e->line = line_no;
    e->id = string_member(obj, "id", path, line_no);
    p->n++; /* from here on predictions_file_free releases e */
    e->text = string_member(obj, "prediction", path, line_no);
    json_decref(obj);
    p->current = NULL;
}

/* Order of ids, ties by line, so that a repeated id names its first line. */
static int by_id_then_line(const void *a, const void *b) {
    const predictions_file_entry_t *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int id_cmp(const void *key, const void *entry) {
    return strcmp(key, ((const predictions_file_entry_t *)entry)->id);
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

void predictions_file_read_stream(FILE *f, const char *path, int64_t max_predictions,
                                  predictions_file_t *out) {
    memset(out, 0, sizeof *out);
    struct stat st; /* a regular file too large is refused before reading (else while reading) */
    int fd = fileno(f);
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > PREDICTIONS_FILE_MAX_BYTES)
        micl_fatal("%s: larger than %lld bytes, the limit of a predictions file", path,
                   (long long)PREDICTIONS_FILE_MAX_BYTES);
    size_t cap = 0;
    int64_t total = 0, n;
    for (int64_t line_no = 1; (n = read_line(f, path, line_no, out, &cap, &total)) >= 0;
         line_no++) {
        const char *s = out->line;
        if (line_no == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3; /* a UTF-8 byte order mark, as some editors write */
            n -= 3;
        }
        if (is_blank(s, (size_t)n)) continue;
        if (out->n == max_predictions)
            micl_fatal("%s:%lld: more than %lld predictions, the number of episodes to score", path,
                       (long long)line_no, (long long)max_predictions);
        if (out->n == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 1024;
            out->items = micl_realloc(out->items, (size_t)out->cap * sizeof *out->items);
        }
        parse_line(s, (size_t)n, path, line_no, out);
    }
    free(out->line);
    out->line = NULL;
    if (out->n == 0) micl_fatal("%s: no predictions (expected one JSON object per line)", path);
    qsort(out->items, (size_t)out->n, sizeof *out->items, by_id_then_line);
    for (int64_t i = 1; i < out->n; i++)
        if (strcmp(out->items[i].id, out->items[i - 1].id) == 0)
            micl_fatal("%s:%lld: id \"%s\" repeats line %lld", path, (long long)out->items[i].line,
                       out->items[i].id, (long long)out->items[i - 1].line);
}

void predictions_file_read(const char *path, int64_t max_predictions, predictions_file_t *out) {
    FILE *f = fopen(path, "r");
    if (!f) micl_fatal("cannot read '%s': %s", path, strerror(errno));
    predictions_file_read_stream(f, path, max_predictions, out);
    fclose(f);
}

predictions_file_entry_t *predictions_file_find(const predictions_file_t *p, const char *id) {
    return bsearch(id, p->items, (size_t)p->n, sizeof *p->items, id_cmp);
}

void predictions_file_free(predictions_file_t *p) {
    for (int64_t i = 0; i < p->n; i++) {
        free(p->items[i].id);
        free(p->items[i].text);
    }
    free(p->items);
    free(p->line);
    json_decref(p->current);
    memset(p, 0, sizeof *p);
}
