/* vlm_pass.c - forward and backward passes of the VLM, each layer's forward beside its backward.
 *
 * Data flow (rows: NP = images * n_patches encoder rows, N = B * T decoder rows):
 *   pixels -> patches -> patch linear + pos -> encoder blocks -> LN -> pool (flatten|mean) ->
 * projector
 *   -> image embeddings; tokens -> embedding rows (image tokens take the image embeddings in
 *   order) -> decoder blocks (RoPE, causal) -> gather target rows -> LN -> LM head -> CE.
 * Backward walks the same path in reverse, adding into the bound gradient block (vlm_bind_grads;
 * the arena's by default) and reusing the shared activation-gradient buffers (d_res, d_ln, d_qkv,
 * d_att, d_hid) for the decoder first and then the encoder. Nothing here allocates, and nothing
 * here touches a buffer's contents: every step, copies and gathers included, is a kernel call
 * (kernels.h, buffer.h). The host reads only the batch it is given and the target rows it
 * derives from it.
 */
#include "model/vlm_internal.h"

#include "common/error.h"
#include "kernels/buffer.h"
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

/* The block after its attention over `rows` rows: input residual x, output out. */
static void block_out(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows, const float *x, float *out) {
    const vlm_block_params_t *p = &tw->blocks[l];
    vlm_block_act_t *a = &tw->act[l];
    int W = tw->width, hid = tw->hidden;
    kern_matmul_residual_forward(a->res_mid, a->att, vlm_wt(m, p->proj_w), vlm_p(m, p->proj_b), x,
                                 rows, W, W);
    kern_layernorm_forward(a->ln2, a->ln2_mean, a->ln2_rstd, a->res_mid, vlm_p(m, p->ln2_w),
                           vlm_p(m, p->ln2_b), rows, W);
    kern_matmul_gelu_forward(a->gelu, a->dgelu, a->ln2, vlm_wt(m, p->fc1_w), vlm_p(m, p->fc1_b),
                             rows, W, hid);
    kern_matmul_residual_forward(out, a->gelu, vlm_wt(m, p->fc2_w), vlm_p(m, p->fc2_b), a->res_mid,
                                 rows, hid, W);
}

void vlm_block_out_forward(vlm_t *m, vlm_tower_t *tw, int l, int64_t rows) {
    block_out(m, tw, l, rows, tw->res[l], tw->res[l + 1]);
}

/* LN1, qkv, RoPE, smearing and attention of block l over all B x T rows, into act[l].att. */
static void block_attend(vlm_t *m, vlm_tower_t *tw, int l, int B, int T) {
    vlm_block_act_t *a = &tw->act[l];
    vlm_block_qkv_forward(m, tw, l, (int64_t)B * T);
    if (tw->rope) kern_rope_forward(a->qkv, m->rope_cos, m->rope_sin, B, T, tw->heads, tw->width);
    if (tw->smear)
        kern_smear_keys_forward(a->qkv, a->kraw, vlm_p(m, tw->blocks[l].smear), B, T, tw->heads,
                                tw->width, NULL);
    kern_attention_forward(a->att, a->probs, a->qkv, B, T, tw->heads, tw->width, tw->causal);
}

static void block_forward(vlm_t *m, vlm_tower_t *tw, int l, int B, int T) {
    block_attend(m, tw, l, B, T);
    vlm_block_out_forward(m, tw, l, (int64_t)B * T);
}

/* The attention half of block l's backward: m->d_att holds dLoss/d(attention output) and
 * m->d_res dLoss/d(block input) through the residual path; LN1's backward adds into it. */
