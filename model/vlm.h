/* vlm.h - the vision-language model: parameters, forward, backward.
 *
 * Shape (LLaVA-like, sized for a CPU):
 *   image [S x S x C uint8] -> /255, patches of P x P x C -> linear patch embedding (+ learned
 * patch position embedding) -> enc_layers pre-LN ViT blocks (bidirectional attention, GELU MLP)
 *   -> final LayerNorm -> pool (flatten the patch tokens in grid order, or mean) -> projector MLP
 *   (pooled -> dim, GELU, dim -> dim)
 *   = ONE decoder token per image.
 *   Decoder: token embedding (the image embedding replaces the embedding of each IMAGE token),
 *   `layers` pre-LN blocks with causal multi-head attention and rotary positions (RoPE on q,k,
 *   base 10000, rotating pairs (2i, 2i+1) of each head; with smear_keys, each key after RoPE is
 *   then mixed with the previous position's key, k'_t = s_h k_t + (1 - s_h) k_{t-1}, s_h =
 *   sigmoid of a learned per-head tensor dec.L.attn.smear, initialised to 0), GELU (tanh form) MLP,
 * final LayerNorm, untied LM head (dim -> vocab, with bias). Loss: mean cross-entropy over
 * positions whose target is >= 0, the mean taken over a count supplied by the caller (see
 * vlm_backward).
 *
 * Memory: parameters, gradients and AdamW moments live in one 64-byte-aligned arena of
 * 4 * n_params floats carved into named tensors; activations in a second arena sized at
 * creation for (max_tokens, max_images). No allocation happens in forward/backward. Both
 * arenas are kernel buffers (kernels/buffer.h: host memory on the CPU backend): the pointers
 * this API returns into them (vlm_params, vlm_grads, vlm_adam_m, vlm_adam_v, vlm_logits) and the
 * buffer vlm_bind_grads takes are buffers of the kernel backend; the batch, pixels and every
 * other array passed in or filled (vlm_encode_images, vlm_cache_score) are host memory.
 *
 * Determinism: every kernel gives bit-identical results for any OpenMP thread count (work is
 * split over output elements only; no reduction is split across threads).
 *
 * Evaluation without recomputing shared prompt prefixes: vlm_cache.h (decoder KV cache).
 */
#ifndef MICL_VLM_H
#define MICL_VLM_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int image_size, patch;
    int enc_dim, enc_layers, enc_heads;
    int dim, layers, heads;
    int mlp_ratio;
    int vocab;
    int max_seq;
    float init_std;
    int pool;       /* VLM_POOL_FLATTEN (default, 0) or VLM_POOL_MEAN */
    int channels;   /* image channels: 1 (gray) or 3 (RGB, interleaved); 0 means 1 */
    int smear_keys; /* 1: decoder keys mixed with the previous position's (kernels.h) */
} vlm_config_t;

/* How the encoder's patch tokens become the projector's input: FLATTEN concatenates the
 * final-LN patch tokens in grid order (keeps the spatial layout: far better on glyphs),
 * MEAN averages them. */
enum { VLM_POOL_FLATTEN = 0, VLM_POOL_MEAN = 1 };

/* One micro-batch: B sequences of T tokens (padded), plus the images of its IMAGE tokens in
 * order of appearance (sequence-major, then position). */
typedef struct {
    int B, T;
    const int32_t *tokens;  /* [B*T] token ids; image_token marks an image slot */
    const int32_t *targets; /* [B*T] target id for position t (predicts token t+1) or -1 */
    int n_images;           /* number of image_token entries in tokens */
    const uint8_t *pixels;  /* [n_images * S * S * C], channels interleaved */
    int image_token;        /* the id of the IMAGE token */
} vlm_batch_t;

typedef struct {
    const char *name; /* e.g. "dec.3.attn.qkv.w" */
    size_t offset;    /* in floats, into the parameter block */
    size_t size;      /* floats */
    int ndim;
    int shape[4];
    int decay; /* 1 if AdamW weight decay applies (matrices), 0 for biases/norms/embeddings */
} vlm_tensor_t;

typedef struct vlm vlm_t;

/* Validates the config (returns NULL and writes a message into err on a bad shape). */
vlm_t *vlm_create(const vlm_config_t *cfg, int max_tokens, int max_images, char *err,
                  size_t err_len);
/* A second model over base's parameter arena (same config and capacity, its own activations), so
 * that two micro-batches can run forward and backward at the same time. The siblings share the
 * parameters, the AdamW moments and the arena's gradient block: each concurrent pass must bind
 * its own gradient buffer (vlm_bind_grads). Free it before base. */
vlm_t *vlm_create_sibling(vlm_t *base);
void vlm_free(vlm_t *m);
const vlm_config_t *vlm_config(const vlm_t *m);

