/* inputs.cu - the model's inputs on the device: image bytes into patch rows, token ids into
 * embedding rows, and the embedding's backward (kern_cuda_patchify, kern_cuda_embed_* of
 * kernels.h; the CPU reference is kernels/cpu/inputs.c).
 *
 * Image rows take the images in the order they appear: one block counts the image tokens before
 * every row (a fixed-order prefix count). The backward adds token rows into their rows of dwte
 * in row order without atomics: every row learns the next row with the same token (a forward
 * scan), and the first row of each token walks that chain, adding the rows one after the other
 * into a register per column: the CPU's additions, in the CPU's order.
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/kernels.h"

#define IN_THREADS 256
#define IN_SCAN_THREADS 1024    /* the one block of the prefix count */
#define IN_MAX_BLOCKS (1 << 20) /* grid-stride loops cover the rest */
#define IN_ROW_BLOCKS (1 << 16) /* blocks of the one-block-per-row kernels */

static unsigned in_grid(int64_t n, int per_block, int64_t cap) {
    int64_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b > cap ? cap : b);
}

/* patches[ip][py * P*C + k] = pixels[image img, row gy*P + py, bytes from (gx*P)*C + k] / 255. */
static __global__ void patchify_kernel(float *patches, const uint8_t *pixels, int64_t total, int S,
                                       int P, int C) {
    int G = S / P, n_patches = G * G, row = P * C;
    int64_t PP = (int64_t)P * row;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < total;
         e += (int64_t)gridDim.x * blockDim.x) {
        int64_t ip = e / PP, img = ip / n_patches;
        int in_patch = (int)(e - ip * PP), p = (int)(ip - img * n_patches);
        int gy = p / G, gx = p % G, py = in_patch / row, k = in_patch % row;
        int64_t src = ((img * S + (int64_t)gy * P + py) * S + (int64_t)gx * P) * C + k;
        patches[e] = __fdiv_rn((float)pixels[src], 255.0f);
    }
}

/* idx[r] = the number of image tokens in rows [0, r): each thread counts a contiguous range,
 * the block scans the counts, each thread numbers its range. One block. */
static __global__ void image_index_kernel(int64_t *idx, const int32_t *tokens, int64_t N,
                                          int32_t image_token) {
    __shared__ int64_t sums[IN_SCAN_THREADS];
    int t = threadIdx.x;
    int64_t per = (N + IN_SCAN_THREADS - 1) / IN_SCAN_THREADS;
    int64_t r0 = t * per < N ? t * per : N, r1 = r0 + per < N ? r0 + per : N;
    int64_t count = 0;
    for (int64_t r = r0; r < r1; r++)
        count += tokens[r] == image_token;
    sums[t] = count;
    __syncthreads();
    for (int off = 1; off < IN_SCAN_THREADS; off <<= 1) { /* inclusive scan of the counts */
        int64_t add = t >= off ? sums[t - off] : 0;
        __syncthreads();
        sums[t] += add;
        __syncthreads();
    }
    int64_t base = t > 0 ? sums[t - 1] : 0;
    for (int64_t r = r0; r < r1; r++) {
        idx[r] = base;
        base += tokens[r] == image_token;
    }
}

/* x[r] = img[idx[r]] for image rows, else wte[tokens[r]]: one block per row. */
static __global__ void embed_forward_kernel(float *x, const float *wte, const float *img,
                                            const int32_t *tokens, const int64_t *idx, int64_t N,
                                            int D, int32_t image_token) {
    for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
        int32_t tok = tokens[r];
        const float *src = tok == image_token ? img + idx[r] * D : wte + (int64_t)tok * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x)
            x[r * D + d] = src[d];
    }
}

/* next[r] = the first row after r with the same (non-image) token, or -1. */
static __global__ void next_same_kernel(int64_t *next, const int32_t *tokens, int64_t N,
                                        int32_t image_token) {
    for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < N;
         r += (int64_t)gridDim.x * blockDim.x) {
        int32_t tok = tokens[r];
        int64_t nx = -1;
        if (tok != image_token)
            for (int64_t s = r + 1; s < N; s++)
                if (tokens[s] == tok) {
                    nx = s;
                    break;
                }
        next[r] = nx;
    }
}

/* has_prev[next[r]] = 1: each row is the next of at most one row, so no two threads write the
 * same flag. */
