/* device.c - choosing the process's kernel backend (see device.h).
 *
 * device_use fills the kern_backend_host_t the CUDA module needs (the world rank for messages,
 * the local rank that picks the GPU, the precision, and a fatal-error function with micl's
 * conventions), calls kern_backend_use, and then agrees with the other ranks: a device that
 * opened on some ranks and not on others still fails on all, so that every rank leaves the
 * command the same way.
 */
#define _POSIX_C_SOURCE 200809L
#include "device.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "kernels/backend.h"

static const char *g_precision = "fp32";
static kern_backend_t g_host_as_device; /* the MICL_TEST_HOST_AS_DEVICE table */

/* The module's failed calls: one message with micl's prefix and rank, then every rank ends
 * (micl_fatal aborts the world when there is more than one rank). */
static void device_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void device_fatal(const char *fmt, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    micl_fatal("%s", msg);
}

static int parse_precision(const char *precision, kern_precision_t *p, char *err, size_t errlen) {
    if (strcmp(precision, "fp32") == 0) {
        *p = KERN_PRECISION_FP32;
        return 0;
    }
    if (strcmp(precision, "bf16") == 0) {
        *p = KERN_PRECISION_BF16;
        return 0;
    }
    snprintf(err, errlen, "unknown precision \"%s\" (fp32 or bf16)", precision);
    return -1;
}

/* The CPU table with host_memory = 0: the CPU kernels on host memory, with every caller taking
 * the device paths (staging copies, one pass at a time). */
static void use_host_as_device(void) {
    g_host_as_device = *kern_backend_cpu();
    g_host_as_device.device = "the host's processor, as a device (MICL_TEST_HOST_AS_DEVICE)";
    g_host_as_device.host_memory = 0;
    kern_backend_set(&g_host_as_device);
}

/* This rank's attempt: 0, or -1 with the reason in err. */
static int open_here(const char *device, const char *precision, const comm_t *world, char *err,
                     size_t errlen) {
    kern_backend_host_t host = {.rank = world->world_rank,
                                .local_rank = comm_local_rank(world),
                                .precision = KERN_PRECISION_FP32,
                                .fatal = device_fatal};
    if (parse_precision(precision, &host.precision, err, errlen) != 0) return -1;
    if (kern_backend_use(device, &host, err, errlen) != 0) return -1;
    const char *hook = getenv("MICL_TEST_HOST_AS_DEVICE");
    if (hook && strcmp(hook, "1") == 0 && strcmp(device, "cpu") == 0) use_host_as_device();
    return 0;
}

int device_use(const char *device, const char *precision, const comm_t *world, char *err,
               size_t errlen) {
    err[0] = '\0';
    int failed = open_here(device, precision, world, err, errlen) != 0;
    if (comm_any(world, failed)) return -1;
    g_precision = strcmp(precision, "bf16") == 0 ? "bf16" : "fp32";
    return 0;
}

int device_start(const char *device, const char *precision, const char *origin,
                 const comm_t *world) {
    char err[2048];
    if (device_use(device, precision, world, err, sizeof err) != 0) {
        /* the lowest failing rank speaks for all */
        double first = -comm_max_f64(world, err[0] ? -(double)world->rank : -1e18);
        if (err[0] && (double)world->rank == first) {
            fflush(stdout);
            if (world->size > 1)
                fprintf(stderr, "micl[rank %d]: error: %s: %s\n", world->world_rank, origin, err);
            else
                fprintf(stderr, "micl: error: %s: %s\n", origin, err);
            fflush(stderr);
        }
        comm_barrier(world);
        return MICL_EXIT_ERROR;
    }
    const char *isa = device_isa();
    micl_info("device: %s (%s), %s%s%s", device_backend(), device_name(), device_precision(),
              isa[0] ? ", kernels " : "", isa);
    return 0;
}

const char *device_backend(void) {
    return kern_backend()->name;
}

const char *device_name(void) {
    return kern_backend()->device;
}

const char *device_isa(void) {
    const char *isa = kern_backend()->isa;
    return isa ? isa : "";
}

int device_cpu_isa_choose(char *err, size_t errlen) {
    return kern_backend_cpu_choose(err, errlen);
}

const char *device_cpu_isas(void) {
    return kern_backend_cpu_isas();
}

const char *device_precision(void) {
    return g_precision;
}

int device_host_memory(void) {
    return kern_backend()->host_memory;
}
