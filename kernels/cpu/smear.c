/* smear.c - smeared keys: every decoder key mixed with the key of the position before it.
 *
 * A causal model binds a name to the image before it with two attention steps: one head copies
 * the image into the name's position, a later head matches the query image against it (an
 * induction head). Mixing each key with the previous position's key, k'_t = s k_t + (1-s)
 * k_{t-1} with a learned s per head, lets a single head do the matching, which makes in-context
 * binding appear early and reliably ("smeared keys", Olsson et al. 2022, "In-context Learning
 * and Induction Heads"). The mix is applied after RoPE, so each part keeps its own position.
 *
 * Forward and backward are elementwise over (sequence, position, column) except the mix's
 * gradient, which sums one head's terms in a fixed order (sequence, position, column) in double.
 */
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

static float mix_of(float alpha) {
    return 1.0f / (1.0f + expf(-alpha));
}

void kern_cpu_smear_keys_forward(float *qkv, float *kraw, const float *alpha, int B, int T, int H,
                                 int C, const float *k_before) {
    int hd = C / H;
    KERN_PARALLEL_FOR(schedule(static), 1, b, B, {
        for (int t = 0; t < T; t++)
            memcpy(kraw + ((int64_t)b * T + t) * C, qkv + ((int64_t)b * T + t) * 3 * C + C,
                   sizeof(float) * (size_t)C);
        for (int t = 0; t < T; t++) {
            const float *prev = t > 0 ? kraw + ((int64_t)b * T + t - 1) * C : k_before;
            if (!prev) continue;
            float *k = qkv + ((int64_t)b * T + t) * 3 * C + C;
            const float *raw = kraw + ((int64_t)b * T + t) * C;
            for (int h = 0; h < H; h++) {
                float s = mix_of(alpha[h]), r = 1.0f - s;
                for (int d = h * hd; d < (h + 1) * hd; d++)
                    k[d] = s * raw[d] + r * prev[d];
            }
        }
    });
}

void kern_cpu_smear_keys_backward(float *dqkv, float *dalpha, const float *kraw, const float *alpha,
                                  int B, int T, int H, int C) {
    int hd = C / H;
    /* dalpha_h = s (1 - s) sum_{b, t >= 1} (k_t - k_{t-1}) . dk'_t over the head's columns */
    KERN_PARALLEL_FOR(schedule(static), 1, h, H, {
        double acc = 0.0;
        for (int b = 0; b < B; b++)
            for (int t = 1; t < T; t++) {
                const float *dk = dqkv + ((int64_t)b * T + t) * 3 * C + C;
                const float *k = kraw + ((int64_t)b * T + t) * C, *kp = k - C;
                float dot = 0.0f;
                for (int d = h * hd; d < (h + 1) * hd; d++)
                    dot += (k[d] - kp[d]) * dk[d];
                acc += (double)dot;
            }
        float s = mix_of(alpha[h]);
        dalpha[h] += (float)((double)s * (double)(1.0f - s) * acc);
    });
    /* dk_t = s dk'_t + (1 - s) dk'_{t+1} (dk_0 = dk'_0 + (1 - s) dk'_1): ascending t reads
     * dk'_{t+1} before it is overwritten. */
    KERN_PARALLEL_FOR(schedule(static), 1, b, B, {
        for (int t = 0; t < T; t++) {
            float *dk = dqkv + (b * T + t) * 3 * C + C;
            const float *next = t + 1 < T ? dk + 3 * C : NULL;
            for (int h = 0; h < H; h++) {
                float s = mix_of(alpha[h]), r = 1.0f - s, own = t > 0 ? s : 1.0f;
                for (int d = h * hd; d < (h + 1) * hd; d++)
                    dk[d] = own * dk[d] + (next ? r * next[d] : 0.0f);
            }
        }
    });
}
