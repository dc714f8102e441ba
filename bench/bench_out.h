/* bench_out.h - what every `micl bench` command shares: the clock and the output file (kind
 * "micl-bench", written to OUT.tmp and renamed into place).
 */
#ifndef MICL_BENCH_OUT_H
#define MICL_BENCH_OUT_H

#include <hdf5.h>
#include <stddef.h>

#include "common/atomic_file.h"

/* Version 2 names the measurement in attribute `measurement` (version 1: `benchmark`). */
#define BENCH_SCHEMA_VERSION 3
/* The exchange files with tests/reference/bench_torch.py (micl-bench-input, -torch). */
#define BENCH_TORCH_SCHEMA_VERSION 2 /* 2: the checksummed format (h5util.h) */

/* Starts writing OUT through `af` (common/atomic_file.h) and writes the common root attributes:
 * kind, schema_version, measurement, hostname, created (UTC ISO 8601), micl_version, and what
 * computed: device (the backend, cpu or cuda), device_name (the processor or the GPU) and
 * precision (fp32, bf16). */
hid_t bench_out_begin(const char *out, const char *measurement, atomic_file_t *af);
/* Closes the file and puts it in place as OUT. */
void bench_out_finish(hid_t f, atomic_file_t *af);

#endif
