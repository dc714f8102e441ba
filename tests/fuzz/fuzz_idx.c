/* fuzz_idx.c - libFuzzer target for the IDX reader (data/idx.c: idx_read_u8).
 *
 * The input is an IDX file, gzip-compressed or plain, written to a per-process temporary file
 * (the reader takes a path; zlib's gzread handles both forms). The expected number of
 * dimensions is 1 + size % 3, so that images (3), labels (1) and the mismatch checks are all
 * reached. A rejected file leaves the reader by longjmp with its gzFile still open (a file
 * descriptor and zlib's buffers), so the target is linked with -Wl,--wrap=gzopen,--wrap=gzclose
 * (tests/fuzz/fuzz.cmake): the wrappers below remember the open handle and the harness closes it
 * after the jump. Seeds: tests/fuzz/corpus/idx/.
 */
#include "fuzz_harness.h"

#include <zlib.h>

#include "data/sources.h"

gzFile __real_gzopen(const char *path, const char *mode);
int __real_gzclose(gzFile f);
gzFile __wrap_gzopen(const char *path, const char *mode);
int __wrap_gzclose(gzFile f);

static gzFile g_open_gz;

gzFile __wrap_gzopen(const char *path, const char *mode) {
    gzFile f = __real_gzopen(path, mode);
    if (f) g_open_gz = f;
    return f;
}

int __wrap_gzclose(gzFile f) {
    if (f == g_open_gz) g_open_gz = NULL;
    return __real_gzclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(".idx");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write_file(data, size);
    int want_ndim = 1 + (int)(size % 3);
    int64_t dims[3];
    uint8_t *pix = NULL;
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        if (g_open_gz) __wrap_gzclose(g_open_gz);
        return 0;
    }
    idx_read_u8(g_fuzz_path, want_ndim, dims, &pix);
    g_fuzz_armed = 0;
    /* Touch every byte so that ASan checks the size the reader claims. */
    int64_t total = dims[0] * dims[1] * dims[2];
    volatile uint8_t sum = 0;
    for (int64_t i = 0; i < total; i++)
        sum = (uint8_t)(sum + pix[i]);
    free(pix);
    return 0;
}