size_t vlm_num_params(const vlm_t *m);
int vlm_num_tensors(const vlm_t *m);
const vlm_tensor_t *vlm_tensor(const vlm_t *m, int i);

/* The arena: params, grads, adam m, adam v, each vlm_num_params floats. vlm_params is the
 * writable view of the parameters: it drops the packed weights (vlm_pack_weights). */
float *vlm_params(vlm_t *m);
float *vlm_grads(vlm_t *m);
float *vlm_adam_m(vlm_t *m);
float *vlm_adam_v(vlm_t *m);

/* Normal(0, init_std) weights (output projections scaled by 1/sqrt(2*layers)), zero biases,
 * unit LayerNorm gains; drawn from rng (seed, RNG_STREAM_INIT, tensor index). */
void vlm_init_params(vlm_t *m, uint64_t seed);

/* Packs the linear layers' weights for the forward products once, for every forward pass of
 * the model and its siblings until the parameters may change: the next vlm_params or
 * vlm_init_params call drops the packed copy, and the passes then pack each weight as they
 * use it. Call it after each parameter update (and not while a pass runs); write parameters
 * only through a pointer taken from vlm_params after the last vlm_pack_weights. The packed
 * copy holds the same floats: results do not depend on it. */
void vlm_pack_weights(vlm_t *m);
/* Bytes of that packed copy (allocated by vlm_create; shared by siblings). */
size_t vlm_packed_bytes(const vlm_t *m);

/* Forward pass. Returns the SUM of cross-entropy over positions with target >= 0 and writes
 * their number to *n_targets. The LM head runs ONLY at those target positions (answers are a
 * small share of the tokens), so logits exist for them alone (vlm_logits). */
double vlm_forward(vlm_t *m, const vlm_batch_t *b, int64_t *n_targets);
/* Logits [n_targets * vocab] of the last forward: one row per position with target >= 0,
 * in (sequence, position) order. */
const float *vlm_logits(const vlm_t *m);

/* Backward of the last forward, with dLoss/dlogit scaled by `scale` (use 1/total_targets of
 * the whole optimizer step). ADDS into vlm_grads (call vlm_zero_grads first). */
void vlm_backward(vlm_t *m, float scale);
void vlm_zero_grads(vlm_t *m);
/* Makes vlm_grads, vlm_zero_grads and vlm_backward use g (vlm_num_params floats, arena order)
 * instead of the arena's gradient block; NULL restores the arena's. A reduction can so have a
 * micro-batch's gradient computed straight into its leaf buffer, without a copy. */
void vlm_bind_grads(vlm_t *m, float *g);

/* Forward of the image tower only: embeddings [n_images * dim] (for tests and eval caching). */
void vlm_encode_images(vlm_t *m, const uint8_t *pixels, int n_images, float *out);

/* Floating-point operations of one forward+backward over n_tokens tokens and n_images images
 * (for tokens/s and GFLOP/s figures). */
double vlm_flops_per_step(const vlm_config_t *cfg, int64_t n_tokens, int64_t n_images, int T);
/* The same with the LM head, and the last decoder block after its attention, counted at
 * n_targets positions only, as the passes run them (vlm_flops_per_step counts them at every
 * token, the usual convention). */
double vlm_flops_per_step_targets(const vlm_config_t *cfg, int64_t n_tokens, int64_t n_images,
                                  int T, int64_t n_targets);

/* Training FLOPs (forward + backward = 3 x forward) of real work: `tokens` decoder tokens,
 * `attn_pairs` causal (query, key) pairs (a sequence of n tokens has n (n + 1) / 2) and `images`
 * images:
 *     6 x P_dec x tokens + 12 x layers x dim x attn_pairs + 3 x images x F_img
 * with P_dec = layers x (4 dim^2 + 2 mlp_ratio dim^2) + dim x vocab, the decoder's matrix
 * parameters (Q, K, V, output, MLP, LM head; embeddings are lookups), attention forward
 * 4 x dim per pair (scores and weighted sum), and F_img = 2 x patch^2 x channels x enc_dim x p
 * + enc_layers x (2 x p x (4 enc_dim^2 + 2 mlp_ratio enc_dim^2) + 4 x p^2 x enc_dim)
 * + 2 x (pooled x dim + dim^2), the forward of one image of p patches through the encoder
 * (full attention over its patches) and the projector (pooled = p x enc_dim flattened, enc_dim
 * averaged). An estimate of the work a run trains on, independent of batching and padding;
 * the LM head and the last block run only at targets in the passes (vlm_flops_per_step_targets
 * counts those as run). */
double vlm_train_flops(const vlm_config_t *cfg, int64_t tokens, int64_t attn_pairs, int64_t images);

#endif
