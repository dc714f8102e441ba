/* vlm_pass.c - forward and backward passes of the VLM, each layer's forward beside its backward.
 *
 * Data flow (rows: NP = images * n_patches encoder rows, N = B * T decoder rows):
 *   pixels -> patches -> patch linear + pos -> encoder blocks -> LN -> pool (flatten|mean) ->
 * projector
 *   -> image embeddings; tokens -> embedding rows (image tokens take the image embeddings in
 *   order) -> decoder blocks (RoPE, causal) -> gather target rows -> LN -> LM head -> CE.
 * Backward walks the same path in reverse, adding into the bound gradient block (vlm_bind_grads;
 * the arena's by default) and reusing the shared activation-gradient buffers (d_res, d_ln, d_qkv,
 * d_att, d_hid) for the decoder first and then the encoder. Nothing here allocates.
 */
#include "model/vlm_internal.h"

#include <string.h>

#include "common/error.h"
#include "kernels/kernels.h"

/* The accumulate flag of linear weight t's dW product: 0 (write) for its first product after
 * vlm_zero_grads, when its gradient has not been zeroed. */
static int dw_acc(vlm_t *m, int t) {
    if (!m->grads_pending || m->dw_written[t]) return 1;
    m->dw_written[t] = 1;
    return 0;
}

/* ---- one pre-LN transformer block ---- */

void vlm_block_qkv_forward(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows) {
    const vlm_block_params_t *p = &tw->blocks[l];
    vlm_block_act_t *a = &tw->act[l];
    int W = tw->width;
    kern_layernorm_forward(a->ln1, a->ln1_mean, a->ln1_rstd, tw->res[l], vlm_p(m, p->ln1_w),
                           vlm_p(m, p->ln1_b), rows, W);
    kern_matmul_forward(a->qkv, a->ln1, vlm_wt(m, p->qkv_w), vlm_p(m, p->qkv_b), rows, W, 3 * W);
}

void vlm_block_out_forward(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows) {
    const vlm_block_params_t *p = &tw->blocks[l];
    vlm_block_act_t *a = &tw->act[l];
    int W = tw->width, hid = tw->hidden;
    const float *x = tw->res[l];
    float *out = tw->res[l + 1];
    kern_matmul_residual_forward(a->res_mid, a->att, vlm_wt(m, p->proj_w), vlm_p(m, p->proj_b), x,
                                 rows, W, W);
    kern_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res_mid, vlm_p(m, p->ln2_w),
                           vlm_p(m, p->ln2_b), rows, W);
    kern_matmul_gelu_forward(a->gelu, a->dgelu, a->ln2, vlm_wt(m, p->fc1_w), vlm_p(m, p->fc1_b),
                             rows, W, hid);
    kern_matmul_residual_forward(out, a->gelu, vlm_wt(m, p->fc2_w), vlm_p(m, p->fc2_b), a->res_mid,
                                 rows, hid, W);
}

static void block_forward(vlm_t *m, vlm_tower_t *tw, int l, int B, int T) {
    vlm_block_act_t *a = &tw->act[l];
    vlm_block_qkv_forward(m, tw, l, (int64_t)B * T);
    if (tw->rope) kern_rope_forward(a->qkv, m->rope_cos, m->rope_sin, B, T, tw->heads, tw->width);
    if (tw->smear)
        kern_smear_keys_forward(a->qkv, a->kraw, vlm_p(m, tw->blocks[l].smear), B, T, tw->heads,
                                tw->width, NULL);
    kern_attention_forward(a->att, a->probs, a->qkv, B, T, tw->heads, tw->width, tw->causal);
    vlm_block_out_forward(m, tw, l, (int64_t)B * T);
}

