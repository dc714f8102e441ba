/* sweep.c - the sweep coordinator and its groups (see sweep.h).
 *
 * Messages (world communicator, int64 payloads unless noted):
 *   leader -> 0  TAG_REQUEST  group index            "my group is free"
 *   0 -> leader  TAG_ASSIGN   point index, or -1      "train this" / "no more work"
 *   leader -> 0  TAG_BEAT     point index, step       heartbeat every log_every steps
 *   leader -> 0  TAG_RESULT   sweep_wire bytes        the finished (or stopped) run
 *   0 -> leader  TAG_STOP     0                       "finish the step, checkpoint, stop"
 * Rank 0 never messages itself: as group 0's leader it calls the coordinator directly.
 */
#define _POSIX_C_SOURCE 200809L
#include "sweep.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/dir_lock.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/results.h"
#include "common/signals.h"
#include "data/sources.h"
#include "experiment.h"
#include "sweep_plan.h"
#include "sweep_wire.h"

enum { TAG_REQUEST = 7101, TAG_ASSIGN, TAG_BEAT, TAG_RESULT, TAG_STOP };
enum { POINT_PENDING = 0, POINT_RUNNING, POINT_DONE };

typedef struct {
    const sweep_plan_t *plan;
    const comm_t *world;
    int rpr, n_groups;
    char results_path[1024];
    char ckpt_dir[1024];
    /* coordinator state (world rank 0 only) */
    results_t res;
    int *state;         /* per point */
    int *group_point;   /* per group: the point it trains, or -1 */
    int *group_done;    /* per group: told there is no more work */
    double *last_heard; /* per group */
    int *stall_said;    /* per group: stall reported since the last message */
    int stopping, stop_sent, stopped_runs;
    /* this rank's group */
    comm_t group;
    int group_index;
    int64_t point; /* what this group trains now */
    int64_t log_every;
    int64_t test_stall_step; /* MICL_TEST_STALL_AT_STEP: leaders of groups > 0 sleep 3 s there */
    int restart;             /* --restart: nothing of an earlier attempt is taken */
} sweep_t;

static void nap(void) {
    struct timespec ts = {0, 2000000}; /* 2 ms: waiting ranks leave the cores to workers */
    nanosleep(&ts, NULL);
}

/* ---- coordinator: results file ------------------------------------------------------------ */

static void fill_header(sweep_t *s, const config_t *base) {
    results_t *r = &s->res;
    results_header(r, base->text, base->path, s->world->size);
    results_sweep_t *sw = &r->sweep;
    sw->present = 1;
    snprintf(sw->config_hash, sizeof sw->config_hash, "%s", s->plan->config_hash);
    sw->n_expanded = s->plan->n_expanded;
    sw->shard_index = s->plan->shard_index;
    sw->shard_count = s->plan->shard_count;
    sw->ranks_per_run = s->rpr;
    sw->n_axes = s->plan->n_axes;
    for (int a = 0; a < sw->n_axes; a++)
        snprintf(sw->axis_keys[a], sizeof sw->axis_keys[a], "%s", s->plan->axes[a].key);
}

static int point_of_name(const sweep_plan_t *p, const char *name) {
    for (int i = 0; i < p->n_points; i++)
        if (strcmp(p->points[i].name, name) == 0) return i;
    return -1;
}

