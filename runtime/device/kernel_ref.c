/* kernel_ref.c: the CPU reference of each CUDA kernel (see kernel_ref.h), one case
 * per kernel, in the order of KC_KERNELS. Argument i of the launch is read
 * through the macros below; the kernels' argument lists are in the .cu
 * files (N, runtime scalars, inputs, outputs, scratch). */
#include "kernel_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernels.h"

#define ARG_I(i) (*(const int *)args[i])
#define ARG_F(i) (*(const float *)args[i])
#define ARG_P(i) (*(float *const *)args[i])
#define ARG_PTRS(i) ((float *const *)args[i])

/* A scratch copy of n floats (checked). */
static float *tmp_alloc(size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    if (!p) {
        fprintf(stderr, "kernel_ref: out of memory\n");
        exit(1);
    }
    return p;
}

/* gy masked by y > 0 (the backward of a ReLU fused into the kernel). */
static float *relu_masked(size_t n, const float *y, const float *gy)
{
    float *g = tmp_alloc(n);
    k_relu_bwd((ptrdiff_t)n, y, gy, g);
    return g;
}

/* The multiplier of candidate k of a mixed op (row w of P weights, mode). */
static float mix_coef(int P, int mode, const float *w, int k)
{
    float c[64];
    k_mixed_coef(P, mode, w, c);
    return c[k];
}

/* Writes sum into part[k*nb] and zeros the rest of row k. */
static void part_row(float *part, int k, int nb, double sum)
{
    part[(size_t)k * nb] = (float)sum;
    for (int b = 1; b < nb; b++)
        part[(size_t)k * nb + b] = 0.f;
}

