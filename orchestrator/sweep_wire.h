/* sweep_wire.h - a run's result as one message: the bytes a group leader sends its coordinator.
 *
 * The record (counters, timings, evaluation rows, stage starts), then the training curve and
 * the per-tensor gradient norms. Both ends run the same binary, so the fixed part travels as the
 * struct itself with its pointers cleared; unpacking checks every length against the message.
 */
#ifndef MICL_SWEEP_WIRE_H
#define MICL_SWEEP_WIRE_H

#include <stddef.h>

#include "common/results.h"

/* A malloc'd message holding `run`; its size in *size. */
void *sweep_wire_pack(const run_result_t *run, size_t *size);
/* Fills *run (owning its curve) from a message; fails on a malformed one. */
void sweep_wire_unpack(const void *msg, size_t size, run_result_t *run);

#endif
