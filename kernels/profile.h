/* profile.h - where a run's kernel time goes: while counting is on, every kern_ function of
 * kernels.h and buffer.h called through the backend seam (kernels/backend.c) adds its wall time
 * and one call to its entry. `micl bench step --profile` prints the entries of the timed steps.
 *
 * A kern_ call made while another is running on the same thread counts toward the outer one
 * only, so the entries add up to the time spent inside kernels. Calls on several threads (the
 * paired micro-batches of a team of 2 or more) each count in full, so there the sum can exceed
 * the wall time. Times are host wall times: a device backend's calls return before their work
 * is done, so they are not what this measures. Counting changes no arithmetic.
 */
#ifndef MICL_KERN_PROFILE_H
#define MICL_KERN_PROFILE_H

#include <stdint.h>

#include "kernels/backend.h"

/* One id per entry of the backend table, in its order. */
#define KERN_PROFILE_ID(kind, ret, name, params, args) KERN_PROFILE_##name,
enum { KERN_BACKEND_API(KERN_PROFILE_ID) KERN_PROFILE_N };
#undef KERN_PROFILE_ID

typedef struct {
    const char *name; /* the kern_ function's name without the prefix: "matmul_forward" */
    int64_t calls;
    double seconds;
} kern_profile_entry_t;

/* Zeroes every entry and starts counting. */
void kern_profile_start(void);
/* Stops counting; the entries keep their values. */
void kern_profile_stop(void);
/* The entries with at least one call, most time first (ties by name), at most max of them into
 * out; returns how many. */
int kern_profile_read(kern_profile_entry_t *out, int max);

/* For backend.c: nonzero while counting is on (read with a relaxed atomic load). */
extern int kern_profile_counting;
/* For backend.c: the start of a call (a time, or a negative value for a call inside another),
 * and its end, which adds it to entry id. */
double kern_profile_enter(void);
void kern_profile_leave(int id, double t0);

#endif
