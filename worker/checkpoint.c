/* checkpoint.c - writing and validating checkpoint files (see checkpoint.h). The parameter
 * arena (params, AdamW m and v) is a kernel buffer: on a device backend it goes through one host
 * array, on the CPU it is written and read in place as before. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/config.h"
#include "common/h5util.h"
#include "data/episode.h"
#include "kernels/buffer.h"
#include "device.h"

/* Far beyond any run (train.steps is at most 10^15), small enough that no count overflows. */
#define CHECKPOINT_MAX_STEP (INT64_C(1) << 52)

static void write_model_config(hid_t g, const vlm_config_t *c) {
    h5_attr_int(g, "image_size", c->image_size);
    h5_attr_int(g, "patch", c->patch);
    h5_attr_int(g, "enc_dim", c->enc_dim);
    h5_attr_int(g, "enc_layers", c->enc_layers);
    h5_attr_int(g, "enc_heads", c->enc_heads);
    h5_attr_int(g, "dim", c->dim);
    h5_attr_int(g, "layers", c->layers);
    h5_attr_int(g, "heads", c->heads);
    h5_attr_int(g, "mlp_ratio", c->mlp_ratio);
    h5_attr_int(g, "vocab", c->vocab);
    h5_attr_int(g, "max_seq", c->max_seq);
    h5_attr_double(g, "init_std", c->init_std);
    h5_attr_int(g, "pool", c->pool);
    h5_attr_int(g, "channels", c->channels > 0 ? c->channels : 1);
    h5_attr_int(g, "smear_keys", c->smear_keys);
}

/* An integer attribute of `g` (named `where` in messages) that must lie in [lo, hi]: the
 * checkpoint's numbers size allocations and index arrays, so none is trusted as read. */
static int64_t attr_in(hid_t g, const char *path, const char *where, const char *name, int64_t lo,
                       int64_t hi) {
    int64_t v = h5_read_attr_int(g, name);
    if (v < lo || v > hi)
        micl_fatal("%s: attribute %s%s = %lld is out of range [%lld, %lld]", path, where, name,
                   (long long)v, (long long)lo, (long long)hi);
    return v;
}

/* A float attribute that must be finite. */
static double attr_finite(hid_t g, const char *path, const char *name) {
    double v = h5_read_attr_double(g, name);
    if (!isfinite(v)) micl_fatal("%s: attribute /%s is not finite (%g)", path, name, v);
    return v;
}

/* The ranges are those of the model keys in common/config_schema.c (a checkpoint comes from a
 * config). */
static void read_model_config(hid_t g, const char *path, vlm_config_t *c) {
    const char *w = "/model/";
    c->image_size = (int)attr_in(g, path, w, "image_size", 8, 256);
    c->patch = (int)attr_in(g, path, w, "patch", 1, 64);
    c->enc_dim = (int)attr_in(g, path, w, "enc_dim", 8, 4096);
    c->enc_layers = (int)attr_in(g, path, w, "enc_layers", 1, 64);
    c->enc_heads = (int)attr_in(g, path, w, "enc_heads", 1, 64);
    c->dim = (int)attr_in(g, path, w, "dim", 8, 4096);
    c->layers = (int)attr_in(g, path, w, "layers", 1, 64);
    c->heads = (int)attr_in(g, path, w, "heads", 1, 64);
    c->mlp_ratio = (int)attr_in(g, path, w, "mlp_ratio", 1, 16);
    c->vocab = (int)attr_in(g, path, w, "vocab", 1, 1 << 20);
    c->max_seq = (int)attr_in(g, path, w, "max_seq", 8, 8192);
    c->init_std = (float)h5_read_attr_double(g, "init_std");
    c->pool = (int)attr_in(g, path, w, "pool", 0, 1 << 16);
    /* Checkpoints written before colour images have no channels attribute: gray. */
    c->channels = h5_has_attr(g, "channels") ? (int)attr_in(g, path, w, "channels", 1, 3) : 1;
    /* Checkpoints written before smeared keys have plain keys. */
    c->smear_keys = h5_has_attr(g, "smear_keys") ? (int)attr_in(g, path, w, "smear_keys", 0, 1) : 0;
}

