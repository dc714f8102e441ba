/* malloc_count.c - an LD_PRELOAD library for tests/worker/step_alloc.sh: counts the calls to
 * malloc, calloc, realloc, posix_memalign and aligned_alloc of a process and prints the total to
 * stderr at exit ("malloc_count: N"). It forwards to glibc's own __libc_* entry points.
 */
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

static long g_calls;

void *malloc(size_t n) {
    g_calls++;
    return __libc_malloc(n);
}

void *calloc(size_t count, size_t size) {
    g_calls++;
    return __libc_calloc(count, size);
}

void *realloc(void *p, size_t n) {
    g_calls++;
    return __libc_realloc(p, n);
}

int posix_memalign(void **p, size_t align, size_t n) {
    g_calls++;
    *p = __libc_memalign(align, n);
    return *p ? 0 : 12; /* ENOMEM */
}

void *aligned_alloc(size_t align, size_t n) {
    g_calls++;
    return __libc_memalign(align, n);
}

__attribute__((destructor)) static void report(void) {
    char buf[64];
    int len = snprintf(buf, sizeof buf, "malloc_count: %ld\n", g_calls);
    if (len > 0 && write(2, buf, (size_t)len) < 0) return;
}
