/* pool.c: max and average pooling over kh x kw windows (floor mode, no
 * dilation), forward and backward, with PyTorch's window and divisor rules.
 * The tuned kernels (stride 1: whole padded planes as flat rows; otherwise
 * interior columns vectorized; same taps in the same order, so the same
 * bits) sit beside their references k_*pool_*_ref; all run the N*C planes
 * in parallel. */
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

/* ---- stride 1: whole planes at once ----
 * At stride 1 a plane is copied into a padded buffer on the stack (its
 * border holding -inf for max, 0 for average, written once per thread) and
 * read as one flat row of L = W + 2*pw values per padded row, so that each
 * tap is one pass over the whole plane, vectorized (the columns past each
 * row are computed and dropped), borders included: small planes (7x7,
 * 14x14) have few interior columns per row. Same taps in the same order as
 * the references, so the same bits: padding never wins a max (-inf loses
 * every strict comparison) and adds exact zeros to a sum that is never -0.
 * The average backward is the same correlation over gy/divisor padded
 * with zeros, its taps in reverse so each gx value adds its terms in the
 * reference's output order. */

#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
#define POOL_WIDE __attribute__((target("prefer-vector-width=512"), noinline))
#else
#define POOL_WIDE
#endif
#define POOL_PAD (64 * 64) /* largest padded plane of the flat path */
#define POOL_TAPS 64       /* largest window of the flat path */
/* Lanes of the flat engines: columns computed together, the taps looping
 * outside them so each lane's running value stays in a register. */
#define POOL_VL 16

/* Whether a pool takes the flat path: stride 1, padding at most the
 * window less one, the padded x plane (H + 2ph rows of W + 2pw) and the
 * padded gy plane of the average backward (H + kh-1 rows of W + kw-1)
 * within POOL_PAD with POOL_VL values to spare. */
static int pool_flat(int H, int W, int kh, int kw, int sh, int sw, int ph, int pw)
{
    return sh == 1 && sw == 1 && ph < kh && pw < kw && kh * kw <= POOL_TAPS &&
           (ptrdiff_t)(H + 2 * ph) * (W + 2 * pw) + POOL_VL <= POOL_PAD &&
           (ptrdiff_t)(H + kh - 1) * (W + kw - 1) + POOL_VL <= POOL_PAD;
}

/* Offsets of the taps (a, b) of a kh x kw window in a flat plane of rows L
 * apart: off[a*kw + b] = a*L + b. */
static void pool_offsets(int kh, int kw, int L, ptrdiff_t *off)
{
    for (int a = 0; a < kh; a++)
        for (int b = 0; b < kw; b++)
            off[a * kw + b] = (ptrdiff_t)a * L + b;
}

/* Copies the (H, W) plane src into buf at row ph, column pw (row stride L). */
static inline void pool_put(const real *src, int H, int W, int ph, int pw, int L, real *buf)
{
    for (int h = 0; h < H; h++)
        memcpy(buf + (ptrdiff_t)(h + ph) * L + pw, src + (ptrdiff_t)h * W, sizeof(real) * (size_t)W);
}

/* Copies rows of n values L apart from the flat row src into dst. */
static inline void pool_take(const real *src, int rows, int n, int L, real *dst)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + (ptrdiff_t)r * n, src + (ptrdiff_t)r * L, sizeof(real) * (size_t)n);
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
}

/* The divisors of the average pool's outputs along one axis: dv[o] for
 * o < no, so that output (oh, ow) divides by dr[oh]*dc[ow] as in
 * avgpool_window. */
static void pool_divisors(int n, int k, int p, int no, int count_include_pad, int *dv)
{
    for (int o = 0; o < no; o++) {
        int a0 = o - p, a1 = a0 + k < n + p ? a0 + k : n + p;
        int lo = a0 < 0 ? 0 : a0, hi = a1 < n ? a1 : n;
        dv[o] = count_include_pad ? a1 - a0 : hi - lo;
    }
}

