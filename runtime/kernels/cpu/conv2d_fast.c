/* conv2d_fast.c: the tuned 2-D convolutions k_conv2d_fwd / _bwd_data /
 * _bwd_weight, which must match the references of conv2d.c.
 *
 * Three paths, chosen per call from the shape:
 * - pointwise (1x1, stride 1, no padding, one group): per sample a GEMM
 *   y[n] (Co x HW) = w (Co x Ci) * x[n] (Ci x HW), with its transposes for
 *   the backwards;
 * - depthwise (g == Ci == Co): one (H, W) plane at a time, copied zero
 *   padded (in stride phases) to the stack and correlated as one flat row
 *   vectorized along it, the window taps unrolled;
 * - everything else: im2col panels of at most CONV_PANEL values, built on
 *   the stack, fed to the same GEMM (col2im for the data gradient).
 * The GEMM packs blocks of both operands on the stack and runs a
 * register-blocked micro-kernel (up to CONV_MR x CONV_NR outputs) written in
 * plain C for the compiler's auto-vectorizer.
 * Parallel loops run over samples, column chunks, planes or channels, never
 * splitting a sum except the weight gradient's sum over the batch, whose
 * per-thread partials are merged in thread order (deterministic for a given
 * thread count). Nothing is allocated: scratch is bounded stack arrays.
 * The fused-prologue variants (k_conv2d_fwd_pre, _bwd_weight_pre) apply
 * BN + ReLU to each depthwise plane while copying it to the stack. */
#include "cpu_kernels.h"

#include <string.h>

/* Weight-gradient tile edge (channels x taps). A short-row pointwise tile is
 * a GEMM per sample whose packing costs (rows + columns) per product column
 * against rows x columns products: a whole 144 x 144 tile instead of 48 x 64
 * ones (kernels_bench, 2 threads: C144 8x8 118 -> 195 GFLOP/s, C576->144
 * 8x8 151 -> 195, the strided C144->36 36 -> 74, C144->36 32x32 110 -> 147;
 * DARTS_V2's training step 2.36 -> 2.22 s). The tiles' sums live on the
 * stack (2 x 200 KB of real_acc per thread at most; rt_main gives OpenMP
 * threads 8 MB stacks). */
#define CONV_WB 160
#define CONV_DW_TAPS 64 /* largest depthwise window the fast path keeps on the stack */

static inline int conv_min(int a, int b)
{
    return a < b ? a : b;
}

/* ---- GEMM ----
 * C (M x Nc) (+)= A (M x K) * B (K x Nc) in register tiles of mr x CONV_NR:
 * a block of A (up to CONV_MR rows x CONV_KC) is packed k-major on the stack,
 * each tile keeps its sums in registers over the whole depth block while
 * one CONV_NR-wide row segment of B is loaded per k and every A value is
 * broadcast. The tile sizes follow the vector registers the compiler will
 * use: 32 registers of 16 floats (GCC on AVX-512, told to prefer 512-bit
 * vectors for these loops), 32 of 8 (Clang on AVX-512), otherwise 16 or
 * fewer; CONV_VL is the lane count of the weight gradient's dot products
 * (4 x 4 pairs of CONV_VL lanes). Row blocks are CONV_MR, 2/3 or 1/3 of it,
 * so that common channel counts (16, 32, 36, 64, ...) waste few rows. */

#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
/* GCC tunes skylake-avx512 for 256-bit vectors; the GEMM loops run about
 * twice as fast on 512-bit ones (two FMA units). Not inlined, so that the
 * preference holds in the function's own body. */
#define CONV_WIDE __attribute__((target("prefer-vector-width=512"), noinline))
#define CONV_UNROLL _Pragma("GCC unroll 64")
#define CONV_MR 12
#define CONV_NR 32
#define CONV_VL 16
#elif defined(__AVX512F__)
#define CONV_WIDE
#define CONV_UNROLL
#define CONV_MR 6
#define CONV_NR 32
#define CONV_VL 8
#else
#define CONV_WIDE
#define CONV_UNROLL
#define CONV_MR 6
#define CONV_NR 16
#define CONV_VL 8
#endif
#define CONV_KC 128      /* GEMM depth block */
#define CONV_JP 128      /* GEMM column panel (packed B: CONV_KC x CONV_JP) */
#define CONV_MG (4 * CONV_MR) /* rows of A packed at once */
#define CONV_PW_JB 4096  /* widest column chunk of a pointwise task */
#define CONV_PANEL 16384 /* values of an im2col panel on the stack */
#define CONV_PK 128      /* most rows of an im2col panel */
#define CONV_WPANEL 8192 /* values of a weight-gradient im2col panel */
#define CONV_WSUM 2048   /* products per lane set summed in real before real_acc */
#define CONV_NT_GEMM_MAX 128 /* weight-gradient rows at least this long use the lanes */
#define CONV_LINE (64 / (int)sizeof(real)) /* values per cache line (prefetches) */
#define CONV_PA 16384    /* values of a whole packed A kept on the stack (conv_gemm_prepack) */
_Static_assert(CONV_NT_GEMM_MAX <= CONV_WSUM, "a short weight-gradient row fits one real sum");

/* One register tile: C[i][j] (+)= sum_{k<kc} ap[k*MR + i] * bp[k*ldb + j]
 * for i < MR, j < CONV_NR (kc >= 1); acc != 0 adds to C. ap is a packed
 * block of A, bp a packed strip of B (ldb CONV_NR) or B itself. The sums
 * start from the first product (no zeroed array, which GCC would clear in
 * memory) and every loop bound is a constant, so the tile never leaves the
 * registers. */
#ifdef K_AVX512
/* AVX-512 builds (CONV_NR 32: two vectors a row): the same products in the
 * same order with the tile in named vectors. GCC kept the plain C's tile
 * in registers through the depth loop but stored it to the stack and
 * copied it to C at the end: at a depth of 16 (a 16-channel pointwise
 * conv) this one is 1.27x faster (1.11x at 32, 1.05x at 64; warm). */
#define CONV_UKERNEL(NAME, MR)                                                                     \
    CONV_WIDE static void NAME(int kc, const real *ap, const real *bp, ptrdiff_t ldb, real *C,     \
                               ptrdiff_t ldc, int acc)                                             \
    {                                                                                              \
        __m512 c0[MR], c1[MR], b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);           \
        CONV_UNROLL                                                                                \
        for (int i = 0; i < (MR); i++) {                                                           \
            __m512 a = _mm512_set1_ps(ap[i]);                                                      \
            c0[i] = _mm512_mul_ps(a, b0);                                                          \
            c1[i] = _mm512_mul_ps(a, b1);                                                          \
        }                                                                                          \
        for (int k = 1; k < kc; k++) {                                                             \
            const real *b = bp + k * ldb, *a = ap + k * (MR);                                      \
            b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);                                 \
            CONV_UNROLL                                                                            \
            for (int i = 0; i < (MR); i++) {                                                       \
                __m512 av = _mm512_set1_ps(a[i]);                                                  \
                c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);                                            \
                c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);                                            \
            }                                                                                      \
        }                                                                                          \
        CONV_UNROLL                                                                                \
        for (int i = 0; i < (MR); i++) {                                                           \
            real *ci = C + i * ldc;                                                                \
            if (acc) {                                                                             \
                c0[i] = _mm512_add_ps(_mm512_loadu_ps(ci), c0[i]);                                 \
                c1[i] = _mm512_add_ps(_mm512_loadu_ps(ci + 16), c1[i]);                            \
            }                                                                                      \
            _mm512_storeu_ps(ci, c0[i]);                                                           \
            _mm512_storeu_ps(ci + 16, c1[i]);                                                      \
        }                                                                                          \
    }
_Static_assert(CONV_NR == 32, "the AVX-512 micro-kernel holds a tile row in two vectors");
#else
#define CONV_UKERNEL(NAME, MR)                                                                     \
    CONV_WIDE static void NAME(int kc, const real *ap, const real *bp, ptrdiff_t ldb, real *C,     \
                               ptrdiff_t ldc, int acc)                                             \
    {                                                                                              \
        real c[MR][CONV_NR];                                                                       \
        for (int i = 0; i < (MR); i++)                                                             \
            for (int j = 0; j < CONV_NR; j++)                                                      \
                c[i][j] = ap[i] * bp[j];                                                           \
        for (int k = 1; k < kc; k++) {                                                             \
            const real *b = bp + k * ldb, *a = ap + k * (MR);                                      \
            for (int i = 0; i < (MR); i++)                                                         \
                for (int j = 0; j < CONV_NR; j++)                                                  \
                    c[i][j] += a[i] * b[j];                                                        \
        }                                                                                          \
        if (acc)                                                                                   \
            for (int i = 0; i < (MR); i++)                                                         \
                for (int j = 0; j < CONV_NR; j++)                                                  \
                    C[i * ldc + j] += c[i][j];                                                     \
        else                                                                                       \
            for (int i = 0; i < (MR); i++)                                                         \
                for (int j = 0; j < CONV_NR; j++)                                                  \
                    C[i * ldc + j] = c[i][j];                                                      \
    }
#endif

CONV_UKERNEL(conv_uk_l, CONV_MR)
CONV_UKERNEL(conv_uk_m, CONV_MR * 2 / 3)
CONV_UKERNEL(conv_uk_s, CONV_MR / 3)

/* Rows of the next row block when r rows are left: CONV_MR, or the smaller
 * kernel that wastes fewest padded rows. */
static int conv_row_block(int r)
{
    if (r <= CONV_MR / 3)
        return CONV_MR / 3;
    if (r <= CONV_MR * 2 / 3 || r == CONV_MR * 4 / 3)
        return CONV_MR * 2 / 3;
    return CONV_MR;
}

#ifdef K_AVX512
/* The transposing copy of the packers (AVX-512 builds): dst[c*ds + r] =
 * src[r*ss + c] (relu of it when relu) for r < rows, c < cols (both at
 * most 16), each column's first `width` lanes stored, zeros from row
 * `rows` on. Rows that are contiguous along the packed depth (a weight
 * gradient's gy and x rows, packed as A and B) cost a load and a store
 * per value when copied one by one: at 64 -> 64 channels of 7x7 planes
 * the packing was over half of the weight gradient's GEMM (warm). */
CONV_WIDE static void conv_transpose16(const real *src, ptrdiff_t ss, int rows, int cols, real *dst,
                                       ptrdiff_t ds, int width, int relu)
{
    __m512 r[16], t[16];
    __mmask16 mc = k_mask16(cols), mw = k_mask16(width);
    for (int i = 0; i < 16; i++) {
        r[i] = i < rows ? _mm512_maskz_loadu_ps(mc, src + i * ss) : _mm512_setzero_ps();
        if (relu) /* max(v, +0): +0 for a NaN or -0, as conv_relu */
            r[i] = _mm512_max_ps(r[i], _mm512_setzero_ps());
    }
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_f32x4(t[i + 4], t[i + 12], 0xdd);
    }
    for (int c = 0; c < cols; c++)
        _mm512_mask_storeu_ps(dst + c * ds, mw, r[c]);
}
#endif

/* Packs rows i0..i0+mr-1 of a depth block of A (kc deep, A(i, k) at
 * a[i*ars + k*acs]) k-major for a kernel of mb >= mr rows, zero padded. */
static void conv_pack_a(int kc, int mr, int mb, const real *a, ptrdiff_t ars, ptrdiff_t acs,
                        real *p)
{
#ifdef K_AVX512
    if (acs == 1 && ars != 1 && mb <= 16) {
        for (int k0 = 0; k0 < kc; k0 += 16)
            conv_transpose16(a + k0, ars, mr, conv_min(16, kc - k0), p + (ptrdiff_t)k0 * mb, mb, mb, 0);
        return;
    }
#endif
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < mb; i++)
            p[k * mb + i] = i < mr ? a[i * ars + k * acs] : 0;
}

/* ReLU with the arithmetic of k_relu_fwd (and k_pre_val): a conv that
 * reads its input through it gets the bits the stored ReLU output has. */
static inline real conv_relu(real v)
{
    return v > 0 ? v : (real)0;
}

/* Packs a kc x nc block of B (B(k, j) at b[k*bks + j*bjs]) as CONV_NR-wide
 * strips, each kc x CONV_NR contiguous, the last one zero padded; rb != 0
 * packs relu(B) (a fused ReLU prologue). Row-major B (bjs 1) is read row by
 * row and column-major B column by column, in memory order either way, so
 * that the hardware prefetcher follows. */
static inline __attribute__((always_inline)) void conv_pack_b_body(int kc, int nc, const real *b, ptrdiff_t bks,
                                                                   ptrdiff_t bjs, real *p, int rb)
{
    if (bjs != 1) {
#ifdef K_AVX512
        if (bks == 1) {
            /* rows of B contiguous along the depth: 16 x 16 blocks transposed */
            for (int j0 = 0; j0 < nc; j0 += 16) {
                real *d = p + (ptrdiff_t)(j0 / CONV_NR * CONV_NR) * kc + j0 % CONV_NR;
                for (int k0 = 0; k0 < kc; k0 += 16)
                    conv_transpose16(b + (ptrdiff_t)j0 * bjs + k0, bjs, conv_min(16, nc - j0),
                                     conv_min(16, kc - k0), d + (ptrdiff_t)k0 * CONV_NR, CONV_NR, 16, rb);
            }
            /* a last strip's columns past nc that no block reached */
            for (int j = (nc + 15) / 16 * 16; j % CONV_NR; j++)
                for (int k = 0; k < kc; k++)
                    p[(ptrdiff_t)(j / CONV_NR * CONV_NR) * kc + (ptrdiff_t)k * CONV_NR + j % CONV_NR] = 0;
            return;
        }
#endif
        for (int j0 = 0; j0 < nc; j0 += CONV_NR)
            for (int j = 0; j < CONV_NR; j++) {
                real *d = p + (ptrdiff_t)j0 * kc + j;
                const real *c = b + (ptrdiff_t)(j0 + j) * bjs;
                for (int k = 0; k < kc; k++)
                    d[k * CONV_NR] = j0 + j < nc ? (rb ? conv_relu(c[k * bks]) : c[k * bks]) : 0;
            }
        return;
    }
    ptrdiff_t ldb = bks;
    int full = nc / CONV_NR * CONV_NR;
    for (int k = 0; k < kc; k++) {
        const real *r = b + k * ldb;
        for (int j0 = 0; j0 < full; j0 += CONV_NR)
            for (int j = 0; j < CONV_NR; j++)
                p[((ptrdiff_t)j0 * kc + k * CONV_NR) + j] = rb ? conv_relu(r[j0 + j]) : r[j0 + j];
        if (full < nc)
            for (int j = 0; j < CONV_NR; j++)
                p[(ptrdiff_t)full * kc + k * CONV_NR + j] =
                    full + j < nc ? (rb ? conv_relu(r[full + j]) : r[full + j]) : 0;
    }
}
static void conv_pack_b(int kc, int nc, const real *b, ptrdiff_t bks, ptrdiff_t bjs, real *p, int rb)
{
    if (rb)
        conv_pack_b_body(kc, nc, b, bks, bjs, p, 1);
    else
        conv_pack_b_body(kc, nc, b, bks, bjs, p, 0);
}

/* Rows of B at least this many bytes apart are separate streams to the
 * hardware prefetcher: conv_gemm prefetches their next panel itself. At
 * 4096 (rows a page or more apart) the pointwise convs at 28x28 and 14x14
 * (3136 and 784 bytes) waited on memory for each panel: cold, their data
 * gradient took 2.8-3.2 ms at 48 -> 32 channels, batch 64, against 2.0-2.2
 * with 512 (the same bits: prefetches only). */
#define CONV_AHEAD_ROW 512

/* The lines of the next column panel that conv_gemm asks for while it
 * works on the current one: kc rows of B from b (bks apart) and m rows of C
 * from c (ldc apart), lpr cache lines each, issued a few after each tile.
 * Pointwise rows are often a page apart, one stream each: more streams than
 * the hardware prefetcher follows, so each new panel would wait on memory. */
typedef struct {
    const real *b;
    real *c;
    ptrdiff_t bks, ldc;
    int kc, lpr, next, total;
    int r, l; /* row and line of line `next` */
} ConvAhead;

/* Issues the lines of a up to line `upto` (rows of B first, then of C). */
static inline void conv_ahead(ConvAhead *a, int upto)
{
    for (; a->next < upto && a->next < a->total; a->next++) {
        if (a->r < a->kc)
            __builtin_prefetch(a->b + a->r * a->bks + a->l * CONV_LINE, 0, 2);
        else
            __builtin_prefetch(a->c + (a->r - a->kc) * a->ldc + a->l * CONV_LINE, 1, 2);
        if (++a->l == a->lpr)
            a->l = 0, a->r++;
    }
}

/* One depth block of conv_gemm's products for one panel of columns and
 * one group of rows: packed row blocks pa (mg rows, kc deep) over every
 * strip of the panel (pc columns from B's strips: read in place from bk
 * when direct, except a partial last strip, else packed in bp), into C
 * (already at the group's first row and the panel's first column; added
 * when ac), issuing the prefetches of ah, step after each tile. */
static inline __attribute__((always_inline)) void
conv_gemm_strips(int kc, int mg, int pc, const real *pa0, const real *bk, ptrdiff_t bks, int direct,
                 const real *bp, real *C, ptrdiff_t ldc, int ac, ConvAhead *ah, int step)
{
    real ct[CONV_MR * CONV_NR];
    int pfull = pc / CONV_NR * CONV_NR;
    for (int j0 = 0; j0 < pc; j0 += CONV_NR) {
        int nr = conv_min(CONV_NR, pc - j0), inb = direct && j0 < pfull;
        const real *pb = inb ? bk + j0 : bp + (ptrdiff_t)j0 * kc, *pa = pa0;
        ptrdiff_t ldb = inb ? bks : CONV_NR;
        for (int i0 = 0, mb; i0 < mg; i0 += mb, pa += mb * kc) {
            mb = conv_row_block(mg - i0);
            int mr = conv_min(mb, mg - i0), full = mr == mb && nr == CONV_NR;
            real *c = C + i0 * ldc + j0, *d = full ? c : ct;
            ptrdiff_t ldd = full ? ldc : CONV_NR;
            if (mb == CONV_MR)
                conv_uk_l(kc, pa, pb, ldb, d, ldd, ac && full);
            else if (mb == CONV_MR * 2 / 3)
                conv_uk_m(kc, pa, pb, ldb, d, ldd, ac && full);
            else
                conv_uk_s(kc, pa, pb, ldb, d, ldd, ac && full);
            conv_ahead(ah, ah->next + step);
            if (!full)
                for (int i = 0; i < mr; i++)
                    for (int j = 0; j < nr; j++)
                        c[i * ldc + j] = ac ? c[i * ldc + j] + ct[i * CONV_NR + j] : ct[i * CONV_NR + j];
        }
    }
}

/* Packs rows g0..g0+mg-1 of A's depth block from k0 (kc deep) in row
 * blocks (conv_row_block) into ap. */
static void conv_gemm_pack_rows(int kc, int g0, int mg, int k0, const real *A, ptrdiff_t ars, ptrdiff_t acs,
                                real *ap)
{
    real *pa = ap;
    for (int i0 = 0, mb; i0 < mg; i0 += mb, pa += mb * kc) {
        mb = conv_row_block(mg - i0);
        conv_pack_a(kc, conv_min(mb, mg - i0), mb, A + (g0 + i0) * ars + k0 * acs, ars, acs, pa);
    }
}

