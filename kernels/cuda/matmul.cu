/* matmul.cu - every product of kernels.h on cuBLASLt: the linear layers forward and backward,
 * their fused bias, residual and GELU, the compact-rows backward, and the general product.
 *
 * Row-major through column-major: cuBLASLt reads matrices column-major, and a row-major
 * [R x C] matrix with row stride ld, read column-major with leading dimension ld, is its
 * transpose [C x R]. So a row-major Y = X Z runs as the column-major Y^T = Z^T X^T with no copy;
 * each entry below states its mapping (m, n, k and the transposes of D [m x n] = op(A) op(B)).
 *
 * lt_product runs one cuBLASLt matmul. Its plan (descriptor, layouts and the algorithm the
 * heuristic picks) is kept per signature (transposes, m, n, k, leading dimensions, operand
 * type, epilogue, the pointers' alignments) in a small cache, so a signature always runs the
 * same algorithm; with the fixed workspace and the one stream that gives the same bits every
 * time (cuBLAS, "Results reproducibility"). Compute type CUBLAS_COMPUTE_32F (fp32 FMA, never
 * TF32); the heuristic may only pick reduction schemes that run in one sequence.
 *
 * What cuBLASLt's epilogues cannot give runs in small kernels after the product: GELU and
 * GELU' from the pre-activation (cuBLASLt's GELU_AUX would keep the pre-activation, not GELU'),
 * the product with a kept GELU', and the bias gradient (column sums over fixed row chunks, then
 * the chunks in order: no atomics). The GELU arithmetic is kernels/cpu/simd.h's, operation by
 * operation (fma where it fuses, every other operation rounded on its own).
 *
 * BF16 (cuda_state.host.precision): a prepared weight is a bf16 copy of W (rows padded to 8
 * elements); every other operand is rounded to bf16 (nearest even) into a scratch area just
 * before its product; the products accumulate in fp32 and everything written stays fp32.
 */
#include "kernels/cuda/cuda_internal.cuh"
#include "kernels/cuda/cuda_math.cuh"

#include <string.h>

#define THREADS 256
#define MAX_BLOCKS 8192 /* grid-stride loops cover the rest */
#define PLAN_SLOTS 128  /* cached product signatures (least recently used goes first) */
#define BF16_ROW 8      /* bf16 rows padded to 8 elements: 16-byte aligned for the tensor cores */

static int bf16_operands(void) {
    return cuda_state.host.precision == KERN_PRECISION_BF16;
}

static unsigned grid_for(int64_t n) {
    unsigned b = cuda_blocks(n, THREADS);
    return b < MAX_BLOCKS ? b : MAX_BLOCKS;
}

static int64_t round_up(int64_t x, int64_t to) {
    return (x + to - 1) / to * to;
}

/* ---- operands: fp32 as they are, or packed (bf16 or fp32) into a scratch area ---- */

typedef struct {
    const void *p;
    int64_t ld; /* row stride of the row-major matrix, in elements */
} operand_t;

static __device__ __forceinline__ void store_as(float *d, float v) {
    *d = v;
}

static __device__ __forceinline__ void store_as(__nv_bfloat16 *d, float v) {
    *d = __float2bfloat16_rn(v);
}

/* dst[r * ld_dst + c] = src[r * rs + c * cs] for r < rows, c < cols (converted to T). */
template <typename T>
static __global__ void pack_kernel(T *__restrict__ dst, int64_t ld_dst,
                                   const float *__restrict__ src, int64_t rows, int64_t cols,
                                   int64_t rs, int64_t cs) {
    int64_t total = rows * cols, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        int64_t r = e / cols, c = e - r * cols;
        store_as(dst + r * ld_dst + c, src[r * rs + c * cs]);
    }
}

/* rows x cols of src (element (r, c) at src[r * rs + c * cs]) into dst, row-major with row
 * stride ld_dst, as bf16 or fp32. */
static void pack_into(void *dst, int64_t ld_dst, cudaDataType_t type, const float *src,
                      int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
    int64_t total = rows * cols;
    if (total <= 0) return;
    if (type == CUDA_R_16BF)
        pack_kernel<<<grid_for(total), THREADS, 0, cuda_state.stream>>>(
            (__nv_bfloat16 *)dst, ld_dst, src, rows, cols, rs, cs);
    else
        pack_kernel<<<grid_for(total), THREADS, 0, cuda_state.stream>>>((float *)dst, ld_dst, src,
                                                                        rows, cols, rs, cs);
    CUDA_LAUNCH_CHECK();
}

