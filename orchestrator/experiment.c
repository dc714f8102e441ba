/* experiment.c - the train and eval flows (see experiment.h). */
#define _POSIX_C_SOURCE 200809L
#include "experiment.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/paths.h"
#include "common/results.h"
#include "data/sources.h"
#include "data/store.h"
#include "data/vocab.h"
#include "sweep_plan.h"
#include "worker/checkpoint.h"
#include "worker/device.h"
#include "worker/evaluator.h"
#include "worker/trainer.h"

int experiment_start_device(config_t *cfg, const char *device, const comm_t *world) {
    char origin[CONFIG_PATH_LEN + 64], err[CONFIG_PATH_LEN + 256];
    if (device && config_set_device(cfg, device, err, sizeof err) != 0) {
        /* every rank has the same config and flag: each fails alike, rank 0 says so */
        if (world->rank == 0) fprintf(stderr, "micl: error: --device %s: %s\n", device, err);
        return MICL_EXIT_ERROR;
    }
    const model_config_t *m = &cfg->model;
    if (m->device_flag)
        snprintf(origin, sizeof origin, "--device %s", m->device);
    else if (m->device_line > 0)
        snprintf(origin, sizeof origin, "model.device = \"%s\" (%s:%d)", m->device, cfg->path,
                 m->device_line);
    else
        snprintf(origin, sizeof origin, "model.device = \"%s\" (%s, the default)", m->device,
                 cfg->path);
    return device_start(m->device, m->precision, origin, world);
}

void experiment_run_device(run_result_t *out) {
    snprintf(out->device, sizeof out->device, "%s", device_backend());
    snprintf(out->precision, sizeof out->precision, "%s", device_precision());
    snprintf(out->isa, sizeof out->isa, "%s", device_isa());
}

static vlm_config_t model_config(const config_t *cfg, int vocab) {
    const model_config_t *m = &cfg->model;
    vlm_config_t c = {m->image_size,
                      m->patch,
                      m->enc_dim,
                      m->enc_layers,
                      m->enc_heads,
                      m->dim,
                      m->layers,
                      m->heads,
                      m->mlp_ratio,
                      vocab,
                      m->max_seq,
                      m->init_std,
                      strcmp(m->pool, "mean") == 0 ? VLM_POOL_MEAN : VLM_POOL_FLATTEN,
                      m->channels,
                      m->smear_keys};
    return c;
}

/* The cells of benchmark b under the config: eval.shots for every benchmark with shots,
 * eval.ways for the binding ones. */
static void config_cells(const config_t *cfg, const benchmark_t *b, benchmark_cells_t *c) {
    const eval_config_t *e = &cfg->eval;
    int bind = b->family == FAMILY_BINDING;
    int shots = b->family != FAMILY_CLASSIFY;
    benchmark_cells(b, bind ? e->ways : NULL, bind ? e->n_ways : 0, shots ? e->shots : NULL,
                    shots ? e->n_shots : 0, c);
}

/* Capacity for training the run and for evaluating every (ways, shots) cell in batches. */
static void capacity(const config_t *cfg, const run_config_t *run, const vocab_t *v, int *tok,
                     int *img) {
    trainer_capacity(cfg, run, v, EPISODE_FORMAT_COMPACT, tok, img);
    for (int k = 0; k < cfg->eval.n_benchmarks; k++) {
        const benchmark_t *b = benchmark_find(cfg->eval.benchmarks[k]);
        if (!b) continue; /* load_stores names it */
        benchmark_cells_t c;
        config_cells(cfg, b, &c);
        int T, n_img;
        benchmark_prompt_size(b, &c, v, EPISODE_FORMAT_COMPACT, &T, &n_img);
        if (T > cfg->model.max_seq)
            micl_fatal("%s: benchmark '%s' needs prompts of %d tokens (eval.ways, eval.shots) but "
                       "model.max_seq = %d",
                       cfg->path, b->name, T, cfg->model.max_seq);
        if (16 * T > *tok) *tok = 16 * T;
        if (16 * n_img > *img) *img = 16 * n_img;
    }
}

typedef experiment_stores_t stores_t;

/* The store a benchmark runs on, or NULL when this config has none (cross_domain without a
 * prepared Fashion-MNIST). */
static const image_store_t *bench_store(const stores_t *st, const benchmark_t *b) {
    switch (b->store) {
    case BENCHMARK_STORE_FMNIST:
        return st->have_fmnist ? &st->fmnist : NULL;
    case BENCHMARK_STORE_SCENES:
        return st->have_scenes ? &st->scenes : NULL;
    case BENCHMARK_STORE_OPERATORS:
        return st->have_operators ? &st->operators : NULL;
    default:
        return &st->glyphs;
    }
}