/* Rows of A as conv_gemm packs them: M rows in groups of CONV_MG, each
 * group's row blocks padded (conv_row_block). */
static int conv_gemm_rows_packed(int M)
{
    int rows = M / CONV_MG * CONV_MG;
    for (int i0 = rows, mb; i0 < M; i0 += mb)
        rows += mb = conv_row_block(M - i0);
    return rows;
}

/* Packs all of A (M x K, A(i, k) at A[i*ars + k*acs]) into pa as conv_gemm
 * packs it, depth block after depth block, each its groups of rows in
 * order (the group at row g0 of the block from k0 at k0*(packed rows) +
 * g0*kc: full groups pad to CONV_MG rows), so that calls that share A
 * (a layer's weights, once per sample) pack it once (conv_gemm_pa). At a
 * 64 -> 64 pointwise conv of 7x7 planes, packing A took a third of each
 * sample's GEMM (warm). pa holds CONV_PA values; returns pa, or NULL
 * (nothing packed: each conv_gemm_pa call packs its own) when A does not
 * fit. */
static const real *conv_gemm_prepack(int M, int K, const real *A, ptrdiff_t ars, ptrdiff_t acs, real *pa)
{
    int nkb = (K + CONV_KC - 1) / CONV_KC, ks = (K + nkb - 1) / nkb, rows = conv_gemm_rows_packed(M);
    if ((ptrdiff_t)rows * K > CONV_PA)
        return NULL;
    for (int k0 = 0; k0 < K; k0 += ks) {
        int kc = conv_min(ks, K - k0);
        for (int g0 = 0; g0 < M; g0 += CONV_MG)
            conv_gemm_pack_rows(kc, g0, conv_min(CONV_MG, M - g0), k0, A, ars, acs,
                                pa + (ptrdiff_t)k0 * rows + (ptrdiff_t)g0 * kc);
    }
    return pa;
}

/* The prefetches conv_gemm issues during the panel of pc columns at p0 of
 * a depth block (kc deep; the last when last) for the rows g0..g0+m-1 of
 * C: the next panel's rows of B from bk + CONV_JP and of C, or during the
 * last panel (when last and the last rows) the first panel of the caller's
 * next call nb (its B only); *step: lines per tile. */
static ConvAhead conv_gemm_ahead(int Nc, int p0, int pc, int kc, int ks, int K, int m, int last_rows,
                                 const real *bk, ptrdiff_t bks, ptrdiff_t bjs, real *C, ptrdiff_t ldc,
                                 int last, const real *nb, int *step)
{
    ConvAhead ah = { 0 };
    *step = 0;
    if (bjs != 1 || bks * (ptrdiff_t)sizeof(real) < CONV_AHEAD_ROW)
        return ah;
    int calls = (pc + CONV_NR - 1) / CONV_NR * ((m + CONV_MR - 1) / CONV_MR);
    if (p0 + CONV_JP < Nc) {
        int lpr = conv_min(CONV_JP, Nc - p0 - CONV_JP) / CONV_LINE + 1;
        ah = (ConvAhead){ bk + CONV_JP, C + p0 + CONV_JP, bks, ldc, kc, lpr, 0, (kc + m) * lpr, 0, 0 };
    } else if (nb && last && last_rows) { /* the next call's first panel, its B only */
        int lpr = conv_min(CONV_JP, Nc) / CONV_LINE + 1;
        ah = (ConvAhead){ nb, NULL, bks, 0, conv_min(ks, K), lpr, 0, conv_min(ks, K) * lpr, 0, 0 };
    }
    *step = (ah.total + calls - 1) / calls;
    return ah;
}

/* C (M x Nc, rows ldc apart) (+)= A (M x K) * B (K x Nc), A(i, k) at
 * A[i*ars + k*acs], B(k, j) at B[k*bks + j*bjs]; acc != 0 adds to C. The
 * depth is cut into even blocks of at most CONV_KC and the columns into
 * panels of CONV_JP; each panel of B is packed once (conv_pack_b: B rows
 * are often 4 KiB apart, which would make strips of them collide in the L1
 * cache and defeat the prefetcher), and the rows of A, CONV_MG at a time,
 * are packed in row blocks (conv_row_block) and run over every strip of
 * the panel: each group of rows packed once and run over all panels where
 * B is not packed (below) or one group holds all rows (repacking A for
 * every panel took 6-13% of a 48 -> 32 channel data gradient's GEMM, warm),
 * else the groups repacked under each panel. Row-major B whose rows are
 * not a multiple of 1 KiB apart is read in place instead, except a last
 * partial strip: packing costs as much as the products when the depth is
 * a few channels (a 16 -> 16 pointwise conv). rb != 0 multiplies by relu(B) (packed, never read in
 * place). nb: where the caller's next call reads its B (the same strides),
 * whose first panel is prefetched during the last one here (the next
 * sample of a pointwise conv: its rows are as many streams), or NULL. pa:
 * A already packed whole (conv_gemm_prepack), or NULL. */
CONV_WIDE static void conv_gemm_pa(int M, int Nc, int K, const real *A, ptrdiff_t ars, ptrdiff_t acs,
                                   const real *B, ptrdiff_t bks, ptrdiff_t bjs, real *C, ptrdiff_t ldc,
                                   int acc, int rb, const real *nb, const real *pa)
{
    real ap[(CONV_MG + CONV_MR) * CONV_KC], bp[CONV_KC * CONV_JP];
    int nkb = (K + CONV_KC - 1) / CONV_KC, ks = (K + nkb - 1) / nkb, prows = conv_gemm_rows_packed(M);
    int direct = !rb && bjs == 1 && bks % 256 != 0;
    /* each group of rows of A packed once per depth block and run over
     * every panel, where no packing of B repeats for it (B read in place,
     * or one group); else each panel of B packed once and every group of
     * A repacked under it */
    int rows_out = Nc > CONV_JP && (direct || M <= CONV_MG);
    for (int k0 = 0; k0 < K; k0 += ks) {
        int kc = conv_min(ks, K - k0), ac = acc || k0 > 0, last = k0 + ks >= K;
        for (int r0 = 0; r0 < M; r0 += rows_out ? CONV_MG : M) {
            int rm = rows_out ? conv_min(CONV_MG, M - r0) : M;
            if (rows_out && !pa)
                conv_gemm_pack_rows(kc, r0, rm, k0, A, ars, acs, ap);
            for (int p0 = 0; p0 < Nc; p0 += CONV_JP) {
                int pc = conv_min(CONV_JP, Nc - p0), pfull = pc / CONV_NR * CONV_NR, step;
                const real *bk = B + k0 * bks + p0 * bjs;
                ConvAhead ah = conv_gemm_ahead(Nc, p0, pc, kc, ks, K, rm, r0 + rm >= M, bk, bks, bjs,
                                               C + r0 * ldc, ldc, last, nb, &step);
                if (!direct)
                    conv_pack_b(kc, pc, bk, bks, bjs, bp, rb);
                else if (pfull < pc)
                    conv_pack_b(kc, pc - pfull, bk + pfull, bks, 1, bp + (ptrdiff_t)pfull * kc, 0);
                if (rows_out) {
                    conv_gemm_strips(kc, rm, pc, pa ? pa + (ptrdiff_t)k0 * prows + (ptrdiff_t)r0 * kc : ap, bk,
                                     bks, direct, bp, C + r0 * ldc + p0, ldc, ac, &ah, step);
                    continue;
                }
                for (int g0 = 0; g0 < M; g0 += CONV_MG) {
                    int mg = conv_min(CONV_MG, M - g0);
                    if (!pa)
                        conv_gemm_pack_rows(kc, g0, mg, k0, A, ars, acs, ap);
                    conv_gemm_strips(kc, mg, pc, pa ? pa + (ptrdiff_t)k0 * prows + (ptrdiff_t)g0 * kc : ap, bk,
                                     bks, direct, bp, C + g0 * ldc + p0, ldc, ac, &ah, step);
                }
            }
        }
    }
}

/* conv_gemm_pa packing A itself. */
static void conv_gemm(int M, int Nc, int K, const real *A, ptrdiff_t ars, ptrdiff_t acs, const real *B,
                      ptrdiff_t bks, ptrdiff_t bjs, real *C, ptrdiff_t ldc, int acc, int rb, const real *nb)
{
    conv_gemm_pa(M, Nc, K, A, ars, acs, B, bks, bjs, C, ldc, acc, rb, nb, NULL);
}

/* D[i*ldd + j] += sum_{g<G} sum_{p<L} A[g*sa + i*lda + p] * B[g*sb + j*ldb + p]
 * for i < M, j < Nn, for long rows (see conv_gemm_nt_acc): dot products
 * along contiguous rows, for 4 x 4 pairs at a time in CONV_VL lanes of real
 * that run over all G row sets (samples), then each pair's total is added to
 * the real_acc D. Summing several samples in the lanes keeps the horizontal
 * sums rare when L is short. rb != 0 reads relu(B) (conv_gemm_nt_lanes
 * compiles it as a constant). */
static inline __attribute__((always_inline)) void
conv_gemm_nt_lanes_body(int M, int Nn, int L, int G, const real *A, ptrdiff_t lda, ptrdiff_t sa,
                        const real *B, ptrdiff_t ldb, ptrdiff_t sb, real_acc *D, ptrdiff_t ldd, int rb)
{
    int Lv = L - L % CONV_VL;
    for (int i0 = 0; i0 < M; i0 += 4)
        for (int j0 = 0; j0 < Nn; j0 += 4) {
            int mr = conv_min(4, M - i0), nr = conv_min(4, Nn - j0);
            ptrdiff_t ao[4], bo[4];
            for (int i = 0; i < 4; i++)
                ao[i] = (ptrdiff_t)(i0 + conv_min(i, mr - 1)) * lda;
            for (int j = 0; j < 4; j++)
                bo[j] = (ptrdiff_t)(j0 + conv_min(j, nr - 1)) * ldb;
            real c[4][4][CONV_VL], t[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    t[i][j] = 0;
                    for (int l = 0; l < CONV_VL; l++)
                        c[i][j][l] = 0;
                }
            for (int g = 0; g < G; g++) {
                const real *a0 = A + g * sa + ao[0], *a1 = A + g * sa + ao[1];
                const real *a2 = A + g * sa + ao[2], *a3 = A + g * sa + ao[3];
                const real *b0 = B + g * sb + bo[0], *b1 = B + g * sb + bo[1];
                const real *b2 = B + g * sb + bo[2], *b3 = B + g * sb + bo[3];
                for (int p = 0; p < Lv; p += CONV_VL)
                    for (int l = 0; l < CONV_VL; l++) {
                        real x0 = a0[p + l], x1 = a1[p + l], x2 = a2[p + l], x3 = a3[p + l];
                        real y0 = b0[p + l], y1 = b1[p + l], y2 = b2[p + l], y3 = b3[p + l];
                        if (rb) {
                            y0 = conv_relu(y0);
                            y1 = conv_relu(y1);
                            y2 = conv_relu(y2);
                            y3 = conv_relu(y3);
                        }
                        c[0][0][l] += x0 * y0;
                        c[0][1][l] += x0 * y1;
                        c[0][2][l] += x0 * y2;
                        c[0][3][l] += x0 * y3;
                        c[1][0][l] += x1 * y0;
                        c[1][1][l] += x1 * y1;
                        c[1][2][l] += x1 * y2;
                        c[1][3][l] += x1 * y3;
                        c[2][0][l] += x2 * y0;
                        c[2][1][l] += x2 * y1;
                        c[2][2][l] += x2 * y2;
                        c[2][3][l] += x2 * y3;
                        c[3][0][l] += x3 * y0;
                        c[3][1][l] += x3 * y1;
                        c[3][2][l] += x3 * y2;
                        c[3][3][l] += x3 * y3;
                    }
                for (int p = Lv; p < L; p++)
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++)
                            t[i][j] += A[g * sa + ao[i] + p] *
                                       (rb ? conv_relu(B[g * sb + bo[j] + p]) : B[g * sb + bo[j] + p]);
            }
            for (int i = 0; i < mr; i++)
                for (int j = 0; j < nr; j++) {
                    real r = t[i][j];
                    for (int l = 0; l < CONV_VL; l++)
                        r += c[i][j][l];
                    D[(i0 + i) * ldd + j0 + j] += r;
                }
        }
}

/* D (M x Nn, rows ldd apart) += sum_{g<G} sum_{p<L} A[g*sa + i*lda + p] *
 * B[g*sb + j*ldb + p]: the weight gradient's products of rows contiguous
 * along p. Short rows go through conv_gemm with B read transposed: each
 * product sum runs in real over at most CONV_WSUM products (the sets g
 * while they fit; L < CONV_NT_GEMM_MAX <= CONV_WSUM) into a stack tile,
 * which is then added to the real_acc D (M, Nn <= CONV_WB). Packing costs M + Nn
 * loads per product column against M*Nn/CONV_VL vector products, which pays
 * only for short rows of many channels (kernels_bench, one thread: C64 7x7
 * 28 -> 53 GFLOP/s, C576->144 8x8 29 -> 40, but C16 28x28 32 -> 12 and C72
 * 16x16 29 -> 16): rows of CONV_NT_GEMM_MAX or more use the lanes. */
/* Values of the relu(B) rows conv_gemm_nt_lanes_relu keeps on the stack. */
#define CONV_RELU_ROWS (4 * 4096)

/* The lanes over relu(B): every 4 rows of B go through the ReLU once, into
 * a stack buffer, and all rows of A run over them (a ReLU in the lanes'
 * inner loop would cost a max per four products, recomputed for every 4
 * rows of A); the same products in the same order. */
CONV_WIDE static void conv_gemm_nt_lanes_relu(int M, int Nn, int L, int G, const real *A,
                                              ptrdiff_t lda, ptrdiff_t sa, const real *B,
                                              ptrdiff_t ldb, ptrdiff_t sb, real_acc *D, ptrdiff_t ldd)
{
    if ((ptrdiff_t)4 * G * L > CONV_RELU_ROWS) {
        conv_gemm_nt_lanes_body(M, Nn, L, G, A, lda, sa, B, ldb, sb, D, ldd, 1);
        return;
    }
    real rows[CONV_RELU_ROWS];
    ptrdiff_t gl = (ptrdiff_t)G * L;
    for (int j0 = 0; j0 < Nn; j0 += 4) {
        int nr = conv_min(4, Nn - j0);
        for (int j = 0; j < nr; j++)
            for (int g = 0; g < G; g++) {
                const real *src = B + g * sb + (ptrdiff_t)(j0 + j) * ldb;
                real *dst = rows + j * gl + (ptrdiff_t)g * L;
                for (int p = 0; p < L; p++)
                    dst[p] = conv_relu(src[p]);
            }
        conv_gemm_nt_lanes_body(M, nr, L, G, A, lda, sa, rows, gl, L, D + j0, ldd, 0);
    }
}

/* The lanes, over relu(B) when rb != 0. */
CONV_WIDE static void conv_gemm_nt_lanes(int M, int Nn, int L, int G, const real *A,
                                         ptrdiff_t lda, ptrdiff_t sa, const real *B, ptrdiff_t ldb,
                                         ptrdiff_t sb, real_acc *D, ptrdiff_t ldd, int rb)
{
    if (rb)
        conv_gemm_nt_lanes_relu(M, Nn, L, G, A, lda, sa, B, ldb, sb, D, ldd);
    else
        conv_gemm_nt_lanes_body(M, Nn, L, G, A, lda, sa, B, ldb, sb, D, ldd, 0);
}

static void conv_gemm_nt_acc(int M, int Nn, int L, int G, const real *A, ptrdiff_t lda,
                             ptrdiff_t sa, const real *B, ptrdiff_t ldb, ptrdiff_t sb, real_acc *D,
                             ptrdiff_t ldd, int rb)
{
    if (L >= CONV_NT_GEMM_MAX) {
        conv_gemm_nt_lanes(M, Nn, L, G, A, lda, sa, B, ldb, sb, D, ldd, rb);
        return;
    }
    real t[CONV_WB * CONV_WB];
    for (int g = 0, held = 0; g < G; g++) {
        conv_gemm(M, Nn, L, A + g * sa, lda, 1, B + g * sb, 1, ldb, t, Nn, held > 0, rb, NULL);
        held += L;
        if (g + 1 == G || held + L > CONV_WSUM) {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < Nn; j++)
                    D[i * ldd + j] += t[i * Nn + j];
            held = 0;
        }
    }
}

/* ---- im2col ---- */

/* Shape and attributes of one conv call, passed to the helpers as one value. */
typedef struct {
    int Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g;
    int Ho, Wo, Cig, Cog;
    int K;      /* im2col rows per group: Cig*kh*kw */
    ptrdiff_t P; /* output pixels per plane: Ho*Wo */
    /* The FactorizedReduce kernels' (k_fr_fwd) strided 1x1 convs, read
     * through conv_im2col_1x1 only; Co, 0, 0, 0 for every other conv: */
    int Cy;     /* channels per sample of y and gy: the conv's are Co of them from channel 0 */
    int oy, ox; /* input offset: output (oh, ow) reads (oh*sh + oy, ow*sw + ox), 0 past the plane */
    int rb;     /* the input read through a ReLU */
} ConvShape;

/* Fills a ConvShape from the public arguments. */
static ConvShape conv_shape(int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw, int ph,
                            int pw, int dh, int dw, int g)
{
    ConvShape s = {Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, 0, 0, 0, 0, 0, 0, Co, 0, 0, 0};
    s.Ho = k_out_size(H, kh, sh, ph, dh);
    s.Wo = k_out_size(W, kw, sw, pw, dw);
    s.Cig = Ci / g;
    s.Cog = Co / g;
    s.K = s.Cig * kh * kw;
    s.P = (ptrdiff_t)s.Ho * s.Wo;
    return s;
}

/* conv_im2col of a strided 1x1 conv without padding (FactorizedReduce):
 * each output row segment is a strided copy, with the stride 2 a literal so
 * that it vectorizes; the input offset (oy, ox) and ReLU (rb) of the
 * ConvShape apply, the taps past the plane reading 0 (and taking
 * nothing back). */
static void conv_im2col_1x1(const ConvShape *s, int k0, int kc, ptrdiff_t j0, int jb, real *xg,
                            real *panel, ptrdiff_t ldp, int back)
{
    ptrdiff_t je = j0 + jb, HW = (ptrdiff_t)s->H * s->W;
    int wv = s->ox < s->W ? (s->W - s->ox + s->sw - 1) / s->sw : 0; /* columns in the plane */
    for (int r = 0; r < kc; r++) {
        real *xp = xg + (k0 + r) * HW, *dst = panel + r * ldp;
        int oh = (int)(j0 / s->Wo), owa = (int)(j0 % s->Wo);
        for (ptrdiff_t j = j0; j < je; oh++, owa = 0) {
            int n = (int)(je - j < s->Wo - owa ? je - j : s->Wo - owa);
            int ih = oh * s->sh + s->oy, nv = ih < s->H ? conv_min(n, wv - owa) : 0;
            real *restrict d = dst + (j - j0);
            real *restrict xr = nv > 0 ? xp + (ptrdiff_t)ih * s->W + (ptrdiff_t)owa * s->sw + s->ox : NULL;
            if (back && s->sw == 2)
                for (int i = 0; i < nv; i++)
                    xr[2 * i] += d[i];
            else if (back)
                for (int i = 0; i < nv; i++)
                    xr[i * s->sw] += d[i];
            else if (s->rb && s->sw == 2)
                for (int i = 0; i < nv; i++)
                    d[i] = conv_relu(xr[2 * i]);
            else if (s->rb)
                for (int i = 0; i < nv; i++)
                    d[i] = conv_relu(xr[i * s->sw]);
            else if (s->sw == 2)
                for (int i = 0; i < nv; i++)
                    d[i] = xr[2 * i];
            else
                for (int i = 0; i < nv; i++)
                    d[i] = xr[i * s->sw];
            for (int i = nv > 0 ? nv : 0; !back && i < n; i++)
                d[i] = 0;
            j += n;
        }
    }
}

