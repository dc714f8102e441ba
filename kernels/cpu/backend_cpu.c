/* backend_cpu.c - the CPU backend's table (kernels/backend.h) of one instruction-set build:
 * every entry is that build's kern_cpu_ function of the same name. Buffers are host memory; there
 * is no device transport. */
#include "kernels/cpu/cpu.h"

#define KERN_ISA_STR_(isa) #isa
#define KERN_ISA_STR(isa) KERN_ISA_STR_(isa)
#define KERN_ISA_STRING KERN_ISA_STR(KERN_ISA_NAME)

const kern_backend_t kern_cpu_backend = {.name = "cpu",
                                         .device = "the host's processor",
                                         .host_memory = 1,
                                         .isa = KERN_ISA_STRING,
#define KERN_CPU_ENTRY(kind, ret, name, params, args) .name = kern_cpu_##name,
                                         KERN_BACKEND_API(KERN_CPU_ENTRY)
#undef KERN_CPU_ENTRY
};
