/* synthetic.c - the speed measurements' batch (see synthetic.h). */
#include "synthetic.h"

uint32_t bench_mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

void bench_synthetic_batch(int32_t *tokens, int32_t *targets, size_t n_seq, int pairs, int vocab,
                           uint8_t *pixels, size_t n_px) {
    size_t T = 1 + 2 * (size_t)pairs;
    uint32_t n_names = (uint32_t)(vocab - BENCH_FIRST_NAME);
    for (size_t s = 0; s < n_seq; s++) {
        int32_t *tok = tokens + s * T, *tgt = targets + s * T;
        tok[0] = BENCH_BOS;
        tgt[0] = -1;
        for (int j = 0; j < pairs; j++) {
            int32_t name =
                BENCH_FIRST_NAME + (int32_t)(bench_mix32((uint32_t)(s * 64 + (size_t)j)) % n_names);
            tok[1 + 2 * j] = BENCH_IMAGE_TOKEN;
            tgt[1 + 2 * j] = name; /* the image position predicts its name */
            tok[2 + 2 * j] = name;
            tgt[2 + 2 * j] = -1;
        }
    }
    for (size_t i = 0; i < n_px; i++)
        pixels[i] = (uint8_t)(bench_mix32((uint32_t)i * 2654435761u + 17u) >> 24);
}
