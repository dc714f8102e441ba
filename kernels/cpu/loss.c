/* loss.c - mean pooling over groups of rows and softmax cross-entropy over rows of logits.
 *
 * Rows are split across threads; each row's reductions run in one fixed order and the total
 * loss is summed in double over rows in order, after the parallel part.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

#include <math.h>

#include "kernels/cpu/simd.h"

void kern_cpu_mean_pool_forward(float *out, const float *inp, int64_t G, int P, int C) {
    KERN_PARALLEL_FOR(schedule(static), 1, g, G, {
        float *o = out + g * C;
        for (int c = 0; c < C; c++)
            o[c] = 0.0f;
        for (int p = 0; p < P; p++)
            for (int c = 0; c < C; c++)
                o[c] += inp[(g * P + p) * C + c];
        for (int c = 0; c < C; c++)
            o[c] /= (float)P;
    });
}

void kern_cpu_mean_pool_backward(float *dinp, const float *dout, int64_t G, int P, int C) {
    KERN_PARALLEL_FOR(schedule(static), 1, g, G, {
        for (int p = 0; p < P; p++)
            for (int c = 0; c < C; c++)
                dinp[(g * P + p) * C + c] = dout[g * C + c] / (float)P;
    });
}

static float row_max(const float *x, int V) {
    float m = x[0];
    for (int i = 1; i < V; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* log sum exp of a row, with exp evaluated 8 lanes at a time (tail lanes padded with -inf). */
static float row_lse(const float *x, int V) {
    float m = row_max(x, V);
    vf8 mv = vf8_set1(m), s = vf8_zero();
    int i = 0;
    for (; i + 8 <= V; i += 8)
        s = vf8_add(s, simd_exp(vf8_sub(vf8_loadu(x + i), mv)));
    if (i < V) {
        float t[8];
        for (int j = 0; j < 8; j++)
            t[j] = i + j < V ? x[i + j] - m : -INFINITY;
        float e[8];
        vf8_storeu(e, simd_exp(vf8_loadu(t)));
        /* simd_exp clamps -inf to exp(-87.3) ~ 1e-38: zero the padding (and NaN) explicitly */
        for (int j = 0; j < 8; j++)
            if (t[j] != t[j] || t[j] == -INFINITY) e[j] = 0.0f;
        s = vf8_add(s, vf8_loadu(e));
    }
    return m + logf(vf8_hsum(s));
}

double kern_cpu_crossentropy_forward(float *lse, const float *logits, const int32_t *targets,
                                     int64_t n, int V) {
    KERN_PARALLEL_FOR(schedule(static), 1, r, n, { lse[r] = row_lse(logits + r * V, V); });
    double total = 0.0;
    for (int64_t r = 0; r < n; r++)
        total += (double)lse[r] - (double)logits[r * V + targets[r]];
    return total;
}

void kern_cpu_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                                    const int32_t *targets, int64_t n, int V, float scale) {
    KERN_PARALLEL_FOR(schedule(static), 1, r, n, {
        const float *x = logits + r * V;
        float *d = dlogits + r * V;
        for (int i = 0; i < V; i++)
            d[i] = x[i] - lse[r];
        kern_cpu_exp_inplace(d, V);
        for (int i = 0; i < V; i++)
            d[i] *= scale;
        d[targets[r]] -= scale;
    });
}
