/* profile.c - the kernel time counters of profile.h: one pair of atomic counters (calls,
 * nanoseconds) per entry of the backend table, a per-thread depth so that only the outermost
 * kern_ call of a thread is timed, and a sorted read-out. */
#include "kernels/profile.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

int kern_profile_counting;

static int64_t calls[KERN_PROFILE_N], nanos[KERN_PROFILE_N];
static _Thread_local int depth;

#define KERN_PROFILE_NAME(kind, ret, name, params, args) #name,
static const char *const NAMES[KERN_PROFILE_N] = {KERN_BACKEND_API(KERN_PROFILE_NAME)};
#undef KERN_PROFILE_NAME

void kern_profile_start(void) {
    for (int i = 0; i < KERN_PROFILE_N; i++) {
        __atomic_store_n(&calls[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&nanos[i], 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&kern_profile_counting, 1, __ATOMIC_RELEASE);
}

void kern_profile_stop(void) {
    __atomic_store_n(&kern_profile_counting, 0, __ATOMIC_RELEASE);
}

double kern_profile_enter(void) {
    return depth++ == 0 ? clock_now_s() : -1.0;
}

void kern_profile_leave(int id, double t0) {
    depth--;
    if (t0 < 0) return;
    int64_t ns = (int64_t)((clock_now_s() - t0) * 1e9 + 0.5);
    __atomic_fetch_add(&calls[id], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&nanos[id], ns, __ATOMIC_RELAXED);
}

static int by_time(const void *a, const void *b) {
    const kern_profile_entry_t *x = a, *y = b;
    if (x->seconds != y->seconds) return x->seconds > y->seconds ? -1 : 1;
    return strcmp(x->name, y->name);
}

int kern_profile_read(kern_profile_entry_t *out, int max) {
    kern_profile_entry_t all[KERN_PROFILE_N];
    int n = 0;
    for (int i = 0; i < KERN_PROFILE_N; i++) {
        int64_t c = __atomic_load_n(&calls[i], __ATOMIC_RELAXED);
        if (c == 0) continue;
        all[n].name = NAMES[i];
        all[n].calls = c;
        all[n].seconds = 1e-9 * (double)__atomic_load_n(&nanos[i], __ATOMIC_RELAXED);
        n++;
    }
    qsort(all, (size_t)n, sizeof all[0], by_time);
    if (n > max) n = max;
    memcpy(out, all, sizeof all[0] * (size_t)(n > 0 ? n : 0));
    return n;
}