/* Runs every benchmark of eval.benchmarks on the model, appending rows to out. With
 * `stoppable` (train, sweep) a stop request ends it between cells: returns 1, the rows are
 * incomplete and the caller drops them; else 0. */
static int evaluate_run(const config_t *cfg, const comm_t *comm, vlm_t *m, vocab_t *v,
                        const stores_t *st, int tok, int img, int stoppable, run_result_t *out) {
    double t0 = clock_now_s();
    int stopped = 0;
    evaluator_t ev = {
        m, v, comm, EPISODE_FORMAT_COMPACT, cfg->seed, tok, img, stoppable ? &stopped : NULL, 0};
    for (int k = 0; k < cfg->eval.n_benchmarks && !stopped; k++) {
        const benchmark_t *b = benchmark_find(cfg->eval.benchmarks[k]);
        const image_store_t *store = bench_store(st, b);
        if (!store) {
            micl_info("[%s] %s skipped: its store is not prepared", out->name, b->name);
            continue;
        }
        if (store->h != cfg->model.image_size) {
            micl_info("[%s] %s skipped: %s images are %dx%d, the model takes %d", out->name,
                      b->name, store->source, store->h, store->w, cfg->model.image_size);
            continue;
        }
        if (b->family == FAMILY_CLASSIFY) {
            eval_row_t *zs = &out->rows[out->n_rows++];
            eval_zeroshot(&ev, store, cfg->eval.zeroshot_images, zs);
            micl_info("[%s] eval zero-shot %d-way: %.3f [%.3f, %.3f]", out->name, zs->ways,
                      zs->accuracy, zs->ci_low, zs->ci_high);
            eval_stop_check(&ev);
            continue;
        }
        benchmark_cells_t c;
        config_cells(cfg, b, &c);
        int n_ways = 0; /* ways the store can hold */
        while (n_ways < c.n_ways && (b->kind >= 0 || c.ways[n_ways] <= store->n_classes))
            n_ways++;
        if (out->n_rows + n_ways * c.n_shots > RESULTS_MAX_ROWS)
            micl_fatal("%s: eval.benchmarks need more than %d result rows", cfg->path,
                       RESULTS_MAX_ROWS);
        eval_row_t *rows = &out->rows[out->n_rows];
        int n = eval_benchmark(&ev, b, store, c.ways, n_ways, c.shots, c.n_shots,
                               cfg->eval.episodes, 0, NULL, rows);
        out->n_rows += n;
        for (int j = 0; j < n; j++)
            micl_info("[%s] eval %s %d-way %d-shot: %.3f [%.3f, %.3f]", out->name, b->name,
                      rows[j].ways, rows[j].shots, rows[j].accuracy, rows[j].ci_low,
                      rows[j].ci_high);
    }
    out->eval_seconds = clock_now_s() - t0;
    if (stopped)
        micl_info("[%s] stop requested: evaluation ended, its results are not written", out->name);
    return stopped;
}

/* Refuses, before any training, a benchmark cell that evaluate_run would have to draw with an
 * image shown twice in an episode (a store with too few images per class; see
 * benchmark_check_cells), with the same skips evaluate_run makes. */
static void check_eval_cells(const config_t *cfg, const stores_t *st, const vocab_t *v) {
    for (int k = 0; k < cfg->eval.n_benchmarks; k++) {
        const benchmark_t *b = benchmark_find(cfg->eval.benchmarks[k]);
        const image_store_t *store = bench_store(st, b);
        if (!store || store->h != cfg->model.image_size || b->family == FAMILY_CLASSIFY) continue;
        benchmark_cells_t c;
        config_cells(cfg, b, &c);
        int n_ways = 0; /* as evaluate_run: the ways the store can hold */
        while (n_ways < c.n_ways && (b->kind >= 0 || c.ways[n_ways] <= store->n_classes))
            n_ways++;
        benchmark_source_t bs;
        benchmark_source_init(&bs, b, store, v, EPISODE_FORMAT_COMPACT);
        benchmark_check_cells(&bs, c.ways, n_ways, c.shots, c.n_shots);
        benchmark_source_free(&bs);
    }
}

static void fill_header(results_t *r, const config_t *cfg, const comm_t *comm) {
    memset(r, 0, sizeof *r);
    results_header(r, cfg->text, cfg->path, comm->size);
}