/* On entry m->d_res holds dLoss/d(block output); on exit dLoss/d(block input). */
static void block_backward(vlm_t *m, vlm_tower_t *tw, int l, int B, int T) {
    const vlm_block_params_t *p = &tw->blocks[l];
    const vlm_block_act_t *a = &tw->act[l];
    int W = tw->width, hid = tw->hidden;
    int64_t rows = (int64_t)B * T;
    float *dres = m->d_res;
    /* MLP: out = res_mid + fc2(gelu(fc1(LN2(res_mid)))) */
    kern_matmul_gelu_backward(m->d_hid, vlm_g(m, p->fc2_w), vlm_g(m, p->fc2_b), dres, a->gelu,
                              vlm_p(m, p->fc2_w), a->dgelu, rows, hid, W, dw_acc(m, p->fc2_w));
    kern_matmul_backward(m->d_ln, vlm_g(m, p->fc1_w), vlm_g(m, p->fc1_b), m->d_hid, a->ln2,
                         vlm_p(m, p->fc1_w), rows, W, hid, dw_acc(m, p->fc1_w));
    kern_layernorm_backward(dres, vlm_g(m, p->ln2_w), vlm_g(m, p->ln2_b), m->d_ln, a->res_mid,
                            a->ln2_mean, a->ln2_rstd, vlm_p(m, p->ln2_w), rows, W);
    /* attention: res_mid = x + proj(attn(qkv(LN1(x)))) */
    kern_matmul_backward(m->d_att, vlm_g(m, p->proj_w), vlm_g(m, p->proj_b), dres, a->att,
                         vlm_p(m, p->proj_w), rows, W, W, dw_acc(m, p->proj_w));
    kern_attention_backward(m->d_qkv, m->d_att, a->qkv, a->probs, B, T, tw->heads, W, tw->causal);
    if (tw->smear)
        kern_smear_keys_backward(m->d_qkv, vlm_g(m, p->smear), a->kraw, vlm_p(m, p->smear), B, T,
                                 tw->heads, W);
    if (tw->rope) kern_rope_backward(m->d_qkv, m->rope_cos, m->rope_sin, B, T, tw->heads, W);
    kern_matmul_backward(m->d_ln, vlm_g(m, p->qkv_w), vlm_g(m, p->qkv_b), m->d_qkv, a->ln1,
                         vlm_p(m, p->qkv_w), rows, W, 3 * W, dw_acc(m, p->qkv_w));
    kern_layernorm_backward(dres, vlm_g(m, p->ln1_w), vlm_g(m, p->ln1_b), m->d_ln, tw->res[l],
                            a->ln1_mean, a->ln1_rstd, vlm_p(m, p->ln1_w), rows, W);
}

/* ---- patch embedding (+ learned position embedding) ---- */

/* patches[img * n_patches + p][(py * P + px) * C + ch] = pixel / 255, patches row-major over
 * the grid, channels interleaved as in the image. */
static void patchify(vlm_t *m, const uint8_t *pixels, int n) {
    int S = m->cfg.image_size, P = m->cfg.patch, G = m->grid, PP = m->patch_px;
    int C = m->cfg.channels, row = P * C;
#pragma omp parallel for schedule(static)
    for (int64_t ip = 0; ip < (int64_t)n * m->n_patches; ip++) {
        int64_t img = ip / m->n_patches;
        int p = (int)(ip % m->n_patches), gy = p / G, gx = p % G;
        const uint8_t *src =
            pixels + ((img * S + (int64_t)gy * P) * S + (int64_t)gx * P) * (int64_t)C;
        float *dst = m->patches + ip * PP;
        for (int py = 0; py < P; py++)
            for (int k = 0; k < row; k++)
                dst[py * row + k] = (float)src[(int64_t)py * S * C + k] / 255.0f;
    }
}

static void patch_embed_forward(vlm_t *m, const uint8_t *pixels, int n) {
    int E = m->cfg.enc_dim, NPI = m->n_patches;
    float *x = m->enc.res[0];
    patchify(m, pixels, n);
    kern_matmul_forward(x, m->patches, vlm_wt(m, m->enc_patch_w), vlm_p(m, m->enc_patch_b),
                        (int64_t)n * NPI, m->patch_px, E);
    const float *pos = vlm_p(m, m->enc_pos);
#pragma omp parallel for schedule(static)
    for (int64_t img = 0; img < n; img++)
        for (int64_t k = 0; k < (int64_t)NPI * E; k++)
            x[img * NPI * E + k] += pos[k];
}

