/* fast_vs_ref.c: every tuned CPU kernel against its plain reference (_ref).
 *
 * Random inputs in [-1, 1) at many shapes, chosen to reach each fast path and
 * its edges: pointwise GEMM with odd pixel counts and channel counts off the
 * micro-tile and depth blocks, depthwise with odd and even widths, stride 2,
 * dilation 2, 5x5 and rectangular windows, im2col convs (stem, strided 1x1,
 * 1x7 / 7x1, 2x2, grouped), tiny shapes (1x1 planes, N = 1). Outputs start
 * as NaN, so a kernel that fails to overwrite one is caught. Each case runs
 * with 1 and 2 OpenMP threads; the 2-thread run is repeated and must give
 * the same bits. Requires |a - b| <= 1e-5 + 1e-4*|b| (float build) and
 * prints the number of elements compared and the worst relative error. */
#include "cpu_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ATOL 1e-5
#define RTOL 1e-4

static long total_elems;
static int failures;
static double worst_rel, worst_ratio;
static char worst_what[160];
static uint64_t rng_state = 0x2545f4914f6cdd1dull;

/* Uniform in [-1, 1). */
static real urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (real)((double)(rng_state >> 11) / 9007199254740992.0 * 2 - 1);
}

/* n values, random or (nan != 0) all NaN. Exits when out of memory. */
static real *tensor(ptrdiff_t n, int nan)
{
    real *p = malloc(sizeof(real) * (size_t)(n > 0 ? n : 1));
    if (!p) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        exit(1);
    }
    for (ptrdiff_t i = 0; i < n; i++)
        p[i] = nan ? (real)NAN : urand();
    return p;
}

/* Sets the thread count of the following parallel regions. */
static void set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

/* Compares fast output a with reference b elementwise. */
static void cmp(const char *what, int threads, const real *a, const real *b, ptrdiff_t n)
{
    int bad = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        double x = a[i], y = b[i], err = x == y ? 0 : fabs(x - y); /* equal infinities agree */
        double ratio = err / (ATOL + RTOL * fabs(y));
        double rel = err / (fabs(y) > 1e-3 ? fabs(y) : 1e-3);
        if (!(ratio <= 1)) {
            if (bad < 3)
                fprintf(stderr, "FAIL %s (%d threads) [%td]: fast %.9g ref %.9g\n", what, threads,
                        i, x, y);
            bad++;
        }
        if (rel > worst_rel)
            worst_rel = rel;
        if (ratio > worst_ratio || ratio != ratio) {
            worst_ratio = ratio;
            snprintf(worst_what, sizeof worst_what, "%s, %d threads", what, threads);
        }
    }
    total_elems += (long)n;
    failures += bad;
}

/* Requires a and b to agree bit for bit (two runs of one kernel, or a fused
 * kernel and the kernels it replaces). */
static void same_bits(const char *what, const real *a, const real *b, ptrdiff_t n)
{
    if (memcmp(a, b, sizeof(real) * (size_t)n)) {
        ptrdiff_t i = 0, nd = 0;
        for (ptrdiff_t j = 0; j < n; j++)
            if (memcmp(a + j, b + j, sizeof(real)) && !nd++)
                i = j;
        fprintf(stderr, "FAIL %s: the bits differ (%td of %td values, first [%td]: %.9g vs %.9g)\n", what, nd,
                n, i, (double)a[i], (double)b[i]);
        failures++;
    }
}

/* A fused pair through a BN, against the unfused kernels: the BN's
 * ggamma and gbeta (gg[1], gb[1] against gg[0], gb[0]), the pair's data
 * gradient and both weight gradients (fused first), bit for bit. */
static void bn_pair_bits(const char *sub, real *const *gg, real *const *gb, int Cp, const real *gx2,
                         const real *gx, ptrdiff_t nx, const real *gwd2, const real *gwd, ptrdiff_t nwd,
                         const real *gw3, const real *gw, ptrdiff_t ngw)
{
    same_bits(sub, gg[1], gg[0], Cp);
    same_bits(sub, gb[1], gb[0], Cp);
    same_bits(sub, gx2, gx, nx);
    same_bits(sub, gwd2, gwd, nwd);
    same_bits(sub, gw3, gw, ngw);
    total_elems += (long)(2 * Cp + nx + nwd + ngw);
}

/* The depthwise conv (C channels, weights wd, input x) of a conv case
 * fused with a pointwise conv to C + 3 channels: k_conv2d_dwpw_fwd and
 * k_conv2d_dwpw_bwd_weight must have the bits of the two fast kernels
 * (k_conv2d_dwpw_bwd_data those of the three it replaces, and of
 * k_conv2d_dwpw_bwd_weight for the pointwise weight gradient),
 * without a prologue, through the BN + ReLU one (pm, ps, pb) and through a
 * plain ReLU, on 1 and 2 threads. The pointwise weights and gradients come
 * from local sequences, so that the shared random stream of the later
 * cases is unchanged. */
