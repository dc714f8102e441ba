/* test_comm_tree.c - the fixed-order gradient reduction gives the same bits for any rank count:
 * for every micro-batch count M (np..12) the distributed sum equals a plain recursive sum over
 * the tree (node [lo, hi) = [lo, mid) + [mid, hi), mid = (lo + hi) / 2) on one rank, for a
 * vector sent in pieces (N floats) and one shorter than the number of pieces (5), with the
 * leaves handed in one at a time and two at a time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_tree.h"
#include "common/error.h"
#include "common/rng.h"

#include "tree_reference.h"

enum { N = 1000 };

/* The plan: this rank's leaves, `ahead` (1 or 2) buffers taken before the first is added. */
static void tree_sum(const comm_t *c, int m, int n, int ahead, float *out) {
    comm_tree_t t;
    comm_tree_init(&t, (size_t)n, m);
    for (int rep = 0; rep < 2; rep++) { /* the second step reuses the tree's buffers */
        comm_tree_begin(&t, c, m, out);
        for (int i = t.leaf_lo; i < t.leaf_hi;) {
            int k = ahead == 2 && i + 1 < t.leaf_hi ? 2 : 1;
            float *g[2];
            for (int j = 0; j < k; j++)
                g[j] = comm_tree_leaf(&t, i + j);
            for (int j = k - 1; j >= 0; j--) /* computed in any order */
                tree_ref_leaf(i + j, g[j], n);
            for (int j = 0; j < k; j++)
                comm_tree_add(&t, i + j);
            i += k;
        }
        comm_tree_finish(&t);
    }
    comm_tree_free(&t);
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    comm_t solo = {.rank = 0, .size = 1};
    int bad = 0;
    float got[N], want[N], one[N];
    int sizes[2] = {N, 5};
    for (int s = 0; s < 2; s++)
        for (int m = 1; m <= 12; m++)
            for (int ahead = 1; ahead <= 2; ahead++) {
                int n = sizes[s];
                memset(got, 0, sizeof got), memset(want, 0, sizeof want);
                memset(one, 0, sizeof one);
                tree_sum(&c, m, n, ahead, got);
                tree_sum(&solo, m, n, ahead, one);
                tree_ref_sum(0, m, n, want);
                if (memcmp(got, want, sizeof got) != 0 || memcmp(one, want, sizeof one) != 0) {
                    fprintf(stderr,
                            "rank %d: N=%d M=%d ahead=%d: the sum differs from the plain "
                            "tree sum\n",
                            c.rank, n, m, ahead);
                    bad++;
                }
            }
    int any = comm_any(&c, bad != 0);
    if (c.rank == 0) printf("test_comm_tree np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
