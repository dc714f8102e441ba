/* step.c - one optimizer step (see step.h): the training step of micl, read top to bottom.
 *
 *   step_run
 *     team_next                              the threads of this step (team.h)
 *     vlm_pack_weights                       once per update, for every pass of this step
 *     comm_tree_begin                        this rank's micro-batches = the tree's leaves
 *     for each micro-batch (two at once with 2+ threads):
 *       micro_batch_pass                     zero, forward, backward into the leaf buffer
 *       comm_tree_add                        sum it in along the fixed tree
 *     comm_tree_finish                       the step's gradient, on every rank
 *     gather_losses                          loss and targets of every micro-batch, in order
 *     kern_grad_norm, clip, kern_adamw_update   the same bits on every rank
 *     team_record                            the step's time teaches the team
 */
#define _POSIX_C_SOURCE 200809L
#include "step.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/error.h"
#include "kernels/buffer.h"
#include "kernels/backend.h"
#include "kernels/kernels.h"

void step_init(step_t *s, vlm_t *m, const comm_t *c, int micro_batches, int adapt_threads) {
    memset(s, 0, sizeof *s);
    s->model[0] = m;
    /* Two passes at once only where buffers are host memory: a device backend runs every call
     * on one stream, in issue order, with scratch shared by all its calls. */
    int host = kern_backend()->host_memory;
    s->threads = omp_get_max_threads();
    s->n_models = host && s->threads >= 2 ? 2 : 1;
    team_init(&s->team, s->threads, host && adapt_threads);
    /* MICL_TEST_TEAM_CYCLE=1: step k runs on team size k mod the candidates, so that the tests
     * see a run whose team changes at every step give the bits of a fixed team. */
    const char *cycle = getenv("MICL_TEST_TEAM_CYCLE");
    s->team_cycle = cycle && atoi(cycle) == 1;
    if (s->n_models == 2) s->model[1] = vlm_create_sibling(m);
    s->comm = c;
    s->micro_batches = micro_batches;
    size_t n = vlm_num_params(m);
    comm_tree_init(&s->tree, n, micro_batches);
    s->grad = kern_alloc(n * sizeof(float));
    uint8_t *decay = micl_malloc(n > 0 ? n : 1);
    for (int i = 0; i < vlm_num_tensors(m); i++) {
        const vlm_tensor_t *t = vlm_tensor(m, i);
        memset(decay + t->offset, t->decay ? 1 : 0, t->size);
    }
    s->decay = kern_alloc(n > 0 ? n : 1);
    kern_copy_from_host(s->decay, decay, n);
    free(decay);
    s->mb_sums = micl_calloc((size_t)micro_batches * 2, sizeof(double));
    s->all_sums = micl_calloc((size_t)micro_batches * 2, sizeof(double));
}

void step_free(step_t *s) {
    if (s->n_models == 2) vlm_free(s->model[1]);
    comm_tree_free(&s->tree);
    kern_free(s->grad);
    kern_free(s->decay);
    free(s->mb_sums);
    free(s->all_sums);
    memset(s, 0, sizeof *s);
}

void step_micro_range(const step_t *s, int *lo, int *hi) {
    comm_block(s->micro_batches, s->comm->rank, s->comm->size, lo, hi);
}

/* ---- the passes --------------------------------------------------------------------------- */

/* Micro-batch mb on model m: its gradient, scaled by `scale`, straight into grad (no copy). */
static void micro_batch_pass(vlm_t *m, step_micro_t *mb, float *grad, float scale) {
    mb->t0 = clock_now_s();
    vlm_bind_grads(m, grad);
    vlm_zero_grads(m);
    mb->loss = vlm_forward(m, &mb->batch, &mb->targets);
    if (mb->logits)
        kern_copy_to_host(mb->logits, vlm_logits(m),
                          (size_t)mb->targets * (size_t)vlm_config(m)->vocab * sizeof(float));
    vlm_backward(m, scale);
    vlm_bind_grads(m, NULL);
    mb->t1 = clock_now_s();
}

/* Micro-batches i and i + 1 at the same time on the two models, each on half of the threads.
 * Nested teams need a second active level; with 2 threads the kernels inside run on their
 * calling thread. */
static void micro_batch_pair(step_t *s, step_micro_t *mb, int i, float scale) {
    float *grad[2] = {comm_tree_leaf(&s->tree, i), comm_tree_leaf(&s->tree, i + 1)};
    int threads = omp_get_max_threads(), inner = threads / 2;
    if (inner > 1 && omp_get_max_active_levels() < 2) omp_set_max_active_levels(2);
#pragma omp parallel num_threads(2)
    {
        int k = omp_get_thread_num();
        omp_set_num_threads(k == 0 ? inner : threads - inner);
        micro_batch_pass(s->model[k], &mb[i + k], grad[k], scale);
    }
}