/* Moves one im2col panel, rows k0..k0+kc-1 (k = (ic*kh + ki)*kw + kj) and
 * columns j0..j0+jb-1 (j = oh*Wo + ow), between the panel (rows ldp apart)
 * and the group's input planes xg (Cig, H, W). back == 0 gathers
 * (panel = taps, 0 in the padding); back != 0 scatters (xg += panel). */
static void conv_im2col(const ConvShape *s, int k0, int kc, ptrdiff_t j0, int jb, real *xg,
                        real *panel, ptrdiff_t ldp, int back)
{
    int khw = s->kh * s->kw;
    if (khw == 1 && s->ph == 0 && s->pw == 0) {
        conv_im2col_1x1(s, k0, kc, j0, jb, xg, panel, ldp, back);
        return;
    }
    for (int r = 0; r < kc; r++) {
        int k = k0 + r, ic = k / khw, ki = k % khw / s->kw, kj = k % s->kw;
        int offh = ki * s->dh - s->ph, offw = kj * s->dw - s->pw, ow0, ow1;
        k_valid_range(s->Wo, s->sw, offw, s->W, &ow0, &ow1);
        real *xp = xg + (ptrdiff_t)ic * s->H * s->W;
        real *dst = panel + r * ldp;
        ptrdiff_t j = j0, je = j0 + jb;
        while (j < je) {
            int oh = (int)(j / s->Wo), owa = (int)(j % s->Wo);
            int owb = (ptrdiff_t)(oh + 1) * s->Wo <= je ? s->Wo : (int)(je - (ptrdiff_t)oh * s->Wo);
            real *d = dst + (j - j0) - owa;
            int ih = oh * s->sh + offh;
            int lo = ow0 > owa ? ow0 : owa, hi = ow1 < owb ? ow1 : owb;
            if (ih < 0 || ih >= s->H || lo >= hi) {
                if (!back)
                    for (int ow = owa; ow < owb; ow++)
                        d[ow] = 0;
            } else {
                real *xr = xp + (ptrdiff_t)ih * s->W + offw;
                if (back) {
                    for (int ow = lo; ow < hi; ow++)
                        xr[ow * s->sw] += d[ow];
                } else {
                    for (int ow = owa; ow < lo; ow++)
                        d[ow] = 0;
                    for (int ow = lo; ow < hi; ow++)
                        d[ow] = xr[ow * s->sw];
                    for (int ow = hi; ow < owb; ow++)
                        d[ow] = 0;
                }
            }
            j += owb - owa;
        }
    }
}

/* ---- depthwise ----
 * Every depthwise direction is a few correlations run by the same engine
 * (conv_dw_eng): out[f] = sum_t wv[t] * in[off[t] + f], over a padded copy of
 * one plane on the stack read as one flat row, so that the loop runs over
 * the whole plane in chunks of CONV_VL columns that stay in registers over
 * all taps (the columns past each row are computed and dropped). For strides
 * (sh, sw) the copy holds sh*sw phase planes: padded row k, column k2 goes to
 * phase (k % sh, k2 % sw) at (k / sh, k2 / sw), so every tap reads
 * contiguous values at any stride. The copy is built row by row, its zero
 * borders written once per thread, a fused prologue applied to the values
 * copied.
 * - forward: in = x padded, one tap per window position;
 * - data gradient: for each (row residue, column phase) of gx modulo the
 *   stride, the correlation of padded gy with the taps that reach it (at
 *   stride 1 the whole flipped window), then interleaved into gx;
 * - weight gradient: per channel and sample, each tap the dot product of gy
 *   with shifted x, in float lanes over the plane, then in real_acc over the
 *   batch (conv_dw_wdot). */

/* Largest padded plane (values) the depthwise path keeps on the stack. */
#define CONV_DW_PAD (96 * 96)
/* Largest stride the depthwise path splits into phases. */
#define CONV_DW_PH 4

/* A fused prologue on one plane (k_conv2d_fwd_pre): x_eff = relu((x - m)*s + b),
 * or relu(x) when !scaled. */
typedef struct {
    int scaled;
    real m, s, b;
} ConvPre;

/* The prologue of channel c, or NULL when there is none (on == 0). */
static const ConvPre *conv_pre_at(ConvPre *buf, int on, const real *pm, const real *ps,
                                  const real *pb, int c)
{
    if (!on)
        return NULL;
    buf->scaled = ps != NULL;
    buf->m = ps ? pm[c] : 0;
    buf->s = ps ? ps[c] : 1;
    buf->b = ps ? pb[c] : 0;
    return buf;
}

/* dst[j] = src[j] for j < n: with AVX-512, 16 values per masked load and
 * store (a row of 7 or 14 is one of each); otherwise copies of fixed sizes
 * (the last 16 overlap the previous ones), which compilers expand inline:
 * rows here are short, and a library call per row costs more than the
 * copy. */
static inline void conv_copy(real *restrict dst, const real *restrict src, int n)
{
#ifdef K_AVX512
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = k_mask16(n - j);
        _mm512_mask_storeu_ps(dst + j, k, _mm512_maskz_loadu_ps(k, src + j));
    }
#else
    int j = 0;
    for (; j + 16 <= n; j += 16)
        memcpy(dst + j, src + j, 16 * sizeof(real));
    if (j < n && n >= 16) {
        memcpy(dst + n - 16, src + n - 16, 16 * sizeof(real));
        return;
    }
    if (n - j >= 8) {
        memcpy(dst + j, src + j, 8 * sizeof(real));
        j += 8;
    }
    if (n - j >= 4) {
        memcpy(dst + j, src + j, 4 * sizeof(real));
        j += 4;
    }
    if (n - j >= 2) {
        memcpy(dst + j, src + j, 2 * sizeof(real));
        j += 2;
    }
    if (n - j >= 1)
        dst[j] = src[j];
#endif
}

/* dst[j] = x_eff of src[j] for j < n with the prologue's arithmetic
 * (k_pre_val): relu((x - m)*sc + b), or relu(x) when !scaled; with
 * AVX-512 16 values per masked load and store, as in conv_copy. */
static inline void conv_pre_row(real *restrict dst, const real *restrict src, int n, int scaled,
                                real m, real sc, real b)
{
#ifdef K_AVX512
    /* max(t, 0) returns its second operand, 0, for a NaN t, like t > 0 ? t : 0 */
    __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(sc), vb = _mm512_set1_ps(b);
    for (int j = 0; j < n; j += 16) {
        __mmask16 k = k_mask16(n - j);
        __m512 v = _mm512_maskz_loadu_ps(k, src + j);
        if (scaled)
            v = _mm512_fmadd_ps(_mm512_sub_ps(v, vm), vs, vb);
        _mm512_mask_storeu_ps(dst + j, k, _mm512_max_ps(v, _mm512_setzero_ps()));
    }
#else
    for (int j = 0; j < n; j++) {
        real t = scaled ? (src[j] - m) * sc + b : src[j];
        dst[j] = t > 0 ? t : (real)0;
    }
#endif
}

/* The two column phases of one row at stride 2: de[i] = x_eff of sp[2i]
 * for i < (n + 1)/2, dd[i] = x_eff of sp[2i + 1] for i < n/2, x_eff the
 * prologue (pre: relu, scaled: of (x - m)*sc + b) or the value itself. */
static inline void conv_split2(real *restrict de, real *restrict dd, const real *restrict sp, int n,
                               int pre, int scaled, real m, real sc, real b)
{
#ifdef K_AVX512
    const __m512i ie = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i io = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    __m512 vm = _mm512_set1_ps(m), vs = _mm512_set1_ps(sc), vb = _mm512_set1_ps(b);
    int ne = (n + 1) / 2, no = n / 2;
    for (int i = 0; i < ne; i += 16) {
        int r = n - 2 * i; /* source values left, > 0 */
        __m512 lo = _mm512_maskz_loadu_ps(k_mask16(r), sp + 2 * i);
        __m512 hi = _mm512_maskz_loadu_ps(k_mask16(r - 16), sp + 2 * i + 16);
        __m512 e = _mm512_permutex2var_ps(lo, ie, hi), o = _mm512_permutex2var_ps(lo, io, hi);
        if (scaled) {
            e = _mm512_fmadd_ps(_mm512_sub_ps(e, vm), vs, vb);
            o = _mm512_fmadd_ps(_mm512_sub_ps(o, vm), vs, vb);
        }
        if (pre) {
            e = _mm512_max_ps(e, _mm512_setzero_ps());
            o = _mm512_max_ps(o, _mm512_setzero_ps());
        }
        _mm512_mask_storeu_ps(de + i, k_mask16(ne - i), e);
        _mm512_mask_storeu_ps(dd + i, k_mask16(no - i), o);
    }
#else
    int np = n / 2, odd = n % 2;
    if (scaled) {
        for (int i = 0; i < np + odd; i++) {
            real t = (sp[2 * i] - m) * sc + b;
            de[i] = t > 0 ? t : (real)0;
        }
        for (int i = 0; i < np; i++) {
            real t = (sp[2 * i + 1] - m) * sc + b;
            dd[i] = t > 0 ? t : (real)0;
        }
    } else if (pre) {
        for (int i = 0; i < np; i++) {
            de[i] = sp[2 * i] > 0 ? sp[2 * i] : (real)0;
            dd[i] = sp[2 * i + 1] > 0 ? sp[2 * i + 1] : (real)0;
        }
        if (odd)
            de[np] = sp[2 * np] > 0 ? sp[2 * np] : (real)0;
    } else {
        for (int i = 0; i < np; i++) {
            de[i] = sp[2 * i];
            dd[i] = sp[2 * i + 1];
        }
        if (odd)
            de[np] = sp[2 * np];
    }
#endif
}

/* Layout of a padded plane in phases: sh*sw phase planes of R rows of L
 * values; padded row k, column k2 at ((k % sh)*sw + k2 % sw)*R*L +
 * (k / sh)*L + k2 / sw. */
typedef struct {
    int sh, sw, R, L;
} ConvPh;

/* rows rows of n values: dp[r*dst + j] = x_eff of sp[r*sst + j*S], S the
 * literal 1 (plain copies inline) or 0 for the variable s; the prologue
 * branch is taken once per block of rows. */
#define CONV_DW_ROWS(S)                                                                            \
    do {                                                                                           \
        int st = (S) ? (S) : s;                                                                    \
        if (pre && (S) == 1) {                                                                     \
            for (int r = 0; r < rows; r++, sp += sst, dp += dst)                                   \
                conv_pre_row(dp, sp, n, pre->scaled, pre->m, pre->s, pre->b);                      \
        } else if (pre && pre->scaled) {                                                           \
            real m = pre->m, sc = pre->s, b = pre->b;                                              \
            for (int r = 0; r < rows; r++, sp += sst, dp += dst)                                   \
                for (int j = 0; j < n; j++) {                                                      \
                    real t = (sp[j * st] - m) * sc + b;                                            \
                    dp[j] = t > 0 ? t : (real)0;                                                   \
                }                                                                                  \
        } else if (pre) {                                                                          \
            for (int r = 0; r < rows; r++, sp += sst, dp += dst)                                   \
                for (int j = 0; j < n; j++)                                                        \
                    dp[j] = sp[j * st] > 0 ? sp[j * st] : (real)0;                                 \
        } else if ((S) == 1) {                                                                     \
            for (int r = 0; r < rows; r++, sp += sst, dp += dst)                                   \
                conv_copy(dp, sp, n);                                                              \
        } else {                                                                                   \
            for (int r = 0; r < rows; r++, sp += sst, dp += dst)                                   \
                for (int j = 0; j < n; j++)                                                        \
                    dp[j] = sp[j * st];                                                            \
        }                                                                                          \
    } while (0)

/* Copies plane src (Hi, Wi) into a padded buffer of layout p: padded row k
 * (k < sh*R), column k2 holds x_eff of src[k - pt][k2 - pl] where that lies
 * in the plane. Nothing else is written: the buffer's zero borders are
 * written once per thread and stay zero, since every plane fills the same
 * places. A prologue (pre != NULL) transforms the values with the
 * arithmetic of k_pre_val. Runs one block of rows per (row phase, column
 * phase). */
CONV_WIDE static void conv_dw_fill(const real *src, int Hi, int Wi, int pt, int pl, ConvPh p,
                                   const ConvPre *pre, real *buf)
{
    int k0 = pt > 0 ? pt : 0, k1 = conv_min(p.sh * p.R, pt + Hi), s = p.sw;
    ptrdiff_t RL = (ptrdiff_t)p.R * p.L, sst = (ptrdiff_t)p.sh * Wi, dst = p.L;
    if (s == 2 && pl >= 0) {
        /* both column phases of a row in one pass over its pairs */
        int cmax = conv_min(Wi, 2 * p.L - pl);
        int scaled = pre && pre->scaled;
        real m = scaled ? pre->m : 0, sc = scaled ? pre->s : 1, b = scaled ? pre->b : 0;
        for (int k = k0, kr = k0 % p.sh, kq = k0 / p.sh; k < k1; k++) {
            const real *restrict sp = src + (ptrdiff_t)(k - pt) * Wi;
            real *d0 = buf + (ptrdiff_t)kr * 2 * RL + (ptrdiff_t)kq * p.L;
            real *restrict de = d0 + (pl % 2) * RL + pl / 2;
            real *restrict dd = d0 + ((pl + 1) % 2) * RL + (pl + 1) / 2;
            if (++kr == p.sh)
                kr = 0, kq++;
            conv_split2(de, dd, sp, cmax, pre != NULL, scaled, m, sc, b);
        }
        return;
    }
    for (int q = 0; q < s; q++) {
        int j0, j1;
        k_valid_range(p.L, s, q - pl, Wi, &j0, &j1);
        int n = j1 - j0;
        for (int kr = 0; kr < p.sh && n > 0; kr++) {
            /* padded rows k = kq*sh + kr in [k0, k1) */
            int kq = (k0 - kr + p.sh - 1) / p.sh, ks = kq * p.sh + kr;
            int rows = ks < k1 ? (k1 - ks + p.sh - 1) / p.sh : 0;
            const real *restrict sp = src + (ptrdiff_t)(ks - pt) * Wi + (j0 * s + q - pl);
            real *restrict dp = buf + ((ptrdiff_t)kr * s + q) * RL + (ptrdiff_t)kq * p.L + j0;
            if (rows <= 0)
                continue;
            if (s == 1)
                CONV_DW_ROWS(1);
            else
                CONV_DW_ROWS(0);
        }
    }
}

/* conv_dw_fill without a prologue, for the pools (see cpu_kernels.h). */
K_FN void k_plane_phases(const real *src, int Hi, int Wi, int pt, int pl, int sh, int sw, int R, int L,
                         real *buf)
{
    ConvPh p = {sh, sw, R, L};
    conv_dw_fill(src, Hi, Wi, pt, pl, p, NULL, buf);
}

/* The correlation engine: out[f] = sum_{t<nt} wv[t] * in[off[t] + f] for
 * f < n; in must be readable up to max(n, CONV_VL) + off[t]. One loop over
 * whole chunks of CONV_VL, vectorized along f with the taps inside; the
 * values past the last whole chunk are the last CONV_VL values again (same
 * values written twice), or, when n is less than a chunk, a chunk computed
 * into a stack copy. The taps go round four partial sums, so that four FMA
 * chains overlap. NT != 0 makes the tap count a literal and UNR unrolls the
 * tap loop. */
#define CONV_DW_ENG(NAME, NT, UNR)                                                                 \
    CONV_WIDE static void NAME(int nt, int n, const real *restrict in, const ptrdiff_t *off,       \
                               const real *wv, real *restrict out)                                 \
    {                                                                                              \
        enum { CAP = (NT) ? (NT) : CONV_DW_TAPS };                                                 \
        int m = (NT) ? (NT) : nt, nv = n / CONV_VL * CONV_VL;                                      \
        real w[CAP], tmp[CONV_VL];                                                                 \
        for (int t = 0; t < m; t++)                                                                \
            w[t] = wv[t];                                                                          \
        for (int part = 0; part < 2; part++) {                                                     \
            int j0 = part ? (n < CONV_VL ? 0 : n - CONV_VL) : 0;                                   \
            int j1 = part ? j0 + CONV_VL : nv;                                                     \
            real *restrict d = part && n < CONV_VL ? tmp : out;                                    \
            if (part && nv == n)                                                                   \
                break;                                                                             \
            for (int j = j0; j < j1; j++) {                                                        \
                real s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                               \
                int t = 0;                                                                         \
                UNR                                                                                \
                for (; t + 4 <= m; t += 4) {                                                       \
                    s0 += w[t] * in[off[t] + j];                                                   \
                    s1 += w[t + 1] * in[off[t + 1] + j];                                           \
                    s2 += w[t + 2] * in[off[t + 2] + j];                                           \
                    s3 += w[t + 3] * in[off[t + 3] + j];                                           \
                }                                                                                  \
                UNR                                                                                \
                for (; t < m; t++)                                                                 \
                    s0 += w[t] * in[off[t] + j];                                                   \
                d[j] = (s0 + s1) + (s2 + s3);                                                      \
            }                                                                                      \
        }                                                                                          \
        if (n < CONV_VL)                                                                           \
            for (int j = 0; j < n; j++)                                                            \
                out[j] = tmp[j];                                                                   \
    }

CONV_DW_ENG(conv_dw_eng_n, 0, )
CONV_DW_ENG(conv_dw_eng_1, 1, CONV_UNROLL)
CONV_DW_ENG(conv_dw_eng_2, 2, CONV_UNROLL)
CONV_DW_ENG(conv_dw_eng_4, 4, CONV_UNROLL)
CONV_DW_ENG(conv_dw_eng_6, 6, CONV_UNROLL)
CONV_DW_ENG(conv_dw_eng_9, 9, CONV_UNROLL)
CONV_DW_ENG(conv_dw_eng_25, 25, CONV_UNROLL)

/* The correlation engine for a K x K window on a grid (AVX-512 builds):
 * tap t = a*K + b at a*D + b*DIL. The same sums in the same order as
 * CONV_DW_ENG's, but written with AVX-512 intrinsics over K row pointers
 * and constant column displacements: the auto-vectorized loop gives every
 * tap its own pointer, and for a 5x5 window the 25 pointers do not fit the
 * registers beside the weights, so that reloading them from the stack
 * doubled the loads. Over rows of n outputs (in L apart, out ldo apart;
 * rows 1: one flat run), added to out when acc. */
