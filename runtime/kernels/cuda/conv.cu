/* conv.cu: 2-D convolution without bias (k_conv2d_* of cpu_kernels.h).
 *
 * Template parameters of the general kernels, in this order:
 *   Ci, H, W, Co, KH, KW, SH, SW, PH, PW, DH, DW, G
 * (input channels and size, output channels, kernel, stride, symmetric
 * padding, dilation, groups). Ho = k_out(H, KH, SH, PH, DH), Wo likewise.
 *
 * - conv2d_fwd / conv2d_bwd_data / conv2d_bwd_weight: direct kernels for any
 *   conv (dense stems, 1x7/7x1, grouped). bwd_data gathers (one thread per
 *   input element), bwd_weight gives each (co, ci) pair one block that
 *   reduces all KH*KW taps at once: no atomics.
 * - dwconv_fwd: depthwise (G = Ci = Co), VW outputs along the width per
 *   thread so neighbouring taps are reused from registers. Its backwards are
 *   conv2d_bwd_data / conv2d_bwd_weight with G = Ci = Co.
 * - pw_fwd / pw_bwd_data / pw_bwd_weight: 1x1 convs (no padding, G = 1,
 *   any stride) as tiled shared-memory GEMMs; the weight gradient reduces
 *   over N*Ho*Wo and splits that reduction over SPLIT slices whose partial
 *   results splitk_reduce sums in a fixed order. */
#include "sharp_cuda.cuh"

/* y: (N, Co, Ho, Wo) = conv(x: (N, Ci, H, W), w: (Co, Ci/G, KH, KW)).
 * One thread per output element. */
template <int Ci, int H, int W, int Co, int KH, int KW, int SH, int SW, int PH, int PW,
          int DH, int DW, int G>
__global__ void __launch_bounds__(SHARP_NT)
conv2d_fwd(int N, const float *__restrict__ x, const float *__restrict__ w, float *__restrict__ y)
{
    constexpr int Ho = k_out(H, KH, SH, PH, DH), Wo = k_out(W, KW, SW, PW, DW);
    constexpr int Cig = Ci / G, Cog = Co / G;
    const i64 total = (i64)N * Co * Ho * Wo;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int ow = (int)(i % Wo), oh = (int)(i / Wo % Ho), co = (int)(i / ((i64)Wo * Ho) % Co);
        const i64 n = i / ((i64)Wo * Ho * Co);
        const float *xp = x + (n * Ci + (co / Cog) * Cig) * (i64)(H * W);
        const float *wp = w + (i64)co * Cig * KH * KW;
        float s = 0.f;
        for (int ic = 0; ic < Cig; ic++) {
#pragma unroll
            for (int ki = 0; ki < KH; ki++) {
                const int ih = oh * SH - PH + ki * DH;
                if (ih < 0 || ih >= H)
                    continue;
#pragma unroll
                for (int kj = 0; kj < KW; kj++) {
                    const int iw = ow * SW - PW + kj * DW;
                    if (iw >= 0 && iw < W)
                        s += __ldg(wp + (ic * KH + ki) * KW + kj) * __ldg(xp + (i64)ic * H * W + ih * W + iw);
                }
            }
        }
        y[i] = s;
    }
}

/* gx: (N, Ci, H, W) from gy: (N, Co, Ho, Wo) and w: (Co, Ci/G, KH, KW).
 * One thread per input element gathers every output tap that read it. */
template <int Ci, int H, int W, int Co, int KH, int KW, int SH, int SW, int PH, int PW,
          int DH, int DW, int G>
__global__ void __launch_bounds__(SHARP_NT)
conv2d_bwd_data(int N, const float *__restrict__ gy, const float *__restrict__ w, float *__restrict__ gx)
{
    constexpr int Ho = k_out(H, KH, SH, PH, DH), Wo = k_out(W, KW, SW, PW, DW);
    constexpr int Cig = Ci / G, Cog = Co / G;
    const i64 total = (i64)N * Ci * H * W;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int iw = (int)(i % W), ih = (int)(i / W % H), ci = (int)(i / ((i64)W * H) % Ci);
        const i64 n = i / ((i64)W * H * Ci);
        const int gi = ci / Cig, ic = ci % Cig;
        float s = 0.f;
        for (int c = 0; c < Cog; c++) {
            const int co = gi * Cog + c;
            const float *gp = gy + (n * Co + co) * (i64)(Ho * Wo);
            const float *wp = w + ((i64)co * Cig + ic) * KH * KW;
#pragma unroll
            for (int ki = 0; ki < KH; ki++) {
                const int th = ih + PH - ki * DH;
                if (th < 0 || th % SH != 0 || th / SH >= Ho)
                    continue;
#pragma unroll
                for (int kj = 0; kj < KW; kj++) {
                    const int tw = iw + PW - kj * DW;
                    if (tw < 0 || tw % SW != 0 || tw / SW >= Wo)
                        continue;
                    s += __ldg(wp + ki * KW + kj) * __ldg(gp + (th / SH) * Wo + tw / SW);
                }
            }
        }
        gx[i] = s;
    }
}

