/* matmul.c - cache-blocked matrix products: linear layer forward and backward.
 *
 * One micro-kernel computes an MR x 16 tile of C = A B over a block of KC reduction steps (6 x 16
 * in 8-lane vectors on the scalar and AVX2 builds, 12 x 16 in 16-lane ones on AVX-512), with
 * A read through strides (row-major or column-major: both broadcast single floats) and B read
 * as rows of 16 floats. Every element of C is accumulated in the same fixed order (k blocks of
 * KC, FMA in k order inside a block) whatever tile, edge path or thread computes it, and the
 * threads split only the output tiles, so the results do not depend on the thread count.
 * On AVX-512 a product's last rows (fewer than 12, at most 8) take a short 4- or 8-row kernel over
 * two panels; other edge tiles go through small zero-padded copies on the stack, never through
 * other arithmetic.
 * An optional epilogue finishes each tile in registers after its last k block: GELU (forward,
 * optionally with GELU' kept for the backward), a product with a kept GELU' (backward), or the
 * residual stream added, with the instructions of pointwise.c (on AVX-512 on whole 16-lane rows,
 * each lane running the same operations): the same bits as the separate kernels, and no second
 * pass over the output. A packed block of B serves a group of row blocks (all of them on one
 * thread), so that it is packed once per k block rather than once per MC rows. Tile shapes, MC and
 * the threads change which elements are computed together, never an element's arithmetic: KC is the
 * same on every build, so every build gives the same bits.
 */
#include "kernels/cpu/cpu.h"

#include <omp.h>
#include <string.h>

#include "kernels/cpu/simd.h"
#include "kernels/cpu/team.h"

#if KERN_ISA_LEVEL == 2
#define MR 12 /* rows of the micro-tile: 12 x 16 in 16-lane registers (AVX-512) */
#define A_LANES 16
#else
#define MR 6 /* 6 x 16 in 8-lane registers */
#define A_LANES 8
#endif
#define NR 16  /* columns of the micro-tile and of a prepared weight's panels, on every build */
#define KC 256 /* reduction steps per block: each block's terms summed from zero, then added */
#define MC 96  /* rows of C per task: 16 or 8 micro-tiles */
#define PARALLEL_MIN_FLOPS 2e6
#define C_TASK_FLOATS (64 * 1024) /* floats of C a task may revisit per k block: 256 KiB */

/* What happens to a finished tile (after its last k block), element by element, where C's
 * final value is v and at is the element's offset in C (ldc rows): EP_GELU stores gelu(v) in C
 * and, if dgelu is set, gelu'(v) in dgelu[at]; EP_DGELU stores v * in[at]; EP_RES stores
 * v + in[at]. */
enum { EP_GELU = 1, EP_DGELU, EP_RES };
typedef struct {
    int kind;
    float *dgelu;
    const float *in;
} epilogue_t;

/* ep_finish(ep, v, at) on 8 lanes, and ep_finish16 on 16 (AVX-512), from one text: each lane
 * runs the same operations (simd.h's SIMD_DEFINE_MATH functions), so the bits are the same. */
#define DEFINE_EP_FINISH(T, V, S, NAME)                                                            \
    static inline __attribute__((always_inline)) T NAME(const epilogue_t *ep, T v, int64_t at) {   \
        if (!ep) return v;                                                                         \
        if (ep->kind == EP_GELU) {                                                                 \
            T grad, act = S(gelu_with_grad)(v, ep->dgelu ? &grad : NULL);                          \
            if (ep->dgelu) V(storeu)(ep->dgelu + at, grad);                                        \
            return act;                                                                            \
        }                                                                                          \
        if (ep->kind == EP_DGELU) return V(mul)(V(loadu)(ep->in + at), v);                         \
        return V(add)(v, V(loadu)(ep->in + at));                                                   \
    }
DEFINE_EP_FINISH(vf8, SIMD_VF8, SIMD_NAME8, ep_finish)
#if KERN_ISA_LEVEL == 2
DEFINE_EP_FINISH(vf16, SIMD_VF16, SIMD_NAME16, ep_finish16)
#endif

/* The finished tile acc (MR x 16, as 8-lane halves): C = acc (mode 0), C += acc (mode 1),
 * C = bias + acc (2), each value passing through the epilogue ep (NULL: none) first; off = the
 * tile's offset in C. */
static inline __attribute__((always_inline)) void tile_store(vf8 acc[MR][2], float *c, int64_t ldc,
                                                             int mode, const float *bias,
                                                             const epilogue_t *ep, int64_t off) {
    vf8 bv0 = vf8_zero(), bv1 = vf8_zero();
    if (mode == 2 && bias) { /* mode 2 always has a bias */
        bv0 = vf8_loadu(bias);
        bv1 = vf8_loadu(bias + 8);
    }
    for (int i = 0; i < MR; i++)
        for (int h = 0; h < 2; h++) {
            float *ci = c + i * ldc + 8 * h;
            vf8 v = acc[i][h];
            if (mode == 1)
                v = vf8_add(vf8_loadu(ci), v);
            else if (mode == 2)
                v = vf8_add(h ? bv1 : bv0, v);
            vf8_storeu(ci, ep_finish(ep, v, off + i * ldc + 8 * h));
        }
}

#if KERN_ISA_LEVEL == 2
/* tile_store on whole 16-lane rows: each lane runs the operations the 8-lane version gives it,
 * so the bits are the same, in half the instructions. */