static void dwpw_case(int N, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
                      int dh, int dw, const real *x, const real *wd, const real *pm,
                      const real *ps, const real *pb, const char *what)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw), Cp = C + 3;
    ptrdiff_t nz = (ptrdiff_t)N * C * Ho * Wo, ny = (ptrdiff_t)N * Cp * Ho * Wo;
    real *z = tensor(nz, 1), *z2 = tensor(nz, 1), *y = tensor(ny, 1), *y2 = tensor(ny, 1);
    real *wp = malloc(sizeof(real) * (size_t)Cp * C); /* not tensor(): no draws from the shared stream */
    if (!wp) {
        fprintf(stderr, "%s:%d: out of memory\n", __FILE__, __LINE__);
        exit(1);
    }
    for (int i = 0; i < Cp * C; i++)
        wp[i] = (real)((unsigned)(i * 2654435761u) % 1000u) / 1000 - (real)0.5;
    real *gyp = tensor(ny, 1), *gw = tensor((ptrdiff_t)Cp * C, 1), *gw2 = tensor((ptrdiff_t)Cp * C, 1);
    real *gw3 = tensor((ptrdiff_t)Cp * C, 1), *zr = tensor(nz, 1);
    for (ptrdiff_t i = 0; i < ny; i++)
        gyp[i] = (real)((unsigned)(i * 40503u + 7u) % 997u) / 997 - (real)0.5;
    ptrdiff_t nx = (ptrdiff_t)N * C * H * W, nwd = (ptrdiff_t)C * kh * kw;
    real *gx = tensor(nx, 1), *gx2 = tensor(nx, 1), *gwd = tensor(nwd, 1), *gwd2 = tensor(nwd, 1);
    real *gm = tensor(nx, 1), *tt = tensor(nx, 1);
    /* a BN of the depthwise input (the BN + ReLU prologue's, statistics pm)
     * and one of the pointwise output (q*), from local sequences */
    real *bnp = tensor(2 * (ptrdiff_t)N * C, 1), *bgam = tensor(C, 1), *binv = tensor(C, 1),
         *bcoef = tensor(3 * (ptrdiff_t)C, 1), *bgg[2], *bgb[2], *gbn[2];
    for (int k = 0; k < 2; k++)
        bgg[k] = tensor(C, 1), bgb[k] = tensor(C, 1), gbn[k] = tensor(nx + 2 * (ptrdiff_t)N * C, 1);
    for (int c = 0; c < C; c++)
        bgam[c] = (real)0.5 + (real)((c * 7) % 5) / 4, binv[c] = (real)0.8 + (real)((c * 3) % 7) / 5;
    real *gr = tensor(ny, 1), *gyq = tensor(ny, 1), *gyb = tensor(ny, 1), *qparts = tensor(2 * (ptrdiff_t)N * Cp, 1);
    real *qmu = tensor(Cp, 1), *qps = tensor(Cp, 1), *qpb = tensor(Cp, 1), *qgam = tensor(Cp, 1),
         *qinv = tensor(Cp, 1), *qcoef = tensor(3 * (ptrdiff_t)Cp, 1), *qgg[2], *qgb[2];
    for (int k = 0; k < 2; k++)
        qgg[k] = tensor(Cp, 1), qgb[k] = tensor(Cp, 1);
    for (int c = 0; c < Cp; c++) {
        qmu[c] = (real)((c * 5) % 9) / 20 - (real)0.2;
        qps[c] = (real)0.6 + (real)((c * 3) % 4) / 3;
        qpb[c] = (real)((c * 11) % 7) / 10 - (real)0.3;
        qgam[c] = (real)0.7 + (real)((c * 13) % 6) / 5;
        qinv[c] = (real)0.9 + (real)((c * 2) % 5) / 4;
    }
    for (ptrdiff_t i = 0; i < ny; i++)
        gr[i] = (real)((unsigned)(i * 52711u + 3u) % 1009u) / 1009 - (real)0.5;
    real *mo = tensor(2 * (ptrdiff_t)N * Cp, 1), *bo[2], *sm[2], *si[2], *rm[2], *rv[2];
    for (int k = 0; k < 2; k++)
        bo[k] = tensor(ny, 1), sm[k] = tensor(Cp, 1), si[k] = tensor(Cp, 1), rm[k] = tensor(Cp, 1),
        rv[k] = tensor(Cp, 1);
    static const char *kinds[3] = {"plain", "bn+relu", "relu"};
    for (int pre = 0; pre < 3; pre++)
        for (int threads = 1; threads <= 2; threads++) {
            set_threads(threads);
            const real *m = pre == 1 ? pm : NULL, *sc = pre == 1 ? ps : NULL, *sb = pre == 1 ? pb : NULL;
            if (pre)
                k_conv2d_fwd_pre(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, m, sc, sb, x, wd, z);
            else
                k_conv2d_fwd(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, x, wd, z);
            k_conv2d_fwd(N, C, Ho, Wo, Cp, 1, 1, 1, 1, 0, 0, 1, 1, 1, z, wp, y);
            k_conv2d_dwpw_fwd(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x, wd,
                              z2, wp, y2, mo);
            char sub[220];
            snprintf(sub, sizeof sub, "%s dwpw %s (%d threads)", what, kinds[pre], threads);
            same_bits(sub, y2, y, ny);
            total_elems += (long)ny;
            /* a batch norm of y from the moments computed with it: every
             * output and statistic with the bits of the BN that reads y */
            for (int k = 0; k < 2; k++) {
                for (int c = 0; c < Cp; c++)
                    rm[k][c] = (real)0.1 * (real)c, rv[k][c] = 1 + (real)0.01 * (real)c;
                if (k)
                    k_bn_train_fwd_moments(N, Cp, Ho * Wo, (real)1e-5, (real)0.1, mo, y, NULL, NULL, bo[k],
                                           sm[k], si[k], rm[k], rv[k]);
                else
                    k_bn_train_fwd(N, Cp, Ho * Wo, (real)1e-5, (real)0.1, y, NULL, NULL, bo[k], sm[k], si[k],
                                   rm[k], rv[k]);
            }
            snprintf(sub, sizeof sub, "%s dwpw %s bn from moments (%d threads)", what, kinds[pre], threads);
            same_bits(sub, bo[1], bo[0], ny);
            same_bits(sub, sm[1], sm[0], Cp);
            same_bits(sub, si[1], si[0], Cp);
            same_bits(sub, rm[1], rm[0], Cp);
            same_bits(sub, rv[1], rv[0], Cp);
            total_elems += (long)ny + 4 * Cp;
            /* the pointwise weight gradient, its input recomputed inside */
            k_conv2d_bwd_weight(N, C, Ho, Wo, Cp, 1, 1, 1, 1, 0, 0, 1, 1, 1, z, gyp, gw);
            k_conv2d_dwpw_bwd_weight(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x,
                                     wd, z2, gyp, gw2);
            snprintf(sub, sizeof sub, "%s dwpw %s gw (%d threads)", what, kinds[pre], threads);
            same_bits(sub, gw2, gw, (ptrdiff_t)Cp * C);
            total_elems += (long)Cp * C;
            /* the data gradients and the depthwise weight gradient through
             * the depthwise output's gradient, never stored: written, and
             * added to what gx holds (acc) */
            k_conv2d_bwd_data(N, C, Ho, Wo, Cp, 1, 1, 1, 1, 0, 0, 1, 1, 1, gyp, wp, z);
            for (int acc = 0; acc < 2; acc++) {
                for (ptrdiff_t i = 0; i < nx; i++)
                    gx[i] = gx2[i] = (real)((unsigned)(i * 69069u + 1u) % 991u) / 991;
                if (acc)
                    k_conv2d_bwd_data_acc(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, z, wd, gx);
                else
                    k_conv2d_bwd_data(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, z, wd, gx);
                if (pre)
                    k_conv2d_bwd_weight_pre(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, m, sc, sb, x, z,
                                            gwd);
                else
                    k_conv2d_bwd_weight(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, x, z, gwd);
                for (ptrdiff_t i = 0; i < (ptrdiff_t)Cp * C; i++)
                    gw3[i] = -1;
                k_conv2d_dwpw_bwd_data(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x,
                                       wd, z2, wp, gyp, gx2, acc, 0, NULL, gwd2, zr, gw3,
                                       pre == 1 && !acc ? bnp : NULL);
                snprintf(sub, sizeof sub, "%s dwpw %s gx%s (%d threads)", what, kinds[pre], acc ? " acc" : "",
                         threads);
                same_bits(sub, gx2, gx, nx);
                snprintf(sub, sizeof sub, "%s dwpw %s gwd%s (%d threads)", what, kinds[pre], acc ? " acc" : "",
                         threads);
                same_bits(sub, gwd2, gwd, nwd);
                snprintf(sub, sizeof sub, "%s dwpw %s gw with the data%s (%d threads)", what, kinds[pre],
                         acc ? " acc" : "", threads);
                same_bits(sub, gw3, gw, (ptrdiff_t)Cp * C);
                total_elems += (long)(nx + nwd + Cp * C);
                if (pre == 1 && !acc) {
                    /* the sums of the BN of the BN + ReLU prologue over gx (its
                     * ReLU's output gradient): k_bn_train_bwd_parts on them has
                     * the bits of k_bn_train_bwd_relu */
                    k_bn_train_bwd_relu(N, C, H * W, x, gx, ps, pb, bgam, pm, binv, gbn[0], bgg[0], bgb[0]);
                    k_bn_train_bwd_parts(N, C, H * W, bnp, bgam, binv, bcoef, bgg[1], bgb[1]);
                    snprintf(sub, sizeof sub, "%s dwpw bn sums (%d threads)", what, threads);
                    same_bits(sub, bgg[1], bgg[0], C);
                    same_bits(sub, bgb[1], bgb[0], C);
                    k_bn_relu_bwd_parts(N, C, H * W, x, gx, pm, ps, pb, gbn[1]);
                    same_bits(sub, bnp, gbn[1], 2 * (ptrdiff_t)N * C);
                    total_elems += (long)(2 * C + 2 * N * C);
                }
                if (pre != 2)
                    continue;
                /* through the plain ReLU's mask into its input's gradient:
                 * the bits of the unmasked data gradient, then k_relu_bwd(_acc) */
                k_conv2d_bwd_data(N, C, H, W, C, kh, kw, sh, sw, ph, pw, dh, dw, C, z, wd, gm);
                for (ptrdiff_t i = 0; i < nx; i++)
                    gx[i] = gx2[i] = (real)((unsigned)(i * 69069u + 5u) % 983u) / 983 - (real)0.5;
                (acc ? k_relu_bwd_acc : k_relu_bwd)(nx, x, gm, gx);
                k_conv2d_dwpw_bwd_data(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, 1, NULL, NULL, NULL, x, wd,
                                       z2, wp, gyp, gx2, acc, 1, tt, NULL, zr, NULL, NULL);
                snprintf(sub, sizeof sub, "%s dwpw relu-masked gx%s (%d threads)", what, acc ? " acc" : "",
                         threads);
                same_bits(sub, gx2, gx, nx);
                total_elems += (long)nx;
            }
            /* the pointwise weight gradient alone in the data pass */
            for (ptrdiff_t i = 0; i < (ptrdiff_t)Cp * C; i++)
                gw3[i] = -1;
            k_conv2d_dwpw_bwd_data(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x, wd,
                                   z2, wp, gyp, NULL, 0, 0, NULL, NULL, zr, gw3, NULL);
            snprintf(sub, sizeof sub, "%s dwpw %s gw alone in the data pass (%d threads)", what, kinds[pre],
                     threads);
            same_bits(sub, gw3, gw, (ptrdiff_t)Cp * C);
            total_elems += (long)Cp * C;
            /* the pointwise output through a BN + ReLU: the pair's gradients
             * from that ReLU's output gradient gr, the BN's applied as read,
             * have the bits of k_bn_train_bwd_relu then the pair's */
            {
                int P = Ho * Wo;
                k_bn_train_bwd_relu(N, Cp, P, y, gr, qps, qpb, qgam, qmu, qinv, gyq, qgg[0], qgb[0]);
                k_conv2d_dwpw_bwd_data(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x, wd,
                                       z2, wp, gyq, gx, 0, 0, NULL, gwd, zr, gw, NULL);
                k_bn_relu_bwd_parts(N, Cp, P, y, gr, qmu, qps, qpb, qparts);
                k_bn_train_bwd_parts(N, Cp, P, qparts, qgam, qinv, qcoef, qgg[1], qgb[1]);
                for (ptrdiff_t i = 0; i < (ptrdiff_t)Cp * C; i++)
                    gw3[i] = -1;
                k_conv2d_dwpw_bwd_data_bn(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x,
                                          wd, z2, wp, gr, gx2, 0, 0, NULL, gwd2, zr, gw3, NULL, y, qmu, qps, qpb,
                                          qcoef, gyb);
                snprintf(sub, sizeof sub, "%s dwpw %s through a bn (%d threads)", what, kinds[pre], threads);
                bn_pair_bits(sub, qgg, qgb, Cp, gx2, gx, nx, gwd2, gwd, nwd, gw3, gw, (ptrdiff_t)Cp * C);
            }
            /* the pointwise output through a BN normalized in its add (a
             * drop path on and off): the pair's gradients from the add's
             * gradient gr, the BN's backward applied as read, have the bits
             * of k_bn_train_bwd_add then the pair's */
            for (int drop = 0; drop <= 1; drop++) {
                int P = Ho * Wo;
                real keep = (real)0.8, *dm = tensor(N, 0);
                for (int i = 0; i < N; i++)
                    dm[i] = i % 3 ? 1 : 0;
                k_bn_train_bwd_add(N, Cp, P, y, gr, keep, drop ? dm : NULL, qgam, qmu, qinv, gyq, qgg[0], qgb[0]);
                k_conv2d_dwpw_bwd_data(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb, x, wd,
                                       z2, wp, gyq, gx, 0, 0, NULL, gwd, zr, gw, NULL);
                k_bn_train_bwd_add_coef(N, Cp, P, y, gr, keep, drop ? dm : NULL, qgam, qmu, qinv, qcoef, qgg[1],
                                        qgb[1]);
                for (ptrdiff_t i = 0; i < (ptrdiff_t)Cp * C; i++)
                    gw3[i] = -1;
                k_conv2d_dwpw_bwd_data_bnadd(N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, Cp, pre != 0, m, sc, sb,
                                             x, wd, z2, wp, gr, gx2, 0, 0, NULL, gwd2, zr, gw3, NULL, y, qmu, keep,
                                             drop ? dm : NULL, qcoef, gyb);
                snprintf(sub, sizeof sub, "%s dwpw %s through an add's bn%s (%d threads)", what, kinds[pre],
                         drop ? " and drop path" : "", threads);
                bn_pair_bits(sub, qgg, qgb, Cp, gx2, gx, nx, gwd2, gwd, nwd, gw3, gw, (ptrdiff_t)Cp * C);
                free(dm);
            }
        }
    free(gx), free(gx2), free(gwd), free(gwd2), free(mo), free(gm), free(tt);
    free(bnp), free(bgam), free(binv), free(bcoef), free(gr), free(gyq), free(gyb), free(qparts);
    free(qmu), free(qps), free(qpb), free(qgam), free(qinv), free(qcoef);
    for (int k = 0; k < 2; k++)
        free(bgg[k]), free(bgb[k]), free(gbn[k]), free(qgg[k]), free(qgb[k]);
    for (int k = 0; k < 2; k++)
        free(bo[k]), free(sm[k]), free(si[k]), free(rm[k]), free(rv[k]);
    free(wp), free(z), free(z2), free(y), free(y2), free(gyp), free(gw), free(gw2), free(gw3), free(zr);
}