void experiment_checkpoint_path(const config_t *cfg, const run_config_t *run, char *out,
                                size_t size) {
    if (snprintf(out, size, "%s/%s.ckpt.h5", cfg->output_dir, run->name) >= (int)size)
        micl_fatal("%s: output_dir is too long", cfg->path);
}

/* Appends the result record of `run`, named, with its checkpoint path. */
static run_result_t *begin_run(results_t *res, const config_t *cfg, const run_config_t *run) {
    run_result_t *out = results_add_run(res);
    snprintf(out->name, sizeof out->name, "%s", run->name);
    experiment_run_device(out);
    experiment_checkpoint_path(cfg, run, out->checkpoint, sizeof out->checkpoint);
    return out;
}

/* A new model with initial parameters. */
static vlm_t *fresh_model(const config_t *cfg, const run_config_t *run, int vocab, int tok, int img,
                          train_state_t *st) {
    vlm_config_t mc = model_config(cfg, vocab);
    char err[256];
    vlm_t *m = vlm_create(&mc, tok, img, err, sizeof err);
    if (!m) micl_fatal("%s: bad model: %s", cfg->path, err);
    vlm_init_params(m, cfg->seed);
    memset(st, 0, sizeof *st);
    snprintf(st->run, sizeof st->run, "%s", run->name);
    return m;
}

void experiment_run_hash(const config_t *cfg, const run_config_t *run, int resolved, char out[24]) {
    if (resolved) {
        sweep_hash_text(cfg->text, out);
        return;
    }
    char *text = config_resolve(cfg, run->name, 0, NULL, NULL);
    sweep_hash_text(text, out);
    free(text);
}

/* "line N: 'x' in <a_name>, 'y' in <b_name>" for the first line where texts a and b differ
 * (leading blanks dropped, long lines cut), or "" when they are equal. */
static void first_difference(const char *a, const char *b, const char *a_name, const char *b_name,
                             char *out, size_t size) {
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    out[0] = '\0';
    if (!*a && !*b) return;
    while (*la == ' ' || *la == '\t')
        la++;
    while (*lb == ' ' || *lb == '\t')
        lb++;
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    snprintf(out, size, "first difference, line %d: '%.*s' in %s, '%.*s' in %s", line,
             na > 60 ? 60 : na, la, a_name, nb > 60 ? 60 : nb, lb, b_name);
}

int experiment_check_checkpoint(const char *path, const train_state_t *st, const char *ck_text,
                                const config_t *cfg, const char *run_name, const char *hash,
                                const char *restart_hint) {
    if (!st->config_hash[0]) { /* schema version 1: only the texts can be compared */
        if (ck_text && strcmp(ck_text, cfg->text) != 0)
            micl_warn("%s was written before checkpoints carried their config's hash, with a "
                      "different config text than %s; resuming anyway",
                      path, cfg->path);
        return 0;
    }
    if (strcmp(st->config_hash, hash) == 0) return 0;
    char diff[1280] = "";
    if (ck_text)
        first_difference(ck_text, cfg->text, "the checkpoint", cfg->path, diff, sizeof diff);
    fprintf(stderr,
            "micl: error: %s (step %lld) was trained by another config: its config hash is %s, "
            "run '%s' of %s resolves to %s%s%s%s; %s\n",
            path, (long long)st->step, st->config_hash, run_name, cfg->path, hash,
            diff[0] ? " (" : "", diff, diff[0] ? ")" : "", restart_hint);
    return MICL_EXIT_ERROR;
}

/* The model, training state and progress of out->checkpoint, checked against the config
 * (whose run hashes to `hash`). */
