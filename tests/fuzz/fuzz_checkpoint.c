/* fuzz_checkpoint.c - libFuzzer target for the checkpoint reader (worker/checkpoint.c).
 *
 * The input is an HDF5 file, written to a per-process temporary file and read as `micl train`
 * does when it resumes: checkpoint_read_progress, then checkpoint_read (model sized for 64
 * tokens and 8 images, vocabulary, training state, config text). An accepted checkpoint is
 * freed again. After a rejected input the HDF5 library is restarted (fuzz_harness.h); after an
 * accepted one no HDF5 object may be left open. Seeds: tests/fuzz/corpus/checkpoint/.
 */
#include <hdf5.h>

#include "fuzz_harness.h"

#include "common/results.h"
#include "data/vocab.h"
#include "model/vlm.h"
#include "worker/checkpoint.h"

#define FUZZ_TOKENS 64
#define FUZZ_IMAGES 8

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(".h5");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static run_result_t progress;
    static vocab_t vocab;
    static train_state_t st;
    static char *config_text;
    static vlm_t *model;
    fuzz_write_file(data, size);
    memset(&progress, 0, sizeof progress);
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        fuzz_hdf5_reset();
        return 0;
    }
    checkpoint_read_progress(g_fuzz_path, &progress);
    model = checkpoint_read(g_fuzz_path, FUZZ_TOKENS, FUZZ_IMAGES, &vocab, &st, &config_text);
    g_fuzz_armed = 0;
    vlm_free(model);
    vocab_free(&vocab);
    free(config_text);
    curve_free(&progress.curve);
    fuzz_hdf5_check_closed("checkpoint_read");
    return 0;
}
