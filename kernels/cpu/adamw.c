/* adamw.c - AdamW over the flat parameter arena, gradient norm and scaling (see adamw.h).
 *
 * Elementwise work is split across threads; the gradient norm sums fixed blocks in double and
 * then adds the block sums in order, so its value does not depend on the thread count.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

#include <math.h>

#define NORM_BLOCK 8192
#define NORM_GROUP 256

void kern_cpu_adamw_update(float *params, const float *grads, float *m, float *v,
                           const uint8_t *decay_mask, size_t n, float lr, float beta1, float beta2,
                           float eps, float weight_decay, int64_t step) {
    float bc1 = 1.0f - powf(beta1, (float)step);
    float bc2 = 1.0f - powf(beta2, (float)step);
    KERN_PARALLEL_FOR(schedule(static), 1, i, (int64_t)(n), {
        float g = grads[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float mhat = mi / bc1, vhat = vi / bc2;
        float wd = (decay_mask == NULL || decay_mask[i]) ? weight_decay : 0.0f;
        params[i] -= lr * (mhat / (sqrtf(vhat) + eps) + wd * params[i]);
    });
}

/* Sum of squares of blocks [b0, b0 + nb) (nb <= NORM_CHAINS) into part[0..nb): each block's
 * terms added in order from zero, the blocks' chains interleaved so that nb additions are in
 * flight at once (one chain alone waits out each addition's latency). A block's value is the
 * one a loop over it alone gives. */
#define NORM_CHAINS 8
static void block_sums(double *part, const float *g, size_t n, size_t b0, size_t nb) {
    double s[NORM_CHAINS] = {0};
    size_t full = 0; /* blocks that are whole: they share one loop */
    while (full < nb && (b0 + full + 1) * NORM_BLOCK <= n)
        full++;
    const float *base = g + b0 * NORM_BLOCK;
    if (full == NORM_CHAINS) {
        for (size_t i = 0; i < NORM_BLOCK; i++)
            for (size_t c = 0; c < NORM_CHAINS; c++) {
                double x = (double)base[c * NORM_BLOCK + i];
                s[c] += x * x;
            }
    } else {
        for (size_t c = 0; c < full; c++)
            for (size_t i = 0; i < NORM_BLOCK; i++) {
                double x = (double)base[c * NORM_BLOCK + i];
                s[c] += x * x;
            }
    }
    for (size_t c = full; c < nb; c++) { /* the last, short block */
        size_t blk = b0 + c, end = (blk + 1) * NORM_BLOCK < n ? (blk + 1) * NORM_BLOCK : n;
        for (size_t i = blk * NORM_BLOCK; i < end; i++)
            s[c] += (double)g[i] * (double)g[i];
    }
    for (size_t c = 0; c < nb; c++)
        part[c] = s[c];
}

/* The blocks' sums are taken in parallel, a group of NORM_GROUP blocks at a time (NORM_CHAINS
 * per task), and added to the total in block order by one thread: the same additions as one
 * pass, on every thread count (an `ordered` loop would make each thread wait for the one before
 * it). */
double kern_cpu_grad_norm(const float *g, size_t n) {
    size_t n_blocks = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    double total = 0.0, part[NORM_GROUP];
    for (size_t b0 = 0; b0 < n_blocks; b0 += NORM_GROUP) {
        size_t nb = n_blocks - b0 < NORM_GROUP ? n_blocks - b0 : NORM_GROUP;
        size_t n_tasks = (nb + NORM_CHAINS - 1) / NORM_CHAINS;
        KERN_PARALLEL_FOR(schedule(static), 1, k, (int64_t)(n_tasks), {
            size_t c0 = k * NORM_CHAINS;
            size_t cn = nb - c0 < NORM_CHAINS ? nb - c0 : NORM_CHAINS;
            block_sums(part + c0, g, n, b0 + c0, cn);
        });
        for (size_t k = 0; k < nb; k++)
            total += part[k];
    }
    return sqrt(total);
}

void kern_cpu_scale_inplace(float *x, size_t n, float s) {
    KERN_PARALLEL_FOR(schedule(static), 1, i, (int64_t)n, { x[i] *= s; });
}