/* The same into scratch slot `slot`, rows padded to BF16_ROW elements for bf16, compact for
 * fp32. The area is the slot's until the slot is asked for again. */
static operand_t pack(int slot, cudaDataType_t type, const float *src, int64_t rows, int64_t cols,
                      int64_t rs, int64_t cs) {
    operand_t o = {NULL, type == CUDA_R_16BF ? round_up(cols, BF16_ROW) : cols};
    size_t elem = type == CUDA_R_16BF ? 2 : 4;
    if (rows <= 0 || cols <= 0) return o; /* an empty product reads nothing */
    void *dst = cuda_scratch(slot, elem * (size_t)rows * (size_t)o.ld);
    pack_into(dst, o.ld, type, src, rows, cols, rs, cs);
    o.p = dst;
    return o;
}

/* A row-major fp32 operand [rows x cols] (row stride ld) as the product reads it: itself, or
 * rounded to bf16 into scratch slot `slot`. */
static operand_t operand(int slot, const float *src, int64_t rows, int64_t cols, int64_t ld) {
    if (!bf16_operands()) return operand_t{src, ld};
    return pack(slot, CUDA_R_16BF, src, rows, cols, ld, 1);
}

/* ---- cuBLASLt plans ---- */

typedef struct {
    int64_t m, n, k, lda, ldb, ldc;
    int32_t transa, transb; /* cublasOperation_t */
    int32_t ab_type;        /* cudaDataType of A and B (C and D: fp32) */
    int32_t epilogue;       /* cublasLtEpilogue_t */
    int32_t align[4];       /* bytes (1..16) of A, B, C, D: pointer and leading dimension */
} plan_key_t;

typedef struct {
    plan_key_t key;
    uint64_t last_use; /* 0: an empty slot */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, cd; /* C and D share one layout */
    cublasLtMatmulAlgo_t algo;
} plan_t;

static plan_t plans[PLAN_SLOTS];
static uint64_t plan_clock;

/* One product, column-major: D [m x n] = op(A) [m x k] op(B) [k x n] + beta C (+ bias). */
typedef struct {
    cublasOperation_t ta, tb;
    int64_t m, n, k;
    cudaDataType_t ab_type;
    operand_t a, b; /* ld: the leading dimension of A, B as stored (column-major) */
    const float *c; /* read when beta is 1 (may be d) */
    float *d;       /* C and D: leading dimension ldc */
    int64_t ldc;
    int beta;          /* 0 or 1 */
    const float *bias; /* bias[m] added to every column (NULL: none) */
} lt_product_t;

/* The largest power of two up to 16 dividing both the address and the leading dimension's
 * bytes: what the algorithm may assume about every column's start. */
static int32_t alignment(const void *p, int64_t ld, size_t elem) {
    uintptr_t v = (uintptr_t)p | (uintptr_t)ld * (uintptr_t)elem;
    int32_t a = 16;
    while (a > 1 && (v & (uintptr_t)(a - 1)))
        a >>= 1;
    return a;
}

/* A single column's leading dimension is never used; cuBLASLt still wants it >= rows. */
static int64_t fix_ld(int64_t ld, int64_t rows, int64_t cols) {
    return cols <= 1 && ld < rows ? rows : ld;
}

static void plan_drop(plan_t *pl) {
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(pl->a));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(pl->b));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(pl->cd));
    CUBLAS_CHECK(cublasLtMatmulDescDestroy(pl->desc));
    memset(pl, 0, sizeof *pl);
}

/* The product of key in words, for messages. */
static void plan_words(const plan_key_t *key, char *buf, size_t len) {
    snprintf(buf, len,
             "cuBLASLt product m=%lld n=%lld k=%lld op(A)=%c op(B)=%c lda=%lld ldb=%lld "
             "ldc=%lld %s epilogue=%d align=%d/%d/%d/%d",
             (long long)key->m, (long long)key->n, (long long)key->k,
             key->transa == CUBLAS_OP_T ? 'T' : 'N', key->transb == CUBLAS_OP_T ? 'T' : 'N',
             (long long)key->lda, (long long)key->ldb, (long long)key->ldc,
             key->ab_type == CUDA_R_16BF ? "bf16" : "fp32", key->epilogue, key->align[0],
             key->align[1], key->align[2], key->align[3]);
}