/* d_res holds dLoss/d(patch embedding + pos) for n images. */
static void patch_embed_backward(vlm_t *m, int n) {
    int E = m->cfg.enc_dim, NPI = m->n_patches;
    float *dpos = vlm_g(m, m->enc_pos);
    const float *d = m->d_res;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < NPI; p++)
        for (int64_t img = 0; img < n; img++)
            for (int c = 0; c < E; c++)
                dpos[p * E + c] += d[(img * NPI + p) * E + c];
    kern_matmul_backward(NULL, vlm_g(m, m->enc_patch_w), vlm_g(m, m->enc_patch_b), d, m->patches,
                         vlm_p(m, m->enc_patch_w), (int64_t)n * NPI, m->patch_px, E,
                         dw_acc(m, m->enc_patch_w));
}

/* ---- image tower: encoder blocks, final LN, pooling, projector ---- */

void vlm_encoder_forward(vlm_t *m, const uint8_t *pixels, int n) {
    int E = m->cfg.enc_dim, D = m->cfg.dim, NPI = m->n_patches;
    int64_t rows = (int64_t)n * NPI;
    patch_embed_forward(m, pixels, n);
    for (int l = 0; l < m->enc.layers; l++)
        block_forward(m, &m->enc, l, n, NPI);
    kern_layernorm_forward(m->enc_lnf, m->enc_lnf_mean, m->enc_lnf_rstd, m->enc.res[m->enc.layers],
                           vlm_p(m, m->enc_ln_w), vlm_p(m, m->enc_ln_b), rows, E);
    /* flatten: the LN output [n*NPI x E] read as [n x NPI*E] is already the concatenation */
    int flat = m->cfg.pool == VLM_POOL_FLATTEN, K = flat ? NPI * E : E;
    if (!flat) kern_mean_pool_forward(m->pooled, m->enc_lnf, n, NPI, E);
    kern_matmul_gelu_forward(m->proj_g, m->proj_dgelu, flat ? m->enc_lnf : m->pooled,
                             vlm_wt(m, m->proj_fc1_w), vlm_p(m, m->proj_fc1_b), n, K, D);
    kern_matmul_forward(m->img_emb, m->proj_g, vlm_wt(m, m->proj_fc2_w), vlm_p(m, m->proj_fc2_b), n,
                        D, D);
}

/* m->d_img holds dLoss/d(image embeddings). */
static void encoder_backward(vlm_t *m, int n) {
    int E = m->cfg.enc_dim, D = m->cfg.dim, NPI = m->n_patches;
    int64_t rows = (int64_t)n * NPI;
    kern_matmul_gelu_backward(m->d_proj_g, vlm_g(m, m->proj_fc2_w), vlm_g(m, m->proj_fc2_b),
                              m->d_img, m->proj_g, vlm_p(m, m->proj_fc2_w), m->proj_dgelu, n, D, D,
                              dw_acc(m, m->proj_fc2_w));
    int flat = m->cfg.pool == VLM_POOL_FLATTEN, K = flat ? NPI * E : E;
    kern_matmul_backward(flat ? m->d_ln : m->d_pooled, vlm_g(m, m->proj_fc1_w),
                         vlm_g(m, m->proj_fc1_b), m->d_proj_g, flat ? m->enc_lnf : m->pooled,
                         vlm_p(m, m->proj_fc1_w), n, K, D, dw_acc(m, m->proj_fc1_w));
    if (!flat) kern_mean_pool_backward(m->d_ln, m->d_pooled, n, NPI, E);
    memset(m->d_res, 0, sizeof(float) * (size_t)(rows * E));
    kern_layernorm_backward(m->d_res, vlm_g(m, m->enc_ln_w), vlm_g(m, m->enc_ln_b), m->d_ln,
                            m->enc.res[m->enc.layers], m->enc_lnf_mean, m->enc_lnf_rstd,
                            vlm_p(m, m->enc_ln_w), rows, E);
    for (int l = m->enc.layers - 1; l >= 0; l--)
        block_backward(m, &m->enc, l, n, NPI);
    patch_embed_backward(m, n);
}

