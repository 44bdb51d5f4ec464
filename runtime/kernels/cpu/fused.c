/* fused.c: the small kernels of fused chains (see ir/fuse.c): a fused BN's
 * per-channel scale and shift, the ReLU backward that recomputes its mask
 * from the BN input, a mixed op's BN candidate added straight into the
 * mixed output or an add, and the mixed op's <gy, y> of a BN output that
 * was not kept. Arithmetic matches the unfused kernels (k_bn_train_fwd,
 * k_bn_eval_fwd, k_relu_fwd) so that recomputed values have the same bits. */
#include "cpu_kernels.h"

#include <math.h>

/* Scale and shift of a training BN from its saved inverse std. */
K_FN void k_bn_affine(int C, const real *gamma, const real *beta, const real *save_invstd,
                      real *scale, real *shift)
{
    for (int c = 0; c < C; c++) {
        scale[c] = gamma ? gamma[c] * save_invstd[c] : save_invstd[c];
        shift[c] = beta ? beta[c] : (real)0;
    }
}

/* Scale and shift of an eval BN from the running variance. */
K_FN void k_bn_eval_affine(int C, real eps, const real *gamma, const real *beta,
                           const real *run_var, real *scale, real *shift)
{
    for (int c = 0; c < C; c++) {
        real invstd = (real)(1.0 / sqrt((real_acc)run_var[c] + (real_acc)eps));
        scale[c] = gamma ? gamma[c] * invstd : invstd;
        shift[c] = beta ? beta[c] : (real)0;
    }
}

/* <gy, BN output> over channel c, the output rebuilt value by value; each
 * plane summed on its own (vectorized, real lanes), the planes in order in
 * real_acc. */
static real_acc bn_out_dot_channel(int N, int C, int HW, int c, const real *x, const real *gamma,
                                   const real *beta, const real *save_mean,
                                   const real *save_invstd, const real *gy)
{
    real mu = save_mean[c];
    real a = gamma ? gamma[c] * save_invstd[c] : save_invstd[c];
    real b = beta ? beta[c] : (real)0;
    real_acc sc = 0;
    for (int n = 0; n < N; n++) {
        const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
        const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
        real r = 0; /* one plane in real lanes, like the BN kernels' sums */
        K_OMP(simd reduction(+:r))
        for (int i = 0; i < HW; i++)
            r += gp[i] * ((xp[i] - mu) * a + b);
        sc += r;
    }
    return sc;
}

/* <gy, BN output>: the channels' sums (in parallel), added in channel
 * order, so the bits do not depend on the thread count. */
K_FN void k_bn_out_dot(int N, int C, int HW, const real *x, const real *gamma, const real *beta,
                       const real *save_mean, const real *save_invstd, const real *gy,
                       real_acc *dot)
{
    enum { MAXC = 2048 };
    real_acc part[MAXC], s = 0;
    for (int c0 = 0; c0 < C; c0 += MAXC) {
        int nc = C - c0 < MAXC ? C - c0 : MAXC;
        K_OMP(parallel for if(k_par((double)N * nc * HW)) schedule(static))
        for (int c = 0; c < nc; c++)
            part[c] = bn_out_dot_channel(N, C, HW, c0 + c, x, gamma, beta, save_mean, save_invstd,
                                         gy);
        for (int c = 0; c < nc; c++)
            s += part[c];
    }
    *dot = s;
}

/* A mixed op's BN candidate accumulated into the mixed output:
 * y (+)= coef * ((x - mean[c])*scale[c] + shift[c]), the BN output with the
 * arithmetic of k_bn_train_fwd / k_bn_eval_fwd; first != 0 overwrites y. */
K_FN void k_bn_out_acc(int N, int C, int HW, const real *x, const real *mean, const real *scale,
                       const real *shift, real coef, int first, real *y)
{
    ptrdiff_t planes = (ptrdiff_t)N * C;
    K_OMP(parallel for if(k_par((double)planes * HW)) schedule(static))
    for (ptrdiff_t p = 0; p < planes; p++) {
        int c = (int)(p % C);
        real mu = mean[c], a = scale[c], b = shift[c];
        const real *xp = x + p * HW;
        real *yp = y + p * HW;
        if (first)
            for (int i = 0; i < HW; i++)
                yp[i] = coef * ((xp[i] - mu) * a + b);
        else
            for (int i = 0; i < HW; i++)
                yp[i] += coef * ((xp[i] - mu) * a + b);
    }
}

