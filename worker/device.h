/* device.h - what computes this process's model: the kernel backend (kernels/backend.h),
 * chosen once per process from model.device and model.precision (or a command line's
 * --device), before any model or buffer exists.
 *
 * Every command that trains or evaluates calls device_start (or device_use) on every rank of the
 * world first. A device that cannot be opened (no CUDA module in this build, no GPU, a driver
 * too old) is a clear error on every rank before anything is written, not a crash. The rest of
 * micl learns what computes through the accessors below (the orchestrator does not see the
 * kernels): the backend's name and device for progress headers, results and bench files.
 */
#ifndef MICL_DEVICE_H
#define MICL_DEVICE_H

#include <stddef.h>

#include "comm/comm.h"

/* Selects the backend `device` ("cpu" or "cuda") computing in `precision` ("fp32" or "bf16")
 * for this process: rank = the world rank, the GPU by comm_local_rank(world), failed CUDA calls
 * reported by micl_fatal on every rank. Collective over world: returns 0 on every rank, or -1
 * on every rank when any rank failed; a failing rank's reason is then in err ("" on the others).
 *
 * Test hook: MICL_TEST_HOST_AS_DEVICE=1 with device "cpu" installs the CPU backend's table as
 * if its buffers were device memory (host_memory = 0), so that every host-staging path runs on
 * a machine without a GPU; results must be the same bits. */
int device_use(const char *device, const char *precision, const comm_t *world, char *err,
               size_t errlen);

/* device_use for a command: `origin` names where the device was asked for, for the message
 * ("model.device = \"cuda\" (cfg:7)", "--device cuda"). On failure the first failing rank
 * prints "micl: error: <origin>: <reason>" and every rank returns MICL_EXIT_ERROR (1); on
 * success rank 0 prints the line "device: <backend> (<device>), <precision>" and it returns 0. */
int device_start(const char *device, const char *precision, const char *origin,
                 const comm_t *world);

/* The backend computing now ("cpu", "cuda"), what it runs on in words (the processor, the
 * GPU's name), and the precision of the last device_use ("fp32" before any). */
const char *device_backend(void);
const char *device_name(void);
const char *device_precision(void);
/* The instruction set the backend's kernels use ("avx512", "avx2", "scalar" on the CPU: MICL_ISA
 * or the best the processor runs; kernels/backend.h), "" where the backend has no such choice. */
const char *device_isa(void);
/* Picks the CPU kernels' instruction set now (MICL_ISA, else the best; device_use does it for
 * "cpu"): 0, or -1 with a message in err for a MICL_ISA this build or processor cannot run. */
int device_cpu_isa_choose(char *err, size_t errlen);
/* The CPU kernels' instruction sets this processor runs, worst first ("scalar avx2 avx512"). */
const char *device_cpu_isas(void);
/* 1 when the backend's buffers are host memory (the CPU): no staging copies are needed. */
int device_host_memory(void);

#endif