static void write_progress(hid_t f, const run_result_t *r) {
    hid_t g = h5_group(f, "progress");
    curve_write(g, &r->curve);
    h5_write_i64(g, "stage_start", r->stage_start, r->n_stages);
    h5_attr_int(g, "tokens", r->tokens);
    h5_attr_int(g, "images", r->images);
    h5_attr_int(g, "answers", r->answers);
    h5_attr_int(g, "targets", r->targets);
    h5_attr_double(g, "flops", r->flops);
    h5_attr_double(g, "train_seconds", r->train_seconds);
    h5_close_group(g);
}

void checkpoint_read_progress(const char *path, run_result_t *out) {
    hid_t f = h5_open_ro(path);
    if (!h5_exists(f, "progress")) micl_fatal("%s: missing group /progress", path);
    hid_t g = H5Gopen2(f, "progress", H5P_DEFAULT);
    if (g < 0) micl_fatal("%s: /progress is not a group", path);
    int64_t ns;
    curve_read(g, &out->curve);
    int64_t *ss = h5_read_i64(g, "stage_start", -1, &ns);
    if (ns > 16)
        micl_fatal("%s: /progress/stage_start has %lld entries (at most 16)", path, (long long)ns);
    memcpy(out->stage_start, ss, (size_t)ns * sizeof(int64_t));
    out->n_stages = (int)ns;
    free(ss);
    out->tokens = h5_read_attr_int(g, "tokens");
    if (h5_has_attr(g, "images")) { /* checkpoints from before the run statistics: from 0 */
        out->images = h5_read_attr_int(g, "images");
        out->answers = h5_read_attr_int(g, "answers");
        out->targets = h5_read_attr_int(g, "targets");
        out->flops = h5_read_attr_double(g, "flops");
        if (out->images < 0 || out->answers < 0 || out->targets < 0 || !isfinite(out->flops) ||
            out->flops < 0)
            micl_fatal("%s: /progress has a negative or non-finite run statistic", path);
    }
    out->train_seconds = h5_read_attr_double(g, "train_seconds");
    H5Gclose(g);
    h5_close_file(f, path);
}

/* Dataset `name` of n floats from the kernel buffer buf (through host, a host array of n
 * floats, when the buffers are device memory). */
static void write_arena(hid_t f, const char *name, const float *buf, int64_t n, float *host) {
    if (host) {
        kern_copy_to_host(host, buf, (size_t)n * sizeof(float));
        buf = host;
    }
    h5_write_f32(f, name, buf, n);
}

void checkpoint_state_device(train_state_t *st) {
    snprintf(st->device, sizeof st->device, "%s", device_backend());
    snprintf(st->precision, sizeof st->precision, "%s", device_precision());
}

/* The device and precision attributes: absent for the CPU in fp32 (every checkpoint before
 * devices), so that those checkpoints keep their bytes. */
static void write_device(hid_t f, const train_state_t *st) {
    const char *dev = st->device[0] ? st->device : "cpu";
    const char *prec = st->precision[0] ? st->precision : "fp32";
    if (strcmp(dev, "cpu") == 0 && strcmp(prec, "fp32") == 0) return;
    h5_attr_str(f, "device", dev);
    h5_attr_str(f, "precision", prec);
}

static void read_device(hid_t f, const char *path, train_state_t *st) {
    snprintf(st->device, sizeof st->device, "cpu");
    snprintf(st->precision, sizeof st->precision, "fp32");
    if (!h5_has_attr(f, "device")) return;
    char *dev = h5_read_attr_str(f, "device"), *prec = h5_read_attr_str(f, "precision");
    if (strlen(dev) >= sizeof st->device || strlen(prec) >= sizeof st->precision)
        micl_fatal("%s: attribute /device or /precision is too long", path);
    snprintf(st->device, sizeof st->device, "%s", dev);
    snprintf(st->precision, sizeof st->precision, "%s", prec);
    free(dev);
    free(prec);
}

