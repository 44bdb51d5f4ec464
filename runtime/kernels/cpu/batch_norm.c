/* batch_norm.c: batch normalization with PyTorch semantics, training and
 * eval mode, affine or not (gamma == beta == NULL). Per-channel statistics
 * are accumulated in real_acc, variance in two passes. The training kernels
 * come tuned (parallel over channels, vectorized reductions) beside their
 * plain references k_bn_train_*_ref; the eval ones only run channels in
 * parallel, which leaves their arithmetic unchanged. */
#include "cpu_kernels.h"

#include <math.h>

/* Reference training forward: batch statistics, normalization, running-stat update. */
K_FN void k_bn_train_fwd_ref(int N, int C, int HW, real eps, real momentum,
                             const real *x, const real *gamma, const real *beta,
                             real *y, real *save_mean, real *save_invstd,
                             real *run_mean, real *run_var)
{
    ptrdiff_t M = (ptrdiff_t)N * HW;
    for (int c = 0; c < C; c++) {
        real_acc s = 0;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                s += xp[i];
        }
        real_acc mean = s / (real_acc)M;
        real_acc v = 0;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                real_acc d = xp[i] - mean;
                v += d * d;
            }
        }
        real_acc var = v / (real_acc)M;
        real invstd = (real)(1.0 / sqrt(var + (real_acc)eps));
        real mu = (real)mean;
        real a = gamma ? gamma[c] * invstd : invstd;
        real b = beta ? beta[c] : (real)0;
        for (int n = 0; n < N && y; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            real *yp = y + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                yp[i] = (xp[i] - mu) * a + b;
        }
        if (save_mean)
            save_mean[c] = mu;
        if (save_invstd)
            save_invstd[c] = invstd;
        if (run_mean)
            run_mean[c] = (real)((1 - (real_acc)momentum) * run_mean[c] + (real_acc)momentum * mean);
        if (run_var) {
            real_acc unbiased = M > 1 ? v / (real_acc)(M - 1) : var;
            run_var[c] = (real)((1 - (real_acc)momentum) * run_var[c] + (real_acc)momentum * unbiased);
        }
    }
}

/* Reference training backward:
 * gx = gamma*invstd*(gy - mean(gy) - xhat*mean(gy*xhat)). */
K_FN void k_bn_train_bwd_ref(int N, int C, int HW,
                             const real *x, const real *gy, const real *gamma,
                             const real *save_mean, const real *save_invstd,
                             real *gx, real *ggamma, real *gbeta)
{
    ptrdiff_t M = (ptrdiff_t)N * HW;
    for (int c = 0; c < C; c++) {
        real mu = save_mean[c], invstd = save_invstd[c];
        real_acc sg = 0, sgx = 0;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                sg += gp[i];
                sgx += (real_acc)gp[i] * (xp[i] - mu);
            }
        }
        sgx *= invstd; /* sum gy*xhat */
        if (ggamma)
            ggamma[c] = (real)sgx;
        if (gbeta)
            gbeta[c] = (real)sg;
        real k = gamma ? gamma[c] * invstd : invstd;
        real mg = (real)(sg / (real_acc)M);
        real mgx = (real)(sgx / (real_acc)M) * invstd;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
            real *gxp = gx + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                gxp[i] = k * (gp[i] - mg - (xp[i] - mu) * mgx);
        }
    }
}

/* Eval forward: an affine map per channel from the running estimates. */
K_FN void k_bn_eval_fwd(int N, int C, int HW, real eps,
                        const real *x, const real *gamma, const real *beta,
                        const real *run_mean, const real *run_var, real *y)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (int c = 0; c < C; c++) {
        real invstd = (real)(1.0 / sqrt((real_acc)run_var[c] + (real_acc)eps));
        real a = gamma ? gamma[c] * invstd : invstd;
        real b = beta ? beta[c] : (real)0;
        real mu = run_mean[c];
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            real *yp = y + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++)
                yp[i] = (xp[i] - mu) * a + b;
        }
    }
}

