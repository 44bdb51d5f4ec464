/* conv2d.c: the plain reference 2-D convolution without bias, forward and
 * both backwards (k_conv2d_*_ref; the tuned ones in conv2d_fast.c must match
 * them), and the references of the fused-prologue forward and weight
 * gradient (k_conv2d_*_pre_ref, the input read through k_pre_val).
 * Groups, stride, symmetric padding, dilation and rectangular kernels.
 * Loops keep the output column innermost with its valid range precomputed
 * (k_valid_range), so the inner loop has no bounds tests. */
#include "cpu_kernels.h"

#include <string.h>

/* Forward: y[n,co] = sum over ci in co's group, ki, kj of w * shifted x. */
K_FN void k_conv2d_fwd_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh, int sw,
                           int ph, int pw, int dh, int dw, int g,
                           const real *x, const real *w, real *y)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    int Cig = Ci / g, Cog = Co / g;
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Co; co++) {
            real *yp = y + ((ptrdiff_t)n * Co + co) * Ho * Wo;
            memset(yp, 0, sizeof(real) * (size_t)Ho * (size_t)Wo);
            int gi = co / Cog;
            for (int ic = 0; ic < Cig; ic++) {
                const real *xp = x + ((ptrdiff_t)n * Ci + gi * Cig + ic) * H * W;
                const real *wp = w + ((ptrdiff_t)co * Cig + ic) * kh * kw;
                for (int ki = 0; ki < kh; ki++) {
                    int oh0, oh1;
                    k_valid_range(Ho, sh, ki * dh - ph, H, &oh0, &oh1);
                    for (int kj = 0; kj < kw; kj++) {
                        real wv = wp[ki * kw + kj];
                        int offw = kj * dw - pw, ow0, ow1;
                        k_valid_range(Wo, sw, offw, W, &ow0, &ow1);
                        for (int oh = oh0; oh < oh1; oh++) {
                            const real *xr = xp + (ptrdiff_t)(oh * sh + ki * dh - ph) * W;
                            real *yr = yp + (ptrdiff_t)oh * Wo;
                            for (int ow = ow0; ow < ow1; ow++)
                                yr[ow] += wv * xr[ow * sw + offw];
                        }
                    }
                }
            }
        }
}

/* Input gradient: scatters every gy tap back through w (transposed conv). */
K_FN void k_conv2d_bwd_data_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                int sw, int ph, int pw, int dh, int dw, int g,
                                const real *gy, const real *w, real *gx)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    int Cig = Ci / g, Cog = Co / g;
    memset(gx, 0, sizeof(real) * (size_t)N * (size_t)Ci * (size_t)H * (size_t)W);
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Co; co++) {
            const real *gyp = gy + ((ptrdiff_t)n * Co + co) * Ho * Wo;
            int gi = co / Cog;
            for (int ic = 0; ic < Cig; ic++) {
                real *gxp = gx + ((ptrdiff_t)n * Ci + gi * Cig + ic) * H * W;
                const real *wp = w + ((ptrdiff_t)co * Cig + ic) * kh * kw;
                for (int ki = 0; ki < kh; ki++) {
                    int oh0, oh1;
                    k_valid_range(Ho, sh, ki * dh - ph, H, &oh0, &oh1);
                    for (int kj = 0; kj < kw; kj++) {
                        real wv = wp[ki * kw + kj];
                        int offw = kj * dw - pw, ow0, ow1;
                        k_valid_range(Wo, sw, offw, W, &ow0, &ow1);
                        for (int oh = oh0; oh < oh1; oh++) {
                            real *xr = gxp + (ptrdiff_t)(oh * sh + ki * dh - ph) * W;
                            const real *yr = gyp + (ptrdiff_t)oh * Wo;
                            for (int ow = ow0; ow < ow1; ow++)
                                xr[ow * sw + offw] += wv * yr[ow];
                        }
                    }
                }
            }
        }
}

/* Weight gradient: each tap is a dot product of gy with shifted x over the
 * batch and the output plane, accumulated in real_acc. */
K_FN void k_conv2d_bwd_weight_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                                  int sw, int ph, int pw, int dh, int dw, int g,
                                  const real *x, const real *gy, real *gw)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    int Cig = Ci / g, Cog = Co / g;
    for (int co = 0; co < Co; co++) {
        int gi = co / Cog;
        for (int ic = 0; ic < Cig; ic++)
            for (int ki = 0; ki < kh; ki++) {
                int oh0, oh1;
                k_valid_range(Ho, sh, ki * dh - ph, H, &oh0, &oh1);
                for (int kj = 0; kj < kw; kj++) {
                    int offw = kj * dw - pw, ow0, ow1;
                    k_valid_range(Wo, sw, offw, W, &ow0, &ow1);
                    real_acc s = 0;
                    for (int n = 0; n < N; n++) {
                        const real *xp = x + ((ptrdiff_t)n * Ci + gi * Cig + ic) * H * W;
                        const real *gyp = gy + ((ptrdiff_t)n * Co + co) * Ho * Wo;
                        for (int oh = oh0; oh < oh1; oh++) {
                            const real *xr = xp + (ptrdiff_t)(oh * sh + ki * dh - ph) * W;
                            const real *yr = gyp + (ptrdiff_t)oh * Wo;
                            real_acc r = 0;
                            for (int ow = ow0; ow < ow1; ow++)
                                r += (real_acc)yr[ow] * xr[ow * sw + offw];
                            s += r;
                        }
                    }
                    gw[(((ptrdiff_t)co * Cig + ic) * kh + ki) * kw + kj] = (real)s;
                }
            }
    }
}

