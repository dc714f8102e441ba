/* cpu.h - the CPU backend: host memory, AVX2 + OpenMP kernels (the files of kernels/cpu).
 *
 * Each kern_cpu_<name> implements kern_<name> of kernels.h / buffer.h (documented there);
 * kernels/cpu/backend_cpu.c gathers them into the backend table, the default one of every
 * process. The CPU functions call each other directly, not through the table.
 */
#ifndef MICL_KERN_CPU_H
#define MICL_KERN_CPU_H

#include "kernels/backend.h"
#include "kernels/kernels.h"

#define KERN_CPU_PROTO(kind, ret, name, params, args) ret kern_cpu_##name params;
KERN_BACKEND_API(KERN_CPU_PROTO)
#undef KERN_CPU_PROTO

/* The CPU backend's table. */
extern const kern_backend_t kern_cpu_backend;

#endif
