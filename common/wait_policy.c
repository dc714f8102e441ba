/* wait_policy.c - micl's default OpenMP waiting policy (see wait_policy.h).
 *
 * The re-exec happens at most once: the new image finds GOMP_SPINCOUNT set and returns at
 * once. The marker variable tells that image (and child processes such as mpirun's ranks of
 * `micl bench scaling`, or the Python of `vs-torch`) that the value is micl's, not the user's.
 */
#define _POSIX_C_SOURCE 200809L
#include "wait_policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_failed[160];

static int is_set(const char *name) {
    const char *v = getenv(name);
    return v && *v;
}

void wait_policy_apply(char **argv) {
    if (is_set("OMP_WAIT_POLICY") || is_set("GOMP_SPINCOUNT")) return;
    if (setenv("GOMP_SPINCOUNT", WAIT_POLICY_SPINCOUNT, 1) != 0 ||
        setenv(WAIT_POLICY_MARKER, "1", 1) != 0) {
        snprintf(g_failed, sizeof g_failed, "setenv: %s", strerror(errno));
        return;
    }
    execv("/proc/self/exe", argv); /* returns only on failure */
    snprintf(g_failed, sizeof g_failed, "re-exec failed: %s", strerror(errno));
    unsetenv("GOMP_SPINCOUNT"); /* not in effect in this image: do not claim it */
    unsetenv(WAIT_POLICY_MARKER);
}

int wait_policy_is_micl_default(void) {
    return is_set(WAIT_POLICY_MARKER) && is_set("GOMP_SPINCOUNT") && !is_set("OMP_WAIT_POLICY");
}

const char *wait_policy_describe(void) {
    static char buf[256];
    const char *pol = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    if (wait_policy_is_micl_default())
        snprintf(buf, sizeof buf, "GOMP_SPINCOUNT=%s (micl default)", spin);
    else if (pol && *pol && spin && *spin)
        snprintf(buf, sizeof buf, "OMP_WAIT_POLICY=%s GOMP_SPINCOUNT=%s (environment)", pol, spin);
    else if (pol && *pol)
        snprintf(buf, sizeof buf, "OMP_WAIT_POLICY=%s (environment)", pol);
    else if (spin && *spin)
        snprintf(buf, sizeof buf, "GOMP_SPINCOUNT=%s (environment)", spin);
    else
        snprintf(buf, sizeof buf, "libgomp default%s%s%s", g_failed[0] ? " (" : "", g_failed,
                 g_failed[0] ? ")" : "");
    return buf;
}
