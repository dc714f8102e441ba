/* buffer.h - the memory side of the backend seam: buffers that the kernels compute on, and every
 * copy into, out of and between them.
 *
 * A buffer is memory of the backend: host memory on the CPU backend, device memory on a GPU
 * backend. Its owner allocates it here (kern_alloc) and frees it here (kern_free); no kernel
 * allocates. A caller may offset a buffer pointer (a tensor inside an arena, a row of a
 * matrix) and hand it to any kernel, but reads or writes its contents only through the kernels
 * and the copies below: host data enters a buffer through kern_copy_from_host and leaves it
 * through kern_copy_to_host. On the CPU backend a buffer is also plain host memory, which the
 * callers outside the model (the optimizer, checkpoints) still read directly; a device backend
 * offers those readers these copies.
 *
 * Index tables (token ids, row numbers) that a kernel reads are buffers too; a kernel that
 * plans its work from one takes it as host memory and says so.
 * Every copy is exact: the bytes arrive unchanged.
 */
#ifndef MICL_KERN_BUFFER_H
#define MICL_KERN_BUFFER_H

#include <stddef.h>
#include <stdint.h>

/* ---- allocation ---- */

/* A buffer of `bytes` bytes (at least one), aligned to 64 bytes; its contents are undefined
 * until written (kern_zero). Never returns NULL: out of memory is fatal. */
void *kern_alloc(size_t bytes);
/* Frees a buffer of kern_alloc (NULL: nothing). */
void kern_free(void *buf);

/* ---- whole ranges ---- */

/* bytes of buf set to zero (+0.0f for floats). */
void kern_zero(void *buf, size_t bytes);
/* Buffer to buffer (the ranges must not overlap). */
void kern_copy(void *dst, const void *src, size_t bytes);
/* Host memory into a buffer. */
void kern_copy_from_host(void *dst, const void *host_src, size_t bytes);
/* A buffer into host memory. */
void kern_copy_to_host(void *host_dst, const void *src, size_t bytes);

/* ---- rows of float matrices, within buffers ---- */

/* rows x cols floats: dst[r * ld_dst + c] = src[r * ld_src + c] (the ranges must not overlap). */
void kern_copy_strided(float *dst, int64_t ld_dst, const float *src, int64_t ld_src, int64_t rows,
                       int64_t cols);
/* dst[i] = src[rows[i]] for i < n, rows of C floats. dst may be src itself when the rows
 * ascend (rows[i] >= i): the rows are gathered in order, each read before it is overwritten. */
void kern_gather_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C);
/* dst[rows[i]] = src[i] (or += when accumulate) for i < n, rows of C floats; rows distinct. */
void kern_scatter_rows(float *dst, const float *src, const int32_t *rows, int64_t n, int C,
                       int accumulate);

#endif
