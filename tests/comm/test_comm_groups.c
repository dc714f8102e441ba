/* test_comm_groups.c - rank groups and messages (comm_split, comm_send/poll/recv), as the
 * sweep uses them: the world splits into groups of 2 (the last may be smaller); each group's
 * tree reduction gives the single-rank bits; every group leader sends its group's sum and size
 * to world rank 0, which polls until it has heard from every leader; a broadcast inside a group
 * reaches only that group. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "comm/comm.h"
#include "comm/comm_tree.h"
#include "common/error.h"
#include "common/rng.h"

enum { N = 257, M = 4, TAG = 42 };

static void leaf(int i, float *out) {
    rng_t r = rng_make(5, RNG_STREAM_TEST, (uint64_t)i);
    for (int k = 0; k < N; k++)
        out[k] = rng_normal(&r);
}

/* The tree sum of the M leaves over communicator c (its leaves handed in one at a time). */
static void tree_sum(comm_tree_t *t, const comm_t *c, float *out) {
    comm_tree_begin(t, c, M, out);
    for (int i = t->leaf_lo; i < t->leaf_hi; i++) {
        leaf(i, comm_tree_leaf(t, i));
        comm_tree_add(t, i);
    }
    comm_tree_finish(t);
}

/* Rank 0: receives one message from each group leader (poll, never blocking). */
static int collect(const comm_t *world, int n_groups, const float *want) {
    int bad = 0, heard = 0;
    while (heard < n_groups - 1) {
        comm_msg_t m;
        if (!comm_poll(world, -1, TAG, &m)) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
            continue;
        }
        float buf[N + 1];
        if (m.size != sizeof buf || m.src % 2 != 0) {
            fprintf(stderr, "message of %zu bytes from rank %d\n", m.size, m.src);
            return 1;
        }
        comm_recv(world, &m, buf);
        bad += memcmp(buf, want, N * sizeof(float)) != 0;
        bad += (int)buf[N] != (m.src + 2 <= world->size ? 2 : 1);
        heard++;
    }
    return bad;
}

int main(int argc, char **argv) {
    comm_t world, group;
    comm_init(&argc, &argv, &world);
    comm_split(&world, world.rank / 2, &group);
    int bad = 0;
    int want_size = world.rank / 2 * 2 + 2 <= world.size ? 2 : 1;
    if (group.size != want_size || group.rank != world.rank % 2 || group.world_rank != world.rank)
        bad++;
    comm_t solo = {.rank = 0, .size = 1};
    float got[N + 1], want[N];
    comm_tree_t t;
    comm_tree_init(&t, N, M);
    tree_sum(&t, &group, got);
    tree_sum(&t, &solo, want);
    comm_tree_free(&t);
    bad += memcmp(got, want, sizeof want) != 0;
    int64_t token = group.rank == 0 ? 1000 + world.rank : -1;
    comm_bcast_i64(&group, &token, 1);
    bad += token != 1000 + world.rank / 2 * 2;
    int n_groups = (world.size + 1) / 2;
    if (world.rank == 0) {
        bad += collect(&world, n_groups, want);
    } else if (group.rank == 0) {
        got[N] = (float)group.size;
        comm_send(&world, 0, TAG, got, sizeof got);
    }
    comm_group_free(&group);
    int any = comm_any(&world, bad != 0);
    if (world.rank == 0) printf("test_comm_groups np=%d: %s\n", world.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
