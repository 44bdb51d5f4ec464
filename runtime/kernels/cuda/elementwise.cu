/* elementwise.cu: relu, add, accumulate, scale, zero and drop path
 * (k_relu_*, k_add_*, k_acc, k_scale_*, k_zero_*, k_drop_path_* of
 * cpu_kernels.h) over flat tensors of N*D elements, D the per-sample size
 * (a template parameter). float4 when D % 4 == 0. One thread per element
 * (or float4), grid-stride. */
#include "sharp_cuda.cuh"

/* Applies f(i) to every element index i < N*D, four at a time when D allows:
 * f4(i4) gets the float4 index. */
template <int D, class F, class F4>
__device__ __forceinline__ void ew_loop(int N, F f, F4 f4)
{
    if constexpr (D % 4 == 0) {
        const i64 n4 = (i64)N * (D / 4);
        for (i64 i = k_tid(); i < n4; i += k_step())
            f4(i);
    } else {
        const i64 n = (i64)N * D;
        for (i64 i = k_tid(); i < n; i += k_step())
            f(i);
    }
}

#define EW_V4(p) (reinterpret_cast<const float4 *>(p))
#define EW_M4(p) (reinterpret_cast<float4 *>(p))

__device__ __forceinline__ float relu1(float v) { return v > 0.f ? v : 0.f; }

/* y = max(0, x); y may alias x. x, y: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) relu_fwd(int N, const float *x, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] = relu1(x[i]); },
               [&](i64 i) {
                   float4 v = EW_V4(x)[i];
                   EW_M4(y)[i] = make_float4(relu1(v.x), relu1(v.y), relu1(v.z), relu1(v.w));
               });
}

/* gx = gy where y > 0 else 0; gx may alias gy. y, gy, gx: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) relu_bwd(int N, const float *y, const float *gy, float *gx)
{
    ew_loop<D>(N, [&](i64 i) { gx[i] = y[i] > 0.f ? gy[i] : 0.f; },
               [&](i64 i) {
                   float4 a = EW_V4(y)[i], g = EW_V4(gy)[i];
                   EW_M4(gx)[i] = make_float4(a.x > 0.f ? g.x : 0.f, a.y > 0.f ? g.y : 0.f,
                                              a.z > 0.f ? g.z : 0.f, a.w > 0.f ? g.w : 0.f);
               });
}

/* y = a + b; y may alias a or b. a, b, y: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) add_fwd(int N, const float *a, const float *b, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] = a[i] + b[i]; },
               [&](i64 i) {
                   float4 u = EW_V4(a)[i], v = EW_V4(b)[i];
                   EW_M4(y)[i] = make_float4(u.x + v.x, u.y + v.y, u.z + v.z, u.w + v.w);
               });
}

/* ga = gy and gb = gy (either may be NULL). gy, ga, gb: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) add_bwd(int N, const float *gy, float *ga, float *gb)
{
    ew_loop<D>(N,
               [&](i64 i) {
                   if (ga)
                       ga[i] = gy[i];
                   if (gb)
                       gb[i] = gy[i];
               },
               [&](i64 i) {
                   float4 g = EW_V4(gy)[i];
                   if (ga)
                       EW_M4(ga)[i] = g;
                   if (gb)
                       EW_M4(gb)[i] = g;
               });
}

/* y += x. x, y: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) acc(int N, const float *x, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] += x[i]; },
               [&](i64 i) {
                   float4 u = EW_V4(x)[i], v = EW_V4(y)[i];
                   EW_M4(y)[i] = make_float4(v.x + u.x, v.y + u.y, v.z + u.z, v.w + u.w);
               });
}

/* y = a*x (forward) or gx = a*gy (backward: the same kernel); y may alias x.
 * x, y: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) scale(int N, float a, const float *x, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] = a * x[i]; },
               [&](i64 i) {
                   float4 u = EW_V4(x)[i];
                   EW_M4(y)[i] = make_float4(a * u.x, a * u.y, a * u.z, a * u.w);
               });
}

/* y = 0: the `none` op forward (D = C*ceil(H/s)*ceil(W/s)) and its backward
 * (D = C*H*W). y: (N, D). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT) zero(int N, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] = 0.f; }, [&](i64 i) { EW_M4(y)[i] = make_float4(0.f, 0.f, 0.f, 0.f); });
}

/* y[n] = x[n] / keep * mask[n] (forward, and the backward with gy, gx);
 * y may alias x. x, y: (N, D), mask: (N). */
template <int D>
__global__ void __launch_bounds__(SHARP_NT)
drop_path(int N, float keep, const float *mask, const float *x, float *y)
{
    ew_loop<D>(N, [&](i64 i) { y[i] = x[i] / keep * mask[i / D]; },
               [&](i64 i) {
                   const float m = mask[i / (D / 4)];
                   float4 u = EW_V4(x)[i];
                   EW_M4(y)[i] = make_float4(u.x / keep * m, u.y / keep * m, u.z / keep * m, u.w / keep * m);
               });
}
