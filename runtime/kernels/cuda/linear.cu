/* linear.cu: the fully connected layer y = x W^T + b (k_linear_* of
 * cpu_kernels.h). Template parameters I (inputs), O (outputs), BIAS. */
#include "sharp_cuda.cuh"

/* y = x Wt^T + b. x: (N, I), Wt: (O, I), b: (O), y: (N, O).
 * One warp per output; grid ceil(N*O*32 / 256). */
template <int I, int O, int BIAS>
__global__ void __launch_bounds__(SHARP_NT)
linear_fwd(int N, const float *__restrict__ x, const float *__restrict__ Wt, const float *__restrict__ b,
           float *__restrict__ y)
{
    const i64 no = k_tid() >> 5;
    const int lane = threadIdx.x & 31;
    if (no >= (i64)N * O)
        return;
    const i64 n = no / O;
    const int o = (int)(no % O);
    const float *xr = x + n * I, *wr = Wt + (i64)o * I;
    float s = 0.f;
    for (int i = lane; i < I; i += 32)
        s += __ldg(xr + i) * __ldg(wr + i);
    s = warp_sum(s);
    if (lane == 0)
        y[no] = BIAS ? s + __ldg(b + o) : s;
}

/* gx = gy Wt. gy: (N, O), Wt: (O, I), gx: (N, I). One thread per element. */
template <int I, int O>
__global__ void __launch_bounds__(SHARP_NT)
linear_bwd_data(int N, const float *__restrict__ gy, const float *__restrict__ Wt, float *__restrict__ gx)
{
    const i64 total = (i64)N * I;
    for (i64 t = k_tid(); t < total; t += k_step()) {
        const i64 n = t / I;
        const int i = (int)(t % I);
        float s = 0.f;
        for (int o = 0; o < O; o++)
            s += __ldg(gy + n * O + o) * __ldg(Wt + (i64)o * I + i);
        gx[t] = s;
    }
}

/* gW = gy^T x and (BIAS) gb = sum_n gy, summed over n in order.
 * x: (N, I), gy: (N, O), gW: (O, I), gb: (O). One thread per element of
 * gW, then of gb; grid ceil((O*I + O) / 256). */
template <int I, int O, int BIAS>
__global__ void __launch_bounds__(SHARP_NT)
linear_bwd_weight(int N, const float *__restrict__ x, const float *__restrict__ gy, float *__restrict__ gW,
                  float *__restrict__ gb)
{
    const i64 t = k_tid();
    if (t < (i64)O * I) {
        const int o = (int)(t / I), i = (int)(t % I);
        float s = 0.f;
        for (int n = 0; n < N; n++)
            s += __ldg(gy + (i64)n * O + o) * __ldg(x + (i64)n * I + i);
        gW[t] = s;
    } else if (BIAS && t < (i64)O * I + O) {
        const int o = (int)(t - (i64)O * I);
        float s = 0.f;
        for (int n = 0; n < N; n++)
            s += __ldg(gy + (i64)n * O + o);
        gb[o] = s;
    }
}
