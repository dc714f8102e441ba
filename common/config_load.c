/* config_load.c - reading and validating micl's libconfig files (config_load, config_free).
 *
 * Walks the libconfig tree against the schema tables (config_schema.c): each member must be a
 * key of its table (else an error with config_suggest's nearest key), of the key's type and in
 * its range; runs, stages and sweep axes are lists of groups loaded with their own tables.
 * Checks that relate several keys live in g_rules, each next to the sentence that documents it
 * (config_docs.c prints them). Every problem ends in micl_fatal with the file, the line where
 * known, and the key. Nothing else in micl touches libconfig but this file and
 * config_resolve.c.
 *
 * libconfig.h also defines a type named config_t, so it is included under another name.
 */
#define _POSIX_C_SOURCE 200809L
#define config_t libconfig_config_t
#include <libconfig.h>
#undef config_t

#include "atomic_file.h"
#include "config_internal.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct {
    const char *file; /* name used in messages */
} loader_t;

static void fail_at(const loader_t *L, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void fail_at(const loader_t *L, const config_setting_t *s, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : L->file;
    if (s && config_setting_source_line(s) > 0)
        micl_fatal("%s:%u: %s", file, (unsigned)config_setting_source_line(s), msg);
    micl_fatal("%s: %s", file, msg);
}

static void fail_unknown(const loader_t *L, const config_table_t *t, const char *level,
                         const char *disp_prefix, const config_setting_t *s) {
    const char *typed = config_setting_name(s);
    char full[CONFIG_KEY_LEN], near[CONFIG_KEY_LEN], shown[CONFIG_KEY_LEN];
    snprintf(full, sizeof full, "%.120s%.120s", level, typed);
    config_suggest(t, level, typed, near, sizeof near);
    if (near[0]) {
        snprintf(shown, sizeof shown, "%.100s%.60s%.60s", disp_prefix, level, near);
    } else if (t == &config_table_top) {
        config_suggest_anywhere(t, typed, full, shown, sizeof shown);
    } else {
        shown[0] = '\0';
    }
    if (shown[0])
        fail_at(L, s, "unknown key '%s%s' (did you mean '%s'?)", disp_prefix, full, shown);
    fail_at(L, s, "unknown key '%s%s'", disp_prefix, full);
}

/* ------------------------------------------------------------------------------------------ */
/* Values                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static const char *type_phrase(int type) {
    switch (type) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a float";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array";
    case CONFIG_TYPE_LIST:
        return "a list";
    case CONFIG_TYPE_GROUP:
        return "a group";
    default:
        return "nothing";
    }
}

static int is_int(const config_setting_t *s) {
    return config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64;
}

static int is_number(const config_setting_t *s) {
    return is_int(s) || config_setting_type(s) == CONFIG_TYPE_FLOAT;
}

static void need_type(const loader_t *L, const config_setting_t *s, const char *key, int ok,
                      const char *want) {
    if (!ok)
        fail_at(L, s, "key '%s' must be %s, got %s", key, want,
                type_phrase(config_setting_type(s)));
}

static long long get_int(const loader_t *L, const config_setting_t *s, const char *key, double lo,
                         double hi) {
    need_type(L, s, key, is_int(s), "an integer");
    long long v = config_setting_get_int64(s);
    if ((double)v < lo || (double)v > hi)
        fail_at(L, s, "key '%s' = %lld is out of range [%.0f, %.0f]", key, v, lo, hi);
    return v;
}

static uint64_t get_uint64(const loader_t *L, const config_setting_t *s, const char *key) {
    need_type(L, s, key, is_int(s), "an integer");
    long long v = config_setting_get_int64(s);
    if (v < 0) fail_at(L, s, "key '%s' = %lld must be >= 0", key, v);
    return (uint64_t)v;
}

static double get_float(const loader_t *L, const config_setting_t *s, const char *key, double lo,
                        double hi) {
    need_type(L, s, key, is_number(s), "a number");
    double v = config_setting_type(s) == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                                           : (double)config_setting_get_int64(s);
    if (!(v >= lo && v <= hi))
        fail_at(L, s, "key '%s' = %g is out of range [%g, %g]", key, v, lo, hi);
    return v;
}

static void get_string(const loader_t *L, const config_setting_t *s, const char *key, char *dst,
                       size_t size) {
    need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_STRING, "a string");
    const char *v = config_setting_get_string(s);
    if (strlen(v) >= size)
        fail_at(L, s, "key '%s' is too long (%zu characters, at most %zu)", key, strlen(v),
                size - 1);
    memcpy(dst, v, strlen(v) + 1);
}

static void get_name(const loader_t *L, const config_setting_t *s, const char *key, char *dst,
                     size_t size) {
    get_string(L, s, key, dst, size);
    if (!dst[0]) fail_at(L, s, "key '%s' must not be empty", key);
    for (const char *c = dst; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
        if (!ok)
            fail_at(L, s, "key '%s' = \"%s\" may only contain letters, digits, '_', '-', '.'", key,
                    dst);
    }
}

static family_t get_family(const loader_t *L, const config_setting_t *s, const char *key) {
    need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_STRING, "a string");
    const char *v = config_setting_get_string(s);
    for (int i = 0; i < CONFIG_N_FAMILIES; i++)
        if (strcmp(v, config_family_names[i]) == 0) return (family_t)i;
    fail_at(L, s, "key '%s' = \"%s\" is not a valid family (valid: %s)", key, v,
            config_valid_families);
}

/* Checks that `s` is an array/list of n elements with n in [lo, hi]; returns n. */
static int get_sequence(const loader_t *L, const config_setting_t *s, const char *key, int lo,
                        int hi, const char *want) {
    int t = config_setting_type(s);
    need_type(L, s, key, t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST, want);
    int n = config_setting_length(s);
    if (n < lo || n > hi) {
        if (lo == hi) fail_at(L, s, "key '%s' must have %d elements, got %d", key, lo, n);
        fail_at(L, s, "key '%s' must have %d to %d elements, got %d", key, lo, hi, n);
    }
    return n;
}

static void get_int_list(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                         const char *key, char *base) {
    int n = get_sequence(L, s, key, 1, (int)k->size, "an array of integers");
    int *dst = (int *)(base + k->off);
    for (int i = 0; i < n; i++) {
        char ek[CONFIG_KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        dst[i] = (int)get_int(L, config_setting_get_elem(s, (unsigned)i), ek, k->min, k->max);
        if (i > 0 && dst[i] <= dst[i - 1])
            fail_at(L, s, "key '%s' must be sorted and unique, but %d follows %d", key, dst[i],
                    dst[i - 1]);
    }
    *(int *)(base + k->aux) = n;
}

static void get_str_list(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                         const char *key, char *base) {
    int n = get_sequence(L, s, key, (int)k->min, (int)k->max, "an array of strings");
    for (int i = 0; i < n; i++) {
        char ek[CONFIG_KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        get_string(L, config_setting_get_elem(s, (unsigned)i), ek,
                   base + k->off + (size_t)i * CONFIG_PATH_LEN, CONFIG_PATH_LEN);
    }
    *(int *)(base + k->aux) = n;
}

static void get_pair(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                     const char *key, char *base) {
    int is_f = k->kind == CONFIG_K_FLOAT_PAIR;
    get_sequence(L, s, key, 2, 2, is_f ? "an array of 2 numbers" : "an array of 2 integers");
    for (int i = 0; i < 2; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char ek[CONFIG_KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        char *dst = base + (i ? k->aux : k->off);
        if (is_f)
            *(float *)dst = (float)get_float(L, e, ek, k->min, k->max);
        else
            *(int *)dst = (int)get_int(L, e, ek, k->min, k->max);
    }
    if (!is_f && *(int *)(base + k->off) > *(int *)(base + k->aux))
        fail_at(L, s, "key '%s' = [%d, %d] must be [min, max] with min <= max", key,
                *(int *)(base + k->off), *(int *)(base + k->aux));
}

/* ------------------------------------------------------------------------------------------ */
/* Groups, runs and stages                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void load_group(const loader_t *L, const config_setting_t *grp, const config_table_t *t,
                       const char *level, const char *disp, void *base);
static void load_runs(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                      char *base);
static void load_stages(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                        const char *disp, char *base);
static void load_axes(const loader_t *L, const config_setting_t *s, sweep_config_t *sw);

static void load_value(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                       const char *key, const char *disp, char *base) {
    char *p = base + k->off;
    switch (k->kind) {
    case CONFIG_K_INT:
        *(int *)p = (int)get_int(L, s, key, k->min, k->max);
        break;
    case CONFIG_K_INT64:
        *(int64_t *)p = (int64_t)get_int(L, s, key, k->min, k->max);
        break;
    case CONFIG_K_UINT64:
        *(uint64_t *)p = get_uint64(L, s, key);
        break;
    case CONFIG_K_FLOAT:
        *(float *)p = (float)get_float(L, s, key, k->min, k->max);
        break;
    case CONFIG_K_STRING:
        get_string(L, s, key, p, k->size);
        break;
    case CONFIG_K_NAME:
        get_name(L, s, key, p, k->size);
        break;
    case CONFIG_K_FAMILY:
        *(family_t *)p = get_family(L, s, key);
        break;
    case CONFIG_K_BOOL:
        need_type(L, s, key, config_setting_type(s) == CONFIG_TYPE_BOOL, "true or false");
        *(int *)p = config_setting_get_bool(s) != 0;
        break;
    case CONFIG_K_INT_LIST:
        get_int_list(L, s, k, key, base);
        break;
    case CONFIG_K_STR_LIST:
        get_str_list(L, s, k, key, base);
        break;
    case CONFIG_K_INT_PAIR:
    case CONFIG_K_FLOAT_PAIR:
        get_pair(L, s, k, key, base);
        break;
    case CONFIG_K_RUNS:
        load_runs(L, s, k, base);
        break;
    case CONFIG_K_STAGES:
        load_stages(L, s, k, disp, base);
        break;
    case CONFIG_K_AXES:
        load_axes(L, s, (sweep_config_t *)p);
        break;
    }
}

static const config_key_t *find_key(const config_table_t *t, const char *path) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->keys[i].path, path) == 0) return &t->keys[i];
    return NULL;
}

static int is_subgroup(const config_table_t *t, const char *path) {
    size_t n = strlen(path);
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->keys[i].path, path, n) == 0 && t->keys[i].path[n] == '.') return 1;
    return 0;
}

/* Loads every member of `grp`. level: table path prefix ("", "data."); disp: prefix shown in
 * messages ("", "runs[1].stages[0]."); base: the struct the table's offsets refer to. */
static void load_group(const loader_t *L, const config_setting_t *grp, const config_table_t *t,
                       const char *level, const char *disp, void *base) {
    int n = config_setting_length(grp);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(grp, (unsigned)i);
        char path[CONFIG_KEY_LEN], key[CONFIG_KEY_LEN];
        snprintf(path, sizeof path, "%.120s%.120s", level, config_setting_name(m));
        snprintf(key, sizeof key, "%.120s%.120s", disp, path);
        const config_key_t *k = find_key(t, path);
        if (k) {
            load_value(L, m, k, key, disp, base);
        } else if (is_subgroup(t, path)) {
            need_type(L, m, key, config_setting_is_group(m), "a group");
            char sub[CONFIG_KEY_LEN];
            snprintf(sub, sizeof sub, "%.200s.", path);
            load_group(L, m, t, sub, disp, base);
        } else {
            fail_unknown(L, t, level, disp, m);
        }
    }
}

static void need_group_elem(const loader_t *L, const config_setting_t *e, const char *key) {
    if (!config_setting_is_group(e))
        fail_at(L, e, "key '%s' must be a group { ... }, got %s", key,
                type_phrase(config_setting_type(e)));
}

static void load_stage(const loader_t *L, const config_setting_t *s, const char *disp, int index,
                       stage_config_t *st) {
    config_table_defaults(&config_table_stage, st);
    snprintf(st->name, sizeof st->name, "stage%d", index + 1);
    load_group(L, s, &config_table_stage, "", disp, st);
    double sum = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        sum += st->mix[f];
    if (sum == 0) {
        st->mix[st->family] = 1; /* no mix: the stage's family alone */
    } else {
        if (sum < 0.999 || sum > 1.001)
            fail_at(L, config_setting_get_member(s, "mix"),
                    "key '%smix' shares sum to %.4g; they must sum to 1", disp, sum);
        if (config_setting_get_member(s, "family"))
            fail_at(L, config_setting_get_member(s, "family"),
                    "key '%sfamily' and '%smix' both given; a stage takes one of them", disp, disp);
        int main_f = 0; /* the largest share names the stage's family */
        for (int f = 1; f < FAMILY_COUNT; f++)
            if (st->mix[f] > st->mix[main_f]) main_f = f;
        st->family = (family_t)main_f;
    }
    if (st->mix[FAMILY_CLASSIFY] == 1 && !config_setting_get_member(s, "items")) st->items = 1;
    double rsum = 0;
    for (int f = 0; f < FAMILY_COUNT; f++)
        rsum += st->replay_mix[f];
    if (rsum != 0 && (rsum < 0.999 || rsum > 1.001))
        fail_at(L, config_setting_get_member(s, "replay_mix"),
                "key '%sreplay_mix' shares sum to %.4g; they must sum to 1", disp, rsum);
}

static void load_stages(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                        const char *disp, char *base) {
    char key[CONFIG_KEY_LEN];
    snprintf(key, sizeof key, "%.200sstages", disp);
    int n = get_sequence(L, s, key, (int)k->min, (int)k->max, "a list ( ... ) of stage groups");
    stage_config_t *stages = (stage_config_t *)(base + k->off);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char sd[CONFIG_KEY_LEN];
        snprintf(sd, sizeof sd, "%.200s[%d]", key, i);
        need_group_elem(L, e, sd);
        snprintf(sd, sizeof sd, "%.200s[%d].", key, i);
        load_stage(L, e, sd, i, &stages[i]);
    }
    *(int *)(base + k->aux) = n;
}

static void load_run(const loader_t *L, const config_setting_t *s, int index, run_config_t *run) {
    char disp[64];
    snprintf(disp, sizeof disp, "runs[%d].", index);
    config_table_defaults(&config_table_run, run);
    load_group(L, s, &config_table_run, "", disp, run);
    if (!config_setting_get_member(s, "name"))
        fail_at(L, s, "run runs[%d] has no 'name' (required)", index);
    if (!config_setting_get_member(s, "stages"))
        fail_at(L, s, "run runs[%d] has no 'stages' (at least one stage is required)", index);
}

static void load_runs(const loader_t *L, const config_setting_t *s, const config_key_t *k,
                      char *base) {
    int n = get_sequence(L, s, "runs", (int)k->min, (int)k->max, "a list ( ... ) of run groups");
    run_config_t *runs = (run_config_t *)(base + k->off);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char key[32];
        snprintf(key, sizeof key, "runs[%d]", i);
        need_group_elem(L, e, key);
        load_run(L, e, i, &runs[i]);
    }
    *(int *)(base + k->aux) = n;
}

/* ------------------------------------------------------------------------------------------ */
/* Sweep axes                                                                                  */
/* ------------------------------------------------------------------------------------------ */

#define SWEEP_MAX_POINTS 4096 /* most runs one sweep may expand to */

/* The schema key an axis may set, or NULL for "run"/"replay"; fails on keys no axis can set. */
static const config_key_t *axis_schema_key(const loader_t *L, const config_setting_t *s,
                                           const char *key, const char *disp) {
    if (strcmp(key, "run") == 0 || strcmp(key, "replay") == 0) return NULL;
    const config_key_t *k = find_key(&config_table_top, key);
    if (!k) {
        char near[CONFIG_KEY_LEN];
        config_suggest_anywhere(&config_table_top, config_last_component(key), key, near,
                                sizeof near);
        if (near[0])
            fail_at(L, s, "key '%skey' = \"%s\" is not a config key (did you mean '%s'?)", disp,
                    key, near);
        fail_at(L, s,
                "key '%skey' = \"%s\" is not a config key (an axis sets \"run\", "
                "\"replay\" or a key such as \"seed\", \"train.steps\", \"model.dim\")",
                disp, key);
    }
    if (strcmp(key, "model.device") == 0 || strcmp(key, "model.precision") == 0)
        fail_at(L, s,
                "key '%skey' = \"%s\": a process computes on one device in one precision, so "
                "it cannot be an axis (run one sweep per value)",
                disp, key);
    int scalar = k->kind == CONFIG_K_INT || k->kind == CONFIG_K_INT64 ||
                 k->kind == CONFIG_K_UINT64 || k->kind == CONFIG_K_FLOAT ||
                 k->kind == CONFIG_K_STRING || k->kind == CONFIG_K_NAME;
    if (!scalar || strncmp(key, "sweep.", 6) == 0)
        fail_at(L, s, "key '%skey' = \"%s\": an axis can only set a single number or string", disp,
                key);
    return k;
}

/* One value of an axis, type- and range-checked, as text into out. */
static void axis_value(const loader_t *L, const config_setting_t *e, const config_key_t *k,
                       sweep_axis_t *ax, const char *ek, char *out) {
    if (ax->type == AXIS_INT) {
        long long v = k->kind == CONFIG_K_UINT64 ? (long long)get_uint64(L, e, ek)
                                                 : get_int(L, e, ek, k->min, k->max);
        snprintf(out, CONFIG_NAME_LEN, "%lld", v);
    } else if (ax->type == AXIS_FLOAT) {
        double v = k ? get_float(L, e, ek, k->min, k->max) : get_float(L, e, ek, 0, 1);
        snprintf(out, CONFIG_NAME_LEN, "%.9g", v);
    } else if (!k || k->kind == CONFIG_K_NAME) {
        get_name(L, e, ek, out, CONFIG_NAME_LEN);
    } else {
        get_string(L, e, ek, out, CONFIG_NAME_LEN);
    }
}

static void load_axis(const loader_t *L, const config_setting_t *g, const char *disp,
                      sweep_axis_t *ax) {
    const config_setting_t *ks = config_setting_get_member(g, "key");
    const config_setting_t *vs = config_setting_get_member(g, "values");
    for (int i = 0; i < config_setting_length(g); i++) {
        const char *m = config_setting_name(config_setting_get_elem(g, (unsigned)i));
        if (strcmp(m, "key") && strcmp(m, "values"))
            fail_at(L, config_setting_get_elem(g, (unsigned)i),
                    "unknown key '%s%s' (an axis has 'key' and 'values')", disp, m);
    }
    if (!ks || !vs)
        fail_at(L, g, "keys '%.120skey' and '%.120svalues' are both required", disp, disp);
    char key[CONFIG_KEY_LEN];
    snprintf(key, sizeof key, "%.200skey", disp);
    get_string(L, ks, key, ax->key, sizeof ax->key);
    const config_key_t *k = axis_schema_key(L, ks, ax->key, disp);
    ax->type = strcmp(ax->key, "run") == 0                              ? AXIS_STRING
               : !k || k->kind == CONFIG_K_FLOAT                        ? AXIS_FLOAT
               : k->kind == CONFIG_K_STRING || k->kind == CONFIG_K_NAME ? AXIS_STRING
                                                                        : AXIS_INT;
    snprintf(key, sizeof key, "%.200svalues", disp);
    ax->n_values =
        get_sequence(L, vs, key, 1, CONFIG_MAX_AXIS_VALUES, "an array [ ... ] of values");
    for (int i = 0; i < ax->n_values; i++) {
        char ek[CONFIG_KEY_LEN];
        snprintf(ek, sizeof ek, "%.200s[%d]", key, i);
        axis_value(L, config_setting_get_elem(vs, (unsigned)i), k, ax, ek, ax->values[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(ax->values[i], ax->values[j]) == 0)
                fail_at(L, vs, "key '%s' repeats the value %s", key, ax->values[i]);
    }
}

static void load_axes(const loader_t *L, const config_setting_t *s, sweep_config_t *sw) {
    int n = get_sequence(L, s, "sweep.axes", 1, CONFIG_MAX_AXES, "a list ( ... ) of axis groups");
    int64_t points = 1;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char disp[CONFIG_KEY_LEN];
        snprintf(disp, sizeof disp, "sweep.axes[%d]", i);
        need_group_elem(L, e, disp);
        snprintf(disp, sizeof disp, "sweep.axes[%d].", i);
        load_axis(L, e, disp, &sw->axes[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(sw->axes[i].key, sw->axes[j].key) == 0)
                fail_at(L, e, "key 'sweep.axes[%d].key' = \"%s\" repeats the key of axis %d", i,
                        sw->axes[i].key, j);
        points *= sw->axes[i].n_values;
        if (points > SWEEP_MAX_POINTS)
            fail_at(L, e, "key 'sweep.axes' expands to more than %d runs", SWEEP_MAX_POINTS);
    }
    sw->n_axes = n;
}

/* ------------------------------------------------------------------------------------------ */
/* Cross-field rules                                                                           */
/* ------------------------------------------------------------------------------------------ */

typedef void (*rule_fn)(const loader_t *L, const config_t *c);

#define RULE_FAIL(...) fail_at(L, NULL, __VA_ARGS__)

static void rule_pool(const loader_t *L, const config_t *c) {
    if (strcmp(c->model.pool, "flatten") && strcmp(c->model.pool, "mean"))
        RULE_FAIL("key 'model.pool' = \"%s\" is not valid (valid: flatten, mean)", c->model.pool);
}

static void rule_channels(const loader_t *L, const config_t *c) {
    if (c->model.channels != 1 && c->model.channels != 3)
        RULE_FAIL("key 'model.channels' = %d is not valid (valid: 1 gray, 3 RGB)",
                  c->model.channels);
}

static void rule_patch(const loader_t *L, const config_t *c) {
    if (c->model.image_size % c->model.patch)
        RULE_FAIL("key 'model.patch' = %d must divide model.image_size = %d", c->model.patch,
                  c->model.image_size);
    int grid = c->model.image_size / c->model.patch; /* the encoder attends over grid^2 */
    if (grid * grid > CONFIG_MAX_SEQ)
        RULE_FAIL("key 'model.patch' = %d gives (%d / %d)^2 = %d patches per image; at most %d",
                  c->model.patch, c->model.image_size, c->model.patch, grid * grid, CONFIG_MAX_SEQ);
}

static void rule_heads(const loader_t *L, const config_t *c) {
    const model_config_t *m = &c->model;
    if (m->dim % m->heads)
        RULE_FAIL("key 'model.heads' = %d must divide model.dim = %d", m->heads, m->dim);
    if ((m->dim / m->heads) % 2)
        RULE_FAIL("key 'model.heads' = %d gives an odd head size model.dim / model.heads = %d",
                  m->heads, m->dim / m->heads);
}

static void rule_enc_heads(const loader_t *L, const config_t *c) {
    if (c->model.enc_dim % c->model.enc_heads)
        RULE_FAIL("key 'model.enc_heads' = %d must divide model.enc_dim = %d", c->model.enc_heads,
                  c->model.enc_dim);
}

static void rule_glyph_size(const loader_t *L, const config_t *c) {
    if (c->data.glyph_size != c->model.image_size)
        RULE_FAIL("key 'data.glyphs.size' = %d must equal model.image_size = %d",
                  c->data.glyph_size, c->model.image_size);
}

static void rule_glyph_instances(const loader_t *L, const config_t *c) {
    if (c->data.glyph_heldout_instances >= c->data.glyph_instances)
        RULE_FAIL("key 'data.glyphs.heldout_instances' = %d must be less than "
                  "data.glyphs.instances = %d",
                  c->data.glyph_heldout_instances, c->data.glyph_instances);
}

static void rule_scenes(const loader_t *L, const config_t *c) {
    const data_config_t *d = &c->data;
    if (d->scene_images == 0) return;
    if (d->scene_size != c->model.image_size)
        RULE_FAIL("key 'data.scenes.size' = %d must equal model.image_size = %d", d->scene_size,
                  c->model.image_size);
    if (d->scene_test_images >= d->scene_images)
        RULE_FAIL("key 'data.scenes.test_images' = %d must be less than data.scenes.images = %d",
                  d->scene_test_images, d->scene_images);
}

static void rule_operators(const loader_t *L, const config_t *c) {
    const data_config_t *d = &c->data;
    if (d->op_images == 0) return;
    if (d->op_size != c->model.image_size)
        RULE_FAIL("key 'data.operators.size' = %d must equal model.image_size = %d", d->op_size,
                  c->model.image_size);
    if (d->op_test_images >= d->op_images)
        RULE_FAIL("key 'data.operators.test_images' = %d must be less than "
                  "data.operators.images = %d",
                  d->op_test_images, d->op_images);
    if (d->op_heldout_fonts >= d->n_op_fonts)
        RULE_FAIL("key 'data.operators.heldout_fonts' = %d must be less than the %d fonts of "
                  "data.operators.fonts",
                  d->op_heldout_fonts, d->n_op_fonts);
}

static void rule_lr(const loader_t *L, const config_t *c) {
    if (c->train.lr < c->train.min_lr)
        RULE_FAIL("key 'train.min_lr' = %g must not exceed train.lr = %g", c->train.min_lr,
                  c->train.lr);
}

static void rule_warmup(const loader_t *L, const config_t *c) {
    if (c->train.warmup > c->train.steps)
        RULE_FAIL("key 'train.warmup' = %lld must not exceed train.steps = %lld",
                  (long long)c->train.warmup, (long long)c->train.steps);
}

static void rule_micro_batches(const loader_t *L, const config_t *c) {
    if (c->train.tokens_per_step == 0 && c->train.micro_batches > c->train.items_per_step)
        RULE_FAIL("key 'train.micro_batches' = %d must not exceed train.items_per_step = %d",
                  c->train.micro_batches, c->train.items_per_step);
}

static void rule_eval_ways(const loader_t *L, const config_t *c) {
    int top = c->eval.ways[c->eval.n_ways - 1];
    if (top > c->fake_names)
        RULE_FAIL("key 'eval.ways' has %d ways, more than fake_names = %d", top, c->fake_names);
    if (top > c->data.glyph_heldout_classes)
        RULE_FAIL("key 'eval.ways' has %d ways, more than data.glyphs.heldout_classes = %d", top,
                  c->data.glyph_heldout_classes);
}

static void rule_run_names(const loader_t *L, const config_t *c) {
    for (int i = 0; i < c->n_runs; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(c->runs[i].name, c->runs[j].name) == 0)
                RULE_FAIL("key 'runs[%d].name' = \"%s\" repeats the name of runs[%d]", i,
                          c->runs[i].name, j);
}

static void rule_stage_names(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++) {
        const run_config_t *run = &c->runs[r];
        for (int i = 0; i < run->n_stages; i++)
            for (int j = 0; j < i; j++)
                if (strcmp(run->stages[i].name, run->stages[j].name) == 0)
                    RULE_FAIL("key 'runs[%d].stages[%d].name' = \"%s\" repeats the name of "
                              "stage %d of run '%s'",
                              r, i, run->stages[i].name, j, run->name);
    }
}

static void rule_stage_steps(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            if (s->steps > 0 && s->min_steps > s->steps)
                RULE_FAIL("key 'runs[%d].stages[%d].min_steps' = %lld must not exceed its "
                          "steps = %lld",
                          r, i, (long long)s->min_steps, (long long)s->steps);
        }
}

