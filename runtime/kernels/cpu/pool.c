/* pool.c: max and average pooling over kh x kw windows (floor mode, no
 * dilation), forward and backward, with PyTorch's window and divisor rules.
 * The tuned kernels (whole padded planes as flat rows, in phases at
 * strides above 1; planes too large for that: interior columns
 * vectorized; same taps in the same order, so the same bits) sit beside
 * their references k_*pool_*_ref; all run the N*C planes in parallel. */
#include "cpu_kernels.h"

#include <math.h>
#include <string.h>

/* Index into the (H, W) plane of the first maximum of the window whose top
 * left corner is (h0, w0) (may be in the padding; padding never wins). */
static ptrdiff_t maxpool_argmax(const real *xp, int H, int W, int kh, int kw, int h0, int w0)
{
    int ha = h0 < 0 ? 0 : h0, hb = h0 + kh < H ? h0 + kh : H;
    int wa = w0 < 0 ? 0 : w0, wb = w0 + kw < W ? w0 + kw : W;
    ptrdiff_t best = (ptrdiff_t)ha * W + wa;
    real bv = -INFINITY;
    for (int ih = ha; ih < hb; ih++)
        for (int iw = wa; iw < wb; iw++) {
            real v = xp[(ptrdiff_t)ih * W + iw];
            if (v > bv || v != v) {
                bv = v;
                best = (ptrdiff_t)ih * W + iw;
            }
        }
    return best;
}

/* Max pool forward, reference. */
K_FN void k_maxpool_fwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, const real *x, real *y)
{
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1);
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * H * W;
        real *yp = y + nc * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++)
                yp[oh * Wo + ow] = xp[maxpool_argmax(xp, H, W, kh, kw, oh * sh - ph, ow * sw - pw)];
    }
}

/* Max pool backward, reference: routes each gy to its window's argmax. */
K_FN void k_maxpool_bwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, const real *x, const real *gy, real *gx)
{
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1);
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * H * W;
        const real *gyp = gy + nc * Ho * Wo;
        real *gxp = gx + nc * H * W;
        memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++)
                gxp[maxpool_argmax(xp, H, W, kh, kw, oh * sh - ph, ow * sw - pw)] += gyp[oh * Wo + ow];
    }
}

/* The in-image window [*ha, *hb) x [*wa, *wb) of output (oh, ow) and its
 * divisor, following PyTorch: with padding counted, the window clipped to
 * the padded input; otherwise the in-image taps. */
static int avgpool_window(int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                          int count_include_pad, int oh, int ow,
                          int *ha, int *hb, int *wa, int *wb)
{
    int h0 = oh * sh - ph, w0 = ow * sw - pw;
    int h1 = h0 + kh < H + ph ? h0 + kh : H + ph;
    int w1 = w0 + kw < W + pw ? w0 + kw : W + pw;
    int padded = (h1 - h0) * (w1 - w0);
    *ha = h0 < 0 ? 0 : h0;
    *wa = w0 < 0 ? 0 : w0;
    *hb = h1 < H ? h1 : H;
    *wb = w1 < W ? w1 : W;
    return count_include_pad ? padded : (*hb - *ha) * (*wb - *wa);
}

/* Average pool forward, reference. */
K_FN void k_avgpool_fwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, int count_include_pad, const real *x, real *y)
{
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1);
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * H * W;
        real *yp = y + nc * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                int ha, hb, wa, wb;
                int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow,
                                         &ha, &hb, &wa, &wb);
                real s = 0;
                for (int ih = ha; ih < hb; ih++)
                    for (int iw = wa; iw < wb; iw++)
                        s += xp[(ptrdiff_t)ih * W + iw];
                yp[oh * Wo + ow] = s / (real)div;
            }
    }
}

/* Average pool backward, reference: spreads gy/divisor over each window. */
K_FN void k_avgpool_bwd_ref(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                            int ph, int pw, int count_include_pad, const real *gy, real *gx)
{
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1);
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *gyp = gy + nc * Ho * Wo;
        real *gxp = gx + nc * H * W;
        memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                int ha, hb, wa, wb;
                int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow,
                                         &ha, &hb, &wa, &wb);
                real g = gyp[oh * Wo + ow] / (real)div;
                for (int ih = ha; ih < hb; ih++)
                    for (int iw = wa; iw < wb; iw++)
                        gxp[(ptrdiff_t)ih * W + iw] += g;
            }
    }
}

