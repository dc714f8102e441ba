/* vlm_cache.c - the decoder's key/value cache (see vlm_cache.h).
 *
 * Layout: k and v are [layers][slots][max_seq][dim]; a position's key is the k part of the qkv
 * row after RoPE (and smearing), head h in columns [h*hd, (h+1)*hd) as in the qkv buffer. With
 * smeared keys, kraw keeps each position's key before smearing, which the first continuation
 * token mixes into its own key. The prefill is a
 * plain vlm_forward (no targets) followed by a copy of the k and v parts; the continuations run
 * each decoder block as vlm_forward does, except that RoPE starts at the continuation's
 * position and attention reads the earlier positions from the cache.
 *
 * k, v and kraw are kernel buffers (kernels/buffer.h), filled and read by kernel calls only; the
 * continuations' tokens and image embeddings, host memory, are copied into the model's
 * buffers.
 */
#include "model/vlm_cache.h"

#include <stdlib.h>

#include "common/error.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"
#include "model/vlm_internal.h"

struct vlm_cache {
    int layers, slots, max_seq, dim;
    float *k, *v;       /* [layers][slots][max_seq][dim] */
    float *kraw;        /* the same, keys before smearing (smeared-key models only) */
    int *len;           /* [slots] prefilled positions */
    int32_t *no_target; /* [max_tokens] of -1: the prefill's targets */
};

static size_t kv_offset(const vlm_cache_t *c, int l, int slot, int pos) {
    return (((size_t)l * (size_t)c->slots + (size_t)slot) * (size_t)c->max_seq + (size_t)pos) *
           (size_t)c->dim;
}

vlm_cache_t *vlm_cache_create(const vlm_t *m, int slots) {
    if (slots <= 0) micl_fatal("vlm_cache_create: %d slots", slots);
    vlm_cache_t *c = micl_calloc(1, sizeof *c);
    c->layers = m->cfg.layers;
    c->slots = slots;
    c->max_seq = m->cfg.max_seq;
    c->dim = m->cfg.dim;
    size_t n = kv_offset(c, c->layers, 0, 0);
    c->k = kern_alloc(n * sizeof(float));
    c->v = kern_alloc(n * sizeof(float));
    if (m->dec.smear) c->kraw = kern_alloc(n * sizeof(float));
    c->len = micl_calloc((size_t)slots, sizeof(int));
    c->no_target = micl_malloc((size_t)m->max_tokens * sizeof(int32_t));
    for (int i = 0; i < m->max_tokens; i++)
        c->no_target[i] = -1;
    return c;
}

void vlm_cache_free(vlm_cache_t *c) {
    if (!c) return;
    kern_free(c->k);
    kern_free(c->v);
    kern_free(c->kraw);
    free(c->len);
    free(c->no_target);
    free(c);
}

void vlm_cache_prefill(vlm_t *m, vlm_cache_t *c, int B, int T, const int32_t *tokens, int n_images,
                       const uint8_t *pixels, int image_token) {
    if (B <= 0 || B > c->slots)
        micl_fatal("vlm_cache_prefill: %d prefixes for a cache of %d slots", B, c->slots);
    vlm_batch_t b = {B, T, tokens, c->no_target, n_images, pixels, image_token};
    vlm_forward(m, &b, NULL); /* checks B*T, T <= max_seq, tokens and images */
    int D = c->dim;
    for (int l = 0; l < c->layers; l++) {
        const float *qkv = m->dec.act[l].qkv;
        for (int s = 0; s < B; s++) {
            const float *rows = qkv + (size_t)s * T * 3 * (size_t)D; /* prefix s: T rows of 3D */
            kern_copy_strided(c->k + kv_offset(c, l, s, 0), D, rows + D, 3 * D, T, D);
            kern_copy_strided(c->v + kv_offset(c, l, s, 0), D, rows + 2 * D, 3 * D, T, D);
            if (c->kraw)
                kern_copy(c->kraw + kv_offset(c, l, s, 0),
                          m->dec.act[l].kraw + (size_t)s * T * (size_t)D,
                          sizeof(float) * (size_t)T * (size_t)D);
        }
    }
    for (int s = 0; s < c->slots; s++)
        c->len[s] = s < B ? T : 0;
    m->have_forward = 0;
}

/* Checks the continuations and writes their input rows (token or image embeddings) to the
 * decoder's residual stream; sets the head's rows to each continuation's last token. Their
 * tokens go to m->tokens, their image embeddings, in order, to m->d_gath (a gradient buffer
 * [max_tokens x dim] that a forward-only pass leaves free), and one kern_embed_forward reads
 * both. */
