/* openblas_probe.c - which OPENBLAS_CORETYPE makes OpenBLAS fastest here (openblas_probe.h).
 *
 * OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded, so each candidate runs in a child
 * process (fork): the child sets the variable, loads the library (blas.h), times a 512^3 SGEMM
 * on one thread (one warm-up call, then the best call of at most PROBE_CALLS within
 * PROBE_BUDGET_S), checks PROBE_CHECKS entries of the product against a double-precision
 * reference and sends its figures through a pipe. A core type the CPU cannot run dies of
 * SIGILL in the child alone. Candidates: the default (variable unset), then Cooperlake
 * (AVX-512 F/BW/DQ/VL + BF16), SkylakeX (AVX-512 F/BW/DQ/VL), Haswell and Zen (AVX2 + FMA),
 * Sandybridge (AVX), as /proc/cpuinfo's flags allow. The choice is the fastest correct one,
 * except that the default is kept when it is within PROBE_NOISE of it (the same kernel under
 * another name, or noise).
 */
#define _POSIX_C_SOURCE 200809L
#include "openblas_probe.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "blas.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/h5util.h"

#define PROBE_N 512
#define PROBE_CALLS 8
#define PROBE_BUDGET_S 0.08
#define PROBE_CHECKS 256
#define PROBE_TOL 1e-4
#define PROBE_NOISE 1.03

/* What a child sends back. */
typedef struct {
    double gflops, rel_err;
    char corename[32];
    char note[96];
} child_result_t;

/* A core type and the /proc/cpuinfo flags it needs (space-separated). */
typedef struct {
    const char *name, *flags;
} candidate_t;

static const candidate_t CANDIDATES[] = {
    {"Cooperlake", "avx512f avx512bw avx512dq avx512vl avx512_bf16"},
    {"SkylakeX", "avx512f avx512bw avx512dq avx512vl"},
    {"Haswell", "avx2 fma"},
    {"Zen", "avx2 fma"},
    {"Sandybridge", "avx"},
};

/* ---- the CPU's flags --------------------------------------------------------------------- */

/* The first "flags" line of /proc/cpuinfo, with a space on each side (malloc'd; "" if none). */
static char *cpu_flags(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[8192];
    char *flags = NULL;
    while (f && !flags && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        line[strcspn(line, "\n")] = '\0';
        size_t n = strlen(colon + 1) + 3;
        flags = micl_malloc(n);
        snprintf(flags, n, "%s ", colon + 1); /* colon + 1 starts with a space */
    }
    if (f) fclose(f);
    return flags ? flags : micl_strdup("");
}

static int has_flags(const char *cpu, const char *need) {
    char buf[128], word[40];
    snprintf(buf, sizeof buf, "%s", need);
    for (char *sv = NULL, *t = strtok_r(buf, " ", &sv); t; t = strtok_r(NULL, " ", &sv)) {
        snprintf(word, sizeof word, " %s ", t);
        if (!strstr(cpu, word)) return 0;
    }
    return 1;
}

/* ---- the child --------------------------------------------------------------------------- */

static float operand(uint32_t i) {
    i = i * 2654435761u + 0x9e3779b9u;
    i ^= i >> 15;
    return (float)(i >> 8) * 0x1p-24f - 0.5f;
}

/* max |c - ref| / max |ref| over PROBE_CHECKS entries spread over C = A W^T. */
static double check(const float *a, const float *w, const float *c, int n) {
    double dmax = 0.0, rmax = 0.0;
    for (int s = 0; s < PROBE_CHECKS; s++) {
        int i = (int)(((int64_t)s * 7919) % n), j = (int)(((int64_t)s * 104729 + 13) % n);
        double ref = 0.0;
        for (int k = 0; k < n; k++)
            ref += (double)a[(size_t)i * n + k] * (double)w[(size_t)j * n + k];
        double d = fabs((double)c[(size_t)i * n + j] - ref);
        dmax = d > dmax || isnan(d) ? d : dmax;
        rmax = fabs(ref) > rmax ? fabs(ref) : rmax;
    }
    return rmax > 0.0 ? dmax / rmax : dmax;
}

