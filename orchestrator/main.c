/* main.c - the micl command line. Every rank runs this; rank 0 coordinates.
 *
 * Dispatches the first words of argv to the commands; each parses the rest with cli_args.h.
 * The commands owned here (data prepare, train, eval, report, version, help) are described
 * beside their code; the others by their cmd_*.c files. `micl help` prints every command's
 * synopsis from those descriptions, so the list cannot drift from what the parsers accept.
 */
#define _POSIX_C_SOURCE 200809L
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "common/atomic_file.h"
#include "common/config.h"
#include "common/dir_lock.h"
#include "common/file_kind.h"
#include "common/paths.h"
#include "common/error.h"
#include "common/results.h"
#include "common/signals.h"
#include "common/sweep_report.h"
#include "common/wait_policy.h"
#include "data/sources.h"
#include "data/benchmark.h"
#include "common/cli_args.h"
#include "bench/bench.h"
#include "cmd_coverage.h"
#include "cmd_eval_benchmark.h"
#include "cmd_export.h"
#include "predictions.h"
#include "cmd_import.h"
#include "cmd_results.h"
#include "cmd_show.h"
#include "cmd_sweep.h"
#include "experiment.h"
#include "worker/device.h"

/* ---- the commands of this file ----------------------------------------------------------- */

static const cli_command_t CLI_DATA_PREPARE = {
    "data prepare",
    "CFG [--force]",
    "build and cache the HDF5 image stores CFG needs",
    "  --force   rebuild the stores even when cached copies exist\n",
    "CFG",
    1,
    1};
static const cli_command_t CLI_TRAIN = {
    "train",
    "CFG [-o RESULTS.h5] [--run NAME] [--resume | --restart] [--device cpu|cuda]",
    "train, evaluate and record every run of CFG",
    "  --run NAME   only that run (the results file keeps the others)\n"
    "  --resume     continue runs from their checkpoints (a finished run: evaluate it again)\n"
    "  --restart    train from step 0 although checkpoints exist (each is replaced when its\n"
    "               run writes its first new one); without either, a checkpoint is refused\n"
    "  --device D   compute on D (cpu, or cuda: a GPU per rank), overriding model.device\n",
    "CFG",
    1,
    1};
static const cli_command_t CLI_EVAL_CONFIG = {"eval",
                                              "CFG [-o RESULTS.h5] [--device cpu|cuda]",
                                              "re-evaluate the checkpoints of CFG's runs",
                                              NULL,
                                              "CFG",
                                              1,
                                              1};
static const cli_command_t CLI_EVAL_BENCHMARK = {
    "eval",
    "CFG --benchmark B --checkpoint CK.h5 [--ways L] [--shots L] [--episodes N]\n"
    "[--dataset STORE.h5] [--write-predictions FILE.jsonl] [-o RESULTS.h5]\n"
    "[--device cpu|cuda]",
    "a model on a named benchmark (docs/BENCHMARKS.md)",
    NULL,
    "CFG",
    1,
    1};
static const cli_command_t CLI_EVAL_PREDICTIONS = {
    "eval",
    "CFG --benchmark B --predictions FILE.jsonl [--ways L] [--shots L] [--episodes N]\n"
    "[--dataset STORE.h5] [-o RESULTS.h5]",
    "score an external model's answers on exported episodes",
    NULL,
    "CFG",
    1,
    1};
static const cli_command_t CLI_EVAL_CHECKPOINT = {
    "eval",
    "--checkpoint CK.h5 --dataset STORE.h5 --ways N --shots 0,1,2,4\n"
    "[--episodes 500] [--names fake|real] [--seed S] [-o RESULTS.h5]\n"
    "[--device cpu|cuda]",
    "N-way K-shot binding on any store (the image size\n"
    "and channels the model takes), e.g. Fashion-MNIST",
    NULL,
    NULL,
    0,
    0};
