/* json_out.c - checked libjansson constructors and dumps for micl's JSON outputs (see
 * json_out.h). */
#include "json_out.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static json_t *checked(json_t *v, const char *what) {
    if (!v) micl_fatal("out of memory building JSON (%s)", what);
    return v;
}

json_t *json_out_object(void) {
    return checked(json_object(), "an object");
}

json_t *json_out_array(void) {
    return checked(json_array(), "an array");
}

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when p does not start one: no overlong
 * forms, no surrogates, nothing above U+10FFFF (what jansson accepts). */
static size_t utf8_valid_length(const unsigned char *p) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* s with every byte outside valid UTF-8 replaced by U+FFFD (EF BF BD); malloc'd. */
static char *utf8_repaired(const char *s) {
    size_t len = strlen(s);
    char *out = micl_malloc(3 * len + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_valid_length(p);
        if (n) {
            memcpy(o, p, n);
            o += n;
            p += n;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            p++;
        }
    }
    *o = '\0';
    return out;
}

json_t *json_out_string(const char *s) {
    json_t *v = json_string(s);
    if (v) return v;
    /* NULL: s is not valid UTF-8 (or memory ran out, which the repaired copy meets again) */
    char *fixed = utf8_repaired(s);
    v = json_string(fixed);
    free(fixed);
    return checked(v, "a string");
}

json_t *json_out_int(int64_t v) {
    return checked(json_integer((json_int_t)v), "an integer");
}

json_t *json_out_real(double v) {
    return checked(isfinite(v) ? json_real(v) : json_null(), "a number");
}

static int utf8_is_valid(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = utf8_valid_length(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

void json_out_set(json_t *obj, const char *key, json_t *v) {
    char *fixed = utf8_is_valid(key) ? NULL : utf8_repaired(key); /* keys are strings too */
    int rc = json_object_set_new(obj, fixed ? fixed : key, v);
    free(fixed);
    if (rc != 0) micl_fatal("cannot add member \"%s\" to a JSON object (out of memory?)", key);
}

void json_out_set_string(json_t *obj, const char *key, const char *s) {
    json_out_set(obj, key, json_out_string(s));
}

void json_out_set_int(json_t *obj, const char *key, int64_t v) {
    json_out_set(obj, key, json_out_int(v));
}

void json_out_set_real(json_t *obj, const char *key, double v) {
    json_out_set(obj, key, json_out_real(v));
}

void json_out_append(json_t *arr, json_t *v) {
    if (json_array_append_new(arr, v) != 0)
        micl_fatal("cannot append to a JSON array (out of memory?)");
}

/* Dumps v with the common flags plus `extra`; fatal on a write error. */
static void dump(FILE *f, const json_t *v, size_t extra, const char *what) {
    errno = 0; /* JSON_ENCODE_ANY: a list's items and test values may be scalars */
    if (json_dumpf(v, f, JSON_OUT_FLAGS | JSON_ENCODE_ANY | extra) != 0)
        micl_fatal("cannot write %s: %s", what, errno ? strerror(errno) : "JSON encoding failed");
}

static void put(FILE *f, const char *s, const char *what) {
    if (fputs(s, f) == EOF) micl_fatal("cannot write %s: %s", what, strerror(errno));
}

void json_out_write(FILE *f, json_t *v, const char *what) {
    dump(f, v, 0, what);
    json_decref(v);
}

void json_out_write_line(FILE *f, json_t *v, const char *what) {
    json_out_write(f, v, what);
    put(f, "\n", what);
}

void json_out_list_begin(json_out_list_t *l, FILE *f, const char *what, json_t *head,
                         const char *key, const char *indent) {
    *l = (json_out_list_t){f, what, indent, key != NULL, 0};
    if (!key) {
        put(f, "[", what);
        return;
    }
    put(f, "{", what);
    if (head && json_object_size(head) > 0) {
        dump(f, head, JSON_EMBED, what); /* the members without their braces */
        put(f, ", ", what);
    }
    json_decref(head);
    json_t *k = json_out_string(key);
    dump(f, k, 0, what);
    json_decref(k);
    put(f, ": [", what);
}

void json_out_list_add(json_out_list_t *l, json_t *item) {
    put(l->f, l->n ? ",\n" : "\n", l->what);
    put(l->f, l->indent, l->what);
    json_out_write(l->f, item, l->what);
    l->n++;
}

void json_out_list_end(json_out_list_t *l) {
    put(l->f, l->in_object ? "\n]}\n" : "\n]\n", l->what);
}
