/* backend.h - the backend seam as a table: which backend runs the kernels of this process.
 *
 * kernels.h and buffer.h declare the API that model/, worker/ and comm/ call; each function
 * there forwards to the same entry of the current backend's table (kernels/backend.c). The CPU
 * backend (kernels/cpu/) is linked in and is the default. The CUDA backend is a module,
 * libmicl_cuda.so, built from kernels/cuda/ and opened with dlopen when a run asks for it
 * (kern_backend_use), so a binary built with CUDA still starts, and runs on the CPU, on a
 * machine with no GPU or no CUDA libraries.
 *
 * KERN_BACKEND_API lists every entry once: X(kind, return type, name, (parameters), (arguments)),
 * kind V for functions returning void and R for the others. The table, the forwarding functions
 * and the CPU backend's prototypes are all expanded from it, and the forwarding functions are
 * compiled against kernels.h and buffer.h, so a signature that differs is a compile error.
 *
 * A process selects its backend once, before it allocates its first buffer; buffers of one
 * backend never go to another.
 */
#ifndef MICL_KERN_BACKEND_H
#define MICL_KERN_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kern_weight kern_weight_t;

#define KERN_BACKEND_API(X)                                                                        \
    /* buffer.h */                                                                                 \
    X(R, void *, alloc, (size_t bytes), (bytes))                                                   \
    X(V, void, free, (void *buf), (buf))                                                           \
    X(V, void, zero, (void *buf, size_t bytes), (buf, bytes))                                      \
    X(V, void, copy, (void *dst, const void *src, size_t bytes), (dst, src, bytes))                \
    X(V, void, copy_from_host, (void *dst, const void *host_src, size_t bytes),                    \
      (dst, host_src, bytes))                                                                      \
    X(V, void, copy_to_host, (void *host_dst, const void *src, size_t bytes),                      \
      (host_dst, src, bytes))                                                                      \
    X(V, void, copy_strided,                                                                       \
      (float *dst, int64_t ld_dst, const float *src, int64_t ld_src, int64_t rows, int64_t cols),  \
      (dst, ld_dst, src, ld_src, rows, cols))                                                      \
    X(V, void, gather_rows, (float *dst, const float *src, const int32_t *rows, int64_t n, int C), \
      (dst, src, rows, n, C))                                                                      \
    X(V, void, scatter_rows,                                                                       \
      (float *dst, const float *src, const int32_t *rows, int64_t n, int C, int accumulate),       \
      (dst, src, rows, n, C, accumulate))                                                          \
    /* kernels.h: products */                                                                      \
    X(R, size_t, weight_bytes, (int K, int N), (K, N))                                             \
    X(R, kern_weight_t *, weight_prepare, (void *buf, const float *w, int K, int N),               \
      (buf, w, K, N))                                                                              \
    X(V, void, matmul_forward,                                                                     \
      (float *out, const float *inp, const kern_weight_t *wt, const float *bias, int64_t M, int K, \
       int N),                                                                                     \
      (out, inp, wt, bias, M, K, N))                                                               \
    X(V, void, matmul_backward,                                                                    \
      (float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,  \
       int64_t M, int K, int N, int accumulate),                                                   \
      (dinp, dw, dbias, dout, inp, w, M, K, N, accumulate))                                        \
    X(V, void, matmul_residual_forward,                                                            \
      (float *out, const float *inp, const kern_weight_t *wt, const float *bias, const float *res, \
       int64_t M, int K, int N),                                                                   \
      (out, inp, wt, bias, res, M, K, N))                                                          \
    X(V, void, matmul_gelu_forward,                                                                \
      (float *act, float *dgelu, const float *inp, const kern_weight_t *wt, const float *bias,     \
       int64_t M, int K, int N),                                                                   \
      (act, dgelu, inp, wt, bias, M, K, N))                                                        \
    X(V, void, matmul_gelu_backward,                                                               \
      (float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,  \
       const float *dgelu, int64_t M, int K, int N, int accumulate),                               \
      (dinp, dw, dbias, dout, inp, w, dgelu, M, K, N, accumulate))                                 \
    X(V, void, matmul_backward_rows,                                                               \
      (float *dinp, float *dw, float *dbias, const float *dout, const float *inp, const float *w,  \
       const float *dgelu, const int32_t *rows, int64_t nt, int K, int N, int accumulate),         \
      (dinp, dw, dbias, dout, inp, w, dgelu, rows, nt, K, N, accumulate))                          \
    X(V, void, gemm,                                                                               \
      (int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa, const float *b,  \
       int64_t ldb, float *c, int64_t ldc, int accumulate),                                        \
      (M, N, K, a, rsa, csa, b, ldb, c, ldc, accumulate))                                          \
    /* kernels.h: norms, activations, elementwise */                                               \
    X(V, void, layernorm_forward,                                                                  \
      (float *out, float *mean, float *rstd, const float *inp, const float *gamma,                 \
       const float *beta, int64_t M, int C),                                                       \
      (out, mean, rstd, inp, gamma, beta, M, C))                                                   \
    X(V, void, layernorm_backward,                                                                 \
      (float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,              \
       const float *mean, const float *rstd, const float *gamma, int64_t M, int C),                \
      (dinp, dgamma, dbeta, dout, inp, mean, rstd, gamma, M, C))                                   \
    X(V, void, gelu_forward, (float *out, const float *inp, int64_t n), (out, inp, n))             \
    X(V, void, gelu_backward, (float *dinp, const float *inp, const float *dout, int64_t n),       \
      (dinp, inp, dout, n))                                                                        \
    X(V, void, add_inplace, (float *y, const float *x, int64_t n), (y, x, n))                      \
    X(V, void, add_rows, (float *y, const float *v, int64_t M, int C), (y, v, M, C))               \
    X(V, void, sum_rows, (float *dv, const float *dy, int64_t M, int C), (dv, dy, M, C))           \
    X(V, void, accumulate_rows, (float *dv, const float *dy, int64_t M, int C), (dv, dy, M, C))    \
    X(V, void, plus_zero, (float *x, int64_t n), (x, n))                                           \
    X(V, void, exp_inplace, (float *x, int64_t n), (x, n))                                         \
    /* kernels.h: model inputs */                                                                  \
    X(V, void, patchify, (float *patches, const uint8_t *pixels, int64_t n, int S, int P, int C),  \
      (patches, pixels, n, S, P, C))                                                               \
    X(V, void, embed_forward,                                                                      \
      (float *x, const float *wte, const float *img, const int32_t *tokens, int64_t N, int D,      \
       int32_t image_token),                                                                       \
      (x, wte, img, tokens, N, D, image_token))                                                    \
    X(V, void, embed_backward,                                                                     \
      (float *dwte, float *dimg, const float *dx, const int32_t *tokens, int64_t N, int D,         \
       int32_t image_token),                                                                       \
      (dwte, dimg, dx, tokens, N, D, image_token))                                                 \
    /* kernels.h: attention, rotary embedding, smeared keys, pooling */                            \
    X(V, void, attention_forward,                                                                  \
      (float *out, float *probs, const float *qkv, int B, int T, int H, int C, int causal),        \
      (out, probs, qkv, B, T, H, C, causal))                                                       \
    X(V, void, attention_cached_forward,                                                           \
      (float *out, const float *qkv, int n, const float *k_cache, const float *v_cache,            \
       int64_t cache_stride, int p0, int H, int C),                                                \
      (out, qkv, n, k_cache, v_cache, cache_stride, p0, H, C))                                     \
    X(V, void, attention_backward,                                                                 \
      (float *dqkv, const float *dout, const float *qkv, const float *probs, int B, int T, int H,  \
       int C, int causal),                                                                         \
      (dqkv, dout, qkv, probs, B, T, H, C, causal))                                                \
    X(V, void, rope_forward,                                                                       \
      (float *qkv, const float *cos_tab, const float *sin_tab, int B, int T, int H, int C),        \
      (qkv, cos_tab, sin_tab, B, T, H, C))                                                         \
    X(V, void, rope_backward,                                                                      \
      (float *dqkv, const float *cos_tab, const float *sin_tab, int B, int T, int H, int C),       \
      (dqkv, cos_tab, sin_tab, B, T, H, C))                                                        \
    X(V, void, smear_keys_forward,                                                                 \
      (float *qkv, float *kraw, const float *alpha, int B, int T, int H, int C,                    \
       const float *k_before),                                                                     \
      (qkv, kraw, alpha, B, T, H, C, k_before))                                                    \
    X(V, void, smear_keys_backward,                                                                \
      (float *dqkv, float *dalpha, const float *kraw, const float *alpha, int B, int T, int H,     \
       int C),                                                                                     \
      (dqkv, dalpha, kraw, alpha, B, T, H, C))                                                     \
    X(V, void, mean_pool_forward, (float *out, const float *inp, int64_t G, int P, int C),         \
      (out, inp, G, P, C))                                                                         \
    X(V, void, mean_pool_backward, (float *dinp, const float *dout, int64_t G, int P, int C),      \
      (dinp, dout, G, P, C))                                                                       \
    /* kernels.h: loss */                                                                          \
    X(R, double, crossentropy_forward,                                                             \
      (float *lse, const float *logits, const int32_t *targets, int64_t n, int V),                 \
      (lse, logits, targets, n, V))                                                                \
    X(V, void, crossentropy_backward,                                                              \
      (float *dlogits, const float *logits, const float *lse, const int32_t *targets, int64_t n,   \
       int V, float scale),                                                                        \
      (dlogits, logits, lse, targets, n, V, scale))                                                \
    /* kernels.h: the optimizer over the parameter arena */                                        \
    X(V, void, adamw_update,                                                                       \
      (float *params, const float *grads, float *m, float *v, const uint8_t *decay_mask, size_t n, \
       float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step),           \
      (params, grads, m, v, decay_mask, n, lr, beta1, beta2, eps, weight_decay, step))             \
    X(R, double, grad_norm, (const float *g, size_t n), (g, n))                                    \
    X(V, void, scale_inplace, (float *x, size_t n, float s), (x, n, s))