static void rule_stage_stores(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            for (int f = 0; f < FAMILY_COUNT; f++)
                if (config_family_store(f) == FAMILY_STORE_SCENES &&
                    (s->mix[f] > 0 || s->replay_mix[f] > 0) && c->data.scene_images == 0)
                    RULE_FAIL("run '%s' stage '%s' has %s episodes but data.scenes.images = 0 "
                              "(no scene store)",
                              c->runs[r].name, s->name, config_family_names[f]);
            for (int f = 0; f < FAMILY_COUNT; f++)
                if (config_family_store(f) == FAMILY_STORE_OPERATORS &&
                    (s->mix[f] > 0 || s->replay_mix[f] > 0) && c->data.op_images == 0)
                    RULE_FAIL("run '%s' stage '%s' has %s episodes but data.operators.images = "
                              "0 (no operator store)",
                              c->runs[r].name, s->name, config_family_names[f]);
        }
}

static void rule_stage_ways(const loader_t *L, const config_t *c) {
    for (int r = 0; r < c->n_runs; r++)
        for (int i = 0; i < c->runs[r].n_stages; i++) {
            const stage_config_t *s = &c->runs[r].stages[i];
            int fake = s->mix[FAMILY_BINDING] > 0 || (s->mix[FAMILY_MC] > 0 && s->mc_fake > 0) ||
                       s->replay_mix[FAMILY_BINDING] > 0 ||
                       (s->replay_mix[FAMILY_MC] > 0 && s->mc_fake > 0);
            if (fake && s->ways_max > c->fake_names)
                RULE_FAIL("key 'runs[%d].stages[%d].ways' max %d exceeds fake_names = %d", r, i,
                          s->ways_max, c->fake_names);
        }
}

