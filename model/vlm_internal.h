/* vlm_internal.h - the vlm_t struct shared by vlm.c (parameters, arenas, init) and
 * vlm_pass.c (forward and backward). Not part of the public API.
 *
 * Memory: every float and index table the kernels read is a kernel buffer (kernels/buffer.h),
 * carved from the parameter arena, the activation arena or the packed weights, and the model
 * never reads or writes one itself; the few tables the model reads on the host (the target
 * rows, to plan the last block) are plain host memory, marked "host" below.
 */
#ifndef MICL_VLM_INTERNAL_H
#define MICL_VLM_INTERNAL_H

#include <stdint.h>

#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "model/vlm.h"

/* Tensor indices of one pre-LN transformer block. */
typedef struct {
    int ln1_w, ln1_b, qkv_w, qkv_b, proj_w, proj_b;
    int ln2_w, ln2_b, fc1_w, fc1_b, fc2_w, fc2_b;
    int smear; /* the key mix per head (decoder with smear_keys), else -1 */
} vlm_block_params_t;

/* Saved activations of one block (rows x width unless noted). */
typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* LN1 output and row stats */
    float *qkv;                       /* rows x 3 width (after RoPE in the decoder) */
    float *kraw;                      /* rows x width: keys before smearing (smear only) */
    float *probs;                     /* B x heads x T x T */
    float *att;                       /* attention output before the projection */
    float *res_mid;                   /* x + attn(LN1(x)) */
    float *ln2, *ln2_mean, *ln2_rstd;
    float *dgelu, *gelu; /* rows x hidden: GELU' at the MLP pre-activation, and GELU output */
} vlm_block_act_t;

/* One transformer stack (the image encoder or the decoder). */
typedef struct {
    int layers, width, heads, hidden;
    int causal, rope, smear;
    vlm_block_params_t *blocks; /* [layers] */
    float **res;                /* [layers + 1] residual stream at each block boundary */
    vlm_block_act_t *act;       /* [layers] */
} vlm_tower_t;

enum { VLM_INIT_NORMAL, VLM_INIT_NORMAL_RESID, VLM_INIT_ZERO, VLM_INIT_ONE };

/* The linear layers' weights prepared for the forward products (kern_weight_prepare), one copy
 * shared by a model and its siblings: valid from vlm_pack_weights until the parameters may
 * change (vlm_params, vlm_init_params); while it is not, each product prepares its weight
 * itself. */
typedef struct {
    void *buf;         /* a buffer of `bytes` bytes */
    size_t *offset;    /* host, per tensor: bytes into buf; SIZE_MAX where not a linear weight */
    kern_weight_t **w; /* host, per tensor: the prepared weight at buf + offset, or NULL */
    size_t bytes;
    int valid;
} vlm_packed_t;

struct vlm {
    vlm_config_t cfg;
    int max_tokens, max_images;
    int grid, n_patches, patch_px, hidden_enc, hidden_dec;

    /* parameters */
    size_t n_params;
    int n_tensors;
    vlm_tensor_t *tensors;
    int *init_kind;
    float *arena;         /* params | grads | adam m | adam v */
    int arena_shared;     /* 1: a sibling's view of another model's arena (vlm_create_sibling) */
    float *grads;         /* where the passes add gradients: the arena's grads or a bound buffer */
    vlm_packed_t *packed; /* owned by the model whose arena it is */
    /* vlm_zero_grads zeroes all but the linear weights' gradients and leaves those to their dW
     * products, which then write instead of adding (the same bits as adding into zeros):
     * grads_pending is set until the backward has settled them, dw_written [n_tensors] marks
     * the ones written since (vlm_grads_settle zeroes the rest). */
    int grads_pending;
    unsigned char *dw_written;
    /* 1 (the default): the last decoder block runs after its attention at the target rows
     * only (vlm_pass.c); 0: over every row, as a reference for the tests. */
    int last_at_targets;
    int enc_patch_w, enc_patch_b, enc_pos, enc_ln_w, enc_ln_b;
    int proj_fc1_w, proj_fc1_b, proj_fc2_w, proj_fc2_b;
    int dec_tok, dec_ln_w, dec_ln_b, head_w, head_b;
    vlm_tower_t enc, dec;

    /* activations (one arena) */
    float *act_arena;
    float *patches; /* [images * n_patches x patch_px] */
    float *enc_lnf, *enc_lnf_mean, *enc_lnf_rstd;
    float *pooled, *proj_dgelu, *proj_g, *img_emb;
    float *gath, *dec_lnf, *dec_lnf_mean, *dec_lnf_rstd; /* target rows only */
    float *logits, *lse, *dlogits;
    float *rope_cos, *rope_sin; /* [max_seq x head_dim / 2] */
    void *wt_scratch;           /* one weight prepared per product, when packed is not valid */
    float *d_res, *d_ln, *d_qkv, *d_att, *d_hid, *d_gath;
    float *d_img, *d_proj_g, *d_pooled;
    uint8_t *pixels; /* [max_images x S x S x C] the images of the pass */
    int32_t *tokens, *tgt_rows, *tgt_ids;
    int32_t *host_rows, *host_ids; /* host: the target rows and ids, uploaded to the two above */

    /* the last forward */
    int have_forward, B, T, n_images, image_token;
    int last_gathered; /* its last decoder block ran at the target rows (last_at_targets) */
    int64_t n_targets;
};

static inline float *vlm_p(vlm_t *m, int t) {
    return m->arena + m->tensors[t].offset;
}
static inline float *vlm_g(vlm_t *m, int t) {
    return m->grads + m->tensors[t].offset;
}
/* Linear weight t [N x K] prepared for the forward products: the shared copy when valid, else
 * prepared now into the model's scratch (valid until the next call). */
static inline const kern_weight_t *vlm_wt(vlm_t *m, int t) {
    if (m->packed->valid) return m->packed->w[t];
    return kern_weight_prepare(m->wt_scratch, vlm_p(m, t), m->tensors[t].shape[1],
                               m->tensors[t].shape[0]);
}

/* vlm.c: zeroes the linear weights' gradients that no dW product wrote since vlm_zero_grads
 * (the encoder's, in a pass without images); no-op unless grads_pending. */
void vlm_grads_settle(vlm_t *m);

/* vlm_pass.c: runs the image tower on n <= max_images images (host memory) into m->img_emb. */
void vlm_encoder_forward(vlm_t *m, const uint8_t *pixels, int n);
/* vlm_pass.c, the two halves of a block's forward around its attention, over `rows` rows:
 * LN1 and the qkv projection of res[l] into act[l].qkv (before RoPE); then the output
 * projection of act[l].att, the residual, LN2 and the MLP into res[l + 1]. */
void vlm_block_qkv_forward(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows);
void vlm_block_out_forward(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows);
/* vlm_pass.c: final LN and LM head at the n_targets rows tgt_rows (uploaded) of the decoder
 * output, into m->logits. */
void vlm_head_logits(vlm_t *m);

#endif