void checkpoint_write(const char *path, vlm_t *m, const vocab_t *v, const train_state_t *st,
                      const char *config_text, const run_result_t *progress) {
    atomic_file_t af;
    atomic_file_begin(&af, path);
    hid_t f = h5_create(af.tmp);
    h5_attr_int(f, "schema_version", CHECKPOINT_SCHEMA_VERSION);
    h5_attr_str(f, "kind", "micl-checkpoint");
    h5_attr_str(f, "run", st->run);
    h5_attr_int(f, "step", st->step);
    h5_attr_int(f, "stage", st->stage);
    h5_attr_int(f, "stage_step", st->stage_step);
    h5_attr_double(f, "stage_acc", st->stage_acc);
    h5_attr_double(f, "log_loss", st->log_loss);
    h5_attr_int(f, "log_steps", st->log_steps);
    h5_attr_int(f, "episode_format", st->episode_format);
    write_device(f, st);
    if (st->config_hash[0]) h5_attr_str(f, "config_hash", st->config_hash);
    h5_write_text(f, "config", config_text ? config_text : "");
    hid_t g = h5_group(f, "model");
    write_model_config(g, vlm_config(m));
    h5_close_group(g);
    hid_t gv = h5_group(f, "vocab");
    h5_write_strings(gv, "words", v->words, v->n);
    h5_attr_int(gv, "n_question", v->n_question);
    h5_attr_int(gv, "first_task", v->first_task);
    h5_attr_int(gv, "n_task", v->n_task);
    if (v->n_question > 0) {
        int32_t q[VOCAB_MAX_QUESTION];
        for (int i = 0; i < v->n_question; i++)
            q[i] = v->question[i];
        h5_write_i32(gv, "question", q, v->n_question);
    }
    h5_attr_int(gv, "first_real", v->first_real);
    h5_attr_int(gv, "n_real", v->n_real);
    h5_attr_int(gv, "first_fake", v->first_fake);
    h5_attr_int(gv, "n_fake", v->n_fake);
    h5_close_group(gv);
    int64_t n = (int64_t)vlm_num_params(m);
    float *host = device_host_memory() ? NULL : micl_malloc((size_t)n * sizeof(float) + 1);
    write_arena(f, "params", vlm_params(m), n, host);
    write_arena(f, "adam_m", vlm_adam_m(m), n, host);
    write_arena(f, "adam_v", vlm_adam_v(m), n, host);
    free(host);
    if (progress) write_progress(f, progress);
    h5_close_file(f, af.tmp);
    atomic_file_commit(&af);
}

static void check_finite(const char *path, const char *name, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            micl_fatal("%s: dataset /%s holds a non-finite value at index %lld", path, name,
                       (long long)i);
}

/* The vocabulary of /vocab. Checkpoints written before the task section have no n_task
 * attribute: their question words follow the special tokens. */
static void read_vocab(const char *path, hid_t gv, char **words, int nw, vocab_t *v) {
    const char *wv = "/vocab/";
    int n_question = (int)attr_in(gv, path, wv, "n_question", 0, nw);
    int first_task = 0, n_task = 0;
    int32_t *question = NULL;
    if (h5_has_attr(gv, "n_task")) {
        first_task = (int)attr_in(gv, path, wv, "first_task", 0, nw);
        n_task = (int)attr_in(gv, path, wv, "n_task", 0, nw);
        if (n_question < 0 || n_question > VOCAB_MAX_QUESTION)
            micl_fatal("%s: /vocab has %d question words, at most %d", path, n_question,
                       VOCAB_MAX_QUESTION);
        if (n_question > 0) question = h5_read_i32(gv, "question", n_question, NULL);
    }
    vocab_from_words(v, words, nw, first_task, n_task, n_question, question,
                     (int)attr_in(gv, path, wv, "first_real", 0, nw),
                     (int)attr_in(gv, path, wv, "n_real", 0, nw),
                     (int)attr_in(gv, path, wv, "first_fake", 0, nw),
                     (int)attr_in(gv, path, wv, "n_fake", 0, nw));
    free(question);
}