/* A rule checked elsewhere (while loading, or when training starts); documented here. */
static void rule_none(const loader_t *L, const config_t *c) {
    (void)L;
    (void)c;
}

static void rule_sweep_runs(const loader_t *L, const config_t *c) {
    for (int a = 0; a < c->sweep.n_axes; a++) {
        const sweep_axis_t *ax = &c->sweep.axes[a];
        if (strcmp(ax->key, "run")) continue;
        for (int v = 0; v < ax->n_values; v++) {
            int found = 0;
            for (int r = 0; r < c->n_runs; r++)
                found |= strcmp(c->runs[r].name, ax->values[v]) == 0;
            if (!found)
                RULE_FAIL("key 'sweep.axes[%d].values[%d]' = \"%s\" is not the name of a run", a, v,
                          ax->values[v]);
        }
    }
}

/* ---- device, precision and reduction: checked while loading, at the key's line ---- */

static const char *const g_devices[] = {"cpu", "cuda", NULL};
static const char *const g_precisions[] = {"fp32", "bf16", NULL};
static const char *const g_reduces[] = {"tree", "allreduce", NULL};

static int word_in(const char *v, const char *const *words) {
    for (int i = 0; words[i]; i++)
        if (strcmp(v, words[i]) == 0) return 1;
    return 0;
}

