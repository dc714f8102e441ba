/* format_roundtrip.c - reads a micl file with micl's own reader and writes what it loaded with
 * micl's writer: `format_roundtrip checkpoint|store|results IN OUT`. Exit 1 with the reader's
 * message when it refuses IN. Two files whose round trips are the same bytes loaded the same
 * content, so format_test.sh's byte-flip check compares a damaged file's round trip with the
 * intact one's: a flipped byte must be refused or change nothing that micl loads. */
#include <stdio.h>
#include <string.h>

#include "common/results.h"
#include "data/store.h"
#include "worker/checkpoint.h"

static void checkpoint_roundtrip(const char *in, const char *out) {
    vocab_t v;
    train_state_t st;
    char *text = NULL;
    vlm_t *m = checkpoint_read(in, 64, 4, &v, &st, &text);
    run_result_t progress;
    memset(&progress, 0, sizeof progress);
    checkpoint_read_progress(in, &progress);
    checkpoint_write(out, m, &v, &st, text, &progress);
}

static void store_roundtrip(const char *in, const char *out) {
    image_store_t s;
    store_read(in, &s);
    store_write(out, &s);
    store_free(&s);
}

static void results_roundtrip(const char *in, const char *out) {
    results_t r;
    results_read(in, &r);
    results_write(out, &r);
    results_free(&r);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: format_roundtrip checkpoint|store|results IN OUT\n");
        return 2;
    }
    if (strcmp(argv[1], "checkpoint") == 0)
        checkpoint_roundtrip(argv[2], argv[3]);
    else if (strcmp(argv[1], "store") == 0)
        store_roundtrip(argv[2], argv[3]);
    else if (strcmp(argv[1], "results") == 0)
        results_roundtrip(argv[2], argv[3]);
    else {
        fprintf(stderr, "format_roundtrip: unknown kind '%s'\n", argv[1]);
        return 2;
    }
    return 0;
}