/* k_conv2d_bwd_data_relu of a conv case (x the ReLU's input, gy the
 * output gradient) must have the bits of k_conv2d_bwd_data and then
 * k_relu_bwd(_acc), written and added, on 1 and 2 threads; and
 * k_conv2d_bwd_data_acc_relu those of k_conv2d_bwd_data_acc then
 * k_relu_bwd(_acc). */
static void relu_mask_case(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g, const real *x, const real *gy,
                           const real *w, const char *what)
{
    ptrdiff_t nx = (ptrdiff_t)N * Ci * H * W;
    real *gr = tensor(nx, 1), *ga = tensor(nx, 1), *gb = tensor(nx, 1), *t = tensor(nx, 1);
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        k_conv2d_bwd_data(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, gy, w, gr);
        for (int acc = 0; acc < 2; acc++) {
            for (ptrdiff_t i = 0; i < nx; i++)
                ga[i] = gb[i] = (real)((unsigned)(i * 69069u + 3u) % 977u) / 977 - (real)0.5;
            (acc ? k_relu_bwd_acc : k_relu_bwd)(nx, x, gr, ga);
            k_conv2d_bwd_data_relu(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, gy, w, x, t, gb, acc);
            char sub[220];
            snprintf(sub, sizeof sub, "%s relu-masked gx%s (%d threads)", what, acc ? " acc" : "", threads);
            same_bits(sub, gb, ga, nx);
            total_elems += (long)nx;
            /* the last of two consumers: its piece added to the ReLU's
             * gradient, then the sum masked (k_conv2d_bwd_data_acc, then
             * k_relu_bwd(_acc)) */
            for (ptrdiff_t i = 0; i < nx; i++) {
                ga[i] = gb[i] = (real)((unsigned)(i * 69069u + 3u) % 977u) / 977 - (real)0.5;
                t[i] = (real)((unsigned)(i * 1103u + 7u) % 613u) / 613 - (real)0.5;
            }
            real *t2 = tensor(nx, 1);
            memcpy(t2, t, sizeof(real) * (size_t)nx);
            k_conv2d_bwd_data_acc(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, gy, w, t);
            (acc ? k_relu_bwd_acc : k_relu_bwd)(nx, x, t, ga);
            k_conv2d_bwd_data_acc_relu(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, gy, w, x, t2, gb,
                                       acc);
            snprintf(sub, sizeof sub, "%s relu-masked sum%s (%d threads)", what, acc ? " acc" : "", threads);
            same_bits(sub, gb, ga, nx);
            same_bits(sub, t2, t, nx);
            total_elems += (long)nx;
            free(t2);
        }
    }
    free(gr), free(ga), free(gb), free(t);
}

/* A pointwise conv whose output a plain training BN normalizes: its
 * gradients with the BN's backward applied where read (k_conv2d_pw_bwd_bn,
 * from k_bn_train_bwd_add_coef's coefficients) must have the bits of
 * k_bn_train_bwd and then the conv's unfused kernels: the data gradient
 * written, added, through the ReLU's mask (written and added) and as the
 * last of the ReLU's consumers, the weight gradient of x and of relu(x),
 * each alone and together, on 1 and 2 threads. gr is the BN's output
 * gradient. */
static void pw_bn_case(int N, int Ci, int H, int W, int Co, const real *x, const real *w, const real *gr,
                       const char *what)
{
    ptrdiff_t P = (ptrdiff_t)H * W, nx = (ptrdiff_t)N * Ci * P, ny = (ptrdiff_t)N * Co * P;
    ptrdiff_t nw = (ptrdiff_t)Co * Ci;
    real *y = tensor(ny, 0), *mu = tensor(Co, 0), *inv = tensor(Co, 0), *gam = tensor(Co, 0);
    real *g = tensor(ny, 1), *coef = tensor(3 * Co, 1), *gyb = tensor(ny, 1), *gg[2], *gb[2];
    real *gxa = tensor(nx, 1), *gxb = tensor(nx, 1), *ta = tensor(nx, 1), *tb = tensor(nx, 1);
    real *gwa = tensor(nw, 1), *gwb = tensor(nw, 1);
    char sub[260];
    for (int c = 0; c < Co; c++)
        inv[c] = (real)1.5 + inv[c];
    for (int k = 0; k < 2; k++)
        gg[k] = tensor(Co, 1), gb[k] = tensor(Co, 1);
    k_bn_train_bwd(N, Co, (int)P, y, gr, gam, mu, inv, g, gg[0], gb[0]);
    k_bn_train_bwd_add_coef(N, Co, (int)P, y, gr, 1, NULL, gam, mu, inv, coef, gg[1], gb[1]);
    snprintf(sub, sizeof sub, "%s bn coefficients", what);
    same_bits(sub, gg[1], gg[0], Co);
    same_bits(sub, gb[1], gb[0], Co);
#define PW N, Ci, H, W, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1
    static const char *modes[] = {"written", "added", "masked", "masked and added", "masked as the last consumer",
                                  "masked as the last consumer, added", "alone", "not wanted"};
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        for (int rb = 0; rb < 2; rb++) {
            if (rb)
                k_conv2d_bwd_weight_pre(PW, NULL, NULL, NULL, x, g, gwa);
            else
                k_conv2d_bwd_weight(PW, x, g, gwa);
            for (int mode = 0; mode < 8; mode++) {
                int acc = mode % 2 && mode < 6, mask = mode >= 2 && mode < 6, keep = mode == 4 || mode == 5;
                for (ptrdiff_t i = 0; i < nx; i++) {
                    gxa[i] = gxb[i] = (real)((unsigned)(i * 69069u + 3u) % 977u) / 977 - (real)0.5;
                    ta[i] = tb[i] = (real)((unsigned)(i * 1103u + 7u) % 613u) / 613 - (real)0.5;
                }
                if (mode < 2 || mode == 7)
                    (acc ? k_conv2d_bwd_data_acc : k_conv2d_bwd_data)(PW, g, w, gxa);
                else if (mask && !keep)
                    k_conv2d_bwd_data_relu(PW, g, w, x, ta, gxa, acc);
                else if (keep)
                    k_conv2d_bwd_data_acc_relu(PW, g, w, x, ta, gxa, acc);
                for (ptrdiff_t i = 0; i < nw; i++)
                    gwb[i] = (real)NAN;
                k_conv2d_pw_bwd_bn(N, Ci, H, W, Co, rb, x, w, gr, y, mu, coef, mode == 6 ? NULL : gxb, acc, mask,
                                   tb, keep, mode == 7 ? NULL : gwb, gyb);
                snprintf(sub, sizeof sub, "%s through a bn, gx %s, gw of %s (%d threads)", what, modes[mode],
                         rb ? "relu(x)" : "x", threads);
                if (mode != 6)
                    same_bits(sub, gxb, gxa, nx);
                if (keep)
                    same_bits(sub, tb, ta, nx);
                if (mode != 7)
                    same_bits(sub, gwb, gwa, nw);
                total_elems += (long)((mode != 6 ? nx : 0) + (mode != 7 ? nw : 0));
            }
        }
    }
#undef PW
    for (int k = 0; k < 2; k++)
        free(gg[k]), free(gb[k]);
    free(y), free(mu), free(inv), free(gam), free(g), free(coef), free(gyb), free(gxa), free(gxb), free(ta);
    free(tb), free(gwa), free(gwb);
}

