/* vlm.c - the model object: config checks, the named parameter table, the parameter and
 * activation arenas, initialisation and the FLOP count. The passes live in vlm_pass.c.
 *
 * Parameter tensors, in arena order (E = enc_dim, D = dim, h = mlp_ratio * width):
 *   enc.patch.w [E x P*P*C], enc.patch.b [E], enc.pos [n_patches x E],
 *   enc.<i>.{ln1.w, ln1.b, attn.qkv.w [3E x E], attn.qkv.b, attn.proj.w [E x E], attn.proj.b,
 *            ln2.w, ln2.b, mlp.fc1.w [h x E], mlp.fc1.b, mlp.fc2.w [E x h], mlp.fc2.b},
 *   enc.ln.w, enc.ln.b, proj.fc1.w [D x n_patches*E (flatten) or D x E (mean)], proj.fc1.b,
 * proj.fc2.w [D x D], proj.fc2.b, dec.tok [vocab x D], dec.<i>.{same block names, width D},
 * dec.ln.w, dec.ln.b, dec.head.w [vocab x D], dec.head.b [vocab]. Every matrix is [out x in] (y = x
 * W^T + b). The qkv output is q | k | v, each split into heads of width/heads consecutive columns.
 *
 * The arenas and the packed weights are kernel buffers (kernels/buffer.h): allocated, zeroed,
 * filled and freed through the kernel API; what the model computes on the host (initial
 * parameters, RoPE tables) is staged in host memory and copied in.
 */
#include "model/vlm_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/error.h"
#include "common/rng.h"
#include "kernels/buffer.h"
#include "kernels/kernels.h"

#define NAME_LEN 48

/* Width of the projector's input: all patch tokens (flatten) or their mean. */
static int vlm_pooled_width(const vlm_t *m) {
    return m->cfg.pool == VLM_POOL_MEAN ? m->cfg.enc_dim : m->n_patches * m->cfg.enc_dim;
}

/* ---- parameter table ---- */

typedef struct {
    vlm_t *m;
    char *names; /* n_tensors * NAME_LEN */
    int cap;
} table_builder_t;

static int add_tensor(table_builder_t *tb, int init, int decay, int ndim, int d0, int d1,
                      const char *fmt, int layer) {
    vlm_t *m = tb->m;
    if (m->n_tensors >= tb->cap) micl_fatal("vlm: tensor table overflow");
    int i = m->n_tensors++;
    vlm_tensor_t *t = &m->tensors[i];
    char *name = tb->names + (size_t)i * NAME_LEN;
    snprintf(name, NAME_LEN, fmt, layer);
    t->name = name;
    t->offset = m->n_params;
    t->ndim = ndim;
    memset(t->shape, 0, sizeof t->shape);
    t->shape[0] = d0;
    t->shape[1] = ndim > 1 ? d1 : 0;
    t->size = (size_t)d0 * (size_t)(ndim > 1 ? d1 : 1);
    t->decay = decay;
    m->init_kind[i] = init;
    m->n_params += t->size;
    return i;
}