static void block_attend_backward(vlm_t *m, vlm_tower_t *tw, int l, int B, int T) {
    const vlm_block_params_t *p = &tw->blocks[l];
    const vlm_block_act_t *a = &tw->act[l];
    int W = tw->width;
    int64_t rows = (int64_t)B * T;
    kern_attention_backward(m->d_qkv, m->d_att, a->qkv, a->probs, B, T, tw->heads, W, tw->causal);
    if (tw->smear)
        kern_smear_keys_backward(m->d_qkv, vlm_g(m, p->smear), a->kraw, vlm_p(m, p->smear), B, T,
                                 tw->heads, W);
    if (tw->rope) kern_rope_backward(m->d_qkv, m->rope_cos, m->rope_sin, B, T, tw->heads, W);
    kern_matmul_backward(m->d_ln, vlm_g(m, p->qkv_w), vlm_g(m, p->qkv_b), m->d_qkv, a->ln1,
                         vlm_p(m, p->qkv_w), rows, W, 3 * W, dw_acc(m, p->qkv_w));
    kern_layernorm_backward(m->d_res, vlm_g(m, p->ln1_w), vlm_g(m, p->ln1_b), m->d_ln, tw->res[l],
                            a->ln1_mean, a->ln1_rstd, vlm_p(m, p->ln1_w), rows, W);
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
    block_attend_backward(m, tw, l, B, T);
}

/* ---- patch embedding (+ learned position embedding) ---- */

/* The n images (host memory) into m->pixels, then their patch rows into m->patches
 * (kern_patchify), the patch embedding and the position embedding. */
static void patch_embed_forward(vlm_t *m, const uint8_t *pixels, int n) {
    int S = m->cfg.image_size, C = m->cfg.channels, E = m->cfg.enc_dim, NPI = m->n_patches;
    float *x = m->enc.res[0];
    kern_copy_from_host(m->pixels, pixels, (size_t)n * (size_t)S * (size_t)S * (size_t)C);
    kern_patchify(m->patches, m->pixels, n, S, m->cfg.patch, C);
    kern_matmul_forward(x, m->patches, vlm_wt(m, m->enc_patch_w), vlm_p(m, m->enc_patch_b),
                        (int64_t)n * NPI, m->patch_px, E);
    kern_add_rows(x, vlm_p(m, m->enc_pos), n, NPI * E);
}

/* d_res holds dLoss/d(patch embedding + pos) for n images. */
static void patch_embed_backward(vlm_t *m, int n) {
    int E = m->cfg.enc_dim, NPI = m->n_patches;
    const float *d = m->d_res;
    kern_accumulate_rows(vlm_g(m, m->enc_pos), d, n, NPI * E);
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
    kern_zero(m->d_res, sizeof(float) * (size_t)(rows * E));
    kern_layernorm_backward(m->d_res, vlm_g(m, m->enc_ln_w), vlm_g(m, m->enc_ln_b), m->d_ln,
                            m->enc.res[m->enc.layers], m->enc_lnf_mean, m->enc_lnf_rstd,
                            vlm_p(m, m->enc_ln_w), rows, E);
    for (int l = m->enc.layers - 1; l >= 0; l--)
        block_backward(m, &m->enc, l, n, NPI);
    patch_embed_backward(m, n);
}

/* ---- decoder input: token embeddings with image embeddings spliced in ---- */

static void embed_forward(vlm_t *m, int image_token) {
    kern_embed_forward(m->dec.res[0], vlm_p(m, m->dec_tok), m->img_emb, m->tokens,
                       (int64_t)m->B * m->T, m->cfg.dim, image_token);
}

/* Token rows add into dec.tok (in row order); image rows go to d_img in order. */
static void embed_backward(vlm_t *m, int image_token) {
    kern_embed_backward(vlm_g(m, m->dec_tok), m->d_img, m->d_res, m->tokens, (int64_t)m->B * m->T,
                        m->cfg.dim, image_token);
}

/* ---- LM head at the target rows ---- */

/* Final LN and LM head over m->gath, the final residual stream at the n_targets rows. */
static void head_logits_gathered(vlm_t *m) {
    int D = m->cfg.dim, V = m->cfg.vocab;
    int64_t nt = m->n_targets;
    kern_layernorm_forward(m->dec_lnf, m->dec_lnf_mean, m->dec_lnf_rstd, m->gath,
                           vlm_p(m, m->dec_ln_w), vlm_p(m, m->dec_ln_b), nt, D);
    kern_matmul_forward(m->logits, m->dec_lnf, vlm_wt(m, m->head_w), vlm_p(m, m->head_b), nt, D, V);
}