/* One conv case: fwd, bwd_data and bwd_weight, fast vs reference. */
static void conv_case(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw, int ph,
                      int pw, int dh, int dw, int g)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    ptrdiff_t nx = (ptrdiff_t)N * Ci * H * W, nw = (ptrdiff_t)Co * (Ci / g) * kh * kw,
              ny = (ptrdiff_t)N * Co * Ho * Wo;
    char what[160];
    snprintf(what, sizeof what, "conv (%d,%d,%d,%d)->%d k%dx%d s%d,%d p%d,%d d%d,%d g%d", N, Ci, H,
             W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g);
    real *x = tensor(nx, 0), *w = tensor(nw, 0), *gy = tensor(ny, 0);
    real *y0 = tensor(ny, 1), *gx0 = tensor(nx, 1), *gw0 = tensor(nw, 1);
#define CV N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g
    k_conv2d_fwd_ref(CV, x, w, y0);
    k_conv2d_bwd_data_ref(CV, gy, w, gx0);
    k_conv2d_bwd_weight_ref(CV, x, gy, gw0);
    real *y[2], *gx[2], *gw[2], *y1 = tensor(ny, 1), *gx1 = tensor(nx, 1), *gw1 = tensor(nw, 1);
    for (int r = 0; r < 2; r++) {
        y[r] = tensor(ny, 1);
        gx[r] = tensor(nx, 1);
        gw[r] = tensor(nw, 1);
    }
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        for (int r = 0; r < (threads == 2 ? 2 : 1); r++) {
            k_conv2d_fwd(CV, x, w, y[r]);
            k_conv2d_bwd_data(CV, gy, w, gx[r]);
            k_conv2d_bwd_weight(CV, x, gy, gw[r]);
        }
        char sub[200];
        snprintf(sub, sizeof sub, "%s y", what);
        cmp(sub, threads, y[0], y0, ny);
        snprintf(sub, sizeof sub, "%s gx", what);
        cmp(sub, threads, gx[0], gx0, nx);
        snprintf(sub, sizeof sub, "%s gw", what);
        cmp(sub, threads, gw[0], gw0, nw);
        if (threads == 1) {
            memcpy(y1, y[0], sizeof(real) * (size_t)ny);
            memcpy(gx1, gx[0], sizeof(real) * (size_t)nx);
            memcpy(gw1, gw[0], sizeof(real) * (size_t)nw);
        } else {
            char rep[200];
            snprintf(rep, sizeof rep, "%s, two 2-thread runs", what);
            same_bits(rep, y[0], y[1], ny);
            same_bits(rep, gx[0], gx[1], nx);
            same_bits(rep, gw[0], gw[1], nw);
            /* the bits do not depend on the thread count */
            snprintf(rep, sizeof rep, "%s, 1 and 2 threads", what);
            same_bits(rep, y[0], y1, ny);
            same_bits(rep, gx[0], gx1, nx);
            same_bits(rep, gw[0], gw1, nw);
        }
    }
    free(y1), free(gx1), free(gw1);
    /* the data gradient added to an earlier piece: the reference's sum to
     * rounding; for depthwise convs the bits of k_conv2d_bwd_data + k_acc */
    {
        real *base = tensor(nx, 0), *ref = tensor(nx, 1), *sum = tensor(nx, 1);
        char sub[200];
        for (ptrdiff_t i = 0; i < nx; i++) {
            ref[i] = base[i] + gx0[i];
            sum[i] = base[i];
        }
        for (int threads = 1; threads <= 2; threads++) {
            set_threads(threads);
            memcpy(gx[1], base, sizeof(real) * (size_t)nx);
            k_conv2d_bwd_data_acc(CV, gy, w, gx[1]);
            snprintf(sub, sizeof sub, "%s gx acc", what);
            cmp(sub, threads, gx[1], ref, nx);
        }
        /* (planes this small take the depthwise path; a 120x120 one falls
         * back to im2col, whose sums take gx in first) */
        if (g == Ci && g == Co && H * W <= 64 * 64) {
            k_acc(nx, gx[0], sum);
            snprintf(sub, sizeof sub, "%s gx acc bits", what);
            same_bits(sub, gx[1], sum, nx);
        }
        free(base), free(ref), free(sum);
    }
    /* fused prologue: the references must match the plain references on
     * x_eff (to rounding: the kernels contract multiply-adds), the fast ones
     * their references */
    real *pm = tensor(Ci, 0), *ps = tensor(Ci, 0), *pb = tensor(Ci, 0), *xe = tensor(nx, 0);
    for (ptrdiff_t i = 0; i < nx; i++)
        xe[i] = k_pre_val(x[i], pm, ps, pb, (int)(i / ((ptrdiff_t)H * W) % Ci));
    k_conv2d_fwd_ref(CV, xe, w, y0);
    k_conv2d_bwd_weight_ref(CV, xe, gy, gw0);
    k_conv2d_fwd_pre_ref(CV, pm, ps, pb, x, w, y[1]);
    k_conv2d_bwd_weight_pre_ref(CV, pm, ps, pb, x, gy, gw[1]);
    char sub[200];
    snprintf(sub, sizeof sub, "%s pre ref y", what);
    cmp(sub, 1, y[1], y0, ny);
    snprintf(sub, sizeof sub, "%s pre ref gw", what);
    cmp(sub, 1, gw[1], gw0, nw);
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        k_conv2d_fwd_pre(CV, pm, ps, pb, x, w, y[0]);
        k_conv2d_bwd_weight_pre(CV, pm, ps, pb, x, gy, gw[0]);
        snprintf(sub, sizeof sub, "%s pre y", what);
        cmp(sub, threads, y[0], y0, ny);
        snprintf(sub, sizeof sub, "%s pre gw", what);
        cmp(sub, threads, gw[0], gw0, nw);
    }
    for (ptrdiff_t i = 0; i < nx; i++)
        xe[i] = x[i] > 0 ? x[i] : 0;
    k_conv2d_fwd_ref(CV, xe, w, y0);
    k_conv2d_fwd_pre(CV, NULL, NULL, NULL, x, w, y[0]);
    snprintf(sub, sizeof sub, "%s pre relu-only y", what);
    cmp(sub, 2, y[0], y0, ny);
    k_conv2d_bwd_weight_ref(CV, xe, gy, gw0);
    k_conv2d_bwd_weight_pre(CV, NULL, NULL, NULL, x, gy, gw[0]);
    snprintf(sub, sizeof sub, "%s pre relu-only gw", what);
    cmp(sub, 2, gw[0], gw0, nw);
    /* the fast relu-only prologues (depthwise planes, pointwise GEMM
     * panels) have the bits of the fast conv on the stored relu(x) */
    int pointwise = kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && g == 1;
    if (pointwise || (g == Ci && g == Co && H * W <= 64 * 64)) {
        k_conv2d_fwd(CV, xe, w, y[1]);
        snprintf(sub, sizeof sub, "%s pre relu-only y bits", what);
        same_bits(sub, y[0], y[1], ny);
        k_conv2d_bwd_weight(CV, xe, gy, gw[1]);
        snprintf(sub, sizeof sub, "%s pre relu-only gw bits", what);
        same_bits(sub, gw[0], gw[1], nw);
    }
    /* a pointwise conv with its BN's plane moments: y with the bits of
     * k_conv2d_fwd(_pre), and a BN from the moments with the bits of the
     * BN that reads y */
    if (pointwise) {
        ptrdiff_t planes = (ptrdiff_t)N * Co;
        real *mo = tensor(2 * planes, 1), *b[2], *st[2][4];
        for (int k = 0; k < 2; k++) {
            b[k] = tensor(ny, 1);
            for (int j = 0; j < 4; j++) st[k][j] = tensor(Co, 1);
        }
        for (int pre = 0; pre < 2; pre++)
            for (int threads = 1; threads <= 2; threads++) {
                set_threads(threads);
                k_conv2d_fwd_moments(N, Ci, H, W, Co, pre, x, w, y[1], mo);
                k_conv2d_fwd(CV, pre ? xe : x, w, y[0]);
                snprintf(sub, sizeof sub, "%s fwd_moments pre %d (%d threads)", what, pre, threads);
                same_bits(sub, y[1], y[0], ny);
                for (int k = 0; k < 2; k++) {
                    for (int c = 0; c < Co; c++)
                        st[k][2][c] = (real)0.1 * (real)c, st[k][3][c] = 1 + (real)0.01 * (real)c;
                    if (k)
                        k_bn_train_fwd_moments(N, Co, H * W, (real)1e-5, (real)0.1, mo, y[1], NULL, NULL, b[k],
                                               st[k][0], st[k][1], st[k][2], st[k][3]);
                    else
                        k_bn_train_fwd(N, Co, H * W, (real)1e-5, (real)0.1, y[1], NULL, NULL, b[k], st[k][0],
                                       st[k][1], st[k][2], st[k][3]);
                }
                same_bits(sub, b[1], b[0], ny);
                for (int j = 0; j < 4; j++) same_bits(sub, st[1][j], st[0][j], Co);
                total_elems += (long)ny;
            }
        free(mo);
        for (int k = 0; k < 2; k++) {
            free(b[k]);
            for (int j = 0; j < 4; j++) free(st[k][j]);
        }
    }
    if (pointwise)
        pw_bn_case(N, Ci, H, W, Co, x, w, gy, what);
    if (g == Ci && g == Co)
        dwpw_case(N, Ci, H, W, kh, kw, sh, sw, ph, pw, dh, dw, x, w, pm, ps, pb, what);
    relu_mask_case(N, Ci, H, W, Co, kh, kw, sh, sw, ph, pw, dh, dw, g, x, gy, w, what);
    free(pm), free(ps), free(pb), free(xe);
