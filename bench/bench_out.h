/* bench_out.h - what every `micl bench` command shares: the clock, option parsing of integer
 * lists, and the output file (kind "micl-bench", written to OUT.tmp and renamed into place).
 */
#ifndef MICL_BENCH_OUT_H
#define MICL_BENCH_OUT_H

#include <hdf5.h>
#include <stddef.h>

#define BENCH_SCHEMA_VERSION 1

/* CLOCK_MONOTONIC in seconds. */
double bench_now_s(void);
/* Parses "1,2,4" into at most `max` integers in [lo, hi]; returns the count, 0 on error (after
 * a message naming `flag`). */
int bench_parse_int_list(const char *flag, const char *s, int lo, int hi, int *out, int max);
/* Opens OUT.tmp (registered as pending) and writes the common root attributes: kind,
 * schema_version, benchmark, hostname, created (UTC ISO 8601), micl_version. */
hid_t bench_out_begin(const char *out, const char *benchmark, char *tmp, size_t len);
/* Closes and renames OUT.tmp to OUT. */
void bench_out_finish(hid_t f, const char *out, const char *tmp);

#endif