int kc_ref_launch(KcKernel k, const int *a, void **args, char *err, size_t errlen)
{
    switch (k) {
    case KC_conv2d_fwd: /* Ci H W Co KH KW SH SW PH PW DH DW G: (N, x, w, y) */
        k_conv2d_fwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
                     ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_conv2d_bwd_data: /* (N, gy, w, gx) */
        k_conv2d_bwd_data(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12],
                          ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_conv2d_bwd_weight: /* (N, x, gy, gw) */
        k_conv2d_bwd_weight(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
                            a[12], ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_dwconv_fwd: /* C H W KH KW SH SW PH PW DH DW VW: (N, x, w, y) */
        k_conv2d_fwd(ARG_I(0), a[0], a[1], a[2], a[0], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[0],
                     ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_pw_fwd: /* Ci H W Co SH SW BM BN: (N, x, w, y) */
        k_conv2d_fwd(ARG_I(0), a[0], a[1], a[2], a[3], 1, 1, a[4], a[5], 0, 0, 1, 1, 1, ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_pw_bwd_data: /* (N, gy, w, gx) */
        k_conv2d_bwd_data(ARG_I(0), a[0], a[1], a[2], a[3], 1, 1, a[4], a[5], 0, 0, 1, 1, 1, ARG_P(1), ARG_P(2),
                          ARG_P(3));
        return 0;
    case KC_pw_bwd_weight: { /* ... SPLIT: (N, x, gy, gw, part) */
        int split = a[8];
        size_t count = (size_t)a[3] * a[0];
        float *out = split == 1 ? ARG_P(3) : ARG_P(4);
        k_conv2d_bwd_weight(ARG_I(0), a[0], a[1], a[2], a[3], 1, 1, a[4], a[5], 0, 0, 1, 1, 1, ARG_P(1), ARG_P(2),
                            out);
        if (split > 1)
            memset(out + count, 0, sizeof(float) * count * (size_t)(split - 1));
        return 0;
    }
    case KC_splitk_reduce: { /* S COUNT: (part, out) */
        const float *part = ARG_P(0);
        float *out = ARG_P(1);
        for (int i = 0; i < a[1]; i++) {
            float s = 0.f;
            for (int z = 0; z < a[0]; z++)
                s += part[(size_t)z * a[1] + i];
            out[i] = s;
        }
        return 0;
    }
    case KC_bn_train_fwd: { /* C HW AFFINE RELU: (N, eps, mom, x, gamma, beta, y, save_m, save_i, run_m, run_v) */
        int N = ARG_I(0);
        k_bn_train_fwd(N, a[0], a[1], ARG_F(1), ARG_F(2), ARG_P(3), a[2] ? ARG_P(4) : NULL, a[2] ? ARG_P(5) : NULL,
                       ARG_P(6), ARG_P(7), ARG_P(8), ARG_P(9), ARG_P(10));
        if (a[3])
            k_relu_fwd((ptrdiff_t)N * a[0] * a[1], ARG_P(6), ARG_P(6));
        return 0;
    }
    case KC_bn_train_bwd: { /* C HW AFFINE RELU: (N, x, y, gy, gamma, save_m, save_i, gx, ggamma, gbeta) */
        int N = ARG_I(0);
        size_t n = (size_t)N * a[0] * a[1];
        float *g = a[3] ? relu_masked(n, ARG_P(2), ARG_P(3)) : NULL;
        k_bn_train_bwd(N, a[0], a[1], ARG_P(1), g ? g : ARG_P(3), a[2] ? ARG_P(4) : NULL, ARG_P(5), ARG_P(6),
                       ARG_P(7), ARG_P(8), ARG_P(9));
        free(g);
        return 0;
    }
    case KC_bn_eval_fwd: { /* C HW AFFINE RELU: (N, eps, x, gamma, beta, run_m, run_v, y) */
        int N = ARG_I(0);
        k_bn_eval_fwd(N, a[0], a[1], ARG_F(1), ARG_P(2), a[2] ? ARG_P(3) : NULL, a[2] ? ARG_P(4) : NULL, ARG_P(5),
                      ARG_P(6), ARG_P(7));
        if (a[3])
            k_relu_fwd((ptrdiff_t)N * a[0] * a[1], ARG_P(7), ARG_P(7));
        return 0;
    }
    case KC_bn_eval_bwd: /* C HW AFFINE: (N, eps, x, gy, gamma, run_m, run_v, gx, ggamma, gbeta) */
        k_bn_eval_bwd(ARG_I(0), a[0], a[1], ARG_F(1), ARG_P(2), ARG_P(3), a[2] ? ARG_P(4) : NULL, ARG_P(5), ARG_P(6),
                      ARG_P(7), ARG_P(8), ARG_P(9));
        return 0;
    case KC_channel_affine: /* C HW SCALE SHIFT RELU: (N, scale, shift, x, y) */
        k_channel_affine_fwd(ARG_I(0), a[0], a[1], a[4], a[2] ? ARG_P(1) : NULL, a[3] ? ARG_P(2) : NULL, ARG_P(3),
                             ARG_P(4));
        return 0;
    case KC_bn_mix_fwd: { /* C HW AFFINE P MODE FIRST TRAIN:
                           * (N, eps, mom, x, gamma, beta, w, k, y, save_m, save_i, run_m, run_v) */
        int N = ARG_I(0);
        size_t n = (size_t)N * a[0] * a[1];
        const float *G = a[2] ? ARG_P(4) : NULL, *B = a[2] ? ARG_P(5) : NULL;
        float *bn = tmp_alloc(n), *y = ARG_P(8), c = mix_coef(a[3], a[4], ARG_P(6), ARG_I(7));
        if (a[6])
            k_bn_train_fwd(N, a[0], a[1], ARG_F(1), ARG_F(2), ARG_P(3), G, B, bn, ARG_P(9), ARG_P(10), ARG_P(11),
                           ARG_P(12));
        else
            k_bn_eval_fwd(N, a[0], a[1], ARG_F(1), ARG_P(3), G, B, ARG_P(11), ARG_P(12), bn);
        for (size_t i = 0; i < n; i++)
            y[i] = a[5] ? c * bn[i] : y[i] + c * bn[i];
        free(bn);
        return 0;
    }
    case KC_bn_mix_bwd: /* C HW AFFINE P MODE: (N, x, gy, gamma, save_m, save_i, w, k, gx, ggamma, gbeta) */
        k_bn_train_bwd_scaled(ARG_I(0), a[0], a[1], ARG_P(1), ARG_P(2), mix_coef(a[3], a[4], ARG_P(6), ARG_I(7)),
                              a[2] ? ARG_P(3) : NULL, ARG_P(4), ARG_P(5), ARG_P(8), ARG_P(9), ARG_P(10));
        return 0;
    case KC_bn_mix_dot: { /* C HW AFFINE NB: (N, x, gy, gamma, beta, save_m, save_i, k, part) */
        real_acc dot;
        k_bn_out_dot(ARG_I(0), a[0], a[1], ARG_P(1), a[2] ? ARG_P(3) : NULL, a[2] ? ARG_P(4) : NULL, ARG_P(5),
                     ARG_P(6), ARG_P(2), &dot);
        part_row(ARG_P(8), ARG_I(7), a[3], dot);
        return 0;
    }
    case KC_relu_fwd: /* D: (N, x, y) */
        k_relu_fwd((ptrdiff_t)ARG_I(0) * a[0], ARG_P(1), ARG_P(2));
        return 0;
    case KC_relu_bwd: /* (N, y, gy, gx) */
        k_relu_bwd((ptrdiff_t)ARG_I(0) * a[0], ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_add_fwd: /* (N, a, b, y) */
        k_add_fwd((ptrdiff_t)ARG_I(0) * a[0], ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_add_bwd: /* (N, gy, ga, gb): copies, either may be NULL */
        k_add_bwd((ptrdiff_t)ARG_I(0) * a[0], ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_acc: /* (N, x, y): y += x */
        k_acc((ptrdiff_t)ARG_I(0) * a[0], ARG_P(1), ARG_P(2));
        return 0;
    case KC_scale: /* (N, a, x, y) */
        k_scale_fwd((ptrdiff_t)ARG_I(0) * a[0], ARG_F(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_zero: /* (N, y) */
        memset(ARG_P(1), 0, sizeof(float) * (size_t)ARG_I(0) * (size_t)a[0]);
        return 0;
    case KC_drop_path: /* (N, keep, mask, x, y) */
        k_drop_path_fwd(ARG_I(0), a[0], ARG_F(1), ARG_P(2), ARG_P(3), ARG_P(4));
        return 0;
    case KC_maxpool_fwd: /* C H W KH KW SH SW PH PW: (N, x, y) */
        k_maxpool_fwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], ARG_P(1), ARG_P(2));
        return 0;
    case KC_maxpool_bwd: /* (N, x, gy, gx) */
        k_maxpool_bwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], ARG_P(1), ARG_P(2), ARG_P(3));
        return 0;
    case KC_avgpool_fwd: /* ... CIP: (N, x, y) */
        k_avgpool_fwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], ARG_P(1), ARG_P(2));
        return 0;
    case KC_avgpool_bwd: /* (N, gy, gx) */
        k_avgpool_bwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], ARG_P(1), ARG_P(2));
        return 0;
    case KC_pad_fwd: /* C H W T B L R: (N, x, y) */
        k_pad_fwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], ARG_P(1), ARG_P(2));
        return 0;
    case KC_pad_bwd: /* (N, gy, gx) */
        k_pad_bwd(ARG_I(0), a[0], a[1], a[2], a[3], a[4], a[5], a[6], ARG_P(1), ARG_P(2));
        return 0;
    case KC_slice_fwd: /* C HW C0 CS: (N, x, y) */
        k_slice_channels_fwd(ARG_I(0), a[0], a[1], a[2], a[3], ARG_P(1), ARG_P(2));
        return 0;
    case KC_slice_bwd: /* (N, gy, gx) */
        k_slice_channels_bwd(ARG_I(0), a[0], a[1], a[2], a[3], ARG_P(1), ARG_P(2));
        return 0;
    case KC_concat_put: /* CTOT HW C0 CI: (N, x, y) */
        k_concat_put(ARG_I(0), a[0], a[1], a[2], a[3], ARG_P(1), ARG_P(2));
        return 0;
    case KC_gap_fwd: /* C HW: (N, x, y) */
        k_gap_fwd(ARG_I(0), a[0], a[1], ARG_P(1), ARG_P(2));
        return 0;
    case KC_gap_bwd: /* (N, gy, gx) */
        k_gap_bwd(ARG_I(0), a[0], a[1], ARG_P(1), ARG_P(2));
        return 0;
    case KC_linear_fwd: /* I O BIAS: (N, x, W, b, y) */
        k_linear_fwd(ARG_I(0), a[0], a[1], ARG_P(1), ARG_P(2), a[2] ? ARG_P(3) : NULL, ARG_P(4));
        return 0;
    case KC_linear_bwd_data: /* I O: (N, gy, W, gx) */
        k_linear_bwd(ARG_I(0), a[0], a[1], NULL, ARG_P(2), ARG_P(1), ARG_P(3), NULL, NULL);
        return 0;
    case KC_linear_bwd_weight: /* I O BIAS: (N, x, gy, gW, gb) */
        k_linear_bwd(ARG_I(0), a[0], a[1], ARG_P(1), NULL, ARG_P(2), NULL, ARG_P(3), a[2] ? ARG_P(4) : NULL);
        return 0;
    case KC_softmax_ce: { /* K: (N, gscale, logits, labels, loss, glogits) */
        int N = ARG_I(0);
        const float *z = ARG_P(2);
        const int32_t *lab = *(const int32_t *const *)args[3];
        float *loss = ARG_P(4);
        for (int n = 0; n < N; n++)
            loss[n] = k_softmax_ce(1, a[0], z + (size_t)n * a[0], lab + n, 0.f, NULL);
        if (ARG_P(5))
            k_softmax_ce(N, a[0], z, lab, ARG_F(1), ARG_P(5));
        return 0;
    }
    case KC_batch_mean: { /* (N, v, out) */
        int N = ARG_I(0);
        double s = 0;
        for (int i = 0; i < N; i++)
            s += ARG_P(1)[i];
        ARG_P(2)[0] = (float)(s / N);
        return 0;
    }
    case KC_topk_correct: { /* K: (N, k, logits, labels, out) */
        const int32_t *lab = *(const int32_t *const *)args[3];
        **(int *const *)args[4] = k_topk_correct(ARG_I(0), a[0], ARG_I(1), ARG_P(2), lab);
        return 0;
    }
    case KC_mixed_fwd: /* D P MODE: (N, w, KPtrs o, y) */
        k_mixed_fwd((ptrdiff_t)ARG_I(0) * a[0], a[1], a[2], ARG_P(1), (const float *const *)ARG_PTRS(2), ARG_P(3));
        return 0;
    case KC_mixed_acc: { /* D P MODE FIRST: (N, w, k, o, y) */
        size_t n = (size_t)ARG_I(0) * a[0];
        float c = mix_coef(a[1], a[2], ARG_P(1), ARG_I(2)), *y = ARG_P(4);
        const float *o = ARG_P(3);
        for (size_t i = 0; i < n; i++)
            y[i] = a[3] ? c * o[i] : y[i] + c * o[i];
        return 0;
    }
    case KC_mixed_bwd_data: /* D P MODE: (N, w, gy, KPtrsMut go) */
        k_mixed_bwd((ptrdiff_t)ARG_I(0) * a[0], a[1], a[2], ARG_P(1), NULL, ARG_P(2), ARG_PTRS(3), NULL);
        return 0;
    case KC_mixed_bwd_w: { /* D P NB: (N, gy, KPtrs o, part) */
        size_t n = (size_t)ARG_I(0) * a[0];
        float *const *o = ARG_PTRS(2);
        for (int j = 0; j < a[1]; j++)
            part_row(ARG_P(3), j, a[2], o[j] ? k_dot((ptrdiff_t)n, ARG_P(1), o[j]) : 0);
        return 0;
    }
    case KC_mixed_bwd_w_final: { /* P NB MODE: (w, part, gw) */
        real_acc d[64];
        const float *part = ARG_P(1);
        for (int j = 0; j < a[0]; j++) {
            d[j] = 0;
            for (int b = 0; b < a[1]; b++)
                d[j] += part[(size_t)j * a[1] + b];
        }
        k_mixed_wgrad(a[0], a[2], ARG_P(0), d, ARG_P(2));
        return 0;
    }
    case KC_arch_softmax_fwd: /* E P: (alpha, w) */
        k_arch_softmax_fwd(a[0], a[1], ARG_P(0), ARG_P(1));
        return 0;
    case KC_arch_softmax_bwd: /* E P: (w, gw, galpha) */
        k_arch_softmax_bwd(a[0], a[1], ARG_P(0), ARG_P(1), ARG_P(2));
        return 0;
    case KC_sgd_step: { /* FIRST: (n, neg_lr, mom, wd, p, g, buf) */
        float *p = ARG_P(4), *buf = ARG_P(6);
        const float *g = ARG_P(5);
        const float neg_lr = ARG_F(1), mom = ARG_F(2), wd = ARG_F(3);
        for (int i = 0; i < ARG_I(0); i++) {
            const float d = wd != 0.f ? fmaf(p[i], wd, g[i]) : g[i];
            const float b = a[0] ? d : buf[i] * mom + d;
            buf[i] = b;
            p[i] = fmaf(b, neg_lr, p[i]);
        }
        return 0;
    }
    case KC_adam_step: { /* (n, neg_step, bc2_sqrt, wd, b1, b2, one_b1, one_b2, eps, p, g, m, v) */
        float *p = ARG_P(9), *m = ARG_P(11), *v = ARG_P(12);
        const float *g = ARG_P(10);
        const float neg_step = ARG_F(1), bc2_sqrt = ARG_F(2), wd = ARG_F(3), b1 = ARG_F(4), b2 = ARG_F(5);
        const float one_b1 = ARG_F(6), one_b2 = ARG_F(7), eps = ARG_F(8);
        for (int i = 0; i < ARG_I(0); i++) {
            const float gi = wd != 0.f ? fmaf(p[i], wd, g[i]) : g[i];
            const float mi = fmaf(gi, one_b1, m[i] * b1);
            const float vi = fmaf(one_b2 * gi, gi, v[i] * b2);
            m[i] = mi;
            v[i] = vi;
            p[i] = p[i] + (neg_step * mi) / (sqrtf(vi) / bc2_sqrt + eps);
        }
        return 0;
    }
    case KC_grad_sq_part: { /* NB: (n, g, part) with part double */
        const float *g = ARG_P(1);
        double *part = *(double *const *)args[2], s = 0.0;
        for (int i = 0; i < ARG_I(0); i++)
            s += (double)g[i] * g[i];
        part[0] = s;
        for (int b = 1; b < a[0]; b++)
            part[b] = 0.0;
        return 0;
    }
    case KC_clip_coef: { /* NB: (max_norm, part, norm, coef) with part and norm double */
        const double *part = *(double *const *)args[1];
        double *norm = *(double *const *)args[2], s = 0.0;
        for (int b = 0; b < a[0]; b++)
            s += part[b];
        const double total = sqrt(s);
        *norm = total;
        const float c = ARG_F(0) / ((float)total + 1e-6f);
        *ARG_P(3) = isfinite(total) && c < 1.f ? c : 1.f;
        return 0;
    }
    case KC_clip_scale: { /* (n, coef, g) */
        const float c = *ARG_P(1);
        float *g = ARG_P(2);
        if (c != 1.f)
            for (int i = 0; i < ARG_I(0); i++)
                g[i] *= c;
        return 0;
    }
    case KC_vec_copy: /* (n, x, y) */
        memcpy(ARG_P(2), ARG_P(1), sizeof(float) * (size_t)ARG_I(0));
        return 0;
    case KC_vec_axpy: { /* (n, a, x, y, out) */
        const float s = ARG_F(1), *x = ARG_P(2), *y = ARG_P(3);
        float *o = ARG_P(4);
        for (int i = 0; i < ARG_I(0); i++)
            o[i] = x[i] + s * y[i];
        return 0;
    }
    case KC_unrolled_w: { /* (n, lr, mom, wd, first, theta, g, buf, w) */
        const float lr = ARG_F(1), mom = ARG_F(2), wd = ARG_F(3), *th = ARG_P(5), *g = ARG_P(6), *b = ARG_P(7);
        float *w = ARG_P(8);
        for (int i = 0; i < ARG_I(0); i++) {
            const float m = ARG_I(4) ? 0.f : mom * b[i];
            w[i] = th[i] - lr * (m + g[i] + wd * th[i]);
        }
        return 0;
    }
    case KC_hvp_combine: { /* (n, c, dalpha, hp, g) with c double */
        const double c = *(const double *)args[1];
        const float *da = ARG_P(2), *hp = ARG_P(3);
        float *g = ARG_P(4);
        for (int i = 0; i < ARG_I(0); i++)
            g[i] = da[i] - (float)(c * (double)(hp[i] - g[i]));
        return 0;
    }
    case KC__COUNT:
        break;
    }
    snprintf(err, errlen, "kernel_ref: no CPU reference for kernel %s", kc_name(k));
    return -1;
}