/* Taps of conv2d_bwd_weight handled by one block: at most 16, so the
 * per-thread sums stay in registers; blockIdx.y picks the group. */
__host__ __device__ constexpr int conv_tap_groups(int T) { return (T + 15) / 16; }

/* gw: (Co, Ci/G, KH, KW) from x: (N, Ci, H, W) and gy: (N, Co, Ho, Wo).
 * Grid (Co * Ci/G, conv_tap_groups(KH*KW)): block (co, ic, group) keeps the
 * sums of its taps over a fixed strided subset of (n, oh, ow), then one
 * block reduction. */
template <int Ci, int H, int W, int Co, int KH, int KW, int SH, int SW, int PH, int PW,
          int DH, int DW, int G>
__global__ void __launch_bounds__(SHARP_NT)
conv2d_bwd_weight(int N, const float *__restrict__ x, const float *__restrict__ gy, float *__restrict__ gw)
{
    constexpr int Ho = k_out(H, KH, SH, PH, DH), Wo = k_out(W, KW, SW, PW, DW);
    constexpr int Cig = Ci / G, Cog = Co / G, T = KH * KW;
    constexpr int NG = conv_tap_groups(T), TT = (T + NG - 1) / NG;
    __shared__ float sh[TT * (SHARP_NT / 32)];
    const int co = blockIdx.x / Cig, ic = blockIdx.x % Cig;
    const int ci = (co / Cog) * Cig + ic;
    const int t0 = (int)blockIdx.y * TT;
    float acc[TT];
#pragma unroll
    for (int t = 0; t < TT; t++)
        acc[t] = 0.f;
    const i64 total = (i64)N * Ho * Wo;
    for (i64 e = threadIdx.x; e < total; e += SHARP_NT) {
        const int ow = (int)(e % Wo), oh = (int)(e / Wo % Ho);
        const i64 n = e / ((i64)Wo * Ho);
        const float g = __ldg(gy + ((n * Co + co) * Ho + oh) * (i64)Wo + ow);
        const float *xp = x + (n * Ci + ci) * (i64)(H * W);
#pragma unroll
        for (int j = 0; j < TT; j++) {
            const int t = NG == 1 ? j : t0 + j;
            const int ki = t / KW, kj = t % KW;
            const int ih = oh * SH - PH + ki * DH, iw = ow * SW - PW + kj * DW;
            if (t < T && ih >= 0 && ih < H && iw >= 0 && iw < W)
                acc[j] += g * __ldg(xp + ih * W + iw);
        }
    }
    block_sum<SHARP_NT, TT>(acc, sh);
    if (threadIdx.x == 0) {
#pragma unroll
        for (int j = 0; j < TT; j++)
            if (t0 + j < T)
                gw[((i64)co * Cig + ic) * T + t0 + j] = acc[j];
    }
}

/* Depthwise forward: y: (N, C, Ho, Wo), x: (N, C, H, W), w: (C, 1, KH, KW).
 * Each thread computes VW consecutive outputs of one row. */
template <int C, int H, int W, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW,
          int VW>
__global__ void __launch_bounds__(SHARP_NT)
dwconv_fwd(int N, const float *__restrict__ x, const float *__restrict__ w, float *__restrict__ y)
{
    constexpr int Ho = k_out(H, KH, SH, PH, DH), Wo = k_out(W, KW, SW, PW, DW);
    constexpr int WV = (Wo + VW - 1) / VW; /* thread columns per row */
    const i64 total = (i64)N * C * Ho * WV;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int ow0 = (int)(i % WV) * VW, oh = (int)(i / WV % Ho);
        const i64 nc = i / ((i64)WV * Ho);
        const int c = (int)(nc % C);
        const float *xp = x + nc * (H * W);
        float acc[VW];
#pragma unroll
        for (int v = 0; v < VW; v++)
            acc[v] = 0.f;
#pragma unroll
        for (int ki = 0; ki < KH; ki++) {
            const int ih = oh * SH - PH + ki * DH;
            if (ih < 0 || ih >= H)
                continue;
            const float *xr = xp + ih * W;
            const float *wr = w + (c * KH + ki) * KW;
            /* the row segment every output of this thread reads */
            constexpr int L = (VW - 1) * SW + (KW - 1) * DW + 1;
            float xs[L];
#pragma unroll
            for (int t = 0; t < L; t++) {
                const int iw = ow0 * SW - PW + t;
                xs[t] = iw >= 0 && iw < W ? __ldg(xr + iw) : 0.f;
            }
#pragma unroll
            for (int kj = 0; kj < KW; kj++) {
                const float wv = __ldg(wr + kj);
#pragma unroll
                for (int v = 0; v < VW; v++)
                    acc[v] += wv * xs[v * SW + kj * DW];
            }
        }
        float *yr = y + (nc * Ho + oh) * Wo;
#pragma unroll
        for (int v = 0; v < VW; v++)
            if (Wo % VW == 0 || ow0 + v < Wo)
                yr[ow0 + v] = acc[v];
    }
}

