/* bench_scaling.c - `micl bench scaling` (see bench_scaling.h and bench/README.md).
 *
 * For each rank count k it runs `mpirun -np k micl bench step --threads 1 --device D ...` as a
 * child process (this executable, found through /proc/self/exe), reads the child's HDF5 output
 * back, and reports tokens/s, speed-up over the first rank count and parallel efficiency. The
 * global batch is the preset's fixed step, so the ranks split the same micro-batches; the child's
 * per-step losses must be bit-identical for every k (the tree reduction guarantees it), which
 * the command checks. The child's environment is this process's, less the variables that the
 * MPI singleton of this process set (PMIX_*, OMPI_MCA_ess, ...), plus OMP_NUM_THREADS=1.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_scaling.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"
#include "common/h5util.h"
#include "bench_out.h"
#include "bench_preset.h"
#include "common/cli_args.h"

extern char **environ;

#define MAX_NP 8

typedef struct {
    const char *out, *config;
    int np[MAX_NP], n_np, steps, warmup;
    int device; /* index into DEVICES: what each child's step runs on */
} opts_t;

static const char *const DEVICES[] = {"cpu", "cuda", NULL};

typedef struct {
    double ms_mean, ms_best, tok_s, gflops;
    long rss_kib;
    double *loss;
    int64_t n_loss;
} point_t;

const cli_command_t CLI_BENCH_SCALING = {
    "bench scaling",
    "[--config quickstart|large|tiny] [--np 1,2,4] [--steps N] [--warmup W]\n"
    "[--device cpu|cuda] [-o BENCH.h5]",
    "training-step speed-up over rank counts (runs mpirun)",
    NULL,
    NULL,
    0,
    0};

/* Variables of the MPI singleton of this process, which would make mpirun's children join it. */
static int singleton_var(const char *e) {
    static const char *const DROP[] = {"PMIX_",
                                       "OMPI_COMMAND=",
                                       "OMPI_ARGV=",
                                       "OMPI_MCA_ess=",
                                       "OMPI_MCA_orte_",
                                       "OMPI_MCA_pmix=",
                                       "OMPI_APP_CTX_",
                                       "OMPI_COMM_WORLD_",
                                       "OMPI_UNIVERSE_SIZE=",
                                       "OMPI_FILE_LOCATION=",
                                       "OMPI_FIRST_RANKS=",
                                       "OMPI_NUM_APP_CTX=",
                                       "OMPI_MCA_initial_wdir=",
                                       "OMP_NUM_THREADS=",
                                       "OMPI_MCA_mpi_yield_when_idle="};
    for (size_t i = 0; i < sizeof DROP / sizeof DROP[0]; i++)
        if (strncmp(e, DROP[i], strlen(DROP[i])) == 0) return 1;
    return 0;
}

static char **child_env(void) {
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = micl_calloc(n + 3, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!singleton_var(environ[i])) env[k++] = environ[i];
    env[k++] = "OMP_NUM_THREADS=1";
    env[k++] = "OMPI_MCA_mpi_yield_when_idle=1"; /* oversubscribed ranks must not busy-poll */
    return env;
}

static void run_child(char *const argv[]) {
    fflush(stdout);
    fflush(stderr);
    char **env = child_env();
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, NULL, argv, env);
    free(env);
    if (rc != 0) micl_fatal("cannot start '%s': %s", argv[0], strerror(rc));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) micl_fatal("waitpid: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
    micl_fatal("'%s -np %s ...' failed (%s %d; its messages are above)", argv[0], argv[2],
               WIFEXITED(status) ? "exit status" : "signal",
               WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? WTERMSIG(status)
                                     : -1);
}

static void self_exe(char *buf, size_t len) {
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0) micl_fatal("cannot find this executable (/proc/self/exe): %s", strerror(errno));
    buf[n] = '\0';
}

static void read_point(const char *path, int np, point_t *p) {
    hid_t f = h5_open_ro(path);
    h5_check_kind(f, path, "micl-bench", "bench output", BENCH_SCHEMA_VERSION);
    if (h5_read_attr_int(f, "ranks") != np)
        micl_fatal("%s: ran on %lld ranks, expected %d", path,
                   (long long)h5_read_attr_int(f, "ranks"), np);
    p->ms_mean = h5_read_attr_double(f, "ms_mean");
    p->ms_best = h5_read_attr_double(f, "ms_best");
    p->tok_s = h5_read_attr_double(f, "tokens_per_s");
    p->gflops = h5_read_attr_double(f, "gflops");
    p->rss_kib = (long)h5_read_attr_int(f, "max_rss_kib");
    p->loss = h5_read_f64(f, "loss", -1, &p->n_loss);
    h5_close_file(f, path);
}

static void measure(const opts_t *o, int k, const char *tmp, point_t *p) {
    char exe[4096], np[16], steps[16], warm[16];
    self_exe(exe, sizeof exe);
    snprintf(np, sizeof np, "%d", o->np[k]);
    snprintf(steps, sizeof steps, "%d", o->steps);
    snprintf(warm, sizeof warm, "%d", o->warmup);
    const char *mpirun = getenv("MICL_MPIRUN");
    if (!mpirun || !*mpirun) mpirun = "mpirun";
    char *argv[] = {(char *)mpirun,
                    "-np",
                    np,
                    "--oversubscribe",
                    exe,
                    "bench",
                    "step",
                    "--config",
                    (char *)o->config,
                    "--threads",
                    "1",
                    "--steps",
                    steps,
                    "--warmup",
                    warm,
                    "--device",
                    (char *)DEVICES[o->device],
                    "-o",
                    (char *)tmp,
                    NULL};
    micl_pending_add(tmp);
    run_child(argv);
    read_point(tmp, o->np[k], p);
    if (unlink(tmp) != 0) micl_warn("cannot remove '%s': %s", tmp, strerror(errno));
    micl_pending_remove(tmp);
}