static inline __attribute__((always_inline)) void
tile_store16_rows(const vf16 *acc, int rows, float *c, int64_t ldc, int mode, const float *bias,
                  const epilogue_t *ep, int64_t off) {
    vf16 bv = mode == 2 && bias ? vf16_loadu(bias) : vf16_set1(0.0f);
    for (int i = 0; i < rows; i++) {
        float *ci = c + i * ldc;
        vf16 v = acc[i];
        if (mode == 1)
            v = vf16_add(vf16_loadu(ci), v);
        else if (mode == 2)
            v = vf16_add(bv, v);
        vf16_storeu(ci, ep_finish16(ep, v, off + i * ldc));
    }
}

static inline __attribute__((always_inline)) void tile_store16(const vf16 acc[MR], float *c,
                                                               int64_t ldc, int mode,
                                                               const float *bias,
                                                               const epilogue_t *ep, int64_t off) {
    tile_store16_rows(acc, MR, c, ldc, mode, bias, ep, off);
}

/* acc = A[12 x kc] B[kc x 16], one 16-lane register per row of the tile: per k, one load of B
 * and 12 broadcast FMAs. Each element's chain (FMA in k order from zero) is the 8-lane
 * kernel's, so the bits are too. */
/* Rows 3j, 3j + 1, 3j + 2 of A through one base pointer pa[j] and the strides rsa and 2 rsa: eight
 * integer registers address the twelve rows (twelve pointers would spill). */
#define FMA_A(i) ((i) % 3 == 0 ? pa[(i) / 3][0] : (i) % 3 == 1 ? pa[(i) / 3][rsa] : pa[(i) / 3][r2])
#define FMA_ROW(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(FMA_A(i)), bk, c##i)
static inline __attribute__((always_inline)) void
ukernel(int64_t kc, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t ldb, float *c,
        int64_t ldc, int mode, const float *bias, const epilogue_t *ep, int64_t off) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    const float *pa[4] = {a, a + 3 * rsa, a + 6 * rsa, a + 9 * rsa};
    const int64_t r2 = 2 * rsa;
    for (int64_t k = 0; k < kc; k++) {
        __m512 bk = _mm512_loadu_ps(b + k * ldb);
        FMA_ROW(0), FMA_ROW(1), FMA_ROW(2), FMA_ROW(3), FMA_ROW(4), FMA_ROW(5);
        FMA_ROW(6), FMA_ROW(7), FMA_ROW(8), FMA_ROW(9), FMA_ROW(10), FMA_ROW(11);
        pa[0] += csa, pa[1] += csa, pa[2] += csa, pa[3] += csa;
    }
    const vf16 acc[MR] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    tile_store16(acc, c, ldc, mode, bias, ep, off);
}
#undef FMA_ROW
#define FMA_ROW(i)                                                                                 \
    do {                                                                                           \
        __m512 x = _mm512_set1_ps(FMA_A(i));                                                       \
        c##i = _mm512_fmadd_ps(x, b0k, c##i);                                                      \
        d##i = _mm512_fmadd_ps(x, b1k, d##i);                                                      \
    } while (0)
/* Two adjacent 16-column panels at once, acc = A[12 x kc] [B0 B1][kc x 32]: per k two loads of
 * B and 12 broadcasts for 24 FMAs (the 12 x 16 kernel needs 13 loads for 12), 24 accumulators.
 * Each element's chain is the one ukernel gives it. */
static inline __attribute__((always_inline)) void ukernel2(int64_t kc, const float *a, int64_t rsa,
                                                           int64_t csa, const float *b0,
                                                           const float *b1, int64_t ldb, float *c,
                                                           int64_t ldc, int mode, const float *bias,
                                                           const epilogue_t *ep, int64_t off) {
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    __m512 d0 = c0, d1 = c0, d2 = c0, d3 = c0, d4 = c0, d5 = c0;
    __m512 d6 = c0, d7 = c0, d8 = c0, d9 = c0, d10 = c0, d11 = c0;
    const float *pa[4] = {a, a + 3 * rsa, a + 6 * rsa, a + 9 * rsa};
    const int64_t r2 = 2 * rsa;
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0k = _mm512_loadu_ps(b0 + k * ldb), b1k = _mm512_loadu_ps(b1 + k * ldb);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        FMA_ROW(4);
        FMA_ROW(5);
        FMA_ROW(6);
        FMA_ROW(7);
        FMA_ROW(8);
        FMA_ROW(9);
        FMA_ROW(10);
        FMA_ROW(11);
        pa[0] += csa, pa[1] += csa, pa[2] += csa, pa[3] += csa;
    }
    const vf16 acc0[MR] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    tile_store16(acc0, c, ldc, mode, bias, ep, off);
    const vf16 acc1[MR] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11};
    tile_store16(acc1, c + NR, ldc, mode, bias ? bias + NR : NULL, ep, off + NR);
}
#undef FMA_ROW
#undef FMA_A

/* A short tile over two panels: R (4 or 8) rows of A, row i at pa[i] + k * csa, of which the
 * first `rows` are stored (the others may repeat a valid row; their sums are dropped). 2R
 * accumulators; each element's chain is the one ukernel gives it, so the last rows of a product
 * (64 = 5 x 12 + 4) cost a third or two thirds of a full tile rather than a whole one. */