static void add_block(table_builder_t *tb, vlm_block_params_t *b, const char *prefix, int l, int W,
                      int hid) {
    char f[NAME_LEN];
#define BLOCK_T(field, init, decay, nd, d0, d1, suffix)                                            \
    snprintf(f, sizeof f, "%s.%%d.%s", prefix, suffix);                                            \
    b->field = add_tensor(tb, init, decay, nd, d0, d1, f, l)
    BLOCK_T(ln1_w, VLM_INIT_ONE, 0, 1, W, 0, "ln1.w");
    BLOCK_T(ln1_b, VLM_INIT_ZERO, 0, 1, W, 0, "ln1.b");
    BLOCK_T(qkv_w, VLM_INIT_NORMAL, 1, 2, 3 * W, W, "attn.qkv.w");
    BLOCK_T(qkv_b, VLM_INIT_ZERO, 0, 1, 3 * W, 0, "attn.qkv.b");
    BLOCK_T(proj_w, VLM_INIT_NORMAL_RESID, 1, 2, W, W, "attn.proj.w");
    BLOCK_T(proj_b, VLM_INIT_ZERO, 0, 1, W, 0, "attn.proj.b");
    BLOCK_T(ln2_w, VLM_INIT_ONE, 0, 1, W, 0, "ln2.w");
    BLOCK_T(ln2_b, VLM_INIT_ZERO, 0, 1, W, 0, "ln2.b");
    BLOCK_T(fc1_w, VLM_INIT_NORMAL, 1, 2, hid, W, "mlp.fc1.w");
    BLOCK_T(fc1_b, VLM_INIT_ZERO, 0, 1, hid, 0, "mlp.fc1.b");
    BLOCK_T(fc2_w, VLM_INIT_NORMAL_RESID, 1, 2, W, hid, "mlp.fc2.w");
    BLOCK_T(fc2_b, VLM_INIT_ZERO, 0, 1, W, 0, "mlp.fc2.b");
#undef BLOCK_T
    b->smear = -1;
}

static void build_table(vlm_t *m) {
    const vlm_config_t *c = &m->cfg;
    int cap = 5 + 12 * c->enc_layers + 4 + 1 + 13 * c->layers + 4;
    table_builder_t tb = {m, micl_calloc((size_t)cap, NAME_LEN), cap};
    m->tensors = micl_calloc((size_t)cap, sizeof(vlm_tensor_t));
    m->init_kind = micl_calloc((size_t)cap, sizeof(int));
    int E = c->enc_dim, D = c->dim;
    m->enc_patch_w = add_tensor(&tb, VLM_INIT_NORMAL, 1, 2, E, m->patch_px, "enc.patch.w", 0);
    m->enc_patch_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, E, 0, "enc.patch.b", 0);
    m->enc_pos = add_tensor(&tb, VLM_INIT_NORMAL, 0, 2, m->n_patches, E, "enc.pos", 0);
    for (int l = 0; l < c->enc_layers; l++)
        add_block(&tb, &m->enc.blocks[l], "enc", l, E, m->hidden_enc);
    m->enc_ln_w = add_tensor(&tb, VLM_INIT_ONE, 0, 1, E, 0, "enc.ln.w", 0);
    m->enc_ln_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, E, 0, "enc.ln.b", 0);
    m->proj_fc1_w = add_tensor(&tb, VLM_INIT_NORMAL, 1, 2, D, vlm_pooled_width(m), "proj.fc1.w", 0);
    m->proj_fc1_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, D, 0, "proj.fc1.b", 0);
    m->proj_fc2_w = add_tensor(&tb, VLM_INIT_NORMAL, 1, 2, D, D, "proj.fc2.w", 0);
    m->proj_fc2_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, D, 0, "proj.fc2.b", 0);
    m->dec_tok = add_tensor(&tb, VLM_INIT_NORMAL, 0, 2, c->vocab, D, "dec.tok", 0);
    for (int l = 0; l < c->layers; l++) {
        add_block(&tb, &m->dec.blocks[l], "dec", l, D, m->hidden_dec);
        if (m->dec.smear)
            m->dec.blocks[l].smear =
                add_tensor(&tb, VLM_INIT_ZERO, 0, 1, c->heads, 0, "dec.%d.attn.smear", l);
    }
    m->dec_ln_w = add_tensor(&tb, VLM_INIT_ONE, 0, 1, D, 0, "dec.ln.w", 0);
    m->dec_ln_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, D, 0, "dec.ln.b", 0);
    m->head_w = add_tensor(&tb, VLM_INIT_NORMAL, 1, 2, c->vocab, D, "dec.head.w", 0);
    m->head_b = add_tensor(&tb, VLM_INIT_ZERO, 0, 1, c->vocab, 0, "dec.head.b", 0);
}

