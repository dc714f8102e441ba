/* gpu_probe.c - can this build and machine run the CUDA backend? Opens it (kern_backend_use
 * "cuda": the module libmicl_cuda.so, its CUDA libraries and a GPU) and exits 0, printing the
 * device, or prints why not and exits 77, the code ctest reports as a skipped test. The GPU
 * tests (gpu_e2e_test.sh) start with it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/backend.h"

static void fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

int main(void) {
    kern_backend_host_t host = {
        .rank = 0, .local_rank = 0, .precision = KERN_PRECISION_FP32, .fatal = fatal};
    char err[2048];
    if (kern_backend_use("cuda", &host, err, sizeof err) != 0) {
        printf("SKIP: no CUDA device: %s\n", err);
        return 77;
    }
    printf("cuda: %s\n", kern_backend()->device);
    return 0;
}