static int64_t embed_continuations(vlm_t *m, const vlm_cache_t *c, const vlm_continuation_t *conts,
                                   int n, int image_token) {
    int D = m->cfg.dim, V = m->cfg.vocab;
    float *img = m->d_gath;
    int64_t rows = 0, n_img = 0;
    for (int i = 0; i < n; i++) {
        const vlm_continuation_t *q = &conts[i];
        if (q->slot < 0 || q->slot >= c->slots || q->prefix_len < 1 ||
            q->prefix_len > c->len[q->slot] || q->n_tokens < 1 ||
            q->prefix_len + q->n_tokens > c->max_seq)
            micl_fatal("vlm_cache_score: continuation %d (slot %d, prefix %d, %d tokens) does not "
                       "fit a cache of %d slots, max_seq %d",
                       i, q->slot, q->prefix_len, q->n_tokens, c->slots, c->max_seq);
        if (rows + q->n_tokens > m->max_tokens)
            micl_fatal("vlm_cache_score: continuations exceed max_tokens %d", m->max_tokens);
        int q_img = 0;
        for (int t = 0; t < q->n_tokens; t++) {
            int32_t tok = q->tokens[t];
            if (tok < 0 || tok >= V)
                micl_fatal("vlm_cache_score: token %d outside [0, %d)", (int)tok, V);
            q_img += tok == image_token;
        }
        kern_copy_from_host(m->tokens + rows, q->tokens, sizeof(int32_t) * (size_t)q->n_tokens);
        if (q_img > 0)
            kern_copy_from_host(img + n_img * D, q->image_emb,
                                sizeof(float) * (size_t)q_img * (size_t)D);
        n_img += q_img;
        rows += q->n_tokens;
        m->host_rows[i] = (int32_t)(rows - 1);
    }
    kern_embed_forward(m->dec.res[0], vlm_p(m, m->dec_tok), img, m->tokens, rows, D, image_token);
    kern_copy_from_host(m->tgt_rows, m->host_rows, sizeof(int32_t) * (size_t)n);
    m->n_targets = n;
    return rows;
}

/* RoPE at each continuation's positions (and smearing, whose first token mixes in the cached
 * raw key of the position before it), then attention over its slot's cached prefix. */
static void attend_continuations(vlm_t *m, const vlm_cache_t *c, int l,
                                 const vlm_continuation_t *conts, int n) {
    int D = m->cfg.dim, H = m->cfg.heads, half = D / H / 2;
    vlm_block_act_t *a = &m->dec.act[l];
    int64_t r0 = 0;
    for (int i = 0; i < n; i++) {
        const vlm_continuation_t *q = &conts[i];
        float *qkv = a->qkv + r0 * 3 * D;
        size_t p0 = (size_t)q->prefix_len;
        kern_rope_forward(qkv, m->rope_cos + p0 * half, m->rope_sin + p0 * half, 1, q->n_tokens, H,
                          D);
        if (c->kraw)
            kern_smear_keys_forward(qkv, a->kraw + r0 * D, vlm_p(m, m->dec.blocks[l].smear), 1,
                                    q->n_tokens, H, D, c->kraw + kv_offset(c, l, q->slot, p0 - 1));
        kern_attention_cached_forward(a->att + r0 * D, qkv, q->n_tokens,
                                      c->k + kv_offset(c, l, q->slot, 0),
                                      c->v + kv_offset(c, l, q->slot, 0), D, q->prefix_len, H, D);
        r0 += q->n_tokens;
    }
}

void vlm_cache_score(vlm_t *m, const vlm_cache_t *c, const vlm_continuation_t *conts, int n,
                     int image_token, float *logits) {
    if (n <= 0) return;
    if (n > m->max_tokens) micl_fatal("vlm_cache_score: %d continuations", n);
    m->have_forward = 0;
    int64_t rows = embed_continuations(m, c, conts, n, image_token);
    for (int l = 0; l < m->dec.layers; l++) {
        vlm_block_qkv_forward(m, &m->dec, l, rows);
        attend_continuations(m, c, l, conts, n);
        vlm_block_out_forward(m, &m->dec, l, rows);
    }
    vlm_head_logits(m);
    kern_copy_to_host(logits, m->logits, sizeof(float) * (size_t)n * (size_t)m->cfg.vocab);
}