/* Descriptor, layouts and the heuristic's first algorithm for key (bias: an aligned pointer of
 * the kind the calls will pass; the heuristic reads its alignment). */
static void plan_make(plan_t *pl, const plan_key_t *key, const float *bias) {
    cudaDataType_t ab = (cudaDataType_t)key->ab_type;
    int ta = key->transa == CUBLAS_OP_N;
    int tb = key->transb == CUBLAS_OP_N;
    pl->key = *key;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&pl->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSA, &key->transa,
                                                sizeof key->transa));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_TRANSB, &key->transb,
                                                sizeof key->transb));
    uint32_t epilogue = (uint32_t)key->epilogue;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                sizeof epilogue));
    if (epilogue == CUBLASLT_EPILOGUE_BIAS) {
        int32_t bias_type = CUDA_R_32F;
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                    &bias_type, sizeof bias_type));
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                    &bias, sizeof bias));
    }
    /* A is stored [m x k] (not transposed) or [k x m]; B [k x n] or [n x k]; C, D [m x n]. */
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&pl->a, ab, (uint64_t)(ta ? key->m : key->k),
                                            (uint64_t)(ta ? key->k : key->m), key->lda));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&pl->b, ab, (uint64_t)(tb ? key->k : key->n),
                                            (uint64_t)(tb ? key->n : key->k), key->ldb));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&pl->cd, CUDA_R_32F, (uint64_t)key->m, (uint64_t)key->n,
                                            key->ldc));

    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = cuda_state.lt_workspace_bytes;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
    /* No split-K at all (NONE, always allowed), or split-K whose parts are added in one fixed
     * sequence: in place in D under counters, or in fp32 in the workspace and reduced in a
     * separate step. OUTPUT_TYPE is left out: it would round the parts to D's type first. */
    uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_INPLACE | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes, sizeof schemes));
    static const cublasLtMatmulPreferenceAttributes_t align_attr[4] = {
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
        CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
    for (int i = 0; i < 4; i++) {
        uint32_t al = (uint32_t)key->align[i];
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, align_attr[i], &al, sizeof al));
    }
    cublasLtMatmulHeuristicResult_t found;
    int count = 0;
    memset(&found, 0, sizeof found);
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(cuda_state.lt, pl->desc, pl->a, pl->b, pl->cd,
                                                      pl->cd, pref, 1, &found, &count);
    CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
    if (s != CUBLAS_STATUS_SUCCESS || count < 1 || found.state != CUBLAS_STATUS_SUCCESS) {
        char what[512];
        plan_words(key, what, sizeof what);
        cuda_check_fail(what,
                        s != CUBLAS_STATUS_SUCCESS ? cuda_cublas_error(s)
                                                   : "the heuristic found no algorithm",
                        __FILE__, __LINE__);
    }
    pl->algo = found.algo;
}

/* The plan of key: cached, or made in the least recently used slot. */
static plan_t *plan_get(const plan_key_t *key, const float *bias) {
    plan_t *victim = &plans[0];
    for (int i = 0; i < PLAN_SLOTS; i++) {
        plan_t *pl = &plans[i];
        if (pl->last_use && memcmp(&pl->key, key, sizeof *key) == 0) {
            pl->last_use = ++plan_clock;
            return pl;
        }
        if (pl->last_use < victim->last_use) victim = pl;
    }
    if (victim->last_use) plan_drop(victim);
    plan_make(victim, key, bias);
    victim->last_use = ++plan_clock;
    return victim;
}

/* k == 0: D = (beta ? C : 0) + bias, column-major [m x n] with leading dimension ldc. */
static __global__ void empty_product_kernel(float *__restrict__ d, const float *c, int64_t ldc,
                                            int64_t m, int64_t n, int beta,
                                            const float *__restrict__ bias) {
    int64_t total = m * n, stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += stride) {
        int64_t j = e / m, i = e - j * m;
        float v = beta ? c[i + j * ldc] : 0.0f;
        if (bias) v = __fadd_rn(v, bias[i]);
        d[i + j * ldc] = v;
    }
}

