/* fuzz_results.c - libFuzzer target for the results file reader (common/results.c).
 *
 * The input is an HDF5 file, written to a per-process temporary file and read with
 * results_read; an accepted file is printed as the summary table and as CSV (to /dev/null),
 * as `micl results` does, and freed. After a rejected input the HDF5 library is restarted
 * (fuzz_harness.h); after an accepted one no HDF5 object may be left open. Seeds:
 * tests/fuzz/corpus/results/.
 */
#include <hdf5.h>

#include "fuzz_harness.h"

#include "common/results.h"

static FILE *g_null;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(".h5");
    g_null = fopen("/dev/null", "w");
    if (!g_null) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static results_t r;
    fuzz_write_file(data, size);
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        fuzz_hdf5_reset();
        return 0;
    }
    results_read(g_fuzz_path, &r);
    results_print_table(&r, g_null);
    results_print_csv(&r, g_null);
    g_fuzz_armed = 0;
    results_free(&r);
    fuzz_hdf5_check_closed("results_read");
    return 0;
}