#ifdef K_AVX512
/* the input vector of tap t for the outputs from j0 */
#define CONV_GLD(t, K, DIL) _mm512_loadu_ps(r[(t) / (K)] + (t) % (K) * (DIL) + j0)
#define CONV_DW_GRID(NAME, K, DIL)                                                                 \
    CONV_WIDE static void NAME(int rows, int n, ptrdiff_t L, const real *restrict in, ptrdiff_t D, \
                               const real *wv, real *restrict out, ptrdiff_t ldo, int acc)         \
    {                                                                                              \
        enum { NT = (K) * (K) };                                                                   \
        __m512 w[NT];                                                                              \
        const real *r[K];                                                                          \
        CONV_UNROLL                                                                                \
        for (int t = 0; t < NT; t++)                                                               \
            w[t] = _mm512_set1_ps(wv[t]);                                                          \
        for (int i = 0; i < rows; i++, in += L, out += ldo)                                        \
        for (int j = 0; j < n; j += 16) {                                                          \
            CONV_UNROLL                                                                            \
            for (int a = 0; a < (K); a++)                                                          \
                r[a] = in + a * D;                                                                 \
            /* last chunk: the last 16 again, or (acc) masked */                                   \
            int j0 = acc || n < 16 || j + 16 <= n ? j : n - 16;                                    \
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;                            \
            int t = 0;                                                                             \
            CONV_UNROLL                                                                            \
            for (; t + 4 <= NT; t += 4) {                                                          \
                s0 = _mm512_fmadd_ps(w[t], CONV_GLD(t, K, DIL), s0);                               \
                s1 = _mm512_fmadd_ps(w[t + 1], CONV_GLD(t + 1, K, DIL), s1);                       \
                s2 = _mm512_fmadd_ps(w[t + 2], CONV_GLD(t + 2, K, DIL), s2);                       \
                s3 = _mm512_fmadd_ps(w[t + 3], CONV_GLD(t + 3, K, DIL), s3);                       \
            }                                                                                      \
            CONV_UNROLL                                                                            \
            for (; t < NT; t++)                                                                    \
                s0 = _mm512_fmadd_ps(w[t], CONV_GLD(t, K, DIL), s0);                               \
            __m512 y = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));                \
            if (acc)                                                                               \
                y = _mm512_add_ps(_mm512_maskz_loadu_ps(k_mask16(n - j0), out + j0), y);           \
            _mm512_mask_storeu_ps(out + j0, k_mask16(n - j0), y);                                  \
        }                                                                                          \
    }
CONV_DW_GRID(conv_dw_grid_5, 5, 1)
CONV_DW_GRID(conv_dw_grid_5d2, 5, 2)

/* The 5x5 grid correlation over rows (conv_dw_rows; the grid engine's
 * arguments with D = dil*L, columns dil apart) streaming down the input:
 * for each column chunk, input row r's five column shifts are loaded once
 * and multiplied into the five output rows that read it (r - a*dil for
 * window row a), whose partial sums stay in registers (5 rows x 4) until
 * the row's last window row has passed; the rows of each residue mod dil
 * in turn. Each weight comes from memory as the product's broadcast
 * operand: written as intrinsics, GCC hoisted the 25 weights into
 * registers beside the 20 partial sums and spilled (slower than the grid
 * engine), hence the asm. The same sums in the same order as the grid
 * engine (tap t into partial sum t % 4, the taps in order), written to
 * the same chunks: 1.2-1.5x faster on a warm 28x28 or 14x14 plane, since
 * each input vector serves five products instead of one. */
#define CONV_VS_FMA(S, X, W)                                                                       \
    __asm__("vfmadd231ps %[w]%{1to16%}, %[x], %[s]" : [s] "+v"(S) : [x] "v"(X), [w] "m"(W))
#define CONV_VS_STEP(RR)                                                                           \
    do {                                                                                           \
        int r_ = r + (RR);                                                                         \
        if (r_ >= steps)                                                                           \
            break;                                                                                 \
        const real *row = base + (ptrdiff_t)r_ * DL;                                               \
        CONV_UNROLL                                                                                \
        for (int c = 0; c < 5; c++) {                                                              \
            __m512 v = _mm512_loadu_ps(row + c * dil);                                             \
            CONV_UNROLL                                                                            \
            for (int a = 0; a < 5; a++)                                                            \
                if (r_ >= a)                                                                       \
                    CONV_VS_FMA(S[((RR) - a + 5) % 5][(a * 5 + c) % 4], v, wv[a * 5 + c]);         \
        }                                                                                          \
        if (r_ >= 4) {                                                                             \
            /* output row r_ - 4 is complete: its sum, then its slot starts row r_ + 1 */          \
            __m512 *q = S[((RR) + 1) % 5];                                                         \
            __m512 y = _mm512_add_ps(_mm512_add_ps(q[0], q[1]), _mm512_add_ps(q[2], q[3]));        \
            real *o = ob + (ptrdiff_t)(r_ - 4) * dil * ldo;                                        \
            if (acc)                                                                               \
                y = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, o), y);                                \
            _mm512_mask_storeu_ps(o, mk, y);                                                       \
            q[0] = q[1] = q[2] = q[3] = _mm512_setzero_ps();                                       \
        }                                                                                          \
    } while (0)
CONV_WIDE static void conv_dw_vs_5(int rows, int n, ptrdiff_t L, const real *restrict in, int dil,
                                   const real *wv, real *restrict out, ptrdiff_t ldo, int acc)
{
    ptrdiff_t DL = (ptrdiff_t)dil * L;
    for (int p = 0; p < dil && p < rows; p++) {
        int steps = (rows - p + dil - 1) / dil + 4; /* input rows: the outputs' and 4 more */
        for (int j = 0; j < n; j += 16) {
            /* last chunk: the last 16 again, or (acc) masked, as the grid engine's */
            int j0 = acc || n < 16 || j + 16 <= n ? j : n - 16;
            __mmask16 mk = k_mask16(n - j0);
            const real *base = in + (ptrdiff_t)p * L + j0;
            real *ob = out + (ptrdiff_t)p * ldo + j0;
            __m512 S[5][4];
            CONV_UNROLL
            for (int k = 0; k < 5; k++)
                S[k][0] = S[k][1] = S[k][2] = S[k][3] = _mm512_setzero_ps();
            for (int r = 0; r < steps; r += 5) {
                CONV_VS_STEP(0);
                CONV_VS_STEP(1);
                CONV_VS_STEP(2);
                CONV_VS_STEP(3);
                CONV_VS_STEP(4);
            }
        }
    }
}
#undef CONV_VS_STEP
#undef CONV_VS_FMA

/* The correlation at stride 1 for a K x K window with dilation dil, two
 * output rows at a time (AVX-512 builds; used for 3x3): rows i and i + dil
 * read K + 1 input rows between them, each loaded once per column shift
 * and multiplied into both, so the loads per product nearly halve. Output
 * row i (n values, ldo apart in out; added to out when acc != 0) reads
 * input rows i + r*dil (L apart in in), columns c*dil on, for r, c < K.
 * Forward (REV 0): input (r, c) is tap r*K + c. Data gradient (REV 1, in
 * the padded gy): the window flipped, input (r, c) is tap (K-1-r)*K +
 * (K-1-c), and the inputs go in reverse so that the taps still come in
 * order. Either way the same sums in the same order as CONV_DW_ENG's (tap
 * t into partial sum t % 4), written straight into the output rows. */
#define CONV_DW_BAND(NAME, K, REV)                                                                 \
    CONV_WIDE static void NAME(int rows, int n, int dil, const real *restrict in, ptrdiff_t L,     \
                               const real *wv, real *restrict out, ptrdiff_t ldo, int acc)         \
    {                                                                                              \
        enum { NT = (K) * (K) };                                                                   \
        __m512 w[NT];                                                                              \
        CONV_UNROLL                                                                                \
        for (int t = 0; t < NT; t++)                                                               \
            w[t] = _mm512_set1_ps(wv[t]);                                                          \
        for (int i0 = 0; i0 < rows; i0 += 2 * dil)                                                 \
            for (int i = i0; i < i0 + dil && i < rows; i++) {                                      \
                int two = i + dil < rows;                                                          \
                for (int j0 = 0; j0 < n; j0 += 16) {                                               \
                    __m512 a[4], b[4];                                                             \
                    CONV_UNROLL                                                                    \
                    for (int q = 0; q < 4; q++)                                                    \
                        a[q] = b[q] = _mm512_setzero_ps();                                         \
                    CONV_UNROLL                                                                    \
                    for (int rr = 0; rr <= (K); rr++) {                                            \
                        int r = (REV) ? (K) - rr : rr;                                             \
                        if (r == (K) && !two)                                                      \
                            continue;                                                              \
                        const real *row = in + (ptrdiff_t)(i + r * dil) * L + j0;                  \
                        CONV_UNROLL                                                                \
                        for (int cc = 0; cc < (K); cc++) {                                         \
                            int c = (REV) ? (K)-1 - cc : cc;                                       \
                            int ta = (REV) ? ((K)-1 - r) * (K) + (K)-1 - c : r * (K) + c;          \
                            int tb = (REV) ? ((K) - r) * (K) + (K)-1 - c : (r - 1) * (K) + c;      \
                            __m512 v = _mm512_loadu_ps(row + c * dil);                             \
                            if (r < (K))                                                           \
                                a[ta % 4] = _mm512_fmadd_ps(w[ta], v, a[ta % 4]);                  \
                            if (r > 0 && two)                                                      \
                                b[tb % 4] = _mm512_fmadd_ps(w[tb], v, b[tb % 4]);                  \
                        }                                                                          \
                    }                                                                              \
                    __mmask16 m = k_mask16(n - j0);                                                \
                    __m512 ya = _mm512_add_ps(_mm512_add_ps(a[0], a[1]), _mm512_add_ps(a[2], a[3])); \
                    __m512 yb = _mm512_add_ps(_mm512_add_ps(b[0], b[1]), _mm512_add_ps(b[2], b[3])); \
                    real *oa = out + (ptrdiff_t)i * ldo + j0, *ob = oa + (ptrdiff_t)dil * ldo;     \
                    if (acc) {                                                                     \
                        ya = _mm512_add_ps(_mm512_maskz_loadu_ps(m, oa), ya);                      \
                        if (two)                                                                   \
                            yb = _mm512_add_ps(_mm512_maskz_loadu_ps(m, ob), yb);                  \
                    }                                                                              \
                    _mm512_mask_storeu_ps(oa, m, ya);                                              \
                    if (two)                                                                       \
                        _mm512_mask_storeu_ps(ob, m, yb);                                          \
                }                                                                                  \
            }                                                                                      \
    }
CONV_DW_BAND(conv_dw_band_3, 3, 0)
CONV_DW_BAND(conv_dw_band_3r, 3, 1)
#endif

/* A tap list that is a 5x5 window on a grid: tap a*5 + b at base + a*D +
 * b*dil. Only 5x5 windows (dil 1 or 2) take a grid engine: the 9 pointers
 * of a 3x3 window fit the registers, and there the list engine was about
 * 5% faster (kernels_bench). */
typedef struct {
    int dil;
    ptrdiff_t base, D;
} ConvGrid;

/* Fills g when the nt taps at off (counted from the end when rev) form a
 * k x k grid with column step dil that a grid engine serves (AVX-512
 * builds); else returns 0. */
static int conv_dw_grid(int nt, const ptrdiff_t *off, int k, int dil, int rev, ConvGrid *g)
{
#ifdef K_AVX512
    if (nt != k * k || k != 5 || (dil != 1 && dil != 2))
        return 0;
#define CONV_GOFF(t) off[rev ? nt - 1 - (t) : (t)]
    ptrdiff_t base = CONV_GOFF(0), D = CONV_GOFF(k) - base;
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++)
            if (CONV_GOFF(a * k + b) != base + a * D + b * dil)
                return 0;
#undef CONV_GOFF
    *g = (ConvGrid){dil, base, D};
    return 1;
#else
    (void)nt, (void)off, (void)k, (void)dil, (void)rev, (void)g;
    return 0;
#endif
}

/* conv_dw_eng with the unrolled variant for nt taps, if there is one, or
 * the grid engine for g (not NULL: wv in the grid's order, reversed by
 * the caller when the list was). */
static void conv_dw_eng(int nt, int n, const real *in, const ptrdiff_t *off, const real *wv,
                        real *out, const ConvGrid *g)
{
#ifdef K_AVX512
    if (g) {
        const real *b = in + g->base;
        (g->dil == 1 ? conv_dw_grid_5 : conv_dw_grid_5d2)(1, n, 0, b, g->D, wv, out, 0, 0);
        return;
    }
#else
    (void)g;
#endif
    switch (nt) {
    case 0:
        for (int j = 0; j < n; j++)
            out[j] = 0;
        break;
    case 1: conv_dw_eng_1(nt, n, in, off, wv, out); break;
    case 2: conv_dw_eng_2(nt, n, in, off, wv, out); break;
    case 4: conv_dw_eng_4(nt, n, in, off, wv, out); break;
    case 6: conv_dw_eng_6(nt, n, in, off, wv, out); break;
    case 9: conv_dw_eng_9(nt, n, in, off, wv, out); break;
    case 25: conv_dw_eng_25(nt, n, in, off, wv, out); break;
    default: conv_dw_eng_n(nt, n, in, off, wv, out); break;
    }
}

/* Tap dot products of the weight gradient over one flat plane:
 * sum[t] = sum_{f<n} g[f] * x[off[t] + f], n a multiple of CONV_VL, in
 * CONV_VL float lanes per tap (one gy load serving every tap), the lanes
 * added in order at the end. */
#define CONV_DW_WDOT(NAME, NT, UNR)                                                                \
    CONV_WIDE static void NAME(int nt, int n, const real *restrict g, const real *restrict x,      \
                               const ptrdiff_t *off, real *sum)                                    \
    {                                                                                              \
        enum { CAP = (NT) ? (NT) : CONV_DW_TAPS };                                                 \
        int m = (NT) ? (NT) : nt;                                                                  \
        real acc[CAP][CONV_VL];                                                                    \
        for (int t = 0; t < m; t++)                                                                \
            for (int l = 0; l < CONV_VL; l++)                                                      \
                acc[t][l] = 0;                                                                     \
        for (int c = 0; c < n; c += CONV_VL)                                                       \
            for (int l = 0; l < CONV_VL; l++) {                                                    \
                real gv = g[c + l];                                                                \
                UNR                                                                                \
                for (int t = 0; t < m; t++)                                                        \
                    acc[t][l] += gv * x[off[t] + c + l];                                           \
            }                                                                                      \
        for (int t = 0; t < m; t++) {                                                              \
            real r = 0;                                                                            \
            for (int l = 0; l < CONV_VL; l++)                                                      \
                r += acc[t][l];                                                                    \
            sum[t] = r;                                                                            \
        }                                                                                          \
    }

CONV_DW_WDOT(conv_dw_wdot_n, 0, )
CONV_DW_WDOT(conv_dw_wdot_9, 9, CONV_UNROLL)
CONV_DW_WDOT(conv_dw_wdot_25, 25, CONV_UNROLL)

/* Geometry of the padded planes of one depthwise conv. */
typedef struct {
    ConvPh px;    /* padded x (forward, weight gradient): phases of (sh, sw) */
    ConvPh pg;    /* padded gy (data gradient): one phase, plt rows above, plg columns left */
    int plt, plg;
    int hk, wq;   /* gx rows per row residue, columns per column phase */
    ptrdiff_t zx; /* values of the x buffer to zero (with slack for the last chunk) */
    ptrdiff_t zy; /* values of the gy copy of the weight gradient (L apart, slack) */
    ptrdiff_t zg; /* values of the gy buffer of the data gradient */
} ConvDw;

/* Fills the geometry of s; 0 when a buffer would exceed the stack bounds. */
static int conv_dw_geom(const ConvShape *s, ConvDw *d)
{
    int slack = CONV_VL + (s->kw - 1) * s->dw + 1;
    ConvPh px = {s->sh, s->sw, s->Ho + (s->kh - 1) * s->dh / s->sh,
                 s->Wo + (s->kw - 1) * s->dw / s->sw};
    d->px = px;
    d->plt = ((s->kh - 1) * s->dh + s->sh - 1) / s->sh;
    d->plg = ((s->kw - 1) * s->dw + s->sw - 1) / s->sw;
    d->hk = (s->H + s->sh - 1) / s->sh;
    d->wq = (s->W + s->sw - 1) / s->sw;
    int reach = d->wq + (s->sw - 1 + s->pw) / s->sw; /* gy columns a gx phase row reads */
    ConvPh pg = {1, 1, d->plt + (s->H - 1 + s->ph) / s->sh + 1,
                 (reach > s->Wo ? reach : s->Wo) + d->plg};
    /* at stride 1, rows as long as the padded x's (plg + Wo): the columns
     * read past a row's end are the next row's left zeros, and the gy
     * rows then lie px.L apart as the weight gradient reads them
     * (conv_dw_gy_laid) */
    if (s->sh == 1 && s->sw == 1)
        pg.L = px.L;
    d->pg = pg;
    d->zx = (ptrdiff_t)s->sh * s->sw * px.R * px.L + slack;
    d->zy = (ptrdiff_t)s->Ho * px.L + CONV_VL;
    d->zg = (ptrdiff_t)pg.R * pg.L + slack;
    return s->kh * s->kw <= CONV_DW_TAPS && s->sh <= CONV_DW_PH && s->sw <= CONV_DW_PH &&
           d->zx <= CONV_DW_PAD && d->zy <= CONV_DW_PAD && d->zg <= CONV_DW_PAD &&
           (ptrdiff_t)s->sw * d->hk * pg.L <= CONV_DW_PAD;
}

/* Offsets of the taps of a window into the padded x phases (forward and
 * weight gradient): tap (a, b) reads padded row a*dh, column b*dw from the
 * output's. */
static void conv_dw_x_offsets(const ConvShape *s, const ConvDw *d, ptrdiff_t *off)
{
    ptrdiff_t RL = (ptrdiff_t)d->px.R * d->px.L;
    for (int a = 0; a < s->kh; a++)
        for (int b = 0; b < s->kw; b++) {
            int r = a * s->dh, c = b * s->dw;
            off[a * s->kw + b] = ((ptrdiff_t)(r % s->sh) * s->sw + c % s->sw) * RL +
                                 (ptrdiff_t)(r / s->sh) * d->px.L + c / s->sw;
        }
}

/* Depthwise conv s at stride 1 row by row, the rows written in place:
 * rows rows of n outputs (ldo n apart in out; added when acc) from input
 * rows L apart in in, weights w in the engines' order, by the 3x3 band
 * (rev: the data gradient's flipped window, see CONV_DW_BAND) or the 5x5
 * grid over rows; 0 (nothing done) unless the window is 3x3 or 5x5 with
 * dilation 1 or 2 and the rows hold at least 12 values (narrower ones
 * fill few of the 16 lanes, and the flat engines pack them). For 5x5 the
 * band's 25 weights and 8 partial sums overflow the 32 vector registers
 * (it ran 10-20% slower than the grid engine); the grid engine over rows
 * ran 8-20% faster than over the flat plane (kernels_bench, 28x28 to
 * 14x14). */
static int conv_dw_rows(const ConvShape *s, int rev, int rows, int n, const real *in, int L, const real *w,
                        real *out, int acc)
{
#ifdef K_AVX512
    if (s->sh != 1 || s->sw != 1 || s->kh != s->kw || (s->kh != 3 && s->kh != 5) || s->dh != s->dw ||
        s->dh > 2 || n < 12)
        return 0;
    if (s->kh == 5)
        conv_dw_vs_5(rows, n, L, in, s->dh, w, out, n, acc);
    else
        (rev ? conv_dw_band_3r : conv_dw_band_3)(rows, n, s->dh, in, L, w, out, n, acc);
    return 1;
#else
    (void)s, (void)rev, (void)rows, (void)n, (void)in, (void)L, (void)w, (void)out, (void)acc;
    return 0;
#endif
}

