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

/* One input of k_add_bn for plane (n, c): where its values are, and the
 * BN and drop path they go through. */
typedef struct {
    const real *x;
    real mu, a, b, m; /* BN mean, scale, shift; drop path mask (1: none) */
    int bn, drop;
} AddIn;

static AddIn add_in(int bn, const real *x, const real *mean, const real *scale, const real *shift,
                    const real *mask, ptrdiff_t p, int n, int c, int HW)
{
    AddIn in = { x + p * HW, 0, 1, 0, 1, bn, mask != NULL };
    if (bn) in.mu = mean[c], in.a = scale[c], in.b = shift[c];
    if (mask) in.m = mask[n];
    return in;
}

/* Value i of an input: the BN output of k_bn_train_fwd, then the drop
 * path of k_drop_path_fwd (each only when the input has it). */
static inline real add_val(const AddIn *in, int i, real keep)
{
    real v = in->bn ? (in->x[i] - in->mu) * in->a + in->b : in->x[i];
    return in->drop ? v / keep * in->m : v;
}

K_FN void k_add_bn(int N, int C, int HW, int bn0, const real *x0, const real *mean0,
                   const real *scale0, const real *shift0, const real *mask0, int bn1,
                   const real *x1, const real *mean1, const real *scale1, const real *shift1,
                   const real *mask1, real keep, int Cy, int cy, real *y)
{
    ptrdiff_t planes = (ptrdiff_t)N * C;
    K_OMP(parallel for if(k_par((double)planes * HW)) schedule(static))
    for (ptrdiff_t p = 0; p < planes; p++) {
        int n = (int)(p / C), c = (int)(p % C);
        AddIn a = add_in(bn0, x0, mean0, scale0, shift0, mask0, p, n, c, HW);
        AddIn b = add_in(bn1, x1, mean1, scale1, shift1, mask1, p, n, c, HW);
        real *restrict yp = y + ((ptrdiff_t)n * Cy + cy + c) * HW;
        if (a.drop || b.drop) {
            for (int i = 0; i < HW; i++)
                yp[i] = add_val(&a, i, keep) + add_val(&b, i, keep);
            continue;
        }
        /* no drop path: one vectorized loop (an add is commutative, so a
         * BN input may go first) */
        const AddIn *t = a.bn ? &a : &b, *u = a.bn ? &b : &a;
        const real *restrict tx = t->x, *restrict ux = u->x;
        real tm = t->mu, ta = t->a, tb = t->b, um = u->mu, ua = u->a, ub = u->b;
        if (u->bn) {
            K_OMP(simd)
            for (int i = 0; i < HW; i++)
                yp[i] = ((tx[i] - tm) * ta + tb) + ((ux[i] - um) * ua + ub);
        } else if (t->bn) {
            K_OMP(simd)
            for (int i = 0; i < HW; i++)
                yp[i] = ((tx[i] - tm) * ta + tb) + ux[i];
        } else {
            K_OMP(simd)
            for (int i = 0; i < HW; i++)
                yp[i] = tx[i] + ux[i];
        }
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