#define SHORT_MAX 8
static inline __attribute__((always_inline)) void
ukernel2_short(int R, int rows, int64_t kc, const float *const *pa, int64_t csa, const float *b0,
               const float *b1, int64_t ldb, float *c, int64_t ldc, int mode, const float *bias,
               const epilogue_t *ep, int64_t off) {
    vf16 acc0[SHORT_MAX], acc1[SHORT_MAX];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
        acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0k = _mm512_loadu_ps(b0 + k * ldb), b1k = _mm512_loadu_ps(b1 + k * ldb);
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            __m512 x = _mm512_set1_ps(pa[i][k * csa]);
            acc0[i] = _mm512_fmadd_ps(x, b0k, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(x, b1k, acc1[i]);
        }
    }
    tile_store16_rows(acc0, rows, c, ldc, mode, bias, ep, off);
    tile_store16_rows(acc1, rows, c + NR, ldc, mode, bias ? bias + NR : NULL, ep, off + NR);
}

/* The short tile of mr <= SHORT_MAX rows of A (row i at a + i * rsa, column stride csa; rows past
 * mr are not read: their pointers repeat row mr - 1). */
static void ukernel2_short_any(int mr, int64_t kc, const float *a, int64_t rsa, int64_t csa,
                               const float *b0, const float *b1, int64_t ldb, float *c, int64_t ldc,
                               int mode, const float *bias, const epilogue_t *ep, int64_t off) {
    const float *pa[SHORT_MAX];
    for (int i = 0; i < SHORT_MAX; i++)
        pa[i] = a + (i < mr ? i : mr - 1) * rsa;
    if (mr <= 4)
        ukernel2_short(4, mr, kc, pa, csa, b0, b1, ldb, c, ldc, mode, bias, ep, off);
    else
        ukernel2_short(8, mr, kc, pa, csa, b0, b1, ldb, c, ldc, mode, bias, ep, off);
}
#define PANELS 2 /* B panels a tile spans where they are full */
#else
/* acc = A[6 x kc] B[kc x 16], two 8-lane registers per row of the tile. */
static inline __attribute__((always_inline)) void
ukernel(int64_t kc, const float *a, int64_t rsa, int64_t csa, const float *b, int64_t ldb, float *c,
        int64_t ldc, int mode, const float *bias, const epilogue_t *ep, int64_t off) {
    vf8 c00 = vf8_zero(), c01 = vf8_zero();
    vf8 c10 = vf8_zero(), c11 = vf8_zero();
    vf8 c20 = vf8_zero(), c21 = vf8_zero();
    vf8 c30 = vf8_zero(), c31 = vf8_zero();
    vf8 c40 = vf8_zero(), c41 = vf8_zero();
    vf8 c50 = vf8_zero(), c51 = vf8_zero();
    const float *a0 = a, *a1 = a + rsa, *a2 = a + 2 * rsa, *a3 = a + 3 * rsa;
    const float *a4 = a + 4 * rsa, *a5 = a + 5 * rsa;
    for (int64_t k = 0; k < kc; k++) {
        vf8 b0 = vf8_loadu(b + k * ldb);
        vf8 b1 = vf8_loadu(b + k * ldb + 8);
        vf8 x;
        x = vf8_broadcast(a0 + k * csa);
        c00 = vf8_fmadd(x, b0, c00);
        c01 = vf8_fmadd(x, b1, c01);
        x = vf8_broadcast(a1 + k * csa);
        c10 = vf8_fmadd(x, b0, c10);
        c11 = vf8_fmadd(x, b1, c11);
        x = vf8_broadcast(a2 + k * csa);
        c20 = vf8_fmadd(x, b0, c20);
        c21 = vf8_fmadd(x, b1, c21);
        x = vf8_broadcast(a3 + k * csa);
        c30 = vf8_fmadd(x, b0, c30);
        c31 = vf8_fmadd(x, b1, c31);
        x = vf8_broadcast(a4 + k * csa);
        c40 = vf8_fmadd(x, b0, c40);
        c41 = vf8_fmadd(x, b1, c41);
        x = vf8_broadcast(a5 + k * csa);
        c50 = vf8_fmadd(x, b0, c50);
        c51 = vf8_fmadd(x, b1, c51);
    }
    vf8 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    tile_store(acc, c, ldc, mode, bias, ep, off);
}
#define PANELS 1
#endif

/* The two A layouts, specialised so that the compiler sees constant strides. */
static void ukernel_arow(int64_t kc, const float *a, int64_t rsa, const float *b, int64_t ldb,
                         float *c, int64_t ldc, int mode, const float *bias, const epilogue_t *ep,
                         int64_t off) {
    ukernel(kc, a, rsa, 1, b, ldb, c, ldc, mode, bias, ep, off);
}

static void ukernel_acol(int64_t kc, const float *a, int64_t csa, const float *b, int64_t ldb,
                         float *c, int64_t ldc, int mode, const float *bias) {
    ukernel(kc, a, 1, csa, b, ldb, c, ldc, mode, bias, NULL, 0);
}

#if PANELS == 2
static void ukernel2_arow(int64_t kc, const float *a, int64_t rsa, const float *b0, const float *b1,
                          int64_t ldb, float *c, int64_t ldc, int mode, const float *bias,
                          const epilogue_t *ep, int64_t off) {
    ukernel2(kc, a, rsa, 1, b0, b1, ldb, c, ldc, mode, bias, ep, off);
}

