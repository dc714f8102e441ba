/* bench_vlm.c - times forward + backward on the quickstart workload (not a ctest).
 *
 * One step = 4 micro-batches of 4 sequences x 37 tokens (<bos> then 18 x (<img> name)), i.e.
 * 72 images and 148 tokens each, 288 images and 592 tokens per step; the targets are the 72
 * names. Usage: bench_vlm [threads] [steps].
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"
#include "model/vlm.h"

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, steps = argc > 2 ? atoi(argv[2]) : 20;
    omp_set_num_threads(threads);
    vlm_config_t c = {28, 7, 64, 1, 4, 128, 3, 4, 4, 1400, 64, 0.02f, VLM_POOL_FLATTEN, 1, 1};
    enum { MB = 4, B = 4, T = 37, IMG = 1 };
    char err[256];
    vlm_t *m = vlm_create(&c, B * T, 72, err, sizeof err);
    if (!m) micl_fatal("%s", err);
    vlm_init_params(m, 1);
    int32_t tok[B * T], tgt[B * T];
    int n_img = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int i = b * T + t;
            tok[i] = t == 0 ? 2 : (t % 2 == 1 ? IMG : 3 + (i * 37) % 1000);
            tgt[i] = (t % 2 == 1) ? 3 + ((i + 1) * 37) % 1000 : -1;
            n_img += tok[i] == IMG;
        }
    uint8_t *px = micl_malloc((size_t)n_img * 28 * 28);
    for (size_t i = 0; i < (size_t)n_img * 28 * 28; i++)
        px[i] = (uint8_t)(i * 31);
    vlm_batch_t batch = {B, T, tok, tgt, n_img, px, IMG};
    double best = 1e30, total = 0;
    int64_t nt = 0;
    for (int s = 0; s < steps + 2; s++) {
        double t0 = omp_get_wtime();
        vlm_zero_grads(m);
        for (int mb = 0; mb < MB; mb++) {
            vlm_forward(m, &batch, &nt);
            vlm_backward(m, 1.0f / (MB * 72.0f));
        }
        double dt = omp_get_wtime() - t0;
        if (s >= 2) total += dt, best = dt < best ? dt : best;
    }
    double fl = vlm_flops_per_step_targets(&c, MB * B * T, MB * n_img, T, MB * nt);
    printf("threads %d: %.2f ms/step mean, %.2f ms best (%d images, %d tokens, %lld targets); "
           "%.1f GFLOP/s (mean)\n",
           threads, 1e3 * total / steps, 1e3 * best, MB * n_img, MB * B * T, (long long)(MB * nt),
           fl / (total / steps) * 1e-9);
    free(px);
    vlm_free(m);
    return 0;
}