#undef CV
    free(x), free(w), free(gy), free(y0), free(gx0), free(gw0);
    for (int r = 0; r < 2; r++)
        free(y[r]), free(gx[r]), free(gw[r]);
}

/* One training batch-norm case: forward (outputs, saved and running
 * statistics) and backward, fast vs reference. */
static void bn_case(int N, int C, int HW, int affine)
{
    ptrdiff_t n = (ptrdiff_t)N * C * HW;
    char what[120];
    snprintf(what, sizeof what, "bn train (%d,%d,%d)%s", N, C, HW, affine ? " affine" : "");
    real *x = tensor(n, 0), *gy = tensor(n, 0), *gamma = tensor(C, 0), *beta = tensor(C, 0);
    for (ptrdiff_t i = 0; i < n; i++)
        x[i] = x[i] * 3 + (real)0.7;
    real *rm0 = tensor(C, 0), *rv0 = tensor(C, 0);
    for (int c = 0; c < C; c++)
        rv0[c] = rv0[c] * rv0[c] + (real)0.5;
    real *o[2][7]; /* y, mean, invstd, run_mean, run_var, gx, ggamma (gbeta after) */
    real *gb[2];
    for (int k = 0; k < 2; k++) {
        o[k][0] = tensor(n, 1);
        o[k][1] = tensor(C, 1);
        o[k][2] = tensor(C, 1);
        o[k][3] = tensor(C, 0);
        o[k][4] = tensor(C, 0);
        memcpy(o[k][3], rm0, sizeof(real) * (size_t)C);
        memcpy(o[k][4], rv0, sizeof(real) * (size_t)C);
        o[k][5] = tensor(n, 1);
        o[k][6] = tensor(C, 1);
        gb[k] = tensor(C, 1);
    }
    const real *ga = affine ? gamma : NULL, *be = affine ? beta : NULL;
    k_bn_train_fwd_ref(N, C, HW, (real)1e-5, (real)0.1, x, ga, be, o[0][0], o[0][1], o[0][2],
                       o[0][3], o[0][4]);
    k_bn_train_bwd_ref(N, C, HW, x, gy, ga, o[0][1], o[0][2], o[0][5], o[0][6], gb[0]);
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        memcpy(o[1][3], rm0, sizeof(real) * (size_t)C);
        memcpy(o[1][4], rv0, sizeof(real) * (size_t)C);
        k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x, ga, be, o[1][0], o[1][1], o[1][2],
                       o[1][3], o[1][4]);
        k_bn_train_bwd(N, C, HW, x, gy, ga, o[1][1], o[1][2], o[1][5], o[1][6], gb[1]);
        static const char *names[7] = {"y", "mean", "invstd", "run_mean", "run_var", "gx",
                                       "ggamma"};
        for (int k = 0; k < 7; k++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s %s", what, names[k]);
            cmp(sub, threads, o[1][k], o[0][k], k == 0 || k == 5 ? n : C);
        }
        char sub[160];
        snprintf(sub, sizeof sub, "%s gbeta", what);
        cmp(sub, threads, gb[1], gb[0], C);
    }
    free(x), free(gy), free(gamma), free(beta), free(rm0), free(rv0);
    for (int k = 0; k < 2; k++) {
        for (int j = 0; j < 7; j++)
            free(o[k][j]);
        free(gb[k]);
    }
}

/* One pooling case: the tuned max and average forwards and backwards
 * (both divisor rules) against their references, bit for bit. */
static void pool_case(int N, int C, int H, int W, int k, int s, int p)
{
    int Ho = k_out_size(H, k, s, p, 1), Wo = k_out_size(W, k, s, p, 1);
    ptrdiff_t nx = (ptrdiff_t)N * C * H * W, ny = (ptrdiff_t)N * C * Ho * Wo;
    real *x = tensor(nx, 0), *xm = tensor(nx, 1), *a = tensor(ny, 1), *b = tensor(ny, 1);
    real *gy = tensor(ny, 0), *ga = tensor(nx, 1), *gb = tensor(nx, 1);
    char what[120];
    /* ties, so that the first maximum must win */
    for (ptrdiff_t i = 0; i < nx; i += 3)
        x[i] = x[i / 2];
    /* the max pool's input also holds -inf values, and in the 7x7 planes a
     * top left 3x3 corner all -inf (a window no value wins); the average
     * pools keep finite inputs, so their outputs stay finite */
    memcpy(xm, x, sizeof(real) * (size_t)nx);
    for (ptrdiff_t i = 5; i < nx; i += 13)
        xm[i] = -INFINITY;
    if (H == 7 && W == 7)
        for (ptrdiff_t pl = 0; pl < (ptrdiff_t)N * C; pl++)
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 3; c++)
                    xm[pl * 49 + r * 7 + c] = -INFINITY;
    for (int kind = 0; kind < 3; kind++) {
        snprintf(what, sizeof what, "%s (%d,%d,%d,%d) k%d s%d p%d",
                 kind == 0 ? "maxpool" : kind == 1 ? "avgpool incl pad" : "avgpool excl pad", N,
                 C, H, W, k, s, p);
        for (int threads = 1; threads <= 2; threads++) {
            set_threads(threads);
            if (kind == 0) {
                k_maxpool_fwd_ref(N, C, H, W, k, k, s, s, p, p, xm, b);
                k_maxpool_fwd(N, C, H, W, k, k, s, s, p, p, xm, a);
            } else {
                k_avgpool_fwd_ref(N, C, H, W, k, k, s, s, p, p, kind == 1, x, b);
                k_avgpool_fwd(N, C, H, W, k, k, s, s, p, p, kind == 1, x, a);
            }
            cmp(what, threads, a, b, ny);
            same_bits(what, a, b, ny);
            if (kind == 0) {
                k_maxpool_bwd_ref(N, C, H, W, k, k, s, s, p, p, xm, gy, gb);
                k_maxpool_bwd(N, C, H, W, k, k, s, s, p, p, xm, gy, ga);
            } else {
                k_avgpool_bwd_ref(N, C, H, W, k, k, s, s, p, p, kind == 1, gy, gb);
                k_avgpool_bwd(N, C, H, W, k, k, s, s, p, p, kind == 1, gy, ga);
            }
            char bwd[140];
            snprintf(bwd, sizeof bwd, "%s backward", what);
            cmp(bwd, threads, ga, gb, nx);
            same_bits(bwd, ga, gb, nx);
        }
    }
    free(x), free(xm), free(a), free(b), free(gy), free(ga), free(gb);
}

/* The small kernels of fused chains against the unfused ones: statistics
 * only, scale and shift, the recomputed ReLU mask, the BN output dot. */