static void ukernel2_acol(int64_t kc, const float *a, int64_t csa, const float *b0, const float *b1,
                          int64_t ldb, float *c, int64_t ldc, int mode) {
    ukernel2(kc, a, 1, csa, b0, b1, ldb, c, ldc, mode, NULL, NULL, 0);
}
#endif

/* Column-major A reaches gemm_driver only as edge_tile's packed copy, which takes no
 * epilogue (the weight gradients, the products that read A that way, go through gemm_acol). */
static void ukernel_any(int64_t kc, const float *a, int64_t rsa, int64_t csa, const float *b,
                        int64_t ldb, float *c, int64_t ldc, int mode, const float *bias,
                        const epilogue_t *ep, int64_t off) {
    if (csa == 1)
        ukernel_arow(kc, a, rsa, b, ldb, c, ldc, mode, bias, ep, off);
    else
        ukernel_acol(kc, a, csa, b, ldb, c, ldc, mode, bias);
}

/* A tile with mr < MR rows or nr < NR columns (B is a zero-padded [kc x NR] panel): copy A
 * into a zero-padded buffer, compute the full tile into a temporary and store its valid part
 * with the same adds. */
static void edge_tile(int64_t kc, int mr, int nr, const float *a, int64_t rsa, int64_t csa,
                      const float *b, float *c, int64_t ldc, int mode, const float *bias) {
    float ap[KC * MR], ct[MR * NR], bb[NR];
    const float *ause = a;
    int64_t ursa = rsa, ucsa = csa;
    if (mr < MR) {
        memset(ap, 0, sizeof(float) * (size_t)(kc * MR));
        for (int i = 0; i < mr; i++)
            for (int64_t k = 0; k < kc; k++)
                ap[k * MR + i] = a[i * rsa + k * csa];
        ause = ap;
        ursa = 1;
        ucsa = MR;
    }
    ukernel_any(kc, ause, ursa, ucsa, b, NR, ct, NR, 0, NULL, NULL, 0);
    if (mode == 2) memset(bb, 0, sizeof bb), memcpy(bb, bias, sizeof(float) * nr);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float *cij = c + i * ldc + j;
            if (mode == 0)
                *cij = ct[i * NR + j];
            else if (mode == 1)
                *cij = *cij + ct[i * NR + j];
            else
                *cij = bb[j] + ct[i * NR + j];
        }
}

/* Copies B[kc x nr] (row stride ldb) into a zero-padded [kc x NR] panel. */
static void pack_b_block(float *restrict dst, const float *restrict b, int64_t ldb, int64_t kc,
                         int nr) {
    if (nr == NR) {
        for (int64_t k = 0; k < kc; k++) {
            vf8_storeu(dst + k * NR, vf8_loadu(b + k * ldb));
            vf8_storeu(dst + k * NR + 8, vf8_loadu(b + k * ldb + 8));
        }
        return;
    }
    for (int64_t k = 0; k < kc; k++) {
        memcpy(dst + k * NR, b + k * ldb, sizeof(float) * (size_t)nr);
        memset(dst + k * NR + nr, 0, sizeof(float) * (size_t)(NR - nr));
    }
}

/* n <= 8 floats: a full vector, or a zero-padded partial one. */
static inline vf8 load_n(const float *p, int n) {
    return n == 8 ? vf8_loadu(p) : simd_load_partial(p, n);
}

static inline void store_n(float *p, vf8 v, int n) {
    if (n == 8)
        vf8_storeu(p, v);
    else
        simd_store_partial(p, v, n);
}

/* The epilogue of an edge tile [mr x nr] at offset off of C, after edge_tile stored its final
 * values: ep_finish on 8 lanes at a time, through zero-padded copies of the partial ones. */
static void edge_epilogue(const epilogue_t *ep, float *c, int64_t ldc, int64_t off, int mr,
                          int nr) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j += 8) {
            int n = nr - j < 8 ? nr - j : 8;
            int64_t at = off + i * ldc + j;
            float in[8] = {0}, dgelu[8];
            if (ep->in) memcpy(in, ep->in + at, sizeof(float) * (size_t)n);
            epilogue_t lane = {ep->kind, ep->dgelu ? dgelu : NULL, in};
            float *ci = c + i * ldc + j;
            store_n(ci, ep_finish(&lane, load_n(ci, n), 0), n);
            if (ep->dgelu) memcpy(ep->dgelu + at, dgelu, sizeof(float) * (size_t)n);
        }
}

/* Products too small to repay waking the team (about 20 us of work) run on the calling
 * thread. */
static int worth_a_team(int64_t M, int64_t N, int64_t K, int64_t n_tasks) {
    return 2.0 * (double)M * (double)N * (double)K >= PARALLEL_MIN_FLOPS && n_tasks > 1;
}

/* Blocks of MC rows per task, for n_ic row blocks beside n_col column tasks: as many as leave 4
 * tasks per thread, so that a task's packed B serves as many row tiles as the team allows (all
 * of them on one thread), but at most g_max. Which rows a task owns never changes an element's
 * arithmetic. */
static int64_t row_group(int64_t n_ic, int64_t n_col, int64_t g_max) {
    int64_t want = 4 * (int64_t)omp_get_max_threads(), per_col = (want + n_col - 1) / n_col;
    int64_t g = per_col >= n_ic ? 1 : (n_ic + per_col - 1) / per_col;
    if (g > g_max) g = g_max;
    return g < 1 ? 1 : g;
}

