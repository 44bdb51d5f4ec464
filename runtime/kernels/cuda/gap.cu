/* gap.cu: global average pooling (k_gap_* of cpu_kernels.h). Template
 * parameters C, HW. The forward gives each (n, c) plane one warp. */
#include "sharp_cuda.cuh"

/* y[n, c] = mean of x[n, c, :]. x: (N, C, HW), y: (N, C).
 * Grid ceil(N*C*32 / 256). */
template <int C, int HW>
__global__ void __launch_bounds__(SHARP_NT) gap_fwd(int N, const float *__restrict__ x, float *__restrict__ y)
{
    const i64 nc = k_tid() >> 5;
    const int lane = threadIdx.x & 31;
    if (nc >= (i64)N * C)
        return;
    const float *xp = x + nc * HW;
    float s = 0.f;
    for (int i = lane; i < HW; i += 32)
        s += __ldg(xp + i);
    s = warp_sum(s);
    if (lane == 0)
        y[nc] = s / (float)HW;
}

/* gx[n, c, :] = gy[n, c] / HW. gy: (N, C), gx: (N, C, HW). */
template <int C, int HW>
__global__ void __launch_bounds__(SHARP_NT) gap_bwd(int N, const float *__restrict__ gy, float *__restrict__ gx)
{
    const i64 total = (i64)N * C * HW;
    for (i64 i = k_tid(); i < total; i += k_step())
        gx[i] = __ldg(gy + i / HW) / (float)HW;
}
