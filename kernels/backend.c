/* backend.c - the process's backend (kernels/backend.h): every kern_ function of kernels.h and
 * buffer.h forwards to the same entry of the current table, which is the CPU's chosen
 * instruction-set build (kernels/cpu/isa.c) until kern_backend_use swaps in the CUDA module's.
 *
 * The module is found in this order: the file MICL_CUDA_MODULE names; libmicl_cuda.so in the
 * folder of the running executable (where the build puts it beside micl); the loader's search
 * path. It is opened with RTLD_NOW | RTLD_LOCAL, so a missing CUDA library shows here, with
 * dlerror's words, and not at the first kernel.
 */
#define _GNU_SOURCE
#include "kernels/backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "kernels/profile.h"

static const kern_backend_t *current; /* NULL until the first call: the CPU's chosen build */

const kern_backend_t *kern_backend(void) {
    if (!current) current = kern_backend_cpu();
    return current;
}

void kern_backend_set(const kern_backend_t *b) {
    current = b;
}

/* A call goes straight to the table, or, while kernels/profile.h counts, between
 * kern_profile_enter and kern_profile_leave. */
#define KERN_CALL_V(ret, name, call)                                                               \
    if (__atomic_load_n(&kern_profile_counting, __ATOMIC_RELAXED)) {                               \
        double t0_ = kern_profile_enter();                                                         \
        call;                                                                                      \
        kern_profile_leave(KERN_PROFILE_##name, t0_);                                              \
        return;                                                                                    \
    }                                                                                              \
    call;
#define KERN_CALL_R(ret, name, call)                                                               \
    if (__atomic_load_n(&kern_profile_counting, __ATOMIC_RELAXED)) {                               \
        double t0_ = kern_profile_enter();                                                         \
        ret r_ = call;                                                                             \
        kern_profile_leave(KERN_PROFILE_##name, t0_);                                              \
        return r_;                                                                                 \
    }                                                                                              \
    return call;
#define KERN_FORWARD(kind, ret, name, params, args)                                                \
    ret kern_##name params {                                                                       \
        KERN_CALL_##kind(ret, name, kern_backend()->name args)                                     \
    }
KERN_BACKEND_API(KERN_FORWARD)
#undef KERN_FORWARD

/* dlopen of path; on failure appends dlerror's words to err. */
static void *open_module(const char *path, char *err, size_t errlen) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", dlerror());
    }
    return h;
}

/* The module: MICL_CUDA_MODULE, beside the executable, then by name. */
static void *find_module(char *err, size_t errlen) {
    err[0] = '\0';
    const char *env = getenv("MICL_CUDA_MODULE");
    if (env && env[0]) return open_module(env, err, errlen);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash && (size_t)(slash - exe) + sizeof "/libmicl_cuda.so" < sizeof exe) {
            strcpy(slash, "/libmicl_cuda.so");
            if (access(exe, F_OK) == 0) return open_module(exe, err, errlen);
        }
    }
    return open_module("libmicl_cuda.so", err, errlen);
}

int kern_backend_use(const char *name, const kern_backend_host_t *host, char *err, size_t errlen) {
    if (strcmp(name, "cpu") == 0) {
        if (host->precision != KERN_PRECISION_FP32) {
            snprintf(err, errlen, "the CPU backend computes in fp32 only");
            return -1;
        }
        if (kern_backend_cpu_choose(err, errlen) != 0) return -1;
        current = kern_backend_cpu();
        return 0;
    }
    if (strcmp(name, "cuda") != 0) {
        snprintf(err, errlen, "unknown device \"%s\" (cpu or cuda)", name);
        return -1;
    }
    char why[1024];
    void *h = find_module(why, sizeof why);
    if (!h) {
        snprintf(err, errlen,
                 "device \"cuda\" needs the CUDA backend module libmicl_cuda.so (a build with "
                 "MICL_ENABLE_CUDA=ON, e.g. cmake --preset cuda) and its CUDA libraries: %s",
                 why);
        return -1;
    }
    kern_backend_open_fn open_fn;
    *(void **)&open_fn = dlsym(h, KERN_CUDA_ENTRY);
    if (!open_fn) {
        snprintf(err, errlen, "libmicl_cuda.so has no %s: %s", KERN_CUDA_ENTRY, dlerror());
        dlclose(h);
        return -1;
    }
    const kern_backend_t *b = open_fn(host, why, sizeof why);
    if (!b) {
        snprintf(err, errlen, "device \"cuda\": %s", why);
        dlclose(h); /* nothing of the module is in use */
        return -1;
    }
    current = b; /* the module stays open for the life of the process */
    return 0;
}