static void lt_product(const lt_product_t *p) {
    if (p->m <= 0 || p->n <= 0) return;
    const float *c = p->beta ? p->c : p->d;
    const float *bias = p->bias;
    if (bias && ((uintptr_t)bias & 15)) { /* the epilogue reads it 16-byte aligned */
        float *copy = (float *)cuda_scratch(CUDA_SCRATCH_C, sizeof(float) * (size_t)p->m);
        CUDA_CHECK(cudaMemcpyAsync(copy, bias, sizeof(float) * (size_t)p->m,
                                   cudaMemcpyDeviceToDevice, cuda_state.stream));
        bias = copy;
    }
    if (p->k <= 0) { /* nothing to multiply: cuBLASLt is not asked */
        if (p->beta && !bias && c == p->d) return;
        int64_t total = p->m * p->n;
        empty_product_kernel<<<grid_for(total), THREADS, 0, cuda_state.stream>>>(
            p->d, c, p->ldc, p->m, p->n, p->beta, bias);
        CUDA_LAUNCH_CHECK();
        return;
    }
    size_t elem = p->ab_type == CUDA_R_16BF ? 2 : 4;
    int ta = p->ta == CUBLAS_OP_N, tb = p->tb == CUBLAS_OP_N;
    plan_key_t key;
    memset(&key, 0, sizeof key);
    key.m = p->m;
    key.n = p->n;
    key.k = p->k;
    key.lda = fix_ld(p->a.ld, ta ? p->m : p->k, ta ? p->k : p->m);
    key.ldb = fix_ld(p->b.ld, tb ? p->k : p->n, tb ? p->n : p->k);
    key.ldc = fix_ld(p->ldc, p->m, p->n);
    key.transa = p->ta;
    key.transb = p->tb;
    key.ab_type = p->ab_type;
    key.epilogue = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    key.align[0] = alignment(p->a.p, key.lda, elem);
    key.align[1] = alignment(p->b.p, key.ldb, elem);
    key.align[2] = alignment(c, key.ldc, sizeof(float));
    key.align[3] = alignment(p->d, key.ldc, sizeof(float));
    plan_t *pl = plan_get(&key, bias);
    if (bias)
        CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(pl->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                    &bias, sizeof bias));
    float alpha = 1.0f, beta = p->beta ? 1.0f : 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(cuda_state.lt, pl->desc, &alpha, p->a.p, pl->a, p->b.p, pl->b,
                                &beta, c, pl->cd, p->d, pl->cd, &pl->algo, cuda_state.lt_workspace,
                                cuda_state.lt_workspace_bytes, cuda_state.stream));
}

/* ---- the epilogues cuBLASLt lacks ---- */

/* In place: pre -> gelu(pre), and gelu'(pre) into dgelu unless it is NULL. */
static __global__ void gelu_epilogue_kernel(float *__restrict__ act, float *__restrict__ dgelu,
                                            int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        float x = act[i], t = cuda_gelu_tanh(x);
        if (dgelu) dgelu[i] = cuda_gelu_grad_of(x, t);
        act[i] = cuda_gelu_of(x, t);
    }
}

/* dinp *= dgelu (the CPU's EP_DGELU: dgelu times the product's value). */
static __global__ void dgelu_epilogue_kernel(float *__restrict__ dinp,
                                             const float *__restrict__ dgelu, int64_t n) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dinp[i] = __fmul_rn(dgelu[i], dinp[i]);
}

/* ---- the bias gradient: column sums in an order fixed by the shape ---- */

#define CS_COLS 32    /* columns per block: one warp across, coalesced rows */
#define CS_LANES 8    /* threads down each column */
#define CS_CHUNK 1024 /* rows per chunk (more only when M needs over 65535 chunks) */
#define CS_MAX_CHUNKS 65535

/* partial[chunk][col] = the sum of rows [chunk * rows_per, ...) of column col: lane ty adds
 * rows r0 + ty, r0 + ty + CS_LANES, ... in order from zero, then lane 0 adds the lanes' sums
 * in lane order. */