/* Takes the finished runs of an earlier attempt at this sweep from the results file. */
static void adopt_previous(sweep_t *s) {
    if (access(s->results_path, F_OK) != 0) return;
    results_t old;
    results_read(s->results_path, &old);
    const results_sweep_t *o = &old.sweep;
    if (!o->present)
        micl_fatal("%s is a `micl train` results file, not a sweep's: use another -o",
                   s->results_path);
    if (strcmp(o->config_hash, s->plan->config_hash) != 0)
        micl_fatal("%s was written by another sweep config (hash %s; %s has %s): use another -o",
                   s->results_path, o->config_hash, s->plan->base->path, s->plan->config_hash);
    if (o->shard_index != s->plan->shard_index || o->shard_count != s->plan->shard_count)
        micl_fatal("%s holds shard %d/%d, not shard %d/%d", s->results_path, o->shard_index,
                   o->shard_count, s->plan->shard_index, s->plan->shard_count);
    for (int i = 0; i < old.n_runs; i++) {
        int k = point_of_name(s->plan, old.runs[i].name);
        if (k < 0 || strcmp(old.runs[i].id, s->plan->points[k].id) != 0)
            micl_fatal("%s: run '%s' is not a run of this sweep", s->results_path,
                       old.runs[i].name);
        if (s->restart) continue; /* trained again; the file is rewritten without it */
        s->state[k] = POINT_DONE;
        results_run_copy(results_add_run(&s->res), &old.runs[i]);
    }
    for (int i = 0; i < o->n_stalls; i++) {
        s->res.sweep.stalls = micl_realloc(s->res.sweep.stalls, (size_t)(i + 1) * sizeof(char *));
        s->res.sweep.stalls[s->res.sweep.n_stalls++] = micl_strdup(o->stalls[i]);
    }
    if (old.n_runs > 0)
        micl_info("%s: %d of %d run(s) already finished%s", s->results_path, old.n_runs,
                  s->plan->n_points, s->restart ? "; --restart trains them again" : "");
    results_free(&old);
}

/* Refuses (exit 1, before anything trains) the checkpoints of unfinished runs that another
 * config trained: resuming one would record the new config over the old config's model. */
static void check_checkpoints(const sweep_t *s) {
    int bad = 0;
    for (int i = 0; i < s->plan->n_points; i++) {
        const sweep_point_t *pt = &s->plan->points[i];
        char path[1200];
        snprintf(path, sizeof path, "%s/%s.ckpt.h5", s->ckpt_dir, pt->name);
        if (s->state[i] == POINT_DONE || access(path, F_OK) != 0) continue;
        config_t cfg;
        sweep_plan_config(s->plan, i, &cfg);
        train_state_t st;
        char *text = NULL;
        checkpoint_read_state(path, &st, &text);
        if (experiment_check_checkpoint(path, &st, text, &cfg, pt->name, pt->id,
                                        "--restart trains the sweep's runs again from step 0, or "
                                        "-o in another folder keeps both") != 0)
            bad++;
        free(text);
        config_free(&cfg);
    }
    if (bad)
        micl_fatal("%s: %d checkpoint(s) of another config; nothing was trained",
                   s->plan->base->path, bad);
}

static int by_index(const void *a, const void *b) {
    int64_t x = ((const run_result_t *)a)->sweep_index, y = ((const run_result_t *)b)->sweep_index;
    return (x > y) - (x < y);
}

static void write_results(sweep_t *s) {
    if (s->res.n_runs > 1)
        qsort(s->res.runs, (size_t)s->res.n_runs, sizeof(run_result_t), by_index);
    results_write(s->results_path, &s->res);
}

static void add_stall(sweep_t *s, const char *msg) {
    results_sweep_t *sw = &s->res.sweep;
    sw->stalls = micl_realloc(sw->stalls, (size_t)(sw->n_stalls + 1) * sizeof(char *));
    sw->stalls[sw->n_stalls++] = micl_strdup(msg);
    write_results(s);
}

/* ---- coordinator: events ------------------------------------------------------------------ */

/* The next run for group g, or -1 when there is none (or the sweep is stopping). */
static int64_t coord_next(sweep_t *s, int g) {
    s->group_point[g] = -1;
    for (int i = 0; i < s->plan->n_points && !s->stopping; i++) {
        if (s->state[i] != POINT_PENDING) continue;
        s->state[i] = POINT_RUNNING;
        s->group_point[g] = i;
        s->last_heard[g] = clock_now_s();
        s->stall_said[g] = 0;
        micl_info("sweep: run %d/%d '%s' -> group %d", i + 1, s->plan->n_points,
                  s->plan->points[i].name, g);
        return i;
    }
    s->group_done[g] = 1;
    return -1;
}