static vlm_t *resume_model(const config_t *cfg, const run_config_t *run, run_result_t *out,
                           const vocab_t *vocab, int tok, int img, const char *hash,
                           train_state_t *st) {
    vocab_t cv;
    char *text = NULL;
    vlm_t *m = checkpoint_read(out->checkpoint, tok, img, &cv, st, &text);
    if (experiment_check_checkpoint(out->checkpoint, st, text, cfg, run->name, hash,
                                    "--restart trains the run again from step 0") != 0)
        micl_fatal("%s: cannot resume run '%s'", out->checkpoint, run->name);
    if (cv.n != vocab->n)
        micl_fatal("%s: vocabulary of %d words, but %s gives %d: cannot resume", out->checkpoint,
                   cv.n, cfg->path, vocab->n);
    for (int i = 0; i < cv.n; i++)
        if (strcmp(cv.words[i], vocab->words[i]) != 0)
            micl_fatal("%s: word %d is '%s', but %s gives '%s': cannot resume", out->checkpoint, i,
                       cv.words[i], cfg->path, vocab->words[i]);
    vlm_config_t want = model_config(cfg, vocab->n), got = *vlm_config(m);
    want.init_std = got.init_std;
    if (memcmp(&want, &got, sizeof want) != 0)
        micl_fatal("%s: its model shape differs from %s's model section: cannot resume",
                   out->checkpoint, cfg->path);
    if (strcmp(st->device, device_backend()) != 0 || strcmp(st->precision, device_precision()))
        micl_warn("%s was trained on %s in %s, this run computes on %s in %s; resuming anyway "
                  "(the resumed run's bits are those of neither device)",
                  out->checkpoint, st->device, st->precision, device_backend(), device_precision());
    if (st->stage >= run->n_stages)
        micl_fatal("%s: stage %d, but run '%s' has %d stage(s): cannot resume", out->checkpoint,
                   st->stage, run->name, run->n_stages);
    free(text);
    vocab_free(&cv);
    checkpoint_read_progress(out->checkpoint, out);
    micl_info("[%s] resuming from %s at step %lld", out->name, out->checkpoint,
              (long long)st->step);
    return m;
}

/* store_read of an input of this command: no output of it may replace the store (atomic_file.h). */
static void read_input_store(const char *path, image_store_t *s) {
    atomic_file_input(path, "the image store");
    store_read(path, s);
}

/* Reads the stores of `cfg` (the glyph store required; the others when present / configured)
 * and checks them against the model's image size and channels, and the benchmark names. */
static void load_stores(const config_t *cfg, stores_t *st) {
    memset(st, 0, sizeof *st);
    char path[1024];
    data_glyph_store_path(cfg, path, sizeof path);
    read_input_store(path, &st->glyphs);
    if (st->glyphs.h != cfg->model.image_size || st->glyphs.w != cfg->model.image_size)
        micl_fatal("%s: images are %dx%d but model.image_size = %d", path, st->glyphs.h,
                   st->glyphs.w, cfg->model.image_size);
    if (st->glyphs.c > cfg->model.channels)
        micl_fatal("%s: images have %d channels but model.channels = %d", path, st->glyphs.c,
                   cfg->model.channels);
    data_fmnist_store_path(cfg, path, sizeof path);
    st->have_fmnist = access(path, R_OK) == 0;
    if (st->have_fmnist) read_input_store(path, &st->fmnist);
    if (cfg->data.scene_images > 0) {
        data_scene_store_path(cfg, path, sizeof path);
        read_input_store(path, &st->scenes);
        st->have_scenes = 1;
        if (st->scenes.c > cfg->model.channels)
            micl_fatal("%s: images have %d channels but model.channels = %d", path, st->scenes.c,
                       cfg->model.channels);
    }
    if (cfg->data.op_images > 0) {
        data_operator_store_path(cfg, path, sizeof path);
        read_input_store(path, &st->operators);
        st->have_operators = 1;
        if (st->operators.c > cfg->model.channels)
            micl_fatal("%s: images have %d channels but model.channels = %d", path, st->operators.c,
                       cfg->model.channels);
    }
    for (int k = 0; k < cfg->eval.n_benchmarks; k++) {
        const benchmark_t *b = benchmark_find(cfg->eval.benchmarks[k]);
        if (!b)
            micl_fatal("%s: key 'eval.benchmarks' names '%s', which is not a benchmark (valid: "
                       "%s)",
                       cfg->path, cfg->eval.benchmarks[k], benchmark_names());
        if ((b->store == BENCHMARK_STORE_SCENES && !st->have_scenes) ||
            (b->store == BENCHMARK_STORE_OPERATORS && !st->have_operators))
            micl_fatal("%s: key 'eval.benchmarks' has '%s', which needs the %s store "
                       "(data.%s.images > 0)",
                       cfg->path, b->name,
                       b->store == BENCHMARK_STORE_SCENES ? "scene" : "operator",
                       b->store == BENCHMARK_STORE_SCENES ? "scenes" : "operators");
    }
}

static void free_stores(stores_t *st) {
    store_free(&st->glyphs);
    if (st->have_fmnist) store_free(&st->fmnist);
    if (st->have_scenes) store_free(&st->scenes);
    if (st->have_operators) store_free(&st->operators);
}

