/* fuzz_store.c - libFuzzer target for the HDF5 image store reader (data/store.c).
 *
 * The input is an HDF5 file, written to a per-process temporary file and read with
 * store_read_provenance and store_read; an accepted store is indexed per split (the first use
 * of labels and splits by the loaders) and freed. After a rejected input the HDF5 library is
 * restarted (fuzz_harness.h); after an accepted one no HDF5 object may be left open. Seeds:
 * tests/fuzz/corpus/store/.
 */
#include <hdf5.h>

#include "fuzz_harness.h"

#include "data/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(".h5");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static image_store_t s;
    fuzz_write_file(data, size);
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        fuzz_hdf5_reset();
        return 0;
    }
    free(store_read_provenance(g_fuzz_path));
    store_read(g_fuzz_path, &s);
    for (int split = STORE_SPLIT_TRAIN; split <= STORE_SPLIT_HELDOUT_CLASS; split++) {
        store_index_t ix;
        store_index_build(&s, split, &ix);
        store_index_free(&ix);
    }
    g_fuzz_armed = 0;
    store_free(&s);
    fuzz_hdf5_check_closed("store_read");
    return 0;
}