/* One product's operands and its split into tasks, for the task functions of gemm_driver and
 * gemm_acol (which fill it in this order): a task owns g blocks of MC rows (n_ig groups of them)
 * beside a block of columns (n_jc of them in gemm_acol). */
typedef struct {
    int64_t M, N, K;
    const float *a;
    int64_t rsa, csa;
    const float *b;
    int64_t ldb, bpanel;
    float *c;
    int64_t ldc;
    int accumulate;
    const float *bias;
    const epilogue_t *ep;
    float *colsum;
    int64_t g, n_ig, n_jc;
} product_t;

/* The shared driver. B is either row-major [K x N] (ldb) or, if bpanel > 0, packed into
 * zero-padded panels of NR columns, panel p at b + p * bpanel with row stride NR. A task owns
 * a group of MC-row blocks of C (row_group) and PANELS adjacent panels (two on AVX-512, whose
 * full tiles then take the 12 x 32 kernel). Row-major B is packed per task and k block into
 * zero-padded panels on the stack (16 KiB each), read by all the task's row tiles: contiguous
 * loads, and no edge copies of B. The packed values are the same floats, so the arithmetic (and
 * every result bit) is that of the unpacked path. */
static void driver_task(const product_t *p, int64_t t) {
    const int64_t M = p->M, N = p->N, K = p->K, rsa = p->rsa, csa = p->csa, ldb = p->ldb;
    const int64_t bpanel = p->bpanel, ldc = p->ldc, g = p->g, n_ig = p->n_ig;
    const float *a = p->a, *b = p->b, *bias = p->bias;
    float *c = p->c;
    const int accumulate = p->accumulate;
    const epilogue_t *ep = p->ep;
    const int64_t n_panels = (N + NR - 1) / NR;
    int64_t tj = t / n_ig, ig = t % n_ig;
    int64_t p_first = tj * PANELS, i_end = (ig + 1) * g * MC < M ? (ig + 1) * g * MC : M;
    int np = n_panels - p_first < PANELS ? (int)(n_panels - p_first) : PANELS;
    float bpack[PANELS][KC * NR] __attribute__((aligned(64)));
    for (int64_t p0 = 0; p0 < K; p0 += KC) {
        int64_t kc = K - p0 < KC ? K - p0 : KC;
        int mode = p0 > 0 ? 1 : (bias ? 2 : accumulate);
        const epilogue_t *last = p0 + kc >= K ? ep : NULL;
        const float *bk[PANELS] = {b};
        int nr[PANELS] = {0};
        for (int q = 0; q < np; q++) { /* each panel's k block, packed if B is row-major */
            int64_t j0 = (p_first + q) * NR;
            nr[q] = N - j0 < NR ? (int)(N - j0) : NR;
            if (bpanel > 0) {
                bk[q] = b + (p_first + q) * bpanel + p0 * NR;
            } else {
                pack_b_block(bpack[q], b + p0 * ldb + j0, ldb, kc, nr[q]);
                bk[q] = bpack[q];
            }
        }
        for (int64_t i0 = ig * g * MC; i0 < i_end; i0 += MR) {
            int mr = i_end - i0 < MR ? (int)(i_end - i0) : MR;
            const float *ai = a + i0 * rsa + p0 * csa;
            int q = 0;
#if PANELS == 2
            if (np == 2 && nr[1] == NR && csa == 1 && (mr == MR || mr <= SHORT_MAX)) {
                int64_t j0 = p_first * NR, off = i0 * ldc + j0;
                const float *bj = bias ? bias + j0 : NULL;
                if (mr == MR)
                    ukernel2_arow(kc, ai, rsa, bk[0], bk[1], NR, c + off, ldc, mode, bj, last, off);
                else
                    ukernel2_short_any(mr, kc, ai, rsa, 1, bk[0], bk[1], NR, c + off, ldc, mode, bj,
                                       last, off);
                q = 2;
            }
#endif
            for (; q < np; q++) {
                int64_t j0 = (p_first + q) * NR, off = i0 * ldc + j0;
                const float *bj = bias ? bias + j0 : NULL;
                if (mr == MR && nr[q] == NR) {
                    ukernel_any(kc, ai, rsa, csa, bk[q], NR, c + off, ldc, mode, bj, last, off);
                } else {
                    edge_tile(kc, mr, nr[q], ai, rsa, csa, bk[q], c + off, ldc, mode, bj);
                    if (last) edge_epilogue(last, c + off, ldc, off, mr, nr[q]);
                }
            }
        }
    }
}

static void gemm_driver(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                        const float *b, int64_t ldb, int64_t bpanel, float *c, int64_t ldc,
                        int accumulate, const float *bias, const epilogue_t *ep) {
    int64_t n_panels = (N + NR - 1) / NR, n_ic = (M + MC - 1) / MC;
    int64_t n_tj = (n_panels + PANELS - 1) / PANELS;
    /* where several k blocks revisit C, a task's part of it stays within C_TASK_FLOATS */
    int64_t g = row_group(n_ic, n_tj, K > KC ? C_TASK_FLOATS / (MC * PANELS * NR) : n_ic);
    int64_t n_ig = (n_ic + g - 1) / g;
    int64_t n_tasks = n_tj * n_ig;
    const product_t p = {M, N,   K,          a,    rsa, csa,  b, ldb,  bpanel,
                         c, ldc, accumulate, bias, ep,  NULL, g, n_ig, 0};
    /* dynamic: a thread slowed by another process does not hold the others up; which thread
     * runs a task never changes its arithmetic. */
    KERN_PARALLEL_FOR(schedule(dynamic, 1), worth_a_team(M, N, K, n_tasks), t, n_tasks,
                      driver_task(&p, t););
}

