/* signals.c - the stop flag set by SIGTERM / SIGUSR1 / SIGINT, and the clean-up of pending
 * output on SIGINT / SIGHUP / SIGTERM (see signals.h). */
#define _POSIX_C_SOURCE 200809L
#include "signals.h"

#include <signal.h>
#include <string.h>

#include "error.h"

static volatile sig_atomic_t g_stop;

static void on_fatal_signal(int sig) {
    micl_pending_unlink_all(); /* async-signal-safe: unlink over fixed buffers */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A second Ctrl-C means "now": the user will not wait for the checkpoint. */
static void on_signal(int sig) {
    if (sig == SIGINT && g_stop) on_fatal_signal(sig);
    g_stop = 1;
}

void signals_install_cleanup(void) {
    const int sigs[] = {SIGINT, SIGHUP, SIGTERM};
    for (int i = 0; i < 3; i++) {
        struct sigaction old, sa;
        /* a signal ignored from the start (nohup, a background job) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        if (sigaction(sigs[i], &sa, NULL) != 0)
            micl_fatal("cannot install the handler of signal %d", sigs[i]);
    }
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
        micl_fatal("cannot install the SIGTERM/SIGUSR1 handlers");
    /* SIGINT too, unless ignored from the start (a background job of a shell) */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler == SIG_IGN) return;
    if (sigaction(SIGINT, &sa, NULL) != 0) micl_fatal("cannot install the SIGINT handler");
}

int signals_stop_requested(void) {
    return g_stop != 0;
}

void signals_request_stop(void) {
    g_stop = 1;
}