/* Loads the library with the environment set by the caller and measures it. */
static void child_measure(const char *path, child_result_t *r) {
    blas_t *b = blas_open("openblas", path, r->note, sizeof r->note);
    if (!b) return;
    snprintf(r->corename, sizeof r->corename, "%s", blas_detail(b));
    blas_set_threads(b, 1);
    size_t nn = (size_t)PROBE_N * PROBE_N;
    float *a = micl_malloc(nn * sizeof(float)), *w = micl_malloc(nn * sizeof(float));
    float *c = micl_calloc(nn, sizeof(float));
    for (size_t i = 0; i < nn; i++)
        a[i] = operand((uint32_t)i), w[i] = operand((uint32_t)(i + nn));
    blas_linear_forward(b, c, a, w, PROBE_N, PROBE_N, PROBE_N); /* warm-up */
    double best = INFINITY, start = clock_now_s();
    for (int call = 0; call < PROBE_CALLS; call++) {
        double t0 = clock_now_s();
        blas_linear_forward(b, c, a, w, PROBE_N, PROBE_N, PROBE_N);
        double t1 = clock_now_s();
        best = t1 - t0 < best ? t1 - t0 : best;
        if (t1 - start > PROBE_BUDGET_S) break;
    }
    r->rel_err = check(a, w, c, PROBE_N);
    r->gflops = 2.0 * PROBE_N * (double)PROBE_N * PROBE_N / best * 1e-9;
    free(a), free(w), free(c);
}

/* Runs in the forked child: sets the variables, measures, writes the result, exits. */
static void child_main(int fd, const char *path, const char *coretype) {
    signal(SIGINT, SIG_DFL); /* not the parent's clean-up handlers */
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    child_result_t r = {NAN, NAN, "", ""};
    if (strcmp(coretype, OPENBLAS_PROBE_DEFAULT) == 0)
        unsetenv("OPENBLAS_CORETYPE");
    else
        setenv("OPENBLAS_CORETYPE", coretype, 1);
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    unsetenv("OPENBLAS_VERBOSE");
    child_measure(path, &r);
    ssize_t n = write(fd, &r, sizeof r);
    _exit(n == (ssize_t)sizeof r ? 0 : 1);
}

/* ---- the parent -------------------------------------------------------------------------- */

static void probe_one(const char *path, openblas_probe_row_t *row) {
    int fds[2];
    if (pipe(fds) != 0) micl_fatal("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) micl_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        child_main(fds[1], path, row->coretype);
    }
    close(fds[1]);
    child_result_t r;
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) micl_fatal("waitpid: %s", strerror(errno));
    row->gflops = row->rel_err = NAN;
    if (got != sizeof r) {
        snprintf(row->note, sizeof row->note, "the child %s %d",
                 WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        return;
    }
    snprintf(row->corename, sizeof row->corename, "%s", r.corename);
    snprintf(row->note, sizeof row->note, "%s", r.note);
    row->gflops = r.gflops, row->rel_err = r.rel_err;
    row->ok = isfinite(r.gflops) && r.rel_err <= PROBE_TOL;
    if (isfinite(r.gflops) && !row->ok)
        snprintf(row->note, sizeof row->note, "wrong result: rel err %.2e (tolerance %.0e)",
                 r.rel_err, PROBE_TOL);
}

static void add(openblas_probe_t *p, const char *coretype) {
    if (p->n == OPENBLAS_PROBE_MAX) return;
    openblas_probe_row_t *row = &p->row[p->n++];
    memset(row, 0, sizeof *row);
    snprintf(row->coretype, sizeof row->coretype, "%s", coretype);
}

/* The fastest correct row; the default instead when it is within PROBE_NOISE of it. */
static void choose(openblas_probe_t *p) {
    int best = -1, dflt = -1;
    for (int i = 0; i < p->n; i++) {
        if (!p->row[i].ok) continue;
        if (strcmp(p->row[i].coretype, OPENBLAS_PROBE_DEFAULT) == 0) dflt = i;
        if (best < 0 || p->row[i].gflops > p->row[best].gflops) best = i;
    }
    p->chosen = best;
    if (best < 0) return;
    if (p->n == 1) {
        snprintf(p->reason, sizeof p->reason, "requested (%s)", p->request);
    } else if (dflt >= 0 && dflt != best &&
               p->row[dflt].gflops * PROBE_NOISE >= p->row[best].gflops) {
        p->chosen = dflt;
        snprintf(p->reason, sizeof p->reason,
                 "the default is within %.0f%% of the fastest (%s, %.1f GFLOP/s)",
                 100.0 * (PROBE_NOISE - 1.0), p->row[best].coretype, p->row[best].gflops);
    } else {
        char dtxt[48] = "";
        if (dflt >= 0) snprintf(dtxt, sizeof dtxt, ", the default %.1f", p->row[dflt].gflops);
        snprintf(p->reason, sizeof p->reason, "fastest correct of %d (%.1f GFLOP/s%s)", p->n,
                 p->row[best].gflops, dtxt);
    }
}