/* Stores a result of group g: a finished run goes into the file, a stopped one stays pending. */
static void coord_result(sweep_t *s, int g, run_result_t *run) {
    int k = s->group_point[g];
    if (k < 0 || strcmp(run->name, s->plan->points[k].name) != 0)
        micl_fatal("sweep: group %d sent a result for '%s', which it was not training", g,
                   run->name);
    s->group_point[g] = -1;
    if (run->preempted) {
        s->state[k] = POINT_PENDING;
        s->stopping = 1;
        s->stopped_runs++;
        results_run_free(run);
        return;
    }
    const sweep_point_t *pt = &s->plan->points[k];
    snprintf(run->id, sizeof run->id, "%s", pt->id);
    run->sweep_index = pt->index;
    run->config_text = micl_strdup(pt->text);
    for (int a = 0; a < s->plan->n_axes; a++)
        snprintf(run->axis_values[a], sizeof run->axis_values[a], "%s", pt->values[a]);
    *results_add_run(&s->res) = *run;
    s->state[k] = POINT_DONE;
    write_results(s);
    micl_info("sweep: run '%s' finished (group %d); results in %s", run->name, g, s->results_path);
}

static void coord_message(sweep_t *s, const comm_msg_t *m) {
    int g = m->src / s->rpr;
    unsigned char *buf = micl_malloc(m->size ? m->size : 1);
    comm_recv(s->world, m, buf);
    s->last_heard[g] = clock_now_s();
    s->stall_said[g] = 0;
    if (m->tag == TAG_REQUEST) {
        int64_t next = coord_next(s, g);
        comm_send(s->world, m->src, TAG_ASSIGN, &next, sizeof next);
    } else if (m->tag == TAG_RESULT) {
        run_result_t run;
        sweep_wire_unpack(buf, m->size, &run);
        coord_result(s, g, &run);
    } else if (m->tag != TAG_BEAT) {
        micl_fatal("sweep: unexpected message tag %d from rank %d", m->tag, m->src);
    }
    free(buf);
}

/* Housekeeping: stop requests and stalled groups. */
static void coord_housekeeping(sweep_t *s) {
    if (signals_stop_requested()) s->stopping = 1;
    if (s->stopping && !s->stop_sent) {
        signals_request_stop(); /* group 0: rank 0's own training stops after its step too */
        int64_t zero = 0;
        for (int g = 1; g < s->n_groups; g++)
            if (s->group_point[g] >= 0) comm_send(s->world, g * s->rpr, TAG_STOP, &zero, 8);
        s->stop_sent = 1;
    }
    double now = clock_now_s();
    for (int g = 1; g < s->n_groups; g++) {
        int k = s->group_point[g];
        if (k < 0 || s->stall_said[g] ||
            now - s->last_heard[g] < s->plan->base->sweep.stall_seconds)
            continue;
        char msg[256];
        snprintf(msg, sizeof msg, "group %d (rank %d) sent nothing for %.0f s while training '%s'",
                 g, g * s->rpr, now - s->last_heard[g], s->plan->points[k].name);
        micl_warn("sweep: %s", msg);
        s->stall_said[g] = 1;
        add_stall(s, msg);
    }
}

/* Handles every waiting message, then housekeeping; never blocks. */
static void coord_pump(sweep_t *s) {
    comm_msg_t m;
    while (comm_poll(s->world, -1, -1, &m))
        coord_message(s, &m);
    coord_housekeeping(s);
}

static int coord_busy(const sweep_t *s) {
    for (int g = 0; g < s->n_groups; g++)
        if (!s->group_done[g] || s->group_point[g] >= 0) return 1;
    return 0;
}

/* ---- groups ------------------------------------------------------------------------------ */

