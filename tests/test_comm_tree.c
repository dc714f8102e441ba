/* test_comm_tree.c - the fixed-order gradient reduction gives the same bits for any rank count:
 * for every micro-batch count M (1..12) the distributed sum equals the single-rank tree sum,
 * for a vector sent in pieces (N floats) and one shorter than the number of pieces (5). */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "comm/comm.h"
#include "common/error.h"
#include "common/rng.h"

enum { N = 1000 };

static void leaf(int i, float *out, void *ctx) {
    int n = *(const int *)ctx;
    rng_t r = rng_make(11, RNG_STREAM_TEST, (uint64_t)i);
    for (int k = 0; k < n; k++)
        out[k] = rng_normal(&r) * powf(10.0f, (float)(k % 7) - 3.0f);
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    comm_t solo = {.rank = 0, .size = 1};
    int bad = 0;
    float got[N], want[N];
    int sizes[2] = {N, 5};
    for (int s = 0; s < 2; s++)
        for (int m = c.size; m <= 12; m++) {
            int n = sizes[s];
            comm_tree_t t;
            comm_tree_init(&t, (size_t)n, m);
            memset(got, 0, sizeof got), memset(want, 0, sizeof want);
            comm_tree_reduce(&t, &c, m, leaf, &n, got);
            comm_tree_reduce(&t, &solo, m, leaf, &n, want);
            if (memcmp(got, want, sizeof got) != 0) {
                fprintf(stderr,
                        "rank %d: N=%d M=%d: distributed sum differs from the single-rank sum\n",
                        c.rank, n, m);
                bad++;
            }
            comm_tree_free(&t);
        }
    int any = comm_any(&c, bad != 0);
    if (c.rank == 0) printf("test_comm_tree np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