/* Eval backward: the running statistics are constants. */
K_FN void k_bn_eval_bwd(int N, int C, int HW, real eps,
                        const real *x, const real *gy, const real *gamma,
                        const real *run_mean, const real *run_var,
                        real *gx, real *ggamma, real *gbeta)
{
    K_OMP(parallel for if(k_par((double)N * C * HW)) schedule(static))
    for (int c = 0; c < C; c++) {
        real invstd = (real)(1.0 / sqrt((real_acc)run_var[c] + (real_acc)eps));
        real a = gamma ? gamma[c] * invstd : invstd;
        real mu = run_mean[c];
        real_acc sg = 0, sgx = 0;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
            real *gxp = gx + ((ptrdiff_t)n * C + c) * HW;
            for (int i = 0; i < HW; i++) {
                gxp[i] = gp[i] * a;
                sg += gp[i];
                sgx += (real_acc)gp[i] * (xp[i] - mu);
            }
        }
        if (ggamma)
            ggamma[c] = (real)(sgx * invstd);
        if (gbeta)
            gbeta[c] = (real)sg;
    }
}

/* Training forward, tuned: channels in parallel, each plane's moments
 * (k_bn_plane_moments: one read of the plane from memory, or given by its
 * producer) merged in sample order in real_acc: the sums added for the
 * mean, the squared deviations by Chan et al.'s pairwise update (the
 * deviation of each plane's mean from the merged mean, weighted by the
 * counts). We differ from the reference's two passes over the batch (sum,
 * then squared deviations from the batch mean) only by rounding. */
static void bn_train_fwd(int N, int C, int HW, real eps, real momentum, const real *moments,
                         const real *x, const real *gamma, const real *beta, real *y,
                         real *save_mean, real *save_invstd, real *run_mean, real *run_var)
{
    ptrdiff_t M = (ptrdiff_t)N * HW;
    K_OMP(parallel for if(k_par((double)M * C)) schedule(static))
    for (int c = 0; c < C; c++) {
        /* the reciprocals do not depend on the merged values, so the
         * divisions stay off the chain of merges */
        real_acc s = 0, m = 0, v = 0, ihw = 1 / (real_acc)HW;
        for (int n = 0; n < N; n++) {
            real mo[2];
            if (moments) {
                mo[0] = moments[((ptrdiff_t)n * C + c) * 2];
                mo[1] = moments[((ptrdiff_t)n * C + c) * 2 + 1];
            } else {
                if (n + 1 < N)
                    k_prefetch(x + ((ptrdiff_t)(n + 1) * C + c) * HW, HW);
                k_bn_plane_moments(HW, x + ((ptrdiff_t)n * C + c) * HW, mo);
            }
            s += mo[0];
            real_acc r = 1 / (real_acc)(n + 1), dm = mo[0] * ihw - m;
            m += dm * r;
            v += mo[1] + dm * dm * ((real_acc)n * r * HW);
        }
        real_acc mean = s / (real_acc)M;
        real mu = (real)mean;
        real_acc var = v / (real_acc)M;
        real invstd = (real)(1.0 / sqrt(var + (real_acc)eps));
        real a = gamma ? gamma[c] * invstd : invstd;
        real b = beta ? beta[c] : (real)0;
        for (int n = 0; n < N && y; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            real *yp = y + ((ptrdiff_t)n * C + c) * HW;
            K_OMP(simd)
            for (int i = 0; i < HW; i++)
                yp[i] = (xp[i] - mu) * a + b;
        }
        if (save_mean)
            save_mean[c] = mu;
        if (save_invstd)
            save_invstd[c] = invstd;
        if (run_mean)
            run_mean[c] = (real)((1 - (real_acc)momentum) * run_mean[c] + (real_acc)momentum * mean);
        if (run_var) {
            real_acc unbiased = M > 1 ? v / (real_acc)(M - 1) : var;
            run_var[c] = (real)((1 - (real_acc)momentum) * run_var[c] + (real_acc)momentum * unbiased);
        }
    }
}

K_FN void k_bn_train_fwd(int N, int C, int HW, real eps, real momentum,
                         const real *x, const real *gamma, const real *beta,
                         real *y, real *save_mean, real *save_invstd,
                         real *run_mean, real *run_var)
{
    bn_train_fwd(N, C, HW, eps, momentum, NULL, x, gamma, beta, y, save_mean, save_invstd,
                 run_mean, run_var);
}