/* Trainer callback on every rank of a group, after every step. */
static void group_on_step(void *ctx, int64_t step) {
    sweep_t *s = ctx;
    if (s->world->rank == 0) {
        s->last_heard[0] = clock_now_s();
        coord_pump(s);
        return;
    }
    if (s->group.rank != 0) return;
    if (step == s->test_stall_step) { /* test hook: a group that goes silent */
        struct timespec ts = {3, 0};
        nanosleep(&ts, NULL);
    }
    if (step % s->log_every == 0) {
        int64_t beat[2] = {s->point, step};
        comm_send(s->world, 0, TAG_BEAT, beat, sizeof beat);
    }
    comm_msg_t m;
    if (comm_poll(s->world, 0, TAG_STOP, &m)) {
        int64_t v;
        comm_recv(s->world, &m, &v);
        signals_request_stop();
    }
}

/* The leader's next run: from the coordinator itself (rank 0) or by asking it. */
static int64_t leader_next(sweep_t *s) {
    if (s->world->rank == 0) {
        coord_pump(s);
        return coord_next(s, 0);
    }
    int64_t g = s->group_index, next;
    comm_send(s->world, 0, TAG_REQUEST, &g, sizeof g);
    comm_msg_t m;
    while (!comm_poll(s->world, 0, TAG_ASSIGN, &m))
        nap();
    comm_recv(s->world, &m, &next);
    return next;
}

static void leader_deliver(sweep_t *s, run_result_t *out) {
    if (s->world->rank == 0) {
        coord_result(s, 0, out);
        return;
    }
    size_t size;
    void *msg = sweep_wire_pack(out, &size);
    comm_send(s->world, 0, TAG_RESULT, msg, size);
    free(msg);
    results_run_free(out);
}

static void train_point(sweep_t *s, int k, run_result_t *out) {
    const sweep_point_t *pt = &s->plan->points[k];
    config_t cfg;
    sweep_plan_config(s->plan, k, &cfg);
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", pt->name);
    if (snprintf(out->checkpoint, sizeof out->checkpoint, "%s/%s.ckpt.h5", s->ckpt_dir, pt->name) >=
        (int)sizeof out->checkpoint)
        micl_fatal("%s: the checkpoint path of run '%s' is too long", s->results_path, pt->name);
    s->point = k;
    s->log_every = cfg.train.log_every;
    run_hook_t hook = {group_on_step, s};
    experiment_run_one(&cfg, &s->group, &hook, s->restart, out);
    config_free(&cfg);
}

/* Every rank: take runs for this group until there are none. */
static void group_loop(sweep_t *s) {
    for (;;) {
        int64_t k = s->group.rank == 0 ? leader_next(s) : 0;
        comm_bcast_i64(&s->group, &k, 1);
        if (k < 0) break;
        run_result_t out;
        train_point(s, (int)k, &out);
        if (s->group.rank == 0)
            leader_deliver(s, &out);
        else
            results_run_free(&out);
    }
    comm_msg_t m; /* a stop that crossed our last result */
    if (s->group.rank == 0 && s->world->rank != 0 && comm_poll(s->world, 0, TAG_STOP, &m)) {
        int64_t v;
        comm_recv(s->world, &m, &v);
    }
}

/* ---- setup ------------------------------------------------------------------------------- */

