/* config_resolve.c - the config text of one point of a sweep (config_resolve).
 *
 * `micl sweep` runs each point of the product of a config's sweep axes as a config of its own:
 * this file re-reads the original text with libconfig, removes the sweep section, keeps the
 * one run, sets each axis key to its value and writes the text back, which the loader
 * (config_load.c) then validates like any file. It needs no schema: the axes were checked
 * when the sweep's config was loaded.
 *
 * libconfig.h also defines a type named config_t, so it is included under another name.
 */
#define _POSIX_C_SOURCE 200809L
#define config_t libconfig_config_t
#include <libconfig.h>
#undef config_t

#include "config_internal.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static config_setting_t *member_group(config_setting_t *parent, const char *name) {
    config_setting_t *g = config_setting_get_member(parent, name);
    if (g && config_setting_is_group(g)) return g;
    if (g) config_setting_remove(parent, name);
    g = config_setting_add(parent, name, CONFIG_TYPE_GROUP);
    if (!g) micl_fatal("cannot create the config group '%s'", name);
    return g;
}

/* Replaces (or adds) parent.name with the axis value `text`. */
static void set_scalar(config_setting_t *parent, const char *name, axis_type_t type,
                       const char *text) {
    if (config_setting_get_member(parent, name)) config_setting_remove(parent, name);
    long long iv = type == AXIS_INT ? strtoll(text, NULL, 10) : 0;
    int big = iv > 2147483647LL || iv < -2147483647LL;
    int t = type == AXIS_STRING  ? CONFIG_TYPE_STRING
            : type == AXIS_FLOAT ? CONFIG_TYPE_FLOAT
            : big                ? CONFIG_TYPE_INT64
                                 : CONFIG_TYPE_INT;
    config_setting_t *s = config_setting_add(parent, name, t);
    int ok = s != NULL;
    if (ok && type == AXIS_STRING) ok = config_setting_set_string(s, text);
    if (ok && type == AXIS_FLOAT) ok = config_setting_set_float(s, strtod(text, NULL));
    if (ok && type == AXIS_INT)
        ok = big ? config_setting_set_int64(s, iv) : config_setting_set_int(s, (int)iv);
    if (!ok) micl_fatal("cannot set the config key '%s' to %s", name, text);
}

/* Sets the dotted key `path` under root, creating groups on the way. */
static void set_path(config_setting_t *root, const char *path, axis_type_t type, const char *text) {
    char buf[CONFIG_KEY_LEN];
    snprintf(buf, sizeof buf, "%s", path);
    config_setting_t *g = root;
    char *name = buf;
    for (char *dot; (dot = strchr(name, '.')) != NULL; name = dot + 1) {
        *dot = '\0';
        g = member_group(g, name);
    }
    set_scalar(g, name, type, text);
}

/* Keeps only the run named `run` in the runs list. */
static void keep_run(config_setting_t *root, const char *run) {
    config_setting_t *runs = config_setting_get_member(root, "runs");
    if (!runs) micl_fatal("the config has no runs");
    for (int i = config_setting_length(runs) - 1; i >= 0; i--) {
        config_setting_t *e = config_setting_get_elem(runs, (unsigned)i);
        const char *name = NULL;
        if (!config_setting_lookup_string(e, "name", &name) || strcmp(name, run) != 0)
            config_setting_remove_elem(runs, (unsigned)i);
    }
}

static void set_replay(config_setting_t *root, const char *text) {
    config_setting_t *runs = config_setting_get_member(root, "runs");
    for (int i = 0; runs && i < config_setting_length(runs); i++) {
        config_setting_t *st =
            config_setting_get_member(config_setting_get_elem(runs, i), "stages");
        for (int j = 0; st && j < config_setting_length(st); j++)
            set_scalar(config_setting_get_elem(st, (unsigned)j), "replay", AXIS_FLOAT, text);
    }
}

char *config_resolve(const config_t *cfg, const char *run, int n, const sweep_axis_t *const *axes,
                     const char *const *values) {
    libconfig_config_t lc;
    config_init(&lc);
    if (config_read_string(&lc, cfg->text) != CONFIG_TRUE)
        micl_fatal("%s:%d: syntax error: %s", cfg->path, config_error_line(&lc),
                   config_error_text(&lc));
    config_setting_t *root = config_root_setting(&lc);
    if (config_setting_get_member(root, "sweep")) config_setting_remove(root, "sweep");
    keep_run(root, run);
    for (int i = 0; i < n; i++) {
        if (strcmp(axes[i]->key, "run") == 0) continue;
        if (strcmp(axes[i]->key, "replay") == 0)
            set_replay(root, values[i]);
        else
            set_path(root, axes[i]->key, axes[i]->type, values[i]);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) micl_fatal("out of memory resolving a sweep point of %s", cfg->path);
    config_write(&lc, mem);
    if (fclose(mem) != 0) micl_fatal("out of memory resolving a sweep point of %s", cfg->path);
    config_destroy(&lc);
    return text;
}