static const cli_command_t CLI_REPORT = {
    "report",
    "RESULTS.h5 [--format table|csv|json] [--group-by AXIS[,AXIS...]]",
    "print the tables of a results file",
    NULL,
    "RESULTS.h5",
    1,
    1};
static const cli_command_t CLI_VERSION = {"version", "", "print the version", NULL, NULL, 0, 0};
static const cli_command_t CLI_HELP = {"help", "", "print this list", NULL, NULL, 0, 0};

/* Every command, in the order `micl help` (and README.md's "Command line") lists them. */
static const cli_command_t *const COMMANDS[] = {
    &CLI_DATA_PREPARE,    &CLI_DATA_IMPORT,    &CLI_DATA_SHOW,
    &CLI_DATA_EXPORT,     &CLI_DATA_COVERAGE,  &CLI_TRAIN,
    &CLI_EVAL_CONFIG,     &CLI_EVAL_BENCHMARK, &CLI_EVAL_PREDICTIONS,
    &CLI_EVAL_CHECKPOINT, &CLI_SWEEP,          &CLI_RESULTS_MERGE,
    &CLI_REPORT,          &CLI_BENCH_STEP,     &CLI_BENCH_VS_TORCH,
    &CLI_BENCH_EVAL,      &CLI_BENCH_GEMM,     &CLI_BENCH_COMM,
    &CLI_BENCH_SCALING,   &CLI_VERSION,        &CLI_HELP};

static void print_commands(FILE *f) {
    fputs("usage: micl <command> [options]   (micl <command> --help for one command)\n\n", f);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        cli_print_help_entry(COMMANDS[i], f);
    fputs("\nRun under mpirun -np N for data parallelism; see README.md.\n", f);
}

/* A word that names no command of a group ("data", "bench", ...). */
static int unknown_subcommand(const char *group, const char *word, const char *valid) {
    if (micl_rank() == 0) {
        if (word)
            fprintf(stderr, "micl %s: unknown command '%s' (valid: %s)\n", group, word, valid);
        else
            fprintf(stderr, "micl %s: missing command (valid: %s)\n", group, valid);
        fputs("Run 'micl help' for every command.\n", stderr);
    }
    return MICL_EXIT_USAGE;
}

static int cmd_data_prepare(int argc, char **argv) {
    int force = 0, rc;
    const char *cfg_path;
    const cli_opt_t opts[] = {CLI_OPT_FLAG("--force", &force), CLI_OPT_END};
    if (!cli_parse(&CLI_DATA_PREPARE, opts, argc, argv, &cfg_path, NULL, &rc)) return rc;
    config_t cfg;
    config_load(cfg_path, &cfg);
    if (micl_rank() == 0) data_prepare(&cfg, force);
    config_free(&cfg);
    return 0;
}

static int cmd_data(int argc, char **argv) {
    const char *sub = argc >= 1 ? argv[0] : NULL;
    if (sub && strcmp(sub, "prepare") == 0) return cmd_data_prepare(argc - 1, argv + 1);
    if (sub && strcmp(sub, "import") == 0) return cmd_data_import(argc - 1, argv + 1);
    if (sub && strcmp(sub, "show") == 0) return cmd_data_show(argc - 1, argv + 1);
    if (sub && strcmp(sub, "export") == 0) return cmd_data_export(argc - 1, argv + 1);
    if (sub && strcmp(sub, "coverage") == 0) return cmd_data_coverage(argc - 1, argv + 1);
    return unknown_subcommand("data", sub, "prepare, import, show, export, coverage");
}

/* The words of --device; device_word gives the one chosen, or NULL (-1) when none was. */
static const char *const DEVICES[] = {"cpu", "cuda", NULL};
static const char *device_word(int d) {
    return d >= 0 ? DEVICES[d] : NULL;
}

/* ---- outputs that must not clobber inputs (atomic_file.h) -------------------------------- */

/* 2 (a bad command line, before any work) when the output `path` of a flag would replace an
 * input, a non-file or a file of another kind than `kind`; 0 when path is NULL or may be written.
 */
