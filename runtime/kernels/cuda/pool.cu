/* pool.cu: max and average pooling (k_maxpool_*, k_avgpool_* of
 * cpu_kernels.h): floor mode, no dilation, padding <= kernel/2.
 *
 * Template parameters: C, H, W, KH, KW, SH, SW, PH, PW (and CIP for the
 * average: count_include_pad). Ho = k_out(H, KH, SH, PH, 1), Wo likewise.
 * Backwards gather: one thread per input element visits the windows that
 * cover it in (oh, ow) order, the order in which the CPU reference adds, so
 * no atomics are needed. */
#include "sharp_cuda.cuh"

/* Plane index of the first maximum of the window with top-left (h0, w0)
 * (padding never wins; NaN wins, as in PyTorch). */
template <int H, int W, int KH, int KW>
__device__ __forceinline__ int maxpool_argmax(const float *xp, int h0, int w0)
{
    const int ha = h0 < 0 ? 0 : h0, hb = h0 + KH < H ? h0 + KH : H;
    const int wa = w0 < 0 ? 0 : w0, wb = w0 + KW < W ? w0 + KW : W;
    int best = ha * W + wa;
    float bv = -__int_as_float(0x7f800000); /* -inf */
    for (int ih = ha; ih < hb; ih++)
        for (int iw = wa; iw < wb; iw++) {
            const float v = __ldg(xp + ih * W + iw);
            if (v > bv || v != v) {
                bv = v;
                best = ih * W + iw;
            }
        }
    return best;
}

/* Max pool forward. x: (N, C, H, W), y: (N, C, Ho, Wo). */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW>
__global__ void __launch_bounds__(SHARP_NT) maxpool_fwd(int N, const float *__restrict__ x, float *__restrict__ y)
{
    constexpr int Ho = k_out(H, KH, SH, PH, 1), Wo = k_out(W, KW, SW, PW, 1);
    const i64 total = (i64)N * C * Ho * Wo;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int ow = (int)(i % Wo), oh = (int)(i / Wo % Ho);
        const float *xp = x + i / (Ho * Wo) * (H * W);
        y[i] = __ldg(xp + maxpool_argmax<H, W, KH, KW>(xp, oh * SH - PH, ow * SW - PW));
    }
}

/* First and one-past-last output index along an axis whose window
 * [o*S - P, o*S - P + K) covers input index i. */
__device__ __forceinline__ void pool_cover(int i, int K, int S, int P, int n_out, int *lo, int *hi)
{
    const int t = i + P - K + 1; /* o*S >= t */
    int l = t <= 0 ? 0 : (t + S - 1) / S;
    int h = (i + P) / S + 1;
    *lo = l;
    *hi = h < n_out ? h : n_out;
}

/* Max pool backward: gx gets each gy whose window's argmax is this element.
 * x, gx: (N, C, H, W), gy: (N, C, Ho, Wo). */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW>
__global__ void __launch_bounds__(SHARP_NT)
maxpool_bwd(int N, const float *__restrict__ x, const float *__restrict__ gy, float *__restrict__ gx)
{
    constexpr int Ho = k_out(H, KH, SH, PH, 1), Wo = k_out(W, KW, SW, PW, 1);
    const i64 total = (i64)N * C * H * W;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int iw = (int)(i % W), ih = (int)(i / W % H);
        const i64 nc = i / (H * W);
        const float *xp = x + nc * (H * W);
        const float *gp = gy + nc * (Ho * Wo);
        int oh0, oh1, ow0, ow1;
        pool_cover(ih, KH, SH, PH, Ho, &oh0, &oh1);
        pool_cover(iw, KW, SW, PW, Wo, &ow0, &ow1);
        float s = 0.f;
        for (int oh = oh0; oh < oh1; oh++)
            for (int ow = ow0; ow < ow1; ow++)
                if (maxpool_argmax<H, W, KH, KW>(xp, oh * SH - PH, ow * SW - PW) == ih * W + iw)
                    s += __ldg(gp + oh * Wo + ow);
        gx[i] = s;
    }
}

/* The in-image window [ha, hb) x [wa, wb) of an average-pool output and
 * its divisor. */
struct AvgWin {
    int ha, hb, wa, wb, div;
};
template <int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int CIP>
__device__ __forceinline__ AvgWin avgpool_window(int oh, int ow)
{
    const int h0 = oh * SH - PH, w0 = ow * SW - PW;
    const int h1 = h0 + KH < H + PH ? h0 + KH : H + PH;
    const int w1 = w0 + KW < W + PW ? w0 + KW : W + PW;
    AvgWin r;
    r.ha = h0 < 0 ? 0 : h0;
    r.wa = w0 < 0 ? 0 : w0;
    r.hb = h1 < H ? h1 : H;
    r.wb = w1 < W ? w1 : W;
    r.div = CIP ? (h1 - h0) * (w1 - w0) : (r.hb - r.ha) * (r.wb - r.wa);
    return r;
}

/* Average pool forward. x: (N, C, H, W), y: (N, C, Ho, Wo). */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int CIP>
__global__ void __launch_bounds__(SHARP_NT) avgpool_fwd(int N, const float *__restrict__ x, float *__restrict__ y)
{
    constexpr int Ho = k_out(H, KH, SH, PH, 1), Wo = k_out(W, KW, SW, PW, 1);
    const i64 total = (i64)N * C * Ho * Wo;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int ow = (int)(i % Wo), oh = (int)(i / Wo % Ho);
        const float *xp = x + i / (Ho * Wo) * (H * W);
        const AvgWin r = avgpool_window<H, W, KH, KW, SH, SW, PH, PW, CIP>(oh, ow);
        float s = 0.f;
        for (int ih = r.ha; ih < r.hb; ih++)
            for (int iw = r.wa; iw < r.wb; iw++)
                s += __ldg(xp + ih * W + iw);
        y[i] = s / (float)r.div;
    }
}

/* Average pool backward. gy: (N, C, Ho, Wo), gx: (N, C, H, W). */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int CIP>
__global__ void __launch_bounds__(SHARP_NT) avgpool_bwd(int N, const float *__restrict__ gy, float *__restrict__ gx)
{
    constexpr int Ho = k_out(H, KH, SH, PH, 1), Wo = k_out(W, KW, SW, PW, 1);
    const i64 total = (i64)N * C * H * W;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int iw = (int)(i % W), ih = (int)(i / W % H);
        const float *gp = gy + i / (H * W) * (Ho * Wo);
        int oh0, oh1, ow0, ow1;
        pool_cover(ih, KH, SH, PH, Ho, &oh0, &oh1);
        pool_cover(iw, KW, SW, PW, Wo, &ow0, &ow1);
        float s = 0.f;
        for (int oh = oh0; oh < oh1; oh++)
            for (int ow = ow0; ow < ow1; ow++) {
                const AvgWin r = avgpool_window<H, W, KH, KW, SH, SW, PH, PW, CIP>(oh, ow);
                if (ih >= r.ha && ih < r.hb && iw >= r.wa && iw < r.wb)
                    s += __ldg(gp + oh * Wo + ow) / (float)r.div;
            }
        gx[i] = s;
    }
}
