/* pad.cu: zero padding / cropping / shifting, channel slices and concat
 * (k_pad_*, k_slice_channels_*, k_concat_put of cpu_kernels.h). One thread
 * per output element; each backward overwrites its whole output.
 * Concat's backward is slice_fwd once per input. */
#include "sharp_cuda.cuh"

/* Pad (negative amounts crop): y pixel (i, j) = x pixel (i - T, j - L), 0
 * outside. x: (N, C, H, W), y: (N, C, H+T+B, W+L+R). */
template <int C, int H, int W, int T, int B, int L, int R>
__global__ void __launch_bounds__(SHARP_NT) pad_fwd(int N, const float *__restrict__ x, float *__restrict__ y)
{
    constexpr int Ho = H + T + B, Wo = W + L + R;
    const i64 total = (i64)N * C * Ho * Wo;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int j = (int)(i % Wo) - L, r = (int)(i / Wo % Ho) - T;
        const i64 nc = i / (Ho * Wo);
        y[i] = (r >= 0 && r < H && j >= 0 && j < W) ? __ldg(x + nc * (H * W) + r * W + j) : 0.f;
    }
}

/* Pad backward: gx = the matching window of gy, 0 where x was cropped away.
 * gy: (N, C, H+T+B, W+L+R), gx: (N, C, H, W). */
template <int C, int H, int W, int T, int B, int L, int R>
__global__ void __launch_bounds__(SHARP_NT) pad_bwd(int N, const float *__restrict__ gy, float *__restrict__ gx)
{
    constexpr int Ho = H + T + B, Wo = W + L + R;
    const i64 total = (i64)N * C * H * W;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const int j = (int)(i % W) + L, r = (int)(i / W % H) + T;
        const i64 nc = i / (H * W);
        gx[i] = (r >= 0 && r < Ho && j >= 0 && j < Wo) ? __ldg(gy + nc * (Ho * Wo) + r * Wo + j) : 0.f;
    }
}

/* y = x[:, C0:C0+CS]. x: (N, C, HW), y: (N, CS, HW). Also concat's backward. */
template <int C, int HW, int C0, int CS>
__global__ void __launch_bounds__(SHARP_NT) slice_fwd(int N, const float *__restrict__ x, float *__restrict__ y)
{
    const i64 total = (i64)N * CS * HW;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const i64 n = i / (CS * HW);
        y[i] = __ldg(x + (n * C + C0) * HW + i % (CS * HW));
    }
}

/* gx = gy in channels C0..C0+CS-1, 0 elsewhere. gy: (N, CS, HW), gx: (N, C, HW). */
template <int C, int HW, int C0, int CS>
__global__ void __launch_bounds__(SHARP_NT) slice_bwd(int N, const float *__restrict__ gy, float *__restrict__ gx)
{
    const i64 total = (i64)N * C * HW;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const i64 n = i / (C * HW);
        const int r = (int)(i % (C * HW)) - C0 * HW;
        gx[i] = (r >= 0 && r < CS * HW) ? __ldg(gy + n * (CS * HW) + r) : 0.f;
    }
}

/* One concat input into channels C0..C0+CI-1 of y.
 * x: (N, CI, HW), y: (N, CTOT, HW). */
template <int CTOT, int HW, int C0, int CI>
__global__ void __launch_bounds__(SHARP_NT) concat_put(int N, const float *__restrict__ x, float *__restrict__ y)
{
    const i64 total = (i64)N * CI * HW;
    for (i64 i = k_tid(); i < total; i += k_step()) {
        const i64 n = i / (CI * HW);
        y[(n * CTOT + C0) * HW + i % (CI * HW)] = __ldg(x + i);
    }
}
