/* bench_eval.c - `micl bench eval` (see bench_eval.h and bench/README.md).
 *
 * The workload is the evaluation's own: eval_binding_curve over nested episodes, once with
 * EVAL_SINGLE_PASS and once with EVAL_REPROMPT, on the same model, store, vocabulary and seed,
 * so both engines score the very same prompts. Times are wall-clock around each curve (all
 * ranks, after a barrier); the median over the repeats is reported. Rank 0 prints and writes.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_eval.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/h5util.h"
#include "common/rng.h"
#include "data/store.h"
#include "data/vocab.h"
#include "worker/checkpoint.h"
#include "worker/evaluator.h"
#include "bench_out.h"
#include "common/cli_args.h"

#define MAX_LIST 16
#define MAX_REPEATS 32

/* Model shapes for random weights (the quickstart's and the tests' tiny one), with a max_seq
 * long enough for 5-way 8-shot, and the synthetic store they are fed. */
typedef struct {
    const char *name;
    vlm_config_t cfg; /* vocab is set from the synthetic store's vocabulary */
    int train_classes, heldout_classes, heldout_instances;
} eval_preset_t;

static const eval_preset_t PRESETS[] = {
    {"quickstart",
     {28, 7, 64, 1, 4, 128, 3, 4, 4, 0, 96, 0.02f, VLM_POOL_FLATTEN, 1, 1},
     1280,
     64,
     16},
    {"tiny", {12, 4, 16, 1, 2, 32, 1, 2, 4, 0, 96, 0.02f, VLM_POOL_FLATTEN, 1, 1}, 40, 8, 16},
};

typedef struct {
    const char *preset, *checkpoint, *dataset, *out;
    int ways[MAX_LIST], n_ways, shots[MAX_LIST], n_shots;
    int episodes, repeats, threads;
    uint64_t seed;
} bench_eval_opts_t;

const cli_command_t CLI_BENCH_EVAL = {
    "bench eval",
    "[--config quickstart|tiny | --checkpoint CK.h5 --dataset STORE.h5]\n"
    "[--ways 2,5] [--shots 0,1,2,4,8] [--episodes N] [--repeats R] [--threads T]\n"
    "[--seed S] [-o BENCH.h5]",
    "shot-curve cost: single pass over the KV cache against\n"
    "re-prompting, scores checked identical (bench/README.md)",
    NULL,
    NULL,
    0,
    0};

static const eval_preset_t *find_preset(const char *name);

/* Returns MICL_EXIT_OK to go on, -1 after --help, else the exit code of a usage error. */
static int parse_opts(int argc, char **argv, bench_eval_opts_t *o) {
    memset(o, 0, sizeof *o);
    o->preset = "quickstart";
    o->ways[0] = 2, o->ways[1] = 5, o->n_ways = 2;
    static const int shots[] = {0, 1, 2, 4, 8};
    memcpy(o->shots, shots, sizeof shots);
    o->n_shots = 5;
    o->episodes = 200;
    o->repeats = 3;
    int64_t seed = 12345;
    int rc;
    const cli_opt_t opts[] = {
        CLI_OPT_STRING("--config", &o->preset),
        CLI_OPT_STRING("--checkpoint", &o->checkpoint),
        CLI_OPT_STRING("--dataset", &o->dataset),
        CLI_OPT_STRING("-o", &o->out),
        CLI_OPT_LIST("--ways", o->ways, 2, EPISODE_MAX_WAYS, &o->n_ways, MAX_LIST, 1),
        CLI_OPT_LIST("--shots", o->shots, 0, 64, &o->n_shots, MAX_LIST, 1),
        CLI_OPT_INT("--episodes", &o->episodes, 1, 1000000),
        CLI_OPT_INT("--repeats", &o->repeats, 1, MAX_REPEATS),
        CLI_OPT_INT("--threads", &o->threads, 1, 1024),
        CLI_OPT_INT64("--seed", &seed, 0, 0x7fffffffL),
        CLI_OPT_END};
    if (!cli_parse(&CLI_BENCH_EVAL, opts, argc, argv, NULL, NULL, &rc))
        return rc == MICL_EXIT_OK ? -1 : rc;
    o->seed = (uint64_t)seed;
    if (!o->checkpoint != !o->dataset)
        return cli_usage_error(&CLI_BENCH_EVAL, "--checkpoint and --dataset go together");
    if (!o->checkpoint && !find_preset(o->preset))
        return cli_usage_error(&CLI_BENCH_EVAL, "--config expects 'quickstart' or 'tiny', got '%s'",
                               o->preset);
    return MICL_EXIT_OK;
}