/* Depthwise forward over all N*C planes; pre != 0 applies the prologue
 * (pm, ps, pb) to the input. Output row i is the flat row's values
 * i*L .. i*L + Wo - 1. */
CONV_WIDE static void conv_dw_fwd(int N, const ConvShape *s, const ConvDw *d, const real *x,
                                  const real *w, real *y, int pre, const real *pm, const real *ps,
                                  const real *pb)
{
    ptrdiff_t planes = (ptrdiff_t)N * s->Co, off[CONV_DW_TAPS];
    int taps = s->kh * s->kw, L = d->px.L, n = (s->Ho - 1) * L + s->Wo;
    conv_dw_x_offsets(s, d, off);
    ConvGrid grid;
    int square = s->kh == s->kw && s->dh == s->dw;
    const ConvGrid *gr = square && conv_dw_grid(taps, off, s->kh, s->dw, 0, &grid) ? &grid : NULL;
    K_OMP(parallel if(k_par((double)planes * s->P * taps)))
    {
        real buf[CONV_DW_PAD], ob[CONV_DW_PAD];
        memset(buf, 0, sizeof(real) * (size_t)d->zx);
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < planes; nc++) {
            ConvPre pv;
            int c = (int)(nc % s->Co);
            real *yp = y + nc * s->P;
            if (nc + 1 < planes)
                k_prefetch(x + (nc + 1) * s->H * s->W, (ptrdiff_t)s->H * s->W);
            conv_dw_fill(x + nc * s->H * s->W, s->H, s->W, s->ph, s->pw, d->px,
                         conv_pre_at(&pv, pre, pm, ps, pb, c), buf);
            if (conv_dw_rows(s, 0, s->Ho, s->Wo, buf, L, w + (ptrdiff_t)c * taps, yp, 0))
                continue;
            conv_dw_eng(taps, n, buf, off, w + (ptrdiff_t)c * taps, ob, gr);
            for (int r = 0; r < s->Ho; r++)
                conv_copy(yp + (ptrdiff_t)r * s->Wo, ob + (ptrdiff_t)r * L, s->Wo);
        }
    }
}

/* A depthwise conv as the source of another kernel's input (the fused
 * depthwise + pointwise kernels): its shape, geometry, tap offsets and
 * grid, input, weights and prologue. */
typedef struct {
    const ConvShape *s;
    const ConvDw *d;
    ptrdiff_t off[CONV_DW_TAPS];
    ConvGrid grid;
    const ConvGrid *gr; /* &grid or NULL */
    int taps, n;        /* taps; values of a padded output run */
    const real *x, *w;
    int pre;
    const real *pm, *ps, *pb;
    real *z;            /* weight gradients: the threads' scratch slices, slice values apart */
    ptrdiff_t slice;
} ConvDwSrc;

static void conv_dw_src_init(ConvDwSrc *r, const ConvShape *s, const ConvDw *d, const real *x,
                             const real *w, int pre, const real *pm, const real *ps, const real *pb)
{
    r->s = s, r->d = d, r->x = x, r->w = w, r->pre = pre, r->pm = pm, r->ps = ps, r->pb = pb;
    r->taps = s->kh * s->kw;
    r->n = (s->Ho - 1) * d->px.L + s->Wo;
    conv_dw_x_offsets(s, d, r->off);
    int square = s->kh == s->kw && s->dh == s->dw;
    r->gr = square && conv_dw_grid(r->taps, r->off, s->kh, s->dw, 0, &r->grid) ? &r->grid : NULL;
}

/* Output plane (sample i, channel c) of the depthwise source into zp (Ho x
 * Wo), as conv_dw_fwd computes it; buf (its zero border in place, as
 * conv_dw_fwd keeps it) and ob are CONV_DW_PAD-value work planes.
 * conv_dw_src_out: the same from buf already filled with the plane. */
static void conv_dw_src_out(const ConvDwSrc *r, int c, const real *buf, real *ob, real *zp)
{
    if (conv_dw_rows(r->s, 0, r->s->Ho, r->s->Wo, buf, r->d->px.L, r->w + (ptrdiff_t)c * r->taps, zp, 0))
        return;
    conv_dw_eng(r->taps, r->n, buf, r->off, r->w + (ptrdiff_t)c * r->taps, ob, r->gr);
    for (int row = 0; row < r->s->Ho; row++)
        conv_copy(zp + (ptrdiff_t)row * r->s->Wo, ob + (ptrdiff_t)row * r->d->px.L, r->s->Wo);
}
static void conv_dw_src_plane(const ConvDwSrc *r, int i, int c, real *buf, real *ob, real *zp)
{
    const ConvShape *s = r->s;
    ConvPre pv;
    conv_dw_fill(r->x + ((ptrdiff_t)i * s->Ci + c) * s->H * s->W, s->H, s->W, s->ph, s->pw, r->d->px,
                 conv_pre_at(&pv, r->pre, r->pm, r->ps, r->pb, c), buf);
    conv_dw_src_out(r, c, buf, ob, zp);
}

/* k_conv2d_dwpw_fwd's fast path (sd depthwise with geometry d, sp the
 * pointwise conv on its output): the planes of conv_dw_fwd, one sample at
 * a time into the thread's slice of z, then that sample's GEMM of
 * conv_dense_fwd (the whole plane as one column block, as conv_dense_fwd
 * takes it at any batch of more than a few samples; the sums are the same
 * for any column block). */
CONV_WIDE static void conv_dwpw_fwd(int N, const ConvShape *sd, const ConvDw *d,
                                    const ConvShape *sp, const real *x, const real *wd, real *z,
                                    const real *wp, real *y, real *mo, int pre, const real *pm,
                                    const real *ps, const real *pb)
{
    ConvDwSrc src;
    conv_dw_src_init(&src, sd, d, x, wd, pre, pm, ps, pb);
    int C = sd->Co;
    int T = k_par((double)N * C * sd->P * (src.taps + sp->Co)) ? k_omp_max_threads() : 1;
    (void)T; /* without OpenMP */
    K_OMP(parallel num_threads(T))
    {
        real buf[CONV_DW_PAD], ob[CONV_DW_PAD], pa[CONV_PA];
        memset(buf, 0, sizeof(real) * (size_t)d->zx);
        /* the pointwise weights packed once for all samples */
        const real *wpa = conv_gemm_prepack(sp->Co, C, wp, C, 1, pa);
        int me = k_omp_thread(), nt = k_omp_nthreads();
        K_OMP(for schedule(static))
        for (int i = 0; i < N; i++) {
            /* the thread's own slice while there are no more threads than samples */
            real *zs = z + (ptrdiff_t)(nt <= N ? me : i) * C * sd->P;
            for (int c = 0; c < C; c++)
                conv_dw_src_plane(&src, i, c, buf, ob, zs + (ptrdiff_t)c * sd->P);
            real *yi = y + (ptrdiff_t)i * sp->Co * sp->P;
            conv_gemm_pa(sp->Co, (int)sp->P, C, wp, C, 1, zs, sp->P, 1, yi, sp->P, 0, 0, NULL, wpa);
            for (int c = 0; mo && c < sp->Co; c++)
                k_bn_plane_moments((int)sp->P, yi + (ptrdiff_t)c * sp->P, mo + ((ptrdiff_t)i * sp->Co + c) * 2);
        }
    }
}

/* Depthwise data gradient, per plane. gy is padded (plt rows above, plg
 * columns left); gx row ih = rh + k*sh, column iw = q + j*sw takes the taps
 * (a, b) with ih + ph - a*dh and iw + pw - b*dw divisible by the strides,
 * from gy row k + (rh + ph - a*dh)/sh, column j + (q + pw - b*dw)/sw: per
 * residue rh and phase q one flat correlation over (k, j), into phase rows
 * that are then interleaved into gx. Each tap belongs to exactly one
 * (rh, q); the lists are built once per call (conv_dw_back_init). */
typedef struct {
    const ConvShape *s;
    const ConvDw *d;
    ptrdiff_t off[CONV_DW_TAPS], QS;
    int tap[CONV_DW_TAPS], first[CONV_DW_PH * CONV_DW_PH + 1], nt;
    ConvGrid grid;
    const ConvGrid *gr; /* &grid or NULL */
} ConvDwBack;

static void conv_dw_back_init(ConvDwBack *b, const ConvShape *s, const ConvDw *d)
{
    int L = d->pg.L, nt = 0;
    b->s = s, b->d = d;
    b->QS = (ptrdiff_t)d->hk * L;
    for (int rh = 0; rh < s->sh; rh++)
        for (int q = 0; q < s->sw; q++) {
            b->first[rh * s->sw + q] = nt;
            for (int a = 0; a < s->kh; a++) {
                int vr = rh + s->ph - a * s->dh;
                for (int c = 0; c < s->kw && vr % s->sh == 0; c++) {
                    int vc = q + s->pw - c * s->dw;
                    if (vc % s->sw)
                        continue;
                    b->off[nt] = (ptrdiff_t)(vr / s->sh + d->plt) * L + vc / s->sw + d->plg;
                    b->tap[nt++] = a * s->kw + c;
                }
            }
        }
    b->first[s->sh * s->sw] = nt;
    b->nt = nt;
    /* at stride 1 the one tap list is a grid read backwards (window rows
     * and columns reversed): the grid engine takes the weights reversed */
    int square = s->sh == 1 && s->sw == 1 && s->kh == s->kw && s->dh == s->dw;
    b->gr = square && conv_dw_grid(nt, b->off, s->kh, s->dw, 1, &b->grid) ? &b->grid : NULL;
}

/* The data gradient of one plane: gyp (Ho x Wo) and the channel's weights
 * wc into gxp (H x W), written, or added when acc != 0; buf (its zero
 * border in place, d->zg values zeroed once) and tb are CONV_DW_PAD-value
 * work planes. */
CONV_WIDE static void conv_dw_back_plane(const ConvDwBack *b, const real *gyp, const real *wc,
                                         real *gxp, int acc, real *buf, real *tb)
{
    const ConvShape *s = b->s;
    const ConvDw *d = b->d;
    int nt = b->nt, L = d->pg.L;
    ptrdiff_t QS = b->QS;
    real wv[CONV_DW_TAPS];
    conv_dw_fill(gyp, s->Ho, s->Wo, d->plt, d->plg, d->pg, NULL, buf);
    for (int t = 0; t < nt; t++)
        wv[t] = wc[b->tap[b->gr ? nt - 1 - t : t]];
    /* gx row ih reads padded gy rows ih + ph + r*dh ((K-1)*dh rows above),
     * the weights in the engines' order: the 3x3 list's (the band runs it
     * in reverse), the 5x5 grid's reversed one */
    if (conv_dw_rows(s, 1, s->H, s->W, buf + (ptrdiff_t)s->ph * L + s->pw, L, wv, gxp, acc))
        return;
    for (int rh = 0; rh < s->sh && rh < s->H; rh++) {
        int nrow = (s->H - rh + s->sh - 1) / s->sh;
        for (int q = 0; q < s->sw && q < s->W; q++) {
            int n = (s->W - q + s->sw - 1) / s->sw, t0 = b->first[rh * s->sw + q];
            conv_dw_eng(b->first[rh * s->sw + q + 1] - t0, (nrow - 1) * L + n, buf, b->off + t0,
                        wv + t0, tb + q * QS, b->gr);
        }
        for (int k = 0; k < nrow; k++) {
            real *o = gxp + (ptrdiff_t)(rh + k * s->sh) * s->W;
            const real *t = tb + (ptrdiff_t)k * L;
            if (acc && s->sw == 1) {
                for (int iw = 0; iw < s->W; iw++)
                    o[iw] += t[iw];
            } else if (s->sw == 1) {
                conv_copy(o, t, s->W);
            } else if (s->sw == 2 && !acc) {
                const real *t1 = t + QS;
                int h = s->W / 2;
                for (int j = 0; j < h; j++) {
                    o[2 * j] = t[j];
                    o[2 * j + 1] = t1[j];
                }
                if (s->W % 2)
                    o[s->W - 1] = t[h];
            } else {
                /* columns q, q + sw, ... from phase row q */
                for (int q = 0; q < s->sw; q++) {
                    const real *tq = t + q * QS;
                    for (int iw = q, k = 0; iw < s->W; iw += s->sw, k++)
                        o[iw] = acc ? o[iw] + tq[k] : tq[k];
                }
            }
        }
    }
}

/* Depthwise data gradient over all N*C planes; acc != 0 adds the rows to
 * gx instead of writing them. */
CONV_WIDE static void conv_dw_bwd_data(int N, const ConvShape *s, const ConvDw *d,
                                       const real *gy, const real *w, real *gx, int acc)
{
    ptrdiff_t planes = (ptrdiff_t)N * s->Co, HW = (ptrdiff_t)s->H * s->W;
    int taps = s->kh * s->kw;
    ConvDwBack b;
    conv_dw_back_init(&b, s, d);
    K_OMP(parallel if(k_par((double)planes * s->P * taps)))
    {
        real buf[CONV_DW_PAD], tb[CONV_DW_PAD];
        memset(buf, 0, sizeof(real) * (size_t)d->zg);
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < planes; nc++) {
            if (nc + 1 < planes)
                k_prefetch(gy + (nc + 1) * s->P, s->P);
            conv_dw_back_plane(&b, gy + nc * s->P, w + (nc % s->Co) * taps, gx + nc * HW, acc, buf, tb);
        }
    }
}

/* The gy plane as the weight gradient reads it (rows px.L apart, zeros
 * between) inside buf, the data gradient's padded copy of it, when their
 * layouts agree (stride 1, conv_dw_geom); else NULL. */
static const real *conv_dw_gy_laid(const ConvShape *s, const ConvDw *d, const real *buf)
{
    if (s->sh != 1 || s->sw != 1 || d->pg.L != d->px.L)
        return NULL;
    return buf + (ptrdiff_t)d->plt * d->pg.L + d->plg;
}

/* One sample's share of the depthwise weight gradient of one channel:
 * part[t] = the dot product of the gy plane gyp with the x_eff plane xp
 * (prologue pc) shifted by tap t, in float lanes over the plane
 * (conv_dw_wdot); xb and gb are work planes whose borders hold zeros
 * (d->zx and d->zy values zeroed once); off: conv_dw_x_offsets. gl: gy
 * already so laid out (conv_dw_gy_laid), or NULL. */
static void conv_dw_wgrad_plane(const ConvShape *s, const ConvDw *d, const ptrdiff_t *off,
                                const ConvPre *pc, const real *xp, const real *gyp, real *xb,
                                real *gb, real *part, const real *gl)
{
    int taps = s->kh * s->kw;
    int n = (s->Ho * d->px.L + CONV_VL - 1) / CONV_VL * CONV_VL;
    ConvPh pg = {1, 1, s->Ho, d->px.L};
    conv_dw_fill(xp, s->H, s->W, s->ph, s->pw, d->px, pc, xb);
    if (gl)
        gb = (real *)gl;
    else
        conv_dw_fill(gyp, s->Ho, s->Wo, 0, 0, pg, NULL, gb);
    if (taps == 9)
        conv_dw_wdot_9(taps, n, gb, xb, off, part);
    else if (taps == 25)
        conv_dw_wdot_25(taps, n, gb, xb, off, part);
    else
        conv_dw_wdot_n(taps, n, gb, xb, off, part);
}

/* Depthwise weight gradient, parallel over channels: per sample the x_eff
 * plane is padded on the stack and gy copied with rows L apart (zeros
 * between), each tap summed over the flat plane in float lanes
 * (conv_dw_wgrad_plane), the planes added in real_acc in sample order. */
CONV_WIDE static void conv_dw_bwd_weight(int N, const ConvShape *s, const ConvDw *d,
                                         const real *x, const real *gy, real *gw, int pre,
                                         const real *pm, const real *ps, const real *pb)
{
    int C = s->Co, taps = s->kh * s->kw;
    ptrdiff_t off[CONV_DW_TAPS];
    conv_dw_x_offsets(s, d, off);
    K_OMP(parallel if(k_par((double)N * C * s->P * taps)))
    {
        real xb[CONV_DW_PAD], gb[CONV_DW_PAD], part[CONV_DW_TAPS];
        memset(xb, 0, sizeof(real) * (size_t)d->zx);
        memset(gb, 0, sizeof(real) * (size_t)d->zy);
        K_OMP(for schedule(static))
        for (int c = 0; c < C; c++) {
            real_acc acc[CONV_DW_TAPS];
            ConvPre pv;
            const ConvPre *pc = conv_pre_at(&pv, pre, pm, ps, pb, c);
            for (int t = 0; t < taps; t++)
                acc[t] = 0;
            for (int i = 0; i < N; i++) {
                ptrdiff_t nc = (ptrdiff_t)i * C + c;
                if (i + 1 < N) {
                    k_prefetch(x + (nc + C) * s->H * s->W, (ptrdiff_t)s->H * s->W);
                    k_prefetch(gy + (nc + C) * s->P, s->P);
                }
                conv_dw_wgrad_plane(s, d, off, pc, x + nc * s->H * s->W, gy + nc * s->P, xb, gb, part, NULL);
                for (int t = 0; t < taps; t++)
                    acc[t] += part[t];
            }
            for (int t = 0; t < taps; t++)
                gw[(ptrdiff_t)c * taps + t] = (real)acc[t];
        }
    }
}

/* ---- dense (pointwise and im2col) ---- */

/* 1 when the conv is a plain 1x1 (GEMM straight on x, no im2col). */
static int conv_is_pointwise(const ConvShape *s)
{
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0 &&
           s->g == 1;
}

/* Columns per task of a loop over n samples of P output columns: at most
 * jmax (a multiple of CONV_NR, or all of P), and narrow enough that the
 * tasks give each of T threads two when the planes allow. */
static ptrdiff_t conv_chunk(int n, ptrdiff_t P, int T, ptrdiff_t jmax)
{
    ptrdiff_t per = (P + jmax - 1) / jmax, want = (2 * (ptrdiff_t)T + n - 1) / n;
    ptrdiff_t jb = (P + (per > want ? per : want) - 1) / (per > want ? per : want);
    jb = (jb + CONV_NR - 1) / CONV_NR * CONV_NR;
    return jb < P ? jb : P;
}

/* Panel rows of an im2col conv, and the widest panel the stack buffer holds
 * for them (a multiple of CONV_NR). */
static int conv_panel_rows(const ConvShape *s)
{
    return conv_min(s->K, CONV_PK);
}
static ptrdiff_t conv_panel_cols(const ConvShape *s)
{
    int w = CONV_PANEL / conv_panel_rows(s) / CONV_NR * CONV_NR;
    return w > CONV_NR ? w : CONV_NR;
}

/* Dense forward: one task per (sample, group, column chunk); pointwise
 * convs multiply x directly (relu(x) when rb != 0: pointwise only), others
 * through im2col panels. moments != NULL (pointwise only): also the plane
 * moments of y (N, Co, 2; k_bn_plane_moments) for a BN that follows, each
 * plane while it is in cache when a task holds the whole of it, else in a
 * pass after. */