/* One input of k_add_bn for plane (n, c): where its values are, the BN
 * they go through (bn), and the drop path's divisor and mask (keep and
 * the sample's mask; 1 and 1 without one: v / 1 * 1 is v, bit for bit). */
typedef struct {
    const real *x;
    real mu, a, b; /* BN mean, scale, shift */
    real k, m;     /* drop path keep probability and mask */
    int bn;
} AddIn;

static AddIn add_in(int bn, const real *x, const real *mean, const real *scale, const real *shift,
                    const real *mask, real keep, ptrdiff_t p, int n, int c, int HW)
{
    AddIn in = { x + p * HW, 0, 1, 0, 1, 1, bn };
    if (bn) in.mu = mean[c], in.a = scale[c], in.b = shift[c];
    if (mask) in.k = keep, in.m = mask[n];
    return in;
}

/* One plane of k_add_bn: t's values (a BN output when t->bn) plus u's (a
 * BN output when u->bn; t->bn when u->bn), each through its drop path when
 * `drop`: the BN output of k_bn_train_fwd, then k_drop_path_fwd's
 * v / keep * mask, then the sum. The three cases are loops of their own,
 * vectorized. */
static inline void add_plane(const AddIn *t, const AddIn *u, int drop, int HW, real *restrict yp)
{
    const real *restrict tx = t->x, *restrict ux = u->x;
    real tm = t->mu, ta = t->a, tb = t->b, um = u->mu, ua = u->a, ub = u->b;
    real tk = t->k, tw = t->m, uk = u->k, uw = u->m;
#define ADD_T(i) ((tx[i] - tm) * ta + tb)
#define ADD_U(i) ((ux[i] - um) * ua + ub)
#define ADD_D(v, k, w) (drop ? (v) / (k) * (w) : (v))
    if (u->bn) {
        K_OMP(simd)
        for (int i = 0; i < HW; i++)
            yp[i] = ADD_D(ADD_T(i), tk, tw) + ADD_D(ADD_U(i), uk, uw);
    } else if (t->bn) {
        K_OMP(simd)
        for (int i = 0; i < HW; i++)
            yp[i] = ADD_D(ADD_T(i), tk, tw) + ADD_D(ux[i], uk, uw);
    } else {
        K_OMP(simd)
        for (int i = 0; i < HW; i++)
            yp[i] = ADD_D(tx[i], tk, tw) + ADD_D(ux[i], uk, uw);
    }
#undef ADD_T
#undef ADD_U
#undef ADD_D
}

K_FN void k_add_bn(int N, int C, int HW, int bn0, const real *x0, const real *mean0,
                   const real *scale0, const real *shift0, const real *mask0, int bn1,
                   const real *x1, const real *mean1, const real *scale1, const real *shift1,
                   const real *mask1, real keep, int Cy, int cy, real *y)
{
    ptrdiff_t planes = (ptrdiff_t)N * C;
    int drop = mask0 || mask1;
    K_OMP(parallel for if(k_par((double)planes * HW)) schedule(static))
    for (ptrdiff_t p = 0; p < planes; p++) {
        int n = (int)(p / C), c = (int)(p % C);
        AddIn a = add_in(bn0, x0, mean0, scale0, shift0, mask0, keep, p, n, c, HW);
        AddIn b = add_in(bn1, x1, mean1, scale1, shift1, mask1, keep, p, n, c, HW);
        real *yp = y + ((ptrdiff_t)n * Cy + cy + c) * HW;
        /* a BN input goes first (an add is commutative) */
        if (drop)
            add_plane(a.bn ? &a : &b, a.bn ? &b : &a, 1, HW, yp);
        else
            add_plane(a.bn ? &a : &b, a.bn ? &b : &a, 0, HW, yp);
    }
}

/* ReLU backward with the mask recomputed from the BN input. */
K_FN void k_relu_bwd_pre(int N, int C, int HW, const real *pre_mean, const real *pre_scale,
                         const real *pre_shift, const real *x, const real *gy, real *gx)
{
    ptrdiff_t planes = (ptrdiff_t)N * C;
    K_OMP(parallel for if(k_par((double)planes * HW)) schedule(static))
    for (ptrdiff_t p = 0; p < planes; p++) {
        int c = (int)(p % C);
        const real *xp = x + p * HW, *gp = gy + p * HW;
        real *gxp = gx + p * HW;
        for (int i = 0; i < HW; i++)
            gxp[i] = k_pre_val(xp[i], pre_mean, pre_scale, pre_shift, c) > 0 ? gp[i] : (real)0;
    }
}