static int output_usage(const cli_command_t *cmd, const char *path, const char *kind) {
    char why[8400];
    if (!path || !atomic_file_check(path, kind, why, sizeof why)) return 0;
    return cli_usage_error(cmd, "%s", why);
}

/* train -o: never a run's checkpoint; the runs not trained (--run) are inputs of no writer. */
static int train_outputs(const config_t *cfg, const char *only_run, const char *results) {
    char ck[CONFIG_PATH_LEN + 300];
    for (int i = 0; i < cfg->n_runs; i++) {
        experiment_checkpoint_path(cfg, &cfg->runs[i], ck, sizeof ck);
        if (results && paths_same(results, ck))
            return cli_usage_error(&CLI_TRAIN,
                                   "refusing to write '%s': it is the checkpoint of "
                                   "run '%s'",
                                   results, cfg->runs[i].name);
        if (only_run && strcmp(only_run, cfg->runs[i].name) != 0)
            atomic_file_input(ck, "the checkpoint of another run");
    }
    return output_usage(&CLI_TRAIN, results, FILE_KIND_RESULTS);
}

/* 1 if the file `path` lies directly in the folder `dir`. */
static int in_folder(const char *path, const char *dir) {
    char buf[CONFIG_PATH_LEN + 300];
    snprintf(buf, sizeof buf, "%s", path);
    return paths_same(dirname(buf), dir);
}

/* Takes the output folder's lock on rank 0 for "micl <words> <cfg>" (dir_lock.h). */
static void lock_output_dir(const char *dir, const char *words, const char *cfg_path) {
    if (micl_rank() > 0) return;
    char command[CONFIG_PATH_LEN + 64];
    snprintf(command, sizeof command, "micl %s %s", words, cfg_path);
    dir_lock_take(dir, command, 0, 1);
}

static int cmd_train(int argc, char **argv, comm_t *comm) {
    train_opts_t o = {NULL, NULL, 0, 0};
    const char *cfg_path;
    int rc, device = -1;
    const cli_opt_t opts[] = {
        CLI_OPT_STRING("-o", &o.results_path),        CLI_OPT_STRING("--run", &o.only_run),
        CLI_OPT_FLAG("--resume", &o.resume),          CLI_OPT_FLAG("--restart", &o.restart),
        CLI_OPT_CHOICE("--device", &device, DEVICES), CLI_OPT_END};
    if (!cli_parse(&CLI_TRAIN, opts, argc, argv, &cfg_path, NULL, &rc)) return rc;
    if (o.resume && o.restart)
        return cli_usage_error(&CLI_TRAIN, "--resume and --restart exclude each other");
    config_t cfg;
    config_load(cfg_path, &cfg);
    if (o.only_run) {
        int found = 0;
        for (int i = 0; i < cfg.n_runs; i++)
            found |= strcmp(cfg.runs[i].name, o.only_run) == 0;
        if (!found) micl_fatal("%s: no run named '%s'", cfg.path, o.only_run);
    }
    rc = train_outputs(&cfg, o.only_run, o.results_path);
    if (rc != 0) {
        config_free(&cfg);
        return rc;
    }
    /* the device first: a refusal there (on any rank) leaves the output folder untouched */
    rc = experiment_start_device(&cfg, device_word(device), comm);
    if (rc == 0) {
        char err[1024];
        if (comm_device_open(comm, err, sizeof err) != 0) /* the GPUs' transport, if any */
            micl_fatal("model.device = \"%s\": %s", cfg.model.device, err);
        lock_output_dir(cfg.output_dir, "train", cfg_path);
        signals_install();
        rc = experiment_train(&cfg, comm, &o);
        comm_device_close(comm);
    }
    config_free(&cfg);
    return rc;
}

