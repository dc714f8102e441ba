/* blas.c - run-time loaded CBLAS libraries (see blas.h).
 *
 * Only cblas_sgemm is resolved, plus the optional thread-count and core-name calls. The CBLAS
 * enums are declared here with their standard values, so no CBLAS header is needed.
 */
#define _POSIX_C_SOURCE 200809L
#include "blas.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int order, int ta, int tb, int M, int N, int K, float alpha,
                         const float *a, int lda, const float *b, int ldb, float beta, float *c,
                         int ldc);
typedef void (*set_threads_fn)(int n);
typedef void (*set_threads_i64_fn)(int64_t n);
typedef char *(*corename_fn)(void);

struct kern_blas {
    void *handle;
    char *name;
    char detail[64];
    sgemm_fn sgemm;
    set_threads_fn openblas_threads;
    set_threads_i64_fn blis_threads;
};

/* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer. */
static void *sym(void *h, const char *name) {
    dlerror();
    return dlsym(h, name);
}

blas_t *blas_open(const char *name, const char *path, char *err, size_t errlen) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, errlen, "cannot load %s from '%s': %s", name, path, e ? e : "unknown error");
        return NULL;
    }
    blas_t *b = micl_calloc(1, sizeof *b);
    b->handle = h;
    b->name = micl_strdup(name);
    void *p = sym(h, "cblas_sgemm");
    if (!p) {
        snprintf(err, errlen, "'%s' (%s) has no cblas_sgemm", path, name);
        blas_close(b);
        return NULL;
    }
    memcpy(&b->sgemm, &p, sizeof p);
    if ((p = sym(h, "openblas_set_num_threads"))) memcpy(&b->openblas_threads, &p, sizeof p);
    if ((p = sym(h, "bli_thread_set_num_threads"))) memcpy(&b->blis_threads, &p, sizeof p);
    if ((p = sym(h, "openblas_get_corename"))) {
        corename_fn f;
        memcpy(&f, &p, sizeof p);
        const char *c = f();
        snprintf(b->detail, sizeof b->detail, "%s", c ? c : "");
    }
    return b;
}

void blas_close(blas_t *b) {
    if (!b) return;
    if (dlclose(b->handle) != 0) micl_warn("dlclose %s: %s", b->name, dlerror());
    free(b->name);
    free(b);
}

const char *blas_name(const blas_t *b) {
    return b->name;
}

const char *blas_detail(const blas_t *b) {
    return b->detail;
}

int blas_set_threads(blas_t *b, int threads) {
    if (b->openblas_threads) {
        b->openblas_threads(threads);
        return 1;
    }
    if (b->blis_threads) {
        b->blis_threads((int64_t)threads);
        return 1;
    }
    return 0;
}

static int to_int(int64_t v) {
    if (v < 0 || v > 0x7fffffff)
        micl_fatal("BLAS dimension %lld does not fit an int", (long long)v);
    return (int)v;
}

void blas_linear_forward(blas_t *b, float *out, const float *inp, const float *w, int64_t M, int K,
                         int N) {
    b->sgemm(ROW_MAJOR, NO_TRANS, TRANS, to_int(M), N, K, 1.0f, inp, K, w, K, 0.0f, out, N);
}

void blas_linear_dinp(blas_t *b, float *dinp, const float *dout, const float *w, int64_t M, int K,
                      int N) {
    b->sgemm(ROW_MAJOR, NO_TRANS, NO_TRANS, to_int(M), K, N, 1.0f, dout, N, w, K, 0.0f, dinp, K);
}

void blas_linear_dw(blas_t *b, float *dw, const float *dout, const float *inp, int64_t M, int K,
                    int N) {
    b->sgemm(ROW_MAJOR, TRANS, NO_TRANS, N, K, to_int(M), 1.0f, dout, N, inp, K, 1.0f, dw, K);
}
