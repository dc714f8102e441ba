/* workload.c - the training workload of `micl bench step` and `vs-torch` (see workload.h). */
#define _POSIX_C_SOURCE 200809L
#include "workload.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define BENCH_HAVE_MALLINFO2 1
#endif

#include "bench_out.h"
#include "common/clock.h"
#include "common/error.h"
#include "kernels/profile.h"

/* Bytes currently allocated through malloc (0 where the C library cannot tell). */
static size_t heap_bytes(void) {
#ifdef BENCH_HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#else
    return 0;
#endif
}

void bench_workload_init(bench_workload_t *w, const bench_preset_t *p, int n_total,
                         const comm_t *comm, int adapt_threads) {
    memset(w, 0, sizeof *w);
    w->c = *comm;
    w->p = p;
    w->T = 1 + 2 * p->pairs;
    w->imgs_per_mb = p->seqs * p->pairs;
    w->tokens_per_mb = p->seqs * w->T;
    w->targets_per_step = (int64_t)p->micro_batches * w->imgs_per_mb;
    w->n_total = n_total;
    w->profile_from = -1;
    const vlm_config_t *c = &p->cfg;
    size_t n_tok = (size_t)p->micro_batches * (size_t)w->tokens_per_mb;
    size_t S2 = (size_t)c->image_size * (size_t)c->image_size;
    size_t n_px = (size_t)p->micro_batches * (size_t)w->imgs_per_mb * S2;
    w->tokens = micl_malloc(n_tok * sizeof(int32_t));
    w->targets = micl_malloc(n_tok * sizeof(int32_t));
    w->pixels = micl_malloc(n_px);
    bench_synthetic_batch(w->tokens, w->targets, n_tok / (size_t)w->T, p->pairs, c->vocab,
                          w->pixels, n_px);

    char err[256];
    size_t heap0 = heap_bytes();
    w->m = vlm_create(c, w->tokens_per_mb, w->imgs_per_mb, err, sizeof err);
    if (!w->m) micl_fatal("bench preset '%s': %s", p->name, err);
    size_t heap1 = heap_bytes(), arena = 4 * vlm_num_params(w->m) * sizeof(float);
    w->packed_bytes = vlm_packed_bytes(w->m);
    /* what vlm_create allocated beyond the parameter arena and the packed weights: the
     * activation arena (plus a few small tables) */
    arena += w->packed_bytes;
    w->act_bytes = heap1 > heap0 + arena ? heap1 - heap0 - arena : 0;
    vlm_init_params(w->m, 1);
    w->step_s = micl_calloc((size_t)n_total, sizeof(double));
    w->loss = micl_calloc((size_t)n_total, sizeof(double));
    w->compute_s = micl_calloc((size_t)n_total, sizeof(double));
    w->reduce_s = micl_calloc((size_t)n_total, sizeof(double));
    w->optim_s = micl_calloc((size_t)n_total, sizeof(double));
    w->threads = micl_calloc((size_t)n_total, sizeof(int));
    step_init(&w->step, w->m, &w->c, p->micro_batches, adapt_threads);
    w->mb = micl_calloc((size_t)p->micro_batches, sizeof(step_micro_t));
    for (int mb = 0; mb < p->micro_batches; mb++) {
        size_t t0 = (size_t)mb * (size_t)w->tokens_per_mb;
        w->mb[mb].batch = (vlm_batch_t){
            p->seqs,          w->T,           w->tokens + t0,
            w->targets + t0,  w->imgs_per_mb, w->pixels + (size_t)mb * (size_t)w->imgs_per_mb * S2,
            BENCH_IMAGE_TOKEN};
    }
}

void bench_workload_free(bench_workload_t *w) {
    step_free(&w->step);
    vlm_free(w->m);
    free(w->mb);
    free(w->tokens), free(w->targets), free(w->pixels);
    free(w->step_s), free(w->loss);
    free(w->compute_s), free(w->reduce_s), free(w->optim_s), free(w->threads);
}

/* One optimizer step: step_run, the function the trainer runs (constant learning rate, no
 * clipping); returns the mean loss over the step's targets, the same on every rank and for
 * any rank count. */
double bench_workload_step(bench_workload_t *w, int64_t step) {
    step_args_t a = {.lr = BENCH_LR,
                     .beta1 = BENCH_BETA1,
                     .beta2 = BENCH_BETA2,
                     .eps = BENCH_EPS,
                     .weight_decay = BENCH_WEIGHT_DECAY,
                     .loss_scale = 1.0f / (float)w->targets_per_step};
    step_result_t r;
    step_run(&w->step, w->mb, &a, step, &r);
    if (r.targets != w->targets_per_step)
        micl_fatal("bench: step %lld has %lld targets, expected %lld", (long long)step + 1,
                   (long long)r.targets, (long long)w->targets_per_step);
    w->compute_s[step] = r.compute_s;
    w->reduce_s[step] = r.reduce_s;
    w->optim_s[step] = r.optim_s;
    w->threads[step] = r.threads;
    return r.loss;
}

void bench_workload_run(bench_workload_t *w) {
    comm_barrier(&w->c);
    for (int s = 0; s < w->n_total; s++) {
        if (s == w->profile_from) kern_profile_start();
        double t0 = clock_now_s();
        w->loss[s] = bench_workload_step(w, s);
        w->step_s[s] = clock_now_s() - t0;
        if (!isfinite(w->loss[s])) micl_fatal("bench: step %d: non-finite loss", s + 1);
    }
    kern_profile_stop();
}