/* A_LANES consecutive rows of a column of A: one vector, loaded, stored and added. */
#if KERN_ISA_LEVEL == 2
typedef __m512 arow_t;
#define AROW_LOAD _mm512_loadu_ps
#define AROW_STORE _mm512_storeu_ps
#define AROW_ADD _mm512_add_ps
#else
typedef vf8 arow_t;
#define AROW_LOAD vf8_loadu
#define AROW_STORE vf8_storeu
#define AROW_ADD vf8_add
#endif

/* Copies rows [0, m) of a column-major A block (A[i][k] = a[i + k * csa], k < kc) into
 * micro-panels of MR rows, panel t = [kc x MR] at dst + t * kc * MR; rows past m are zero.
 * Where A_LANES rows are readable (avail, the rows of A from a on) a panel row is one load and
 * one store of A_LANES floats whose last A_LANES - MR lanes land in the next slot, rewritten
 * next (dst has A_LANES floats of slack after the last panel). With sums, row i's values are
 * also added to sums[(i / MR) * A_LANES + i % MR] in k order (the bias gradient: dout's column
 * sums; each lane adds its row's values in k order, as a single float would). */
static void pack_a_col(float *restrict dst, const float *restrict a, int64_t csa, int64_t m,
                       int64_t avail, int64_t kc, float *restrict sums) {
    for (int64_t r0 = 0; r0 < m; r0 += MR) {
        float *d = dst + (r0 / MR) * kc * MR, *s = sums ? sums + (r0 / MR) * A_LANES : NULL;
        const float *at = a + r0;
        if (r0 + A_LANES <= avail && r0 + MR <= m) {
            if (!s) {
                for (int64_t k = 0; k < kc; k++)
                    AROW_STORE(d + k * MR, AROW_LOAD(at + k * csa));
                continue;
            }
            arow_t acc = AROW_LOAD(s);
            for (int64_t k = 0; k < kc; k++) {
                arow_t v = AROW_LOAD(at + k * csa);
                AROW_STORE(d + k * MR, v);
                acc = AROW_ADD(acc, v);
            }
            AROW_STORE(s, acc);
            continue;
        }
        int rows = m - r0 < MR ? (int)(m - r0) : MR;
        for (int64_t k = 0; k < kc; k++) {
            for (int r = 0; r < rows; r++) {
                d[k * MR + r] = at[k * csa + r];
                if (s) s[r] += at[k * csa + r];
            }
            for (int r = rows; r < MR; r++)
                d[k * MR + r] = 0.0f;
        }
    }
}

/* The column-major-A path (the weight gradients dout^T x, where A's columns are dout's rows and
 * reading A through its stride touches a new cache line at every k). A task owns up to NC_ACOL
 * columns of C and a group of g blocks of MC rows. Per k block it packs its columns of B once
 * into contiguous panels (bpack, thread-local) - except full panels of a B whose rows are at most
 * ACOL_IN_PLACE_LDB floats apart, which the micro-kernel reads in place (short strides stay in
 * the cache without set conflicts, and the copy cost more than it saved: 5 to 12% on the
 * quickstart's weight gradients) - then, block by block of rows, packs those rows of
 * A into micro-panels and runs the micro-kernel over them: a packed B block serves every row tile
 * of the group. Each element of C sees the very arithmetic of gemm_driver (k blocks of KC, one
 * FMA chain per block starting from zero, then the same store or add; a short last tile is a
 * zero-padded full tile whose valid rows are stored with the same adds), so the results are the
 * same bits. With colsum, the tasks of the first column block also add A's row sums (over all of
 * K, in k order, from zero: kern_sum_rows' arithmetic) into colsum while they pack A. */
#define NC_ACOL 128
#define G_ACOL_MAX 16         /* row blocks per task */
#define ACOL_IN_PLACE_LDB 512 /* longer rows of B are packed (strides of 4 KiB alias in L1) */
static _Thread_local float acol_bpack[NC_ACOL / NR][KC * NR] __attribute__((aligned(64)));

