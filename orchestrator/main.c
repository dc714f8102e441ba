/* main.c - the micl command line. Every rank runs this; rank 0 coordinates.
 *
 *   micl data prepare CFG [--force]
 *   micl data import DIR -o OUT.h5 [--size N] [--gray]
 *   micl data show STORE.h5|CFG --task T -o EPISODE.png [--ways N] [--shots K] [--items L]
 *                  [--seed S] [--index I] [--format compact|chat]
 *   micl train CFG [-o RESULTS.h5] [--run NAME] [--resume]
 *   micl eval CFG [-o RESULTS.h5]
 *   micl eval --checkpoint CK.h5 --dataset STORE.h5 --ways N --shots 0,1,2,4
 *             [--episodes 500] [--names fake|real] [--seed S] [-o RESULTS.h5]
 *   micl sweep CFG [-o RESULTS.h5] [--shard I/N]
 *   micl results merge OUT.h5 IN1.h5 IN2.h5 ...
 *   micl report RESULTS.h5 [--format table|csv|json] [--group-by AXIS[,AXIS...]]
 *   micl bench step|vs-torch [--config quickstart|large|tiny] [--steps N] [--threads T] [-o B.h5]
 *   micl bench eval [--config P | --checkpoint CK.h5 --dataset STORE.h5] [--ways L] [--shots L] ...
 *   micl bench gemm|comm|scaling [...]  (see bench/README.md)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../comm/comm.h"
#include "../common/config.h"
#include "../common/error.h"
#include "../common/results.h"
#include "../common/signals.h"
#include "../common/sweep_report.h"
#include "../data/sources.h"
#include "../data/benchmark.h"
#include "cli_args.h"
#include "cmd_bench.h"
#include "cmd_bench_eval.h"
#include "cmd_eval_bench.h"
#include "cmd_export.h"
#include "predictions.h"
#include "cmd_import.h"
#include "cmd_results.h"
#include "cmd_show.h"
#include "cmd_sweep.h"
#include "experiment.h"

static const char *USAGE =
    "usage: micl <command> [options]\n"
    "  data prepare CFG [--force]      build and cache the image stores CFG needs\n"
    "  data import DIR -o OUT.h5 [--size N] [--gray]\n"
    "  data export CFG --benchmark B|--task T -o DIR [--episodes N] [--format llava]\n"
    "                                  image store from class sub-folders of PNG/JPEG files\n"
    "  data show STORE.h5|CFG --task binding|binding-eval|classify -o EPISODE.png\n"
    "       [--ways N] [--shots K] [--items L] [--seed S] [--index I] [--format compact|chat]\n"
    "                                  draw one episode of a task as a PNG picture\n"
    "  train CFG [-o RESULTS.h5] [--run NAME] [--resume]\n"
    "                                  train (and evaluate) every run of CFG\n"
    "  eval CFG [-o RESULTS.h5]         re-evaluate the checkpoints of CFG's runs\n"
    "  eval CFG --benchmark B --checkpoint CK.h5 [--write-predictions FILE.jsonl]\n"
    "                                  a model on a named benchmark (fsicl, openmi, ...)\n"
    "  eval CFG --benchmark B --predictions FILE.jsonl [--episodes N]\n"
    "                                  score an external model's answers on exported episodes\n"
    "  eval --checkpoint CK.h5 --dataset STORE.h5 --ways N --shots 0,1,2,4\n"
    "       [--episodes 500] [--names fake|real] [--seed S] [-o RESULTS.h5]\n"
    "                                  N-way K-shot binding accuracy on any store\n"
    "  sweep CFG [-o RESULTS.h5] [--shard I/N]\n"
    "                                  every run of CFG's sweep over groups of ranks\n"
    "  results merge OUT.h5 IN1.h5 IN2.h5 ...\n"
    "                                  merge the shard results files of one sweep\n"
    "  report RESULTS.h5 [--format table|csv|json] [--group-by AXIS[,AXIS...]]\n"
    "                                  print the tables of a results file\n"
    "  bench step|vs-torch [--config quickstart|large|tiny] [--steps N] [--threads T] [-o "
    "BENCH.h5]\n"
    "                                  training-step performance (and against PyTorch)\n"
    "  bench eval [--config quickstart|tiny | --checkpoint CK.h5 --dataset STORE.h5] [--ways 2,5]\n"
    "       [--shots 0,1,2,4,8] [--episodes N] [--repeats R] [--threads T] [-o BENCH.h5]\n"
    "                                  shot-curve cost: single pass (KV cache) vs re-prompting\n"
    "  bench gemm|comm|scaling [...]   GEMM against OpenBLAS/BLIS, collectives, rank scaling\n"
    "  version                         print the version\n"
    "Run under mpirun -np N for data parallelism; see README.md.\n";

static int usage_error(const char *fmt, const char *arg) {
    if (micl_rank() == 0) {
        fprintf(stderr, "micl: ");
        fprintf(stderr, fmt, arg);
        fprintf(stderr, "\n%s", USAGE);
    }
    return MICL_EXIT_USAGE;
}

static long parse_long(const char *flag, const char *s, long lo, long hi) {
    return cli_long(flag, s, lo, hi);
}

static int parse_list(const char *flag, const char *s, int *out, int max) {
    return cli_int_list(flag, s, out, max, 0, 64);
}

static int cmd_data(int argc, char **argv) {
    if (argc >= 1 && strcmp(argv[0], "import") == 0) return cmd_data_import(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "show") == 0) return cmd_data_show(argc - 1, argv + 1);
    if (argc >= 1 && strcmp(argv[0], "export") == 0) return cmd_data_export(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[0], "prepare") != 0)
        return usage_error("%s", "data: expected 'data prepare CFG', 'data import DIR -o OUT.h5' "
                                 "or 'data show ...'");
    int force = argc > 2 && strcmp(argv[2], "--force") == 0;
    config_t cfg;
    config_load(argv[1], &cfg);
    if (micl_rank() == 0) data_prepare(&cfg, force);
    config_free(&cfg);
    return 0;
}

static int cmd_train(int argc, char **argv, const comm_t *comm) {
    if (argc < 1) return usage_error("%s", "train: missing CFG");
    train_opts_t o = {NULL, NULL, 0};
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0) && i + 1 < argc)
            o.results_path = argv[++i];
        else if (strcmp(argv[i], "--run") == 0 && i + 1 < argc)
            o.only_run = argv[++i];
        else if (strcmp(argv[i], "--resume") == 0)
            o.resume = 1;
        else
            return usage_error("train: unknown option '%s'", argv[i]);
    }
    config_t cfg;
    config_load(argv[0], &cfg);
    if (o.only_run) {
        int found = 0;
        for (int i = 0; i < cfg.n_runs; i++)
            found |= strcmp(cfg.runs[i].name, o.only_run) == 0;
        if (!found) micl_fatal("%s: no run named '%s'", cfg.path, o.only_run);
    }
    signals_install();
    int rc = experiment_train(&cfg, comm, &o);
    config_free(&cfg);
    return rc;
}

static int cmd_eval(int argc, char **argv, const comm_t *comm) {
    if (argc >= 1 && argv[0][0] != '-') { /* micl eval CFG [...] */
        const char *out = NULL, *bench = NULL, *preds = NULL, *dataset = NULL, *ck = NULL,
                   *write = NULL;
        int64_t episodes = 100;
        int ways[BENCHMARK_MAX_CELLS], shots[BENCHMARK_MAX_CELLS], n_ways = 0, n_shots = 0;
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
            if (!val) return usage_error("eval: option '%s' needs a value", a);
            if (strcmp(a, "-o") == 0)
                out = val;
            else if (strcmp(a, "--benchmark") == 0)
                bench = val;
            else if (strcmp(a, "--predictions") == 0)
                preds = val;
            else if (strcmp(a, "--dataset") == 0)
                dataset = val;
            else if (strcmp(a, "--checkpoint") == 0)
                ck = val;
            else if (strcmp(a, "--write-predictions") == 0)
                write = val;
            else if (strcmp(a, "--ways") == 0)
                n_ways = cli_int_list(a, val, ways, BENCHMARK_MAX_CELLS, 1, EPISODE_MAX_WAYS);
            else if (strcmp(a, "--shots") == 0)
                n_shots = cli_int_list(a, val, shots, BENCHMARK_MAX_CELLS, 0, 64);
            else if (strcmp(a, "--episodes") == 0)
                episodes = parse_long(a, val, 1, 10000000);
            else
                return usage_error("eval: unknown option '%s'", a);
            i++;
        }
        if (bench && !preds == !ck)
            return usage_error("%s",
                               "eval: --benchmark takes one of --predictions and --checkpoint");
        if (!bench && (preds || ck || write || dataset))
            return usage_error("%s", "eval: --predictions, --checkpoint, --write-predictions and "
                                     "--dataset with CFG need --benchmark");
        if (write && !ck) return usage_error("%s", "eval: --write-predictions needs --checkpoint");
        if (!bench && (n_ways || n_shots))
            return usage_error("%s", "eval: --ways and --shots with CFG need --benchmark");
        benchmark_cells_t cells;
        if (bench) {
            const benchmark_t *b = benchmark_find(bench);
            if (!b) micl_fatal("unknown benchmark '%s' (valid: %s)", bench, benchmark_names());
            benchmark_cells(b, ways, n_ways, shots, n_shots, &cells);
        }
        config_t cfg;
        config_load(argv[0], &cfg);
        int rc;
        if (preds)
            rc = comm->rank == 0
                     ? predictions_score(&cfg, bench, preds, episodes, dataset, &cells, out)
                     : 0;
        else if (ck)
            rc =
                eval_bench_checkpoint(&cfg, comm, bench, ck, episodes, dataset, &cells, write, out);
        else
            rc = experiment_eval_config(&cfg, comm, out);
        config_free(&cfg);
        return rc;
    }
    eval_opts_t o;
    memset(&o, 0, sizeof o);
    o.episodes = 500;
    o.fake_names = 1;
    o.seed = 12345;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) return usage_error("eval: option '%s' needs a value", a);
        if (strcmp(a, "--checkpoint") == 0)
            o.checkpoint = val;
        else if (strcmp(a, "--dataset") == 0)
            o.dataset = val;
        else if (strcmp(a, "--ways") == 0)
            o.ways = (int)parse_long(a, val, 2, 64);
        else if (strcmp(a, "--shots") == 0)
            o.n_shots = parse_list(a, val, o.shots, 16);
        else if (strcmp(a, "--episodes") == 0)
            o.episodes = (int)parse_long(a, val, 1, 10000000);
        else if (strcmp(a, "--seed") == 0)
            o.seed = (uint64_t)parse_long(a, val, 0, 0x7fffffffL);
        else if (strcmp(a, "-o") == 0)
            o.out = val;
        else if (strcmp(a, "--names") == 0) {
            if (strcmp(val, "fake") && strcmp(val, "real"))
                micl_fatal("--names expects 'fake' or 'real', got '%s'", val);
            o.fake_names = strcmp(val, "fake") == 0;
        } else
            return usage_error("eval: unknown option '%s'", a);
        i++;
    }
    if (!o.checkpoint || !o.dataset || !o.ways || !o.n_shots)
        return usage_error("%s", "eval: --checkpoint, --dataset, --ways and --shots are required");
    return experiment_eval_checkpoint(comm, &o);
}

