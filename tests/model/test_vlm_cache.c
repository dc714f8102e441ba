/* test_vlm_cache.c - the decoder's KV cache against the full forward: continuations of cached
 * prefixes (several slots, several prefix lengths, one- and three-token continuations) must
 * give the same logits, bit for bit, as vlm_forward over the whole prompts, and so the same
 * argmax; and the same bits again from the same cache with another thread count. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/rng.h"
#include "model/vlm.h"
#include "model/vlm_cache.h"

enum { PAD = 0, IMG = 1, BOS = 2, ROUNDS = 10, PREFIX = 1 + 2 * ROUNDS, SLOTS = 2 };
enum { MAX_PROMPTS = 64, MAX_T = 48 };

static int g_failures;

typedef struct {
    int32_t tokens[SLOTS][PREFIX];
    uint8_t *pixels[SLOTS]; /* ROUNDS images per prefix */
} prefixes_t;

static void make_prefixes(prefixes_t *p, int vocab, int side) {
    rng_t r = rng_make(7, RNG_STREAM_TEST, 1);
    for (int s = 0; s < SLOTS; s++) {
        p->pixels[s] = micl_malloc((size_t)ROUNDS * side * side);
        for (int i = 0; i < ROUNDS * side * side; i++)
            p->pixels[s][i] = (uint8_t)rng_below(&r, 256);
        p->tokens[s][0] = BOS;
        for (int i = 0; i < ROUNDS; i++) {
            p->tokens[s][1 + 2 * i] = IMG;
            p->tokens[s][2 + 2 * i] = 3 + (int32_t)rng_below(&r, (uint64_t)vocab - 3);
        }
    }
}

/* Images among the first len tokens of a prefix. */
static int images_before(const int32_t *tok, int len) {
    int n = 0;
    for (int i = 0; i < len; i++)
        n += tok[i] == IMG;
    return n;
}

static int argmax(const float *l, int n) {
    int a = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > l[a]) a = i;
    return a;
}