/* Key `key` (value v, set at s, or NULL when not given) must be one of `words`. */
static void check_word(const loader_t *L, const config_setting_t *s, const char *key, const char *v,
                       const char *const *words) {
    if (word_in(v, words)) return;
    char valid[64] = "";
    for (int i = 0; words[i]; i++)
        snprintf(valid + strlen(valid), sizeof valid - strlen(valid), "%s%s", i ? ", " : "",
                 words[i]);
    fail_at(L, s, "key '%s' = \"%s\" is not valid (valid: %s)", key, v, valid);
}

/* The message of a precision the device cannot compute in, or NULL when they go together. */
static const char *precision_problem(const model_config_t *m) {
    if (strcmp(m->precision, "bf16") == 0 && strcmp(m->device, "cuda") != 0)
        return "needs model.device = \"cuda\" (the CPU computes in fp32 only)";
    return NULL;
}

static void check_device(const loader_t *L, const libconfig_config_t *lc, config_t *cfg) {
    const config_setting_t *dev = config_lookup(lc, "model.device");
    const config_setting_t *prec = config_lookup(lc, "model.precision");
    check_word(L, dev, "model.device", cfg->model.device, g_devices);
    check_word(L, prec, "model.precision", cfg->model.precision, g_precisions);
    check_word(L, config_lookup(lc, "train.reduce"), "train.reduce", cfg->train.reduce, g_reduces);
    const char *why = precision_problem(&cfg->model);
    if (why)
        fail_at(L, prec, "key 'model.precision' = \"%s\" %s, but model.device = \"%s\"",
                cfg->model.precision, why, cfg->model.device);
    cfg->model.device_line = dev ? (int)config_setting_source_line(dev) : 0;
    cfg->model.device_flag = 0;
}