static void conv_dense_fwd(int N, const ConvShape *s, const real *x, const real *w, real *y, int rb,
                           real *moments)
{
    int pointwise = conv_is_pointwise(s), kp = conv_panel_rows(s);
    int T = k_par((double)N * s->Co * s->K * s->P) ? k_omp_max_threads() : 1;
    ptrdiff_t jc = conv_chunk(N * s->g, s->P, T, pointwise ? CONV_PW_JB : conv_panel_cols(s));
    ptrdiff_t tiles = (s->P + jc - 1) / jc, ntask = (ptrdiff_t)N * s->g * tiles;
    K_OMP(parallel if(T > 1))
    {
        real pa[CONV_PA];
        /* a pointwise conv's weights packed once for all tasks */
        const real *wpa = pointwise ? conv_gemm_prepack(s->Co, s->K, w, s->K, 1, pa) : NULL;
        K_OMP(for schedule(static))
        for (ptrdiff_t t = 0; t < ntask; t++) {
            real panel[CONV_PANEL];
            ptrdiff_t jt = t % tiles, ng = t / tiles;
            int n = (int)(ng / s->g), gi = (int)(ng % s->g);
            ptrdiff_t j0 = jt * jc;
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            const real *xg = x + ((ptrdiff_t)n * s->Ci + (ptrdiff_t)gi * s->Cig) * s->H * s->W;
            const real *wg = w + (ptrdiff_t)gi * s->Cog * s->K;
            real *yg = y + ((ptrdiff_t)n * s->Cy + (ptrdiff_t)gi * s->Cog) * s->P + j0;
            if (pointwise) {
                /* the next task's x (its first panel prefetched): the next chunk or sample */
                const real *nx = NULL;
                if (t + 1 < ntask)
                    nx = x + (t + 1) / tiles * s->Ci * s->H * s->W + (t + 1) % tiles * jc;
                conv_gemm_pa(s->Co, jb, s->K, wg, s->K, 1, xg + j0, s->P, 1, yg, s->P, 0, rb, nx, wpa);
                for (int co = 0; moments && tiles == 1 && co < s->Co; co++)
                    k_bn_plane_moments((int)s->P, yg + (ptrdiff_t)co * s->P,
                                       moments + ((ptrdiff_t)n * s->Co + co) * 2);
                continue;
            }
            for (int k0 = 0; k0 < s->K; k0 += kp) {
                int kc = conv_min(kp, s->K - k0);
                conv_im2col(s, k0, kc, j0, jb, (real *)xg, panel, jb, 0);
                conv_gemm(s->Cog, jb, kc, wg + k0, s->K, 1, panel, jb, 1, yg, s->P, k0 > 0, 0, NULL);
            }
        }
    }
    if (moments && tiles > 1) {
        ptrdiff_t planes = (ptrdiff_t)N * s->Co;
        K_OMP(parallel for if(T > 1) schedule(static))
        for (ptrdiff_t q = 0; q < planes; q++)
            k_bn_plane_moments((int)s->P, y + q * s->P, moments + q * 2);
    }
}

/* Pointwise data gradient, one task per (sample, column chunk):
 * gx (+)= w^T gy. xm != NULL: through the ReLU whose input xm is (the conv
 * reads relu(xm)): each chunk's w^T gy goes into tb (gx's layout; gx
 * itself when !acc), or is added to it (tacc: tb holds the ReLU's
 * gradient from its other consumers), and then, while in cache, into gx
 * as xm > 0 ? g : 0, written or added (acc): k_relu_bwd(_acc)'s
 * arithmetic. */
static void conv_pw_bwd_data(int N, const ConvShape *s, const real *gy, const real *w, real *gx,
                             int acc, const real *xm, real *tb, int tacc, int T)
{
    ptrdiff_t jc = conv_chunk(N, s->P, T, CONV_PW_JB);
    ptrdiff_t tiles = (s->P + jc - 1) / jc, ntask = (ptrdiff_t)N * tiles;
    (void)T; /* without OpenMP */
    K_OMP(parallel if(T > 1))
    {
        real pa[CONV_PA];
        const real *wpa = conv_gemm_prepack(s->Ci, s->Co, w, 1, s->Ci, pa); /* w^T, once for all tasks */
        K_OMP(for schedule(static))
        for (ptrdiff_t t = 0; t < ntask; t++) {
            int n = (int)(t / tiles);
            ptrdiff_t j0 = t % tiles * jc, o = (ptrdiff_t)n * s->Ci * s->P + j0;
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            const real *ng = t + 1 < ntask ? gy + (t + 1) / tiles * s->Co * s->P + (t + 1) % tiles * jc : NULL;
            conv_gemm_pa(s->Ci, jb, s->Co, w, 1, s->Ci, gy + (ptrdiff_t)n * s->Co * s->P + j0, s->P, 1,
                         (xm ? tb : gx) + o, s->P, xm ? tacc : acc, 0, ng, wpa);
            for (int c = 0; xm && c < s->Ci; c++) {
                ptrdiff_t r = o + (ptrdiff_t)c * s->P;
                k_relu_mask(jb, xm + r, tb + r, gx + r, acc);
            }
        }
    }
}

/* Dense data gradient: gx = col2im(w^T gy). Pointwise tasks are (sample,
 * column chunk); im2col ones (sample, group), since col2im of neighbouring
 * chunks overlaps. */
static void conv_dense_bwd_data(int N, const ConvShape *s, const real *gy, const real *w, real *gx,
                                int acc)
{
    int T = k_par((double)N * s->Co * s->K * s->P) ? k_omp_max_threads() : 1;
    if (conv_is_pointwise(s)) {
        conv_pw_bwd_data(N, s, gy, w, gx, acc, NULL, NULL, 0, T);
        return;
    }
    int ntask = N * s->g, kp = conv_panel_rows(s);
    ptrdiff_t jc = conv_panel_cols(s);
    K_OMP(parallel for if(T > 1) schedule(static))
    for (int t = 0; t < ntask; t++) {
        real panel[CONV_PANEL];
        int n = t / s->g, gi = t % s->g;
        real *xg = gx + ((ptrdiff_t)n * s->Ci + (ptrdiff_t)gi * s->Cig) * s->H * s->W;
        const real *wg = w + (ptrdiff_t)gi * s->Cog * s->K;
        const real *gyg = gy + ((ptrdiff_t)n * s->Cy + (ptrdiff_t)gi * s->Cog) * s->P;
        if (!acc)
            memset(xg, 0, sizeof(real) * (size_t)s->Cig * (size_t)s->H * (size_t)s->W);
        for (ptrdiff_t j0 = 0; j0 < s->P; j0 += jc) {
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            for (int k0 = 0; k0 < s->K; k0 += kp) {
                int kc = conv_min(kp, s->K - k0);
                conv_gemm(kc, jb, s->Cog, wg + k0, 1, s->K, gyg + j0, s->P, 1, panel, jb, 0, 0, NULL);
                conv_im2col(s, k0, kc, j0, jb, xg, panel, jb, 1);
            }
        }
    }
}

/* Adds the share of samples n..n+G-1 of one weight-gradient tile (output
 * channels co0..co0+cb-1 of group gi, taps k0..k0+kb-1) into acc (cb x kb,
 * rows kb apart). Pointwise convs read x directly (relu(x) when rb != 0:
 * pointwise only), all G samples in one pass, or with a depthwise source
 * (src, pointwise only) its planes of channels k0..k0+kb-1, computed into
 * the thread's scratch slice (the same rows, so the same sums); others
 * build im2col panels of one sample at a time. */
static void conv_wgrad_tile(const ConvShape *s, int n, int G, int gi, int co0, int cb, int k0,
                            int kb, const real *x, const real *gy, real_acc *acc, int rb,
                            const ConvDwSrc *src)
{
    real panel[CONV_WPANEL];
    ptrdiff_t HW = (ptrdiff_t)s->H * s->W;
    const real *gyc = gy + ((ptrdiff_t)n * s->Cy + (ptrdiff_t)gi * s->Cog + co0) * s->P;
    if (src) {
        real buf[CONV_DW_PAD], ob[CONV_DW_PAD];
        real *zb = src->z + (ptrdiff_t)k_omp_thread() * src->slice;
        memset(buf, 0, sizeof(real) * (size_t)src->d->zx);
        for (int g = 0; g < G; g++)
            for (int c = 0; c < kb; c++)
                conv_dw_src_plane(src, n + g, k0 + c, buf, ob, zb + ((ptrdiff_t)g * kb + c) * s->P);
        conv_gemm_nt_acc(cb, kb, (int)s->P, G, gyc, s->P, s->Cy * s->P, zb, s->P, (ptrdiff_t)kb * s->P,
                         acc, kb, 0);
        return;
    }
    const real *xg = x + ((ptrdiff_t)n * s->Ci + (ptrdiff_t)gi * s->Cig) * HW;
    if (conv_is_pointwise(s)) {
        conv_gemm_nt_acc(cb, kb, (int)s->P, G, gyc, s->P, s->Cy * s->P, xg + (ptrdiff_t)k0 * s->P,
                         s->P, s->Ci * HW, acc, kb, rb);
        return;
    }
    ptrdiff_t jc = CONV_WPANEL / kb;
    for (int g = 0; g < G; g++)
        for (ptrdiff_t j0 = 0; j0 < s->P; j0 += jc) {
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            conv_im2col(s, k0, kb, j0, jb, (real *)(xg + g * s->Ci * HW), panel, jb, 0);
            conv_gemm_nt_acc(cb, kb, jb, 1, gyc + g * s->Cy * s->P + j0, s->P, 0, panel, jb, 0,
                             acc, kb, 0);
        }
}

/* Samples summed in float lanes per weight-gradient pass: enough for about
 * CONV_WSUM products per lane set, at most the batch. */
static int conv_wgrad_group(const ConvShape *s)
{
    ptrdiff_t g = CONV_WSUM / (s->P > 0 ? s->P : 1);
    return conv_is_pointwise(s) && g > 1 ? (int)g : 1;
}

/* Edge of the weight-gradient tiles along n channels or taps: the n cut
 * evenly into as few tiles of at most CONV_WB as hold them, rounded up to a
 * multiple of unit. Even tiles balance the threads (72 channels as 64 + 8
 * gave one thread 79% of the work). */
static int conv_wgrad_edge(int n, int unit)
{
    int nb = (n + CONV_WB - 1) / CONV_WB, e = (n + nb - 1) / nb;
    e = (e + unit - 1) / unit * unit;
    return e < CONV_WB ? e : CONV_WB;
}

/* Slices of the batch that a weight gradient of fewer tiles than this
 * sums apart and then adds in slice order. A constant, not the thread
 * count, so that the bits do not depend on the threads (they take the
 * slices in turn); two, the cores of the machines we measure on. */
#define CONV_WSLICES 2

/* The tiles of a weight gradient: at most CONV_WB x CONV_WB
 * (conv_wgrad_edge: rows in multiples of 4 for the lanes' 4 x 4 blocks,
 * columns of short pointwise rows in multiples of CONV_NR for conv_gemm's
 * strips). */
typedef struct {
    int cw, kw;   /* tile edges: channels, taps */
    int cbs, kbs; /* tiles along each */
    int ntile, G; /* tiles in all; samples per lane pass (conv_wgrad_group) */
} ConvWTiles;

static ConvWTiles conv_wgrad_tiles(const ConvShape *s)
{
    ConvWTiles t;
    int short_rows = conv_is_pointwise(s) && s->P < CONV_NT_GEMM_MAX;
    t.cw = conv_wgrad_edge(s->Cog, 4), t.kw = conv_wgrad_edge(s->K, short_rows ? CONV_NR : 4);
    t.cbs = (s->Cog + t.cw - 1) / t.cw, t.kbs = (s->K + t.kw - 1) / t.kw;
    t.ntile = s->g * t.cbs * t.kbs, t.G = conv_wgrad_group(s);
    return t;
}

/* The slices of the batch that conv_dense_bwd_weight sums a tile over
 * apart: one with at least CONV_WSLICES tiles, else CONV_WSLICES; slice k
 * holds samples [*a, *b). */
static int conv_wgrad_slices(const ConvWTiles *t)
{
    return t->ntile >= CONV_WSLICES ? 1 : CONV_WSLICES;
}
static void conv_wgrad_slice(int N, int ns, int k, int *a, int *b)
{
    *a = (int)((ptrdiff_t)N * k / ns), *b = (int)((ptrdiff_t)N * (k + 1) / ns);
}

/* The sample runs it sums in float lanes, in its order: runs of G samples
 * from the start of each slice. conv_wgrad_runs: how many in slice k;
 * conv_wgrad_run: the first sample *n0 and count *cnt of run q (counted
 * over all slices); conv_wgrad_runmax: the most samples in one run. */
static int conv_wgrad_runs(const ConvWTiles *t, int N, int k)
{
    int a, b;
    conv_wgrad_slice(N, conv_wgrad_slices(t), k, &a, &b);
    return (b - a + t->G - 1) / t->G;
}
static void conv_wgrad_run(const ConvWTiles *t, int N, int q, int *n0, int *cnt)
{
    int ns = conv_wgrad_slices(t), a, b;
    for (int k = 0; k < ns; q -= conv_wgrad_runs(t, N, k), k++)
        if (q < conv_wgrad_runs(t, N, k)) {
            conv_wgrad_slice(N, ns, k, &a, &b);
            *n0 = a + q * t->G, *cnt = conv_min(t->G, b - *n0);
            return;
        }
    *n0 = *cnt = 0;
}
static int conv_wgrad_runmax(const ConvWTiles *t, int N)
{
    int ns = conv_wgrad_slices(t);
    return conv_min(t->G, (N + ns - 1) / ns);
}
/* All runs of all slices. */
static int conv_wgrad_nruns(const ConvWTiles *t, int N)
{
    int r = 0;
    for (int k = 0; k < conv_wgrad_slices(t); k++)
        r += conv_wgrad_runs(t, N, k);
    return r;
}

/* One run's share of a pointwise weight gradient (Co x Ci), summed as
 * conv_wgrad_tile sums it, into its own real_acc partial pq (rows Ci
 * apart): the run's m samples of gy (rows P apart, samples sa apart) and
 * of the input (samples sb apart; relu(x) when rb). */
static void conv_wgrad_run_share(const ConvWTiles *wt, int Co, int Ci, ptrdiff_t P, int m, const real *gy,
                                 ptrdiff_t sa, const real *x, ptrdiff_t sb, int rb, real_acc *pq)
{
    for (ptrdiff_t e = 0; e < (ptrdiff_t)Co * Ci; e++)
        pq[e] = 0;
    for (int co0 = 0; co0 < Co; co0 += wt->cw)
        for (int k0 = 0; k0 < Ci; k0 += wt->kw)
            conv_gemm_nt_acc(conv_min(wt->cw, Co - co0), conv_min(wt->kw, Ci - k0), (int)P, m,
                             gy + (ptrdiff_t)co0 * P, P, sa, x + (ptrdiff_t)k0 * P, P, sb,
                             pq + (ptrdiff_t)co0 * Ci + k0, Ci, rb);
}

/* Element e of a weight gradient from its runs' partials (stride values
 * apart), added as conv_dense_bwd_weight adds its runs: each slice's runs
 * from 0, then the slices in order. */
static real conv_wgrad_runs_total(const ConvWTiles *wt, int N, const real_acc *runp, ptrdiff_t stride,
                                  ptrdiff_t e)
{
    real_acc r = 0;
    for (int k = 0, q = 0; k < conv_wgrad_slices(wt); k++) {
        real_acc a = 0;
        for (int j = conv_wgrad_runs(wt, N, k); j > 0; j--, q++)
            a += runp[(ptrdiff_t)q * stride + e];
        r = k ? r + a : a;
    }
    return (real)r;
}

/* Dense weight gradient gw_g = sum_n gy[n, g] cols[n]^T, in tiles
 * (conv_wgrad_tiles). With at least CONV_WSLICES tiles, each
 * tile is one task over the whole batch; otherwise each tile is summed
 * over CONV_WSLICES fixed slices of the batch, one task each, and the
 * slices are added in order. rb != 0: the weight gradient of relu(x)
 * (pointwise only); src: of the depthwise source's output instead of x
 * (pointwise only; see conv_wgrad_tile). */
static void conv_dense_bwd_weight(int N, const ConvShape *s, const real *x, const real *gy,
                                  real *gw, int rb, const ConvDwSrc *src)
{
    ConvWTiles wt = conv_wgrad_tiles(s);
    int cw = wt.cw, kw = wt.kw, cbs = wt.cbs, kbs = wt.kbs, ntile = wt.ntile, G = wt.G;
    int work = k_par((double)N * s->Co * s->K * s->P);
    (void)work; /* without OpenMP */
    if (ntile >= CONV_WSLICES) {
        K_OMP(parallel for if(work) schedule(dynamic))
        for (int t = 0; t < ntile; t++) {
            real_acc acc[CONV_WB * CONV_WB];
            int gi = t / (cbs * kbs), co0 = t / kbs % cbs * cw, k0 = t % kbs * kw;
            int cb = conv_min(cw, s->Cog - co0), kb = conv_min(kw, s->K - k0);
            for (int i = 0; i < cb * kb; i++)
                acc[i] = 0;
            for (int n = 0; n < N; n += G)
                conv_wgrad_tile(s, n, conv_min(G, N - n), gi, co0, cb, k0, kb, x, gy, acc, rb, src);
            for (int i = 0; i < cb; i++)
                for (int k = 0; k < kb; k++)
                    gw[((ptrdiff_t)gi * s->Cog + co0 + i) * s->K + k0 + k] = (real)acc[i * kb + k];
        }
        return;
    }
    real_acc part[CONV_WSLICES][CONV_WB * CONV_WB];
    K_OMP(parallel if(work))
    for (int t = 0; t < ntile; t++) {
        int gi = t / (cbs * kbs), co0 = t / kbs % cbs * cw, k0 = t % kbs * kw;
        int cb = conv_min(cw, s->Cog - co0), kb = conv_min(kw, s->K - k0);
        K_OMP(for schedule(static))
        for (int q = 0; q < CONV_WSLICES; q++) {
            int n0, n1;
            conv_wgrad_slice(N, CONV_WSLICES, q, &n0, &n1);
            real_acc *acc = part[q];
            for (int i = 0; i < cb * kb; i++)
                acc[i] = 0;
            for (int n = n0; n < n1; n += G)
                conv_wgrad_tile(s, n, conv_min(G, n1 - n), gi, co0, cb, k0, kb, x, gy, acc, rb, src);
        }
        K_OMP(single)
        for (int i = 0; i < cb; i++)
            for (int k = 0; k < kb; k++) {
                real_acc r = part[0][i * kb + k];
                for (int q = 1; q < CONV_WSLICES; q++)
                    r += part[q][i * kb + k];
                gw[((ptrdiff_t)gi * s->Cog + co0 + i) * s->K + k0 + k] = (real)r;
            }
    }
}

/* The gradient of a dwpw pair's pointwise output as the training BN that
 * follows it (with its ReLU, a prologue) passes it back: applied per
 * plane from the ReLU's output gradient (k_bn_relu_bwd_apply) where it is
 * read, into the threads' runs in gyb, instead of stored by the BN. */
typedef struct {
    const real *x;             /* the BN's input: the pointwise output (N, Co, P) */
    const real *mu, *ps, *pb;  /* its batch mean, the ReLU prologue's scale and shift (Co) */
    const real *coef;          /* k, mg, mgx per channel (k_bn_train_bwd_parts; 3 Co) */
    real *gyb;                 /* scratch (N, Co, P): the threads' runs of the applied gradient */
    /* add != 0: the BN is an add_bn one (k_bn_train_bwd_add_coef's coef),
     * gy its add's gradient, through a drop path when dmask (N) is not
     * NULL; ps and pb unused */
    int add;
    real keep;
    const real *dmask;
} ConvBnIn;

