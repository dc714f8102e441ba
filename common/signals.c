/* signals.c - the stop flag set by SIGTERM / SIGUSR1 (see signals.h). */
#define _POSIX_C_SOURCE 200809L
#include "signals.h"

#include <signal.h>
#include <string.h>

#include "error.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
        micl_fatal("cannot install the SIGTERM/SIGUSR1 handlers");
}

int signals_stop_requested(void) {
    return g_stop != 0;
}

void signals_request_stop(void) {
    g_stop = 1;
}