/* micl eval CFG [...]: the config's own evaluation, or a named benchmark. */
static int cmd_eval_config(int argc, char **argv, const comm_t *comm) {
    const cli_command_t *cmd = &CLI_EVAL_CONFIG; /* the form the message's usage shows */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--predictions") == 0) {
            cmd = &CLI_EVAL_PREDICTIONS;
            break;
        }
        if (strcmp(argv[i], "--benchmark") == 0 || strcmp(argv[i], "--checkpoint") == 0)
            cmd = &CLI_EVAL_BENCHMARK;
    }
    const char *out = NULL, *benchmark = NULL, *preds = NULL, *dataset = NULL, *ck = NULL,
               *write = NULL, *cfg_path;
    int64_t episodes = 100;
    int ways[BENCHMARK_MAX_CELLS], shots[BENCHMARK_MAX_CELLS], n_ways = 0, n_shots = 0, rc;
    int device = -1;
    const cli_opt_t opts[] = {
        CLI_OPT_STRING("-o", &out),
        CLI_OPT_STRING("--benchmark", &benchmark),
        CLI_OPT_STRING("--predictions", &preds),
        CLI_OPT_STRING("--dataset", &dataset),
        CLI_OPT_STRING("--checkpoint", &ck),
        CLI_OPT_STRING("--write-predictions", &write),
        CLI_OPT_LIST("--ways", ways, 1, EPISODE_MAX_WAYS, &n_ways, BENCHMARK_MAX_CELLS, 1),
        CLI_OPT_LIST("--shots", shots, 0, 64, &n_shots, BENCHMARK_MAX_CELLS, 1),
        CLI_OPT_INT64("--episodes", &episodes, 1, 10000000),
        CLI_OPT_CHOICE("--device", &device, DEVICES),
        CLI_OPT_END};
    if (!cli_parse(cmd, opts, argc, argv, &cfg_path, NULL, &rc)) return rc;
    if (preds && device >= 0)
        return cli_usage_error(cmd, "--device with --predictions: no model runs");
    if (benchmark && !preds == !ck)
        return cli_usage_error(cmd, "--benchmark takes one of --predictions and --checkpoint");
    if (!benchmark && (preds || ck || write || dataset))
        return cli_usage_error(cmd, "--predictions, --checkpoint, --write-predictions and "
                                    "--dataset with CFG need --benchmark");
    if (write && !ck) return cli_usage_error(cmd, "--write-predictions needs --checkpoint");
    if (!benchmark && (n_ways || n_shots))
        return cli_usage_error(cmd, "--ways and --shots with CFG need --benchmark");
    benchmark_cells_t cells;
    if (benchmark) {
        const benchmark_t *b = benchmark_find(benchmark);
        if (!b)
            return cli_usage_error(cmd, "unknown benchmark '%s' (valid: %s)", benchmark,
                                   benchmark_names());
        char err[256];
        if (!benchmark_cells_check(b, ways, n_ways, shots, n_shots, err, sizeof err))
            return cli_usage_error(cmd, "%s", err);
        benchmark_cells(b, ways, n_ways, shots, n_shots, &cells);
    }
    if (ck) atomic_file_input(ck, "the checkpoint");
    if (preds) atomic_file_input(preds, "the predictions file");
    if (dataset) atomic_file_input(dataset, "the image store");
    if (out && write && paths_same(out, write))
        return cli_usage_error(cmd, "-o and --write-predictions name the same file '%s'", out);
    config_t cfg;
    config_load(cfg_path, &cfg);
    if (!benchmark) /* the checkpoints it re-evaluates */
        for (int i = 0; i < cfg.n_runs; i++) {
            char path[CONFIG_PATH_LEN + 300];
            experiment_checkpoint_path(&cfg, &cfg.runs[i], path, sizeof path);
            atomic_file_input(path, "a checkpoint");
        }
    if ((rc = output_usage(cmd, out, FILE_KIND_RESULTS)) != 0 ||
        (rc = output_usage(cmd, write, FILE_KIND_TEXT)) != 0) {
        config_free(&cfg);
        return rc;
    }
    int lock = !benchmark && (!out || in_folder(out, cfg.output_dir)); /* results in the folder */
    if (preds) {                                                       /* no model runs */
        if (lock) lock_output_dir(cfg.output_dir, "eval", cfg_path);
        rc = comm->rank == 0
                 ? predictions_score(&cfg, benchmark, preds, episodes, dataset, &cells, out)
                 : 0;
    } else {
        /* the device first: a refusal there leaves the output folder untouched */
        rc = experiment_start_device(&cfg, device_word(device), comm);
        if (rc == 0 && lock) lock_output_dir(cfg.output_dir, "eval", cfg_path);
        if (rc == 0 && ck)
            rc = eval_benchmark_checkpoint(&cfg, comm, benchmark, ck, episodes, dataset, &cells,
                                           write, out);
        else if (rc == 0)
            rc = experiment_eval_config(&cfg, comm, out);
    }
    config_free(&cfg);
    return rc;
}