static int cmd_report(int argc, char **argv) {
    if (argc < 1) return usage_error("%s", "report: missing RESULTS.h5");
    const char *format = "table", *group_by = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--group-by") == 0 && i + 1 < argc)
            group_by = argv[++i];
        else
            return usage_error("report: unknown option '%s'", argv[i]);
    }
    if (strcmp(format, "table") && strcmp(format, "csv") && strcmp(format, "json"))
        micl_fatal("--format expects 'table', 'csv' or 'json', got '%s'", format);
    if (micl_rank() != 0) return 0;
    results_t r;
    results_read(argv[0], &r);
    if (r.sweep.present || group_by) {
        sweep_report_print(&r, argv[0], group_by,
                           !strcmp(format, "csv")    ? SWEEP_REPORT_CSV
                           : !strcmp(format, "json") ? SWEEP_REPORT_JSON
                                                     : SWEEP_REPORT_TABLE,
                           stdout);
    } else if (strcmp(format, "csv") == 0) {
        results_print_csv(&r, stdout);
    } else if (strcmp(format, "json") == 0) {
        results_print_json(&r, stdout);
    } else {
        printf("%s: %d run(s), created %s on %s, %d rank(s) x %d thread(s)\n", argv[0], r.n_runs,
               r.created, r.hostname, r.world_size, r.threads);
        results_print_table(&r, stdout);
    }
    results_free(&r);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? MICL_EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "version") == 0) {
        printf("micl %s\n", MICL_VERSION);
        return 0;
    }
    comm_t comm;
    comm_init(&argc, &argv, &comm);
    signals_install_cleanup(); /* train and sweep then take SIGTERM for preemption */
    const char *cmd = argv[1];
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
    else if (strcmp(cmd, "bench") == 0 && argc > 2 && strcmp(argv[2], "eval") == 0)
        rc = cmd_bench_eval(argc - 3, argv + 3, &comm);
    else if (strcmp(cmd, "bench") == 0)
        rc = cmd_bench(argc - 2, argv + 2);
    else
        rc = usage_error("unknown command '%s'", cmd);
    comm_finalize();
    return rc;
}
