/* step.h - one optimizer step of data-parallel training: the function `micl train`,
 * `micl sweep` and `micl bench step` all run.
 *
 * A step reads top to bottom (step.c): pack the weights once; for each micro-batch of this rank,
 * zero the gradient, forward, backward into the fixed tree's leaf buffer and add the leaf;
 * finish the tree (the gradient summed over all micro-batches of all ranks, the same bits for
 * any rank count); gather the losses; clip; AdamW. The step runs on a team of threads that can
 * shrink beside a busy neighbour (team.h). With two or more OpenMP threads two
 * micro-batches run at once on sibling models, each on half the threads (the kernels give the
 * same bits for any thread count, so the pairing changes no bit).
 *
 * The caller owns the batches: for each micro-batch i of this rank (step_micro_range) it fills
 * mb[i].batch before step_run. What a micro-batch's forward gave comes back in mb[i].
 */
#ifndef MICL_STEP_H
#define MICL_STEP_H

#include <stdint.h>

#include "comm/comm.h"
#include "comm/comm_tree.h"
#include "model/vlm.h"
#include "team.h"

/* The optimizer of one step. */
typedef struct {
    float lr, beta1, beta2, eps, weight_decay;
    double grad_clip;     /* clip the gradient's L2 norm to this (0: no clipping) */
    float loss_scale;     /* dLoss/dlogit scale: 1 / the targets of the whole step */
    double *tensor_norms; /* if set: each tensor's gradient norm before clipping */
} step_args_t;

/* One micro-batch: the caller's batch in, the forward's figures out. */
typedef struct {
    vlm_batch_t batch;
    float *logits;   /* if set: receives the forward's logits [targets x vocab] */
    double loss;     /* sum of the cross-entropy over its targets */
    int64_t targets; /* positions with a target */
    double t0, t1;   /* wall clock around its pass (seconds) */
} step_micro_t;

/* What the step did, the same on every rank. */
typedef struct {
    double loss;      /* mean cross-entropy over the step's targets */
    int64_t targets;  /* targets of the whole step */
    double grad_norm; /* before clipping */
    int updated;      /* 0: the loss or the gradient was not finite; parameters untouched */
    double compute_s, reduce_s, optim_s; /* wall time: passes, the rest of the reduction, AdamW */
    int threads;                         /* the team this step ran on (team.h) */
} step_result_t;

typedef struct {
    vlm_t *model[2]; /* the model and, with 2+ threads, a sibling for the paired pass */
    int n_models;
    int threads;    /* the full team: OpenMP's maximum at step_init */
    team_t team;    /* the team each step runs on: the full one, or smaller beside a neighbour */
    int team_cycle; /* a test's schedule: every candidate size in turn (step.c) */
    const comm_t *comm;
    int micro_batches;
    comm_tree_t tree;
    float *grad;     /* the reduced gradient */
    uint8_t *decay;  /* a buffer: 1 where AdamW's weight decay applies */
    double *mb_sums; /* [micro_batches x 2]: loss and targets, gathered in index order */
    double *all_sums;
} step_t;

/* A step of `micro_batches` micro-batches for model m on communicator c, on OpenMP's maximum
 * team, or with adapt_threads on host memory, on a team chosen from measured step times
 * (team.h). */
void step_init(step_t *s, vlm_t *m, const comm_t *c, int micro_batches, int adapt_threads);
void step_free(step_t *s);
/* The micro-batches [*lo, *hi) this rank computes. */
void step_micro_range(const step_t *s, int *lo, int *hi);
/* One optimizer step (update number `step` counts from 0). mb has micro_batches entries;
 * this rank's are read and written. Returns r->updated. */
int step_run(step_t *s, step_micro_t *mb, const step_args_t *a, int64_t step, step_result_t *r);

#endif