/* ---- activation arena: laid out twice, first to count, then to assign ---- */

typedef struct {
    float *base;
    size_t used;
} carver_t;

static float *carve(carver_t *cv, size_t n) {
    size_t off = cv->used;
    cv->used += (n + 15) & ~(size_t)15; /* keep every buffer 64-byte aligned */
    return cv->base ? cv->base + off : NULL;
}

static void layout_tower(carver_t *cv, vlm_tower_t *tw, size_t rows, size_t probs) {
    size_t W = (size_t)tw->width, h = (size_t)tw->hidden;
    for (int l = 0; l <= tw->layers; l++)
        tw->res[l] = carve(cv, rows * W);
    for (int l = 0; l < tw->layers; l++) {
        vlm_block_act_t *a = &tw->act[l];
        a->ln1 = carve(cv, rows * W);
        a->ln1_mean = carve(cv, rows);
        a->ln1_rstd = carve(cv, rows);
        a->qkv = carve(cv, rows * 3 * W);
        a->kraw = tw->smear ? carve(cv, rows * W) : NULL;
        a->probs = carve(cv, probs);
        a->att = carve(cv, rows * W);
        a->res_mid = carve(cv, rows * W);
        a->ln2 = carve(cv, rows * W);
        a->ln2_mean = carve(cv, rows);
        a->ln2_rstd = carve(cv, rows);
        a->dgelu = carve(cv, rows * h);
        a->gelu = carve(cv, rows * h);
    }
}

static size_t max_sz(size_t a, size_t b) {
    return a > b ? a : b;
}

static void layout_activations(vlm_t *m, carver_t *cv) {
    const vlm_config_t *c = &m->cfg;
    size_t NP = (size_t)m->max_images * m->n_patches, N = (size_t)m->max_tokens;
    size_t E = c->enc_dim, D = c->dim, V = c->vocab, I = m->max_images;
    size_t enc_probs = I * c->enc_heads * m->n_patches * m->n_patches;
    size_t dec_probs = N * (size_t)c->heads * c->max_seq;
    m->patches = carve(cv, NP * m->patch_px);
    layout_tower(cv, &m->enc, NP, enc_probs);
    m->enc_lnf = carve(cv, NP * E);
    m->enc_lnf_mean = carve(cv, NP);
    m->enc_lnf_rstd = carve(cv, NP);
    m->pooled = carve(cv, I * E);
    m->proj_dgelu = carve(cv, I * D);
    m->proj_g = carve(cv, I * D);
    m->img_emb = carve(cv, I * D);
    layout_tower(cv, &m->dec, N, dec_probs);
    m->gath = carve(cv, N * D);
    m->dec_lnf = carve(cv, N * D);
    m->dec_lnf_mean = carve(cv, N);
    m->dec_lnf_rstd = carve(cv, N);
    m->logits = carve(cv, N * V);
    m->lse = carve(cv, N);
    m->dlogits = carve(cv, N * V);
    int hd = c->dim / c->heads;
    m->rope_cos = carve(cv, (size_t)c->max_seq * (hd / 2));
    m->rope_sin = carve(cv, (size_t)c->max_seq * (hd / 2));
    size_t wt = 0; /* bytes of the largest prepared weight */
    for (int t = 0; t < m->n_tensors; t++)
        if (m->tensors[t].ndim == 2)
            wt = max_sz(wt, kern_weight_bytes(m->tensors[t].shape[1], m->tensors[t].shape[0]));
    m->wt_scratch = carve(cv, (wt + sizeof(float) - 1) / sizeof(float));
    size_t rw = max_sz(NP * E, N * D);
    m->d_res = carve(cv, rw);
    m->d_ln = carve(cv, rw);
    m->d_qkv = carve(cv, 3 * rw);
    m->d_att = carve(cv, rw);
    m->d_hid = carve(cv, max_sz(NP * m->hidden_enc, N * m->hidden_dec));
    m->d_gath = carve(cv, N * D);
    m->d_img = carve(cv, I * D);
    m->d_proj_g = carve(cv, I * D);
    m->d_pooled = carve(cv, I * E);
    size_t px = I * (size_t)c->image_size * (size_t)c->image_size * (size_t)m->cfg.channels;
    m->pixels = (uint8_t *)carve(cv, (px + sizeof(float) - 1) / sizeof(float));
    m->tokens = (int32_t *)carve(cv, N);
    m->tgt_rows = (int32_t *)carve(cv, N);
    m->tgt_ids = (int32_t *)carve(cv, N);
}

