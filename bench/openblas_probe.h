/* openblas_probe.h - OpenBLAS at its best: which OPENBLAS_CORETYPE to compare against.
 *
 * OpenBLAS picks its kernels from CPUID when it is loaded, and an older release may not know a
 * newer CPU and fall back to a slow generic kernel (Debian's 0.3.21 ran 32 GFLOP/s on an
 * AVX-512 Xeon by default and 133-140 with OPENBLAS_CORETYPE=SkylakeX). The probe runs, for
 * each candidate core type (the default, i.e. the variable unset, and those the CPU's flags
 * allow), one short single-thread SGEMM in a child process with OPENBLAS_CORETYPE set, checks
 * it against a double-precision reference and keeps the fastest correct one. `micl bench
 * vs-torch` gives PyTorch's process the chosen value, `micl bench gemm` sets it before it loads
 * OpenBLAS (bench/README.md).
 */
#ifndef MICL_BENCH_OPENBLAS_PROBE_H
#define MICL_BENCH_OPENBLAS_PROBE_H

#include <hdf5.h>
#include <stddef.h>

#if defined(__x86_64__)
#define OPENBLAS_LIBDIR "/usr/lib/x86_64-linux-gnu"
#elif defined(__aarch64__)
#define OPENBLAS_LIBDIR "/usr/lib/aarch64-linux-gnu"
#else
#define OPENBLAS_LIBDIR "/usr/lib"
#endif
/* Debian's pthread OpenBLAS: what `bench gemm` loads and what Debian's torch calls (libblas.so.3
 * and libopenblas.so.0 are links to it). */
#define OPENBLAS_DEFAULT_PATH OPENBLAS_LIBDIR "/openblas-pthread/libopenblas.so.0"

#define OPENBLAS_PROBE_MAX 8
/* The candidate meaning "OPENBLAS_CORETYPE unset" (OpenBLAS's own choice). */
#define OPENBLAS_PROBE_DEFAULT "default"

typedef struct {
    char coretype[32]; /* the value of OPENBLAS_CORETYPE, or OPENBLAS_PROBE_DEFAULT */
    char corename[32]; /* the core OpenBLAS says it runs (openblas_get_corename) */
    double gflops;     /* NaN when the child failed */
    double rel_err;    /* max |C - ref| / max |ref| over the checked entries */
    int ok;            /* the child ran and its product matched the reference */
    char note[96];     /* why not ok */
} openblas_probe_row_t;

typedef struct {
    openblas_probe_row_t row[OPENBLAS_PROBE_MAX];
    int n;
    int chosen; /* index into row; -1: none correct */
    char request[32];
    char reason[192];
} openblas_probe_t;

/* Probes the OpenBLAS at `path`. `request`: "auto" (every candidate the CPU allows, and an
 * OPENBLAS_CORETYPE inherited from the environment as one more candidate, not as the answer:
 * the fastest correct one wins),
 * OPENBLAS_PROBE_DEFAULT or a core name (that one only, checked). Returns 0, or -1 with a
 * message in err when no candidate ran correctly (the library absent, a wrong result). */
int openblas_probe_run(const char *path, const char *request, openblas_probe_t *p, char *err,
                       size_t errlen);
/* The chosen core type (OPENBLAS_PROBE_DEFAULT for none set). */
const char *openblas_probe_choice(const openblas_probe_t *p);
/* Sets OPENBLAS_CORETYPE in this process to the choice (unsets it for the default). */
void openblas_probe_apply(const openblas_probe_t *p);
/* Prints the table: one line per candidate and the choice with its reason. */
void openblas_probe_print(const openblas_probe_t *p, const char *indent);
/* Writes attributes <prefix>coretype, <prefix>coretype_reason and datasets
 * <prefix>probe_{coretype,corename,gflops,rel_err,ok} to f. */
void openblas_probe_write(hid_t f, const char *prefix, const openblas_probe_t *p);

#endif