/* Moving gradients between the devices of several ranks without the host (NCCL on the CUDA
 * backend). Every entry may be NULL: the backend has no device transport, and comm/ stages
 * buffers through host memory and MPI instead. Peers are ranks of the communicator the
 * transport was opened for; calls are blocking and complete in the order they are issued. */
typedef struct kern_transport {
    size_t id_bytes; /* size of the unique id rank 0 makes and every rank receives */
    /* Rank 0: a fresh unique id into id (id_bytes bytes). 0 on success, else a message in err. */
    int (*make_id)(void *id, char *err, size_t errlen);
    /* Every rank: join the group of `size` ranks named by id. Returns an opaque handle or NULL
     * with a message in err. */
    void *(*open)(const void *id, int rank, int size, char *err, size_t errlen);
    void (*close)(void *t);
    /* n floats of buf to rank peer / from rank peer (into buf). */
    void (*send)(void *t, const float *buf, size_t n, int peer);
    void (*recv)(void *t, float *buf, size_t n, int peer);
    /* buf (n floats) = the sum over every rank's buf, in an order the library picks (not
     * bit-reproducible across rank counts). */
    void (*allreduce_sum)(void *t, float *buf, size_t n);
} kern_transport_t;

/* Precision of the products' operands. FP32 everywhere on the CPU; a device backend may offer
 * BF16 operands (rounded from the fp32 values) with fp32 accumulation, parameters and
 * everything else in fp32. */
