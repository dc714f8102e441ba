/* inputs.c - the model's inputs onto buffers: image bytes into patch rows, token ids into
 * embedding rows (and the embedding's backward).
 *
 * The patches are computed in parallel over patch rows (each row alone); the embeddings run on
 * the calling thread in row order: image rows take the images in the order they appear, and
 * token rows that share a token add into its gradient row in row order, a fixed order for any
 * thread count.
 */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/team.h"

#include <string.h>

void kern_cpu_patchify(float *patches, const uint8_t *pixels, int64_t n, int S, int P, int C) {
    int G = S / P, n_patches = G * G, row = P * C;
    int64_t PP = (int64_t)P * row;
    KERN_PARALLEL_FOR(schedule(static), 1, ip, n * n_patches, {
        int64_t img = ip / n_patches;
        int p = (int)(ip % n_patches), gy = p / G, gx = p % G;
        const uint8_t *src =
            pixels + ((img * S + (int64_t)gy * P) * S + (int64_t)gx * P) * (int64_t)C;
        float *dst = patches + ip * PP;
        for (int py = 0; py < P; py++)
            for (int k = 0; k < row; k++)
                dst[py * row + k] = (float)src[(int64_t)py * S * C + k] / 255.0f;
    });
}

void kern_cpu_embed_forward(float *x, const float *wte, const float *img, const int32_t *tokens,
                            int64_t N, int D, int32_t image_token) {
    int64_t n_img = 0;
    for (int64_t r = 0; r < N; r++) {
        const float *src =
            tokens[r] == image_token ? img + (n_img++) * D : wte + (int64_t)tokens[r] * D;
        memcpy(x + r * D, src, sizeof(float) * (size_t)D);
    }
}

void kern_cpu_embed_backward(float *dwte, float *dimg, const float *dx, const int32_t *tokens,
                             int64_t N, int D, int32_t image_token) {
    int64_t n_img = 0;
    for (int64_t r = 0; r < N; r++) {
        const float *d = dx + r * D;
        if (tokens[r] == image_token) {
            memcpy(dimg + (n_img++) * D, d, sizeof(float) * (size_t)D);
            continue;
        }
        float *g = dwte + (int64_t)tokens[r] * D;
        for (int c = 0; c < D; c++)
            g[c] += d[c];
    }
}