/* The applied gradient of plane o (channel co of Co, P values) of gy into
 * out. */
static void conv_bn_apply(const ConvBnIn *bin, int Co, int co, ptrdiff_t P, ptrdiff_t o, const real *gy,
                          real *out)
{
    const real *c = bin->coef;
    if (bin->add) {
        ptrdiff_t n = o / ((ptrdiff_t)Co * P);
        k_bn_add_bwd_apply((int)P, gy + o, bin->x + o, bin->mu[co], bin->dmask != NULL, bin->keep,
                           bin->dmask ? bin->dmask[n] : 1, c[co], c[Co + co], c[2 * Co + co], out);
        return;
    }
    k_bn_relu_bwd_apply((int)P, gy + o, bin->x + o, bin->mu[co], bin->ps[co], bin->pb[co], c[co], c[Co + co],
                        c[2 * Co + co], out);
}

/* Where in z (N, C, P values) conv_dwpw_bwd_data keeps the pointwise
 * weight gradient's per-run partials: after the threads' slices and the
 * depthwise weight gradient's shares, aligned for real_acc. */
static ptrdiff_t conv_dwpw_partials_at(int T, int N, int C, ptrdiff_t P, int taps)
{
    ptrdiff_t k = (ptrdiff_t)(sizeof(real_acc) / sizeof(real));
    ptrdiff_t o = ((ptrdiff_t)conv_min(T, N) * P + (ptrdiff_t)N * taps) * C;
    return k > 1 ? (o + k - 1) / k * k : o;
}

/* k_conv2d_dwpw_bwd_data's fast path (sd depthwise with geometry d, sp the
 * pointwise conv on its output), parallel over runs of samples: per sample
 * the depthwise output's gradient, wp^T gy (conv_dense_bwd_data's GEMM
 * with the whole plane as one column block: the same sums), into the
 * thread's slice of z, then from there each channel's data gradient into
 * gx (conv_dw_back_plane) and its weight-gradient share into parts (after
 * the slices: one row of taps per sample and channel); gw is the sum of
 * the shares in real_acc in sample order, as conv_dw_bwd_weight adds them.
 * gwp != NULL: also the pointwise weight gradient, its input (the
 * depthwise output) recomputed from the padded x plane the depthwise
 * weight gradient has just filled, into the thread's slice of zr (G
 * samples' planes at most), and each run's share summed while the run's gy and
 * planes are in cache: conv_gemm_nt_acc over the run, as conv_wgrad_tile
 * sums it, into the run's real_acc partial (in z, after the parts); the
 * partials are then added as conv_dense_bwd_weight adds its runs, so gwp
 * has the bits of k_conv2d_dwpw_bwd_weight. Runs are those of
 * conv_wgrad_run (each sample on its own when gwp is NULL). mask: gx is
 * the gradient of the input of the plain ReLU prologue (pre, no ps), each
 * plane's data gradient masked by x > 0 on its way there. bnp != NULL
 * (the prologue a BN + ReLU, gx written unmasked): that BN's backward sums
 * of each gx plane (k_bn_relu_bwd_sums) into bnp (N, C, 2). bin != NULL:
 * gy is the gradient of the ReLU after the BN that follows the pointwise
 * conv, applied per run (ConvBnIn). gx or gw NULL: not wanted. */
CONV_WIDE static void conv_dwpw_bwd_data(int N, const ConvShape *sd, const ConvDw *d,
                                         const ConvShape *sp, const real *x, const real *wd,
                                         real *z, const real *wp, const real *gy, real *gx,
                                         int acc, int mask, real *gw, int pre, const real *pm,
                                         const real *ps, const real *pb, int T, real *zr,
                                         real *gwp, real *bnp, const ConvBnIn *bin)
{
    int C = sd->Co, Co = sp->Co, taps = sd->kh * sd->kw;
    ptrdiff_t HW = (ptrdiff_t)sd->H * sd->W, P = sp->P;
    real *parts = z + (ptrdiff_t)conv_min(T, N) * C * P;
    real_acc *runp = (real_acc *)(void *)(z + conv_dwpw_partials_at(T, N, C, P, taps));
    ConvWTiles wt = conv_wgrad_tiles(sp);
    if (!gwp)
        wt.G = 1, wt.ntile = CONV_WSLICES; /* runs of one sample, in order */
    int runs = conv_wgrad_nruns(&wt, N);
    ConvDwBack b;
    ConvDwSrc src;
    conv_dw_back_init(&b, sd, d);
    conv_dw_src_init(&src, sd, d, x, wd, pre, pm, ps, pb); /* its tap offsets serve the weight gradient */
    (void)T; /* without OpenMP */
    K_OMP(parallel num_threads(T))
    {
        real buf[CONV_DW_PAD], tb[CONV_DW_PAD], xb[CONV_DW_PAD], gb[CONV_DW_PAD], mb[CONV_DW_PAD], pa[CONV_PA];
        const real *wpa = conv_gemm_prepack(C, Co, wp, 1, C, pa); /* wp^T, once for all samples */
        memset(buf, 0, sizeof(real) * (size_t)d->zg);
        memset(xb, 0, sizeof(real) * (size_t)d->zx);
        memset(gb, 0, sizeof(real) * (size_t)d->zy);
        int me = k_omp_thread(), nt = k_omp_nthreads();
        real *zrs = gwp ? zr + (ptrdiff_t)me * conv_wgrad_runmax(&wt, N) * C * P : NULL;
        real *gys = bin ? bin->gyb + (ptrdiff_t)me * conv_wgrad_runmax(&wt, N) * Co * P : NULL;
        K_OMP(for schedule(static))
        for (int q = 0; q < runs; q++) {
            int i0, m;
            conv_wgrad_run(&wt, N, q, &i0, &m);
            /* the run's gy: in place, or applied from the BN's input gradient */
            const real *gyr = bin ? gys : gy + (ptrdiff_t)i0 * Co * P;
            for (int i = i0; i < i0 + m; i++) {
                /* the thread's own slice while there are no more threads than samples */
                real *zs = z + (ptrdiff_t)(nt <= N ? me : i) * C * P;
                const real *gyi = gyr + (ptrdiff_t)(i - i0) * Co * P;
                for (int co = 0; bin && co < Co; co++)
                    conv_bn_apply(bin, Co, co, P, ((ptrdiff_t)i * Co + co) * P, gy, (real *)gyi + (ptrdiff_t)co * P);
                /* the next sample's gy, where read in place */
                const real *ng = !bin && i + 1 < N ? gy + (ptrdiff_t)(i + 1) * Co * P : NULL;
                conv_gemm_pa(C, (int)P, Co, wp, 1, C, gyi, P, 1, zs, P, 0, 0, ng, wpa);
                for (int c = 0; c < C; c++) {
                    ptrdiff_t nc = (ptrdiff_t)i * C + c;
                    /* the next sample's x plane (and, after a BN, the gy and y planes
                     * conv_bn_apply reads) ahead of the hardware prefetcher: the C 16
                     * training step 0.8-1.7% faster (ab_steps) */
                    if (i + 1 < N) {
                        k_prefetch(x + (nc + C) * HW, HW);
                        if (bin && c < Co) {
                            k_prefetch(gy + ((ptrdiff_t)(i + 1) * Co + c) * P, P);
                            k_prefetch(bin->x + ((ptrdiff_t)(i + 1) * Co + c) * P, P);
                        }
                    }
                    ConvPre pv;
                    const ConvPre *pc = conv_pre_at(&pv, pre, pm, ps, pb, c);
                    if (gx && mask) {
                        /* through the prologue's ReLU: k_relu_bwd(_acc)'s arithmetic */
                        const real *xp = x + nc * HW;
                        real *o = gx + nc * HW;
                        conv_dw_back_plane(&b, zs + (ptrdiff_t)c * P, wd + (ptrdiff_t)c * taps, mb, 0, buf,
                                           tb);
                        k_relu_mask(HW, xp, mb, o, acc);
                    } else if (gx) {
                        conv_dw_back_plane(&b, zs + (ptrdiff_t)c * P, wd + (ptrdiff_t)c * taps,
                                           gx + nc * HW, acc, buf, tb);
                        if (bnp)
                            k_bn_relu_bwd_sums((int)HW, gx + nc * HW, x + nc * HW, pm[c], ps[c], pb[c],
                                               bnp + nc * 2);
                    }
                    if (gw)
                        conv_dw_wgrad_plane(sd, d, src.off, pc, x + nc * HW, zs + (ptrdiff_t)c * P, xb, gb,
                                            parts + nc * taps, gx ? conv_dw_gy_laid(sd, d, buf) : NULL);
                    else if (gwp)
                        conv_dw_fill(x + nc * HW, sd->H, sd->W, sd->ph, sd->pw, d->px, pc, xb);
                    if (gwp)
                        conv_dw_src_out(&src, c, xb, tb, zrs + ((ptrdiff_t)(i - i0) * C + c) * P);
                }
            }
            if (gwp)
                conv_wgrad_run_share(&wt, Co, C, P, m, gyr, Co * P, zrs, C * P, 0, runp + (ptrdiff_t)q * Co * C);
        }
        if (gw) {
            K_OMP(for schedule(static))
            for (int c = 0; c < C; c++) {
                real_acc sum[CONV_DW_TAPS];
                for (int t = 0; t < taps; t++)
                    sum[t] = 0;
                for (int i = 0; i < N; i++)
                    for (int t = 0; t < taps; t++)
                        sum[t] += parts[((ptrdiff_t)i * C + c) * taps + t];
                for (int t = 0; t < taps; t++)
                    gw[(ptrdiff_t)c * taps + t] = (real)sum[t];
            }
        }
        if (gwp) {
            K_OMP(for schedule(static))
            for (ptrdiff_t e = 0; e < (ptrdiff_t)Co * C; e++)
                gwp[e] = conv_wgrad_runs_total(&wt, N, runp, (ptrdiff_t)Co * C, e);
        }
    }
}

/* ---- public entry points ---- */

/* 1 when the depthwise path applies (g == Ci == Co and its padded planes
 * fit the stack), with its geometry in d. */
static int conv_is_depthwise(const ConvShape *s, ConvDw *d)
{
    return s->g == s->Ci && s->g == s->Co && conv_dw_geom(s, d);
}

/* Forward: y = conv(x, w), dispatched to the depthwise or dense path. */
K_FN void k_conv2d_fwd(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                       int ph, int pw, int dh, int dw, int g,
                       const real *x, const real *w, real *y)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    ConvDw d;
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0)
        return;
    if (conv_is_depthwise(&s, &d))
        conv_dw_fwd(N, &s, &d, x, w, y, 0, NULL, NULL, NULL);
    else
        conv_dense_fwd(N, &s, x, w, y, 0, NULL);
}

/* Input gradient of one shape into gx: written, or added when acc != 0. */
static void conv_bwd_data(int N, const ConvShape *s, const real *gy, const real *w, real *gx,
                          int acc)
{
    ConvDw d;
    if (s->Ho <= 0 || s->Wo <= 0) {
        if (!acc)
            memset(gx, 0, sizeof(real) * (size_t)N * (size_t)s->Ci * (size_t)s->H * (size_t)s->W);
        return;
    }
    if (conv_is_depthwise(s, &d))
        conv_dw_bwd_data(N, s, &d, gy, w, gx, acc);
    else
        conv_dense_bwd_data(N, s, gy, w, gx, acc);
}

/* Input gradient (overwrites gx). */
K_FN void k_conv2d_bwd_data(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                            int ph, int pw, int dh, int dw, int g,
                            const real *gy, const real *w, real *gx)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    conv_bwd_data(N, &s, gy, w, gx, 0);
}

/* Input gradient added to gx. */
K_FN void k_conv2d_bwd_data_acc(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                int sw, int ph, int pw, int dh, int dw, int g,
                                const real *gy, const real *w, real *gx)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    conv_bwd_data(N, &s, gy, w, gx, 1);
}
K_FN void k_conv2d_bwd_data_relu(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                 int sw, int ph, int pw, int dh, int dw, int g, const real *gy,
                                 const real *w, const real *x, real *t, real *gx, int acc)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (conv_is_pointwise(&s) && s.Ho > 0 && s.Wo > 0) {
        int T = k_par((double)N * s.Co * s.K * s.P) ? k_omp_max_threads() : 1;
        conv_pw_bwd_data(N, &s, gy, w, gx, acc, x, acc ? t : gx, 0, T);
        return;
    }
    real *gr = acc ? t : gx;
    conv_bwd_data(N, &s, gy, w, gr, 0);
    (acc ? k_relu_bwd_acc : k_relu_bwd)((ptrdiff_t)N * Ci * H * W, x, gr, gx);
}
K_FN void k_conv2d_bwd_data_acc_relu(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                     int sw, int ph, int pw, int dh, int dw, int g,
                                     const real *gy, const real *w, const real *x, real *gr,
                                     real *gx, int acc)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (conv_is_pointwise(&s) && s.Ho > 0 && s.Wo > 0) {
        int T = k_par((double)N * s.Co * s.K * s.P) ? k_omp_max_threads() : 1;
        conv_pw_bwd_data(N, &s, gy, w, gx, acc, x, gr, 1, T);
        return;
    }
    conv_bwd_data(N, &s, gy, w, gr, 1);
    (acc ? k_relu_bwd_acc : k_relu_bwd)((ptrdiff_t)N * Ci * H * W, x, gr, gx);
}

/* Weight gradient (overwrites gw). */
K_FN void k_conv2d_bwd_weight(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, int g,
                              const real *x, const real *gy, real *gw)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    ConvDw d;
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0) {
        memset(gw, 0, sizeof(real) * (size_t)Co * (size_t)s.K);
        return;
    }
    if (conv_is_depthwise(&s, &d))
        conv_dw_bwd_weight(N, &s, &d, x, gy, gw, 0, NULL, NULL, NULL);
    else
        conv_dense_bwd_weight(N, &s, x, gy, gw, 0, NULL);
}

/* Fused-prologue forward: depthwise convs transform each plane as they pad
 * it on the stack; pointwise convs under a plain ReLU pack relu(x) into the
 * GEMM's panels; other convs run the reference. */
K_FN void k_conv2d_fwd_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g,
                           const real *pre_mean, const real *pre_scale, const real *pre_shift,
                           const real *x, const real *w, real *y)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    ConvDw d;
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0)
        return;
    if (conv_is_depthwise(&s, &d))
        conv_dw_fwd(N, &s, &d, x, w, y, 1, pre_mean, pre_scale, pre_shift);
    else if (!pre_scale && conv_is_pointwise(&s))
        conv_dense_fwd(N, &s, x, w, y, 1, NULL);
    else
        k_conv2d_fwd_pre_ref(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, pre_mean, pre_scale,
                             pre_shift, x, w, y);
}

K_FN void k_conv2d_fwd_moments(int N, int Ci, int H, int W, int Co, int pre, const real *x, const real *w,
                               real *y, real *moments)
{
    ConvShape s = conv_shape(Ci, H, W, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    if (N > 0 && H > 0 && W > 0)
        conv_dense_fwd(N, &s, x, w, y, pre, moments);
}

/* Fused-prologue weight gradient (overwrites gw): depthwise convs transform
 * each plane as they pad it on the stack; pointwise convs under a plain
 * ReLU read relu(x) in the GEMMs; others run the reference. */
K_FN void k_conv2d_bwd_weight_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                  int sw, int ph, int pw, int dh, int dw, int g,
                                  const real *pre_mean, const real *pre_scale,
                                  const real *pre_shift, const real *x, const real *gy, real *gw)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    ConvDw d;
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0) {
        memset(gw, 0, sizeof(real) * (size_t)Co * (size_t)s.K);
        return;
    }
    if (conv_is_depthwise(&s, &d))
        conv_dw_bwd_weight(N, &s, &d, x, gy, gw, 1, pre_mean, pre_scale, pre_shift);
    else if (!pre_scale && conv_is_pointwise(&s))
        conv_dense_bwd_weight(N, &s, x, gy, gw, 1, NULL);
    else
        k_conv2d_bwd_weight_pre_ref(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, pre_mean,
                                    pre_scale, pre_shift, x, gy, gw);
}

/* The fused kernels' fallback: the depthwise conv (through the prologue
 * when pre) into z. */
static void conv_dw_into(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                         int dh, int dw, int pre, const real *pm, const real *ps, const real *pb,
                         const real *x, const real *wd, real *z)
{
    if (pre)
        k_conv2d_fwd_pre(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, pm, ps, pb, x, wd, z);
    else
        k_conv2d_fwd(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, x, wd, z);
}

/* Depthwise + pointwise forward (see cpu_kernels.h): fused when the
 * depthwise path applies, else the two convs through z. */