/* Output columns [*lo, *hi) whose window lies wholly inside the image. */
static void pool_inner_cols(int Wo, int W, int kw, int sw, int pw, int *lo, int *hi)
{
    int a, b, c, d;
    k_valid_range(Wo, sw, -pw, W, &a, &b);
    k_valid_range(Wo, sw, kw - 1 - pw, W, &c, &d);
    *lo = a;
    *hi = d > a ? d : a;
}

/* ---- the flat path: whole planes at once, at any small stride ----
 * A plane is copied into a padded buffer on the stack in phases
 * (k_plane_phases, the depthwise path's layout: sh*sw phase planes of R
 * rows of L values, padded row k, column k2 in phase (k % sh, k2 % sw) at
 * (k / sh, k2 / sw)), its border holding -inf for max and 0 for average,
 * written once per thread. Output (oh, ow) is value f = oh*L + ow of a
 * flat row, and tap (a, b) reads the phase of (a % sh, b % sw) at f +
 * (a / sh)*L + b / sw: one contiguous pass over the plane per tap, at any
 * stride, vectorized (the columns past each row are computed and
 * dropped), borders included: small planes (7x7, 14x14) have few interior
 * columns per row. Same taps in the same order as the references, so the
 * same bits: padding never wins a max (-inf loses every strict
 * comparison) and adds exact zeros to a sum that is never -0. The average
 * backward spreads gy/divisor over a zeroed phase buffer one tap at a
 * time, the taps in reverse window order: each gx value then receives its
 * terms in the reference's output order (a later output reaches it through
 * an earlier tap). */

#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#define POOL_WIDE __attribute__((target("prefer-vector-width=512"), noinline))
#else
#define POOL_WIDE
#endif
#define POOL_PAD (64 * 64) /* largest padded plane of the flat path, all phases */
#define POOL_TAPS 64       /* largest window of the flat path */
#define POOL_PH 4          /* largest stride of the flat path */
/* Lanes of the flat engines: columns computed together, the taps looping
 * outside them so each lane's running value stays in a register. */
#define POOL_VL 16

/* The geometry of the flat path for one pool shape. */
typedef struct {
    int Ho, Wo, R, L;
    ptrdiff_t RL, n, off[POOL_TAPS]; /* phase plane values, flat outputs, tap offsets */
} PoolFlat;

/* Fills f for the pool and returns 1 when it takes the flat path: stride
 * at most POOL_PH, padding less than the window, at most POOL_TAPS taps,
 * the phase planes within POOL_PAD with POOL_VL values to spare. */
static int pool_flat(int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, PoolFlat *f)
{
    f->Ho = k_out_size(H, kh, sh, ph, 1), f->Wo = k_out_size(W, kw, sw, pw, 1);
    if (sh > POOL_PH || sw > POOL_PH || ph >= kh || pw >= kw || kh * kw > POOL_TAPS || f->Ho <= 0 ||
        f->Wo <= 0)
        return 0;
    f->R = f->Ho + (kh - 1) / sh, f->L = f->Wo + (kw - 1) / sw;
    f->RL = (ptrdiff_t)f->R * f->L;
    f->n = (ptrdiff_t)(f->Ho - 1) * f->L + f->Wo;
    if ((ptrdiff_t)sh * sw * f->RL + POOL_VL > POOL_PAD)
        return 0;
    for (int a = 0; a < kh; a++)
        for (int b = 0; b < kw; b++)
            f->off[a * kw + b] = ((ptrdiff_t)(a % sh) * sw + b % sw) * f->RL + (ptrdiff_t)(a / sh) * f->L +
                                 b / sw;
    return 1;
}

/* Copies rows of n values L apart from the flat row src into dst. */
static inline void pool_take(const real *src, int rows, int n, int L, real *dst)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (ptrdiff_t)r * n, src + (ptrdiff_t)r * L, sizeof(real) * (size_t)n);
}