/* ---- decoder input: token embeddings with image embeddings spliced in ---- */

static void embed_forward(vlm_t *m, int image_token) {
    int D = m->cfg.dim;
    int64_t N = (int64_t)m->B * m->T, img = 0;
    const float *wte = vlm_p(m, m->dec_tok);
    float *x = m->dec.res[0];
    for (int64_t r = 0; r < N; r++) {
        const float *src = m->tokens[r] == image_token ? m->img_emb + (img++) * D
                                                       : wte + (int64_t)m->tokens[r] * D;
        memcpy(x + r * D, src, sizeof(float) * (size_t)D);
    }
}

/* Token rows add into dec.tok (one thread, in row order); image rows go to d_img in order. */
static void embed_backward(vlm_t *m, int image_token) {
    int D = m->cfg.dim;
    int64_t N = (int64_t)m->B * m->T, img = 0;
    float *dwte = vlm_g(m, m->dec_tok);
    for (int64_t r = 0; r < N; r++) {
        const float *d = m->d_res + r * D;
        if (m->tokens[r] == image_token) {
            memcpy(m->d_img + (img++) * D, d, sizeof(float) * (size_t)D);
        } else {
            float *g = dwte + (int64_t)m->tokens[r] * D;
            for (int c = 0; c < D; c++)
                g[c] += d[c];
        }
    }
}

/* ---- LM head at the target rows ---- */

void vlm_head_logits(vlm_t *m) {
    int D = m->cfg.dim, V = m->cfg.vocab;
    int64_t nt = m->n_targets;
    const float *x = m->dec.res[m->dec.layers];
    for (int64_t i = 0; i < nt; i++)
        memcpy(m->gath + i * D, x + (int64_t)m->tgt_rows[i] * D, sizeof(float) * (size_t)D);
    kern_layernorm_forward(m->dec_lnf, m->dec_lnf_mean, m->dec_lnf_rstd, m->gath,
                           vlm_p(m, m->dec_ln_w), vlm_p(m, m->dec_ln_b), nt, D);
    kern_matmul_forward(m->logits, m->dec_lnf, vlm_wt(m, m->head_w), vlm_p(m, m->head_b), nt, D, V);
}

static double head_forward(vlm_t *m) {
    vlm_head_logits(m);
    return kern_crossentropy_forward(m->lse, m->logits, m->tgt_ids, m->n_targets, m->cfg.vocab);
}

/* Leaves dLoss/d(final residual stream) in d_res (zero at rows without a target). */
static void head_backward(vlm_t *m, float scale) {
    int D = m->cfg.dim, V = m->cfg.vocab;
    int64_t nt = m->n_targets, N = (int64_t)m->B * m->T;
    memset(m->d_res, 0, sizeof(float) * (size_t)(N * D));
    if (nt == 0) return;
    kern_crossentropy_backward(m->dlogits, m->logits, m->lse, m->tgt_ids, nt, V, scale);
    kern_matmul_backward(m->d_ln, vlm_g(m, m->head_w), vlm_g(m, m->head_b), m->dlogits, m->dec_lnf,
                         vlm_p(m, m->head_w), nt, D, V, dw_acc(m, m->head_w));
    memset(m->d_gath, 0, sizeof(float) * (size_t)(nt * D));
    kern_layernorm_backward(m->d_gath, vlm_g(m, m->dec_ln_w), vlm_g(m, m->dec_ln_b), m->d_ln,
                            m->gath, m->dec_lnf_mean, m->dec_lnf_rstd, vlm_p(m, m->dec_ln_w), nt,
                            D);
    for (int64_t i = 0; i < nt; i++) {
        float *dst = m->d_res + (int64_t)m->tgt_rows[i] * D;
        const float *src = m->d_gath + i * D;
        for (int c = 0; c < D; c++)
            dst[c] += src[c];
    }
}