/* theta_i = 10000^(-2i/hd); angle at position t = t * theta_i. Computed on the host. */
static void fill_rope_tables(vlm_t *m) {
    int hd = m->cfg.dim / m->cfg.heads, half = hd / 2;
    size_t n = (size_t)m->cfg.max_seq * (size_t)half;
    float *cs = micl_malloc((n > 0 ? n : 1) * sizeof(float));
    float *sn = micl_malloc((n > 0 ? n : 1) * sizeof(float));
    for (int t = 0; t < m->cfg.max_seq; t++)
        for (int i = 0; i < half; i++) {
            double ang = (double)t * pow(10000.0, -2.0 * i / (double)hd);
            cs[t * half + i] = (float)cos(ang);
            sn[t * half + i] = (float)sin(ang);
        }
    kern_copy_from_host(m->rope_cos, cs, n * sizeof(float));
    kern_copy_from_host(m->rope_sin, sn, n * sizeof(float));
    free(cs);
    free(sn);
}

/* ---- creation ---- */

_Static_assert(CONFIG_MAX_SEQ == KERN_ATTN_MAX_T,
               "the config's model.max_seq bound is the attention kernels' longest sequence");

static int check_config(const vlm_config_t *c, int max_tokens, int max_images, char *err,
                        size_t err_len) {
#define BAD(...) return snprintf(err, err_len, __VA_ARGS__), 0
    if (c->image_size <= 0 || c->patch <= 0 || c->image_size % c->patch != 0)
        BAD("image_size (%d) must be a positive multiple of patch (%d)", c->image_size, c->patch);
    if (c->enc_dim <= 0 || c->enc_layers < 0 || c->enc_heads <= 0 || c->enc_dim % c->enc_heads)
        BAD("enc_dim (%d) must be a positive multiple of enc_heads (%d)", c->enc_dim, c->enc_heads);
    if (c->dim <= 0 || c->layers < 0 || c->heads <= 0 || c->dim % c->heads)
        BAD("dim (%d) must be a positive multiple of heads (%d)", c->dim, c->heads);
    if ((c->dim / c->heads) % 2) BAD("dim / heads (%d) must be even for RoPE", c->dim / c->heads);
    if (c->pool != VLM_POOL_FLATTEN && c->pool != VLM_POOL_MEAN) BAD("unknown pool %d", c->pool);
    if (c->channels != 0 && c->channels != 1 && c->channels != 3)
        BAD("channels must be 1 (gray) or 3 (RGB), got %d", c->channels);
    if (c->smear_keys != 0 && c->smear_keys != 1)
        BAD("smear_keys must be 0 or 1, got %d", c->smear_keys);
    if (c->mlp_ratio <= 0) BAD("mlp_ratio must be positive, got %d", c->mlp_ratio);
    if (c->vocab <= 0) BAD("vocab must be positive, got %d", c->vocab);
    if (c->max_seq <= 0 || c->max_seq > KERN_ATTN_MAX_T)
        BAD("max_seq must be in [1, %d], got %d", KERN_ATTN_MAX_T, c->max_seq);
    int grid = c->image_size / c->patch;
    if (grid * grid > KERN_ATTN_MAX_T) BAD("too many patches per image (%d)", grid * grid);
    if (!(c->init_std > 0.0f) || !isfinite(c->init_std))
        BAD("init_std must be positive and finite");
    if (max_tokens <= 0 || max_images < 0)
        BAD("max_tokens (%d) must be positive and max_images (%d) non-negative", max_tokens,
            max_images);
#undef BAD
    return 1;
}