/* The (H, W) plane dst from the phase planes of buf (k_plane_phases'
 * layout, the plane at padded row pt, column pl): the fill undone. The
 * rows and columns past the phases (which no window reaches in floor
 * mode) are 0. */
static void pool_unphase(const real *buf, int H, int Wi, int pt, int pl, int sh, int sw, const PoolFlat *f,
                         real *dst)
{
    int W = Wi < sw * f->L - pl ? Wi : sw * f->L - pl; /* the columns in the phases */
    for (int h = 0; h < H; h++) {
        int k = h + pt;
        const real *row = buf + (ptrdiff_t)(k % sh) * sw * f->RL + (ptrdiff_t)(k / sh) * f->L;
        real *restrict d = dst + (ptrdiff_t)h * Wi;
        if (k / sh >= f->R) {
            memset(d, 0, sizeof(real) * (size_t)Wi);
            continue;
        }
        for (int w = W; w < Wi; w++)
            d[w] = 0;
        if (sw == 1) {
            memcpy(d, row + pl, sizeof(real) * (size_t)W);
            continue;
        }
#ifdef K_AVX512
        if (sw == 2) {
            /* d[2i] = de[i], d[2i + 1] = dd[i]: the two column phases interleaved */
            const real *de = row + (pl % 2) * f->RL + pl / 2, *dd = row + ((pl + 1) % 2) * f->RL + (pl + 1) / 2;
            const __m512i il = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
            const __m512i ih = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
            int ne = (W + 1) / 2, no = W / 2;
            for (int i = 0; i < ne; i += 16) {
                __m512 e = _mm512_maskz_loadu_ps(k_mask16(ne - i), de + i);
                __m512 o = _mm512_maskz_loadu_ps(k_mask16(no - i), dd + i);
                _mm512_mask_storeu_ps(d + 2 * i, k_mask16(W - 2 * i), _mm512_permutex2var_ps(e, il, o));
                _mm512_mask_storeu_ps(d + 2 * i + 16, k_mask16(W - 2 * i - 16), _mm512_permutex2var_ps(e, ih, o));
            }
            continue;
        }
#endif
        for (int w = 0; w < W; w++) {
            int c = w + pl;
            d[w] = row[(ptrdiff_t)(c % sw) * f->RL + c / sw];
        }
    }
}

/* out[f] = max over taps t (in order) of in[off[t] + f], for f < n, with
 * the NaN rule of maxpool_argmax; bt (when not NULL) gets the winning tap,
 * -1 when none beat -inf. In chunks of POOL_VL columns, the last one
 * overlapping the one before (the same values again); in must be readable
 * POOL_VL values past off[t] + n. */