K_FN void k_bn_train_fwd_moments(int N, int C, int HW, real eps, real momentum,
                                 const real *moments, const real *x, const real *gamma,
                                 const real *beta, real *y, real *save_mean,
                                 real *save_invstd, real *run_mean, real *run_var)
{
    bn_train_fwd(N, C, HW, eps, momentum, moments, x, gamma, beta, y, save_mean, save_invstd,
                 run_mean, run_var);
}

/* The output gradient of bn_train_bwd at element i of plane xp, gp:
 * coef*gp[i]. With a fused ReLU the planes go through k_bn_relu_bwd_sums
 * and k_bn_relu_bwd_apply (gp[i] where the ReLU's input x_eff, k_pre_val's
 * arithmetic, is positive). */
#define BN_GY(i) (coef * gp[i])

/* Channel c's backward from its sums over the batch (sg = sum gy, sgx =
 * sum gy*(x - mean), M values): ggamma and gbeta (each when not NULL) and
 * the output gradient's coefficients, gx = k*(gy - mg - (x - mean)*mgx). */
static void bn_bwd_coef(int c, ptrdiff_t M, real_acc sg, real_acc sgx, const real *gamma, real invstd,
                        real *k, real *mg, real *mgx, real *ggamma, real *gbeta)
{
    sgx *= invstd; /* sum gy*xhat */
    if (ggamma)
        ggamma[c] = (real)sgx;
    if (gbeta)
        gbeta[c] = (real)sg;
    *k = gamma ? gamma[c] * invstd : invstd;
    *mg = (real)(sg / (real_acc)M);
    *mgx = (real)(sgx / (real_acc)M) * invstd;
}

/* Training backward, tuned: channels in parallel, vectorized sums (each
 * plane in real lanes, the planes in real_acc); the output gradient is
 * BN_GY's: coef*gy (coef 1: gy itself, the same bits), or BN_GY_DROP's
 * through a drop path after the BN (mask not NULL: gy / keep * mask[n],
 * k_drop_path_bwd's arithmetic), or the gradient through a ReLU that
 * follows the BN (pscale, pshift its prologue scale and shift), without
 * writing that drop path's or ReLU's input gradient out. */
#define BN_GY_DROP(i) (gp[i] / keep * m)
static void bn_train_bwd(int N, int C, int HW, const real *x, const real *gy, real coef,
                         real keep, const real *mask, const real *pscale, const real *pshift,
                         const real *gamma, const real *save_mean, const real *save_invstd,
                         real *gx, real *ggamma, real *gbeta, real *coef_out)
{
    ptrdiff_t M = (ptrdiff_t)N * HW;
    K_OMP(parallel for if(k_par((double)M * C)) schedule(static))
    for (int c = 0; c < C; c++) {
        real mu = save_mean[c], invstd = save_invstd[c];
        real_acc sg = 0, sgx = 0;
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
            real a = 0, b = 0; /* one plane in real lanes (see k_bn_plane_moments) */
            if (pscale) {
                real ab[2];
                k_bn_relu_bwd_sums(HW, gp, xp, mu, pscale[c], pshift[c], ab);
                a = ab[0], b = ab[1];
            } else if (mask) {
                real m = mask[n];
                K_OMP(simd reduction(+:a) reduction(+:b))
                for (int i = 0; i < HW; i++) {
                    real g = BN_GY_DROP(i);
                    a += g;
                    b += g * (xp[i] - mu);
                }
            } else {
                K_OMP(simd reduction(+:a) reduction(+:b))
                for (int i = 0; i < HW; i++) {
                    real g = BN_GY(i);
                    a += g;
                    b += g * (xp[i] - mu);
                }
            }
            sg += a;
            sgx += b;
        }
        real k, mg, mgx;
        bn_bwd_coef(c, M, sg, sgx, gamma, invstd, &k, &mg, &mgx, ggamma, gbeta);
        if (coef_out) {
            /* the output gradient is applied where it is read */
            coef_out[c] = k, coef_out[C + c] = mg, coef_out[2 * C + c] = mgx;
            continue;
        }
        for (int n = 0; n < N; n++) {
            const real *xp = x + ((ptrdiff_t)n * C + c) * HW;
            const real *gp = gy + ((ptrdiff_t)n * C + c) * HW;
            real *gxp = gx + ((ptrdiff_t)n * C + c) * HW;
            if (pscale) {
                k_bn_relu_bwd_apply(HW, gp, xp, mu, pscale[c], pshift[c], k, mg, mgx, gxp);
            } else if (mask || coef == 1) {
                k_bn_add_bwd_apply(HW, gp, xp, mu, mask != NULL, keep, mask ? mask[n] : 1, k, mg, mgx, gxp);
            } else {
                K_OMP(simd)
                for (int i = 0; i < HW; i++)
                    gxp[i] = k * (BN_GY(i) - mg - (xp[i] - mu) * mgx);
            }
        }
    }
}

