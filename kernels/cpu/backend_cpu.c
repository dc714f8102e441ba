/* backend_cpu.c - the CPU backend's table (kernels/backend.h): every entry is the kern_cpu_
 * function of the same name. Buffers are host memory; there is no device transport. */
#include "kernels/cpu/cpu.h"

const kern_backend_t kern_cpu_backend = {.name = "cpu",
                                         .device = "the host's processor",
                                         .host_memory = 1,
#define KERN_CPU_ENTRY(kind, ret, name, params, args) .name = kern_cpu_##name,
                                         KERN_BACKEND_API(KERN_CPU_ENTRY)
#undef KERN_CPU_ENTRY
};
