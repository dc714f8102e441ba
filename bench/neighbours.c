/* neighbours.c - busy neighbour processes (see neighbours.h).
 *
 * Each neighbour is a fork of micl that resets the clean-up signal handlers it inherited (they
 * would unlink the parent's pending output files), asks the kernel for SIGKILL when its parent
 * dies, and then loops on a volatile counter for ever: all user time, one core's worth, left
 * to the scheduler to place. The parent keeps their ids and kills them with SIGKILL.
 */
#define _GNU_SOURCE
#include "neighbours.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"

static pid_t g_pids[BENCH_NEIGHBOURS_MAX];
static int g_n;
static int g_atexit;

/* The child's whole life: spin until killed. */
static void neighbour_main(pid_t parent) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(0);
    volatile unsigned long spin = 0;
    for (;;)
        spin++;
}

static void stop_at_exit(void) {
    bench_neighbours_stop();
}

void bench_neighbours_start(int n) {
    if (n < 0 || n > BENCH_NEIGHBOURS_MAX - g_n)
        micl_fatal("bench: %d neighbours asked, at most %d", n, BENCH_NEIGHBOURS_MAX);
    if (n > 0 && !g_atexit) {
        if (atexit(stop_at_exit) != 0) micl_fatal("atexit: cannot register the clean-up");
        g_atexit = 1;
    }
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            bench_neighbours_stop();
            micl_fatal("bench: cannot start a neighbour process: %s", strerror(errno));
        }
        if (pid == 0) neighbour_main(parent);
        g_pids[g_n++] = pid;
    }
}

void bench_neighbours_stop(void) {
    for (int i = 0; i < g_n; i++)
        if (kill(g_pids[i], SIGKILL) != 0 && errno != ESRCH)
            micl_warn("bench: cannot stop neighbour %d: %s", (int)g_pids[i], strerror(errno));
    for (int i = 0; i < g_n; i++)
        while (waitpid(g_pids[i], NULL, 0) < 0 && errno == EINTR) {
        }
    g_n = 0;
}

int bench_neighbours_running(void) {
    return g_n;
}