static void acol_task(const product_t *p, int64_t t) {
    const int64_t M = p->M, N = p->N, K = p->K, csa = p->csa, ldb = p->ldb, ldc = p->ldc;
    const int64_t g = p->g, n_jc = p->n_jc, n_ic = (M + MC - 1) / MC;
    const float *a = p->a, *b = p->b;
    float *c = p->c, *colsum = p->colsum;
    const int accumulate = p->accumulate;
    int64_t ig = t / n_jc, jc = t % n_jc;
    int64_t ic_end = (ig + 1) * g < n_ic ? (ig + 1) * g : n_ic;
    int64_t j_begin = jc * NC_ACOL, j_end = j_begin + NC_ACOL < N ? j_begin + NC_ACOL : N;
    int n_pan = (int)((j_end - j_begin + NR - 1) / NR);
    float apack[MC * KC + A_LANES] __attribute__((aligned(64)));
    float ct[MR * NR], sums[G_ACOL_MAX][MC / MR * A_LANES] __attribute__((aligned(64)));
    int with_sums = colsum && jc == 0;
    if (with_sums) memset(sums, 0, sizeof sums);
    for (int64_t p0 = 0; p0 < K; p0 += KC) {
        int64_t kc = K - p0 < KC ? K - p0 : KC;
        int mode = p0 > 0 ? 1 : accumulate;
        int nr[NC_ACOL / NR];
        const float *bq_at[NC_ACOL / NR];
        int64_t ldq[NC_ACOL / NR];
        for (int q = 0; q < n_pan; q++) {
            int64_t jq = j_begin + q * NR;
            nr[q] = N - jq < NR ? (int)(N - jq) : NR;
            if (nr[q] == NR && ldb <= ACOL_IN_PLACE_LDB) {
                bq_at[q] = b + p0 * ldb + jq;
                ldq[q] = ldb;
                continue;
            }
            pack_b_block(acol_bpack[q], b + p0 * ldb + jq, ldb, kc, nr[q]);
            bq_at[q] = acol_bpack[q];
            ldq[q] = NR;
        }
        for (int64_t ic = ig * g; ic < ic_end; ic++) {
            int64_t i0 = ic * MC, m = M - i0 < MC ? M - i0 : MC;
            pack_a_col(apack, a + i0 + p0 * csa, csa, m, M - i0, kc,
                       with_sums ? sums[ic - ig * g] : NULL);
            for (int q0 = 0; q0 < n_pan; q0 += PANELS) {
                int np = n_pan - q0 < PANELS ? n_pan - q0 : PANELS;
                int64_t j0 = j_begin + q0 * NR;
                for (int64_t r0 = 0; r0 < m; r0 += MR) {
                    int mr = m - r0 < MR ? (int)(m - r0) : MR;
                    const float *ap = apack + (r0 / MR) * kc * MR;
                    int q = 0;
#if PANELS == 2
                    if (np == 2 && nr[q0 + 1] == NR && ldq[q0] == ldq[q0 + 1] &&
                        (mr == MR || mr <= SHORT_MAX)) {
                        float *cij = c + (i0 + r0) * ldc + j0;
                        if (mr == MR)
                            ukernel2_acol(kc, ap, MR, bq_at[q0], bq_at[q0 + 1], ldq[q0], cij, ldc,
                                          mode);
                        else
                            ukernel2_short_any(mr, kc, ap, 1, MR, bq_at[q0], bq_at[q0 + 1], ldq[q0],
                                               cij, ldc, mode, NULL, NULL, 0);
                        q = 2;
                    }
#endif
                    for (; q < np; q++) {
                        float *cij = c + (i0 + r0) * ldc + j0 + q * NR;
                        const float *bq = bq_at[q0 + q];
                        if (mr == MR && nr[q0 + q] == NR) {
                            ukernel_acol(kc, ap, MR, bq, ldq[q0 + q], cij, ldc, mode, NULL);
                            continue;
                        }
                        ukernel_acol(kc, ap, MR, bq, ldq[q0 + q], ct, NR, 0, NULL);
                        for (int i = 0; i < mr; i++)
                            for (int j = 0; j < nr[q0 + q]; j++)
                                cij[i * ldc + j] =
                                    mode == 0 ? ct[i * NR + j] : cij[i * ldc + j] + ct[i * NR + j];
                    }
                }
            }
        }
    }
    if (with_sums)
        for (int64_t ic = ig * g; ic < ic_end; ic++) {
            int64_t i0 = ic * MC, m = M - i0 < MC ? M - i0 : MC;
            for (int64_t i = 0; i < m; i++)
                colsum[i0 + i] += sums[ic - ig * g][(i / MR) * A_LANES + i % MR];
        }
}

static void gemm_acol(int64_t M, int64_t N, int64_t K, const float *a, int64_t csa, const float *b,
                      int64_t ldb, float *c, int64_t ldc, int accumulate, float *colsum) {
    int64_t n_ic = (M + MC - 1) / MC, n_jc = (N + NC_ACOL - 1) / NC_ACOL;
    int64_t g_max = C_TASK_FLOATS / (MC * (N < NC_ACOL ? N : NC_ACOL)); /* C within bounds */
    int64_t g = row_group(n_ic, n_jc, g_max < G_ACOL_MAX ? g_max : G_ACOL_MAX);
    int64_t n_ig = (n_ic + g - 1) / g;
    int64_t n_tasks = n_ig * n_jc;
    const product_t p = {M, N,   K,          a,    1,    csa,    b, ldb,  0,
                         c, ldc, accumulate, NULL, NULL, colsum, g, n_ig, n_jc};
    KERN_PARALLEL_FOR(schedule(dynamic, 1), worth_a_team(M, N, K, n_tasks), t, n_tasks,
                      acol_task(&p, t););
}