/* The trainer's arguments for `run` over the config's stores (hook: per-step callback of a
 * sweep, or NULL). */
static trainer_args_t train_args(const config_t *cfg, const run_config_t *run, const comm_t *comm,
                                 const stores_t *st, const vocab_t *vocab, const char *ckpt,
                                 const run_hook_t *hook) {
    trainer_args_t ta = {.cfg = cfg,
                         .run = run,
                         .comm = comm,
                         .store = &st->glyphs,
                         .scenes = st->have_scenes ? &st->scenes : NULL,
                         .operators = st->have_operators ? &st->operators : NULL,
                         .vocab = vocab,
                         .format = EPISODE_FORMAT_COMPACT,
                         .checkpoint_path = ckpt,
                         .on_step = hook ? hook->on_step : NULL,
                         .on_step_ctx = hook ? hook->ctx : NULL};
    return ta;
}

static int trains(const train_opts_t *o, const run_config_t *run) {
    return !o->only_run || strcmp(o->only_run, run->name) == 0;
}

/* Rank 0, before anything is prepared or trained: a checkpoint of a run this command trains is
 * progress. Without --resume or --restart it is refused with MICL_EXIT_USAGE (the command line
 * must choose); with --resume, one trained by another config is refused with MICL_EXIT_ERROR. */
static int check_progress(const config_t *cfg, const train_opts_t *o) {
    int n_found = 0, rc = 0;
    for (int ri = 0; ri < cfg->n_runs; ri++) {
        const run_config_t *run = &cfg->runs[ri];
        char path[1024];
        experiment_checkpoint_path(cfg, run, path, sizeof path);
        if (!trains(o, run) || access(path, F_OK) != 0) continue;
        if (o->restart) {
            micl_info("[%s] --restart: training from step 0; %s is replaced when the run writes "
                      "its first checkpoint",
                      run->name, path);
            continue;
        }
        train_state_t st;
        char *text = NULL;
        checkpoint_read_state(path, &st, &text);
        if (o->resume) {
            char hash[24];
            experiment_run_hash(cfg, run, 0, hash);
            if (experiment_check_checkpoint(path, &st, text, cfg, run->name, hash,
                                            "--restart trains the run again from step 0 (the "
                                            "checkpoint is replaced when the run writes its first "
                                            "new one)") != 0)
                rc = MICL_EXIT_ERROR;
        } else {
            fprintf(stderr, "micl: error: %s holds run '%s' at step %lld of %lld%s\n", path,
                    run->name, (long long)st.step, (long long)cfg->train.steps,
                    st.step >= cfg->train.steps ? " (trained to the end)" : "");
            n_found++;
        }
        free(text);
    }
    if (n_found == 0) return rc;
    fprintf(stderr,
            "micl: error: training would start %s from step 0: rerun with --resume to continue "
            "from %s (a run trained to the end is only evaluated again), or with --restart to "
            "train from step 0 (a checkpoint is replaced when its run writes its first new one)\n",
            n_found > 1 ? "these runs" : "this run",
            n_found > 1 ? "their checkpoints"
                        : "its "
                          "checkpoint");
    return MICL_EXIT_USAGE;
}

/* Rank 0, with --run: the other runs of the config that the results file at `path` already
 * holds, which this command keeps. Each must come from the same resolved config as now, or the
 * file's new header would mislabel it: refused (MICL_EXIT_ERROR) naming the run. */
static void keep_other_runs(const config_t *cfg, const train_opts_t *o, const char *path,
                            results_t *kept) {
    memset(kept, 0, sizeof *kept);
    if (!o->only_run || access(path, F_OK) != 0) return;
    results_t old;
    results_read(path, &old);
    if (old.sweep.present)
        micl_fatal("%s is a sweep's results file, not `micl train`'s: use another -o", path);
    config_t *was = micl_calloc(1, sizeof *was); /* the file's config, for config_resolve */
    was->text = old.config_text ? old.config_text : "";
    snprintf(was->path, sizeof was->path, "%.400s", path);
    for (int i = 0; i < old.n_runs; i++) {
        const run_config_t *run = NULL;
        for (int ri = 0; ri < cfg->n_runs; ri++)
            if (strcmp(cfg->runs[ri].name, old.runs[i].name) == 0) run = &cfg->runs[ri];
        if (!run || trains(o, run)) continue; /* not a run of the config, or trained now */
        char now[24], then[24];
        experiment_run_hash(cfg, run, 0, now);
        experiment_run_hash(was, run, 0, then);
        if (strcmp(now, then) != 0)
            micl_fatal("%s holds run '%s' of another config (its resolved config hash is %s, %s "
                       "gives %s): keeping it under %s's header would mislabel it; train every "
                       "run (no --run) or write to another -o",
                       path, run->name, then, cfg->path, now, cfg->path);
        results_run_copy(results_add_run(kept), &old.runs[i]);
    }
    free(was);
    results_free(&old);
}

