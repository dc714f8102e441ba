/* sweep_plan.c - expansion of a sweep into named, hashed, resolved runs (see sweep_plan.h). */
#define _POSIX_C_SOURCE 200809L
#include "sweep_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void sweep_hash_text(const char *text, char out[24]) {
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

/* The plan's axes: the config's, with a run axis over every run first when it has none. */
static void plan_axes(const config_t *base, sweep_plan_t *p) {
    int has_run = 0;
    for (int a = 0; a < base->sweep.n_axes; a++)
        has_run |= strcmp(base->sweep.axes[a].key, "run") == 0;
    p->n_axes = 0;
    if (!has_run) {
        sweep_axis_t *ax = &p->axes[p->n_axes++];
        memset(ax, 0, sizeof *ax);
        snprintf(ax->key, sizeof ax->key, "run");
        ax->type = AXIS_STRING;
        ax->n_values = base->n_runs;
        for (int r = 0; r < base->n_runs; r++)
            snprintf(ax->values[r], sizeof ax->values[r], "%s", base->runs[r].name);
    }
    for (int a = 0; a < base->sweep.n_axes; a++)
        p->axes[p->n_axes++] = base->sweep.axes[a];
}

/* Short label of axis a in run names: its last key component, or the whole key with '_' for
 * '.' when another axis ends in the same component. */
static void axis_label(const sweep_plan_t *p, int a, char *out, size_t size) {
    const char *key = p->axes[a].key, *dot = strrchr(key, '.');
    const char *last = dot ? dot + 1 : key;
    int clash = 0;
    for (int b = 0; b < p->n_axes; b++) {
        const char *kb = p->axes[b].key, *db = strrchr(kb, '.');
        clash |= b != a && strcmp(db ? db + 1 : kb, last) == 0;
    }
    snprintf(out, size, "%s", clash ? key : last);
    for (char *c = out; *c; c++)
        if (*c == '.') *c = '_';
}

/* "icl-seed2-dim64": the run's name, then label+value of every other axis. */
static void point_name(const sweep_plan_t *p, sweep_point_t *pt, int run_axis) {
    char buf[512];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s", pt->values[run_axis]);
    for (int a = 0; a < p->n_axes; a++) {
        if (a == run_axis) continue;
        char label[CONFIG_NAME_LEN];
        axis_label(p, a, label, sizeof label);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "-%s%s", label, pt->values[a]);
        if (len >= sizeof buf) break;
    }
    for (char *c = buf; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                 *c == '_' || *c == '-' || *c == '.';
        if (!ok) *c = '_';
    }
    if (strlen(buf) >= sizeof pt->name)
        micl_fatal("%s: the sweep run name '%s' is longer than %zu characters (use fewer or "
                   "shorter axis values)",
                   p->base->path, buf, sizeof pt->name - 1);
    memcpy(pt->name, buf, strlen(buf) + 1);
}

static void build_point(sweep_plan_t *p, int64_t index, sweep_point_t *pt) {
    memset(pt, 0, sizeof *pt);
    pt->index = index;
    int64_t rest = index;
    for (int a = p->n_axes - 1; a >= 0; a--) {
        int n = p->axes[a].n_values;
        snprintf(pt->values[a], sizeof pt->values[a], "%s", p->axes[a].values[rest % n]);
        rest /= n;
    }
    int run_axis = 0;
    const sweep_axis_t *axes[CONFIG_MAX_AXES + 2];
    const char *vals[CONFIG_MAX_AXES + 2];
    for (int a = 0; a < p->n_axes; a++) {
        if (strcmp(p->axes[a].key, "run") == 0) run_axis = a;
        axes[a] = &p->axes[a];
        vals[a] = pt->values[a];
    }
    /* A --device other than the config's is part of every run's config (and so of its id):
     * its bits are the other device's. */
    int n = p->n_axes;
    sweep_axis_t device = {.key = "model.device", .type = AXIS_STRING, .n_values = 1};
    if (p->base->model.device_flag) {
        axes[n] = &device;
        vals[n++] = p->base->model.device;
    }
    pt->text = config_resolve(p->base, pt->values[run_axis], n, axes, vals);
    sweep_hash_text(pt->text, pt->id);
    point_name(p, pt, run_axis);
}

static void check_point(const sweep_plan_t *p, int i) {
    config_t cfg;
    sweep_plan_config(p, i, &cfg);
    int rpr = p->base->sweep.ranks_per_run;
    if (cfg.train.micro_batches < rpr)
        micl_fatal("%s: sweep run '%s' has train.micro_batches = %d, fewer than "
                   "sweep.ranks_per_run = %d",
                   p->base->path, p->points[i].name, cfg.train.micro_batches, rpr);
    config_free(&cfg);
    for (int j = 0; j < i; j++)
        if (strcmp(p->points[j].name, p->points[i].name) == 0)
            micl_fatal("%s: sweep runs %lld and %lld are both named '%s'", p->base->path,
                       (long long)p->points[j].index, (long long)p->points[i].index,
                       p->points[i].name);
}

void sweep_plan_build(const config_t *base, int shard_index, int shard_count, sweep_plan_t *p) {
    memset(p, 0, sizeof *p);
    if (!base->sweep.present)
        micl_fatal("%s: no 'sweep' section: `micl sweep` needs sweep = { axes = ( ... ); }; "
                   "(see docs/CONFIG.md, Sweeps)",
                   base->path);
    p->base = base;
    plan_axes(base, p);
    p->n_expanded = 1;
    for (int a = 0; a < p->n_axes; a++)
        p->n_expanded *= p->axes[a].n_values;
    p->shard_index = shard_index;
    p->shard_count = shard_count;
    p->points = micl_calloc((size_t)p->n_expanded, sizeof(sweep_point_t));
    size_t ids_len = (size_t)p->n_expanded * 17 + 1;
    char *ids = micl_calloc(ids_len, 1);
    for (int64_t i = 0; i < p->n_expanded; i++) {
        sweep_point_t *pt = &p->points[p->n_points];
        build_point(p, i, pt);
        memcpy(ids + (size_t)i * 17, pt->id, 16);
        ids[(size_t)i * 17 + 16] = '\n';
        if (i % shard_count != shard_index) {
            free(pt->text);
            continue;
        }
        p->n_points++;
        check_point(p, p->n_points - 1);
    }
    sweep_hash_text(ids, p->config_hash);
    free(ids);
    if (p->n_points == 0)
        micl_fatal("%s: shard %d/%d of a sweep of %lld runs has no runs", base->path, shard_index,
                   shard_count, (long long)p->n_expanded);
}

void sweep_plan_free(sweep_plan_t *p) {
    for (int i = 0; i < p->n_points; i++)
        free(p->points[i].text);
    free(p->points);
    memset(p, 0, sizeof *p);
}

void sweep_plan_config(const sweep_plan_t *p, int i, config_t *cfg) {
    char name[CONFIG_PATH_LEN];
    snprintf(name, sizeof name, "%.400s[%s]", p->base->path, p->points[i].name);
    config_load_string(p->points[i].text, name, cfg);
}