/* The linear layers' weights: the decayed 2-D tensors. */
static int is_linear_weight(const vlm_tensor_t *t) {
    return t->ndim == 2 && t->decay;
}

/* The packed copy of the linear weights, laid out once. */
static vlm_packed_t *packed_create(const vlm_t *m) {
    vlm_packed_t *pk = micl_calloc(1, sizeof(vlm_packed_t));
    pk->offset = micl_calloc((size_t)m->n_tensors, sizeof(size_t));
    pk->w = micl_calloc((size_t)m->n_tensors, sizeof(kern_weight_t *));
    size_t total = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        const vlm_tensor_t *tt = &m->tensors[t];
        pk->offset[t] = SIZE_MAX;
        if (!is_linear_weight(tt)) continue;
        pk->offset[t] = total;
        total += kern_weight_bytes(tt->shape[1], tt->shape[0]); /* multiples of 64 bytes */
    }
    pk->buf = kern_alloc(total);
    pk->bytes = total;
    return pk;
}

size_t vlm_packed_bytes(const vlm_t *m) {
    return m->packed->bytes;
}

static void packed_free(vlm_packed_t *pk) {
    kern_free(pk->buf);
    free(pk->offset);
    free(pk->w);
    free(pk);
}

void vlm_pack_weights(vlm_t *m) {
    vlm_packed_t *pk = m->packed;
    for (int t = 0; t < m->n_tensors; t++)
        if (pk->offset[t] != SIZE_MAX)
            pk->w[t] = kern_weight_prepare((char *)pk->buf + pk->offset[t], vlm_p(m, t),
                                           m->tensors[t].shape[1], m->tensors[t].shape[0]);
    pk->valid = 1;
}

/* A model with its own activations; its parameter arena is `shared`'s when given (a sibling),
 * else a new zeroed one. */
static vlm_t *create(const vlm_config_t *cfg, int max_tokens, int max_images, vlm_t *shared) {
    vlm_t *m = micl_calloc(1, sizeof(vlm_t));
    m->cfg = *cfg;
    if (m->cfg.channels == 0) m->cfg.channels = 1; /* configs made before colour images */
    m->max_tokens = max_tokens;
    m->max_images = max_images;
    m->grid = cfg->image_size / cfg->patch;
    m->n_patches = m->grid * m->grid;
    m->patch_px = cfg->patch * cfg->patch * m->cfg.channels;
    m->hidden_enc = cfg->mlp_ratio * cfg->enc_dim;
    m->hidden_dec = cfg->mlp_ratio * cfg->dim;
    vlm_tower_t *towers[2] = {&m->enc, &m->dec};
    int layers[2] = {cfg->enc_layers, cfg->layers}, widths[2] = {cfg->enc_dim, cfg->dim};
    int heads[2] = {cfg->enc_heads, cfg->heads}, hidden[2] = {m->hidden_enc, m->hidden_dec};
    for (int i = 0; i < 2; i++) {
        vlm_tower_t *tw = towers[i];
        tw->layers = layers[i];
        tw->width = widths[i];
        tw->heads = heads[i];
        tw->hidden = hidden[i];
        tw->causal = i == 1;
        tw->rope = i == 1;
        tw->smear = i == 1 && cfg->smear_keys;
        tw->blocks = micl_calloc((size_t)layers[i] + 1, sizeof(vlm_block_params_t));
        tw->act = micl_calloc((size_t)layers[i] + 1, sizeof(vlm_block_act_t));
        tw->res = micl_calloc((size_t)layers[i] + 1, sizeof(float *));
    }
    build_table(m);
    if (shared) {
        m->arena = shared->arena;
        m->arena_shared = 1;
    } else {
        m->arena = kern_alloc(4 * m->n_params * sizeof(float));
        kern_zero(m->arena, 4 * m->n_params * sizeof(float));
    }
    m->grads = m->arena + m->n_params;
    m->packed = shared ? shared->packed : packed_create(m);
    m->dw_written = micl_calloc((size_t)m->n_tensors + 1, 1);
    m->last_at_targets = 1;
    m->host_rows = micl_malloc((size_t)max_tokens * sizeof(int32_t));
    m->host_ids = micl_malloc((size_t)max_tokens * sizeof(int32_t));
    carver_t cv = {NULL, 0};
    layout_activations(m, &cv);
    cv.base = kern_alloc(cv.used * sizeof(float));
    kern_zero(cv.base, cv.used * sizeof(float));
    m->act_arena = cv.base;
    cv.used = 0;
    layout_activations(m, &cv);
    fill_rope_tables(m);
    return m;
}