/* Max pool forward or backward (gy != NULL) at stride 1 over all planes. */
static void pool_max_flat(int N, int C, int H, int W, int kh, int kw, int ph, int pw,
                          const real *x, const real *gy, real *y, real *gx)
{
    int Ho = H + 2 * ph - kh + 1, Wo = W + 2 * pw - kw + 1, L = W + 2 * pw;
    int n = (Ho - 1) * L + Wo;
    ptrdiff_t off[POOL_TAPS];
    pool_offsets(kh, kw, L, off);
    K_OMP(parallel if(k_par((double)N * C * Ho * Wo * kh * kw)))
    {
        real buf[POOL_PAD], ob[POOL_PAD];
        int bt[POOL_PAD];
        for (int i = 0; i < POOL_PAD; i++)
            buf[i] = -INFINITY;
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
            const real *xp = x + nc * H * W;
            pool_put(xp, H, W, ph, pw, L, buf);
            pool_max_eng(kh * kw, n, buf, off, ob, gy ? bt : NULL);
            if (!gy) {
                pool_take(ob, Ho, Wo, L, y + nc * Ho * Wo);
                continue;
            }
            const real *gyp = gy + nc * Ho * Wo;
            real *gxp = gx + nc * H * W;
            memset(gxp, 0, sizeof(real) * (size_t)H * (size_t)W);
            for (int oh = 0; oh < Ho; oh++)
                for (int ow = 0; ow < Wo; ow++) {
                    int t = bt[oh * L + ow];
                    ptrdiff_t i = t >= 0 ? (ptrdiff_t)(oh + t / kw - ph) * W + (ow + t % kw - pw)
                                         : maxpool_argmax(xp, H, W, kh, kw, oh - ph, ow - pw);
                    gxp[i] += gyp[(ptrdiff_t)oh * Wo + ow];
                }
        }
    }
}

/* Average pool forward (x != NULL) or backward (gy != NULL) at stride 1. */
static void pool_avg_flat(int N, int C, int H, int W, int kh, int kw, int ph, int pw,
                          int count_include_pad, const real *x, const real *gy, real *y, real *gx)
{
    int Ho = H + 2 * ph - kh + 1, Wo = W + 2 * pw - kw + 1;
    /* forward: x padded, rows L apart; backward: gy/divisor padded, rows
     * LG apart, read by the taps in reverse window order (see above) */
    int L = W + 2 * pw, LG = W + kw - 1;
    ptrdiff_t off[POOL_TAPS];
    pool_offsets(kh, kw, x ? L : LG, off);
    int dr[POOL_PAD], dc[POOL_PAD]; /* Ho, Wo <= POOL_PAD */
    pool_divisors(H, kh, ph, Ho, count_include_pad, dr);
    pool_divisors(W, kw, pw, Wo, count_include_pad, dc);
    K_OMP(parallel if(k_par((double)N * C * Ho * Wo * kh * kw)))
    {
        real buf[POOL_PAD], ob[POOL_PAD];
        memset(buf, 0, sizeof buf);
        K_OMP(for schedule(static))
        for (ptrdiff_t nc = 0; nc < (ptrdiff_t)N * C; nc++) {
            if (x) {
                pool_put(x + nc * H * W, H, W, ph, pw, L, buf);
                pool_sum_eng(kh * kw, (Ho - 1) * L + Wo, buf, off, ob);
                real *yp = y + nc * Ho * Wo;
                for (int oh = 0; oh < Ho; oh++)
                    for (int ow = 0; ow < Wo; ow++)
                        yp[oh * Wo + ow] = ob[oh * L + ow] / (real)(dr[oh] * dc[ow]);
                continue;
            }
            /* gy/divisor at row oh + kh-1-ph, column ow + kw-1-pw of the
             * padded gy plane; gx row ih reads padded rows ih .. ih+kh-1 */
            int t0 = kh - 1 - ph, l0 = kw - 1 - pw;
            const real *gyp = gy + nc * Ho * Wo;
            for (int oh = 0; oh < Ho; oh++) {
                real *d = buf + (ptrdiff_t)(oh + t0) * LG + l0;
                for (int ow = 0; ow < Wo; ow++)
                    d[ow] = gyp[oh * Wo + ow] / (real)(dr[oh] * dc[ow]);
            }
            pool_sum_eng(kh * kw, (H - 1) * LG + W, buf, off, ob);
            pool_take(ob, H, W, LG, gx + nc * H * W);
        }
    }
}

/* Max pool forward, tuned: planes in parallel; interior columns take the
 * same taps in the same order as maxpool_argmax, one tap at a time over the
 * whole row (vectorized), the row itself holding the running maxima. */
K_FN void k_maxpool_fwd(int N, int C, int H, int W, int kh, int kw, int sh, int sw,
                        int ph, int pw, const real *x, real *y)
{
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw)) {
        pool_max_flat(N, C, H, W, kh, kw, ph, pw, x, NULL, y, NULL);
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
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw)) {
        pool_avg_flat(N, C, H, W, kh, kw, ph, pw, count_include_pad, x, NULL, y, NULL);
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
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw)) {
        pool_max_flat(N, C, H, W, kh, kw, ph, pw, x, gy, NULL, gx);
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
    if (pool_flat(H, W, kh, kw, sh, sw, ph, pw)) {
        pool_avg_flat(N, C, H, W, kh, kw, ph, pw, count_include_pad, NULL, gy, NULL, gx);
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