/* ---- the public passes ---- */

/* Checks the batch against the model's limits and copies tokens and targets. */
static void load_batch(vlm_t *m, const vlm_batch_t *b) {
    const vlm_config_t *c = &m->cfg;
    if (b->B <= 0 || b->T <= 0 || b->T > c->max_seq || (int64_t)b->B * b->T > m->max_tokens)
        micl_fatal("vlm_forward: batch B=%d T=%d exceeds max_seq %d / max_tokens %d", b->B, b->T,
                   c->max_seq, m->max_tokens);
    if (b->n_images < 0 || b->n_images > m->max_images)
        micl_fatal("vlm_forward: %d images exceed max_images %d", b->n_images, m->max_images);
    int64_t N = (int64_t)b->B * b->T, n_img = 0, nt = 0;
    for (int64_t r = 0; r < N; r++) {
        int32_t tok = b->tokens[r], tgt = b->targets[r];
        if (tok < 0 || tok >= c->vocab)
            micl_fatal("vlm_forward: token %d at %lld outside [0, %d)", (int)tok, (long long)r,
                       c->vocab);
        if (tgt < -1 || tgt >= c->vocab)
            micl_fatal("vlm_forward: target %d at %lld outside [-1, %d)", (int)tgt, (long long)r,
                       c->vocab);
        n_img += tok == b->image_token;
        m->tokens[r] = tok;
        if (tgt >= 0) {
            m->tgt_rows[nt] = (int32_t)r;
            m->tgt_ids[nt++] = tgt;
        }
    }
    if (n_img != b->n_images)
        micl_fatal("vlm_forward: %lld image tokens but n_images = %d", (long long)n_img,
                   b->n_images);
    if (n_img > 0 && b->pixels == NULL) micl_fatal("vlm_forward: image tokens without pixels");
    m->B = b->B;
    m->T = b->T;
    m->n_images = b->n_images;
    m->n_targets = nt;
}

double vlm_forward(vlm_t *m, const vlm_batch_t *b, int64_t *n_targets) {
    load_batch(m, b);
    m->image_token = b->image_token;
    if (m->n_images > 0) vlm_encoder_forward(m, b->pixels, m->n_images);
    embed_forward(m, b->image_token);
    for (int l = 0; l < m->dec.layers; l++)
        block_forward(m, &m->dec, l, m->B, m->T);
    double loss = m->n_targets > 0 ? head_forward(m) : 0.0;
    m->have_forward = 1;
    if (n_targets) *n_targets = m->n_targets;
    return loss;
}

void vlm_backward(vlm_t *m, float scale) {
    if (!m->have_forward) micl_fatal("vlm_backward: no forward pass to differentiate");
    head_backward(m, scale);
    for (int l = m->dec.layers - 1; l >= 0; l--)
        block_backward(m, &m->dec, l, m->B, m->T);
    embed_backward(m, m->image_token);
    if (m->n_images > 0) encoder_backward(m, m->n_images);
    vlm_grads_settle(m);
}

void vlm_encode_images(vlm_t *m, const uint8_t *pixels, int n_images, float *out) {
    int D = m->cfg.dim;
    size_t img_bytes = (size_t)m->cfg.image_size * m->cfg.image_size * m->cfg.channels;
    if (m->max_images <= 0 && n_images > 0) micl_fatal("vlm_encode_images: max_images is 0");
    m->have_forward = 0; /* the activations are overwritten */
    for (int i0 = 0; i0 < n_images; i0 += m->max_images) {
        int n = n_images - i0 < m->max_images ? n_images - i0 : m->max_images;
        vlm_encoder_forward(m, pixels + (size_t)i0 * img_bytes, n);
        memcpy(out + (size_t)i0 * D, m->img_emb, sizeof(float) * (size_t)n * D);
    }
}
