/* conv2d_fast.c: the tuned 2-D convolutions k_conv2d_fwd / _bwd_data /
 * _bwd_weight, which must match the references of conv2d.c.
 *
 * Three paths, chosen per call from the shape:
 * - pointwise (1x1, stride 1, no padding, one group): per sample a GEMM
 *   y[n] (Co x HW) = w (Co x Ci) * x[n] (Ci x HW), with its transposes for
 *   the backwards;
 * - depthwise (g == Ci == Co): one (H, W) plane at a time, output rows
 *   vectorized along the width, borders split off with k_valid_range;
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

#define CONV_WB 64  /* weight-gradient tile edge (channels x taps) */
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
#define CONV_MR 12
#define CONV_NR 32
#define CONV_VL 16
#elif defined(__AVX512F__)
#define CONV_WIDE
#define CONV_MR 6
#define CONV_NR 32
#define CONV_VL 8
#else
#define CONV_WIDE
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
#define CONV_WSUM 512    /* products per lane set summed in real before real_acc */

/* One register tile: C[i][j] (+)= sum_{k<kc} ap[k*MR + i] * bp[k*CONV_NR + j]
 * for i < MR, j < CONV_NR (kc >= 1); acc != 0 adds to C. ap and bp are
 * packed blocks of A and B. The sums start from the first product (no
 * zeroed array, which GCC would clear in memory) and every loop bound is a
 * constant, so the tile never leaves the registers. */
