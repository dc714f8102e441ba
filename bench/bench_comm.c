/* bench_comm.c - `micl bench comm` (see bench_comm.h and bench/README.md).
 *
 * For message sizes from 4 B up to --max-bytes by factors of 4, every rank times each
 * collective of collectives.h; rank 0 prints one nccl-tests style row per op and size
 * (size, count, type, time, algbw, busbw) and, with -o, writes the table to HDF5.
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
               "%lld B by x4; time = slowest rank's mean per call\n",
               c.size, omp_get_max_threads(), (long long)max_bytes);
        printf("  %-14s %12s %12s %6s %12s %10s %10s\n", "op", "size (B)", "count", "type",
               "time (us)", "algbw GB/s", "busbw GB/s");
    }
    for (int op = 0; op < COLLECTIVES_N_OPS; op++) {
        for (int64_t bytes = 4; bytes <= max_bytes && n < MAX_ROWS; bytes *= 4) {
            size_t cnt = collectives_count(op, (size_t)bytes / sizeof(float), c.size);
            int it = iters > 0 ? (int)iters : default_iters(bytes);
            double t = collectives_time(&c, op, cnt, it, buf);
            row_t *r = &rows[n++];
            r->op = op;
            r->count = (int64_t)cnt;
            r->bytes = r->count * (int64_t)sizeof(float);
            r->time_us = 1e6 * t;
            r->algbw = (double)r->bytes / t * 1e-9;
            r->busbw = r->algbw * collectives_bus_factor(op, c.size);
            if (c.rank == 0)
                printf("  %-14s %12lld %12lld %6s %12.2f %10.3f %10.3f\n", collectives_op_name(op),
                       (long long)r->bytes, (long long)r->count, "float", r->time_us, r->algbw,
                       r->busbw);
        }
    }
    free(buf);
    if (c.rank == 0 && out) write_h5(out, rows, n, c.size, max_bytes);
    return MICL_EXIT_OK;
}