/* micl eval --checkpoint CK.h5 --dataset STORE.h5 ...: binding shot curves on any store. */
static int cmd_eval_checkpoint(int argc, char **argv, const comm_t *comm) {
    static const char *const NAMES[] = {"fake", "real", NULL};
    eval_opts_t o;
    memset(&o, 0, sizeof o);
    o.episodes = 500;
    int64_t seed = 12345;
    int names = 0, rc, device = 0;
    const cli_opt_t opts[] = {CLI_OPT_STRING("--checkpoint", &o.checkpoint),
                              CLI_OPT_STRING("--dataset", &o.dataset),
                              CLI_OPT_INT("--ways", &o.ways, 2, 64),
                              CLI_OPT_LIST("--shots", o.shots, 0, 64, &o.n_shots, 16, 1),
                              CLI_OPT_INT("--episodes", &o.episodes, 1, 10000000),
                              CLI_OPT_INT64("--seed", &seed, 0, 0x7fffffffL),
                              CLI_OPT_STRING("-o", &o.out),
                              CLI_OPT_CHOICE("--names", &names, NAMES),
                              CLI_OPT_CHOICE("--device", &device, DEVICES),
                              CLI_OPT_END};
    if (!cli_parse(&CLI_EVAL_CHECKPOINT, opts, argc, argv, NULL, NULL, &rc)) return rc;
    o.seed = (uint64_t)seed;
    o.fake_names = names == 0;
    if (!o.checkpoint || !o.dataset || !o.ways || !o.n_shots)
        return cli_usage_error(&CLI_EVAL_CHECKPOINT,
                               "--checkpoint, --dataset, --ways and --shots are required");
    if ((int64_t)o.ways * o.shots[o.n_shots - 1] + 1 > EPISODE_MAX_ITEMS)
        return cli_usage_error(&CLI_EVAL_CHECKPOINT,
                               "a %d-way %d-shot episode shows %d images; at most %d fit an "
                               "episode",
                               o.ways, o.shots[o.n_shots - 1], o.ways * o.shots[o.n_shots - 1] + 1,
                               EPISODE_MAX_ITEMS);
    atomic_file_input(o.checkpoint, "the checkpoint");
    atomic_file_input(o.dataset, "the image store");
    rc = output_usage(&CLI_EVAL_CHECKPOINT, o.out, FILE_KIND_RESULTS);
    if (rc != 0) return rc;
    char origin[32];
    snprintf(origin, sizeof origin, "--device %s", DEVICES[device]);
    rc = device_start(DEVICES[device], "fp32", origin, comm); /* a checkpoint trains in fp32 */
    if (rc != 0) return rc;
    return experiment_eval_checkpoint(comm, &o);
}

static int cmd_eval(int argc, char **argv, const comm_t *comm) {
    if (argc >= 1 && argv[0][0] != '-') return cmd_eval_config(argc, argv, comm);
    return cmd_eval_checkpoint(argc, argv, comm);
}

