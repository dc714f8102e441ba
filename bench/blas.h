/* blas.h - an external CBLAS library (OpenBLAS, BLIS) loaded at run time, for comparison with
 * micl's own GEMM (kernels/cpu/matmul.c).
 *
 * The library is opened with dlopen(RTLD_NOW | RTLD_LOCAL) by its path, so that two libraries
 * that both export cblas_sgemm can be loaded side by side without their symbols clashing, and
 * micl itself never links against one. Its thread count is set through the library's own call
 * (openblas_set_num_threads, bli_thread_set_num_threads) where it has one.
 */
#ifndef MICL_BENCH_BLAS_H
#define MICL_BENCH_BLAS_H

#include <stddef.h>
#include <stdint.h>

typedef struct kern_blas blas_t;

/* Opens the library at `path` (NULL and a message in err if it is absent or has no
 * cblas_sgemm). `name` labels it in reports. */
blas_t *blas_open(const char *name, const char *path, char *err, size_t errlen);
void blas_close(blas_t *b);
const char *blas_name(const blas_t *b);
/* The library's own description of the kernel it picked (OpenBLAS core name), or "". */
const char *blas_detail(const blas_t *b);
/* Sets the library's thread count; 0 if the library offers no call for it. */
int blas_set_threads(blas_t *b, int threads);

/* The three products of a linear layer y = x W^T (kernels.h conventions), through the library:
 * forward out[M x N] = inp[M x K] W[N x K]^T (no bias); backward dinp[M x K] = dout[M x N] W;
 * dw[N x K] += dout^T inp. */
void blas_linear_forward(blas_t *b, float *out, const float *inp, const float *w, int64_t M, int K,
                         int N);
void blas_linear_dinp(blas_t *b, float *dinp, const float *dout, const float *w, int64_t M, int K,
                      int N);
void blas_linear_dw(blas_t *b, float *dw, const float *dout, const float *inp, int64_t M, int K,
                    int N);

#endif