POOL_WIDE static void pool_max_eng(int nt, int n, const real *restrict in, const ptrdiff_t *off,
                                   real *restrict out, int *restrict bt)
{
#ifdef K_AVX512 /* GCC leaves the running maximum and argmax scalar */
    for (int f0 = 0; f0 < n; f0 += POOL_VL) {
        int f = n < POOL_VL ? 0 : f0 + POOL_VL <= n ? f0 : n - POOL_VL;
        __m512 s = _mm512_set1_ps(-INFINITY);
        __m512i best = _mm512_set1_epi32(-1);
        for (int t = 0; t < nt; t++) {
            __m512 v = _mm512_loadu_ps(in + off[t] + f);
            __mmask16 take = _mm512_cmp_ps_mask(v, s, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
            s = _mm512_mask_mov_ps(s, take, v);
            best = _mm512_mask_mov_epi32(best, take, _mm512_set1_epi32(t));
        }
        __mmask16 k = k_mask16(n);
        _mm512_mask_storeu_ps(out + f, k, s);
        if (bt)
            _mm512_mask_storeu_epi32(bt + f, k, best);
    }
#else
    for (int f0 = 0; f0 < n; f0 += POOL_VL) {
        int f = n < POOL_VL ? 0 : f0 + POOL_VL <= n ? f0 : n - POOL_VL;
        real s[POOL_VL];
        int best[POOL_VL];
        for (int l = 0; l < POOL_VL; l++) {
            s[l] = -INFINITY;
            best[l] = -1;
        }
        for (int t = 0; t < nt; t++) {
            const real *p = in + off[t] + f;
            for (int l = 0; l < POOL_VL; l++) {
                real v = p[l];
                int take = (v > s[l]) | (v != v); /* no branch: vectorizes */
                s[l] = take ? v : s[l];
                best[l] = take ? t : best[l];
            }
        }
        int m = n < POOL_VL ? n : POOL_VL;
        for (int l = 0; l < m; l++)
            out[f + l] = s[l];
        if (bt)
            for (int l = 0; l < m; l++)
                bt[f + l] = best[l];
    }
#endif
}

/* out[f] = sum over taps t (in order, from 0) of in[off[t] + f], f < n;
 * chunks as in pool_max_eng. */
POOL_WIDE static void pool_sum_eng(int nt, int n, const real *restrict in, const ptrdiff_t *off,
                                   real *restrict out)
{
#ifdef K_AVX512 /* GCC leaves the lanes of s scalar (one vaddss per value) */
    for (int f0 = 0; f0 < n; f0 += POOL_VL) {
        int f = n < POOL_VL ? 0 : f0 + POOL_VL <= n ? f0 : n - POOL_VL;
        __m512 s = _mm512_setzero_ps();
        for (int t = 0; t < nt; t++)
            s = _mm512_add_ps(s, _mm512_loadu_ps(in + off[t] + f));
        _mm512_mask_storeu_ps(out + f, k_mask16(n), s);
    }
#else
    for (int f0 = 0; f0 < n; f0 += POOL_VL) {
        int f = n < POOL_VL ? 0 : f0 + POOL_VL <= n ? f0 : n - POOL_VL;
        real s[POOL_VL];
        for (int l = 0; l < POOL_VL; l++)
            s[l] = 0;
        for (int t = 0; t < nt; t++) {
            const real *p = in + off[t] + f;
            for (int l = 0; l < POOL_VL; l++)
                s[l] += p[l];
        }
        int m = n < POOL_VL ? n : POOL_VL;
        for (int l = 0; l < m; l++)
            out[f + l] = s[l];
    }
#endif
}

/* acc[off[t] + f] += g[f] for f < n, the taps t from nt - 1 down to 0. */
POOL_WIDE static void pool_spread_eng(int nt, int n, const real *restrict g, const ptrdiff_t *off,
                                      real *restrict acc)
{
    for (int t = nt - 1; t >= 0; t--) {
        real *a = acc + off[t];
        for (int f = 0; f < n; f++)
            a[f] += g[f];
    }
}

/* The divisors of the average pool's outputs along one axis (n inputs,
 * window k, stride s, padding p): dv[o] for o < no, so that output (oh,
 * ow) divides by dr[oh]*dc[ow] as in avgpool_window. */
static void pool_divisors(int n, int k, int s, int p, int no, int count_include_pad, int *dv)
{
    for (int o = 0; o < no; o++) {
        int a0 = o * s - p, a1 = a0 + k < n + p ? a0 + k : n + p;
        int lo = a0 < 0 ? 0 : a0, hi = a1 < n ? a1 : n;
        dv[o] = count_include_pad ? a1 - a0 : hi - lo;
    }
}

/* Max pool forward or backward (gy != NULL) over all planes, flat path f. */
static void pool_max_flat(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                          const PoolFlat *f, const real *x, const real *gy, real *y, real *gx)
{
    int Ho = f->Ho, Wo = f->Wo, L = f->L, n = (int)f->n;
    K_OMP(parallel if(k_par((double)N * C * Ho * Wo * kh * kw)))
    {
        real buf[POOL_PAD], ob[POOL_PAD];
        int bt[POOL_PAD];
        for (int i = 0; i < POOL_PAD; i++)
            buf[i] = -INFINITY;
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
            const real *xp = x + nc * H * W;
            k_plane_phases(xp, H, W, ph, pw, sh, sw, f->R, L, buf);
            pool_max_eng(kh * kw, n, buf, f->off, ob, gy ? bt : NULL);
            if (!gy) {
                pool_take(ob, Ho, Wo, L, y + nc * Ho * Wo);
                continue;
            }
            const real *gyp = gy + nc * Ho * Wo;
            real *gxp = gx + nc * H * W;
            memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    int t = bt[oh * L + ow], h0 = oh * sh - ph, w0 = ow * sw - pw;
                    ptrdiff_t i = t >= 0 ? (ptrdiff_t)(h0 + t / kw) * W + (w0 + t % kw)
                                         : maxpool_argmax(xp, H, W, kh, kw, h0, w0);
                    gxp[i] += gyp[(ptrdiff_t)oh * Wo + ow];
                }
        }
    }
}

