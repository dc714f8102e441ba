/* bench_comm.c - `micl bench comm` (see bench_comm.h and bench/README.md).
 *
 * For message sizes from 4 B up to --max-bytes by factors of 4, every rank times each
 * collective of collectives.h, size by size, in rounds of the ops in turn (an op's time is the
 * median of its rounds); rank 0 prints one nccl-tests style row per op and size (size, count,
 * type, time, algbw, busbw) and, with -o, writes the table to HDF5.
 */
#define _POSIX_C_SOURCE 200809L
#include "bench_comm.h"

#include <errno.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectives.h"
#include "common/error.h"
#include "common/h5util.h"
#include "bench_out.h"
#include "common/cli_args.h"

#define MAX_ROWS 256
#define ROUNDS 5 /* each op's calls of one size, split into rounds taken in turn */

typedef struct {
    int op;
    int64_t bytes, count;
    double time_us, algbw, busbw;
} row_t;

const cli_command_t CLI_BENCH_COMM = {"bench comm",
                                      "[--max-bytes B] [--iters I] [-o BENCH.h5]",
                                      "collectives (all-reduce, reduce-scatter, broadcast,\n"
                                      "tree reduce); run under mpirun -np N",
                                      NULL,
                                      NULL,
                                      0,
                                      0};

/* The median of v[n] (n odd; v is reordered). */
static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double x = v[j];
            v[j] = v[j - 1], v[j - 1] = x;
        }
    return v[n / 2];
}

/* Enough calls to move about 256 MiB, between 5 and 200. */
static int default_iters(int64_t bytes) {
    int64_t it = ((int64_t)256 << 20) / (bytes > 0 ? bytes : 1);
    return it < 5 ? 5 : it > 200 ? 200 : (int)it;
}

static void write_h5(const char *out, const row_t *r, int n, int ranks, int64_t max_bytes) {
    atomic_file_t af;
    hid_t f = bench_out_begin(out, "comm", &af);
    h5_attr_int(f, "ranks", ranks);
    h5_attr_int(f, "threads", omp_get_max_threads());
    h5_attr_int(f, "max_bytes", max_bytes);
    h5_attr_int(f, "rounds", ROUNDS);
    h5_attr_str(f, "type", "float");
    char **ops = micl_malloc((size_t)n * sizeof(char *));
    int64_t *iv = micl_malloc((size_t)n * sizeof(int64_t));
    double *dv = micl_malloc((size_t)n * sizeof(double));
    for (int i = 0; i < n; i++)
        ops[i] = (char *)collectives_op_name(r[i].op);
    h5_write_strings(f, "op", ops, n);
    for (int i = 0; i < n; i++)
        iv[i] = r[i].bytes;
    h5_write_i64(f, "size_bytes", iv, n);
    for (int i = 0; i < n; i++)
        iv[i] = r[i].count;
    h5_write_i64(f, "count", iv, n);
    for (int i = 0; i < n; i++)
        dv[i] = r[i].time_us;
    h5_write_f64(f, "time_us", dv, n);
    for (int i = 0; i < n; i++)
        dv[i] = r[i].algbw;
    h5_write_f64(f, "algbw_gbs", dv, n);
    for (int i = 0; i < n; i++)
        dv[i] = r[i].busbw;
    h5_write_f64(f, "busbw_gbs", dv, n);
    free(ops), free(iv), free(dv);
    bench_out_finish(f, &af);
}

int bench_comm_main(int argc, char **argv, const comm_t *comm) {
    int64_t max_bytes = (int64_t)64 << 20, iters = 0;
    const char *out = NULL;
    int rc;
    const cli_opt_t opts[] = {CLI_OPT_INT64("--max-bytes", &max_bytes, 4, (int64_t)1 << 30),
                              CLI_OPT_INT64("--iters", &iters, 1, 100000),
                              CLI_OPT_STRING("-o", &out), CLI_OPT_END};
    if (!cli_parse(&CLI_BENCH_COMM, opts, argc - 1, argv + 1, NULL, NULL, &rc)) return rc;
    comm_t c = *comm;
    float *buf = micl_alloc_aligned((size_t)max_bytes + 64 * sizeof(float));
    static row_t rows[MAX_ROWS];
    int n = 0;
    if (c.rank == 0) {
        printf("micl bench comm: %d rank(s), %d OpenMP thread(s) per rank, float sum, 4 B .. "
               "%lld B by x4; time = median of %d rounds of the slowest rank's mean per call\n",
               c.size, omp_get_max_threads(), (long long)max_bytes, ROUNDS);
        printf("  %-14s %12s %12s %6s %12s %10s %10s\n", "op", "size (B)", "count", "type",
               "time (us)", "algbw GB/s", "busbw GB/s");
    }
    /* size by size, in ROUNDS rounds of every op in turn; an op's time is the median of its
     * rounds. The ops of one size are timed close together and each over several stretches, so
     * that a machine whose load comes and goes biases their ratios less. The table is printed
     * op by op. */
    int sizes = 0;
    for (int64_t bytes = 4; bytes <= max_bytes; bytes *= 4)
        sizes++;
    if (sizes * COLLECTIVES_N_OPS > MAX_ROWS) sizes = MAX_ROWS / COLLECTIVES_N_OPS;
    int64_t bytes = 4;
    for (int k = 0; k < sizes; k++, bytes *= 4) {
        int it = iters > 0 ? (int)iters : default_iters(bytes);
        it = (it + ROUNDS - 1) / ROUNDS;
        double t[COLLECTIVES_N_OPS][ROUNDS];
        for (int round = 0; round < ROUNDS; round++)
            for (int op = 0; op < COLLECTIVES_N_OPS; op++) {
                size_t cnt = collectives_count(op, (size_t)bytes / sizeof(float), c.size);
                t[op][round] = collectives_time(&c, op, cnt, it, buf);
            }
        for (int op = 0; op < COLLECTIVES_N_OPS; op++) {
            row_t *r = &rows[op * sizes + k];
            r->op = op;
            r->count = (int64_t)collectives_count(op, (size_t)bytes / sizeof(float), c.size);
            r->bytes = r->count * (int64_t)sizeof(float);
            double med = median(t[op], ROUNDS);
            r->time_us = 1e6 * med;
            r->algbw = (double)r->bytes / med * 1e-9;
            r->busbw = r->algbw * collectives_bus_factor(op, c.size);
        }
    }
    n = sizes * COLLECTIVES_N_OPS;
    for (int i = 0; i < n && c.rank == 0; i++)
        printf("  %-14s %12lld %12lld %6s %12.2f %10.3f %10.3f\n", collectives_op_name(rows[i].op),
               (long long)rows[i].bytes, (long long)rows[i].count, "float", rows[i].time_us,
               rows[i].algbw, rows[i].busbw);
    free(buf);
    if (c.rank == 0 && out) write_h5(out, rows, n, c.size, max_bytes);
    return MICL_EXIT_OK;
}
