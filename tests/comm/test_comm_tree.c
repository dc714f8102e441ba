/* test_comm_tree.c - the fixed-order gradient reduction gives the same bits for any rank count:
 * the distributed sum equals a plain recursive sum over the tree (node [lo, hi) = [lo, mid) +
 * [mid, hi), mid = (lo + hi) / 2) on one rank, on both host paths of the upper levels:
 * COMM_REDUCE_TREE (reduce-scatter along the tree, then all-gather, for two ranks or more) and
 * COMM_REDUCE_TREE_RANK0 (whole nodes to rank 0, its sum broadcast), which must also agree with
 * each other bit for bit. Covered: micro-batch counts M = 1..40 (fewer than the ranks, uneven
 * blocks, blocks spanning several maximal nodes), vectors of 1000 floats (sent in pieces), 67
 * and 5 (odd; slices of 16 floats leave some ranks' slices empty) and 1 (fewer floats than
 * ranks), leaves handed in one at a time and two at a time, two steps on one tree. The scatter
 * path is taken exactly where it should be (t.scatter is set by its first step). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/comm.h"
#include "comm/comm_tree.h"
#include "common/error.h"
#include "common/rng.h"

#include "tree_reference.h"

enum { N = 1000, M_MAX = 40 };

/* The plan: this rank's leaves, `ahead` (1 or 2) buffers taken before the first is added.
 * Returns 1 if the tree took the scatter path. */
static int tree_sum(const comm_t *c, comm_reduce_t mode, int m, int n, int ahead, float *out) {
    comm_tree_t t;
    comm_tree_init(&t, (size_t)n, m);
    comm_tree_set_reduce(&t, mode);
    for (int rep = 0; rep < 2; rep++) { /* the second step reuses the tree's buffers */
        memset(out, 0, (size_t)n * sizeof(float));
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
    int scattered = t.scatter != NULL;
    comm_tree_free(&t);
    return scattered;
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    comm_t solo = {.rank = 0, .size = 1};
    int bad = 0;
    static float got[N], rank0[N], want[N], one[N];
    const int sizes[] = {N, 67, 5, 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int m = 1; m <= M_MAX; m++)
            for (int ahead = 1; ahead <= 2; ahead++) {
                int n = sizes[s];
                size_t bytes = (size_t)n * sizeof(float);
                int sc = tree_sum(&c, COMM_REDUCE_TREE, m, n, ahead, got);
                int sc0 = tree_sum(&c, COMM_REDUCE_TREE_RANK0, m, n, ahead, rank0);
                tree_sum(&solo, COMM_REDUCE_TREE, m, n, ahead, one);
                tree_ref_sum(0, m, n, want);
                if (memcmp(got, want, bytes) != 0 || memcmp(rank0, want, bytes) != 0 ||
                    memcmp(one, want, bytes) != 0) {
                    fprintf(stderr,
                            "rank %d: N=%d M=%d ahead=%d: a sum differs from the plain tree sum "
                            "(scatter %s, rank 0 %s, one rank %s)\n",
                            c.rank, n, m, ahead, memcmp(got, want, bytes) ? "differs" : "ok",
                            memcmp(rank0, want, bytes) ? "differs" : "ok",
                            memcmp(one, want, bytes) ? "differs" : "ok");
                    bad++;
                }
                if (sc != (c.size > 1) || sc0) {
                    fprintf(stderr, "rank %d: N=%d M=%d: the scatter path was %s\n", c.rank, n, m,
                            sc0 ? "taken by the rank-0 mode" : "not taken by the tree mode");
                    bad++;
                }
            }
    int any = comm_any(&c, bad != 0);
    if (c.rank == 0) printf("test_comm_tree np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