int openblas_probe_run(const char *path, const char *request, openblas_probe_t *p, char *err,
                       size_t errlen) {
    memset(p, 0, sizeof *p);
    p->chosen = -1;
    const char *env = getenv("OPENBLAS_CORETYPE");
    snprintf(p->request, sizeof p->request, "%s", request);
    if (strcmp(request, "auto") == 0) {
        char *cpu = cpu_flags();
        add(p, OPENBLAS_PROBE_DEFAULT);
        for (size_t i = 0; i < sizeof CANDIDATES / sizeof CANDIDATES[0]; i++)
            if (has_flags(cpu, CANDIDATES[i].flags)) add(p, CANDIDATES[i].name);
        free(cpu);
        int listed = 0; /* an inherited value competes like the others */
        for (int i = 0; env && *env && i < p->n; i++)
            listed |= strcmp(p->row[i].coretype, env) == 0;
        if (env && *env && !listed && strlen(env) < sizeof p->row[0].coretype) add(p, env);
    } else {
        add(p, request);
    }
    for (int i = 0; i < p->n; i++)
        probe_one(path, &p->row[i]);
    choose(p);
    if (p->chosen >= 0) return 0;
    snprintf(err, errlen, "OpenBLAS '%s' (OPENBLAS_CORETYPE %s): %s", path, p->row[0].coretype,
             p->row[0].note[0] ? p->row[0].note : "no core type ran correctly");
    return -1;
}

const char *openblas_probe_choice(const openblas_probe_t *p) {
    return p->chosen >= 0 ? p->row[p->chosen].coretype : OPENBLAS_PROBE_DEFAULT;
}

void openblas_probe_apply(const openblas_probe_t *p) {
    const char *c = openblas_probe_choice(p);
    int rc = strcmp(c, OPENBLAS_PROBE_DEFAULT) == 0 ? unsetenv("OPENBLAS_CORETYPE")
                                                    : setenv("OPENBLAS_CORETYPE", c, 1);
    if (rc != 0) micl_fatal("setenv OPENBLAS_CORETYPE: %s", strerror(errno));
}

void openblas_probe_print(const openblas_probe_t *p, const char *indent) {
    printf("%sOpenBLAS core types (SGEMM %d^3, 1 thread, child process each):\n", indent, PROBE_N);
    for (int i = 0; i < p->n; i++) {
        const openblas_probe_row_t *r = &p->row[i];
        printf("%s  %-12s runs %-12s ", indent, r->coretype, r->corename[0] ? r->corename : "-");
        if (r->ok)
            printf("%7.1f GFLOP/s  rel err %.1e%s\n", r->gflops, r->rel_err,
                   i == p->chosen ? "  <- chosen" : "");
        else
            printf("  failed: %s\n", r->note);
    }
    printf("%s  chosen: %s (%s)\n", indent, openblas_probe_choice(p), p->reason);
}

void openblas_probe_write(hid_t f, const char *prefix, const openblas_probe_t *p) {
    char name[96];
    char *sv[OPENBLAS_PROBE_MAX];
    double dv[OPENBLAS_PROBE_MAX];
    int64_t iv[OPENBLAS_PROBE_MAX];
    snprintf(name, sizeof name, "%scoretype", prefix);
    h5_attr_str(f, name, openblas_probe_choice(p));
    snprintf(name, sizeof name, "%scoretype_reason", prefix);
    h5_attr_str(f, name, p->reason);
    for (int i = 0; i < p->n; i++)
        sv[i] = (char *)p->row[i].coretype;
    snprintf(name, sizeof name, "%sprobe_coretype", prefix);
    h5_write_strings(f, name, sv, p->n);
    for (int i = 0; i < p->n; i++)
        sv[i] = (char *)p->row[i].corename;
    snprintf(name, sizeof name, "%sprobe_corename", prefix);
    h5_write_strings(f, name, sv, p->n);
    for (int i = 0; i < p->n; i++)
        dv[i] = p->row[i].gflops;
    snprintf(name, sizeof name, "%sprobe_gflops", prefix);
    h5_write_f64(f, name, dv, p->n);
    for (int i = 0; i < p->n; i++)
        dv[i] = p->row[i].rel_err;
    snprintf(name, sizeof name, "%sprobe_rel_err", prefix);
    h5_write_f64(f, name, dv, p->n);
    for (int i = 0; i < p->n; i++)
        iv[i] = p->row[i].ok;
    snprintf(name, sizeof name, "%sprobe_ok", prefix);
    h5_write_i64(f, name, iv, p->n);
}