/* The preset called `name`, or NULL. */
static const eval_preset_t *find_preset(const char *name) {
    for (size_t i = 0; i < sizeof PRESETS / sizeof PRESETS[0]; i++)
        if (strcmp(PRESETS[i].name, name) == 0) return &PRESETS[i];
    return NULL;
}

/* Training classes of one image each and held-out classes of several; pixels from
 * rng(seed, TEST, image), so the store is the same bytes on every rank. */
static void synthetic_store(const eval_preset_t *p, image_store_t *s) {
    int side = p->cfg.image_size, classes = p->train_classes + p->heldout_classes;
    memset(s, 0, sizeof *s);
    s->n = (int64_t)p->train_classes + (int64_t)p->heldout_classes * p->heldout_instances;
    s->h = s->w = side;
    s->pixels = micl_malloc((size_t)s->n * side * side);
    s->labels = micl_malloc((size_t)s->n * sizeof(int32_t));
    s->split = micl_malloc((size_t)s->n);
    s->n_classes = classes;
    s->class_names = micl_calloc((size_t)classes, sizeof(char *));
    s->class_split = micl_calloc((size_t)classes, 1);
    for (int c = 0; c < classes; c++) {
        s->class_names[c] = micl_malloc(16);
        snprintf(s->class_names[c], 16, "c%d", c);
        s->class_split[c] = c >= p->train_classes;
    }
    for (int64_t i = 0; i < s->n; i++) {
        int64_t h = i - p->train_classes;
        int c = h < 0 ? (int)i : p->train_classes + (int)(h / p->heldout_instances);
        rng_t r = rng_make(1, RNG_STREAM_TEST, (uint64_t)i);
        for (int k = 0; k < side * side; k++)
            s->pixels[i * side * side + k] = (uint8_t)rng_below(&r, 256);
        s->labels[i] = c;
        s->split[i] = s->class_split[c] ? STORE_SPLIT_HELDOUT_CLASS : STORE_SPLIT_TRAIN;
    }
    snprintf(s->source, sizeof s->source, "synthetic");
    s->provenance = micl_malloc(64);
    snprintf(s->provenance, 64, "micl bench eval, preset %s", p->name);
}

/* The longest prompt of the curve in tokens (checked against max_seq) and in images. */
static void curve_size(const bench_eval_opts_t *o, int turn, int max_seq, const char *what,
                       int *tokens, int *items) {
    int ways = o->ways[o->n_ways - 1], shots = o->shots[o->n_shots - 1];
    *items = ways * shots + 1;
    *tokens = 1 + *items * turn;
    if (*tokens > max_seq)
        micl_fatal("%d-way %d-shot prompts need %d tokens but %s has max_seq %d", ways, shots,
                   *tokens, what, max_seq);
}

static double median(double *v, int n) {
    double s[MAX_REPEATS];
    memcpy(s, v, sizeof(double) * (size_t)n);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && s[j] < s[j - 1]; j--) {
            double t = s[j];
            s[j] = s[j - 1], s[j - 1] = t;
        }
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* Everything measured. Arrays are ways-major: [way][repeat] and [way][shot]. */
typedef struct {
    double *single_s, *reprompt_s, *speedup;
    int64_t *correct, *exact, *re_correct, *re_exact;
    int identical;
} figures_t;

/* Times one curve with one engine; returns seconds (the slowest rank's view is rank 0's after
 * the closing barrier). */
static double time_curve(const evaluator_t *ev, const image_store_t *s, const bench_eval_opts_t *o,
                         int ways, eval_mode_t mode, eval_row_t *rows) {
    comm_barrier(ev->comm);
    double t0 = clock_now_s();
    eval_binding_curve(ev, s, benchmark_find("openmi"), ways, o->shots, o->n_shots, o->episodes,
                       mode, rows);
    comm_barrier(ev->comm);
    return clock_now_s() - t0;
}

