/* kernels.h - the math of micl on buffers: the compute side of the backend seam.
 *
 * Every function works on caller-owned row-major buffers (kernels/buffer.h: host memory on the
 * CPU backend, device memory on a GPU backend) and knows nothing about models, data or MPI;
 * shapes, scalars and arguments marked "host" are host values. Conventions:
 *   - a linear layer is y = x W^T + b with W stored [out x in] row-major (torch.nn.Linear);
 *   - "backward" functions ADD into parameter gradients (dW, db, dgamma, ...); what they do to
 *     activation gradients is stated per function;
 *   - attention works on a packed qkv buffer [rows x 3C]: q = columns [0, C), k = [C, 2C),
 *     v = [2C, 3C); head h uses columns [h*hd, (h+1)*hd) of each, hd = C / H; rows are B
 *     independent sequences of T consecutive rows.
 * Determinism: work is split over output rows/elements only and every floating-point reduction
 * runs in one fixed order, so results are bit-identical for any OpenMP thread count.
 * No function allocates memory; scratch space is passed in by the caller.
 */
#ifndef MICL_KERNELS_H
#define MICL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define KERN_LN_EPS 1e-5f    /* LayerNorm epsilon (torch default) */
#define KERN_ATTN_MAX_T 1024 /* longest attention sequence the kernels accept */

/* ---- matrix multiplication ---- */

/* Each product reduces in one order fixed by its shape alone (how, the backend's own affair),
 * so the same product gives the same bits wherever and however often it runs. */

/* A linear layer's weight W [N x K] prepared for the forward products: its size and layout are
 * the backend's (on the CPU, W^T in zero-padded column panels). A pure copy of W's floats, so
 * preparing once per parameter update and once per product give the same bits. */
typedef struct kern_weight kern_weight_t;
/* Bytes a prepared [N x K] weight occupies (a multiple of 64). */
size_t kern_weight_bytes(int K, int N);
/* Prepares w [N x K] into buf (a buffer of kern_weight_bytes(K, N) bytes, 64-byte aligned) and
 * returns the prepared weight, valid while buf and w's values are: buf, or w itself on a
 * backend whose products read W as it is (the CUDA backend in fp32). */
kern_weight_t *kern_weight_prepare(void *buf, const float *w, int K, int N);
/* out[M x N] = inp[M x K] W[N x K]^T + bias (bias may be NULL); wt: W prepared. */
void kern_matmul_forward(float *out, const float *inp, const kern_weight_t *wt, const float *bias,
                         int64_t M, int K, int N);
/* dinp[M x K] = dout W (overwritten; skipped if dinp is NULL); dw += dout^T inp, or
 * dw = dout^T inp without accumulate (the same bits as adding into zeros; skipped if dw is
 * NULL); dbias += column sums of dout (skipped if dbias is NULL). */
void kern_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                          const float *w, int64_t M, int K, int N, int accumulate);
/* A layer feeding the residual stream: out = inp W^T + bias + res, the same bits as
 * kern_matmul_forward then kern_add_inplace(out, res). res must not alias out. */
void kern_matmul_residual_forward(float *out, const float *inp, const kern_weight_t *wt,
                                  const float *bias, const float *res, int64_t M, int K, int N);
/* The MLP's first layer with its GELU fused: with pre = inp W^T + bias, act = gelu(pre) and,
 * unless dgelu is NULL, dgelu = gelu'(pre), kept for the backward (pre itself is never stored);
 * the same bits as kern_matmul_forward then kern_gelu_forward (and kern_gelu_backward of ones). */
void kern_matmul_gelu_forward(float *act, float *dgelu, const float *inp, const kern_weight_t *wt,
                              const float *bias, int64_t M, int K, int N);
/* kern_matmul_backward of a layer whose input was gelu(pre), with the GELU backward fused:
 * dinp = (dout W) * dgelu, dgelu = gelu'(pre) as kern_matmul_gelu_forward kept it; the same bits
 * as kern_matmul_backward then kern_gelu_backward. dgelu NULL: kern_matmul_backward. */