/* Fused-prologue forward, reference: every tap read through k_pre_val. */
K_FN void k_conv2d_fwd_pre_ref(int N, int Ci, int H, int W, int Co, int kh, int kw, int sh,
                               int sw, int ph, int pw, int dh, int dw, int g,
                               const real *pre_mean, const real *pre_scale,
                               const real *pre_shift, const real *x, const real *w, real *y)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    int Cig = Ci / g, Cog = Co / g;
    for (int n = 0; n < N; n++)
        for (int co = 0; co < Co; co++) {
            real *yp = y + ((ptrdiff_t)n * Co + co) * Ho * Wo;
            memset(yp, 0, sizeof(real) * (size_t)Ho * (size_t)Wo);
            int gi = co / Cog;
            for (int ic = 0; ic < Cig; ic++) {
                int c = gi * Cig + ic;
                const real *xp = x + ((ptrdiff_t)n * Ci + c) * H * W;
                const real *wp = w + ((ptrdiff_t)co * Cig + ic) * kh * kw;
                for (int ki = 0; ki < kh; ki++) {
                    int oh0, oh1;
                    k_valid_range(Ho, sh, ki * dh - ph, H, &oh0, &oh1);
                    for (int kj = 0; kj < kw; kj++) {
                        real wv = wp[ki * kw + kj];
                        int offw = kj * dw - pw, ow0, ow1;
                        k_valid_range(Wo, sw, offw, W, &ow0, &ow1);
                        for (int oh = oh0; oh < oh1; oh++) {
                            const real *xr = xp + (ptrdiff_t)(oh * sh + ki * dh - ph) * W;
                            real *yr = yp + (ptrdiff_t)oh * Wo;
                            for (int ow = ow0; ow < ow1; ow++)
                                yr[ow] += wv * k_pre_val(xr[ow * sw + offw], pre_mean, pre_scale,
                                                         pre_shift, c);
                        }
                    }
                }
            }
        }
}

/* Fused-prologue weight gradient, reference: the taps of x_eff. */
K_FN void k_conv2d_bwd_weight_pre_ref(int N, int Ci, int H, int W, int Co, int kh, int kw,
                                      int sh, int sw, int ph, int pw, int dh, int dw, int g,
                                      const real *pre_mean, const real *pre_scale,
                                      const real *pre_shift, const real *x, const real *gy,
                                      real *gw)
{
    int Ho = k_out_size(H, kh, sh, ph, dh), Wo = k_out_size(W, kw, sw, pw, dw);
    int Cig = Ci / g, Cog = Co / g;
    for (int co = 0; co < Co; co++) {
        int gi = co / Cog;
        for (int ic = 0; ic < Cig; ic++)
            for (int ki = 0; ki < kh; ki++) {
                int c = gi * Cig + ic, oh0, oh1;
                k_valid_range(Ho, sh, ki * dh - ph, H, &oh0, &oh1);
                for (int kj = 0; kj < kw; kj++) {
                    int offw = kj * dw - pw, ow0, ow1;
                    k_valid_range(Wo, sw, offw, W, &ow0, &ow1);
                    real_acc s = 0;
                    for (int n = 0; n < N; n++) {
                        const real *xp = x + ((ptrdiff_t)n * Ci + c) * H * W;
                        const real *gyp = gy + ((ptrdiff_t)n * Co + co) * Ho * Wo;
                        for (int oh = oh0; oh < oh1; oh++) {
                            const real *xr = xp + (ptrdiff_t)(oh * sh + ki * dh - ph) * W;
                            const real *yr = gyp + (ptrdiff_t)oh * Wo;
                            real_acc r = 0;
                            for (int ow = ow0; ow < ow1; ow++)
                                r += (real_acc)yr[ow] * k_pre_val(xr[ow * sw + offw], pre_mean,
                                                                  pre_scale, pre_shift, c);
                            s += r;
                        }
                    }
                    gw[(((ptrdiff_t)co * Cig + ic) * kh + ki) * kw + kj] = (real)s;
                }
            }
    }
}
