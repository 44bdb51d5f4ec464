/* pool.c: max and average pooling over kh x kw windows (floor mode, no
 * dilation), forward and backward, with PyTorch's window and divisor rules.
 * The forwards come tuned (interior columns vectorized, same taps in the
 * same order, so the same bits) beside their references k_*pool_fwd_ref;
 * all four run the N*C planes in parallel. */
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

/* Max pool forward, tuned: planes in parallel; interior columns take the
 * same taps in the same order as maxpool_argmax, one tap at a time over the
 * whole row (vectorized), the row itself holding the running maxima. */
K_FN void k_maxpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, real *y)
{
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