void vlm_head_logits(vlm_t *m) {
    kern_gather_rows(m->gath, m->dec.res[m->dec.layers], m->tgt_rows, m->n_targets, m->cfg.dim);
    head_logits_gathered(m);
}

/* gathered: m->gath already holds the final residual stream at the targets (the last block
 * ran at the target rows only); else it is gathered from the full stream. */
static double head_forward(vlm_t *m, int gathered) {
    if (gathered)
        head_logits_gathered(m);
    else
        vlm_head_logits(m);
    return kern_crossentropy_forward(m->lse, m->logits, m->tgt_ids, m->n_targets, m->cfg.vocab);
}

/* Leaves dLoss/d(final residual stream at the targets) in d_gath; unless gathered, also
 * scatters it into d_res (zero at rows without a target). */
static void head_backward(vlm_t *m, float scale, int gathered) {
    int D = m->cfg.dim, V = m->cfg.vocab;
    int64_t nt = m->n_targets, N = (int64_t)m->B * m->T;
    if (!gathered) kern_zero(m->d_res, sizeof(float) * (size_t)(N * D));
    if (nt == 0) return;
    kern_crossentropy_backward(m->dlogits, m->logits, m->lse, m->tgt_ids, nt, V, scale);
    kern_matmul_backward(m->d_ln, vlm_g(m, m->head_w), vlm_g(m, m->head_b), m->dlogits, m->dec_lnf,
                         vlm_p(m, m->head_w), nt, D, V, dw_acc(m, m->head_w));
    kern_zero(m->d_gath, sizeof(float) * (size_t)(nt * D));
    kern_layernorm_backward(m->d_gath, vlm_g(m, m->dec_ln_w), vlm_g(m, m->dec_ln_b), m->d_ln,
                            m->gath, m->dec_lnf_mean, m->dec_lnf_rstd, vlm_p(m, m->dec_ln_w), nt,
                            D);
    if (!gathered) kern_scatter_rows(m->d_res, m->d_gath, m->tgt_rows, nt, D, 1);
}

/* ---- the last decoder block at the target rows ---- */

/* Nothing after the last decoder block reads a row without a target (the head runs at the
 * targets only), so its part after the attention runs over the nt target rows, gathered in
 * order (tgt_rows ascend): the attention output in place in act.att, the residual input into
 * res[L], which the full pass would fill and nothing reads here; the output goes straight
 * into m->gath, the head's input. Every op of that part treats rows independently, so each
 * target row gets the bits of the full pass. */
static void last_block_forward(vlm_t *m) {
    vlm_tower_t *tw = &m->dec;
    int l = tw->layers - 1, D = tw->width;
    vlm_block_act_t *a = &tw->act[l];
    block_attend(m, tw, l, m->B, m->T);
    float *xt = tw->res[l + 1];
    kern_gather_rows(a->att, a->att, m->tgt_rows, m->n_targets, D);
    kern_gather_rows(xt, tw->res[l], m->tgt_rows, m->n_targets, D);
    block_out(m, tw, l, m->n_targets, xt, m->gath);
}

/* A linear layer [N x K] of the last block over the nt compact rows: dinp (times dgelu when
 * given), and dW and the bias sum with the bits of the full pass, whose rows without a target
 * hold zero gradients (kern_matmul_backward_rows, told where the target rows sit). */
static void linear_backward_compact(vlm_t *m, int w, int b, float *dinp, const float *dout,
                                    const float *inp, const float *dgelu, int64_t nt, int K,
                                    int N) {
    kern_matmul_backward_rows(dinp, vlm_g(m, w), vlm_g(m, b), dout, inp, vlm_p(m, w), dgelu,
                              m->host_rows, nt, K, N, dw_acc(m, w));
}