/* Average pool forward (x != NULL) or backward (gy != NULL), flat path f. */
static void pool_avg_flat(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                          int count_include_pad, const PoolFlat *f, const real *x, const real *gy, real *y,
                          real *gx)
{
    int Ho = f->Ho, Wo = f->Wo, L = f->L, n = (int)f->n;
    ptrdiff_t used = (ptrdiff_t)sh * sw * f->RL;
    int dr[POOL_PAD], dc[POOL_PAD]; /* Ho, Wo <= POOL_PAD */
    pool_divisors(H, kh, sh, ph, Ho, count_include_pad, dr);
    pool_divisors(W, kw, sw, pw, Wo, count_include_pad, dc);
    K_OMP(parallel if(k_par((double)N * C * Ho * Wo * kh * kw)))
    {
        real buf[POOL_PAD], ob[POOL_PAD];
        memset(buf, 0, sizeof buf);
        memset(ob, 0, sizeof ob); /* backward: the columns past each row of gy/divisor stay 0 */
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
            if (x) {
                k_plane_phases(x + nc * H * W, H, W, ph, pw, sh, sw, f->R, L, buf);
                pool_sum_eng(kh * kw, n, buf, f->off, ob);
                real *yp = y + nc * Ho * Wo;
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++)
                        yp[oh * Wo + ow] = ob[oh * L + ow] / (real)(dr[oh] * dc[ow]);
                continue;
            }
            /* gy/divisor as the flat row ob, spread over the zeroed phases of gx */
            const real *gyp = gy + nc * Ho * Wo;
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++)
                    ob[oh * L + ow] = gyp[oh * Wo + ow] / (real)(dr[oh] * dc[ow]);
            memset(buf, 0, sizeof(real) * (size_t)used);
            pool_spread_eng(kh * kw, n, ob, f->off, buf);
            pool_unphase(buf, H, W, ph, pw, sh, sw, f, gx + nc * H * W);
        }
    }
}

/* Max pool forward, tuned: planes in parallel; interior columns take the
 * same taps in the same order as maxpool_argmax, one tap at a time over the
 * whole row (vectorized), the row itself holding the running maxima. */
K_FN void k_maxpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, real *y)
{
    PoolFlat f;
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw, &f)) {
        pool_max_flat(N, C, H, W, kh, kw, sh, sw, ph, pw, &f, x, NULL, y, NULL);
        return;
    }
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1), lo, hi;
    pool_inner_cols(Wo, W, kw, sw, pw, &lo, &hi);
    K_OMP(parallel for if(k_par((double)N * C * Ho * Wo * kh * kw)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * H * W;
        real *yp = y + nc * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++) {
            int h0 = oh * sh - ph;
            int ha = h0 < 0 ? 0 : h0, hb = h0 + kh < H ? h0 + kh : H;
            real *yr = yp + (ptrdiff_t)oh * Wo;
            for (int ow = 0; ow < lo; ow++)
                yr[ow] = xp[maxpool_argmax(xp, H, W, kh, kw, h0, ow * sw - pw)];
            for (int ow = lo; ow < hi; ow++)
                yr[ow] = -INFINITY;
            for (int ih = ha; ih < hb; ih++)
                for (int kj = 0; kj < kw; kj++) {
                    const real *xc = xp + (ptrdiff_t)ih * W + kj - pw;
                    if (sw == 1)
                        for (int ow = lo; ow < hi; ow++) {
                            real v = xc[ow], bv = yr[ow];
                            yr[ow] = v > bv || v != v ? v : bv;
                        }
                    else
                        for (int ow = lo; ow < hi; ow++) {
                            real v = xc[ow * sw], bv = yr[ow];
                            yr[ow] = v > bv || v != v ? v : bv;
                        }
                }
            for (int ow = hi; ow < Wo; ow++)
                yr[ow] = xp[maxpool_argmax(xp, H, W, kh, kw, h0, ow * sw - pw)];
        }
    }
}

