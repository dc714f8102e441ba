/* fuzz_image.c - libFuzzer target for the PNG and JPEG decoders of `micl data import`
 * (data/import.c: data_import_decode).
 *
 * The input is one image file held in memory; the decoder picks PNG or JPEG by signature and
 * converts it to a 28 x 28 gray image exactly as an import does. Seeds:
 * tests/fuzz/corpus/image/ (PNG and JPEG, gray, RGB, palette, alpha, 16-bit, interlaced,
 * progressive).
 */
#include "fuzz_harness.h"

#include "data/import.h"

#define FUZZ_SIDE 28

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t out[FUZZ_SIDE * FUZZ_SIDE];
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        return 0;
    }
    data_import_decode(data, size, "fuzz-image", FUZZ_SIDE, out);
    g_fuzz_armed = 0;
    return 0;
}