typedef enum { KERN_PRECISION_FP32 = 0, KERN_PRECISION_BF16 = 1 } kern_precision_t;

typedef struct kern_backend {
    const char *name;   /* "cpu", "cuda" */
    const char *device; /* what runs the kernels, in words (the processor, the GPU's name) */
    int host_memory;    /* buffers are host memory the host may read and write directly */
    const char *isa;    /* the instruction set its kernels use: "scalar", "avx2", "avx512" on the
                           CPU (kern_backend_cpu_choose), NULL where it has no such choice */
#define KERN_BACKEND_SLOT(kind, ret, name, params, args) ret(*name) params;
    KERN_BACKEND_API(KERN_BACKEND_SLOT)
#undef KERN_BACKEND_SLOT
    kern_transport_t transport;
} kern_backend_t;

/* How the host hands the module what it needs: where messages go and which rank it is. */
typedef struct kern_backend_host {
    int rank;       /* for messages: "[rank r] file:line: ..." */
    int local_rank; /* the device is local_rank modulo the devices this node has */
    kern_precision_t precision;
    /* Reports a failed call and ends the process (never returns). */
    void (*fatal)(const char *fmt, ...);
} kern_backend_host_t;

/* The symbol the CUDA module exports: opens its device for `host`, or returns NULL with a
 * message in err (no device, a driver too old, a library missing). */
#define KERN_CUDA_ENTRY "micl_cuda_backend_open"
typedef const kern_backend_t *(*kern_backend_open_fn)(const kern_backend_host_t *host, char *err,
                                                      size_t errlen);

/* ---- the process's backend (kernels/backend.c) ---- */

/* Selects the backend by name ("cpu" or "cuda") before the first buffer is allocated. "cuda"
 * opens the module (MICL_CUDA_MODULE, else libmicl_cuda.so next to the executable, else the
 * loader's search path). Returns 0, or -1 with a message in err that says what is missing. */
int kern_backend_use(const char *name, const kern_backend_host_t *host, char *err, size_t errlen);
/* The backend in use. */
const kern_backend_t *kern_backend(void);
/* The CPU backend's table (tests run it beside another backend): the instruction-set build
 * kern_backend_cpu_choose picked, on its first call if it was not called before. */
const kern_backend_t *kern_backend_cpu(void);
/* Picks the CPU backend's instruction-set build (kernels/cpu/isa.c): the one the environment
 * variable MICL_ISA names ("scalar", "avx2", "avx512"), else the best this processor runs. All
 * builds give the same bits. Returns 0, or -1 with a message in err when MICL_ISA names a build
 * that does not exist or that this processor cannot run. Call it before any thread starts. */
int kern_backend_cpu_choose(char *err, size_t errlen);
/* The table of one instruction-set build by name, or NULL where it is not built or this
 * processor cannot run it (tests compare the builds). */
const kern_backend_t *kern_backend_cpu_isa(const char *isa);
/* The builds this processor runs, by name, worst first: "scalar avx2 avx512". */
const char *kern_backend_cpu_isas(void);
/* Makes b the process's backend (tests: a table that wraps the CPU one as if it were a device,
 * to run the code paths of a device backend on the CPU). */
void kern_backend_set(const kern_backend_t *b);

#ifdef __cplusplus
}
#endif

#endif