static int cmd_report(int argc, char **argv) {
    static const char *const FORMATS[] = {"table", "csv", "json", NULL};
    const char *group_by = NULL, *path;
    int format = 0, rc;
    const cli_opt_t opts[] = {CLI_OPT_CHOICE("--format", &format, FORMATS),
                              CLI_OPT_STRING("--group-by", &group_by), CLI_OPT_END};
    if (!cli_parse(&CLI_REPORT, opts, argc, argv, &path, NULL, &rc)) return rc;
    if (micl_rank() != 0) return 0;
    results_t r;
    results_read(path, &r);
    if (r.sweep.present || group_by) {
        sweep_report_print(&r, path, group_by,
                           format == 1   ? SWEEP_REPORT_CSV
                           : format == 2 ? SWEEP_REPORT_JSON
                                         : SWEEP_REPORT_TABLE,
                           stdout);
    } else if (format == 1) {
        results_print_csv(&r, stdout);
    } else if (format == 2) {
        results_print_json(&r, stdout);
    } else {
        printf("%s: %d run(s), created %s on %s, %d rank(s) x %d thread(s)\n", path, r.n_runs,
               r.created, r.hostname, r.world_size, r.threads);
        results_print_table(&r, stdout);
    }
    results_free(&r);
    return 0;
}

static int cmd_bench_any(int argc, char **argv, const comm_t *comm) {
    const char *sub = argc >= 1 ? argv[0] : NULL;
    if (!sub || !bench_known(sub))
        return unknown_subcommand("bench", sub, "step, vs-torch, eval, gemm, comm, scaling");
    return bench_main(argc, argv, comm);
}

static int cmd_version(int argc, char **argv) {
    int rc;
    if (!cli_parse(&CLI_VERSION, NULL, argc, argv, NULL, NULL, &rc)) return rc;
    printf("micl %s\n", MICL_VERSION);
    char err[256];
    if (device_cpu_isa_choose(err, sizeof err) != 0) {
        fprintf(stderr, "micl: error: %s\n", err);
        return MICL_EXIT_ERROR;
    }
    printf("cpu kernels: %s (this processor runs: %s; MICL_ISA picks one)\n", device_isa(),
           device_cpu_isas());
    return 0;
}

static int cmd_help(int argc, char **argv) {
    int rc;
    if (!cli_parse(&CLI_HELP, NULL, argc, argv, NULL, NULL, &rc)) return rc;
    print_commands(stdout);
    return 0;
}

int main(int argc, char **argv) {
    wait_policy_apply(argv); /* may re-execute this binary once, before anything else runs */
    if (argc < 2) {
        fputs("micl: missing command\n", stderr);
        print_commands(stderr);
        return MICL_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) return cmd_help(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0) return cmd_help(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0) return cmd_version(argc - 2, argv + 2);
    comm_t comm;
    comm_init(&argc, &argv, &comm);
    signals_install_cleanup(); /* train and sweep then take SIGTERM for preemption */
    cmd = argv[1];
    int rc;
    if (strcmp(cmd, "data") == 0)
        rc = cmd_data(argc - 2, argv + 2);
    else if (strcmp(cmd, "train") == 0)
        rc = cmd_train(argc - 2, argv + 2, &comm);
    else if (strcmp(cmd, "eval") == 0)
        rc = cmd_eval(argc - 2, argv + 2, &comm);
    else if (strcmp(cmd, "sweep") == 0)
        rc = cmd_sweep(argc - 2, argv + 2, &comm);
    else if (strcmp(cmd, "results") == 0)
        rc = cmd_results(argc - 2, argv + 2);
    else if (strcmp(cmd, "report") == 0)
        rc = cmd_report(argc - 2, argv + 2);
    else if (strcmp(cmd, "bench") == 0)
        rc = cmd_bench_any(argc - 2, argv + 2, &comm);
    else {
        if (comm.rank == 0) {
            fprintf(stderr, "micl: unknown command '%s'\n", cmd);
            print_commands(stderr);
        }
        rc = MICL_EXIT_USAGE;
    }
    comm_finalize();
    return rc;
}
