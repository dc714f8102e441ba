/* workload.h - the fixed training workload that `micl bench step` and `vs-torch` time: one
 * model preset (bench_preset.h) and one synthetic step (micro-batches of sequences <bos> then
 * `pairs` x (<img> name), targets at the image positions, pixels and names from a hash of their
 * index), trained by step_run, the trainer's own optimizer step, with a constant learning rate
 * and no clipping. The same on every rank and for any rank count.
 */
#ifndef MICL_BENCH_WORKLOAD_H
#define MICL_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "bench_preset.h"
#include "synthetic.h"
#include "comm/comm.h"
#include "model/vlm.h"
#include "worker/step.h"

/* The optimizer of a step: the defaults of the train section of a config, constant lr. */
#define BENCH_LR 2e-3f
#define BENCH_BETA1 0.9f
#define BENCH_BETA2 0.98f
#define BENCH_EPS 1e-8f
#define BENCH_WEIGHT_DECAY 0.01f

typedef struct {
    const bench_preset_t *p;
    int T, imgs_per_mb, tokens_per_mb;
    int32_t *tokens, *targets; /* [micro_batches * seqs * T] */
    uint8_t *pixels;           /* [micro_batches * imgs_per_mb * S * S] */
    vlm_t *m;
    size_t act_bytes;
    size_t packed_bytes; /* the linear weights packed once per update (vlm_pack_weights) */
    int64_t targets_per_step;
    int n_total;      /* warm-up + timed steps */
    int profile_from; /* the step from which kernels/profile.h counts (-1: none) */
    comm_t c;         /* ranks share the micro-batches of a step as in the trainer */
    step_t step;      /* the trainer's optimizer step */
    step_micro_t *mb;
    double *step_s, *loss;
    int *threads; /* the team each step ran on (worker/team.h) */
    /* rank 0's split of each step: its micro-batches' forward + backward, the rest of the
     * gradient reduction (sums, messages, waiting for the other ranks), the optimizer */
    double *compute_s, *reduce_s, *optim_s;
} bench_workload_t;

/* The preset's model (initialised from seed 1), its batches and timing arrays for n_total
 * steps; ranks share the micro-batches as in the trainer. adapt_threads: the step's team is
 * chosen from measured step times, as train.adapt_threads does (worker/team.h). */
void bench_workload_init(bench_workload_t *w, const bench_preset_t *p, int n_total,
                         const comm_t *comm, int adapt_threads);
void bench_workload_free(bench_workload_t *w);
/* Optimizer step number `step` (from 0): step_run with the bench's optimizer; records its
 * time split and returns the mean loss over the step's targets. */
double bench_workload_step(bench_workload_t *w, int64_t step);
/* All n_total steps, after a barrier, with the kernel profile counting from step profile_from
 * to the end if it is set; fails on a non-finite loss. */
void bench_workload_run(bench_workload_t *w);

#endif