K_FN void k_bn_relu_bwd_parts(int N, int C, int HW, const real *x, const real *gy,
                              const real *save_mean, const real *pre_scale, const real *pre_shift,
                              real *parts)
{
    ptrdiff_t planes = (ptrdiff_t)N * C;
    K_OMP(parallel for if(k_par((double)planes * HW)) schedule(static))
    for (ptrdiff_t q = 0; q < planes; q++) {
        int c = (int)(q % C);
        k_bn_relu_bwd_sums(HW, gy + q * HW, x + q * HW, save_mean[c], pre_scale[c], pre_shift[c], parts + q * 2);
    }
}

K_FN void k_bn_train_bwd_parts(int N, int C, int HW, const real *parts, const real *gamma,
                               const real *save_invstd, real *coef, real *ggamma, real *gbeta)
{
    for (int c = 0; c < C; c++) {
        real_acc sg = 0, sgx = 0;
        for (int n = 0; n < N; n++) {
            sg += parts[((ptrdiff_t)n * C + c) * 2];
            sgx += parts[((ptrdiff_t)n * C + c) * 2 + 1];
        }
        bn_bwd_coef(c, (ptrdiff_t)N * HW, sg, sgx, gamma, save_invstd[c], coef + c, coef + C + c,
                    coef + 2 * C + c, ggamma, gbeta);
    }
}

K_FN void k_bn_train_bwd(int N, int C, int HW,
                         const real *x, const real *gy, const real *gamma,
                         const real *save_mean, const real *save_invstd,
                         real *gx, real *ggamma, real *gbeta)
{
    bn_train_bwd(N, C, HW, x, gy, 1, 1, NULL, NULL, NULL, gamma, save_mean, save_invstd, gx,
                 ggamma, gbeta, NULL);
}

K_FN void k_bn_train_bwd_scaled(int N, int C, int HW, const real *x, const real *gy, real coef,
                                const real *gamma, const real *save_mean,
                                const real *save_invstd, real *gx, real *ggamma, real *gbeta)
{
    bn_train_bwd(N, C, HW, x, gy, coef, 1, NULL, NULL, NULL, gamma, save_mean, save_invstd, gx,
                 ggamma, gbeta, NULL);
}

K_FN void k_bn_train_bwd_add(int N, int C, int HW, const real *x, const real *gy, real keep,
                             const real *mask, const real *gamma, const real *save_mean,
                             const real *save_invstd, real *gx, real *ggamma, real *gbeta)
{
    bn_train_bwd(N, C, HW, x, gy, 1, keep, mask, NULL, NULL, gamma, save_mean, save_invstd, gx,
                 ggamma, gbeta, NULL);
}

K_FN void k_bn_train_bwd_add_coef(int N, int C, int HW, const real *x, const real *gy, real keep,
                                  const real *mask, const real *gamma, const real *save_mean,
                                  const real *save_invstd, real *coef, real *ggamma, real *gbeta)
{
    bn_train_bwd(N, C, HW, x, gy, 1, keep, mask, NULL, NULL, gamma, save_mean, save_invstd, NULL, ggamma,
                 gbeta, coef);
}

K_FN void k_bn_train_bwd_relu(int N, int C, int HW, const real *x, const real *gy,
                              const real *pre_scale, const real *pre_shift, const real *gamma,
                              const real *save_mean, const real *save_invstd, real *gx,
                              real *ggamma, real *gbeta)
{
    bn_train_bwd(N, C, HW, x, gy, 1, 1, NULL, pre_scale, pre_shift, gamma, save_mean, save_invstd,
                 gx, ggamma, gbeta, NULL);
}
