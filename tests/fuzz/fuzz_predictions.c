/* fuzz_predictions.c - libFuzzer target for the predictions reader
 * (orchestrator/predictions_file.c), which reads JSON lines written by other parties' models.
 *
 * The input is the file's bytes, read through a memory stream (fmemopen), so no file descriptor
 * is left open when a rejected input jumps out of the reader; predictions_file_free then releases
 * what the reader had (line buffer, entries, the jansson tree of the current line), so rejected
 * inputs do not pile up memory. At most 4096 predictions per input. An accepted file must come
 * back sorted by id, without repeats, each id found by predictions_file_find.
 * Seeds: tests/fuzz/corpus/predictions/.
 */
#include "fuzz_harness.h"

#include "orchestrator/predictions_file.h"

static predictions_file_t g_pf;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fuzz_setup(NULL);
    return 0;
}

/* Accepted files: the reader's promises hold. */
static void check_accepted(const predictions_file_t *p) {
    for (int64_t i = 0; i < p->n; i++) {
        if (i > 0 && strcmp(p->items[i - 1].id, p->items[i].id) >= 0) abort();
        if (predictions_file_find(p, p->items[i].id) != &p->items[i]) abort();
        if (p->items[i].line < 1 || !p->items[i].text) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0; /* fmemopen needs a non-empty buffer */
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    g_fuzz_armed = 1;
    if (setjmp(g_fuzz_jump)) {
        g_fuzz_armed = 0;
        predictions_file_free(&g_pf);
        fclose(f);
        return 0;
    }
    predictions_file_read_stream(f, "fuzz.jsonl", 4096, &g_pf);
    g_fuzz_armed = 0;
    check_accepted(&g_pf);
    predictions_file_free(&g_pf);
    fclose(f);
    return 0;
}