/* Writes res's runs and the kept ones, in the config's order, under res's header. */
static void write_train_results(const config_t *cfg, const char *path, const results_t *res,
                                const results_t *kept) {
    results_t w = *res;
    w.runs = micl_calloc((size_t)(res->n_runs + kept->n_runs + 1), sizeof(run_result_t));
    w.n_runs = 0;
    for (int ri = 0; ri < cfg->n_runs; ri++) {
        const char *name = cfg->runs[ri].name;
        for (int i = 0; i < res->n_runs; i++)
            if (strcmp(res->runs[i].name, name) == 0) w.runs[w.n_runs++] = res->runs[i];
        for (int i = 0; i < kept->n_runs; i++)
            if (strcmp(kept->runs[i].name, name) == 0) w.runs[w.n_runs++] = kept->runs[i];
    }
    results_write(path, &w); /* shallow copies: res and kept own the runs */
    free(w.runs);
}

int experiment_train(const config_t *cfg, const comm_t *comm, const train_opts_t *o) {
    if (comm->size > cfg->train.micro_batches)
        micl_fatal("%s: %d ranks but train.micro_batches = %d: every rank needs at least one "
                   "micro-batch (raise train.micro_batches or use fewer ranks)",
                   cfg->path, comm->size, cfg->train.micro_batches);
    if (cfg->train.threads > 0) omp_set_num_threads(cfg->train.threads);
    char results_path[1024];
    if (o->results_path)
        snprintf(results_path, sizeof results_path, "%s", o->results_path);
    else
        snprintf(results_path, sizeof results_path, "%s/results.h5", cfg->output_dir);
    results_t kept;
    memset(&kept, 0, sizeof kept);
    int64_t refused = 0;
    if (comm->rank == 0) {
        refused = check_progress(cfg, o);
        if (!refused) keep_other_runs(cfg, o, results_path, &kept);
    }
    comm_bcast_i64(comm, &refused, 1);
    if (refused) return (int)refused;
    if (comm->rank == 0) {
        paths_make_dirs(cfg->output_dir, "output directory");
        data_prepare(cfg, 0);
    }
    comm_barrier(comm);

    stores_t stores;
    load_stores(cfg, &stores);
    vocab_t vocab;
    vocab_build(&vocab, &stores.glyphs, cfg->fake_names, cfg->seed, cfg->question);
    check_eval_cells(cfg, &stores, &vocab);
    micl_info("vocabulary: %d words (%d real names, %d fake names); %d rank(s) x %d thread(s)",
              vocab.n, vocab.n_real, vocab.n_fake, comm->size, omp_get_max_threads());

    results_t res;
    fill_header(&res, cfg, comm);
    int rc = 0;
    for (int ri = 0; ri < cfg->n_runs; ri++) {
        const run_config_t *run = &cfg->runs[ri];
        if (!trains(o, run)) continue;
        run_result_t *out = begin_run(&res, cfg, run);
        int tok, img;
        capacity(cfg, run, &vocab, &tok, &img);
        char hash[24];
        experiment_run_hash(cfg, run, 0, hash);
        train_state_t st;
        vlm_t *m = o->resume && access(out->checkpoint, R_OK) == 0
                       ? resume_model(cfg, run, out, &vocab, tok, img, hash, &st)
                       : fresh_model(cfg, run, vocab.n, tok, img, &st);
        snprintf(st.config_hash, sizeof st.config_hash, "%s", hash);
        micl_info("[%s] %zu parameters, %d stage(s), %lld steps", run->name, vlm_num_params(m),
                  run->n_stages, (long long)cfg->train.steps);
        trainer_args_t ta = train_args(cfg, run, comm, &stores, &vocab, out->checkpoint, NULL);
        if (st.step < cfg->train.steps) trainer_run(&ta, m, &st, out);
        out->tokens_per_s = out->train_seconds > 0 ? (double)out->tokens / out->train_seconds : 0;
        /* a stop during training or evaluation: the results keep the finished runs, the
         * checkpoint the progress; --resume continues */
        if (out->preempted || evaluate_run(cfg, comm, m, &vocab, &stores, tok, img, 1, out)) {
            res.n_runs--;
            results_run_free(out);
            if (comm->rank == 0) write_train_results(cfg, results_path, &res, &kept);
            vlm_free(m);
            rc = MICL_EXIT_PREEMPTED;
            break;
        }
        if (comm->rank == 0) write_train_results(cfg, results_path, &res, &kept);
        vlm_free(m);
    }
    if (comm->rank == 0) {
        results_print_table(&res, stdout);
        printf("results: %s\n", results_path);
    }
    for (int i = 0; i < res.n_runs; i++)
        results_run_free(&res.runs[i]);
    free(res.runs);
    for (int i = 0; i < kept.n_runs; i++)
        results_run_free(&kept.runs[i]);
    free(kept.runs);
    vocab_free(&vocab);
    free_stores(&stores);
    return rc;
}

