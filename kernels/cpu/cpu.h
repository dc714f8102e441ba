/* cpu.h - the CPU backend: host memory, vectorised + OpenMP kernels (the files of kernels/cpu).
 *
 * Each kern_cpu_<name> implements kern_<name> of kernels.h / buffer.h (documented there);
 * kernels/cpu/backend_cpu.c gathers them into the backend table. The CPU functions call each
 * other directly, not through the table.
 *
 * The files are compiled once per instruction set (kernels/cpu/isa.cmake: scalar, AVX2,
 * AVX-512), each build under its own names (isa_names.h), and kernels/cpu/isa.c picks the
 * build this process runs (isa.h). All builds give the same bits.
 */
#ifndef MICL_KERN_CPU_H
#define MICL_KERN_CPU_H

#include "kernels/backend.h"
#include "kernels/kernels.h"

#ifdef KERN_ISA_LEVEL
#include "kernels/cpu/isa_names.h"
#endif

#define KERN_CPU_PROTO(kind, ret, name, params, args) ret kern_cpu_##name params;
KERN_BACKEND_API(KERN_CPU_PROTO)
#undef KERN_CPU_PROTO

/* This build's table. */
extern const kern_backend_t kern_cpu_backend;

#endif