static __global__ void colsum_partial_kernel(float *__restrict__ partial,
                                             const float *__restrict__ dy, int64_t M, int N,
                                             int64_t rows_per) {
    __shared__ float lane_sum[CS_LANES][CS_COLS + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int64_t col = (int64_t)blockIdx.x * CS_COLS + tx;
    int64_t r0 = (int64_t)blockIdx.y * rows_per;
    int64_t r1 = r0 + rows_per < M ? r0 + rows_per : M;
    float s = 0.0f;
    if (col < N)
        for (int64_t r = r0 + ty; r < r1; r += CS_LANES)
            s = __fadd_rn(s, dy[r * N + col]);
    lane_sum[ty][tx] = s;
    __syncthreads();
    if (ty != 0 || col >= N) return;
    float t = lane_sum[0][tx];
    for (int j = 1; j < CS_LANES; j++)
        t = __fadd_rn(t, lane_sum[j][tx]);
    partial[(int64_t)blockIdx.y * N + col] = t;
}

/* dv[col] += the chunks' sums of col, added in chunk order from zero. */
static __global__ void colsum_finish_kernel(float *__restrict__ dv,
                                            const float *__restrict__ partial, int64_t chunks,
                                            int N) {
    int64_t stride = (int64_t)gridDim.x * blockDim.x;
    for (int64_t col = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; col < N; col += stride) {
        float t = 0.0f;
        for (int64_t ch = 0; ch < chunks; ch++)
            t = __fadd_rn(t, partial[ch * N + col]);
        dv[col] = __fadd_rn(dv[col], t);
    }
}

/* dv[N] += column sums of dy [M x N], every sum in an order fixed by (M, N). */
static void column_sums_add(float *dv, const float *dy, int64_t M, int N) {
    if (N <= 0) return;
    int64_t rows_per = CS_CHUNK;
    if ((M + rows_per - 1) / rows_per > CS_MAX_CHUNKS)
        rows_per = (M + CS_MAX_CHUNKS - 1) / CS_MAX_CHUNKS;
    int64_t chunks = M > 0 ? (M + rows_per - 1) / rows_per : 0;
    float *partial = NULL;
    if (chunks > 0) {
        partial =
            (float *)cuda_scratch(CUDA_SCRATCH_PARTIAL, sizeof(float) * (size_t)chunks * (size_t)N);
        dim3 grid((unsigned)((N + CS_COLS - 1) / CS_COLS), (unsigned)chunks);
        colsum_partial_kernel<<<grid, dim3(CS_COLS, CS_LANES), 0, cuda_state.stream>>>(
            partial, dy, M, N, rows_per);
        CUDA_LAUNCH_CHECK();
    }
    colsum_finish_kernel<<<grid_for(N), THREADS, 0, cuda_state.stream>>>(dv, partial, chunks, N);
    CUDA_LAUNCH_CHECK();
}

/* ---- kernels.h: prepared weights ---- */

/* fp32: the products read W itself (nothing to prepare, 64 bytes nobody uses). bf16: W [N x K]
 * rounded to bf16, rows padded to BF16_ROW elements. */
size_t kern_cuda_weight_bytes(int K, int N) {
    if (!bf16_operands() || K <= 0 || N <= 0) return 64;
    size_t bytes = 2 * (size_t)N * (size_t)round_up(K, BF16_ROW);
    return (bytes + 63) / 64 * 64;
}

kern_weight_t *kern_cuda_weight_prepare(void *buf, const float *w, int K, int N) {
    if (!bf16_operands()) return (kern_weight_t *)w;
    pack_into(buf, round_up(K, BF16_ROW), CUDA_R_16BF, w, N, K, K, 1);
    return (kern_weight_t *)buf;
}

/* ---- kernels.h: forward products ---- */

/* out [M x N] = inp [M x K] W^T + bias (+ res). Column-major: out^T [N x M] (ld N) =
 * op(A) op(B) with A = W's column-major view [K x N] (ld K, bf16: padded), TRANSA = T, and
 * B = inp's view [K x M] (ld K), TRANSB = N; m = N, n = M, k = K. The bias (length N = m, the
 * rows of D) is the BIAS epilogue; res is C with beta 1 (D = acc + res + bias). */
static void forward_product(float *out, const float *inp, const kern_weight_t *wt,
                            const float *bias, const float *res, int64_t M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    int bf = bf16_operands();
    lt_product_t p;
    memset(&p, 0, sizeof p);
    p.ta = CUBLAS_OP_T;
    p.tb = CUBLAS_OP_N;
    p.m = N;
    p.n = M;
    p.k = K;
    p.ab_type = bf ? CUDA_R_16BF : CUDA_R_32F;
    p.a = operand_t{wt, bf ? round_up(K, BF16_ROW) : K};
    p.b = operand(CUDA_SCRATCH_B, inp, M, K, K);
    p.c = res;
    p.d = out;
    p.ldc = N;
    p.beta = res != NULL;
    p.bias = bias;
    lt_product(&p);
}

void kern_cuda_matmul_forward(float *out, const float *inp, const kern_weight_t *wt,
                              const float *bias, int64_t M, int K, int N) {
    forward_product(out, inp, wt, bias, NULL, M, K, N);
}

/* out = inp W^T + bias + res: the product with res as C (res never aliases out). cuBLASLt adds
 * res and the bias in its own order, so this equals kern_cuda_matmul_forward then an add of res
 * up to rounding (on the CPU backend, bit for bit). */
void kern_cuda_matmul_residual_forward(float *out, const float *inp, const kern_weight_t *wt,
                                       const float *bias, const float *res, int64_t M, int K,
                                       int N) {
    forward_product(out, inp, wt, bias, res, M, K, N);
}

/* pre = inp W^T + bias goes into act (the product above), then one pass turns it into
 * gelu(pre) and gelu'(pre) in place: pre is never kept. */
void kern_cuda_matmul_gelu_forward(float *act, float *dgelu, const float *inp,
                                   const kern_weight_t *wt, const float *bias, int64_t M, int K,
                                   int N) {
    forward_product(act, inp, wt, bias, NULL, M, K, N);
    int64_t n = M * N;
    if (n <= 0) return;
    gelu_epilogue_kernel<<<grid_for(n), THREADS, 0, cuda_state.stream>>>(act, dgelu, n);
    CUDA_LAUNCH_CHECK();
}

/* ---- kernels.h: backward products ---- */

/* dinp [M x K] = (dout [M x N] W [N x K]) (* dgelu). Column-major: dinp^T [K x M] (ld K) =
 * W^T dout^T with A = W's column-major view [K x N] (ld K) and B = dout's view [N x M] (ld N),
 * neither transposed; m = K, n = M, k = N. g: dout as the products read it. */
static void backward_dinp(float *dinp, operand_t g, const float *w, const float *dgelu, int64_t M,
                          int K, int N) {
    lt_product_t p;
    memset(&p, 0, sizeof p);
    p.ta = CUBLAS_OP_N;
    p.tb = CUBLAS_OP_N;
    p.m = K;
    p.n = M;
    p.k = N;
    p.ab_type = bf16_operands() ? CUDA_R_16BF : CUDA_R_32F;
    p.a = operand(CUDA_SCRATCH_A, w, N, K, K);
    p.b = g;
    p.d = dinp;
    p.ldc = K;
    lt_product(&p);
    int64_t n = M * K;
    if (!dgelu || n <= 0) return;
    dgelu_epilogue_kernel<<<grid_for(n), THREADS, 0, cuda_state.stream>>>(dinp, dgelu, n);
    CUDA_LAUNCH_CHECK();
}

/* dw [N x K] (=, +=) dout^T [N x M] inp [M x K]. Column-major: dw^T [K x N] (ld K) = inp^T dout
 * with A = inp's column-major view [K x M] (ld K), TRANSA = N, and B = dout's view [N x M]
 * (ld N), TRANSB = T; m = K, n = N, k = M. Without accumulate dw is zeroed first and the
 * product added to it: the same bits as adding into zeros, as kernels.h promises. */
static void backward_dw(float *dw, operand_t g, const float *inp, int64_t M, int K, int N,
                        int accumulate) {
    if (!accumulate) kern_cuda_zero(dw, sizeof(float) * (size_t)N * (size_t)K);
    lt_product_t p;
    memset(&p, 0, sizeof p);
    p.ta = CUBLAS_OP_N;
    p.tb = CUBLAS_OP_T;
    p.m = K;
    p.n = N;
    p.k = M;
    p.ab_type = bf16_operands() ? CUDA_R_16BF : CUDA_R_32F;
    p.a = operand(CUDA_SCRATCH_A, inp, M, K, K);
    p.b = g;
    p.c = dw;
    p.d = dw;
    p.ldc = K;
    p.beta = 1;
    lt_product(&p);
}

/* dinp (overwritten, times dgelu when given), dw (= or +=) and dbias (+=), each skipped when
 * NULL. dout is rounded to bf16 once (slot B) for both products; the other operands go
 * through slot A in turn (the stream runs the first product before the second packing). */
void kern_cuda_matmul_gelu_backward(float *dinp, float *dw, float *dbias, const float *dout,
                                    const float *inp, const float *w, const float *dgelu, int64_t M,
                                    int K, int N, int accumulate) {
    if (dinp || dw) {
        operand_t g = operand(CUDA_SCRATCH_B, dout, M, N, N);
        if (dinp) backward_dinp(dinp, g, w, dgelu, M, K, N);
        if (dw) backward_dw(dw, g, inp, M, K, N, accumulate);
    }
    if (dbias) column_sums_add(dbias, dout, M, N);
}

void kern_cuda_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout,
                               const float *inp, const float *w, int64_t M, int K, int N,
                               int accumulate) {
    kern_cuda_matmul_gelu_backward(dinp, dw, dbias, dout, inp, w, NULL, M, K, N, accumulate);
}

