/* pointwise.c - elementwise kernels: GELU (tanh form), exp, adds, row broadcasts and sums.
 *
 * Transcendentals are vectorised (simd_exp) with tails padded to 8 lanes, so every element is
 * computed by the same instructions wherever a thread's range ends.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

#include "kernels/cpu/simd.h"

#define BLOCK 4096 /* elements per parallel task (a multiple of 8) */

void kern_cpu_gelu_forward(float *out, const float *inp, int64_t n) {
    int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
    KERN_PARALLEL_FOR(schedule(static), 1, blk, n_blocks, {
        int64_t i = blk * BLOCK, end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + 8 <= end; i += 8)
            vf8_storeu(out + i, simd_gelu(vf8_loadu(inp + i)));
        if (i < end)
            simd_store_partial(out + i, simd_gelu(simd_load_partial(inp + i, (int)(end - i))),
                               (int)(end - i));
    });
}

void kern_cpu_gelu_backward(float *dinp, const float *inp, const float *dout, int64_t n) {
    int64_t n_blocks = (n + BLOCK - 1) / BLOCK;
    KERN_PARALLEL_FOR(schedule(static), 1, blk, n_blocks, {
        int64_t i = blk * BLOCK, end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + 8 <= end; i += 8) {
            vf8 g = simd_gelu_grad(vf8_loadu(inp + i));
            vf8_storeu(dinp + i, vf8_mul(g, vf8_loadu(dout + i)));
        }
        if (i < end) {
            int r = (int)(end - i);
            vf8 g = simd_gelu_grad(simd_load_partial(inp + i, r));
            simd_store_partial(dinp + i, vf8_mul(g, simd_load_partial(dout + i, r)), r);
        }
    });
}

void kern_cpu_exp_inplace(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vf8_storeu(x + i, simd_exp(vf8_loadu(x + i)));
    if (i < n)
        simd_store_partial(x + i, simd_exp(simd_load_partial(x + i, (int)(n - i))), (int)(n - i));
}

void kern_cpu_add_inplace(float *y, const float *x, int64_t n) {
    KERN_PARALLEL_FOR(schedule(static), 1, i, n, { y[i] += x[i]; });
}

void kern_cpu_add_rows(float *y, const float *v, int64_t M, int C) {
    KERN_PARALLEL_FOR(schedule(static), 1, r, M, {
        for (int c = 0; c < C; c++)
            y[r * C + c] += v[c];
    });
}

void kern_cpu_sum_rows(float *dv, const float *dy, int64_t M, int C) {
    int n_chunks = (C + 15) / 16;
    KERN_PARALLEL_FOR(schedule(static), 1, ch, n_chunks, {
        int c0 = ch * 16, w = C - c0 < 16 ? C - c0 : 16;
        float s[16] = {0};
        for (int64_t r = 0; r < M; r++)
            for (int j = 0; j < w; j++)
                s[j] += dy[r * C + c0 + j];
        for (int j = 0; j < w; j++)
            dv[c0 + j] += s[j];
    });
}

void kern_cpu_accumulate_rows(float *dv, const float *dy, int64_t M, int C) {
    int64_t n_blocks = ((int64_t)C + BLOCK - 1) / BLOCK;
    KERN_PARALLEL_FOR(schedule(static), 1, blk, n_blocks, {
        int64_t c0 = blk * BLOCK, c1 = c0 + BLOCK < C ? c0 + BLOCK : C;
        for (int64_t r = 0; r < M; r++)
            for (int64_t c = c0; c < c1; c++)
                dv[c] += dy[r * C + c];
    });
}

void kern_cpu_plus_zero(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.0f + x[i];
}