static void measure(const evaluator_t *ev, const image_store_t *s, const bench_eval_opts_t *o,
                    figures_t *f) {
    eval_row_t single[MAX_LIST], full[MAX_LIST];
    f->identical = 1;
    for (int w = 0; w < o->n_ways; w++) {
        double *ts = f->single_s + (size_t)w * o->repeats,
               *tr = f->reprompt_s + (size_t)w * o->repeats;
        for (int r = 0; r < o->repeats; r++) {
            if (r % 2 == 0) {
                ts[r] = time_curve(ev, s, o, o->ways[w], EVAL_SINGLE_PASS, single);
                tr[r] = time_curve(ev, s, o, o->ways[w], EVAL_REPROMPT, full);
            } else {
                tr[r] = time_curve(ev, s, o, o->ways[w], EVAL_REPROMPT, full);
                ts[r] = time_curve(ev, s, o, o->ways[w], EVAL_SINGLE_PASS, single);
            }
            for (int j = 0; j < o->n_shots; j++) {
                size_t k = (size_t)w * o->n_shots + j;
                if (r > 0 && (f->correct[k] != single[j].correct || f->exact[k] != single[j].exact))
                    f->identical = 0; /* a repeat must reproduce the counts too */
                f->correct[k] = single[j].correct, f->exact[k] = single[j].exact;
                f->re_correct[k] = full[j].correct, f->re_exact[k] = full[j].exact;
                f->identical &=
                    full[j].correct == single[j].correct && full[j].exact == single[j].exact;
                results_row_free(&single[j]);
                results_row_free(&full[j]);
            }
        }
        f->speedup[w] = median(tr, o->repeats) / median(ts, o->repeats);
    }
}

static void print_figures(const bench_eval_opts_t *o, const figures_t *f, double total_speedup) {
    for (int w = 0; w < o->n_ways; w++) {
        double ts = median(f->single_s + (size_t)w * o->repeats, o->repeats);
        double tr = median(f->reprompt_s + (size_t)w * o->repeats, o->repeats);
        printf("  %2d-way  single pass %8.3f s  re-prompting %8.3f s  speed-up %5.2fx   accuracy",
               o->ways[w], ts, tr, f->speedup[w]);
        for (int j = 0; j < o->n_shots; j++)
            printf(" %d-shot %.3f", o->shots[j],
                   (double)f->correct[(size_t)w * o->n_shots + j] / o->episodes);
        printf("\n");
    }
    printf("  total speed-up %.2fx; scores identical in every cell: %s\n", total_speedup,
           f->identical ? "yes" : "NO");
}

static void write_figures(const char *out, const bench_eval_opts_t *o, const figures_t *f,
                          const vlm_t *m, double total_speedup) {
    char host[256], created[64];
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(created, sizeof created, "unknown");
    atomic_file_t af;
    atomic_file_begin(&af, out);
    hid_t h = h5_create(af.tmp);
    h5_attr_str(h, "kind", "micl-bench");
    h5_attr_int(h, "schema_version", BENCH_SCHEMA_VERSION);
    h5_attr_str(h, "measurement", "eval");
    h5_attr_str(h, "config", o->checkpoint ? o->checkpoint : o->preset);
    h5_attr_str(h, "dataset", o->dataset ? o->dataset : "synthetic");
    h5_attr_int(h, "threads", omp_get_max_threads());
    h5_attr_str(h, "hostname", host);
    h5_attr_str(h, "created", created);
    h5_attr_str(h, "micl_version", MICL_VERSION);
    h5_attr_int(h, "n_params", (int64_t)vlm_num_params(m));
    h5_attr_int(h, "episodes", o->episodes);
    h5_attr_int(h, "repeats", o->repeats);
    h5_attr_int(h, "queries_per_episode", EVAL_QUERIES);
    h5_attr_int(h, "scores_identical", f->identical);
    h5_attr_double(h, "speedup", total_speedup);
    h5_write_i32(h, "ways", o->ways, o->n_ways);
    h5_write_i32(h, "shots", o->shots, o->n_shots);
    int64_t nr = (int64_t)o->n_ways * o->repeats, nc = (int64_t)o->n_ways * o->n_shots;
    h5_write_f64(h, "single_pass_s", f->single_s, nr);
    h5_write_f64(h, "reprompt_s", f->reprompt_s, nr);
    h5_write_f64(h, "speedup_per_ways", f->speedup, o->n_ways);
    h5_write_i64(h, "correct", f->correct, nc);
    h5_write_i64(h, "exact", f->exact, nc);
    h5_write_i64(h, "reprompt_correct", f->re_correct, nc);
    h5_write_i64(h, "reprompt_exact", f->re_exact, nc);
    h5_close_file(h, af.tmp);
    atomic_file_commit(&af);
    printf("  wrote %s\n", out);
}