int config_set_device(config_t *cfg, const char *device, char *err, size_t errlen) {
    if (!word_in(device, g_devices)) {
        snprintf(err, errlen, "unknown device \"%s\" (valid: cpu, cuda)", device);
        return -1;
    }
    if (strcmp(device, cfg->model.device) == 0) return 0;
    model_config_t m = cfg->model;
    config_copy_str(m.device, sizeof m.device, device);
    const char *why = precision_problem(&m);
    if (why) {
        snprintf(err, errlen, "%s: key 'model.precision' = \"%s\" %s", cfg->path, m.precision, why);
        return -1;
    }
    m.device_flag = 1;
    cfg->model = m;
    return 0;
}

typedef struct {
    const char *doc;
    rule_fn check;
} rule_t;

static const rule_t g_rules[] = {
    {"`model.image_size` is a multiple of `model.patch`, and an image has at most 1024 patches: "
     "(`model.image_size` / `model.patch`)^2 <= 1024.",
     rule_patch},
    {"`model.pool` is `flatten` or `mean`.", rule_pool},
    {"`model.channels` is 1 (gray) or 3 (RGB).", rule_channels},
    {"`model.dim` is a multiple of `model.heads`, and the head size `model.dim / model.heads` is "
     "even.",
     rule_heads},
    {"`model.enc_dim` is a multiple of `model.enc_heads`.", rule_enc_heads},
    {"`data.glyphs.size` equals `model.image_size`.", rule_glyph_size},
    {"`data.glyphs.heldout_instances` < `data.glyphs.instances`.", rule_glyph_instances},
    {"When `data.scenes.images` > 0: `data.scenes.size` equals `model.image_size` and "
     "`data.scenes.test_images` < `data.scenes.images`.",
     rule_scenes},
    {"When `data.operators.images` > 0: `data.operators.size` equals `model.image_size`, "
     "`data.operators.test_images` < `data.operators.images` and `data.operators.heldout_fonts` "
     "< the number of `data.operators.fonts`.",
     rule_operators},
    {"`train.min_lr` <= `train.lr`.", rule_lr},
    {"`train.warmup` <= `train.steps`.", rule_warmup},
    {"`train.micro_batches` <= `train.items_per_step` (when `train.tokens_per_step` is 0).",
     rule_micro_batches},
    {"The largest `eval.ways` is at most `fake_names` and at most "
     "`data.glyphs.heldout_classes`.",
     rule_eval_ways},
    {"Run names are unique.", rule_run_names},
    {"Stage names are unique within a run.", rule_stage_names},
    {"A stage's `min_steps` does not exceed its `steps` when `steps` > 0.", rule_stage_steps},
    {"A stage with binding or fake-name multiple-choice episodes has a `ways` maximum of at "
     "most `fake_names`.",
     rule_stage_ways},
    {"A stage with attributes, counting, relations or count_induction episodes needs "
     "`data.scenes.images` > 0; one with operators episodes needs `data.operators.images` > 0 "
     "(in `mix` or in `replay_mix`).",
     rule_stage_stores},
    {"A stage's `replay_mix.*` shares sum to 1 when any is given. A replay sequence is then "
     "`items` one-turn items, each of a family drawn from `replay_mix`, one after the other; "
     "without `replay_mix` it is single-image classification (`items` turns), or with a scene "
     "store one classify, attributes, counting or relations question (drawn uniformly).",
     rule_none},
    {"`train.tokens_per_step` and `train.items_per_step` are not both given (a step is "
     "sized by one of them). With `train.tokens_per_step` > 0 a step draws its sequences "
     "j = 0, 1, ... until their tokens reach it and cuts the last sequence there (the targets "
     "of positions past the cut are dropped, the target of its last position is kept); every "
     "stage's longest sequence times `train.micro_batches` must fit in it, so a step has at "
     "least one sequence per micro-batch (checked when training starts).",
     rule_none},
    {"The values of a `run` axis name runs of the file.", rule_sweep_runs},
    {"`model.device` is `cpu` or `cuda`, `model.precision` is `fp32` or `bf16`, and `bf16` "
     "needs `model.device` = `cuda` (also when the command line's `--device` sets it); "
     "`train.reduce` is `tree` or `allreduce`.",
     rule_none},
    {"A sweep axis does not set `model.device` or `model.precision`: a process computes on one "
     "device, in one precision (run one sweep per value).",
     rule_none},
};