/* Average of the window of output (oh, ow) of plane xp, the border case. */
static real avgpool_one(const real *xp, int H, int W, int kh, int kw, int sh, int sw, int ph,
                        int pw, int count_include_pad, int oh, int ow)
{
    int ha, hb, wa, wb;
    int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow, &ha, &hb,
                             &wa, &wb);
    real s = 0;
    for (int ih = ha; ih < hb; ih++)
        for (int iw = wa; iw < wb; iw++)
            s += xp[(ptrdiff_t)ih * W + iw];
    return s / (real)div;
}

/* Average pool forward, tuned: planes in parallel; interior columns sum the
 * same taps in the same order as the reference, vectorized along the row. */
K_FN void k_avgpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int count_include_pad, const real *x, real *y)
{
    PoolFlat f;
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw, &f)) {
        pool_avg_flat(N, C, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, &f, x, NULL, y, NULL);
        return;
    }
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1), lo, hi;
    pool_inner_cols(Wo, W, kw, sw, pw, &lo, &hi);
    K_OMP(parallel for if(k_par((double)N * C * Ho * Wo * kh * kw)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        const real *xp = x + nc * H * W;
        real *yp = y + nc * Ho * Wo;
        for (int oh = 0; oh < Ho; oh++) {
            real *yr = yp + (ptrdiff_t)oh * Wo;
            int ha, hb, wa, wb;
            for (int ow = 0; ow < lo; ow++)
                yr[ow] = avgpool_one(xp, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow);
            for (int ow = hi; ow < Wo; ow++)
                yr[ow] = avgpool_one(xp, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow);
            if (lo >= hi)
                continue;
            int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, lo, &ha,
                                     &hb, &wa, &wb);
            for (int ow = lo; ow < hi; ow++)
                yr[ow] = 0;
            for (int ih = ha; ih < hb; ih++)
                for (int kj = 0; kj < kw; kj++) {
                    const real *xc = xp + (ptrdiff_t)ih * W + kj - pw;
                    if (sw == 1)
                        for (int ow = lo; ow < hi; ow++)
                            yr[ow] += xc[ow];
                    else
                        for (int ow = lo; ow < hi; ow++)
                            yr[ow] += xc[ow * sw];
                }
            for (int ow = lo; ow < hi; ow++)
                yr[ow] /= (real)div;
        }
    }
}

/* Max pool backward, tuned: planes in parallel; per output row the argmax
 * of the interior columns is found one tap at a time over the whole row
 * (vectorized: same taps, same order and same tie and NaN rule as
 * maxpool_argmax), then gy is routed in column order as in the reference,
 * so the bits are the reference's. */