int experiment_run_one(const config_t *cfg, const comm_t *comm, const run_hook_t *hook, int restart,
                       run_result_t *out) {
    const run_config_t *run = &cfg->runs[0];
    if (comm->size > cfg->train.micro_batches)
        micl_fatal("%s: %d ranks per run but train.micro_batches = %d: every rank needs at least "
                   "one micro-batch",
                   cfg->path, comm->size, cfg->train.micro_batches);
    if (cfg->train.threads > 0) omp_set_num_threads(cfg->train.threads);
    stores_t stores;
    load_stores(cfg, &stores);
    vocab_t vocab;
    vocab_build(&vocab, &stores.glyphs, cfg->fake_names, cfg->seed, cfg->question);
    check_eval_cells(cfg, &stores, &vocab);
    int tok, img;
    capacity(cfg, run, &vocab, &tok, &img);
    char hash[24]; /* the sweep run's id */
    experiment_run_hash(cfg, run, 1, hash);
    train_state_t st;
    vlm_t *m = !restart && access(out->checkpoint, R_OK) == 0
                   ? resume_model(cfg, run, out, &vocab, tok, img, hash, &st)
                   : fresh_model(cfg, run, vocab.n, tok, img, &st);
    snprintf(st.config_hash, sizeof st.config_hash, "%s", hash);
    experiment_run_device(out);
    trainer_args_t ta = train_args(cfg, run, comm, &stores, &vocab, out->checkpoint, hook);
    if (st.step < cfg->train.steps) trainer_run(&ta, m, &st, out);
    out->n_params = (int64_t)vlm_num_params(m);
    out->steps = st.step;
    out->tokens_per_s = out->train_seconds > 0 ? (double)out->tokens / out->train_seconds : 0;
    if (!out->preempted && evaluate_run(cfg, comm, m, &vocab, &stores, tok, img, 1, out))
        out->preempted = 1; /* stopped in its evaluation: the run stays unfinished */
    vlm_free(m);
    vocab_free(&vocab);
    free_stores(&stores);
    return out->preempted;
}

