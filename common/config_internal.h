/* config_internal.h - what the config_*.c files share; not part of micl's API (config.h is).
 *
 * The schema (config_schema.c) describes every key in three tables of config_key_t: the top
 * level, one run, one stage. The loader (config_load.c) reads libconfig files against them,
 * the suggester (config_suggest.c) proposes the nearest valid key for an unknown one, and the
 * docs (config_docs.c) print docs/CONFIG.md from them and from the loader's rules.
 * config_resolve.c rewrites a config's text for one point of a sweep and needs none of this.
 */
#ifndef MICL_CONFIG_INTERNAL_H
#define MICL_CONFIG_INTERNAL_H

#include <stddef.h>

#include "config.h"

typedef enum {
    CONFIG_K_INT,        /* int field */
    CONFIG_K_INT64,      /* int64_t field */
    CONFIG_K_UINT64,     /* uint64_t field, written as a non-negative (64-bit) integer */
    CONFIG_K_FLOAT,      /* float field; integers are accepted */
    CONFIG_K_STRING,     /* char[size] field */
    CONFIG_K_NAME,       /* char[size] field restricted to letters, digits, '_', '-', '.' */
    CONFIG_K_FAMILY,     /* family_t field, one of config_family_names */
    CONFIG_K_BOOL,       /* int field, 0 or 1, written true / false */
    CONFIG_K_INT_LIST,   /* int[size] field with its count at aux; sorted, unique, non-empty */
    CONFIG_K_STR_LIST,   /* char[size][CONFIG_PATH_LEN] field with its count at aux */
    CONFIG_K_INT_PAIR,   /* [a, b] into int fields at off and aux; a <= b */
    CONFIG_K_FLOAT_PAIR, /* [a, b] into float fields at off and aux */
    CONFIG_K_RUNS,       /* the list of runs (g_run_keys) */
    CONFIG_K_STAGES,     /* the list of stages of one run (g_stage_keys) */
    CONFIG_K_AXES        /* the list of sweep axes (sweep_axis_t) */
} config_kind_t;

typedef struct {
    const char *path; /* dotted path; the last component is the key name */
    config_kind_t kind;
    size_t off;                  /* offset of the value in the owning struct */
    size_t aux;                  /* list count offset, or offset of the second value of a pair */
    size_t size;                 /* string buffer size or list capacity */
    double def, def2;            /* numeric default (def2: second value of a pair) */
    const char *def_s;           /* string default */
    const int *def_ints;         /* int list default */
    const char *const *def_strs; /* string list default */
    int def_n;                   /* length of the list default */
    double min, max;             /* range of numbers, of list elements, of list lengths */
    const char *doc;
} config_key_t;

#define CONFIG_INT64_BIG 1e15 /* upper bound of step counts */
#define CONFIG_KEY_LEN 256    /* longest key shown in a message */

/* One table of keys: the top level, a run or a stage. */
typedef struct {
    const config_key_t *keys;
    int n;
} config_table_t;

extern const config_table_t config_table_top, config_table_run, config_table_stage;

/* The config word of every family_t, in enum order. */
extern const char *const config_family_names[FAMILY_COUNT];
#define CONFIG_N_FAMILIES FAMILY_COUNT
/* The family words joined by ", " (for messages and docs). */
extern const char *const config_valid_families;

/* config_schema.c */
/* Copies src ("" for NULL) into dst, truncated to size. */
void config_copy_str(char *dst, size_t size, const char *src);
/* Sets every key of t to its default in the struct at base. */
void config_table_defaults(const config_table_t *t, void *base);
/* The last dotted component of a key path ("train.lr" -> "lr"). */
const char *config_last_component(const char *path);

/* config_suggest.c */
/* Best valid name at `level` ("" or e.g. "data.") for the unknown `typed`, or "" if none is close.
 */
void config_suggest(const config_table_t *t, const char *level, const char *typed, char *out,
                    size_t size);
/* A valid full path anywhere in t that ends in `typed` or is close to `full`, or "". */
void config_suggest_anywhere(const config_table_t *t, const char *typed, const char *full,
                             char *out, size_t size);

/* config_load.c */
/* The sentence documenting cross-field rule i, or NULL past the last rule. */
const char *config_rule_doc(int i);

#endif