/* One BM x BN tile of C = A B (M x NN, reduction over k in [k0, k1)) with
 * 256 threads as 16 x 16, each computing (BM/16) x (BN/16) outputs. The
 * loaders return A(m, k) and B(k, n) (0 outside); AKF / BKF say whether
 * consecutive threads should walk k (true) or m / n (false) when loading,
 * so global reads coalesce. store(m, n, v) writes one result. */
template <int BM, int BN, int BK, bool AKF, bool BKF, class LA, class LB, class ST>
__device__ __forceinline__ void gemm_tile(int m0, int n0, i64 k0, i64 k1, LA la, LB lb, ST store)
{
    constexpr int TM = BM / 16, TN = BN / 16;
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN];
    const int tx = threadIdx.x & 15, ty = threadIdx.x >> 4;
    float acc[TM][TN];
#pragma unroll
    for (int a = 0; a < TM; a++)
#pragma unroll
        for (int b = 0; b < TN; b++)
            acc[a][b] = 0.f;
    for (i64 kb = k0; kb < k1; kb += BK) {
#pragma unroll
        for (int t = threadIdx.x; t < BK * BM; t += SHARP_NT) {
            const int kk = AKF ? t % BK : t / BM, mm = AKF ? t / BK : t % BM;
            const i64 k = kb + kk;
            As[kk][mm] = k < k1 ? la(m0 + mm, k) : 0.f;
        }
#pragma unroll
        for (int t = threadIdx.x; t < BK * BN; t += SHARP_NT) {
            const int kk = BKF ? t % BK : t / BN, nn = BKF ? t / BK : t % BN;
            const i64 k = kb + kk;
            Bs[kk][nn] = k < k1 ? lb(k, n0 + nn) : 0.f;
        }
        __syncthreads();
#pragma unroll 4
        for (int kk = 0; kk < BK; kk++) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; i++)
                a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < TN; j++)
                b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++)
                    acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++)
            store(m0 + ty + 16 * i, n0 + tx + 16 * j, acc[i][j]);
}

/* Pointwise forward: y[n] (Co x P) = w (Co x Ci) . x[n] (Ci x P), P = Ho*Wo,
 * x read at the strided pixels. x: (N, Ci, H, W), w: (Co, Ci, 1, 1),
 * y: (N, Co, Ho, Wo). Grid (ceil(P/BN), ceil(Co/BM), N). */
template <int Ci, int H, int W, int Co, int SH, int SW, int BM, int BN>
__global__ void __launch_bounds__(SHARP_NT)
pw_fwd(int N, const float *__restrict__ x, const float *__restrict__ w, float *__restrict__ y)
{
    constexpr int Ho = (H - 1) / SH + 1, Wo = (W - 1) / SW + 1, P = Ho * Wo;
    (void)N;
    const i64 n = blockIdx.z;
    const float *xn = x + n * Ci * (i64)(H * W);
    float *yn = y + n * Co * (i64)P;
    auto la = [&](int m, i64 k) { return m < Co ? __ldg(w + (i64)m * Ci + k) : 0.f; };
    auto lb = [&](i64 k, int p) {
        if (p >= P)
            return 0.f;
        const int pix = (SH == 1 && SW == 1) ? p : (p / Wo) * SH * W + (p % Wo) * SW;
        return __ldg(xn + k * (H * W) + pix);
    };
    auto st = [&](int m, int p, float v) {
        if (m < Co && p < P)
            yn[(i64)m * P + p] = v;
    };
    gemm_tile<BM, BN, 16, true, false>(blockIdx.y * BM, blockIdx.x * BN, 0, Ci, la, lb, st);
}