int experiment_eval_checkpoint(const comm_t *comm, const eval_opts_t *o) {
    image_store_t store;
    read_input_store(o->dataset, &store);
    int max_items = 1;
    for (int j = 0; j < o->n_shots; j++)
        if (o->ways * o->shots[j] + 1 > max_items) max_items = o->ways * o->shots[j] + 1;
    vocab_t v;
    train_state_t st;
    char *cfg_text = NULL;
    /* capacity: 16 episodes of the longest cell */
    int turn_guess = 2 + 16 + 3;
    vlm_t *m = checkpoint_read(o->checkpoint, 16 * (1 + max_items * turn_guess), 16 * max_items, &v,
                               &st, &cfg_text);
    const vlm_config_t *mc = vlm_config(m);
    if (store.h != mc->image_size || store.w != mc->image_size)
        micl_fatal("%s: images are %dx%d but the model in %s takes %dx%d", o->dataset, store.h,
                   store.w, o->checkpoint, mc->image_size, mc->image_size);
    if (store.c != mc->channels)
        micl_fatal("%s: images have %d channel%s but the model in %s takes %d (model.channels)",
                   o->dataset, store.c, store.c == 1 ? "" : "s", o->checkpoint, mc->channels);
    int T = 1 + max_items * episode_turn_tokens(&v, (episode_format_t)st.episode_format);
    if (T > mc->max_seq)
        micl_fatal("%d-way %d-shot episodes need %d tokens but the model's max_seq is %d", o->ways,
                   o->shots[o->n_shots - 1], T, mc->max_seq);
    vocab_map_store(&v, &store);
    evaluator_t ev = {m,
                      &v,
                      comm,
                      (episode_format_t)st.episode_format,
                      o->seed,
                      16 * (1 + max_items * turn_guess),
                      16 * max_items,
                      NULL,
                      0};
    results_t res;
    memset(&res, 0, sizeof res);
    res.config_text = cfg_text;
    snprintf(res.config_path, sizeof res.config_path, "%s", o->checkpoint);
    res.world_size = comm->size;
    run_result_t *out = results_add_run(&res);
    snprintf(out->name, sizeof out->name, "%s", st.run);
    experiment_run_device(out);
    snprintf(out->checkpoint, sizeof out->checkpoint, "%s", o->checkpoint);
    out->steps = st.step;
    out->n_params = (int64_t)vlm_num_params(m);
    double t0 = clock_now_s();
    /* openmi's binding episodes, named for the names used */
    benchmark_t bind = *benchmark_find("openmi");
    bind.name = o->fake_names ? "binding" : "binding_real";
    bind.fake_names = o->fake_names;
    eval_binding_curve(&ev, &store, &bind, o->ways, o->shots, o->n_shots, o->episodes,
                       EVAL_SINGLE_PASS, out->rows);
    out->n_rows = o->n_shots;
    out->eval_seconds = clock_now_s() - t0;
    if (comm->rank == 0) {
        printf("%s on %s (%s, %lld images, %d classes), %s names, %d episodes per cell\n",
               o->checkpoint, o->dataset, store.source, (long long)store.n, store.n_classes,
               o->fake_names ? "fake" : "real", o->episodes);
        results_print_table(&res, stdout);
        if (o->out) results_write(o->out, &res);
    }
    free(cfg_text);
    results_run_free(out);
    free(res.runs);
    vocab_free(&v);
    vlm_free(m);
    store_free(&store);
    return 0;
}

int experiment_eval_config(const config_t *cfg, const comm_t *comm, const char *results_path) {
    if (cfg->train.threads > 0) omp_set_num_threads(cfg->train.threads);
    char path[1024];
    if (results_path)
        snprintf(path, sizeof path, "%s", results_path);
    else
        snprintf(path, sizeof path, "%s/eval.h5", cfg->output_dir);
    stores_t stores;
    load_stores(cfg, &stores);
    vocab_t cfg_vocab;
    vocab_build(&cfg_vocab, &stores.glyphs, cfg->fake_names, cfg->seed, cfg->question);
    check_eval_cells(cfg, &stores, &cfg_vocab);
    results_t res;
    fill_header(&res, cfg, comm);
    for (int ri = 0; ri < cfg->n_runs; ri++) {
        const run_config_t *run = &cfg->runs[ri];
        run_result_t *out = begin_run(&res, cfg, run);
        int tok, img;
        capacity(cfg, run, &cfg_vocab, &tok, &img);
        vocab_t v;
        train_state_t st;
        vlm_t *m = checkpoint_read(out->checkpoint, tok, img, &v, &st, NULL);
        if (v.n != cfg_vocab.n)
            micl_fatal("%s: its vocabulary (%d words) does not match %s (%d words)",
                       out->checkpoint, v.n, cfg->path, cfg_vocab.n);
        vocab_map_store(&v, &stores.glyphs);
        out->steps = st.step;
        out->n_params = (int64_t)vlm_num_params(m);
        evaluate_run(cfg, comm, m, &v, &stores, tok, img, 0, out);
        if (comm->rank == 0) results_write(path, &res);
        vlm_free(m);
        vocab_free(&v);
    }
    if (comm->rank == 0) {
        results_print_table(&res, stdout);
        printf("results: %s\n", path);
    }
    for (int i = 0; i < res.n_runs; i++)
        results_run_free(&res.runs[i]);
    free(res.runs);
    vocab_free(&cfg_vocab);
    free_stores(&stores);
    return 0;
}

void experiment_load_stores(const config_t *cfg, experiment_stores_t *st) {
    load_stores(cfg, st);
}

void experiment_free_stores(experiment_stores_t *st) {
    free_stores(st);
}

const image_store_t *experiment_benchmark_store(const experiment_stores_t *st,
                                                const benchmark_t *b) {
    return bench_store(st, b);
}

void experiment_config_cells(const config_t *cfg, const benchmark_t *b, benchmark_cells_t *c) {
    config_cells(cfg, b, c);
}