void kern_matmul_gelu_backward(float *dinp, float *dw, float *dbias, const float *dout,
                               const float *inp, const float *w, const float *dgelu, int64_t M,
                               int K, int N, int accumulate);
/* kern_matmul_gelu_backward (dgelu may be NULL) of nt compact rows that stand for the rows
 * rows[0] < rows[1] < ... of a longer product whose other rows of dout are zero: dinp [nt x K]
 * as there, and dw (=, or += if accumulate) and dbias (+=) with the bits kern_matmul_backward
 * gives them over that longer product (on the CPU backend; a device backend gives them up to
 * rounding, each in one fixed order of its own). rows: host memory (the backend plans its products
 * from it). */
void kern_matmul_backward_rows(float *dinp, float *dw, float *dbias, const float *dout,
                               const float *inp, const float *w, const float *dgelu,
                               const int32_t *rows, int64_t nt, int K, int N, int accumulate);
/* General product C[M x N] (=, or += if accumulate) A B, with A read as a[i*rsa + k*csa]
 * (rsa == 1 or csa == 1) and B row-major [K x N] with row stride ldb. */
void kern_gemm(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
               const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate);

/* ---- LayerNorm over the last dimension C of M rows ---- */

void kern_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                            const float *gamma, const float *beta, int64_t M, int C);
/* dinp += dx; dgamma += sum dout*xhat; dbeta += sum dout. */
void kern_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                             const float *inp, const float *mean, const float *rstd,
                             const float *gamma, int64_t M, int C);

/* ---- GELU, tanh approximation ---- */

void kern_gelu_forward(float *out, const float *inp, int64_t n);
/* dinp = dout * gelu'(inp) (dinp may alias dout). */
void kern_gelu_backward(float *dinp, const float *inp, const float *dout, int64_t n);

/* ---- elementwise ---- */

/* y[i] += x[i] */
void kern_add_inplace(float *y, const float *x, int64_t n);
/* y[M x C] += row vector v[C] for every row. */
void kern_add_rows(float *y, const float *v, int64_t M, int C);
/* dv[C] += column sums of dy[M x C]. */
void kern_sum_rows(float *dv, const float *dy, int64_t M, int C);
/* dv[C] += each row of dy[M x C] in turn, straight into dv in row order (kern_sum_rows sums
 * the rows from zero first): the backward of kern_add_rows. */
void kern_accumulate_rows(float *dv, const float *dy, int64_t M, int C);
/* x[i] = 0.0f + x[i]: the value x takes when added into zeros (-0 becomes +0, nothing else
 * changes). */
void kern_plus_zero(float *x, int64_t n);
/* In-place exp of n floats (vectorised, about 1 ulp). */
void kern_exp_inplace(float *x, int64_t n);

/* ---- model inputs: image patches and token embeddings ---- */

/* n images [S x S x C] of bytes (channels interleaved) into patches [n * (S/P)^2 x P*P*C]:
 * patches[img * (S/P)^2 + p][(py * P + px) * C + ch] = pixel / 255, patches row-major over the
 * grid. */
void kern_patchify(float *patches, const uint8_t *pixels, int64_t n, int S, int P, int C);
/* x[N x D]: row r is row tokens[r] of wte, or, where tokens[r] == image_token, the next row of
 * img (image rows in order). */
void kern_embed_forward(float *x, const float *wte, const float *img, const int32_t *tokens,
                        int64_t N, int D, int32_t image_token);
/* The backward: dx's token rows add into their rows of dwte in row order; image rows are
 * copied, in order, into the rows of dimg. */
void kern_embed_backward(float *dwte, float *dimg, const float *dx, const int32_t *tokens,
                         int64_t N, int D, int32_t image_token);

/* ---- multi-head attention ---- */

/* out[rows x C] and probs[B x H x T x T] (softmax rows; zero above the diagonal if causal). */
void kern_attention_forward(float *out, float *probs, const float *qkv, int B, int T, int H, int C,
                            int causal);