/* The nt compact rows are a product of their own here: dW and the bias sum over them equal
 * those of the longer product (whose other rows of dout are zero) up to rounding, each in its
 * own fixed order, as kernels.h allows a device backend. rows (host) is not needed. */
void kern_cuda_matmul_backward_rows(float *dinp, float *dw, float *dbias, const float *dout,
                                    const float *inp, const float *w, const float *dgelu,
                                    const int32_t *rows, int64_t nt, int K, int N, int accumulate) {
    (void)rows;
    kern_cuda_matmul_gelu_backward(dinp, dw, dbias, dout, inp, w, dgelu, nt, K, N, accumulate);
}

/* ---- kernels.h: the general product ---- */

/* C [M x N] (=, +=) A [M x K] B [K x N], A read as a[i*rsa + k*csa], B row-major (ldb), C
 * row-major (ldc). Column-major: C^T [N x M] (ld ldc) = B^T A^T; m = N, n = M, k = K. A (of
 * cuBLASLt) = B's column-major view [N x K] (ld ldb), TRANSA = N. B (of cuBLASLt) = A^T: a
 * row-major A (csa == 1) is the view [K x M] (ld rsa), TRANSB = N; a column-major A
 * (rsa == 1) is the view [M x K] (ld csa), TRANSB = T. Any other strides (outside kernels.h's
 * contract) are packed row-major first. bf16: B packed [K x N]; A packed keeping its layout. */
void kern_cuda_gemm(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                    const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    int bf = bf16_operands();
    cudaDataType_t type = bf ? CUDA_R_16BF : CUDA_R_32F;
    int row_view = csa == 1 && (rsa >= K || M <= 1);
    int col_view = !row_view && rsa == 1 && (csa >= M || K <= 1);
    lt_product_t p;
    memset(&p, 0, sizeof p);
    p.ta = CUBLAS_OP_N;
    p.tb = col_view ? CUBLAS_OP_T : CUBLAS_OP_N;
    p.m = N;
    p.n = M;
    p.k = K;
    p.ab_type = type;
    p.a = operand(CUDA_SCRATCH_A, b, K, N, ldb);
    if (col_view)
        p.b = bf ? pack(CUDA_SCRATCH_B, type, a, K, M, csa, 1) : operand_t{a, csa};
    else if (row_view && !bf)
        p.b = operand_t{a, rsa};
    else
        p.b = pack(CUDA_SCRATCH_B, type, a, M, K, rsa, csa);
    p.c = c;
    p.d = c;
    p.ldc = ldc;
    p.beta = accumulate != 0;
    lt_product(&p);
}