const char *config_rule_doc(int i) {
    return i >= 0 && i < N_OF(g_rules) ? g_rules[i].doc : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Skips a float literal's digits, point and exponent from q; returns the first byte after it. */
static const char *skip_float(const char *q) {
    while (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' ||
           ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
        q++;
    return q;
}

static char *read_text(const char *path);
static void check_text(const char *text, const char *name, int depth);

/* libconfig opens an @include'd path with fopen and reads it through flex: a directory ends the
 * process from inside the scanner ("input in flex scanner failed", no file or line), a FIFO
 * blocks forever and a device is read as a config. So each included path is checked first, at
 * the @include's file and line: it must be a readable regular file; its text is then checked
 * like the including file's (check_text). */
static void check_include(const char *p, const char *name, int line, int depth) {
    const char *q = p + strlen("@include");
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q != '"') return; /* not an @include libconfig recognizes: its syntax error follows */
    char path[4096];
    size_t n = 0;
    for (q++; *q && *q != '"' && *q != '\n'; q++) {
        if (*q == '\\' && q[1]) q++;
        if (n + 1 < sizeof path) path[n++] = *q;
    }
    path[n] = '\0';
    if (depth >= 10) micl_fatal("%s:%d: @include \"%s\": includes nest too deep", name, line, path);
    struct stat st;
    if (stat(path, &st) != 0)
        micl_fatal("%s:%d: @include \"%s\": %s", name, line, path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        micl_fatal("%s:%d: @include \"%s\" is %s, not a regular file", name, line, path,
                   S_ISDIR(st.st_mode)                          ? "a directory"
                   : S_ISFIFO(st.st_mode)                       ? "a FIFO"
                   : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                : "a special file");
    if (access(path, R_OK) != 0)
        micl_fatal("%s:%d: @include \"%s\": %s", name, line, path, strerror(errno));
    char *text = read_text(path);
    check_text(text, path, depth + 1);
    free(text);
}

/* 1 if p starts its line (only blanks before it): where libconfig recognizes @include. */
static int at_line_start(const char *text, const char *p) {
    while (p > text && (p[-1] == ' ' || p[-1] == '\t'))
        p--;
    return p == text || p[-1] == '\n';
}

/* Checks what libconfig would accept silently or fail on without a location, outside strings
 * and comments: integer literals that do not fit in 64 bits (libconfig wraps them without an
 * error: 2^64 + 12 reads as 12, 99999999999999999999 as -1) and @include'd paths
 * (check_include). A negative literal may reach -2^63 (a seed of -2^63 is then refused as
 * negative, not as too large). */
static void check_text(const char *text, const char *name, int depth) {
    int line = 1;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            line++;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1]) p++;
                if (*p == '\n') line++;
            }
            if (!*p) return;
        } else if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
            while (p[1] && p[1] != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
                line += *p == '\n';
            if (!*p) return;
            p++;
        } else if (*p == '@' && strncmp(p, "@include", 8) == 0 && at_line_start(text, p)) {
            check_include(p, name, line, depth);
            while (p[1] && p[1] != '\n') /* the rest of the line is the path */
                p++;
        } else if (isdigit((unsigned char)*p) &&
                   !(p > text && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.'))) {
            int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
            const char *q = p + (hex ? 2 : 0);
            while (hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q))
                q++;
            if (!hex && (*q == '.' || *q == 'e' || *q == 'E')) {
                p = skip_float(q) - 1;
                continue;
            }
            int negative = !hex && p > text && p[-1] == '-';
            unsigned long long max = (unsigned long long)INT64_MAX + (negative ? 1u : 0u);
            errno = 0;
            unsigned long long v = strtoull(p, NULL, hex ? 16 : 10);
            if (errno == ERANGE || v > max)
                micl_fatal("%s:%d: integer %s%.*s does not fit in 64 bits", name, line,
                           negative ? "-" : "", (int)(q - p), p);
            p = q - 1;
        }
    }
}