static void sweep_init(sweep_t *s, const sweep_plan_t *plan, const comm_t *world,
                       const sweep_opts_t *o) {
    memset(s, 0, sizeof *s);
    const config_t *base = plan->base;
    s->plan = plan;
    s->world = world;
    s->rpr = base->sweep.ranks_per_run;
    if (world->size % s->rpr != 0)
        micl_fatal("%s: %d ranks is not a multiple of sweep.ranks_per_run = %d", base->path,
                   world->size, s->rpr);
    s->n_groups = world->size / s->rpr;
    if (o->results_path)
        snprintf(s->results_path, sizeof s->results_path, "%s", o->results_path);
    else
        snprintf(s->results_path, sizeof s->results_path, "%s/sweep.h5", base->output_dir);
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", s->results_path);
    snprintf(s->ckpt_dir, sizeof s->ckpt_dir, "%s", dirname(tmp));
    s->state = micl_calloc((size_t)plan->n_points, sizeof(int));
    s->group_point = micl_malloc((size_t)s->n_groups * sizeof(int));
    for (int g = 0; g < s->n_groups; g++)
        s->group_point[g] = -1;
    s->group_done = micl_calloc((size_t)s->n_groups, sizeof(int));
    s->last_heard = micl_calloc((size_t)s->n_groups, sizeof(double));
    s->stall_said = micl_calloc((size_t)s->n_groups, sizeof(int));
    const char *stall = getenv("MICL_TEST_STALL_AT_STEP");
    s->test_stall_step = stall ? atoll(stall) : -1;
    s->restart = o->restart;
    s->group_index = world->rank / s->rpr;
    comm_split(world, s->group_index, &s->group);
    char err[1024];
    if (comm_device_open(&s->group, err, sizeof err) != 0) /* the group's GPUs, if any */
        micl_fatal("%s: model.device = \"%s\": %s", base->path, base->model.device, err);
}

static void sweep_free(sweep_t *s) {
    s->res.config_text = NULL; /* the base config's */
    results_free(&s->res);
    free(s->state);
    free(s->group_point);
    free(s->group_done);
    free(s->last_heard);
    free(s->stall_said);
    comm_device_close(&s->group);
    comm_group_free(&s->group);
}

/* Rank 0: directories, the data stores of every distinct data section, earlier results. */
static void coord_prepare(sweep_t *s) {
    paths_make_dirs(s->ckpt_dir, "directory");
    char command[CONFIG_PATH_LEN + 64];
    snprintf(command, sizeof command, "micl sweep %s", s->plan->base->path);
    dir_lock_take(s->ckpt_dir, command, s->plan->shard_index, s->plan->shard_count);
    data_config_t *done = micl_calloc((size_t)s->plan->n_points, sizeof(data_config_t));
    int n_done = 0;
    for (int i = 0; i < s->plan->n_points; i++) {
        config_t cfg;
        sweep_plan_config(s->plan, i, &cfg);
        int seen = 0;
        for (int j = 0; j < n_done && !seen; j++)
            seen = memcmp(&done[j], &cfg.data, sizeof cfg.data) == 0;
        if (!seen) {
            data_prepare(&cfg, 0);
            done[n_done++] = cfg.data;
        }
        config_free(&cfg);
    }
    free(done);
    fill_header(s, s->plan->base);
    adopt_previous(s);
    if (!s->restart) check_checkpoints(s);
}

int sweep_run(const config_t *base, const comm_t *world, const sweep_opts_t *o) {
    sweep_plan_t plan;
    sweep_plan_build(base, o->shard_index, o->shard_count, &plan);
    sweep_t s;
    sweep_init(&s, &plan, world, o);
    micl_info("sweep %s: %d run(s)%s of %lld, %d group(s) of %d rank(s); results %s", base->path,
              plan.n_points, plan.shard_count > 1 ? " (this shard)" : "",
              (long long)plan.n_expanded, s.n_groups, s.rpr, s.results_path);
    if (world->rank == 0) coord_prepare(&s);
    comm_barrier(world);
    group_loop(&s);
    int64_t rc = 0;
    if (world->rank == 0) {
        while (coord_busy(&s)) {
            coord_pump(&s);
            nap();
        }
        write_results(&s);
        results_print_table(&s.res, stdout);
        int left = plan.n_points - s.res.n_runs;
        if (left > 0) {
            micl_info("sweep stopped: %d run(s) unfinished; run the same command again to "
                      "resume them",
                      left);
            rc = MICL_EXIT_PREEMPTED;
        }
        printf("results: %s\n", s.results_path);
    }
    comm_bcast_i64(world, &rc, 1);
    sweep_free(&s);
    sweep_plan_free(&plan);
    return (int)rc;
}