vlm_t *vlm_create(const vlm_config_t *cfg, int max_tokens, int max_images, char *err,
                  size_t err_len) {
    if (!check_config(cfg, max_tokens, max_images, err, err_len)) return NULL;
    return create(cfg, max_tokens, max_images, NULL);
}

vlm_t *vlm_create_sibling(vlm_t *base) {
    return create(&base->cfg, base->max_tokens, base->max_images, base);
}

void vlm_free(vlm_t *m) {
    if (!m) return;
    if (m->n_tensors > 0) free((void *)m->tensors[0].name); /* the name block */
    free(m->tensors);
    free(m->init_kind);
    free(m->dw_written);
    free(m->host_rows);
    free(m->host_ids);
    if (!m->arena_shared) kern_free(m->arena), packed_free(m->packed);
    kern_free(m->act_arena);
    vlm_tower_t *towers[2] = {&m->enc, &m->dec};
    for (int i = 0; i < 2; i++) {
        free(towers[i]->blocks);
        free(towers[i]->act);
        free(towers[i]->res);
    }
    free(m);
}

const vlm_config_t *vlm_config(const vlm_t *m) {
    return &m->cfg;
}
size_t vlm_num_params(const vlm_t *m) {
    return m->n_params;
}
int vlm_num_tensors(const vlm_t *m) {
    return m->n_tensors;
}
const vlm_tensor_t *vlm_tensor(const vlm_t *m, int i) {
    if (i < 0 || i >= m->n_tensors) micl_fatal("vlm_tensor: index %d out of range", i);
    return &m->tensors[i];
}
float *vlm_params(vlm_t *m) {
    m->packed->valid = 0; /* the caller may write through it */
    return m->arena;
}
float *vlm_grads(vlm_t *m) {
    vlm_grads_settle(m);
    return m->grads;
}
void vlm_bind_grads(vlm_t *m, float *g) {
    vlm_grads_settle(m);
    m->grads = g ? g : m->arena + m->n_params;
}
float *vlm_adam_m(vlm_t *m) {
    return m->arena + 2 * m->n_params;
}
float *vlm_adam_v(vlm_t *m) {
    return m->arena + 3 * m->n_params;
}

/* The tensors lie in order without gaps: zero everything between the linear weights. */
void vlm_zero_grads(vlm_t *m) {
    size_t at = 0;
    for (int t = 0; t < m->n_tensors; t++) {
        const vlm_tensor_t *tt = &m->tensors[t];
        if (!is_linear_weight(tt)) continue;
        kern_zero(m->grads + at, (tt->offset - at) * sizeof(float));
        at = tt->offset + tt->size;
    }
    kern_zero(m->grads + at, (m->n_params - at) * sizeof(float));
    memset(m->dw_written, 0, (size_t)m->n_tensors);
    m->grads_pending = 1;
}

void vlm_grads_settle(vlm_t *m) {
    if (!m->grads_pending) return;
    for (int t = 0; t < m->n_tensors; t++)
        if (is_linear_weight(&m->tensors[t]) && !m->dw_written[t])
            kern_zero(vlm_g(m, t), m->tensors[t].size * sizeof(float));
    m->grads_pending = 0;
}