/* Backward of last_block_forward; m->d_gath holds dLoss/d(its output). In the full pass the
 * gradient at rows without a target is +0 and stays +0 through the MLP, LN2 and the
 * projection, so d_res and d_att are rebuilt as zeros with the target rows in place before
 * the attention's backward. */
static void last_block_backward(vlm_t *m) {
    vlm_tower_t *tw = &m->dec;
    int l = tw->layers - 1, W = tw->width, hid = tw->hidden;
    const vlm_block_params_t *p = &tw->blocks[l];
    const vlm_block_act_t *a = &tw->act[l];
    int64_t nt = m->n_targets, N = (int64_t)m->B * m->T;
    float *dres = m->d_gath, *datt = m->d_ln;
    kern_plus_zero(dres, nt * W); /* as added into the full pass's zeros: -0 becomes +0 */
    linear_backward_compact(m, p->fc2_w, p->fc2_b, m->d_hid, dres, a->gelu, a->dgelu, nt, hid, W);
    linear_backward_compact(m, p->fc1_w, p->fc1_b, m->d_ln, m->d_hid, a->ln2, NULL, nt, W, hid);
    kern_layernorm_backward(dres, vlm_g(m, p->ln2_w), vlm_g(m, p->ln2_b), m->d_ln, a->res_mid,
                            a->ln2_mean, a->ln2_rstd, vlm_p(m, p->ln2_w), nt, W);
    linear_backward_compact(m, p->proj_w, p->proj_b, datt, dres, a->att, NULL, nt, W, W);
    kern_zero(m->d_att, sizeof(float) * (size_t)(N * W));
    kern_zero(m->d_res, sizeof(float) * (size_t)(N * W));
    kern_scatter_rows(m->d_att, datt, m->tgt_rows, nt, W, 0);
    kern_scatter_rows(m->d_res, dres, m->tgt_rows, nt, W, 0);
    block_attend_backward(m, tw, l, m->B, m->T);
}

/* ---- the public passes ---- */

/* Checks the batch against the model's limits, finds the target rows and ids on the host and
 * copies them and the tokens into the model's buffers. */
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
        if (tgt >= 0) {
            m->host_rows[nt] = (int32_t)r;
            m->host_ids[nt++] = tgt;
        }
    }
    if (n_img != b->n_images)
        micl_fatal("vlm_forward: %lld image tokens but n_images = %d", (long long)n_img,
                   b->n_images);
    if (n_img > 0 && b->pixels == NULL) micl_fatal("vlm_forward: image tokens without pixels");
    kern_copy_from_host(m->tokens, b->tokens, sizeof(int32_t) * (size_t)N);
    kern_copy_from_host(m->tgt_rows, m->host_rows, sizeof(int32_t) * (size_t)nt);
    kern_copy_from_host(m->tgt_ids, m->host_ids, sizeof(int32_t) * (size_t)nt);
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
    int last = m->dec.layers > 0 && m->last_at_targets; /* the last block at the targets */
    for (int l = 0; l < m->dec.layers - last; l++)
        block_forward(m, &m->dec, l, m->B, m->T);
    if (last) last_block_forward(m);
    m->last_gathered = last;
    double loss = m->n_targets > 0 ? head_forward(m, last) : 0.0;
    m->have_forward = 1;
    if (n_targets) *n_targets = m->n_targets;
    return loss;
}

void vlm_backward(vlm_t *m, float scale) {
    if (!m->have_forward) micl_fatal("vlm_backward: no forward pass to differentiate");
    int last = m->last_gathered; /* as the forward ran */
    head_backward(m, scale, last);
    if (last) last_block_backward(m);
    for (int l = m->dec.layers - 1 - last; l >= 0; l--)
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
        kern_copy_to_host(out + (size_t)i0 * D, m->img_emb, sizeof(float) * (size_t)n * D);
    }
}
