/* test_step.c - `micl bench step` times the trainer's own optimizer step: from the same state,
 * the bench's timed step (bench_workload_step) and step_run driven with the arguments the
 * trainer builds (trainer_step_args, for a train section with the bench's optimizer: constant
 * lr, no clipping) give the same bits - parameters, both AdamW moments and every loss - over
 * three steps, with one thread (one pass at a time) and with two (paired passes on sibling
 * models), and with the ranks of the run (np 1 or 2) sharing the micro-batches. */
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "bench/workload.h"
#include "comm/comm.h"
#include "common/config.h"
#include "common/error.h"
#include "worker/step.h"
#include "worker/trainer.h"

enum { STEPS = 3 };

/* A train section whose optimizer is the bench's: lr constant (no warm-up, min_lr = lr). */
static train_config_t bench_train_section(void) {
    train_config_t tc;
    memset(&tc, 0, sizeof tc);
    tc.steps = STEPS;
    tc.lr = tc.min_lr = BENCH_LR;
    tc.warmup = 0;
    tc.beta1 = BENCH_BETA1;
    tc.beta2 = BENCH_BETA2;
    tc.eps = BENCH_EPS;
    tc.weight_decay = BENCH_WEIGHT_DECAY;
    tc.grad_clip = 0;
    return tc;
}

static int same(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

static int run(const comm_t *c, int threads) {
    omp_set_num_threads(threads);
    const bench_preset_t *p = bench_preset_find("tiny");
    if (!p) micl_fatal("no tiny bench preset");
    bench_workload_t w;
    bench_workload_init(&w, p, STEPS, c, 1);

    /* the trainer's side: a second model from the same initial state, its own step */
    char err[256];
    vlm_t *m = vlm_create(&p->cfg, w.tokens_per_mb, w.imgs_per_mb, err, sizeof err);
    if (!m) micl_fatal("%s", err);
    vlm_init_params(m, 1);
    size_t n = vlm_num_params(m);
    step_t s;
    step_init(&s, m, c, p->micro_batches, 1);
    step_micro_t mb[64];
    if (p->micro_batches > 64) micl_fatal("too many micro-batches");
    memset(mb, 0, sizeof mb);
    for (int i = 0; i < p->micro_batches; i++)
        mb[i].batch = w.mb[i].batch;
    train_config_t tc = bench_train_section();

    int bad = 0;
    for (int k = 0; k < STEPS; k++) {
        double bench_loss = bench_workload_step(&w, k);
        step_args_t a = trainer_step_args(&tc, k, w.targets_per_step, NULL);
        step_result_t r;
        step_run(&s, mb, &a, k, &r);
        if (!r.updated || r.loss != bench_loss) {
            fprintf(stderr, "threads %d step %d: losses %.9g (bench) and %.9g (trainer)\n", threads,
                    k, bench_loss, r.loss);
            bad++;
        }
    }
    if (!same(vlm_params(w.m), vlm_params(m), n) || !same(vlm_adam_m(w.m), vlm_adam_m(m), n) ||
        !same(vlm_adam_v(w.m), vlm_adam_v(m), n)) {
        fprintf(stderr, "threads %d: parameters or moments differ after %d steps\n", threads,
                STEPS);
        bad++;
    }
    step_free(&s);
    vlm_free(m);
    bench_workload_free(&w);
    return bad;
}

int main(int argc, char **argv) {
    comm_t c;
    comm_init(&argc, &argv, &c);
    int bad = run(&c, 1) + run(&c, 2);
    int any = comm_any(&c, bad != 0);
    if (c.rank == 0) printf("test_step np=%d: %s\n", c.size, any ? "FAILED" : "ok");
    comm_finalize();
    return any ? 1 : 0;
}
