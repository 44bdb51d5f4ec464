/* mixed.c: the MixedOp weighted sum (scalar and max_w weighting) and the
 * row softmax that turns architecture parameters alpha into op weights.
 * The MixedOp loops run in parallel (OpenMP) over element blocks or ops,
 * with unchanged arithmetic per element. */
#include "cpu_kernels.h"

#include <math.h>

/* Softmax of each row of alpha, max-shifted, normalized in real_acc. */
K_FN void k_arch_softmax_fwd(int E, int P, const real *alpha, real *w)
{
    for (int e = 0; e < E; e++) {
        const real *a = alpha + (ptrdiff_t)e * P;
        real *r = w + (ptrdiff_t)e * P;
        real_acc m = a[0], s = 0;
        for (int k = 1; k < P; k++)
            if (a[k] > m)
                m = a[k];
        for (int k = 0; k < P; k++)
            s += exp(a[k] - m);
        for (int k = 0; k < P; k++)
            r[k] = (real)(exp(a[k] - m) / s);
    }
}

/* Softmax backward per row: galpha = w*(gw - <gw, w>). */
K_FN void k_arch_softmax_bwd(int E, int P, const real *w, const real *gw, real *galpha)
{
    for (int e = 0; e < E; e++) {
        const real *wr = w + (ptrdiff_t)e * P, *gr = gw + (ptrdiff_t)e * P;
        real *ga = galpha + (ptrdiff_t)e * P;
        real_acc d = 0;
        for (int k = 0; k < P; k++)
            d += (real_acc)wr[k] * gr[k];
        for (int k = 0; k < P; k++)
            ga[k] = (real)(wr[k] * (gr[k] - d));
    }
}

/* Index of the first maximum of w. */
static int mixed_argmax(int P, const real *w)
{
    int am = 0;
    for (int k = 1; k < P; k++)
        if (w[k] > w[am])
            am = k;
    return am;
}

/* c_k = w_k (scalar) or 1 - max w + w_k (max_w). */
K_FN void k_mixed_coef(int P, int mode, const real *w, real *c)
{
    real wmax = w[mixed_argmax(P, w)];
    for (int k = 0; k < P; k++)
        c[k] = mode == MIX_MAX_W ? 1 - wmax + w[k] : w[k];
}

/* y = sum_k c_k o[k] (acc == 0) or y += sum_k c_k o[k], NULL outputs
 * skipped. Blocks of elements run in parallel; each element sums the ops in
 * order, so the bits do not depend on the thread count. */
static void mixed_sum(ptrdiff_t n, int P, int mode, const real *w, const real *const *o, int acc,
                      real *y)
{
    real wmax = w[mixed_argmax(P, w)];
    ptrdiff_t nb = (n + 4095) / 4096;
    K_OMP(parallel for if(k_par((double)n * P)) schedule(static))
    for (ptrdiff_t blk = 0; blk < nb; blk++) {
        ptrdiff_t i0 = blk * 4096, i1 = i0 + 4096 < n ? i0 + 4096 : n;
        int first = !acc;
        for (int k = 0; k < P; k++) {
            if (!o[k])
                continue;
            real c = mode == MIX_MAX_W ? 1 - wmax + w[k] : w[k];
            const real *ok = o[k];
            if (first)
                for (ptrdiff_t i = i0; i < i1; i++)
                    y[i] = c * ok[i];
            else
                for (ptrdiff_t i = i0; i < i1; i++)
                    y[i] += c * ok[i];
            first = 0;
        }
        if (first)
            for (ptrdiff_t i = i0; i < i1; i++)
                y[i] = 0;
    }
}

K_FN void k_mixed_fwd(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                      real *y)
{
    mixed_sum(n, P, mode, w, o, 0, y);
}

K_FN void k_mixed_fwd_acc(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                          real *y)
{
    mixed_sum(n, P, mode, w, o, 1, y);
}

/* MixedOp backward: op-output gradients and op-weight gradients. */
K_FN void k_mixed_bwd(ptrdiff_t n, int P, int mode, const real *w, const real *const *o,
                      const real *gy, real *const *go, real *gw)
{
    int am = mixed_argmax(P, w);
    real wmax = w[am];
    K_OMP(parallel for if(k_par((double)n * P)) schedule(static))
    for (int k = 0; k < P; k++)
        if (go && go[k]) {
            real c = mode == MIX_MAX_W ? 1 - wmax + w[k] : w[k];
            for (ptrdiff_t i = 0; i < n; i++)
                go[k][i] = c * gy[i];
        }
    if (!gw)
        return;
    real_acc total = 0, d_am = 0;
    for (int k = 0; k < P; k++) {
        real_acc d = o[k] ? k_dot(n, gy, o[k]) : 0;
        gw[k] = (real)d;
        total += d;
        if (k == am)
            d_am = d;
    }
    if (mode == MIX_MAX_W)
        gw[am] = (real)(d_am - total);
}

/* Architecture-weight gradient from the candidates' dot products (the
 * second half of k_mixed_bwd, same arithmetic). */
K_FN void k_mixed_wgrad(int P, int mode, const real *w, const real_acc *d, real *gw)
{
    int am = mixed_argmax(P, w);
    real_acc total = 0;
    for (int k = 0; k < P; k++) {
        gw[k] = (real)d[k];
        total += d[k];
    }
    if (mode == MIX_MAX_W)
        gw[am] = (real)(d[am] - total);
}