const float *vlm_logits(const vlm_t *m) {
    return m->logits;
}

/* Each tensor is drawn on the host and copied into the arena. */
void vlm_init_params(vlm_t *m, uint64_t seed) {
    m->packed->valid = 0;
    float resid = 1.0f / sqrtf(2.0f * (float)(m->cfg.layers > 0 ? m->cfg.layers : 1));
    float resid_enc = 1.0f / sqrtf(2.0f * (float)(m->cfg.enc_layers > 0 ? m->cfg.enc_layers : 1));
    size_t largest = 1;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].size > largest) largest = m->tensors[i].size;
    float *p = micl_malloc(largest * sizeof(float));
    for (int i = 0; i < m->n_tensors; i++) {
        const vlm_tensor_t *t = &m->tensors[i];
        rng_t r = rng_make(seed, RNG_STREAM_INIT, (uint64_t)i);
        float std = m->cfg.init_std;
        if (m->init_kind[i] == VLM_INIT_NORMAL_RESID)
            std *= strncmp(t->name, "enc.", 4) == 0 ? resid_enc : resid;
        for (size_t j = 0; j < t->size; j++) {
            switch (m->init_kind[i]) {
            case VLM_INIT_ONE:
                p[j] = 1.0f;
                break;
            case VLM_INIT_ZERO:
                p[j] = 0.0f;
                break;
            default:
                p[j] = std * rng_normal(&r);
                break;
            }
        }
        kern_copy_from_host(vlm_p(m, i), p, t->size * sizeof(float));
    }
    free(p);
}

/* ---- FLOPs ---- */

/* Forward FLOPs of one image through the tower and projector. */
static double image_flops(const vlm_config_t *c) {
    double np = (double)(c->image_size / c->patch) * (c->image_size / c->patch);
    double E = c->enc_dim, D = c->dim, h = (double)c->mlp_ratio * E;
    double f = 2.0 * np * c->patch * c->patch * (c->channels > 0 ? c->channels : 1) * E;
    f += c->enc_layers * (2.0 * np * (3 * E * E + E * E + 2 * E * h) + 4.0 * np * np * E);
    double pooled = c->pool == VLM_POOL_MEAN ? E : np * E;
    return f + 2.0 * (pooled * D + D * D);
}

double vlm_flops_per_step_targets(const vlm_config_t *c, int64_t n_tokens, int64_t n_images, int T,
                                  int64_t n_targets) {
    double D = c->dim, h = (double)c->mlp_ratio * D;
    double attend = 2.0 * 3 * D * D + 4.0 * (T + 1) / 2.0 * D, out = 2.0 * (D * D + 2 * D * h);
    /* the last block's projection and MLP run at the targets only (vlm_pass.c) */
    double fwd =
        (double)n_tokens * c->layers * attend +
        (c->layers > 0 ? (double)n_tokens * (c->layers - 1) * out + (double)n_targets * out : 0.0) +
        (double)n_targets * 2.0 * D * c->vocab + (double)n_images * image_flops(c);
    return 3.0 * fwd; /* backward = 2x forward */
}

double vlm_flops_per_step(const vlm_config_t *cfg, int64_t n_tokens, int64_t n_images, int T) {
    return vlm_flops_per_step_targets(cfg, n_tokens, n_images, T, n_tokens);
}

double vlm_train_flops(const vlm_config_t *c, int64_t tokens, int64_t attn_pairs, int64_t images) {
    double D = c->dim, h = (double)c->mlp_ratio * D;
    double p_dec = c->layers * (4.0 * D * D + 2.0 * D * h) + D * c->vocab;
    return 6.0 * p_dec * (double)tokens + 12.0 * c->layers * D * (double)attn_pairs +
           3.0 * (double)images * image_flops(c);
}
