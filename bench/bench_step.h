/* bench_step.h - `micl bench step|vs-torch`: training-step performance figures (not tests).
 *
 *   micl bench step     [--config quickstart|large|tiny] [--steps N] [--warmup W] [--threads T]
 *                       [-o BENCH.h5]
 *   micl bench vs-torch [same options]
 *
 * `step` times warm-up + N full training steps (zero grads, forward + backward per micro-batch,
 * AdamW) of a built-in model preset and reports ms/step, tokens/s, images/s, GFLOP/s, the share
 * of a single-core GEMM peak measured in the same run, peak RSS and the arena sizes.
 * `vs-torch` also trains the same model from the same initial parameters on the same batch in
 * PyTorch (tests/reference/bench_torch.py run by $MICL_PYTHON, default /usr/bin/python3) and
 * prints both side by side, after checking that the first step's losses agree. See
 * bench/README.md.
 */
#ifndef MICL_BENCH_STEP_H
#define MICL_BENCH_STEP_H

#include "comm/comm.h"
#include "common/cli_args.h"

extern const cli_command_t CLI_BENCH_STEP, CLI_BENCH_VS_TORCH;

/* argv[0] is "step" or "vs-torch". Returns a MICL_EXIT_* code. */
int bench_step_main(int argc, char **argv, const comm_t *comm);

#endif
