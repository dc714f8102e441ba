/* vlm_cache.h - a key/value cache of the decoder: score many continuations of a prefix
 * without running the prefix again (forward only).
 *
 * vlm_cache_prefill runs the decoder once over a batch of prefixes (e.g. the demonstrations of
 * evaluation episodes) and keeps, for every layer and position, the key and value (after RoPE)
 * of prefix b in slot b. vlm_cache_score then runs any number of continuations (e.g. a query
 * turn: image token, question words), each after the first prefix_len positions of a slot, so
 * that one prefix serves every shorter prompt as well. A continuation at positions
 * prefix_len.. gives the same logits, bit for bit, as a full vlm_forward of the prompt
 * prefix[0, prefix_len) + continuation at its last position (the kernels' per-row arithmetic
 * does not depend on the other rows; see kern_attention_cached_forward for the one condition).
 *
 * Memory: the cache owns layers x slots x max_seq keys and values, allocated at creation; the
 * passes use the model's activation arena and allocate nothing. Both calls overwrite the
 * model's activations, so no vlm_backward may follow them.
 */
#ifndef MICL_VLM_CACHE_H
#define MICL_VLM_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "model/vlm.h"

typedef struct vlm_cache vlm_cache_t;

/* A cache of `slots` prefixes of up to the model's max_seq positions. */
vlm_cache_t *vlm_cache_create(const vlm_t *m, int slots);
void vlm_cache_free(vlm_cache_t *c);

/* Runs the decoder over B prefixes of T tokens each ([B*T], padded as for vlm_forward; image
 * tokens take the n_images images of `pixels` in order) and stores prefix b in slot b, valid for
 * positions [0, T). Needs B <= slots and B*T within the model's max_tokens. */
void vlm_cache_prefill(vlm_t *m, vlm_cache_t *c, int B, int T, const int32_t *tokens, int n_images,
                       const uint8_t *pixels, int image_token);

/* One continuation of a cached prefix. */
typedef struct {
    int slot;               /* the prefix it continues */
    int prefix_len;         /* it follows positions [0, prefix_len) of that prefix (>= 1) */
    int n_tokens;           /* its tokens sit at positions prefix_len .. prefix_len+n_tokens-1 */
    const int32_t *tokens;  /* [n_tokens] */
    const float *image_emb; /* [images among tokens x dim] in order (vlm_encode_images) */
} vlm_continuation_t;

/* Runs n continuations against the cache and writes, for each, the logits at its last token
 * to logits[i * vocab ..]. The continuations' tokens together must fit the model's max_tokens;
 * prefix_len must not exceed the slot's prefilled length. */
void vlm_cache_score(vlm_t *m, const vlm_cache_t *c, const vlm_continuation_t *conts, int n,
                     int image_token, float *logits);

#endif