static __global__ void mark_prev_kernel(int32_t *has_prev, const int64_t *next, int64_t N) {
    for (int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; r < N;
         r += (int64_t)gridDim.x * blockDim.x)
        if (next[r] >= 0) has_prev[next[r]] = 1;
}

/* One block per row: an image row is copied to dimg[idx[r]]; the first row of a token adds its
 * chain of rows (r, next[r], ...) into dwte[token] in row order; other rows do nothing. */
static __global__ void embed_backward_kernel(float *dwte, float *dimg, const float *dx,
                                             const int32_t *tokens, const int64_t *idx,
                                             const int64_t *next, const int32_t *has_prev,
                                             int64_t N, int D, int32_t image_token) {
    for (int64_t r = blockIdx.x; r < N; r += gridDim.x) {
        int32_t tok = tokens[r];
        if (tok == image_token) {
            float *dst = dimg + idx[r] * D;
            for (int d = threadIdx.x; d < D; d += blockDim.x)
                dst[d] = dx[r * D + d];
            continue;
        }
        if (has_prev[r]) continue;
        float *g = dwte + (int64_t)tok * D;
        for (int d = threadIdx.x; d < D; d += blockDim.x) {
            float acc = g[d];
            for (int64_t s = r; s >= 0; s = next[s])
                acc = __fadd_rn(acc, dx[s * D + d]);
            g[d] = acc;
        }
    }
}

extern "C" void kern_cuda_patchify(float *patches, const uint8_t *pixels, int64_t n, int S, int P,
                                   int C) {
    int64_t G = S / P, total = n * G * G * P * P * C;
    if (total <= 0) return;
    patchify_kernel<<<in_grid(total, IN_THREADS, IN_MAX_BLOCKS), IN_THREADS, 0,
                      cuda_state.stream>>>(patches, pixels, total, S, P, C);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_embed_forward(float *x, const float *wte, const float *img,
                                        const int32_t *tokens, int64_t N, int D,
                                        int32_t image_token) {
    if (N <= 0 || D <= 0) return;
    int64_t *idx = (int64_t *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(int64_t) * (size_t)N);
    image_index_kernel<<<1, IN_SCAN_THREADS, 0, cuda_state.stream>>>(idx, tokens, N, image_token);
    CUDA_LAUNCH_CHECK();
    embed_forward_kernel<<<in_grid(N, 1, IN_ROW_BLOCKS), IN_THREADS, 0, cuda_state.stream>>>(
        x, wte, img, tokens, idx, N, D, image_token);
    CUDA_LAUNCH_CHECK();
}

extern "C" void kern_cuda_embed_backward(float *dwte, float *dimg, const float *dx,
                                         const int32_t *tokens, int64_t N, int D,
                                         int32_t image_token) {
    if (N <= 0 || D <= 0) return;
    /* idx and next (int64 each), then the has_prev flags */
    char *s = (char *)cuda_scratch(CUDA_SCRATCH_PARTIAL,
                                   (2 * sizeof(int64_t) + sizeof(int32_t)) * (size_t)N);
    int64_t *idx = (int64_t *)s, *next = idx + N;
    int32_t *has_prev = (int32_t *)(next + N);
    image_index_kernel<<<1, IN_SCAN_THREADS, 0, cuda_state.stream>>>(idx, tokens, N, image_token);
    CUDA_LAUNCH_CHECK();
    next_same_kernel<<<in_grid(N, IN_THREADS, IN_MAX_BLOCKS), IN_THREADS, 0, cuda_state.stream>>>(
        next, tokens, N, image_token);
    CUDA_LAUNCH_CHECK();
    CUDA_CHECK(cudaMemsetAsync(has_prev, 0, sizeof(int32_t) * (size_t)N, cuda_state.stream));
    mark_prev_kernel<<<in_grid(N, IN_THREADS, IN_MAX_BLOCKS), IN_THREADS, 0, cuda_state.stream>>>(
        has_prev, next, N);
    CUDA_LAUNCH_CHECK();
    embed_backward_kernel<<<in_grid(N, 1, IN_ROW_BLOCKS), IN_THREADS, 0, cuda_state.stream>>>(
        dwte, dimg, dx, tokens, idx, next, has_prev, N, D, image_token);
    CUDA_LAUNCH_CHECK();
}