static void write_h5(const opts_t *o, const point_t *p, int same_loss) {
    atomic_file_t af;
    hid_t f = bench_out_begin(o->out, "scaling", &af);
    h5_attr_str(f, "config", o->config);
    h5_attr_int(f, "threads", 1);
    h5_attr_str(f, "step_device",
                DEVICES[o->device]); /* the children's; "device" is this process's */
    h5_attr_int(f, "steps", o->steps);
    h5_attr_int(f, "warmup", o->warmup);
    h5_attr_int(f, "loss_bit_identical", same_loss);
    int64_t np[MAX_NP], rss[MAX_NP];
    double v[5][MAX_NP];
    for (int k = 0; k < o->n_np; k++) {
        np[k] = o->np[k], rss[k] = p[k].rss_kib;
        double su = p[k].tok_s / p[0].tok_s;
        v[0][k] = p[k].ms_mean, v[1][k] = p[k].ms_best, v[2][k] = p[k].tok_s;
        v[3][k] = su, v[4][k] = su * o->np[0] / o->np[k];
    }
    h5_write_i64(f, "np", np, o->n_np);
    h5_write_i64(f, "max_rss_kib", rss, o->n_np);
    static const char *NAMES[5] = {"ms_mean", "ms_best", "tokens_per_s", "speedup", "efficiency"};
    for (int i = 0; i < 5; i++)
        h5_write_f64(f, NAMES[i], v[i], o->n_np);
    bench_out_finish(f, &af);
}

/* Returns MICL_EXIT_OK to go on, -1 after --help, else the exit code of a usage error. */
static int parse(int argc, char **argv, opts_t *o) {
    memset(o, 0, sizeof *o);
    o->config = "quickstart", o->steps = 10, o->warmup = 3;
    o->np[0] = 1, o->np[1] = 2, o->np[2] = 4, o->n_np = 3;
    const char *config = NULL;
    int rc;
    const cli_opt_t opts[] = {CLI_OPT_STRING("--config", &config),
                              CLI_OPT_LIST("--np", o->np, 1, 64, &o->n_np, MAX_NP, 0),
                              CLI_OPT_INT("--steps", &o->steps, 1, 100000),
                              CLI_OPT_INT("--warmup", &o->warmup, 0, 10000),
                              CLI_OPT_CHOICE("--device", &o->device, DEVICES),
                              CLI_OPT_STRING("-o", &o->out),
                              CLI_OPT_END};
    if (!cli_parse(&CLI_BENCH_SCALING, opts, argc - 1, argv + 1, NULL, NULL, &rc))
        return rc == MICL_EXIT_OK ? -1 : rc;
    if (config) {
        if (!bench_preset_find(config))
            return cli_usage_error(&CLI_BENCH_SCALING, "unknown --config '%s' (%s)", config,
                                   bench_preset_names());
        o->config = bench_preset_find(config)->name;
    }
    int mb = bench_preset_find(o->config)->micro_batches;
    for (int k = 0; k < o->n_np; k++)
        if (o->np[k] > mb)
            return cli_usage_error(&CLI_BENCH_SCALING,
                                   "--np %d exceeds the %d micro-batches of preset '%s'", o->np[k],
                                   mb, o->config);
    return MICL_EXIT_OK;
}

int bench_scaling_main(int argc, char **argv) {
    opts_t o;
    int rc = parse(argc, argv, &o);
    if (rc != MICL_EXIT_OK) return rc < 0 ? MICL_EXIT_OK : rc;
    if (micl_rank() > 0) return MICL_EXIT_OK; /* the parent is one process */
    const char *dir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/micl-bench-scaling-%ld.h5", dir && *dir ? dir : "/tmp",
             (long)getpid());
    point_t p[MAX_NP];
    for (int k = 0; k < o.n_np; k++)
        measure(&o, k, tmp, &p[k]);
    int same = 1;
    for (int k = 1; k < o.n_np; k++)
        same &= p[k].n_loss == p[0].n_loss &&
                memcmp(p[k].loss, p[0].loss, (size_t)p[0].n_loss * sizeof(double)) == 0;
    printf("\nmicl bench scaling: preset %s, fixed global step (%d micro-batches), 1 OpenMP thread "
           "per rank, %d warm-up + %d timed steps per rank count\n",
           o.config, bench_preset_find(o.config)->micro_batches, o.warmup, o.steps);
    printf("  %4s %12s %12s %12s %9s %11s %10s\n", "np", "ms/step", "best ms", "tokens/s",
           "speed-up", "efficiency", "RSS/rank");
    for (int k = 0; k < o.n_np; k++) {
        double su = p[k].tok_s / p[0].tok_s;
        printf("  %4d %12.2f %12.2f %12.0f %9.2f %10.1f%% %7.1f MiB\n", o.np[k], p[k].ms_mean,
               p[k].ms_best, p[k].tok_s, su, 100.0 * su * o.np[0] / o.np[k], p[k].rss_kib / 1024.0);
    }
    printf("  per-step losses %s across rank counts\n",
           same ? "bit-identical" : "DIFFER (determinism broken)");
    if (o.out) write_h5(&o, p, same);
    for (int k = 0; k < o.n_np; k++)
        free(p[k].loss);
    return same ? MICL_EXIT_OK : MICL_EXIT_ERROR;
}