/* The model, vocabulary, store and format the curves run on. */
typedef struct {
    vlm_t *m;
    vocab_t v;
    image_store_t store;
    episode_format_t format;
    int max_tokens, max_images;
} workload_t;

static void workload_init(workload_t *wl, const bench_eval_opts_t *o) {
    memset(wl, 0, sizeof *wl);
    int T, items;
    if (o->checkpoint) {
        store_read(o->dataset, &wl->store);
        train_state_t st;
        vlm_t *probe = checkpoint_read(o->checkpoint, 1, 1, &wl->v, &st, NULL);
        wl->format = (episode_format_t)st.episode_format;
        curve_size(o, episode_turn_tokens(&wl->v, wl->format), vlm_config(probe)->max_seq,
                   o->checkpoint, &T, &items);
        vlm_free(probe);
        vocab_free(&wl->v);
        wl->max_tokens = 32 * T, wl->max_images = 32 * items;
        wl->m = checkpoint_read(o->checkpoint, wl->max_tokens, wl->max_images, &wl->v, &st, NULL);
        vocab_map_store(&wl->v, &wl->store);
        return;
    }
    const eval_preset_t *p = find_preset(o->preset);
    synthetic_store(p, &wl->store);
    vocab_build(&wl->v, &wl->store, 32, o->seed, "");
    wl->format = EPISODE_FORMAT_COMPACT;
    vlm_config_t cfg = p->cfg;
    cfg.vocab = wl->v.n;
    curve_size(o, episode_turn_tokens(&wl->v, wl->format), cfg.max_seq, p->name, &T, &items);
    wl->max_tokens = 32 * T, wl->max_images = 32 * items;
    char err[256];
    wl->m = vlm_create(&cfg, wl->max_tokens, wl->max_images, err, sizeof err);
    if (!wl->m) micl_fatal("bench eval: preset %s: %s", p->name, err);
    vlm_init_params(wl->m, o->seed);
}

static void workload_free(workload_t *wl) {
    vlm_free(wl->m);
    vocab_free(&wl->v);
    store_free(&wl->store);
}

int bench_eval_main(int argc, char **argv, const comm_t *comm) {
    bench_eval_opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != MICL_EXIT_OK) return rc < 0 ? MICL_EXIT_OK : rc;
    if (o.threads > 0) omp_set_num_threads(o.threads);
    workload_t wl;
    workload_init(&wl, &o);
    /* skip_references: the engines' time, as measured before the references existed */
    evaluator_t ev = {wl.m, &wl.v, comm, wl.format, o.seed, wl.max_tokens, wl.max_images, NULL, 1};
    size_t nr = (size_t)o.n_ways * o.repeats, nc = (size_t)o.n_ways * o.n_shots;
    figures_t f = {micl_calloc(nr, sizeof(double)),
                   micl_calloc(nr, sizeof(double)),
                   micl_calloc((size_t)o.n_ways, sizeof(double)),
                   micl_calloc(nc, sizeof(int64_t)),
                   micl_calloc(nc, sizeof(int64_t)),
                   micl_calloc(nc, sizeof(int64_t)),
                   micl_calloc(nc, sizeof(int64_t)),
                   1};
    if (comm->rank == 0)
        printf("micl bench eval: %s (%zu parameters), %s, %d episodes per cell (%d queries per "
               "nested episode), %d repeat(s), %d rank(s) x %d thread(s)\n",
               o.checkpoint ? o.checkpoint : o.preset, vlm_num_params(wl.m),
               o.dataset ? o.dataset : "synthetic store", o.episodes, EVAL_QUERIES, o.repeats,
               comm->size, omp_get_max_threads());
    measure(&ev, &wl.store, &o, &f);
    double ts = 0, tr = 0;
    for (int w = 0; w < o.n_ways; w++) {
        ts += median(f.single_s + (size_t)w * o.repeats, o.repeats);
        tr += median(f.reprompt_s + (size_t)w * o.repeats, o.repeats);
    }
    if (comm->rank == 0) {
        print_figures(&o, &f, tr / ts);
        if (o.out) write_figures(o.out, &o, &f, wl.m, tr / ts);
    }
    int identical = f.identical;
    free(f.single_s), free(f.reprompt_s), free(f.speedup), free(f.correct), free(f.exact);
    free(f.re_correct), free(f.re_exact);
    workload_free(&wl);
    if (!identical) micl_fatal("bench eval: single pass and re-prompting scored differently");
    return MICL_EXIT_OK;
}
