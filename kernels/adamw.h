/* adamw.h - AdamW over a flat parameter arena, one pass. */
#ifndef MICL_ADAMW_H
#define MICL_ADAMW_H
#include <stddef.h>
#include <stdint.h>
/* Decoupled weight decay applied to elements where decay_mask is NULL or decay_mask[i] != 0.
 * step counts from 1 (bias correction). */
void adamw_update(float *params, const float *grads, float *m, float *v, const uint8_t *decay_mask,
                  size_t n, float lr, float beta1, float beta2, float eps, float weight_decay,
                  int64_t step);
/* sqrt(sum g^2) accumulated in double in a fixed order (thread-count independent). */
double grad_norm(const float *g, size_t n);
void scale_inplace(float *x, size_t n, float s);
#endif