static void fused_case(int N, int C, int HW, int affine)
{
    ptrdiff_t n = (ptrdiff_t)N * C * HW;
    real *x = tensor(n, 0), *gy = tensor(n, 0), *y = tensor(n, 1), *g = tensor(n, 1), *g0 = tensor(n, 1);
    real *gamma = affine ? tensor(C, 0) : NULL, *beta = affine ? tensor(C, 0) : NULL;
    real *m0 = tensor(C, 1), *v0 = tensor(C, 1), *m1 = tensor(C, 1), *v1 = tensor(C, 1);
    real *sc = tensor(C, 1), *sh = tensor(C, 1);
    char what[160];
    snprintf(what, sizeof what, "fused bn (%d,%d,%d) affine %d", N, C, HW, affine);
    set_threads(2);
    k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x, gamma, beta, y, m0, v0, NULL, NULL);
    k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x, gamma, beta, NULL, m1, v1, NULL, NULL);
    same_bits(what, m1, m0, C);
    same_bits(what, v1, v0, C);
    k_bn_affine(C, gamma, beta, v0, sc, sh);
    /* x_eff is relu(bn(x)) */
    for (ptrdiff_t i = 0; i < n; i++) {
        g[i] = k_pre_val(x[i], m0, sc, sh, (int)(i / HW % C));
        y[i] = y[i] > 0 ? y[i] : 0;
    }
    cmp(what, 2, g, y, n);
    k_relu_bwd(n, g, gy, g0);
    {
        /* a later piece added straight in: the bits of k_relu_bwd + k_acc */
        real *a = tensor(n, 0), *b = tensor(n, 1);
        memcpy(b, a, sizeof(real) * (size_t)n);
        k_relu_bwd_acc(n, g, gy, a);
        k_acc(n, g0, b);
        same_bits("relu_bwd_acc vs relu_bwd + acc", a, b, n);
        free(a), free(b);
    }
    k_relu_bwd_pre(N, C, HW, m0, sc, sh, x, gy, g);
    same_bits(what, g, g0, n);
    k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x, gamma, beta, y, m0, v0, NULL, NULL);
    real_acc d0 = k_dot(n, gy, y), d1 = 0;
    k_bn_out_dot(N, C, HW, x, gamma, beta, m0, v0, gy, &d1);
    cmp(what, 2, (real[]){(real)d1}, (real[]){(real)d0}, 1);
    /* the BN output accumulated into a mixed op's output, c*y, then base + c*y */
    real coef = (real)0.37;
    k_bn_affine(C, gamma, beta, v0, sc, sh);
    for (int first = 1; first >= 0; first--) {
        for (ptrdiff_t i = 0; i < n; i++) {
            g[i] = first ? (real)NAN : gy[i];
            g0[i] = first ? coef * y[i] : gy[i] + coef * y[i];
        }
        k_bn_out_acc(N, C, HW, x, m0, sc, sh, coef, first, g);
        char sub[200];
        snprintf(sub, sizeof sub, "%s bn_out_acc first %d", what, first);
        cmp(sub, 2, g, g0, n);
    }
    /* its backward from the mixed output's gradient: coef*gy without the copy */
    {
        real *gg0 = tensor(C, 1), *gg1 = tensor(C, 1), *gb0 = tensor(C, 1), *gb1 = tensor(C, 1);
        char sub[200];
        k_scale_fwd(n, coef, gy, y);
        k_bn_train_bwd(N, C, HW, x, y, gamma, m0, v0, g0, gg0, gb0);
        k_bn_train_bwd_scaled(N, C, HW, x, gy, coef, gamma, m0, v0, g, gg1, gb1);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_scaled gx", what);
        cmp(sub, 2, g, g0, n);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_scaled ggamma", what);
        cmp(sub, 2, gg1, gg0, C);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_scaled gbeta", what);
        cmp(sub, 2, gb1, gb0, C);
        free(gg0), free(gg1), free(gb0), free(gb1);
    }
    /* the backward through a BN and the ReLU fused after it, in one kernel:
     * the same bits as k_relu_bwd_pre then k_bn_train_bwd */
    {
        real *gg0 = tensor(C, 1), *gg1 = tensor(C, 1), *gb0 = tensor(C, 1), *gb1 = tensor(C, 1);
        char sub[200];
        k_relu_bwd_pre(N, C, HW, m0, sc, sh, x, gy, y);
        k_bn_train_bwd(N, C, HW, x, y, gamma, m0, v0, g0, gg0, gb0);
        k_bn_train_bwd_relu(N, C, HW, x, gy, sc, sh, gamma, m0, v0, g, gg1, gb1);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_relu gx", what);
        same_bits(sub, g, g0, n);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_relu ggamma", what);
        same_bits(sub, gg1, gg0, C);
        snprintf(sub, sizeof sub, "%s bn_train_bwd_relu gbeta", what);
        same_bits(sub, gb1, gb0, C);
        free(gg0), free(gg1), free(gb0), free(gb1);
    }
    /* an add of two BN outputs, or of one and a stored tensor, each
     * through its drop path or not (add_bn): the bits of the BN forward,
     * k_drop_path_fwd and k_add_fwd; its BN's backward through the drop
     * path: the bits of k_drop_path_bwd then k_bn_train_bwd */
    {
        /* drawn from a stream of their own, so that the later cases keep
         * their data (bn_case's ggamma sums cancel to near 0 for some
         * draws, beyond the relative tolerance) */
        uint64_t rng_saved = rng_state;
        rng_state ^= 0x9e3779b97f4a7c15ull;
        real *x2 = tensor(n, 0), *y2 = tensor(n, 1), *sc2 = tensor(C, 1), *sh2 = tensor(C, 1);
        real *mask = tensor(N, 1), *g1 = tensor(n, 1);
        real *gg0 = tensor(C, 1), *gg1 = tensor(C, 1), *gb0 = tensor(C, 1), *gb1 = tensor(C, 1);
        real keep = (real)0.8;
        for (int i = 0; i < N; i++) mask[i] = (real)(i % 3 != 1); /* 0/1, as drawn */
        k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x, gamma, beta, y, m0, v0, NULL, NULL);
        k_bn_affine(C, gamma, beta, v0, sc, sh);
        k_bn_train_fwd(N, C, HW, (real)1e-5, (real)0.1, x2, gamma, beta, y2, m1, v1, NULL, NULL);
        k_bn_affine(C, gamma, beta, v1, sc2, sh2);
        for (int k = 0; k < 16; k++) {
            int bn0 = k & 1, bn1 = !(k & 2) || !bn0, d0 = (k >> 2) & 1, d1 = k >= 8;
            real *p0 = bn0 ? y : x, *p1 = bn1 ? y2 : x2;
            memcpy(g0, p0, sizeof(real) * (size_t)n);
            memcpy(g1, p1, sizeof(real) * (size_t)n);
            if (d0) k_drop_path_fwd(N, (ptrdiff_t)C * HW, keep, mask, g0, g0);
            if (d1) k_drop_path_fwd(N, (ptrdiff_t)C * HW, keep, mask, g1, g1);
            k_add_fwd(n, g0, g1, g0);
            k_add_bn(N, C, HW, bn0, x, bn0 ? m0 : NULL, bn0 ? sc : NULL, bn0 ? sh : NULL, d0 ? mask : NULL, bn1,
                     x2, bn1 ? m1 : NULL, bn1 ? sc2 : NULL, bn1 ? sh2 : NULL, d1 ? mask : NULL, keep, C, 0, g);
            char sub[200];
            snprintf(sub, sizeof sub, "%s add_bn bn %d %d drop %d %d", what, bn0, bn1, d0, d1);
            same_bits(sub, g, g0, n);
        }
        for (int d = 0; d < 2; d++) {
            char sub[200];
            k_drop_path_bwd(N, (ptrdiff_t)C * HW, keep, mask, gy, g1);
            k_bn_train_bwd(N, C, HW, x, d ? g1 : gy, gamma, m0, v0, g0, gg0, gb0);
            k_bn_train_bwd_add(N, C, HW, x, gy, keep, d ? mask : NULL, gamma, m0, v0, g, gg1, gb1);
            snprintf(sub, sizeof sub, "%s bn_train_bwd_add %d gx", what, d);
            same_bits(sub, g, g0, n);
            snprintf(sub, sizeof sub, "%s bn_train_bwd_add %d ggamma", what, d);
            same_bits(sub, gg1, gg0, C);
            snprintf(sub, sizeof sub, "%s bn_train_bwd_add %d gbeta", what, d);
            same_bits(sub, gb1, gb0, C);
        }
        /* the same into channels 2.. of a wider tensor (a cat_view add) */
        {
            int Cw = C + 3;
            ptrdiff_t nw = (ptrdiff_t)N * Cw * HW;
            real *w0 = tensor(nw, 0), *w1 = tensor(nw, 1);
            char sub[200];
            memcpy(w1, w0, sizeof(real) * (size_t)nw);
            k_add_bn(N, C, HW, 1, x, m0, sc, sh, mask, 0, x2, NULL, NULL, NULL, NULL, keep, C, 0, g0);
            k_concat_put(N, Cw, HW, 2, C, g0, w1);
            k_add_bn(N, C, HW, 1, x, m0, sc, sh, mask, 0, x2, NULL, NULL, NULL, NULL, keep, Cw, 2, w0);
            snprintf(sub, sizeof sub, "%s add_bn into channels 2..", what);
            same_bits(sub, w0, w1, nw);
            free(w0), free(w1);
        }
        free(x2), free(y2), free(sc2), free(sh2), free(mask), free(g1);
        free(gg0), free(gg1), free(gb0), free(gb1);
        rng_state = rng_saved;
    }
    free(x), free(gy), free(y), free(g), free(g0), free(gamma), free(beta);
    free(m0), free(v0), free(m1), free(v1), free(sc), free(sh);
}

/* A FactorizedReduce case: k_fr_fwd and k_fr_bwd against the unfused
 * kernels they replace (ReLU, the two strided 1x1 convs, the pad (-1 top
 * and left, pb bottom and right), the concat), bit for bit, the gradients
 * written and added, in three modes: after the ReLU (mode 0: the ReLU's
 * gradient), reading through it (mode 1, a prologue: the same), and with
 * it (mode 2: its input's gradient). */