K_FN void k_conv2d_dwpw_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph,
                            int pw, int dh, int dw, int Co, int pre, const real *pre_mean,
                            const real *pre_scale, const real *pre_shift, const real *x,
                            const real *wd, real *z, const real *wp, real *y, real *moments)
{
    ConvShape sd = conv_shape(C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C);
    ConvDw d;
    if (sd.Ho <= 0 || sd.Wo <= 0 || N <= 0)
        return;
    ConvShape sp = conv_shape(C, sd.Ho, sd.Wo, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    if (conv_is_depthwise(&sd, &d)) {
        conv_dwpw_fwd(N, &sd, &d, &sp, x, wd, z, wp, y, moments, pre != 0, pre_mean, pre_scale,
                      pre_shift);
        return;
    }
    conv_dw_into(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, pre, pre_mean, pre_scale, pre_shift, x, wd, z);
    k_conv2d_fwd(N, C, sd.Ho, sd.Wo, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1, z, wp, y);
    ptrdiff_t planes = (ptrdiff_t)N * Co;
    K_OMP(parallel for if(moments && k_par((double)planes * sp.P)) schedule(static))
    for (ptrdiff_t q = 0; q < (moments ? planes : 0); q++)
        k_bn_plane_moments((int)sp.P, y + q * sp.P, moments + q * 2);
}

/* Weight gradient of a pointwise conv (C -> Co) whose input is a
 * depthwise conv's output, recomputed (see cpu_kernels.h): fused when the
 * depthwise path applies and the threads' slices fit in z, else the two
 * kernels through z. */
K_FN void k_conv2d_dwpw_bwd_weight(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                   int ph, int pw, int dh, int dw, int Co, int pre,
                                   const real *pre_mean, const real *pre_scale,
                                   const real *pre_shift, const real *x, const real *wd, real *z,
                                   const real *gy, real *gwp)
{
    ConvShape sd = conv_shape(C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C);
    ConvDw d;
    if (sd.Ho <= 0 || sd.Wo <= 0 || N <= 0) {
        memset(gwp, 0, sizeof(real) * (size_t)Co * (size_t)C);
        return;
    }
    ConvShape sp = conv_shape(C, sd.Ho, sd.Wo, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    /* the largest slice a tile asks for: a sample group of the widest tile */
    int kedge = conv_wgrad_edge(C, sp.P < CONV_NT_GEMM_MAX ? CONV_NR : 4);
    ptrdiff_t slice = (ptrdiff_t)conv_wgrad_group(&sp) * kedge * sp.P;
    if (conv_is_depthwise(&sd, &d) && (ptrdiff_t)k_omp_max_threads() * slice <= (ptrdiff_t)N * C * sp.P) {
        ConvDwSrc src;
        conv_dw_src_init(&src, &sd, &d, x, wd, pre, pre_mean, pre_scale, pre_shift);
        src.z = z, src.slice = slice;
        conv_dense_bwd_weight(N, &sp, NULL, gy, gwp, 0, &src);
        return;
    }
    conv_dw_into(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, pre, pre_mean, pre_scale, pre_shift, x, wd, z);
    k_conv2d_bwd_weight(N, C, sd.Ho, sd.Wo, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1, z, gy, gwp);
}

/* The data gradients of a depthwise conv and the pointwise conv on its
 * output, and the depthwise weight gradient (see cpu_kernels.h): fused when
 * the depthwise path applies and the threads' slices and the weight
 * gradient's shares fit in z, else the three kernels through z. */
/* The BN-applied gradient of every plane into bin->gyb (k_conv2d_dwpw_bwd_data_bn
 * when its runs do not fit: the pair then reads it from there). */
static const real *conv_bn_apply_all(int N, int Co, ptrdiff_t P, const real *gy, const ConvBnIn *bin)
{
    ptrdiff_t planes = (ptrdiff_t)N * Co;
    K_OMP(parallel for if(k_par((double)planes * P)) schedule(static))
    for (ptrdiff_t q = 0; q < planes; q++)
        conv_bn_apply(bin, Co, (int)(q % Co), P, q * P, gy, bin->gyb + q * P);
    return bin->gyb;
}

/* k_conv2d_dwpw_bwd_data and _bn: the fused pass when the depthwise path
 * applies and its scratch fits, else the kernels it replaces. */
static void conv_dwpw_bwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                          int dh, int dw, int Co, int pre, const real *pre_mean, const real *pre_scale,
                          const real *pre_shift, const real *x, const real *wd, real *z, const real *wp,
                          const real *gy, real *gx, int acc, int mask, real *t, real *gwd, real *zr,
                          real *gwp, real *bnp, const ConvBnIn *bin)
{
    ConvShape sd = conv_shape(C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C);
    ConvDw d;
    int taps = kh * kw;
    if (sd.Ho <= 0 || sd.Wo <= 0 || N <= 0) {
        if (gx && !acc)
            memset(gx, 0, sizeof(real) * (size_t)N * (size_t)C * (size_t)H * (size_t)W);
        if (gwd)
            memset(gwd, 0, sizeof(real) * (size_t)C * (size_t)taps);
        if (gwp)
            memset(gwp, 0, sizeof(real) * (size_t)Co * (size_t)C);
        if (bnp)
            memset(bnp, 0, sizeof(real) * 2 * (size_t)N * (size_t)C);
        return;
    }
    ConvShape sp = conv_shape(C, sd.Ho, sd.Wo, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    int T = k_par((double)N * C * sd.P * (taps + Co)) ? k_omp_max_threads() : 1;
    ptrdiff_t size = (ptrdiff_t)N * C * sd.P, need = ((ptrdiff_t)conv_min(T, N) * sd.P + (ptrdiff_t)N * taps) * C;
    if (conv_is_depthwise(&sd, &d) && need <= size && (!mask || (ptrdiff_t)H * W <= CONV_DW_PAD)) {
        /* the pointwise weight gradient in the same pass when its partials
         * fit after the shares in z and the threads' runs of planes in zr;
         * a BN-applied gy in the threads' runs when they fit in gyb */
        ConvWTiles wt = conv_wgrad_tiles(&sp);
        int runs = conv_wgrad_nruns(&wt, N);
        ptrdiff_t k = (ptrdiff_t)(sizeof(real_acc) / sizeof(real));
        int rmax = conv_wgrad_runmax(&wt, N);
        int with = gwp && conv_dwpw_partials_at(T, N, C, sd.P, taps) + runs * k * Co * C <= size &&
                   (ptrdiff_t)T * rmax * C * sd.P <= size;
        if (bin && ((gwp && !with) || T * (with ? rmax : 1) > N)) {
            gy = conv_bn_apply_all(N, Co, sd.P, gy, bin);
            bin = NULL;
        }
        conv_dwpw_bwd_data(N, &sd, &d, &sp, x, wd, z, wp, gy, gx, acc, mask, gwd, pre != 0, pre_mean,
                           pre_scale, pre_shift, T, zr, with ? gwp : NULL, bnp, bin);
        if (gwp && !with)
            k_conv2d_dwpw_bwd_weight(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Co, pre, pre_mean,
                                     pre_scale, pre_shift, x, wd, zr, gy, gwp);
        return;
    }
    if (bin)
        gy = conv_bn_apply_all(N, Co, sd.P, gy, bin);
    conv_bwd_data(N, &sp, gy, wp, z, 0);
    if (gx && mask) {
        real *g = acc ? t : gx;
        conv_bwd_data(N, &sd, z, wd, g, 0);
        (acc ? k_relu_bwd_acc : k_relu_bwd)((ptrdiff_t)N * C * H * W, x, g, gx);
    } else if (gx) {
        conv_bwd_data(N, &sd, z, wd, gx, acc);
    }
    if (bnp && gx)
        k_bn_relu_bwd_parts(N, C, H * W, x, gx, pre_mean, pre_scale, pre_shift, bnp);
    if (gwd && pre)
        k_conv2d_bwd_weight_pre(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, pre_mean, pre_scale,
                                pre_shift, x, z, gwd);
    else if (gwd)
        k_conv2d_bwd_weight(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, x, z, gwd);
    if (gwp)
        k_conv2d_dwpw_bwd_weight(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Co, pre, pre_mean,
                                 pre_scale, pre_shift, x, wd, zr, gy, gwp);
}

K_FN void k_conv2d_dwpw_bwd_data(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                 int ph, int pw, int dh, int dw, int Co, int pre,
                                 const real *pre_mean, const real *pre_scale,
                                 const real *pre_shift, const real *x, const real *wd, real *z,
                                 const real *wp, const real *gy, real *gx, int acc, int mask,
                                 real *t, real *gwd, real *zr, real *gwp, real *bn_parts)
{
    conv_dwpw_bwd(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Co, pre, pre_mean, pre_scale, pre_shift, x,
                  wd, z, wp, gy, gx, acc, mask, t, gwd, zr, gwp, bn_parts, NULL);
}

K_FN void k_conv2d_dwpw_bwd_data_bn(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                    int ph, int pw, int dh, int dw, int Co, int pre,
                                    const real *pre_mean, const real *pre_scale,
                                    const real *pre_shift, const real *x, const real *wd, real *z,
                                    const real *wp, const real *gr, real *gx, int acc, int mask,
                                    real *t, real *gwd, real *zr, real *gwp, real *bn_parts,
                                    const real *y, const real *bn_mean, const real *bn_scale,
                                    const real *bn_shift, const real *bn_coef, real *gyb)
{
    ConvBnIn bin = { y, bn_mean, bn_scale, bn_shift, bn_coef, gyb, 0, 1, NULL };
    conv_dwpw_bwd(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Co, pre, pre_mean, pre_scale, pre_shift, x,
                  wd, z, wp, gr, gx, acc, mask, t, gwd, zr, gwp, bn_parts, &bin);
}

K_FN void k_conv2d_dwpw_bwd_data_bnadd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                                       int ph, int pw, int dh, int dw, int Co, int pre,
                                       const real *pre_mean, const real *pre_scale,
                                       const real *pre_shift, const real *x, const real *wd, real *z,
                                       const real *wp, const real *ga, real *gx, int acc, int mask,
                                       real *t, real *gwd, real *zr, real *gwp, real *bn_parts,
                                       const real *y, const real *bn_mean, real keep, const real *dmask,
                                       const real *bn_coef, real *gyb)
{
    ConvBnIn bin = { y, bn_mean, NULL, NULL, bn_coef, gyb, 1, keep, dmask };
    conv_dwpw_bwd(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Co, pre, pre_mean, pre_scale, pre_shift, x,
                  wd, z, wp, ga, gx, acc, mask, t, gwd, zr, gwp, bn_parts, &bin);
}

/* k_conv2d_pw_bwd_bn (see cpu_kernels.h), parallel over the runs of
 * samples of the weight gradient (conv_wgrad_run; each sample on its own
 * when gw is NULL): per sample the BN's applied gradient into the
 * thread's slice of gyb, then from there the data gradient (conv_pw_bwd_data's
 * GEMM with the whole plane as one column block: the same sums); after
 * each run its share of the weight gradient, conv_gemm_nt_acc over the
 * run as conv_wgrad_tile sums it, into the run's real_acc partial (after
 * the slices in gyb), the partials then added as conv_dense_bwd_weight
 * adds its runs. When the slices and partials do not fit gyb: the applied
 * gradient of every sample into gyb, then the unfused kernels' steps. */
static void conv_pw_bwd_bn(int N, const ConvShape *s, int rb, const real *x, const real *w,
                           const real *gr, const ConvBnIn *bin, real *gx, int acc, int mask, real *tb,
                           int tacc, real *gw, real *gyb)
{
    int Ci = s->Ci, Co = s->Co;
    ptrdiff_t P = s->P, k = (ptrdiff_t)(sizeof(real_acc) / sizeof(real));
    int T = k_par((double)N * Co * Ci * P) ? k_omp_max_threads() : 1;
    ConvWTiles wt = conv_wgrad_tiles(s);
    if (!gw)
        wt.G = 1, wt.ntile = CONV_WSLICES; /* runs of one sample, in order */
    int runs = conv_wgrad_nruns(&wt, N), rmax = conv_wgrad_runmax(&wt, N);
    ptrdiff_t slices = (ptrdiff_t)T * rmax * Co * P, at = (slices + k - 1) / k * k;
    /* a plain masked gradient written in place, as k_conv2d_bwd_data_relu writes it */
    real *tm = mask && !tacc && !acc ? gx : tb;
    if (at + (ptrdiff_t)runs * k * Co * Ci > (ptrdiff_t)N * Co * P) {
        const real *g = conv_bn_apply_all(N, Co, P, gr, bin);
        if (gx)
            conv_pw_bwd_data(N, s, g, w, gx, acc, mask ? x : NULL, tm, tacc, T);
        if (gw)
            conv_dense_bwd_weight(N, s, x, g, gw, rb, NULL);
        return;
    }
    real_acc *runp = (real_acc *)(void *)(gyb + at);
    (void)T; /* without OpenMP */
    K_OMP(parallel num_threads(T))
    {
        real *gys = gyb + (ptrdiff_t)k_omp_thread() * rmax * Co * P, pa[CONV_PA];
        const real *wpa = gx ? conv_gemm_prepack(Ci, Co, w, 1, Ci, pa) : NULL; /* w^T, once for all samples */
        K_OMP(for schedule(static))
        for (int q = 0; q < runs; q++) {
            int i0, m;
            conv_wgrad_run(&wt, N, q, &i0, &m);
            for (int i = i0; i < i0 + m; i++) {
                real *gyi = gys + (ptrdiff_t)(i - i0) * Co * P;
                for (int co = 0; co < Co; co++) {
                    conv_bn_apply(bin, Co, co, P, ((ptrdiff_t)i * Co + co) * P, gr, gyi + (ptrdiff_t)co * P);
                    if (i + 1 < N) {
                        /* the next sample's planes that conv_bn_apply reads */
                        k_prefetch(gr + ((ptrdiff_t)(i + 1) * Co + co) * P, P);
                        k_prefetch(bin->x + ((ptrdiff_t)(i + 1) * Co + co) * P, P);
                    }
                }
                if (!gx)
                    continue;
                ptrdiff_t o = (ptrdiff_t)i * Ci * P;
                conv_gemm_pa(Ci, (int)P, Co, w, 1, Ci, gyi, P, 1, (mask ? tm : gx) + o, P, mask ? tacc : acc, 0,
                             NULL, wpa);
                for (int c = 0; mask && c < Ci; c++) {
                    ptrdiff_t r = o + (ptrdiff_t)c * P;
                    k_relu_mask((int)P, x + r, tm + r, gx + r, acc);
                }
            }
            if (gw)
                conv_wgrad_run_share(&wt, Co, Ci, P, m, gys, Co * P, x + (ptrdiff_t)i0 * Ci * P, Ci * P, rb,
                                     runp + (ptrdiff_t)q * Co * Ci);
        }
        if (gw) {
            K_OMP(for schedule(static))
            for (ptrdiff_t e = 0; e < (ptrdiff_t)Co * Ci; e++)
                gw[e] = conv_wgrad_runs_total(&wt, N, runp, (ptrdiff_t)Co * Ci, e);
        }
    }
}

K_FN void k_conv2d_pw_bwd_bn(int N, int Ci, int H, int W, int Co, int rb, const real *x, const real *w,
                             const real *gr, const real *y, const real *bn_mean, const real *bn_coef,
                             real *gx, int acc, int mask, real *tb, int tacc, real *gw, real *gyb)
{
    ConvShape s = conv_shape(Ci, H, W, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
    if (N <= 0 || s.P <= 0) {
        if (gw)
            memset(gw, 0, sizeof(real) * (size_t)Co * (size_t)Ci);
        return;
    }
    ConvBnIn bin = { y, bn_mean, NULL, NULL, bn_coef, gyb, 1, 1, NULL };
    conv_pw_bwd_bn(N, &s, rb, x, w, gr, &bin, gx, acc, mask, tb, tacc, gw, gyb);
}

/* The two branches of a FactorizedReduce (see cpu_kernels.h): 1x1 convs
 * of stride 2 over x (through a ReLU when rb), the second reading it one
 * row and column down, each writing its channels of the concatenation. */
static void conv_fr_shapes(int C, int H, int W, int Co1, int Co2, int rb, ConvShape *s1, ConvShape *s2)
{
    *s1 = conv_shape(C, H, W, Co1, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    *s2 = conv_shape(C, H, W, Co2, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    s1->Cy = s2->Cy = Co1 + Co2;
    s1->rb = s2->rb = rb != 0;
    s2->oy = s2->ox = 1;
}

K_FN void k_fr_fwd(int N, int C, int H, int W, int Co1, int Co2, int rb, const real *x, const real *w1,
                   const real *w2, real *y)
{
    ConvShape s1, s2;
    conv_fr_shapes(C, H, W, Co1, Co2, rb, &s1, &s2);
    if (N <= 0 || s1.P <= 0)
        return;
    conv_dense_fwd(N, &s1, x, w1, y, 0, NULL);
    conv_dense_fwd(N, &s2, x, w2, y + (ptrdiff_t)Co1 * s1.P, 0, NULL);
}

/* k_fr_bwd's data gradient in one pass over gx (not the three of the
 * unfused steps: the pad's piece, conv_1's added, then the ReLU mask, each
 * over a tensor of x's size): per sample and block of kc channels both
 * convs' w^T gy (conv_dense_bwd_data's GEMM over whole planes: the same
 * sums) into the stack, then each gx row from them. Position (2i, 2j)
 * takes conv_1's piece, (2i + 1, 2j + 1) conv_2's, the others none; the
 * values are the unfused steps' bits: a piece is added to a zeroed plane
 * (0 + v, so -0 becomes +0) unless it is added to gx itself (acc, no
 * mask), and the mask adds x > 0 ? t : 0 at every position. 0 when the
 * planes are too large for the stack (one channel's two pieces over
 * CONV_PANEL values). */
static int conv_fr_bwd_data(int N, const ConvShape *s1, const ConvShape *s2, const real *x,
                            const real *w1, const real *w2, const real *gy, real *gx, int mask, int acc)
{
    int C = s1->Ci, H = s1->H, W = s1->W, Wo = s1->Wo, kc = (int)(CONV_PANEL / (2 * s1->P));
    ptrdiff_t P = s1->P, HW = (ptrdiff_t)H * W;
    if (kc < 1)
        return 0;
    int blocks = (C + kc - 1) / kc;
    K_OMP(parallel for if(k_par((double)N * C * HW * (s1->Co + s2->Co))) schedule(static))
    for (int t = 0; t < N * blocks; t++) {
        real p[CONV_PANEL];
        int n = t / blocks, c0 = t % blocks * kc, cb = conv_min(kc, C - c0);
        const real *gyn = gy + (ptrdiff_t)n * s1->Cy * P;
        real *p1 = p, *p2 = p + (ptrdiff_t)cb * P;
        conv_gemm(cb, (int)P, s1->Co, w1 + c0, 1, C, gyn, P, 1, p1, P, 0, 0, NULL);
        conv_gemm(cb, (int)P, s2->Co, w2 + c0, 1, C, gyn + (ptrdiff_t)s1->Co * P, P, 1, p2, P, 0, 0, NULL);
        for (int c = 0; c < cb; c++)
            for (int r = 0; r < H; r++) {
                ptrdiff_t o = ((ptrdiff_t)n * C + c0 + c) * HW + (ptrdiff_t)r * W;
                const real *pr = (r % 2 ? p2 : p1) + (ptrdiff_t)c * P + (ptrdiff_t)(r / 2) * Wo;
                const real *xr = x + o;
                real *gr = gx + o;
                int odd = r % 2;
                if (!mask && acc) {
                    for (int w = odd; w < W; w += 2)
                        gr[w] += pr[w / 2];
                    continue;
                }
                for (int w = 0; w < W; w++) {
                    real v = w % 2 == odd ? (real)0 + pr[w / 2] : (real)0;
                    if (mask)
                        v = xr[w] > 0 ? v : (real)0;
                    gr[w] = mask && acc ? gr[w] + v : v;
                }
            }
    }
    return 1;
}

K_FN void k_fr_bwd(int N, int C, int H, int W, int Co1, int Co2, int rb, const real *x, const real *w1,
                   const real *w2, const real *gy, real *gx, int mask, int acc, real *t, real *gw1,
                   real *gw2)
{
    ConvShape s1, s2;
    conv_fr_shapes(C, H, W, Co1, Co2, rb, &s1, &s2);
    ptrdiff_t n = (ptrdiff_t)N * C * H * W;
    if (N <= 0 || s1.P <= 0) {
        if (gx && !acc)
            memset(gx, 0, sizeof(real) * (size_t)n);
        if (gw1)
            memset(gw1, 0, sizeof(real) * (size_t)Co1 * (size_t)C);
        if (gw2)
            memset(gw2, 0, sizeof(real) * (size_t)Co2 * (size_t)C);
        return;
    }
    const real *gy2 = gy + (ptrdiff_t)Co1 * s1.P;
    if (gw1)
        conv_dense_bwd_weight(N, &s1, x, gy, gw1, 0, NULL);
    if (gw2)
        conv_dense_bwd_weight(N, &s2, x, gy2, gw2, 0, NULL);
    if (!gx || conv_fr_bwd_data(N, &s1, &s2, x, w1, w2, gy, gx, mask, acc))
        return;
    if (!mask) {
        /* the pad's piece (conv_2's, written or added), then conv_1's */
        conv_dense_bwd_data(N, &s2, gy2, w2, gx, acc);
        conv_dense_bwd_data(N, &s1, gy, w1, gx, 1);
        return;
    }
    /* the ReLU output's gradient into t as the unfused steps leave it (one
     * piece on each position), then through the mask */
    conv_dense_bwd_data(N, &s2, gy2, w2, t, 0);
    conv_dense_bwd_data(N, &s1, gy, w1, t, 1);
    K_OMP(parallel for if(k_par((double)n)) schedule(static))
    for (ptrdiff_t q = 0; q < (ptrdiff_t)N * C; q++)
        k_relu_mask((ptrdiff_t)H * W, x + q * H * W, t + q * H * W, gx + q * H * W, acc);
}
