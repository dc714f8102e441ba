/* sweep_wire.c - packing and unpacking a run's result (see sweep_wire.h). */
#include "sweep_wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

typedef struct {
    unsigned char *data;
    size_t len, cap;
} wbuf_t;

static void put(wbuf_t *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        while (b->len + n > b->cap)
            b->cap = b->cap ? 2 * b->cap : 4096;
        b->data = micl_realloc(b->data, b->cap);
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_i64(wbuf_t *b, int64_t v) {
    put(b, &v, sizeof v);
}

void *sweep_wire_pack(const run_result_t *run, size_t *size) {
    wbuf_t b = {0};
    run_result_t fixed = *run;
    memset(&fixed.curve, 0, sizeof fixed.curve);
    fixed.config_text = NULL;
    for (int i = 0; i < RESULTS_MAX_ROWS; i++) { /* no pointers on the wire */
        fixed.rows[i].episode_group = NULL;
        fixed.rows[i].episode_correct = fixed.rows[i].episode_exact = NULL;
        fixed.rows[i].episode_ref_nn = fixed.rows[i].episode_ref_mean = NULL;
    }
    put(&b, &fixed, sizeof fixed);
    const curve_t *c = &run->curve;
    size_t n = (size_t)c->n;
    put_i64(&b, c->n);
    put(&b, c->step, n * sizeof(int64_t));
    put(&b, c->stage, n * sizeof(int32_t));
    const double *cols[] = {c->loss, c->lr, c->grad_norm, c->tokens_per_s, c->train_icl_acc};
    for (int k = 0; k < 5; k++)
        put(&b, cols[k], n * sizeof(double));
    put_i64(&b, c->n_tensors);
    for (int i = 0; i < c->n_tensors; i++) {
        size_t len = strlen(c->tensor_names[i]) + 1;
        put_i64(&b, (int64_t)len);
        put(&b, c->tensor_names[i], len);
    }
    put(&b, c->tensor_norm, n * (size_t)c->n_tensors * sizeof(double));
    for (int i = 0; i < run->n_rows; i++) { /* the rows' per-prompt outcomes */
        const eval_row_t *r = &run->rows[i];
        put_i64(&b, r->episode_group != NULL);
        if (!r->episode_group) continue;
        size_t k = (size_t)r->episodes;
        put(&b, r->episode_group, k * sizeof(int64_t));
        put(&b, r->episode_correct, k);
        put(&b, r->episode_exact, k);
        put_i64(&b, r->episode_ref_nn != NULL); /* the references' per-prompt outcomes */
        if (!r->episode_ref_nn) continue;
        put(&b, r->episode_ref_nn, k);
        put(&b, r->episode_ref_mean, k);
    }
    *size = b.len;
    return b.data;
}

typedef struct {
    const unsigned char *data;
    size_t len, pos;
} rbuf_t;

static const void *take(rbuf_t *b, size_t n) {
    if (n > b->len - b->pos)
        micl_fatal("sweep: a result message of %zu bytes is truncated (needs %zu more at %zu)",
                   b->len, n, b->pos);
    const void *p = b->data + b->pos;
    b->pos += n;
    return p;
}

static void *take_copy(rbuf_t *b, size_t n) {
    if (n == 0) return NULL;
    void *p = micl_malloc(n);
    memcpy(p, take(b, n), n);
    return p;
}

static int64_t take_i64(rbuf_t *b, int64_t lo, int64_t hi, const char *what) {
    int64_t v;
    memcpy(&v, take(b, sizeof v), sizeof v);
    if (v < lo || v > hi) micl_fatal("sweep: a result message has %s = %lld", what, (long long)v);
    return v;
}

void sweep_wire_unpack(const void *msg, size_t size, run_result_t *run) {
    rbuf_t b = {msg, size, 0};
    memcpy(run, take(&b, sizeof *run), sizeof *run);
    memset(&run->curve, 0, sizeof run->curve);
    run->config_text = NULL;
    run->name[sizeof run->name - 1] = '\0';
    run->checkpoint[sizeof run->checkpoint - 1] = '\0';
    if (run->n_rows < 0 || run->n_rows > RESULTS_MAX_ROWS || run->n_stages < 0 ||
        run->n_stages > 16)
        micl_fatal("sweep: a result message has %d evaluation rows and %d stages", run->n_rows,
                   run->n_stages);
    curve_t *c = &run->curve;
    c->n = c->cap = take_i64(&b, 0, INT64_C(1) << 40, "curve points");
    size_t n = (size_t)c->n;
    c->step = take_copy(&b, n * sizeof(int64_t));
    c->stage = take_copy(&b, n * sizeof(int32_t));
    double **cols[] = {&c->loss, &c->lr, &c->grad_norm, &c->tokens_per_s, &c->train_icl_acc};
    for (int k = 0; k < 5; k++)
        *cols[k] = take_copy(&b, n * sizeof(double));
    c->n_tensors = (int)take_i64(&b, 0, 1 << 20, "tensors");
    c->tensor_names = micl_calloc((size_t)c->n_tensors + 1, sizeof(char *));
    for (int i = 0; i < c->n_tensors; i++) {
        size_t len = (size_t)take_i64(&b, 1, 4096, "tensor name length");
        c->tensor_names[i] = take_copy(&b, len);
        c->tensor_names[i][len - 1] = '\0';
    }
    c->tensor_norm = take_copy(&b, n * (size_t)c->n_tensors * sizeof(double));
    for (int i = 0; i < run->n_rows; i++) {
        eval_row_t *r = &run->rows[i];
        r->episode_group = NULL;
        r->episode_correct = r->episode_exact = NULL;
        r->episode_ref_nn = r->episode_ref_mean = NULL;
        if (!take_i64(&b, 0, 1, "an outcome flag")) continue;
        if (r->episodes < 0 || r->episodes > INT64_C(1) << 32)
            micl_fatal("sweep: a result message has a row of %lld episodes",
                       (long long)r->episodes);
        size_t k = (size_t)r->episodes;
        results_row_alloc_outcomes(r);
        memcpy(r->episode_group, take(&b, k * sizeof(int64_t)), k * sizeof(int64_t));
        memcpy(r->episode_correct, take(&b, k), k);
        memcpy(r->episode_exact, take(&b, k), k);
        if (!take_i64(&b, 0, 1, "a reference outcome flag")) {
            results_row_free_reference_outcomes(r);
            continue;
        }
        memcpy(r->episode_ref_nn, take(&b, k), k);
        memcpy(r->episode_ref_mean, take(&b, k), k);
    }
    if (b.pos != b.len) micl_fatal("sweep: a result message has %zu extra bytes", b.len - b.pos);
}