static void parse_and_fill(const char *text, const char *name, config_t *cfg) {
    check_text(text, name, 0);
    libconfig_config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, text) != CONFIG_TRUE) {
        const char *file = config_error_file(&lc) ? config_error_file(&lc) : name;
        micl_fatal("%s:%d: syntax error: %s", file, config_error_line(&lc), config_error_text(&lc));
    }
    loader_t L = {name};
    load_group(&L, config_root_setting(&lc), &config_table_top, "", "", cfg);
    const config_setting_t *items = config_lookup(&lc, "train.items_per_step");
    if (items && config_lookup(&lc, "train.tokens_per_step") && cfg->train.tokens_per_step > 0)
        fail_at(&L, items,
                "keys 'train.items_per_step' and 'train.tokens_per_step' both given; a step is "
                "sized by one of them (remove train.items_per_step)");
    check_device(&L, &lc, cfg);
    cfg->sweep.present = config_lookup(&lc, "sweep") != NULL;
    if (cfg->n_runs == 0)
        micl_fatal("%s: key 'runs' is missing: at least one run is required, e.g. "
                   "runs = ( { name = \"baseline\"; stages = ( { family = \"classify\"; } ); } );",
                   name);
    for (int i = 0; i < N_OF(g_rules); i++)
        g_rules[i].check(&L, cfg);
    config_destroy(&lc);
}

void config_load_string(const char *text, const char *name, config_t *cfg) {
    config_defaults(cfg);
    config_copy_str(cfg->path, sizeof cfg->path, name);
    cfg->text = micl_strdup(text);
    parse_and_fill(cfg->text, cfg->path, cfg);
}

static char *read_text(const char *path) {
    FILE *f = micl_fopen(path, "rb");
    size_t cap = 4096, len = 0;
    char *buf = micl_malloc(cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) buf = micl_realloc(buf, cap *= 2);
    }
    if (ferror(f)) micl_fatal("%s: read error", path);
    fclose(f);
    buf[len] = '\0';
    if (strlen(buf) != len) micl_fatal("%s: contains a NUL byte (not a text file)", path);
    return buf;
}

void config_load(const char *path, config_t *cfg) {
    atomic_file_input(path, "the config"); /* no output of this process may replace it */
    char *text = read_text(path);
    config_load_string(text, path, cfg);
    free(text);
}

void config_free(config_t *cfg) {
    free(cfg->text);
    cfg->text = NULL;
}