#define CONV_UKERNEL(NAME, MR)                                                                     \
    CONV_WIDE static void NAME(int kc, const real *ap, const real *bp, real *C, ptrdiff_t ldc,     \
                               int acc)                                                            \
    {                                                                                              \
        real c[MR][CONV_NR];                                                                       \
        for (int i = 0; i < (MR); i++)                                                             \
            for (int j = 0; j < CONV_NR; j++)                                                      \
                c[i][j] = ap[i] * bp[j];                                                           \
        for (int k = 1; k < kc; k++) {                                                             \
            const real *b = bp + k * CONV_NR, *a = ap + k * (MR);                                  \
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

/* Packs rows i0..i0+mr-1 of a depth block of A (kc deep, A(i, k) at
 * a[i*ars + k*acs]) k-major for a kernel of mb >= mr rows, zero padded. */
static void conv_pack_a(int kc, int mr, int mb, const real *a, ptrdiff_t ars, ptrdiff_t acs,
                        real *p)
{
    for (int k = 0; k < kc; k++)
        for (int i = 0; i < mb; i++)
            p[k * mb + i] = i < mr ? a[i * ars + k * acs] : 0;
}

/* Packs a kc x nc block of B (rows ldb apart) as CONV_NR-wide strips, each
 * kc x CONV_NR contiguous, the last one zero padded. Rows are read in order,
 * so that the hardware prefetcher follows them. */
static void conv_pack_b(int kc, int nc, const real *b, ptrdiff_t ldb, real *p)
{
    int full = nc / CONV_NR * CONV_NR;
    for (int k = 0; k < kc; k++) {
        const real *r = b + k * ldb;
        for (int j0 = 0; j0 < full; j0 += CONV_NR)
            for (int j = 0; j < CONV_NR; j++)
                p[((ptrdiff_t)j0 * kc + k * CONV_NR) + j] = r[j0 + j];
        if (full < nc)
            for (int j = 0; j < CONV_NR; j++)
                p[(ptrdiff_t)full * kc + k * CONV_NR + j] = full + j < nc ? r[full + j] : 0;
    }
}

/* C (M x Nc, rows ldc apart) (+)= A (M x K) * B (K x Nc, rows ldb apart), A(i, k)
 * at A[i*ars + k*acs]; acc != 0 adds to C. The depth is cut into even
 * blocks of at most CONV_KC and the columns into panels of CONV_JP; each
 * panel of B is packed once (conv_pack_b: B rows are often 4 KiB apart,
 * which would make strips of them collide in the L1 cache and defeat the
 * prefetcher), then the rows of A, CONV_MG at a time, are packed in row
 * blocks (conv_row_block) and run over every strip of the panel. */
CONV_WIDE static void conv_gemm(int M, int Nc, int K, const real *A, ptrdiff_t ars, ptrdiff_t acs,
                                const real *B, ptrdiff_t ldb, real *C, ptrdiff_t ldc, int acc)
{
    real ap[(CONV_MG + CONV_MR) * CONV_KC], bp[CONV_KC * CONV_JP], ct[CONV_MR * CONV_NR];
    int nkb = (K + CONV_KC - 1) / CONV_KC, ks = (K + nkb - 1) / nkb;
    for (int k0 = 0; k0 < K; k0 += ks) {
        int kc = conv_min(ks, K - k0), ac = acc || k0 > 0;
        for (int p0 = 0; p0 < Nc; p0 += CONV_JP) {
            int pc = conv_min(CONV_JP, Nc - p0);
            conv_pack_b(kc, pc, B + k0 * ldb + p0, ldb, bp);
            for (int g0 = 0; g0 < M; g0 += CONV_MG) {
                int mg = conv_min(CONV_MG, M - g0);
                real *pa = ap;
                for (int i0 = 0, mb; i0 < mg; i0 += mb, pa += mb * kc) {
                    mb = conv_row_block(mg - i0);
                    conv_pack_a(kc, conv_min(mb, mg - i0), mb, A + (g0 + i0) * ars + k0 * acs,
                                ars, acs, pa);
                }
                for (int j0 = 0; j0 < pc; j0 += CONV_NR) {
                    int nr = conv_min(CONV_NR, pc - j0);
                    const real *pb = bp + (ptrdiff_t)j0 * kc;
                    pa = ap;
                    for (int i0 = 0, mb; i0 < mg; i0 += mb, pa += mb * kc) {
                        mb = conv_row_block(mg - i0);
                        int mr = conv_min(mb, mg - i0), full = mr == mb && nr == CONV_NR;
                        real *c = C + (g0 + i0) * ldc + p0 + j0, *d = full ? c : ct;
                        ptrdiff_t ldd = full ? ldc : CONV_NR;
                        if (mb == CONV_MR)
                            conv_uk_l(kc, pa, pb, d, ldd, ac && full);
                        else if (mb == CONV_MR * 2 / 3)
                            conv_uk_m(kc, pa, pb, d, ldd, ac && full);
                        else
                            conv_uk_s(kc, pa, pb, d, ldd, ac && full);
                        if (!full)
                            for (int i = 0; i < mr; i++)
                                for (int j = 0; j < nr; j++)
                                    c[i * ldc + j] = ac ? c[i * ldc + j] + ct[i * CONV_NR + j]
                                                        : ct[i * CONV_NR + j];
                    }
                }
            }
        }
    }
}

/* D[i*ldd + j] += sum_{g<G} sum_{p<L} A[g*sa + i*lda + p] * B[g*sb + j*ldb + p]
 * for i < M, j < Nn: dot products along contiguous rows, for 4 x 4 pairs at
 * a time in CONV_VL lanes of real that run over all G row sets (samples),
 * then each pair's total is added to the real_acc D. Summing several
 * samples in the lanes keeps the horizontal sums rare when L is short. */
CONV_WIDE static void conv_gemm_nt_acc(int M, int Nn, int L, int G, const real *A, ptrdiff_t lda,
                                       ptrdiff_t sa, const real *B, ptrdiff_t ldb, ptrdiff_t sb,
                                       real_acc *D, ptrdiff_t ldd)
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
                            t[i][j] += A[g * sa + ao[i] + p] * B[g * sb + bo[j] + p];
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

/* ---- im2col ---- */

/* Shape and attributes of one conv call, passed to the helpers as one value. */
typedef struct {
    int Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g;
    int Ho, Wo, Cig, Cog;
    int K;      /* im2col rows per group: Cig*kh*kw */
    ptrdiff_t P; /* output pixels per plane: Ho*Wo */
} ConvShape;

/* Fills a ConvShape from the public arguments. */
static ConvShape conv_shape(int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw, int ph,
                            int pw, int dh, int dw, int g)
{
    ConvShape s = {Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, 0, 0, 0, 0, 0, 0};
    s.Ho = k_out_size(H, kh, sh, ph, dh);
    s.Wo = k_out_size(W, kw, sw, pw, dw);
    s.Cig = Ci / g;
    s.Cog = Co / g;
    s.K = s.Cig * kh * kw;
    s.P = (ptrdiff_t)s.Ho * s.Wo;
    return s;
}

/* Moves one im2col panel, rows k0..k0+kc-1 (k = (ic*kh + ki)*kw + kj) and
 * columns j0..j0+jb-1 (j = oh*Wo + ow), between the panel (rows ldp apart)
 * and the group's input planes xg (Cig, H, W). back == 0 gathers
 * (panel = taps, 0 in the padding); back != 0 scatters (xg += panel). */
static void conv_im2col(const ConvShape *s, int k0, int kc, ptrdiff_t j0, int jb, real *xg,
                        real *panel, ptrdiff_t ldp, int back)
{
    int khw = s->kh * s->kw;
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

/* ---- depthwise ---- */

/* Largest zero-padded plane (values) the depthwise path copies to the stack. */
#define CONV_DW_PAD (96 * 96)

/* out[r][c] = sum_{a<KA, b<KB} wv[a*KB + b] * xp[(r*sr + a*dr)*Wp + c*SC + b*dc]
 * over a whole padded plane, the window a literal so that its loops unroll
 * and the column loop vectorizes (SC 1 or the variable sc). */
#define CONV_DW_WIN(KA, KB, SC)                                                                    \
    for (int r = 0; r < Ro; r++) {                                                                 \
        const real *xr = xp + (ptrdiff_t)r * sr * Wp;                                              \
        real *o = out + (ptrdiff_t)r * Wout;                                                       \
        for (int c = 0; c < Wout; c++) {                                                           \
            real acc = 0;                                                                          \
            for (int a = 0; a < (KA); a++)                                                         \
                for (int b = 0; b < (KB); b++)                                                     \
                    acc += wv[a * (KB) + b] * xr[a * dr * Wp + c * (SC) + b * dc];                 \
            o[c] = acc;                                                                            \
        }                                                                                          \
    }

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

/* Copies the window of in (Hi, Wi) that a correlation reads, rows orow..
 * orow+Hp-1 and columns ocol..ocol+Wp-1, to buf (Hp, Wp), zero outside in;
 * a prologue (pre != NULL) transforms the values copied, not the zeros. */
static void conv_dw_window(int Hi, int Wi, int orow, int ocol, int Hp, int Wp, const real *in,
                           real *buf, const ConvPre *pre)
{
    int c0 = ocol < 0 ? -ocol : 0, c1 = Wi - ocol < Wp ? Wi - ocol : Wp;
    for (int r = 0; r < Hp; r++) {
        real *d = buf + (ptrdiff_t)r * Wp;
        int ir = r + orow;
        if (ir < 0 || ir >= Hi || c1 <= c0) {
            memset(d, 0, sizeof(real) * (size_t)Wp);
            continue;
        }
        const real *srow = in + (ptrdiff_t)ir * Wi + ocol;
        for (int c = 0; c < c0; c++)
            d[c] = 0;
        if (pre && pre->scaled) {
            real m = pre->m, sc = pre->s, b = pre->b;
            for (int c = c0; c < c1; c++) {
                real t = (srow[c] - m) * sc + b;
                d[c] = t > 0 ? t : (real)0;
            }
        } else if (pre) {
            for (int c = c0; c < c1; c++)
                d[c] = srow[c] > 0 ? srow[c] : (real)0;
        } else {
            memcpy(d + c0, srow + c0, sizeof(real) * (size_t)(c1 - c0));
        }
        for (int c = c1; c < Wp; c++)
            d[c] = 0;
    }
}

/* One plane of a depthwise correlation:
 * out[r][c] = sum_{a<ka, b<kb} wt[a*wr + b*wc] * in[r*sr + a*dr + orow][c*sc + b*dc + ocol],
 * in (Hi, Wi) zero outside, out (Ro, Wout). Used for the forward (in = x) and,
 * with the flipped kernel, the stride-1 data gradient (in = gy). The window
 * the plane reads is first copied, zero padded, to the stack, so the loops
 * have no bounds tests; 3x3 and 5x5 windows are unrolled. Returns 0 (and
 * does nothing) when the padded plane exceeds CONV_DW_PAD. */
static int conv_dw_plane(int Hi, int Wi, int Ro, int Wout, int ka, int kb, int sr, int sc, int dr,
                         int dc, int orow, int ocol, const real *wt, ptrdiff_t wr, ptrdiff_t wc,
                         const real *in, real *out, const ConvPre *pre)
{
    int Hp = (Ro - 1) * sr + (ka - 1) * dr + 1, Wp = (Wout - 1) * sc + (kb - 1) * dc + 1;
    if ((ptrdiff_t)Hp * Wp > CONV_DW_PAD)
        return 0;
    real xp[CONV_DW_PAD], wv[CONV_DW_TAPS];
    conv_dw_window(Hi, Wi, orow, ocol, Hp, Wp, in, xp, pre);
    for (int a = 0; a < ka; a++)
        for (int b = 0; b < kb; b++)
            wv[a * kb + b] = wt[a * wr + b * wc];
    if (ka == 3 && kb == 3 && sc == 1)
        CONV_DW_WIN(3, 3, 1)
    else if (ka == 5 && kb == 5 && sc == 1)
        CONV_DW_WIN(5, 5, 1)
    else if (ka == 3 && kb == 3)
        CONV_DW_WIN(3, 3, sc)
    else if (ka == 5 && kb == 5)
        CONV_DW_WIN(5, 5, sc)
    else
        for (int r = 0; r < Ro; r++) {
            real *o = out + (ptrdiff_t)r * Wout;
            for (int c = 0; c < Wout; c++)
                o[c] = 0;
            for (int a = 0; a < ka; a++)
                for (int b = 0; b < kb; b++) {
                    const real *xr = xp + (ptrdiff_t)(r * sr + a * dr) * Wp + b * dc;
                    real v = wv[a * kb + b];
                    for (int c = 0; c < Wout; c++)
                        o[c] += v * xr[c * sc];
                }
        }
    return 1;
}

/* Depthwise forward over all N*C planes; pre != 0 applies the prologue
 * (pm, ps, pb) to the input. */
static void conv_dw_fwd(int N, const ConvShape *s, const real *x, const real *w, real *y, int pre,
                        const real *pm, const real *ps, const real *pb)
{
    ptrdiff_t planes = (ptrdiff_t)N * s->Co;
    K_OMP(parallel for if(k_par((double)planes * s->P * s->kh * s->kw)) schedule(static))
    for (ptrdiff_t nc = 0; nc < planes; nc++) {
        ConvPre pv;
        const real *wc = w + (nc % s->Co) * s->kh * s->kw;
        const real *xp = x + nc * s->H * s->W;
        real *yp = y + nc * s->P;
        conv_dw_plane(s->H, s->W, s->Ho, s->Wo, s->kh, s->kw, s->sh, s->sw, s->dh, s->dw,
                      -s->ph, -s->pw, wc, s->kw, 1, xp, yp,
                      conv_pre_at(&pv, pre, pm, ps, pb, (int)(nc % s->Co)));
    }
}

/* Depthwise data gradient: stride 1 is the forward correlation of gy with
 * the flipped kernel; other strides scatter each gy row through the taps
 * (k_conv2d_bwd_data sends strided ones to the reference per sample, which
 * measured faster; this path stays for callers that want planes). */
static void conv_dw_bwd_data(int N, const ConvShape *s, const real *gy, const real *w, real *gx)
{
    ptrdiff_t planes = (ptrdiff_t)N * s->Co, HW = (ptrdiff_t)s->H * s->W;
    K_OMP(parallel for if(k_par((double)planes * s->P * s->kh * s->kw)) schedule(static))
    for (ptrdiff_t nc = 0; nc < planes; nc++) {
        const real *wc = w + (nc % s->Co) * s->kh * s->kw;
        const real *gyp = gy + nc * s->P;
        real *gxp = gx + nc * HW;
        const real *wl = wc + s->kh * s->kw - 1; /* flipped: taps read backwards */
        if (s->sh == 1 && s->sw == 1 &&
            conv_dw_plane(s->Ho, s->Wo, s->H, s->W, s->kh, s->kw, 1, 1, s->dh, s->dw,
                          s->ph - (s->kh - 1) * s->dh, s->pw - (s->kw - 1) * s->dw, wl, -s->kw,
                          -1, gyp, gxp, NULL))
            continue;
        memset(gxp, 0, sizeof(real) * (size_t)HW);
        for (int ki = 0; ki < s->kh; ki++) {
            int oh0, oh1;
            k_valid_range(s->Ho, s->sh, ki * s->dh - s->ph, s->H, &oh0, &oh1);
            for (int oh = oh0; oh < oh1; oh++) {
                real *xr = gxp + (ptrdiff_t)(oh * s->sh + ki * s->dh - s->ph) * s->W;
                const real *yr = gyp + (ptrdiff_t)oh * s->Wo;
                for (int kj = 0; kj < s->kw; kj++) {
                    real wv = wc[ki * s->kw + kj];
                    int offw = kj * s->dw - s->pw, ow0, ow1;
                    k_valid_range(s->Wo, s->sw, offw, s->W, &ow0, &ow1);
                    for (int ow = ow0; ow < ow1; ow++)
                        xr[ow * s->sw + offw] += wv * yr[ow];
                }
            }
        }
    }
}

/* Depthwise weight gradient, parallel over channels. Each (n, c) input plane
 * is copied zero padded to the stack; each tap is then a dot product of gy
 * with a shifted view of it, rows summed in real, planes in real_acc. */
static void conv_dw_bwd_weight(int N, const ConvShape *s, const real *x, const real *gy, real *gw,
                               int pre, const real *pm, const real *ps, const real *pb)
{
    int C = s->Co, taps = s->kh * s->kw;
    int Hp = (s->Ho - 1) * s->sh + (s->kh - 1) * s->dh + 1;
    int Wp = (s->Wo - 1) * s->sw + (s->kw - 1) * s->dw + 1;
    K_OMP(parallel for if(k_par((double)N * C * s->P * taps)) schedule(static))
    for (int c = 0; c < C; c++) {
        real_acc acc[CONV_DW_TAPS];
        real xp[CONV_DW_PAD];
        ConvPre pv;
        const ConvPre *pc = conv_pre_at(&pv, pre, pm, ps, pb, c);
        for (int t = 0; t < taps; t++)
            acc[t] = 0;
        for (int n = 0; n < N; n++) {
            conv_dw_window(s->H, s->W, -s->ph, -s->pw, Hp, Wp,
                           x + ((ptrdiff_t)n * C + c) * s->H * s->W, xp, pc);
            const real *gyp = gy + ((ptrdiff_t)n * C + c) * s->P;
            for (int a = 0; a < s->kh; a++)
                for (int b = 0; b < s->kw; b++) {
                    real t = 0;
                    for (int r = 0; r < s->Ho; r++) {
                        const real *xr = xp + (ptrdiff_t)(r * s->sh + a * s->dh) * Wp + b * s->dw;
                        const real *yr = gyp + (ptrdiff_t)r * s->Wo;
                        if (s->sw == 1) {
                            K_OMP(simd reduction(+:t))
                            for (int ow = 0; ow < s->Wo; ow++)
                                t += yr[ow] * xr[ow];
                        } else {
                            K_OMP(simd reduction(+:t))
                            for (int ow = 0; ow < s->Wo; ow++)
                                t += yr[ow] * xr[ow * s->sw];
                        }
                    }
                    acc[a * s->kw + b] += t;
                }
        }
        for (int t = 0; t < taps; t++)
            gw[(ptrdiff_t)c * taps + t] = (real)acc[t];
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
 * convs multiply x directly, others through im2col panels. */
static void conv_dense_fwd(int N, const ConvShape *s, const real *x, const real *w, real *y)
{
    int pointwise = conv_is_pointwise(s), kp = conv_panel_rows(s);
    int T = k_par((double)N * s->Co * s->K * s->P) ? k_omp_max_threads() : 1;
    ptrdiff_t jc = conv_chunk(N * s->g, s->P, T, pointwise ? CONV_PW_JB : conv_panel_cols(s));
    ptrdiff_t tiles = (s->P + jc - 1) / jc, ntask = (ptrdiff_t)N * s->g * tiles;
    K_OMP(parallel for if(T > 1) schedule(static))
    for (ptrdiff_t t = 0; t < ntask; t++) {
        real panel[CONV_PANEL];
        ptrdiff_t jt = t % tiles, ng = t / tiles;
        int n = (int)(ng / s->g), gi = (int)(ng % s->g);
        ptrdiff_t j0 = jt * jc;
        int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
        const real *xg = x + ((ptrdiff_t)n * s->Ci + (ptrdiff_t)gi * s->Cig) * s->H * s->W;
        const real *wg = w + (ptrdiff_t)gi * s->Cog * s->K;
        real *yg = y + ((ptrdiff_t)n * s->Co + (ptrdiff_t)gi * s->Cog) * s->P + j0;
        if (pointwise) {
            conv_gemm(s->Co, jb, s->K, wg, s->K, 1, xg + j0, s->P, yg, s->P, 0);
            continue;
        }
        for (int k0 = 0; k0 < s->K; k0 += kp) {
            int kc = conv_min(kp, s->K - k0);
            conv_im2col(s, k0, kc, j0, jb, (real *)xg, panel, jb, 0);
            conv_gemm(s->Cog, jb, kc, wg + k0, s->K, 1, panel, jb, yg, s->P, k0 > 0);
        }
    }
}

/* Dense data gradient: gx = col2im(w^T gy). Pointwise tasks are (sample,
 * column chunk); im2col ones (sample, group), since col2im of neighbouring
 * chunks overlaps. */
static void conv_dense_bwd_data(int N, const ConvShape *s, const real *gy, const real *w, real *gx)
{
    int T = k_par((double)N * s->Co * s->K * s->P) ? k_omp_max_threads() : 1;
    if (conv_is_pointwise(s)) {
        ptrdiff_t jc = conv_chunk(N, s->P, T, CONV_PW_JB);
        ptrdiff_t tiles = (s->P + jc - 1) / jc, ntask = (ptrdiff_t)N * tiles;
        K_OMP(parallel for if(T > 1) schedule(static))
        for (ptrdiff_t t = 0; t < ntask; t++) {
            int n = (int)(t / tiles);
            ptrdiff_t j0 = t % tiles * jc;
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            conv_gemm(s->Ci, jb, s->Co, w, 1, s->Ci, gy + (ptrdiff_t)n * s->Co * s->P + j0, s->P,
                      gx + (ptrdiff_t)n * s->Ci * s->P + j0, s->P, 0);
        }
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
        const real *gyg = gy + ((ptrdiff_t)n * s->Co + (ptrdiff_t)gi * s->Cog) * s->P;
        memset(xg, 0, sizeof(real) * (size_t)s->Cig * (size_t)s->H * (size_t)s->W);
        for (ptrdiff_t j0 = 0; j0 < s->P; j0 += jc) {
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            for (int k0 = 0; k0 < s->K; k0 += kp) {
                int kc = conv_min(kp, s->K - k0);
                conv_gemm(kc, jb, s->Cog, wg + k0, 1, s->K, gyg + j0, s->P, panel, jb, 0);
                conv_im2col(s, k0, kc, j0, jb, xg, panel, jb, 1);
            }
        }
    }
}

/* Adds the share of samples n..n+G-1 of one weight-gradient tile (output
 * channels co0..co0+cb-1 of group gi, taps k0..k0+kb-1) into acc (cb x kb,
 * rows kb apart). Pointwise convs read x directly, all G samples in one
 * pass; others build im2col panels of one sample at a time. */
static void conv_wgrad_tile(const ConvShape *s, int n, int G, int gi, int co0, int cb, int k0,
                            int kb, const real *x, const real *gy, real_acc *acc)
{
    real panel[CONV_WPANEL];
    ptrdiff_t HW = (ptrdiff_t)s->H * s->W;
    const real *xg = x + ((ptrdiff_t)n * s->Ci + (ptrdiff_t)gi * s->Cig) * HW;
    const real *gyc = gy + ((ptrdiff_t)n * s->Co + (ptrdiff_t)gi * s->Cog + co0) * s->P;
    if (conv_is_pointwise(s)) {
        conv_gemm_nt_acc(cb, kb, (int)s->P, G, gyc, s->P, s->Co * s->P, xg + (ptrdiff_t)k0 * s->P,
                         s->P, s->Ci * HW, acc, kb);
        return;
    }
    ptrdiff_t jc = CONV_WPANEL / kb;
    for (int g = 0; g < G; g++)
        for (ptrdiff_t j0 = 0; j0 < s->P; j0 += jc) {
            int jb = (int)(s->P - j0 < jc ? s->P - j0 : jc);
            conv_im2col(s, k0, kb, j0, jb, (real *)(xg + g * s->Ci * HW), panel, jb, 0);
            conv_gemm_nt_acc(cb, kb, jb, 1, gyc + g * s->Co * s->P + j0, s->P, 0, panel, jb, 0,
                             acc, kb);
        }
}

/* Samples summed in float lanes per weight-gradient pass: enough for about
 * CONV_WSUM products per lane set, at most the batch. */
static int conv_wgrad_group(const ConvShape *s)
{
    ptrdiff_t g = CONV_WSUM / (s->P > 0 ? s->P : 1);
    return conv_is_pointwise(s) && g > 1 ? (int)g : 1;
}

/* Dense weight gradient gw_g = sum_n gy[n, g] cols[n]^T, in tiles of
 * CONV_WB x CONV_WB. With at least as many tiles as threads, each tile is one
 * task over the whole batch; otherwise every thread sums a fixed slice of the
 * batch for each tile and the slices are added in thread order. */
static void conv_dense_bwd_weight(int N, const ConvShape *s, const real *x, const real *gy,
                                  real *gw)
{
    int cbs = (s->Cog + CONV_WB - 1) / CONV_WB, kbs = (s->K + CONV_WB - 1) / CONV_WB;
    int ntile = s->g * cbs * kbs, G = conv_wgrad_group(s);
    int work = k_par((double)N * s->Co * s->K * s->P);
    int T = work ? k_omp_max_threads() : 1;
    if (ntile >= T) {
        K_OMP(parallel for if(work) schedule(dynamic))
        for (int t = 0; t < ntile; t++) {
            real_acc acc[CONV_WB * CONV_WB];
            int gi = t / (cbs * kbs), co0 = t / kbs % cbs * CONV_WB, k0 = t % kbs * CONV_WB;
            int cb = conv_min(CONV_WB, s->Cog - co0), kb = conv_min(CONV_WB, s->K - k0);
            for (int i = 0; i < cb * kb; i++)
                acc[i] = 0;
            for (int n = 0; n < N; n += G)
                conv_wgrad_tile(s, n, conv_min(G, N - n), gi, co0, cb, k0, kb, x, gy, acc);
            for (int i = 0; i < cb; i++)
                for (int k = 0; k < kb; k++)
                    gw[((ptrdiff_t)gi * s->Cog + co0 + i) * s->K + k0 + k] = (real)acc[i * kb + k];
        }
        return;
    }
    real_acc sum[CONV_WB * CONV_WB];
    K_OMP(parallel num_threads(T))
    {
        int nt = k_omp_nthreads(), me = k_omp_thread();
        int n0 = (int)((ptrdiff_t)N * me / nt), n1 = (int)((ptrdiff_t)N * (me + 1) / nt);
        for (int t = 0; t < ntile; t++) {
            real_acc acc[CONV_WB * CONV_WB];
            int gi = t / (cbs * kbs), co0 = t / kbs % cbs * CONV_WB, k0 = t % kbs * CONV_WB;
            int cb = conv_min(CONV_WB, s->Cog - co0), kb = conv_min(CONV_WB, s->K - k0);
            for (int i = 0; i < cb * kb; i++)
                acc[i] = 0;
            for (int n = n0; n < n1; n += G)
                conv_wgrad_tile(s, n, conv_min(G, n1 - n), gi, co0, cb, k0, kb, x, gy, acc);
            for (int r = 0; r < nt; r++) {
                if (r == me)
                    for (int i = 0; i < cb * kb; i++)
                        sum[i] = r == 0 ? acc[i] : sum[i] + acc[i];
                K_OMP(barrier)
            }
            K_OMP(single)
            for (int i = 0; i < cb; i++)
                for (int k = 0; k < kb; k++)
                    gw[((ptrdiff_t)gi * s->Cog + co0 + i) * s->K + k0 + k] = (real)sum[i * kb + k];
        }
    }
}

/* ---- public entry points ---- */

/* 1 when the depthwise fast path applies: small window, and the padded
 * input and output planes fit the stack buffer. */
static int conv_is_depthwise(const ConvShape *s)
{
    int Hp = (s->Ho - 1) * s->sh + (s->kh - 1) * s->dh + 1;
    int Wp = (s->Wo - 1) * s->sw + (s->kw - 1) * s->dw + 1;
    int Hq = s->H + (s->kh - 1) * s->dh, Wq = s->W + (s->kw - 1) * s->dw;
    return s->g == s->Ci && s->g == s->Co && s->kh * s->kw <= CONV_DW_TAPS &&
           (ptrdiff_t)Hp * Wp <= CONV_DW_PAD && (ptrdiff_t)Hq * Wq <= CONV_DW_PAD;
}

/* Forward: y = conv(x, w), dispatched to the depthwise or dense path. */
K_FN void k_conv2d_fwd(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                       int ph, int pw, int dh, int dw, int g,
                       const real *x, const real *w, real *y)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0)
        return;
    if (conv_is_depthwise(&s) && s.sh == 1 && s.sw == 1)
        conv_dw_fwd(N, &s, x, w, y, 0, NULL, NULL, NULL);
    else if (conv_is_depthwise(&s)) {
        /* strided depthwise: the reference loops are as fast; run samples in parallel */
        K_OMP(parallel for if(k_par((double)N * Co * s.P * kh * kw)) schedule(static))
        for (int n = 0; n < N; n++)
            k_conv2d_fwd_ref(1, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g,
                             x + (ptrdiff_t)n * Ci * H * W, w, y + (ptrdiff_t)n * Co * s.P);
    } else
        conv_dense_fwd(N, &s, x, w, y);
}

/* Input gradient (overwrites gx). */
K_FN void k_conv2d_bwd_data(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                            int ph, int pw, int dh, int dw, int g,
                            const real *gy, const real *w, real *gx)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (s.Ho <= 0 || s.Wo <= 0) {
        memset(gx, 0, sizeof(real) * (size_t)N * (size_t)Ci * (size_t)H * (size_t)W);
        return;
    }
    if (conv_is_depthwise(&s) && s.sh == 1 && s.sw == 1)
        conv_dw_bwd_data(N, &s, gy, w, gx);
    else if (conv_is_depthwise(&s)) {
        K_OMP(parallel for if(k_par((double)N * Co * s.P * kh * kw)) schedule(static))
        for (int n = 0; n < N; n++)
            k_conv2d_bwd_data_ref(1, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g,
                                  gy + (ptrdiff_t)n * Co * s.P, w, gx + (ptrdiff_t)n * Ci * H * W);
    } else
        conv_dense_bwd_data(N, &s, gy, w, gx);
}

/* Weight gradient (overwrites gw). */
K_FN void k_conv2d_bwd_weight(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                              int ph, int pw, int dh, int dw, int g,
                              const real *x, const real *gy, real *gw)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0) {
        memset(gw, 0, sizeof(real) * (size_t)Co * (size_t)s.K);
        return;
    }
    if (conv_is_depthwise(&s))
        conv_dw_bwd_weight(N, &s, x, gy, gw, 0, NULL, NULL, NULL);
    else
        conv_dense_bwd_weight(N, &s, x, gy, gw);
}