static void run_case(vlm_t *m, const prefixes_t *p, int cont_len) {
    const vlm_config_t *cfg = vlm_config(m);
    int side = cfg->image_size, V = cfg->vocab, D = cfg->dim;
    size_t npix = (size_t)side * side;
    static const int lens[] = {1, 2, 3, 8, PREFIX - 1, PREFIX};
    enum { N_LENS = sizeof lens / sizeof lens[0], QUERIES = 2 };
    int n = SLOTS * N_LENS * QUERIES;
    /* query images and their embeddings */
    uint8_t qpix[QUERIES * 64 * 64];
    rng_t r = rng_make(9, RNG_STREAM_TEST, (uint64_t)cont_len);
    for (size_t i = 0; i < QUERIES * npix; i++)
        qpix[i] = (uint8_t)rng_below(&r, 256);
    float *qemb = micl_malloc(sizeof(float) * QUERIES * (size_t)D);
    vlm_encode_images(m, qpix, QUERIES, qemb);
    int32_t cont[QUERIES][3];
    for (int q = 0; q < QUERIES; q++) {
        cont[q][0] = IMG;
        cont[q][1] = 4 + q;
        cont[q][2] = 5;
    }
    /* the full prompts, padded into one batch, a target at each prompt's last token */
    int T = PREFIX + cont_len;
    int32_t *tok = micl_malloc(sizeof(int32_t) * (size_t)n * T);
    int32_t *tgt = micl_malloc(sizeof(int32_t) * (size_t)n * T);
    uint8_t *pix = micl_malloc(npix * (size_t)n * (ROUNDS + 1));
    vlm_continuation_t conts[MAX_PROMPTS];
    int k = 0, n_img = 0;
    for (int s = 0; s < SLOTS; s++)
        for (int li = 0; li < N_LENS; li++)
            for (int q = 0; q < QUERIES; q++, k++) {
                int len = lens[li], ni = images_before(p->tokens[s], len);
                int32_t *t = tok + (size_t)k * T, *g = tgt + (size_t)k * T;
                for (int i = 0; i < T; i++) {
                    t[i] = i < len ? p->tokens[s][i] : i < len + cont_len ? cont[q][i - len] : PAD;
                    g[i] = i == len + cont_len - 1 ? 3 : -1;
                }
                memcpy(pix + (size_t)n_img * npix, p->pixels[s], (size_t)ni * npix);
                memcpy(pix + (size_t)(n_img + ni) * npix, qpix + (size_t)q * npix, npix);
                n_img += ni + 1;
                conts[k] = (vlm_continuation_t){s, len, cont_len, cont[q], qemb + (size_t)q * D};
            }
    vlm_batch_t b = {n, T, tok, tgt, n_img, pix, IMG};
    int64_t nt;
    vlm_forward(m, &b, &nt);
    float *full = micl_malloc(sizeof(float) * (size_t)n * V);
    memcpy(full, vlm_logits(m), sizeof(float) * (size_t)n * V);
    /* the cached path */
    vlm_cache_t *c = vlm_cache_create(m, SLOTS);
    uint8_t *ppix = micl_malloc(npix * SLOTS * ROUNDS);
    for (int s = 0; s < SLOTS; s++)
        memcpy(ppix + (size_t)s * ROUNDS * npix, p->pixels[s], ROUNDS * npix);
    vlm_cache_prefill(m, c, SLOTS, PREFIX, &p->tokens[0][0], SLOTS * ROUNDS, ppix, IMG);
    float *cached = micl_malloc(sizeof(float) * (size_t)n * V);
    vlm_cache_score(m, c, conts, n, IMG, cached);
    int same = nt == n && memcmp(full, cached, sizeof(float) * (size_t)n * V) == 0, same_arg = 1;
    for (int i = 0; i < n; i++)
        same_arg &= argmax(full + (size_t)i * V, V) == argmax(cached + (size_t)i * V, V);
    printf("%d continuations of %d token(s): logits bit-identical %s, argmax identical %s\n", n,
           cont_len, same ? "ok" : "FAIL", same_arg ? "ok" : "FAIL");
    g_failures += !same + !same_arg;
    /* scoring again, with another thread count, gives the same bits (the cache is not
     * consumed; no kernel splits a reduction over threads) */
    int threads = omp_get_max_threads();
    omp_set_num_threads(threads == 1 ? 2 : 1);
    vlm_cache_score(m, c, conts, n, IMG, full);
    omp_set_num_threads(threads);
    int again = memcmp(full, cached, sizeof(float) * (size_t)n * V) == 0;
    printf("scoring again from the same cache, %d thread(s): %s\n", threads == 1 ? 2 : 1,
           again ? "ok" : "FAIL");
    g_failures += !again;
    vlm_cache_free(c);
    free(qemb), free(tok), free(tgt), free(pix), free(full), free(cached), free(ppix);
}

int main(void) {
    for (int smear = 0; smear <= 1; smear++) {
        vlm_config_t cfg = {12, 4,    16, 1, 2, 32, 2, 2, 4, 40, MAX_T, 0.3f, VLM_POOL_FLATTEN,
                            1,  smear};
        printf("%s keys\n", smear ? "smeared" : "plain");
        char err[256];
        vlm_t *m =
            vlm_create(&cfg, MAX_PROMPTS * MAX_T, MAX_PROMPTS * (ROUNDS + 1), err, sizeof err);
        if (!m) {
            fprintf(stderr, "vlm_create: %s\n", err);
            return 1;
        }
        vlm_init_params(m, 3);
        for (int i = 0; i < vlm_num_tensors(m); i++) { /* unequal key mixes per head */
            const vlm_tensor_t *t = vlm_tensor(m, i);
            if (strstr(t->name, "smear"))
                for (size_t j = 0; j < t->size; j++)
                    vlm_params(m)[t->offset + j] = 0.9f * (float)j - 0.3f;
        }
        prefixes_t p;
        make_prefixes(&p, cfg.vocab, cfg.image_size);
        run_case(m, &p, 1);
        run_case(m, &p, 3);
        for (int s = 0; s < SLOTS; s++)
            free(p.pixels[s]);
        vlm_free(m);
    }
    if (g_failures) printf("%d FAILED\n", g_failures);
    return g_failures ? 1 : 0;
}
