/* buffer.c - the CPU backend's buffers (kernels/buffer.h): host memory from aligned_alloc, and
 * copies that are memcpy / memset on it.
 *
 * The row copies run on the calling thread: they move a few rows per pass (the targets of a
 * batch, a prefix's keys), far below what repays waking an OpenMP team.
 */
#include "kernels/cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void *kern_cpu_alloc(size_t bytes) {
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes) micl_fatal("kern_alloc: %zu bytes overflow", bytes);
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) micl_fatal("out of memory allocating %zu aligned bytes", bytes);
    return p;
}

void kern_cpu_free(void *buf) {
    free(buf);
}

void kern_cpu_zero(void *buf, size_t bytes) {
    memset(buf, 0, bytes);
}

void kern_cpu_copy(void *dst, const void *src, size_t bytes) {
    memcpy(dst, src, bytes);
}

void kern_cpu_copy_from_host(void *dst, const void *host_src, size_t bytes) {
    memcpy(dst, host_src, bytes);
}

void kern_cpu_copy_to_host(void *host_dst, const void *src, size_t bytes) {
    memcpy(host_dst, src, bytes);
}

void kern_cpu_copy_strided(float *dst, int64_t ld_dst, const float *src, int64_t ld_src,
                           int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++)
        memcpy(dst + r * ld_dst, src + r * ld_src, sizeof(float) * (size_t)cols);
}

void kern_cpu_gather_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C) {
    for (int64_t i = 0; i < n; i++) /* memmove: row i may be row rows[i] itself */
        memmove(dst + i * C, src + (int64_t)rows[i] * C, sizeof(float) * (size_t)C);
}

void kern_cpu_scatter_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C,
                           int accumulate) {
    for (int64_t i = 0; i < n; i++) {
        float *d = dst + (int64_t)rows[i] * C;
        const float *s = src + i * C;
        if (!accumulate) {
            memcpy(d, s, sizeof(float) * (size_t)C);
            continue;
        }
        for (int c = 0; c < C; c++)
            d[c] += s[c];
    }
}