/* Fused-prologue forward: stride-1 depthwise convs transform each plane as
 * they copy it to the stack; strided depthwise ones run the reference per
 * sample in parallel; other convs run the reference. */
K_FN void k_conv2d_fwd_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g,
                           const real *pre_mean, const real *pre_scale, const real *pre_shift,
                           const real *x, const real *w, real *y)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0)
        return;
    if (conv_is_depthwise(&s) && s.sh == 1 && s.sw == 1)
        conv_dw_fwd(N, &s, x, w, y, 1, pre_mean, pre_scale, pre_shift);
    else if (conv_is_depthwise(&s)) {
        K_OMP(parallel for if(k_par((double)N * Co * s.P * kh * kw)) schedule(static))
        for (int n = 0; n < N; n++)
            k_conv2d_fwd_pre_ref(1, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, pre_mean,
                                 pre_scale, pre_shift, x + (ptrdiff_t)n * Ci * H * W, w,
                                 y + (ptrdiff_t)n * Co * s.P);
    } else
        k_conv2d_fwd_pre_ref(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, pre_mean, pre_scale,
                             pre_shift, x, w, y);
}

/* Fused-prologue weight gradient (overwrites gw): depthwise convs transform
 * each plane as they copy it to the stack; others run the reference. */
K_FN void k_conv2d_bwd_weight_pre(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                  int sw, int ph, int pw, int dh, int dw, int g,
                                  const real *pre_mean, const real *pre_scale,
                                  const real *pre_shift, const real *x, const real *gy, real *gw)
{
    ConvShape s = conv_shape(Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    if (s.Ho <= 0 || s.Wo <= 0 || N <= 0) {
        memset(gw, 0, sizeof(real) * (size_t)Co * (size_t)s.K);
        return;
    }
    if (conv_is_depthwise(&s))
        conv_dw_bwd_weight(N, &s, x, gy, gw, 1, pre_mean, pre_scale, pre_shift);
    else
        k_conv2d_bwd_weight_pre_ref(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, pre_mean,
                                    pre_scale, pre_shift, x, gy, gw);
}