static void fr_case(int N, int C, int H, int W, int Co1, int Co2, int pb)
{
    int Ho = (H + 1) / 2, Wo = (W + 1) / 2, Hp = H - 1 + pb, Wp = W - 1 + pb;
    if (k_out_size(Hp, 1, 2, 0, 1) != Ho || k_out_size(Wp, 1, 2, 0, 1) != Wo) {
        fprintf(stderr, "fr_case: the branches disagree at %dx%d, pad %d\n", H, W, pb);
        exit(1);
    }
    ptrdiff_t nx = (ptrdiff_t)N * C * H * W, np = (ptrdiff_t)N * C * Hp * Wp, P = (ptrdiff_t)Ho * Wo;
    ptrdiff_t ny = (ptrdiff_t)N * (Co1 + Co2) * P, n1 = (ptrdiff_t)Co1 * C, n2 = (ptrdiff_t)Co2 * C;
    real *x = tensor(nx, 0), *w1 = tensor(n1, 0), *w2 = tensor(n2, 0), *gy = tensor(ny, 0), *g0 = tensor(nx, 0);
    real *r = tensor(nx, 1), *pd = tensor(np, 1), *y1 = tensor((ptrdiff_t)N * Co1 * P, 1);
    real *y2 = tensor((ptrdiff_t)N * Co2 * P, 1), *yr = tensor(ny, 1), *yf = tensor(ny, 1);
    real *gy1 = tensor((ptrdiff_t)N * Co1 * P, 1), *gy2 = tensor((ptrdiff_t)N * Co2 * P, 1);
    real *gp = tensor(np, 1), *gq = tensor(nx, 1), *gr = tensor(nx, 1), *gxr = tensor(nx, 1);
    real *gxf = tensor(nx, 1), *t = tensor(nx, 1), *gw1r = tensor(n1, 1), *gw2r = tensor(n2, 1);
    real *gw1f = tensor(n1, 1), *gw2f = tensor(n2, 1);
    char what[160];
    for (int threads = 1; threads <= 2; threads++) {
        set_threads(threads);
        k_relu_fwd(nx, x, r);
        k_conv2d_fwd(N, C, H, W, Co1, 1, 1, 2, 2, 0, 0, 1, 1, 1, r, w1, y1);
        k_pad_fwd(N, C, H, W, -1, pb, -1, pb, r, pd);
        k_conv2d_fwd(N, C, Hp, Wp, Co2, 1, 1, 2, 2, 0, 0, 1, 1, 1, pd, w2, y2);
        k_concat_put(N, Co1 + Co2, (int)P, 0, Co1, y1, yr);
        k_concat_put(N, Co1 + Co2, (int)P, Co1, Co2, y2, yr);
        k_slice_channels_fwd(N, Co1 + Co2, (int)P, 0, Co1, gy, gy1);
        k_slice_channels_fwd(N, Co1 + Co2, (int)P, Co1, Co2, gy, gy2);
        k_conv2d_bwd_weight(N, C, H, W, Co1, 1, 1, 2, 2, 0, 0, 1, 1, 1, r, gy1, gw1r);
        k_conv2d_bwd_weight(N, C, Hp, Wp, Co2, 1, 1, 2, 2, 0, 0, 1, 1, 1, pd, gy2, gw2r);
        k_conv2d_bwd_data(N, C, Hp, Wp, Co2, 1, 1, 2, 2, 0, 0, 1, 1, 1, gy2, w2, gp);
        k_pad_bwd(N, C, H, W, -1, pb, -1, pb, gp, gq); /* the pad's piece */
        for (int mode = 0; mode <= 2; mode++) {
            int rb = mode > 0, mask = mode == 2;
            const char *tag = mode == 2 ? "with its relu" : mode ? "through its relu" : "after its relu";
            k_fr_fwd(N, C, H, W, Co1, Co2, rb, rb ? x : r, w1, w2, yf);
            snprintf(what, sizeof what, "factorized reduce %s (%d,%d,%d,%d)->%d+%d pad %d y", tag, N, C, H, W, Co1,
                     Co2, pb);
            cmp(what, threads, yf, yr, ny);
            same_bits(what, yf, yr, ny);
            for (int acc = 0; acc <= 1; acc++) {
                /* the unfused steps: the pad's piece, conv_1's, then (rb) the ReLU's */
                memcpy(gr, mask || !acc ? gq : g0, sizeof(real) * (size_t)nx);
                if (!mask && acc)
                    k_acc(nx, gq, gr);
                k_conv2d_bwd_data_acc(N, C, H, W, Co1, 1, 1, 2, 2, 0, 0, 1, 1, 1, gy1, w1, gr);
                memcpy(gxr, g0, sizeof(real) * (size_t)nx);
                if (mask)
                    (acc ? k_relu_bwd_acc : k_relu_bwd)(nx, r, gr, gxr);
                else
                    memcpy(gxr, gr, sizeof(real) * (size_t)nx);
                memcpy(gxf, g0, sizeof(real) * (size_t)nx);
                k_fr_bwd(N, C, H, W, Co1, Co2, rb, rb ? x : r, w1, w2, gy, gxf, mask, acc, t, acc ? NULL : gw1f,
                         acc ? NULL : gw2f);
                snprintf(what, sizeof what, "factorized reduce %s (%d,%d,%d,%d)->%d+%d pad %d gx%s", tag, N, C, H,
                         W, Co1, Co2, pb, acc ? " added" : "");
                cmp(what, threads, gxf, gxr, nx);
                same_bits(what, gxf, gxr, nx);
            }
            snprintf(what, sizeof what, "factorized reduce %s (%d,%d,%d,%d)->%d+%d pad %d gw", tag, N, C, H, W,
                     Co1, Co2, pb);
            cmp(what, threads, gw1f, gw1r, n1);
            same_bits(what, gw1f, gw1r, n1);
            cmp(what, threads, gw2f, gw2r, n2);
            same_bits(what, gw2f, gw2r, n2);
        }
    }
    free(x), free(w1), free(w2), free(gy), free(g0), free(r), free(pd), free(y1), free(y2), free(yr);
    free(yf), free(gy1), free(gy2), free(gp), free(gq), free(gr), free(gxr), free(gxf), free(t);
    free(gw1r), free(gw2r), free(gw1f), free(gw2f);
}

/* A depthwise case (g = Ci = Co = C). */
static void dw(int N, int C, int H, int W, int kh, int kw, int s, int ph, int pw, int d)
{
    conv_case(N, C, H, W, C, kh, kw, s, s, ph, pw, d, d, C);
}

/* A pointwise case. */
static void pw1(int N, int Ci, int H, int W, int Co)
{
    conv_case(N, Ci, H, W, Co, 1, 1, 1, 1, 0, 0, 1, 1, 1);
}