void kern_cpu_gemm(int64_t M, int64_t N, int64_t K, const float *a, int64_t rsa, int64_t csa,
                   const float *b, int64_t ldb, float *c, int64_t ldc, int accumulate) {
    if (K == 0) {
        if (!accumulate)
            for (int64_t i = 0; i < M; i++)
                memset(c + i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    if (rsa == 1 && csa != 1)
        gemm_acol(M, N, K, a, csa, b, ldb, c, ldc, accumulate, NULL);
    else
        gemm_driver(M, N, K, a, rsa, csa, b, ldb, 0, c, ldc, accumulate, NULL, NULL);
}

/* A prepared weight is W^T [K x N] in zero-padded panels of NR columns: panel p = [K x NR]. */
static size_t packed_floats(int K, int N) {
    return (size_t)((N + NR - 1) / NR) * NR * (size_t)K;
}

size_t kern_cpu_weight_bytes(int K, int N) {
    return packed_floats(K, N) * sizeof(float); /* NR floats are 64 bytes */
}

/* Full 8 x 8 blocks go through register transposes, the rest element by element (a pure
 * copy). */
kern_weight_t *kern_cpu_weight_prepare(void *buf, const float *w, int K, int N) {
    float *dst = buf;
    int n_panels = (N + NR - 1) / NR;
    KERN_PARALLEL_FOR(schedule(static), 1, p, n_panels, {
        float *d = dst + (size_t)p * NR * K;
        for (int j0 = 0; j0 < NR; j0 += 8) {
            int n0 = p * NR + j0, k = 0;
            if (n0 + 8 <= N) {
                for (; k + 8 <= K; k += 8)
                    simd_copy_transposed8(d + (size_t)k * NR + j0, NR, w + (size_t)n0 * K + k, K,
                                          8);
            }
            for (; k < K; k++)
                for (int j = j0; j < j0 + 8; j++) {
                    int n = p * NR + j;
                    d[(size_t)k * NR + j] = n < N ? w[(size_t)n * K + k] : 0.0f;
                }
        }
    });
    return buf;
}

/* The panels of a prepared weight. */
static const float *panels(const kern_weight_t *wt) {
    return (const float *)wt;
}

void kern_cpu_matmul_forward(float *out, const float *inp, const kern_weight_t *wt,
                             const float *bias, int64_t M, int K, int N) {
    gemm_driver(M, N, K, inp, K, 1, panels(wt), NR, (int64_t)NR * K, out, N, 0, bias, NULL);
}

void kern_cpu_matmul_residual_forward(float *out, const float *inp, const kern_weight_t *wt,
                                      const float *bias, const float *res, int64_t M, int K,
                                      int N) {
    epilogue_t ep = {EP_RES, NULL, res};
    gemm_driver(M, N, K, inp, K, 1, panels(wt), NR, (int64_t)NR * K, out, N, 0, bias, &ep);
}

void kern_cpu_matmul_gelu_forward(float *act, float *dgelu, const float *inp,
                                  const kern_weight_t *wt, const float *bias, int64_t M, int K,
                                  int N) {
    epilogue_t ep = {EP_GELU, dgelu, NULL};
    gemm_driver(M, N, K, inp, K, 1, panels(wt), NR, (int64_t)NR * K, act, N, 0, bias, &ep);
}

void kern_cpu_matmul_backward(float *dinp, float *dw, float *dbias, const float *dout,
                              const float *inp, const float *w, int64_t M, int K, int N,
                              int accumulate) {
    kern_cpu_matmul_gelu_backward(dinp, dw, dbias, dout, inp, w, NULL, M, K, N, accumulate);
}

void kern_cpu_matmul_gelu_backward(float *dinp, float *dw, float *dbias, const float *dout,
                                   const float *inp, const float *w, const float *dgelu, int64_t M,
                                   int K, int N, int accumulate) {
    epilogue_t ep = {EP_DGELU, NULL, dgelu};
    if (dinp) gemm_driver(M, K, N, dout, N, 1, w, K, 0, dinp, K, 0, NULL, dgelu ? &ep : NULL);
    if (!dw) {
        if (dbias) kern_cpu_sum_rows(dbias, dout, M, N);
        return;
    }
    if (M == 0 || N == 1 || K == 0) { /* nothing to multiply, or dout a column: as kern_gemm */
        kern_cpu_gemm(N, K, M, dout, 1, N, inp, K, dw, K, accumulate);
        if (dbias) kern_cpu_sum_rows(dbias, dout, M, N);
        return;
    }
    gemm_acol(N, K, M, dout, N, inp, K, dw, K, accumulate, dbias); /* dbias summed on the way */
}

/* The full product's dW reduces its rows in blocks of KC (each summed from zero, then added),
 * and its rows without a target hold zeros, which add nothing; so the compact rows are split
 * where those blocks end and each piece is one product: the same bits. The bias sum runs over
 * the compact rows in order from zero, as kern_sum_rows over the full rows would. */
void kern_cpu_matmul_backward_rows(float *dinp, float *dw, float *dbias, const float *dout,
                                   const float *inp, const float *w, const float *dgelu,
                                   const int32_t *rows, int64_t nt, int K, int N, int accumulate) {
    kern_cpu_matmul_gelu_backward(dinp, NULL, NULL, dout, inp, w, dgelu, nt, K, N, 1);
    if (dw) {
        int acc = accumulate;
        if (nt == 0) kern_cpu_gemm(N, K, 0, dout, 1, N, inp, K, dw, K, acc);
        for (int64_t i0 = 0, i1; i0 < nt; i0 = i1, acc = 1) {
            int64_t blk = rows[i0] / KC;
            for (i1 = i0 + 1; i1 < nt && rows[i1] / KC == blk; i1++) {
            }
            kern_cpu_gemm(N, K, i1 - i0, dout + i0 * N, 1, N, inp + i0 * K, K, dw, K, acc);
        }
    }
    if (dbias) kern_cpu_sum_rows(dbias, dout, nt, N);
}