/* Wall time covered by the passes of micro-batches [lo, hi) (paired passes overlap). */
static double passes_time(const step_micro_t *mb, int lo, int hi) {
    double total = 0, end = -INFINITY;
    for (int i = lo; i < hi; i++) { /* they start in index order */
        double a = mb[i].t0 > end ? mb[i].t0 : end;
        if (mb[i].t1 > a) total += mb[i].t1 - a;
        if (mb[i].t1 > end) end = mb[i].t1;
    }
    return total;
}

/* The loss and targets of every micro-batch of every rank, summed in index order. */
static void gather_losses(step_t *s, const step_micro_t *mb, int lo, int hi, step_result_t *r) {
    for (int i = lo; i < hi; i++) {
        s->mb_sums[2 * (i - lo)] = mb[i].loss;
        s->mb_sums[2 * (i - lo) + 1] = (double)mb[i].targets;
    }
    comm_allgather_blocks_f64(s->comm, s->micro_batches, s->mb_sums, s->all_sums, 2);
    double loss = 0, targets = 0;
    for (int i = 0; i < s->micro_batches; i++) {
        loss += s->all_sums[2 * i];
        targets += s->all_sums[2 * i + 1];
    }
    r->targets = (int64_t)targets;
    r->loss = targets > 0 ? loss / targets : 0.0;
}

/* L2 norm of each tensor's slice of the gradient, summed in a fixed order (the same bytes on
 * every rank and for any rank count, since the reduced gradient is). A diagnostic: on a device
 * backend the gradient is copied to the host for it. */
static void tensor_norms(const vlm_t *m, const float *grad, size_t n, double *out) {
    float *host = NULL;
    if (!kern_backend()->host_memory) {
        host = micl_malloc(n * sizeof(float) + 1);
        kern_copy_to_host(host, grad, n * sizeof(float));
        grad = host;
    }
    for (int i = 0; i < vlm_num_tensors(m); i++) {
        const vlm_tensor_t *t = vlm_tensor(m, i);
        double ss = 0;
        for (size_t j = 0; j < t->size; j++)
            ss += (double)grad[t->offset + j] * (double)grad[t->offset + j];
        out[i] = sqrt(ss);
    }
    free(host);
}

/* ---- the step ----------------------------------------------------------------------------- */

/* The team learns the step's wall time (a rank that waits for a slower one sees the same time
 * whatever its team, and keeps its choice); the full team is restored for whatever runs
 * between steps. */
static int step_done(step_t *s, const step_result_t *r, double t0) {
    double now = clock_now_s();
    team_record(&s->team, now - t0, now);
    omp_set_num_threads(s->threads);
    return r->updated;
}

int step_run(step_t *s, step_micro_t *mb, const step_args_t *a, int64_t step, step_result_t *r) {
    vlm_t *m = s->model[0];
    size_t n = vlm_num_params(m);
    memset(r, 0, sizeof *r);
    double t0 = clock_now_s();
    r->threads = s->team_cycle ? s->team.size[step % s->team.n_sizes] : team_next(&s->team);
    omp_set_num_threads(r->threads); /* the kernels' teams; restored below */

    vlm_pack_weights(m); /* once per update, for every micro-batch and sibling */
    comm_tree_begin(&s->tree, s->comm, s->micro_batches, s->grad);
    int lo = s->tree.leaf_lo, hi = s->tree.leaf_hi;
    for (int i = lo; i < hi;) {
        if (s->n_models == 2 && r->threads >= 2 && i + 1 < hi) {
            micro_batch_pair(s, mb, i, a->loss_scale);
            comm_tree_add(&s->tree, i);
            comm_tree_add(&s->tree, i + 1);
            i += 2;
        } else {
            micro_batch_pass(m, &mb[i], comm_tree_leaf(&s->tree, i), a->loss_scale);
            comm_tree_add(&s->tree, i);
            i += 1;
        }
    }
    comm_tree_finish(&s->tree);
    gather_losses(s, mb, lo, hi, r);
    double t1 = clock_now_s();
    r->compute_s = passes_time(mb, lo, hi);
    r->reduce_s = t1 - t0 - r->compute_s;

    r->grad_norm = kern_grad_norm(s->grad, n);
    if (!isfinite(r->loss) || !isfinite(r->grad_norm)) {
        r->optim_s = clock_now_s() - t1;
        return step_done(s, r, t0);
    }
    if (a->tensor_norms) tensor_norms(m, s->grad, n, a->tensor_norms);
    if (a->grad_clip > 0 && r->grad_norm > a->grad_clip)
        kern_scale_inplace(s->grad, n, (float)(a->grad_clip / r->grad_norm));
    kern_adamw_update(vlm_params(m), s->grad, vlm_adam_m(m), vlm_adam_v(m), s->decay, n, a->lr,
                      a->beta1, a->beta2, a->eps, a->weight_decay, step + 1);
    r->optim_s = clock_now_s() - t1;
    r->updated = 1;
    return step_done(s, r, t0);
}