int main(void)
{
    /* pointwise GEMM */
    pw1(1, 1, 1, 1, 1);
    pw1(1, 3, 1, 1, 2);
    pw1(2, 3, 7, 7, 5);
    pw1(3, 16, 9, 9, 24);
    pw1(2, 16, 32, 32, 16);
    pw1(1, 37, 5, 3, 19);
    pw1(4, 64, 8, 8, 64);
    pw1(2, 130, 3, 3, 70);
    pw1(2, 200, 11, 13, 131);
    pw1(5, 32, 16, 16, 32);
    /* packed GEMM edges: row blocks of every size (full, 2/3, 1/3, padded),
     * columns past a panel and not a multiple of the strip, depth split in
     * blocks, batch 1 split in column chunks, weight-gradient sample groups
     * with a remainder */
    pw1(2, 36, 8, 8, 36);
    pw1(2, 13, 6, 6, 13);
    pw1(2, 20, 5, 5, 25);
    pw1(1, 9, 10, 30, 7);
    pw1(1, 36, 32, 32, 36);
    pw1(1, 300, 4, 4, 40);
    pw1(2, 144, 7, 7, 72);
    pw1(11, 16, 8, 8, 20);
    pw1(3, 8, 1, 33, 17);
    pw1(12, 64, 7, 7, 64); /* Fashion-MNIST final network, 7x7 cells */
    /* its preprocessing convs (their BN's backward applied in them, the
     * fused pass of k_conv2d_pw_bwd_bn on 1 and 2 threads): several runs
     * per slice, one run per slice, and two weight-gradient tiles */
    pw1(6, 48, 28, 28, 32);
    pw1(24, 96, 14, 14, 64);
    pw1(32, 200, 14, 14, 8);
    /* depthwise */
    for (int W = 1; W <= 9; W++)
        dw(2, 3, 7, W, 3, 3, 1, 1, 1, 1);
    dw(1, 1, 1, 1, 3, 3, 1, 1, 1, 1);
    dw(1, 2, 1, 1, 5, 5, 2, 2, 2, 1);
    dw(3, 16, 32, 32, 3, 3, 1, 1, 1, 1);
    dw(3, 16, 32, 32, 5, 5, 1, 2, 2, 1);
    dw(2, 8, 16, 16, 3, 3, 1, 2, 2, 2);
    dw(2, 8, 16, 17, 5, 5, 1, 4, 4, 2);
    dw(2, 8, 16, 16, 3, 3, 2, 1, 1, 1);
    dw(2, 8, 15, 15, 3, 3, 2, 1, 1, 1);
    dw(2, 8, 16, 16, 5, 5, 2, 2, 2, 1);
    /* stride-2 rows past one and two vectors of pairs (the masked row
     * copies), odd and even, and the Fashion-MNIST reduction shapes */
    dw(2, 3, 5, 40, 3, 3, 2, 1, 1, 1);
    dw(2, 3, 5, 33, 5, 5, 2, 2, 2, 1);
    dw(2, 3, 6, 67, 3, 3, 2, 2, 2, 2);
    dw(2, 4, 28, 28, 5, 5, 2, 2, 2, 1);
    dw(2, 4, 14, 14, 3, 3, 2, 2, 2, 2);
    dw(2, 4, 7, 7, 5, 5, 1, 4, 4, 2);
    dw(2, 8, 17, 16, 3, 3, 2, 2, 2, 2);
    dw(2, 6, 9, 9, 5, 5, 2, 4, 4, 2);
    dw(2, 4, 10, 10, 7, 7, 2, 3, 3, 1);
    dw(2, 4, 8, 8, 3, 3, 1, 0, 0, 1);
    dw(2, 4, 8, 9, 1, 3, 1, 0, 1, 1);
    dw(2, 4, 9, 8, 3, 1, 1, 1, 0, 1);
    dw(1, 4, 8, 8, 3, 3, 1, 3, 3, 1); /* padding wider than the window's reach */
    dw(2, 5, 6, 7, 1, 1, 1, 0, 0, 1);
    conv_case(2, 4, 9, 11, 4, 3, 5, 1, 2, 1, 2, 2, 1, 4); /* mixed strides and dilations */
    /* depthwise rows in chunks: padded planes, overlapping last chunks, rows
     * narrower than a chunk, stride-2 phases with odd sizes, windows wider
     * than the plane (no interior), batch 1 and 3, odd channel counts, strides
     * 3 and mixed, planes too large for the stack (dense fallback) */
    for (int W = 13; W <= 19; W++)
        dw(1, 3, 5, W, 3, 3, 1, 1, 1, 1);
    dw(3, 5, 28, 28, 3, 3, 1, 1, 1, 1);
    dw(3, 5, 28, 28, 5, 5, 1, 2, 2, 1);
    dw(1, 7, 14, 14, 3, 3, 1, 2, 2, 2);
    dw(3, 3, 7, 7, 5, 5, 1, 4, 4, 2);
    dw(3, 3, 7, 7, 5, 5, 1, 2, 2, 1);
    dw(1, 3, 4, 4, 5, 5, 1, 2, 2, 1);
    dw(1, 3, 4, 4, 5, 5, 1, 4, 4, 2);
    dw(3, 3, 4, 4, 3, 3, 1, 2, 2, 2);
    dw(3, 5, 31, 33, 3, 3, 2, 1, 1, 1);
    dw(1, 5, 33, 31, 5, 5, 2, 2, 2, 1);
    dw(3, 3, 15, 17, 3, 3, 2, 2, 2, 2);
    dw(3, 3, 13, 13, 5, 5, 2, 4, 4, 2);
    dw(1, 7, 7, 7, 3, 3, 2, 1, 1, 1);
    dw(3, 3, 7, 7, 5, 5, 2, 2, 2, 1);
    dw(1, 3, 4, 4, 5, 5, 2, 4, 4, 2);
    dw(1, 3, 3, 3, 3, 3, 2, 1, 1, 1);
    dw(2, 3, 64, 64, 3, 3, 1, 1, 1, 1);
    dw(1, 2, 40, 70, 5, 5, 2, 2, 2, 1);
    dw(2, 3, 11, 10, 3, 3, 3, 1, 1, 1);
    dw(1, 3, 10, 11, 5, 5, 3, 2, 2, 2);
    dw(1, 2, 120, 120, 3, 3, 1, 1, 1, 1);
    dw(1, 2, 200, 9, 3, 3, 2, 1, 1, 1);
    /* batches that k_conv2d_dwpw_bwd_data splits into several runs for the
     * pointwise weight gradient: per slice (long rows in lanes, short
     * rows through the GEMM) and, past one tile, over the whole batch */
    dw(4, 8, 16, 16, 3, 3, 1, 1, 1, 1);
    dw(5, 8, 8, 8, 5, 5, 1, 2, 2, 1);
    dw(5, 164, 32, 32, 3, 3, 1, 1, 1, 1);
    dw(40, 164, 10, 10, 3, 3, 1, 1, 1, 1);
    conv_case(3, 5, 9, 12, 5, 5, 3, 2, 1, 2, 1, 1, 2, 5);
    conv_case(1, 3, 12, 9, 3, 3, 3, 1, 2, 1, 1, 2, 1, 3);
    /* im2col + GEMM */
    conv_case(2, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* stem */
    conv_case(2, 3, 9, 9, 12, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    conv_case(2, 16, 8, 8, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1);   /* FactorizedReduce */
    conv_case(2, 16, 7, 7, 8, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    conv_case(1, 40, 16, 16, 36, 1, 1, 2, 2, 0, 0, 1, 1, 1);
    conv_case(2, 200, 33, 35, 9, 1, 1, 2, 2, 0, 0, 1, 1, 1); /* panels split mid-row */
    conv_case(2, 6, 9, 11, 5, 1, 1, 3, 2, 0, 0, 1, 1, 1);
    conv_case(1, 6, 9, 11, 5, 1, 1, 1, 3, 0, 0, 1, 1, 1);
    conv_case(2, 8, 8, 8, 6, 1, 1, 2, 2, 0, 0, 1, 1, 2);    /* grouped strided 1x1 */
    conv_case(2, 3, 16, 16, 54, 3, 3, 1, 1, 1, 1, 1, 1, 1); /* stem, 54 = 4.5 row blocks */
    conv_case(1, 150, 6, 6, 20, 3, 3, 1, 1, 1, 1, 1, 1, 1);  /* im2col depth in panels */
    conv_case(2, 6, 8, 8, 6, 1, 7, 1, 1, 0, 3, 1, 1, 1);    /* conv_7x1_1x7 */
    conv_case(2, 6, 8, 8, 6, 7, 1, 1, 1, 3, 0, 1, 1, 1);
    conv_case(2, 6, 8, 8, 6, 1, 7, 1, 2, 0, 3, 1, 1, 1);
    conv_case(2, 6, 8, 4, 6, 7, 1, 2, 1, 3, 0, 1, 1, 1);
    conv_case(2, 128, 2, 2, 96, 2, 2, 1, 1, 0, 0, 1, 1, 1); /* aux head 2x2 */
    conv_case(2, 16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    conv_case(2, 20, 12, 12, 70, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    conv_case(2, 8, 6, 6, 12, 3, 3, 1, 1, 1, 1, 1, 1, 4);   /* grouped */
    conv_case(2, 8, 9, 9, 4, 3, 3, 2, 2, 2, 2, 2, 2, 2);
    conv_case(2, 6, 5, 5, 9, 1, 1, 1, 1, 0, 0, 1, 1, 3);
    conv_case(2, 4, 5, 5, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1);    /* 1x1 with padding */
    conv_case(1, 1, 1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1);
    conv_case(1, 2, 1, 1, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1);
    conv_case(3, 5, 10, 3, 7, 3, 3, 1, 2, 1, 1, 2, 1, 1);
    fused_case(2, 3, 25, 1);
    fused_case(4, 16, 64, 0);
    fused_case(3, 5, 7, 1);
    /* pools */
    pool_case(1, 1, 1, 1, 3, 1, 1);
    pool_case(2, 3, 8, 8, 3, 1, 1);
    pool_case(2, 3, 7, 9, 3, 2, 1);
    pool_case(2, 3, 8, 8, 3, 2, 1);
    pool_case(2, 3, 8, 8, 2, 2, 0);
    pool_case(2, 3, 8, 8, 5, 3, 0);
    pool_case(3, 16, 32, 32, 3, 1, 1);
    pool_case(1, 2, 2, 5, 3, 1, 1);
    /* stride 1 as whole planes: the Fashion-MNIST sizes, a 5x5 window,
     * and a plane past the flat path's buffer */
    pool_case(2, 4, 28, 28, 3, 1, 1);
    pool_case(2, 4, 14, 14, 3, 1, 1);
    pool_case(2, 4, 7, 7, 3, 1, 1);
    pool_case(2, 3, 9, 11, 5, 1, 2);
    pool_case(2, 3, 6, 5, 2, 1, 0);
    pool_case(1, 2, 70, 70, 3, 1, 1);
    pool_case(1, 2, 3, 600, 3, 1, 1); /* rows wider than the backward's column block */
    /* strided as whole planes in phases: the reduction cells' sizes, odd
     * planes, strides 3 and 4 with padding, and stride 5 (past the flat
     * path) */
    pool_case(2, 4, 28, 28, 3, 2, 1);
    pool_case(2, 4, 14, 14, 3, 2, 1);
    pool_case(2, 4, 7, 7, 3, 2, 1);
    pool_case(2, 3, 9, 13, 5, 2, 2);
    pool_case(2, 3, 11, 10, 3, 3, 1);
    pool_case(2, 3, 17, 15, 4, 4, 2);
    pool_case(2, 3, 16, 16, 2, 2, 1);
    pool_case(1, 2, 3, 3, 3, 2, 1);
    pool_case(2, 3, 12, 12, 5, 5, 2);
    pool_case(1, 2, 60, 60, 3, 2, 1); /* phases past the flat path's buffer */
    /* batch norm */
    bn_case(1, 1, 1, 1);
    bn_case(4, 3, 25, 1);
    bn_case(3, 5, 49, 0);
    bn_case(16, 16, 1024, 1);
    bn_case(8, 7, 1, 1);
    /* FactorizedReduce: even and odd planes, the DARTS pad (no zeros
     * added: even planes only), depth past one GEMM block, batch 1 */
    fr_case(2, 6, 8, 8, 4, 4, 1);
    fr_case(3, 5, 7, 9, 3, 2, 1);
    fr_case(2, 16, 28, 28, 8, 8, 1);
    fr_case(2, 6, 10, 6, 3, 3, 0);
    fr_case(2, 144, 8, 8, 18, 18, 1);
    fr_case(1, 48, 14, 14, 16, 16, 1);
    fr_case(1, 2, 184, 184, 1, 2, 1); /* planes too large for the one-pass data gradient */
    printf("kernels_fast_vs_ref: %ld elements compared, %d failed (|a-b| <= %g + %g*|b|); "
           "worst rel err %.3e, worst err/tol %.3f (%s)\n",
           total_elems, failures, ATOL, RTOL, worst_rel, worst_ratio, worst_what);
    return failures ? 1 : 0;
}