/* Causal attention of n new rows that continue a sequence whose first p0 positions are cached:
 * row i of qkv [n x 3C] (q | k | v, after RoPE) sits at position p0 + i and attends to the p0
 * cached keys and values (k_cache, v_cache: p0 rows of C floats, row stride cache_stride) and to
 * the new rows 0..i. Writes out[n x C]. Each row gets the bits kern_attention_forward gives the
 * same position of the whole sequence when both take the same score path (always when
 * C/H * round8(p0 + n) and C/H * round8(T) are both <= 8192). Forward only. */
void kern_attention_cached_forward(float *out, const float *qkv, int n, const float *k_cache,
                                   const float *v_cache, int64_t cache_stride, int p0, int H,
                                   int C);
/* dqkv[rows x 3C] is overwritten. */
void kern_attention_backward(float *dqkv, const float *dout, const float *qkv, const float *probs,
                             int B, int T, int H, int C, int causal);

/* ---- rotary position embedding on the q and k parts of a qkv buffer ---- */

/* Rotates pairs (2i, 2i+1) of every head of q and k at position t (row r -> t = r % T) by the
 * angle whose cos/sin are cos_tab[t * hd/2 + i], sin_tab[...]. In place. */
void kern_rope_forward(float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H,
                       int C);
/* Inverse rotation of the q and k gradients in dqkv. In place. */
void kern_rope_backward(float *dqkv, const float *cos_tab, const float *sin_tab, int B, int T,
                        int H, int C);

/* ---- smeared keys (decoder): each key mixed with the previous position's key ---- */

/* Per head h with mix s_h = sigmoid(alpha[h]): k'_t = s_h k_t + (1 - s_h) k_{t-1} on the k part
 * of qkv [B*T x 3C] (in place, after RoPE), k'_0 = s_h k_0 + (1 - s_h) k_before when k_before
 * (the raw key of the position before row 0; only with B == 1) is given, else k'_0 = k_0.
 * kraw [B*T x C] receives the keys before mixing (the backward pass and the KV cache need them). */
void kern_smear_keys_forward(float *qkv, float *kraw, const float *alpha, int B, int T, int H,
                             int C, const float *k_before);
/* In place on the k part of dqkv: dk'_t -> dk_t; dalpha[h] += dLoss/dalpha_h (a fixed-order sum
 * per head, the same bits for any thread count). */
void kern_smear_keys_backward(float *dqkv, float *dalpha, const float *kraw, const float *alpha,
                              int B, int T, int H, int C);

/* ---- mean over groups of P rows ---- */

/* out[G x C] = mean over the P rows of each group of inp[G*P x C]. */
void kern_mean_pool_forward(float *out, const float *inp, int64_t G, int P, int C);
/* dinp[G*P x C] = dout[g] / P for each row of group g (overwritten). */
void kern_mean_pool_backward(float *dinp, const float *dout, int64_t G, int P, int C);

/* ---- softmax + cross-entropy over rows of logits ---- */

/* For each of n rows of logits [n x V]: lse[r] = log sum exp; returns sum over rows of
 * (lse - logits[target]) in double. targets must be in [0, V). */
double kern_crossentropy_forward(float *lse, const float *logits, const int32_t *targets, int64_t n,
                                 int V);
/* dlogits = scale * (softmax - onehot(target)) (overwritten). */
void kern_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                                const int32_t *targets, int64_t n, int V, float scale);

/* ---- the optimizer, over a flat parameter arena ---- */

/* AdamW, one pass: decoupled weight decay applied to elements where decay_mask (a buffer of n
 * bytes) is NULL or decay_mask[i] != 0; step counts from 1 (bias correction). */
void kern_adamw_update(float *params, const float *grads, float *m, float *v,
                       const uint8_t *decay_mask, size_t n, float lr, float beta1, float beta2,
                       float eps, float weight_decay, int64_t step);
/* sqrt(sum g^2), accumulated in double: blocks of 8192 elements each summed in index order,
 * then the block sums in block order (independent of threads; the same bits on every backend
 * that keeps this order). */
double kern_grad_norm(const float *g, size_t n);
/* x[i] *= s. */
void kern_scale_inplace(float *x, size_t n, float s);

#endif