K_FN void k_maxpool_bwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, const real *gy, real *gx)
{
    PoolFlat f;
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw, &f)) {
        pool_max_flat(N, C, H, W, kh, kw, sh, sw, ph, pw, &f, x, gy, NULL, gx);
        return;
    }
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1), lo, hi;
    pool_inner_cols(Wo, W, kw, sw, pw, &lo, &hi);
    K_OMP(parallel if(k_par((double)N * C * Ho * Wo * kh * kw)))
    {
        enum { CAP = 256 };
        real bv[CAP];
        int bi[CAP];
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
            const real *xp = x + nc * H * W;
            const real *gyp = gy + nc * Ho * Wo;
            real *gxp = gx + nc * H * W;
            memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
            for (int oh = 0; oh < Ho; oh++) {
                int h0 = oh * sh - ph;
                int ha = h0 < 0 ? 0 : h0, hb = h0 + kh < H ? h0 + kh : H;
                const real *gr = gyp + (ptrdiff_t)oh * Wo;
                for (int c0 = 0; c0 < Wo; c0 += CAP) {
                    int c1 = c0 + CAP < Wo ? c0 + CAP : Wo;
                    int a = lo > c0 ? lo : c0, b = hi < c1 ? hi : c1;
                    for (int ow = c0; ow < c1; ow++)
                        if (ow < a || ow >= b)
                            bi[ow - c0] = (int)maxpool_argmax(xp, H, W, kh, kw, h0, ow * sw - pw);
                    for (int ow = a; ow < b; ow++) {
                        bv[ow - c0] = -INFINITY;
                        bi[ow - c0] = ha * W + ow * sw - pw;
                    }
                    for (int ih = ha; ih < hb; ih++)
                        for (int kj = 0; kj < kw; kj++) {
                            const real *xr = xp + (ptrdiff_t)ih * W;
                            int base = ih * W + kj - pw;
                            for (int ow = a; ow < b; ow++) {
                                real v = xr[ow * sw + kj - pw], cur = bv[ow - c0];
                                int take = v > cur || v != v;
                                bv[ow - c0] = take ? v : cur;
                                bi[ow - c0] = take ? base + ow * sw : bi[ow - c0];
                            }
                        }
                    for (int ow = c0; ow < c1; ow++)
                        gxp[bi[ow - c0]] += gr[ow];
                }
            }
        }
    }
}

/* Spreads gy/divisor of output (oh, ow) over its window of plane gxp, the
 * border case. */
static void avgpool_spread_one(real *gxp, real gy, int H, int W, int kh, int kw, int sh, int sw,
                               int ph, int pw, int count_include_pad, int oh, int ow)
{
    int ha, hb, wa, wb;
    int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, ow, &ha, &hb,
                             &wa, &wb);
    real g = gy / (real)div;
    for (int ih = ha; ih < hb; ih++)
        for (int iw = wa; iw < wb; iw++)
            gxp[(ptrdiff_t)ih * W + iw] += g;
}

/* Average pool backward, tuned: planes in parallel; the interior columns
 * of an output row (blocks of up to 256) spread their gy/divisor one tap at
 * a time over the whole row (vectorized). Columns go left border, interior,
 * right border and the taps from the last column of the window to the
 * first, so each gx value receives its terms in the reference's output
 * order: the same bits. */
K_FN void k_avgpool_bwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, int count_include_pad, const real *gy, real *gx)
{
    PoolFlat f;
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw, &f)) {
        pool_avg_flat(N, C, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, &f, NULL, gy, NULL, gx);
        return;
    }
    int Ho = k_out_size(H, kh, sh, ph, 1), Wo = k_out_size(W, kw, sw, pw, 1), lo, hi;
    pool_inner_cols(Wo, W, kw, sw, pw, &lo, &hi);
    K_OMP(parallel for if(k_par((double)N * C * Ho * Wo * kh * kw)) schedule(static))
    for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
        enum { CAP = 256 };
        real g[CAP];
        const real *gyp = gy + nc * Ho * Wo;
        real *gxp = gx + nc * H * W;
        memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
        for (int oh = 0; oh < Ho; oh++) {
            const real *gr = gyp + (ptrdiff_t)oh * Wo;
            for (int ow = 0; ow < lo; ow++)
                avgpool_spread_one(gxp, gr[ow], H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh,
                                   ow);
            if (lo < hi) {
                int ha, hb, wa, wb;
                int div = avgpool_window(H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh, lo,
                                         &ha, &hb, &wa, &wb);
                for (int c0 = lo; c0 < hi; c0 += CAP) {
                    int c1 = c0 + CAP < hi ? c0 + CAP : hi;
                    for (int o = c0; o < c1; o++)
                        g[o - c0] = gr[o] / (real)div;
                    for (int ih = ha; ih < hb; ih++) {
                        real *gxr = gxp + (ptrdiff_t)ih * W;
                        for (int kj = kw - 1; kj >= 0; kj--)
                            for (int o = c0; o < c1; o++)
                                gxr[o * sw + kj - pw] += g[o - c0];
                    }
                }
            }
            for (int ow = hi; ow < Wo; ow++)
                avgpool_spread_one(gxp, gr[ow], H, W, kh, kw, sh, sw, ph, pw, count_include_pad, oh,
                                   ow);
        }
    }
}