/* The root attributes of an open checkpoint: its kind and version, then the training state. */
static void read_state(hid_t f, const char *path, train_state_t *st, char **config_text) {
    h5_check_kind(f, path, "micl-checkpoint", "checkpoint", CHECKPOINT_SCHEMA_VERSION);
    memset(st, 0, sizeof *st);
    char *run = h5_read_attr_str(f, "run");
    snprintf(st->run, sizeof st->run, "%s", run);
    free(run);
    st->step = attr_in(f, path, "/", "step", 0, CHECKPOINT_MAX_STEP);
    st->stage = (int)attr_in(f, path, "/", "stage", 0, CONFIG_MAX_STAGES - 1);
    st->stage_step = attr_in(f, path, "/", "stage_step", 0, st->step);
    st->stage_acc = attr_finite(f, path, "stage_acc");
    st->log_loss = attr_finite(f, path, "log_loss");
    st->log_steps = attr_in(f, path, "/", "log_steps", 0, st->step);
    st->episode_format =
        (int)attr_in(f, path, "/", "episode_format", EPISODE_FORMAT_COMPACT, EPISODE_FORMAT_CHAT);
    read_device(f, path, st);
    if (h5_has_attr(f, "config_hash")) {
        char *h = h5_read_attr_str(f, "config_hash");
        if (strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16)
            micl_fatal("%s: attribute /config_hash = '%s' is not 16 hex digits", path, h);
        snprintf(st->config_hash, sizeof st->config_hash, "%s", h);
        free(h);
    }
    if (config_text) *config_text = h5_read_text(f, "config");
}

void checkpoint_read_state(const char *path, train_state_t *st, char **config_text) {
    hid_t f = h5_open_ro(path);
    read_state(f, path, st, config_text);
    h5_close_file(f, path);
}

vlm_t *checkpoint_read(const char *path, int max_tokens, int max_images, vocab_t *v,
                       train_state_t *st, char **config_text) {
    hid_t f = h5_open_ro(path);
    read_state(f, path, st, config_text);

    if (!h5_exists(f, "model")) micl_fatal("%s: missing group /model", path);
    hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
    if (g < 0) micl_fatal("%s: /model is not a group", path);
    vlm_config_t mc;
    read_model_config(g, path, &mc);
    H5Gclose(g);

    if (!h5_exists(f, "vocab")) micl_fatal("%s: missing group /vocab", path);
    hid_t gv = H5Gopen2(f, "vocab", H5P_DEFAULT);
    if (gv < 0) micl_fatal("%s: /vocab is not a group", path);
    int64_t nw;
    char **words = h5_read_strings(gv, "words", &nw);
    if (nw != mc.vocab)
        micl_fatal("%s: /vocab/words has %lld words but the model's vocab is %d", path,
                   (long long)nw, mc.vocab);
    read_vocab(path, gv, words, (int)nw, v);
    H5Gclose(gv);

    char err[256];
    vlm_t *m = vlm_create(&mc, max_tokens, max_images, err, sizeof err);
    if (!m) micl_fatal("%s: bad model config: %s", path, err);
    int64_t n = (int64_t)vlm_num_params(m);
    const char *names[3] = {"params", "adam_m", "adam_v"};
    float *dst[3] = {vlm_params(m), vlm_adam_m(m), vlm_adam_v(m)};
    for (int i = 0; i < 3; i++) {
        float *x = h5_read_f32(f, names[i], n, NULL);
        check_finite(path, names[i], x, n);
        kern_copy_from_host(dst[i], x, (size_t)n * sizeof(float)); /* a memcpy on the CPU */
        free(x);
    }
    h5_close_file(f, path);
    return m;
}
