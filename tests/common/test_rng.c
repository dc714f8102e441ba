/* test_rng.c - the counter RNG: pure function of (seed, stream, index), ranges, distinctness. */
#include <stdio.h>
#include <string.h>

#include "common/rng.h"

int main(void) {
    int bad = 0;
    rng_t a = rng_make(1, 2, 3), b = rng_make(1, 2, 3), c = rng_make(1, 2, 4);
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a), y = rng_u64(&b), z = rng_u64(&c);
        bad += x != y;
        bad += x == z;
    }
    rng_t r = rng_make(5, RNG_STREAM_TEST, 0);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = rng_below(&r, 7);
        if (v >= 7)
            bad++;
        else
            hist[v]++;
    }
    for (int i = 0; i < 7; i++)
        bad += hist[i] < 9500 || hist[i] > 10500;
    double mean = 0, var = 0;
    for (int i = 0; i < 100000; i++) {
        float u = rng_uniform(&r);
        bad += u < 0 || u >= 1;
        float g = rng_normal(&r);
        mean += g;
        var += g * g;
    }
    mean /= 1e5;
    var = var / 1e5 - mean * mean;
    bad += mean < -0.02 || mean > 0.02 || var < 0.97 || var > 1.03;
    for (int t = 0; t < 200; t++) {
        int32_t out[10];
        rng_choose_distinct(&r, 12, 10, out);
        for (int i = 0; i < 10; i++) {
            bad += out[i] < 0 || out[i] >= 12;
            for (int j = 0; j < i; j++)
                bad += out[i] == out[j];
        }
    }
    if (bad) {
        fprintf(stderr, "test_rng: %d failures\n", bad);
        return 1;
    }
    printf("test_rng: ok\n");
    return 0;
}