/* Pointwise input gradient: gx[n] (Ci x H*W) = w^T (Ci x Co) . gy[n], zero at
 * the pixels a strided conv skipped. gy: (N, Co, Ho, Wo), w: (Co, Ci, 1, 1),
 * gx: (N, Ci, H, W). Grid (ceil(H*W/BN), ceil(Ci/BM), N). */
template <int Ci, int H, int W, int Co, int SH, int SW, int BM, int BN>
__global__ void __launch_bounds__(SHARP_NT)
pw_bwd_data(int N, const float *__restrict__ gy, const float *__restrict__ w, float *__restrict__ gx)
{
    constexpr int Ho = (H - 1) / SH + 1, Wo = (W - 1) / SW + 1, P = Ho * Wo, Q = H * W;
    (void)N;
    const i64 n = blockIdx.z;
    const float *gn = gy + n * Co * (i64)P;
    float *xn = gx + n * Ci * (i64)Q;
    auto la = [&](int m, i64 k) { return m < Ci ? __ldg(w + k * Ci + m) : 0.f; };
    auto lb = [&](i64 k, int q) {
        if (q >= Q)
            return 0.f;
        if (SH == 1 && SW == 1)
            return __ldg(gn + k * P + q);
        const int ih = q / W, iw = q % W;
        if (ih % SH != 0 || iw % SW != 0)
            return 0.f;
        return __ldg(gn + k * P + (ih / SH) * Wo + iw / SW);
    };
    auto st = [&](int m, int q, float v) {
        if (m < Ci && q < Q)
            xn[(i64)m * Q + q] = v;
    };
    gemm_tile<BM, BN, 16, false, false>(blockIdx.y * BM, blockIdx.x * BN, 0, Co, la, lb, st);
}

/* Pointwise weight gradient: gw (Co x Ci) = sum over (n, p) of gy[n, :, p]
 * x[n, :, pix(p)]^T. The N*P reduction is cut into SPLIT equal slices
 * (blockIdx.z); with SPLIT == 1 the result goes straight to gw, otherwise
 * slice z writes part[z] (SPLIT x Co x Ci scratch) and splitk_reduce<SPLIT,
 * Co*Ci> sums the slices. Grid (ceil(Ci/BN), ceil(Co/BM), SPLIT). */
template <int Ci, int H, int W, int Co, int SH, int SW, int BM, int BN, int SPLIT>
__global__ void __launch_bounds__(SHARP_NT)
pw_bwd_weight(int N, const float *__restrict__ x, const float *__restrict__ gy, float *__restrict__ gw,
              float *__restrict__ part)
{
    constexpr int Ho = (H - 1) / SH + 1, Wo = (W - 1) / SW + 1, P = Ho * Wo;
    const i64 K = (i64)N * P;
    const i64 chunk = ((K + SPLIT - 1) / SPLIT + 15) / 16 * 16;
    const i64 k0 = blockIdx.z * chunk, k1 = k0 + chunk < K ? k0 + chunk : K;
    float *out = SPLIT == 1 ? gw : part + (i64)blockIdx.z * Co * Ci;
    auto la = [&](int m, i64 k) {
        if (m >= Co)
            return 0.f;
        const i64 n = k / P;
        return __ldg(gy + (n * Co + m) * P + k % P);
    };
    auto lb = [&](i64 k, int c) {
        if (c >= Ci)
            return 0.f;
        const i64 n = k / P;
        const int p = (int)(k % P);
        const int pix = (SH == 1 && SW == 1) ? p : (p / Wo) * SH * W + (p % Wo) * SW;
        return __ldg(x + (n * Ci + c) * (i64)(H * W) + pix);
    };
    auto st = [&](int m, int c, float v) {
        if (m < Co && c < Ci)
            out[(i64)m * Ci + c] = v;
    };
    gemm_tile<BM, BN, 16, true, true>(blockIdx.y * BM, blockIdx.x * BN, k0, k1 > k0 ? k1 : k0, la, lb, st);
}

/* out[i] = sum over s = 0..S-1 of part[s*COUNT + i], in that order.
 * part: (S, COUNT), out: (COUNT). */
template <int S, int COUNT>
__global__ void __launch_bounds__(SHARP_NT)
splitk_reduce(const float *__restrict__ part, float *__restrict__ out)
{
    for (i64 i = k_tid(); i < COUNT; i += k_step()) {
        float s = 0.f;
#pragma unroll
        for (int z = 0; z < S; z++)
            s += part[(i64)z * COUNT + i];
        out[i] = s;
    }
}
